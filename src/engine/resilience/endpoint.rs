//! One API endpoint (dialect + base URL + key) and the limiter, breaker and retry policy that
//! every agent using it shares.

use std::time::Duration;

use crate::engine::env::ApiKey;
use crate::engine::protocol::{BreakerState, LimiterSnapshot};
use crate::engine::provider::bounds::Bounds;

use super::{Breaker, Limiter, Reachability, RetryPolicy};

/// The wire format an endpoint speaks.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Dialect {
    OpenAi,
    Anthropic,
}

#[derive(Debug)]
pub struct Endpoint {
    /// Short name for panes and messages, e.g. `openai api.openai.com`.
    pub label: String,
    pub dialect: Dialect,
    /// Without a trailing slash. OpenAI dialect: includes the version (`…/v1`); Anthropic: root.
    pub base_url: String,
    pub key: Option<ApiKey>,
    pub http: reqwest::Client,
    /// Longest wait for the first byte, and between two bytes of a stream.
    pub timeout: Duration,
    pub limiter: Limiter,
    /// `None` when `enable_circuit_breaker` is off.
    pub breaker: Option<Breaker>,
    pub retry: RetryPolicy,
    /// What one call may take from the server: bytes, tokens, time.
    pub bounds: Bounds,
    /// Whether its server answers, as the last probe or call found.
    pub reachability: Reachability,
}

impl Endpoint {
    pub fn snapshot(&self) -> (BreakerState, LimiterSnapshot) {
        let breaker = self
            .breaker
            .as_ref()
            .map_or(BreakerState::Closed, Breaker::state);
        (breaker, self.limiter.snapshot())
    }
}
