#![allow(clippy::unwrap_used, clippy::expect_used)]
//! How turns end when the model does not finish cleanly, as a front end sees it: answers cut by
//! max_tokens or withheld, tool calls whose arguments were cut, too many calls in one reply,
//! and the loop guard. Driven by the scripted provider, and the in-process API server where the
//! wire matters.

mod support;

use pretty_assertions::assert_eq;
use support::harness::{Done, Harness, done_in, notices};
use support::mock_llm::{MockLlm, MockReply, MockStop};
use tzzr::engine::protocol::{FailureKind, Outcome, StoppedBy};

#[tokio::test]
async fn an_answer_cut_by_max_tokens_is_stopped_not_done() {
    let mut h = Harness::start(
        r#"
agents:
  writer:
    provider: scripted
    script:
      - text: "The list: one, two,"
        stop: max_tokens
"#,
    )
    .await;
    let turn = h.prompt("writer", "list everything");
    let events = h.until_finished(turn).await;
    assert_eq!(
        h.outcome(&events),
        Outcome::Stopped {
            text: "The list: one, two,".into(),
            reason: StoppedBy::MaxTokens,
        }
    );
    let log = h.read_log("writer.md");
    assert!(log.contains("| STOPPED"), "{log}");
    assert!(log.contains("cut off at max_tokens"), "{log}");
    h.shutdown().await;
}

#[tokio::test]
async fn a_filtered_or_refused_answer_is_stopped_and_its_calls_are_not_run() {
    let mut h = Harness::start(
        r#"
agents:
  careful:
    provider: scripted
    tools: [write]
    approval: auto
    script:
      - text: "I can't help with that."
        stop: refusal
      - text: "partial"
        stop: content_filter
        tool_calls: [{tool: write, params: {path: out.txt, content: hi}}]
      - "fine"
"#,
    )
    .await;
    let turn = h.prompt("careful", "one");
    let events = h.until_finished(turn).await;
    assert_eq!(
        h.outcome(&events),
        Outcome::Stopped {
            text: "I can't help with that.".into(),
            reason: StoppedBy::Refusal,
        }
    );
    let turn = h.prompt("careful", "two");
    let events = h.until_finished(turn).await;
    assert!(matches!(
        h.outcome(&events),
        Outcome::Stopped {
            reason: StoppedBy::ContentFilter,
            ..
        }
    ));
    assert_eq!(done_in(&events), []);
    assert!(!h.dir().join("out.txt").exists());
    // The conversation stayed whole: the next turn goes on.
    let turn = h.prompt("careful", "three");
    let events = h.until_finished(turn).await;
    assert_eq!(
        h.outcome(&events),
        Outcome::Done {
            text: "fine".into()
        }
    );
    h.shutdown().await;
}

#[tokio::test]
async fn a_cut_tool_call_is_never_run_and_the_model_is_asked_to_retry_it() {
    let mut h = Harness::start(
        r#"
agents:
  writer:
    provider: scripted
    tools: [write]
    approval: auto
    script:
      - text: "Writing."
        stop: max_tokens
        tool_calls: [{tool: write, params: {path: big.txt, content: "the start of"}, cut: true}]
      - text: "Writing it in parts."
        tool_calls: [{tool: write, params: {path: big.txt, content: part one}}]
      - "Written."
"#,
    )
    .await;
    let turn = h.prompt("writer", "write a big file");
    let events = h.until_finished(turn).await;
    let done = done_in(&events);
    assert_eq!(done.len(), 2, "{done:?}");
    assert!(!done[0].ok);
    assert!(
        done[0].output.contains("cut off by max_tokens")
            && done[0].output.contains("again with smaller arguments"),
        "{}",
        done[0].output
    );
    assert!(done[1].ok, "the retried call ran: {:?}", done[1]);
    assert_eq!(
        std::fs::read_to_string(h.dir().join("big.txt")).unwrap(),
        "part one"
    );
    assert_eq!(
        h.outcome(&events),
        Outcome::Done {
            text: "Written.".into()
        }
    );
    h.shutdown().await;
}

#[tokio::test]
async fn a_tool_call_cut_twice_stops_the_turn() {
    let mut h = Harness::start(
        r#"
agents:
  writer:
    provider: scripted
    tools: [write]
    approval: auto
    script:
      - text: "Writing."
        stop: max_tokens
        tool_calls: [{tool: write, params: {path: big.txt}, cut: true}]
      - text: "Writing again."
        stop: max_tokens
        tool_calls: [{tool: write, params: {path: big.txt}, cut: true}]
      - "never reached"
"#,
    )
    .await;
    let turn = h.prompt("writer", "write a big file");
    let events = h.until_finished(turn).await;
    assert_eq!(
        h.outcome(&events),
        Outcome::Stopped {
            text: "Writing again.".into(),
            reason: StoppedBy::MaxTokens,
        }
    );
    let done = done_in(&events);
    assert_eq!(done.len(), 2);
    assert!(done[1].output.contains("cut off by max_tokens again"));
    assert!(!h.dir().join("big.txt").exists());
    h.shutdown().await;
}

#[tokio::test]
async fn only_the_first_32_calls_of_one_reply_run_and_every_call_is_answered() {
    let calls: String = (0..40)
        .map(|i| format!("          - {{tool: list_dir, params: {{path: d{i}}}}}\n"))
        .collect();
    let config = format!(
        "agents:\n  busy:\n    provider: scripted\n    tools: [list_dir]\n    script:\n      - tool_calls:\n{calls}      - done\n"
    );
    let mut h = Harness::start(&config).await;
    let turn = h.prompt("busy", "look everywhere");
    let events = h.until_finished(turn).await;
    let ran = done_in(&events);
    assert_eq!(ran.len(), 32, "the other 8 are answered without events");
    assert!(
        notices(&events)
            .iter()
            .any(|n| n.contains("40 tool calls in one reply; the first 32")),
        "{:?}",
        notices(&events)
    );
    assert_eq!(
        h.outcome(&events),
        Outcome::Done {
            text: "done".into()
        }
    );
    h.shutdown().await;
}

#[tokio::test]
async fn the_same_call_three_times_in_a_row_stops_the_turn() {
    let mut h = Harness::start(
        r#"
agents:
  stuck:
    provider: scripted
    tools: [read]
    max_turns: 20
    script:
      - tool_calls: [{tool: read, params: {path: notes.txt}}]
"#,
    )
    .await;
    h.write_file("notes.txt", "same as before");
    let turn = h.prompt("stuck", "read until you are sure");
    let events = h.until_finished(turn).await;
    let Outcome::Failed { error, kind } = h.outcome(&events) else {
        panic!("{events:?}")
    };
    assert_eq!(kind, FailureKind::Loop);
    assert_eq!(
        error,
        "stopped by the loop guard: the model asked for `read` with the same arguments 3 times in a row (settings.loop_guard: 3; 0 turns it off)"
    );
    let done = done_in(&events);
    assert_eq!(
        done.iter().filter(|d| d.ok).count(),
        2,
        "two reads ran, the third did not: {done:?}"
    );
    assert_eq!(
        done.last(),
        Some(&Done {
            tool: "read".into(),
            ok: false,
            output: format!("not run: {error}"),
        })
    );
    h.shutdown().await;
}

#[tokio::test]
async fn loop_guard_zero_lets_the_model_repeat_until_max_turns() {
    let mut h = Harness::start(
        r#"
settings:
  loop_guard: 0
agents:
  stuck:
    provider: scripted
    tools: [read]
    max_turns: 5
    script:
      - tool_calls: [{tool: read, params: {path: notes.txt}}]
"#,
    )
    .await;
    h.write_file("notes.txt", "same as before");
    let turn = h.prompt("stuck", "read");
    let events = h.until_finished(turn).await;
    assert!(h.outcome(&events).is_done(), "{events:?}");
    assert_eq!(done_in(&events).iter().filter(|d| d.ok).count(), 4);
    h.shutdown().await;
}

#[tokio::test]
async fn an_answer_cut_by_max_tokens_over_http_is_stopped_for_both_dialects() {
    let mock = MockLlm::start().await;
    mock.push_all([
        MockReply::text(["The list: one,"]).stop(MockStop::MaxTokens),
        MockReply::text(["The list: one,"]).stop(MockStop::MaxTokens),
    ]);
    let config = format!(
        "agents:\n  gpt:\n    provider: openai\n    model: gpt-4o\n    api_base: {}\n  claude:\n    provider: anthropic\n    model: claude-sonnet-4-5\n    api_base: {}\n",
        mock.openai_base(),
        mock.anthropic_base()
    );
    let mut h = Harness::start_with_env(&config, &[("ANTHROPIC_API_KEY", "sk-ant-test")]).await;
    for agent in ["gpt", "claude"] {
        let turn = h.prompt(agent, "list everything");
        let events = h.until_finished(turn).await;
        assert_eq!(
            h.outcome(&events),
            Outcome::Stopped {
                text: "The list: one,".into(),
                reason: StoppedBy::MaxTokens,
            },
            "{agent}: {events:?}"
        );
    }
    h.shutdown().await;
}
