//! PKCE parameters generated the way FLTR's guide does it in Python: 32 random
//! bytes as base64url without padding for the verifier, and the base64url SHA-256
//! of the verifier without padding for the `S256` challenge (RFC 7636 §4.1, §4.2).

use base64ct::{Base64UrlUnpadded, Encoding};
use rand_core::{OsRng, RngCore};
use sha2::{Digest, Sha256};

/// A code verifier and its `S256` challenge.
#[derive(Clone, PartialEq, Eq)]
pub struct Pkce {
    /// The verifier, sent at the token endpoint.
    pub verifier: String,
    /// The `S256` challenge, sent at the authorization endpoint.
    pub challenge: String,
}

impl std::fmt::Debug for Pkce {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Pkce")
            .field("challenge", &self.challenge)
            .finish_non_exhaustive()
    }
}

impl Pkce {
    /// Generates a verifier from 32 random bytes of the operating system's CSPRNG.
    pub fn generate() -> Self {
        let mut bytes = [0u8; 32];
        OsRng.fill_bytes(&mut bytes);
        Self::from_verifier(&Base64UrlUnpadded::encode_string(&bytes))
    }

    /// Derives the `S256` challenge of a given verifier.
    pub fn from_verifier(verifier: &str) -> Self {
        let digest = Sha256::digest(verifier.as_bytes());
        Self {
            verifier: verifier.to_owned(),
            challenge: Base64UrlUnpadded::encode_string(&digest),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn challenge_matches_rfc_7636_appendix_b() {
        let pkce = Pkce::from_verifier("dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk");
        assert_eq!(
            pkce.challenge,
            "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM"
        );
    }

    #[test]
    fn generated_verifier_is_43_unreserved_characters() {
        let pkce = Pkce::generate();
        assert_eq!(
            pkce.verifier.len(),
            43,
            "32 bytes give 43 base64url characters"
        );
        assert!(
            pkce.verifier
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_'),
            "the verifier is base64url without padding"
        );
        assert_ne!(
            Pkce::generate().verifier,
            pkce.verifier,
            "verifiers are random"
        );
    }
}
