//! Random values and PKCE pairs for the kit's own requests (RFC 7636).

use base64ct::{Base64UrlUnpadded, Encoding};
use rand_core::{OsRng, RngCore};
use sha2::{Digest, Sha256};

/// Code verifier from RFC 7636 Appendix B.
pub(crate) const RFC7636_VERIFIER: &str = "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk";
/// S256 code challenge of [`RFC7636_VERIFIER`], from RFC 7636 Appendix B.
pub(crate) const RFC7636_CHALLENGE: &str = "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM";

/// Returns `bytes` random bytes from the operating system, base64url-encoded
/// without padding.
///
/// # Panics
///
/// Panics if the operating system has no randomness to give; [`crate::run`]
/// checks that it does before any check starts.
pub(crate) fn random_string(bytes: usize) -> String {
    let mut buffer = vec![0u8; bytes];
    OsRng.fill_bytes(&mut buffer);
    Base64UrlUnpadded::encode_string(&buffer)
}

/// Returns whether the operating system random source works.
pub(crate) fn randomness_available() -> bool {
    let mut probe = [0u8; 16];
    OsRng.try_fill_bytes(&mut probe).is_ok()
}

/// Returns the S256 challenge of a verifier: base64url(SHA-256(verifier)).
pub(crate) fn s256(verifier: &str) -> String {
    Base64UrlUnpadded::encode_string(&Sha256::digest(verifier.as_bytes()))
}

/// A verifier and its S256 challenge.
#[derive(Clone, Debug)]
pub(crate) struct Pkce {
    pub(crate) verifier: String,
    pub(crate) challenge: String,
}

impl Pkce {
    /// Generates a 43-character verifier from 32 random bytes.
    pub(crate) fn generate() -> Self {
        Self::from_verifier(random_string(32))
    }

    /// Derives the pair for a given verifier.
    pub(crate) fn from_verifier(verifier: impl Into<String>) -> Self {
        let verifier = verifier.into();
        let challenge = s256(&verifier);
        Self {
            verifier,
            challenge,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn s256_matches_rfc7636_appendix_b() {
        assert_eq!(s256(RFC7636_VERIFIER), RFC7636_CHALLENGE);
    }

    #[test]
    fn generated_verifier_is_43_unreserved_chars() {
        let pkce = Pkce::generate();
        assert_eq!(pkce.verifier.len(), 43);
        assert!(
            pkce.verifier
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
        );
        assert_eq!(pkce.challenge, s256(&pkce.verifier));
        assert_ne!(Pkce::generate().verifier, pkce.verifier);
    }
}
