#![allow(clippy::unwrap_used, clippy::expect_used)]
//! `ClaudeCli` against fake `claude` scripts: the argv of each turn, the child's environment,
//! sessions across turns, errors, cancel and timeout (the whole process group dies), `version`.

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use pretty_assertions::assert_eq;
use tempfile::TempDir;
use tokio_util::sync::CancellationToken;
use tzzr::engine::provider::claude_cli::{self, ClaudeCli, ClaudeCliConfig};
use tzzr::engine::provider::{ModelReply, ProviderError, StopReason, StreamItem};

const HELLO: &str = "echo: hello w1 w2 w3 w4 w5 w6 w7 w8 w9 w10 w11 w12 w13 w14 w15 w16 w17 w18";
const END_OF_ARGV: &str = "--end-of-argv--";

/// A fake `claude` in its own temp dir. Before its body runs, it appends its argv to
/// `argv.log` (one argument a line, then [`END_OF_ARGV`]) and sets `$session` to the value of
/// `--session-id` or `--resume` (and `$resuming` to `yes` for the latter); the body can call `init` to print a `system/init` line for it,
/// and `fixture NAME` to print a recorded transcript without its own init line.
struct Fake {
    dir: TempDir,
    program: PathBuf,
}

impl Fake {
    fn new(body: &str) -> Fake {
        let dir = tempfile::tempdir().unwrap();
        let fixtures = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/claude-cli");
        let script = format!(
            r#"#!/bin/sh
dir='{dir}'
for arg in "$@"; do printf '%s\n' "$arg" >> "$dir/argv.log"; done
printf '%s\n' '{END_OF_ARGV}' >> "$dir/argv.log"
session=""
resuming=""
previous=""
for arg in "$@"; do
  case "$previous" in
    --session-id) session="$arg" ;;
    --resume) session="$arg"; resuming=yes ;;
  esac
  previous="$arg"
done
init() {{ printf '{{"type":"system","subtype":"init","session_id":"%s","tools":[]}}\n' "$session"; }}
fixture() {{ grep -v '"subtype":"init"' '{fixtures}'/"$1".jsonl; }}
{body}
"#,
            dir = dir.path().display(),
            fixtures = fixtures.display(),
        );
        let program = write_script(dir.path(), "claude", &script);
        Fake { dir, program }
    }

    fn path(&self, name: &str) -> PathBuf {
        self.dir.path().join(name)
    }

    fn config(&self, tools: &[&str]) -> ClaudeCliConfig {
        ClaudeCliConfig {
            program: self.program.display().to_string(),
            model: "sonnet".into(),
            system_prompt: "You are brief.".into(),
            tools: tools.iter().map(|t| (*t).to_owned()).collect(),
            max_turns: 5,
            max_retries: 0,
            cwd: self.dir.path().to_owned(),
            env: Vec::new(),
            timeout: Duration::from_secs(30),
            bridge: None,
            protected: Vec::new(),
        }
    }

    /// The argv of every run so far, oldest first.
    fn argvs(&self) -> Vec<Vec<String>> {
        let log = std::fs::read_to_string(self.path("argv.log")).unwrap_or_default();
        let mut runs = Vec::new();
        let mut current = Vec::new();
        for line in log.lines() {
            if line == END_OF_ARGV {
                runs.push(std::mem::take(&mut current));
            } else {
                current.push(line.to_owned());
            }
        }
        runs
    }
}

fn write_script(dir: &Path, name: &str, text: &str) -> PathBuf {
    use std::os::unix::fs::PermissionsExt;
    let path = dir.join(name);
    std::fs::write(&path, text).unwrap();
    std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o755)).unwrap();
    path
}

/// Runs one turn, collecting what it streamed.
async fn turn(
    cli: &mut ClaudeCli,
    prompt: &str,
) -> (Result<ModelReply, ProviderError>, Vec<StreamItem>) {
    let mut items = Vec::new();
    let mut sink = |item| items.push(item);
    let result = cli.run(prompt, &CancellationToken::new(), &mut sink).await;
    (result, items)
}

fn value_after<'a>(argv: &'a [String], flag: &str) -> Option<&'a str> {
    let at = argv.iter().position(|a| a == flag)?;
    argv.get(at + 1).map(String::as_str)
}

fn hello_reply() -> ModelReply {
    ModelReply {
        text: HELLO.into(),
        tool_calls: vec![],
        stop: StopReason::EndTurn,
        cut_calls: Vec::new(),
    }
}

/// Whether a process is gone (a zombie waiting for init to reap it counts as gone).
fn is_gone(pid: &str) -> bool {
    match std::fs::read_to_string(format!("/proc/{pid}/stat")) {
        Err(_) => true,
        Ok(stat) => stat
            .rsplit_once(')')
            .is_some_and(|(_, rest)| rest.trim_start().starts_with(['Z', 'X'])),
    }
}

async fn wait_until_gone(pid: &str) {
    for _ in 0..500 {
        if is_gone(pid) {
            return;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    panic!("process {pid} is still running");
}

#[tokio::test]
async fn first_turn_starts_a_session_and_the_next_turns_resume_it() {
    let fake = Fake::new("init\nfixture hello");
    let mut cli = ClaudeCli::new(fake.config(&["bash", "read", "ssh", "bash"]));

    let (first, items) = turn(&mut cli, "hello").await;
    assert_eq!(first, Ok(hello_reply()));
    assert_eq!(items[0], StreamItem::TextDelta(HELLO.into()));
    assert!(matches!(items[1], StreamItem::Usage { .. }));
    let (second, _) = turn(&mut cli, "-again, with a dash").await;
    assert_eq!(second, Ok(hello_reply()));
    let (third, _) = turn(&mut cli, "third").await;
    assert_eq!(third, Ok(hello_reply()));

    let argvs = fake.argvs();
    let session = value_after(&argvs[0], "--session-id").unwrap().to_owned();
    let id = uuid::Uuid::parse_str(&session).unwrap();
    assert_eq!(id.get_version_num(), 4);
    assert_eq!(cli.session_id(), Some(session.as_str()));
    let expected = |session_flag: &str, prompt: &str| {
        [
            "-p",
            "--output-format",
            "stream-json",
            "--verbose",
            "--include-partial-messages",
            "--model",
            "sonnet",
            "--system-prompt",
            "You are brief.",
            "--max-turns",
            "5",
            "--tools",
            "Bash,Read",
            "--allowedTools",
            "Bash,Read",
            session_flag,
            &session,
            "--",
            prompt,
        ]
        .map(str::to_owned)
        .to_vec()
    };
    assert_eq!(
        argvs,
        [
            expected("--session-id", "hello"),
            expected("--resume", "-again, with a dash"),
            expected("--resume", "third"),
        ]
    );
}

#[tokio::test]
async fn an_agent_without_tools_gets_an_empty_tool_list_and_no_pre_approval() {
    let fake = Fake::new("init\nfixture hello");
    let mut cli = ClaudeCli::new(fake.config(&[]));
    let (reply, _) = turn(&mut cli, "hello").await;
    assert_eq!(reply, Ok(hello_reply()));
    let argv = &fake.argvs()[0];
    assert_eq!(value_after(argv, "--tools"), Some(""));
    assert!(!argv.iter().any(|a| a == "--allowedTools"), "{argv:?}");
}

#[tokio::test]
async fn with_tzzrs_bridge_approvals_come_to_tzzr_instead_of_being_pre_approved() {
    let fake = Fake::new("init\nfixture hello");
    let mut cfg = fake.config(&["bash", "read", "list_dir"]);
    cfg.bridge = Some(fake.path("agent-0.mcp.json"));
    let mut cli = ClaudeCli::new(cfg);
    let (reply, _) = turn(&mut cli, "hello").await;
    assert_eq!(reply, Ok(hello_reply()));
    let argv = &fake.argvs()[0];
    let config = fake.path("agent-0.mcp.json").display().to_string();
    assert_eq!(value_after(argv, "--tools"), Some("Bash,Read"));
    assert_eq!(value_after(argv, "--mcp-config"), Some(config.as_str()));
    assert!(argv.iter().any(|a| a == "--strict-mcp-config"), "{argv:?}");
    assert_eq!(
        value_after(argv, "--permission-prompt-tool"),
        Some("mcp__tzzr__approve")
    );
    assert_eq!(value_after(argv, "--setting-sources"), Some("user"));
    assert!(!argv.iter().any(|a| a == "--allowedTools"), "{argv:?}");
}

#[tokio::test]
async fn the_child_gets_the_parents_env_the_configured_env_max_retries_and_cwd() {
    let fake = Fake::new(
        r#"printf '%s|%s|%s|%s\n' "$CLAUDE_CODE_MAX_RETRIES" "$TZZR_FAKE_VAR" "$(pwd)" "${PATH:+has PATH}" > "$dir/env.log"
init
fixture hello"#,
    );
    let work = fake.path("work");
    std::fs::create_dir(&work).unwrap();
    let mut cfg = fake.config(&["bash"]);
    cfg.max_retries = 3;
    cfg.env = vec![("TZZR_FAKE_VAR".into(), "from config".into())];
    cfg.cwd = work.clone();
    let mut cli = ClaudeCli::new(cfg);
    let (reply, _) = turn(&mut cli, "hello").await;
    assert_eq!(reply, Ok(hello_reply()));
    let env = std::fs::read_to_string(fake.path("env.log")).unwrap();
    assert_eq!(
        env.trim_end(),
        format!("3|from config|{}|has PATH", work.display())
    );
}

#[tokio::test]
async fn reset_starts_a_new_session() {
    let fake = Fake::new("init\nfixture hello");
    let mut cli = ClaudeCli::new(fake.config(&["bash"]));
    turn(&mut cli, "one").await.0.unwrap();
    let first = cli.session_id().unwrap().to_owned();
    cli.reset();
    assert_eq!(cli.session_id(), None);
    turn(&mut cli, "two").await.0.unwrap();
    let second = cli.session_id().unwrap().to_owned();

    assert_ne!(first, second);
    let argvs = fake.argvs();
    assert_eq!(value_after(&argvs[0], "--session-id"), Some(first.as_str()));
    assert_eq!(
        value_after(&argvs[1], "--session-id"),
        Some(second.as_str())
    );
    assert!(!argvs[1].iter().any(|a| a == "--resume"));
}

#[tokio::test]
async fn an_error_result_with_exit_1_fails_with_its_message() {
    let fake = Fake::new("init\nfixture nokey\nexit 1");
    let mut cli = ClaudeCli::new(fake.config(&[]));
    let (result, items) = turn(&mut cli, "hello").await;
    assert_eq!(
        result,
        Err(ProviderError::Cli {
            message: "Not logged in · Please run /login".into()
        })
    );
    assert!(
        matches!(items.as_slice(), [StreamItem::Usage { .. }]),
        "{items:?}"
    );
}

#[tokio::test]
async fn exit_1_with_only_stderr_fails_naming_the_stderr_line_and_keeps_starting_sessions() {
    let fake = Fake::new(
        "echo 'warming up' >&2\necho 'Error: When using --print, --output-format=stream-json requires --verbose' >&2\necho >&2\nexit 1",
    );
    let mut cli = ClaudeCli::new(fake.config(&[]));
    let (result, items) = turn(&mut cli, "hello").await;
    assert_eq!(
        result,
        Err(ProviderError::Cli {
            message: "Error: When using --print, --output-format=stream-json requires --verbose"
                .into()
        })
    );
    assert_eq!(items, vec![]);
    assert_eq!(cli.session_id(), None);

    let _ = turn(&mut cli, "again").await;
    let argvs = fake.argvs();
    assert!(value_after(&argvs[1], "--session-id").is_some());
    assert!(!argvs[1].iter().any(|a| a == "--resume"));
}

#[tokio::test]
async fn an_exit_without_result_or_stderr_names_the_status() {
    let fake = Fake::new("init\nexit 3");
    let mut cli = ClaudeCli::new(fake.config(&[]));
    let (result, _) = turn(&mut cli, "hello").await;
    assert_eq!(
        result,
        Err(ProviderError::Cli {
            message: "claude exited with status 3".into()
        })
    );
}

#[tokio::test]
async fn a_missing_program_is_cli_missing() {
    let fake = Fake::new("init");
    let mut cfg = fake.config(&[]);
    cfg.program = fake.path("no-such-claude").display().to_string();
    let mut cli = ClaudeCli::new(cfg.clone());
    let (result, _) = turn(&mut cli, "hello").await;
    assert_eq!(
        result,
        Err(ProviderError::CliMissing {
            program: cfg.program
        })
    );
}

#[tokio::test]
async fn items_reach_the_sink_while_the_cli_still_runs() {
    // The fake prints its result only once the test's sink has seen the text.
    let fake = Fake::new(
        r#"init
printf '%s\n' '{"type":"assistant","message":{"id":"m1","content":[{"type":"text","text":"early"}]}}'
n=0
while [ ! -e "$dir/seen" ] && [ "$n" -lt 1000 ]; do sleep 0.01; n=$((n + 1)); done
printf '%s\n' '{"type":"result","subtype":"success","is_error":false,"result":"early"}'"#,
    );
    let seen = fake.path("seen");
    let mut cli = ClaudeCli::new(fake.config(&[]));
    let mut items = Vec::new();
    let mut sink = |item: StreamItem| {
        if item == StreamItem::TextDelta("early".into()) {
            std::fs::write(&seen, "").unwrap();
        }
        items.push(item);
    };
    let started = Instant::now();
    let result = cli.run("hi", &CancellationToken::new(), &mut sink).await;
    assert_eq!(result.unwrap().text, "early");
    assert!(
        started.elapsed() < Duration::from_secs(5),
        "the fake waited in vain"
    );
}

#[tokio::test]
async fn cancel_kills_the_cli_and_the_tools_it_started_promptly() {
    // The fake starts a "tool", says something, and waits; the sink cancels on hearing it.
    let fake = Fake::new(
        r#"sleep 30 &
echo $! > "$dir/tool.pid"
init
printf '%s\n' '{"type":"assistant","message":{"id":"m1","content":[{"type":"text","text":"working"}]}}'
wait"#,
    );
    let mut cli = ClaudeCli::new(fake.config(&["bash"]));
    let cancel = CancellationToken::new();
    let mut cancelled_at = None;
    let mut sink = |item| {
        if item == StreamItem::TextDelta("working".into()) {
            cancel.cancel();
            cancelled_at = Some(Instant::now());
        }
    };
    let result = cli.run("hi", &cancel, &mut sink).await;
    let took = cancelled_at.expect("the fake spoke").elapsed();

    assert_eq!(result, Err(ProviderError::Cancelled));
    assert!(took < Duration::from_millis(500), "cancel took {took:?}");
    let pid = std::fs::read_to_string(fake.path("tool.pid")).unwrap();
    wait_until_gone(pid.trim()).await;
    // The run printed its init line, so the next turn resumes that session.
    assert!(cli.session_id().is_some());
}

#[tokio::test]
async fn silence_longer_than_the_timeout_kills_the_cli() {
    let fake = Fake::new("sleep 30 &\necho $! > \"$dir/tool.pid\"\ninit\nwait");
    let mut cfg = fake.config(&[]);
    cfg.timeout = Duration::from_millis(300);
    let mut cli = ClaudeCli::new(cfg);
    let (result, _) = turn(&mut cli, "hello").await;
    assert_eq!(
        result,
        Err(ProviderError::Cli {
            message: "no output from claude for 0.3s".into()
        })
    );
    // On a machine slow enough for the kill to come before the tool started, nothing leaked.
    let pid = std::fs::read_to_string(fake.path("tool.pid")).unwrap_or_default();
    if !pid.trim().is_empty() {
        wait_until_gone(pid.trim()).await;
    }
}

#[tokio::test]
async fn a_resume_the_cli_cannot_find_is_run_again_in_a_new_session() {
    // Like the real CLI after a run was killed before it stored the conversation.
    let fake = Fake::new(
        r#"if [ "$resuming" = yes ] && [ ! -e "$dir/refused" ]; then
  : > "$dir/refused"
  printf '{"type":"result","subtype":"error_during_execution","is_error":true,"result":null,"errors":["No conversation found with session ID: %s"]}\n' "$session"
  echo "No conversation found with session ID: $session" >&2
  exit 1
fi
init
fixture hello"#,
    );
    let mut cli = ClaudeCli::new(fake.config(&[]));
    turn(&mut cli, "one").await.0.unwrap();
    let lost = cli.session_id().unwrap().to_owned();

    let (result, items) = turn(&mut cli, "two").await;
    assert_eq!(result, Ok(hello_reply()));
    assert_eq!(
        items[0],
        StreamItem::Notice(format!(
            "claude CLI has no record of session {lost}; starting a new session without the earlier turns"
        ))
    );
    let argvs = fake.argvs();
    assert_eq!(argvs.len(), 3);
    assert_eq!(value_after(&argvs[1], "--resume"), Some(lost.as_str()));
    let fresh = value_after(&argvs[2], "--session-id").unwrap();
    assert_ne!(fresh, lost);
    assert_eq!(cli.session_id(), Some(fresh));
}

#[tokio::test]
async fn version_reports_what_the_program_prints() {
    let dir = tempfile::tempdir().unwrap();
    let good = write_script(
        dir.path(),
        "claude",
        "#!/bin/sh\n[ \"$1\" = --version ] && echo '2.1.332 (Claude Code)'\n",
    );
    let broken = write_script(
        dir.path(),
        "broken",
        "#!/bin/sh\necho 'cannot load native module' >&2\nexit 2\n",
    );
    let good = good.display().to_string();
    let broken = broken.display().to_string();
    let missing = dir.path().join("missing").display().to_string();

    assert_eq!(
        claude_cli::version(&good).await,
        Ok("2.1.332 (Claude Code)".into())
    );
    assert_eq!(
        claude_cli::version(&broken).await,
        Err(ProviderError::Cli {
            message: "cannot load native module".into()
        })
    );
    assert_eq!(
        claude_cli::version(&missing).await,
        Err(ProviderError::CliMissing { program: missing })
    );
}
