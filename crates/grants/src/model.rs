use std::fmt;

use base64ct::{Base64UrlUnpadded, Encoding};
use portcullis_pkce::CodeChallenge;
use portcullis_scopes::ScopeSet;
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;

/// Seconds since the Unix epoch. Every time in this crate is an argument.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Timestamp(pub u64);

impl Timestamp {
    /// Returns the time `seconds` later, saturating at the end of time.
    #[must_use]
    pub const fn plus(self, seconds: u64) -> Self {
        Self(self.0.saturating_add(seconds))
    }

    /// Returns the whole seconds from `self` until `later`, zero if `later` is not later.
    pub const fn seconds_until(self, later: Self) -> u64 {
        later.0.saturating_sub(self.0)
    }
}

/// The SHA-256 digest of a token, code, secret or session id: the only form stored.
///
/// Comparison is constant time.
#[derive(Clone, Copy)]
pub struct SecretHash([u8; 32]);

impl SecretHash {
    /// Hashes the whole secret string.
    pub fn of(secret: &str) -> Self {
        Self(Sha256::digest(secret.as_bytes()).into())
    }

    /// Rebuilds a hash read from storage.
    pub const fn from_bytes(bytes: [u8; 32]) -> Self {
        Self(bytes)
    }

    /// Returns the digest bytes, for storage keys.
    pub const fn as_bytes(&self) -> &[u8; 32] {
        &self.0
    }

    /// Checks `secret` against this hash in constant time.
    pub fn matches(&self, secret: &str) -> bool {
        Self::of(secret) == *self
    }
}

impl PartialEq for SecretHash {
    fn eq(&self, other: &Self) -> bool {
        self.0.ct_eq(&other.0).into()
    }
}

impl Eq for SecretHash {}

impl std::hash::Hash for SecretHash {
    fn hash<H: std::hash::Hasher>(&self, state: &mut H) {
        self.0.hash(state);
    }
}

impl fmt::Debug for SecretHash {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // The first four bytes identify a hash in logs without helping an attacker.
        write!(
            f,
            "SecretHash({:02x}{:02x}{:02x}{:02x}..)",
            self.0[0], self.0[1], self.0[2], self.0[3]
        )
    }
}

/// The identifier of one authorization: a user's consent for a client, and every
/// token that descends from it.
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct GrantId(pub [u8; 16]);

impl fmt::Debug for GrantId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "GrantId({self})")
    }
}

impl fmt::Display for GrantId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for byte in self.0 {
            write!(f, "{byte:02x}")?;
        }
        Ok(())
    }
}

/// The identifier of a resource owner.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct UserId(pub u64);

impl fmt::Display for UserId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.fmt(f)
    }
}

/// The position of a protected resource in the server's [`Resources`](crate::Resources).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub struct ResourceId(pub u16);

/// How a client was created, which decides whether it is trusted with error
/// redirects before the user has signed in (RFC 9700 §4.11.2).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum ClientOrigin {
    /// Created by an administrator or a signed-in user.
    Administrator,
    /// Created through open dynamic registration (RFC 7591).
    Dynamic,
}

/// A registered OAuth client.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Client {
    /// The `client_id`.
    pub id: String,
    /// The display name shown on the consent page.
    pub name: String,
    /// The SHA-256 of the client secret; `None` for a public client.
    pub secret_hash: Option<SecretHash>,
    /// The registered redirect URIs, compared as raw strings.
    pub redirect_uris: Vec<String>,
    /// The scopes the client may request.
    pub scope: ScopeSet,
    /// How the client was created.
    pub origin: ClientOrigin,
    /// When the client was created.
    pub created_at: Timestamp,
}

impl Client {
    /// Returns `true` for a client without a secret (`token_endpoint_auth_method=none`).
    pub fn is_public(&self) -> bool {
        self.secret_hash.is_none()
    }
}

/// An authorization code as stored: everything the redemption must check.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CodeRecord {
    /// The grant the code's tokens will belong to.
    pub grant: GrantId,
    /// The client the code was issued to.
    pub client_id: String,
    /// The redirect URI the code was sent to, with the port the client used.
    pub redirect_uri: String,
    /// Whether the authorization request carried `redirect_uri` (OAuth 2.1 §4.1.3).
    pub redirect_uri_sent: bool,
    /// The PKCE challenge.
    pub challenge: CodeChallenge,
    /// The scope the user approved.
    pub scope: ScopeSet,
    /// The resource the tokens are for (RFC 8707).
    pub resource: ResourceId,
    /// The user who approved.
    pub user: UserId,
    /// When the code was issued.
    pub issued_at: Timestamp,
    /// When the code stops being redeemable.
    pub expires_at: Timestamp,
}

/// One authorization: the user's consent for a client and resource.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Grant {
    /// The grant identifier.
    pub id: GrantId,
    /// The client the user authorized.
    pub client_id: String,
    /// The user who approved.
    pub user: UserId,
    /// The scope the user approved; refresh tokens keep it (OAuth 2.1 §4.3.3).
    pub scope: ScopeSet,
    /// The resource the tokens are for.
    pub resource: ResourceId,
    /// When the user approved.
    pub created_at: Timestamp,
}

/// An access token as stored and checked on every API call.
///
/// `Copy` on purpose: a bearer check reads one of these and allocates nothing.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct AccessToken {
    /// The grant the token belongs to.
    pub grant: GrantId,
    /// The user the token acts for.
    pub user: UserId,
    /// The token's scope, at most the grant's.
    pub scope: ScopeSet,
    /// The token's audience.
    pub resource: ResourceId,
    /// When the token was issued.
    pub issued_at: Timestamp,
    /// When the token expires.
    pub expires_at: Timestamp,
}

/// A refresh token as stored.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct RefreshToken {
    /// The grant the token belongs to; the grant holds its scope and client.
    pub grant: GrantId,
    /// When the token was issued.
    pub issued_at: Timestamp,
    /// When the token expires, unless rotated or revoked first.
    pub expires_at: Timestamp,
}

/// Whether a stored refresh token may still be used.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum RefreshState {
    /// The current refresh token of its grant.
    Active,
    /// Replaced by rotation; presenting it again is a replay (RFC 9700 §4.14.2).
    Rotated,
}

/// Encodes 32 random bytes as a token body: base64url without padding.
pub fn encode_token_bytes(bytes: &[u8; 32]) -> String {
    Base64UrlUnpadded::encode_string(bytes)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn secret_hash_matches_only_its_secret() {
        let hash = SecretHash::of("s3cret");
        assert!(hash.matches("s3cret"));
        assert!(!hash.matches("s3cret "));
    }

    #[test]
    fn secret_hash_debug_shows_a_prefix_only() {
        let printed = format!("{:?}", SecretHash::of("x"));
        assert!(printed.len() < 30, "{printed}");
    }

    #[test]
    fn timestamps_saturate() {
        assert_eq!(Timestamp(u64::MAX).plus(1), Timestamp(u64::MAX));
        assert_eq!(Timestamp(10).seconds_until(Timestamp(4)), 0);
        assert_eq!(Timestamp(4).seconds_until(Timestamp(10)), 6);
    }
}
