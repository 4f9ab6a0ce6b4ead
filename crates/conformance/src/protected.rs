//! Protected resource discovery (RFC 9728): a resource's 401 challenge, its
//! metadata document and its resource identifier.
//!
//! The kit fetches a `resource_metadata` URL from a challenge only when it is
//! on the origin of the resource URL or of the issuer, so a server under test
//! cannot point the kit at a third host.

use serde_json::{Map, Value};
use url::{Position, Url};

use crate::challenge::bearer_challenge;
use crate::context::Ctx;
use crate::http::{HttpRequest, HttpResponse};
use crate::report::Outcome;

/// Well-known suffix of RFC 9728 protected resource metadata.
pub(crate) const RESOURCE_WELL_KNOWN: &str = "/.well-known/oauth-protected-resource";

/// Role of a protected resource in the configuration.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum ResourceRole {
    /// `--resource-url`.
    Primary,
    /// `--other-resource-url`.
    Other,
}

/// How to call a protected resource: its URL, method and JSON body.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct Target {
    pub(crate) url: String,
    pub(crate) method: String,
    pub(crate) body: Option<String>,
}

impl Target {
    /// Builds a request without credentials.
    pub(crate) fn request(&self) -> HttpRequest {
        let mut request = HttpRequest::new(&self.method.to_ascii_uppercase(), self.url.clone());
        if let Some(body) = &self.body {
            request = request
                .header("content-type", "application/json")
                .body(body.clone().into_bytes());
        }
        request
    }

    /// Builds a request with `Authorization: <scheme> <token>`.
    pub(crate) fn with_token(&self, scheme: &str, token: &str) -> HttpRequest {
        self.request()
            .header("authorization", &format!("{scheme} {token}"))
    }
}

/// Source of a resource identifier.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum IdentifierSource {
    /// `--resource` or `--other-resource`.
    Flag,
    /// The well-known `resource_metadata` URL in the resource's challenge.
    Challenge,
    /// The resource URL's origin and first path segment, a guess.
    Guess,
}

/// A resource identifier and where it came from.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct Identifier {
    pub(crate) value: String,
    pub(crate) source: IdentifierSource,
}

/// The metadata document of a resource, or why the kit has none.
#[derive(Clone, Debug)]
pub(crate) enum ResourceMetadata {
    /// The URL returned 200 with a JSON object.
    Found {
        document: Map<String, Value>,
        response: Box<HttpResponse>,
    },
    /// The URL responded, but not with 200 and a JSON object.
    Invalid {
        reason: String,
        response: Box<HttpResponse>,
    },
    /// No response, because the request failed or was not sent.
    Unavailable { reason: String },
}

impl ResourceMetadata {
    /// Returns the document, if one was served.
    pub(crate) fn document(&self) -> Option<&Map<String, Value>> {
        match self {
            Self::Found { document, .. } => Some(document),
            _ => None,
        }
    }
}

/// Discovery results for one protected resource.
#[derive(Clone, Debug)]
pub(crate) struct Site {
    pub(crate) target: Target,
    /// The response to a request without credentials.
    pub(crate) unauthenticated: HttpResponse,
    /// The `resource_metadata` value of the Bearer challenge, as sent.
    pub(crate) linked: Option<String>,
    pub(crate) identifier: Identifier,
    /// The URL the document was requested from: `linked` when the kit may
    /// follow it, else the well-known URL built from `identifier`.
    pub(crate) metadata_url: Option<String>,
    pub(crate) metadata: ResourceMetadata,
}

impl Site {
    /// Returns the `resource` member of the metadata document, else the
    /// configured identifier: the value the resource indicator checks send.
    pub(crate) fn resource_value(&self) -> Option<String> {
        let from_document = self
            .metadata
            .document()
            .and_then(|document| document.get("resource"))
            .and_then(Value::as_str);
        match (from_document, self.identifier.source) {
            (Some(resource), _) => Some(resource.to_owned()),
            (None, IdentifierSource::Flag) => Some(self.identifier.value.clone()),
            (None, _) => None,
        }
    }
}

/// Discovered resources of one run, each computed on first use.
#[derive(Debug, Default)]
pub(crate) struct SiteCache {
    primary: Option<Result<Site, Outcome>>,
    other: Option<Result<Site, Outcome>>,
}

/// Builds the RFC 9728 §3.1 metadata URL of a resource identifier: the
/// well-known suffix goes between the host and the path and query, and a path
/// of a lone `/` is dropped first. `None` for a value that is not an absolute
/// URL with a host, or that has a fragment.
pub(crate) fn well_known_url(identifier: &str) -> Option<String> {
    let url = Url::parse(identifier).ok()?;
    if url.host_str().is_none() || url.fragment().is_some() {
        return None;
    }
    let path = if url.path() == "/" { "" } else { url.path() };
    let query = url.query().map(|q| format!("?{q}")).unwrap_or_default();
    Some(format!(
        "{}{RESOURCE_WELL_KNOWN}{path}{query}",
        &url[..Position::BeforePath]
    ))
}

/// Returns the resource identifier that a well-known metadata URL was built
/// from, the inverse of [`well_known_url`]. `None` when the path does not
/// start with the well-known suffix.
pub(crate) fn identifier_from_well_known(metadata_url: &str) -> Option<String> {
    let url = Url::parse(metadata_url).ok()?;
    let rest = url.path().strip_prefix(RESOURCE_WELL_KNOWN)?;
    if !rest.is_empty() && !rest.starts_with('/') {
        return None;
    }
    let query = url.query().map(|q| format!("?{q}")).unwrap_or_default();
    Some(format!("{}{rest}{query}", &url[..Position::BeforePath]))
}

/// Guesses a resource identifier from a resource URL: its origin and first
/// path segment, so `http://h/v1/datasets` gives `http://h/v1`.
pub(crate) fn guess_identifier(resource_url: &str) -> Option<String> {
    let url = Url::parse(resource_url).ok()?;
    url.host_str()?;
    let first = url
        .path_segments()
        .and_then(|mut segments| segments.find(|s| !s.is_empty()));
    let base = &url[..Position::BeforePath];
    Some(match first {
        Some(segment) => format!("{base}/{segment}"),
        None => base.to_owned(),
    })
}

/// Returns a non-canonical spelling of a resource identifier, which servers
/// SHOULD accept (MCP 2025-11-25 "Canonical Server URI"): the scheme and host
/// in upper case and, when there is no query, a trailing slash.
pub(crate) fn non_canonical(identifier: &str) -> Option<String> {
    let url = Url::parse(identifier).ok()?;
    if url.host_str().is_none() || !url.username().is_empty() || url.password().is_some() {
        return None;
    }
    let origin = url[..Position::BeforePath].to_ascii_uppercase();
    let mut rest = url[Position::BeforePath..].to_owned();
    if url.query().is_none() && !rest.ends_with('/') {
        rest.push('/');
    }
    Some(format!("{origin}{rest}"))
}

/// Returns whether two URLs share scheme, host and port.
pub(crate) fn same_origin(a: &Url, b: &Url) -> bool {
    a.scheme() == b.scheme()
        && a.host_str() == b.host_str()
        && a.port_or_known_default() == b.port_or_known_default()
}

/// Picks the identifier: the flag, else the one the challenge's well-known
/// link was built from, else a guess from the resource URL.
fn resolve_identifier(
    flag: Option<&str>,
    linked: Option<&str>,
    resource_url: &str,
) -> Option<Identifier> {
    if let Some(value) = flag {
        return Some(Identifier {
            value: value.to_owned(),
            source: IdentifierSource::Flag,
        });
    }
    if let Some(value) = linked.and_then(identifier_from_well_known) {
        return Some(Identifier {
            value,
            source: IdentifierSource::Challenge,
        });
    }
    guess_identifier(resource_url).map(|value| Identifier {
        value,
        source: IdentifierSource::Guess,
    })
}

impl Ctx<'_> {
    /// Returns how to call the primary protected resource at `url`.
    pub(crate) fn resource_target(&self, url: impl Into<String>) -> Target {
        Target {
            url: url.into(),
            method: self.config.resource_method.clone(),
            body: self.config.resource_body.clone(),
        }
    }

    /// Returns how to call the other protected resource, or a skip when none is configured.
    pub(crate) fn other_target(&self) -> Result<Target, Outcome> {
        let Some(url) = &self.config.other_resource_url else {
            return Err(Outcome::skip(
                "needs a second protected resource: pass --other-resource-url",
            ));
        };
        Ok(Target {
            url: url.clone(),
            method: self.config.other_resource_method.clone(),
            body: self.config.other_resource_body.clone(),
        })
    }

    /// Returns what the kit learned about a protected resource, discovering it
    /// on first use: one request without credentials and one metadata request.
    pub(crate) fn require_site(&mut self, role: ResourceRole) -> Result<Site, Outcome> {
        let cached = match role {
            ResourceRole::Primary => &self.sites.primary,
            ResourceRole::Other => &self.sites.other,
        };
        if let Some(result) = cached {
            return result.clone();
        }
        let result = self.discover_site(role);
        if let Err(outcome) = &result {
            tracing::debug!(?role, ?outcome, "protected resource discovery failed");
        }
        match role {
            ResourceRole::Primary => self.sites.primary = Some(result.clone()),
            ResourceRole::Other => self.sites.other = Some(result.clone()),
        }
        result
    }

    fn discover_site(&mut self, role: ResourceRole) -> Result<Site, Outcome> {
        let (target, flag) = match role {
            ResourceRole::Primary => {
                let url = self.require_resource()?;
                (self.resource_target(url), self.config.resource.clone())
            }
            ResourceRole::Other => (self.other_target()?, self.config.other_resource.clone()),
        };
        let unauthenticated = self.send(target.request())?;
        let linked = bearer_challenge(&unauthenticated)
            .and_then(Result::ok)
            .and_then(|challenge| challenge.param("resource_metadata").map(str::to_owned));
        let identifier = resolve_identifier(flag.as_deref(), linked.as_deref(), &target.url)
            .ok_or_else(|| {
                Outcome::skip(format!(
                    "no resource identifier could be derived from {}; pass --resource",
                    target.url
                ))
            })?;

        let followable = linked
            .as_deref()
            .filter(|link| self.may_follow(link, &target.url));
        // A flagged identifier may point anywhere the user chose. A derived one
        // is requested only on the resource's or the issuer's origin.
        let metadata_url = match followable {
            Some(link) => Some(link.to_owned()),
            None => well_known_url(&identifier.value).filter(|url| {
                identifier.source == IdentifierSource::Flag || self.may_follow(url, &target.url)
            }),
        };
        let metadata = match &metadata_url {
            Some(url) => self.fetch_resource_metadata(url),
            None => ResourceMetadata::Unavailable {
                reason: format!(
                    "no metadata URL on the origin of the resource or the issuer can be built \
                     from the identifier {}",
                    identifier.value
                ),
            },
        };
        Ok(Site {
            target,
            unauthenticated,
            linked,
            identifier,
            metadata_url,
            metadata,
        })
    }

    /// Returns whether the kit may request `link`: an absolute http URL on the
    /// origin of the resource URL or of the issuer.
    pub(crate) fn may_follow(&self, link: &str, resource_url: &str) -> bool {
        let Ok(link) = Url::parse(link) else {
            return false;
        };
        if !matches!(link.scheme(), "http" | "https") {
            return false;
        }
        let resource = Url::parse(resource_url).ok();
        resource
            .iter()
            .chain([&self.issuer_url])
            .any(|known| same_origin(known, &link))
    }

    /// Requests a metadata document and classifies the response.
    pub(crate) fn fetch_resource_metadata(&self, url: &str) -> ResourceMetadata {
        let response = match self.http.send(HttpRequest::get(url)) {
            Ok(response) => response,
            Err(error) => {
                return ResourceMetadata::Unavailable {
                    reason: format!("GET {url} failed: {}", error.message),
                };
            }
        };
        if response.status != 200 {
            return ResourceMetadata::Invalid {
                reason: format!("GET {url} answered {}", response.summary()),
                response: Box::new(response),
            };
        }
        match response.json_object() {
            Some(document) => ResourceMetadata::Found {
                document,
                response: Box::new(response),
            },
            None => ResourceMetadata::Invalid {
                reason: format!("GET {url} answered 200 without a JSON object"),
                response: Box::new(response),
            },
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn well_known_url_goes_between_host_and_path() {
        let cases = [
            (
                "http://127.0.0.1:8080/v1",
                "http://127.0.0.1:8080/.well-known/oauth-protected-resource/v1",
            ),
            (
                "https://rs.example",
                "https://rs.example/.well-known/oauth-protected-resource",
            ),
            (
                "https://rs.example/",
                "https://rs.example/.well-known/oauth-protected-resource",
            ),
            (
                "https://rs.example/a/b?t=7",
                "https://rs.example/.well-known/oauth-protected-resource/a/b?t=7",
            ),
        ];
        for (identifier, expected) in cases {
            assert_eq!(
                well_known_url(identifier).as_deref(),
                Some(expected),
                "{identifier}"
            );
        }
        assert_eq!(well_known_url("https://rs.example/mcp#x"), None);
        assert_eq!(well_known_url("rs.example/mcp"), None);
    }

    #[test]
    fn identifier_round_trips_through_well_known_url() {
        for identifier in [
            "http://127.0.0.1:8080/v1",
            "https://rs.example",
            "https://rs.example/a/b?t=7",
        ] {
            let url = well_known_url(identifier).unwrap_or_default();
            assert_eq!(
                identifier_from_well_known(&url).as_deref(),
                Some(identifier)
            );
        }
        assert_eq!(
            identifier_from_well_known(
                "https://rs.example/v1/.well-known/oauth-protected-resource"
            ),
            None
        );
        assert_eq!(
            identifier_from_well_known("https://rs.example/.well-known/oauth-protected-resourcex"),
            None
        );
    }

    #[test]
    fn guess_takes_first_path_segment() {
        assert_eq!(
            guess_identifier("http://127.0.0.1:8080/v1/datasets").as_deref(),
            Some("http://127.0.0.1:8080/v1")
        );
        assert_eq!(
            guess_identifier("https://rs.example/").as_deref(),
            Some("https://rs.example")
        );
        assert_eq!(guess_identifier("not a url"), None);
    }

    #[test]
    fn non_canonical_upper_cases_and_adds_slash() {
        assert_eq!(
            non_canonical("http://localhost:8080/mcp").as_deref(),
            Some("HTTP://LOCALHOST:8080/mcp/")
        );
        assert_eq!(
            non_canonical("https://rs.example/mcp?t=1").as_deref(),
            Some("HTTPS://RS.EXAMPLE/mcp?t=1")
        );
    }

    #[test]
    fn identifier_prefers_flag_then_link_then_guess() {
        let link = "http://h/.well-known/oauth-protected-resource/api";
        let flagged = resolve_identifier(Some("http://h/x"), Some(link), "http://h/v1/d");
        assert_eq!(flagged.map(|i| i.source), Some(IdentifierSource::Flag));
        let linked = resolve_identifier(None, Some(link), "http://h/v1/d");
        assert_eq!(
            linked,
            Some(Identifier {
                value: "http://h/api".into(),
                source: IdentifierSource::Challenge
            })
        );
        let guessed = resolve_identifier(None, Some("http://h/prm.json"), "http://h/v1/d");
        assert_eq!(
            guessed,
            Some(Identifier {
                value: "http://h/v1".into(),
                source: IdentifierSource::Guess
            })
        );
    }
}
