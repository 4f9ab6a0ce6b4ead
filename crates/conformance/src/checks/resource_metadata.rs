//! Protected resource metadata checks (RFC 9728, with the MCP 2025-11-25
//! rules for MCP servers), driven by `--resource-url` and `--resource`.

use serde_json::{Map, Value};
use url::Url;

use super::Check;
use crate::challenge::bearer_challenge;
use crate::context::{Ctx, Verdict};
use crate::http::HttpResponse;
use crate::protected::{
    IdentifierSource, ResourceMetadata, ResourceRole, Site, identifier_from_well_known,
    well_known_url,
};
use crate::report::Outcome;

pub(super) const CHECKS: &[Check] = &[
    Check {
        id: "resource-metadata.challenge-link",
        name: "RFC 9728 §5.1: the 401 challenge carries resource_metadata as a quoted absolute URL",
        run: challenge_link,
    },
    Check {
        id: "resource-metadata.served",
        name: "RFC 9728 §3.2: the resource metadata URL answers 200 with an application/json object",
        run: served,
    },
    Check {
        id: "resource-metadata.resource-matches",
        name: "RFC 9728 §3.3: resource equals the identifier the metadata URL was built from",
        run: resource_matches,
    },
    Check {
        id: "resource-metadata.well-known-location",
        name: "RFC 9728 §3.1: the metadata is served with the well-known suffix inserted between host and path",
        run: well_known_location,
    },
    Check {
        id: "resource-metadata.authorization-servers",
        name: "MCP 2025-11-25 \"Authorization Server Location\": authorization_servers is non-empty and starts with the issuer, byte for byte",
        run: authorization_servers,
    },
    Check {
        id: "resource-metadata.no-offline-access",
        name: "MCP 2025-11-25 \"Scope Selection Strategy\": scopes_supported does not list offline_access (SHOULD)",
        run: no_offline_access,
    },
    Check {
        id: "resource-metadata.no-query-method",
        name: "MCP 2025-11-25 \"Token Requirements\": bearer_methods_supported does not offer query",
        run: no_query_method,
    },
];

/// Returns whether the kit requested the document from the challenge's link
/// rather than from the well-known URL of the identifier.
fn fetched_from_link(site: &Site) -> bool {
    site.linked.is_some() && site.metadata_url == site.linked
}

/// Returns the reason to skip when the kit has no document, or `None` when the
/// absence itself is a failure for the check at hand to report.
fn skip_reason(site: &Site) -> Option<String> {
    if let Some(link) = &site.linked {
        if !fetched_from_link(site) && Url::parse(link).is_ok() {
            return Some(format!(
                "the kit did not request resource_metadata {link}, because it is not an http \
                 URL on the origin of the resource or the issuer"
            ));
        }
    }
    if !fetched_from_link(site) && site.identifier.source == IdentifierSource::Guess {
        return Some(format!(
            "the identifier {} is a guess from the resource URL, and its well-known URL \
             serves no metadata; pass --resource",
            site.identifier.value
        ));
    }
    None
}

/// Returns the metadata document and the response it came in, or a skip.
fn require_document(site: &Site) -> Result<(Map<String, Value>, HttpResponse), Outcome> {
    match &site.metadata {
        ResourceMetadata::Found {
            document, response, ..
        } => Ok((document.clone(), (**response).clone())),
        ResourceMetadata::Invalid { reason, .. } | ResourceMetadata::Unavailable { reason } => {
            Err(Outcome::skip(format!("no resource metadata: {reason}")))
        }
    }
}

fn challenge_link(ctx: &mut Ctx<'_>) -> Verdict {
    let site = ctx.require_site(ResourceRole::Primary)?;
    let response = &site.unauthenticated;
    if response.status != 401 {
        return Err(Outcome::skip(format!(
            "the resource answered {} without a token, not 401, which bearer.missing-token reports",
            response.summary()
        )));
    }
    let challenge = match bearer_challenge(response) {
        Some(Ok(challenge)) => challenge,
        Some(Err(reason)) => return Ok(ctx.fail(reason, response)),
        None => {
            return Err(Outcome::skip(
                "the 401 has no Bearer challenge, which bearer.missing-token reports",
            ));
        }
    };
    let Some(param) = challenge.find("resource_metadata") else {
        if site.metadata.document().is_some() {
            return Err(Outcome::skip(
                "the challenge has no resource_metadata, but the well-known URL serves the \
                 metadata, which MCP 2025-11-25 \"Protected Resource Metadata Discovery \
                 Requirements\" accepts instead",
            ));
        }
        return Ok(ctx.fail(
            "the challenge has no resource_metadata, and the well-known URL serves no metadata either",
            response,
        ));
    };
    if !param.quoted {
        return Ok(ctx.fail(
            "resource_metadata is sent as a token, but a URL has characters (: and /) that only \
             a quoted-string can hold (RFC 9110 §11.2), and MCP clients read it quoted",
            response,
        ));
    }
    let absolute = Url::parse(&param.value)
        .is_ok_and(|url| matches!(url.scheme(), "http" | "https") && url.host_str().is_some());
    if absolute {
        Ok(Outcome::Pass)
    } else {
        Ok(ctx.fail(
            format!(
                "resource_metadata {:?} is not an absolute http or https URL",
                param.value
            ),
            response,
        ))
    }
}

fn served(ctx: &mut Ctx<'_>) -> Verdict {
    let site = ctx.require_site(ResourceRole::Primary)?;
    match &site.metadata {
        ResourceMetadata::Found { response, .. } => {
            let essence = response
                .header("content-type")
                .and_then(|value| value.split(';').next())
                .map(|media| media.trim().to_ascii_lowercase());
            let result = match essence.as_deref() {
                Some("application/json") => Ok(()),
                Some(other) => Err(format!("the content type is {other}, not application/json")),
                None => Err(String::from("the response has no Content-Type")),
            };
            Ok(ctx.judge(result, response))
        }
        ResourceMetadata::Invalid {
            reason, response, ..
        } => match skip_reason(&site) {
            Some(skip) => Err(Outcome::skip(skip)),
            None => Ok(ctx.fail(reason.clone(), response)),
        },
        ResourceMetadata::Unavailable { reason } => match skip_reason(&site) {
            Some(skip) => Err(Outcome::skip(skip)),
            None => Err(Outcome::skip(format!("no resource metadata: {reason}"))),
        },
    }
}

// NOTE: RFC 9728 §3.3 has a second rule for a document found through a
// challenge: its resource must equal the URL of the request that got the
// challenge. Many servers, MCP clients such as the TS SDK, and
// draft-mcguinness-oauth-rfc9728bis accept a same-origin path prefix instead,
// so the kit checks only the first rule.
fn resource_matches(ctx: &mut Ctx<'_>) -> Verdict {
    let site = ctx.require_site(ResourceRole::Primary)?;
    let (document, response) = require_document(&site)?;
    let from_link = fetched_from_link(&site);
    let built_from = if from_link {
        site.linked.as_deref().and_then(identifier_from_well_known)
    } else {
        Some(site.identifier.value.clone())
    };
    let Some(expected) = built_from else {
        return Err(Outcome::skip(format!(
            "resource_metadata {} is not a well-known URL, so no identifier was inserted into it",
            site.linked.as_deref().unwrap_or_default()
        )));
    };
    match document.get("resource").and_then(Value::as_str) {
        Some(resource) if resource == expected => Ok(Outcome::Pass),
        Some(resource) if !from_link && site.identifier.source == IdentifierSource::Guess => {
            Err(Outcome::skip(format!(
                "the metadata names {resource:?}, not the guessed identifier {expected:?}; \
                 pass --resource"
            )))
        }
        Some(resource) => Ok(ctx.fail(
            format!("resource is {resource:?}, but the metadata URL was built from {expected:?}"),
            &response,
        )),
        None => Ok(ctx.fail("the document has no resource string", &response)),
    }
}

fn well_known_location(ctx: &mut Ctx<'_>) -> Verdict {
    let site = ctx.require_site(ResourceRole::Primary)?;
    let linked_resource = site
        .metadata
        .document()
        .filter(|_| fetched_from_link(&site))
        .and_then(|document| document.get("resource"))
        .and_then(Value::as_str)
        .map(str::to_owned);
    let (identifier, guessed) = match (site.identifier.source, linked_resource) {
        (IdentifierSource::Guess, Some(resource)) => (resource, false),
        (IdentifierSource::Guess, None) => (site.identifier.value.clone(), true),
        _ => (site.identifier.value.clone(), false),
    };
    let Some(url) = well_known_url(&identifier) else {
        return Err(Outcome::skip(format!(
            "the identifier {identifier:?} is not an absolute URL without a fragment"
        )));
    };
    let flagged = site.identifier.source == IdentifierSource::Flag;
    if !flagged && !ctx.may_follow(&url, &site.target.url) {
        return Err(Outcome::skip(format!(
            "{url} is not on the origin of the resource or the issuer, so the kit does not \
             request it; pass --resource"
        )));
    }
    let metadata = if site.metadata_url.as_deref() == Some(url.as_str()) {
        site.metadata.clone()
    } else {
        ctx.fetch_resource_metadata(&url)
    };
    let guess_skip = || {
        Outcome::skip(format!(
            "{url} serves no metadata for the guessed identifier {identifier}; pass --resource"
        ))
    };
    match metadata {
        ResourceMetadata::Found {
            document, response, ..
        } => match document.get("resource").and_then(Value::as_str) {
            Some(resource) if resource == identifier => Ok(Outcome::Pass),
            _ if guessed => Err(guess_skip()),
            Some(resource) => Ok(ctx.fail(
                format!("{url} names the resource {resource:?}, not {identifier:?}"),
                &response,
            )),
            None => Ok(ctx.fail(
                format!("the document at {url} has no resource string"),
                &response,
            )),
        },
        ResourceMetadata::Invalid { .. } if guessed => Err(guess_skip()),
        ResourceMetadata::Invalid {
            reason, response, ..
        } => Ok(ctx.fail(
            format!("no metadata at the well-known URL of {identifier}: {reason}"),
            &response,
        )),
        ResourceMetadata::Unavailable { reason } => Err(Outcome::skip(reason)),
    }
}

fn authorization_servers(ctx: &mut Ctx<'_>) -> Verdict {
    let site = ctx.require_site(ResourceRole::Primary)?;
    let (document, response) = require_document(&site)?;
    let issuer = ctx
        .metadata
        .str_member("issuer")
        .unwrap_or(ctx.issuer())
        .to_owned();
    let servers: Vec<&str> = match document.get("authorization_servers") {
        Some(Value::Array(items)) => items.iter().filter_map(Value::as_str).collect(),
        Some(_) => {
            return Ok(ctx.fail("authorization_servers is not an array", &response));
        }
        None => {
            return Ok(ctx.fail(
                "the document has no authorization_servers, so MCP clients cannot find the issuer",
                &response,
            ));
        }
    };
    match servers.iter().position(|server| *server == issuer) {
        Some(0) => Ok(Outcome::Pass),
        Some(position) => Err(Outcome::skip(format!(
            "the issuer is entry {} of authorization_servers; MCP 2025-11-25 leaves the choice \
             to the client, though the TS SDK uses only the first entry",
            position + 1
        ))),
        None => Ok(ctx.fail(
            match servers.first() {
                Some(first) => format!(
                    "the first authorization server is {first:?}, not the issuer {issuer:?}"
                ),
                None => String::from("authorization_servers is empty"),
            },
            &response,
        )),
    }
}

/// Returns the string members of an array member, or `None` when it is absent.
fn string_list<'d>(document: &'d Map<String, Value>, name: &str) -> Option<Vec<&'d str>> {
    let items = document.get(name)?.as_array()?;
    Some(items.iter().filter_map(Value::as_str).collect())
}

fn no_offline_access(ctx: &mut Ctx<'_>) -> Verdict {
    let site = ctx.require_site(ResourceRole::Primary)?;
    let (document, response) = require_document(&site)?;
    let Some(scopes) = string_list(&document, "scopes_supported") else {
        return Err(Outcome::skip("the document lists no scopes_supported"));
    };
    let result = if scopes.contains(&"offline_access") {
        Err(String::from(
            "scopes_supported lists offline_access, which MCP clients then request for this \
             resource although it names no access to it",
        ))
    } else {
        Ok(())
    };
    Ok(ctx.judge(result, &response))
}

fn no_query_method(ctx: &mut Ctx<'_>) -> Verdict {
    let site = ctx.require_site(ResourceRole::Primary)?;
    let (document, response) = require_document(&site)?;
    let Some(methods) = string_list(&document, "bearer_methods_supported") else {
        return Err(Outcome::skip(
            "the document lists no bearer_methods_supported",
        ));
    };
    let result = if methods.contains(&"query") {
        Err(String::from(
            "bearer_methods_supported offers query, but access tokens must not be sent in the URI query",
        ))
    } else {
        Ok(())
    };
    Ok(ctx.judge(result, &response))
}
