//! The shared endpoints: breaker state (with the time of the next probe), limiter gauges, what
//! the server said of its limits (with the time of its reset), retries and the last error seen.

use std::time::Duration;

use crate::engine::orchestrator::EndpointStatus;
use crate::engine::protocol::{BreakerState, EndpointHealth, LimiterSnapshot, ServerQuota};

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
    /// When the server restores its request and token limits, as its headers said.
    pub requests_reset_at: Option<jiff::Timestamp>,
    pub tokens_reset_at: Option<jiff::Timestamp>,
    /// Until when a 429 holds every call back.
    pub paused_until: Option<jiff::Timestamp>,
    pub last_error: Option<String>,
    /// What the last background probe found, and when; `None` before the first.
    pub probe: Option<ProbeView>,
}

/// One background probe's result as the Endpoints pane shows it.
#[derive(Clone, Debug, PartialEq)]
pub struct ProbeView {
    pub health: EndpointHealth,
    pub detail: String,
    pub checked_at: jiff::Timestamp,
}

impl EndpointView {
    pub fn new(status: &EndpointStatus) -> Self {
        let mut view = Self::named(&status.label);
        view.base_url = status.base_url.clone();
        view.agents = status.agents.clone();
        view.update(status.breaker, status.limiter, jiff::Timestamp::now());
        view
    }

    /// An endpoint first heard of in an event.
    pub fn named(label: &str) -> Self {
        Self {
            label: label.to_owned(),
            base_url: String::new(),
            agents: Vec::new(),
            breaker: Breaker::Closed,
            limiter: LimiterSnapshot::default(),
            requests_reset_at: None,
            tokens_reset_at: None,
            paused_until: None,
            last_error: None,
            probe: None,
        }
    }

    /// A background probe's result (sent once per agent on the endpoint: the same each time).
    pub fn probed(&mut self, health: EndpointHealth, detail: String, at: jiff::Timestamp) {
        self.probe = Some(ProbeView {
            health,
            detail,
            checked_at: at,
        });
    }

    pub fn update(&mut self, breaker: BreakerState, limiter: LimiterSnapshot, at: jiff::Timestamp) {
        let reset_at =
            |quota: Option<ServerQuota>| quota.and_then(|q| q.reset_in).map(|wait| later(at, wait));
        self.breaker = breaker_at(breaker, at);
        self.requests_reset_at = reset_at(limiter.server_requests);
        self.tokens_reset_at = reset_at(limiter.server_tokens);
        self.paused_until = limiter.paused_for.map(|wait| later(at, wait));
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
