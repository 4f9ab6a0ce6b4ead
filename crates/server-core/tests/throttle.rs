//! Client secrets resist brute force: after repeated failures a client is
//! throttled for the rest of the minute (OAuth 2.1 §2.4.1).

use std::sync::Arc;

use bytes::Bytes;
use portcullis_grants::{Client, ClientOrigin, Resources, SecretHash, Timestamp};
use portcullis_scopes::ScopeCatalog;
use std::net::IpAddr;

use portcullis_server_core::{
    AuthorizationServer, ClientAddr, ManualClock, MemoryStore, ServerConfig, Store,
};

fn client(id: &str) -> Client {
    Client {
        id: id.into(),
        name: id.into(),
        secret_hash: Some(SecretHash::of("the-right-secret-of-thirty-two-chars")),
        redirect_uris: vec!["https://app.example/cb".into()],
        scope: portcullis_scopes::ScopeSet::from_bits(1),
        origin: ClientOrigin::Administrator,
        created_at: Timestamp(0),
    }
}

fn token_request(client_id: &str, secret: &str) -> http::Request<Bytes> {
    token_request_from(client_id, secret, [192, 0, 2, 1])
}

fn token_request_from(client_id: &str, secret: &str, addr: [u8; 4]) -> http::Request<Bytes> {
    let body = format!(
        "grant_type=authorization_code&code=unknown&code_verifier={}&client_id={client_id}&client_secret={secret}",
        "a".repeat(43)
    );
    http::Request::post("/oauth/token")
        .header("content-type", "application/x-www-form-urlencoded")
        .extension(ClientAddr(IpAddr::from(addr)))
        .body(Bytes::from(body))
        .expect("the request is well-formed")
}

#[tokio::test]
async fn repeated_wrong_secrets_throttle_only_that_client() {
    let mut catalog = ScopeCatalog::new();
    catalog.register("datasets:read", "Read datasets").unwrap();
    let config = ServerConfig::new(
        "https://as.example",
        catalog,
        Resources::new("https://as.example/v1").unwrap(),
    );
    let limit = config.client_auth_failure_limit;
    let clock = Arc::new(ManualClock::new(6_000));
    let server = AuthorizationServer::new(config, MemoryStore::new(), Arc::clone(&clock));
    server.store().insert_client(client("conf")).await.unwrap();
    server.store().insert_client(client("other")).await.unwrap();

    for attempt in 0..limit {
        let response = server.token(&token_request("conf", "wrong")).await;
        assert_eq!(
            response.status(),
            401,
            "attempt {attempt} is a plain invalid_client"
        );
    }
    let locked = server
        .token(&token_request(
            "conf",
            "the-right-secret-of-thirty-two-chars",
        ))
        .await;
    assert_eq!(
        locked.status(),
        429,
        "even the right secret waits out the lockout"
    );
    assert_eq!(locked.headers()["retry-after"], "60");
    assert!(
        std::str::from_utf8(locked.body())
            .unwrap()
            .contains("slow_down")
    );

    let elsewhere = server
        .token(&token_request_from(
            "conf",
            "the-right-secret-of-thirty-two-chars",
            [198, 51, 100, 7],
        ))
        .await;
    assert_eq!(
        elsewhere.status(),
        400,
        "the same client from another address is not locked out"
    );

    let other = server
        .token(&token_request(
            "other",
            "the-right-secret-of-thirty-two-chars",
        ))
        .await;
    assert_eq!(
        other.status(),
        400,
        "another client authenticates and reaches the code check"
    );

    clock.advance(60);
    let later = server
        .token(&token_request(
            "conf",
            "the-right-secret-of-thirty-two-chars",
        ))
        .await;
    assert_eq!(later.status(), 400, "the next minute starts a fresh window");
    assert!(
        std::str::from_utf8(later.body())
            .unwrap()
            .contains("invalid_grant")
    );
}

#[tokio::test]
async fn public_clients_are_never_throttled() {
    let mut catalog = ScopeCatalog::new();
    catalog.register("datasets:read", "Read datasets").unwrap();
    let config = ServerConfig::new(
        "https://as.example",
        catalog,
        Resources::new("https://as.example/v1").unwrap(),
    );
    let limit = config.client_auth_failure_limit;
    let server = AuthorizationServer::new(config, MemoryStore::new(), ManualClock::new(6_000));
    let mut public = client("native");
    public.secret_hash = None;
    server.store().insert_client(public).await.unwrap();

    // A public client has no secret to guess, so failures against it must not
    // lock out its real users (OAuth 2.1 §2.4.1).
    for attempt in 0..=limit {
        let response = server.token(&token_request("native", "not-a-secret")).await;
        assert_eq!(response.status(), 401, "attempt {attempt} is not throttled");
    }
}
