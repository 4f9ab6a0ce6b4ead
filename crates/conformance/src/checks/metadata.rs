//! Authorization server metadata checks (RFC 8414, RFC 9207 §3).

use serde_json::Value;
use url::Url;

use super::Check;
use crate::context::{Ctx, Verdict};
use crate::discovery::Metadata;
use crate::http::{HttpResponse, is_loopback_host};
use crate::report::Outcome;

pub(super) const CHECKS: &[Check] = &[
    Check {
        id: "metadata.served",
        name: "RFC 8414 §3: metadata is served at the well-known URL built from the issuer",
        run: served,
    },
    Check {
        id: "metadata.issuer-matches",
        name: "RFC 8414 §3.3: the metadata issuer equals the issuer identifier exactly",
        run: issuer_matches,
    },
    Check {
        id: "metadata.issuer-no-query",
        name: "RFC 8414 §2: the issuer has no query or fragment",
        run: issuer_no_query,
    },
    Check {
        id: "metadata.required-fields",
        name: "RFC 8414 §2: authorization_endpoint, token_endpoint and response_types_supported with code are present",
        run: required_fields,
    },
    Check {
        id: "metadata.no-empty-lists",
        name: "RFC 8414 §2: list members are left out rather than sent empty",
        run: no_empty_lists,
    },
    Check {
        id: "metadata.pkce-s256-listed",
        name: "RFC 8414 §2: code_challenge_methods_supported lists S256, as MCP 2025-11-25 clients require",
        run: pkce_s256_listed,
    },
    Check {
        id: "metadata.auth-methods-listed",
        name: "RFC 8414 §2: token_endpoint_auth_methods_supported is listed explicitly",
        run: auth_methods_listed,
    },
    Check {
        id: "metadata.grant-types",
        name: "RFC 8414 §2: grant_types_supported lists authorization_code and neither implicit nor password",
        run: grant_types,
    },
    Check {
        id: "metadata.iss-flag-matches",
        name: "RFC 9207 §3: authorization_response_iss_parameter_supported is true exactly when iss is sent",
        run: iss_flag_matches,
    },
    Check {
        id: "metadata.https",
        name: "OAuth 2.1 §1.5: the issuer and every endpoint URL use https",
        run: https,
    },
];

/// Returns the metadata document and the response it came in, or a skip.
fn require_document(
    ctx: &Ctx<'_>,
) -> Result<(serde_json::Map<String, Value>, HttpResponse), Outcome> {
    match &ctx.metadata {
        Metadata::Found { document, response } => Ok((document.clone(), (**response).clone())),
        Metadata::Missing { reason, .. } => Err(Outcome::skip(format!("no metadata: {reason}"))),
    }
}

fn served(ctx: &mut Ctx<'_>) -> Verdict {
    match &ctx.metadata {
        Metadata::Found { .. } => Ok(Outcome::Pass),
        Metadata::Missing {
            reason,
            response: Some(response),
        } => Ok(ctx.fail(reason.clone(), response)),
        Metadata::Missing {
            reason,
            response: None,
        } => Ok(Outcome::fail(reason.clone())),
    }
}

fn issuer_matches(ctx: &mut Ctx<'_>) -> Verdict {
    let (document, response) = require_document(ctx)?;
    let result = match document.get("issuer").and_then(Value::as_str) {
        Some(issuer) if issuer == ctx.issuer() => Ok(()),
        Some(issuer) => Err(format!("issuer is {issuer:?}, expected {:?}", ctx.issuer())),
        None => Err(String::from("the document has no issuer string")),
    };
    Ok(ctx.judge(result, &response))
}

fn issuer_no_query(ctx: &mut Ctx<'_>) -> Verdict {
    let issuer = ctx
        .metadata
        .str_member("issuer")
        .unwrap_or(ctx.issuer())
        .to_owned();
    let result = match Url::parse(&issuer) {
        Ok(url) if url.query().is_none() && url.fragment().is_none() => Ok(()),
        Ok(_) => Err(format!("issuer {issuer:?} has a query or fragment")),
        Err(e) => Err(format!("issuer {issuer:?} is not a URL: {e}")),
    };
    match (&ctx.metadata, result) {
        (_, Ok(())) => Ok(Outcome::Pass),
        (Metadata::Found { response, .. }, Err(reason)) => Ok(ctx.fail(reason, response)),
        (Metadata::Missing { .. }, Err(reason)) => Ok(Outcome::fail(reason)),
    }
}

fn required_fields(ctx: &mut Ctx<'_>) -> Verdict {
    let (document, response) = require_document(ctx)?;
    let mut missing: Vec<&str> = ["issuer", "authorization_endpoint", "token_endpoint"]
        .into_iter()
        .filter(|name| document.get(*name).and_then(Value::as_str).is_none())
        .collect();
    let has_code = ctx
        .metadata
        .list("response_types_supported")
        .is_some_and(|types| types.contains(&"code"));
    if !has_code {
        missing.push("response_types_supported with code");
    }
    let result = if missing.is_empty() {
        Ok(())
    } else {
        Err(format!("missing: {}", missing.join(", ")))
    };
    Ok(ctx.judge(result, &response))
}

fn no_empty_lists(ctx: &mut Ctx<'_>) -> Verdict {
    let (document, response) = require_document(ctx)?;
    let empty: Vec<&str> = document
        .iter()
        .filter(|(_, value)| value.as_array().is_some_and(Vec::is_empty))
        .map(|(name, _)| name.as_str())
        .collect();
    let result = if empty.is_empty() {
        Ok(())
    } else {
        Err(format!("empty lists: {}", empty.join(", ")))
    };
    Ok(ctx.judge(result, &response))
}

fn pkce_s256_listed(ctx: &mut Ctx<'_>) -> Verdict {
    let (_, response) = require_document(ctx)?;
    let result = match ctx.metadata.list("code_challenge_methods_supported") {
        Some(methods) if methods.contains(&"S256") => Ok(()),
        Some(methods) => Err(format!("code_challenge_methods_supported is {methods:?}")),
        None => Err(String::from("code_challenge_methods_supported is missing")),
    };
    Ok(ctx.judge(result, &response))
}

fn auth_methods_listed(ctx: &mut Ctx<'_>) -> Verdict {
    let (_, response) = require_document(ctx)?;
    let result = match ctx.metadata.list("token_endpoint_auth_methods_supported") {
        Some(methods) if !methods.is_empty() => Ok(()),
        _ => Err(String::from(
            "token_endpoint_auth_methods_supported is missing, so clients assume client_secret_basic",
        )),
    };
    Ok(ctx.judge(result, &response))
}

fn grant_types(ctx: &mut Ctx<'_>) -> Verdict {
    let (_, response) = require_document(ctx)?;
    let result = match ctx.metadata.list("grant_types_supported") {
        None => Err(String::from(
            "grant_types_supported is missing, and its default includes implicit",
        )),
        Some(types) if !types.contains(&"authorization_code") => Err(format!(
            "grant_types_supported {types:?} lacks authorization_code"
        )),
        Some(types) if types.iter().any(|t| matches!(*t, "implicit" | "password")) => Err(format!(
            "grant_types_supported {types:?} lists a grant OAuth 2.1 removed"
        )),
        Some(_) => Ok(()),
    };
    Ok(ctx.judge(result, &response))
}

fn iss_flag_matches(ctx: &mut Ctx<'_>) -> Verdict {
    let (document, response) = require_document(ctx)?;
    let flag = document
        .get("authorization_response_iss_parameter_supported")
        .and_then(Value::as_bool)
        .unwrap_or(false);
    let client = ctx.main.clone();
    let issued = ctx.standard_code(&client)?;
    let sent = issued.trace.param("iss").is_some();
    match (flag, sent) {
        (true, true) | (false, false) => Ok(Outcome::Pass),
        (true, false) => Ok(ctx.fail(
            "the metadata advertises iss support, but the authorization response has no iss",
            &issued.trace.last,
        )),
        (false, true) => Ok(ctx.fail(
            "the authorization response has iss, but the metadata does not set \
             authorization_response_iss_parameter_supported to true",
            &response,
        )),
    }
}

fn https(ctx: &mut Ctx<'_>) -> Verdict {
    let issuer =
        Url::parse(ctx.issuer()).map_err(|e| Outcome::fail(format!("invalid issuer: {e}")))?;
    let loopback = issuer.host_str().is_some_and(is_loopback_host);
    if loopback && !ctx.config.require_https {
        return Err(Outcome::skip(
            "the issuer is on a loopback host, where plain http is allowed for local \
             development; pass --require-https to require https anyway",
        ));
    }
    let mut urls = vec![("issuer".to_owned(), ctx.issuer().to_owned())];
    if let Some(document) = ctx.metadata.document() {
        for (name, value) in document {
            let is_url_member = name.ends_with("_endpoint") || name.ends_with("_uri");
            if let (true, Some(text)) = (is_url_member, value.as_str()) {
                urls.push((name.clone(), text.to_owned()));
            }
        }
    }
    let plain: Vec<String> = urls
        .iter()
        .filter(|(_, url)| !url.to_ascii_lowercase().starts_with("https://"))
        .map(|(name, url)| format!("{name}={url}"))
        .collect();
    if plain.is_empty() {
        return Ok(Outcome::Pass);
    }
    let reason = format!("not https: {}", plain.join(", "));
    match &ctx.metadata {
        Metadata::Found { response, .. } => Ok(ctx.fail(reason, response)),
        Metadata::Missing { .. } => Ok(Outcome::fail(reason)),
    }
}
