"""Run the client code of FLTR's OAuth guide against a portcullis server.

Usage:
    python3 fltr_client.py BASE_URL CLIENT_ID CLIENT_SECRET REDIRECT_URI USERNAME PASSWORD

The PKCE generation, the authorization URL, the token exchange, the API call
and refresh_access_token are the guide's snippets with its placeholders
filled in. The only additions are what a browser would do in between: open
the authorization URL in a requests.Session, sign in and approve on the
consent page, and read the code from the redirect without following it.

Prints one line per completed step, never a secret. Exits 0 when the whole
flow works, 1 with a message on standard error when a step fails.
"""

import base64
import hashlib
import secrets
import sys
from html.parser import HTMLParser
from urllib.parse import parse_qs, urlencode, urljoin, urlsplit

import requests


class ConsentFormParser(HTMLParser):
    """Reads the action and hidden inputs of the first form on the consent page."""

    def __init__(self):
        super().__init__()
        self.action = None
        self.hidden = {}
        self._in_form = False

    def handle_starttag(self, tag, attrs):
        attributes = dict(attrs)
        if tag == "form" and self.action is None:
            self.action = attributes.get("action")
            self._in_form = True
        elif tag == "input" and self._in_form and attributes.get("type") == "hidden":
            self.hidden[attributes.get("name")] = attributes.get("value") or ""

    def handle_endtag(self, tag):
        if tag == "form":
            self._in_form = False


def fail(message):
    print(f"error: {message}", file=sys.stderr)
    sys.exit(1)


def main():
    if len(sys.argv) != 7:
        fail("usage: fltr_client.py BASE_URL CLIENT_ID CLIENT_SECRET REDIRECT_URI USERNAME PASSWORD")
    base_url, client_id, client_secret, redirect_uri, username, password = sys.argv[1:]
    auth_endpoint = f"{base_url}/oauth/authorize"
    token_url = f"{base_url}/oauth/token"

    # The guide, step 2: generate PKCE parameters.
    code_verifier = base64.urlsafe_b64encode(secrets.token_bytes(32)).decode('utf-8')
    code_verifier = code_verifier.rstrip('=')
    code_challenge = hashlib.sha256(code_verifier.encode('utf-8')).digest()
    code_challenge = base64.urlsafe_b64encode(code_challenge).decode('utf-8')
    code_challenge = code_challenge.rstrip('=')

    # The guide, step 3: the authorization request.
    params = {
        'response_type': 'code',
        'client_id': client_id,
        'redirect_uri': redirect_uri,
        'scope': 'datasets:read datasets:write mcp:query',
        'state': secrets.token_urlsafe(32),
        'code_challenge': code_challenge,
        'code_challenge_method': 'S256'
    }
    auth_url = f"{auth_endpoint}?{urlencode(params)}"

    # The user's browser: open the page, sign in and approve.
    browser = requests.Session()
    browser.trust_env = False
    page = browser.get(auth_url, allow_redirects=False)
    if page.status_code != 200:
        fail(f"the authorization URL answered {page.status_code}: {page.text[:300]}")
    form = ConsentFormParser()
    form.feed(page.text)
    if form.action is None or "request_id" not in form.hidden or "csrf" not in form.hidden:
        fail("the consent page has no form with hidden request_id and csrf inputs")
    answer = browser.post(
        urljoin(auth_url, form.action),
        data={
            'request_id': form.hidden['request_id'],
            'csrf': form.hidden['csrf'],
            'username': username,
            'password': password,
            'decision': 'approve',
        },
        allow_redirects=False,
    )
    if answer.status_code != 303:
        fail(f"the consent form answered {answer.status_code}, expected 303")
    location = answer.headers['Location']
    if not location.startswith(redirect_uri + "?"):
        fail("the redirect does not go to the redirect URI")
    print("authorized: redirected to the redirect URI")

    # The guide, step 4: handle the callback and verify state.
    callback = parse_qs(urlsplit(location).query)
    if callback.get('state') != [params['state']]:
        fail("the state in the callback differs from the one sent")
    if callback.get('iss') != [base_url]:
        fail("the iss in the callback is not the issuer")
    auth_code = callback['code'][0]
    print("callback: state and iss verified")

    # The guide, step 5: exchange the code for tokens.
    token_response = requests.post(
        token_url,
        data={
            'grant_type': 'authorization_code',
            'code': auth_code,
            'client_id': client_id,
            'client_secret': client_secret,
            'redirect_uri': redirect_uri,
            'code_verifier': code_verifier
        }
    )
    if token_response.status_code != 200:
        fail(f"the code exchange answered {token_response.status_code}: {token_response.text}")
    tokens = token_response.json()
    access_token = tokens['access_token']
    refresh_token = tokens['refresh_token']
    expires_in = tokens['expires_in']  # Seconds until expiration
    if not access_token.startswith('fltr_at_') or not refresh_token.startswith('fltr_rt_'):
        fail("the tokens lack the fltr_at_ and fltr_rt_ prefixes")
    print(f"exchanged: token_type={tokens['token_type']} expires_in={expires_in} scope={tokens['scope']}")

    # The guide, step 6: call the API.
    headers = {
        'Authorization': f'Bearer {access_token}',
        'Content-Type': 'application/json'
    }
    response = requests.get(
        f"{base_url}/v1/datasets",
        headers=headers
    )
    if response.status_code != 200:
        fail(f"GET /v1/datasets answered {response.status_code}: {response.text}")
    names = [dataset['name'] for dataset in response.json()['datasets']]
    print(f"datasets: {', '.join(names)}")
    print(f"rate limit: {response.headers.get('X-RateLimit-Limit')}")

    # The guide, step 7: refresh the tokens.
    def refresh_access_token(refresh_token):
        response = requests.post(
            token_url,
            data={
                'grant_type': 'refresh_token',
                'refresh_token': refresh_token,
                'client_id': client_id,
                'client_secret': client_secret
            }
        )
        tokens = response.json()
        return tokens['access_token'], tokens['refresh_token']

    new_access_token, new_refresh_token = refresh_access_token(refresh_token)
    if new_refresh_token == refresh_token:
        fail("the refresh token did not rotate")
    response = requests.get(
        f"{base_url}/v1/datasets",
        headers={'Authorization': f'Bearer {new_access_token}'}
    )
    if response.status_code != 200:
        fail(f"GET /v1/datasets with the refreshed token answered {response.status_code}")
    print("refreshed: new tokens work")

    # The guide's failure path: a used refresh token no longer works.
    try:
        refresh_access_token(refresh_token)
    except KeyError:
        print("reused refresh token: rejected")
    else:
        fail("the rotated refresh token was accepted again")


if __name__ == '__main__':
    main()
