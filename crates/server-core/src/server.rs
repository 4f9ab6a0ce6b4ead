use portcullis_errors::{ErrorCode, OAuthError};
use portcullis_grants::{GrantId, SecretHash, Timestamp, encode_token_bytes};
use rand_core::{OsRng, RngCore};

use crate::throttle::AuthThrottle;
use crate::{Clock, ServerConfig, Store, SystemClock};

/// An OAuth 2.1 authorization server over a [`Store`] and a [`Clock`].
///
/// Endpoint methods take framework-neutral input (the `http` crate's types or
/// raw bytes) and return a response or decision for the host to write out. The
/// server holds no sockets and spawns nothing; it reads the clock once per
/// request and draws token randomness from the operating system.
pub struct AuthorizationServer<S, C = SystemClock> {
    pub(crate) config: ServerConfig,
    pub(crate) store: S,
    pub(crate) clock: C,
    pub(crate) throttle: AuthThrottle,
}

/// The address of the peer that sent a request, which the HTTP host puts in
/// the request's extensions. Failed client authentications are counted per
/// client and address, so one attacker cannot lock a client out for everyone.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct ClientAddr(pub std::net::IpAddr);

/// A freshly minted secret: the string handed to the client once, and its hash.
pub(crate) struct Minted {
    pub(crate) value: String,
    pub(crate) hash: SecretHash,
}

impl<S: Store, C: Clock> AuthorizationServer<S, C> {
    /// Creates a server.
    pub fn new(config: ServerConfig, store: S, clock: C) -> Self {
        let throttle = AuthThrottle::new(config.client_auth_failure_limit);
        Self {
            config,
            store,
            clock,
            throttle,
        }
    }

    /// Returns the configuration.
    pub fn config(&self) -> &ServerConfig {
        &self.config
    }

    /// Returns the store.
    pub fn store(&self) -> &S {
        &self.store
    }

    /// Returns the current time from the server's clock.
    pub fn now(&self) -> Timestamp {
        self.clock.now()
    }

    /// Mints `prefix` followed by 256 random bits in base64url.
    pub(crate) fn mint(&self, prefix: &str) -> Result<Minted, OAuthError> {
        let mut bytes = [0u8; 32];
        fill_random(&mut bytes)?;
        let value = format!("{prefix}{}", encode_token_bytes(&bytes));
        let hash = SecretHash::of(&value);
        Ok(Minted { value, hash })
    }

    pub(crate) fn new_grant_id(&self) -> Result<GrantId, OAuthError> {
        let mut bytes = [0u8; 16];
        fill_random(&mut bytes)?;
        Ok(GrantId(bytes))
    }
}

/// Fills `buffer` from the operating system's CSPRNG.
///
/// # Errors
///
/// `server_error` when the operating system has no randomness to give.
pub fn fill_random(buffer: &mut [u8]) -> Result<(), OAuthError> {
    OsRng.try_fill_bytes(buffer).map_err(|error| {
        tracing::error!(%error, "the operating system random source failed");
        OAuthError::new(
            ErrorCode::ServerError,
            "the server could not generate a secret",
        )
    })
}

/// Generates a secret of 256 random bits in base64url, such as a session id or client secret.
///
/// # Errors
///
/// `server_error` when the operating system has no randomness to give.
pub fn generate_secret() -> Result<String, OAuthError> {
    let mut bytes = [0u8; 32];
    fill_random(&mut bytes)?;
    Ok(encode_token_bytes(&bytes))
}
