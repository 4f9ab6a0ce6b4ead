use bytes::Bytes;
use http::{Request, Response};
use portcullis_grants::{Client, ClientCredentials, Params, SecretHash, TokenError};

use std::net::IpAddr;

use crate::client_request::client_addr;
use crate::client_request::{
    ClientRequestError, TokenParam, authorization_header, empty_no_store, reject_non_form_post,
};
use crate::{AuthorizationServer, Clock, Store, StoreError};

/// The result of searching one kind of token for the presented one.
enum Lookup {
    /// No token of this kind has that hash.
    NotFound,
    /// The token was found and handled, whether or not anything was revoked.
    Handled,
}

impl<S: Store, C: Clock> AuthorizationServer<S, C> {
    /// Serves the revocation endpoint (RFC 7009 §2): a POST form with `token`
    /// and an optional `token_type_hint`.
    ///
    /// The client authenticates exactly as at the token endpoint
    /// (`client_secret_basic`, `client_secret_post`, or `client_id` alone for a
    /// public client). Revoking a refresh token revokes its whole grant: every
    /// access and refresh token of that authorization. Revoking an access token
    /// revokes only that token, and the grant and its refresh token stay usable.
    /// The hint only orders the search, so a wrong hint still revokes the token.
    ///
    /// The response is an empty 200 whenever the request is well formed and the
    /// client authenticated: for a token that is unknown, expired or already
    /// revoked (RFC 7009 §2.2), and also for a token issued to another client,
    /// which is left untouched. RFC 7009 §2.1 would refuse that last request
    /// with an error, but an error would tell the caller that the token exists.
    /// A failed Basic authentication is 401 with a `Basic` challenge, and a
    /// storage failure is 503 `temporarily_unavailable` or 500 `server_error`,
    /// after which the client must assume the token is still valid. Every
    /// response carries `Cache-Control: no-store`.
    pub async fn revoke<B: AsRef<[u8]>>(&self, request: &Request<B>) -> Response<Bytes> {
        if let Some(response) = reject_non_form_post(request) {
            return response;
        }
        let authorization = authorization_header(request);
        match self
            .revoke_inner(request.body().as_ref(), authorization, client_addr(request))
            .await
        {
            Ok(()) => empty_no_store(),
            Err(failure) => self.client_request_failure("revocation", &failure),
        }
    }

    async fn revoke_inner(
        &self,
        body: &[u8],
        authorization: Option<&str>,
        addr: Option<IpAddr>,
    ) -> Result<(), ClientRequestError> {
        let form = Params::parse(body).map_err(TokenError::from)?;
        let credentials = ClientCredentials::read(authorization, &form)?;
        let client = self.authenticate_client(&credentials, addr).await?;
        let param = TokenParam::read(&form)?;
        let hash = SecretHash::of(param.token);
        let first = if param.refresh_first() {
            self.revoke_refresh(&client, hash).await?
        } else {
            self.revoke_access(&client, hash).await?
        };
        if let Lookup::NotFound = first {
            let second = if param.refresh_first() {
                self.revoke_access(&client, hash).await?
            } else {
                self.revoke_refresh(&client, hash).await?
            };
            if let Lookup::NotFound = second {
                tracing::debug!(client_id = %client.id, "revocation of an unknown token");
            }
        }
        Ok(())
    }

    /// Revokes the grant of a refresh token owned by `client`.
    ///
    /// A rotated refresh token also revokes its grant, as presenting it at the
    /// token endpoint would.
    async fn revoke_refresh(
        &self,
        client: &Client,
        hash: SecretHash,
    ) -> Result<Lookup, StoreError> {
        let Some((token, _)) = self.store.refresh_token(hash).await? else {
            return Ok(Lookup::NotFound);
        };
        let Some(grant) = self.store.grant(token.grant).await? else {
            tracing::debug!(client_id = %client.id, grant = %token.grant, "refresh token of a revoked grant");
            return Ok(Lookup::Handled);
        };
        if grant.client_id != client.id {
            tracing::warn!(client_id = %client.id, grant = %grant.id, "client tried to revoke another client's refresh token");
            return Ok(Lookup::Handled);
        }
        self.store.revoke_grant(grant.id).await?;
        tracing::debug!(client_id = %client.id, grant = %grant.id, "grant revoked through its refresh token");
        Ok(Lookup::Handled)
    }

    /// Revokes one access token owned by `client`, leaving its grant in place.
    async fn revoke_access(&self, client: &Client, hash: SecretHash) -> Result<Lookup, StoreError> {
        let Some(token) = self.store.access_token(hash).await? else {
            return Ok(Lookup::NotFound);
        };
        let Some(grant) = self.store.grant(token.grant).await? else {
            tracing::debug!(client_id = %client.id, grant = %token.grant, "access token of a revoked grant");
            return Ok(Lookup::Handled);
        };
        if grant.client_id != client.id {
            tracing::warn!(client_id = %client.id, grant = %grant.id, "client tried to revoke another client's access token");
            return Ok(Lookup::Handled);
        }
        self.store.revoke_access_token(hash).await?;
        tracing::debug!(client_id = %client.id, grant = %grant.id, "access token revoked");
        Ok(Lookup::Handled)
    }
}
