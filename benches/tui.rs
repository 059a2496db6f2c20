//! Benchmarks of the terminal UI, the figures the README reports. `cargo bench --bench tui`.
//!
//! - Draw time of one frame of a 5,000-message conversation at 120x35 (target < 2 ms), once the
//!   rendered lines are cached, and the first frame that renders them all.
//! - The real binary in tmux with 20 agents each streaming 50 tokens a second for 30 s: the CPU
//!   time tzzr itself used (from /proc), as a share of one core. Needs tmux (skipped without).

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::print_stdout)]

use std::path::Path;
use std::process::Command;
use std::time::{Duration, Instant};

use ratatui::buffer::Buffer;
use ratatui::layout::Rect;
use tzzr::engine::orchestrator::AgentInfo;
use tzzr::engine::protocol::{AgentEvent, EventKind, Outcome, TurnId};
use tzzr::tui::app::{App, AppEvent};
use tzzr::tui::view::{self, Ctx};

const TZZR: &str = env!("CARGO_BIN_EXE_tzzr");

fn main() {
    println!("tzzr terminal UI benchmarks\n");
    draw_time_with_a_long_conversation();
    cpu_while_twenty_agents_stream();
}

fn agent(name: &str) -> AgentInfo {
    AgentInfo {
        name: name.into(),
        provider: "openai".into(),
        model: "gpt-4o".into(),
        target: "gpt-4o via openai api.openai.com".into(),
        endpoint: None,
        tools: vec![],
        servers: vec![],
        scripted: false,
        problem: None,
        notes: vec![],
        fallbacks: vec![],
        budget_usd: None,
        log: "/dev/null".into(),
    }
}

fn draw_time_with_a_long_conversation() {
    let mut app = App::new(&[agent("coder")], &[], None);
    app.size = Rect::new(0, 0, 120, 35);
    let event = |kind| {
        AppEvent::Engine(AgentEvent {
            agent: "coder".into(),
            turn: TurnId(1),
            at: jiff::Timestamp::now(),
            kind,
        })
    };
    // 2,500 prompts and 2,500 markdown answers: 5,000 messages.
    for i in 0..2_500 {
        app.handle(event(EventKind::TurnStarted {
            prompt: format!("Question {i}: what does the function `parse_{i}` return?"),
        }));
        app.handle(event(EventKind::TextDelta {
            text: format!(
                "It returns **a number**. See `parse_{i}`:\n\n- first it trims\n- then it reads digits\n\nThat is all for message {i}."
            ),
        }));
        app.handle(event(EventKind::TurnFinished {
            outcome: Outcome::Done {
                text: String::new(),
            },
        }));
    }
    let area = Rect::new(0, 0, 120, 35);
    let draw = |app: &App| {
        let mut buf = Buffer::empty(area);
        let ctx = Ctx {
            model: &app.model,
            ui: &app.ui,
            now: jiff::Timestamp::now(),
        };
        view::render(&ctx, &app.input, &app.cache, area, &mut buf);
        buf
    };
    let started = Instant::now();
    draw(&app);
    let first = started.elapsed();
    let frames = 2_000;
    let mut times: Vec<Duration> = (0..frames)
        .map(|_| {
            let started = Instant::now();
            std::hint::black_box(draw(&app));
            started.elapsed()
        })
        .collect();
    times.sort();
    println!("draw one frame, 5,000-message conversation, 120x35");
    println!(
        "  first frame (renders what is on screen): {:.2} ms",
        ms(first)
    );
    println!(
        "  steady frames: median {:.3} ms, p99 {:.3} ms, max {:.3} ms ({frames} frames)",
        ms(times[frames / 2]),
        ms(times[frames * 99 / 100]),
        ms(times[frames - 1])
    );
    // Scrolled to the top: every message rendered once (the worst case), then cached.
    let started = Instant::now();
    app.scroll_conversation(isize::MAX);
    let scroll_first = started.elapsed();
    let mut times: Vec<Duration> = (0..200)
        .map(|_| {
            let started = Instant::now();
            std::hint::black_box(draw(&app));
            started.elapsed()
        })
        .collect();
    times.sort();
    println!(
        "  scrolled to the top: first {:.1} ms (renders all 5,000), then median {:.3} ms",
        ms(scroll_first),
        ms(times[100])
    );
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1000.0
}

/// 20 scripted agents, each streaming 1,500 words at 20 ms a word (50 tokens a second, 30 s).
fn cpu_while_twenty_agents_stream() {
    if !Command::new("tmux")
        .arg("-V")
        .output()
        .is_ok_and(|o| o.status.success())
    {
        println!("\nCPU while 20 agents stream: skipped (tmux is not installed)");
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let words: Vec<String> = (0..1_500).map(|i| format!("word{i}")).collect();
    let mut config = String::from("settings:\n  rate_limit_per_minute: 0\nagents:\n");
    for i in 0..20 {
        config.push_str(&format!(
            "  a{i}:\n    provider: scripted\n    script:\n      - text: \"{}\"\n        delay_ms: 20\n",
            words.join(" ")
        ));
    }
    std::fs::write(dir.path().join("config.yaml"), config).unwrap();
    let session = format!("tzzr-bench-{}", std::process::id());
    let pid_file = dir.path().join("pid");
    let command = format!(
        "echo $$ > {} && exec env XDG_STATE_HOME={}/state {TZZR}",
        pid_file.display(),
        dir.path().display()
    );
    let tmux = |args: &[&str]| {
        Command::new("tmux")
            .args(args)
            .current_dir(dir.path())
            .status()
            .unwrap()
    };
    tmux(&[
        "new-session",
        "-d",
        "-s",
        &session,
        "-x",
        "120",
        "-y",
        "35",
        &command,
    ]);
    let pid = wait_for_pid(&pid_file);
    std::thread::sleep(Duration::from_secs(1));
    tmux(&["send-keys", "-t", &session, "-l", "/all go"]);
    tmux(&["send-keys", "-t", &session, "Enter"]);
    let before = cpu_seconds(pid);
    let started = Instant::now();
    std::thread::sleep(Duration::from_secs(30));
    let used = cpu_seconds(pid) - before;
    let wall = started.elapsed().as_secs_f64();
    tmux(&["kill-session", "-t", &session]);
    println!("\nCPU while 20 agents stream 50 tokens/s each for 30 s (120x35, release build)");
    println!(
        "  tzzr used {used:.2} s of CPU in {wall:.1} s: {:.1} % of one core",
        100.0 * used / wall
    );
}

fn wait_for_pid(file: &Path) -> u32 {
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        if let Some(pid) = std::fs::read_to_string(file)
            .ok()
            .and_then(|s| s.trim().parse().ok())
        {
            return pid;
        }
        assert!(Instant::now() < deadline, "tzzr did not start in tmux");
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// User plus system CPU time of a process, from /proc/PID/stat (clock ticks of 1/100 s).
fn cpu_seconds(pid: u32) -> f64 {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap_or_default();
    // Fields after the command name (which is in parentheses and may hold spaces).
    let after = stat.rsplit_once(") ").map_or("", |(_, rest)| rest);
    let fields: Vec<&str> = after.split_whitespace().collect();
    let ticks = |i: usize| {
        fields
            .get(i)
            .and_then(|f| f.parse::<f64>().ok())
            .unwrap_or(0.0)
    };
    // utime and stime are fields 14 and 15 of the full line: 11 and 12 after the name.
    (ticks(11) + ticks(12)) / 100.0
}
