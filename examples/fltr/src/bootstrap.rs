use std::path::Path;

use portcullis_grants::{Client, ClientOrigin, SecretHash, Timestamp, validate_redirect_uri};
use portcullis_scopes::ScopeCatalog;
use portcullis_server_core::{StoreError, generate_secret};
use serde::Deserialize;
use sha2::{Digest, Sha256};

use crate::app::FltrStore;
use crate::passwords::{HashError, hash_password};

/// Shortest client secret accepted without a warning: an unsalted SHA-256 of a
/// shorter secret can be cracked offline from a leaked database.
pub const MIN_SECRET_CHARS: usize = 32;

/// Users and OAuth apps to create at start, read from TOML.
///
/// ```
/// let bootstrap: portcullis_fltr::Bootstrap = toml::from_str(r#"
///     [[users]]
///     username = "alice"
///     password = "a long passphrase"
///
///     [[apps]]
///     name = "Reporting dashboard"
///     redirect_uris = ["http://localhost:5000/callback"]
///     scopes = ["datasets:read", "mcp:query"]
/// "#).unwrap();
/// assert_eq!(bootstrap.apps[0].client_id, None);
/// ```
#[derive(Clone, Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Bootstrap {
    /// Users to create.
    #[serde(default)]
    pub users: Vec<BootstrapUser>,
    /// OAuth apps to create.
    #[serde(default)]
    pub apps: Vec<BootstrapApp>,
}

/// A user to create.
#[derive(Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct BootstrapUser {
    /// The sign-in name.
    pub username: String,
    /// The password; only its argon2id hash is stored.
    pub password: String,
}

impl std::fmt::Debug for BootstrapUser {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("BootstrapUser")
            .field("username", &self.username)
            .finish_non_exhaustive()
    }
}

/// An OAuth app to create.
#[derive(Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct BootstrapApp {
    /// The name shown on the consent page.
    pub name: String,
    /// The `client_id`; derived from the name when absent.
    pub client_id: Option<String>,
    /// The client secret; generated and printed once when absent.
    pub client_secret: Option<String>,
    /// The registered redirect URIs.
    pub redirect_uris: Vec<String>,
    /// The scopes the app may request.
    pub scopes: Vec<String>,
    /// `true` for a public client: PKCE only, no secret.
    #[serde(default)]
    pub public: bool,
}

impl std::fmt::Debug for BootstrapApp {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("BootstrapApp")
            .field("name", &self.name)
            .field("client_id", &self.client_id)
            .field("public", &self.public)
            .finish_non_exhaustive()
    }
}

/// Cause of a failed bootstrap.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum BootstrapError {
    /// The file could not be read.
    #[error("cannot read bootstrap file {path}: {source}")]
    Read {
        /// The file.
        path: String,
        /// The I/O error.
        source: std::io::Error,
    },
    /// The file is not valid bootstrap TOML.
    #[error("invalid bootstrap file {path}: {source}")]
    Parse {
        /// The file.
        path: String,
        /// The TOML error.
        source: Box<toml::de::Error>,
    },
    /// An app names an unknown scope.
    #[error("app {app:?}: unknown scope {scope:?}")]
    UnknownScope {
        /// The app name.
        app: String,
        /// The scope.
        scope: String,
    },
    /// An app has an invalid redirect URI.
    #[error("app {app:?}: invalid redirect URI {uri:?}: {reason}")]
    RedirectUri {
        /// The app name.
        app: String,
        /// The URI.
        uri: String,
        /// The rule it breaks.
        reason: portcullis_grants::RedirectUriError,
    },
    /// An app has no redirect URI, or a public app has a secret.
    #[error("app {app:?}: {problem}")]
    App {
        /// The app name.
        app: String,
        /// The problem found.
        problem: &'static str,
    },
    /// A password could not be hashed.
    #[error(transparent)]
    Hash(#[from] HashError),
    /// The store failed.
    #[error("storage failed during bootstrap: {0}")]
    Store(#[from] StoreError),
    /// The random source failed.
    #[error("the random source failed")]
    Random,
}

impl Bootstrap {
    /// Reads a bootstrap file.
    ///
    /// # Errors
    ///
    /// [`BootstrapError::Read`] or [`BootstrapError::Parse`].
    pub fn from_file(path: &Path) -> Result<Self, BootstrapError> {
        let display = path.display().to_string();
        let text = std::fs::read_to_string(path).map_err(|source| BootstrapError::Read {
            path: display.clone(),
            source,
        })?;
        toml::from_str(&text).map_err(|source| BootstrapError::Parse {
            path: display,
            source: Box::new(source),
        })
    }

    /// The demo user and demo confidential app created on an empty store.
    ///
    /// # Errors
    ///
    /// [`BootstrapError::Random`] when no password can be generated.
    pub fn demo() -> Result<Self, BootstrapError> {
        let password = generate_secret().map_err(|_| BootstrapError::Random)?;
        Ok(Self {
            users: vec![BootstrapUser {
                username: "demo".into(),
                password: password[..24].to_owned(),
            }],
            apps: vec![BootstrapApp {
                name: "FLTR demo app".into(),
                client_id: Some("demo-app".into()),
                client_secret: None,
                redirect_uris: vec!["http://localhost:5000/callback".into()],
                scopes: crate::profile::SCOPES
                    .iter()
                    .map(|(name, _)| (*name).to_owned())
                    .collect(),
                public: false,
            }],
        })
    }
}

/// A credential created by bootstrap, to print once.
#[derive(Clone, PartialEq, Eq)]
pub enum Created {
    /// A user, with the password when bootstrap generated it.
    User {
        /// The sign-in name.
        username: String,
        /// The generated password, or `None` when it came from the file.
        generated_password: Option<String>,
    },
    /// An app.
    App {
        /// The app name.
        name: String,
        /// The `client_id`.
        client_id: String,
        /// The generated secret, or `None` when it came from the file or the app is public.
        generated_secret: Option<String>,
    },
}

impl std::fmt::Debug for Created {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::User { username, .. } => write!(f, "Created::User({username})"),
            Self::App { client_id, .. } => write!(f, "Created::App({client_id})"),
        }
    }
}

/// Where a [`Bootstrap`] came from, which decides what is printed and logged.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum BootstrapSource {
    /// [`Bootstrap::demo`]: the generated user password is returned for printing.
    Demo,
    /// A bootstrap file: the passwords come from the file and are not returned.
    File,
}

impl BootstrapSource {
    fn as_str(self) -> &'static str {
        match self {
            Self::Demo => "demo",
            Self::File => "bootstrap file",
        }
    }
}

/// Creates the users and apps that do not exist yet; existing ones are left as they are.
///
/// Returns what was created, with generated secrets, for the caller to print once.
///
/// # Errors
///
/// [`BootstrapError`] for an invalid app or a storage failure; apps are
/// validated before anything is written.
pub async fn apply<S: FltrStore>(
    store: &S,
    catalog: &ScopeCatalog,
    bootstrap: &Bootstrap,
    now: Timestamp,
    source: BootstrapSource,
) -> Result<Vec<Created>, BootstrapError> {
    let mut clients = Vec::new();
    for app in &bootstrap.apps {
        clients.push(validate_app(app, catalog, now)?);
    }
    let mut created = Vec::new();
    for user in &bootstrap.users {
        if store.user_by_name(&user.username).await?.is_some() {
            continue;
        }
        let password = user.password.clone();
        let hash = tokio::task::spawn_blocking(move || hash_password(&password))
            .await
            .map_err(|_| BootstrapError::Random)??;
        store.insert_user(&user.username, &hash).await?;
        let generated_password = (source == BootstrapSource::Demo).then(|| user.password.clone());
        created.push(Created::User {
            username: user.username.clone(),
            generated_password,
        });
    }
    for (app, (mut client, secret)) in bootstrap.apps.iter().zip(clients) {
        if store.client(&client.id).await?.is_some() {
            continue;
        }
        let generated_secret = match (&secret, app.public) {
            (_, true) => None,
            (Some(secret), false) => {
                if secret.chars().count() < MIN_SECRET_CHARS {
                    tracing::warn!(client_id = %client.id, "client secret is shorter than {MIN_SECRET_CHARS} characters and can be cracked offline from its hash");
                }
                client.secret_hash = Some(SecretHash::of(secret));
                None
            }
            (None, false) => {
                let secret = generate_secret().map_err(|_| BootstrapError::Random)?;
                client.secret_hash = Some(SecretHash::of(&secret));
                Some(secret)
            }
        };
        let client_id = client.id.clone();
        match store.insert_client(client).await {
            Ok(()) | Err(StoreError::Conflict) => {}
            Err(error) => return Err(error.into()),
        }
        tracing::info!(%client_id, source = source.as_str(), "created OAuth app");
        created.push(Created::App {
            name: app.name.clone(),
            client_id,
            generated_secret,
        });
    }
    Ok(created)
}

fn validate_app(
    app: &BootstrapApp,
    catalog: &ScopeCatalog,
    now: Timestamp,
) -> Result<(Client, Option<String>), BootstrapError> {
    let problem = |problem| BootstrapError::App {
        app: app.name.clone(),
        problem,
    };
    if app.redirect_uris.is_empty() {
        return Err(problem("needs at least one redirect URI"));
    }
    if app.public && app.client_secret.is_some() {
        return Err(problem("a public app has no client secret"));
    }
    for uri in &app.redirect_uris {
        validate_redirect_uri(uri, app.public).map_err(|reason| BootstrapError::RedirectUri {
            app: app.name.clone(),
            uri: uri.clone(),
            reason,
        })?;
    }
    let mut scope = portcullis_scopes::ScopeSet::EMPTY;
    for name in &app.scopes {
        let one = catalog
            .lookup(name)
            .ok_or_else(|| BootstrapError::UnknownScope {
                app: app.name.clone(),
                scope: name.clone(),
            })?;
        scope = scope.union(one);
    }
    if scope.is_empty() {
        return Err(problem("needs at least one scope"));
    }
    let id = app
        .client_id
        .clone()
        .unwrap_or_else(|| derived_client_id(&app.name));
    if id.is_empty()
        || !id
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~'))
    {
        return Err(problem("client_id must be unreserved characters only"));
    }
    let client = Client {
        id,
        name: app.name.clone(),
        secret_hash: None,
        redirect_uris: app.redirect_uris.clone(),
        scope,
        origin: ClientOrigin::Administrator,
        created_at: now,
    };
    Ok((client, app.client_secret.clone()))
}

/// Derives a stable `client_id` from an app name, so a bootstrap file without
/// ids stays idempotent across restarts.
fn derived_client_id(name: &str) -> String {
    let slug: String = name
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() {
                c.to_ascii_lowercase()
            } else {
                '-'
            }
        })
        .collect::<String>()
        .split('-')
        .filter(|part| !part.is_empty())
        .collect::<Vec<_>>()
        .join("-");
    let digest = Sha256::digest(name.as_bytes());
    let suffix: String = digest[..4]
        .iter()
        .map(|byte| format!("{byte:02x}"))
        .collect();
    format!("{}-{suffix}", slug.chars().take(40).collect::<String>())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn derived_ids_are_stable_and_unreserved() {
        let id = derived_client_id("Reporting dashboard!");
        assert_eq!(id, derived_client_id("Reporting dashboard!"));
        assert!(id.starts_with("reporting-dashboard-"));
        assert!(id.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-'));
    }

    #[test]
    fn unknown_fields_and_scopes_are_rejected() {
        assert!(
            toml::from_str::<Bootstrap>("[[users]]\nusername='a'\npassword='b'\nadmin=true")
                .is_err()
        );
        let app = BootstrapApp {
            name: "x".into(),
            client_id: None,
            client_secret: None,
            redirect_uris: vec!["https://app.example/cb".into()],
            scopes: vec!["admin".into()],
            public: false,
        };
        let catalog = crate::profile::catalog();
        assert!(matches!(
            validate_app(&app, &catalog, Timestamp(0)),
            Err(BootstrapError::UnknownScope { .. })
        ));
    }

    #[test]
    fn public_app_with_secret_is_rejected() {
        let app = BootstrapApp {
            name: "x".into(),
            client_id: Some("x".into()),
            client_secret: Some("s".into()),
            redirect_uris: vec!["http://127.0.0.1/cb".into()],
            scopes: vec!["datasets:read".into()],
            public: true,
        };
        assert!(matches!(
            validate_app(&app, &crate::profile::catalog(), Timestamp(0)),
            Err(BootstrapError::App { .. })
        ));
    }
}
