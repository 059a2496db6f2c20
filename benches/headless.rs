//! Whole-process benchmarks of the headless CLI against the in-process mock server, the figures
//! the README reports. Run with `cargo bench --bench headless` (an optimised build).
//!
//! - `--agents` on a 20-agent config (target < 4 ms; v6: 0.09 s)
//! - one prompt to a server that answers at once (target < 30 ms; v6: 3.3 s)
//! - `--all` over 100 agents with default settings, server answering after 500 ms (target
//!   < 0.6 s wall, < 40 MB peak RSS; v6: 4.7 s, 210 MB), and the same over 1,000 agents (target:
//!   within 1.3x the server's 500 ms) and 10,000 agents (every one answers; time and peak RSS
//!   reported)
//! - cancel latency: from Cancel to the agent's `TurnFinished { Cancelled }` on a stalled stream
//!   (target < 100 ms), in process
//!
//! Peak RSS comes from GNU time (`/usr/bin/time`, Debian package `time`) when it is installed.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::print_stdout)]

#[path = "../tests/support/mock_llm.rs"]
mod mock_llm;

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use mock_llm::{MockLlm, MockOptions, MockReply};
use tzzr::engine::config;
use tzzr::engine::env::Environment;
use tzzr::engine::orchestrator::Orchestrator;
use tzzr::engine::protocol::{AgentCommand, EventKind, Outcome};
use tzzr::engine::tools::approval::Asker;

const TZZR: &str = env!("CARGO_BIN_EXE_tzzr");

fn main() {
    let runtime = tokio::runtime::Runtime::new().unwrap();
    let work = tempfile::tempdir().unwrap();
    println!(
        "tzzr headless benchmarks ({} cores)\n",
        std::thread::available_parallelism().map_or(1, |n| n.get())
    );
    println!(
        "{:<46} {:>10} {:>10} {:>10} {:>10}",
        "case", "runs", "median", "min", "peak RSS"
    );

    // --agents, 20 agents of every provider kind.
    let dir = case_dir(work.path(), "agents20");
    write_config(&dir, &team_config(20, "http://127.0.0.1:9/v1"));
    report("--agents, 20 agents", &measure(&dir, &["--agents"], 200));

    runtime.block_on(async {
        let now = MockLlm::start().await;
        let dir = case_dir(work.path(), "prompt");
        write_config(&dir, &openai_team(1, &now.openai_base()));
        report(
            "--agent a0 --prompt, server answers at once",
            &measure(&dir, &["--agent", "a0", "--prompt", "hi"], 50),
        );

        let slow =
            MockLlm::start_with(MockOptions::default().default_delay(Duration::from_millis(500)))
                .await
                .unwrap();
        for (agents, runs) in [(100, 10), (1000, 3)] {
            let dir = case_dir(work.path(), &format!("all{agents}"));
            write_config(&dir, &openai_team(agents, &slow.openai_base()));
            report(
                &format!("--all, {agents} agents, server answers in 500 ms"),
                &measure(&dir, &["--all", "--prompt", "hi"], runs),
            );
        }

        // Ten thousand agents: as many log files and connections, in both processes.
        raise_open_file_limit();
        let dir = case_dir(work.path(), "all10000");
        write_config(&dir, &openai_team(10_000, &slow.openai_base()));
        report(
            "--all, 10,000 agents, server answers in 500 ms",
            &measure(&dir, &["--all", "--prompt", "hi"], 1),
        );

        let stalling = MockLlm::start().await;
        report_cancel(&cancel_latency(&stalling, work.path(), 20).await);
    });
}

/// The mock server in this process holds a connection per agent: take the hard limit.
fn raise_open_file_limit() {
    use rustix::process::{Resource, Rlimit, getrlimit, setrlimit};
    let limit = getrlimit(Resource::Nofile);
    setrlimit(
        Resource::Nofile,
        Rlimit {
            current: limit.maximum,
            maximum: limit.maximum,
        },
    )
    .unwrap();
}

struct Sample {
    wall: Duration,
    peak_rss_kb: Option<u64>,
}

fn case_dir(root: &Path, name: &str) -> PathBuf {
    let dir = root.join(name);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

fn write_config(dir: &Path, text: &str) {
    std::fs::write(dir.join("config.yaml"), text).unwrap();
}

/// `n` agents cycling through every provider kind (none is called: for `--agents`).
fn team_config(n: usize, base: &str) -> String {
    let kinds = [
        "provider: claude\n    model: sonnet",
        "provider: litellm\n    model: gpt4o",
        "provider: litellm\n    model: gemini-pro",
        "provider: anthropic\n    model: sonnet",
        "provider: litellm\n    model: groq-llama",
        "provider: scripted\n    model: demo",
    ];
    let mut text = String::from("settings:\n  rate_limit_per_minute: 0\nagents:\n");
    for i in 0..n {
        text.push_str(&format!(
            "  agent{i}:\n    role: Agent number {i}.\n    {}\n    api_base: {base}\n    tools: [read, write, grep, glob, list_dir]\n",
            kinds[i % kinds.len()]
        ));
    }
    text
}

/// `n` OpenAI-dialect agents on one local endpoint, with default settings (v6's
/// `rate_limit_per_minute: 60` is per agent, so one prompt each never waits).
fn openai_team(n: usize, base: &str) -> String {
    let mut text = String::from("agents:\n");
    for i in 0..n {
        text.push_str(&format!(
            "  a{i}:\n    role: You answer.\n    provider: openai\n    model: gpt-4o-mini\n    api_base: {base}\n"
        ));
    }
    text
}

/// Runs tzzr `runs` times in `dir` (after one warm-up run), every run checked for success, then
/// once more under GNU time for the peak RSS.
fn measure(dir: &Path, args: &[&str], runs: usize) -> Vec<Sample> {
    let mut samples = Vec::with_capacity(runs);
    for i in 0..=runs {
        let started = Instant::now();
        run_checked(Command::new(TZZR).args(args), dir, args);
        if i > 0 {
            samples.push(Sample {
                wall: started.elapsed(),
                peak_rss_kb: None,
            });
        }
    }
    let rss_file = dir.join("rss.txt");
    if Path::new("/usr/bin/time").exists() {
        let mut timed = Command::new("/usr/bin/time");
        timed
            .arg("-f")
            .arg("%M")
            .arg("-o")
            .arg(&rss_file)
            .arg(TZZR)
            .args(args);
        run_checked(&mut timed, dir, args);
        let rss = std::fs::read_to_string(&rss_file)
            .ok()
            .and_then(|s| s.trim().lines().last().and_then(|l| l.trim().parse().ok()));
        if let Some(last) = samples.last_mut() {
            last.peak_rss_kb = rss;
        }
    }
    samples
}

fn run_checked(cmd: &mut Command, dir: &Path, args: &[&str]) {
    let out = cmd
        .current_dir(dir)
        .env("XDG_STATE_HOME", dir.join("state"))
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "tzzr {args:?} failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

fn report(name: &str, samples: &[Sample]) {
    let mut walls: Vec<Duration> = samples.iter().map(|s| s.wall).collect();
    walls.sort();
    let median = walls[walls.len() / 2];
    let min = walls[0];
    let rss = samples
        .iter()
        .filter_map(|s| s.peak_rss_kb)
        .max()
        .map_or_else(
            || "n/a".to_owned(),
            |kb| format!("{:.1} MB", kb as f64 / 1024.0),
        );
    println!(
        "{name:<46} {:>10} {:>10} {:>10} {rss:>10}",
        samples.len(),
        fmt(median),
        fmt(min)
    );
}

fn fmt(d: Duration) -> String {
    if d < Duration::from_millis(10) {
        format!("{:.2} ms", d.as_secs_f64() * 1000.0)
    } else if d < Duration::from_secs(1) {
        format!("{:.1} ms", d.as_secs_f64() * 1000.0)
    } else {
        format!("{:.2} s", d.as_secs_f64())
    }
}

/// Time from `Cancel` to `TurnFinished { Cancelled }` for a turn whose stream has stalled.
async fn cancel_latency(mock: &MockLlm, root: &Path, runs: usize) -> Vec<Duration> {
    let dir = case_dir(root, "cancel");
    let path = dir.join("config.yaml");
    let text = openai_team(1, &mock.openai_base());
    std::fs::write(&path, &text).unwrap();
    let env = Environment::isolated::<[(&str, &str); 0], &str, &str>([]);
    let loaded = config::load_str_with(&text, &path, &|k: &str| env.get(k)).unwrap();
    let (mut orch, mut events) = Orchestrator::start(loaded.config, &env, Asker::Nobody).unwrap();
    let mut latencies = Vec::with_capacity(runs);
    for _ in 0..runs {
        mock.push(MockReply::text(["streaming..."]).stall_after(2));
        let turn = orch.prompt("a0", "talk").unwrap();
        // Wait until text arrives: the stream is open and stalled.
        loop {
            let event = events.recv().await.unwrap();
            if event.turn == turn && matches!(event.kind, EventKind::TextDelta { .. }) {
                break;
            }
        }
        let asked = Instant::now();
        orch.command("a0", AgentCommand::Cancel).unwrap();
        loop {
            let event = events.recv().await.unwrap();
            if let EventKind::TurnFinished { outcome } = event.kind {
                assert_eq!(outcome, Outcome::Cancelled);
                latencies.push(asked.elapsed());
                break;
            }
        }
    }
    orch.shutdown().await;
    latencies
}

fn report_cancel(latencies: &[Duration]) {
    let mut sorted = latencies.to_vec();
    sorted.sort();
    println!(
        "{:<46} {:>10} {:>10} {:>10} {:>10}",
        "cancel a stalled stream → TurnFinished",
        sorted.len(),
        fmt(sorted[sorted.len() / 2]),
        fmt(sorted[0]),
        format!("max {}", fmt(sorted[sorted.len() - 1]))
    );
}
