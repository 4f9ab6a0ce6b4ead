//! The test PostgreSQL server: its URL, where it listens, and the same URL
//! pointed at a proxy.

use std::net::{SocketAddr, ToSocketAddrs as _};
use std::path::{Path, PathBuf};

use url::Url;

use crate::proxy::Endpoint;

/// The environment variable with the test database URL, which
/// `crates/store-sql/scripts/start-postgres.sh` prints.
const URL_VARIABLE: &str = "PORTCULLIS_TEST_POSTGRES_URL";

/// PostgreSQL's default port, used when the URL names none.
const DEFAULT_PORT: u16 = 5432;

/// Returns the test database URL, or `None` after printing a notice when it
/// is unset outside CI.
///
/// # Panics
///
/// Panics when the URL is unset and the `CI` environment variable is set.
pub(crate) fn test_url(test: &str) -> Option<Url> {
    let value = std::env::var(URL_VARIABLE).unwrap_or_default();
    if value.is_empty() {
        assert!(
            std::env::var_os("CI").is_none(),
            "{test} needs {URL_VARIABLE}, which is unset while CI is set; \
             export it from crates/store-sql/scripts/start-postgres.sh"
        );
        eprintln!(
            "skipping {test}: {URL_VARIABLE} is unset; \
             export it from crates/store-sql/scripts/start-postgres.sh to run it"
        );
        return None;
    }
    // The message leaves out the value, which may contain a password.
    let url =
        Url::parse(&value).unwrap_or_else(|error| panic!("{URL_VARIABLE} is invalid: {error}"));
    Some(url)
}

/// Returns the value of query parameter `name`, the last one when repeated.
fn query_value(url: &Url, name: &str) -> Option<String> {
    url.query_pairs()
        .filter(|(key, _)| key == name)
        .map(|(_, value)| value.into_owned())
        .last()
}

fn port_of(url: &Url) -> u16 {
    query_value(url, "port")
        .and_then(|port| port.parse().ok())
        .or_else(|| url.port())
        .unwrap_or(DEFAULT_PORT)
}

/// Returns where the database server of `url` listens.
///
/// A `host` query parameter overrides the host of the authority, and one
/// starting with `/` is the directory of a Unix socket named `.s.PGSQL.PORT`,
/// as libpq and sqlx read it.
///
/// # Panics
///
/// Panics when the URL names no host or the host does not resolve.
pub(crate) fn server_endpoint(url: &Url) -> Endpoint {
    let port = port_of(url);
    let host = query_value(url, "host")
        .or_else(|| url.host_str().map(str::to_owned))
        .unwrap_or_else(|| panic!("the database URL names no host"));
    if host.starts_with('/') {
        return Endpoint::Unix(Path::new(&host).join(format!(".s.PGSQL.{port}")));
    }
    let host = host.trim_start_matches('[').trim_end_matches(']');
    let addr: SocketAddr = (host, port)
        .to_socket_addrs()
        .unwrap_or_else(|error| panic!("resolving the database host {host:?} failed: {error}"))
        .next()
        .unwrap_or_else(|| panic!("the database host {host:?} has no address"));
    Endpoint::Tcp(addr)
}

/// Returns where a proxy for the database of `url` should listen: a socket
/// file in `directory` for a Unix-socket URL, else a free port on 127.0.0.1.
pub(crate) fn proxy_endpoint(url: &Url, directory: &Path) -> Endpoint {
    match server_endpoint(url) {
        Endpoint::Unix(_) => {
            let name = format!(".s.PGSQL.{}", port_of(url));
            Endpoint::Unix(directory.join(name))
        }
        Endpoint::Tcp(_) => Endpoint::Tcp(SocketAddr::from(([127, 0, 0, 1], 0))),
    }
}

/// Returns `url` changed to connect to `proxy` in place of the database server.
///
/// # Panics
///
/// Panics when a Unix socket path has no parent directory.
pub(crate) fn url_through(url: &Url, proxy: &Endpoint) -> String {
    let mut proxied = url.clone();
    let other_pairs: Vec<(String, String)> = url
        .query_pairs()
        .filter(|(key, _)| !matches!(key.as_ref(), "host" | "hostaddr" | "port"))
        .map(|(key, value)| (key.into_owned(), value.into_owned()))
        .collect();
    let mut pairs = proxied.query_pairs_mut();
    pairs.clear();
    for (key, value) in &other_pairs {
        pairs.append_pair(key, value);
    }
    match proxy {
        Endpoint::Unix(path) => {
            let directory: PathBuf = path
                .parent()
                .unwrap_or_else(|| panic!("socket {} has no directory", path.display()))
                .to_owned();
            pairs.append_pair("host", &directory.to_string_lossy());
            pairs.append_pair("port", &port_of(url).to_string());
            drop(pairs);
        }
        Endpoint::Tcp(addr) => {
            drop(pairs);
            proxied
                .set_host(Some(&addr.ip().to_string()))
                .expect("a postgres URL takes an IP address as host");
            proxied
                .set_port(Some(addr.port()))
                .expect("a postgres URL takes a port");
        }
    }
    proxied.to_string()
}
