use std::future::Future;

use portcullis_grants::{
    AccessToken, Client, CodeRecord, Grant, GrantId, RefreshState, RefreshToken, SecretHash,
    Timestamp, UserId, ValidatedAuthorization,
};

/// A boxed error from a storage backend.
pub type BoxError = Box<dyn std::error::Error + Send + Sync + 'static>;

/// Cause of a failed storage call.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum StoreError {
    /// The backend cannot be reached now; the server responds with 503 `temporarily_unavailable`.
    #[error("storage is temporarily unavailable")]
    Unavailable(#[source] BoxError),
    /// A record with the same key exists.
    #[error("a record with this key already exists")]
    Conflict,
    /// The backend failed in a way retrying will not fix; the server responds with 500 `server_error`.
    #[error("storage failed")]
    Backend(#[source] BoxError),
}

impl StoreError {
    /// Returns `true` when retrying later may succeed.
    pub fn is_transient(&self) -> bool {
        matches!(self, Self::Unavailable(_))
    }
}

/// The access and refresh token pair written by one issuing step.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct IssuedTokens {
    /// The SHA-256 of the access token string.
    pub access_hash: SecretHash,
    /// The access token record.
    pub access: AccessToken,
    /// The SHA-256 of the refresh token string.
    pub refresh_hash: SecretHash,
    /// The refresh token record.
    pub refresh: RefreshToken,
}

/// A stored authorization code and whether it was redeemed.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct StoredCode {
    /// The code's bindings.
    pub record: CodeRecord,
    /// `true` once redeemed: the record stays as a tombstone until it expires.
    pub consumed: bool,
}

/// The result of [`Store::redeem_code`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Redemption {
    /// The code was unused; it is now consumed and the grant and tokens are stored.
    Redeemed,
    /// The code was consumed before; nothing was written.
    AlreadyUsed(GrantId),
    /// No such code; nothing was written.
    Unknown,
}

/// The result of [`Store::rotate_refresh`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Rotation {
    /// The token was active; it is now rotated and the new pair is stored.
    Rotated,
    /// The token was rotated before; nothing was written.
    Reused(GrantId),
    /// No such token; nothing was written.
    Unknown,
}

/// Durable state of the authorization server: clients, codes, grants and tokens.
///
/// Every method takes `&self` and returns a `Send` future, so one store serves
/// many requests at once and the server stays generic without boxing. Each
/// security decision ([`Store::redeem_code`], [`Store::rotate_refresh`],
/// [`Store::revoke_grant`]) is one call that happens whole or not at all.
/// Secrets arrive as [`SecretHash`]es: a store never receives a token, code or
/// client secret.
pub trait Store: Send + Sync {
    /// Looks up a client by `client_id`.
    ///
    /// A false accept lets an unregistered client start a flow; a false reject
    /// locks a real client out.
    fn client(
        &self,
        client_id: &str,
    ) -> impl Future<Output = Result<Option<Client>, StoreError>> + Send;

    /// Inserts a client, or fails with [`StoreError::Conflict`] if its id is taken.
    fn insert_client(&self, client: Client) -> impl Future<Output = Result<(), StoreError>> + Send;

    /// Stores a new authorization code under its hash.
    fn insert_code(
        &self,
        hash: SecretHash,
        code: CodeRecord,
    ) -> impl Future<Output = Result<(), StoreError>> + Send;

    /// Looks up a code, redeemed or not, until it would have expired.
    ///
    /// Returning `None` for a consumed code would hide a replay, so the grant it
    /// produced would not be revoked.
    fn code(
        &self,
        hash: SecretHash,
    ) -> impl Future<Output = Result<Option<StoredCode>, StoreError>> + Send;

    /// Marks the code consumed and stores `grant` and the first token pair, atomically.
    ///
    /// Returns [`Redemption::AlreadyUsed`] when another call consumed the code
    /// first. A false accept here issues two token pairs for one code
    /// (OAuth 2.1 §4.1.3). A write of tokens without consuming the code, or the
    /// reverse, must never be visible.
    fn redeem_code(
        &self,
        hash: SecretHash,
        now: Timestamp,
        grant: Grant,
        tokens: IssuedTokens,
    ) -> impl Future<Output = Result<Redemption, StoreError>> + Send;

    /// Looks up an access token: the hot path of every API call.
    ///
    /// A false accept lets a revoked token in; implementations should not
    /// allocate on this path.
    fn access_token(
        &self,
        hash: SecretHash,
    ) -> impl Future<Output = Result<Option<AccessToken>, StoreError>> + Send;

    /// Looks up a refresh token, active or rotated, until it would have expired.
    fn refresh_token(
        &self,
        hash: SecretHash,
    ) -> impl Future<Output = Result<Option<(RefreshToken, RefreshState)>, StoreError>> + Send;

    /// Marks the refresh token rotated and stores the new pair, atomically.
    ///
    /// Returns [`Rotation::Reused`] when the token was rotated before. A false
    /// accept here lets a stolen refresh token run beside the real one
    /// (RFC 9700 §4.14.2).
    fn rotate_refresh(
        &self,
        old: SecretHash,
        now: Timestamp,
        tokens: IssuedTokens,
    ) -> impl Future<Output = Result<Rotation, StoreError>> + Send;

    /// Looks up a live grant; revoked grants are gone.
    fn grant(&self, id: GrantId) -> impl Future<Output = Result<Option<Grant>, StoreError>> + Send;

    /// Removes a grant and every access and refresh token of it.
    ///
    /// Code tombstones stay, so a replay of the code is still recognised.
    fn revoke_grant(&self, id: GrantId) -> impl Future<Output = Result<(), StoreError>> + Send;

    /// Removes one access token; `false` when it was not stored.
    fn revoke_access_token(
        &self,
        hash: SecretHash,
    ) -> impl Future<Output = Result<bool, StoreError>> + Send;

    /// Deletes up to `limit` expired codes, tokens and tombstones, returning how many.
    fn purge_expired(
        &self,
        now: Timestamp,
        limit: usize,
    ) -> impl Future<Output = Result<usize, StoreError>> + Send;
}

/// A resource owner who signs in with a password.
#[derive(Clone, PartialEq, Eq)]
pub struct User {
    /// The user id.
    pub id: UserId,
    /// The unique sign-in name.
    pub username: String,
    /// The password hash in PHC string format (argon2id).
    pub password_hash: String,
}

impl std::fmt::Debug for User {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("User")
            .field("id", &self.id)
            .field("username", &self.username)
            .finish_non_exhaustive()
    }
}

/// A browser session, bound to a cookie whose value is stored hashed.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Session {
    /// The signed-in user, or `None` before sign-in.
    pub user: Option<UserId>,
    /// When the session started.
    pub created_at: Timestamp,
    /// When the session ends.
    pub expires_at: Timestamp,
}

/// A validated authorization request waiting on the consent page.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PendingAuthorization {
    /// The request.
    pub request: ValidatedAuthorization,
    /// The hash of the browser binding the request is bound to: a cookie value
    /// the host gives the browser, so only that browser can approve or deny the request.
    pub session: SecretHash,
    /// When the request lapses.
    pub expires_at: Timestamp,
}

/// Users, browser sessions and pending authorization requests.
///
/// A host with its own sign-in can ignore this trait and drive the
/// authorization endpoint with its own user ids.
pub trait AccountStore: Send + Sync {
    /// Looks up a user by sign-in name.
    fn user_by_name(
        &self,
        username: &str,
    ) -> impl Future<Output = Result<Option<User>, StoreError>> + Send;

    /// Looks up a user by id.
    fn user(&self, id: UserId) -> impl Future<Output = Result<Option<User>, StoreError>> + Send;

    /// Inserts a user with a new id, or fails with [`StoreError::Conflict`] if the name is taken.
    fn insert_user(
        &self,
        username: &str,
        password_hash: &str,
    ) -> impl Future<Output = Result<User, StoreError>> + Send;

    /// Stores a session under the hash of its cookie value.
    fn insert_session(
        &self,
        hash: SecretHash,
        session: Session,
    ) -> impl Future<Output = Result<(), StoreError>> + Send;

    /// Looks up a session that has not expired at `now`.
    fn session(
        &self,
        hash: SecretHash,
        now: Timestamp,
    ) -> impl Future<Output = Result<Option<Session>, StoreError>> + Send;

    /// Deletes a session; deleting a missing one is not an error.
    fn delete_session(
        &self,
        hash: SecretHash,
    ) -> impl Future<Output = Result<(), StoreError>> + Send;

    /// Stores a pending request under the hash of its id.
    fn insert_pending(
        &self,
        hash: SecretHash,
        pending: PendingAuthorization,
    ) -> impl Future<Output = Result<(), StoreError>> + Send;

    /// Looks up a pending request that has not expired at `now`, leaving it in place.
    fn pending(
        &self,
        hash: SecretHash,
        now: Timestamp,
    ) -> impl Future<Output = Result<Option<PendingAuthorization>, StoreError>> + Send;

    /// Removes and returns a pending request that has not expired at `now`.
    ///
    /// Single use: of two concurrent calls, at most one gets the request.
    fn take_pending(
        &self,
        hash: SecretHash,
        now: Timestamp,
    ) -> impl Future<Output = Result<Option<PendingAuthorization>, StoreError>> + Send;
}
