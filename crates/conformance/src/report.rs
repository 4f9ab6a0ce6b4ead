//! Check results, the human-readable table and the JSON report.

use std::fmt::Write as _;

use serde::{Deserialize, Serialize};

/// Current value of [`Report::version`].
pub const REPORT_VERSION: u32 = 1;

/// Results of one run of the kit against one authorization server.
///
/// # JSON schema
///
/// A report serializes with serde to one object. `version` is bumped whenever a
/// field changes meaning or disappears; new fields may appear without a bump.
///
/// ```json
/// {
///   "version": 1,
///   "issuer": "http://127.0.0.1:8080",
///   "summary": { "passed": 70, "failed": 1, "skipped": 12 },
///   "checks": [
///     { "id": "authorize.state-echoed",
///       "name": "RFC 6749 §4.1.2: state is returned unchanged",
///       "result": "pass" },
///     { "id": "revoke.unknown-token",
///       "name": "RFC 7009 §2.2: revoking an unknown token answers 200",
///       "result": "skip",
///       "reason": "the server advertises no revocation endpoint" },
///     { "id": "token.code-single-use",
///       "name": "OAuth 2.1 §4.1.3: an authorization code is redeemed once",
///       "result": "fail",
///       "reason": "expected 400 with error=invalid_grant, got 200",
///       "exchange": {
///         "request": { "method": "POST", "url": "http://127.0.0.1:8080/oauth/token",
///                      "headers": [{ "name": "content-type",
///                                    "value": "application/x-www-form-urlencoded" }],
///                      "body": "grant_type=authorization_code&code=***&..." },
///         "response": { "status": 200, "headers": [], "body": "{...}",
///                       "body_truncated": false },
///         "error": null } }
///   ]
/// }
/// ```
///
/// `result` is one of `pass`, `fail` and `skip`. `reason` is present for `fail`
/// and `skip`. `exchange` is present for a `fail` that was decided by one HTTP
/// exchange, and `null` for one decided by other evidence, such as a metadata
/// field. In an exchange, `response` is `null` and `error` is set when no response
/// arrived (connection refused, timeout). Secrets in exchanges are replaced by
/// `***`: client secrets, passwords, authorization codes, tokens, code
/// verifiers, `state` values, cookie values, and the values of form fields
/// whose names mark them as secret, such as `request_id` and `csrf`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Report {
    /// Schema version of this report, [`REPORT_VERSION`] when written by this crate.
    pub version: u32,
    /// Issuer identifier the run was pointed at, as given in the configuration.
    pub issuer: String,
    /// Counts of passed, failed and skipped checks.
    pub summary: Summary,
    /// One entry per check that ran, in catalog order.
    pub checks: Vec<CheckResult>,
}

/// Counts of check outcomes in a [`Report`].
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Summary {
    /// Number of checks that passed.
    pub passed: usize,
    /// Number of checks that failed.
    pub failed: usize,
    /// Number of checks that were skipped.
    pub skipped: usize,
}

/// Result of one check.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct CheckResult {
    /// Stable identifier, such as `authorize.state-echoed`.
    pub id: String,
    /// The requirement tested, citing its RFC or specification section.
    pub name: String,
    /// Whether the server met the requirement.
    #[serde(flatten)]
    pub outcome: Outcome,
}

/// Verdict of one check.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "result", rename_all = "lowercase")]
pub enum Outcome {
    /// The server met the requirement.
    Pass,
    /// The server broke the requirement.
    Fail {
        /// The expected and the observed behaviour.
        reason: String,
        /// The HTTP exchange that decided the check, with secrets masked.
        exchange: Option<Box<Exchange>>,
    },
    /// The check could not decide with the configuration and server at hand.
    Skip {
        /// The reason the check did not run, such as an endpoint the server does not offer.
        reason: String,
    },
}

impl Outcome {
    /// Builds a failure without an exchange.
    pub fn fail(reason: impl Into<String>) -> Self {
        Self::Fail {
            reason: reason.into(),
            exchange: None,
        }
    }

    /// Builds a skip.
    pub fn skip(reason: impl Into<String>) -> Self {
        Self::Skip {
            reason: reason.into(),
        }
    }

    /// Returns the lowercase label used in the table and the JSON report.
    pub fn label(&self) -> &'static str {
        match self {
            Self::Pass => "pass",
            Self::Fail { .. } => "fail",
            Self::Skip { .. } => "skip",
        }
    }
}

/// One HTTP request and the response to it, with secrets masked.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Exchange {
    /// The request the kit sent.
    pub request: RecordedRequest,
    /// The response, or `None` when none arrived.
    pub response: Option<RecordedResponse>,
    /// Transport failure, such as a timeout, when no response arrived.
    pub error: Option<String>,
}

/// A request as the kit sent it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct RecordedRequest {
    /// HTTP method.
    pub method: String,
    /// Absolute request URL.
    pub url: String,
    /// Headers the kit set, in the order sent.
    pub headers: Vec<Header>,
    /// Request body as text, if any.
    pub body: Option<String>,
}

/// A response as the kit received it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct RecordedResponse {
    /// HTTP status code.
    pub status: u16,
    /// Response headers in the order received.
    pub headers: Vec<Header>,
    /// Body as text (invalid UTF-8 replaced), cut to the first 4 KiB.
    pub body: String,
    /// Whether `body` was cut, here or by the kit's 1 MiB read limit.
    pub body_truncated: bool,
}

/// One header line.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Header {
    /// Header name, lowercase for responses.
    pub name: String,
    /// Header value.
    pub value: String,
}

impl Report {
    /// Builds a report and counts its outcomes.
    pub fn new(issuer: impl Into<String>, checks: Vec<CheckResult>) -> Self {
        let mut summary = Summary::default();
        for check in &checks {
            match check.outcome {
                Outcome::Pass => summary.passed += 1,
                Outcome::Fail { .. } => summary.failed += 1,
                Outcome::Skip { .. } => summary.skipped += 1,
            }
        }
        Self {
            version: REPORT_VERSION,
            issuer: issuer.into(),
            summary,
            checks,
        }
    }

    /// Returns whether any check failed.
    pub fn has_failures(&self) -> bool {
        self.summary.failed > 0
    }

    /// Returns the closing line, `N passed, M failed, K skipped`.
    pub fn summary_line(&self) -> String {
        format!(
            "{} passed, {} failed, {} skipped",
            self.summary.passed, self.summary.failed, self.summary.skipped
        )
    }

    /// Renders the table for people: one line per check with its result, id and
    /// name, then for each failure or skip its reason and, for failures, the
    /// observed exchange. The last line is [`Report::summary_line`].
    pub fn to_table(&self) -> String {
        let id_width = self.checks.iter().map(|c| c.id.len()).max().unwrap_or(2);
        let mut out = String::new();
        let _ = writeln!(out, "{:<6} {:<id_width$} NAME", "RESULT", "ID");
        for check in &self.checks {
            let label = check.outcome.label().to_uppercase();
            let _ = writeln!(out, "{label:<6} {:<id_width$} {}", check.id, check.name);
            match &check.outcome {
                Outcome::Pass => {}
                Outcome::Skip { reason } => {
                    let _ = writeln!(out, "       reason: {reason}");
                }
                Outcome::Fail { reason, exchange } => {
                    let _ = writeln!(out, "       reason: {reason}");
                    if let Some(exchange) = exchange {
                        write_exchange(&mut out, exchange);
                    }
                }
            }
        }
        let _ = writeln!(out, "{}", self.summary_line());
        out
    }
}

/// Writes an exchange under a failed check, indented so it reads as part of it.
fn write_exchange(out: &mut String, exchange: &Exchange) {
    let request = &exchange.request;
    let _ = writeln!(out, "       > {} {}", request.method, request.url);
    for header in &request.headers {
        let _ = writeln!(out, "       > {}: {}", header.name, header.value);
    }
    if let Some(body) = &request.body {
        write_body(out, ">", body);
    }
    if let Some(response) = &exchange.response {
        let _ = writeln!(out, "       < {}", response.status);
        for header in &response.headers {
            let _ = writeln!(out, "       < {}: {}", header.name, header.value);
        }
        write_body(out, "<", &response.body);
        if response.body_truncated {
            let _ = writeln!(out, "       < (body truncated)");
        }
    }
    if let Some(error) = &exchange.error {
        let _ = writeln!(out, "       ! {error}");
    }
}

/// Writes a body after a blank marker line, at most 20 lines of it.
fn write_body(out: &mut String, marker: &str, body: &str) {
    if body.is_empty() {
        return;
    }
    let _ = writeln!(out, "       {marker}");
    let lines: Vec<&str> = body.lines().collect();
    for line in lines.iter().take(20) {
        let _ = writeln!(out, "       {marker} {line}");
    }
    if lines.len() > 20 {
        let _ = writeln!(out, "       {marker} ({} more lines)", lines.len() - 20);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample() -> Report {
        let exchange = Exchange {
            request: RecordedRequest {
                method: "POST".into(),
                url: "http://127.0.0.1:8080/oauth/token".into(),
                headers: vec![Header {
                    name: "content-type".into(),
                    value: "application/x-www-form-urlencoded".into(),
                }],
                body: Some("grant_type=authorization_code&code=***".into()),
            },
            response: Some(RecordedResponse {
                status: 200,
                headers: vec![],
                body: "{\"access_token\":\"***\"}".into(),
                body_truncated: false,
            }),
            error: None,
        };
        Report::new(
            "http://127.0.0.1:8080",
            vec![
                CheckResult {
                    id: "authorize.state-echoed".into(),
                    name: "RFC 6749 §4.1.2: state is returned unchanged".into(),
                    outcome: Outcome::Pass,
                },
                CheckResult {
                    id: "token.code-single-use".into(),
                    name: "OAuth 2.1 §4.1.3: an authorization code is redeemed once".into(),
                    outcome: Outcome::Fail {
                        reason: "expected 400 with error=invalid_grant, got 200".into(),
                        exchange: Some(Box::new(exchange)),
                    },
                },
                CheckResult {
                    id: "revoke.unknown-token".into(),
                    name: "RFC 7009 §2.2: revoking an unknown token answers 200".into(),
                    outcome: Outcome::skip("the server advertises no revocation endpoint"),
                },
            ],
        )
    }

    #[test]
    fn summary_counts_outcomes() {
        let report = sample();
        assert_eq!(report.summary.passed, 1);
        assert_eq!(report.summary.failed, 1);
        assert_eq!(report.summary.skipped, 1);
        assert!(report.has_failures());
        assert_eq!(report.summary_line(), "1 passed, 1 failed, 1 skipped");
    }

    #[test]
    fn table_lists_reasons_and_exchange() {
        let table = sample().to_table();
        let lines: Vec<&str> = table.lines().collect();
        assert!(lines[0].starts_with("RESULT ID"));
        assert!(lines[1].starts_with("PASS   authorize.state-echoed"));
        assert!(table.contains("FAIL   token.code-single-use"));
        assert!(table.contains("reason: expected 400 with error=invalid_grant, got 200"));
        assert!(table.contains("> POST http://127.0.0.1:8080/oauth/token"));
        assert!(table.contains("< 200"));
        assert!(table.contains("reason: the server advertises no revocation endpoint"));
        assert_eq!(lines.last().copied(), Some("1 passed, 1 failed, 1 skipped"));
    }

    #[test]
    fn table_caps_long_bodies() {
        let mut out = String::new();
        let body = (0..30)
            .map(|i| format!("line {i}"))
            .collect::<Vec<_>>()
            .join("\n");
        write_body(&mut out, "<", &body);
        assert!(out.contains("line 19"));
        assert!(!out.contains("line 20"));
        assert!(out.contains("(10 more lines)"));
    }

    #[test]
    fn json_schema_round_trips() {
        let report = sample();
        let json = serde_json::to_value(&report).unwrap_or_default();
        assert_eq!(json["version"], 1);
        assert_eq!(json["summary"]["failed"], 1);
        assert_eq!(json["checks"][0]["result"], "pass");
        assert!(json["checks"][0].get("reason").is_none());
        assert_eq!(json["checks"][1]["result"], "fail");
        assert_eq!(json["checks"][1]["exchange"]["response"]["status"], 200);
        assert_eq!(json["checks"][2]["result"], "skip");
        assert_eq!(
            json["checks"][2]["reason"],
            "the server advertises no revocation endpoint"
        );
        let back: Result<Report, _> = serde_json::from_value(json);
        assert_eq!(back.ok(), Some(report));
    }
}
