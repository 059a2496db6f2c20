#![allow(clippy::unwrap_used, clippy::expect_used)]
//! The engine against the in-process API server, both dialects: memory across turns, native tool
//! loops, retries, the circuit breaker, cancel, fallbacks, shared endpoints and costs, checked on
//! the events a front end receives and on the requests the server saw.

mod support;

use std::time::Duration;

use pretty_assertions::assert_eq;
use serde_json::{Value, json};
use support::harness::{Harness, kinds};
use support::mock_llm::{MockLlm, MockReply, MockToolCall, MockUsage};
use tzzr::engine::protocol::{AgentCommand, EventKind, FailureKind, Outcome};

fn openai_agent(mock: &MockLlm, extra: &str) -> String {
    format!(
        "settings:\n  retry_delay: 0.01\nagents:\n  bot:\n    role: You help.\n    provider: openai\n    model: gpt-4o\n    api_base: {}\n    tools: [read, list_dir]\n{extra}",
        mock.openai_base()
    )
}

fn anthropic_agent(mock: &MockLlm) -> String {
    format!(
        "agents:\n  claude:\n    role: You help.\n    provider: anthropic\n    model: claude-sonnet-4-5\n    api_base: {}\n    tools: [read]\n",
        mock.anthropic_base()
    )
}

/// The roles and contents of an OpenAI request's messages.
fn roles(request: &Value) -> Vec<String> {
    request["messages"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["role"].as_str().unwrap().to_owned())
        .collect()
}

#[tokio::test]
async fn the_agent_remembers_earlier_turns() {
    let mock = MockLlm::start().await;
    let mut h = Harness::start(&openai_agent(&mock, "")).await;
    for prompt in ["my name is Ada", "what is my name?"] {
        let turn = h.prompt("bot", prompt);
        let events = h.until_finished(turn).await;
        assert!(h.outcome(&events).is_done(), "{events:?}");
    }
    let second = &mock.chat_requests()[1];
    assert_eq!(
        roles(second.json()),
        ["system", "user", "assistant", "user"]
    );
    assert_eq!(
        second.json()["messages"][2]["content"],
        "echo: my name is Ada"
    );
    assert_eq!(
        second.json()["messages"][0]["content"],
        "# bot\n\nYou help."
    );
    h.shutdown().await;
}

#[tokio::test]
async fn native_tool_calls_run_and_their_results_go_back_to_the_model() {
    let mock = MockLlm::start().await;
    mock.push_all([
        MockReply::text(["Let me read both."]).with_tool_calls([
            MockToolCall::new("read", json!({"path": "a.txt"})),
            MockToolCall::new("list_dir", json!({"path": "."})),
        ]),
        MockReply::echo(),
    ]);
    let mut h = Harness::start(&openai_agent(&mock, "")).await;
    h.write_file("a.txt", "alpha");
    let turn = h.prompt("bot", "look");
    let events = h.until_finished(turn).await;
    let tool_events: Vec<String> = kinds(&events)
        .into_iter()
        .filter(|k| k.starts_with("tool_call"))
        .collect();
    assert_eq!(
        tool_events,
        [
            "tool_call_requested",
            "tool_call_finished",
            "tool_call_requested",
            "tool_call_finished"
        ]
    );
    let follow_up = &mock.chat_requests()[1];
    assert_eq!(
        roles(follow_up.json()),
        ["system", "user", "assistant", "tool", "tool"]
    );
    assert_eq!(follow_up.json()["messages"][3]["content"], "alpha");
    let Outcome::Done { text } = h.outcome(&events) else {
        panic!("{events:?}")
    };
    assert!(text.starts_with("tool results: "), "{text}");
    assert_eq!(follow_up.json()["tools"].as_array().unwrap().len(), 2);
    assert_eq!(follow_up.json()["tool_choice"], "auto");
    h.shutdown().await;
}

#[tokio::test]
async fn a_rate_limited_call_is_retried_after_retry_after() {
    let mock = MockLlm::start().await;
    mock.push_all([MockReply::status(429).retry_after("1"), MockReply::echo()]);
    let mut h = Harness::start(&openai_agent(&mock, "")).await;
    let turn = h.prompt("bot", "hi");
    let events = h.until_finished(turn).await;
    let retry = events
        .iter()
        .find_map(|e| match &e.kind {
            EventKind::Retry {
                attempt,
                wait,
                reason,
            } => Some((*attempt, *wait, reason.clone())),
            _ => None,
        })
        .expect("a retry event");
    assert_eq!((retry.0, retry.1), (1, Duration::from_secs(1)));
    assert!(retry.2.contains("429"), "{}", retry.2);
    assert_eq!(
        h.outcome(&events),
        Outcome::Done {
            text: "echo: hi".into()
        }
    );
    let endpoint = events
        .iter()
        .rev()
        .find_map(|e| match &e.kind {
            EventKind::Endpoint { limiter, .. } => Some(*limiter),
            _ => None,
        })
        .unwrap();
    assert_eq!(endpoint.retries, 1);
    h.shutdown().await;
}

#[tokio::test]
async fn the_breaker_opens_after_repeated_failures_and_refuses_without_calling() {
    let mock = MockLlm::start().await;
    mock.push_all([MockReply::status(500), MockReply::status(500)]);
    let extra = "";
    let config = openai_agent(&mock, extra).replace(
        "settings:\n  retry_delay: 0.01\n",
        "settings:\n  max_retries: 0\n  circuit_breaker_threshold: 2\n  circuit_breaker_timeout: 60\n",
    );
    let mut h = Harness::start(&config).await;
    for _ in 0..2 {
        let turn = h.prompt("bot", "hi");
        let events = h.until_finished(turn).await;
        assert!(matches!(h.outcome(&events), Outcome::Failed { .. }));
    }
    let turn = h.prompt("bot", "hi");
    let events = h.until_finished(turn).await;
    let Outcome::Failed { error, kind } = h.outcome(&events) else {
        panic!("{events:?}")
    };
    assert_eq!(kind, FailureKind::Server);
    assert!(
        error.starts_with("circuit breaker open for openai 127.0.0.1:"),
        "{error}"
    );
    assert_eq!(mock.chat_requests().len(), 2, "the third call never left");
    h.shutdown().await;
}

#[tokio::test]
async fn cancel_stops_a_stalled_stream_and_the_prompt_is_not_replayed() {
    let mock = MockLlm::start().await;
    mock.push(MockReply::stall());
    let mut h = Harness::start(&openai_agent(&mock, "")).await;
    let turn = h.prompt("bot", "this will hang");
    while mock.chat_requests().is_empty() {
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    h.command("bot", AgentCommand::Cancel);
    let events = h.until_finished(turn).await;
    assert_eq!(h.outcome(&events), Outcome::Cancelled);
    let turn = h.prompt("bot", "next");
    let events = h.until_finished(turn).await;
    assert_eq!(
        h.outcome(&events),
        Outcome::Done {
            text: "echo: next".into()
        }
    );
    assert_eq!(roles(mock.chat_requests()[1].json()), ["system", "user"]);
    h.shutdown().await;
}

#[tokio::test]
async fn a_server_without_tool_support_gets_the_text_protocol() {
    let mock = MockLlm::start().await;
    mock.push_all([
        MockReply::status(400)
            .error_message("registry.ollama.ai/library/llama3 does not support tools"),
        MockReply::text(["```tool\n{\"tool\": \"read\", \"params\": {\"path\": \"a.txt\"}}\n```"]),
        MockReply::text(["It says alpha."]),
    ]);
    let mut h = Harness::start(&openai_agent(&mock, "")).await;
    h.write_file("a.txt", "alpha");
    let turn = h.prompt("bot", "read a.txt");
    let events = h.until_finished(turn).await;
    assert!(events.iter().any(|e| matches!(&e.kind,
        EventKind::Notice { text } if text.contains("text protocol"))));
    assert_eq!(
        h.outcome(&events),
        Outcome::Done {
            text: "It says alpha.".into()
        }
    );
    let requests = mock.chat_requests();
    let second = requests[1].json();
    assert!(
        second.get("tools").is_none(),
        "no native tools after the fallback"
    );
    assert!(
        second["messages"][0]["content"]
            .as_str()
            .unwrap()
            .contains("## Available Tools")
    );
    let third = requests[2].json();
    let results = third["messages"].as_array().unwrap().last().unwrap()["content"]
        .as_str()
        .unwrap();
    assert!(
        results.starts_with("Tool results:\n\n**read** ✅\nalpha"),
        "{results}"
    );
    h.shutdown().await;
}

#[tokio::test]
async fn the_anthropic_dialect_runs_the_same_tool_loop_and_prices_cache_tokens() {
    let mock = MockLlm::start().await;
    mock.push_all([
        MockReply::tool_calls([MockToolCall::new("read", json!({"path": "a.txt"}))]),
        MockReply::text(["done"]).usage(MockUsage {
            input: 1000,
            output: 100,
            cache_read: 10_000,
            cache_write: 2_000,
        }),
    ]);
    let mut h = Harness::start(&anthropic_agent(&mock)).await;
    h.write_file("a.txt", "alpha");
    let turn = h.prompt("claude", "read it");
    let events = h.until_finished(turn).await;
    assert_eq!(
        h.outcome(&events),
        Outcome::Done {
            text: "done".into()
        }
    );
    let follow_up = &mock.chat_requests()[1];
    let content = &follow_up.json()["messages"][2]["content"][0];
    assert_eq!(content["type"], "tool_result");
    assert_eq!(content["content"], "alpha");
    let (cost, priced) = events
        .iter()
        .rev()
        .find_map(|e| match e.kind {
            EventKind::Usage {
                cost_usd, priced, ..
            } => Some((cost_usd, priced)),
            _ => None,
        })
        .unwrap();
    // claude-sonnet-4-5: $3 in, $15 out, $0.30 cache read, $3.75 cache write per million.
    let expected = (1000.0 * 3.0 + 100.0 * 15.0 + 10_000.0 * 0.3 + 2_000.0 * 3.75) / 1e6;
    assert!(
        priced && (cost - expected).abs() < 1e-9,
        "{cost} vs {expected}"
    );
    h.shutdown().await;
}

#[tokio::test]
async fn agents_on_one_base_url_and_key_share_one_endpoint() {
    let mock = MockLlm::start().await;
    let config = format!(
        "agents:\n  a: {{provider: openai, model: m, api_base: {0}}}\n  b: {{provider: openai, model: m, api_base: {0}}}\n  c: {{provider: anthropic, model: m, api_base: {1}}}\n",
        mock.openai_base(),
        mock.anthropic_base()
    );
    let mut h = Harness::start(&config).await;
    let endpoints = h.orchestrator().endpoints();
    let shared: Vec<(usize, Vec<String>)> = endpoints
        .iter()
        .map(|e| (e.agents.len(), e.agents.clone()))
        .collect();
    assert_eq!(
        shared,
        [
            (2, vec!["a".to_owned(), "b".to_owned()]),
            (1, vec!["c".to_owned()])
        ]
    );
    h.shutdown().await;
}

#[tokio::test]
async fn all_agents_answer_in_parallel_and_costs_add_up_per_agent_and_model() {
    let mock = MockLlm::start().await;
    let config = format!(
        "agents:\n  a: {{provider: openai, model: gpt-4o, api_base: {0}}}\n  b: {{provider: openai, model: gpt-4o-mini, api_base: {0}}}\n",
        mock.openai_base()
    );
    let mut h = Harness::start(&config).await;
    let turns = [h.prompt("a", "one"), h.prompt("b", "two")];
    for turn in turns {
        let events = h.until_finished(turn).await;
        assert!(h.outcome(&events).is_done());
    }
    let costs = h.orchestrator().costs();
    assert_eq!(costs.total_requests, 2);
    assert_eq!(costs.by_agent.len(), 2);
    assert!(costs.by_model.contains_key("gpt-4o") && costs.by_model.contains_key("gpt-4o-mini"));
    assert!(costs.total_cost_usd > 0.0);
    h.shutdown().await;
}

#[tokio::test]
async fn reload_keeps_unchanged_agents_and_their_memory_and_restarts_the_rest() {
    let mock = MockLlm::start().await;
    let agents = |b_role: &str, with_c: bool| {
        let mut text = format!(
            "agents:\n  a: {{provider: openai, model: m, api_base: {0}}}\n  b: {{role: {b_role}, provider: scripted}}\n",
            mock.openai_base()
        );
        if with_c {
            text.push_str("  c: {provider: scripted}\n");
        }
        text
    };
    let mut h = Harness::start(&agents("first", false)).await;
    let turn = h.prompt("a", "remember me");
    let events = h.until_finished(turn).await;
    assert!(h.outcome(&events).is_done());

    let new_text = agents("second", true);
    let path = h.dir().join("config.yaml");
    let env = tzzr::engine::env::Environment::isolated::<[(&str, &str); 0], &str, &str>([]);
    let config = tzzr::engine::config::load_str_with(&new_text, &path, &|k: &str| env.get(k))
        .unwrap()
        .config;
    let summary = h.orchestrator().reload(config, &env).await.unwrap();
    assert_eq!(
        (
            summary.kept,
            summary.restarted,
            summary.added,
            summary.removed
        ),
        (
            vec!["a".to_owned()],
            vec!["b".to_owned()],
            vec!["c".to_owned()],
            vec![]
        )
    );
    let names: Vec<String> = h.orchestrator().agents().map(|a| a.name.clone()).collect();
    assert_eq!(names, ["a", "b", "c"]);

    let turn = h.prompt("a", "do you remember?");
    let events = h.until_finished(turn).await;
    assert!(h.outcome(&events).is_done());
    let last = mock.chat_requests().last().unwrap().json().clone();
    assert_eq!(
        roles(&last),
        ["system", "user", "assistant", "user"],
        "a kept its conversation"
    );
    let turn = h.prompt("c", "hi");
    let events = h.until_finished(turn).await;
    assert!(h.outcome(&events).is_done());
    h.shutdown().await;
}
