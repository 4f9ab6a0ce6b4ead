use std::borrow::Cow;

use thiserror::Error;

/// Largest query string or form body [`Params::parse`] accepts, in bytes.
pub const MAX_INPUT_BYTES: usize = 16 * 1024;
/// Largest decoded parameter value, in bytes.
pub const MAX_VALUE_BYTES: usize = 4096;
/// Most parameters one request may carry.
pub const MAX_PARAMS: usize = 64;

/// Why a query string or form body could not be parsed.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Error)]
#[non_exhaustive]
pub enum ParamsError {
    /// The input is longer than [`MAX_INPUT_BYTES`].
    #[error("request parameters exceed {MAX_INPUT_BYTES} bytes")]
    TooLarge,
    /// The input has more than [`MAX_PARAMS`] parameters.
    #[error("request has more than {MAX_PARAMS} parameters")]
    TooMany,
    /// A decoded value is longer than [`MAX_VALUE_BYTES`].
    #[error("a parameter value exceeds {MAX_VALUE_BYTES} bytes")]
    ValueTooLong,
}

/// A parameter that was sent more than once (OAuth 2.1 §3.1, §3.2).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Error)]
#[error("parameter {0} is repeated")]
pub struct Repeated(pub &'static str);

/// Decoded `application/x-www-form-urlencoded` parameters of one request.
///
/// Lookups treat an empty value as absent and a repeated name as an error
/// (OAuth 2.1 §3.1). Unknown parameters are kept but never looked at.
///
/// ```
/// use portcullis_grants::Params;
///
/// let params = Params::parse(b"scope=a&scope=b&state=&x=1")?;
/// assert!(params.get("scope").is_err());
/// assert_eq!(params.get("state"), Ok(None));
/// assert_eq!(params.get("x"), Ok(Some("1")));
/// # Ok::<(), portcullis_grants::ParamsError>(())
/// ```
#[derive(Clone, Debug, Default)]
pub struct Params<'a> {
    pairs: Vec<(Cow<'a, str>, Cow<'a, str>)>,
}

impl<'a> Params<'a> {
    /// Parses a query string or form body.
    ///
    /// # Errors
    ///
    /// [`ParamsError`] when the input or a value is too long or has too many parameters.
    pub fn parse(input: &'a [u8]) -> Result<Self, ParamsError> {
        if input.len() > MAX_INPUT_BYTES {
            return Err(ParamsError::TooLarge);
        }
        let mut pairs = Vec::new();
        for (name, value) in url::form_urlencoded::parse(input) {
            if pairs.len() == MAX_PARAMS {
                return Err(ParamsError::TooMany);
            }
            if value.len() > MAX_VALUE_BYTES {
                return Err(ParamsError::ValueTooLong);
            }
            pairs.push((name, value));
        }
        Ok(Self { pairs })
    }

    /// Returns the one non-empty value of `name`, `None` when absent or empty.
    ///
    /// # Errors
    ///
    /// [`Repeated`] when `name` appears more than once, empty occurrences included.
    pub fn get(&self, name: &'static str) -> Result<Option<&str>, Repeated> {
        let mut found = None;
        for (key, value) in &self.pairs {
            if key == name {
                if found.is_some() {
                    return Err(Repeated(name));
                }
                found = Some(value.as_ref());
            }
        }
        Ok(found.filter(|value| !value.is_empty()))
    }

    /// Returns how many times `name` appears.
    pub fn count(&self, name: &str) -> usize {
        self.pairs.iter().filter(|(key, _)| key == name).count()
    }

    /// Returns `true` when `name` appears at all, even with an empty value.
    pub fn contains(&self, name: &str) -> bool {
        self.pairs.iter().any(|(key, _)| key == name)
    }
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;

    #[test]
    fn decodes_plus_and_percent() {
        let params = Params::parse(b"state=a+b%2Bc%2F~&scope=datasets%3Aread").unwrap();
        assert_eq!(params.get("state"), Ok(Some("a b+c/~")));
        assert_eq!(params.get("scope"), Ok(Some("datasets:read")));
    }

    #[test]
    fn repeated_empty_value_still_counts() {
        let params = Params::parse(b"code=&code=x").unwrap();
        assert_eq!(params.get("code"), Err(Repeated("code")));
        assert_eq!(params.count("code"), 2);
    }

    #[test]
    fn limits_are_enforced() {
        let big = vec![b'a'; MAX_INPUT_BYTES + 1];
        assert_eq!(Params::parse(&big).unwrap_err(), ParamsError::TooLarge);
        let many = "a=1&".repeat(MAX_PARAMS + 1);
        assert_eq!(
            Params::parse(many.as_bytes()).unwrap_err(),
            ParamsError::TooMany
        );
        let long = format!("state={}", "x".repeat(MAX_VALUE_BYTES + 1));
        assert_eq!(
            Params::parse(long.as_bytes()).unwrap_err(),
            ParamsError::ValueTooLong
        );
    }

    proptest! {
        #[test]
        fn parse_never_panics(input in proptest::collection::vec(any::<u8>(), 0..600)) {
            if let Ok(params) = Params::parse(&input) {
                let _ = params.get("code");
            }
        }
    }
}
