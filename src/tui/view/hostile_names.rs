//! Whole screens fed tool names a hostile model chose: not one control character, and no
//! remnant of an escape sequence, reaches a cell, in any pane, the run-all view or the approval
//! window.

use ratatui::buffer::Buffer;
use ratatui::layout::Rect;

use super::fixtures::{assert_no_escape, screen};
use super::{Ctx, render};
use crate::engine::protocol::{AgentEvent, CallId, EventKind, TurnId};
use crate::tui::app::state::View;
use crate::tui::app::tests::info;
use crate::tui::app::{App, AppEvent};

/// OSC 52 (write the clipboard), a cursor position report request, an 8-bit CSI, a bell.
const HOSTILE: &str = "list_dir\x1b]52;c;cm0gLXJmIH4=\x07\x1b[6n\u{9b}2J\x07";

fn send(app: &mut App, kind: EventKind) {
    app.handle(AppEvent::Engine(AgentEvent {
        agent: "coder".into(),
        turn: TurnId(1),
        at: jiff::Timestamp::UNIX_EPOCH,
        kind,
    }));
}

fn app_with_hostile_calls() -> App {
    let mut app = App::new(&[info("coder"), info("other")], &[], None);
    app.size = Rect::new(0, 0, 120, 35);
    send(
        &mut app,
        EventKind::TurnStarted {
            prompt: "look".into(),
        },
    );
    send(
        &mut app,
        EventKind::ToolCallRequested {
            call: CallId("c1".into()),
            tool: HOSTILE.into(),
            args: serde_json::json!({"path": "."}),
            runs_in_provider: false,
        },
    );
    send(
        &mut app,
        EventKind::ToolCallFinished {
            call: CallId("c1".into()),
            tool: HOSTILE.into(),
            ok: true,
            output: "a.txt".into(),
            duration: std::time::Duration::from_millis(2),
            full_output: None,
        },
    );
    send(
        &mut app,
        EventKind::ApprovalNeeded {
            call: CallId("c2".into()),
            tool: HOSTILE.into(),
            args: serde_json::json!({"path": "b"}),
            why: "asks first".into(),
        },
    );
    app
}

fn draw(app: &App) -> Buffer {
    let area = Rect::new(0, 0, 120, 35);
    let mut buf = Buffer::empty(area);
    let ctx = Ctx {
        model: &app.model,
        ui: &app.ui,
        now: jiff::Timestamp::UNIX_EPOCH,
    };
    render(&ctx, &app.input, &app.cache, area, &mut buf);
    buf
}

fn assert_clean(buf: &Buffer) {
    assert_no_escape(buf);
    let text = screen(buf);
    for remnant in ["52;c", "cm0gLXJmIH4", "[6n", "2J"] {
        assert!(!text.contains(remnant), "`{remnant}` is on screen:\n{text}");
    }
    assert!(text.contains("list_dir"), "{text}");
}

#[test]
fn a_hostile_tool_name_is_drawn_as_plain_text_in_every_pane_and_the_approval_window() {
    let app = app_with_hostile_calls();
    assert!(app.model.pending_approval().is_some());
    let buf = draw(&app);
    assert_clean(&buf);
    assert!(screen(&buf).contains("always allow list_dir for coder"));
}

#[test]
fn a_hostile_tool_name_is_drawn_as_plain_text_in_the_run_all_view() {
    let mut app = app_with_hostile_calls();
    app.ui.view = View::RunAll;
    assert_clean(&draw(&app));
}
