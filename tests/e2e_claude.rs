#![allow(clippy::unwrap_used, clippy::expect_used)]
//! End to end with the real Claude Code CLI (TZZR_E2E_CLAUDE, installed by `.ci/run` from npm),
//! pointed at the in-process Anthropic server through the agent's `api_base`
//! (ANTHROPIC_BASE_URL for the child). Each test gets its own HOME, where the CLI keeps sessions.

mod support;

use std::path::Path;

use support::harness::{Harness, kinds};
use support::mock_llm::MockLlm;
use support::peers::claude_bin;
use tzzr::engine::protocol::{AgentCommand, EventKind, Outcome};

async fn start(claude: &Path, mock: &MockLlm, tools: &str, home: &Path) -> Harness {
    let config = format!(
        "settings:\n  max_retries: 1\n  timeout: 60\nagents:\n  cc:\n    role: You are brief.\n    provider: claude\n    model: claude-sonnet-4-5\n    api_base: {}\n    tools: [{tools}]\n",
        mock.anthropic_base()
    );
    Harness::start_with_env(
        &config,
        &[
            ("TZZR_CLAUDE_BIN", claude.to_str().unwrap()),
            ("ANTHROPIC_API_KEY", "sk-ant-e2e"),
            ("HOME", home.to_str().unwrap()),
            ("CLAUDE_CODE_DISABLE_NONESSENTIAL_TRAFFIC", "1"),
        ],
    )
    .await
}

#[tokio::test]
async fn the_real_cli_streams_an_answer_with_its_usage_and_cost() {
    let Some(claude) = claude_bin() else { return };
    let mock = MockLlm::start().await;
    let home = tempfile::tempdir().unwrap();
    let mut h = start(&claude, &mock, "", home.path()).await;
    let turn = h.prompt("cc", "hello there");
    let events = h.until_finished(turn).await;
    let Outcome::Done { text } = h.outcome(&events) else {
        panic!("{events:?}")
    };
    assert!(text.starts_with("echo: "), "{text}");
    let deltas = kinds(&events).iter().filter(|k| *k == "text_delta").count();
    assert!(deltas >= 2, "partial messages stream: {:?}", kinds(&events));
    let (cost, priced) = events
        .iter()
        .find_map(|e| match e.kind {
            EventKind::Usage {
                cost_usd, priced, ..
            } => Some((cost_usd, priced)),
            _ => None,
        })
        .expect("usage from the result line");
    assert!(priced && cost > 0.0, "the CLI's own cost: {cost}");
    let sent = mock.chat_requests();
    assert!(sent[0].path.starts_with("/v1/messages"), "{}", sent[0].path);
    assert_eq!(sent[0].json()["model"], "claude-sonnet-4-5");
    h.shutdown().await;
}

#[tokio::test]
async fn tool_calls_the_cli_runs_are_reported_with_their_results() {
    let Some(claude) = claude_bin() else { return };
    let mock = MockLlm::start().await;
    let home = tempfile::tempdir().unwrap();
    let mut h = start(&claude, &mock, "bash", home.path()).await;
    let turn = h.prompt("cc", r#"[[tool:Bash {"command":"echo hi"}]]"#);
    let events = h.until_finished(turn).await;
    let requested = events
        .iter()
        .find_map(|e| match &e.kind {
            EventKind::ToolCallRequested {
                tool,
                args,
                runs_in_provider,
                ..
            } => Some((tool.clone(), args.clone(), *runs_in_provider)),
            _ => None,
        })
        .expect("the CLI's tool call");
    assert_eq!(
        requested,
        (
            "Bash".to_owned(),
            serde_json::json!({"command": "echo hi"}),
            true
        )
    );
    let finished = events
        .iter()
        .find_map(|e| match &e.kind {
            EventKind::ToolCallFinished {
                tool, ok, output, ..
            } => Some((tool.clone(), *ok, output.clone())),
            _ => None,
        })
        .expect("its result");
    assert_eq!(finished, ("Bash".to_owned(), true, "hi".to_owned()));
    let Outcome::Done { text } = h.outcome(&events) else {
        panic!("{events:?}")
    };
    assert!(
        text.starts_with("tool results: ") && text.contains("=hi"),
        "{text}"
    );
    let tools: Vec<String> = mock.chat_requests()[0].json()["tools"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|t| t["name"].as_str().map(str::to_owned))
        .filter(|n| n != "DeferredToolPlaceholder")
        .collect();
    assert_eq!(
        tools,
        ["Bash"],
        "the agent gets exactly the tools its config names"
    );
    h.shutdown().await;
}

#[tokio::test]
async fn a_second_prompt_resumes_the_same_session() {
    let Some(claude) = claude_bin() else { return };
    let mock = MockLlm::start().await;
    let home = tempfile::tempdir().unwrap();
    let mut h = start(&claude, &mock, "", home.path()).await;
    for prompt in ["first turn", "second turn"] {
        let turn = h.prompt("cc", prompt);
        let events = h.until_finished(turn).await;
        assert!(h.outcome(&events).is_done(), "{events:?}");
    }
    let second = mock.chat_requests().last().unwrap().json().to_string();
    assert!(
        second.contains("first turn") && second.contains("echo: first turn"),
        "the history is re-sent"
    );
    h.shutdown().await;
}

#[tokio::test]
async fn an_api_error_is_retried_by_the_cli_and_then_reported() {
    let Some(claude) = claude_bin() else { return };
    let mock = MockLlm::start().await;
    let home = tempfile::tempdir().unwrap();
    let mut h = start(&claude, &mock, "", home.path()).await;
    let turn = h.prompt("cc", "[[status:429]]");
    let events = h.until_finished(turn).await;
    assert!(
        kinds(&events).contains(&"retry".to_owned()),
        "{:?}",
        kinds(&events)
    );
    let Outcome::Failed { error } = h.outcome(&events) else {
        panic!("{events:?}")
    };
    assert!(error.contains("429"), "{error}");
    h.shutdown().await;
}

#[tokio::test]
async fn cancel_kills_the_cli_and_the_agent_goes_on() {
    let Some(claude) = claude_bin() else { return };
    let mock = MockLlm::start().await;
    let home = tempfile::tempdir().unwrap();
    let mut h = start(&claude, &mock, "", home.path()).await;
    let turn = h.prompt("cc", "[[delay:30000]] slow");
    while mock.chat_requests().is_empty() {
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
    h.command("cc", AgentCommand::Cancel);
    let events = h.until_finished(turn).await;
    assert_eq!(h.outcome(&events), Outcome::Cancelled);
    let turn = h.prompt("cc", "after the cancel");
    let events = h.until_finished(turn).await;
    assert!(h.outcome(&events).is_done(), "{events:?}");
    h.shutdown().await;
}
