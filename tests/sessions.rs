#![allow(clippy::unwrap_used, clippy::expect_used)]
//! Sessions: a run's journal read back into the same conversations, a resumed run's requests
//! carrying the earlier turns, exports in both formats, and a run killed mid-stream resumed
//! with everything but the turn in flight.

mod support;

use std::path::{Path, PathBuf};
use std::time::Duration;

use pretty_assertions::assert_eq;
use serde_json::Value;
use support::mock_llm::MockLlm;
use tokio::sync::mpsc::UnboundedReceiver;
use tzzr::engine::config;
use tzzr::engine::conversation::Message;
use tzzr::engine::env::Environment;
use tzzr::engine::orchestrator::Orchestrator;
use tzzr::engine::protocol::{AgentEvent, EventKind, Outcome, TurnId};
use tzzr::engine::session::{Catalog, ExportFormat, SessionPlan, export};
use tzzr::engine::tools::approval::Asker;

const PATIENCE: Duration = Duration::from_secs(60);

fn config_yaml(mock: &MockLlm) -> String {
    format!(
        "settings:\n  retry_delay: 0.01\nagents:\n  bot:\n    role: You help.\n    provider: openai\n    model: gpt-4o\n    api_base: {}\n  quiet:\n    role: You wait.\n    provider: openai\n    model: gpt-4o\n    api_base: {}\n",
        mock.openai_base(),
        mock.openai_base()
    )
}

/// A project (its config) and the sessions directory, both in a temp dir.
struct Project {
    dir: tempfile::TempDir,
}

impl Project {
    fn new(yaml: &str) -> Self {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("config.yaml"), yaml).unwrap();
        Self { dir }
    }

    fn config_path(&self) -> PathBuf {
        self.dir.path().join("config.yaml").canonicalize().unwrap()
    }

    fn sessions(&self) -> PathBuf {
        self.dir.path().join("state/tzzr/sessions")
    }

    fn catalog(&self) -> Catalog {
        Catalog::new(self.sessions())
    }

    /// Starts the config's agents in a new session, or going on with the last one.
    fn start(&self, resume: bool) -> Run {
        self.start_with_env(resume, &[])
    }

    fn start_with_env(&self, resume: bool, vars: &[(&str, &str)]) -> Run {
        support::harness::use_built_tzzr();
        let yaml = std::fs::read_to_string(self.config_path()).unwrap();
        let env = Environment::isolated(vars.iter().copied());
        let loaded = config::load_str_with(&yaml, &self.config_path(), &|k: &str| env.get(k))
            .unwrap_or_else(|e| panic!("config: {e}"));
        let plan = if resume {
            let replay = self.catalog().find_for(None, &self.config_path()).unwrap();
            SessionPlan::Resume(Box::new(replay))
        } else {
            SessionPlan::New {
                dir: self.sessions(),
                config: self.config_path(),
            }
        };
        let (orchestrator, events) =
            Orchestrator::start_with(loaded.config, &env, Asker::Nobody, Some(plan))
                .unwrap_or_else(|e| panic!("start: {e}"));
        Run {
            orchestrator,
            events,
        }
    }
}

struct Run {
    orchestrator: Orchestrator,
    events: UnboundedReceiver<AgentEvent>,
}

impl Run {
    /// Sends `prompt` to `agent` and waits for the turn's end.
    async fn ask(&mut self, agent: &str, prompt: &str) -> (TurnId, Outcome) {
        let turn = self.orchestrator.prompt(agent, prompt).unwrap();
        loop {
            let event = tokio::time::timeout(PATIENCE, self.events.recv())
                .await
                .expect("the turn ends in time")
                .expect("events flow");
            if let (true, EventKind::TurnFinished { outcome }) = (event.turn == turn, event.kind) {
                return (turn, outcome);
            }
        }
    }

    async fn stop(self) {
        self.orchestrator.shutdown().await;
    }
}

fn roles(request: &Value) -> Vec<&str> {
    request["messages"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["role"].as_str().unwrap())
        .collect()
}

#[tokio::test]
async fn a_journal_replays_into_the_same_conversations() {
    let mock = MockLlm::start().await;
    let project = Project::new(&config_yaml(&mock));
    let mut run = project.start(false);
    run.ask("bot", "my name is Ada").await;
    run.ask("bot", "and I like tea").await;
    run.stop().await;

    let replay = project
        .catalog()
        .find_for(None, &project.config_path())
        .unwrap();
    assert_eq!(
        replay.agents["bot"].conversation,
        vec![
            Message::user("my name is Ada"),
            Message::assistant("echo: my name is Ada"),
            Message::user("and I like tea"),
            Message::assistant("echo: and I like tea"),
        ]
    );
    assert_eq!(replay.turns(), 2);
    assert_eq!(replay.last_prompt(), Some("and I like tea"));
    assert!(!replay.agents.contains_key("quiet") || replay.agents["quiet"].turns == 0);
}

#[tokio::test]
async fn a_resumed_run_sends_the_earlier_turns_and_appends_to_the_session() {
    let mock = MockLlm::start().await;
    let project = Project::new(&config_yaml(&mock));
    let mut run = project.start(false);
    run.ask("bot", "my name is Ada").await;
    run.stop().await;

    let mut run = project.start(true);
    let (turn, outcome) = run.ask("bot", "what is my name?").await;
    assert!(outcome.is_done(), "{outcome:?}");
    assert_eq!(turn, TurnId(2), "turn ids go on from the session's");
    run.stop().await;

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
        project.catalog().ids().len(),
        1,
        "the run went on with the same session"
    );
    let replay = project
        .catalog()
        .find_for(None, &project.config_path())
        .unwrap();
    assert_eq!(replay.turns(), 2);
    assert_eq!(replay.agents["bot"].conversation.len(), 4);
}

#[tokio::test]
async fn exports_hold_every_turn_in_markdown_and_json() {
    let mock = MockLlm::start().await;
    let project = Project::new(&config_yaml(&mock));
    let mut run = project.start(false);
    run.ask("bot", "first question").await;
    run.ask("quiet", "second question").await;
    run.stop().await;
    let replay = project
        .catalog()
        .find_for(None, &project.config_path())
        .unwrap();

    let md = export(&replay, ExportFormat::Markdown, None).unwrap();
    for needle in [
        "# tzzr session",
        "## bot",
        "## quiet",
        "**Prompt**\n\nfirst question",
        "**Answer**\n\necho: first question",
        "echo: second question",
    ] {
        assert!(md.contains(needle), "{needle:?} missing from:\n{md}");
    }

    let json: Value =
        serde_json::from_str(&export(&replay, ExportFormat::Json, Some("quiet")).unwrap()).unwrap();
    let agents = json["agents"].as_array().unwrap();
    assert_eq!(agents.len(), 1);
    assert_eq!(agents[0]["name"], "quiet");
    assert_eq!(agents[0]["turns"][0]["prompt"], "second question");
    assert_eq!(agents[0]["turns"][0]["answer"], "echo: second question");
    assert_eq!(agents[0]["turns"][0]["status"], "done");
    assert_eq!(
        agents[0]["conversation"][1]["text"],
        "echo: second question"
    );

    let unknown = export(&replay, ExportFormat::Json, Some("nobody")).unwrap_err();
    assert!(
        unknown.to_string().contains("no agent `nobody`"),
        "{unknown}"
    );
}

#[tokio::test]
async fn no_secret_reaches_the_journal() {
    const KEY: &str = "sk-test-session-0123456789abcdef";
    let mock = MockLlm::start().await;
    let project = Project::new(&config_yaml(&mock));
    let mut run = project.start_with_env(false, &[("OPENAI_API_KEY", KEY)]);
    run.ask("bot", &format!("remember {KEY}")).await;
    run.stop().await;
    let id = &project.catalog().ids()[0];
    let journal = std::fs::read_to_string(project.catalog().path_of(id)).unwrap();
    assert!(!journal.contains(KEY), "{journal}");
    assert!(
        journal.contains(r#""role":"user","text":"remember ***""#),
        "{journal}"
    );
}

#[tokio::test]
async fn the_journal_is_private_to_the_user() {
    use std::os::unix::fs::PermissionsExt;
    let mock = MockLlm::start().await;
    let project = Project::new(&config_yaml(&mock));
    let run = project.start(false);
    run.stop().await;
    let mode = |p: &Path| std::fs::metadata(p).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode(&project.sessions()), 0o700);
    let id = &project.catalog().ids()[0];
    assert_eq!(mode(&project.catalog().path_of(id)), 0o600);
}

/// The real binary in `project`, its state (and so its sessions) in the project's temp dir.
fn tzzr(project: &Project) -> std::process::Command {
    let mut cmd = std::process::Command::new(env!("CARGO_BIN_EXE_tzzr"));
    cmd.current_dir(project.dir.path())
        .env("XDG_STATE_HOME", project.dir.path().join("state"))
        .env("XDG_DATA_HOME", project.dir.path().join("data"))
        .env_remove("OPENAI_API_KEY")
        .env_remove("ANTHROPIC_API_KEY");
    cmd
}

/// Runs the binary to its end (off the runtime's threads, so the mock goes on serving).
async fn run_tzzr(project: &Project, args: &[&str]) -> std::process::Output {
    let mut cmd = tzzr(project);
    cmd.args(args);
    tokio::task::spawn_blocking(move || cmd.output().unwrap())
        .await
        .unwrap()
}

fn stderr(output: &std::process::Output) -> String {
    String::from_utf8_lossy(&output.stderr).into_owned()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn headless_runs_list_continue_resume_and_export_their_sessions() {
    let mock = MockLlm::start().await;
    let project = Project::new(&config_yaml(&mock));
    let first = run_tzzr(&project, &["--agent", "bot", "--prompt", "my name is Ada"]).await;
    assert!(first.status.success(), "{}", stderr(&first));

    let listed = run_tzzr(&project, &["--sessions", "--json"]).await;
    assert!(listed.status.success(), "{}", stderr(&listed));
    let sessions: Value = serde_json::from_slice(&listed.stdout).unwrap();
    assert_eq!(sessions.as_array().unwrap().len(), 1, "{sessions}");
    assert_eq!(sessions[0]["turns"], 1);
    assert_eq!(sessions[0]["agents"], serde_json::json!(["bot"]));
    assert_eq!(sessions[0]["last_prompt"], "my name is Ada");
    assert_eq!(
        sessions[0]["config"].as_str().unwrap(),
        project.config_path().to_str().unwrap()
    );
    let id = sessions[0]["id"].as_str().unwrap().to_owned();
    let text = run_tzzr(&project, &["--sessions"]).await;
    let text = String::from_utf8_lossy(&text.stdout);
    assert!(
        text.starts_with(&id) && text.contains("\"my name is Ada\""),
        "{text}"
    );

    let second = run_tzzr(
        &project,
        &[
            "--continue",
            "--agent",
            "bot",
            "--prompt",
            "what is my name?",
        ],
    )
    .await;
    assert!(second.status.success(), "{}", stderr(&second));
    let request = &mock.chat_requests()[1];
    assert_eq!(
        roles(request.json()),
        ["system", "user", "assistant", "user"]
    );
    assert_eq!(request.json()["messages"][1]["content"], "my name is Ada");

    let third = run_tzzr(
        &project,
        &["--resume", &id[..8], "--all", "--prompt", "and now?"],
    )
    .await;
    assert!(third.status.success(), "{}", stderr(&third));
    let bot_request = mock
        .chat_requests()
        .into_iter()
        .skip(2)
        .find(|r| r.json()["messages"][0]["content"] == "# bot\n\nYou help.")
        .unwrap();
    assert_eq!(bot_request.json()["messages"].as_array().unwrap().len(), 6);

    let out = project.dir.path().join("bot.json");
    let exported = run_tzzr(
        &project,
        &[
            "--export",
            &id,
            "--format",
            "json",
            "-o",
            out.to_str().unwrap(),
            "--agent",
            "bot",
        ],
    )
    .await;
    assert!(exported.status.success(), "{}", stderr(&exported));
    let json: Value = serde_json::from_str(&std::fs::read_to_string(&out).unwrap()).unwrap();
    let prompts: Vec<&str> = json["agents"][0]["turns"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t["prompt"].as_str().unwrap())
        .collect();
    assert_eq!(prompts, ["my name is Ada", "what is my name?", "and now?"]);
    let md = run_tzzr(&project, &["--export", &id]).await;
    let md = String::from_utf8_lossy(&md.stdout);
    assert!(
        md.contains("## quiet") && md.contains("echo: what is my name?"),
        "{md}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_session_that_cannot_be_resumed_says_why_in_one_line() {
    let mock = MockLlm::start().await;
    let project = Project::new(&config_yaml(&mock));
    let none = run_tzzr(
        &project,
        &["--continue", "--agent", "bot", "--prompt", "hi"],
    )
    .await;
    assert!(!none.status.success());
    assert!(stderr(&none).contains("no session of"), "{}", stderr(&none));
    assert_eq!(stderr(&none).lines().count(), 1, "{}", stderr(&none));

    run_tzzr(&project, &["--agent", "bot", "--prompt", "hi"]).await;
    let unknown = run_tzzr(
        &project,
        &["--resume", "1999", "--agent", "bot", "--prompt", "hi"],
    )
    .await;
    assert!(!unknown.status.success());
    let message = stderr(&unknown);
    assert!(
        message.contains("no session `1999`; nearest: 20"),
        "{message}"
    );

    let other = project.dir.path().join("other.yaml");
    std::fs::write(&other, config_yaml(&mock)).unwrap();
    let id = project.catalog().ids()[0].to_string();
    let elsewhere = run_tzzr(
        &project,
        &[
            "--config",
            "other.yaml",
            "--resume",
            &id,
            "--agent",
            "bot",
            "--prompt",
            "hi",
        ],
    )
    .await;
    assert!(!elsewhere.status.success());
    assert!(
        stderr(&elsewhere).contains(&format!("session {id} is of ")),
        "{}",
        stderr(&elsewhere)
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_run_killed_mid_stream_resumes_with_every_turn_before_it() {
    let mock = MockLlm::start().await;
    let project = Project::new(&config_yaml(&mock));
    let first = run_tzzr(&project, &["--agent", "bot", "--prompt", "my name is Ada"]).await;
    assert!(first.status.success(), "{}", stderr(&first));
    let id = project.catalog().ids()[0].clone();
    let journal = project.catalog().path_of(&id);

    let mut child = tzzr(&project)
        .args([
            "--continue",
            "--agent",
            "bot",
            "--prompt",
            "[[stall]] tell me a story",
        ])
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    // The stalled turn has started, and its start is on disk: the run is mid-stream.
    let deadline = std::time::Instant::now() + PATIENCE;
    while !std::fs::read_to_string(&journal)
        .unwrap()
        .contains("tell me a story")
    {
        assert!(
            std::time::Instant::now() < deadline,
            "the turn never started"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    child.kill().unwrap(); // SIGKILL
    child.wait().unwrap();

    let resumed = run_tzzr(
        &project,
        &[
            "--continue",
            "--agent",
            "bot",
            "--prompt",
            "what is my name?",
        ],
    )
    .await;
    assert!(resumed.status.success(), "{}", stderr(&resumed));
    let last = mock.chat_requests().pop().unwrap();
    assert_eq!(roles(last.json()), ["system", "user", "assistant", "user"]);
    assert_eq!(
        last.json()["messages"][2]["content"],
        "echo: my name is Ada"
    );
    assert_eq!(last.json()["messages"][3]["content"], "what is my name?");

    let replay = project
        .catalog()
        .find_for(None, &project.config_path())
        .unwrap();
    let interrupted = replay.events.iter().any(|e| {
        matches!(&e.kind, EventKind::TurnFinished { outcome: Outcome::Failed { error, .. } } if error.starts_with("interrupted"))
    });
    assert!(
        interrupted,
        "the killed turn ends as interrupted in the replay"
    );
    assert_eq!(replay.turns(), 3);
}

#[tokio::test]
async fn a_resumed_run_counts_the_money_spent_before_it() {
    use support::mock_llm::{MockReply, MockUsage};
    let mock = MockLlm::start().await;
    mock.push(MockReply::text(["priced"]).usage(MockUsage {
        input: 1_000_000,
        output: 0,
        ..MockUsage::default()
    }));
    let project = Project::new(&config_yaml(&mock));
    let mut run = project.start(false);
    run.ask("bot", "spend").await;
    let spent = run.orchestrator.costs();
    run.stop().await;
    assert!(spent.total_cost_usd > 0.0, "{spent:?}");

    let run = project.start(true);
    let restored = run.orchestrator.costs();
    assert_eq!(restored.total_requests, spent.total_requests);
    assert_eq!(restored.total_input_tokens, 1_000_000);
    assert!((restored.total_cost_usd - spent.total_cost_usd).abs() < 1e-9);
    assert!(restored.by_agent.contains_key("bot"));
    run.stop().await;
}

#[tokio::test]
async fn agents_gone_from_the_config_are_left_out_with_a_note_and_new_ones_start_empty() {
    let mock = MockLlm::start().await;
    let project = Project::new(&config_yaml(&mock));
    let mut run = project.start(false);
    run.ask("quiet", "remember me").await;
    run.stop().await;
    std::fs::write(
        project.config_path(),
        format!(
            "agents:\n  bot:\n    role: You help.\n    provider: openai\n    model: gpt-4o\n    api_base: {}\n  fresh:\n    role: New.\n    provider: openai\n    model: gpt-4o\n    api_base: {}\n",
            mock.openai_base(),
            mock.openai_base()
        ),
    )
    .unwrap();
    let mut run = project.start(true);
    let notes = run.orchestrator.session_notes().join("\n");
    assert!(
        notes.contains("agent `quiet` is not in the config any more"),
        "{notes}"
    );
    let (_, outcome) = run.ask("fresh", "hello").await;
    assert!(outcome.is_done());
    run.stop().await;
    let last = mock.chat_requests().pop().unwrap();
    assert_eq!(roles(last.json()), ["system", "user"]);
}

/// A fake `claude` that answers in the session it was given (`--session-id`) or asked to resume
/// (`--resume`), and logs which, one run a line.
fn fake_claude(dir: &Path) -> PathBuf {
    use std::os::unix::fs::PermissionsExt;
    let script = format!(
        r#"#!/bin/sh
session=""
previous=""
for arg in "$@"; do
  case "$previous" in --session-id|--resume) session="$arg"; echo "$previous $arg" >> '{dir}/sessions.log' ;; esac
  previous="$arg"
done
printf '{{"type":"system","subtype":"init","session_id":"%s","tools":[]}}\n' "$session"
printf '{{"type":"result","subtype":"success","is_error":false,"result":"ok"}}\n'
"#,
        dir = dir.display()
    );
    let path = dir.join("claude");
    std::fs::write(&path, script).unwrap();
    std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o755)).unwrap();
    path
}

#[tokio::test]
async fn a_claude_cli_agent_goes_on_with_its_cli_session() {
    let fake = tempfile::tempdir().unwrap();
    let claude = fake_claude(fake.path());
    let project = Project::new("agents:\n  cc:\n    provider: claude\n    model: sonnet\n");
    let vars = [("TZZR_CLAUDE_BIN", claude.to_str().unwrap())];
    let mut run = project.start_with_env(false, &vars);
    let (_, outcome) = run.ask("cc", "first").await;
    assert!(outcome.is_done(), "{outcome:?}");
    run.stop().await;

    let mut run = project.start_with_env(true, &vars);
    run.ask("cc", "second").await;
    run.stop().await;
    let log = std::fs::read_to_string(fake.path().join("sessions.log")).unwrap();
    let runs: Vec<&str> = log.lines().collect();
    let started = runs[0].strip_prefix("--session-id ").unwrap();
    assert_eq!(runs[1], format!("--resume {started}"), "{log}");
}

#[tokio::test]
async fn a_session_open_in_one_run_cannot_be_resumed_by_another() {
    let mock = MockLlm::start().await;
    let project = Project::new(&config_yaml(&mock));
    let mut first = project.start(false);
    first.ask("bot", "hello").await;
    let yaml = std::fs::read_to_string(project.config_path()).unwrap();
    let env = Environment::isolated(std::iter::empty::<(&str, &str)>());
    let loaded =
        config::load_str_with(&yaml, &project.config_path(), &|k: &str| env.get(k)).unwrap();
    let replay = project
        .catalog()
        .find_for(None, &project.config_path())
        .unwrap();
    let error = Orchestrator::start_with(
        loaded.config,
        &env,
        Asker::Nobody,
        Some(SessionPlan::Resume(Box::new(replay))),
    )
    .unwrap_err()
    .to_string();
    assert!(
        error.contains("is open in another tzzr; quit that one first"),
        "{error}"
    );
    first.stop().await;
    let second = project.start(true);
    second.stop().await;
}
