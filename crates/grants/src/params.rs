use std::borrow::Cow;

use thiserror::Error;

/// Largest query string or form body [`Params::parse`] accepts, in bytes.
pub const MAX_INPUT_BYTES: usize = 16 * 1024;
/// Largest decoded parameter value, in bytes.
pub const MAX_VALUE_BYTES: usize = 4096;
/// Most parameters one request may carry.
pub const MAX_PARAMS: usize = 64;

/// Cause of a query string or form body that could not be parsed.
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
    /// A name or value does not decode to UTF-8. Replacing the bytes would
    /// change a value the server must echo exactly, such as `state`.
    #[error("a parameter is not valid UTF-8 after percent-decoding")]
    NotUtf8,
}

impl ParamsError {
    /// Returns the fixed `error_description` sent with `invalid_request`.
    pub fn description(self) -> &'static str {
        match self {
            Self::TooLarge => "the request parameters are too large",
            Self::TooMany => "the request has too many parameters",
            Self::ValueTooLong => "a parameter value is too long",
            Self::NotUtf8 => "a parameter is not valid UTF-8 after percent-decoding",
        }
    }
}

/// A parameter that was sent more than once (OAuth 2.1 §3.1, §3.2).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Error)]
#[error("parameter {0} is repeated")]
pub struct Repeated(pub &'static str);

/// Returns the fixed `error_description` for a repeated parameter, naming it
/// when it is a protocol parameter this crate reads.
pub(crate) fn repeated_description(name: &str) -> &'static str {
    match name {
        "response_type" => "response_type is repeated",
        "client_id" => "client_id is repeated",
        "redirect_uri" => "redirect_uri is repeated",
        "scope" => "scope is repeated",
        "state" => "state is repeated",
        "code_challenge" => "code_challenge is repeated",
        "code_challenge_method" => "code_challenge_method is repeated",
        "resource" => "resource is repeated",
        "grant_type" => "grant_type is repeated",
        "code" => "code is repeated",
        "code_verifier" => "code_verifier is repeated",
        "refresh_token" => "refresh_token is repeated",
        "client_secret" => "client_secret is repeated",
        "token" => "token is repeated",
        "token_type_hint" => "token_type_hint is repeated",
        _ => "a request parameter is repeated",
    }
}

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
        for pair in input
            .split(|&byte| byte == b'&')
            .filter(|pair| !pair.is_empty())
        {
            if pairs.len() == MAX_PARAMS {
                return Err(ParamsError::TooMany);
            }
            let (name, value) = match pair.iter().position(|&byte| byte == b'=') {
                Some(at) => (&pair[..at], &pair[at + 1..]),
                None => (pair, &[][..]),
            };
            let value = decode(value)?;
            if value.len() > MAX_VALUE_BYTES {
                return Err(ParamsError::ValueTooLong);
            }
            pairs.push((decode(name)?, value));
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

/// Decodes one `application/x-www-form-urlencoded` component: `+` is a space,
/// `%XX` a byte, and the result must be UTF-8.
fn decode(component: &[u8]) -> Result<Cow<'_, str>, ParamsError> {
    let spaced: Cow<'_, [u8]> = if component.contains(&b'+') {
        Cow::Owned(
            component
                .iter()
                .map(|&byte| if byte == b'+' { b' ' } else { byte })
                .collect(),
        )
    } else {
        Cow::Borrowed(component)
    };
    let decoded: Cow<'_, [u8]> = percent_encoding::percent_decode(&spaced).into();
    let text = match decoded {
        Cow::Borrowed(bytes) => match spaced {
            Cow::Borrowed(original) => {
                // Nothing was decoded, so the slice is the input itself.
                let length = bytes.len();
                Cow::Borrowed(
                    std::str::from_utf8(&original[..length]).map_err(|_| ParamsError::NotUtf8)?,
                )
            }
            Cow::Owned(_) => Cow::Owned(
                std::str::from_utf8(bytes)
                    .map_err(|_| ParamsError::NotUtf8)?
                    .to_owned(),
            ),
        },
        Cow::Owned(bytes) => {
            Cow::Owned(String::from_utf8(bytes).map_err(|_| ParamsError::NotUtf8)?)
        }
    };
    Ok(text)
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
    fn invalid_utf8_is_rejected_not_replaced() {
        for input in [
            &b"state=%FF%FE"[..],
            b"state=%E2%80",
            b"state=%C0%AF",
            b"st%FFate=x",
            b"state=\xff",
        ] {
            assert_eq!(
                Params::parse(input).unwrap_err(),
                ParamsError::NotUtf8,
                "{input:?}"
            );
        }
        let params = Params::parse("state=%E2%82%AC&x=caf%C3%A9".as_bytes()).unwrap();
        assert_eq!(params.get("state"), Ok(Some("\u{20ac}")));
        assert_eq!(params.get("x"), Ok(Some("caf\u{e9}")));
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
