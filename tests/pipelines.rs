#![allow(clippy::unwrap_used, clippy::expect_used)]
//! Tasks run by the real binary against the in-process mock server: what each step's request
//! holds (the framing), what the user reads (stderr, `--json`, the exit status), and what the
//! server was asked (a resumed task does not pay again for the steps that succeeded).

use std::path::Path;

mod support;

use assert_cmd::Command;
use serde_json::Value;
use support::mock_llm::{MockLlm, MockReply, MockUsage};
use tempfile::TempDir;

const KEY_VARS: [&str; 5] = [
    "OPENAI_API_KEY",
    "ANTHROPIC_API_KEY",
    "OPENAI_BASE_URL",
    "ANTHROPIC_BASE_URL",
    "OLLAMA_API_BASE",
];

/// A project whose agents all talk to `mock`, with `tasks` appended.
struct Project {
    dir: TempDir,
}

impl Project {
    fn new(mock: &MockLlm, tasks: &str) -> Self {
        let dir = tempfile::tempdir().unwrap();
        let mut config = String::from("settings:\n  max_retries: 0\nagents:\n");
        for agent in ["architect", "coder", "reviewer", "tester"] {
            config.push_str(&format!(
                "  {agent}:\n    provider: openai\n    model: gpt-4o\n    api_base: {}\n",
                mock.openai_base()
            ));
        }
        config.push_str("tasks:\n");
        config.push_str(tasks);
        std::fs::write(dir.path().join("config.yaml"), config).unwrap();
        Self { dir }
    }

    fn path(&self) -> &Path {
        self.dir.path()
    }

    fn tzzr(&self, args: &[&str]) -> Command {
        let mut cmd = Command::cargo_bin("tzzr").unwrap();
        cmd.current_dir(self.path())
            .args(["--config", "config.yaml"])
            .args(args);
        for var in KEY_VARS {
            cmd.env_remove(var);
        }
        cmd.env("OPENAI_API_KEY", "sk-test");
        cmd.env("XDG_STATE_HOME", self.path().join("state"));
        cmd.env("TZZR_CLAUDE_BIN", self.path().join("no-such-claude"));
        cmd
    }
}

struct Run {
    code: Option<i32>,
    stdout: String,
    stderr: String,
}

impl Run {
    /// The `--json` lines.
    fn events(&self) -> Vec<Value> {
        self.stdout
            .lines()
            .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("{e}: {l}")))
            .collect()
    }
}

/// Runs the binary off the runtime (the mock needs it to keep serving).
async fn run(mut cmd: Command) -> Run {
    let out = tokio::task::spawn_blocking(move || cmd.output().unwrap())
        .await
        .unwrap();
    Run {
        code: out.status.code(),
        stdout: String::from_utf8(out.stdout).unwrap(),
        stderr: String::from_utf8(out.stderr).unwrap(),
    }
}

/// The text of the last user message of each chat request, in order.
fn prompts_sent(mock: &MockLlm) -> Vec<String> {
    mock.chat_requests()
        .iter()
        .map(|r| {
            let messages = r.json()["messages"].as_array().unwrap();
            let last = messages.iter().rev().find(|m| m["role"] == "user").unwrap();
            last["content"].as_str().unwrap_or_default().to_owned()
        })
        .collect()
}

/// The one prompt that `is_it` picks (a group's requests come in any order).
fn sent_where(prompts: &[String], is_it: impl Fn(&str) -> bool) -> String {
    let found: Vec<&String> = prompts.iter().filter(|p| is_it(p)).collect();
    assert_eq!(found.len(), 1, "{prompts:#?}");
    found[0].clone()
}

const RELEASE: &str = "  release:
    steps:
      - {agent: architect, prompt: 'DESIGN for {{input}}', id: design}
      - parallel:
          - {agent: reviewer, prompt: REVIEW, id: review}
          - {agent: tester, prompt: 'TEST against {{steps.design.output}}'}
      - {agent: coder, prompt: SUMMARY}
";

#[tokio::test(flavor = "multi_thread")]
async fn a_group_and_placeholders_frame_each_request_as_the_config_says() {
    let mock = MockLlm::start().await;
    let p = Project::new(&mock, RELEASE);
    let out = run(p.tzzr(&["--task", "release", "--input", "the login page"])).await;
    assert_eq!(out.code, Some(0), "{}", out.stderr);

    let prompts = prompts_sent(&mock);
    assert_eq!(prompts.len(), 4);
    // A placeholder: nothing prepended.
    assert_eq!(prompts[0], "DESIGN for the login page");
    let design = "echo: DESIGN for the login page";
    // No placeholder: v6's framing with the answer before the group.
    assert_eq!(
        sent_where(&prompts, |p| p.ends_with("REVIEW")),
        format!("{design}\n\n---\n\nREVIEW")
    );
    assert_eq!(
        sent_where(&prompts, |p| p.starts_with("TEST")),
        format!("TEST against {design}")
    );
    // After the group: its answers joined, each under its author.
    assert_eq!(
        prompts[3],
        format!(
            "### reviewer (review)\n\necho: {design}\n\n---\n\nREVIEW\n\n### tester\n\necho: TEST against {design}\n\n---\n\nSUMMARY"
        )
    );
    assert!(
        out.stderr.contains("── step 1/3: architect ──\n"),
        "{}",
        out.stderr
    );
    assert!(
        out.stderr.contains("── step 2.1/3: reviewer ──\n"),
        "{}",
        out.stderr
    );
    assert!(
        out.stderr.contains("── step 3/3: coder ──\n"),
        "{}",
        out.stderr
    );
    assert!(
        out.stderr.contains("── task `release` done ("),
        "{}",
        out.stderr
    );
    assert!(
        out.stdout.contains("── coder ──\necho: ### reviewer"),
        "{}",
        out.stdout
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn a_failing_step_exits_1_naming_it_and_a_resumed_run_does_not_call_again_for_the_others() {
    let mock = MockLlm::start().await;
    let p = Project::new(
        &mock,
        "  ship:
    steps:
      - {agent: architect, prompt: PLAN}
      - {agent: coder, prompt: BUILD, id: build}
      - {agent: reviewer, prompt: CHECK}
",
    );
    mock.push_all([
        MockReply::echo(),
        MockReply::status(500).error_message("the GPU caught fire"),
    ]);
    let first = run(p.tzzr(&["--task", "ship", "--json"])).await;
    assert_eq!(first.code, Some(1));
    assert_eq!(mock.chat_requests().len(), 2);
    let events = first.events();
    let last = events.last().unwrap();
    assert_eq!(last["event"], "task_finished");
    assert_eq!(last["state"], "failed");
    assert_eq!(last["failed_step"]["index"], "2");
    assert_eq!(last["failed_step"]["id"], "build");
    assert!(
        last["error"]
            .as_str()
            .unwrap()
            .contains("the GPU caught fire"),
        "{last}"
    );
    std::fs::write(p.path().join("run.jsonl"), &first.stdout).unwrap();

    let again = run(p.tzzr(&["--task", "ship", "--resume-task", "run.jsonl"])).await;
    assert_eq!(again.code, Some(0), "{}", again.stderr);
    let prompts = prompts_sent(&mock);
    assert_eq!(prompts.len(), 4, "steps 2 and 3 only: {prompts:#?}");
    assert_eq!(prompts[2], "echo: PLAN\n\n---\n\nBUILD");
    assert!(
        again
            .stderr
            .contains("── step 1/3: architect (done in an earlier run) ──\n"),
        "{}",
        again.stderr
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn a_task_resumed_from_the_session_journal_does_not_call_again_for_the_steps_that_succeeded()
{
    let mock = MockLlm::start().await;
    let p = Project::new(
        &mock,
        "  ship:
    steps:
      - {agent: architect, prompt: PLAN}
      - {agent: coder, prompt: BUILD}
      - {agent: reviewer, prompt: CHECK}
",
    );
    let none_yet = run(p.tzzr(&["--task", "ship", "--resume-task"])).await;
    assert_eq!(none_yet.code, Some(1));
    assert!(
        none_yet.stderr.contains("no session"),
        "{}",
        none_yet.stderr
    );
    assert!(mock.chat_requests().is_empty());

    mock.push_all([
        MockReply::echo(),
        MockReply::status(500).error_message("the GPU caught fire"),
    ]);
    // Text output: nothing saved by hand; the session journal keeps the steps.
    let first = run(p.tzzr(&["--task", "ship"])).await;
    assert_eq!(first.code, Some(1), "{}", first.stderr);
    assert_eq!(mock.chat_requests().len(), 2);

    let again = run(p.tzzr(&["--task", "ship", "--resume-task"])).await;
    assert_eq!(again.code, Some(0), "{}", again.stderr);
    let prompts = prompts_sent(&mock);
    assert_eq!(prompts.len(), 4, "steps 2 and 3 only: {prompts:#?}");
    assert_eq!(prompts[2], "echo: PLAN\n\n---\n\nBUILD");
    assert!(
        again
            .stderr
            .contains("── step 1/3: architect (done in an earlier run) ──\n"),
        "{}",
        again.stderr
    );

    // Once done, a task resumed again has nothing left to ask the server.
    let done = run(p.tzzr(&["--task", "ship", "--resume-task"])).await;
    assert_eq!(done.code, Some(0), "{}", done.stderr);
    assert_eq!(prompts_sent(&mock).len(), 4);
}

#[tokio::test(flavor = "multi_thread")]
async fn a_failing_step_is_named_on_stderr() {
    let mock = MockLlm::start().await;
    let p = Project::new(
        &mock,
        "  ship:\n    steps:\n      - {agent: architect, prompt: PLAN}\n      - {agent: coder, prompt: BUILD}\n",
    );
    mock.push_all([MockReply::echo(), MockReply::status(400)]);
    let out = run(p.tzzr(&["--task", "ship"])).await;
    assert_eq!(out.code, Some(1));
    let last = out.stderr.lines().last().unwrap();
    assert!(
        last.starts_with("tzzr: task `ship` failed at step 2 (coder): "),
        "{}",
        out.stderr
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn a_failed_turn_is_sent_again_when_the_step_allows_retries() {
    let mock = MockLlm::start().await;
    let p = Project::new(
        &mock,
        "  flaky:\n    steps:\n      - {agent: coder, prompt: BUILD, retry: 2}\n",
    );
    mock.push_all([MockReply::status(500), MockReply::status(500)]);
    let out = run(p.tzzr(&["--task", "flaky", "--json"])).await;
    assert_eq!(out.code, Some(0), "{}", out.stderr);
    assert_eq!(mock.chat_requests().len(), 3);
    let events = out.events();
    let retries = events
        .iter()
        .filter(|e| e["event"] == "step_retrying")
        .count();
    assert_eq!(retries, 2);
    let finished = events
        .iter()
        .find(|e| e["event"] == "step_finished")
        .unwrap();
    assert_eq!(finished["state"], "done");
    assert_eq!(finished["attempts"], 3);
    assert_eq!(finished["output"], "echo: BUILD");
}

#[tokio::test(flavor = "multi_thread")]
async fn a_turn_past_its_timeout_is_cancelled_and_the_retry_answers() {
    let mock = MockLlm::start().await;
    let p = Project::new(
        &mock,
        "  slow:\n    steps:\n      - {agent: coder, prompt: BUILD, timeout: 0.5, retry: 1}\n",
    );
    // The first answer never comes; only the timeout ends it.
    mock.push_all([MockReply::stall(), MockReply::echo()]);
    let out = run(p.tzzr(&["--task", "slow", "--json"])).await;
    assert_eq!(out.code, Some(0), "{}", out.stderr);
    let events = out.events();
    let retry = events
        .iter()
        .find(|e| e["event"] == "step_retrying")
        .unwrap();
    assert!(
        retry["error"]
            .as_str()
            .unwrap()
            .starts_with("timed out after 0.5s"),
        "{retry}"
    );
    assert_eq!(events.last().unwrap()["state"], "done");
}

#[tokio::test(flavor = "multi_thread")]
async fn a_spent_task_budget_refuses_the_next_step() {
    let mock = MockLlm::start().await;
    let p = Project::new(
        &mock,
        "  dear:\n    budget_usd: 0.001\n    steps:\n      - {agent: architect, prompt: PLAN}\n      - {agent: coder, prompt: BUILD}\n",
    );
    // gpt-4o: 100k input tokens cost far more than $0.001.
    mock.push(MockReply::echo().usage(MockUsage {
        input: 100_000,
        output: 10,
        ..MockUsage::default()
    }));
    let out = run(p.tzzr(&["--task", "dear"])).await;
    assert_eq!(out.code, Some(1));
    assert_eq!(
        mock.chat_requests().len(),
        1,
        "step 2 never reached the server"
    );
    let last = out.stderr.lines().last().unwrap();
    assert!(
        last.starts_with(
            "tzzr: task `dear` failed at step 2 (coder): not started: the task's budget_usd of $0.0010 is spent"
        ),
        "{}",
        out.stderr
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn input_may_come_from_stdin() {
    let mock = MockLlm::start().await;
    let p = Project::new(
        &mock,
        "  one:\n    steps:\n      - {agent: coder, prompt: REVIEW}\n",
    );
    let mut cmd = p.tzzr(&["--task", "one", "--input", "-"]);
    cmd.write_stdin("diff --git a b\n");
    let out = run(cmd).await;
    assert_eq!(out.code, Some(0), "{}", out.stderr);
    assert_eq!(prompts_sent(&mock), ["diff --git a b\n\n\n---\n\nREVIEW"]);
}

/// A three-step task with a group and placeholders against a real model
/// (`../shared/llm/serve`): the protocol, never the content of a 135M model's answers.
#[tokio::test(flavor = "multi_thread")]
async fn a_task_with_a_group_runs_against_a_real_model() {
    let Some(url) = support::peers::llm_url() else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let agent = |name: &str| {
        format!(
            "  {name}:\n    role: You are brief.\n    provider: openai\n    model: smollm2-135m-instruct\n    api_base: {url}\n    temperature: 0\n    max_tokens: 400\n"
        )
    };
    let config = format!(
        "settings:\n  timeout: 120\nagents:\n{}{}tasks:\n  t:\n    steps:\n      - {{agent: a, prompt: 'Name one colour. Reply with one word.', id: colour}}\n      - parallel:\n          - {{agent: b, prompt: 'Say {{{{steps.colour.output}}}} twice.'}}\n          - {{agent: a, prompt: 'Is {{{{previous}}}} a colour? Yes or no.'}}\n      - {{agent: b, prompt: 'Reply with one word: done.'}}\n",
        agent("a"),
        agent("b")
    );
    std::fs::write(dir.path().join("config.yaml"), config).unwrap();
    let mut cmd = Command::cargo_bin("tzzr").unwrap();
    cmd.current_dir(dir.path())
        .args(["--config", "config.yaml", "--task", "t", "--json"])
        .env("XDG_STATE_HOME", dir.path().join("state"));
    for var in KEY_VARS {
        cmd.env_remove(var);
    }
    let out = run(cmd).await;
    let events = out.events();
    let started: Vec<&str> = events
        .iter()
        .filter(|e| e["event"] == "step_started")
        .map(|e| e["step"]["index"].as_str().unwrap())
        .collect();
    let last = events.last().unwrap();
    assert_eq!(last["event"], "task_finished", "{}", out.stderr);
    // A small model may still be cut at max_tokens; then the task stops, at that step.
    if last["state"] == "done" {
        assert_eq!(out.code, Some(0));
        let mut sorted = started.clone();
        sorted.sort_unstable();
        assert_eq!(sorted, ["1", "2.1", "2.2", "3"]);
        assert!(last["tokens"]["output"].as_u64().unwrap() > 0, "{last}");
    } else {
        assert_eq!(out.code, Some(1));
        assert!(
            last["error"].as_str().unwrap().contains("max_tokens"),
            "{last}"
        );
    }
}

/// The TUI in a real terminal (tmux): `/task` opens the task view, a failed step is named, and
/// `/task NAME --resume` goes on from it, reusing the step that succeeded.
#[tokio::test(flavor = "multi_thread")]
async fn the_task_view_runs_fails_and_resumes_in_a_real_terminal() {
    let has_tmux = std::process::Command::new("tmux")
        .arg("-V")
        .output()
        .is_ok_and(|o| o.status.success());
    if !has_tmux {
        support::peers::skip("tmux is not installed (apt-get install tmux)");
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("config.yaml"),
        r#"
agents:
  planner:
    provider: scripted
    script: ["PLAN-ANSWER"]
  builder:
    provider: scripted
    script:
      - error: "the build server is down"
      - "BUILD-ANSWER"
tasks:
  ship:
    steps:
      - {agent: planner, prompt: 'plan {{input}}'}
      - {agent: builder, prompt: build}
"#,
    )
    .unwrap();
    let binary = env!("CARGO_BIN_EXE_tzzr");
    let command = format!(
        "XDG_STATE_HOME={} {binary} --config config.yaml; echo EXIT=$?; sleep 60",
        dir.path().join("state").display()
    );
    let tmux = support::tmux::Tmux::start(dir.path(), &command);
    tmux.wait_for("the UI", |s| s.contains("Prompt → planner"))
        .await;

    tmux.type_line("/task ship the login page");
    let failed = tmux
        .wait_for("the task to fail", |s| s.contains("Task ship failed"))
        .await;
    assert!(failed.contains("PLAN-ANSWER"), "{failed}");
    assert!(failed.contains("the build server is down"), "{failed}");
    assert!(
        failed.contains("task `ship` failed at step 2 (builder)"),
        "{failed}"
    );

    tmux.type_line("/task ship --resume");
    let done = tmux
        .wait_for("the resumed task to finish", |s| {
            s.contains("Task ship done")
        })
        .await;
    assert!(done.contains("✓ done in an earlier run"), "{done}");
    assert!(done.contains("BUILD-ANSWER"), "{done}");

    tmux.keys(&["Escape"]);
    tmux.wait_for("the main view", |s| s.contains("Tool calls"))
        .await;
    tmux.keys(&["C-c"]);
    let after = tmux.wait_for("tzzr to exit", |s| s.contains("EXIT=")).await;
    assert!(after.contains("EXIT=0"), "{after}");
}
