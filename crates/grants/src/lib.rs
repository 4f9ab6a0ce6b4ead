//! Pure OAuth 2.1 request parsing and the authorization-code and refresh-token
//! state machines.
//!
//! This crate does no I/O, never reads the clock and draws no randomness: every
//! function takes the parsed request, the stored records and `now`, and returns
//! a decision. `portcullis-server-core` wraps it with storage and token minting.
//!
//! Raw query strings and form bodies become [`Params`], which rejects repeated
//! parameters (OAuth 2.1 §3.1). An authorization request is checked in the
//! order that decides where its errors go: [`client_id`] and
//! [`resolve_redirect`] first, whose failures are shown on the server's error
//! page, then [`validate_authorization`], whose failures are redirected to the
//! client. A [`ValidatedAuthorization`] becomes a [`CodeRecord`] once the user
//! approves, and [`check_code_redemption`] and [`check_refresh`] decide the token
//! requests.
//!
//! ```
//! use portcullis_grants::{
//!     client_id, resolve_redirect, validate_authorization, AuthorizationPolicy, Client,
//!     ClientOrigin, GrantId, Params, Resources, Timestamp, UserId,
//! };
//! use portcullis_scopes::ScopeCatalog;
//!
//! let mut catalog = ScopeCatalog::new();
//! let read = catalog.register("datasets:read", "Read datasets")?;
//! let resources = Resources::new("https://api.example/v1")?;
//! let client = Client {
//!     id: "app".into(),
//!     name: "Reporting dashboard".into(),
//!     secret_hash: None,
//!     redirect_uris: vec!["http://127.0.0.1/cb".into()],
//!     scope: read,
//!     origin: ClientOrigin::Administrator,
//!     created_at: Timestamp(0),
//! };
//!
//! let query = "response_type=code&client_id=app&redirect_uri=http://127.0.0.1:5000/cb\
//!     &code_challenge=E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM&code_challenge_method=S256";
//! let params = Params::parse(query.as_bytes())?;
//! assert_eq!(client_id(&params)?, "app");
//! let redirect = resolve_redirect(&client, &params)?;
//! let policy = AuthorizationPolicy { catalog: &catalog, resources: &resources };
//! let request = validate_authorization(&params, &client, redirect, policy)?;
//!
//! let code = request.approve(UserId(1), GrantId([7; 16]), read, Timestamp(1_000), 60);
//! assert_eq!(code.redirect_uri, "http://127.0.0.1:5000/cb");
//! assert_eq!(code.expires_at, Timestamp(1_060));
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
#![forbid(unsafe_code)]
#![deny(missing_docs)]

mod authorize;
mod model;
mod params;
mod redirect;
mod resource;
mod token;

pub use authorize::{
    AuthorizationPolicy, AuthorizeError, MAX_CODE_LIFETIME, RedirectTarget, ValidatedAuthorization,
    client_id, resolve_redirect, state, success_location, validate_authorization,
};
pub use model::{
    AccessToken, Client, ClientOrigin, CodeRecord, Grant, GrantId, RefreshState, RefreshToken,
    ResourceId, SecretHash, Timestamp, UserId, encode_token_bytes,
};
pub use params::{MAX_INPUT_BYTES, MAX_PARAMS, MAX_VALUE_BYTES, Params, ParamsError, Repeated};
pub use redirect::{
    MAX_REDIRECT_URI_BYTES, RedirectUriError, redirect_uri_matches, validate_redirect_uri,
};
pub use resource::{ResourceError, Resources};
pub use token::{
    AuthMethod, ClientCredentials, TokenError, TokenRequest, check_code_possession,
    check_code_redemption, check_refresh,
};
