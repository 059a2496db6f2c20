#![allow(clippy::unwrap_used, clippy::expect_used)]
//! Money as a user meets it, against the in-process server: agents running at once never
//! together spend past a budget, and the user hears once when 80 % of it is gone.

mod support;

use support::harness::{Harness, notices};
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

fn usage_events(events: &[AgentEvent]) -> Vec<(String, f64, bool, bool)> {
    events
        .iter()
        .filter_map(|e| match &e.kind {
            EventKind::Usage {
                model,
                cost_usd,
                priced,
                local,
                ..
            } => Some((model.clone(), *cost_usd, *priced, *local)),
            _ => None,
        })
        .collect()
}

#[tokio::test]
async fn a_scripted_agent_costs_nothing_even_under_a_tiny_budget() {
    let mut h = Harness::start(
        "settings:\n  budget_usd: 0.000001\nagents:\n  demo:\n    provider: scripted\n    script: [\"a long scripted answer that once cost Sonnet prices\"]\n",
    )
    .await;
    let turn = h.prompt("demo", "hello");
    let events = h.until_finished(turn).await;
    assert!(h.outcome(&events).is_done(), "{events:?}");
    let [(_, cost, priced, local)] = usage_events(&events)[..] else {
        panic!("{events:?}");
    };
    assert_eq!((cost, priced, local), (0.0, true, false));
    assert_eq!(h.orchestrator().costs().total_cost_usd, 0.0);
    h.shutdown().await;
}

#[tokio::test]
async fn an_unknown_model_on_this_machine_is_local_and_free_a_known_one_is_priced() {
    let mock = MockLlm::start().await;
    let yaml = format!(
        "settings:\n  budget_usd: 1\nagents:\n  mine:\n    provider: openai\n    model: qwen3-coder-local\n    api_base: {base}\n  proxied:\n    provider: openai\n    model: gpt-4o\n    api_base: {base}\n",
        base = mock.openai_base()
    );
    let mut h = Harness::start(&yaml).await;
    let status = h.orchestrator().status();
    assert_eq!(
        status.agents["mine"].notes,
        Vec::<String>::new(),
        "a local model is no hole in the budget"
    );

    let turn = h.prompt("mine", "hi");
    let events = h.until_finished(turn).await;
    assert_eq!(
        usage_events(&events),
        [("qwen3-coder-local".to_owned(), 0.0, true, true)]
    );
    let turn = h.prompt("proxied", "hi");
    let events = h.until_finished(turn).await;
    let [(_, cost, priced, local)] = usage_events(&events)[..] else {
        panic!("{events:?}");
    };
    assert!(
        cost > 0.0 && priced && !local,
        "a proxy on localhost still costs money"
    );
    h.shutdown().await;
}

#[tokio::test]
async fn an_unpriced_remote_model_under_a_budget_is_a_warning_at_start() {
    let yaml = "settings:\n  budget_usd: 5\nagents:\n  far:\n    provider: openai\n    model: mystery-model-9\n    api_base: https://llm.example.invalid/v1\n";
    let mut h = Harness::start_with_env(yaml, &[("OPENAI_API_KEY", "sk-test")]).await;
    let warning = "no price known for model `mystery-model-9`: its calls count as $0 against budget_usd; give it input and output prices under models: in the config";
    let status = h.orchestrator().status();
    assert!(
        status.agents["far"].notes.iter().any(|n| n == warning),
        "{:?}",
        status.agents["far"].notes
    );
    let turn = h.prompt("far", "hi");
    h.wait_for(
        turn,
        |k| matches!(k, EventKind::Notice { text } if text == warning),
    )
    .await;
    let events = h.so_far(turn);
    let first_call = events
        .iter()
        .position(|e| {
            matches!(
                e.kind,
                EventKind::TextDelta { .. } | EventKind::Usage { .. } | EventKind::Endpoint { .. }
            )
        })
        .unwrap_or(events.len());
    let notice = events
        .iter()
        .position(|e| matches!(&e.kind, EventKind::Notice { text } if text == warning))
        .unwrap();
    assert!(
        notice < first_call,
        "told before the first call: {events:?}"
    );
    h.command("far", tzzr::engine::protocol::AgentCommand::Cancel);
    h.until_finished(turn).await;
    h.shutdown().await;
}

#[tokio::test]
async fn a_server_that_sends_no_usage_is_still_counted_and_marked_as_estimated() {
    let mock = MockLlm::start().await;
    // llama.cpp before usage in streams: text, a finish reason, [DONE]; no usage at all.
    mock.push(MockReply::raw_frames([
        r#"data: {"choices":[{"index":0,"delta":{"content":"Hello there"}}]}"#.to_owned() + "\n\n",
        r#"data: {"choices":[{"index":0,"delta":{},"finish_reason":"stop"}]}"#.to_owned() + "\n\n",
        "data: [DONE]\n\n".to_owned(),
    ]));
    let yaml = format!(
        "agents:\n  local:\n    provider: openai\n    model: some-local-model\n    api_base: {}\n",
        mock.openai_base()
    );
    let mut h = Harness::start(&yaml).await;
    let turn = h.prompt("local", "hi");
    let events = h.until_finished(turn).await;
    assert!(h.outcome(&events).is_done(), "{events:?}");
    let estimated: Vec<bool> = events
        .iter()
        .filter_map(|e| match &e.kind {
            EventKind::Usage { estimated, .. } => Some(*estimated),
            _ => None,
        })
        .collect();
    assert_eq!(estimated, [true], "one usage event, marked as an estimate");
    let costs = h.orchestrator().costs();
    assert_eq!(
        (costs.total_requests, costs.total_estimated_requests),
        (1, 1)
    );
    assert!(costs.total_input_tokens > 0 && costs.total_output_tokens > 0);
    h.shutdown().await;
}
