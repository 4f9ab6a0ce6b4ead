use bytes::{Bytes, BytesMut};
use http::header::{CACHE_CONTROL, CONNECTION, CONTENT_TYPE};
use http::{HeaderValue, Response, StatusCode};

use crate::app::MAX_BODY_BYTES;

/// Largest oversized body that is read and thrown away before the 413 answer.
///
/// Closing a connection whose request body is still arriving makes the kernel
/// reset it, and the client then sees a reset instead of the 413. Draining a
/// bounded amount lets ordinary oversized requests get their answer; anything
/// larger is cut off.
pub const MAX_DRAINED_BYTES: usize = 4 * 1024 * 1024;

/// Collects a request body chunk by chunk, keeping at most [`MAX_BODY_BYTES`].
///
/// Bindings feed it the body's chunks until [`BodyCollector::push`] returns
/// `false` or the body ends, then call [`BodyCollector::finish`].
///
/// ```
/// use portcullis_fltr::{BodyCollector, MAX_BODY_BYTES};
///
/// let mut body = BodyCollector::new(None).expect("no declared length");
/// assert!(body.push(b"grant_type=refresh_token"));
/// assert_eq!(body.finish().expect("small body").as_ref(), b"grant_type=refresh_token");
///
/// assert!(BodyCollector::new(Some(100 * 1024 * 1024)).is_err(), "too large to drain");
/// let mut big = BodyCollector::new(None).expect("no declared length");
/// big.push(&vec![b'a'; MAX_BODY_BYTES + 1]);
/// assert!(big.finish().is_err());
/// ```
#[derive(Debug, Default)]
pub struct BodyCollector {
    kept: BytesMut,
    seen: usize,
}

/// The body is larger than [`MAX_BODY_BYTES`]; answer with [`too_large`].
#[derive(Clone, Copy, Debug, PartialEq, Eq, thiserror::Error)]
#[error("the request body is larger than {MAX_BODY_BYTES} bytes")]
pub struct BodyTooLarge;

impl BodyCollector {
    /// Starts collecting a body whose `Content-Length`, if any, is `declared`.
    ///
    /// # Errors
    ///
    /// [`BodyTooLarge`] when the declared length is over [`MAX_DRAINED_BYTES`],
    /// so the body is not worth reading at all.
    pub fn new(declared: Option<u64>) -> Result<Self, BodyTooLarge> {
        match declared {
            Some(length) if length > MAX_DRAINED_BYTES as u64 => Err(BodyTooLarge),
            _ => Ok(Self::default()),
        }
    }

    /// Adds a chunk; returns `false` once reading further is pointless.
    pub fn push(&mut self, chunk: &[u8]) -> bool {
        self.seen = self.seen.saturating_add(chunk.len());
        if self.seen <= MAX_BODY_BYTES {
            self.kept.extend_from_slice(chunk);
        } else if !self.kept.is_empty() {
            self.kept = BytesMut::new();
        }
        self.seen <= MAX_DRAINED_BYTES
    }

    /// Returns the body.
    ///
    /// # Errors
    ///
    /// [`BodyTooLarge`] when more than [`MAX_BODY_BYTES`] arrived.
    pub fn finish(self) -> Result<Bytes, BodyTooLarge> {
        if self.seen > MAX_BODY_BYTES {
            Err(BodyTooLarge)
        } else {
            Ok(self.kept.freeze())
        }
    }
}

/// Builds the 413 response for an oversized body, closing the connection.
pub fn too_large() -> Response<Bytes> {
    let mut response = json_error(
        StatusCode::PAYLOAD_TOO_LARGE,
        r#"{"error":"invalid_request","error_description":"the request body is too large"}"#,
    );
    response
        .headers_mut()
        .insert(CONNECTION, HeaderValue::from_static("close"));
    response
}

/// Builds the 400 response for a request body that failed or timed out while
/// being read.
pub fn unreadable_body() -> Response<Bytes> {
    json_error(
        StatusCode::BAD_REQUEST,
        r#"{"error":"invalid_request","error_description":"the request body could not be read; send it again without pausing"}"#,
    )
}

/// Builds a JSON error that must not be cached, like the token endpoint's
/// errors (RFC 6749 §5.2).
fn json_error(status: StatusCode, body: &'static str) -> Response<Bytes> {
    let mut response = Response::new(Bytes::from_static(body.as_bytes()));
    *response.status_mut() = status;
    let headers = response.headers_mut();
    headers.insert(CONTENT_TYPE, HeaderValue::from_static("application/json"));
    headers.insert(CACHE_CONTROL, HeaderValue::from_static("no-store"));
    response
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn body_at_the_limit_is_kept() {
        let mut body = BodyCollector::new(Some(MAX_BODY_BYTES as u64)).unwrap();
        assert!(body.push(&vec![b'x'; MAX_BODY_BYTES]));
        assert_eq!(body.finish().unwrap().len(), MAX_BODY_BYTES);
    }

    #[test]
    fn oversized_body_is_drained_then_rejected() {
        let mut body = BodyCollector::new(Some(1024 * 1024)).unwrap();
        for _ in 0..16 {
            assert!(
                body.push(&[0u8; 64 * 1024]),
                "a 1 MiB body is drained to the end"
            );
        }
        assert_eq!(body.finish(), Err(BodyTooLarge));
        let mut flood = BodyCollector::new(None).unwrap();
        assert!(
            !flood.push(&vec![0u8; MAX_DRAINED_BYTES + 1]),
            "reading stops past the drain limit"
        );
    }

    #[test]
    fn body_errors_are_json_and_not_stored() {
        for (response, status) in [
            (too_large(), StatusCode::PAYLOAD_TOO_LARGE),
            (unreadable_body(), StatusCode::BAD_REQUEST),
        ] {
            assert_eq!(response.status(), status);
            assert_eq!(response.headers()[CACHE_CONTROL], "no-store", "{status}");
            assert_eq!(
                response.headers()[CONTENT_TYPE],
                "application/json",
                "{status}"
            );
            let body: serde_json::Value = serde_json::from_slice(response.body()).unwrap();
            assert_eq!(body["error"], "invalid_request", "{status}");
            assert!(body["error_description"].is_string(), "{status}");
        }
        assert_eq!(too_large().headers()[CONNECTION], "close");
    }
}
