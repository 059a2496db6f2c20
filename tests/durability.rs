#![allow(clippy::unwrap_used, clippy::expect_used)]
//! The real binary, treated roughly: killed mid-run, signalled, given hostile files. What a user
//! finds afterwards in the logs, on the terminal and in the exit status.

mod support;

use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use support::tmux::Tmux;

/// Ten times the writer's flush interval: an event printed this long before a SIGKILL must be on
/// disk, however loaded the machine.
const WELL_PAST_A_FLUSH: Duration = Duration::from_secs(1);

fn tzzr(dir: &Path) -> Command {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_tzzr"));
    cmd.current_dir(dir)
        .env("XDG_STATE_HOME", dir.join("state"))
        .env_remove("OPENAI_API_KEY")
        .env_remove("ANTHROPIC_API_KEY");
    cmd
}

/// The lines `child` prints, as they come.
fn lines_of(child: &mut Child) -> mpsc::Receiver<String> {
    let stdout = child.stdout.take().unwrap();
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(stdout).lines() {
            let Ok(line) = line else { return };
            if tx.send(line).is_err() {
                return;
            }
        }
    });
    rx
}

fn json(line: &str) -> serde_json::Value {
    serde_json::from_str(line).unwrap()
}

#[test]
fn sigkill_mid_run_loses_only_the_last_moment_of_the_journal() {
    let dir = tempfile::tempdir().unwrap();
    let words = "word ".repeat(2_000);
    std::fs::write(
        dir.path().join("config.yaml"),
        format!(
            "agents:\n  talker:\n    provider: scripted\n    script: [{{text: \"{words}\", delay_ms: 5}}]\n"
        ),
    )
    .unwrap();
    let mut child = tzzr(dir.path())
        .args(["--agent", "talker", "--prompt", "talk", "--json"])
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let printed = lines_of(&mut child);
    let mut seen: Vec<String> = Vec::new();
    while seen.len() < 40 {
        seen.push(printed.recv_timeout(Duration::from_secs(30)).unwrap());
    }
    let safe = seen.len();
    std::thread::sleep(WELL_PAST_A_FLUSH);
    child.kill().unwrap();
    child.wait().unwrap();
    seen.extend(printed.iter());
    assert!(
        !seen.iter().any(|l| json(l)["event"] == "turn_finished"),
        "the run was to be killed mid-turn"
    );

    let journal = std::fs::read_to_string(dir.path().join("logs/talker.jsonl")).unwrap();
    // Only whole lines: a write cut by the kill would leave half of one at the end.
    // Turn 0 holds what the agent says at start (its context window): headless prints turns.
    let on_disk: Vec<serde_json::Value> = journal
        .lines()
        .map(json)
        .filter(|event| event["turn"] != 0)
        .collect();
    assert!(
        on_disk.len() >= safe,
        "{} events on disk, but {safe} were printed {WELL_PAST_A_FLUSH:?} before the kill",
        on_disk.len()
    );
    let printed: Vec<serde_json::Value> = seen.iter().map(|l| json(l)).collect();
    // An event is journaled before it is printed: the kill may fall between the two.
    let both = on_disk.len().min(printed.len());
    assert_eq!(
        on_disk[..both],
        printed[..both],
        "the journal holds what was printed, in order"
    );
    let md = std::fs::read_to_string(dir.path().join("logs/talker.md")).unwrap();
    assert!(md.contains("| PROMPT\n\ntalk\n"), "{md}");
}

#[test]
fn a_team_larger_than_the_open_file_limit_answers_every_one() {
    let dir = tempfile::tempdir().unwrap();
    let agents = 600;
    let mut config = String::from("agents:\n");
    for n in 0..agents {
        config.push_str(&format!("  a{n}: {{provider: scripted}}\n"));
    }
    std::fs::write(dir.path().join("config.yaml"), config).unwrap();
    // 512 descriptors at most, hard: two log files an agent would need 1,200.
    let out = Command::new("sh")
        .arg("-c")
        .arg(format!(
            "ulimit -n 512 && exec '{}' --all --prompt hi --json",
            env!("CARGO_BIN_EXE_tzzr")
        ))
        .current_dir(dir.path())
        .env("XDG_STATE_HOME", dir.path().join("state"))
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{stderr}");
    let stdout = String::from_utf8(out.stdout).unwrap();
    let answered = stdout
        .lines()
        .filter(|l| json(l)["event"] == "turn_finished" && json(l)["outcome"]["status"] == "done")
        .count();
    assert_eq!(answered, agents, "{stderr}");
    for n in [0, agents / 2, agents - 1] {
        let md = std::fs::read_to_string(dir.path().join(format!("logs/a{n}.md"))).unwrap();
        assert!(md.contains("| RESULT\n\n(scripted) you said: hi\n"), "{md}");
    }
}

/// A scripted agent that talks slowly: a turn of a minute, to be interrupted.
const SLOW: &str = "agents:\n  slow:\n    provider: scripted\n    script: [{text: \"one two three four five six\", delay_ms: 10000}]\n";

fn signal(pid: u32, signal: rustix::process::Signal) {
    let pid = rustix::process::Pid::from_raw(i32::try_from(pid).unwrap()).unwrap();
    rustix::process::kill_process(pid, signal).unwrap();
}

/// The last event of the agent's journal, and its markdown log.
fn logs_of(dir: &Path, agent: &str) -> (serde_json::Value, String) {
    let journal = std::fs::read_to_string(dir.join(format!("logs/{agent}.jsonl"))).unwrap();
    let last = json(journal.lines().last().unwrap());
    let md = std::fs::read_to_string(dir.join(format!("logs/{agent}.md"))).unwrap();
    (last, md)
}

#[test]
fn sighup_cancels_a_headless_run_records_it_and_exits_129() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("config.yaml"), SLOW).unwrap();
    let mut child = tzzr(dir.path())
        .args(["--agent", "slow", "--prompt", "talk", "--json"])
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let printed = lines_of(&mut child);
    let first = printed.recv_timeout(Duration::from_secs(30)).unwrap();
    assert_eq!(json(&first)["event"], "turn_started");
    signal(child.id(), rustix::process::Signal::HUP);
    let started = Instant::now();
    let status = child.wait().unwrap();
    assert!(
        started.elapsed() < Duration::from_secs(5),
        "the turn was cancelled, not waited for"
    );
    assert_eq!(status.code(), Some(129));
    let (last, md) = logs_of(dir.path(), "slow");
    assert_eq!(last["event"], "turn_finished");
    assert_eq!(last["outcome"]["status"], "cancelled", "{last}");
    assert!(
        md.ends_with("| CANCELLED\n\nThe turn was cancelled.\n"),
        "{md}"
    );
}

#[test]
fn sigterm_gives_the_terminal_back_and_records_the_cancelled_turn() {
    if Command::new("tmux").arg("-V").output().is_err() {
        assert!(
            std::env::var("TZZR_E2E_REQUIRED").as_deref() != Ok("1"),
            "tmux is not installed and TZZR_E2E_REQUIRED=1"
        );
        #[allow(clippy::print_stderr, reason = "a skipped test says why")]
        {
            eprintln!("skipped: tmux is not installed (apt-get install tmux)");
        }
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("config.yaml"), SLOW).unwrap();
    // The shell writes its pid, then becomes tzzr: that pid is tzzr's.
    let command = format!(
        "XDG_STATE_HOME={} sh -c 'echo $$ > tzzr.pid; exec {}'; echo EXIT=$?; sleep 60",
        dir.path().join("state").display(),
        env!("CARGO_BIN_EXE_tzzr")
    );
    let tmux = Tmux::start(dir.path(), &command);
    tmux.wait_for_blocking("the UI", |s| s.contains("Prompt → slow"));
    assert_eq!(tmux.show("#{alternate_on} #{mouse_any_flag}"), "1 1");
    tmux.type_line("talk");
    tmux.wait_for_blocking("the turn to start", |s| s.contains("talk"));
    // The turn is under way once its prompt is in the log.
    let deadline = Instant::now() + Duration::from_secs(30);
    while !std::fs::read_to_string(dir.path().join("logs/slow.jsonl"))
        .unwrap_or_default()
        .contains("turn_started")
    {
        assert!(Instant::now() < deadline, "the turn never started");
        std::thread::sleep(Duration::from_millis(50));
    }
    let pid: u32 = std::fs::read_to_string(dir.path().join("tzzr.pid"))
        .unwrap()
        .trim()
        .parse()
        .unwrap();
    signal(pid, rustix::process::Signal::TERM);
    let after = tmux.wait_for_blocking("tzzr to exit", |s| s.contains("EXIT="));
    assert!(after.contains("EXIT=143"), "{after}");
    assert_eq!(
        tmux.show("#{alternate_on} #{mouse_any_flag}"),
        "0 0",
        "the alternate screen is left and the mouse given back"
    );
    let (last, md) = logs_of(dir.path(), "slow");
    assert_eq!(last["outcome"]["status"], "cancelled", "{last}");
    assert!(md.contains("| CANCELLED"), "{md}");
}

#[test]
fn a_config_that_is_no_regular_file_is_refused_at_once() {
    let dir = tempfile::tempdir().unwrap();
    let fifo = dir.path().join("fifo.yaml");
    rustix::fs::mkfifoat(
        rustix::fs::CWD,
        &fifo,
        rustix::fs::Mode::from_raw_mode(0o600),
    )
    .unwrap();
    for (config, what) in [
        (Path::new("/dev/zero"), "a device"),
        (fifo.as_path(), "a FIFO"),
    ] {
        let mut child = tzzr(dir.path())
            .arg("--config")
            .arg(config)
            .arg("--agents")
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        let deadline = Instant::now() + Duration::from_secs(20);
        while child.try_wait().unwrap().is_none() {
            if Instant::now() > deadline {
                child.kill().unwrap();
                panic!("tzzr --config {} hangs", config.display());
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        let out = child.wait_with_output().unwrap();
        assert_eq!(out.status.code(), Some(1));
        assert_eq!(
            String::from_utf8(out.stderr).unwrap(),
            format!(
                "tzzr: {}: is {what}, not a regular file; --config takes a YAML file\n",
                config.display()
            )
        );
    }
}
