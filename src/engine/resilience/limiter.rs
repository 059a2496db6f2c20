//! The rate limiter of one endpoint: requests and tokens per minute (sliding window) and calls in
//! flight, shared by every agent on it. Waiting happens outside the lock.

use std::collections::VecDeque;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::sync::{OwnedSemaphorePermit, Semaphore};
use tokio::time::Instant;

use crate::engine::protocol::LimiterSnapshot;

#[derive(Debug)]
pub struct Limiter {
    rpm: Option<u32>,
    tpm: Option<u64>,
    concurrency: Option<u32>,
    /// Calls in flight; `None` when concurrency is unlimited.
    slots: Option<Arc<Semaphore>>,
    state: Mutex<Window>,
}

/// The last minute of calls, and counters for the pane.
#[derive(Debug, Default)]
struct Window {
    /// Start time and estimated tokens of each call started in the last minute.
    calls: VecDeque<(Instant, u64)>,
    queued: u32,
    retries: u32,
}

/// Held for the duration of a call; frees the concurrency slot when dropped.
#[derive(Debug)]
pub struct LimiterPermit {
    _slot: Option<OwnedSemaphorePermit>,
}

impl Limiter {
    /// `None` for any limit means no limit.
    pub fn new(rpm: Option<u32>, tpm: Option<u64>, concurrency: Option<u32>) -> Self {
        Self {
            rpm,
            tpm,
            concurrency,
            slots: concurrency.map(|n| Arc::new(Semaphore::new(n.max(1) as usize))),
            state: Mutex::new(Window::default()),
        }
    }

    /// Waits until a call estimated at `tokens` tokens may start. `on_wait` is told how long the
    /// wait will be each time the limiter makes the caller wait.
    pub async fn acquire(
        &self,
        tokens: u64,
        on_wait: &mut (dyn FnMut(Duration) + Send),
    ) -> LimiterPermit {
        let _ = (
            tokens,
            on_wait,
            &self.state,
            self.rpm,
            self.tpm,
            self.concurrency,
            &self.slots,
        );
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
