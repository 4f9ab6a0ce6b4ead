//! Dynamic client registration (RFC 7591) from the client's side.

use reqwest::Method;
use serde_json::{Value, json};

use crate::http::{Http, Reply};
use crate::oauth::ClientAuth;

/// Path of the registration endpoint.
pub const REGISTRATION_PATH: &str = "/oauth/register";

/// The loopback redirect URI that registered test clients use; the port is
/// chosen per request (RFC 8252 §7.3).
pub const LOOPBACK_REDIRECT_URI: &str = "http://127.0.0.1/cb";

/// POSTs `body` to the registration endpoint with the given `Content-Type`.
pub async fn post_registration(http: &Http, content_type: &str, body: &[u8]) -> Reply {
    http.send(
        Method::POST,
        REGISTRATION_PATH,
        &[("content-type", content_type)],
        Some(body.to_vec()),
    )
    .await
}

/// Registers the client metadata `metadata`, sent as `application/json`.
pub async fn register(http: &Http, metadata: &Value) -> Reply {
    let body = serde_json::to_vec(metadata).expect("a JSON value serialises");
    post_registration(http, "application/json", &body).await
}

/// Returns the metadata an MCP client sends to register as a public client:
/// PKCE with no secret, one loopback redirect URI, the code and refresh grants.
pub fn public_client_metadata(client_name: &str) -> Value {
    json!({
        "redirect_uris": [LOOPBACK_REDIRECT_URI],
        "token_endpoint_auth_method": "none",
        "grant_types": ["authorization_code", "refresh_token"],
        "response_types": ["code"],
        "client_name": client_name,
    })
}

/// A client created through dynamic registration.
#[derive(Clone, PartialEq, Eq)]
pub struct RegisteredClient {
    /// The issued `client_id`.
    pub client_id: String,
    /// The issued `client_secret`, or `None` for a public client.
    pub client_secret: Option<String>,
    /// The whole 201 response body.
    pub response: Value,
}

impl std::fmt::Debug for RegisteredClient {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RegisteredClient")
            .field("client_id", &self.client_id)
            .field("public", &self.client_secret.is_none())
            .finish_non_exhaustive()
    }
}

impl RegisteredClient {
    /// Reads the client from a registration response.
    ///
    /// # Panics
    ///
    /// Panics unless the reply is 201 with a string `client_id`.
    #[track_caller]
    pub fn from_reply(reply: &Reply) -> Self {
        assert_eq!(
            reply.status,
            201,
            "the registration succeeds with 201 Created (RFC 7591 §3.2.1): {}",
            reply.describe()
        );
        let response = reply.json();
        let client_id = response
            .get("client_id")
            .and_then(Value::as_str)
            .unwrap_or_else(|| {
                panic!("the registration response has a string client_id: {response}")
            })
            .to_owned();
        let client_secret = response
            .get("client_secret")
            .and_then(Value::as_str)
            .map(str::to_owned);
        Self {
            client_id,
            client_secret,
            response,
        }
    }

    /// Returns how the client authenticates: `client_secret_post` when it has
    /// a secret, `client_id` alone when it is public.
    pub fn auth(&self) -> ClientAuth<'_> {
        match &self.client_secret {
            Some(secret) => ClientAuth::Post {
                client_id: &self.client_id,
                secret,
            },
            None => ClientAuth::Public {
                client_id: &self.client_id,
            },
        }
    }
}

/// Registers a public client with [`public_client_metadata`].
///
/// # Panics
///
/// Panics unless the registration succeeds.
pub async fn register_public_client(http: &Http, client_name: &str) -> RegisteredClient {
    let reply = register(http, &public_client_metadata(client_name)).await;
    RegisteredClient::from_reply(&reply)
}
