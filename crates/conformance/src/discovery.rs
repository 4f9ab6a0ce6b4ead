//! Endpoint discovery: RFC 8414 metadata where the server publishes it, and
//! configured or default paths where it does not.

use serde_json::{Map, Value};
use url::Url;

use crate::config::Config;
use crate::http::HttpResponse;

/// Well-known suffix of RFC 8414 authorization server metadata.
const WELL_KNOWN: &str = "/.well-known/oauth-authorization-server";

/// Endpoint URLs the checks use. An optional endpoint is `None` when the server
/// does not offer it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct Endpoints {
    pub(crate) authorization: String,
    pub(crate) token: String,
    pub(crate) revocation: Option<String>,
    pub(crate) introspection: Option<String>,
    pub(crate) registration: Option<String>,
}

/// Result of fetching the metadata document.
#[derive(Clone, Debug)]
pub(crate) enum Metadata {
    /// A JSON object was served.
    Found {
        document: Map<String, Value>,
        response: Box<HttpResponse>,
    },
    /// No usable document: the reason, and the response if one arrived.
    Missing {
        reason: String,
        response: Option<Box<HttpResponse>>,
    },
}

impl Metadata {
    /// Returns the document, if one was served.
    pub(crate) fn document(&self) -> Option<&Map<String, Value>> {
        match self {
            Self::Found { document, .. } => Some(document),
            Self::Missing { .. } => None,
        }
    }

    /// Returns the string member `name` of the document.
    pub(crate) fn str_member(&self, name: &str) -> Option<&str> {
        self.document()?.get(name)?.as_str()
    }

    /// Returns the members of the string array `name`, or `None` when the member
    /// is absent or not an array.
    pub(crate) fn list(&self, name: &str) -> Option<Vec<&str>> {
        let items = self.document()?.get(name)?.as_array()?;
        Some(items.iter().filter_map(Value::as_str).collect())
    }

    /// Classifies the response to the metadata request.
    pub(crate) fn from_response(response: HttpResponse) -> Self {
        if response.status != 200 {
            return Self::Missing {
                reason: format!("the metadata URL answered {}", response.status),
                response: Some(Box::new(response)),
            };
        }
        match response.json_object() {
            Some(document) => Self::Found {
                document,
                response: Box::new(response),
            },
            None => Self::Missing {
                reason: String::from("the metadata URL answered 200 without a JSON object"),
                response: Some(Box::new(response)),
            },
        }
    }
}

/// Builds the RFC 8414 §3.1 metadata URL: the well-known suffix goes between the
/// host and the issuer's path, after dropping one terminating `/` from the path.
pub(crate) fn metadata_url(issuer: &Url) -> Url {
    let mut url = issuer.clone();
    let path = issuer.path().strip_suffix('/').unwrap_or(issuer.path());
    url.set_path(&format!("{WELL_KNOWN}{path}"));
    url.set_query(None);
    url.set_fragment(None);
    url
}

/// Joins a configured path to the issuer, or returns it as is when it is an
/// absolute URL. `/oauth/token` under `http://as.test/t1` gives
/// `http://as.test/t1/oauth/token`, since endpoints usually sit under a tenant path.
pub(crate) fn join_issuer(issuer: &str, path: &str) -> String {
    if Url::parse(path).is_ok() {
        return path.to_owned();
    }
    let base = issuer.trim_end_matches('/');
    if path.starts_with('/') {
        format!("{base}{path}")
    } else {
        format!("{base}/{path}")
    }
}

/// Picks each endpoint: an explicit flag first, then the metadata member, then
/// the default path. Optional endpoints get their default path only when no
/// metadata was served, because a served document that leaves one out states
/// that the server does not offer it (RFC 8414 §2).
pub(crate) fn resolve_endpoints(config: &Config, metadata: &Metadata) -> Endpoints {
    let issuer = config.issuer.as_str();
    let pick = |flag: &Option<String>, member: &str, default: &str, required: bool| {
        if let Some(path) = flag {
            return Some(join_issuer(issuer, path));
        }
        if let Some(value) = metadata.str_member(member) {
            if Url::parse(value).is_ok() {
                return Some(value.to_owned());
            }
        }
        if required || metadata.document().is_none() {
            return Some(join_issuer(issuer, default));
        }
        None
    };
    let authorization = pick(
        &config.authorize_path,
        "authorization_endpoint",
        "/oauth/authorize",
        true,
    );
    let token = pick(&config.token_path, "token_endpoint", "/oauth/token", true);
    Endpoints {
        authorization: authorization.unwrap_or_default(),
        token: token.unwrap_or_default(),
        revocation: pick(
            &config.revoke_path,
            "revocation_endpoint",
            "/oauth/revoke",
            false,
        ),
        introspection: pick(
            &config.introspect_path,
            "introspection_endpoint",
            "/oauth/introspect",
            false,
        ),
        registration: pick(
            &config.register_path,
            "registration_endpoint",
            "/oauth/register",
            false,
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::http::HttpRequest;

    fn url(s: &str) -> Url {
        Url::parse(s).unwrap_or_else(|e| panic!("bad test URL {s}: {e}"))
    }

    fn config() -> Config {
        Config::new(
            "http://127.0.0.1:8080",
            "app",
            Some("s"),
            "http://127.0.0.1/cb",
            "u",
            "p",
        )
    }

    fn found(json: &str) -> Metadata {
        Metadata::from_response(HttpResponse {
            request: HttpRequest::get(
                "http://127.0.0.1:8080/.well-known/oauth-authorization-server",
            ),
            status: 200,
            headers: vec![("content-type".into(), "application/json".into())],
            body: json.as_bytes().to_vec(),
            truncated: false,
        })
    }

    fn missing() -> Metadata {
        Metadata::Missing {
            reason: "the metadata URL answered 404".into(),
            response: None,
        }
    }

    #[test]
    fn metadata_url_inserts_before_issuer_path() {
        let cases = [
            (
                "http://127.0.0.1:8080",
                "http://127.0.0.1:8080/.well-known/oauth-authorization-server",
            ),
            (
                "http://127.0.0.1:8080/",
                "http://127.0.0.1:8080/.well-known/oauth-authorization-server",
            ),
            (
                "https://as.example/t1",
                "https://as.example/.well-known/oauth-authorization-server/t1",
            ),
            (
                "https://as.example/t1/",
                "https://as.example/.well-known/oauth-authorization-server/t1",
            ),
            (
                "https://as.example/a/b",
                "https://as.example/.well-known/oauth-authorization-server/a/b",
            ),
        ];
        for (issuer, expected) in cases {
            assert_eq!(
                metadata_url(&url(issuer)).as_str(),
                expected,
                "issuer {issuer}"
            );
        }
    }

    #[test]
    fn join_handles_slashes_and_absolute_urls() {
        assert_eq!(
            join_issuer("http://h:1", "/oauth/token"),
            "http://h:1/oauth/token"
        );
        assert_eq!(
            join_issuer("http://h:1/", "/oauth/token"),
            "http://h:1/oauth/token"
        );
        assert_eq!(join_issuer("http://h/t1", "token"), "http://h/t1/token");
        assert_eq!(
            join_issuer("http://h", "http://other:2/tok"),
            "http://other:2/tok"
        );
    }

    #[test]
    fn without_metadata_every_endpoint_uses_defaults() {
        let endpoints = resolve_endpoints(&config(), &missing());
        assert_eq!(
            endpoints.authorization,
            "http://127.0.0.1:8080/oauth/authorize"
        );
        assert_eq!(endpoints.token, "http://127.0.0.1:8080/oauth/token");
        assert_eq!(
            endpoints.revocation.as_deref(),
            Some("http://127.0.0.1:8080/oauth/revoke")
        );
        assert_eq!(
            endpoints.introspection.as_deref(),
            Some("http://127.0.0.1:8080/oauth/introspect")
        );
        assert_eq!(
            endpoints.registration.as_deref(),
            Some("http://127.0.0.1:8080/oauth/register")
        );
    }

    #[test]
    fn metadata_members_win_over_defaults() {
        let metadata = found(
            r#"{"issuer":"http://127.0.0.1:8080",
                "authorization_endpoint":"http://127.0.0.1:8080/authz",
                "token_endpoint":"http://127.0.0.1:8080/tok",
                "revocation_endpoint":"http://127.0.0.1:8080/rev"}"#,
        );
        let endpoints = resolve_endpoints(&config(), &metadata);
        assert_eq!(endpoints.authorization, "http://127.0.0.1:8080/authz");
        assert_eq!(endpoints.token, "http://127.0.0.1:8080/tok");
        assert_eq!(
            endpoints.revocation.as_deref(),
            Some("http://127.0.0.1:8080/rev")
        );
        assert_eq!(endpoints.introspection, None);
        assert_eq!(endpoints.registration, None);
    }

    #[test]
    fn flags_win_over_metadata() {
        let metadata = found(r#"{"token_endpoint":"http://127.0.0.1:8080/tok"}"#);
        let mut config = config();
        config.token_path = Some("/custom/token".into());
        config.introspect_path = Some("/custom/introspect".into());
        let endpoints = resolve_endpoints(&config, &metadata);
        assert_eq!(endpoints.token, "http://127.0.0.1:8080/custom/token");
        assert_eq!(
            endpoints.introspection.as_deref(),
            Some("http://127.0.0.1:8080/custom/introspect")
        );
        // The document omits the authorization endpoint, which is required, so
        // the default path is used.
        assert_eq!(
            endpoints.authorization,
            "http://127.0.0.1:8080/oauth/authorize"
        );
    }

    #[test]
    fn invalid_metadata_urls_are_ignored() {
        let metadata = found(r#"{"token_endpoint":"not a url","revocation_endpoint":42}"#);
        let endpoints = resolve_endpoints(&config(), &metadata);
        assert_eq!(endpoints.token, "http://127.0.0.1:8080/oauth/token");
        assert_eq!(endpoints.revocation, None);
    }

    #[test]
    fn non_json_metadata_counts_as_missing() {
        let metadata = Metadata::from_response(HttpResponse {
            request: HttpRequest::get(
                "http://127.0.0.1:8080/.well-known/oauth-authorization-server",
            ),
            status: 200,
            headers: vec![],
            body: b"<html>".to_vec(),
            truncated: false,
        });
        assert!(metadata.document().is_none());
        let metadata = found(r#"{"grant_types_supported":["authorization_code",3]}"#);
        let list = metadata.list("grant_types_supported");
        assert_eq!(list, Some(vec!["authorization_code"]));
    }
}
