//! CORS checks for browser-based MCP clients (OAuth 2.1 §3.2, the CORS
//! protocol of the Fetch standard §3.3). Offering CORS on metadata is a MAY,
//! so a server without it gets a skip, never a failure. The authorization
//! endpoint, which must not offer CORS, is checked by `authorize.no-cors`.

use super::Check;
use crate::context::{Ctx, Verdict};
use crate::discovery::metadata_url;
use crate::http::HttpRequest;
use crate::protected::ResourceRole;
use crate::report::Outcome;

/// Origin of the MCP Inspector, a browser-based MCP client, in local use.
pub(super) const BROWSER_CLIENT_ORIGIN: &str = "http://localhost:6274";
/// Request header that MCP clients add to discovery requests.
const MCP_HEADER: &str = "mcp-protocol-version";

pub(super) const CHECKS: &[Check] = &[
    Check {
        id: "cors.metadata-preflight",
        name: "OAuth 2.1 §3.2: a browser client's preflight for the authorization server metadata is allowed (MAY)",
        run: metadata_preflight,
    },
    Check {
        id: "cors.resource-metadata-preflight",
        name: "OAuth 2.1 §3.2: a browser client's preflight for the protected resource metadata is allowed (MAY)",
        run: resource_metadata_preflight,
    },
];

/// Sends the preflight a browser sends before a `GET` with the MCP header and
/// judges the response: a skip without `Access-Control-Allow-Origin`, a
/// failure when the origin is allowed but the header is not.
fn judge_preflight(ctx: &mut Ctx<'_>, url: &str) -> Verdict {
    let preflight = HttpRequest::new("OPTIONS", url)
        .header("origin", BROWSER_CLIENT_ORIGIN)
        .header("access-control-request-method", "GET")
        .header("access-control-request-headers", MCP_HEADER);
    let response = ctx.send(preflight)?;
    let allowed_origin = response
        .header("access-control-allow-origin")
        .map(str::trim)
        .filter(|origin| *origin == "*" || *origin == BROWSER_CLIENT_ORIGIN);
    if !(200..300).contains(&response.status) || allowed_origin.is_none() {
        return Err(Outcome::skip(format!(
            "the preflight from {BROWSER_CLIENT_ORIGIN} got {} without an \
             Access-Control-Allow-Origin for it: the server offers no CORS here, which it may leave out",
            response.status
        )));
    }
    let header_allowed = response
        .headers_named("access-control-allow-headers")
        .iter()
        .flat_map(|value| value.split(','))
        .map(str::trim)
        .any(|name| name == "*" || name.eq_ignore_ascii_case(MCP_HEADER));
    let result = if header_allowed {
        Ok(())
    } else {
        Err(format!(
            "the preflight allows the origin but not the {MCP_HEADER} header, so browsers \
             block the MCP client's request"
        ))
    };
    Ok(ctx.judge(result, &response))
}

fn metadata_preflight(ctx: &mut Ctx<'_>) -> Verdict {
    if ctx.metadata.document().is_none() {
        return Err(Outcome::skip(
            "the server publishes no authorization server metadata",
        ));
    }
    let url = metadata_url(&ctx.issuer_url);
    judge_preflight(ctx, url.as_str())
}

fn resource_metadata_preflight(ctx: &mut Ctx<'_>) -> Verdict {
    let site = ctx.require_site(ResourceRole::Primary)?;
    if site.metadata.document().is_none() {
        return Err(Outcome::skip(
            "the kit found no protected resource metadata",
        ));
    }
    let Some(url) = site.metadata_url else {
        return Err(Outcome::skip(
            "the kit found no protected resource metadata",
        ));
    };
    judge_preflight(ctx, &url)
}
