//! When to try a failed call again, and after how long: exponential backoff with jitter, and the
//! server's `Retry-After` when it sent one.

use std::time::Duration;

#[derive(Clone, Copy, Debug, PartialEq)]
pub struct RetryPolicy {
    pub max_retries: u32,
    pub base_delay: Duration,
    pub max_delay: Duration,
}

impl RetryPolicy {
    /// The wait before retry number `retry` (1-based), or `None` when retries are used up.
    /// A `Retry-After` from the server wins over the backoff (capped at `max_delay`).
    pub fn delay(&self, retry: u32, retry_after: Option<Duration>) -> Option<Duration> {
        let _ = (retry, retry_after);
        todo!("RetryPolicy::delay")
    }
}
