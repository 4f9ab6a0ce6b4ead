use std::collections::HashMap;
use std::sync::Mutex;

use http::{HeaderMap, HeaderValue};
use portcullis_grants::{GrantId, Timestamp, UserId};
use serde::Serialize;

/// Requests one authorization may make per hour: FLTR's OAuth limit.
pub const RATE_LIMIT_PER_HOUR: u64 = 15_000;
const WINDOW: u64 = 3600;

/// One dataset of the sample API.
#[derive(Clone, Debug, Serialize)]
pub struct Dataset {
    /// The dataset id.
    pub id: String,
    /// The display name.
    pub name: String,
    /// What the dataset holds.
    pub description: String,
    /// How many documents it holds.
    pub document_count: u64,
    /// When it was created, RFC 3339.
    pub created_at: String,
}

/// The `GET /v1/datasets` answer.
#[derive(Clone, Debug, Serialize)]
pub struct DatasetList {
    /// The datasets of the token's user.
    pub datasets: Vec<Dataset>,
}

/// The sample data: every user owns one dataset named "Product Docs".
#[derive(Debug, Default)]
pub(crate) struct Datasets;

impl Datasets {
    pub(crate) fn new() -> Self {
        Self
    }

    pub(crate) fn list(&self, user: UserId) -> DatasetList {
        DatasetList {
            datasets: vec![Dataset {
                id: format!("ds_{user}_product_docs"),
                name: "Product Docs".into(),
                description: "Product documentation and guides".into(),
                document_count: 42,
                created_at: "2026-01-15T09:30:00Z".into(),
            }],
        }
    }
}

/// A fixed-window request counter per key: per grant for the API, so refreshing
/// a token does not reset the limit, per source address for registration, and
/// per username and per source address for failed sign-ins.
///
/// NOTE: counters live in this process; replicas behind a load balancer each
/// count separately.
#[derive(Debug)]
pub(crate) struct FixedWindow<K> {
    limit: u64,
    window: u64,
    windows: Mutex<HashMap<K, (u64, u64)>>,
}

/// The API's limiter: [`RATE_LIMIT_PER_HOUR`] per grant.
pub(crate) type RateLimiter = FixedWindow<GrantId>;

/// The counter state after one request.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Usage {
    pub(crate) allowed: bool,
    pub(crate) limit: u64,
    pub(crate) remaining: u64,
    pub(crate) reset_at: u64,
    pub(crate) reset_in: u64,
}

impl RateLimiter {
    pub(crate) fn new() -> Self {
        Self::with_limit(RATE_LIMIT_PER_HOUR, WINDOW)
    }
}

impl<K: std::hash::Hash + Eq> FixedWindow<K> {
    /// Allows `limit` hits per key in each window of `window` seconds.
    pub(crate) fn with_limit(limit: u64, window: u64) -> Self {
        Self {
            limit,
            window: window.max(1),
            windows: Mutex::new(HashMap::new()),
        }
    }

    /// Counts one hit of `key` and returns whether it is within the limit.
    ///
    /// A hit over the limit is not counted.
    pub(crate) fn hit(&self, key: K, now: Timestamp) -> Usage {
        let window_start = self.window_start(now);
        let mut windows = self.lock();
        if windows.len() > 100_000 {
            windows.retain(|_, (start, _)| *start == window_start);
        }
        let entry = windows.entry(key).or_insert((window_start, 0));
        if entry.0 != window_start {
            *entry = (window_start, 0);
        }
        let allowed = entry.1 < self.limit;
        if allowed {
            entry.1 += 1;
        }
        self.usage(allowed, entry.1, window_start, now)
    }

    /// Takes back a hit that [`FixedWindow::hit`] counted and returned as
    /// `counted`, unless its window has ended since.
    pub(crate) fn release(&self, key: &K, counted: &Usage) {
        if !counted.allowed {
            return;
        }
        let window_start = counted.reset_at - self.window;
        let mut windows = self.lock();
        let entry = windows.get_mut(key);
        if let Some(entry) = entry.filter(|(start, count)| *start == window_start && *count > 0) {
            entry.1 -= 1;
        }
    }

    fn window_start(&self, now: Timestamp) -> u64 {
        now.0 - now.0 % self.window
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<K, (u64, u64)>> {
        self.windows
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    fn usage(&self, allowed: bool, count: u64, window_start: u64, now: Timestamp) -> Usage {
        let reset_at = window_start + self.window;
        Usage {
            allowed,
            limit: self.limit,
            remaining: self.limit.saturating_sub(count),
            reset_at,
            reset_in: reset_at - now.0,
        }
    }
}

impl Usage {
    pub(crate) fn write_headers(&self, headers: &mut HeaderMap) {
        headers.insert("x-ratelimit-limit", HeaderValue::from(self.limit));
        headers.insert("x-ratelimit-remaining", HeaderValue::from(self.remaining));
        headers.insert("x-ratelimit-reset", HeaderValue::from(self.reset_at));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn limit_is_per_grant_and_resets_each_hour() {
        let limiter = RateLimiter::new();
        let grant = GrantId([1; 16]);
        let start = Timestamp(7200);
        for _ in 0..RATE_LIMIT_PER_HOUR {
            assert!(limiter.hit(grant, start).allowed);
        }
        let over = limiter.hit(grant, start.plus(10));
        assert!(!over.allowed);
        assert_eq!(over.remaining, 0);
        assert_eq!(over.reset_in, 3590);
        assert!(
            limiter.hit(GrantId([2; 16]), start).allowed,
            "other grants are unaffected"
        );
        assert!(
            limiter.hit(grant, start.plus(3600)).allowed,
            "a new window starts"
        );
    }

    #[test]
    fn release_takes_a_counted_hit_back() {
        let window = FixedWindow::with_limit(2, 900);
        let start = Timestamp(1_800_000_000);
        let first = window.hit("alice", start);
        let second = window.hit("alice", start.plus(1));
        assert!(first.allowed);
        assert!(second.allowed);
        assert_eq!(second.remaining, 0);
        assert_eq!(second.reset_in, 899);

        window.release(&"alice", &second);
        let again = window.hit("alice", start.plus(2));
        assert!(again.allowed, "the released hit can be used again");
        let over = window.hit("alice", start.plus(3));
        assert!(!over.allowed, "the limit is used up");
        window.release(&"alice", &over);
        assert!(
            !window.hit("alice", start.plus(4)).allowed,
            "releasing a hit that was not counted changes nothing"
        );

        let next = window.hit("alice", start.plus(900));
        assert_eq!(next.remaining, 1, "a new window starts empty");
        window.release(&"alice", &first);
        assert_eq!(
            window.hit("alice", start.plus(901)).remaining,
            0,
            "releasing a hit of an ended window changes nothing"
        );
    }
}
