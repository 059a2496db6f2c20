#![allow(clippy::unwrap_used, clippy::expect_used)]
//! The file tools tried as an attacker would, through the real binary: what confines an agent
//! (its config, the `.env` files, the logs) is out of its reach whatever the spelling, and a tool
//! that runs away does not keep tzzr from exiting.

use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::Value;

/// A headless run of the scripted agent `a` in `dir`, with its events as JSON Lines.
fn run(dir: &Path) -> (Vec<Value>, std::process::Output) {
    let output = Command::new(env!("CARGO_BIN_EXE_tzzr"))
        .args(["--agent", "a", "--prompt", "go", "--json"])
        .current_dir(dir)
        .env("XDG_STATE_HOME", dir.join("state"))
        .stdin(Stdio::null())
        .output()
        .unwrap();
    let events = String::from_utf8_lossy(&output.stdout)
        .lines()
        .filter_map(|line| serde_json::from_str(line).ok())
        .collect();
    (events, output)
}

/// The outputs of the finished tool calls, in order.
fn tool_outputs(events: &[Value]) -> Vec<String> {
    events
        .iter()
        .filter(|e| e["event"] == "tool_call_finished")
        .map(|e| e["output"].as_str().unwrap_or_default().to_owned())
        .collect()
}

/// A scripted agent that makes each call in `calls` (`tool`, JSON params) in one reply.
fn agent_config(calls: &[(&str, &str)]) -> String {
    let calls: String = calls
        .iter()
        .map(|(tool, params)| format!("          - {{tool: {tool}, params: {params}}}\n"))
        .collect();
    format!(
        "agents:\n  a:\n    provider: scripted\n    tools: [read, write, grep, glob, list_dir]\n    approval: auto\n    script:\n      - text: trying\n        tool_calls:\n{calls}      - done\n"
    )
}

#[test]
fn an_agent_can_neither_read_nor_rewrite_what_confines_it() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path();
    std::fs::create_dir(root.join("sub")).unwrap();
    std::fs::write(root.join(".env"), "MY_SERVICE_KEY=sk-dotenv-secret-1234\n").unwrap();
    let config = agent_config(&[
        ("read", r#"{path: ".env"}"#),
        ("read", r#"{path: "sub/../.env"}"#),
        ("grep", r#"{pattern: "secret", path: ".", recursive: true}"#),
        (
            "write",
            r#"{path: "config.yaml", content: "settings: {sandbox_paths: false}"}"#,
        ),
        (
            "write",
            r#"{path: "./sub/../config.yaml", content: "x", append: true}"#,
        ),
        ("write", r#"{path: "logs/a.md", content: "forged"}"#),
        ("write", r#"{path: "notes.txt", content: "fine"}"#),
    ]);
    std::fs::write(root.join("config.yaml"), &config).unwrap();

    let (events, output) = run(root);
    assert!(output.status.success(), "{output:?}");
    let outputs = tool_outputs(&events);
    assert_eq!(outputs.len(), 7, "{outputs:#?}");
    for refused in [0, 1, 3, 4, 5] {
        assert!(
            outputs[refused].contains("off limits"),
            "call {refused}: {}",
            outputs[refused]
        );
    }
    assert!(!outputs[2].contains("sk-dotenv"), "{}", outputs[2]);
    assert_eq!(outputs[6], "Wrote 4 bytes to notes.txt");
    assert_eq!(
        std::fs::read_to_string(root.join("config.yaml")).unwrap(),
        config
    );
    let log = std::fs::read_to_string(root.join("logs/a.md")).unwrap();
    assert!(log.starts_with("# a\n"), "the log was overwritten: {log}");
    assert!(!log.contains("sk-dotenv"), "the log holds the secret");
}

#[test]
fn a_runaway_search_does_not_keep_tzzr_from_exiting() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path();
    // A pattern whose lazy DFA has millions of states, on one long line of random a/b: with
    // ripgrep's default limits this took 40 s and 700 MB for 4 MB; here the file is 16 MB.
    let mut seed = 7u64;
    let line: String = (0..16_000_000)
        .map(|_| {
            seed = seed.wrapping_mul(6_364_136_223_846_793_005).wrapping_add(1);
            if (seed >> 33) & 1 == 0 { 'a' } else { 'b' }
        })
        .collect();
    std::fs::write(root.join("ab.txt"), line).unwrap();
    let config = format!(
        "settings:\n  timeout: 1\n{}",
        agent_config(&[("grep", r#"{pattern: "a[ab]{25}c", path: "ab.txt"}"#)])
    );
    std::fs::write(root.join("config.yaml"), config).unwrap();

    let started = Instant::now();
    let (events, output) = run(root);
    let took = started.elapsed();
    assert!(output.status.success(), "{output:?}");
    assert_eq!(tool_outputs(&events), ["timed out after 1s"]);
    // The search itself needs minutes; tzzr must not wait for it.
    assert!(took < Duration::from_secs(30), "tzzr took {took:?} to exit");
}

#[test]
fn logs_kept_in_the_working_directory_itself_are_protected_file_by_file() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path();
    let config = format!(
        "settings:\n  log_dir: .\n{}",
        agent_config(&[
            ("write", r#"{path: "a.md", content: "forged"}"#),
            ("write", r#"{path: "a.jsonl", content: "forged"}"#),
            ("write", r#"{path: "src/lib.rs", content: "fine"}"#),
        ])
    );
    std::fs::write(root.join("config.yaml"), config).unwrap();
    let (events, output) = run(root);
    assert!(output.status.success(), "{output:?}");
    let outputs = tool_outputs(&events);
    assert!(outputs[0].contains("off limits"), "{}", outputs[0]);
    assert!(outputs[1].contains("off limits"), "{}", outputs[1]);
    assert_eq!(outputs[2], "Wrote 4 bytes to lib.rs");
}
