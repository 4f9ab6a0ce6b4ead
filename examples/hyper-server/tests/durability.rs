//! Durability of the `fltr-server-hyper` binary, run as real processes that
//! listen on `127.0.0.1`: tokens on a SQLite file survive SIGKILL, replicas
//! share one PostgreSQL database, and a PostgreSQL outage gets 503 responses
//! and ends without a restart.
//!
//! The PostgreSQL tests read the database URL from the environment variable
//! `PORTCULLIS_TEST_POSTGRES_URL`, which
//! `crates/store-sql/scripts/start-postgres.sh` prints. Without it they print
//! a notice and pass, unless `CI` is set, when they fail. They share the
//! database's default schema with other runs, so each run bootstraps a user
//! and an app with names of its own.

#[path = "durability/client.rs"]
mod client;
#[path = "durability/postgres.rs"]
mod postgres;
#[path = "durability/process.rs"]
mod process;
#[path = "durability/proxy.rs"]
mod proxy;

use std::future::Future;
use std::io::{Read as _, Write as _};
use std::net::SocketAddr;
use std::os::unix::process::ExitStatusExt as _;
use std::time::Duration;

use portcullis_e2e::oauth::{Tokens, assert_token_error, datasets, refresh};
use portcullis_e2e::{Browser, Http, Reply};

use crate::client::{
    Tenant, approve, authorization_path, authorize, code_from_redirect, first_dataset_id,
    obtain_tokens, open_consent, redeem,
};
use crate::process::{ServerArgs, ServerProcess, TempDir, free_port};
use crate::proxy::{Endpoint, SocketProxy, Stream, spawn_echo_server};

/// SIGKILL's signal number, which POSIX fixes at 9.
const SIGKILL: i32 = 9;

/// Maximum time a request may take while the database is unreachable. The
/// store waits up to 5 s for a database connection before it reports the
/// database unavailable, so this leaves 5 s for the rest of the request.
const OUTAGE_REPLY_BOUND: Duration = Duration::from_secs(10);

/// Awaits `request`, failing the test when it takes longer than [`OUTAGE_REPLY_BOUND`].
async fn within_bound(what: &str, request: impl Future<Output = Reply>) -> Reply {
    tokio::time::timeout(OUTAGE_REPLY_BOUND, request)
        .await
        .unwrap_or_else(|_| panic!("{what}: no response within {OUTAGE_REPLY_BOUND:?}"))
}

/// Asserts that a JSON reply is 503 with `error` `temporarily_unavailable`,
/// as the store reports a lost database connection.
#[track_caller]
fn assert_unavailable(reply: &Reply, what: &str) {
    assert_eq!(
        reply.status,
        503,
        "{what}: status 503: {}",
        reply.describe()
    );
    assert_eq!(
        reply.oauth_error().as_deref(),
        Some("temporarily_unavailable"),
        "{what}: error temporarily_unavailable: {}",
        reply.describe()
    );
}

/// Writes the bootstrap file of `tenant` into `workdir` and returns its path.
fn write_bootstrap(workdir: &TempDir, tenant: &Tenant) -> std::path::PathBuf {
    workdir.write("bootstrap.toml", &tenant.bootstrap_toml())
}

#[tokio::test]
async fn tokens_survive_sigkill_on_sqlite() {
    let workdir = TempDir::new("sqlite");
    let tenant = Tenant::unique("sqlite");
    let bootstrap = write_bootstrap(&workdir, &tenant);
    let database = format!("sqlite:{}", workdir.path().join("fltr.db").display());
    // Both runs listen on the same address, so the issuer is the same too.
    let listen = format!("127.0.0.1:{}", free_port());
    let issuer = format!("http://{listen}");
    let args = ServerArgs {
        listen: &listen,
        issuer: &issuer,
        database: &database,
        bootstrap: &bootstrap,
        workdir: workdir.path(),
    };

    let mut first = ServerProcess::start(&args);
    assert_eq!(
        first.created_lines().len(),
        2,
        "the first start creates the user and the app: {:?}",
        first.output()
    );
    let http = Http::new(&first.base_url());
    let tokens = obtain_tokens(&http, &issuer, &tenant).await;
    let dataset_before = first_dataset_id(&datasets(&http, &tokens.access_token).await);
    first.assert_no_panic();
    let status = first.sigkill();
    assert_eq!(
        status.signal(),
        Some(SIGKILL),
        "the first server ended by SIGKILL: {status:?}"
    );

    let second = ServerProcess::start(&args);
    assert_eq!(
        second.created_lines(),
        Vec::<String>::new(),
        "the restart creates no user or app again"
    );
    // A new client, because the first one's pooled connections died with the server.
    let http = Http::new(&second.base_url());
    let dataset_after = first_dataset_id(&datasets(&http, &tokens.access_token).await);
    assert_eq!(
        dataset_after, dataset_before,
        "the access token from before the kill still names the same user"
    );

    let rotated =
        Tokens::from_reply(&refresh(&http, tenant.auth(), &tokens.refresh_token, None).await);
    assert_ne!(
        rotated.refresh_token, tokens.refresh_token,
        "the refresh rotates the refresh token"
    );
    first_dataset_id(&datasets(&http, &rotated.access_token).await);
    let replay = refresh(&http, tenant.auth(), &tokens.refresh_token, None).await;
    assert_token_error(
        &replay,
        400,
        "invalid_grant",
        "the refresh token from before the kill, after its rotation",
    );

    // Signing in again proves the bootstrap user survived; the same dataset id
    // proves no second user of that name was created.
    let again = obtain_tokens(&http, &issuer, &tenant).await;
    let dataset_again = first_dataset_id(&datasets(&http, &again.access_token).await);
    assert_eq!(
        dataset_again, dataset_before,
        "a new sign-in after the restart is the same user"
    );
    second.assert_no_panic();
}

/// Two server processes on one PostgreSQL database, bootstrapped with a new tenant.
struct Replicas {
    tenant: Tenant,
    issuer: String,
    a: ServerProcess,
    b: ServerProcess,
    // Declared last so it is dropped after both servers.
    _workdir: TempDir,
}

impl Replicas {
    /// Starts replicas A and B on the database of `url`. Both use replica A's
    /// address as their issuer, as replicas behind one load balancer share the
    /// balancer's.
    fn start(url: &url::Url, label: &str) -> Self {
        let workdir = TempDir::new(label);
        let tenant = Tenant::unique(label);
        let bootstrap = write_bootstrap(&workdir, &tenant);
        let database = url.to_string();
        let listen_a = format!("127.0.0.1:{}", free_port());
        let issuer = format!("http://{listen_a}");
        let start = |listen: &str| {
            ServerProcess::start(&ServerArgs {
                listen,
                issuer: &issuer,
                database: &database,
                bootstrap: &bootstrap,
                workdir: workdir.path(),
            })
        };
        let a = start(&listen_a);
        let b = start("127.0.0.1:0");
        Self {
            _workdir: workdir,
            tenant,
            issuer,
            a,
            b,
        }
    }
}

#[tokio::test]
async fn replicas_share_one_postgres() {
    let Some(url) = postgres::test_url("replicas_share_one_postgres") else {
        return;
    };
    let Replicas {
        _workdir,
        tenant,
        issuer,
        a: replica_a,
        b: replica_b,
    } = Replicas::start(&url, "replicas");
    assert_eq!(
        replica_a.created_lines().len(),
        2,
        "replica A creates the user and the app: {:?}",
        replica_a.output()
    );
    assert_eq!(
        replica_b.created_lines(),
        Vec::<String>::new(),
        "replica B finds the user and the app already created"
    );
    let a = Http::new(&replica_a.base_url());
    let b = Http::new(&replica_b.base_url());

    let authorized = authorize(&a, &issuer, &tenant).await;
    let first = Tokens::from_reply(&redeem(&b, &tenant, &authorized).await);
    first_dataset_id(&datasets(&a, &first.access_token).await);

    let second = Tokens::from_reply(&refresh(&a, tenant.auth(), &first.refresh_token, None).await);
    assert_ne!(
        second.refresh_token, first.refresh_token,
        "the refresh at replica A rotates the refresh token"
    );
    first_dataset_id(&datasets(&b, &second.access_token).await);

    let replay = refresh(&b, tenant.auth(), &first.refresh_token, None).await;
    assert_token_error(
        &replay,
        400,
        "invalid_grant",
        "the rotated refresh token presented at replica B",
    );
    // Reuse of a rotated refresh token revokes the whole grant (RFC 9700 §4.14.2).
    let newest = refresh(&a, tenant.auth(), &second.refresh_token, None).await;
    assert_token_error(
        &newest,
        400,
        "invalid_grant",
        "the newest refresh token at replica A after the reuse",
    );
    let revoked = datasets(&b, &second.access_token).await;
    assert_eq!(
        revoked.status,
        401,
        "the newest access token at replica B after the reuse: {}",
        revoked.describe()
    );
    let code_replay = redeem(&a, &tenant, &authorized).await;
    assert_token_error(
        &code_replay,
        400,
        "invalid_grant",
        "the code redeemed at replica B, presented again at replica A",
    );
    replica_a.assert_no_panic();
    replica_b.assert_no_panic();
}

/// Of 200 concurrent redemptions of one code, 100 at each of two server
/// processes on one PostgreSQL database, exactly one gets tokens (OAuth 2.1
/// §4.1.3). The others prove possession of the code, so they also revoke what
/// the winner got.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn code_redeemed_once_across_two_processes() {
    let Some(url) = postgres::test_url("code_redeemed_once_across_two_processes") else {
        return;
    };
    let Replicas {
        _workdir,
        tenant,
        issuer,
        a: replica_a,
        b: replica_b,
    } = Replicas::start(&url, "race");
    let a = Http::new(&replica_a.base_url());
    let b = Http::new(&replica_b.base_url());
    let authorized = std::sync::Arc::new(authorize(&a, &issuer, &tenant).await);
    let tenant = std::sync::Arc::new(tenant);

    let attempts: Vec<_> = (0..200)
        .map(|attempt| {
            let http = if attempt % 2 == 0 {
                a.clone()
            } else {
                b.clone()
            };
            let tenant = std::sync::Arc::clone(&tenant);
            let authorized = std::sync::Arc::clone(&authorized);
            tokio::spawn(async move {
                within_bound(
                    "a concurrent redemption",
                    redeem(&http, &tenant, &authorized),
                )
                .await
            })
        })
        .collect();
    let mut winners = Vec::new();
    for attempt in attempts {
        let reply = attempt.await.expect("the redemption task ends");
        match reply.status.as_u16() {
            200 => winners.push(Tokens::from_reply(&reply)),
            _ => assert_token_error(&reply, 400, "invalid_grant", "a losing redemption"),
        }
    }
    assert_eq!(
        winners.len(),
        1,
        "exactly one of 200 redemptions gets tokens"
    );

    let revoked = datasets(&a, &winners[0].access_token).await;
    assert_eq!(
        revoked.status,
        401,
        "replays that prove possession revoke the winner's tokens: {}",
        revoked.describe()
    );
    replica_a.assert_no_panic();
    replica_b.assert_no_panic();
}

/// A server process whose PostgreSQL connections pass through a proxy that
/// the test can cut.
struct ProxiedServer {
    // Dropped in this order: the server, the proxy, then the directory.
    server: ServerProcess,
    proxy: SocketProxy,
    _workdir: TempDir,
}

/// What the test needs to call a server as its bootstrapped user and app.
struct ClientSide {
    http: Http,
    issuer: String,
    tenant: Tenant,
}

/// Starts a server on the database of `url` through a new proxy, with a new tenant.
fn start_proxied(url: &url::Url, label: &str) -> (ProxiedServer, ClientSide) {
    let workdir = TempDir::new(label);
    let tenant = Tenant::unique(label);
    let bootstrap = write_bootstrap(&workdir, &tenant);
    let proxy = SocketProxy::start(
        postgres::proxy_endpoint(url, workdir.path()),
        postgres::server_endpoint(url),
    );
    let database = postgres::url_through(url, proxy.endpoint());
    let listen = format!("127.0.0.1:{}", free_port());
    let issuer = format!("http://{listen}");
    let server = ServerProcess::start(&ServerArgs {
        listen: &listen,
        issuer: &issuer,
        database: &database,
        bootstrap: &bootstrap,
        workdir: workdir.path(),
    });
    let http = Http::new(&server.base_url());
    let fixture = ProxiedServer {
        server,
        proxy,
        _workdir: workdir,
    };
    let client = ClientSide {
        http,
        issuer,
        tenant,
    };
    (fixture, client)
}

#[tokio::test]
async fn database_outage_gives_503_then_recovers() {
    let Some(url) = postgres::test_url("database_outage_gives_503_then_recovers") else {
        return;
    };
    let (mut fixture, client) = start_proxied(&url, "outage");
    let ClientSide {
        http,
        issuer,
        tenant,
    } = &client;
    let tokens = obtain_tokens(http, issuer, tenant).await;
    let dataset_before = first_dataset_id(&datasets(http, &tokens.access_token).await);
    let unredeemed = authorize(http, issuer, tenant).await;
    let authorization = authorization_path(tenant);

    fixture.proxy.cut();
    let (refreshed, redeemed, api, page) = tokio::join!(
        within_bound(
            "a refresh during the outage",
            refresh(http, tenant.auth(), &tokens.refresh_token, None),
        ),
        within_bound(
            "a code redemption during the outage",
            redeem(http, tenant, &unredeemed),
        ),
        within_bound(
            "GET /v1/datasets during the outage",
            datasets(http, &tokens.access_token),
        ),
        within_bound(
            "GET /oauth/authorize during the outage",
            http.get(&authorization, &[]),
        ),
    );
    assert_unavailable(&refreshed, "a refresh during the outage");
    assert_eq!(
        refreshed.header("cache-control"),
        Some("no-store"),
        "a token error is not cached (RFC 6749 §5.1)"
    );
    assert_unavailable(&redeemed, "a code redemption during the outage");
    assert_unavailable(&api, "GET /v1/datasets during the outage");
    assert_eq!(
        page.status,
        503,
        "GET /oauth/authorize during the outage shows a 503 page: {}",
        page.describe()
    );
    assert!(
        fixture.server.is_running(),
        "the server is still running after the failed requests"
    );

    fixture.proxy.restore();
    let dataset_after = first_dataset_id(&datasets(http, &tokens.access_token).await);
    assert_eq!(
        dataset_after, dataset_before,
        "the access token works again once the database is back"
    );
    // Nothing of the failed requests was half written: the refresh token was
    // not rotated and the code was not consumed.
    let rotated =
        Tokens::from_reply(&refresh(http, tenant.auth(), &tokens.refresh_token, None).await);
    assert_ne!(
        rotated.refresh_token, tokens.refresh_token,
        "the refresh token from before the outage rotates once"
    );
    let late = Tokens::from_reply(&redeem(http, tenant, &unredeemed).await);
    first_dataset_id(&datasets(http, &late.access_token).await);
    let replay = redeem(http, tenant, &unredeemed).await;
    assert_token_error(
        &replay,
        400,
        "invalid_grant",
        "the code presented during the outage, redeemed a second time",
    );
    let fresh = obtain_tokens(http, issuer, tenant).await;
    first_dataset_id(&datasets(http, &fresh.access_token).await);
    fixture.server.assert_no_panic();
}

#[tokio::test]
async fn consent_during_outage_gives_503() {
    let Some(url) = postgres::test_url("consent_during_outage_gives_503") else {
        return;
    };
    let (mut fixture, client) = start_proxied(&url, "consent");
    let ClientSide {
        http,
        issuer,
        tenant,
    } = &client;
    let mut browser = Browser::new(http);
    let pending = open_consent(&mut browser, tenant).await;

    fixture.proxy.cut();
    let failed = within_bound(
        "the consent form posted during the outage",
        approve(&mut browser, http, &pending, tenant),
    )
    .await;
    assert_eq!(
        failed.status,
        503,
        "the consent form posted during the outage gets a 503 page: {}",
        failed.describe()
    );
    assert!(
        fixture.server.is_running(),
        "the server is still running after the failed request"
    );

    fixture.proxy.restore();
    // The failed post consumed nothing, so the same form still works.
    let reply = approve(&mut browser, http, &pending, tenant).await;
    let authorized = code_from_redirect(&reply, http, issuer, pending);
    let tokens = Tokens::from_reply(&redeem(http, tenant, &authorized).await);
    first_dataset_id(&datasets(http, &tokens.access_token).await);
    fixture.server.assert_no_panic();
}

/// Writes `message` on `stream` and reads as many bytes back.
fn echo(stream: &mut Stream, message: &[u8]) -> std::io::Result<Vec<u8>> {
    stream.write_all(message)?;
    let mut reply = vec![0; message.len()];
    stream.read_exact(&mut reply)?;
    Ok(reply)
}

/// Checks the proxy that the outage tests rely on, over both transports: it
/// forwards bytes, a cut closes open connections and refuses new ones, and a
/// restore accepts connections again on the same endpoint.
#[test]
fn proxy_cuts_and_restores_connections() {
    let workdir = TempDir::new("proxy");
    let loopback = Endpoint::Tcp(SocketAddr::from(([127, 0, 0, 1], 0)));
    let transports = [
        (
            "Unix",
            Endpoint::Unix(workdir.path().join("echo.sock")),
            Endpoint::Unix(workdir.path().join("proxy.sock")),
        ),
        ("TCP", loopback.clone(), loopback),
    ];
    for (transport, echo_endpoint, proxy_endpoint) in transports {
        let upstream = spawn_echo_server(&echo_endpoint);
        let mut proxy = SocketProxy::start(proxy_endpoint, upstream);
        let mut open = Stream::connect(proxy.endpoint()).expect("connecting to the proxy");
        open.set_read_timeout(Duration::from_secs(5))
            .expect("setting a read timeout");
        assert_eq!(
            echo(&mut open, b"before").expect("echo before the cut"),
            b"before",
            "{transport}: the proxy forwards both ways"
        );

        proxy.cut();
        let mut rest = Vec::new();
        let read = open.read_to_end(&mut rest);
        assert!(
            matches!(read, Ok(0)),
            "{transport}: a cut closes the open connection: {read:?}"
        );
        let refused = Stream::connect(proxy.endpoint());
        assert!(
            refused.is_err(),
            "{transport}: a cut refuses new connections"
        );

        proxy.restore();
        let mut reopened = Stream::connect(proxy.endpoint()).expect("connecting after the restore");
        reopened
            .set_read_timeout(Duration::from_secs(5))
            .expect("setting a read timeout");
        assert_eq!(
            echo(&mut reopened, b"after").expect("echo after the restore"),
            b"after",
            "{transport}: a restore forwards again"
        );
    }
}
