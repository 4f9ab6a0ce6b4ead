//! State shared by the checks of one run: the HTTP client, the discovered
//! endpoints, the test clients, masking, and helpers that turn observations
//! into outcomes.

use serde_json::json;
use url::Url;

use crate::config::Config;
use crate::discovery::{Endpoints, Metadata};
use crate::http::{HttpClient, HttpError, HttpRequest, HttpResponse, RateLimited};
use crate::mask::Masker;
use crate::report::Outcome;

/// Client authentication method at the token, revocation and introspection endpoints.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum AuthMethod {
    /// `client_secret_post`: `client_id` and `client_secret` in the form body.
    Post,
    /// `client_secret_basic`: HTTP Basic (RFC 6749 §2.3.1).
    Basic,
    /// A public client: `client_id` in the body, no secret.
    None,
}

/// A client the kit acts as.
#[derive(Clone, Debug)]
pub(crate) struct Client {
    pub(crate) id: String,
    pub(crate) secret: Option<String>,
    pub(crate) redirect_uri: String,
    pub(crate) method: AuthMethod,
}

impl Client {
    /// Returns how this client authenticates by default.
    pub(crate) fn auth(&self) -> Auth {
        match (&self.secret, self.method) {
            (Some(secret), AuthMethod::Basic) => Auth::Basic {
                id: self.id.clone(),
                secret: secret.clone(),
            },
            (Some(secret), _) => Auth::Post {
                id: self.id.clone(),
                secret: secret.clone(),
            },
            (None, _) => Auth::Id(self.id.clone()),
        }
    }
}

/// Client authentication to put on one request.
#[derive(Clone, Debug)]
pub(crate) enum Auth {
    Post {
        id: String,
        secret: String,
    },
    Basic {
        id: String,
        secret: String,
    },
    /// Only `client_id` in the body, as a public client sends it.
    Id(String),
    /// No client identification at all.
    Nothing,
}

/// Failure of a step that a check builds on. Converted with `?`, it makes the
/// check a skip. A check whose subject is that very step reports it as a
/// failure with [`Ctx::fail_flow`] instead.
#[derive(Debug)]
pub(crate) struct FlowError {
    pub(crate) reason: String,
    pub(crate) response: Option<Box<HttpResponse>>,
    pub(crate) http_error: Option<Box<HttpError>>,
}

impl FlowError {
    pub(crate) fn new(reason: impl Into<String>) -> Self {
        Self {
            reason: reason.into(),
            response: None,
            http_error: None,
        }
    }

    pub(crate) fn with_response(reason: impl Into<String>, response: &HttpResponse) -> Self {
        Self {
            reason: reason.into(),
            response: Some(Box::new(response.clone())),
            http_error: None,
        }
    }
}

impl From<HttpError> for FlowError {
    fn from(error: HttpError) -> Self {
        Self {
            reason: format!(
                "{} {}: {}",
                error.request.method,
                path_only(&error.request.url),
                error.message
            ),
            response: None,
            http_error: Some(Box::new(error)),
        }
    }
}

impl From<FlowError> for Outcome {
    fn from(error: FlowError) -> Self {
        Self::skip(format!(
            "a step this check needs did not work: {}",
            error.reason
        ))
    }
}

/// A check's verdict. Both sides hold an outcome; `Err` lets helpers end a check
/// early with `?`.
pub(crate) type Verdict = Result<Outcome, Outcome>;

/// Returns a URL without its query and fragment, for reasons that must not hold secrets.
pub(crate) fn path_only(url: &str) -> &str {
    url.split(['?', '#']).next().unwrap_or_default()
}

/// Lazily computed state: `None` until first asked for.
type Lazy<T> = Option<Result<T, String>>;

/// Everything the checks of one run share.
pub(crate) struct Ctx<'a> {
    pub(crate) config: &'a Config,
    pub(crate) http: HttpClient,
    pub(crate) masker: Masker,
    pub(crate) issuer_url: Url,
    pub(crate) metadata: Metadata,
    pub(crate) endpoints: Endpoints,
    /// The configured client.
    pub(crate) main: Client,
    public: Lazy<Client>,
    resource: Lazy<String>,
    /// Protected resources discovered so far.
    pub(crate) sites: crate::protected::SiteCache,
}

impl<'a> Ctx<'a> {
    pub(crate) fn new(
        config: &'a Config,
        http: HttpClient,
        issuer_url: Url,
        metadata: Metadata,
        endpoints: Endpoints,
    ) -> Self {
        let mut masker = Masker::new(&config.password_field);
        masker.add(config.password.expose());
        if let Some(secret) = &config.client_secret {
            masker.add(secret.expose());
        }
        let mut ctx = Self {
            config,
            http,
            masker,
            issuer_url,
            metadata,
            endpoints,
            main: Client {
                id: config.client_id.clone(),
                secret: config.client_secret.as_ref().map(|s| s.expose().to_owned()),
                redirect_uri: config.redirect_uri.clone(),
                method: AuthMethod::None,
            },
            public: None,
            resource: None,
            sites: crate::protected::SiteCache::default(),
        };
        ctx.main.method = if ctx.main.secret.is_none() {
            AuthMethod::None
        } else {
            ctx.preferred_secret_method()
        };
        ctx
    }

    /// Returns the issuer as configured.
    pub(crate) fn issuer(&self) -> &str {
        &self.config.issuer
    }

    /// Picks `client_secret_post` unless the metadata lists only `client_secret_basic`.
    fn preferred_secret_method(&self) -> AuthMethod {
        match self.metadata.list("token_endpoint_auth_methods_supported") {
            Some(methods)
                if !methods.contains(&"client_secret_post")
                    && methods.contains(&"client_secret_basic") =>
            {
                AuthMethod::Basic
            }
            _ => AuthMethod::Post,
        }
    }

    /// Sends a request and reports a transport failure as a [`FlowError`].
    pub(crate) fn send(&self, request: HttpRequest) -> Result<HttpResponse, FlowError> {
        Ok(self.http.send(request)?)
    }

    /// Returns a failure that shows `response` as the observed exchange.
    pub(crate) fn fail(&self, reason: impl Into<String>, response: &HttpResponse) -> Outcome {
        Outcome::Fail {
            reason: self.masker.mask_values(&reason.into()),
            exchange: Some(Box::new(self.masker.exchange(response))),
        }
    }

    /// Returns a failure for a step that was itself the subject of the check.
    pub(crate) fn fail_flow(&self, error: &FlowError) -> Outcome {
        let exchange = match (&error.response, &error.http_error) {
            (Some(response), _) => Some(Box::new(self.masker.exchange(response))),
            (None, Some(http_error)) => Some(Box::new(self.masker.failed_exchange(http_error))),
            (None, None) => None,
        };
        Outcome::Fail {
            reason: self.masker.mask_values(&error.reason),
            exchange,
        }
    }

    /// Turns a comparison into an outcome: pass, or a failure showing `response`.
    pub(crate) fn judge(&self, result: Result<(), String>, response: &HttpResponse) -> Outcome {
        match result {
            Ok(()) => Outcome::Pass,
            Err(reason) => self.fail(reason, response),
        }
    }

    /// Returns the configured client if it has a secret, else a skip.
    pub(crate) fn require_secret(&self) -> Result<Client, Outcome> {
        if self.main.secret.is_some() {
            Ok(self.main.clone())
        } else {
            Err(Outcome::skip(
                "no --client-secret was given, so the client authentication checks cannot run",
            ))
        }
    }

    /// Returns an optional endpoint, or a skip naming it.
    pub(crate) fn require_endpoint(
        &self,
        endpoint: Option<&String>,
        endpoint_name: &str,
    ) -> Result<String, Outcome> {
        endpoint.cloned().ok_or_else(|| {
            Outcome::skip(format!("the server advertises no {endpoint_name} endpoint"))
        })
    }

    /// Returns a public client: the configured one, else one registered
    /// dynamically once per run; a skip when neither is possible.
    pub(crate) fn require_public(&mut self) -> Result<Client, Outcome> {
        if self.public.is_none() {
            let result = self.obtain_public_client();
            if let Err(reason) = &result {
                tracing::warn!(%reason, "no public client for the checks that need one");
            }
            self.public = Some(result);
        }
        match &self.public {
            Some(Ok(client)) => Ok(client.clone()),
            Some(Err(reason)) => Err(Outcome::skip(reason.clone())),
            None => Err(Outcome::skip("no public client")),
        }
    }

    fn obtain_public_client(&mut self) -> Result<Client, String> {
        let redirect_uri = self
            .config
            .public_redirect_uri
            .clone()
            .unwrap_or_else(|| self.config.redirect_uri.clone());
        if let Some(id) = &self.config.public_client_id {
            return Ok(Client {
                id: id.clone(),
                secret: None,
                redirect_uri,
                method: AuthMethod::None,
            });
        }
        let Some(endpoint) = self.endpoints.registration.clone() else {
            return Err(String::from(
                "this check needs a public client: pass --public-client-id, or use a server \
                 that advertises a registration_endpoint",
            ));
        };
        let mut body = json!({
            "redirect_uris": [redirect_uri],
            "token_endpoint_auth_method": "none",
            "grant_types": ["authorization_code", "refresh_token"],
            "response_types": ["code"],
            "client_name": "portcullis-conformance public client",
        });
        if let Some(scope) = self.config.requested_scope() {
            body["scope"] = json!(scope);
        }
        let response = self
            .http
            .send(HttpRequest::post_json(endpoint, &body))
            .map_err(|e| format!("registering a public client failed: {}", e.message))?;
        if let Some(limited) = RateLimited::of(&response) {
            return Err(format!(
                "registering a public client failed: {}",
                limited.skip_reason()
            ));
        }
        match (response.status, response.json_str("client_id")) {
            (200 | 201, Some(id)) => Ok(Client {
                id,
                secret: None,
                redirect_uri,
                method: AuthMethod::None,
            }),
            _ => Err(format!(
                "registering a public client failed: the registration endpoint answered {}",
                response.summary()
            )),
        }
    }

    /// Returns the protected resource URL once it has responded with something
    /// other than 404, else a skip.
    pub(crate) fn require_resource(&mut self) -> Result<String, Outcome> {
        if self.resource.is_none() {
            let url =
                self.config.resource_url.clone().unwrap_or_else(|| {
                    crate::discovery::join_issuer(self.issuer(), "/v1/datasets")
                });
            let result = match self.http.send(self.resource_target(url.clone()).request()) {
                Ok(response) if response.status == 404 => Err(format!(
                    "the protected resource {url} answered 404; pass --resource-url"
                )),
                Ok(_) => Ok(url),
                Err(error) => Err(format!(
                    "the protected resource {url} could not be reached: {}",
                    error.message
                )),
            };
            self.resource = Some(result);
        }
        match &self.resource {
            Some(Ok(url)) => Ok(url.clone()),
            Some(Err(reason)) => Err(Outcome::skip(reason.clone())),
            None => Err(Outcome::skip("no protected resource")),
        }
    }

    /// Calls the protected resource at `url` with the configured method and
    /// body and `Authorization: <scheme> <token>`.
    pub(crate) fn call_resource(
        &self,
        url: &str,
        scheme: &str,
        token: &str,
    ) -> Result<HttpResponse, FlowError> {
        self.send(self.resource_target(url).with_token(scheme, token))
    }

    /// Returns whether the `(host, port)` of `url` is one the authorization
    /// server uses: the issuer's or an endpoint's.
    pub(crate) fn is_server_url(&self, url: &Url) -> bool {
        let origins = [
            Some(self.issuer_url.clone()),
            Url::parse(&self.endpoints.authorization).ok(),
            Url::parse(&self.endpoints.token).ok(),
        ];
        origins.iter().flatten().any(|known| {
            known.host_str() == url.host_str()
                && known.port_or_known_default() == url.port_or_known_default()
        })
    }
}
