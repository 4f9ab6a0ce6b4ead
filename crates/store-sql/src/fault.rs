//! Failure injection between the statements of a transaction, for tests only.
//!
//! Outside `cfg(test)`, [`Faults`] has no fields and [`Faults::check`] always
//! returns `Ok`, so release builds carry no hook.

use portcullis_server_core::StoreError;

/// A point between two statements of an atomic write.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum FaultPoint {
    /// In `redeem_code`, after the code is marked consumed.
    CodeConsumed,
    /// In `redeem_code`, after the grant is inserted.
    GrantInserted,
    /// In `redeem_code` and `rotate_refresh`, after the new access token is inserted.
    AccessInserted,
    /// In `rotate_refresh`, after the old refresh token is marked rotated.
    RefreshRotated,
    /// In `revoke_grant`, after the grant row is deleted.
    GrantDeleted,
}

/// The failure armed for the next time a write reaches a [`FaultPoint`].
#[derive(Debug, Default)]
pub(crate) struct Faults {
    #[cfg(test)]
    armed: std::sync::Mutex<Option<FaultPoint>>,
}

impl Faults {
    /// Makes the next write that reaches `point` fail there, once.
    #[cfg(test)]
    pub(crate) fn arm(&self, point: FaultPoint) {
        *self
            .armed
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner) = Some(point);
    }

    /// Fails with [`StoreError::Backend`] if a failure is armed at `point`.
    #[cfg(test)]
    pub(crate) fn check(&self, point: FaultPoint) -> Result<(), StoreError> {
        let mut armed = self
            .armed
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        if *armed == Some(point) {
            *armed = None;
            return Err(StoreError::Backend(
                format!("injected failure at {point:?}").into(),
            ));
        }
        Ok(())
    }

    /// Does nothing: failures are injected in tests only.
    #[cfg(not(test))]
    #[inline(always)]
    pub(crate) fn check(&self, _point: FaultPoint) -> Result<(), StoreError> {
        Ok(())
    }
}
