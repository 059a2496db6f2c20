//! A circuit breaker per endpoint: after `threshold` consecutive failures it opens and refuses
//! calls for `cooldown`, then lets one probe through (half-open); a success closes it again.

use std::sync::Mutex;
use std::time::Duration;

use crate::engine::protocol::BreakerState;

#[derive(Debug)]
pub struct Breaker {
    threshold: u32,
    cooldown: Duration,
    state: Mutex<()>,
}

impl Breaker {
    pub fn new(threshold: u32, cooldown: Duration) -> Self {
        let _ = (threshold, cooldown, &Mutex::new(()));
        todo!("Breaker::new")
    }

    /// `Ok` if a call may go now; `Err(wait)` with the time until the next probe otherwise.
    pub fn try_pass(&self) -> Result<(), Duration> {
        let _ = (&self.threshold, &self.cooldown, &self.state);
        todo!("Breaker::try_pass")
    }

    pub fn record_success(&self) {
        todo!("Breaker::record_success")
    }

    pub fn record_failure(&self) {
        todo!("Breaker::record_failure")
    }

    pub fn state(&self) -> BreakerState {
        todo!("Breaker::state")
    }
}
