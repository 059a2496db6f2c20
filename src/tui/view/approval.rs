//! The approval window: which agent wants to run which tool, what the call would do first (the
//! path, command, URL or host), then the rest of its arguments, why it asks, and the answers. The
//! body scrolls: a long `write` never hides its path below its content.

use ratatui::buffer::Buffer;
use ratatui::layout::{Constraint, Flex, Layout, Rect};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Clear, Paragraph, Widget};
use serde_json::Value;

use super::theme::Theme;
use super::{Ctx, pane};
use crate::sanitize::{for_display, line_for_display};
use crate::tui::model::PendingApproval;
use crate::tui::wrap::{Indent, wrap_indented};

/// The arguments that say what a call does, shown first in this order (v6's tools, the Claude
/// CLI's, and the usual names of MCP tools).
const LEADING: [&str; 9] = [
    "method",
    "url",
    "host",
    "command",
    "path",
    "file_path",
    "working_dir",
    "pattern",
    "base_dir",
];

/// Arguments that carry a text of many lines, shown last, as text.
const BLOCKS: [&str; 4] = ["content", "body", "old_string", "new_string"];

/// Width of the argument names' column.
const NAME_WIDTH: usize = 12;

/// Where the window for `request` goes on a screen of `area`: as wide as it may be, as tall as
/// its body needs, centred.
pub fn window(area: Rect, request: &PendingApproval) -> Rect {
    let width = area.width.saturating_sub(4).min(100);
    let needed = body(request, width.saturating_sub(2)).len() + usize::from(FRAME_ROWS);
    let height = area
        .height
        .saturating_sub(2)
        .min(30)
        .min(u16::try_from(needed).unwrap_or(u16::MAX));
    let [row] = Layout::vertical([Constraint::Length(height)])
        .flex(Flex::Center)
        .areas(area);
    let [window] = Layout::horizontal([Constraint::Length(width)])
        .flex(Flex::Center)
        .areas(row);
    window
}

/// Rows of a window that are not its body: two borders, the heading, a blank row, the answers.
const FRAME_ROWS: u16 = 5;

/// Rows of the window's inside that the scrolling body gets.
pub fn body_height(window: Rect) -> u16 {
    window.height.saturating_sub(FRAME_ROWS)
}

/// Width of the window's inside.
pub fn body_width(window: Rect) -> u16 {
    window.width.saturating_sub(2)
}

/// The window's body at `width`, wrapped: the leading arguments, the others, the long texts,
/// then why it asks.
pub fn body(request: &PendingApproval, width: u16) -> Vec<Line<'static>> {
    let mut lines = Vec::new();
    let mut push = |line: Line<'static>, indent: &Indent| {
        lines.extend(wrap_indented(&line, width, indent));
    };
    let hanging = Indent {
        first: Vec::new(),
        rest: vec![Span::raw(" ".repeat(NAME_WIDTH))],
    };
    match &request.args {
        Value::Object(args) => {
            let leading = LEADING.iter().filter_map(|k| args.get_key_value(*k));
            let others = args
                .iter()
                .filter(|(k, _)| !LEADING.contains(&k.as_str()) && !BLOCKS.contains(&k.as_str()));
            for (name, value) in leading.chain(others) {
                let shown = match value {
                    Value::String(text) => for_display(text).into_owned(),
                    other => for_display(&other.to_string()).into_owned(),
                };
                for (i, text) in shown.split('\n').enumerate() {
                    let label = if i == 0 {
                        format!("{:<NAME_WIDTH$}", line_for_display(name))
                    } else {
                        " ".repeat(NAME_WIDTH)
                    };
                    push(
                        Line::from(vec![
                            Span::styled(label, Theme::dim()),
                            Span::styled(text.to_owned(), Theme::title()),
                        ]),
                        &hanging,
                    );
                }
            }
            for (name, value) in BLOCKS.iter().filter_map(|k| args.get_key_value(*k)) {
                let text = match value {
                    Value::String(text) => for_display(text).into_owned(),
                    other => for_display(&other.to_string()).into_owned(),
                };
                let count = text.lines().count();
                // A file's last newline ends its last line; it is not a line of its own.
                let shown = text.strip_suffix('\n').unwrap_or(&text);
                push(Line::default(), &Indent::none());
                push(
                    Line::from(Span::styled(
                        format!(
                            "{} ({count} line{}, {} bytes)",
                            line_for_display(name),
                            if count == 1 { "" } else { "s" },
                            text.len()
                        ),
                        Theme::dim(),
                    )),
                    &Indent::none(),
                );
                let gutter = Indent::repeated(Span::styled("▎ ", Theme::dim()));
                for text in shown.split('\n') {
                    push(Line::from(text.to_owned()), &gutter);
                }
            }
        }
        other => {
            let pretty = serde_json::to_string_pretty(other).unwrap_or_else(|_| other.to_string());
            for text in for_display(&pretty).split('\n') {
                push(Line::from(text.to_owned()), &Indent::none());
            }
        }
    }
    push(Line::default(), &Indent::none());
    push(
        Line::from(Span::styled(
            for_display(&request.why).into_owned(),
            Theme::dim(),
        )),
        &Indent::none(),
    );
    lines
}

/// The largest useful scroll offset of `request`'s body on a screen of `area`.
pub fn max_scroll(request: &PendingApproval, area: Rect) -> usize {
    let window = window(area, request);
    let total = body(request, body_width(window)).len();
    total.saturating_sub(usize::from(body_height(window)))
}

pub fn render(
    ctx: &Ctx<'_>,
    pending: (usize, &PendingApproval),
    scroll: usize,
    area: Rect,
    buf: &mut Buffer,
) {
    let (index, request) = pending;
    let Some(agent) = ctx.model.agents.get(index) else {
        return;
    };
    let window = window(area, request);
    Clear.render(window, buf);
    let block = pane(
        Line::from(" Approve this tool call? ").style(Theme::warn()),
        true,
    );
    let inner = block.inner(window);
    block.render(window, buf);
    if inner.width == 0 || inner.height == 0 {
        return;
    }
    let [header, _, body_area, footer] = Layout::vertical([
        Constraint::Length(1),
        Constraint::Length(1),
        Constraint::Min(0),
        Constraint::Length(1),
    ])
    .areas(inner);
    let tool = line_for_display(&request.tool);
    let lines = body(request, inner.width);
    let height = usize::from(body_area.height);
    let first = scroll.min(lines.len().saturating_sub(height));
    let below = lines.len().saturating_sub(first + height);
    let mut heading = vec![
        Span::styled("agent ", Theme::dim()),
        Span::styled(agent.name().to_owned(), Theme::title()),
        Span::styled("  wants to run ", Theme::dim()),
        Span::styled(tool.clone(), Theme::tool()),
    ];
    if first > 0 || below > 0 {
        heading.push(Span::styled(
            format!(
                "   lines {}-{} of {} · ↑↓ PgUp PgDn scroll",
                first + 1,
                (first + height).min(lines.len()),
                lines.len()
            ),
            Theme::dim(),
        ));
    }
    Paragraph::new(Line::from(heading)).render(header, buf);
    Paragraph::new(
        lines
            .into_iter()
            .skip(first)
            .take(height)
            .collect::<Vec<_>>(),
    )
    .render(body_area, buf);
    let always = format!("always allow {tool} for {}   ", agent.name());
    let answers = |allow: &str, deny: &str, always: &str, cancel: &str| {
        Line::from(vec![
            Span::styled(" y ", Theme::key()),
            Span::raw(allow.to_owned()),
            Span::styled(" n ", Theme::key()),
            Span::raw(deny.to_owned()),
            Span::styled(" a ", Theme::key()),
            Span::raw(always.to_owned()),
            Span::styled(" Esc ", Theme::key()),
            Span::raw(cancel.to_owned()),
        ])
    };
    let long = answers("allow   ", "deny   ", &always, "cancel the turn");
    let line = if long.width() <= usize::from(footer.width) {
        long
    } else {
        answers("allow  ", "deny  ", "always  ", "cancel turn")
    };
    Paragraph::new(line).render(footer, buf);
}
