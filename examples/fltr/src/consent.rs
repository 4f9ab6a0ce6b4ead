//! The authorization endpoint's login and consent page: `GET` shows it and
//! `POST` receives the user's decision.

use std::net::IpAddr;

use bytes::Bytes;
use http::header::{CACHE_CONTROL, CONTENT_TYPE, LOCATION, RETRY_AFTER, SET_COOKIE};
use http::{HeaderValue, Method, Request, Response, StatusCode};
use portcullis_errors::{ErrorCode, OAuthError};
use portcullis_grants::{Client, ClientOrigin, Params, SecretHash, UserId};
use portcullis_server_core::{
    AuthorizationFailure, ClientAddr, Clock, PendingAuthorization, Session, StoreError,
    generate_secret,
};

use crate::app::{FltrApp, FltrStore};
use crate::pages::{self, ConsentPage};
use crate::passwords::{decoy_hash, verify_password};
use crate::session::{Cookie, PENDING_LIFETIME, SESSION_LIFETIME, csrf_matches, csrf_token};
use crate::sign_in::throttled_notice;

/// A consent form whose pending request and CSRF token were checked.
struct CheckedForm<'a> {
    client: Client,
    pending: PendingAuthorization,
    request_hash: SecretHash,
    request_id: &'a str,
    csrf: &'a str,
}

impl<S: FltrStore, C: Clock> FltrApp<S, C> {
    /// Shows the login and consent page for a valid authorization request.
    ///
    /// The pending request is bound to the browser cookie, which the page
    /// sets when the browser has none. A `HEAD` request gets the same headers
    /// and stores no pending request, because its page is never shown.
    pub(crate) async fn authorize_get(&self, request: &Request<Bytes>) -> Response<Bytes> {
        let query = request.uri().query().unwrap_or("").as_bytes();
        let user = match self.signed_in_user(request).await {
            Ok(user) => user,
            Err(error) => return self.store_error_page(&error),
        };
        let prompt = match self.server.authorize(query, user).await {
            Ok(prompt) => prompt,
            Err(failure) => return self.failure_response(failure, StatusCode::FOUND),
        };

        let browser_id = match self.cookies.read_browser_id(request.headers()) {
            Some(id) => id.to_owned(),
            None => match generate_secret() {
                Ok(id) => id,
                Err(error) => return self.page_error(&error),
            },
        };
        let request_id = match generate_secret() {
            Ok(id) => id,
            Err(error) => return self.page_error(&error),
        };

        let pending = PendingAuthorization {
            request: prompt.request,
            session: SecretHash::of(&browser_id),
            expires_at: self.server.now().plus(PENDING_LIFETIME),
        };
        let redirect_uri = pending.request.redirect.uri.clone();
        let scope = pending.request.scope;
        if request.method() != Method::HEAD {
            let stored = self
                .server
                .store()
                .insert_pending(SecretHash::of(&request_id), pending)
                .await;
            if let Err(error) = stored {
                return self.store_error_page(&error);
            }
        }

        let username = match user {
            Some(id) => self.username(id).await,
            None => None,
        };
        let csrf = csrf_token(&browser_id, &request_id);
        let page = ConsentPage {
            client: &prompt.client,
            redirect_uri: &redirect_uri,
            catalog: &self.server.config().catalog,
            scope,
            username: username.as_deref(),
            request_id: &request_id,
            csrf: &csrf,
            notice: None,
        };
        let mut response = pages::consent(&page, StatusCode::OK);
        // Sent on every page, so an open browser's id does not expire.
        self.set_cookie(&mut response, Cookie::Browser, &browser_id);
        response
    }

    /// Handles the submitted consent form: signs in when needed, then approves or denies.
    pub(crate) async fn authorize_post(&self, request: &Request<Bytes>) -> Response<Bytes> {
        let form = match parse_form(request) {
            Ok(form) => form,
            Err(error) => return error.page(),
        };
        let field = |name| form.get(name).ok().flatten();
        let checked = match self
            .check_form(request, field("request_id"), field("csrf"))
            .await
        {
            Ok(checked) => checked,
            Err(response) => return response,
        };
        let approve = match field("decision") {
            Some("approve") => true,
            Some("deny") => false,
            _ => {
                return pages::error(
                    StatusCode::BAD_REQUEST,
                    "invalid_request",
                    "decision must be approve or deny",
                );
            }
        };
        let signed_in = match self.signed_in_user(request).await {
            Ok(user) => user,
            Err(error) => return self.store_error_page(&error),
        };

        if !approve {
            // Denying before sign-in: a dynamically registered client is not
            // trusted with a redirect yet (RFC 9700 §4.11.2).
            if signed_in.is_none() && checked.client.origin == ClientOrigin::Dynamic {
                let now = self.server.now();
                let _ = self
                    .server
                    .store()
                    .take_pending(checked.request_hash, now)
                    .await;
                return pages::denied();
            }
            return self.finish(checked.request_hash, None, false).await;
        }

        let username = field("username").unwrap_or("");
        let password = field("password").unwrap_or("");
        let has_credentials = !username.is_empty() || !password.is_empty();
        // Credentials on the form win over the session: a form opened before a
        // sign-in in another tab still carries its sign-in inputs.
        let (user, new_session) = if has_credentials {
            match self.sign_in(request, &checked, username, password).await {
                Ok((user, session_id)) => (user, Some(session_id)),
                Err(response) => return response,
            }
        } else if let Some(user) = signed_in {
            (user, None)
        } else {
            return self.consent_again(
                &checked,
                "Enter your username and password to approve.",
                StatusCode::UNAUTHORIZED,
            );
        };
        let mut response = self.finish(checked.request_hash, Some(user), true).await;
        if let Some(id) = new_session {
            self.set_cookie(&mut response, Cookie::Session, &id);
        }
        response
    }

    /// Finds the form's pending request and checks that it belongs to this
    /// browser and that the CSRF token matches.
    async fn check_form<'a>(
        &self,
        request: &Request<Bytes>,
        request_id: Option<&'a str>,
        csrf: Option<&'a str>,
    ) -> Result<CheckedForm<'a>, Response<Bytes>> {
        let (Some(request_id), Some(csrf)) = (request_id, csrf) else {
            return Err(pages::error(
                StatusCode::BAD_REQUEST,
                "invalid_request",
                "the form is missing request_id or csrf",
            ));
        };
        let Some(browser_id) = self.cookies.read_browser_id(request.headers()) else {
            return Err(pages::error(
                StatusCode::BAD_REQUEST,
                "invalid_request",
                "the form arrived without the cookie that the consent page set. Allow cookies \
                 for this site and start again from the application",
            ));
        };
        let now = self.server.now();
        let request_hash = SecretHash::of(request_id);
        let pending = match self.server.store().pending(request_hash, now).await {
            Ok(Some(pending)) => pending,
            Ok(None) => return Err(request_expired()),
            Err(error) => return Err(self.store_error_page(&error)),
        };
        if pending.session != SecretHash::of(browser_id)
            || !csrf_matches(browser_id, request_id, csrf)
        {
            tracing::warn!(client_id = %pending.request.client_id, "consent form failed the CSRF check");
            return Err(pages::error(
                StatusCode::FORBIDDEN,
                "invalid_request",
                "the form failed the CSRF check; start again from the application",
            ));
        }
        let client = match self.server.store().client(&pending.request.client_id).await {
            Ok(Some(client)) => client,
            Ok(None) => {
                return Err(pages::error(
                    StatusCode::BAD_REQUEST,
                    "invalid_client",
                    "the client no longer exists",
                ));
            }
            Err(error) => return Err(self.store_error_page(&error)),
        };
        Ok(CheckedForm {
            client,
            pending,
            request_hash,
            request_id,
            csrf,
        })
    }

    /// Signs in with the form's credentials, within the failed sign-in limits,
    /// and starts a new session. Returns the user and the new session id.
    ///
    /// A new session id on every sign-in prevents session fixation, and the
    /// browser's previous session, if any, is deleted.
    async fn sign_in(
        &self,
        request: &Request<Bytes>,
        form: &CheckedForm<'_>,
        username: &str,
        password: &str,
    ) -> Result<(UserId, String), Response<Bytes>> {
        let addr = client_addr(request);
        let client_id = &form.client.id;
        let attempt = match self.sign_ins.begin(username, addr, self.server.now()) {
            Ok(attempt) => attempt,
            Err(retry_after) => {
                tracing::debug!(%addr, %client_id, "sign-in rejected: too many failed sign-ins");
                let notice = throttled_notice(retry_after);
                let mut response = self.consent_again(form, &notice, StatusCode::TOO_MANY_REQUESTS);
                response
                    .headers_mut()
                    .insert(RETRY_AFTER, HeaderValue::from(retry_after));
                return Err(response);
            }
        };
        let user = match self.verify_credentials(username, password).await {
            Ok(Some(user)) => user,
            Ok(None) => {
                tracing::warn!(%addr, %client_id, "sign-in failed: wrong username or password");
                tracing::debug!(?username, %addr, "username of the failed sign-in");
                if let Some(limit) = attempt.limit_reached_on_failure() {
                    tracing::warn!(%addr, limit, "failed sign-ins reached the limit, so sign-ins get 429 until the window ends");
                }
                return Err(self.consent_again(
                    form,
                    "The username or password is wrong.",
                    StatusCode::UNAUTHORIZED,
                ));
            }
            Err(error) => {
                self.sign_ins.take_back(&attempt);
                return Err(self.store_error_page(&error));
            }
        };
        self.sign_ins.take_back(&attempt);
        if let Some(old) = self.cookies.read(Cookie::Session, request.headers()) {
            if let Err(error) = self
                .server
                .store()
                .delete_session(SecretHash::of(old))
                .await
            {
                tracing::warn!(%error, "deleting the previous session at sign-in failed");
            }
        }
        let session_id = self.new_session(user).await?;
        Ok((user, session_id))
    }

    /// Renders the consent page again for a form that stays valid, with a notice.
    fn consent_again(
        &self,
        form: &CheckedForm<'_>,
        notice: &str,
        status: StatusCode,
    ) -> Response<Bytes> {
        let page = ConsentPage {
            client: &form.client,
            redirect_uri: &form.pending.request.redirect.uri,
            catalog: &self.server.config().catalog,
            scope: form.pending.request.scope,
            username: None,
            request_id: form.request_id,
            csrf: form.csrf,
            notice: Some(notice),
        };
        pages::consent(&page, status)
    }

    /// Takes the pending request and redirects with a code or `access_denied`.
    async fn finish(
        &self,
        request_hash: SecretHash,
        user: Option<UserId>,
        approve: bool,
    ) -> Response<Bytes> {
        let now = self.server.now();
        let pending = match self.server.store().take_pending(request_hash, now).await {
            Ok(Some(pending)) => pending,
            Ok(None) => return request_expired(),
            Err(error) => return self.store_error_page(&error),
        };
        let request = pending.request;
        let outcome = match (approve, user) {
            (true, Some(user)) => {
                let scope = request.scope;
                self.server.approve(request, user, scope).await
            }
            _ => Err(self.server.deny(&request)),
        };
        match outcome {
            Ok(location) => redirect(StatusCode::SEE_OTHER, &location),
            Err(failure) => self.failure_response(failure, StatusCode::SEE_OTHER),
        }
    }

    /// Checks a username and password. An unknown username takes as long as a
    /// wrong password.
    async fn verify_credentials(
        &self,
        username: &str,
        password: &str,
    ) -> Result<Option<UserId>, StoreError> {
        let user = self.server.store().user_by_name(username).await?;
        let hash = user.as_ref().map_or_else(
            || decoy_hash().to_owned(),
            |user| user.password_hash.clone(),
        );
        let password = password.to_owned();
        // Argon2 takes tens of milliseconds of CPU: keep it off the async workers.
        let verified = tokio::task::spawn_blocking(move || verify_password(&password, &hash))
            .await
            .unwrap_or(false);
        Ok(user.filter(|_| verified).map(|user| user.id))
    }

    /// Returns the user of the request's session cookie, or `None` when there
    /// is no cookie or its session is unknown, expired or not signed in.
    async fn signed_in_user(&self, request: &Request<Bytes>) -> Result<Option<UserId>, StoreError> {
        let Some(id) = self.cookies.read(Cookie::Session, request.headers()) else {
            return Ok(None);
        };
        let session = self
            .server
            .store()
            .session(SecretHash::of(id), self.server.now())
            .await?;
        Ok(session.and_then(|session| session.user))
    }

    async fn new_session(&self, user: UserId) -> Result<String, Response<Bytes>> {
        let id = generate_secret().map_err(|error| self.page_error(&error))?;
        let now = self.server.now();
        let session = Session {
            user: Some(user),
            created_at: now,
            expires_at: now.plus(SESSION_LIFETIME),
        };
        match self
            .server
            .store()
            .insert_session(SecretHash::of(&id), session)
            .await
        {
            Ok(()) => Ok(id),
            Err(error) => Err(self.store_error_page(&error)),
        }
    }

    async fn username(&self, id: UserId) -> Option<String> {
        self.server
            .store()
            .user(id)
            .await
            .ok()
            .flatten()
            .map(|user| user.username)
    }

    fn set_cookie(&self, response: &mut Response<Bytes>, cookie: Cookie, value: &str) {
        if let Ok(value) = HeaderValue::from_str(&self.cookies.set(cookie, value)) {
            response.headers_mut().append(SET_COOKIE, value);
        }
    }

    fn failure_response(
        &self,
        failure: AuthorizationFailure,
        redirect_status: StatusCode,
    ) -> Response<Bytes> {
        match failure {
            AuthorizationFailure::ErrorPage(error) => self.page_error(&error),
            AuthorizationFailure::Redirect { location, .. } => redirect(redirect_status, &location),
        }
    }

    fn page_error(&self, error: &OAuthError) -> Response<Bytes> {
        let status = match error.code() {
            ErrorCode::ServerError => StatusCode::INTERNAL_SERVER_ERROR,
            ErrorCode::TemporarilyUnavailable => StatusCode::SERVICE_UNAVAILABLE,
            _ => StatusCode::BAD_REQUEST,
        };
        pages::error(status, error.code().as_str(), error.description())
    }

    fn store_error_page(&self, error: &StoreError) -> Response<Bytes> {
        tracing::warn!(%error, "storage failed while serving the consent page");
        self.page_error(&portcullis_server_core::store_failure(error))
    }
}

/// Returns the request's source address, or `0.0.0.0` when the binding set none.
pub(crate) fn client_addr(request: &Request<Bytes>) -> IpAddr {
    request
        .extensions()
        .get::<ClientAddr>()
        .map_or(IpAddr::from([0, 0, 0, 0]), |addr| addr.0)
}

/// The problem with a POST to the authorization endpoint that carries no
/// usable consent form.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum FormError {
    /// An authorization request, which this endpoint takes only with GET.
    AuthorizationRequest,
    /// The body is not `application/x-www-form-urlencoded`.
    NotForm,
    /// The form is over the parameter parser's size limits.
    TooLarge,
}

impl FormError {
    fn page(self) -> Response<Bytes> {
        let description = match self {
            Self::AuthorizationRequest => {
                "authorization requests are sent with GET, and POST to this endpoint only \
                 submits the consent form"
            }
            Self::NotForm => "the form must be application/x-www-form-urlencoded",
            Self::TooLarge => "the form is too large",
        };
        pages::error(StatusCode::BAD_REQUEST, "invalid_request", description)
    }
}

/// Parses the consent form, telling apart an authorization request sent
/// with POST.
fn parse_form(request: &Request<Bytes>) -> Result<Params<'_>, FormError> {
    let query = Params::parse(request.uri().query().unwrap_or("").as_bytes()).ok();
    let in_query = |name| {
        query
            .as_ref()
            .is_some_and(|query| query.get(name).ok().flatten().is_some())
    };
    if !portcullis_server_core::is_form(request.headers().get(CONTENT_TYPE)) {
        if in_query("response_type") {
            return Err(FormError::AuthorizationRequest);
        }
        return Err(FormError::NotForm);
    }
    let form = Params::parse(request.body()).map_err(|_| FormError::TooLarge)?;
    let in_form = |name| form.get(name).ok().flatten().is_some();
    let is_consent_form = in_form("request_id") && in_form("csrf");
    if !is_consent_form && (in_form("response_type") || in_query("response_type")) {
        return Err(FormError::AuthorizationRequest);
    }
    Ok(form)
}

fn request_expired() -> Response<Bytes> {
    pages::error(
        StatusCode::BAD_REQUEST,
        "invalid_request",
        "the authorization request expired or was already answered",
    )
}

fn redirect(status: StatusCode, location: &str) -> Response<Bytes> {
    let mut response = Response::new(Bytes::new());
    *response.status_mut() = status;
    match HeaderValue::from_str(location) {
        Ok(value) => {
            response.headers_mut().insert(LOCATION, value);
            response
                .headers_mut()
                .insert(CACHE_CONTROL, HeaderValue::from_static("no-store"));
            response
        }
        Err(_) => pages::error(
            StatusCode::INTERNAL_SERVER_ERROR,
            "server_error",
            "the redirect URI cannot be sent",
        ),
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use portcullis_server_core::{ManualClock, MemoryStore};

    use super::*;
    use crate::config::build_app;
    use crate::launch::purge_expired;

    const START: u64 = 1_800_000_000;
    /// The authorization request of the demo app, with a valid S256 challenge.
    const DEMO_REQUEST: &str = "/oauth/authorize?response_type=code&client_id=demo-app\
        &redirect_uri=http%3A%2F%2Flocalhost%3A5000%2Fcallback&scope=datasets%3Aread\
        &state=xyz&code_challenge=E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM\
        &code_challenge_method=S256";

    async fn demo_app() -> (
        Arc<FltrApp<MemoryStore, Arc<ManualClock>>>,
        Arc<ManualClock>,
    ) {
        let clock = Arc::new(ManualClock::new(START));
        let (app, _) = build_app(
            MemoryStore::new(),
            Arc::clone(&clock),
            "http://127.0.0.1:8080",
            None,
        )
        .await
        .unwrap();
        (app, clock)
    }

    fn request(method: Method, uri: &str) -> Request<Bytes> {
        Request::builder()
            .method(method)
            .uri(uri)
            .body(Bytes::new())
            .unwrap()
    }

    #[tokio::test]
    async fn anonymous_consent_pages_store_no_session() {
        let (app, clock) = demo_app().await;
        for _ in 0..3 {
            let response = app.handle(request(Method::GET, DEMO_REQUEST)).await;
            assert_eq!(response.status(), StatusCode::OK);
            let cookies: Vec<_> = response.headers().get_all(SET_COOKIE).iter().collect();
            assert_eq!(cookies.len(), 1, "only the browser cookie: {cookies:?}");
            assert!(
                cookies[0]
                    .to_str()
                    .unwrap()
                    .starts_with("portcullis_browser=")
            );
        }
        let store = app.server().store();
        clock.advance(PENDING_LIFETIME);
        assert_eq!(
            purge_expired(store, clock.now()).await,
            3,
            "each page stored one pending request"
        );
        clock.advance(SESSION_LIFETIME);
        assert_eq!(
            purge_expired(store, clock.now()).await,
            0,
            "no page stored a session"
        );
    }

    #[tokio::test]
    async fn head_consent_page_stores_nothing() {
        let (app, clock) = demo_app().await;
        let get = app.handle(request(Method::GET, DEMO_REQUEST)).await;
        let head = app.handle(request(Method::HEAD, DEMO_REQUEST)).await;
        assert_eq!(head.status(), StatusCode::OK);
        assert_eq!(
            head.body().len(),
            get.body().len(),
            "the body, which the HTTP server leaves out, sets Content-Length"
        );
        for name in [CONTENT_TYPE, CACHE_CONTROL, SET_COOKIE] {
            assert!(head.headers().contains_key(&name), "HEAD sends {name}");
        }
        clock.advance(PENDING_LIFETIME);
        assert_eq!(
            purge_expired(app.server().store(), clock.now()).await,
            1,
            "only the GET stored a pending request"
        );
    }
}
