//! The tool-call trace of the selected agent, one line per call (newest at the bottom), and the
//! overlay with one call's full arguments and output.

use std::time::Duration;

use ratatui::buffer::Buffer;
use ratatui::layout::Rect;
use ratatui::style::Style;
use ratatui::text::{Line, Span, Text};
use ratatui::widgets::{Paragraph, Widget, Wrap};

use super::fit::{centered, draw_rows, overlay_size, spread, text_width};
use super::report::overlay;
use super::theme::{Theme, spinner};
use super::{Ctx, pane, short_duration};
use crate::sanitize::{for_display, line_for_display};
use crate::tui::app::state::Focus;
use crate::tui::model::{AgentView, CallState, ToolCallView};

/// The widest the detail overlay grows.
const DETAIL_WIDTH: usize = 100;

pub fn render(ctx: &Ctx<'_>, area: Rect, buf: &mut Buffer) {
    let agent = ctx.model.agents.get(ctx.ui.selected);
    let block = pane(title(agent), ctx.focused(Focus::Tools));
    let inner = block.inner(area);
    block.render(area, buf);
    let Some(agent) = agent else {
        draw_rows(
            [Line::styled("no agent selected", Theme::dim())],
            inner,
            buf,
        );
        return;
    };
    let calls = &agent.calls;
    let Some(newest) = calls.len().checked_sub(1) else {
        draw_rows(
            [Line::styled("no tool calls yet", Theme::dim())],
            inner,
            buf,
        );
        return;
    };
    let selected = selected_row(ctx, newest);
    // As many of the newest calls as fit, moved up just enough to show the selected one.
    let first = (calls.len().saturating_sub(usize::from(inner.height))).min(selected);
    let focused = ctx.focused(Focus::Tools);
    let rows = calls.iter().enumerate().skip(first).map(|(i, call)| {
        let line = row(call, ctx.now, inner.width);
        if focused && i == selected {
            highlighted(line)
        } else {
            line
        }
    });
    draw_rows(rows, inner, buf);
}

/// `line` on the selection's background; dim parts brighten so they stay readable on it.
fn highlighted(line: Line<'static>) -> Line<'static> {
    let spans = line
        .spans
        .into_iter()
        .map(|mut span| {
            if span.style == Theme::dim() {
                span.style = Theme::text();
            }
            span
        })
        .collect::<Vec<_>>();
    Line::from(spans).style(Theme::selected())
}

/// The row the user selected in this agent's trace (`None` follows the newest).
fn selected_row(ctx: &Ctx<'_>, newest: usize) -> usize {
    ctx.ui
        .tool_row
        .get(ctx.ui.selected)
        .copied()
        .flatten()
        .map_or(newest, |row| row.min(newest))
}

/// ` Tool calls coder · 12 calls · 2 failed `.
fn title(agent: Option<&AgentView>) -> Line<'static> {
    let mut spans = vec![Span::raw(" Tool calls ")];
    let Some(agent) = agent else {
        return Line::from(spans);
    };
    let calls = agent.calls.len();
    let failed = agent
        .calls
        .iter()
        .filter(|c| matches!(c.state, CallState::Finished { ok: false, .. }))
        .count();
    let noun = if calls == 1 { "call" } else { "calls" };
    spans.push(Span::styled(
        format!("{} · {calls} {noun} ", line_for_display(agent.name())),
        Theme::dim(),
    ));
    if failed > 0 {
        spans.push(Span::styled(format!("· {failed} failed "), Theme::error()));
    }
    Line::from(spans)
}

/// `✓ read src/main.rs        12 ms (cli)`.
fn row(call: &ToolCallView, now: jiff::Timestamp, width: u16) -> Line<'static> {
    let (symbol, style) = state_symbol(call, now);
    let mut left = vec![
        Span::styled(symbol, style),
        Span::raw(" "),
        Span::styled(line_for_display(&call.tool), Theme::tool()),
    ];
    let args = short_args(&call.args);
    if !args.is_empty() {
        left.push(Span::raw(" "));
        left.push(Span::raw(args));
    }
    let mut right = vec![Span::styled(
        duration_text(elapsed(call, now)),
        Theme::dim(),
    )];
    if call.runs_in_provider {
        right.push(Span::styled(" (cli)", Theme::dim()));
    }
    spread(left, right, width)
}

/// The spinner while it runs, `?` while it waits for approval, `✓` or `✗` once done.
fn state_symbol(call: &ToolCallView, now: jiff::Timestamp) -> (&'static str, Style) {
    match call.state {
        CallState::Running => (spinner(now), Theme::busy()),
        CallState::AwaitingApproval => ("?", Theme::warn()),
        CallState::Finished { ok: true, .. } => ("✓", Theme::ok()),
        CallState::Finished { ok: false, .. } => ("✗", Theme::error()),
    }
}

/// How long the call took, or has been running.
fn elapsed(call: &ToolCallView, now: jiff::Timestamp) -> Duration {
    match call.state {
        CallState::Finished { duration, .. } => duration,
        CallState::Running | CallState::AwaitingApproval => {
            Duration::try_from(now.duration_since(call.started)).unwrap_or_default()
        }
    }
}

/// `12 ms`, `1.2 s`, `1m 05s`.
pub fn duration_text(duration: Duration) -> String {
    let millis = duration.as_millis();
    if millis < 1_000 {
        format!("{millis} ms")
    } else if millis < 60_000 {
        format!("{:.1} s", duration.as_secs_f64())
    } else {
        short_duration(i64::try_from(duration.as_secs()).unwrap_or(i64::MAX))
    }
}

/// Argument names whose value says most about a call, the most telling first.
const TELLING_ARGS: [&str; 9] = [
    "command",
    "pattern",
    "url",
    "path",
    "file_path",
    "query",
    "host",
    "name",
    "description",
];

/// The most telling argument (`ssh` shows `host: command`), else the arguments as compact JSON;
/// cleaned to one line.
pub fn short_args(args: &serde_json::Value) -> String {
    let text = |key: &str| args.get(key).and_then(serde_json::Value::as_str);
    let short = match args {
        serde_json::Value::Null => String::new(),
        serde_json::Value::Object(map) if map.is_empty() => String::new(),
        serde_json::Value::Object(_) => match (text("host"), text("command")) {
            (Some(host), Some(command)) => format!("{host}: {command}"),
            _ => TELLING_ARGS
                .iter()
                .find_map(|key| text(key))
                .map_or_else(|| args.to_string(), str::to_owned),
        },
        other => other.to_string(),
    };
    line_for_display(&short)
}

/// The full arguments and output of one call of the selected agent, over the screen.
pub fn render_detail(ctx: &Ctx<'_>, index: usize, area: Rect, buf: &mut Buffer) {
    let agent = ctx.model.agents.get(ctx.ui.selected);
    let Some((agent, call)) = agent.and_then(|a| a.calls.get(index).map(|c| (a, c))) else {
        let gone = Line::styled("this tool call is no longer shown", Theme::dim());
        let (width, height) =
            overlay_size(area, text_width("this tool call is no longer shown"), 1);
        let inner = overlay(
            Line::from(" Tool call "),
            centered(area, width, height),
            buf,
        );
        draw_rows([gone], inner, buf);
        return;
    };
    let text = detail_text(call, ctx.now);
    let widest = text.lines.iter().map(Line::width).max().unwrap_or(0);
    let content_width = widest.clamp(40, DETAIL_WIDTH) + 2;
    let (width, _) = overlay_size(area, content_width, 0);
    // Rows the text takes once wrapped inside that width (roughly: words may wrap sooner).
    let inside = usize::from(width.saturating_sub(4)).max(1);
    let wrapped: usize = text
        .lines
        .iter()
        .map(|l| l.width().div_ceil(inside).max(1))
        .sum();
    let (_, height) = overlay_size(area, 0, wrapped);
    let title = Line::from(vec![
        Span::raw(format!(
            " Tool call {} of {} ",
            index + 1,
            agent.calls.len()
        )),
        Span::styled(format!("{} ", line_for_display(agent.name())), Theme::dim()),
    ]);
    let inner = overlay(title, centered(area, width, height), buf);
    let inner = Rect {
        x: inner.x.saturating_add(1).min(inner.right()),
        width: inner.width.saturating_sub(2),
        ..inner
    };
    Paragraph::new(text)
        .wrap(Wrap { trim: false })
        .render(inner, buf);
}

/// The overlay's text: what ran and how it went, the arguments as pretty JSON, the output.
fn detail_text(call: &ToolCallView, now: jiff::Timestamp) -> Text<'static> {
    let (symbol, style) = state_symbol(call, now);
    let state = match call.state {
        CallState::Running => "running",
        CallState::AwaitingApproval => "awaiting approval",
        CallState::Finished { ok: true, .. } => "ok",
        CallState::Finished { ok: false, .. } => "failed",
    };
    let mut header = vec![
        Span::styled(line_for_display(&call.tool), Theme::tool()),
        Span::raw("  "),
        Span::styled(format!("{symbol} {state}"), style),
        Span::styled(
            format!("  {}", duration_text(elapsed(call, now))),
            Theme::dim(),
        ),
    ];
    if call.runs_in_provider {
        header.push(Span::styled("  (cli: the provider ran it)", Theme::dim()));
    }
    let mut lines = vec![
        Line::from(header),
        Line::styled(line_for_display(&call.call.0), Theme::dim()),
        Line::default(),
        Line::styled("arguments", Theme::heading()),
    ];
    let pretty = serde_json::to_string_pretty(&call.args).unwrap_or_else(|_| call.args.to_string());
    lines.extend(
        for_display(&pretty)
            .lines()
            .map(|l| Line::raw(l.to_owned())),
    );
    lines.push(Line::default());
    lines.push(Line::styled("output", Theme::heading()));
    let output = for_display(&call.output);
    if output.is_empty() {
        let none = if call.is_running() {
            "(no output yet)"
        } else {
            "(no output)"
        };
        lines.push(Line::styled(none, Theme::dim()));
    } else {
        lines.extend(output.lines().map(|l| Line::raw(l.to_owned())));
    }
    Text::from(lines)
}

#[cfg(test)]
mod tests {
    use ratatui::style::Color;
    use serde_json::json;

    use super::super::fixtures::{
        Scene, agent, assert_no_escape, assert_stays_inside, assert_style, at_ms, draw, screen,
        style_of,
    };
    use super::*;
    use crate::engine::protocol::{CallId, EventKind};

    fn requested(call: &str, tool: &str, args: serde_json::Value) -> EventKind {
        EventKind::ToolCallRequested {
            call: CallId(call.to_owned()),
            tool: tool.to_owned(),
            args,
            runs_in_provider: false,
        }
    }

    fn finished(call: &str, tool: &str, ok: bool, output: &str, millis: u64) -> EventKind {
        EventKind::ToolCallFinished {
            call: CallId(call.to_owned()),
            tool: tool.to_owned(),
            ok,
            output: output.to_owned(),
            duration: Duration::from_millis(millis),
            full_output: None,
        }
    }

    /// Six calls of `coder`, one in each state: ok, slow ok, failed, run by the CLI, awaiting
    /// approval, and running (since second 30).
    fn trace() -> Scene {
        let mut scene = Scene::new(vec![agent("coder"), agent("reviewer")], None);
        scene
            .event(
                "coder",
                1,
                requested("c1", "read", json!({"path": "src/main.rs"})),
            )
            .event(
                "coder",
                1,
                finished("c1", "read", true, "fn main() {}\n", 12),
            )
            .event(
                "coder",
                2,
                requested("c2", "grep", json!({"pattern": "TODO", "path": "src"})),
            )
            .event(
                "coder",
                4,
                finished("c2", "grep", true, "src/a.rs:3: TODO", 1_234),
            )
            .event(
                "coder",
                5,
                requested(
                    "c3",
                    "ssh",
                    json!({"host": "web1", "command": "systemctl restart app"}),
                ),
            )
            .event(
                "coder",
                70,
                finished("c3", "ssh", false, "exit status 1", 65_000),
            )
            .event(
                "coder",
                71,
                EventKind::ToolCallRequested {
                    call: CallId("toolu_4".to_owned()),
                    tool: "Bash".to_owned(),
                    args: json!({"command": "ls -la", "description": "List files"}),
                    runs_in_provider: true,
                },
            )
            .event(
                "coder",
                71,
                finished("toolu_4", "Bash", true, "total 0", 80),
            )
            .event(
                "coder",
                72,
                requested(
                    "c5",
                    "write",
                    json!({"path": "notes.md", "content": "hello"}),
                ),
            )
            .event(
                "coder",
                72,
                EventKind::ApprovalNeeded {
                    call: CallId("c5".to_owned()),
                    tool: "write".to_owned(),
                    args: json!({"path": "notes.md", "content": "hello"}),
                    why: "write changes files".to_owned(),
                },
            )
            .event(
                "coder",
                80,
                requested("c6", "fetch", json!({"url": "https://example.com/docs"})),
            );
        scene
    }

    /// 83.3 s after the epoch: the fetch has run 3.3 s, the spinner shows its fourth frame.
    fn now() -> jiff::Timestamp {
        at_ms(83, 300)
    }

    fn tools_pane(scene: &Scene, width: u16, height: u16) -> Buffer {
        draw(width, height, |area, buf| {
            render(&scene.ctx(now()), area, buf)
        })
    }

    #[test]
    fn every_state_has_its_symbol_arguments_and_duration() {
        let buf = tools_pane(&trace(), 44, 8);
        let text = screen(&buf);
        insta::assert_snapshot!(text);
        assert_style(&buf, "✓ read", Theme::ok());
        assert_style(&buf, "✗ ssh", Theme::error());
        assert_style(&buf, "? write", Theme::warn());
        assert_style(&buf, "⠸ fetch", Theme::busy());
        assert_style(&buf, "(cli)", Theme::dim());
        assert!(
            text.contains("Tool calls coder · 6 calls · 1 failed"),
            "{text}"
        );
    }

    #[test]
    fn the_selected_row_is_highlighted_when_the_pane_has_the_focus() {
        let mut scene = trace();
        scene.ui.focus = Focus::Tools;
        scene.ui.tool_row[0] = Some(2);
        let buf = tools_pane(&scene, 44, 8);
        insta::assert_snapshot!(screen(&buf));
        assert_eq!(style_of(&buf, "✗ ssh").bg, Theme::selected().bg);
        assert_ne!(
            style_of(&buf, "1m 05s").fg,
            Theme::dim().fg,
            "dim text brightens on the selection"
        );
        assert_ne!(style_of(&buf, "✓ read").bg, Theme::selected().bg);
    }

    #[test]
    fn following_the_newest_highlights_the_last_row() {
        let mut scene = trace();
        scene.ui.focus = Focus::Tools;
        let buf = tools_pane(&scene, 44, 8);
        assert_eq!(style_of(&buf, "⠸ fetch").bg, Theme::selected().bg);
        scene.ui.focus = Focus::Input;
        let buf = tools_pane(&scene, 44, 8);
        assert_ne!(style_of(&buf, "⠸ fetch").bg, Theme::selected().bg);
    }

    fn many_calls() -> Scene {
        let mut scene = Scene::new(vec![agent("coder")], None);
        for i in 0..30 {
            let call = format!("c{i}");
            scene
                .event(
                    "coder",
                    i,
                    requested(&call, "read", json!({"path": format!("file{i}.rs")})),
                )
                .event("coder", i, finished(&call, "read", true, "", 5));
        }
        scene
    }

    #[test]
    fn many_calls_show_the_newest_at_the_bottom() {
        let text = screen(&tools_pane(&many_calls(), 36, 7));
        insta::assert_snapshot!(text);
        assert!(
            text.contains("file29.rs") && !text.contains("file24.rs"),
            "{text}"
        );
    }

    #[test]
    fn selecting_an_old_call_scrolls_it_into_view() {
        let mut scene = many_calls();
        scene.ui.focus = Focus::Tools;
        scene.ui.tool_row[0] = Some(3);
        let buf = tools_pane(&scene, 36, 7);
        insta::assert_snapshot!(screen(&buf));
        assert_eq!(style_of(&buf, "✓ read file3.rs").bg, Theme::selected().bg);
        scene.ui.tool_row[0] = Some(27);
        let text = screen(&tools_pane(&scene, 36, 7));
        assert!(
            text.contains("file29.rs"),
            "a row near the end keeps the tail: {text}"
        );
        scene.ui.tool_row[0] = Some(99);
        let buf = tools_pane(&scene, 36, 7);
        assert_eq!(
            style_of(&buf, "✓ read file29.rs").bg,
            Theme::selected().bg,
            "a row past the end selects the newest"
        );
    }

    #[test]
    fn a_narrow_pane_cuts_arguments_before_durations() {
        insta::assert_snapshot!(screen(&tools_pane(&trace(), 24, 8)));
    }

    #[test]
    fn an_agent_without_calls_says_so() {
        let mut scene = trace();
        scene.ui.selected = 1;
        let text = screen(&tools_pane(&scene, 36, 4));
        assert!(text.contains("no tool calls yet"), "{text}");
        assert!(text.contains("Tool calls reviewer · 0 calls"), "{text}");
    }

    #[test]
    fn short_args_pick_the_most_telling_value() {
        assert_eq!(short_args(&json!({"path": "a.rs"})), "a.rs");
        assert_eq!(
            short_args(&json!({"path": "src", "pattern": "fn main"})),
            "fn main"
        );
        assert_eq!(
            short_args(&json!({"host": "web1", "command": "uptime"})),
            "web1: uptime"
        );
        assert_eq!(short_args(&json!({"limit": 3})), r#"{"limit":3}"#);
        assert_eq!(short_args(&json!({})), "");
        assert_eq!(short_args(&json!({"command": "a\nb\u{1b}[2J"})), "a b");
    }

    #[test]
    fn durations_read_in_milliseconds_then_seconds_then_minutes() {
        assert_eq!(duration_text(Duration::from_millis(12)), "12 ms");
        assert_eq!(duration_text(Duration::from_millis(1_234)), "1.2 s");
        assert_eq!(duration_text(Duration::from_secs(65)), "1m 05s");
    }

    fn hostile_call() -> Scene {
        let mut scene = Scene::new(vec![agent("coder")], None);
        let output = "total 3\n\u{1b}[31mred.txt\u{1b}[0m\n\u{1b}]0;pwned\u{7}after.txt\n\
                      progress 10%\rprogress 100%\n\u{9b}2Jc1.txt\n\tindented.txt\n\
                      a line long enough to wrap inside the overlay because it goes on and on \
                      and on past any reasonable width";
        scene
            .event(
                "coder",
                1,
                requested(
                    "call_1",
                    "run_command",
                    json!({"command": "ls -la \u{1b}[2J", "cwd": "/tmp", "timeout": 30}),
                ),
            )
            .event(
                "coder",
                2,
                finished("call_1", "run_command", true, output, 340),
            );
        scene
    }

    #[test]
    fn the_detail_overlay_shows_pretty_arguments_and_clean_wrapped_output() {
        let scene = hostile_call();
        let buf = draw(80, 24, |area, buf| {
            render_detail(&scene.ctx(now()), 0, area, buf);
        });
        assert_no_escape(&buf);
        let text = screen(&buf);
        insta::assert_snapshot!(text);
        assert!(text.contains("\"timeout\": 30"), "{text}");
        assert!(
            text.contains("progress 100%") && !text.contains("progress 10%"),
            "{text}"
        );
        assert!(
            text.contains("after.txt") && !text.contains("pwned"),
            "{text}"
        );
        assert!(text.contains("Esc closes"), "{text}");
    }

    #[test]
    fn the_detail_overlay_clears_what_is_under_it() {
        let scene = hostile_call();
        let buf = draw(120, 35, |area, buf| {
            buf.set_style(area, Style::default().bg(Color::Blue));
            for y in area.top()..area.bottom() {
                buf.set_string(0, y, "x".repeat(usize::from(area.width)), Style::default());
            }
            render_detail(&scene.ctx(now()), 0, area, buf);
        });
        let text = screen(&buf);
        insta::assert_snapshot!(text);
        let inside = find_inside(&buf);
        assert_eq!(buf[inside].symbol(), " ", "{text}");
        assert_eq!(buf[inside].bg, Color::Reset);
    }

    /// A cell inside the overlay that no text covers (just right of the `arguments` heading).
    fn find_inside(buf: &Buffer) -> ratatui::layout::Position {
        let at = super::super::fixtures::find(buf, "arguments").unwrap_or_default();
        ratatui::layout::Position::new(at.x + 12, at.y)
    }

    #[test]
    fn a_detail_for_a_call_that_is_gone_says_so() {
        let scene = hostile_call();
        let text = screen(&draw(80, 24, |area, buf| {
            render_detail(&scene.ctx(now()), 7, area, buf);
        }));
        assert!(text.contains("this tool call is no longer shown"), "{text}");
    }

    #[test]
    fn tools_never_panic_nor_draw_outside_their_area() {
        let mut scene = trace();
        scene.ui.focus = Focus::Tools;
        assert_stays_inside(|area, buf| render(&scene.ctx(now()), area, buf));
        assert_stays_inside(|area, buf| render_detail(&scene.ctx(now()), 2, area, buf));
        assert_stays_inside(|area, buf| render_detail(&scene.ctx(now()), 9, area, buf));
        let empty = Scene::new(vec![], None);
        assert_stays_inside(|area, buf| render(&empty.ctx(now()), area, buf));
    }
}
