//! The shared endpoints: breaker state (with the time of the next probe), limiter gauges, retries
//! and the last error seen on each.

use std::time::Duration;

use crate::engine::orchestrator::EndpointStatus;
use crate::engine::protocol::{BreakerState, LimiterSnapshot};

/// The breaker as drawn: an open breaker knows when it probes again.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Breaker {
    Closed,
    Open { probe_at: jiff::Timestamp },
    HalfOpen,
}

#[derive(Clone, Debug, PartialEq)]
pub struct EndpointView {
    pub label: String,
    pub base_url: String,
    pub agents: Vec<String>,
    pub breaker: Breaker,
    pub limiter: LimiterSnapshot,
    pub last_error: Option<String>,
}

impl EndpointView {
    pub fn new(status: &EndpointStatus) -> Self {
        Self {
            label: status.label.clone(),
            base_url: status.base_url.clone(),
            agents: status.agents.clone(),
            breaker: breaker_at(status.breaker, jiff::Timestamp::now()),
            limiter: status.limiter,
            last_error: None,
        }
    }

    /// An endpoint first heard of in an event.
    pub fn named(label: &str) -> Self {
        Self {
            label: label.to_owned(),
            base_url: String::new(),
            agents: Vec::new(),
            breaker: Breaker::Closed,
            limiter: LimiterSnapshot::default(),
            last_error: None,
        }
    }

    pub fn update(&mut self, breaker: BreakerState, limiter: LimiterSnapshot, at: jiff::Timestamp) {
        self.breaker = breaker_at(breaker, at);
        self.limiter = limiter;
    }
}

fn breaker_at(state: BreakerState, at: jiff::Timestamp) -> Breaker {
    match state {
        BreakerState::Closed => Breaker::Closed,
        BreakerState::HalfOpen => Breaker::HalfOpen,
        BreakerState::Open { probe_in } => Breaker::Open {
            probe_at: later(at, probe_in),
        },
    }
}

/// `at` plus `wait`, saturating at the end of time rather than failing.
pub fn later(at: jiff::Timestamp, wait: Duration) -> jiff::Timestamp {
    jiff::SignedDuration::try_from(wait)
        .ok()
        .and_then(|d| at.checked_add(d).ok())
        .unwrap_or(jiff::Timestamp::MAX)
}
