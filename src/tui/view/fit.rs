//! Fitting text into cells: cut with `…` instead of wrapping, spread a line to both edges, draw
//! rows one per line, and centre an overlay. Nothing here draws outside the area it is given.

use std::borrow::Cow;

use ratatui::buffer::Buffer;
use ratatui::layout::Rect;
use ratatui::text::{Line, Span};
use ratatui::widgets::Widget;
use unicode_width::UnicodeWidthChar;

/// What a cut line ends with.
pub const ELLIPSIS: &str = "…";

/// `text` cut to `width` columns, ending with `…` when something was cut.
pub fn ellipsize(text: &str, width: usize) -> Cow<'_, str> {
    if text_width(text) <= width {
        return Cow::Borrowed(text);
    }
    let Some(room) = width.checked_sub(1) else {
        return Cow::Borrowed("");
    };
    let mut cut = String::with_capacity(room + ELLIPSIS.len());
    let mut used = 0;
    for c in text.chars() {
        let w = c.width().unwrap_or(0);
        if used + w > room {
            break;
        }
        used += w;
        cut.push(c);
    }
    cut.push_str(ELLIPSIS);
    Cow::Owned(cut)
}

/// Display width of `text` in terminal columns.
pub fn text_width(text: &str) -> usize {
    unicode_width::UnicodeWidthStr::width(text)
}

/// `line` cut to `width` columns; it ends with `…` in the style of the span that was cut.
pub fn fit_line(line: Line<'static>, width: u16) -> Line<'static> {
    let width = usize::from(width);
    if line.width() <= width {
        return line;
    }
    let Line {
        spans,
        style,
        alignment,
    } = line;
    let mut kept = Vec::with_capacity(spans.len());
    if let Some(room) = width.checked_sub(1) {
        let mut used = 0;
        for span in spans {
            let w = span.width();
            if used + w <= room {
                used += w;
                kept.push(span);
                continue;
            }
            let mut part = String::new();
            for c in span.content.chars() {
                let cw = c.width().unwrap_or(0);
                if used + cw > room {
                    break;
                }
                used += cw;
                part.push(c);
            }
            part.push_str(ELLIPSIS);
            kept.push(Span::styled(part, span.style));
            break;
        }
    }
    Line {
        spans: kept,
        style,
        alignment,
    }
}

/// One line of `width` columns: `left` at the start, `right` at the end, spaces between. When both
/// do not fit, `left` is cut first (down to a few columns), then `right` is dropped.
pub fn spread(left: Vec<Span<'static>>, right: Vec<Span<'static>>, width: u16) -> Line<'static> {
    const LEFT_AT_LEAST: usize = 6;
    let width_usize = usize::from(width);
    let left = Line::from(left);
    let right = Line::from(right);
    let (lw, rw) = (left.width(), right.width());
    if rw == 0 {
        return fit_line(left, width);
    }
    if lw + 1 + rw <= width_usize {
        let mut spans = left.spans;
        spans.push(Span::raw(" ".repeat(width_usize - lw - rw)));
        spans.extend(right.spans);
        return Line::from(spans);
    }
    if width_usize >= rw + 1 + LEFT_AT_LEAST.min(lw) {
        let room = u16::try_from(width_usize - rw - 1).unwrap_or(0);
        let mut spans = fit_line(left, room).spans;
        spans.push(Span::raw(" "));
        spans.extend(right.spans);
        return Line::from(spans);
    }
    fit_line(left, width)
}

/// Draws `lines` one per row from the top of `area`, each cut to its width; returns the rows used.
pub fn draw_rows(
    lines: impl IntoIterator<Item = Line<'static>>,
    area: Rect,
    buf: &mut Buffer,
) -> u16 {
    let mut used = 0;
    for line in lines.into_iter().take(usize::from(area.height)) {
        let row = Rect::new(area.x, area.y + used, area.width, 1);
        fit_line(line, area.width).render(row, buf);
        used += 1;
    }
    used
}

/// A `width` × `height` rectangle in the middle of `area`, never larger than it.
pub fn centered(area: Rect, width: u16, height: u16) -> Rect {
    let width = width.min(area.width);
    let height = height.min(area.height);
    Rect::new(
        area.x + (area.width - width) / 2,
        area.y + (area.height - height) / 2,
        width,
        height,
    )
}

/// The size of an overlay that wants `content` columns and rows inside its frame, with a margin
/// of one cell to the screen's edge when there is room for it.
pub fn overlay_size(area: Rect, content_width: usize, content_height: usize) -> (u16, u16) {
    let fit = |want: usize, room: u16| {
        let room = if room > 10 { room - 2 } else { room };
        u16::try_from(want.saturating_add(2))
            .unwrap_or(u16::MAX)
            .min(room)
    };
    (
        fit(content_width, area.width),
        fit(content_height, area.height),
    )
}

#[cfg(test)]
mod tests {
    use ratatui::style::{Style, Stylize};

    use super::*;

    fn text(line: &Line<'_>) -> String {
        line.spans.iter().map(|s| s.content.as_ref()).collect()
    }

    #[test]
    fn ellipsize_cuts_to_the_width_including_the_ellipsis() {
        assert_eq!(ellipsize("hello", 5), "hello");
        assert_eq!(ellipsize("hello", 4), "hel…");
        assert_eq!(ellipsize("hello", 1), "…");
        assert_eq!(ellipsize("hello", 0), "");
        assert_eq!(
            ellipsize("日本語", 4),
            "日…",
            "a wide char never straddles the edge"
        );
    }

    #[test]
    fn fit_line_keeps_styles_and_ends_with_an_ellipsis() {
        let line = Line::from(vec!["ab".red(), "cd".green(), "ef".blue()]);
        let cut = fit_line(line.clone(), 5);
        assert_eq!(text(&cut), "abcd…");
        assert_eq!(cut.width(), 5);
        let cut = fit_line(line.clone(), 4);
        assert_eq!(text(&cut), "abc…");
        assert_eq!(cut.spans[1].style, Style::default().green());
        assert_eq!(text(&fit_line(line.clone(), 6)), "abcdef");
        assert_eq!(text(&fit_line(line, 0)), "");
    }

    #[test]
    fn spread_puts_the_right_part_at_the_edge_and_cuts_the_left_first() {
        let l = || vec![Span::raw("✓ read src/main.rs")];
        let r = || vec![Span::raw("12 ms")];
        assert_eq!(
            text(&spread(l(), r(), 30)),
            "✓ read src/main.rs       12 ms"
        );
        assert_eq!(text(&spread(l(), r(), 16)), "✓ read sr… 12 ms");
        assert_eq!(text(&spread(l(), r(), 8)), "✓ read …");
    }

    #[test]
    fn centered_stays_inside_its_area() {
        let area = Rect::new(2, 3, 10, 4);
        assert_eq!(centered(area, 4, 2), Rect::new(5, 4, 4, 2));
        assert_eq!(centered(area, 40, 20), area);
    }
}
