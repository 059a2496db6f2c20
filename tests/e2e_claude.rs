#![allow(clippy::unwrap_used, clippy::expect_used)]
//! End to end with the real Claude Code CLI (TZZR_E2E_CLAUDE, installed by `.ci/run` from npm),
//! pointed at the in-process Anthropic server through the agent's `api_base`
//! (ANTHROPIC_BASE_URL for the child). Each test gets its own HOME, where the CLI keeps sessions.

mod support;

use std::path::Path;

use support::harness::{Done, Harness, asked_in, done_in, kinds};
use support::mock_llm::MockLlm;
use support::peers::claude_bin;
use tzzr::engine::protocol::{AgentCommand, Approval, EventKind, Outcome};

async fn start(claude: &Path, mock: &MockLlm, tools: &str, home: &Path) -> Harness {
    let config = format!(
        "settings:\n  max_retries: 1\n  timeout: 60\nagents:\n  cc:\n    role: You are brief.\n    provider: claude\n    model: claude-sonnet-4-5\n    api_base: {}\n    tools: [{tools}]\n",
        mock.anthropic_base()
    );
    start_config(claude, &config, home).await
}

/// Starts `config` with the real CLI, and tzzr's bridge served by the tzzr binary.
async fn start_config(claude: &Path, config: &str, home: &Path) -> Harness {
    Harness::start_with_env(
        config,
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
    let Outcome::Failed { error, .. } = h.outcome(&events) else {
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

fn tool_events(events: &[tzzr::engine::protocol::AgentEvent]) -> Vec<(String, String, bool)> {
    events
        .iter()
        .filter_map(|e| match &e.kind {
            EventKind::ToolCallRequested {
                call,
                tool,
                runs_in_provider,
                ..
            } => Some((
                "requested".to_owned(),
                format!("{tool} {call}"),
                *runs_in_provider,
            )),
            EventKind::ToolCallFinished { call, tool, ok, .. } => {
                Some(("finished".to_owned(), format!("{tool} {call}"), *ok))
            }
            _ => None,
        })
        .collect()
}

#[tokio::test]
async fn the_cli_calls_tzzrs_list_dir_through_the_bridge_and_it_is_traced_once() {
    let Some(claude) = claude_bin() else { return };
    let mock = MockLlm::start().await;
    let home = tempfile::tempdir().unwrap();
    let mut h = start(&claude, &mock, "read, list_dir", home.path()).await;
    h.write_file("listed.txt", "x");
    let turn = h.prompt("cc", r#"[[tool:mcp__tzzr__list_dir {"path":"."}]]"#);
    let events = h.until_finished(turn).await;
    let traced = tool_events(&events);
    assert_eq!(traced.len(), 2, "one request and one result: {traced:?}");
    let (kind, what, in_provider) = &traced[0];
    assert_eq!(kind, "requested");
    assert!(
        what.starts_with("list_dir toolu_"),
        "shown as list_dir, with the CLI's id: {what}"
    );
    assert!(!in_provider, "it ran in tzzr");
    assert_eq!(traced[1], ("finished".to_owned(), what.clone(), true));
    let output = events
        .iter()
        .find_map(|e| match &e.kind {
            EventKind::ToolCallFinished { output, .. } => Some(output.clone()),
            _ => None,
        })
        .unwrap();
    assert!(output.contains("listed.txt"), "{output}");
    let Outcome::Done { text } = h.outcome(&events) else {
        panic!("{events:?}")
    };
    assert!(
        text.contains("listed.txt"),
        "the CLI got tzzr's answer: {text}"
    );
    let log = h.read_log("cc.md");
    assert_eq!(log.matches("**list_dir**").count(), 1, "{log}");
    assert!(!log.contains("**mcp__tzzr__"), "{log}");
    h.shutdown().await;
}

#[tokio::test]
async fn the_cli_calls_tzzrs_http_request_through_the_bridge_under_tzzrs_guard() {
    let Some(claude) = claude_bin() else { return };
    let mock = MockLlm::start().await;
    let home = tempfile::tempdir().unwrap();
    let config = |allow_private: bool| {
        format!(
            "settings:\n  max_retries: 1\n  timeout: 60\n  http_allow_private: {allow_private}\nagents:\n  cc:\n    role: You are brief.\n    provider: claude\n    model: claude-sonnet-4-5\n    api_base: {}\n    tools: [http_request]\n    approval: {{http_request: auto}}\n",
            mock.anthropic_base()
        )
    };
    let call = format!(
        r#"[[tool:mcp__tzzr__http_request {{"url":"{}/v1/models"}}]]"#,
        mock.anthropic_base()
    );
    let finished = |events: &[tzzr::engine::protocol::AgentEvent]| {
        events
            .iter()
            .find_map(|e| match &e.kind {
                EventKind::ToolCallFinished {
                    tool, ok, output, ..
                } => Some((tool.clone(), *ok, output.clone())),
                _ => None,
            })
            .unwrap()
    };

    let mut h = start_config(&claude, &config(true), home.path()).await;
    let turn = h.prompt("cc", &call);
    let events = h.until_finished(turn).await;
    let (tool, ok, output) = finished(&events);
    assert_eq!(tool, "http_request");
    assert!(ok, "{output}");
    assert!(output.starts_with("HTTP/1.1 200 OK"), "{output}");
    assert!(output.contains("mock-model"), "{output}");
    assert_eq!(h.read_log("cc.md").matches("**http_request**").count(), 1);
    h.shutdown().await;

    // The same call by default: tzzr's address guard refuses 127.0.0.1 for the CLI too.
    let mut h = start_config(&claude, &config(false), home.path()).await;
    let turn = h.prompt("cc", &call);
    let events = h.until_finished(turn).await;
    let (_, ok, output) = finished(&events);
    assert!(!ok);
    assert!(output.contains("loopback"), "{output}");
    h.shutdown().await;
}

#[tokio::test]
async fn a_bash_call_of_the_cli_asks_in_tzzr_and_runs_after_approve() {
    let Some(claude) = claude_bin() else { return };
    let mock = MockLlm::start().await;
    let home = tempfile::tempdir().unwrap();
    let mut h = start(&claude, &mock, "bash", home.path()).await;
    let turn = h.prompt(
        "cc",
        r#"[[tool:Bash {"command":"touch made.txt && echo made"}]]"#,
    );
    let asked = h.asked(turn).await;
    assert_eq!(asked.tool, "bash");
    assert!(
        asked.call.0.starts_with("toolu_"),
        "the CLI's tool-use id: {}",
        asked.call
    );
    assert_eq!(asked.args["command"], "touch made.txt && echo made");
    assert!(
        !h.dir().join("made.txt").exists(),
        "nothing ran before the answer"
    );
    h.answer("cc", &asked.call, Approval::Allow);
    let events = h.until_finished(turn).await;
    assert!(h.dir().join("made.txt").exists());
    assert_eq!(
        done_in(&events),
        [Done {
            tool: "Bash".to_owned(),
            ok: true,
            output: "made".to_owned()
        }]
    );
    h.shutdown().await;
}

#[tokio::test]
async fn a_bash_call_of_the_cli_denied_in_tzzr_does_not_run() {
    let Some(claude) = claude_bin() else { return };
    let mock = MockLlm::start().await;
    let home = tempfile::tempdir().unwrap();
    let mut h = start(&claude, &mock, "bash", home.path()).await;
    let turn = h.prompt(
        "cc",
        r#"[[tool:Bash {"command":"touch made.txt && echo made"}]]"#,
    );
    let asked = h.asked(turn).await;
    h.answer("cc", &asked.call, Approval::Deny);
    let events = h.until_finished(turn).await;
    assert!(!h.dir().join("made.txt").exists());
    assert_eq!(
        done_in(&events),
        [Done {
            tool: "Bash".to_owned(),
            ok: false,
            output: "refused: the user denied this call".to_owned()
        }]
    );
    assert!(h.outcome(&events).is_done(), "{events:?}");
    h.shutdown().await;
}

#[tokio::test]
async fn the_cli_reads_outside_the_working_directory_only_if_tzzr_would() {
    let Some(claude) = claude_bin() else { return };
    let mock = MockLlm::start().await;
    let home = tempfile::tempdir().unwrap();
    let mut h = start(&claude, &mock, "read", home.path()).await;
    let turn = h.prompt("cc", r#"[[tool:Read {"file_path":"/etc/hostname"}]]"#);
    let events = h.until_finished(turn).await;
    let finished = events
        .iter()
        .find_map(|e| match &e.kind {
            EventKind::ToolCallFinished { ok, output, .. } => Some((*ok, output.clone())),
            _ => None,
        })
        .unwrap();
    assert!(!finished.0, "{finished:?}");
    assert!(
        finished
            .1
            .contains("path outside the working directory: /etc/hostname"),
        "{finished:?}"
    );
    h.shutdown().await;
}

#[tokio::test]
async fn the_agents_mcp_servers_reach_the_cli_through_the_bridge_and_ask_once() {
    let Some(claude) = claude_bin() else { return };
    let Some(everything) = support::peers::mcp_everything() else {
        return;
    };
    let mock = MockLlm::start().await;
    let home = tempfile::tempdir().unwrap();
    let config = format!(
        "settings:\n  max_retries: 1\n  timeout: 60\nmcp_servers:\n  everything:\n    command: node\n    args: ['{}', stdio]\nagents:\n  cc:\n    role: You are brief.\n    provider: claude\n    model: claude-sonnet-4-5\n    api_base: {}\n    mcp: [everything]\n",
        everything.display(),
        mock.anthropic_base()
    );
    let mut h = start_config(&claude, &config, home.path()).await;
    let turn = h.prompt(
        "cc",
        r#"[[tool:mcp__tzzr__everything__echo {"message":"through two bridges"}]]"#,
    );
    let asked = h.asked(turn).await;
    assert_eq!(asked.tool, "mcp__everything__echo");
    h.answer("cc", &asked.call, Approval::Allow);
    let events = h.until_finished(turn).await;
    assert_eq!(
        asked_in(&events).len(),
        1,
        "asked once, not at the prompt and again at the call"
    );
    assert_eq!(
        done_in(&events),
        [Done {
            tool: "mcp__everything__echo".to_owned(),
            ok: true,
            output: "Echo: through two bridges".to_owned()
        }]
    );
    let Outcome::Done { text } = h.outcome(&events) else {
        panic!("{events:?}")
    };
    assert!(text.contains("Echo: through two bridges"), "{text}");
    h.shutdown().await;
}

/// Runs the tzzr binary headless on a Claude agent with `bash`: the bridge is the binary itself.
async fn headless_bash(claude: &Path, yes: bool) -> (tempfile::TempDir, std::process::Output) {
    let mock = MockLlm::start().await;
    let project = tempfile::tempdir().unwrap();
    let config = format!(
        "settings:\n  max_retries: 1\n  timeout: 60\nagents:\n  cc:\n    role: You are brief.\n    provider: claude\n    model: claude-sonnet-4-5\n    api_base: {}\n    tools: [bash]\n",
        mock.anthropic_base()
    );
    std::fs::write(project.path().join("config.yaml"), config).unwrap();
    let mut cmd = std::process::Command::new(env!("CARGO_BIN_EXE_tzzr"));
    cmd.current_dir(project.path())
        // --config: the key comes from this environment, the base URL from the file.
        .args([
            "--config",
            "config.yaml",
            "--agent",
            "cc",
            "--prompt",
            r#"[[tool:Bash {"command":"touch made.txt && echo made"}]]"#,
        ])
        .env("TZZR_CLAUDE_BIN", claude)
        .env("ANTHROPIC_API_KEY", "sk-ant-e2e")
        .env("HOME", project.path())
        .env("XDG_STATE_HOME", project.path().join("state"))
        .env("CLAUDE_CODE_DISABLE_NONESSENTIAL_TRAFFIC", "1");
    if yes {
        cmd.arg("--yes");
    }
    let output = tokio::task::spawn_blocking(move || cmd.output().unwrap())
        .await
        .unwrap();
    drop(mock);
    (project, output)
}

#[tokio::test(flavor = "multi_thread")]
async fn headless_without_yes_refuses_the_clis_bash_and_with_yes_runs_it() {
    let Some(claude) = claude_bin() else { return };
    let (project, output) = headless_bash(&claude, false).await;
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(!project.path().join("made.txt").exists(), "{stdout}");
    assert!(
        stdout.contains("needs approval and no one can give it here"),
        "{stdout}"
    );

    let (project, output) = headless_bash(&claude, true).await;
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(output.status.success(), "{stdout}");
    assert!(project.path().join("made.txt").exists(), "{stdout}");
}

#[tokio::test]
async fn the_cli_cannot_read_tzzrs_config_even_inside_its_working_directory() {
    let Some(claude) = claude_bin() else { return };
    let mock = MockLlm::start().await;
    let home = tempfile::tempdir().unwrap();
    let mut h = start(&claude, &mock, "read", home.path()).await;
    let config = h.dir().join("config.yaml").canonicalize().unwrap();
    let prompt = format!(r#"[[tool:Read {{"file_path":"{}"}}]]"#, config.display());
    let turn = h.prompt("cc", &prompt);
    let events = h.until_finished(turn).await;
    let finished = events
        .iter()
        .find_map(|e| match &e.kind {
            EventKind::ToolCallFinished { ok, output, .. } => Some((*ok, output.clone())),
            _ => None,
        })
        .unwrap();
    assert!(!finished.0, "{finished:?}");
    assert!(finished.1.contains("denied"), "{finished:?}");
    assert!(!finished.1.contains("provider: claude"), "{finished:?}");
    h.shutdown().await;
}
