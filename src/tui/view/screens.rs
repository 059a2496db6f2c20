//! Snapshots of whole screens in known states, built from real engine events on fixed clocks,
//! and a sweep of sizes that must never panic.

use std::time::Duration;

use ratatui::buffer::Buffer;
use ratatui::layout::Rect;

use super::{Ctx, render};
use crate::engine::orchestrator::AgentInfo;
use crate::engine::protocol::{
    AgentEvent, CallId, EventKind, FailureKind, Outcome, StoppedBy, TokenUsage, TurnId,
};
use crate::tui::app::state::View;
use crate::tui::app::tests::info;
use crate::tui::app::{App, AppEvent};

const T0: i64 = 1_795_000_000;

fn at(seconds: i64) -> jiff::Timestamp {
    jiff::Timestamp::from_second(T0 + seconds).unwrap_or(jiff::Timestamp::UNIX_EPOCH)
}

fn send(app: &mut App, agent: &str, second: i64, kind: EventKind) {
    app.handle(AppEvent::Engine(AgentEvent {
        agent: agent.into(),
        turn: TurnId(1),
        at: at(second),
        kind,
    }));
}

/// The text of a rendered screen, one line per row, trailing spaces kept off.
pub fn screen(app: &App, width: u16, height: u16, now: i64) -> String {
    let area = Rect::new(0, 0, width, height);
    let mut buf = Buffer::empty(area);
    let ctx = Ctx {
        model: &app.model,
        ui: &app.ui,
        now: at(now),
    };
    render(&ctx, &app.input, &app.cache, area, &mut buf);
    (0..height)
        .map(|y| {
            let line: String = (0..width)
                .map(|x| buf[(x, y)].symbol().to_owned())
                .collect();
            line.trim_end().to_owned()
        })
        .collect::<Vec<_>>()
        .join("\n")
}

fn team() -> Vec<AgentInfo> {
    let mut coder = info("coder");
    coder.provider = "litellm".into();
    coder.model = "gpt4o".into();
    coder.scripted = false;
    coder.target = "gpt-4o via openai api.openai.com".into();
    let mut reviewer = info("reviewer");
    reviewer.provider = "anthropic".into();
    reviewer.model = "sonnet".into();
    reviewer.scripted = false;
    reviewer.problem = Some(
        "no API key: set ANTHROPIC_API_KEY (in the environment or a .env file beside the config)"
            .into(),
    );
    vec![coder, info("demo"), reviewer]
}

/// A team mid-work: coder has answered with markdown and a tool call, and is streaming again.
fn busy_app() -> App {
    let mut app = App::new(&team(), &[], Some(1.0));
    app.size = Rect::new(0, 0, 120, 35);
    send(
        &mut app,
        "coder",
        0,
        EventKind::TurnStarted {
            prompt: "Fix the parser and add a test".into(),
        },
    );
    send(
        &mut app,
        "coder",
        1,
        EventKind::TextDelta {
            text: "I'll read the **parser** first.\n\n".into(),
        },
    );
    send(
        &mut app,
        "coder",
        2,
        EventKind::ToolCallRequested {
            call: CallId("c1".into()),
            tool: "read".into(),
            args: serde_json::json!({"path": "src/parser.rs"}),
            runs_in_provider: false,
        },
    );
    send(
        &mut app,
        "coder",
        2,
        EventKind::ToolCallFinished {
            call: CallId("c1".into()),
            tool: "read".into(),
            ok: true,
            output: "fn parse() {}".into(),
            duration: Duration::from_millis(3),
            full_output: None,
        },
    );
    send(
        &mut app,
        "coder",
        3,
        EventKind::Usage {
            model: "gpt-4o".into(),
            usage: TokenUsage {
                input: 1200,
                output: 80,
                cache_read: 0,
                cache_write: 0,
            },
            cost_usd: 0.0038,
            priced: true,
            estimated: false,
            local: false,
        },
    );
    send(&mut app, "coder", 4, EventKind::TextDelta {
        text: "The bug is in `parse`:\n\n```rust\nfn parse(s: &str) -> u32 {\n    s.len() as u32\n}\n```\n\n- it ignores signs\n- it ".into(),
    });
    send(
        &mut app,
        "demo",
        5,
        EventKind::TurnStarted {
            prompt: "hi".into(),
        },
    );
    send(
        &mut app,
        "demo",
        5,
        EventKind::TurnFinished {
            outcome: Outcome::Done {
                text: String::new(),
            },
        },
    );
    app
}

#[test]
fn the_main_screen_at_120_by_35() {
    let app = busy_app();
    insta::assert_snapshot!(screen(&app, 120, 35, 6));
}

#[test]
fn the_main_screen_at_80_by_24() {
    let mut app = busy_app();
    app.size = Rect::new(0, 0, 80, 24);
    insta::assert_snapshot!(screen(&app, 80, 24, 6));
}

#[test]
fn a_fallback_a_cut_answer_and_a_budget_refusal_say_so_in_the_transcript_and_the_agents_pane() {
    let mut app = App::new(&team(), &[], Some(1.0));
    app.size = Rect::new(0, 0, 100, 20);
    send(
        &mut app,
        "coder",
        1,
        EventKind::TurnStarted {
            prompt: "list them all".into(),
        },
    );
    send(
        &mut app,
        "coder",
        2,
        EventKind::FallbackTaken {
            from: "litellm/gpt4o".into(),
            to: "backup/gpt-4o-mini".into(),
            why: "circuit breaker open for openai api.openai.com: next try in 30s".into(),
        },
    );
    send(
        &mut app,
        "coder",
        2,
        EventKind::TextDelta {
            text: "One, two, three,".into(),
        },
    );
    send(
        &mut app,
        "coder",
        3,
        EventKind::TurnFinished {
            outcome: Outcome::Stopped {
                text: "One, two, three,".into(),
                reason: StoppedBy::MaxTokens,
            },
        },
    );
    send(
        &mut app,
        "demo",
        1,
        EventKind::TurnStarted {
            prompt: "again".into(),
        },
    );
    send(
        &mut app,
        "demo",
        2,
        EventKind::TurnFinished {
            outcome: Outcome::failed(
                FailureKind::Budget,
                "budget reached: $1.0000 of $1.0000 spent (settings.budget_usd)",
            ),
        },
    );
    insta::assert_snapshot!(screen(&app, 100, 20, 4));
}

#[test]
fn an_agent_that_cannot_run_says_why_and_how_to_fix_it() {
    let mut app = busy_app();
    app.ui.selected = 2;
    let text = screen(&app, 120, 35, 6);
    assert!(text.contains("This agent cannot run yet:"), "{text}");
    assert!(text.contains("ANTHROPIC_API_KEY"), "{text}");
    assert!(text.contains("✗ cannot run"), "{text}");
}

#[test]
fn the_approval_window_shows_agent_tool_arguments_and_why() {
    let mut app = busy_app();
    send(
        &mut app,
        "coder",
        7,
        EventKind::ToolCallRequested {
            call: CallId("c2".into()),
            tool: "write".into(),
            args: serde_json::json!({"path": "src/parser.rs", "content": "fn parse() {}\n"}),
            runs_in_provider: false,
        },
    );
    send(&mut app, "coder", 7, EventKind::ApprovalNeeded {
        call: CallId("c2".into()),
        tool: "write".into(),
        args: serde_json::json!({"path": "src/parser.rs", "content": "fn parse() {}\n"}),
        why: "`write` can change files or systems, and agent `coder` asks before it does (approval: ask)".into(),
    });
    insta::assert_snapshot!(screen(&app, 120, 35, 8));
}

/// A `write` of 60 lines waiting for approval, on an 80x24 screen.
fn long_write_waiting() -> App {
    let mut app = busy_app();
    app.handle(AppEvent::Terminal(crossterm::event::Event::Resize(80, 24)));
    let content: String = (1..=60)
        .map(|i| format!("line {i} of the new file\n"))
        .collect();
    let args = serde_json::json!({"content": content, "path": "src/generated/table.rs"});
    send(&mut app, "coder", 7, EventKind::ApprovalNeeded {
        call: CallId("c3".into()),
        tool: "write".into(),
        args,
        why: "`write` can change files or systems, and agent `coder` asks before it does (approval: ask)".into(),
    });
    app
}

#[test]
fn a_long_write_shows_its_path_first_and_scrolls_to_its_last_line() {
    let mut app = long_write_waiting();
    let top = screen(&app, 80, 24, 8);
    insta::assert_snapshot!("long_write_top", top);
    assert!(top.contains("path        src/generated/table.rs"), "{top}");
    assert!(top.contains("content (60 lines, "), "{top}");

    let key = |code| {
        AppEvent::Terminal(crossterm::event::Event::Key(
            crossterm::event::KeyEvent::from(code),
        ))
    };
    app.handle(key(crossterm::event::KeyCode::End));
    let bottom = screen(&app, 80, 24, 8);
    insta::assert_snapshot!("long_write_bottom", bottom);
    assert!(bottom.contains("line 60 of the new file"), "{bottom}");
    assert!(bottom.contains("asks before it does"), "{bottom}");
    assert!(!bottom.contains("src/generated/table.rs"), "{bottom}");

    // Scrolling past the end stays at the end; one line up moves one line.
    app.handle(key(crossterm::event::KeyCode::PageDown));
    assert_eq!(screen(&app, 80, 24, 8), bottom);
    app.handle(key(crossterm::event::KeyCode::Up));
    assert!(screen(&app, 80, 24, 8).contains("line 59 of the new file"));
    app.handle(key(crossterm::event::KeyCode::Home));
    assert_eq!(screen(&app, 80, 24, 8), top);
}

#[test]
fn the_run_all_grid_streams_one_column_per_agent() {
    let mut app = busy_app();
    app.ui.view = View::RunAll;
    app.ui.all_armed = true;
    insta::assert_snapshot!(screen(&app, 120, 35, 6));
}

#[test]
fn model_text_is_drawn_without_escape_sequences() {
    let mut app = busy_app();
    send(
        &mut app,
        "coder",
        9,
        EventKind::TextDelta {
            text: "\x1b]52;c;aGVsbG8=\x07evil\x1b[2J text\x1b[31m red\r\n".into(),
        },
    );
    let area = Rect::new(0, 0, 120, 35);
    let mut buf = Buffer::empty(area);
    let ctx = Ctx {
        model: &app.model,
        ui: &app.ui,
        now: at(9),
    };
    render(&ctx, &app.input, &app.cache, area, &mut buf);
    for cell in buf.content() {
        assert!(
            !cell.symbol().chars().any(char::is_control),
            "control in {:?}",
            cell.symbol()
        );
    }
    assert!(screen(&app, 120, 35, 9).contains("evil text red"));
}

#[test]
fn no_size_makes_the_screen_panic() {
    let mut app = busy_app();
    for view in [View::Main, View::RunAll] {
        app.ui.view = view;
        for width in (0..=130).step_by(7).chain([1, 59, 60, 109, 110]) {
            for height in (0..=40).step_by(5).chain([1, 2, 3]) {
                app.size = Rect::new(0, 0, width, height);
                let _ = screen(&app, width, height, 6);
            }
        }
    }
}

#[test]
fn compact_shows_its_line_in_the_conversation_and_the_context_meter_drops() {
    use crate::engine::protocol::{AgentCommand, WindowSource};
    use crate::tui::app::Effect;
    use crossterm::event::{Event, KeyCode, KeyEvent, KeyModifiers};

    let mut app = busy_app();
    app.ui.selected = 1;
    let context = |used| EventKind::Context {
        used,
        window: 8_192,
        source: WindowSource::Default,
    };
    send(&mut app, "demo", 1, context(7_500));
    let before = screen(&app, 120, 35, 6);
    assert!(before.contains("ctx 7.5k/8.2k? 92%"), "{before}");
    assert!(before.contains("ctx 92% scripted/demo"), "{before}");

    let mut effects = Vec::new();
    for c in "/compact".chars() {
        effects = app.handle(AppEvent::Terminal(Event::Key(KeyEvent::new(
            KeyCode::Char(c),
            KeyModifiers::NONE,
        ))));
    }
    effects.extend(app.handle(AppEvent::Terminal(Event::Key(KeyEvent::new(
        KeyCode::Enter,
        KeyModifiers::NONE,
    )))));
    assert_eq!(
        effects,
        [Effect::Command {
            agent: "demo".into(),
            command: AgentCommand::Compact,
        }]
    );
    send(
        &mut app,
        "demo",
        2,
        EventKind::Compacted {
            before_tokens: 7_500,
            after_tokens: 1_200,
            messages: 14,
        },
    );
    send(&mut app, "demo", 2, context(1_200));
    let after = screen(&app, 120, 35, 6);
    assert!(
        after.contains("⇣ compacted 14 messages: ~7500 → ~1200 tokens"),
        "{after}"
    );
    assert!(after.contains("ctx 1.2k/8.2k? 15%"), "{after}");
    assert!(after.contains("ctx 15% scripted/demo"), "{after}");
    insta::assert_snapshot!(after);
}
