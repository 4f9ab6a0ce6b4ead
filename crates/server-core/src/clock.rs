use std::sync::atomic::{AtomicU64, Ordering};

use portcullis_grants::Timestamp;

/// The source of the current time.
///
/// The server reads the time once per request through this trait and passes it
/// down; nothing else in the core crates reads the clock.
pub trait Clock: Send + Sync {
    /// Returns the current time.
    fn now(&self) -> Timestamp;
}

/// The system's wall clock.
#[derive(Clone, Copy, Debug, Default)]
pub struct SystemClock;

impl Clock for SystemClock {
    #[expect(
        clippy::disallowed_methods,
        reason = "the one place that reads the wall clock"
    )]
    fn now(&self) -> Timestamp {
        let since_epoch = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap_or_default();
        Timestamp(since_epoch.as_secs())
    }
}

/// A clock that moves only when told to, for tests of expiry without sleeping.
///
/// ```
/// use portcullis_server_core::{Clock, ManualClock};
///
/// let clock = ManualClock::new(1_000);
/// clock.advance(601);
/// assert_eq!(clock.now().0, 1_601);
/// ```
#[derive(Debug, Default)]
pub struct ManualClock(AtomicU64);

impl ManualClock {
    /// Creates a clock reading `seconds` since the Unix epoch.
    pub fn new(seconds: u64) -> Self {
        Self(AtomicU64::new(seconds))
    }

    /// Moves the clock forward.
    pub fn advance(&self, seconds: u64) {
        self.0.fetch_add(seconds, Ordering::SeqCst);
    }

    /// Sets the clock.
    pub fn set(&self, seconds: u64) {
        self.0.store(seconds, Ordering::SeqCst);
    }
}

impl Clock for ManualClock {
    fn now(&self) -> Timestamp {
        Timestamp(self.0.load(Ordering::SeqCst))
    }
}

impl<C: Clock + ?Sized> Clock for std::sync::Arc<C> {
    fn now(&self) -> Timestamp {
        (**self).now()
    }
}
