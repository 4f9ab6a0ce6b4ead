//! The authorization code flow as a browser and a client perform it: the
//! authorization request, the login and consent form, and the token requests.

use base64ct::{Base64, Encoding};
use serde_json::{Map, Value};
use url::Url;

use crate::context::{Auth, Client, Ctx, FlowError};
use crate::html::{self, Form};
use crate::http::{CookieJar, HttpRequest, HttpResponse, encode_form};
use crate::pkce::{Pkce, random_string};

/// Most form submissions in one flow: a login page, a consent page, and one spare.
const MAX_SUBMISSIONS: usize = 3;
/// Most redirects followed inside the authorization server in one flow.
const MAX_INTERNAL_REDIRECTS: usize = 5;

/// Parameters of an authorization request, in the order sent.
#[derive(Clone, Debug)]
pub(crate) struct AuthzRequest {
    pub(crate) params: Vec<(String, String)>,
    /// Parameters already percent-encoded as `name=value`, sent after
    /// `params` as written. They carry byte sequences that are not UTF-8,
    /// which `params` cannot hold.
    pub(crate) encoded_params: Vec<String>,
    /// Verifier for the challenge sent, when the kit generated or chose it.
    pub(crate) verifier: Option<String>,
    /// Redirect URI where the authorization response is expected.
    pub(crate) target: String,
}

impl AuthzRequest {
    /// Returns the first value of a parameter.
    pub(crate) fn get(&self, name: &str) -> Option<&str> {
        self.params
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.as_str())
    }

    /// Sets a parameter, replacing every earlier value.
    pub(crate) fn set(&mut self, name: &str, value: &str) -> &mut Self {
        match self.params.iter().position(|(n, _)| n == name) {
            Some(index) => {
                self.params[index].1 = value.to_owned();
                let mut seen = false;
                self.params.retain(|(n, _)| {
                    if n != name {
                        return true;
                    }
                    let keep = !seen;
                    seen = true;
                    keep
                });
            }
            None => self.params.push((name.to_owned(), value.to_owned())),
        }
        self
    }

    /// Appends a parameter, repeating it if it is already present.
    pub(crate) fn push(&mut self, name: &str, value: &str) -> &mut Self {
        self.params.push((name.to_owned(), value.to_owned()));
        self
    }

    /// Removes every value of a parameter.
    pub(crate) fn remove(&mut self, name: &str) -> &mut Self {
        self.params.retain(|(n, _)| n != name);
        self
    }

    /// Sets `redirect_uri` and expects the authorization response there.
    pub(crate) fn set_redirect_uri(&mut self, uri: &str) -> &mut Self {
        self.target = uri.to_owned();
        self.set("redirect_uri", uri)
    }

    /// Sets a PKCE pair: its challenge with method S256, and its verifier for redemption.
    pub(crate) fn set_pkce(&mut self, pkce: &Pkce) -> &mut Self {
        self.verifier = Some(pkce.verifier.clone());
        self.set("code_challenge", &pkce.challenge);
        self.set("code_challenge_method", "S256")
    }
}

/// User's action on the consent page.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Decision {
    Approve,
    Deny,
    /// Stop at the first response without submitting anything.
    Look,
    /// Sign in where a form has the password control, then stop at the first
    /// form with the decision control without submitting it.
    SignIn,
}

/// End point of an authorization request.
#[derive(Clone, Debug)]
pub(crate) enum Landing {
    /// A redirect to the redirect URI, with its query and fragment parameters.
    Client {
        query: Vec<(String, String)>,
        fragment: Vec<(String, String)>,
    },
    /// A redirect outside the authorization server, not to the redirect URI.
    Elsewhere(Url),
    /// A page (or a redirect the kit does not follow), with no redirect to the client.
    Page,
}

/// Record of one authorization request, from the first GET to its end point.
#[derive(Clone, Debug)]
pub(crate) struct AuthzTrace {
    /// Statuses of the responses to the form submissions, in order.
    pub(crate) submissions: Vec<u16>,
    /// The last response.
    pub(crate) last: HttpResponse,
    pub(crate) landing: Landing,
}

impl AuthzTrace {
    /// Returns a query parameter of the redirect to the client.
    pub(crate) fn param(&self, name: &str) -> Option<&str> {
        match &self.landing {
            Landing::Client { query, .. } => query
                .iter()
                .find(|(n, _)| n == name)
                .map(|(_, v)| v.as_str()),
            _ => None,
        }
    }

    /// Returns how many times a query parameter appears in the redirect to the client.
    pub(crate) fn param_count(&self, name: &str) -> usize {
        match &self.landing {
            Landing::Client { query, .. } => query.iter().filter(|(n, _)| n == name).count(),
            _ => 0,
        }
    }

    /// Describes the end of the flow for a failure reason, without secrets.
    pub(crate) fn describe(&self) -> String {
        match &self.landing {
            Landing::Client { query, .. } => {
                let names: Vec<&str> = query.iter().map(|(n, _)| n.as_str()).collect();
                match self.param("error") {
                    Some(error) => format!("a redirect to the client with error={error}"),
                    None => format!(
                        "a redirect to the client with parameters [{}]",
                        names.join(", ")
                    ),
                }
            }
            Landing::Elsewhere(url) => {
                format!(
                    "a {} redirect to {}",
                    self.last.status,
                    crate::context::path_only(url.as_str())
                )
            }
            Landing::Page => format!("a {} response without a redirect", self.last.status),
        }
    }

    /// Checks that the flow ended with an error page: a 4xx response that the
    /// server shows itself, with no redirect away from it (RFC 6749 §4.1.2.1).
    pub(crate) fn expect_error_page(&self) -> Result<(), String> {
        match self.landing {
            Landing::Page if (400..500).contains(&self.last.status) => Ok(()),
            _ => Err(format!(
                "expected an error page (4xx, no redirect), got {}",
                self.describe()
            )),
        }
    }

    /// Checks that the flow ended with a redirect to the client carrying `error=code`.
    pub(crate) fn expect_redirect_error(&self, code: &str) -> Result<(), String> {
        match self.param("error") {
            Some(error) if error == code => Ok(()),
            _ => Err(format!(
                "expected a redirect to the client with error={code}, got {}",
                self.describe()
            )),
        }
    }
}

/// Next step after a redirect during an authorization request.
enum Hop {
    Land(Landing),
    Follow(Url),
}

/// Stops a flow that loops on its form: the login form shown again after the
/// password was sent, or too many submissions.
fn check_form_progress(
    page: &HttpResponse,
    password_again: bool,
    submitted: usize,
) -> Result<(), FlowError> {
    if password_again {
        return Err(FlowError::with_response(
            format!(
                "signing in failed: the login form came back with status {}; \
                 check --username and --password",
                page.status
            ),
            page,
        ));
    }
    if submitted >= MAX_SUBMISSIONS {
        return Err(FlowError::with_response(
            format!("the form was still shown after {MAX_SUBMISSIONS} submissions"),
            page,
        ));
    }
    Ok(())
}

/// An authorization code the kit obtained, and what it needs to redeem it.
#[derive(Clone, Debug)]
pub(crate) struct Issued {
    pub(crate) code: String,
    pub(crate) verifier: Option<String>,
    /// The `redirect_uri` sent in the authorization request, if any.
    pub(crate) redirect_uri: Option<String>,
    pub(crate) trace: AuthzTrace,
}

/// A successful token response.
#[derive(Clone, Debug)]
pub(crate) struct Tokens {
    pub(crate) access: String,
    pub(crate) refresh: Option<String>,
    pub(crate) scope: Option<String>,
    pub(crate) body: Map<String, Value>,
    pub(crate) response: HttpResponse,
}

impl Ctx<'_> {
    /// Builds the standard authorization request for a client: code flow,
    /// its redirect URI, the configured scope, the `--resource` identifier
    /// when one is given, a random state and an S256 challenge.
    pub(crate) fn authz_request(&self, client: &Client) -> AuthzRequest {
        let pkce = Pkce::generate();
        let mut request = AuthzRequest {
            params: Vec::new(),
            encoded_params: Vec::new(),
            verifier: None,
            target: client.redirect_uri.clone(),
        };
        request
            .set("response_type", "code")
            .set("client_id", &client.id)
            .set("redirect_uri", &client.redirect_uri);
        if let Some(scope) = self.config.requested_scope() {
            request.set("scope", scope);
        }
        // MCP clients send the resource on every authorization request, so the
        // tokens work at a resource that is not the server's default audience.
        if let Some(resource) = &self.config.resource {
            request.set("resource", resource);
        }
        request.set("state", &random_string(16)).set_pkce(&pkce);
        request
    }

    /// Returns the authorization URL for a request. The parameters are appended
    /// to any query the endpoint URL already has (RFC 6749 §3.1).
    pub(crate) fn authz_url(&self, request: &AuthzRequest) -> String {
        let pairs: Vec<(&str, &str)> = request
            .params
            .iter()
            .map(|(n, v)| (n.as_str(), v.as_str()))
            .collect();
        let mut query = encode_form(&pairs);
        for encoded in &request.encoded_params {
            if !query.is_empty() {
                query.push('&');
            }
            query.push_str(encoded);
        }
        let endpoint = &self.endpoints.authorization;
        let separator = if endpoint.contains('?') { '&' } else { '?' };
        format!("{endpoint}{separator}{query}")
    }

    /// Sends an authorization request in a fresh browser session and, unless
    /// `decision` is [`Decision::Look`], signs in and submits the consent form.
    pub(crate) fn authorize(
        &mut self,
        request: &AuthzRequest,
        decision: Decision,
    ) -> Result<AuthzTrace, FlowError> {
        let mut jar = CookieJar::default();
        self.authorize_in(&mut jar, request, decision)
    }

    /// Like [`Ctx::authorize`], but in the browser session whose cookies `jar`
    /// contains, so a later request can show whether the server remembers it.
    pub(crate) fn authorize_in(
        &mut self,
        jar: &mut CookieJar,
        request: &AuthzRequest,
        decision: Decision,
    ) -> Result<AuthzTrace, FlowError> {
        let get = HttpRequest::get(self.authz_url(request));
        let mut response = self.http.send_with_jar(jar, get)?;
        let target = Url::parse(&request.target).ok();
        let mut submissions = Vec::new();
        let mut sent_password = false;
        let mut hops = 0;

        let landing = loop {
            if response.is_redirect() {
                match self.next_hop(&response, target.as_ref(), hops) {
                    Hop::Land(landing) => break landing,
                    Hop::Follow(location) => {
                        hops += 1;
                        let get = HttpRequest::get(location.as_str());
                        response = self.http.send_with_jar(jar, get)?;
                        continue;
                    }
                }
            }
            self.learn_form_secrets(&response);
            if decision == Decision::Look {
                break Landing::Page;
            }
            let Some(form) = self.sign_in_form(&response) else {
                break Landing::Page;
            };
            if decision == Decision::SignIn && form.has_control(&self.config.decision_field) {
                break Landing::Page;
            }
            let asks_password = form.has_control(&self.config.password_field);
            check_form_progress(&response, sent_password && asks_password, submissions.len())?;
            sent_password |= asks_password;
            let submit = self.fill_form(&form, &response, decision)?;
            response = self.http.send_with_jar(jar, submit)?;
            submissions.push(response.status);
        };

        self.learn_flow_secrets(jar, &landing);
        Ok(AuthzTrace {
            submissions,
            last: response,
            landing,
        })
    }

    /// Decides where a redirect leads: to the client's redirect URI, to another
    /// page of the server that the browser follows, or elsewhere.
    fn next_hop(&self, response: &HttpResponse, target: Option<&Url>, hops: usize) -> Hop {
        let Some(location) = response.location() else {
            return Hop::Land(Landing::Page);
        };
        if target.is_some_and(|t| same_endpoint(t, &location)) {
            return Hop::Land(client_landing(location));
        }
        if !self.is_server_url(&location) {
            return Hop::Land(Landing::Elsewhere(location));
        }
        // Only 301 to 303 turn into a GET; a 307 or 308 would repeat a POST.
        let follow = matches!(response.status, 301..=303) && hops < MAX_INTERNAL_REDIRECTS;
        if follow {
            Hop::Follow(location)
        } else {
            Hop::Land(Landing::Page)
        }
    }

    /// Adds the session cookies and any code or token in the redirect to the masker.
    fn learn_flow_secrets(&mut self, jar: &CookieJar, landing: &Landing) {
        for value in jar.values() {
            self.masker.add(value);
        }
        if let Landing::Client { query, fragment } = landing {
            for (name, value) in query.iter().chain(fragment) {
                if matches!(name.as_str(), "code" | "access_token" | "id_token") {
                    self.masker.add(value);
                }
            }
        }
    }

    /// Adds the values of a page's form fields whose names mark them as
    /// secret, such as a hidden `csrf` or `request_id`, to the masker. The
    /// configured password is known already, and `state` is the kit's own
    /// value, which the masker hides by name and the state checks quote in
    /// their reasons.
    fn learn_form_secrets(&mut self, page: &HttpResponse) {
        if page.is_redirect() {
            return;
        }
        for form in html::find_forms(&page.text()) {
            for input in &form.inputs {
                let learn = input.name != "state"
                    && input.name != self.config.password_field
                    && self.masker.is_secret_field(&input.name);
                if let (true, Some(value)) = (learn, &input.value) {
                    self.masker.add(value);
                }
            }
        }
    }

    /// Finds the login or consent form on a page: a POST form with the password,
    /// user name or decision control.
    fn sign_in_form(&self, response: &HttpResponse) -> Option<Form> {
        if !(200..300).contains(&response.status) && response.status != 401 {
            return None;
        }
        let config = self.config;
        html::find_forms(&response.text()).into_iter().find(|form| {
            form.method == "POST"
                && (form.has_control(&config.password_field)
                    || form.has_control(&config.username_field)
                    || form.has_control(&config.decision_field))
        })
    }

    /// Builds the submission of a sign-in form: its hidden and pre-filled
    /// inputs, the credentials where the form has inputs for them, and the decision.
    fn fill_form(
        &self,
        form: &Form,
        page: &HttpResponse,
        decision: Decision,
    ) -> Result<HttpRequest, FlowError> {
        let config = self.config;
        let base = Url::parse(&page.request.url)
            .map_err(|e| FlowError::new(format!("invalid page URL: {e}")))?;
        let action = match form.action.as_deref().map(str::trim) {
            Some(action) if !action.is_empty() => base
                .join(action)
                .map_err(|e| FlowError::with_response(format!("invalid form action: {e}"), page))?,
            _ => base,
        };
        if !self.is_server_url(&action) {
            return Err(FlowError::with_response(
                format!(
                    "the form posts to {}, outside the authorization server; the kit does not follow it",
                    crate::context::path_only(action.as_str())
                ),
                page,
            ));
        }
        // NOTE: `select` and `textarea` controls are not submitted, because the
        // scanner reads `input` elements only.
        let mut pairs: Vec<(String, String)> = Vec::new();
        for input in &form.inputs {
            let name = input.name.as_str();
            if name.is_empty() || name == config.decision_field {
                continue;
            }
            if name == config.username_field {
                pairs.push((name.to_owned(), config.username.clone()));
                continue;
            }
            if name == config.password_field {
                pairs.push((name.to_owned(), config.password.expose().to_owned()));
                continue;
            }
            match input.kind.as_str() {
                "submit" | "button" | "image" | "reset" | "file" => {}
                "checkbox" | "radio" if !input.checked => {}
                "checkbox" | "radio" => {
                    pairs.push((
                        name.to_owned(),
                        input.value.clone().unwrap_or_else(|| "on".into()),
                    ));
                }
                _ => pairs.push((name.to_owned(), input.value.clone().unwrap_or_default())),
            }
        }
        let value = match decision {
            Decision::Deny => Some(&config.deny_value),
            Decision::Approve | Decision::Look => Some(&config.approve_value),
            // Only a sign-in form without the decision control gets here.
            Decision::SignIn => None,
        };
        if let Some(value) = value {
            pairs.push((config.decision_field.clone(), value.clone()));
        }
        let borrowed: Vec<(&str, &str)> = pairs
            .iter()
            .map(|(n, v)| (n.as_str(), v.as_str()))
            .collect();
        Ok(HttpRequest::post_form(action.as_str(), &borrowed))
    }

    /// Runs an authorization request with approval and returns the code.
    pub(crate) fn obtain_code(
        &mut self,
        client: &Client,
        request: &AuthzRequest,
    ) -> Result<Issued, FlowError> {
        let trace = self.authorize(request, Decision::Approve)?;
        let Some(code) = trace.param("code").map(str::to_owned) else {
            let hint = match (trace.param("error"), &self.config.resource) {
                (Some("invalid_target"), Some(resource))
                    if request.get("resource") == Some(resource.as_str()) =>
                {
                    format!("; the server does not serve --resource {resource}")
                }
                _ => String::new(),
            };
            return Err(FlowError::with_response(
                format!(
                    "no authorization code for client {}: the flow ended with {}{hint}",
                    client.id,
                    trace.describe()
                ),
                &trace.last,
            ));
        };
        Ok(Issued {
            code,
            verifier: request.verifier.clone(),
            redirect_uri: request.get("redirect_uri").map(str::to_owned),
            trace,
        })
    }

    /// Runs the standard flow for a client and returns its code.
    pub(crate) fn standard_code(&mut self, client: &Client) -> Result<Issued, FlowError> {
        let request = self.authz_request(client);
        self.obtain_code(client, &request)
    }

    /// Posts a form to an endpoint with the given client authentication.
    pub(crate) fn post_with_auth(
        &self,
        endpoint: &str,
        auth: &Auth,
        params: &[(&str, &str)],
    ) -> Result<HttpResponse, FlowError> {
        let mut pairs: Vec<(&str, &str)> = params.to_vec();
        let mut basic = None;
        match auth {
            Auth::Post { id, secret } => {
                pairs.push(("client_id", id));
                pairs.push(("client_secret", secret));
            }
            Auth::Basic { id, secret } => basic = Some(basic_credentials(id, secret)),
            Auth::Id(id) => pairs.push(("client_id", id)),
            Auth::Nothing => {}
        }
        let mut request = HttpRequest::post_form(endpoint, &pairs);
        if let Some(credentials) = basic {
            request = request.header("authorization", &format!("Basic {credentials}"));
        }
        self.send(request)
    }

    /// Posts to the token endpoint.
    pub(crate) fn token_request(
        &self,
        auth: &Auth,
        params: &[(&str, &str)],
    ) -> Result<HttpResponse, FlowError> {
        let endpoint = self.endpoints.token.clone();
        self.post_with_auth(&endpoint, auth, params)
    }

    /// Redeems a code with the standard parameters plus `extra`.
    pub(crate) fn redeem(
        &self,
        auth: &Auth,
        issued: &Issued,
        extra: &[(&str, &str)],
    ) -> Result<HttpResponse, FlowError> {
        let mut params = vec![
            ("grant_type", "authorization_code"),
            ("code", issued.code.as_str()),
        ];
        if let Some(uri) = &issued.redirect_uri {
            params.push(("redirect_uri", uri));
        }
        if let Some(verifier) = &issued.verifier {
            params.push(("code_verifier", verifier));
        }
        params.extend_from_slice(extra);
        self.token_request(auth, &params)
    }

    /// Parses a token response that must be a success, and learns its secrets.
    pub(crate) fn expect_tokens(&mut self, response: HttpResponse) -> Result<Tokens, FlowError> {
        let body = response.json_object();
        let access = body
            .as_ref()
            .and_then(|b| b.get("access_token"))
            .and_then(Value::as_str)
            .map(str::to_owned);
        let (Some(body), Some(access), 200) = (body, access, response.status) else {
            return Err(FlowError::with_response(
                format!(
                    "the token endpoint answered {} instead of tokens",
                    response.summary()
                ),
                &response,
            ));
        };
        let refresh = body
            .get("refresh_token")
            .and_then(Value::as_str)
            .map(str::to_owned);
        let scope = body.get("scope").and_then(Value::as_str).map(str::to_owned);
        self.masker.add(&access);
        if let Some(refresh) = &refresh {
            self.masker.add(refresh);
        }
        Ok(Tokens {
            access,
            refresh,
            scope,
            body,
            response,
        })
    }

    /// Runs the standard flow for a client and redeems the code.
    pub(crate) fn standard_tokens(&mut self, client: &Client) -> Result<Tokens, FlowError> {
        let issued = self.standard_code(client)?;
        let response = self.redeem(&client.auth(), &issued, &[])?;
        self.expect_tokens(response)
    }

    /// Like [`Ctx::standard_tokens`], but fails when no refresh token is issued.
    pub(crate) fn tokens_with_refresh(
        &mut self,
        client: &Client,
    ) -> Result<(Tokens, String), FlowError> {
        let tokens = self.standard_tokens(client)?;
        match tokens.refresh.clone() {
            Some(refresh) => Ok((tokens, refresh)),
            None => Err(FlowError::new(format!(
                "the server issued no refresh token to client {}",
                client.id
            ))),
        }
    }

    /// Sends a refresh token request with `extra` parameters.
    pub(crate) fn refresh(
        &self,
        auth: &Auth,
        refresh_token: &str,
        extra: &[(&str, &str)],
    ) -> Result<HttpResponse, FlowError> {
        let mut params = vec![
            ("grant_type", "refresh_token"),
            ("refresh_token", refresh_token),
        ];
        params.extend_from_slice(extra);
        self.token_request(auth, &params)
    }

    /// Returns whether an access token is still accepted, with the response
    /// that showed it. The protected resource decides when it responds 2xx or
    /// 401, else introspection does. `None` when neither can decide.
    pub(crate) fn access_token_state(&mut self, token: &str) -> Option<(bool, HttpResponse)> {
        if let Ok(url) = self.require_resource() {
            if let Ok(response) = self.call_resource(&url, "Bearer", token) {
                match response.status {
                    200..=299 => return Some((true, response)),
                    401 => return Some((false, response)),
                    _ => {}
                }
            }
        }
        self.introspect_state(token)
    }

    /// Returns `active` from introspecting a token with the configured client.
    fn introspect_state(&self, token: &str) -> Option<(bool, HttpResponse)> {
        let endpoint = self.endpoints.introspection.as_ref()?;
        self.main.secret.as_ref()?;
        let response = self
            .post_with_auth(endpoint, &self.main.auth(), &[("token", token)])
            .ok()?;
        if response.status != 200 {
            return None;
        }
        let active = response.json_object()?.get("active")?.as_bool()?;
        Some((active, response))
    }
}

/// Returns the Basic credentials of RFC 6749 §2.3.1: both parts form-encoded,
/// joined by `:`, then base64.
pub(crate) fn basic_credentials(id: &str, secret: &str) -> String {
    let encode = |s: &str| url::form_urlencoded::byte_serialize(s.as_bytes()).collect::<String>();
    Base64::encode_string(format!("{}:{}", encode(id), encode(secret)).as_bytes())
}

/// Returns whether two URLs name the same endpoint: scheme, host, port and path.
pub(crate) fn same_endpoint(a: &Url, b: &Url) -> bool {
    a.scheme() == b.scheme()
        && a.host_str().map(str::to_ascii_lowercase) == b.host_str().map(str::to_ascii_lowercase)
        && a.port_or_known_default() == b.port_or_known_default()
        && a.path() == b.path()
}

fn client_landing(location: Url) -> Landing {
    let query = location.query_pairs().into_owned().collect();
    let fragment = location
        .fragment()
        .map(|f| {
            url::form_urlencoded::parse(f.as_bytes())
                .into_owned()
                .collect()
        })
        .unwrap_or_default();
    Landing::Client { query, fragment }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn basic_credentials_form_encode_first() {
        // "a b:c" with secret "p&w" becomes "a+b%3Ac:p%26w" before base64.
        assert_eq!(
            basic_credentials("a b:c", "p&w"),
            Base64::encode_string(b"a+b%3Ac:p%26w")
        );
        assert_eq!(basic_credentials("conf", "s3cret"), "Y29uZjpzM2NyZXQ=");
    }

    #[test]
    fn request_set_replaces_every_value() {
        let mut request = AuthzRequest {
            params: Vec::new(),
            encoded_params: Vec::new(),
            verifier: None,
            target: String::new(),
        };
        request
            .push("scope", "a")
            .push("state", "s")
            .push("scope", "b");
        request.set("scope", "c");
        assert_eq!(
            request.params,
            [
                ("scope".to_owned(), "c".to_owned()),
                ("state".to_owned(), "s".to_owned())
            ]
        );
        request.remove("scope");
        assert_eq!(request.get("scope"), None);
        assert_eq!(request.get("state"), Some("s"));
    }

    #[test]
    fn same_endpoint_ignores_query_and_host_case() {
        let a = Url::parse("http://LOCALHOST:5000/cb?x=1").unwrap_or_else(|e| panic!("{e}"));
        let b = Url::parse("http://localhost:5000/cb#f").unwrap_or_else(|e| panic!("{e}"));
        let c = Url::parse("http://localhost:5001/cb").unwrap_or_else(|e| panic!("{e}"));
        let d = Url::parse("http://localhost:5000/cb/").unwrap_or_else(|e| panic!("{e}"));
        assert!(same_endpoint(&a, &b));
        assert!(!same_endpoint(&a, &c));
        assert!(!same_endpoint(&a, &d));
    }

    #[test]
    fn landing_splits_query_and_fragment() {
        let url = Url::parse("http://127.0.0.1/cb?code=c1&state=a+b%2Bc#access_token=t")
            .unwrap_or_else(|e| panic!("{e}"));
        let Landing::Client {
            query, fragment, ..
        } = client_landing(url)
        else {
            panic!("expected a client landing");
        };
        assert_eq!(query[1], ("state".to_owned(), "a b+c".to_owned()));
        assert_eq!(fragment[0].0, "access_token");
    }
}
