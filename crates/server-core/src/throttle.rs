use std::collections::HashMap;
use std::sync::{Mutex, PoisonError};

use portcullis_grants::Timestamp;

/// Length of one counting window, in seconds.
pub(crate) const WINDOW_SECONDS: u64 = 60;
/// Most clients tracked at once; past it, windows that have ended are dropped.
const MAX_TRACKED: usize = 10_000;

/// Counts failed client authentications per registered client in fixed
/// one-minute windows, so a secret cannot be brute-forced (OAuth 2.1 §2.4.1).
///
/// Only registered clients are counted: an unknown `client_id` has no secret to
/// guess. Locking out one client leaves every other client unaffected.
pub(crate) struct AuthThrottle {
    limit: u32,
    windows: Mutex<HashMap<String, (u64, u32)>>,
}

impl AuthThrottle {
    pub(crate) fn new(limit: u32) -> Self {
        Self {
            limit,
            windows: Mutex::new(HashMap::new()),
        }
    }

    /// Returns `true` while `client_id` has used up its failures in the current window.
    pub(crate) fn is_locked(&self, client_id: &str, now: Timestamp) -> bool {
        let windows = self.windows.lock().unwrap_or_else(PoisonError::into_inner);
        windows
            .get(client_id)
            .is_some_and(|(start, failures)| *start == window_of(now) && *failures >= self.limit)
    }

    /// Counts one failed authentication of `client_id`.
    pub(crate) fn record_failure(&self, client_id: &str, now: Timestamp) {
        let window = window_of(now);
        let mut windows = self.windows.lock().unwrap_or_else(PoisonError::into_inner);
        if windows.len() >= MAX_TRACKED && !windows.contains_key(client_id) {
            windows.retain(|_, (start, _)| *start == window);
            if windows.len() >= MAX_TRACKED {
                // NOTE: under a flood of distinct clients, new clients go uncounted
                // until the window ends; this bounds memory at the cost of that gap.
                return;
            }
        }
        let entry = windows.entry(client_id.to_owned()).or_insert((window, 0));
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
        let now = Timestamp(120);
        for _ in 0..3 {
            assert!(!throttle.is_locked("conf", now));
            throttle.record_failure("conf", now);
        }
        assert!(throttle.is_locked("conf", now.plus(59)));
        assert!(
            !throttle.is_locked("other", now),
            "other clients are unaffected"
        );
        assert!(
            !throttle.is_locked("conf", now.plus(60)),
            "a new window starts"
        );
    }
}
