//! The rate limiter of one endpoint: requests and tokens per minute (sliding window) and calls in
//! flight, shared by every agent on it. Waiting happens outside the lock.

use std::sync::Mutex;
use std::time::Duration;

use crate::engine::protocol::LimiterSnapshot;

#[derive(Debug)]
pub struct Limiter {
    state: Mutex<()>,
}

/// Held for the duration of a call; frees the concurrency slot when dropped.
#[derive(Debug)]
pub struct LimiterPermit {
    _private: (),
}

impl Limiter {
    /// `None` for any limit means no limit.
    pub fn new(rpm: Option<u32>, tpm: Option<u64>, concurrency: Option<u32>) -> Self {
        let _ = (rpm, tpm, concurrency);
        todo!("Limiter::new")
    }

    /// Waits until a call estimated at `tokens` tokens may start. `on_wait` is told how long the
    /// wait will be each time the limiter makes the caller wait.
    pub async fn acquire(
        &self,
        tokens: u64,
        on_wait: &mut (dyn FnMut(Duration) + Send),
    ) -> LimiterPermit {
        let _ = (tokens, on_wait, &self.state);
        todo!("Limiter::acquire")
    }

    /// Corrects the window with the tokens a call really used.
    pub fn record_tokens(&self, estimated: u64, actual: u64) {
        let _ = (estimated, actual);
        todo!("Limiter::record_tokens")
    }

    pub fn note_retry(&self) {
        todo!("Limiter::note_retry")
    }

    pub fn snapshot(&self) -> LimiterSnapshot {
        todo!("Limiter::snapshot")
    }
}
