//! The users and OAuth apps every server under test is bootstrapped with.

use portcullis_fltr::{Bootstrap, BootstrapApp, BootstrapUser};

/// Seconds since the Unix epoch that the server's manual clock starts at.
pub const START_TIME: u64 = 1_800_000_000;

/// An OAuth app of the fixture, with its secret in clear.
#[derive(Clone, Copy, Debug)]
pub struct App {
    /// The name shown on the consent page.
    pub name: &'static str,
    /// The `client_id`.
    pub client_id: &'static str,
    /// The client secret, or `None` for a public client.
    pub secret: Option<&'static str>,
    /// The one registered redirect URI.
    pub redirect_uri: &'static str,
    /// The scopes the app may request.
    pub scopes: &'static [&'static str],
}

/// A user of the fixture, with the password in clear.
#[derive(Clone, Copy, Debug)]
pub struct User {
    /// The sign-in name.
    pub username: &'static str,
    /// The password.
    pub password: &'static str,
}

/// The seven FLTR scopes.
pub const ALL_SCOPES: &[&str] = &[
    "datasets:read",
    "datasets:write",
    "datasets:delete",
    "mcp:query",
    "mcp:batch_query",
    "webhooks:manage",
    "account:read",
];

/// The scope the FLTR guide requests.
pub const GUIDE_SCOPE: &str = "datasets:read datasets:write mcp:query";

/// The confidential app of the FLTR guide: the Flask example's redirect URI
/// and every FLTR scope.
pub const WEB_APP: App = App {
    name: "FLTR web app",
    client_id: "fltr-web",
    secret: Some("s3cret-with-more-than-32-characters!!"),
    redirect_uri: "http://localhost:5000/callback",
    scopes: ALL_SCOPES,
};

/// A second confidential app, for codes and tokens presented by the wrong client.
pub const REPORTING_APP: App = App {
    name: "Reporting dashboard",
    client_id: "reporting",
    secret: Some("another-s3cret-of-more-than-32-characters"),
    redirect_uri: "http://localhost:6000/callback",
    scopes: &["datasets:read", "mcp:query"],
};

/// A public app, as native and MCP clients register: PKCE only, a loopback
/// redirect URI whose port the client picks at run time (RFC 8252 §7.3).
pub const DESKTOP_APP: App = App {
    name: "Desktop MCP client",
    client_id: "desktop-mcp",
    secret: None,
    redirect_uri: "http://127.0.0.1/cb",
    scopes: &["datasets:read", "mcp:query"],
};

/// The user who signs in on the consent page.
pub const ALICE: User = User {
    username: "alice",
    password: "correct horse battery staple",
};

/// A second user, for checks that one user's sign-ins do not affect another's.
pub const BOB: User = User {
    username: "bob",
    password: "a different passphrase for bob",
};

/// Returns the bootstrap every server under test must be started with: the
/// users [`ALICE`] and [`BOB`] and the apps [`WEB_APP`], [`REPORTING_APP`] and
/// [`DESKTOP_APP`].
pub fn bootstrap() -> Bootstrap {
    let app = |app: &App| BootstrapApp {
        name: app.name.to_owned(),
        client_id: Some(app.client_id.to_owned()),
        client_secret: app.secret.map(str::to_owned),
        redirect_uris: vec![app.redirect_uri.to_owned()],
        scopes: app.scopes.iter().map(|scope| (*scope).to_owned()).collect(),
        public: app.secret.is_none(),
    };
    let user = |user: &User| BootstrapUser {
        username: user.username.to_owned(),
        password: user.password.to_owned(),
    };
    Bootstrap {
        users: vec![user(&ALICE), user(&BOB)],
        apps: vec![app(&WEB_APP), app(&REPORTING_APP), app(&DESKTOP_APP)],
    }
}
