#![allow(clippy::unwrap_used, clippy::expect_used)]
//! The real binary, flag by flag: what a user or a script sees on stdout, stderr and in the exit
//! status. Every run gets its own directory, an environment without API keys, and its own state
//! directory for diagnostics.

use std::path::{Path, PathBuf};

mod support;

use assert_cmd::Command;
use predicates::prelude::*;
use support::mock_llm::{MockLlm, MockOptions};
use tempfile::TempDir;

const KEY_VARS: [&str; 12] = [
    "OPENAI_API_KEY",
    "ANTHROPIC_API_KEY",
    "GEMINI_API_KEY",
    "GOOGLE_API_KEY",
    "GROQ_API_KEY",
    "MISTRAL_API_KEY",
    "DEEPSEEK_API_KEY",
    "TOGETHERAI_API_KEY",
    "OPENAI_BASE_URL",
    "ANTHROPIC_BASE_URL",
    "OLLAMA_API_BASE",
    "TZZR_CLAUDE_BIN",
];

struct Project {
    dir: TempDir,
}

impl Project {
    fn new(config: &str) -> Self {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("config.yaml"), config).unwrap();
        Self { dir }
    }

    fn path(&self) -> &Path {
        self.dir.path()
    }

    fn tzzr(&self) -> Command {
        let mut cmd = Command::cargo_bin("tzzr").unwrap();
        cmd.current_dir(self.path());
        for var in KEY_VARS {
            cmd.env_remove(var);
        }
        cmd.env("XDG_STATE_HOME", self.path().join("state"));
        cmd.env("TZZR_CLAUDE_BIN", self.path().join("no-such-claude"));
        cmd
    }
}

fn bundled_config() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("config.yaml")
}

const DEMO: &str = r#"
agents:
  demo:
    provider: scripted
    tools: [list_dir]
    script:
      - text: "Looking."
        tool_calls:
          - tool: list_dir
            params: {path: "."}
      - "Found it."
  echo:
    provider: scripted
tasks:
  relay:
    description: two steps
    steps:
      - agent: echo
        prompt: "first"
      - agent: echo
        prompt: "second"
"#;

#[test]
fn agents_lists_the_bundled_team_and_says_what_each_needs() {
    let p = Project::new("");
    p.tzzr()
        .arg("--config")
        .arg(bundled_config())
        .arg("--agents")
        .assert()
        .success()
        .stdout(predicate::str::contains(
            "  demo: scripted/demo  (scripted replies, not a model)\n",
        ))
        .stdout(predicate::str::contains(
            "  assistant: claude/sonnet\n      cannot run: claude CLI not found",
        ))
        .stdout(predicate::str::contains(
            "  coder: litellm/gpt4o\n      cannot run: no API key: set OPENAI_API_KEY",
        ))
        .stdout(predicate::str::contains(
            "  reviewer: anthropic/sonnet\n      cannot run: no API key: set ANTHROPIC_API_KEY",
        ))
        .stdout(predicate::str::contains("  local: litellm/llama3\n"));
}

#[test]
fn a_prompt_streams_the_answer_to_stdout_and_tools_to_stderr() {
    let p = Project::new(DEMO);
    p.tzzr()
        .args(["--agent", "demo", "--prompt", "find it"])
        .assert()
        .success()
        .stdout("Looking.\n\nFound it.\n")
        .stderr(predicate::str::contains(
            "→ list_dir {\"path\":\".\"}\n✓ list_dir (",
        ));
    let log = std::fs::read_to_string(p.path().join("logs/demo.md")).unwrap();
    assert!(
        log.contains("find it") && log.contains("Found it."),
        "{log}"
    );
}

#[test]
fn prompt_dash_reads_standard_input() {
    let p = Project::new(DEMO);
    p.tzzr()
        .args(["--agent", "echo", "--prompt", "-"])
        .write_stdin("piped text")
        .assert()
        .success()
        .stdout("(scripted) you said: piped text\n");
}

#[test]
fn all_sends_the_prompt_to_every_agent_and_labels_the_answers() {
    let p = Project::new(DEMO);
    let out = p
        .tzzr()
        .args(["--all", "--prompt", "hi"])
        .assert()
        .success();
    let stdout = String::from_utf8(out.get_output().stdout.clone()).unwrap();
    assert!(
        stdout.contains("── demo ──\nLooking.\n\nFound it.\n"),
        "{stdout}"
    );
    assert!(
        stdout.contains("── echo ──\n(scripted) you said: hi\n"),
        "{stdout}"
    );
}

#[test]
fn json_prints_the_engine_events_as_json_lines() {
    let p = Project::new(DEMO);
    let out = p
        .tzzr()
        .args(["--agent", "echo", "--prompt", "hi", "--json"])
        .assert()
        .success();
    let stdout = String::from_utf8(out.get_output().stdout.clone()).unwrap();
    let events: Vec<serde_json::Value> = stdout
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    let kinds: Vec<&str> = events
        .iter()
        .map(|e| e["event"].as_str().unwrap())
        .collect();
    assert_eq!(kinds.first(), Some(&"turn_started"));
    assert_eq!(kinds.last(), Some(&"turn_finished"));
    assert!(kinds.contains(&"usage"));
    assert!(
        events
            .iter()
            .all(|e| e["agent"] == "echo" && e["at"].is_string())
    );
    assert_eq!(events.last().unwrap()["outcome"]["status"], "done");
}

#[test]
fn a_task_runs_its_steps_with_the_previous_answer_as_context() {
    let p = Project::new(DEMO);
    p.tzzr()
        .args(["--task", "relay"])
        .assert()
        .success()
        .stdout("(scripted) you said: first\n(scripted) you said: (scripted) you said: first\n\n---\n\nsecond\n")
        .stderr(predicate::str::contains("── step 1/2: echo ──\n"))
        .stderr(predicate::str::contains("── step 2/2: echo ──\n"));
}

#[test]
fn an_agent_without_its_key_fails_with_one_line_saying_which_variable() {
    let p = Project::new("agents:\n  coder:\n    provider: litellm\n    model: gpt4o\n");
    p.tzzr()
        .args(["--agent", "coder", "--prompt", "hi"])
        .assert()
        .code(1)
        .stdout("")
        .stderr("tzzr: coder: no API key: set OPENAI_API_KEY (in the environment or a .env file beside the config)\n");
}

#[test]
fn json_names_the_kind_of_a_failure() {
    let p = Project::new("agents:\n  coder:\n    provider: litellm\n    model: gpt4o\n");
    let out = p
        .tzzr()
        .args(["--agent", "coder", "--prompt", "hi", "--json"])
        .assert()
        .code(1);
    let stdout = String::from_utf8(out.get_output().stdout.clone()).unwrap();
    let last: serde_json::Value =
        serde_json::from_str(stdout.lines().last().unwrap_or_default()).unwrap();
    assert_eq!(last["outcome"]["status"], "failed", "{stdout}");
    assert_eq!(last["outcome"]["kind"], "auth", "{stdout}");
}

#[test]
fn a_key_in_a_dotenv_file_beside_the_config_is_used() {
    let p = Project::new("agents:\n  coder:\n    provider: litellm\n    model: gpt4o\n");
    std::fs::write(p.path().join(".env"), "OPENAI_API_KEY=sk-from-dotenv\n").unwrap();
    p.tzzr()
        .arg("--agents")
        .assert()
        .success()
        .stdout("  coder: litellm/gpt4o\n");
}

#[test]
fn an_unreachable_server_is_one_clear_line_and_exit_1() {
    // Port 9 (discard) is closed on a test machine: the connection is refused at once.
    let p = Project::new(
        "settings:\n  max_retries: 0\nagents:\n  local:\n    provider: openai\n    model: m\n    api_base: http://127.0.0.1:9/v1\n",
    );
    p.tzzr()
        .args(["--agent", "local", "--prompt", "hi"])
        .assert()
        .code(1)
        .stderr(predicate::str::starts_with(
            "tzzr: local: cannot reach http://127.0.0.1:9/v1",
        ))
        .stderr(predicate::function(|s: &str| s.lines().count() == 1));
}

#[test]
fn an_unknown_agent_is_an_error_with_a_suggestion() {
    let p = Project::new(DEMO);
    p.tzzr()
        .args(["--agent", "dmeo", "--prompt", "hi"])
        .assert()
        .code(1)
        .stderr("tzzr: unknown agent `dmeo`; did you mean `demo`?; agents: demo, echo\n");
}

#[test]
fn a_broken_yaml_file_is_one_line_with_its_position() {
    let p = Project::new("agents:\n  coder:\n    tools: [read\n    role: x\n");
    p.tzzr()
        .arg("--agents")
        .assert()
        .code(1)
        .stderr(predicate::str::is_match(r"^tzzr: .*config\.yaml:\d+:\d+: .+\n$").unwrap());
}

#[test]
fn an_unknown_tool_is_an_error_naming_the_nearest_tool() {
    let p = Project::new("agents:\n  coder:\n    provider: scripted\n    tools: [read, bsh]\n");
    p.tzzr()
        .arg("--agents")
        .assert()
        .code(1)
        .stderr(predicate::str::contains(
            "config.yaml:4:19: agent `coder` names unknown tool `bsh`; did you mean `bash`?",
        ));
}

#[test]
fn an_unknown_key_is_a_warning_and_the_run_goes_on() {
    let p = Project::new("agents:\n  coder:\n    provider: scripted\n    tols: [read]\n");
    p.tzzr()
        .arg("--agents")
        .assert()
        .success()
        .stderr(predicate::str::contains(
            "config.yaml:4:5: unknown key `tols` in agents.coder; did you mean `tools`?",
        ));
}

#[test]
fn no_config_anywhere_is_an_error_that_says_where_it_looked() {
    let dir = tempfile::tempdir().unwrap();
    let mut cmd = Command::cargo_bin("tzzr").unwrap();
    cmd.current_dir(dir.path())
        .env("XDG_CONFIG_HOME", dir.path().join("cfg"))
        .env("XDG_STATE_HOME", dir.path().join("state"))
        .arg("--agents")
        .assert()
        .code(1)
        .stderr(predicate::str::contains("no config file found"))
        .stderr(predicate::str::contains("config.yaml"));
}

#[test]
fn status_prints_v6_fields_as_json() {
    let p = Project::new(DEMO);
    let out = p.tzzr().arg("--status").assert().success();
    let status: serde_json::Value = serde_json::from_slice(&out.get_output().stdout).unwrap();
    for key in [
        "config_path",
        "settings",
        "agents",
        "servers",
        "costs",
        "endpoints",
    ] {
        assert!(status.get(key).is_some(), "missing {key}: {status}");
    }
    for key in [
        "timeout",
        "rate_limit",
        "max_retries",
        "sandbox_paths",
        "circuit_breaker",
    ] {
        assert!(
            status["settings"].get(key).is_some(),
            "missing settings.{key}"
        );
    }
    assert_eq!(status["agents"]["demo"]["provider"], "scripted");
    assert_eq!(
        status["agents"]["demo"]["tools"],
        serde_json::json!(["list_dir"])
    );
    assert_eq!(status["costs"]["total_requests"], 0);
}

#[test]
fn health_marks_each_agent_and_fails_when_one_is_unhealthy() {
    let p = Project::new(
        "agents:\n  demo:\n    provider: scripted\n  coder:\n    provider: litellm\n    model: gpt4o\n",
    );
    p.tzzr()
        .arg("--health")
        .assert()
        .code(1)
        .stdout(predicate::str::contains("  ✅ demo  scripted replies"))
        .stdout(predicate::str::contains(
            "  ❌ coder  no API key: set OPENAI_API_KEY",
        ));
}

#[test]
fn usage_mistakes_say_what_is_missing() {
    let p = Project::new(DEMO);
    p.tzzr()
        .args(["--prompt", "hi"])
        .assert()
        .code(1)
        .stderr("tzzr: --prompt needs --agent NAME or --all\n");
}

#[test]
fn without_a_terminal_the_ui_says_what_to_use_instead() {
    let p = Project::new(DEMO);
    p.tzzr()
        .assert()
        .code(1)
        .stderr("tzzr: the terminal UI needs a terminal; from a script use --agent NAME --prompt TEXT, --all or --task (see --help)\n");
}

/// Runs the binary from async code (the mock server needs the runtime to keep serving).
async fn run_blocking(mut cmd: Command) -> std::process::Output {
    tokio::task::spawn_blocking(move || cmd.output().unwrap())
        .await
        .unwrap()
}

#[tokio::test(flavor = "multi_thread")]
async fn health_lists_models_with_the_key_and_reports_a_refused_key() {
    let mock = MockLlm::start_with(MockOptions::default().api_key("sk-right"))
        .await
        .unwrap();
    let p = Project::new(&format!(
        "agents:\n  good:\n    provider: openai\n    model: m\n    api_base: {0}\n  bad:\n    provider: anthropic\n    model: m\n    api_base: {1}\n",
        mock.openai_base(),
        mock.anthropic_base()
    ));
    let mut cmd = p.tzzr();
    // A key from the environment goes to a base URL only from a config the user named.
    cmd.args(["--config", "config.yaml", "--health"])
        .env("OPENAI_API_KEY", "sk-right")
        .env("ANTHROPIC_API_KEY", "sk-wrong");
    let out = run_blocking(cmd).await;
    let stdout = String::from_utf8(out.stdout).unwrap();
    assert_eq!(out.status.code(), Some(1), "{stdout}");
    assert!(stdout.contains("  ✅ good  openai 127.0.0.1:"), "{stdout}");
    assert!(
        stdout.contains("  ❌ bad  ") && stdout.contains("refused the API key (HTTP 401)"),
        "{stdout}"
    );
    assert!(
        mock.chat_requests().is_empty(),
        "the health check spends no tokens"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn a_prompt_to_a_real_http_endpoint_streams_and_logs_its_cost() {
    let mock = MockLlm::start().await;
    let p = Project::new(&format!(
        "agents:\n  bot:\n    provider: openai\n    model: gpt-4o\n    api_base: {}\n",
        mock.openai_base()
    ));
    let mut cmd = p.tzzr();
    cmd.args(["--agent", "bot", "--prompt", "hello", "--json"]);
    let out = run_blocking(cmd).await;
    assert!(out.status.success());
    let stdout = String::from_utf8(out.stdout).unwrap();
    let usage: serde_json::Value = stdout
        .lines()
        .map(|l| serde_json::from_str::<serde_json::Value>(l).unwrap())
        .find(|e| e["event"] == "usage")
        .unwrap();
    assert_eq!(usage["model"], "gpt-4o");
    assert_eq!(usage["priced"], true);
    assert!(usage["cost_usd"].as_f64().unwrap() > 0.0);
    assert!(
        stdout.contains(r#""event":"context""#),
        "the context window's fill is reported after the call: {stdout}"
    );
    let journal = std::fs::read_to_string(p.path().join("logs/bot.jsonl")).unwrap();
    // The journal also holds what the agent reported before any turn (its context at start).
    let of_turns = journal
        .lines()
        .filter(|l| !l.contains(r#""turn":0,"#))
        .count();
    assert_eq!(
        of_turns,
        stdout.lines().count(),
        "every event is on disk too"
    );
}

const WRITER: &str = "agents:\n  w:\n    provider: scripted\n    tools: [write]\n    script:\n      - tool_calls: [{tool: write, params: {path: out.txt, content: hi}}]\n      - done\n";

#[test]
fn headless_a_call_that_asks_is_refused_unless_yes() {
    let p = Project::new(WRITER);
    p.tzzr()
        .args(["--agent", "w", "--prompt", "go"])
        .assert()
        .success()
        .stderr(predicate::str::contains("✗ write ("))
        .stderr(predicate::str::contains(
            "refused: `write` needs approval and no one can give it here; run with --yes, or set agents.w.approval to auto",
        ));
    assert!(!p.path().join("out.txt").exists());
    p.tzzr()
        .args(["--agent", "w", "--prompt", "go", "--yes"])
        .assert()
        .success()
        .stderr(predicate::str::contains("✓ write ("));
    assert_eq!(
        std::fs::read_to_string(p.path().join("out.txt")).unwrap(),
        "hi"
    );
}
