#![allow(clippy::unwrap_used, clippy::expect_used)]
//! The real binary, treated roughly: killed mid-run, signalled, given hostile files. What a user
//! finds afterwards in the logs, on the terminal and in the exit status.

use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::Duration;

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
