use thiserror::Error;
use url::Url;

use crate::ResourceId;

/// Why a `resource` parameter was rejected; every cause is `invalid_target` (RFC 8707 §2).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Error)]
#[non_exhaustive]
pub enum ResourceError {
    /// More than one `resource` parameter; this server binds a grant to one resource.
    #[error("more than one resource was requested")]
    Several,
    /// Not an absolute URI.
    #[error("resource is not an absolute URI")]
    NotAbsolute,
    /// The URI has a fragment.
    #[error("resource has a fragment")]
    Fragment,
    /// The URI names no resource this server issues tokens for.
    #[error("resource is not served by this authorization server")]
    Unknown,
}

/// The protected resources a server issues tokens for, the first being the default.
///
/// A request without `resource` is bound to the default, so a token is always
/// audience-restricted to exactly one resource (RFC 8707 §2, RFC 9700 §2.3).
///
/// ```
/// use portcullis_grants::{ResourceId, Resources};
///
/// let resources = Resources::new("https://api.example/v1")?;
/// assert_eq!(resources.resolve(None), Ok(ResourceId(0)));
/// assert_eq!(resources.resolve(Some("HTTPS://API.EXAMPLE/v1/")), Ok(ResourceId(0)));
/// assert!(resources.resolve(Some("https://other.example/v1")).is_err());
/// assert_eq!(resources.uri(ResourceId(0)), Some("https://api.example/v1"));
/// # Ok::<(), portcullis_grants::ResourceError>(())
/// ```
#[derive(Clone, Debug)]
pub struct Resources {
    uris: Vec<String>,
}

impl Resources {
    /// Creates the list with its default resource.
    ///
    /// # Errors
    ///
    /// [`ResourceError`] when `default` is not an absolute URI without fragment.
    pub fn new(default: &str) -> Result<Self, ResourceError> {
        Ok(Self {
            uris: vec![canonical(default)?],
        })
    }

    /// Adds another resource and returns its id.
    ///
    /// # Errors
    ///
    /// [`ResourceError`] when `uri` is not an absolute URI without fragment.
    pub fn add(&mut self, uri: &str) -> Result<ResourceId, ResourceError> {
        let canonical = canonical(uri)?;
        if let Some(position) = self.uris.iter().position(|known| *known == canonical) {
            return Ok(id_of(position));
        }
        self.uris.push(canonical);
        Ok(id_of(self.uris.len() - 1))
    }

    /// Returns the canonical URI of a resource.
    pub fn uri(&self, id: ResourceId) -> Option<&str> {
        self.uris.get(usize::from(id.0)).map(String::as_str)
    }

    /// Iterates over every resource URI, the default first.
    pub fn iter(&self) -> impl Iterator<Item = &str> {
        self.uris.iter().map(String::as_str)
    }

    /// Resolves the value of a single `resource` parameter; `None` means the default.
    ///
    /// Upper-case schemes and hosts, default ports and a trailing slash are
    /// tolerated and map to the canonical form.
    ///
    /// # Errors
    ///
    /// [`ResourceError`] when the value is not absolute, has a fragment or is not served.
    pub fn resolve(&self, value: Option<&str>) -> Result<ResourceId, ResourceError> {
        let Some(value) = value else {
            return Ok(ResourceId(0));
        };
        let canonical = canonical(value)?;
        self.uris
            .iter()
            .position(|known| *known == canonical)
            .map(id_of)
            .ok_or(ResourceError::Unknown)
    }
}

fn id_of(position: usize) -> ResourceId {
    ResourceId(u16::try_from(position).unwrap_or(u16::MAX))
}

fn canonical(value: &str) -> Result<String, ResourceError> {
    if value.contains('#') {
        return Err(ResourceError::Fragment);
    }
    let url = Url::parse(value).map_err(|_| ResourceError::NotAbsolute)?;
    if url.cannot_be_a_base() {
        return Err(ResourceError::NotAbsolute);
    }
    let mut text: String = url.into();
    while text.ends_with('/') && text.matches('/').count() > 3 {
        text.pop();
    }
    if text.ends_with('/') && text.matches('/').count() == 3 {
        text.pop();
    }
    Ok(text)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn relative_fragment_and_unknown_are_rejected() {
        let resources = Resources::new("https://rs.example/mcp").unwrap();
        assert_eq!(
            resources.resolve(Some("rs.example")),
            Err(ResourceError::NotAbsolute)
        );
        assert_eq!(
            resources.resolve(Some("https://rs.example/mcp#x")),
            Err(ResourceError::Fragment)
        );
        assert_eq!(
            resources.resolve(Some("https://unknown.example/mcp")),
            Err(ResourceError::Unknown)
        );
        assert_eq!(
            resources.resolve(Some("https://rs.example/mcp/")),
            Ok(ResourceId(0))
        );
    }

    #[test]
    fn several_resources_get_distinct_ids() {
        let mut resources = Resources::new("http://127.0.0.1:8080/v1").unwrap();
        let mcp = resources.add("http://127.0.0.1:8080/mcp").unwrap();
        assert_eq!(mcp, ResourceId(1));
        assert_eq!(resources.add("http://127.0.0.1:8080/mcp/").unwrap(), mcp);
        assert_eq!(
            resources.resolve(Some("http://127.0.0.1:8080/mcp")),
            Ok(mcp)
        );
        assert_eq!(resources.iter().count(), 2);
    }

    #[test]
    fn root_resource_has_no_trailing_slash() {
        let resources = Resources::new("https://rs.example/").unwrap();
        assert_eq!(resources.uri(ResourceId(0)), Some("https://rs.example"));
        assert_eq!(
            resources.resolve(Some("https://rs.example")),
            Ok(ResourceId(0))
        );
    }
}
