use thiserror::Error;

/// A scope string that breaks the grammar of RFC 6749 §3.3.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Error)]
#[error("scope has a character outside %x21 / %x23-5B / %x5D-7E")]
pub struct SyntaxError;

/// Checks one scope-token: one or more of `%x21 / %x23-5B / %x5D-7E` (RFC 6749 §3.3).
///
/// ```
/// use portcullis_scopes::is_scope_token;
///
/// assert!(is_scope_token("datasets:read"));
/// assert!(!is_scope_token("has space"));
/// assert!(!is_scope_token(""));
/// ```
pub fn is_scope_token(token: &str) -> bool {
    !token.is_empty()
        && token
            .bytes()
            .all(|b| matches!(b, 0x21 | 0x23..=0x5B | 0x5D..=0x7E))
}

/// Splits a `scope` value into scope-tokens.
///
/// Tokens are separated by spaces. Runs of spaces and leading or trailing
/// spaces are tolerated, since common clients emit them; every token must still
/// pass [`is_scope_token`].
///
/// # Errors
///
/// [`SyntaxError`] when any token has a character outside the grammar.
///
/// ```
/// use portcullis_scopes::scope_tokens;
///
/// let tokens: Vec<&str> = scope_tokens(" a  b ")?.collect();
/// assert_eq!(tokens, ["a", "b"]);
/// assert!(scope_tokens("a\tb").is_err());
/// # Ok::<(), portcullis_scopes::SyntaxError>(())
/// ```
pub fn scope_tokens(value: &str) -> Result<impl Iterator<Item = &str>, SyntaxError> {
    let tokens = value.split(' ').filter(|token| !token.is_empty());
    if tokens.clone().all(is_scope_token) {
        Ok(tokens)
    } else {
        Err(SyntaxError)
    }
}
