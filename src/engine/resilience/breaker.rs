//! A circuit breaker per endpoint: after `threshold` consecutive failures it opens and refuses
//! calls for `cooldown`, then lets one probe through (half-open); a success closes it again.

use std::sync::{Mutex, MutexGuard, PoisonError};
use std::time::Duration;

use tokio::time::Instant;

use crate::engine::protocol::BreakerState;

/// What callers other than the probe are told to wait while the probe is in flight.
const PROBE_POLL: Duration = Duration::from_secs(1);

/// Shared by every agent on one endpoint; each step holds the lock only for a few comparisons.
#[derive(Debug)]
pub struct Breaker {
    threshold: u32,
    cooldown: Duration,
    state: Mutex<Circuit>,
}

#[derive(Debug, Default)]
struct Circuit {
    consecutive_failures: u32,
    /// When the breaker last opened; `None` while closed.
    opened_at: Option<Instant>,
    /// When the half-open probe was let through; `None` while no probe is in flight.
    probe_started: Option<Instant>,
}

impl Breaker {
    pub fn new(threshold: u32, cooldown: Duration) -> Self {
        Self {
            threshold: threshold.max(1),
            cooldown,
            state: Mutex::new(Circuit::default()),
        }
    }

    /// `Ok` if a call may go now; `Err(wait)` with the time until the next probe otherwise.
    /// Once the cooldown is over, exactly one caller gets `Ok` (the probe) and must report its
    /// outcome with `record_success` or `record_failure`. A probe that never reports (its call
    /// was dropped) is given up after another cooldown, so the breaker cannot stay stuck.
    pub fn try_pass(&self) -> Result<(), Duration> {
        let now = Instant::now();
        let mut circuit = self.lock();
        let Some(opened_at) = circuit.opened_at else {
            return Ok(());
        };
        if let Some(started) = circuit.probe_started {
            let lost_after = started + self.cooldown;
            if now < lost_after {
                return Err(PROBE_POLL.min(lost_after - now));
            }
        } else {
            let probe_at = opened_at + self.cooldown;
            if now < probe_at {
                return Err(probe_at - now);
            }
        }
        circuit.probe_started = Some(now);
        Ok(())
    }

    /// A call succeeded: the endpoint answers, so the breaker closes and the count restarts.
    pub fn record_success(&self) {
        *self.lock() = Circuit::default();
    }

    /// A call failed in a way that says the endpoint is unwell.
    pub fn record_failure(&self) {
        let now = Instant::now();
        let mut circuit = self.lock();
        circuit.consecutive_failures = circuit.consecutive_failures.saturating_add(1);
        match (circuit.opened_at, circuit.probe_started) {
            (None, _) => {
                if circuit.consecutive_failures >= self.threshold {
                    circuit.opened_at = Some(now);
                }
            }
            // The probe failed: open again with a fresh cooldown.
            (Some(_), Some(_)) => {
                circuit.opened_at = Some(now);
                circuit.probe_started = None;
            }
            // A call let through before the breaker opened failed late: the cooldown stands.
            (Some(_), None) => {}
        }
    }

    pub fn state(&self) -> BreakerState {
        let now = Instant::now();
        let circuit = self.lock();
        match (circuit.opened_at, circuit.probe_started) {
            (None, _) => BreakerState::Closed,
            (Some(_), Some(_)) => BreakerState::HalfOpen,
            (Some(opened_at), None) => {
                let probe_at = opened_at + self.cooldown;
                if now < probe_at {
                    BreakerState::Open {
                        probe_in: probe_at - now,
                    }
                } else {
                    // The next call will be let through as the probe.
                    BreakerState::HalfOpen
                }
            }
        }
    }

    /// Every step leaves the circuit consistent, so a panic elsewhere cannot poison it usefully.
    fn lock(&self) -> MutexGuard<'_, Circuit> {
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    use tokio::time::advance;

    const COOLDOWN: Duration = Duration::from_secs(30);

    fn breaker() -> Breaker {
        Breaker::new(5, COOLDOWN)
    }

    fn fail(breaker: &Breaker, times: u32) {
        for _ in 0..times {
            breaker.record_failure();
        }
    }

    #[tokio::test(start_paused = true)]
    async fn breaker_opens_after_five_consecutive_failures() {
        let b = breaker();
        fail(&b, 4);
        assert_eq!(b.state(), BreakerState::Closed);
        assert_eq!(b.try_pass(), Ok(()));
        b.record_failure();
        assert_eq!(b.state(), BreakerState::Open { probe_in: COOLDOWN });
        assert_eq!(b.try_pass(), Err(COOLDOWN));
    }

    #[tokio::test(start_paused = true)]
    async fn success_resets_the_count() {
        let b = breaker();
        fail(&b, 4);
        b.record_success();
        fail(&b, 4);
        assert_eq!(b.state(), BreakerState::Closed);
        assert_eq!(b.try_pass(), Ok(()));
        b.record_failure();
        assert!(matches!(b.state(), BreakerState::Open { .. }));
    }

    #[tokio::test(start_paused = true)]
    async fn open_breaker_refuses_until_cooldown_then_lets_one_probe() {
        let b = breaker();
        fail(&b, 5);
        advance(Duration::from_secs(10)).await;
        assert_eq!(b.try_pass(), Err(Duration::from_secs(20)));
        assert_eq!(
            b.state(),
            BreakerState::Open {
                probe_in: Duration::from_secs(20)
            }
        );

        advance(Duration::from_secs(20)).await;
        assert_eq!(b.state(), BreakerState::HalfOpen);
        assert_eq!(b.try_pass(), Ok(()), "the first caller is the probe");
        assert_eq!(b.state(), BreakerState::HalfOpen);
        assert_eq!(b.try_pass(), Err(PROBE_POLL), "others wait for the probe");
        assert_eq!(b.try_pass(), Err(PROBE_POLL));

        b.record_success();
        assert_eq!(b.state(), BreakerState::Closed);
        assert_eq!(b.try_pass(), Ok(()));
        fail(&b, 4);
        assert_eq!(b.state(), BreakerState::Closed, "the probe reset the count");
    }

    #[tokio::test(start_paused = true)]
    async fn failed_probe_reopens() {
        let b = breaker();
        fail(&b, 5);
        advance(COOLDOWN).await;
        assert_eq!(b.try_pass(), Ok(()));
        advance(Duration::from_secs(3)).await;
        b.record_failure();
        assert_eq!(b.state(), BreakerState::Open { probe_in: COOLDOWN });
        assert_eq!(
            b.try_pass(),
            Err(COOLDOWN),
            "a fresh cooldown from the failure"
        );
        advance(COOLDOWN).await;
        assert_eq!(b.try_pass(), Ok(()), "then one more probe");
    }

    #[tokio::test(start_paused = true)]
    async fn late_failure_of_an_earlier_call_does_not_extend_the_cooldown() {
        let b = breaker();
        fail(&b, 5);
        advance(Duration::from_secs(10)).await;
        b.record_failure();
        assert_eq!(b.try_pass(), Err(Duration::from_secs(20)));
    }

    #[tokio::test(start_paused = true)]
    async fn a_probe_that_never_reports_is_given_up_after_a_cooldown() {
        let b = breaker();
        fail(&b, 5);
        advance(COOLDOWN).await;
        assert_eq!(b.try_pass(), Ok(()));
        advance(COOLDOWN - Duration::from_millis(500)).await;
        assert_eq!(b.try_pass(), Err(Duration::from_millis(500)));
        advance(Duration::from_millis(500)).await;
        assert_eq!(b.try_pass(), Ok(()), "a new probe replaces the lost one");
    }

    #[tokio::test(start_paused = true)]
    async fn a_threshold_of_zero_opens_on_the_first_failure() {
        let b = Breaker::new(0, COOLDOWN);
        b.record_failure();
        assert!(matches!(b.state(), BreakerState::Open { .. }));
    }
}
