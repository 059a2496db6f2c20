//! The log tail pane: the last lines of the followed agent's markdown log, newest at the bottom,
//! with the v6 entry headers (`## 2026-… | PROMPT`) coloured by kind.

use ratatui::buffer::Buffer;
use ratatui::layout::Rect;
use ratatui::style::{Modifier, Style};
use ratatui::text::{Line, Span};
use ratatui::widgets::Widget;

use super::fit::draw_rows;
use super::theme::Theme;
use super::{Ctx, pane};
use crate::sanitize::line_for_display;
use crate::tui::app::state::Focus;
use crate::tui::model::LogView;

pub fn render(ctx: &Ctx<'_>, area: Rect, buf: &mut Buffer) {
    let log = &ctx.model.log;
    let height = usize::from(area.height.saturating_sub(2));
    let lines = &log.lines;
    // Never further up than the first line at the top.
    let scroll = ctx.ui.log_scroll.min(lines.len().saturating_sub(height));
    let block = pane(title(log, scroll), ctx.focused(Focus::Log));
    let inner = block.inner(area);
    block.render(area, buf);
    if log.agent.is_none() || lines.is_empty() {
        let waiting = Line::styled("the log appears when the agent runs", Theme::dim());
        draw_rows([waiting], inner, buf);
        return;
    }
    let end = lines.len() - scroll;
    let start = end.saturating_sub(height);
    let shown = &lines[start..end];
    // Bottom-aligned: a short log sits on the pane's last rows, as a terminal tail does.
    let blank = inner
        .height
        .saturating_sub(u16::try_from(shown.len()).unwrap_or(u16::MAX));
    let area = Rect {
        y: inner.y + blank,
        height: inner.height - blank,
        ..inner
    };
    draw_rows(shown.iter().map(|l| styled(l)), area, buf);
}

/// ` Log coder logs/coder.md `, plus how far it is scrolled up.
fn title(log: &LogView, scroll: usize) -> Line<'static> {
    let mut spans = vec![Span::raw(" Log ")];
    if let Some(agent) = &log.agent {
        spans.push(Span::raw(format!("{} ", line_for_display(agent))));
    }
    if let Some(path) = &log.path {
        spans.push(Span::styled(
            format!("{} ", line_for_display(&path.display().to_string())),
            Theme::dim(),
        ));
    }
    if scroll > 0 {
        spans.push(Span::styled(format!("↑{scroll} "), Theme::warn()));
    }
    Line::from(spans)
}

/// One log line, cleaned; an entry header in its kind's colour with the kind in bold.
fn styled(raw: &str) -> Line<'static> {
    let line = line_for_display(raw);
    let Some(style) = header_style(&line) else {
        return Line::raw(line);
    };
    let split = line.rfind(" | ").map_or(0, |i| i + 3);
    let (stamp, kind) = line.split_at(split);
    Line::from(vec![
        Span::styled(stamp.to_owned(), style),
        Span::styled(kind.to_owned(), style.add_modifier(Modifier::BOLD)),
    ])
}

/// The style of a v6 entry header (`## 2026-11-25 10:00:00 | RESULT`), or `None` for any other
/// line (a `## Heading` the model wrote has no ` | KIND` after it).
fn header_style(line: &str) -> Option<Style> {
    let (_, kind) = line.strip_prefix("## ")?.rsplit_once(" | ")?;
    match kind.trim_end() {
        "PROMPT" => Some(Theme::user()),
        "RESULT" => Some(Theme::ok()),
        "ERROR" => Some(Theme::error()),
        "TOOL" => Some(Theme::tool()),
        "NOTE" | "CANCELLED" => Some(Theme::warn()),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use std::path::PathBuf;

    use ratatui::style::Color;

    use super::super::fixtures::{
        Scene, agent, assert_no_escape, assert_stays_inside, assert_style, at, draw, screen,
        style_of,
    };
    use super::*;
    use crate::tui::logtail::LogUpdate;

    const LOG: &str = "\n## 2026-11-25 10:00:00 | PROMPT\n\nlist the files\n\n\
        ## 2026-11-25 10:00:01 | TOOL\n\nlist_dir {\"path\":\".\"} ok 3 ms\nCargo.toml\nsrc/\n\n\
        ## 2026-11-25 10:00:02 | NOTE\n\nbudget nearly spent\n\n\
        ## 2026-11-25 10:00:03 | RESULT\n\n## Files\n\nTwo entries.\n\n\
        ## 2026-11-25 10:00:04 | PROMPT\n\nagain\n\n\
        ## 2026-11-25 10:00:05 | ERROR\n\nHTTP 500 \u{1b}[31mserver error\u{1b}[0m\n\n\
        ## 2026-11-25 10:00:06 | CANCELLED\n\nThe turn was cancelled.";

    fn following_coder() -> Scene {
        let mut scene = Scene::new(vec![agent("coder")], None);
        scene
            .model
            .follow_log("coder", PathBuf::from("logs/coder.md"));
        scene.model.apply_log(LogUpdate::Reset {
            lines: LOG.lines().map(str::to_owned).collect(),
        });
        scene
    }

    fn log_pane(scene: &Scene, width: u16, height: u16) -> Buffer {
        draw(width, height, |area, buf| {
            render(&scene.ctx(at(0)), area, buf)
        })
    }

    #[test]
    fn the_tail_shows_the_newest_lines_with_headers_coloured_by_kind() {
        let buf = log_pane(&following_coder(), 40, 20);
        assert_no_escape(&buf);
        let text = screen(&buf);
        insta::assert_snapshot!(text);
        assert_style(&buf, "## 2026-11-25 10:00:05 | ", Theme::error());
        assert_style(&buf, "ERROR", Theme::error().add_modifier(Modifier::BOLD));
        assert_style(&buf, "## 2026-11-25 10:00:04", Theme::user());
        assert_style(&buf, "## 2026-11-25 10:00:06", Theme::warn());
        assert_style(&buf, "## 2026-11-25 10:00:03", Theme::ok());
        assert_eq!(
            style_of(&buf, "## Files").fg,
            Some(Color::Reset),
            "a heading the model wrote is not an entry header"
        );
        assert!(text.contains("HTTP 500 server error"), "{text}");
    }

    #[test]
    fn every_entry_kind_has_its_colour() {
        let buf = log_pane(&following_coder(), 40, 40);
        assert_style(&buf, "## 2026-11-25 10:00:00", Theme::user());
        assert_style(&buf, "## 2026-11-25 10:00:01", Theme::tool());
        assert_style(&buf, "## 2026-11-25 10:00:02", Theme::warn());
    }

    #[test]
    fn scrolling_up_shows_older_lines_and_stops_at_the_first() {
        let mut scene = following_coder();
        scene.ui.log_scroll = 10;
        let text = screen(&log_pane(&scene, 40, 12));
        insta::assert_snapshot!(text);
        assert!(text.contains("↑10"), "{text}");
        scene.ui.log_scroll = 1_000;
        let text = screen(&log_pane(&scene, 40, 12));
        let top = text.lines().nth(2).unwrap_or_default();
        assert!(
            top.contains("10:00:00 | PROMPT"),
            "the top shows the first entry: {text}"
        );
    }

    #[test]
    fn a_short_log_sits_at_the_bottom() {
        let mut scene = following_coder();
        scene.model.apply_log(LogUpdate::Reset {
            lines: vec![
                "## 2026-11-25 10:00:00 | PROMPT".into(),
                String::new(),
                "hi".into(),
            ],
        });
        insta::assert_snapshot!(screen(&log_pane(&scene, 40, 8)));
    }

    #[test]
    fn long_lines_are_cut_not_wrapped() {
        let mut scene = following_coder();
        scene.model.apply_log(LogUpdate::Appended {
            lines: vec!["a very long line that goes well past the edge of the pane".into()],
        });
        let text = screen(&log_pane(&scene, 30, 5));
        assert!(text.contains("│a very long line that goes …│"), "{text}");
    }

    #[test]
    fn no_log_yet_says_when_it_appears() {
        let scene = Scene::new(vec![agent("coder")], None);
        let text = screen(&log_pane(&scene, 40, 4));
        insta::assert_snapshot!(text);
    }

    #[test]
    fn log_never_panics_nor_draws_outside_its_area() {
        let mut scene = following_coder();
        scene.ui.log_scroll = 3;
        assert_stays_inside(|area, buf| render(&scene.ctx(at(0)), area, buf));
        let empty = Scene::new(vec![], None);
        assert_stays_inside(|area, buf| render(&empty.ctx(at(0)), area, buf));
    }
}
