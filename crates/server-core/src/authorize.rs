use portcullis_errors::{ErrorCode, OAuthError};
use portcullis_grants::{
    AuthorizationPolicy, AuthorizeError, Client, ClientOrigin, Params, UserId,
    ValidatedAuthorization, client_id, resolve_redirect, state, success_location,
    validate_authorization,
};
use portcullis_scopes::ScopeSet;

use crate::response::store_failure;
use crate::{AuthorizationServer, Clock, Store};

/// A valid authorization request, ready for the consent page.
#[derive(Clone, Debug)]
pub struct AuthorizationPrompt {
    /// The client asking.
    pub client: Client,
    /// The validated request.
    pub request: ValidatedAuthorization,
}

/// Delivery of a failed authorization request's error.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum AuthorizationFailure {
    /// The server shows its own error page and never redirects, because the client
    /// or redirect URI is not verified, or not trusted with errors yet (RFC 6749 §4.1.2.1).
    ErrorPage(OAuthError),
    /// The error goes to the client's redirect URI with `state` and `iss`.
    Redirect {
        /// The error sent.
        error: OAuthError,
        /// The full `Location`.
        location: String,
    },
}

impl AuthorizationFailure {
    /// Returns the error, whichever way it is delivered.
    pub fn error(&self) -> &OAuthError {
        match self {
            Self::ErrorPage(error) | Self::Redirect { error, .. } => error,
        }
    }
}

impl<S: Store, C: Clock> AuthorizationServer<S, C> {
    /// Validates an authorization request from its raw query or form bytes (OAuth 2.1 §4.1.1).
    ///
    /// `user` is the signed-in user, if any. An error found before sign-in for a
    /// dynamically registered client goes to the error page, so open registration
    /// cannot turn the server into an open redirector (RFC 9700 §4.11.2).
    ///
    /// # Errors
    ///
    /// [`AuthorizationFailure`] saying how to deliver the error.
    pub async fn authorize(
        &self,
        query: &[u8],
        user: Option<UserId>,
    ) -> Result<AuthorizationPrompt, AuthorizationFailure> {
        let page = |cause: AuthorizeError| {
            tracing::debug!(%cause, "authorization request rejected on the error page");
            AuthorizationFailure::ErrorPage(cause.to_oauth())
        };
        let params = Params::parse(query).map_err(|cause| page(cause.into()))?;
        let client_id = client_id(&params).map_err(page)?;
        let client = match self.store.client(client_id).await {
            Ok(Some(client)) => client,
            Ok(None) => return Err(page(AuthorizeError::UnknownClient)),
            Err(error) => {
                tracing::warn!(%error, "client lookup failed");
                return Err(AuthorizationFailure::ErrorPage(store_failure(&error)));
            }
        };
        let redirect = resolve_redirect(&client, &params).map_err(page)?;
        let policy = AuthorizationPolicy {
            catalog: &self.config.catalog,
            resources: &self.config.resources,
        };
        match validate_authorization(&params, &client, redirect.clone(), policy) {
            Ok(request) => Ok(AuthorizationPrompt { client, request }),
            Err(cause) if client.origin == ClientOrigin::Dynamic && user.is_none() => {
                tracing::debug!(client_id = %client.id, %cause, "error for an unverified dynamic client shown on the error page");
                Err(AuthorizationFailure::ErrorPage(cause.to_oauth()))
            }
            Err(cause) => {
                tracing::debug!(client_id = %client.id, %cause, "authorization request rejected by redirect");
                Err(self.redirect_error(&redirect.uri, state(&params).as_deref(), cause.to_oauth()))
            }
        }
    }

    /// Issues a code for an approved request and returns the success `Location` (OAuth 2.1 §4.1.2).
    ///
    /// `scope` is what the user approved; the code holds its intersection with
    /// the requested scope. An empty approval is answered with `access_denied`.
    ///
    /// # Errors
    ///
    /// A redirect with `access_denied`, `server_error` or `temporarily_unavailable`.
    pub async fn approve(
        &self,
        request: ValidatedAuthorization,
        user: UserId,
        scope: ScopeSet,
    ) -> Result<String, AuthorizationFailure> {
        if scope.intersection(request.scope).is_empty() {
            return Err(self.deny(&request));
        }
        let redirect_uri = request.redirect.uri.clone();
        let state = request.state.clone();
        let client_id = request.client_id.clone();
        let redirect = |error| self.redirect_error(&redirect_uri, state.as_deref(), error);
        let code = self.mint(&self.config.code_prefix).map_err(redirect)?;
        let grant = self.new_grant_id().map_err(redirect)?;
        let now = self.clock.now();
        // The location is built before the code is stored, so a redirect URI
        // that cannot carry a response leaves no code behind.
        let location = success_location(
            &redirect_uri,
            &code.value,
            state.as_deref(),
            &self.config.issuer,
        )
        .map_err(|_| {
            tracing::warn!(%client_id, "a validated redirect URI could not carry the response");
            AuthorizationFailure::ErrorPage(OAuthError::new(
                ErrorCode::ServerError,
                "the redirect URI cannot carry the response",
            ))
        })?;
        let record = request.approve(user, grant, scope, now, self.config.code_lifetime());
        if let Err(error) = self.store.insert_code(code.hash, record).await {
            tracing::warn!(%error, %client_id, "storing an authorization code failed");
            return Err(redirect(store_failure(&error)));
        }
        tracing::debug!(%client_id, %grant, "authorization code issued");
        Ok(location)
    }

    /// Returns the `access_denied` redirect for a request the user denied (RFC 6749 §4.1.2.1).
    pub fn deny(&self, request: &ValidatedAuthorization) -> AuthorizationFailure {
        self.redirect_error(
            &request.redirect.uri,
            request.state.as_deref(),
            AuthorizeError::AccessDenied.to_oauth(),
        )
    }

    /// Builds an error redirect to a verified redirect URI, carrying `state` and `iss`.
    pub fn redirect_error(
        &self,
        redirect_uri: &str,
        state: Option<&str>,
        error: OAuthError,
    ) -> AuthorizationFailure {
        match error.redirect_location(redirect_uri, state, &self.config.issuer) {
            Ok(location) => AuthorizationFailure::Redirect { error, location },
            Err(_) => AuthorizationFailure::ErrorPage(error),
        }
    }
}
