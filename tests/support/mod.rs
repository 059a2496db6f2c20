//! What the integration tests share: the mock LLM server, endpoints that point at it, a harness
//! that drives a real orchestrator, and the real peers of the end-to-end tests.
#![allow(
    dead_code,
    reason = "each test crate uses a different part of the support code"
)]

pub mod harness;
pub mod mock_llm;
pub mod peers;
pub mod tmux;

use std::time::Duration;

use tzzr::engine::env::ApiKey;
use tzzr::engine::provider::bounds::Bounds;
use tzzr::engine::resilience::endpoint::Dialect;
use tzzr::engine::resilience::{Endpoint, Limiter, RetryPolicy};

/// An endpoint with no limits, no breaker and no retries, as a provider test wants it.
pub fn endpoint(
    dialect: Dialect,
    base_url: &str,
    key: Option<&str>,
    timeout: Duration,
) -> Endpoint {
    // reqwest is built without a default TLS provider; installing one twice is harmless.
    let _ = rustls::crypto::ring::default_provider().install_default();
    Endpoint {
        label: format!("mock {base_url}"),
        dialect,
        base_url: base_url.to_owned(),
        key: key.map(ApiKey::new),
        http: reqwest::Client::new(),
        timeout,
        limiter: Limiter::new(None, None, None),
        breaker: None,
        retry: RetryPolicy {
            max_retries: 0,
            base_delay: Duration::from_millis(1),
            max_delay: Duration::from_millis(1),
        },
        bounds: Bounds::default(),
        reachability: Default::default(),
    }
}

/// An OpenAI-dialect endpoint on the mock, with a generous timeout.
pub fn openai_endpoint(mock: &mock_llm::MockLlm) -> Endpoint {
    endpoint(
        Dialect::OpenAi,
        &mock.openai_base(),
        Some("sk-test"),
        Duration::from_secs(30),
    )
}

/// An Anthropic-dialect endpoint on the mock, with a generous timeout.
pub fn anthropic_endpoint(mock: &mock_llm::MockLlm) -> Endpoint {
    endpoint(
        Dialect::Anthropic,
        &mock.anthropic_base(),
        Some("sk-ant-test"),
        Duration::from_secs(30),
    )
}
