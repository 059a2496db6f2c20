#![allow(clippy::unwrap_used, clippy::expect_used)]
//! `bash` tried as an attacker would: writes out of the workspace through several programs, at
//! the config, `.env` and logs inside it, secrets in the environment, a flood of output, and
//! children that fork and sleep through a cancel, a timeout and a Ctrl+C. The sandbox helper
//! is the tzzr binary cargo built; the wall these tests hit is the kernel's (Landlock and a
//! mount namespace), not the deny-list.

mod support;

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::{Value, json};
use support::harness::{Harness, use_built_tzzr};
use tokio_util::sync::CancellationToken;
use tzzr::engine::conversation::ToolCall;
use tzzr::engine::protocol::{AgentCommand, CallId, EventKind, Outcome};
use tzzr::engine::tools::exec::SandboxSupport;
use tzzr::engine::tools::{ToolContext, Toolbox};

/// Writes each child's pid (two sleeping grandchildren, one in a nested shell, then the shell
/// itself) to `pids` in the working directory, then sleeps.
const FORK_AND_SLEEP: &str = "sleep 1000 & echo $! > pids; bash -c 'sleep 1000 & echo $! >> pids; wait' & sleep 0.2; echo $$ >> pids; sleep 1000";

/// A config (JSON is YAML) whose agent `shell` runs `commands[n]` with bash in its turn n+1.
fn config(commands: &[&str], settings: Value) -> String {
    let script: Vec<Value> = commands
        .iter()
        .flat_map(|command| {
            [
                json!({"tool_calls": [{"tool": "bash", "params": {"command": command}}]}),
                json!("done"),
            ]
        })
        .collect();
    json!({
        "settings": settings,
        "agents": {"shell": {
            "provider": "scripted",
            "tools": ["bash"],
            "approval": "auto",
            "script": script
        }}
    })
    .to_string()
}

/// What the model got from a bash call.
#[derive(Debug)]
struct Seen {
    ok: bool,
    output: String,
    full_output: Option<PathBuf>,
}

fn seen(events: &[tzzr::engine::protocol::AgentEvent]) -> Seen {
    events
        .iter()
        .find_map(|event| match &event.kind {
            EventKind::ToolCallFinished {
                ok,
                output,
                full_output,
                ..
            } => Some(Seen {
                ok: *ok,
                output: output.clone(),
                full_output: full_output.clone(),
            }),
            _ => None,
        })
        .expect("a finished tool call")
}

/// Runs the next turn of `shell` and returns its bash call.
async fn next_call(harness: &mut Harness) -> Seen {
    let turn = harness.prompt("shell", "go");
    let events = harness.until_finished(turn).await;
    seen(&events)
}

fn assert_sandbox_here() {
    use_built_tzzr();
    let support = SandboxSupport::detected();
    assert!(
        support.confines(),
        "these tests need Landlock and user/mount namespaces: {}",
        support.summary()
    );
}

/// Whether `pid` is alive (a zombie waiting for its reaper is not).
fn is_running(pid: u32) -> bool {
    match std::fs::read_to_string(format!("/proc/{pid}/stat")) {
        Ok(stat) => !matches!(
            stat.rsplit_once(") ")
                .and_then(|(_, rest)| rest.chars().next()),
            Some('Z' | 'X') | None
        ),
        Err(_) => false,
    }
}

/// Waits until `file` holds `lines` whole lines (10 s at most) and returns them as pids.
fn wait_for_pids(file: &Path, lines: usize) -> Vec<u32> {
    let started = Instant::now();
    loop {
        let text = std::fs::read_to_string(file).unwrap_or_default();
        if text.ends_with('\n') && text.lines().count() >= lines {
            return text
                .lines()
                .map(|pid| pid.trim().parse().unwrap())
                .collect();
        }
        assert!(
            started.elapsed() < Duration::from_secs(10),
            "{} never held {lines} pids: {text:?}",
            file.display()
        );
        std::thread::sleep(Duration::from_millis(5));
    }
}

/// Whether every pid is gone within 10 s.
fn all_gone(pids: &[u32]) -> bool {
    let started = Instant::now();
    while pids.iter().any(|pid| is_running(*pid)) {
        if started.elapsed() > Duration::from_secs(10) {
            return false;
        }
        std::thread::sleep(Duration::from_millis(10));
    }
    true
}

#[tokio::test(flavor = "multi_thread")]
async fn writes_outside_the_workspace_are_stopped_by_landlock() {
    assert_sandbox_here();
    // Outside: beside the workspace, in cargo's target dir, not under the temp dir (writable).
    let outside = tempfile::tempdir_in(env!("CARGO_TARGET_TMPDIR")).unwrap();
    let outside = outside.path().canonicalize().unwrap();
    let temp = std::env::temp_dir().canonicalize().unwrap();
    assert!(
        !outside.starts_with(&temp),
        "{} is in the temp dir",
        outside.display()
    );
    let workspace = outside.join("ws");
    std::fs::create_dir(&workspace).unwrap();
    std::fs::write(workspace.join("in.txt"), "inside\n").unwrap();
    let o = outside.display();
    let attempts = [
        format!("python3 -c \"open('{o}/py.txt', 'w').write('x')\""),
        "cp in.txt ../cp.txt".to_owned(),
        "sh -c 'echo x > ../sh.txt'".to_owned(),
        "cd .. && touch touched.txt".to_owned(),
        "ln -s .. up && echo x > up/via-link.txt".to_owned(),
        "mv in.txt ../moved.txt".to_owned(),
        "mkdir ../made-dir".to_owned(),
    ];
    let commands: Vec<&str> = attempts.iter().map(String::as_str).collect();
    let mut harness = Harness::start(&config(
        &commands,
        json!({"working_dir": workspace.display().to_string()}),
    ))
    .await;
    for attempt in &attempts {
        let call = next_call(&mut harness).await;
        assert!(!call.ok, "{attempt}: {call:?}");
        assert!(
            !call.output.starts_with("refused"),
            "{attempt}: the deny-list, not the kernel, stopped it: {}",
            call.output
        );
        assert!(
            call.output.contains("Permission denied"),
            "{attempt}: {}",
            call.output
        );
    }
    let mut left = std::fs::read_dir(&outside)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect::<Vec<_>>();
    left.sort();
    assert_eq!(left, ["ws"], "something was written outside");
    assert_eq!(
        std::fs::read_to_string(workspace.join("in.txt")).unwrap(),
        "inside\n"
    );
    harness.shutdown().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn writes_inside_the_workspace_and_the_temp_dir_work() {
    assert_sandbox_here();
    let command = "echo made > made.txt && mkdir -p sub/deeper && echo deep > sub/deeper/f && \
                   t=$(mktemp) && echo in-tmp > \"$t\" && cat \"$t\" && rm \"$t\" && \
                   cat made.txt sub/deeper/f > /dev/null && echo all-good";
    let mut harness = Harness::start(&config(&[command], json!({}))).await;
    let call = next_call(&mut harness).await;
    assert!(call.ok, "{call:?}");
    assert_eq!(call.output, "in-tmp\nall-good\n[exit code 0]");
    assert_eq!(
        std::fs::read_to_string(harness.dir().join("sub/deeper/f")).unwrap(),
        "deep\n"
    );
    harness.shutdown().await;
}

/// The private directory this process's orchestrator made for the Claude CLI's bridge, found
/// by the socket of its first Claude agent.
fn bridge_runtime_dir() -> PathBuf {
    let prefix = format!("tzzr-{}-", std::process::id());
    let parents = [
        std::env::var_os("XDG_RUNTIME_DIR").map(PathBuf::from),
        directories::ProjectDirs::from("", "", "tzzr")
            .and_then(|d| d.state_dir().map(Path::to_path_buf)),
        Some(std::env::temp_dir()),
    ];
    parents
        .into_iter()
        .flatten()
        .flat_map(|parent| std::fs::read_dir(parent).into_iter().flatten().flatten())
        .map(|entry| entry.path())
        .find(|path| {
            path.file_name()
                .is_some_and(|name| name.to_string_lossy().starts_with(&prefix))
                && path.join("agent-0.sock").exists()
        })
        .expect("the bridge's runtime dir")
}

#[tokio::test(flavor = "multi_thread")]
async fn the_claude_bridge_sockets_are_hidden_from_the_shell() {
    assert_sandbox_here();
    // A Claude agent beside the shell: tzzr opens its bridge socket as it starts it. A shell
    // that could replace that socket could answer the CLI's permission prompts itself.
    let pid = std::process::id();
    let command = format!(
        "for rt in \"${{XDG_RUNTIME_DIR:-/none}}\"/tzzr-{pid}-* \"$HOME\"/.local/state/tzzr/tzzr-{pid}-* /tmp/tzzr-{pid}-*; do \
         [ -d \"$rt\" ] || continue; ls -A \"$rt\"; rm \"$rt/agent-0.sock\" && echo removed; \
         touch \"$rt/mine\"; done"
    );
    let yaml = json!({
        "agents": {
            "cc": {"provider": "claude", "tools": ["list_dir"]},
            "shell": {
                "provider": "scripted",
                "tools": ["bash"],
                "approval": "auto",
                "script": [{"tool_calls": [{"tool": "bash", "params": {"command": command}}]}, "done"]
            }
        }
    })
    .to_string();
    let mut harness = Harness::start(&yaml).await;
    let dir = bridge_runtime_dir();
    let turn = harness.prompt("shell", "go");
    let call = seen(&harness.until_finished(turn).await);
    assert!(
        !call.output.lines().any(|l| l == "agent-0.sock"),
        "listed: {call:?}"
    );
    assert!(!call.output.lines().any(|l| l == "removed"), "{call:?}");
    assert!(dir.join("agent-0.sock").exists(), "{call:?}");
    assert!(!dir.join("mine").exists(), "{call:?}");
    harness.shutdown().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn the_users_terminal_is_out_of_reach() {
    use std::io::BufRead;
    assert_sandbox_here();
    // A terminal of the user's, as the one the TUI draws on: writing to it would send it
    // escape sequences nobody cleaned.
    let mut terminal = Command::new("python3")
        .args([
            "-c",
            "import os, pty, time; m, s = pty.openpty(); print(os.ttyname(s), flush=True); time.sleep(60)",
        ])
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    let mut tty = String::new();
    std::io::BufReader::new(terminal.stdout.take().unwrap())
        .read_line(&mut tty)
        .unwrap();
    let tty = tty.trim().to_owned();
    assert!(tty.starts_with("/dev/pts/"), "{tty}");
    // It also runs in a session of its own: it has no terminal at all.
    let command = format!(
        "printf '\\033]52;c;aGk=\\a' > {tty}; printf x > /dev/tty; \
         read -r _ _ _ _ _ session _ < /proc/$$/stat; [ \"$session\" = $$ ] && echo own-session"
    );
    let mut harness = Harness::start(&config(&[&command], json!({}))).await;
    let call = next_call(&mut harness).await;
    let _ = terminal.kill();
    let _ = terminal.wait();
    assert!(
        call.output.contains(&format!("{tty}: Permission denied")),
        "{}",
        call.output
    );
    assert!(
        call.output.contains("/dev/tty: Permission denied")
            || call.output.contains("/dev/tty: No such device or address"),
        "{}",
        call.output
    );
    assert!(call.output.contains("own-session"), "{}", call.output);
    harness.shutdown().await;
}

/// Runs the built tzzr headless in `dir` on its `config.yaml`, with `--json --yes`.
fn tzzr(dir: &Path) -> Command {
    use_built_tzzr();
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_tzzr"));
    cmd.current_dir(dir)
        .args(["--agent", "shell", "--prompt", "go", "--json", "--yes"])
        .env("XDG_STATE_HOME", dir.join("state"))
        .stdin(Stdio::null());
    cmd
}

#[test]
fn status_and_health_say_what_confines_bash() {
    assert_sandbox_here();
    let project = tempfile::tempdir().unwrap();
    let dir = project.path();
    std::fs::write(dir.join("config.yaml"), config(&["true"], json!({}))).unwrap();
    let run = |flag: &str| {
        let out = Command::new(env!("CARGO_BIN_EXE_tzzr"))
            .current_dir(dir)
            .arg(flag)
            .env("XDG_STATE_HOME", dir.join("state"))
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8(out.stdout).unwrap()
    };
    let status: Value = serde_json::from_str(&run("--status")).unwrap();
    let sandbox = &status["sandbox"];
    assert_eq!(sandbox["confines_bash"], true, "{sandbox}");
    assert_eq!(sandbox["mount_namespace"], true, "{sandbox}");
    assert!(sandbox["landlock_abi"].as_u64().unwrap() >= 1, "{sandbox}");
    assert!(
        sandbox["detail"].as_str().unwrap().starts_with(
            "bash writes only inside the working directory and the temp dir (Landlock ABI "
        ),
        "{sandbox}"
    );
    let health = run("--health");
    assert!(
        health.contains(
            "  ✅ shell  scripted replies (no model to check); bash sandboxed (Landlock ABI "
        ),
        "{health}"
    );
}

/// The JSON events a headless run printed.
fn events(stdout: &[u8]) -> Vec<Value> {
    String::from_utf8_lossy(stdout)
        .lines()
        .map(|line| serde_json::from_str(line).unwrap())
        .collect()
}

fn finished_call(events: &[Value]) -> &Value {
    events
        .iter()
        .find(|e| e["event"] == "tool_call_finished")
        .expect("a finished tool call")
}

#[test]
fn the_config_env_and_logs_cannot_be_touched_but_new_files_can() {
    assert_sandbox_here();
    let project = tempfile::tempdir().unwrap();
    let dir = project.path();
    let attack = [
        "echo evil > config.yaml",
        ": > .env",
        "rm -f config.yaml",
        "mv .env moved.env",
        "echo evil >> logs/shell.md",
        "rm -r logs",
        "mv logs logs2",
        "ln .env hard.env",
        "mv \"$PWD\" \"$PWD-moved\"",
        "echo fresh > new-top-level.txt && cat new-top-level.txt",
    ]
    .join("; ");
    let yaml = config(&[&attack], json!({}));
    std::fs::write(dir.join("config.yaml"), &yaml).unwrap();
    std::fs::write(dir.join(".env"), "PLAIN_SETTING=kept\n").unwrap();

    let out = tzzr(dir).output().unwrap();
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let events = events(&out.stdout);
    let output = finished_call(&events)["output"]
        .as_str()
        .unwrap()
        .to_owned();
    for refusal in [
        "config.yaml: Read-only file system",
        ".env: Read-only file system",
        "logs/shell.md: Read-only file system",
        "cannot remove 'config.yaml': Device or resource busy",
        "cannot move '.env' to 'moved.env': Device or resource busy",
        "Device or resource busy",
        "Invalid cross-device link",
        "fresh\n",
    ] {
        assert!(output.contains(refusal), "{refusal:?} not in:\n{output}");
    }
    assert_eq!(
        std::fs::read_to_string(dir.join("config.yaml")).unwrap(),
        yaml
    );
    assert_eq!(
        std::fs::read_to_string(dir.join(".env")).unwrap(),
        "PLAIN_SETTING=kept\n"
    );
    let log = std::fs::read_to_string(dir.join("logs/shell.md")).unwrap();
    assert!(!log.contains("evil\n"), "{log}");
    for gone in ["moved.env", "logs2", "hard.env"] {
        assert!(!dir.join(gone).exists(), "{gone} exists");
    }
    assert!(!PathBuf::from(format!("{}-moved", dir.display())).exists());
    assert_eq!(
        std::fs::read_to_string(dir.join("new-top-level.txt")).unwrap(),
        "fresh\n"
    );
}

#[test]
fn the_environment_holds_no_secret_and_tzzrs_own_is_out_of_reach() {
    assert_sandbox_here();
    let project = tempfile::tempdir().unwrap();
    let dir = project.path();
    // $PPID is tzzr: its environment (with the keys) must not be readable through /proc,
    // even when tzzr runs as root.
    let command = "env; echo ---; tr '\\0' '\\n' < /proc/$PPID/environ";
    let mut yaml: Value = serde_json::from_str(&config(&[command], json!({}))).unwrap();
    yaml["providers"] = json!({"local": {
        "kind": "openai", "api_base": "http://127.0.0.1:9/v1", "api_key_env": "LLM_PASS"
    }});
    std::fs::write(dir.join("config.yaml"), yaml.to_string()).unwrap();
    let secrets = [
        ("OPENAI_API_KEY", "sk-secret-value-1"),
        ("MY_TOKEN", "tok-secret-value-2"),
        ("LLM_PASS", "secret-value-3"),
        ("db_password", "secret-value-4"),
    ];
    let mut cmd = tzzr(dir);
    cmd.env("PLAIN_SETTING", "visible");
    for (name, value) in secrets {
        cmd.env(name, value);
    }
    let out = cmd.output().unwrap();
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let events = events(&out.stdout);
    let output = finished_call(&events)["output"]
        .as_str()
        .unwrap()
        .to_owned();
    assert!(output.contains("PLAIN_SETTING=visible"), "{output}");
    assert!(output.contains("PATH="), "{output}");
    assert!(output.contains("environ: Permission denied"), "{output}");
    for (name, value) in secrets {
        assert!(
            !output.contains(value),
            "{name}'s value reached bash:\n{output}"
        );
        assert!(
            !output.contains(&format!("{name}=")),
            "{name} reached bash:\n{output}"
        );
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn fifty_megabytes_are_capped_quickly_and_kept_whole_on_disk() {
    assert_sandbox_here();
    let command = "yes 0123456789abcdef | head -c 50000000";
    let mut harness = Harness::start(&config(&[command], json!({}))).await;
    let started = Instant::now();
    let call = next_call(&mut harness).await;
    let took = started.elapsed();
    assert!(call.ok, "{}", &call.output[..200]);
    assert!(call.output.len() <= 100_000, "{}", call.output.len());
    assert!(
        call.output
            .starts_with("0123456789abcdef\n0123456789abcdef\n")
    );
    assert!(call.output.ends_with("[exit code 0]"));
    assert!(
        call.output.contains(" of 50000000 bytes left out here;"),
        "{}",
        &call.output[49_000..50_200]
    );
    let file = call.full_output.expect("the whole output on disk");
    assert!(
        file.starts_with(harness.dir().join("logs/outputs")),
        "{}",
        file.display()
    );
    assert_eq!(std::fs::metadata(&file).unwrap().len(), 50_000_000);
    assert!(took < Duration::from_secs(30), "took {took:?}");
    harness.shutdown().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn a_cancelled_call_kills_every_process_it_started() {
    assert_sandbox_here();
    let mut harness = Harness::start(&config(&[FORK_AND_SLEEP], json!({}))).await;
    let turn = harness.prompt("shell", "go");
    let pids = wait_for_pids(&harness.dir().join("pids"), 3);
    assert!(pids.iter().all(|pid| is_running(*pid)));
    harness.command("shell", AgentCommand::Cancel);
    let events = harness.until_finished(turn).await;
    let call = seen(&events);
    assert_eq!((call.ok, call.output.as_str()), (false, "cancelled"));
    assert_eq!(harness.outcome(&events), Outcome::Cancelled);
    assert!(all_gone(&pids), "still running: {pids:?}");
    harness.shutdown().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn a_call_past_its_time_limit_is_killed_with_every_process_it_started() {
    assert_sandbox_here();
    let command = format!("echo started; {FORK_AND_SLEEP}");
    let mut harness = Harness::start(&config(&[&command], json!({"timeout": 2}))).await;
    let call = next_call(&mut harness).await;
    assert!(!call.ok);
    assert_eq!(
        call.output,
        "timed out after 2s; every process it started was killed. Output so far:\nstarted\n"
    );
    let pids = wait_for_pids(&harness.dir().join("pids"), 3);
    assert!(all_gone(&pids), "still running: {pids:?}");
    harness.shutdown().await;
}

/// Starts a headless run whose bash call forks and sleeps, sends it `signal` once the
/// processes are up, and returns its exit status, its events and the pids.
fn interrupt_headless_run(signal: rustix::process::Signal) -> (Option<i32>, Vec<Value>, Vec<u32>) {
    let project = tempfile::tempdir().unwrap();
    let dir = project.path();
    std::fs::write(
        dir.join("config.yaml"),
        config(&[FORK_AND_SLEEP], json!({})),
    )
    .unwrap();
    let child = tzzr(dir)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let pids = wait_for_pids(&dir.join("pids"), 3);
    let tzzr_pid = rustix::process::Pid::from_raw(i32::try_from(child.id()).unwrap()).unwrap();
    rustix::process::kill_process(tzzr_pid, signal).unwrap();
    let started = Instant::now();
    let out = child.wait_with_output().unwrap();
    assert!(started.elapsed() < Duration::from_secs(20));
    (out.status.code(), events(&out.stdout), pids)
}

#[test]
fn ctrl_c_on_a_headless_run_cancels_and_kills_every_process() {
    assert_sandbox_here();
    let (code, events, pids) = interrupt_headless_run(rustix::process::Signal::INT);
    assert_eq!(code, Some(130));
    assert!(all_gone(&pids), "still running: {pids:?}");
    let call = finished_call(&events);
    assert_eq!(
        (&call["ok"], &call["output"]),
        (&json!(false), &json!("cancelled"))
    );
    let end = events
        .iter()
        .find(|e| e["event"] == "turn_finished")
        .unwrap();
    assert_eq!(end["outcome"]["status"], "cancelled", "{end}");
}

#[test]
fn sigterm_on_a_headless_run_does_the_same_and_exits_143() {
    assert_sandbox_here();
    let (code, _events, pids) = interrupt_headless_run(rustix::process::Signal::TERM);
    assert_eq!(code, Some(143));
    assert!(all_gone(&pids), "still running: {pids:?}");
}

fn bash_call(command: &str) -> ToolCall {
    ToolCall {
        id: CallId("call-1".into()),
        tool: "bash".into(),
        args: json!({"command": command}),
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn require_sandbox_refuses_bash_where_nothing_confines_it() {
    use_built_tzzr();
    let temp = tempfile::tempdir().unwrap();
    let root = temp.path().canonicalize().unwrap();
    let mut ctx = ToolContext::new(root.clone());
    ctx.shell.require_sandbox = true;
    let without = SandboxSupport::none("this kernel has no Landlock");
    let toolbox =
        Toolbox::new(&["bash".to_owned()], ctx.clone()).with_sandbox_support(without.clone());
    let out = toolbox
        .run(&bash_call("touch ran"), &CancellationToken::new())
        .await;
    assert!(!out.ok);
    assert!(
        out.output.starts_with("refused: settings.require_sandbox is true and bash cannot be confined here: no Landlock (this kernel has no Landlock)"),
        "{}",
        out.output
    );
    assert!(!root.join("ran").exists());

    // Without require_sandbox it runs, unconfined.
    ctx.shell.require_sandbox = false;
    let toolbox = Toolbox::new(&["bash".to_owned()], ctx.clone()).with_sandbox_support(without);
    let out = toolbox
        .run(&bash_call("touch ran"), &CancellationToken::new())
        .await;
    assert!(out.ok, "{}", out.output);
    assert!(root.join("ran").exists());

    // Where the kernel confines bash (here), require_sandbox lets it run.
    ctx.shell.require_sandbox = true;
    let toolbox = Toolbox::new(&["bash".to_owned()], ctx);
    let out = toolbox
        .run(&bash_call("touch ran-too"), &CancellationToken::new())
        .await;
    assert!(out.ok, "{}", out.output);
    assert!(root.join("ran-too").exists());
}

#[test]
fn a_helper_that_cannot_confine_itself_does_not_run_the_command() {
    let temp = tempfile::tempdir().unwrap();
    let root = temp.path().canonicalize().unwrap();
    let out = Command::new(env!("CARGO_BIN_EXE_tzzr"))
        .args(["__sandbox-exec", "--namespace", "--landlock", "--write"])
        .arg(&root)
        .arg("--read-only")
        .arg(root.join("missing"))
        .args(["--", "touch"])
        .arg(root.join("ran"))
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(125));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.starts_with("tzzr sandbox: cannot bind ")
            && stderr.ends_with("; the command was not run\n"),
        "{stderr}"
    );
    assert!(!root.join("ran").exists());
}

#[test]
fn a_user_who_is_not_root_is_confined_through_a_user_namespace() {
    use std::os::unix::process::CommandExt;
    if !rustix::process::getuid().is_root() {
        // Not root: every other test here already runs the helper through a user namespace.
        return;
    }
    let nobody = 65534;
    let temp = tempfile::tempdir().unwrap();
    let root = temp.path().canonicalize().unwrap();
    let (ws, outside) = (root.join("ws"), root.join("outside"));
    for dir in [&root, &ws, &outside] {
        std::fs::create_dir_all(dir).unwrap();
        std::os::unix::fs::chown(dir, Some(nobody), Some(nobody)).unwrap();
    }
    std::fs::write(ws.join("config.yaml"), "kept\n").unwrap();
    std::os::unix::fs::chown(ws.join("config.yaml"), Some(nobody), Some(nobody)).unwrap();
    // cargo's target dir may be out of nobody's reach (under /root): run a copy.
    let helper = root.join("tzzr");
    std::fs::copy(env!("CARGO_BIN_EXE_tzzr"), &helper).unwrap();
    let script = "id -u; echo evil > config.yaml; echo x > ../outside/x; echo new > new.txt";
    let out = Command::new(&helper)
        .current_dir(&ws)
        .uid(nobody)
        .gid(nobody)
        .args(["__sandbox-exec", "--namespace", "--landlock", "--write"])
        .arg(&ws)
        .arg("--read-only")
        .arg(ws.join("config.yaml"))
        .args(["--", "/bin/bash", "-c", script])
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(stdout, "65534\n", "{stderr}");
    assert!(
        stderr.contains("config.yaml: Read-only file system"),
        "{stderr}"
    );
    assert!(
        stderr.contains("../outside/x: Permission denied"),
        "{stderr}"
    );
    assert_eq!(
        std::fs::read_to_string(ws.join("config.yaml")).unwrap(),
        "kept\n"
    );
    assert!(!outside.join("x").exists());
    assert_eq!(
        std::fs::read_to_string(ws.join("new.txt")).unwrap(),
        "new\n"
    );
}
