//! The FLTR example authorization server on actix-web: it serves exactly what
//! the hyper server serves, through the same [`portcullis_fltr::FltrApp`].
//!
//! actix-web 4 speaks the `http` 0.2 types, so each request and response is
//! converted to and from the `http` 1 types the app takes.
//!
//! ```no_run
//! use portcullis_server_core::{MemoryStore, SystemClock};
//!
//! # async fn run() -> Result<(), Box<dyn std::error::Error>> {
//! let listener = std::net::TcpListener::bind("127.0.0.1:0")?;
//! let issuer = format!("http://{}", listener.local_addr()?);
//! let (app, _created) = portcullis_fltr::build_app(MemoryStore::new(), SystemClock, &issuer, None).await?;
//! let server = portcullis_actix_server::spawn(app, listener)?;
//! println!("serving on {}", server.addr());
//! server.shutdown().await;
//! # Ok(())
//! # }
//! ```
#![forbid(unsafe_code)]
#![deny(missing_docs)]

use std::net::{SocketAddr, TcpListener};
use std::sync::Arc;

use actix_web::dev::ServerHandle;
use actix_web::{HttpRequest, HttpResponse, HttpServer, web};
use bytes::Bytes;
use futures_util::StreamExt;
use portcullis_fltr::{BodyCollector, ClientAddr, FltrApp, FltrStore, too_large, unreadable_body};
use portcullis_server_core::Clock;

/// How long a client may pause while sending its request body.
const BODY_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(10);
/// How long shutdown waits for open connections to finish, in seconds.
const DRAIN_SECONDS: u64 = 10;

/// A server running on actix-web's workers.
pub struct RunningServer {
    addr: SocketAddr,
    handle: ServerHandle,
    task: tokio::task::JoinHandle<std::io::Result<()>>,
}

impl RunningServer {
    /// Returns the address the server listens on.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// Stops accepting connections, lets open ones finish, and waits.
    pub async fn shutdown(self) {
        self.handle.stop(true).await;
        let _ = self.task.await;
    }
}

/// Builds the actix-web server for `app` on `listener`.
///
/// `signals` lets actix-web stop gracefully on SIGINT and SIGTERM, as the binary
/// wants; tests turn it off.
///
/// # Errors
///
/// Returns the I/O error when the listener cannot be used.
pub fn server<S: FltrStore, C: Clock + 'static>(
    app: Arc<FltrApp<S, C>>,
    listener: TcpListener,
    signals: bool,
) -> std::io::Result<actix_web::dev::Server> {
    let server = HttpServer::new(move || {
        let app = Arc::clone(&app);
        actix_web::App::new().default_service(web::to(
            move |request: HttpRequest, body: web::Payload| {
                let app = Arc::clone(&app);
                async move { handle(&app, &request, body).await }
            },
        ))
    })
    .shutdown_timeout(DRAIN_SECONDS)
    .listen(listener)?;
    let server = if signals {
        server
    } else {
        server.disable_signals()
    };
    Ok(server.run())
}

/// Serves `app` on `listener` in a new Tokio task, without signal handling.
///
/// # Errors
///
/// Returns the I/O error when the listener cannot be used.
pub fn spawn<S: FltrStore, C: Clock + 'static>(
    app: Arc<FltrApp<S, C>>,
    listener: TcpListener,
) -> std::io::Result<RunningServer> {
    let addr = listener.local_addr()?;
    let server = server(app, listener, false)?;
    let handle = server.handle();
    let task = tokio::spawn(server);
    Ok(RunningServer { addr, handle, task })
}

async fn handle<S: FltrStore, C: Clock + 'static>(
    app: &Arc<FltrApp<S, C>>,
    request: &HttpRequest,
    payload: web::Payload,
) -> HttpResponse {
    let body = match read_body(request, payload).await {
        Ok(body) => body,
        Err(response) => return from_http1(response),
    };
    let Some(converted) = to_http1(request, body) else {
        return HttpResponse::BadRequest().body("the request could not be read");
    };
    from_http1(app.handle(converted).await)
}

/// Reads the body under the FLTR size limit, draining a bounded oversized body
/// so the client reads the 413 rather than a connection reset.
async fn read_body(
    request: &HttpRequest,
    mut payload: web::Payload,
) -> Result<Bytes, http::Response<Bytes>> {
    let declared = request
        .headers()
        .get(actix_web::http::header::CONTENT_LENGTH)
        .and_then(|value| value.to_str().ok())
        .and_then(|value| value.parse::<u64>().ok());
    let mut collector = BodyCollector::new(declared).map_err(|_| too_large())?;
    loop {
        match tokio::time::timeout(BODY_TIMEOUT, payload.next()).await {
            Ok(Some(Ok(chunk))) => {
                if !collector.push(&chunk) {
                    break;
                }
            }
            Ok(None) => break,
            Ok(Some(Err(error))) => {
                tracing::debug!(%error, "reading the request body failed");
                return Err(unreadable_body());
            }
            Err(_) => {
                tracing::debug!("the request body timed out");
                return Err(unreadable_body());
            }
        }
    }
    collector.finish().map_err(|_| too_large())
}

/// Converts an actix-web request (`http` 0.2) into an `http` 1 request.
fn to_http1(request: &HttpRequest, body: Bytes) -> Option<http::Request<Bytes>> {
    let mut builder = http::Request::builder()
        .method(request.method().as_str())
        .uri(request.uri().to_string());
    for (name, value) in request.headers() {
        builder = builder.header(name.as_str(), value.as_bytes());
    }
    if let Some(peer) = request.peer_addr() {
        builder = builder.extension(ClientAddr(peer.ip()));
    }
    builder.body(body).ok()
}

/// Converts an `http` 1 response into an actix-web response.
fn from_http1(response: http::Response<Bytes>) -> HttpResponse {
    let (parts, body) = response.into_parts();
    let status = actix_web::http::StatusCode::from_u16(parts.status.as_u16())
        .unwrap_or(actix_web::http::StatusCode::INTERNAL_SERVER_ERROR);
    let mut builder = HttpResponse::build(status);
    for (name, value) in &parts.headers {
        builder.append_header((name.as_str(), value.as_bytes()));
    }
    builder.body(body.to_vec())
}
