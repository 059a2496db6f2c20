#![allow(clippy::unwrap_used, clippy::expect_used)]
//! Fallback models against two in-process API servers: when the agent's own endpoint cannot
//! answer (breaker open, retries spent, no quota) the turn goes on with the next model, says
//! so, and books the cost to the model that answered.

mod support;

use pretty_assertions::assert_eq;
use support::harness::Harness;
use support::mock_llm::{MockLlm, MockReply};
use tzzr::engine::protocol::{AgentEvent, EventKind, FailureKind, Outcome};

/// An agent on `primary` whose fallback is `gpt-4o-mini` on `backup`.
fn config(primary: &MockLlm, backup: &MockLlm, settings: &str) -> String {
    format!(
        "settings:\n{settings}providers:\n  backup:\n    kind: openai\n    api_base: {}\nagents:\n  bot:\n    provider: openai\n    model: gpt-4o\n    api_base: {}\n    fallback:\n      - {{provider: backup, model: gpt-4o-mini}}\n",
        backup.openai_base(),
        primary.openai_base(),
    )
}

fn fallbacks_taken(events: &[AgentEvent]) -> Vec<(String, String, String)> {
    events
        .iter()
        .filter_map(|e| match &e.kind {
            EventKind::FallbackTaken { from, to, why } => {
                Some((from.clone(), to.clone(), why.clone()))
            }
            _ => None,
        })
        .collect()
}

fn usage_models(events: &[AgentEvent]) -> Vec<String> {
    events
        .iter()
        .filter_map(|e| match &e.kind {
            EventKind::Usage { model, .. } => Some(model.clone()),
            _ => None,
        })
        .collect()
}

#[tokio::test]
async fn a_failing_endpoint_falls_back_and_an_open_breaker_skips_it_next_turn() {
    let primary = MockLlm::start().await;
    let backup = MockLlm::start().await;
    primary.push(MockReply::status(500));
    let settings =
        "  max_retries: 0\n  circuit_breaker_threshold: 1\n  circuit_breaker_timeout: 60\n";
    let mut h = Harness::start(&config(&primary, &backup, settings)).await;

    let turn = h.prompt("bot", "hello");
    let events = h.until_finished(turn).await;
    assert_eq!(
        h.outcome(&events),
        Outcome::Done {
            text: "echo: hello".into()
        }
    );
    let taken = fallbacks_taken(&events);
    assert_eq!(taken.len(), 1, "{events:?}");
    assert_eq!(
        (taken[0].0.as_str(), taken[0].1.as_str()),
        ("openai/gpt-4o", "backup/gpt-4o-mini")
    );
    assert!(taken[0].2.contains("HTTP 500"), "{}", taken[0].2);
    assert_eq!(usage_models(&events), ["gpt-4o-mini"]);
    assert_eq!(backup.chat_requests()[0].json()["model"], "gpt-4o-mini");

    // The next turn starts from the agent's own model, whose breaker is still open.
    let turn = h.prompt("bot", "again");
    let events = h.until_finished(turn).await;
    assert!(h.outcome(&events).is_done(), "{events:?}");
    let taken = fallbacks_taken(&events);
    assert!(
        taken[0]
            .2
            .starts_with("circuit breaker open for openai 127.0.0.1:"),
        "{taken:?}"
    );
    assert_eq!(
        primary.chat_requests().len(),
        1,
        "the open breaker sent nothing"
    );
    assert_eq!(backup.chat_requests().len(), 2);
    // The second request carries the whole conversation, the first turn's answer included.
    let messages = backup.chat_requests()[1].json()["messages"].clone();
    assert_eq!(messages.as_array().unwrap().len(), 4, "{messages}");
    h.shutdown().await;
}

#[tokio::test]
async fn a_key_without_quota_is_not_retried_and_falls_back() {
    let primary = MockLlm::start().await;
    let backup = MockLlm::start().await;
    primary.push(MockReply::status(429).error_message(
        "You exceeded your current quota, please check your plan and billing details.",
    ));
    let mut h = Harness::start(&config(&primary, &backup, "  retry_delay: 0.01\n")).await;
    let turn = h.prompt("bot", "hello");
    let events = h.until_finished(turn).await;
    assert!(h.outcome(&events).is_done(), "{events:?}");
    assert_eq!(
        primary.chat_requests().len(),
        1,
        "waiting does not refill a quota"
    );
    let taken = fallbacks_taken(&events);
    assert!(taken[0].2.contains("no quota or credit left"), "{taken:?}");
    assert_eq!(usage_models(&events), ["gpt-4o-mini"]);
    h.shutdown().await;
}

#[tokio::test]
async fn without_a_fallback_a_key_without_quota_fails_as_quota() {
    let primary = MockLlm::start().await;
    primary.push(MockReply::status(429).error_message("You exceeded your current quota."));
    let config = format!(
        "agents:\n  bot:\n    provider: openai\n    model: gpt-4o\n    api_base: {}\n",
        primary.openai_base()
    );
    let mut h = Harness::start(&config).await;
    let turn = h.prompt("bot", "hello");
    let events = h.until_finished(turn).await;
    let Outcome::Failed { kind, .. } = h.outcome(&events) else {
        panic!("{events:?}")
    };
    assert_eq!(kind, FailureKind::Quota);
    h.shutdown().await;
}
