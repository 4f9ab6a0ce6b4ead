use bytes::Bytes;
use http::header::{AUTHORIZATION, CONTENT_TYPE, WWW_AUTHENTICATE};
use http::{HeaderValue, Method, Request, Response, StatusCode};
use portcullis_errors::{BasicChallenge, ErrorCode, OAuthError};
use portcullis_grants::{
    AccessToken, Client, ClientCredentials, Grant, GrantId, Params, RefreshState, RefreshToken,
    ResourceId, SecretHash, Timestamp, TokenError, TokenRequest, UserId, check_code_possession,
    check_code_redemption, check_refresh,
};
use portcullis_scopes::ScopeSet;
use serde::Serialize;

use std::net::IpAddr;

use crate::client_request::client_addr;
use crate::response::{error_response, json_no_store, store_failure};
use crate::{AuthorizationServer, Clock, IssuedTokens, Redemption, Rotation, Store, StoreError};

/// The successful token response of OAuth 2.1 §3.2.3.
#[derive(Serialize)]
struct TokenBody<'a> {
    access_token: &'a str,
    token_type: &'static str,
    expires_in: u64,
    refresh_token: &'a str,
    scope: &'a str,
}

/// Why a token request failed: a protocol cause or a storage failure.
pub(crate) enum Failure {
    Token(TokenError),
    Store(StoreError),
    Internal(OAuthError),
}

impl From<TokenError> for Failure {
    fn from(error: TokenError) -> Self {
        Self::Token(error)
    }
}

impl From<StoreError> for Failure {
    fn from(error: StoreError) -> Self {
        Self::Store(error)
    }
}

impl From<OAuthError> for Failure {
    fn from(error: OAuthError) -> Self {
        Self::Internal(error)
    }
}

/// The token pair one issuing step returns to the client, with its stored records.
struct Issued {
    access: String,
    refresh: String,
    tokens: IssuedTokens,
}

/// The pieces of a grant that a new token pair is minted for.
#[derive(Clone, Copy)]
struct PairSpec {
    grant: GrantId,
    user: UserId,
    scope: ScopeSet,
    resource: ResourceId,
}

impl<S: Store, C: Clock> AuthorizationServer<S, C> {
    /// Serves the token endpoint (OAuth 2.1 §3.2): `authorization_code` and
    /// `refresh_token` grants, with `client_secret_basic`, `client_secret_post`
    /// or `none` client authentication.
    ///
    /// Every response carries `Cache-Control: no-store`. Errors follow RFC 6749
    /// §5.2; a failed Basic authentication is 401 with a `Basic` challenge.
    pub async fn token<B: AsRef<[u8]>>(&self, request: &Request<B>) -> Response<Bytes> {
        if request.method() != Method::POST {
            let mut response = error_response(&OAuthError::new(
                ErrorCode::InvalidRequest,
                "the token endpoint accepts POST only",
            ));
            *response.status_mut() = StatusCode::METHOD_NOT_ALLOWED;
            response
                .headers_mut()
                .insert(http::header::ALLOW, HeaderValue::from_static("POST"));
            return response;
        }
        if !is_form(request.headers().get(CONTENT_TYPE)) {
            return error_response(&OAuthError::new(
                ErrorCode::InvalidRequest,
                "the body must be application/x-www-form-urlencoded",
            ));
        }
        let authorization = request
            .headers()
            .get(AUTHORIZATION)
            .and_then(|value| value.to_str().ok());
        match self
            .token_inner(request.body().as_ref(), authorization, client_addr(request))
            .await
        {
            Ok(response) => response,
            Err(failure) => self.token_failure(failure),
        }
    }

    async fn token_inner(
        &self,
        body: &[u8],
        authorization: Option<&str>,
        addr: Option<IpAddr>,
    ) -> Result<Response<Bytes>, Failure> {
        let form = Params::parse(body).map_err(TokenError::from)?;
        let grant = TokenRequest::parse(&form)?;
        let credentials = ClientCredentials::read(authorization, &form)?;
        let client = self.authenticate_client(&credentials, addr).await?;
        let now = self.clock.now();
        let issued = match &grant {
            TokenRequest::AuthorizationCode { code, .. } => {
                self.redeem(&client, code, &grant, now).await?
            }
            TokenRequest::RefreshToken { refresh_token, .. } => {
                self.refresh(&client, refresh_token, &grant, now).await?
            }
        };
        Ok(self.token_success(&issued))
    }

    /// Looks up and authenticates the client (OAuth 2.1 §2.4).
    ///
    /// Failed secrets are counted per client and source address: a client
    /// that keeps failing from one address is throttled there, while the same
    /// client elsewhere, and every client without a secret, are unaffected.
    pub(crate) async fn authenticate_client(
        &self,
        credentials: &ClientCredentials,
        addr: Option<IpAddr>,
    ) -> Result<Client, Failure> {
        let Some(client) = self.store.client(&credentials.client_id).await? else {
            // The id is unverified input, so it is logged in Debug form,
            // which escapes line breaks and cannot forge a log line.
            tracing::debug!(client_id = ?credentials.client_id, "unknown client");
            return Err(TokenError::ClientAuthentication.into());
        };
        let now = self.clock.now();
        let counted = !client.is_public();
        if counted && self.throttle.is_locked(&client.id, addr, now) {
            tracing::warn!(client_id = %client.id, ?addr, "client authentication throttled after repeated failures");
            return Err(TokenError::Throttled.into());
        }
        if let Err(cause) = credentials.authenticate(&client) {
            tracing::warn!(client_id = %client.id, ?addr, method = ?credentials.method, "client authentication failed");
            if counted {
                self.throttle.record_failure(&client.id, addr, now);
            }
            return Err(cause.into());
        }
        Ok(client)
    }

    async fn redeem(
        &self,
        client: &Client,
        code: &str,
        request: &TokenRequest<'_>,
        now: Timestamp,
    ) -> Result<Issued, Failure> {
        let hash = SecretHash::of(code);
        let Some(stored) = self.store.code(hash).await? else {
            return Err(TokenError::UnknownCode.into());
        };
        let record = &stored.record;
        if stored.consumed {
            let TokenRequest::AuthorizationCode { code_verifier, .. } = request else {
                return Err(TokenError::UnsupportedGrantType.into());
            };
            // A replay that proves possession revokes what the first redemption
            // issued; one that does not is only rejected, so a thief holding
            // just the code cannot cut off the real client (OAuth 2.1 §4.1.3).
            if check_code_possession(record, &client.id, code_verifier).is_ok() {
                tracing::warn!(client_id = %client.id, grant = %record.grant, "authorization code replayed; grant revoked");
                self.store.revoke_grant(record.grant).await?;
            }
            return Err(TokenError::UsedCode.into());
        }
        check_code_redemption(record, &client.id, request, &self.config.resources, now)?;
        let grant = Grant {
            id: record.grant,
            client_id: client.id.clone(),
            user: record.user,
            scope: record.scope,
            resource: record.resource,
            created_at: now,
        };
        let spec = PairSpec {
            grant: grant.id,
            user: grant.user,
            scope: grant.scope,
            resource: grant.resource,
        };
        let issued = self.mint_pair(spec, now)?;
        match self
            .store
            .redeem_code(hash, now, grant, issued.tokens)
            .await?
        {
            Redemption::Redeemed => {
                tracing::debug!(client_id = %client.id, grant = %record.grant, "authorization code redeemed");
                Ok(issued)
            }
            Redemption::AlreadyUsed(grant) => {
                tracing::warn!(client_id = %client.id, %grant, "authorization code redeemed concurrently; grant revoked");
                self.store.revoke_grant(grant).await?;
                Err(TokenError::UsedCode.into())
            }
            Redemption::Unknown => Err(TokenError::UnknownCode.into()),
        }
    }

    async fn refresh(
        &self,
        client: &Client,
        token: &str,
        request: &TokenRequest<'_>,
        now: Timestamp,
    ) -> Result<Issued, Failure> {
        let hash = SecretHash::of(token);
        let Some((stored, state)) = self.store.refresh_token(hash).await? else {
            return Err(TokenError::UnknownRefreshToken.into());
        };
        let Some(grant) = self.store.grant(stored.grant).await? else {
            return Err(TokenError::UnknownRefreshToken.into());
        };
        if grant.client_id != client.id {
            return Err(TokenError::RefreshClientMismatch.into());
        }
        if state == RefreshState::Rotated {
            tracing::warn!(client_id = %client.id, grant = %grant.id, "rotated refresh token replayed; grant revoked");
            self.store.revoke_grant(grant.id).await?;
            return Err(TokenError::ReusedRefreshToken.into());
        }
        if now >= stored.expires_at {
            return Err(TokenError::UnknownRefreshToken.into());
        }
        let scope = check_refresh(
            &grant,
            &client.id,
            request,
            &self.config.catalog,
            &self.config.resources,
        )?;
        let spec = PairSpec {
            grant: grant.id,
            user: grant.user,
            scope,
            resource: grant.resource,
        };
        let issued = self.mint_pair(spec, now)?;
        match self.store.rotate_refresh(hash, now, issued.tokens).await? {
            Rotation::Rotated => {
                tracing::debug!(client_id = %client.id, grant = %grant.id, "refresh token rotated");
                Ok(issued)
            }
            Rotation::Reused(grant) => {
                tracing::warn!(client_id = %client.id, %grant, "refresh token rotated concurrently; grant revoked");
                self.store.revoke_grant(grant).await?;
                Err(TokenError::ReusedRefreshToken.into())
            }
            Rotation::Unknown => Err(TokenError::UnknownRefreshToken.into()),
        }
    }

    /// Mints an access token with `spec.scope` and a refresh token for the grant.
    fn mint_pair(&self, spec: PairSpec, now: Timestamp) -> Result<Issued, OAuthError> {
        let access = self.mint(&self.config.access_token_prefix)?;
        let refresh = self.mint(&self.config.refresh_token_prefix)?;
        let tokens = IssuedTokens {
            access_hash: access.hash,
            access: AccessToken {
                grant: spec.grant,
                user: spec.user,
                scope: spec.scope,
                resource: spec.resource,
                issued_at: now,
                expires_at: now.plus(self.config.access_token_lifetime),
            },
            refresh_hash: refresh.hash,
            refresh: RefreshToken {
                grant: spec.grant,
                issued_at: now,
                expires_at: now.plus(self.config.refresh_token_lifetime),
            },
        };
        Ok(Issued {
            access: access.value,
            refresh: refresh.value,
            tokens,
        })
    }

    fn token_success(&self, issued: &Issued) -> Response<Bytes> {
        let scope = self.config.catalog.format(issued.tokens.access.scope);
        let body = TokenBody {
            access_token: &issued.access,
            token_type: "Bearer",
            expires_in: self.config.access_token_lifetime,
            refresh_token: &issued.refresh,
            scope: &scope,
        };
        let json = serde_json::to_string(&body).unwrap_or_default();
        json_no_store(StatusCode::OK, json)
    }

    fn token_failure(&self, failure: Failure) -> Response<Bytes> {
        let error = match failure {
            Failure::Token(cause) => {
                tracing::debug!(%cause, "token request rejected");
                cause.to_oauth()
            }
            Failure::Store(error) => {
                tracing::warn!(%error, "token request failed in storage");
                store_failure(&error)
            }
            Failure::Internal(error) => error,
        };
        let mut response = error_response(&error);
        add_retry_after(&mut response, &error);
        // RFC 6749 §5.2 requires a challenge when the client used the
        // Authorization header, and RFC 9110 §15.5.2 requires one on every 401.
        if error.status() == 401 {
            // RFC 6749 §5.2: credentials sent in the Authorization header get a
            // 401 and a challenge for the same scheme.
            let challenge = BasicChallenge::new(&self.config.issuer).to_header_value();
            if let Ok(value) = HeaderValue::from_str(&challenge) {
                response.headers_mut().insert(WWW_AUTHENTICATE, value);
            }
        }
        response
    }
}

/// Tells a throttled client when to retry (RFC 9110 §10.2.3).
pub(crate) fn add_retry_after(response: &mut Response<Bytes>, error: &OAuthError) {
    if error.code() == ErrorCode::SlowDown {
        let seconds = crate::throttle::WINDOW_SECONDS;
        response
            .headers_mut()
            .insert(http::header::RETRY_AFTER, HeaderValue::from(seconds));
    }
}

/// Returns `true` when a `Content-Type` value is `application/x-www-form-urlencoded`,
/// parameters such as `charset` ignored.
///
/// ```
/// use http::HeaderValue;
///
/// let value = HeaderValue::from_static("application/x-www-form-urlencoded; charset=utf-8");
/// assert!(portcullis_server_core::is_form(Some(&value)));
/// assert!(!portcullis_server_core::is_form(None));
/// ```
pub fn is_form(content_type: Option<&HeaderValue>) -> bool {
    content_type
        .and_then(|value| value.to_str().ok())
        .and_then(|value| value.split(';').next())
        .is_some_and(|media| {
            media
                .trim()
                .eq_ignore_ascii_case("application/x-www-form-urlencoded")
        })
}
