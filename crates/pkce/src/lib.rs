//! Proof Key for Code Exchange ([RFC 7636]) with the `S256` method only.
//!
//! This crate does no I/O, never reads the clock and draws randomness only from
//! the caller's RNG. It parses and generates code verifiers, derives and parses
//! `S256` code challenges, and checks a verifier against a challenge in constant
//! time. The `plain` method is rejected with its own error, never accepted
//! silently ([RFC 9700 §2.1.1]).
//!
//! ```
//! use portcullis_pkce::{CodeChallenge, CodeChallengeMethod, CodeVerifier};
//!
//! // RFC 7636 Appendix B.
//! let verifier = CodeVerifier::parse("dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk")?;
//! let method = CodeChallengeMethod::parse(Some("S256"))?;
//! let challenge = CodeChallenge::parse("E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM", method)?;
//! assert!(challenge.verify(&verifier));
//!
//! let fresh = CodeVerifier::generate(&mut rand_core::OsRng);
//! assert!(CodeChallenge::s256(&fresh).verify(&fresh));
//! assert!(!challenge.verify(&fresh));
//! # Ok::<(), portcullis_pkce::PkceError>(())
//! ```
//!
//! [RFC 7636]: https://www.rfc-editor.org/rfc/rfc7636
//! [RFC 9700 §2.1.1]: https://www.rfc-editor.org/rfc/rfc9700#section-2.1.1
#![forbid(unsafe_code)]
#![deny(missing_docs)]

use std::fmt;

use base64ct::{Base64UrlUnpadded, Encoding};
use rand_core::CryptoRngCore;
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;

/// Shortest verifier or challenge, in characters (RFC 7636 §4.1).
pub const MIN_LEN: usize = 43;
/// Longest verifier or challenge, in characters (RFC 7636 §4.1).
pub const MAX_LEN: usize = 128;

/// Why a PKCE parameter was rejected.
#[derive(Clone, Copy, Debug, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum PkceError {
    /// `code_challenge_method` was absent; this crate does not default to `plain`.
    #[error("code_challenge_method is missing")]
    MissingMethod,
    /// `code_challenge_method=plain`, which an OAuth 2.1 server should not offer.
    #[error("code_challenge_method plain is not supported")]
    PlainNotSupported,
    /// A method other than `S256` or `plain`.
    #[error("code_challenge_method is not supported")]
    UnsupportedMethod,
    /// The challenge is not 43 base64url characters encoding a SHA-256 digest.
    #[error("code_challenge is malformed")]
    MalformedChallenge,
    /// The verifier is shorter than 43 or longer than 128 characters.
    #[error("code_verifier length is outside 43 to 128 characters")]
    VerifierLength,
    /// The verifier has a character outside `[A-Za-z0-9-._~]`.
    #[error("code_verifier has a character outside the unreserved set")]
    VerifierCharset,
}

/// A `code_challenge_method` this crate accepts: `S256`, the only one.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum CodeChallengeMethod {
    /// `BASE64URL(SHA256(ASCII(code_verifier)))` (RFC 7636 §4.2).
    S256,
}

impl CodeChallengeMethod {
    /// Parses the `code_challenge_method` parameter.
    ///
    /// # Errors
    ///
    /// [`PkceError::MissingMethod`] for `None` (RFC 7636 §4.3 would read it as
    /// `plain`), [`PkceError::PlainNotSupported`] for `plain`, and
    /// [`PkceError::UnsupportedMethod`] for anything else.
    pub fn parse(value: Option<&str>) -> Result<Self, PkceError> {
        match value {
            Some("S256") => Ok(Self::S256),
            Some("plain") => Err(PkceError::PlainNotSupported),
            Some(_) => Err(PkceError::UnsupportedMethod),
            None => Err(PkceError::MissingMethod),
        }
    }

    /// Returns the parameter value.
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::S256 => "S256",
        }
    }
}

/// A code verifier: 43 to 128 characters from `[A-Za-z0-9-._~]` (RFC 7636 §4.1).
///
/// It is a secret until the code is redeemed: `Debug` prints a placeholder and
/// there is no `Display`. [`CodeVerifier::secret`] exposes the value.
#[derive(Clone)]
pub struct CodeVerifier(String);

impl CodeVerifier {
    /// Parses a verifier received at the token endpoint.
    ///
    /// # Errors
    ///
    /// [`PkceError::VerifierLength`] or [`PkceError::VerifierCharset`].
    pub fn parse(value: &str) -> Result<Self, PkceError> {
        check_unreserved(value)?;
        Ok(Self(value.to_owned()))
    }

    /// Generates a verifier of 43 characters from 32 bytes of `rng` (RFC 7636 §7.1).
    pub fn generate(rng: &mut impl CryptoRngCore) -> Self {
        let mut bytes = [0u8; 32];
        rng.fill_bytes(&mut bytes);
        Self(Base64UrlUnpadded::encode_string(&bytes))
    }

    /// Returns the verifier text, to send in a token request.
    pub fn secret(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for CodeVerifier {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("CodeVerifier(<redacted>)")
    }
}

/// Checks the verifier syntax of RFC 7636 §4.1 without allocating.
///
/// # Errors
///
/// [`PkceError::VerifierLength`] or [`PkceError::VerifierCharset`].
pub fn check_unreserved(value: &str) -> Result<(), PkceError> {
    if !(MIN_LEN..=MAX_LEN).contains(&value.len()) {
        return Err(PkceError::VerifierLength);
    }
    if !value.bytes().all(is_unreserved) {
        return Err(PkceError::VerifierCharset);
    }
    Ok(())
}

fn is_unreserved(byte: u8) -> bool {
    byte.is_ascii_alphanumeric() || matches!(byte, b'-' | b'.' | b'_' | b'~')
}

/// An `S256` code challenge: the SHA-256 digest of the verifier.
///
/// Stored as the 32-byte digest, so it is `Copy` and compares in constant time.
#[derive(Clone, Copy, PartialEq, Eq)]
pub struct CodeChallenge([u8; 32]);

impl CodeChallenge {
    /// Parses the `code_challenge` parameter sent with `method`.
    ///
    /// # Errors
    ///
    /// [`PkceError::MalformedChallenge`] unless the value is 43 base64url
    /// characters without padding that decode to 32 bytes. A longer value is
    /// legal syntax in RFC 7636 §4.2 but can never equal an `S256` digest, so it
    /// is rejected up front.
    pub fn parse(value: &str, method: CodeChallengeMethod) -> Result<Self, PkceError> {
        match method {
            CodeChallengeMethod::S256 => {
                if value.len() != MIN_LEN || !value.bytes().all(is_unreserved) {
                    return Err(PkceError::MalformedChallenge);
                }
                let mut digest = [0u8; 32];
                let decoded = Base64UrlUnpadded::decode(value, &mut digest)
                    .map_err(|_| PkceError::MalformedChallenge)?;
                if decoded.len() != digest.len() {
                    return Err(PkceError::MalformedChallenge);
                }
                Ok(Self(digest))
            }
        }
    }

    /// Derives the `S256` challenge of a verifier.
    pub fn s256(verifier: &CodeVerifier) -> Self {
        Self(Sha256::digest(verifier.0.as_bytes()).into())
    }

    /// Rebuilds a challenge from a digest kept in storage.
    pub const fn from_digest(digest: [u8; 32]) -> Self {
        Self(digest)
    }

    /// Returns the SHA-256 digest, for storage.
    pub const fn digest(&self) -> &[u8; 32] {
        &self.0
    }

    /// Checks `verifier` against this challenge in constant time (RFC 7636 §4.6).
    pub fn verify(&self, verifier: &CodeVerifier) -> bool {
        self.verify_str(&verifier.0)
    }

    /// Checks verifier text against this challenge without allocating.
    ///
    /// Text that is not a valid verifier never matches.
    pub fn verify_str(&self, verifier: &str) -> bool {
        if check_unreserved(verifier).is_err() {
            return false;
        }
        let digest: [u8; 32] = Sha256::digest(verifier.as_bytes()).into();
        digest.ct_eq(&self.0).into()
    }

    /// Returns the base64url form sent as `code_challenge`.
    pub fn to_base64url(&self) -> String {
        Base64UrlUnpadded::encode_string(&self.0)
    }
}

impl fmt::Debug for CodeChallenge {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "CodeChallenge({})", self.to_base64url())
    }
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;

    const APPENDIX_B_VERIFIER: &str = "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk";
    const APPENDIX_B_CHALLENGE: &str = "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM";

    #[test]
    fn rfc7636_appendix_b_vector() {
        let verifier = CodeVerifier::parse(APPENDIX_B_VERIFIER).unwrap();
        assert_eq!(
            CodeChallenge::s256(&verifier).to_base64url(),
            APPENDIX_B_CHALLENGE
        );
        let challenge =
            CodeChallenge::parse(APPENDIX_B_CHALLENGE, CodeChallengeMethod::S256).unwrap();
        assert!(challenge.verify(&verifier));
    }

    #[test]
    fn changed_last_character_fails_verification() {
        let challenge =
            CodeChallenge::parse(APPENDIX_B_CHALLENGE, CodeChallengeMethod::S256).unwrap();
        assert!(!challenge.verify_str("dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXl"));
    }

    #[test]
    fn plain_and_missing_methods_are_rejected() {
        assert_eq!(
            CodeChallengeMethod::parse(Some("plain")),
            Err(PkceError::PlainNotSupported)
        );
        assert_eq!(
            CodeChallengeMethod::parse(None),
            Err(PkceError::MissingMethod)
        );
        assert_eq!(
            CodeChallengeMethod::parse(Some("S512")),
            Err(PkceError::UnsupportedMethod)
        );
        assert_eq!(
            CodeChallengeMethod::parse(Some("s256")),
            Err(PkceError::UnsupportedMethod)
        );
    }

    #[test]
    fn malformed_challenges_are_rejected() {
        let short = &APPENDIX_B_CHALLENGE[..42];
        let padded = format!("{APPENDIX_B_CHALLENGE}=");
        let plus = APPENDIX_B_CHALLENGE.replace('-', "+");
        for bad in [short, padded.as_str(), plus.as_str(), "", &"A".repeat(129)] {
            assert_eq!(
                CodeChallenge::parse(bad, CodeChallengeMethod::S256),
                Err(PkceError::MalformedChallenge),
                "{bad:?}"
            );
        }
    }

    #[test]
    fn verifier_bounds_are_43_and_128() {
        assert_eq!(
            CodeVerifier::parse(&"a".repeat(42)).unwrap_err(),
            PkceError::VerifierLength
        );
        assert!(CodeVerifier::parse(&"a".repeat(43)).is_ok());
        assert!(CodeVerifier::parse(&"a".repeat(128)).is_ok());
        assert_eq!(
            CodeVerifier::parse(&"a".repeat(129)).unwrap_err(),
            PkceError::VerifierLength
        );
        let with_plus = format!("{}+", "a".repeat(43));
        assert_eq!(
            CodeVerifier::parse(&with_plus).unwrap_err(),
            PkceError::VerifierCharset
        );
    }

    #[test]
    fn verifier_debug_hides_the_value() {
        let verifier = CodeVerifier::parse(APPENDIX_B_VERIFIER).unwrap();
        let printed = format!("{verifier:?}");
        assert!(!printed.contains(APPENDIX_B_VERIFIER));
        assert!(printed.contains("redacted"));
    }

    #[test]
    fn generated_verifiers_are_valid_and_distinct() {
        let mut rng = rand_core::OsRng;
        let first = CodeVerifier::generate(&mut rng);
        let second = CodeVerifier::generate(&mut rng);
        assert!(CodeVerifier::parse(first.secret()).is_ok());
        assert_eq!(first.secret().len(), 43);
        assert_ne!(first.secret(), second.secret());
    }

    proptest! {
        #[test]
        fn verifier_parse_accepts_exactly_the_rfc_syntax(input in "\\PC{0,140}") {
            let valid = (MIN_LEN..=MAX_LEN).contains(&input.len())
                && input.bytes().all(is_unreserved);
            match CodeVerifier::parse(&input) {
                Ok(verifier) => {
                    prop_assert!(valid);
                    prop_assert_eq!(verifier.secret(), input.as_str());
                }
                Err(_) => prop_assert!(!valid),
            }
        }

        #[test]
        fn unreserved_verifiers_round_trip(input in "[A-Za-z0-9._~-]{43,128}") {
            let verifier = CodeVerifier::parse(&input).unwrap();
            prop_assert_eq!(verifier.secret(), input.as_str());
            let challenge = CodeChallenge::s256(&verifier);
            let reparsed = CodeChallenge::parse(&challenge.to_base64url(), CodeChallengeMethod::S256).unwrap();
            prop_assert!(reparsed == challenge);
            prop_assert!(reparsed.verify(&verifier));
        }

        #[test]
        fn challenge_parse_never_panics(input in "\\PC{0,140}") {
            if let Ok(challenge) = CodeChallenge::parse(&input, CodeChallengeMethod::S256) {
                prop_assert_eq!(challenge.to_base64url(), input);
            }
        }
    }
}
