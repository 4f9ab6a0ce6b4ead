//! The FLTR example authorization server on hyper: connections, body limits and
//! graceful shutdown around [`portcullis_fltr::FltrApp`].
//!
//! [`spawn`] starts the server on a bound listener and returns its address, so a
//! test can run it in-process on `127.0.0.1:0` with a manual clock.
//!
//! ```no_run
//! use portcullis_server_core::{MemoryStore, SystemClock};
//!
//! # async fn run() -> Result<(), Box<dyn std::error::Error>> {
//! let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
//! let issuer = format!("http://{}", listener.local_addr()?);
//! let (app, _created) = portcullis_fltr::build_app(MemoryStore::new(), SystemClock, &issuer, None).await?;
//! let server = portcullis_hyper_server::spawn(app, listener);
//! println!("serving on {}", server.addr());
//! server.shutdown().await;
//! # Ok(())
//! # }
//! ```
#![forbid(unsafe_code)]
#![deny(missing_docs)]

use std::convert::Infallible;
use std::future::Future;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use http::{Request, Response};
use http_body_util::{BodyExt, Full};
use hyper::body::Incoming;
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper_util::rt::{TokioIo, TokioTimer};
use hyper_util::server::graceful::GracefulShutdown;
use portcullis_fltr::{BodyCollector, ClientAddr, FltrApp, FltrStore, too_large, unreadable_body};
use portcullis_server_core::Clock;
use tokio::net::TcpListener;
use tokio::sync::oneshot;
use tokio::task::JoinHandle;

/// How long a client may take to send its request headers.
const HEADER_TIMEOUT: Duration = Duration::from_secs(10);
/// How long a client may pause while sending its request body.
const BODY_TIMEOUT: Duration = Duration::from_secs(10);
/// How long shutdown waits for open connections to finish.
const DRAIN_TIMEOUT: Duration = Duration::from_secs(10);

/// A server running on a Tokio task.
pub struct RunningServer {
    addr: SocketAddr,
    stop: oneshot::Sender<()>,
    task: JoinHandle<()>,
}

impl RunningServer {
    /// Returns the address the server listens on.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// Stops accepting connections, lets open ones finish, and waits.
    pub async fn shutdown(self) {
        let _ = self.stop.send(());
        let _ = self.task.await;
    }
}

/// Serves `app` on `listener` in a new Tokio task.
///
/// # Panics
///
/// Panics if the listener has no local address, which a bound TCP listener always has.
pub fn spawn<S: FltrStore, C: Clock + 'static>(
    app: Arc<FltrApp<S, C>>,
    listener: TcpListener,
) -> RunningServer {
    let addr = listener
        .local_addr()
        .expect("a bound listener has an address");
    let (stop, stopped) = oneshot::channel();
    let task = tokio::spawn(serve(app, listener, async {
        let _ = stopped.await;
    }));
    RunningServer { addr, stop, task }
}

/// Serves `app` on `listener` until `shutdown` completes, then drains open connections.
pub async fn serve<S: FltrStore, C: Clock + 'static>(
    app: Arc<FltrApp<S, C>>,
    listener: TcpListener,
    shutdown: impl Future<Output = ()>,
) {
    let graceful = GracefulShutdown::new();
    let mut shutdown = std::pin::pin!(shutdown);
    loop {
        let (stream, peer) = tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok(connection) => connection,
                Err(error) => {
                    tracing::warn!(%error, "accepting a connection failed");
                    tokio::time::sleep(Duration::from_millis(50)).await;
                    continue;
                }
            },
            () = &mut shutdown => break,
        };
        let app = Arc::clone(&app);
        let service = service_fn(move |request: Request<Incoming>| {
            let app = Arc::clone(&app);
            async move { Ok::<_, Infallible>(handle(&app, request, peer).await) }
        });
        let connection = http1::Builder::new()
            .timer(TokioTimer::new())
            .header_read_timeout(HEADER_TIMEOUT)
            .serve_connection(TokioIo::new(stream), service);
        let connection = graceful.watch(connection);
        tokio::spawn(async move {
            if let Err(error) = connection.await {
                tracing::debug!(%error, %peer, "connection ended with an error");
            }
        });
    }
    drop(listener);
    if tokio::time::timeout(DRAIN_TIMEOUT, graceful.shutdown())
        .await
        .is_err()
    {
        tracing::warn!("connections still open after the drain timeout; closing them");
    }
}

async fn handle<S: FltrStore, C: Clock + 'static>(
    app: &Arc<FltrApp<S, C>>,
    request: Request<Incoming>,
    peer: SocketAddr,
) -> Response<Full<Bytes>> {
    let (mut parts, body) = request.into_parts();
    parts.extensions.insert(ClientAddr(peer.ip()));
    let declared = parts
        .headers
        .get(http::header::CONTENT_LENGTH)
        .and_then(|value| value.to_str().ok())
        .and_then(|value| value.parse::<u64>().ok());
    let body = match read_body(body, declared).await {
        Ok(body) => body,
        Err(response) => return response.map(Full::new),
    };
    let response = app.handle(Request::from_parts(parts, body)).await;
    response.map(Full::new)
}

/// Reads the body under the FLTR size limit, draining a bounded oversized body
/// so the client reads the 413 rather than a connection reset.
async fn read_body(mut body: Incoming, declared: Option<u64>) -> Result<Bytes, Response<Bytes>> {
    let mut collector = BodyCollector::new(declared).map_err(|_| too_large())?;
    loop {
        let frame = match tokio::time::timeout(BODY_TIMEOUT, body.frame()).await {
            Ok(Some(Ok(frame))) => frame,
            Ok(None) => break,
            Ok(Some(Err(error))) => {
                tracing::debug!(%error, "reading the request body failed");
                return Err(unreadable_body());
            }
            Err(_) => {
                tracing::debug!("the request body timed out");
                return Err(unreadable_body());
            }
        };
        if let Ok(data) = frame.into_data() {
            if !collector.push(&data) {
                break;
            }
        }
    }
    collector.finish().map_err(|_| too_large())
}
