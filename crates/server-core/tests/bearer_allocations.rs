//! A bearer check against the in-memory store allocates nothing.
//!
//! The allocation counter is process-wide, so this file holds one test.

use std::future::Future;
use std::pin::pin;
use std::task::{Context, Poll, Waker};

use http::{HeaderMap, HeaderValue};
use portcullis_grants::{
    AccessToken, CodeRecord, Grant, GrantId, RefreshToken, ResourceId, SecretHash, Timestamp,
    UserId,
};
use portcullis_pkce::CodeChallenge;
use portcullis_scopes::{ScopeCatalog, ScopeSet};
use portcullis_server_core::{
    AuthorizationServer, IssuedTokens, ManualClock, MemoryStore, ServerConfig, Store,
};

const TOKEN: &str = "fltr_at_Zm9yIHRlc3RzIG9ubHksIG5vdCBhIHJlYWwgdG9rZW4gYXQgYWxs";

fn block_on<F: Future>(future: F) -> F::Output {
    let mut future = pin!(future);
    let mut context = Context::from_waker(Waker::noop());
    loop {
        if let Poll::Ready(output) = future.as_mut().poll(&mut context) {
            return output;
        }
    }
}

#[test]
fn bearer_check_allocates_nothing() {
    let mut catalog = ScopeCatalog::new();
    let read = catalog.register("datasets:read", "Read datasets").unwrap();
    let resources = portcullis_grants::Resources::new("https://as.example/v1").unwrap();
    let config = ServerConfig::new("https://as.example", catalog, resources);
    let server = AuthorizationServer::new(config, MemoryStore::new(), ManualClock::new(1_000));

    let grant = GrantId([5; 16]);
    let now = Timestamp(1_000);
    let code_hash = SecretHash::of("code");
    let code = CodeRecord {
        grant,
        client_id: "app".into(),
        redirect_uri: "https://app.example/cb".into(),
        redirect_uri_sent: true,
        challenge: CodeChallenge::from_digest([0; 32]),
        scope: read,
        resource: ResourceId(0),
        user: UserId(1),
        issued_at: now,
        expires_at: now.plus(60),
    };
    let record = Grant {
        id: grant,
        client_id: "app".into(),
        user: UserId(1),
        scope: read,
        resource: ResourceId(0),
        created_at: now,
    };
    let tokens = IssuedTokens {
        access_hash: SecretHash::of(TOKEN),
        access: AccessToken {
            grant,
            user: UserId(1),
            scope: read,
            resource: ResourceId(0),
            issued_at: now,
            expires_at: now.plus(3600),
        },
        refresh_hash: SecretHash::of("refresh"),
        refresh: RefreshToken {
            grant,
            issued_at: now,
            expires_at: now.plus(86_400),
        },
    };
    block_on(server.store().insert_code(code_hash, code)).unwrap();
    block_on(server.store().redeem_code(code_hash, now, record, tokens)).unwrap();

    let mut headers = HeaderMap::new();
    headers.insert(
        http::header::AUTHORIZATION,
        HeaderValue::from_str(&format!("Bearer {TOKEN}")).unwrap(),
    );
    // Warm up once so lazily initialised state does not count.
    assert!(block_on(server.authenticate_bearer(&headers, ResourceId(0), read)).is_ok());

    let mut outcome = None;
    let counts = allocation_counter::measure(|| {
        outcome = Some(block_on(server.authenticate_bearer(
            &headers,
            ResourceId(0),
            read,
        )));
    });
    let access = outcome.unwrap().expect("the token is valid");
    assert_eq!(access.scope, read);
    assert_eq!(
        counts.count_total, 0,
        "a bearer check allocated {} times",
        counts.count_total
    );

    let rejected = allocation_counter::measure(|| {
        let missing = ScopeSet::single(5);
        assert!(block_on(server.authenticate_bearer(&headers, ResourceId(0), missing)).is_err());
    });
    assert_eq!(
        rejected.count_total, 0,
        "a rejected bearer check allocated {} times",
        rejected.count_total
    );
}
