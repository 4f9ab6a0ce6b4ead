//! Conversions between record fields and the column values both engines store.

use portcullis_grants::{ClientOrigin, GrantId, ResourceId, SecretHash, Timestamp, UserId};
use portcullis_pkce::CodeChallenge;
use portcullis_scopes::ScopeSet;

use crate::error::InvalidColumn;

/// Converts a time to the signed 64-bit column value.
///
/// Times past `i64::MAX` seconds (about 292 billion years) are stored as
/// `i64::MAX`, so comparisons with `now` keep their order. Such a time reads
/// back as `i64::MAX`, not as the value written.
pub(crate) fn timestamp_to_sql(time: Timestamp) -> i64 {
    i64::try_from(time.0).unwrap_or(i64::MAX)
}

pub(crate) fn timestamp_from_sql(
    value: i64,
    column: &'static str,
) -> Result<Timestamp, InvalidColumn> {
    u64::try_from(value)
        .map(Timestamp)
        .map_err(|_| InvalidColumn {
            column,
            reason: "negative time",
        })
}

/// Converts a user id to the signed 64-bit column value.
///
/// The bits are kept as they are (two's complement), so every `u64` round-trips
/// exactly; user ids are only compared for equality, never ordered.
pub(crate) fn user_to_sql(user: UserId) -> i64 {
    i64::from_ne_bytes(user.0.to_ne_bytes())
}

pub(crate) fn user_from_sql(value: i64) -> UserId {
    UserId(u64::from_ne_bytes(value.to_ne_bytes()))
}

/// Converts a scope set to 16 bytes holding its bits in big-endian order.
///
/// Bit `i` is the `i`-th scope of the server's catalog, which only ever grows,
/// so stored sets keep their meaning across restarts.
pub(crate) fn scope_to_sql(scope: ScopeSet) -> [u8; 16] {
    scope.bits().to_be_bytes()
}

pub(crate) fn scope_from_sql(
    value: &[u8],
    column: &'static str,
) -> Result<ScopeSet, InvalidColumn> {
    let bytes = <[u8; 16]>::try_from(value).map_err(|_| InvalidColumn {
        column,
        reason: "scope set is not 16 bytes",
    })?;
    Ok(ScopeSet::from_bits(u128::from_be_bytes(bytes)))
}

/// Converts a resource to its index in the server's resource list, which only ever grows.
pub(crate) fn resource_to_sql(resource: ResourceId) -> i32 {
    i32::from(resource.0)
}

pub(crate) fn resource_from_sql(
    value: i32,
    column: &'static str,
) -> Result<ResourceId, InvalidColumn> {
    u16::try_from(value)
        .map(ResourceId)
        .map_err(|_| InvalidColumn {
            column,
            reason: "resource index is not in 0..=65535",
        })
}

pub(crate) fn grant_id_from_sql(
    value: &[u8],
    column: &'static str,
) -> Result<GrantId, InvalidColumn> {
    <[u8; 16]>::try_from(value)
        .map(GrantId)
        .map_err(|_| InvalidColumn {
            column,
            reason: "grant id is not 16 bytes",
        })
}

pub(crate) fn hash_from_sql(
    value: &[u8],
    column: &'static str,
) -> Result<SecretHash, InvalidColumn> {
    <[u8; 32]>::try_from(value)
        .map(SecretHash::from_bytes)
        .map_err(|_| InvalidColumn {
            column,
            reason: "SHA-256 hash is not 32 bytes",
        })
}

pub(crate) fn challenge_from_sql(
    value: &[u8],
    column: &'static str,
) -> Result<CodeChallenge, InvalidColumn> {
    <[u8; 32]>::try_from(value)
        .map(CodeChallenge::from_digest)
        .map_err(|_| InvalidColumn {
            column,
            reason: "PKCE challenge is not 32 bytes",
        })
}

pub(crate) fn origin_to_sql(origin: ClientOrigin) -> &'static str {
    match origin {
        ClientOrigin::Administrator => "administrator",
        ClientOrigin::Dynamic => "dynamic",
    }
}

pub(crate) fn origin_from_sql(
    value: &str,
    column: &'static str,
) -> Result<ClientOrigin, InvalidColumn> {
    match value {
        "administrator" => Ok(ClientOrigin::Administrator),
        "dynamic" => Ok(ClientOrigin::Dynamic),
        _ => Err(InvalidColumn {
            column,
            reason: "unknown client origin",
        }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn timestamps_past_i64_saturate() {
        assert_eq!(timestamp_to_sql(Timestamp(u64::MAX)), i64::MAX);
        assert_eq!(timestamp_to_sql(Timestamp(1_700_000_000)), 1_700_000_000);
    }

    #[test]
    fn negative_timestamp_is_rejected() {
        assert!(timestamp_from_sql(-1, "expires_at").is_err());
    }

    #[test]
    fn user_ids_round_trip_across_the_whole_range() {
        for id in [0, 1, u64::from(u32::MAX), 1 << 63, u64::MAX] {
            assert_eq!(user_from_sql(user_to_sql(UserId(id))), UserId(id));
        }
    }

    #[test]
    fn scope_sets_round_trip_every_bit() {
        for bits in [0, 1, 1 << 64, 1 << 127, u128::MAX] {
            let stored = scope_to_sql(ScopeSet::from_bits(bits));
            assert_eq!(
                scope_from_sql(&stored, "scope").map(ScopeSet::bits).ok(),
                Some(bits)
            );
        }
    }

    #[test]
    fn short_scope_blob_is_rejected() {
        assert!(scope_from_sql(&[0; 15], "scope").is_err());
    }

    #[test]
    fn out_of_range_resource_is_rejected() {
        assert!(resource_from_sql(65_536, "resource").is_err());
        assert!(resource_from_sql(-1, "resource").is_err());
        assert_eq!(
            resource_from_sql(65_535, "resource").ok(),
            Some(ResourceId(u16::MAX))
        );
    }

    #[test]
    fn wrong_length_ids_are_rejected() {
        assert!(grant_id_from_sql(&[0; 15], "grant_id").is_err());
        assert!(hash_from_sql(&[0; 33], "hash").is_err());
        assert!(challenge_from_sql(&[], "challenge").is_err());
    }

    #[test]
    fn origins_round_trip() {
        for origin in [ClientOrigin::Administrator, ClientOrigin::Dynamic] {
            assert_eq!(
                origin_from_sql(origin_to_sql(origin), "origin").ok(),
                Some(origin)
            );
        }
    }
}
