//! The `/sessions` picker: this config's sessions, newest first, one line each (id, age, turns,
//! cost, agents, last prompt); ↑↓ choose, Enter resumes, Esc closes.

use ratatui::buffer::Buffer;
use ratatui::layout::Rect;
use ratatui::text::{Line, Span};

use super::fit::{centered, draw_rows, overlay_size, text_width};
use super::report::overlay;
use super::theme::Theme;
use crate::engine::session::SessionSummary;
use crate::sanitize::line_for_display;

/// The widest the picker grows.
const MAX_WIDTH: usize = 110;

pub fn render(
    sessions: &[SessionSummary],
    selected: usize,
    now: jiff::Timestamp,
    area: Rect,
    buf: &mut Buffer,
) {
    let lines: Vec<String> = if sessions.is_empty() {
        vec!["no earlier session of this config".to_owned()]
    } else {
        sessions.iter().map(|s| line_of(s, now)).collect()
    };
    // The marker and one column of padding on each side.
    let widest = lines
        .iter()
        .map(|l| text_width(l) + 4)
        .max()
        .unwrap_or(0)
        .max(40);
    let (width, height) = overlay_size(area, widest.min(MAX_WIDTH), lines.len());
    let title = Line::from(vec![
        Span::raw(" Sessions "),
        Span::styled("↑↓", Theme::key()),
        Span::styled(" choose ", Theme::dim()),
        Span::styled("Enter", Theme::key()),
        Span::styled(" resumes ", Theme::dim()),
    ]);
    let inner = overlay(title, centered(area, width, height), buf);
    let inner = Rect {
        x: inner.x.saturating_add(1).min(inner.right()),
        width: inner.width.saturating_sub(2),
        ..inner
    };
    let rows = usize::from(inner.height).max(1);
    // Keep the selected line in view.
    let first = selected.saturating_sub(rows - 1);
    let drawn: Vec<Line<'static>> = lines
        .into_iter()
        .enumerate()
        .skip(first)
        .take(rows)
        .map(|(i, text)| {
            if i == selected && !sessions.is_empty() {
                Line::from(Span::styled(format!("› {text}"), Theme::selected()))
            } else {
                Line::from(format!("  {text}"))
            }
        })
        .collect();
    draw_rows(drawn, inner, buf);
}

fn line_of(s: &SessionSummary, now: jiff::Timestamp) -> String {
    let prompt = s
        .last_prompt
        .as_deref()
        .map(|p| format!("  \"{}\"", line_for_display(p)))
        .unwrap_or_default();
    format!(
        "{}  {:>10}  {:>3} turn{}  ${:.4}  {}{prompt}",
        s.id,
        age(now, s.started),
        s.turns,
        if s.turns == 1 { " " } else { "s" },
        s.cost_usd,
        line_for_display(&s.agents.join(",")),
    )
}

/// How long ago, in the largest unit that fits.
fn age(now: jiff::Timestamp, then: jiff::Timestamp) -> String {
    let seconds = now.as_second().saturating_sub(then.as_second()).max(0);
    match seconds {
        0..60 => "just now".to_owned(),
        60..3_600 => format!("{} min ago", seconds / 60),
        3_600..86_400 => format!("{} h ago", seconds / 3_600),
        _ => format!("{} d ago", seconds / 86_400),
    }
}

#[cfg(test)]
mod tests {
    use super::super::fixtures::{assert_stays_inside, draw, screen};
    use super::*;
    use crate::engine::session::SessionId;

    const T0: i64 = 1_795_000_000;

    fn at(second: i64) -> jiff::Timestamp {
        jiff::Timestamp::from_second(T0 + second).unwrap()
    }

    fn sessions() -> Vec<SessionSummary> {
        vec![
            SessionSummary {
                id: SessionId("20261122-101500-a3f0".into()),
                config: "/work/project/config.yaml".into(),
                started: at(-600),
                agents: vec!["coder".into(), "reviewer".into()],
                turns: 5,
                cost_usd: 0.0123,
                last_prompt: Some("review the \x1b[31mparser\x1b[0m change".into()),
            },
            SessionSummary {
                id: SessionId("20261121-090000-77b1".into()),
                config: "/work/project/config.yaml".into(),
                started: at(-90_000),
                agents: vec!["coder".into()],
                turns: 1,
                cost_usd: 0.0,
                last_prompt: None,
            },
        ]
    }

    #[test]
    fn the_picker_lists_sessions_and_marks_the_chosen_one() {
        let buf = draw(100, 12, |area, buf| {
            render(&sessions(), 1, at(0), area, buf)
        });
        insta::assert_snapshot!(screen(&buf));
    }

    #[test]
    fn the_picker_fits_any_screen() {
        assert_stays_inside(|area, buf| render(&sessions(), 0, at(0), area, buf));
        assert_stays_inside(|area, buf| render(&[], 0, at(0), area, buf));
    }
}
