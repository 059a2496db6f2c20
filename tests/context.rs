#![allow(clippy::unwrap_used, clippy::expect_used)]
//! Context windows against the in-process API server: a small window held through a long
//! conversation with tool calls, a server that answers "too long", compaction on demand, and a
//! message no compaction can save.

mod support;

use std::collections::BTreeSet;

use serde_json::Value;
use support::harness::Harness;
use support::mock_llm::{MockLlm, MockReply};
use tzzr::engine::protocol::{AgentCommand, AgentEvent, EventKind, FailureKind, Outcome};

/// Only the summariser's requests carry this (its instructions).
const SUMMARISER: &str = "You compact conversations";
const SUMMARY: &str =
    "The user asked to read notes.txt many times; it says the meeting is at noon.";

fn tiny_agent(mock: &MockLlm, window: u64) -> String {
    format!(
        "settings:\n  retry_delay: 0.01\n  rate_limit_per_minute: 0\nmodels:\n  tiny:\n    context_window: {window}\nagents:\n  bot:\n    role: You help.\n    provider: openai\n    model: tiny\n    api_base: {}\n    tools: [read]\n",
        mock.openai_base()
    )
}

fn compactions(events: &[AgentEvent]) -> Vec<(u64, u64, usize)> {
    events
        .iter()
        .filter_map(|e| match e.kind {
            EventKind::Compacted {
                before_tokens,
                after_tokens,
                messages,
            } => Some((before_tokens, after_tokens, messages)),
            _ => None,
        })
        .collect()
}

fn last_context(events: &[AgentEvent]) -> Option<(u64, u64)> {
    events.iter().rev().find_map(|e| match e.kind {
        EventKind::Context { used, window, .. } => Some((used, window)),
        _ => None,
    })
}

/// The ids of the tool calls an OpenAI request's assistant messages make, and of the results
/// its tool messages carry.
fn tool_ids(request: &Value) -> (BTreeSet<String>, BTreeSet<String>) {
    let mut calls = BTreeSet::new();
    let mut results = BTreeSet::new();
    for message in request["messages"].as_array().unwrap() {
        if let Some(list) = message["tool_calls"].as_array() {
            calls.extend(list.iter().map(|c| c["id"].as_str().unwrap().to_owned()));
        }
        if message["role"] == "tool" {
            results.insert(message["tool_call_id"].as_str().unwrap().to_owned());
        }
    }
    (calls, results)
}

fn is_summary_request(body: &Value) -> bool {
    body.to_string().contains(SUMMARISER)
}

#[tokio::test]
async fn a_two_thousand_token_window_holds_through_thirty_turns_with_tool_calls() {
    let mock = MockLlm::start().await;
    mock.answer_matching(SUMMARISER, MockReply::text([SUMMARY]));
    let mut h = Harness::start(&tiny_agent(&mock, 2_000)).await;
    h.write_file("notes.txt", &"The meeting is at noon. ".repeat(16));
    let mut all = Vec::new();
    for i in 0..30 {
        let turn = h.prompt(
            "bot",
            &format!("turn {i}: what do the notes say? [[tool:read {{\"path\":\"notes.txt\"}}]]"),
        );
        let events = h.until_finished(turn).await;
        assert!(h.outcome(&events).is_done(), "turn {i}: {events:?}");
        all.extend(events);
    }

    let compacted = compactions(&all);
    assert!(compacted.len() >= 3, "compacted only {compacted:?}");
    for (before, after, messages) in &compacted {
        assert!(after < before && *messages >= 1, "{compacted:?}");
    }
    let requests = mock.chat_requests();
    let mut summarised = 0;
    for (i, request) in requests.iter().enumerate() {
        let body = request.json();
        // The mock counts a request's tokens as its bytes / 4: no call passes the window.
        let tokens = body.to_string().len() / 4;
        assert!(tokens <= 2_000, "request {i} is {tokens} tokens");
        if is_summary_request(body) {
            summarised += 1;
            continue;
        }
        let (calls, results) = tool_ids(body);
        assert_eq!(
            calls, results,
            "request {i}: every tool call with its result"
        );
    }
    assert_eq!(summarised, compacted.len());
    let last = requests
        .iter()
        .rev()
        .find(|r| !is_summary_request(r.json()))
        .unwrap();
    assert!(
        last.json().to_string().contains(SUMMARY),
        "the summary is in the request"
    );
    let (used, window) = last_context(&all).unwrap();
    assert_eq!(window, 2_000);
    assert!(used <= 2_000);
    h.shutdown().await;
}

#[tokio::test]
async fn a_server_that_says_too_long_is_compacted_and_retried_once() {
    let mock = MockLlm::start().await;
    mock.answer_matching(SUMMARISER, MockReply::text([SUMMARY]));
    let mut h = Harness::start(&tiny_agent(&mock, 100_000)).await;
    for i in 0..3 {
        let details = "that matters a great deal ".repeat(12);
        let turn = h.prompt("bot", &format!("remember fact {i}, {details}"));
        let events = h.until_finished(turn).await;
        assert!(h.outcome(&events).is_done());
    }
    mock.push(MockReply::status(400).error_message(
        "This model's maximum context length is 4096 tokens. However, your messages resulted in 5000 tokens.",
    ));
    let turn = h.prompt("bot", "and now?");
    let events = h.until_finished(turn).await;
    assert_eq!(
        h.outcome(&events),
        Outcome::Done {
            text: "echo: and now?".into()
        }
    );
    assert_eq!(compactions(&events).len(), 1, "{events:?}");
    let requests = mock.chat_requests();
    let retried = requests.last().unwrap().json().to_string();
    assert!(retried.contains(SUMMARY) && retried.contains("and now?"));
    assert!(!retried.contains("remember fact 0"));
    h.shutdown().await;
}

#[tokio::test]
async fn a_message_too_big_for_any_compaction_fails_clearly_and_the_next_turn_works() {
    let mock = MockLlm::start().await;
    mock.answer_matching(SUMMARISER, MockReply::text([SUMMARY]));
    let mut h = Harness::start(&tiny_agent(&mock, 2_000)).await;
    let turn = h.prompt("bot", &"word ".repeat(4_000));
    let events = h.until_finished(turn).await;
    let Outcome::Failed {
        error,
        kind: FailureKind::Context,
    } = h.outcome(&events)
    else {
        panic!("{events:?}");
    };
    assert!(
        error.contains("does not fit the model's context window") && error.contains("shorten"),
        "{error}"
    );
    assert!(mock.chat_requests().is_empty(), "nothing too long was sent");

    let turn = h.prompt("bot", "hello again");
    let events = h.until_finished(turn).await;
    assert_eq!(
        h.outcome(&events),
        Outcome::Done {
            text: "echo: hello again".into()
        }
    );
    h.shutdown().await;
}

#[tokio::test]
async fn compact_on_demand_summarises_and_the_context_drops() {
    let mock = MockLlm::start().await;
    mock.answer_matching(SUMMARISER, MockReply::text([SUMMARY]));
    let mut h = Harness::start(&tiny_agent(&mock, 100_000)).await;
    let mut last = None;
    for i in 0..6 {
        let turn = h.prompt("bot", &format!("fact {i}: {}", "detail ".repeat(50)));
        let events = h.until_finished(turn).await;
        last = last_context(&events);
    }
    let (before, _) = last.unwrap();
    h.command("bot", AgentCommand::Compact);
    let turn = h.prompt("bot", "what do you know?");
    let events = h.until_finished(turn).await;
    assert!(h.outcome(&events).is_done());
    let request = mock.chat_requests().last().unwrap().json().to_string();
    assert!(request.contains(SUMMARY));
    assert!(!request.contains("fact 0"));
    let (after, _) = last_context(&events).unwrap();
    assert!(after < before, "{after} < {before}");
    h.shutdown().await;
}

#[tokio::test]
async fn a_scripted_agent_compacts_with_its_next_scripted_reply_as_the_summary() {
    let mut h = Harness::start(
        r#"
models:
  tiny:
    context_window: 4000
agents:
  demo:
    provider: scripted
    model: tiny
    script:
      - "The first answer, with a few words in it."
      - "The second answer, with a few more words in it."
      - "Summary: two questions were answered."
      - "The third answer."
"#,
    )
    .await;
    let long = "with all the details that matter ".repeat(10);
    let mut turn = h.prompt("demo", &format!("first question {long}"));
    h.until_finished(turn).await;
    turn = h.prompt("demo", &format!("second question {long}"));
    let events = h.until_finished(turn).await;
    let (before, window) = last_context(&events).unwrap();
    assert_eq!(window, 4_000);

    h.command("demo", AgentCommand::Compact);
    h.wait_for(turn, |k| matches!(k, EventKind::Compacted { .. }))
        .await;
    // The compaction is reported under the last turn, which has finished.
    let compaction = h.so_far(turn);
    let third = h.prompt("demo", "third question");
    let events = h.until_finished(third).await;
    let compacted = compactions(&compaction);
    assert_eq!(compacted.len(), 1, "{events:?}");
    let (_, after, messages) = compacted[0];
    assert!(after < before && messages >= 2, "{compacted:?}");
    assert_eq!(
        h.outcome(&events),
        Outcome::Done {
            text: "The third answer.".into()
        }
    );
    let log = h.read_log("demo.md");
    assert!(log.contains("COMPACTED"), "{log}");
    h.shutdown().await;
}

#[tokio::test]
async fn a_local_server_that_reports_its_context_size_sets_the_window() {
    use support::mock_llm::MockOptions;
    let mock = MockLlm::start_with(MockOptions::default().n_ctx(3_072))
        .await
        .unwrap();
    let mut h = Harness::start(&format!(
        "settings:\n  rate_limit_per_minute: 0\nagents:\n  bot:\n    provider: openai\n    model: some-local-gguf\n    api_base: {}\n",
        mock.openai_base()
    ))
    .await;
    // The probe runs in the background: until it answers, the stated default holds.
    let mut seen = None;
    for i in 0..50 {
        let turn = h.prompt("bot", &format!("hello {i}"));
        let events = h.until_finished(turn).await;
        let window = events.iter().rev().find_map(|e| match e.kind {
            EventKind::Context { window, source, .. } => Some((window, source)),
            _ => None,
        });
        if window.is_some_and(|(w, _)| w != 8_192) {
            seen = window;
            break;
        }
        tokio::task::yield_now().await;
    }
    assert_eq!(
        seen,
        Some((3_072, tzzr::engine::protocol::WindowSource::Server))
    );
    let probes = mock
        .requests()
        .into_iter()
        .filter(|r| r.path == "/props")
        .count();
    assert_eq!(probes, 1, "asked once per endpoint and model");
    h.shutdown().await;
}
