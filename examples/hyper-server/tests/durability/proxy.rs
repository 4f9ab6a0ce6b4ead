//! A byte-forwarding proxy between a server process and its database that a
//! test can cut and restore, to make the database go away and come back.

use std::io::{self, Read, Write};
use std::net::{Shutdown, SocketAddr, TcpListener, TcpStream};
use std::os::unix::net::{UnixListener, UnixStream};
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::thread::JoinHandle;
use std::time::Duration;

/// How long the accepting thread sleeps when no connection is waiting, so it
/// notices a cut within this time.
const ACCEPT_POLL: Duration = Duration::from_millis(10);

/// Where a socket listens: a Unix socket file or a TCP address.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) enum Endpoint {
    Unix(PathBuf),
    Tcp(SocketAddr),
}

/// A connected Unix or TCP socket.
#[derive(Debug)]
pub(crate) enum Stream {
    Unix(UnixStream),
    Tcp(TcpStream),
}

impl Stream {
    /// Connects to `endpoint`.
    pub(crate) fn connect(endpoint: &Endpoint) -> io::Result<Self> {
        match endpoint {
            Endpoint::Unix(path) => UnixStream::connect(path).map(Self::Unix),
            Endpoint::Tcp(addr) => TcpStream::connect(addr).map(Self::Tcp),
        }
    }

    fn try_clone(&self) -> io::Result<Self> {
        match self {
            Self::Unix(stream) => stream.try_clone().map(Self::Unix),
            Self::Tcp(stream) => stream.try_clone().map(Self::Tcp),
        }
    }

    fn set_nonblocking(&self, nonblocking: bool) -> io::Result<()> {
        match self {
            Self::Unix(stream) => stream.set_nonblocking(nonblocking),
            Self::Tcp(stream) => stream.set_nonblocking(nonblocking),
        }
    }

    /// Sets how long a read may block before it fails with `WouldBlock` or `TimedOut`.
    pub(crate) fn set_read_timeout(&self, timeout: Duration) -> io::Result<()> {
        match self {
            Self::Unix(stream) => stream.set_read_timeout(Some(timeout)),
            Self::Tcp(stream) => stream.set_read_timeout(Some(timeout)),
        }
    }

    /// Shuts the socket down in one or both directions. Every clone of the
    /// socket is affected, which wakes threads blocked on it.
    fn shutdown(&self, how: Shutdown) {
        let _ = match self {
            Self::Unix(stream) => stream.shutdown(how),
            Self::Tcp(stream) => stream.shutdown(how),
        };
    }
}

impl Read for Stream {
    fn read(&mut self, buffer: &mut [u8]) -> io::Result<usize> {
        match self {
            Self::Unix(stream) => stream.read(buffer),
            Self::Tcp(stream) => stream.read(buffer),
        }
    }
}

impl Write for Stream {
    fn write(&mut self, buffer: &[u8]) -> io::Result<usize> {
        match self {
            Self::Unix(stream) => stream.write(buffer),
            Self::Tcp(stream) => stream.write(buffer),
        }
    }

    fn flush(&mut self) -> io::Result<()> {
        match self {
            Self::Unix(stream) => stream.flush(),
            Self::Tcp(stream) => stream.flush(),
        }
    }
}

#[derive(Debug)]
enum Listener {
    Unix(UnixListener),
    Tcp(TcpListener),
}

impl Listener {
    /// Binds `endpoint` for non-blocking accepts, first removing a Unix socket
    /// file left by an earlier listener.
    fn bind(endpoint: &Endpoint) -> io::Result<Self> {
        let listener = match endpoint {
            Endpoint::Unix(path) => {
                match std::fs::remove_file(path) {
                    Ok(()) => {}
                    Err(error) if error.kind() == io::ErrorKind::NotFound => {}
                    Err(error) => return Err(error),
                }
                Self::Unix(UnixListener::bind(path)?)
            }
            Endpoint::Tcp(addr) => Self::Tcp(TcpListener::bind(addr)?),
        };
        match &listener {
            Self::Unix(listener) => listener.set_nonblocking(true)?,
            Self::Tcp(listener) => listener.set_nonblocking(true)?,
        }
        Ok(listener)
    }

    fn local_endpoint(&self) -> io::Result<Endpoint> {
        match self {
            Self::Unix(listener) => {
                let addr = listener.local_addr()?;
                let path = addr.as_pathname().ok_or_else(|| {
                    io::Error::new(io::ErrorKind::InvalidInput, "unnamed Unix socket")
                })?;
                Ok(Endpoint::Unix(path.to_owned()))
            }
            Self::Tcp(listener) => listener.local_addr().map(Endpoint::Tcp),
        }
    }

    fn accept(&self) -> io::Result<Stream> {
        match self {
            Self::Unix(listener) => listener.accept().map(|(stream, _)| Stream::Unix(stream)),
            Self::Tcp(listener) => listener.accept().map(|(stream, _)| Stream::Tcp(stream)),
        }
    }
}

/// The listener and connections of the proxy between a start or restore and the next cut.
#[derive(Debug)]
struct Serving {
    stop: Arc<AtomicBool>,
    acceptor: JoinHandle<()>,
    connections: Arc<Mutex<Vec<Stream>>>,
}

/// A proxy that accepts connections on one endpoint and forwards each to
/// another, one thread per direction.
#[derive(Debug)]
pub(crate) struct SocketProxy {
    listen: Endpoint,
    upstream: Endpoint,
    serving: Option<Serving>,
}

impl SocketProxy {
    /// Listens on `listen` and forwards every connection to `upstream`.
    ///
    /// A TCP `listen` address with port 0 gets a free port, which a restore binds again.
    ///
    /// # Panics
    ///
    /// Panics when `listen` cannot be bound.
    pub(crate) fn start(listen: Endpoint, upstream: Endpoint) -> Self {
        let mut proxy = Self {
            listen,
            upstream,
            serving: None,
        };
        proxy.restore();
        proxy
    }

    /// Returns where the proxy listens.
    pub(crate) fn endpoint(&self) -> &Endpoint {
        &self.listen
    }

    /// Stops listening and shuts down every forwarded connection in both
    /// directions, as when the database server goes away. New connections are
    /// refused: a Unix socket file stays in place with no listener, and a TCP
    /// port is closed.
    pub(crate) fn cut(&mut self) {
        let Some(serving) = self.serving.take() else {
            return;
        };
        serving.stop.store(true, Ordering::SeqCst);
        // The acceptor drops the listener when it returns, and no connection
        // is added to the list after that.
        let _ = serving.acceptor.join();
        let connections = serving
            .connections
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        for stream in connections.iter() {
            stream.shutdown(Shutdown::Both);
        }
    }

    /// Listens again on the same endpoint after a cut; does nothing while serving.
    ///
    /// # Panics
    ///
    /// Panics when the endpoint cannot be bound.
    pub(crate) fn restore(&mut self) {
        if self.serving.is_some() {
            return;
        }
        let listener = Listener::bind(&self.listen).unwrap_or_else(|error| {
            panic!("binding the proxy on {:?} failed: {error}", self.listen)
        });
        self.listen = listener
            .local_endpoint()
            .expect("a bound proxy listener has an address");
        let stop = Arc::new(AtomicBool::new(false));
        let connections = Arc::new(Mutex::new(Vec::new()));
        let acceptor = {
            let stop = Arc::clone(&stop);
            let connections = Arc::clone(&connections);
            let upstream = self.upstream.clone();
            std::thread::spawn(move || {
                accept_until_stopped(&listener, &upstream, &stop, &connections)
            })
        };
        self.serving = Some(Serving {
            stop,
            acceptor,
            connections,
        });
    }
}

impl Drop for SocketProxy {
    fn drop(&mut self) {
        self.cut();
    }
}

fn accept_until_stopped(
    listener: &Listener,
    upstream: &Endpoint,
    stop: &AtomicBool,
    connections: &Mutex<Vec<Stream>>,
) {
    while !stop.load(Ordering::SeqCst) {
        match listener.accept() {
            Ok(client) => {
                // Dropping the client closes it, as a database that cannot be
                // reached would, when the upstream connection fails.
                if let Ok(server) = Stream::connect(upstream) {
                    let _ = forward(client, server, connections);
                }
            }
            Err(error) if error.kind() == io::ErrorKind::WouldBlock => {
                std::thread::sleep(ACCEPT_POLL);
            }
            Err(_) => std::thread::sleep(ACCEPT_POLL),
        }
    }
}

/// Copies bytes both ways between `client` and `server` on two new threads,
/// after recording both sockets in `connections` so a cut can shut them down.
fn forward(client: Stream, server: Stream, connections: &Mutex<Vec<Stream>>) -> io::Result<()> {
    // A socket accepted from a non-blocking listener may inherit the flag.
    client.set_nonblocking(false)?;
    let client_reader = client.try_clone()?;
    let server_reader = server.try_clone()?;
    {
        let mut connections = connections.lock().unwrap_or_else(PoisonError::into_inner);
        connections.push(client.try_clone()?);
        connections.push(server.try_clone()?);
    }
    std::thread::spawn(move || copy_then_close(client_reader, server));
    std::thread::spawn(move || copy_then_close(server_reader, client));
    Ok(())
}

/// Copies until `from` ends or fails, then shuts down writing to `to`, so the
/// peer reads end of file.
fn copy_then_close(mut from: Stream, mut to: Stream) {
    let _ = io::copy(&mut from, &mut to);
    to.shutdown(Shutdown::Write);
}

/// Serves an echo server on `endpoint`, which writes back every byte it
/// reads, on threads that run until the test process ends. Returns the bound
/// endpoint, with the port chosen for a TCP port 0.
///
/// # Panics
///
/// Panics when `endpoint` cannot be bound.
pub(crate) fn spawn_echo_server(endpoint: &Endpoint) -> Endpoint {
    let listener = Listener::bind(endpoint)
        .unwrap_or_else(|error| panic!("binding the echo server on {endpoint:?} failed: {error}"));
    let bound = listener
        .local_endpoint()
        .expect("a bound echo listener has an address");
    std::thread::spawn(move || {
        loop {
            match listener.accept() {
                Ok(stream) => {
                    std::thread::spawn(move || {
                        let _ = stream.set_nonblocking(false);
                        if let Ok(reader) = stream.try_clone() {
                            copy_then_close(reader, stream);
                        }
                    });
                }
                Err(_) => std::thread::sleep(ACCEPT_POLL),
            }
        }
    });
    bound
}
