//! Black-box conformance checks for OAuth 2.1 authorization servers.
//!
//! The kit tests a running server from outside, over HTTP, the way a careful
//! auditor would. It reads the server's RFC 8414 metadata, or takes endpoint
//! paths from the configuration, and signs in through the login and consent
//! form like a browser. It then acts as the client at the token, revocation,
//! introspection and registration endpoints, and calls a protected resource
//! with the tokens it gets. Each check tests one requirement, cites its RFC or
//! specification section in its name, and has a stable id, so a report can be
//! compared across runs and servers.
//! The protected resource checks read its RFC 9728 metadata and send RFC 8707
//! resource indicators, as MCP 2025-11-25 clients do.
//!
//! The kit links no server code. It never follows redirects on its own and
//! keeps one cookie jar per authorization flow, except for a check that
//! needs a second flow in the same browser session. Every request has a timeout,
//! and every response body is read up to 1 MiB. The exchanges it reports have
//! their secrets masked: client secrets, passwords, codes, tokens, verifiers,
//! `state`, cookies, and the values of form fields such as a consent form's
//! hidden `request_id` and `csrf`.
//! It speaks plain HTTP only: this build has no TLS, so an `https` issuer is
//! rejected with [`RunError::TlsUnsupported`].
//!
//! A check ends in one of three [`Outcome`]s: it passes, it fails with the
//! observed request and response, or it is skipped with the reason. A check
//! skips, for example, when the server offers no revocation endpoint, or when
//! the expected response depends on deployment policy that only a flag can state.
//! A 429 Too Many Requests with a `Retry-After` of at most 5 seconds is waited
//! out and the request sent once more. A check that still gets a 429 skips,
//! unless it tests rate limiting itself, so a run soon after another reports
//! the server's throttling of the kit as skips rather than failures.
//!
//! ```no_run
//! use portcullis_conformance::{Config, Outcome, run};
//!
//! let mut config = Config::new(
//!     "http://127.0.0.1:8080",
//!     "dashboard",
//!     Some("s3cr3t-value"),
//!     "http://localhost:5000/callback",
//!     "alice",
//!     "a long passphrase",
//! );
//! config.only = vec!["authorize.".into(), "pkce.".into()];
//! let report = run(&config)?;
//! for check in &report.checks {
//!     if let Outcome::Fail { reason, .. } = &check.outcome {
//!         eprintln!("{}: {reason}", check.id);
//!     }
//! }
//! println!("{}", report.summary_line());
//! # Ok::<(), portcullis_conformance::RunError>(())
//! ```
//!
//! The catalog of checks is available without a server:
//!
//! ```
//! let catalog = portcullis_conformance::catalog();
//! let state = catalog.iter().find(|c| c.id == "authorize.state-echoed");
//! assert_eq!(state.map(|c| c.name), Some("RFC 6749 §4.1.2: state is returned unchanged"));
//! ```
#![forbid(unsafe_code)]
#![deny(missing_docs)]

mod challenge;
mod checks;
mod config;
mod context;
mod discovery;
mod flow;
mod html;
mod http;
mod mask;
mod pkce;
mod protected;
mod report;

use std::time::Duration;

use url::Url;

pub use config::{Config, DEFAULT_RESOURCE_SCOPE, DEFAULT_TIMEOUT_SECS, Secret};
pub use report::{
    CheckResult, Exchange, Header, Outcome, REPORT_VERSION, RecordedRequest, RecordedResponse,
    Report, Summary,
};

/// Error that keeps a run from starting.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum RunError {
    /// The issuer is not an absolute `http` or `https` URL.
    #[error("invalid issuer {issuer:?}: {reason}")]
    InvalidIssuer {
        /// The issuer as configured.
        issuer: String,
        /// The problem found.
        reason: String,
    },
    /// The issuer uses `https`, and this build has no TLS support.
    #[error("issuer {issuer} uses https, but this build of the kit speaks plain HTTP only")]
    TlsUnsupported {
        /// The issuer as configured.
        issuer: String,
    },
    /// The redirect URI is not an absolute URL.
    #[error("invalid redirect URI {uri:?}: {reason}")]
    InvalidRedirectUri {
        /// The redirect URI as configured.
        uri: String,
        /// The problem found.
        reason: String,
    },
    /// No check id starts with any of the `--only` prefixes.
    #[error("no check id starts with any of {prefixes:?}; see the catalog for valid ids")]
    NoChecksSelected {
        /// The prefixes given.
        prefixes: Vec<String>,
    },
    /// The metadata URL could not be fetched at all (connection refused, timeout).
    #[error("the server could not be reached at {url}: {reason}")]
    Unreachable {
        /// The URL the kit tried first.
        url: String,
        /// The transport error.
        reason: String,
    },
    /// The metadata URL returned 429 Too Many Requests, and waiting out a
    /// short `Retry-After` once did not help.
    #[error("requesting the metadata at {url} failed: {reason}")]
    RateLimited {
        /// The metadata URL.
        url: String,
        /// The 429 and its `Retry-After`.
        reason: String,
    },
    /// The operating system's random number generator failed.
    #[error("the operating system random number generator failed")]
    Randomness,
}

/// One entry of the check catalog.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct CheckInfo {
    /// Stable identifier, such as `pkce.wrong-verifier`.
    pub id: &'static str,
    /// The requirement tested, citing its RFC or specification section.
    pub name: &'static str,
}

/// Returns every check in run order.
pub fn catalog() -> Vec<CheckInfo> {
    checks::all()
        .map(|check| CheckInfo {
            id: check.id,
            name: check.name,
        })
        .collect()
}

/// Runs the checks that [`Config::only`] selects against the server at
/// [`Config::issuer`] and returns their results in catalog order.
///
/// Each check makes its own requests and builds on no other check's state, so
/// any subset gives the same verdicts as a full run. Transport failures inside
/// a check, such as a timeout, make that check fail or skip; they do not stop
/// the run. A check that does not test rate limiting and gets a 429 it cannot
/// wait out skips with the `Retry-After` in its reason.
///
/// # Errors
///
/// [`RunError`] when the configuration is unusable, no check is selected, or
/// the server cannot be reached at all.
pub fn run(config: &Config) -> Result<Report, RunError> {
    let issuer_url = validate(config)?;
    let selected: Vec<&checks::Check> = checks::all().filter(|c| config.selects(c.id)).collect();
    if selected.is_empty() {
        return Err(RunError::NoChecksSelected {
            prefixes: config.only.clone(),
        });
    }
    if !pkce::randomness_available() {
        return Err(RunError::Randomness);
    }

    let http = http::HttpClient::new(Duration::from_secs(config.timeout.max(1)));
    let metadata_url = discovery::metadata_url(&issuer_url);
    let metadata = match http.send(http::HttpRequest::get(metadata_url.as_str())) {
        Ok(response) => {
            if let Some(limited) = http.take_rate_limited() {
                return Err(RunError::RateLimited {
                    url: metadata_url.to_string(),
                    reason: limited.skip_reason(),
                });
            }
            discovery::Metadata::from_response(response)
        }
        Err(error) => {
            return Err(RunError::Unreachable {
                url: metadata_url.to_string(),
                reason: error.message,
            });
        }
    };
    let endpoints = discovery::resolve_endpoints(config, &metadata);
    tracing::debug!(
        ?endpoints,
        metadata = metadata.document().is_some(),
        "endpoints resolved"
    );

    let mut ctx = context::Ctx::new(config, http, issuer_url, metadata, endpoints);
    let mut results = Vec::with_capacity(selected.len());
    for check in selected {
        let outcome = run_check(&mut ctx, check);
        tracing::debug!(id = check.id, result = outcome.label(), "check finished");
        results.push(CheckResult {
            id: check.id.to_owned(),
            name: check.name.to_owned(),
            outcome,
        });
    }
    Ok(Report::new(config.issuer.clone(), results))
}

/// Runs one check. A check that does not test rate limiting and did not pass
/// skips when one of its requests got a 429 that the HTTP client did not wait
/// out. Its verdict would then reflect the server's throttling of the kit
/// rather than the requirement.
fn run_check(ctx: &mut context::Ctx<'_>, check: &checks::Check) -> Outcome {
    let tests_rate_limits = checks::tests_rate_limits(check.id);
    ctx.http.set_retry_rate_limited(!tests_rate_limits);
    ctx.http.take_rate_limited();
    let outcome = (check.run)(ctx).unwrap_or_else(|outcome| outcome);
    match ctx.http.take_rate_limited() {
        Some(limited) if !tests_rate_limits && outcome != Outcome::Pass => {
            let reason = limited.skip_reason();
            tracing::warn!(id = check.id, %reason, "check skipped after a 429");
            Outcome::skip(reason)
        }
        _ => outcome,
    }
}

/// Checks the issuer and redirect URI and returns the parsed issuer.
fn validate(config: &Config) -> Result<Url, RunError> {
    let issuer = config.issuer.clone();
    let url = Url::parse(&issuer).map_err(|e| RunError::InvalidIssuer {
        issuer: issuer.clone(),
        reason: e.to_string(),
    })?;
    match url.scheme() {
        "http" => {}
        "https" => return Err(RunError::TlsUnsupported { issuer }),
        other => {
            return Err(RunError::InvalidIssuer {
                issuer,
                reason: format!("the scheme is {other}, not http"),
            });
        }
    }
    if url.host_str().is_none() {
        return Err(RunError::InvalidIssuer {
            issuer,
            reason: String::from("there is no host"),
        });
    }
    Url::parse(&config.redirect_uri).map_err(|e| RunError::InvalidRedirectUri {
        uri: config.redirect_uri.clone(),
        reason: e.to_string(),
    })?;
    Ok(url)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn config(issuer: &str) -> Config {
        Config::new(
            issuer,
            "app",
            Some("secret"),
            "http://127.0.0.1/cb",
            "alice",
            "pw",
        )
    }

    #[test]
    fn https_issuer_needs_tls() {
        let result = run(&config("https://as.example"));
        assert!(matches!(result, Err(RunError::TlsUnsupported { .. })));
    }

    #[test]
    fn invalid_issuer_is_reported() {
        assert!(matches!(
            run(&config("not a url")),
            Err(RunError::InvalidIssuer { .. })
        ));
        assert!(matches!(
            run(&config("ftp://127.0.0.1")),
            Err(RunError::InvalidIssuer { .. })
        ));
    }

    #[test]
    fn unknown_prefix_selects_nothing() {
        let mut config = config("http://127.0.0.1:9");
        config.only = vec!["nonexistent.".into()];
        assert!(matches!(
            run(&config),
            Err(RunError::NoChecksSelected { .. })
        ));
    }

    #[test]
    fn closed_port_is_unreachable() {
        let listener = std::net::TcpListener::bind("127.0.0.1:0");
        let port = listener
            .map(|l| l.local_addr().map(|a| a.port()))
            .ok()
            .and_then(Result::ok);
        // The listener is dropped here, so nothing listens on the port any more.
        let Some(port) = port else {
            return;
        };
        let result = run(&config(&format!("http://127.0.0.1:{port}")));
        assert!(matches!(result, Err(RunError::Unreachable { .. })));
    }

    #[test]
    fn catalog_lists_every_group() {
        let catalog = catalog();
        for group in [
            "metadata.",
            "authorize.",
            "pkce.",
            "token.",
            "client-auth.",
            "refresh.",
            "errors.",
            "revoke.",
            "introspect.",
            "register.",
            "bearer.",
            "resource-metadata.",
            "resource-indicator.",
            "cors.",
        ] {
            assert!(
                catalog.iter().any(|c| c.id.starts_with(group)),
                "no {group} checks"
            );
        }
    }
}
