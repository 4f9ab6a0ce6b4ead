//! Requests a client sends to the revocation (RFC 7009) and introspection
//! (RFC 7662) endpoints, authenticated as at the token endpoint.

use crate::http::{Form, Http, Reply};
use crate::oauth::{ClientAuth, basic_authorization};

/// Path of the revocation endpoint.
pub const REVOCATION_PATH: &str = "/oauth/revoke";

/// Path of the introspection endpoint.
pub const INTROSPECTION_PATH: &str = "/oauth/introspect";

/// POSTs `form` to `path` with the client authentication of `auth`.
pub async fn post_as_client(http: &Http, path: &str, auth: ClientAuth<'_>, form: Form) -> Reply {
    match auth {
        ClientAuth::Post { client_id, secret } => {
            let form = form
                .with("client_id", client_id)
                .with("client_secret", secret);
            http.post_form(path, &form.encode(), &[]).await
        }
        ClientAuth::Basic { client_id, secret } => {
            let authorization = basic_authorization(client_id, secret);
            http.post_form(path, &form.encode(), &[("authorization", &authorization)])
                .await
        }
        ClientAuth::Public { client_id } => {
            let form = form.with("client_id", client_id);
            http.post_form(path, &form.encode(), &[]).await
        }
    }
}

/// Builds the `token` form of both endpoints, with a `token_type_hint` when given.
pub fn token_form(token: &str, hint: Option<&str>) -> Form {
    let form = Form::new().with("token", token);
    match hint {
        Some(hint) => form.with("token_type_hint", hint),
        None => form,
    }
}

/// Asks the revocation endpoint to revoke `token`.
pub async fn revoke(http: &Http, auth: ClientAuth<'_>, token: &str, hint: Option<&str>) -> Reply {
    post_as_client(http, REVOCATION_PATH, auth, token_form(token, hint)).await
}

/// Asks the introspection endpoint about `token`.
pub async fn introspect(
    http: &Http,
    auth: ClientAuth<'_>,
    token: &str,
    hint: Option<&str>,
) -> Reply {
    post_as_client(http, INTROSPECTION_PATH, auth, token_form(token, hint)).await
}

/// Asserts that a revocation request succeeded: 200 and `Cache-Control: no-store`.
#[track_caller]
pub fn assert_revoked(reply: &Reply, what: &str) {
    assert_eq!(
        reply.status,
        200,
        "{what}: the revocation endpoint returns 200 (RFC 7009 §2.2): {}",
        reply.describe()
    );
    assert_eq!(
        reply.header("cache-control"),
        Some("no-store"),
        "{what}: the revocation response carries Cache-Control: no-store"
    );
}

/// Asserts that an introspection reply is 200 with a body of exactly
/// `{"active":false}`, which reveals nothing about the token (RFC 7662 §2.2).
#[track_caller]
pub fn assert_inactive(reply: &Reply, what: &str) {
    assert_eq!(
        reply.status,
        200,
        "{what}: introspection returns 200: {}",
        reply.describe()
    );
    assert_eq!(
        reply.json(),
        serde_json::json!({"active": false}),
        "{what}: the body is exactly {{\"active\":false}}"
    );
    assert_eq!(
        reply.header("cache-control"),
        Some("no-store"),
        "{what}: the introspection response carries Cache-Control: no-store"
    );
}
