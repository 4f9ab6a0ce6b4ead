use bytes::Bytes;
use http::{Request, Response, StatusCode};
use portcullis_grants::{
    AuthMethod, Client, ClientCredentials, Params, RefreshState, ResourceId, SecretHash, Timestamp,
    TokenError, UserId,
};
use portcullis_scopes::ScopeSet;
use serde::Serialize;

use std::net::IpAddr;

use crate::client_request::client_addr;
use crate::client_request::{
    ClientRequestError, TokenParam, authorization_header, reject_non_form_post,
};
use crate::response::json_no_store;
use crate::{AccountStore, AuthorizationServer, Clock, Store, StoreError};

/// The whole response for a token that is not active (RFC 7662 §2.2).
const INACTIVE: &str = r#"{"active":false}"#;

/// The result of searching one kind of token for the presented one.
enum Lookup {
    /// No token of this kind has that hash.
    NotFound,
    /// The token exists but is expired, rotated or of a revoked grant.
    Inactive,
    /// The token is active.
    Active(ActiveToken),
}

/// An active token as found in the store, before it is rendered.
struct ActiveToken {
    token_type: &'static str,
    scope: ScopeSet,
    client_id: String,
    user: UserId,
    issued_at: Timestamp,
    expires_at: Timestamp,
    resource: ResourceId,
}

/// The response for an active token (RFC 7662 §2.2).
#[derive(Serialize)]
struct ActiveBody<'a> {
    active: bool,
    #[serde(skip_serializing_if = "str::is_empty")]
    scope: &'a str,
    client_id: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    username: Option<&'a str>,
    token_type: &'static str,
    exp: u64,
    iat: u64,
    sub: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    aud: Option<&'a str>,
    iss: &'a str,
}

impl<S: Store, C: Clock> AuthorizationServer<S, C> {
    /// Serves the introspection endpoint (RFC 7662 §2) without `username`: a
    /// POST form with `token` and an optional `token_type_hint`.
    ///
    /// The caller must authenticate as a confidential client with
    /// `client_secret_basic` or `client_secret_post`, so the endpoint cannot be
    /// used to scan for tokens (RFC 7662 §4). Missing credentials, a public
    /// client and a wrong secret all get 401 `invalid_client`.
    ///
    /// An active access token is described with `scope`, `client_id`,
    /// `token_type` `Bearer`, `exp`, `iat`, `sub` (the user id), `aud` (the
    /// resource URI) and `iss`. An active refresh token gets the same fields
    /// with `token_type` `refresh_token` and the grant's scope. A token that is
    /// unknown, expired, revoked or rotated, or that was issued to another
    /// client while
    /// [`ServerConfig::introspection_of_other_clients`](crate::ServerConfig::introspection_of_other_clients)
    /// is off, gets exactly `{"active":false}`. The hint never changes the
    /// response. Every response carries `Cache-Control: no-store`.
    ///
    /// RFC 7662 §2.2 takes `token_type` values from RFC 6749 §5.1, which has
    /// none for refresh tokens, so `refresh_token` is this server's own value.
    pub async fn introspect<B: AsRef<[u8]>>(&self, request: &Request<B>) -> Response<Bytes> {
        if let Some(response) = reject_non_form_post(request) {
            return response;
        }
        let authorization = authorization_header(request);
        match self
            .introspect_inner(request.body().as_ref(), authorization, client_addr(request))
            .await
        {
            Ok(Some(active)) => self.active_response(&active, None),
            Ok(None) => inactive_response(),
            Err(failure) => self.client_request_failure("introspection", &failure),
        }
    }

    /// Serves the introspection endpoint like [`AuthorizationServer::introspect`],
    /// and adds `username` for an active token, read from `accounts`.
    ///
    /// A token whose user is no longer in `accounts` is still described, without
    /// `username`. A failure of `accounts` is 503 or 500, as for the token store.
    pub async fn introspect_with<B: AsRef<[u8]>, A: AccountStore>(
        &self,
        request: &Request<B>,
        accounts: &A,
    ) -> Response<Bytes> {
        if let Some(response) = reject_non_form_post(request) {
            return response;
        }
        let authorization = authorization_header(request);
        let active = match self
            .introspect_inner(request.body().as_ref(), authorization, client_addr(request))
            .await
        {
            Ok(Some(active)) => active,
            Ok(None) => return inactive_response(),
            Err(failure) => {
                return self.client_request_failure("introspection", &failure);
            }
        };
        match accounts.user(active.user).await {
            Ok(user) => self.active_response(&active, user.as_ref().map(|user| &*user.username)),
            Err(error) => {
                let failure = ClientRequestError::Store(error);
                self.client_request_failure("introspection", &failure)
            }
        }
    }

    async fn introspect_inner(
        &self,
        body: &[u8],
        authorization: Option<&str>,
        addr: Option<IpAddr>,
    ) -> Result<Option<ActiveToken>, ClientRequestError> {
        let form = Params::parse(body).map_err(TokenError::from)?;
        let credentials = match ClientCredentials::read(authorization, &form) {
            Ok(credentials) if credentials.method != AuthMethod::None => credentials,
            Ok(_) | Err(TokenError::NoClientCredentials) => {
                return Err(ClientRequestError::ConfidentialClientRequired);
            }
            Err(cause) => return Err(cause.into()),
        };
        let client = self.authenticate_client(&credentials, addr).await?;
        let param = TokenParam::read(&form)?;
        let hash = SecretHash::of(param.token);
        let now = self.clock.now();
        let mut lookup = if param.refresh_first() {
            self.find_refresh(hash, now).await?
        } else {
            self.find_access(hash, now).await?
        };
        if let Lookup::NotFound = lookup {
            lookup = if param.refresh_first() {
                self.find_access(hash, now).await?
            } else {
                self.find_refresh(hash, now).await?
            };
        }
        match lookup {
            Lookup::Active(token) => Ok(self.visible_to(&client, token)),
            Lookup::NotFound | Lookup::Inactive => {
                tracing::debug!(client_id = %client.id, "introspected token is not active");
                Ok(None)
            }
        }
    }

    /// Looks up an access token and decides whether it is active.
    async fn find_access(&self, hash: SecretHash, now: Timestamp) -> Result<Lookup, StoreError> {
        let Some(access) = self.store.access_token(hash).await? else {
            return Ok(Lookup::NotFound);
        };
        if now >= access.expires_at {
            return Ok(Lookup::Inactive);
        }
        let Some(grant) = self.store.grant(access.grant).await? else {
            return Ok(Lookup::Inactive);
        };
        Ok(Lookup::Active(ActiveToken {
            token_type: "Bearer",
            scope: access.scope,
            client_id: grant.client_id,
            user: access.user,
            issued_at: access.issued_at,
            expires_at: access.expires_at,
            resource: access.resource,
        }))
    }

    /// Looks up a refresh token and decides whether it is active: a rotated one never is.
    async fn find_refresh(&self, hash: SecretHash, now: Timestamp) -> Result<Lookup, StoreError> {
        let Some((refresh, state)) = self.store.refresh_token(hash).await? else {
            return Ok(Lookup::NotFound);
        };
        if state == RefreshState::Rotated || now >= refresh.expires_at {
            return Ok(Lookup::Inactive);
        }
        let Some(grant) = self.store.grant(refresh.grant).await? else {
            return Ok(Lookup::Inactive);
        };
        Ok(Lookup::Active(ActiveToken {
            token_type: "refresh_token",
            scope: grant.scope,
            client_id: grant.client_id,
            user: grant.user,
            issued_at: refresh.issued_at,
            expires_at: refresh.expires_at,
            resource: grant.resource,
        }))
    }

    /// Applies the policy that a client sees only tokens of its own grants,
    /// unless the configuration lets it introspect others' too.
    fn visible_to(&self, caller: &Client, token: ActiveToken) -> Option<ActiveToken> {
        if token.client_id == caller.id || self.config.introspection_of_other_clients {
            tracing::debug!(client_id = %caller.id, "introspected token is active");
            Some(token)
        } else {
            tracing::debug!(client_id = %caller.id, "introspected token belongs to another client");
            None
        }
    }

    fn active_response(&self, token: &ActiveToken, username: Option<&str>) -> Response<Bytes> {
        let scope = self.config.catalog.format(token.scope);
        let body = ActiveBody {
            active: true,
            scope: &scope,
            client_id: &token.client_id,
            username,
            token_type: token.token_type,
            exp: token.expires_at.0,
            iat: token.issued_at.0,
            sub: token.user.to_string(),
            aud: self.config.resources.uri(token.resource),
            iss: &self.config.issuer,
        };
        let json = serde_json::to_string(&body).unwrap_or_else(|error| {
            // serde_json fails only on non-string map keys or a failing Serialize impl,
            // and this body has neither. Respond as for an unknown token all the same.
            tracing::error!(%error, "serialising an introspection response failed");
            INACTIVE.to_owned()
        });
        json_no_store(StatusCode::OK, json)
    }
}

fn inactive_response() -> Response<Bytes> {
    json_no_store(StatusCode::OK, INACTIVE.to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn inactive_body_is_only_active_false() {
        let value: serde_json::Value = serde_json::from_str(INACTIVE).unwrap();
        assert_eq!(value, serde_json::json!({"active": false}));
    }
}
