use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::{Mutex, PoisonError};

use portcullis_grants::Timestamp;

/// A client id and the address its request came from.
type Caller = (String, Option<IpAddr>);

/// Length of one counting window, in seconds.
pub(crate) const WINDOW_SECONDS: u64 = 60;
/// Most clients tracked at once; past it, windows that have ended are dropped.
const MAX_TRACKED: usize = 10_000;

/// Counts failed client authentications per registered client and source
/// address in fixed one-minute windows, so a secret cannot be brute-forced
/// (OAuth 2.1 §2.4.1).
///
/// Only registered clients with a secret are counted: an unknown `client_id`
/// or a public client has no secret to guess. Keying by address as well keeps
/// an attacker from locking the client out for its real users.
pub(crate) struct AuthThrottle {
    limit: u32,
    windows: Mutex<HashMap<Caller, (u64, u32)>>,
}

impl AuthThrottle {
    pub(crate) fn new(limit: u32) -> Self {
        Self {
            limit,
            windows: Mutex::new(HashMap::new()),
        }
    }

    /// Returns `true` while `client_id` has used up its failures from `addr` in
    /// the current window.
    pub(crate) fn is_locked(&self, client_id: &str, addr: Option<IpAddr>, now: Timestamp) -> bool {
        let windows = self.windows.lock().unwrap_or_else(PoisonError::into_inner);
        windows
            .get(&(client_id.to_owned(), addr))
            .is_some_and(|(start, failures)| *start == window_of(now) && *failures >= self.limit)
    }

    /// Counts one failed authentication of `client_id` from `addr`.
    pub(crate) fn record_failure(&self, client_id: &str, addr: Option<IpAddr>, now: Timestamp) {
        let window = window_of(now);
        let key = (client_id.to_owned(), addr);
        let mut windows = self.windows.lock().unwrap_or_else(PoisonError::into_inner);
        if windows.len() >= MAX_TRACKED && !windows.contains_key(&key) {
            windows.retain(|_, (start, _)| *start == window);
            if windows.len() >= MAX_TRACKED {
                // NOTE: under a flood of distinct clients, new clients go uncounted
                // until the window ends; this bounds memory at the cost of that gap.
                return;
            }
        }
        let entry = windows.entry(key).or_insert((window, 0));
        if entry.0 != window {
            *entry = (window, 0);
        }
        entry.1 = entry.1.saturating_add(1);
    }
}

fn window_of(now: Timestamp) -> u64 {
    now.0 - now.0 % WINDOW_SECONDS
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn locks_after_limit_until_window_ends() {
        let throttle = AuthThrottle::new(3);
        let attacker = Some(IpAddr::from([192, 0, 2, 1]));
        let user = Some(IpAddr::from([198, 51, 100, 7]));
        let now = Timestamp(120);
        for _ in 0..3 {
            assert!(!throttle.is_locked("conf", attacker, now));
            throttle.record_failure("conf", attacker, now);
        }
        assert!(throttle.is_locked("conf", attacker, now.plus(59)));
        assert!(
            !throttle.is_locked("conf", user, now),
            "the same client elsewhere is unaffected"
        );
        assert!(
            !throttle.is_locked("other", attacker, now),
            "other clients are unaffected"
        );
        assert!(
            !throttle.is_locked("conf", attacker, now.plus(60)),
            "a new window starts"
        );
    }
}
