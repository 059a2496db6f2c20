#![allow(clippy::unwrap_used, clippy::expect_used)]
//! Money as a user meets it, against the in-process server: agents running at once never
//! together spend past a budget, and the user hears once when 80 % of it is gone.

mod support;

use support::harness::Harness;
use support::mock_llm::{MockLlm, MockReply, MockUsage};
use tzzr::engine::protocol::{AgentEvent, EventKind, Outcome};

/// gpt-4o: $2.50 in, $10 out per million tokens. With `max_tokens: 1000` a call's worst case
/// is $0.01 of output plus its prompt (a few dozen tokens): ten fit in $0.105, eleven do not.
const BUDGET: &str = "0.105";

fn team(mock: &MockLlm, agents: usize) -> String {
    let mut yaml = format!(
        "settings:\n  budget_usd: {BUDGET}\n  max_retries: 0\n  enable_circuit_breaker: false\nagents:\n"
    );
    for i in 0..agents {
        yaml.push_str(&format!(
            "  a{i:02}:\n    role: You help.\n    provider: openai\n    model: gpt-4o\n    max_tokens: 1000\n    api_base: {}\n",
            mock.openai_base()
        ));
    }
    yaml
}

fn notices(events: &[AgentEvent]) -> Vec<String> {
    events
        .iter()
        .filter_map(|e| match &e.kind {
            EventKind::Notice { text } => Some(text.clone()),
            _ => None,
        })
        .collect()
}

#[tokio::test]
async fn fifty_agents_at_once_on_a_budget_worth_ten_calls_make_ten_calls() {
    let mock = MockLlm::start().await;
    // Each call really costs its worst case (or more), so however the calls interleave, the
    // budget pays for exactly ten.
    let costly = MockUsage {
        input: 100,
        output: 1000,
        ..MockUsage::default()
    };
    mock.push_all((0..50).map(|_| MockReply::echo().usage(costly)));
    let mut h = Harness::start(&team(&mock, 50)).await;
    let turns: Vec<_> = (0..50)
        .map(|i| h.prompt(&format!("a{i:02}"), "hi"))
        .collect();
    let mut done = 0;
    let mut refusals = Vec::new();
    let mut all_notices = Vec::new();
    for turn in turns {
        let events = h.until_finished(turn).await;
        all_notices.extend(notices(&events));
        match h.outcome(&events) {
            Outcome::Done { .. } => done += 1,
            Outcome::Failed { error, .. } => refusals.push(error),
            other => panic!("{other:?}"),
        }
    }

    assert_eq!(mock.chat_requests().len(), 10, "the server saw ten calls");
    assert_eq!((done, refusals.len()), (10, 40));
    for error in &refusals {
        assert!(
            error.starts_with("budget: this call (up to $0.01")
                && error.contains("settings.budget_usd"),
            "{error}"
        );
    }
    let costs = h.orchestrator().costs();
    assert_eq!(costs.total_requests, 10);
    assert!(
        costs.total_cost_usd <= 0.105,
        "spent {} of {BUDGET}",
        costs.total_cost_usd
    );
    let warnings = all_notices
        .iter()
        .filter(|n| n.contains("of settings.budget_usd is spent"))
        .count();
    assert_eq!(warnings, 1, "once per budget: {all_notices:?}");
    h.shutdown().await;
}

#[tokio::test]
async fn failed_calls_give_their_hold_back() {
    let mock = MockLlm::start().await;
    // Eleven held worst cases would not fit the budget: each must be released.
    mock.push_all((0..11).map(|_| MockReply::status(500)));
    let mut h = Harness::start(&team(&mock, 1)).await;
    for _ in 0..11 {
        let turn = h.prompt("a00", "hi");
        let events = h.until_finished(turn).await;
        let Outcome::Failed { error, .. } = h.outcome(&events) else {
            panic!("{events:?}");
        };
        assert!(error.contains("HTTP 500"), "not a budget refusal: {error}");
    }
    let turn = h.prompt("a00", "hi");
    let events = h.until_finished(turn).await;
    assert!(h.outcome(&events).is_done(), "{events:?}");
    h.shutdown().await;
}
