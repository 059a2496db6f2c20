#![allow(clippy::unwrap_used, clippy::expect_used)]
//! End to end against a real model: llama.cpp serving SmolLM2-135M behind its OpenAI API
//! (`../shared/llm/serve`, started by `.ci/run`, which sets TZZR_E2E_LLM_URL). A 135M model's
//! answers are poor: these tests check the protocol (streaming, tool-call plumbing, cancel,
//! health), never the content.

mod support;

use assert_cmd::Command;
use support::harness::{Harness, kinds};
use support::peers::llm_url;
use tzzr::engine::protocol::{AgentCommand, EventKind, Outcome, StoppedBy};

/// The answer of a turn that answered: a small model at `max_tokens: 48` may well be cut, and a
/// cut answer ends as stopped (its text kept), which is as much an answer as a finished one here.
fn answer(outcome: &Outcome) -> Option<&str> {
    match outcome {
        Outcome::Done { text }
        | Outcome::Stopped {
            text,
            reason: StoppedBy::MaxTokens,
        } => Some(text),
        _ => None,
    }
}

/// The server answers one request at a time: the tests take turns, so none waits on another's
/// generation.
static ONE_AT_A_TIME: tokio::sync::Mutex<()> = tokio::sync::Mutex::const_new(());

fn config(url: &str, tools: &str) -> String {
    format!(
        r#"
settings:
  timeout: 120
  max_retries: 1
agents:
  small:
    role: You are brief.
    provider: openai
    model: smollm2-135m-instruct
    api_base: {url}
    temperature: 0
    max_tokens: 48
    max_turns: 3
    tools: [{tools}]
"#
    )
}

#[tokio::test]
async fn a_real_model_streams_its_answer() {
    let Some(url) = llm_url() else { return };
    let _turn = ONE_AT_A_TIME.lock().await;
    let mut h = Harness::start(&config(&url, "")).await;
    let turn = h.prompt("small", "Say hello.");
    let events = h.until_finished(turn).await;
    let deltas = kinds(&events).iter().filter(|k| *k == "text_delta").count();
    assert!(
        deltas >= 2,
        "the answer arrives in pieces: {:?}",
        kinds(&events)
    );
    let outcome = h.outcome(&events);
    let text = answer(&outcome).unwrap_or_else(|| panic!("{events:?}"));
    assert!(!text.trim().is_empty());
    h.shutdown().await;
}

#[tokio::test]
async fn the_conversation_carries_over_to_the_next_prompt() {
    let Some(url) = llm_url() else { return };
    let _turn = ONE_AT_A_TIME.lock().await;
    let mut h = Harness::start(&config(&url, "")).await;
    for prompt in ["My name is Ada.", "What is my name?"] {
        let turn = h.prompt("small", prompt);
        let events = h.until_finished(turn).await;
        assert!(answer(&h.outcome(&events)).is_some(), "{events:?}");
    }
    let journal = h.read_log("small.jsonl");
    assert_eq!(journal.matches("\"event\":\"turn_finished\"").count(), 2);
    h.shutdown().await;
}

/// This server ignores `max_tokens` whenever `tools` are offered with `tool_choice: "auto"` (its
/// chatml-function-calling handler passes `max_tokens=None`), and a 135M model can then generate
/// until its context is full; so the real model gets its tools through v6's text protocol, which
/// is what such a model would use anyway. Native tool calls are covered against the mock server.
#[tokio::test]
async fn text_protocol_tool_calls_from_a_real_model_are_run_and_answered() {
    let Some(url) = llm_url() else { return };
    let _turn = ONE_AT_A_TIME.lock().await;
    let config =
        config(&url, "read").replace("max_turns: 3", "max_turns: 3\n    tool_protocol: text");
    let mut h = Harness::start(&config).await;
    h.write_file("notes.txt", "The code word is pelican.");
    let turn = h.prompt("small", "Use the read tool to read notes.txt.");
    let events = h.until_finished(turn).await;
    // Whatever the model writes, the turn ends, and every call it made got an answer.
    let requested = events
        .iter()
        .filter(|e| matches!(e.kind, EventKind::ToolCallRequested { .. }))
        .count();
    let finished = events
        .iter()
        .filter(|e| matches!(e.kind, EventKind::ToolCallFinished { .. }))
        .count();
    assert_eq!(requested, finished, "{:?}", kinds(&events));
    assert!(answer(&h.outcome(&events)).is_some(), "{events:?}");
    h.shutdown().await;
}

#[tokio::test]
async fn cancel_stops_a_real_generation() {
    let Some(url) = llm_url() else { return };
    let _turn = ONE_AT_A_TIME.lock().await;
    let mut h =
        Harness::start(&config(&url, "").replace("max_tokens: 48", "max_tokens: 200")).await;
    let turn = h.prompt("small", "Write a long story about the sea.");
    h.wait_for(turn, |k| matches!(k, EventKind::TextDelta { .. }))
        .await;
    h.command("small", AgentCommand::Cancel);
    let events = h.until_finished(turn).await;
    assert_eq!(h.outcome(&events), Outcome::Cancelled);
    h.shutdown().await;
}

#[test]
fn the_binary_answers_and_its_health_check_spends_nothing() {
    let Some(url) = llm_url() else { return };
    let _turn = ONE_AT_A_TIME.blocking_lock();
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("config.yaml"), config(&url, "")).unwrap();
    let run = |args: &[&str]| {
        Command::cargo_bin("tzzr")
            .unwrap()
            .current_dir(dir.path())
            .env("XDG_STATE_HOME", dir.path().join("state"))
            .args(args)
            .assert()
    };
    // Exit 0, or 1 with the answer kept when the small model ran into max_tokens.
    let out = run(&["--agent", "small", "--prompt", "Say hello."]);
    let output = out.get_output();
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        output.status.success() || (output.status.code() == Some(1) && stderr.contains("stopped")),
        "{output:?}"
    );
    assert!(!output.stdout.is_empty());
    run(&["--health"])
        .success()
        .stdout(predicates::str::contains("✅ small"));
}
