//! PKCE checks (RFC 7636 and OAuth 2.1 §4.1).

use base64ct::{Base64UrlUnpadded, Encoding};

use super::authorize::expect_redirect_error;
use super::{Check, expect_error, expect_success, tamper};
use crate::context::{Ctx, Verdict};
use crate::flow::Decision;
use crate::pkce::{Pkce, RFC7636_CHALLENGE, RFC7636_VERIFIER, random_string};
use crate::report::Outcome;

pub(super) const CHECKS: &[Check] = &[
    Check {
        id: "pkce.challenge-required",
        name: "OAuth 2.1 §4.1.2.1: a request without code_challenge gives invalid_request",
        run: challenge_required,
    },
    Check {
        id: "pkce.empty-challenge-rejected",
        name: "OAuth 2.1 §3.1: an empty code_challenge counts as absent and gives invalid_request",
        run: empty_challenge_rejected,
    },
    Check {
        id: "pkce.s256-rfc-vector",
        name: "RFC 7636 Appendix B: the S256 example pair redeems a code",
        run: s256_rfc_vector,
    },
    Check {
        id: "pkce.unknown-method-rejected",
        name: "RFC 7636 §4.4.1: an unsupported code_challenge_method gives invalid_request",
        run: unknown_method_rejected,
    },
    Check {
        id: "pkce.plain-rejected",
        name: "OAuth 2.1 §4.1.1: code_challenge_method=plain gives invalid_request when only S256 is offered",
        run: plain_rejected,
    },
    Check {
        id: "pkce.missing-method-not-s256",
        name: "OAuth 2.1 §4.1.1: a missing code_challenge_method means plain, never S256",
        run: missing_method_not_s256,
    },
    Check {
        id: "pkce.challenge-too-short",
        name: "RFC 7636 §4.2: a 42-character code_challenge gives invalid_request",
        run: challenge_too_short,
    },
    Check {
        id: "pkce.challenge-charset",
        name: "RFC 7636 §4.2: a code_challenge with +, / or = gives invalid_request",
        run: challenge_charset,
    },
    Check {
        id: "pkce.verifier-too-long",
        name: "RFC 7636 §4.1: a 129-character code_verifier is rejected",
        run: verifier_too_long,
    },
    Check {
        id: "pkce.wrong-verifier",
        name: "RFC 7636 §4.6: a code_verifier that does not match gives invalid_grant",
        run: wrong_verifier,
    },
    Check {
        id: "pkce.verifier-required",
        name: "OAuth 2.1 §4.1.3: redeeming a PKCE code without code_verifier is rejected",
        run: verifier_required,
    },
    Check {
        id: "pkce.challenge-not-exposed",
        name: "OAuth 2.1 §7.5.1: the authorization response does not reveal the code_challenge",
        run: challenge_not_exposed,
    },
];

fn challenge_required(ctx: &mut Ctx<'_>) -> Verdict {
    expect_redirect_error(ctx, "invalid_request", |request| {
        request
            .remove("code_challenge")
            .remove("code_challenge_method");
    })
}

fn empty_challenge_rejected(ctx: &mut Ctx<'_>) -> Verdict {
    expect_redirect_error(ctx, "invalid_request", |request| {
        request.set("code_challenge", "");
    })
}

fn s256_rfc_vector(ctx: &mut Ctx<'_>) -> Verdict {
    let client = ctx.main.clone();
    let mut request = ctx.authz_request(&client);
    request.set_pkce(&Pkce::from_verifier(RFC7636_VERIFIER));
    let issued = match ctx.obtain_code(&client, &request) {
        Ok(issued) => issued,
        Err(error) => return Ok(ctx.fail_flow(&error)),
    };
    let response = ctx.redeem(&client.auth(), &issued, &[])?;
    Ok(ctx.judge(expect_success(&response), &response))
}

fn unknown_method_rejected(ctx: &mut Ctx<'_>) -> Verdict {
    expect_redirect_error(ctx, "invalid_request", |request| {
        request.set("code_challenge_method", "S512");
    })
}

fn plain_rejected(ctx: &mut Ctx<'_>) -> Verdict {
    let methods = ctx.metadata.list("code_challenge_methods_supported");
    if methods.as_ref().is_some_and(|m| m.contains(&"plain")) {
        return Err(Outcome::skip(
            "the server lists plain in code_challenge_methods_supported",
        ));
    }
    let verifier = random_string(32);
    expect_redirect_error(ctx, "invalid_request", |request| {
        request
            .set("code_challenge", &verifier)
            .set("code_challenge_method", "plain");
    })
}

fn missing_method_not_s256(ctx: &mut Ctx<'_>) -> Verdict {
    let client = ctx.main.clone();
    let mut request = ctx.authz_request(&client);
    request.set_pkce(&Pkce::from_verifier(RFC7636_VERIFIER));
    request.remove("code_challenge_method");
    let trace = ctx.authorize(&request, Decision::Approve)?;
    if trace.param("error") == Some("invalid_request") {
        return Ok(Outcome::Pass);
    }
    let Some(code) = trace.param("code").map(str::to_owned) else {
        return Ok(ctx.fail(
            format!(
                "expected error=invalid_request or a code, got {}",
                trace.describe()
            ),
            &trace.last,
        ));
    };
    let issued = crate::flow::Issued {
        code,
        verifier: Some(RFC7636_VERIFIER.to_owned()),
        redirect_uri: request.get("redirect_uri").map(str::to_owned),
        trace,
    };
    let response = ctx.redeem(&client.auth(), &issued, &[])?;
    if response.status == 200 {
        return Ok(ctx.fail(
            "the S256 verifier redeemed a code whose challenge had no method, so the server read it as S256",
            &response,
        ));
    }
    Ok(ctx.judge(
        expect_error(&response, &[400], &["invalid_grant"]),
        &response,
    ))
}

fn challenge_too_short(ctx: &mut Ctx<'_>) -> Verdict {
    let short = &RFC7636_CHALLENGE[..42];
    expect_redirect_error(ctx, "invalid_request", |request| {
        request.set("code_challenge", short);
    })
}

fn challenge_charset(ctx: &mut Ctx<'_>) -> Verdict {
    let bad = format!("{}+/=", &RFC7636_CHALLENGE[..40]);
    expect_redirect_error(ctx, "invalid_request", |request| {
        request.set("code_challenge", &bad);
    })
}

fn verifier_too_long(ctx: &mut Ctx<'_>) -> Verdict {
    let long = "a".repeat(129);
    let client = ctx.main.clone();
    let mut request = ctx.authz_request(&client);
    request.set_pkce(&Pkce::from_verifier(long));
    let issued = ctx.obtain_code(&client, &request)?;
    let response = ctx.redeem(&client.auth(), &issued, &[])?;
    Ok(ctx.judge(
        expect_error(&response, &[400], &["invalid_request", "invalid_grant"]),
        &response,
    ))
}

fn wrong_verifier(ctx: &mut Ctx<'_>) -> Verdict {
    let client = ctx.main.clone();
    let mut issued = ctx.standard_code(&client)?;
    issued.verifier = issued.verifier.as_deref().map(tamper);
    let response = ctx.redeem(&client.auth(), &issued, &[])?;
    Ok(ctx.judge(
        expect_error(&response, &[400], &["invalid_grant"]),
        &response,
    ))
}

fn verifier_required(ctx: &mut Ctx<'_>) -> Verdict {
    let client = ctx.main.clone();
    let mut issued = ctx.standard_code(&client)?;
    issued.verifier = None;
    let response = ctx.redeem(&client.auth(), &issued, &[])?;
    Ok(ctx.judge(
        expect_error(&response, &[400], &["invalid_request", "invalid_grant"]),
        &response,
    ))
}

fn challenge_not_exposed(ctx: &mut Ctx<'_>) -> Verdict {
    let client = ctx.main.clone();
    let issued = ctx.standard_code(&client)?;
    let location = issued.trace.last.header("location").unwrap_or_default();
    let challenge = ctx.authz_challenge_of(&issued);
    if location.contains(&challenge) {
        return Ok(ctx.fail(
            "the redirect to the client contains the code_challenge",
            &issued.trace.last,
        ));
    }
    if code_reveals(&issued.code, &challenge) {
        return Ok(ctx.fail(
            "the authorization code decodes to data that contains the code_challenge",
            &issued.trace.last,
        ));
    }
    Ok(Outcome::Pass)
}

impl Ctx<'_> {
    /// Returns the S256 challenge of an issued code's verifier.
    fn authz_challenge_of(&self, issued: &crate::flow::Issued) -> String {
        issued
            .verifier
            .as_deref()
            .map(crate::pkce::s256)
            .unwrap_or_default()
    }
}

/// Returns whether a code base64url-decodes to bytes that contain the challenge
/// text or the digest it encodes. Besides the whole code it tries each
/// `.`-separated part (as in a JWT) and each suffix after a `_` (as after a
/// prefix such as `ac_`).
fn code_reveals(code: &str, challenge: &str) -> bool {
    let digest = Base64UrlUnpadded::decode_vec(challenge).unwrap_or_default();
    let contains = |haystack: &[u8], needle: &[u8]| {
        !needle.is_empty() && haystack.windows(needle.len()).any(|w| w == needle)
    };
    let suffixes = code.match_indices('_').map(|(i, _)| &code[i + 1..]);
    code.split('.')
        .chain(suffixes)
        .chain(std::iter::once(code))
        .filter_map(|part| Base64UrlUnpadded::decode_vec(part.trim_end_matches('=')).ok())
        .any(|bytes| contains(&bytes, challenge.as_bytes()) || contains(&bytes, &digest))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn code_reveals_embedded_challenge() {
        let digest = Base64UrlUnpadded::decode_vec(RFC7636_CHALLENGE).unwrap_or_default();
        let mut payload = b"{\"user\":1}".to_vec();
        payload.extend_from_slice(&digest);
        let code = format!("hdr.{}.sig", Base64UrlUnpadded::encode_string(&payload));
        assert!(code_reveals(&code, RFC7636_CHALLENGE));
        let prefixed = format!("ac_{}", Base64UrlUnpadded::encode_string(&payload));
        assert!(code_reveals(&prefixed, RFC7636_CHALLENGE));
        let opaque = Base64UrlUnpadded::encode_string(&[7u8; 32]);
        assert!(!code_reveals(&opaque, RFC7636_CHALLENGE));
    }
}
