//! A report over the screen (/status, /costs, /agents, /health), and the frame every overlay
//! shares: centred, cleared underneath, `Esc closes` in its bottom border.

use ratatui::buffer::Buffer;
use ratatui::layout::Rect;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Clear, Widget};

use super::fit::{centered, draw_rows, overlay_size, text_width};
use super::pane;
use super::theme::Theme;
use crate::sanitize::line_for_display;

/// The widest a report grows, so long lines do not make it a wall of text.
const MAX_WIDTH: usize = 100;

pub fn render(title: &str, lines: &[String], area: Rect, buf: &mut Buffer) {
    let lines: Vec<String> = lines.iter().map(|l| line_for_display(l)).collect();
    let title = line_for_display(title);
    let more = |n: usize| format!("… {n} more lines");
    let widest = lines
        .iter()
        .map(|l| text_width(l))
        .chain([text_width(&title) + 2, text_width(&more(lines.len())), 12])
        .max()
        .unwrap_or(0);
    // One column of padding on each side of the text.
    let (width, height) = overlay_size(area, widest.min(MAX_WIDTH) + 2, lines.len());
    let inner = overlay(
        Line::from(format!(" {title} ")),
        centered(area, width, height),
        buf,
    );
    let inner = Rect {
        x: inner.x.saturating_add(1).min(inner.right()),
        width: inner.width.saturating_sub(2),
        ..inner
    };
    let rows = usize::from(inner.height);
    let shown = if lines.len() > rows {
        rows.saturating_sub(1)
    } else {
        lines.len()
    };
    let mut drawn: Vec<Line<'static>> = lines[..shown]
        .iter()
        .map(|l| Line::from(l.clone()))
        .collect();
    if shown < lines.len() && rows > 0 {
        drawn.push(Line::from(Span::styled(
            more(lines.len() - shown),
            Theme::dim(),
        )));
    }
    draw_rows(drawn, inner, buf);
}

/// Clears `area` and draws an overlay's frame in it, with `title` on top and `Esc closes` below;
/// returns the inside.
pub fn overlay(title: Line<'static>, area: Rect, buf: &mut Buffer) -> Rect {
    let block = pane(title, true).title_bottom(
        Line::from(vec![
            Span::styled(" Esc", Theme::key()),
            Span::styled(" closes ", Theme::dim()),
        ])
        .right_aligned(),
    );
    let inner = block.inner(area);
    Clear.render(area, buf);
    block.render(area, buf);
    inner
}

#[cfg(test)]
mod tests {
    use super::super::fixtures::{assert_stays_inside, draw, screen};
    use super::*;

    fn status_lines() -> Vec<String> {
        [
            "config  /home/me/project/config.yaml",
            "agents  3 (coder, reviewer, scout)",
            "budget  $1.20 of $5.00 (24%)",
            "",
            "coder     gpt-4o via openai api.openai.com      idle",
            "reviewer  claude-sonnet-4 via anthropic          done",
            "scout     scripted                               idle",
        ]
        .map(String::from)
        .to_vec()
    }

    #[test]
    fn report_sits_in_the_middle_with_its_title_and_footer() {
        let buf = draw(120, 35, |area, buf| {
            render("/status", &status_lines(), area, buf);
        });
        insta::assert_snapshot!(screen(&buf));
    }

    #[test]
    fn report_at_80_by_24_fits_its_lines() {
        let buf = draw(80, 24, |area, buf| {
            render("/status", &status_lines(), area, buf)
        });
        insta::assert_snapshot!(screen(&buf));
    }

    #[test]
    fn report_too_long_for_the_screen_says_how_many_lines_are_cut() {
        let lines: Vec<String> = (1..=40).map(|i| format!("line {i}")).collect();
        let buf = draw(80, 24, |area, buf| render("/agents", &lines, area, buf));
        let text = screen(&buf);
        assert!(text.contains("… 21 more lines"), "{text}");
        insta::assert_snapshot!(text);
    }

    #[test]
    fn report_lines_are_cleaned_of_escape_sequences() {
        let lines = vec!["\u{1b}]0;pwned\u{7}ok \u{1b}[31mred\u{1b}[0m".to_owned()];
        let buf = draw(80, 24, |area, buf| {
            render("\u{1b}[2Jtitle", &lines, area, buf);
        });
        super::super::fixtures::assert_no_escape(&buf);
        let text = screen(&buf);
        assert!(
            text.contains("ok red") && text.contains(" title "),
            "{text}"
        );
    }

    #[test]
    fn report_never_panics_nor_draws_outside_its_area() {
        assert_stays_inside(|area, buf| render("/status", &status_lines(), area, buf));
    }
}
