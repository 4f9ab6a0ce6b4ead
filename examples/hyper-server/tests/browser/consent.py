#!/usr/bin/env python3
"""Drive the login and consent page in headless Chromium through Selenium.

The script builds a PKCE (S256) authorization request with a random state,
opens it in Debian's Chromium, checks that the page names the client and lists
each requested scope with its description, then presses Approve (after signing
in) or Deny. It waits until the browser is sent to the redirect URI and prints
one JSON line to standard output:

    {"final_url": ..., "state": ..., "code_verifier": ..., "authorization_url": ...}

Nothing needs to listen at the redirect URI, because only the browser's URL is
read. The browser may load only 127.0.0.1 URLs, so the script rejects any other
host. It exits with status 1 and a message on standard error on any failure.

Selenium gets the browser and driver paths explicitly, so Selenium Manager never
runs and never downloads a driver. Install the prerequisites with
scripts/install-browser.
"""

import argparse
import base64
import hashlib
import json
import secrets
import shutil
import sys
import tempfile
import urllib.parse

from selenium import webdriver
from selenium.common.exceptions import TimeoutException, WebDriverException
from selenium.webdriver.chrome.service import Service
from selenium.webdriver.common.by import By
from selenium.webdriver.support import expected_conditions
from selenium.webdriver.support.ui import WebDriverWait

CHROMIUM_PATH = "/usr/bin/chromium"
CHROMEDRIVER_PATH = "/usr/bin/chromedriver"
# Every wait in this script (page load, element, redirect) is bounded by this, in seconds.
WAIT_SECONDS = 20
# Headless Chromium as root on a machine without outside network: the
# background-networking flags stop connections to Google's services, which the
# closed network refuses.
CHROMIUM_FLAGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--window-size=800,1000",
]
ALLOWED_HOST = "127.0.0.1"


class DriveError(Exception):
    """A check or browser step failed; the message names it."""


def parse_args(argv):
    parser = argparse.ArgumentParser(
        description="Sign in and approve or deny an OAuth authorization request "
        "on the consent page, in headless Chromium."
    )
    parser.add_argument(
        "--base-url", required=True, help="server base URL, such as http://127.0.0.1:8080"
    )
    parser.add_argument("--client-id", required=True, help="client_id to request")
    parser.add_argument(
        "--redirect-uri",
        required=True,
        help="registered redirect URI; must be an http://127.0.0.1 URI",
    )
    parser.add_argument(
        "--decision",
        choices=["approve", "deny"],
        required=True,
        help="approve: sign in and press Approve; deny: press Deny without signing in",
    )
    parser.add_argument("--username", help="username to sign in with (required to approve)")
    parser.add_argument("--password", help="password to sign in with (required to approve)")
    parser.add_argument(
        "--client-name", required=True, help="client name the page must show"
    )
    parser.add_argument(
        "--scope",
        action="append",
        required=True,
        metavar="NAME=DESCRIPTION",
        help="a scope to request and the description the page must show for it; repeat for each scope",
    )
    parser.add_argument(
        "--screenshot", required=True, help="path of the PNG screenshot of the consent page"
    )

    args = parser.parse_args(argv)
    if args.decision == "approve" and (args.username is None or args.password is None):
        parser.error("--username and --password are required with --decision approve")

    scopes = []
    for item in args.scope:
        name, separator, description = item.partition("=")
        if not separator or not name or not description:
            parser.error(f"invalid --scope {item!r}: expected NAME=DESCRIPTION")
        scopes.append((name, description))
    args.scope = scopes

    for option, url in (("--base-url", args.base_url), ("--redirect-uri", args.redirect_uri)):
        parsed = urllib.parse.urlsplit(url)
        if parsed.scheme != "http" or parsed.hostname != ALLOWED_HOST:
            parser.error(f"invalid {option} {url!r}: only http://{ALLOWED_HOST} URLs are allowed")
    return args


def pkce_pair():
    """Return a random code verifier and its S256 code challenge (RFC 7636 section 4)."""
    verifier = secrets.token_urlsafe(48)
    digest = hashlib.sha256(verifier.encode("ascii")).digest()
    challenge = base64.urlsafe_b64encode(digest).rstrip(b"=").decode("ascii")
    return verifier, challenge


def authorization_url(args, state, challenge):
    query = urllib.parse.urlencode(
        {
            "response_type": "code",
            "client_id": args.client_id,
            "redirect_uri": args.redirect_uri,
            "scope": " ".join(name for name, _ in args.scope),
            "state": state,
            "code_challenge": challenge,
            "code_challenge_method": "S256",
        },
        quote_via=urllib.parse.quote,
    )
    return f"{args.base_url.rstrip('/')}/oauth/authorize?{query}"


def start_browser(profile_dir):
    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM_PATH
    for flag in CHROMIUM_FLAGS:
        options.add_argument(flag)
    options.add_argument(f"--user-data-dir={profile_dir}")
    # Keep the console log, where Chromium reports blocked navigations.
    options.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    service = Service(executable_path=CHROMEDRIVER_PATH)
    driver = webdriver.Chrome(service=service, options=options)
    driver.set_page_load_timeout(WAIT_SECONDS)
    return driver


def check_consent_page(driver, args):
    """Check the page title, the client name and every requested scope with its description."""
    wait = WebDriverWait(driver, WAIT_SECONDS)
    try:
        wait.until(
            expected_conditions.presence_of_element_located(
                (By.CSS_SELECTOR, 'button[name="decision"][value="approve"]')
            )
        )
    except TimeoutException:
        raise DriveError(
            f"the consent page did not show an Approve button within {WAIT_SECONDS} s; "
            f"title {driver.title!r}, URL {driver.current_url}"
        ) from None
    if args.client_name not in driver.title:
        raise DriveError(f"page title {driver.title!r} does not contain the client name {args.client_name!r}")
    heading = driver.find_element(By.TAG_NAME, "h1").text
    if args.client_name not in heading:
        raise DriveError(f"page heading {heading!r} does not contain the client name {args.client_name!r}")

    items = [item.text for item in driver.find_elements(By.TAG_NAME, "li")]
    for name, description in args.scope:
        if not any(name in item and description in item for item in items):
            raise DriveError(
                f"the page lists no item with scope {name!r} and description {description!r}; "
                f"list items: {items!r}"
            )
    for button in ("approve", "deny"):
        found = driver.find_elements(By.CSS_SELECTOR, f'button[name="decision"][value="{button}"]')
        if len(found) != 1:
            raise DriveError(f"expected one button named decision with value {button!r}, found {len(found)}")


def sign_in(driver, username, password):
    for name, value in (("username", username), ("password", password)):
        inputs = driver.find_elements(By.NAME, name)
        if len(inputs) != 1:
            raise DriveError(f"expected one input named {name!r} on the consent page, found {len(inputs)}")
        inputs[0].clear()
        inputs[0].send_keys(value)


def save_screenshot(driver, path):
    if not driver.save_screenshot(path):
        raise DriveError(f"saving the screenshot to {path} failed")


def press_and_wait_for_redirect(driver, decision, redirect_uri):
    driver.find_element(By.CSS_SELECTOR, f'button[name="decision"][value="{decision}"]').click()
    try:
        WebDriverWait(driver, WAIT_SECONDS).until(
            lambda current: current.current_url.startswith(redirect_uri)
        )
    except TimeoutException:
        raise DriveError(
            f"the browser did not reach the redirect URI {redirect_uri} within {WAIT_SECONDS} s "
            f"after pressing {decision}; it is at {driver.current_url} (title {driver.title!r}); "
            f"page alerts: {page_alerts(driver)!r}; browser console: {console_messages(driver)!r}"
        ) from None
    return driver.current_url


def page_alerts(driver):
    """Return the text of the page's alerts, such as a failed sign-in."""
    return [alert.text for alert in driver.find_elements(By.CSS_SELECTOR, '[role="alert"]')]


def console_messages(driver):
    try:
        return [entry["message"] for entry in driver.get_log("browser")]
    except WebDriverException as error:
        return [f"reading the console log failed: {error.msg}"]


def run(args):
    verifier, challenge = pkce_pair()
    state = secrets.token_urlsafe(16)
    url = authorization_url(args, state, challenge)
    profile_dir = tempfile.mkdtemp(prefix="portcullis-chromium-")
    driver = None
    try:
        driver = start_browser(profile_dir)
        driver.get(url)
        check_consent_page(driver, args)
        if args.decision == "approve":
            sign_in(driver, args.username, args.password)
        save_screenshot(driver, args.screenshot)
        final_url = press_and_wait_for_redirect(driver, args.decision, args.redirect_uri)
    finally:
        if driver is not None:
            driver.quit()
        shutil.rmtree(profile_dir, ignore_errors=True)
    return {
        "final_url": final_url,
        "state": state,
        "code_verifier": verifier,
        "authorization_url": url,
    }


def main(argv):
    args = parse_args(argv)
    try:
        result = run(args)
    except DriveError as error:
        print(f"consent.py: {error}", file=sys.stderr)
        return 1
    except WebDriverException as error:
        print(f"consent.py: the browser failed: {error.msg or error}", file=sys.stderr)
        return 1
    print(json.dumps(result))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
