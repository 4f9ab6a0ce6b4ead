//! Throttling of failed sign-ins on the consent page.

use std::net::{IpAddr, Ipv6Addr};

use portcullis_grants::Timestamp;
use sha2::{Digest, Sha256};

use crate::api::{FixedWindow, Usage};

/// Failed sign-ins one username may have per [`SIGN_IN_WINDOW`]. Further
/// attempts for it get 429 until the window ends.
pub const SIGN_IN_FAILURES_PER_USER: u64 = 10;
/// Failed sign-ins one source address may have per [`SIGN_IN_WINDOW`].
/// Further attempts from it get 429 until the window ends. IPv6 addresses are
/// counted per /64 prefix.
pub const SIGN_IN_FAILURES_PER_ADDRESS: u64 = 50;
/// Length of the fixed windows of failed sign-ins, in seconds of the server's clock.
pub const SIGN_IN_WINDOW: u64 = 15 * 60;

/// Counters of failed sign-ins per username and per source address, the rate
/// limiting that NIST SP 800-63B §5.2.2 requires against online guessing.
///
/// An attempt is counted before its password is checked and taken back when
/// it succeeds, so concurrent guesses cannot all pass the check before the
/// first failure is counted. A successful sign-in takes back only its own
/// attempt and resets no counter.
///
/// NOTE: the per-username limit also lets anyone lock that user out of
/// signing in for the rest of a window, which is the price of stopping
/// guesses spread over many addresses.
#[derive(Debug)]
pub(crate) struct SignInThrottle {
    by_user: FixedWindow<[u8; 32]>,
    by_address: FixedWindow<IpAddr>,
}

/// A sign-in attempt counted by [`SignInThrottle::begin`].
#[derive(Debug)]
pub(crate) struct Attempt {
    user: [u8; 32],
    address: IpAddr,
    by_user: Usage,
    by_address: Usage,
}

impl Attempt {
    /// Returns which limit this attempt uses up if it fails, for the log:
    /// `"username"`, `"address"`, both, or `None`.
    pub(crate) fn limit_reached_on_failure(&self) -> Option<&'static str> {
        match (self.by_user.remaining, self.by_address.remaining) {
            (0, 0) => Some("username and address"),
            (0, _) => Some("username"),
            (_, 0) => Some("address"),
            _ => None,
        }
    }
}

impl SignInThrottle {
    pub(crate) fn new() -> Self {
        Self {
            by_user: FixedWindow::with_limit(SIGN_IN_FAILURES_PER_USER, SIGN_IN_WINDOW),
            by_address: FixedWindow::with_limit(SIGN_IN_FAILURES_PER_ADDRESS, SIGN_IN_WINDOW),
        }
    }

    /// Counts a sign-in attempt of `username` from `addr` before its password is checked.
    ///
    /// # Errors
    ///
    /// The seconds until sign-in may be tried again, when the username or the
    /// address has used up its failures; nothing is counted then.
    pub(crate) fn begin(
        &self,
        username: &str,
        addr: IpAddr,
        now: Timestamp,
    ) -> Result<Attempt, u64> {
        let user = username_key(username);
        let address = address_key(addr);
        let by_user = self.by_user.hit(user, now);
        let by_address = self.by_address.hit(address, now);
        if by_user.allowed && by_address.allowed {
            return Ok(Attempt {
                user,
                address,
                by_user,
                by_address,
            });
        }
        self.by_user.release(&user, &by_user);
        self.by_address.release(&address, &by_address);
        let retry_after = [by_user, by_address]
            .iter()
            .filter(|usage| !usage.allowed)
            .map(|usage| usage.reset_in)
            .max()
            .unwrap_or(SIGN_IN_WINDOW);
        Err(retry_after)
    }

    /// Takes back an attempt that did not fail: the password was right, or
    /// the check could not be made.
    pub(crate) fn take_back(&self, attempt: &Attempt) {
        self.by_user.release(&attempt.user, &attempt.by_user);
        self.by_address
            .release(&attempt.address, &attempt.by_address);
    }
}

/// Returns the counter key of a username: its SHA-256, so that a long
/// username costs no more memory than a short one.
fn username_key(username: &str) -> [u8; 32] {
    Sha256::digest(username.as_bytes()).into()
}

/// Returns the counter key of a source address: an IPv4 address as it is,
/// and an IPv6 address cut to its /64 prefix, because one IPv6 host can
/// usually pick any address in its /64.
fn address_key(addr: IpAddr) -> IpAddr {
    match addr {
        IpAddr::V4(_) => addr,
        IpAddr::V6(v6) => match v6.to_ipv4_mapped() {
            Some(v4) => IpAddr::V4(v4),
            None => IpAddr::V6(Ipv6Addr::from(v6.to_bits() & !u128::from(u64::MAX))),
        },
    }
}

/// Returns the notice of a throttled sign-in, in whole minutes rounded up.
pub(crate) fn throttled_notice(retry_after: u64) -> String {
    let minutes = retry_after.div_ceil(60).max(1);
    let unit = if minutes == 1 { "minute" } else { "minutes" };
    format!("Too many failed sign-ins. Try again in {minutes} {unit}.")
}

#[cfg(test)]
mod tests {
    use super::*;

    const START: Timestamp = Timestamp(1_800_000_000);

    fn fail(throttle: &SignInThrottle, username: &str, addr: IpAddr, now: Timestamp) {
        throttle
            .begin(username, addr, now)
            .expect("the attempt is within the limits");
    }

    #[test]
    fn username_limit_holds_across_addresses() {
        let throttle = SignInThrottle::new();
        for i in 0..SIGN_IN_FAILURES_PER_USER {
            let addr = IpAddr::from([192, 0, 2, u8::try_from(i).unwrap()]);
            fail(&throttle, "alice", addr, START);
        }
        let retry_after = throttle
            .begin("alice", IpAddr::from([198, 51, 100, 1]), START.plus(60))
            .expect_err("the username has used up its failures");
        assert_eq!(retry_after, SIGN_IN_WINDOW - 60);
        assert!(
            throttle
                .begin("bob", IpAddr::from([192, 0, 2, 0]), START.plus(60))
                .is_ok(),
            "other usernames are unaffected"
        );
        assert!(
            throttle
                .begin(
                    "alice",
                    IpAddr::from([192, 0, 2, 0]),
                    START.plus(SIGN_IN_WINDOW)
                )
                .is_ok(),
            "the next window starts empty"
        );
    }

    #[test]
    fn address_limit_holds_across_usernames() {
        let throttle = SignInThrottle::new();
        let addr = IpAddr::from([192, 0, 2, 7]);
        for i in 0..SIGN_IN_FAILURES_PER_ADDRESS {
            fail(&throttle, &format!("user{i}"), addr, START);
        }
        assert!(throttle.begin("alice", addr, START).is_err());
        assert!(
            throttle
                .begin("alice", IpAddr::from([192, 0, 2, 8]), START)
                .is_ok(),
            "other addresses are unaffected"
        );
    }

    #[test]
    fn successful_attempt_is_taken_back() {
        let throttle = SignInThrottle::new();
        let addr = IpAddr::from([192, 0, 2, 7]);
        for _ in 0..SIGN_IN_FAILURES_PER_USER * 2 {
            let attempt = throttle.begin("alice", addr, START).unwrap();
            throttle.take_back(&attempt);
        }
        for _ in 0..SIGN_IN_FAILURES_PER_USER - 1 {
            fail(&throttle, "bob", addr, START);
        }
        let last = throttle.begin("bob", addr, START).unwrap();
        assert_eq!(last.limit_reached_on_failure(), Some("username"));
        let alice = throttle.begin("alice", addr, START).unwrap();
        throttle.take_back(&alice);
        assert!(
            throttle.begin("bob", addr, START).is_err(),
            "another user's success resets no counter"
        );
    }

    #[test]
    fn rejected_attempt_counts_nowhere() {
        let throttle = SignInThrottle::new();
        let addr = IpAddr::from([192, 0, 2, 7]);
        for _ in 0..SIGN_IN_FAILURES_PER_USER {
            fail(&throttle, "alice", addr, START);
        }
        for _ in 0..100 {
            assert!(throttle.begin("alice", addr, START).is_err());
        }
        let others = SIGN_IN_FAILURES_PER_ADDRESS - SIGN_IN_FAILURES_PER_USER;
        for i in 0..others {
            fail(&throttle, &format!("user{i}"), addr, START);
        }
        assert!(
            throttle.begin("carol", addr, START).is_err(),
            "the address limit counts failures only, not rejected attempts"
        );
    }

    #[test]
    fn ipv6_addresses_share_their_64_prefix() {
        let first: IpAddr = "2001:db8:1:2:aaaa::1".parse().unwrap();
        let second: IpAddr = "2001:db8:1:2:bbbb::2".parse().unwrap();
        let other: IpAddr = "2001:db8:1:3::1".parse().unwrap();
        assert_eq!(address_key(first), address_key(second));
        assert_ne!(address_key(first), address_key(other));
        let mapped: IpAddr = "::ffff:192.0.2.1".parse().unwrap();
        assert_eq!(address_key(mapped), IpAddr::from([192, 0, 2, 1]));
    }

    #[test]
    fn notice_rounds_up_to_minutes() {
        assert_eq!(
            throttled_notice(1),
            "Too many failed sign-ins. Try again in 1 minute."
        );
        assert_eq!(
            throttled_notice(61),
            "Too many failed sign-ins. Try again in 2 minutes."
        );
        assert_eq!(
            throttled_notice(900),
            "Too many failed sign-ins. Try again in 15 minutes."
        );
    }
}
