//! Wrapping styled lines to a width in terminal cells: breaks at spaces, hard-breaks long words,
//! keeps each span's style, and can repeat an indent (a list's hanging indent, a quote's bar).
//! Cells are counted per grapheme with `unicode-width`, as ratatui's buffer counts them.

use std::borrow::Cow;

use ratatui::style::Style;
use ratatui::text::{Line, Span};
use unicode_segmentation::UnicodeSegmentation;
use unicode_width::UnicodeWidthStr;

/// What goes before each wrapped line: `first` before the first line, `rest` before every
/// continuation line (and every line after a `\n`).
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Indent {
    pub first: Vec<Span<'static>>,
    pub rest: Vec<Span<'static>>,
}

impl Indent {
    /// No indent at all.
    pub fn none() -> Self {
        Self::default()
    }

    /// `marker` on the first line, as many spaces on the others: a list item's hanging indent.
    pub fn hanging(marker: Span<'static>) -> Self {
        let blank = Span::raw(" ".repeat(marker.width()));
        Self {
            first: vec![marker],
            rest: vec![blank],
        }
    }

    /// The same `prefix` on every line, e.g. a quote's `"│ "`.
    pub fn repeated(prefix: Span<'static>) -> Self {
        Self {
            first: vec![prefix.clone()],
            rest: vec![prefix],
        }
    }
}

/// Wraps `line` to `width` cells with no indent. See [`wrap_indented`].
pub fn wrap(line: &Line<'_>, width: u16) -> Vec<Line<'static>> {
    wrap_indented(line, width, &Indent::none())
}

/// Splits plain `text` on `\n`, then wraps each line in `style` to `width` cells.
pub fn wrap_text(text: &str, style: Style, width: u16) -> Vec<Line<'static>> {
    wrap(&Line::from(Span::styled(text, style)), width)
}

/// Wraps `line` to `width` cells, `indent` before each produced line.
///
/// - Width 0 gives **no lines**; any other width gives at least one line (an empty input gives one
///   line holding only the indent).
/// - Breaks at spaces; the spaces at a break are dropped, leading spaces of the input (and after
///   a `\n`) are kept. A `\n` inside a span always breaks.
/// - A word wider than the room left is moved to the next line, and a word wider than a whole line
///   is cut between graphemes. A single grapheme wider than the room (a CJK character with one cell
///   left) is drawn as `…`.
/// - An indent too wide for `width` is cut so one cell stays for the text: no line is ever wider
///   than `width`.
/// - Span styles are kept (adjacent pieces of one style merge into one span); the line's own style
///   and alignment carry over to every produced line.
///
/// Control characters other than `\n` are not filtered: clean the text first.
pub fn wrap_indented(line: &Line<'_>, width: u16, indent: &Indent) -> Vec<Line<'static>> {
    if width == 0 {
        return Vec::new();
    }
    let mut wrapper = Wrapper::new(usize::from(width), indent, line);
    for span in &line.spans {
        wrapper.push(&span.content, span.style);
    }
    wrapper.finish()
}

/// Cuts `line` to at most `width` cells; if anything was cut, the last cell shows `…`.
/// The result is never wider than `width` (width 0 gives an empty line).
pub fn truncate(line: &Line<'_>, width: u16) -> Line<'static> {
    let width = usize::from(width);
    let mut out = Line::default().style(line.style);
    out.alignment = line.alignment;
    if width == 0 {
        return out;
    }
    if line.width() <= width {
        out.spans = line.spans.iter().map(to_owned_span).collect();
        return out;
    }
    let mut used = 0;
    let mut last_style = line.style;
    'spans: for span in &line.spans {
        last_style = span.style;
        let mut kept = String::new();
        for grapheme in span.content.graphemes(true) {
            let cells = grapheme.width();
            if used + cells > width - 1 {
                push_merged(&mut out.spans, kept, span.style);
                break 'spans;
            }
            used += cells;
            kept.push_str(grapheme);
        }
        push_merged(&mut out.spans, kept, span.style);
    }
    push_merged(&mut out.spans, "…".to_owned(), last_style);
    out
}

/// Drops trailing spaces: padding after the last visible cell, or an indent's on an empty line.
pub fn trim_end(spans: &mut Vec<Span<'static>>) {
    while let Some(last) = spans.last_mut() {
        let kept = last.content.trim_end_matches(' ').len();
        if kept > 0 {
            if kept < last.content.len() {
                last.content.to_mut().truncate(kept);
            }
            return;
        }
        spans.pop();
    }
}

/// Cuts `spans` to at most `width` cells, no ellipsis: used for indents that do not fit.
fn cut_spans(spans: &[Span<'static>], width: usize) -> (Vec<Span<'static>>, usize) {
    let mut out = Vec::new();
    let mut used = 0;
    for span in spans {
        let cells = span.width();
        if used + cells <= width {
            used += cells;
            out.push(span.clone());
            continue;
        }
        let mut kept = String::new();
        for grapheme in span.content.graphemes(true) {
            let cells = grapheme.width();
            if used + cells > width {
                break;
            }
            used += cells;
            kept.push_str(grapheme);
        }
        push_merged(&mut out, kept, span.style);
        break;
    }
    (out, used)
}

fn to_owned_span(span: &Span<'_>) -> Span<'static> {
    Span::styled(span.content.clone().into_owned(), span.style)
}

/// Appends `text` in `style`, extending the last span when it has the same style.
fn push_merged(spans: &mut Vec<Span<'static>>, text: String, style: Style) {
    if text.is_empty() {
        return;
    }
    match spans.last_mut() {
        Some(last) if last.style == style => last.content.to_mut().push_str(&text),
        _ => spans.push(Span::styled(text, style)),
    }
}

fn push_merged_str(spans: &mut Vec<Span<'static>>, text: &str, style: Style) {
    if text.is_empty() {
        return;
    }
    match spans.last_mut() {
        Some(last) if last.style == style => last.content.to_mut().push_str(text),
        _ => spans.push(Span::styled(Cow::Owned(text.to_owned()), style)),
    }
}

/// A run of text (a word, or the spaces between words) in several styles, not yet placed.
#[derive(Default)]
struct Run {
    text: String,
    /// End offsets into `text`, each with the style of the piece that ends there.
    pieces: Vec<(usize, Style)>,
    cells: usize,
}

impl Run {
    fn push(&mut self, grapheme: &str, cells: usize, style: Style) {
        self.text.push_str(grapheme);
        self.cells += cells;
        match self.pieces.last_mut() {
            Some((end, last)) if *last == style => *end = self.text.len(),
            _ => self.pieces.push((self.text.len(), style)),
        }
    }

    fn is_empty(&self) -> bool {
        self.text.is_empty()
    }

    fn clear(&mut self) {
        self.text.clear();
        self.pieces.clear();
        self.cells = 0;
    }

    fn styled_pieces(&self) -> impl Iterator<Item = (&str, Style)> {
        let mut start = 0;
        self.pieces.iter().map(move |&(end, style)| {
            let piece = &self.text[start..end];
            start = end;
            (piece, style)
        })
    }
}

/// The greedy first-fit wrapper: words wait in `word`, the spaces before them in `gap`, until
/// the end of the word shows whether it fits on the current line.
struct Wrapper {
    width: usize,
    first: (Vec<Span<'static>>, usize),
    rest: (Vec<Span<'static>>, usize),
    line_style: Style,
    alignment: Option<ratatui::layout::Alignment>,
    lines: Vec<Line<'static>>,
    current: Vec<Span<'static>>,
    current_cells: usize,
    /// The current line started at the input's start or after a `\n`, not at a wrap: its leading
    /// spaces are indentation and are kept.
    is_fresh: bool,
    word: Run,
    gap: Run,
}

impl Wrapper {
    fn new(width: usize, indent: &Indent, line: &Line<'_>) -> Self {
        let room_for_indent = width.saturating_sub(1);
        Self {
            width,
            first: cut_spans(&indent.first, room_for_indent),
            rest: cut_spans(&indent.rest, room_for_indent),
            line_style: line.style,
            alignment: line.alignment,
            lines: Vec::new(),
            current: Vec::new(),
            current_cells: 0,
            is_fresh: true,
            word: Run::default(),
            gap: Run::default(),
        }
    }

    /// Cells available for text on the current line.
    fn room(&self) -> usize {
        let indent = if self.lines.is_empty() {
            self.first.1
        } else {
            self.rest.1
        };
        self.width - indent
    }

    fn push(&mut self, text: &str, style: Style) {
        if text.is_ascii() {
            for (index, byte) in text.bytes().enumerate() {
                self.push_grapheme(&text[index..=index], usize::from(byte != b'\n'), style);
            }
        } else {
            for grapheme in text.graphemes(true) {
                self.push_grapheme(grapheme, grapheme.width(), style);
            }
        }
    }

    fn push_grapheme(&mut self, grapheme: &str, cells: usize, style: Style) {
        match grapheme {
            "\n" | "\r\n" => {
                self.place_word();
                self.end_line(true);
            }
            " " if self.is_fresh && self.current.is_empty() && self.word.text.trim().is_empty() => {
                self.word.push(grapheme, cells, style);
            }
            " " => {
                self.place_word();
                self.gap.push(grapheme, cells, style);
            }
            _ => self.word.push(grapheme, cells, style),
        }
    }

    /// Puts the pending word (and the gap before it) on the current line, or on new ones.
    fn place_word(&mut self) {
        if self.word.is_empty() {
            return;
        }
        let on_this_line = if self.current_cells == 0 {
            0
        } else {
            self.gap.cells
        } + self.word.cells;
        if self.current_cells + on_this_line <= self.room() {
            if self.current_cells > 0 {
                self.append_run(Which::Gap);
            }
            self.append_run(Which::Word);
        } else {
            if self.current_cells > 0 {
                self.end_line(false);
            }
            if self.word.cells <= self.room() {
                self.append_run(Which::Word);
            } else {
                self.hard_break_word();
            }
        }
        self.word.clear();
        self.gap.clear();
    }

    fn hard_break_word(&mut self) {
        let word = std::mem::take(&mut self.word);
        for (piece, style) in word.styled_pieces() {
            for grapheme in piece.graphemes(true) {
                let mut cells = grapheme.width();
                if self.current_cells + cells > self.room() && self.current_cells > 0 {
                    self.end_line(false);
                }
                let shown = if cells > self.room() {
                    cells = 1;
                    "…"
                } else {
                    grapheme
                };
                push_merged_str(&mut self.current, shown, style);
                self.current_cells += cells;
            }
        }
        self.word = word;
    }

    fn append_run(&mut self, which: Which) {
        let run = match which {
            Which::Word => &self.word,
            Which::Gap => &self.gap,
        };
        for (piece, style) in run.styled_pieces() {
            push_merged_str(&mut self.current, piece, style);
        }
        self.current_cells += run.cells;
    }

    /// Closes the current line; `is_forced` when a `\n` asked for it rather than the width.
    fn end_line(&mut self, is_forced: bool) {
        let indent = if self.lines.is_empty() {
            &self.first.0
        } else {
            &self.rest.0
        };
        let mut spans = Vec::with_capacity(indent.len() + self.current.len());
        spans.extend(indent.iter().cloned());
        spans.append(&mut self.current);
        let mut line = Line::from(spans).style(self.line_style);
        line.alignment = self.alignment;
        self.lines.push(line);
        self.current_cells = 0;
        self.is_fresh = is_forced;
        self.gap.clear();
    }

    fn finish(mut self) -> Vec<Line<'static>> {
        self.place_word();
        self.end_line(false);
        self.lines
    }
}

enum Which {
    Word,
    Gap,
}

#[cfg(test)]
mod tests {
    use super::*;
    use pretty_assertions::assert_eq;
    use ratatui::style::{Color, Modifier};

    fn texts(lines: &[Line<'_>]) -> Vec<String> {
        lines.iter().map(ToString::to_string).collect()
    }

    fn assert_fits(lines: &[Line<'_>], width: u16) {
        for line in lines {
            assert!(
                line.width() <= usize::from(width),
                "{line:?} is wider than {width}"
            );
        }
    }

    #[test]
    fn width_zero_gives_no_lines() {
        assert!(wrap(&Line::from("hello world"), 0).is_empty());
        assert!(wrap(&Line::from(""), 0).is_empty());
    }

    #[test]
    fn an_empty_line_stays_one_empty_line() {
        assert_eq!(texts(&wrap(&Line::from(""), 10)), vec![""]);
        assert_eq!(texts(&wrap(&Line::default(), 10)), vec![""]);
    }

    #[test]
    fn width_one_puts_one_cell_on_each_line() {
        let lines = wrap(&Line::from("ab cd"), 1);
        assert_eq!(texts(&lines), vec!["a", "b", "c", "d"]);
        assert_fits(&lines, 1);
    }

    #[test]
    fn width_five_breaks_at_spaces() {
        let lines = wrap(&Line::from("one two three four"), 5);
        assert_eq!(texts(&lines), vec!["one", "two", "three", "four"]);
    }

    #[test]
    fn words_fill_a_line_before_breaking() {
        let lines = wrap(&Line::from("a b c d e f g"), 5);
        assert_eq!(texts(&lines), vec!["a b c", "d e f", "g"]);
    }

    #[test]
    fn an_exact_fit_stays_on_one_line() {
        assert_eq!(
            texts(&wrap(&Line::from("hello world"), 11)),
            vec!["hello world"]
        );
        assert_eq!(
            texts(&wrap(&Line::from("hello world"), 10)),
            vec!["hello", "world"]
        );
    }

    #[test]
    fn long_words_are_cut_to_the_width() {
        let lines = wrap(&Line::from("see abcdefghijkl now"), 5);
        assert_eq!(texts(&lines), vec!["see", "abcde", "fghij", "kl", "now"]);
        assert_fits(&lines, 5);
    }

    #[test]
    fn spaces_at_a_break_are_dropped_but_leading_indentation_kept() {
        let lines = wrap(&Line::from("  ab    cd  "), 4);
        assert_eq!(texts(&lines), vec!["  ab", "cd"]);
    }

    #[test]
    fn cjk_counts_two_cells_and_never_splits_a_character() {
        let lines = wrap(&Line::from("日本語のテキスト"), 5);
        assert_eq!(texts(&lines), vec!["日本", "語の", "テキ", "スト"]);
        assert_fits(&lines, 5);
        let lines = wrap(&Line::from("a 日本"), 3);
        assert_eq!(texts(&lines), vec!["a", "日", "本"]);
    }

    #[test]
    fn a_wide_character_with_one_cell_of_room_becomes_an_ellipsis() {
        let lines = wrap(&Line::from("日本"), 1);
        assert_eq!(texts(&lines), vec!["…", "…"]);
        assert_fits(&lines, 1);
    }

    #[test]
    fn combining_marks_take_no_cell_and_stay_with_their_letter() {
        let text = "e\u{301}e\u{301}e\u{301} cafe\u{301}";
        let lines = wrap(&Line::from(text), 4);
        assert_eq!(
            texts(&lines),
            vec!["e\u{301}e\u{301}e\u{301}", "cafe\u{301}"]
        );
        assert_fits(&lines, 4);
    }

    #[test]
    fn styles_are_kept_per_span_across_breaks() {
        let line = Line::from(vec![
            Span::raw("plain "),
            Span::styled("bold words here", Style::new().bold()),
            Span::raw(" end"),
        ]);
        let lines = wrap(&line, 10);
        assert_eq!(texts(&lines), vec!["plain bold", "words here", "end"]);
        assert_eq!(lines[0].spans[0], Span::raw("plain "));
        assert_eq!(lines[0].spans[1], Span::styled("bold", Style::new().bold()));
        assert_eq!(
            lines[1].spans,
            vec![Span::styled("words here", Style::new().bold())]
        );
        assert_eq!(lines[2].spans, vec![Span::raw("end")]);
    }

    #[test]
    fn a_style_change_inside_a_word_does_not_break_it() {
        let line = Line::from(vec![
            Span::raw("xx ab"),
            Span::styled("cd", Style::new().red()),
            Span::raw("ef"),
        ]);
        let lines = wrap(&line, 6);
        assert_eq!(texts(&lines), vec!["xx", "abcdef"]);
        assert_eq!(lines[1].spans.len(), 3);
        assert_eq!(lines[1].spans[1].style.fg, Some(Color::Red));
    }

    #[test]
    fn the_line_style_carries_to_every_wrapped_line() {
        let line = Line::from("aaa bbb").style(Style::new().italic());
        for wrapped in wrap(&line, 3) {
            assert!(wrapped.style.add_modifier.contains(Modifier::ITALIC));
        }
    }

    #[test]
    fn a_hanging_indent_aligns_continuation_lines() {
        let indent = Indent::hanging(Span::styled("• ", Style::new().cyan()));
        let lines = wrap_indented(&Line::from("one two three"), 9, &indent);
        assert_eq!(texts(&lines), vec!["• one two", "  three"]);
        assert_eq!(lines[0].spans[0].style.fg, Some(Color::Cyan));
        assert_fits(&lines, 9);
    }

    #[test]
    fn a_repeated_prefix_starts_every_line() {
        let indent = Indent::repeated(Span::raw("│ "));
        let lines = wrap_indented(&Line::from("aaa bbb ccc"), 5, &indent);
        assert_eq!(texts(&lines), vec!["│ aaa", "│ bbb", "│ ccc"]);
    }

    #[test]
    fn an_indent_wider_than_the_width_is_cut_to_leave_one_cell() {
        let indent = Indent::repeated(Span::raw("│ │ │ "));
        let lines = wrap_indented(&Line::from("ab"), 3, &indent);
        assert_eq!(texts(&lines), vec!["│ a", "│ b"]);
        let lines = wrap_indented(&Line::from("ab"), 1, &indent);
        assert_eq!(texts(&lines), vec!["a", "b"]);
    }

    #[test]
    fn newlines_split_before_wrapping() {
        let lines = wrap_text("first line\n\n  second", Style::new(), 20);
        assert_eq!(texts(&lines), vec!["first line", "", "  second"]);
        let indent = Indent::hanging(Span::raw("- "));
        let lines = wrap_indented(&Line::from(Span::raw("a\nb")), 10, &indent);
        assert_eq!(texts(&lines), vec!["- a", "  b"]);
    }

    #[test]
    fn truncate_cuts_with_an_ellipsis_only_when_needed() {
        let line = Line::from(vec![
            Span::raw("let x"),
            Span::styled(" = 1;", Style::new().red()),
        ]);
        assert_eq!(truncate(&line, 10).to_string(), "let x = 1;");
        assert_eq!(truncate(&line, 7).to_string(), "let x …");
        assert_eq!(truncate(&line, 1).to_string(), "…");
        assert_eq!(truncate(&line, 0).to_string(), "");
        assert_eq!(truncate(&Line::from("日本語"), 4).to_string(), "日…");
        assert!(truncate(&Line::from("日本語"), 4).width() <= 4);
    }

    #[test]
    fn trim_end_drops_trailing_spaces_across_spans() {
        let mut spans = vec![Span::raw("• "), Span::raw("a  "), Span::raw("  ")];
        trim_end(&mut spans);
        assert_eq!(spans, vec![Span::raw("• "), Span::raw("a")]);
        let mut spans = vec![Span::raw("• ")];
        trim_end(&mut spans);
        assert_eq!(spans, vec![Span::raw("•")]);
    }

    #[test]
    fn no_width_panics_or_overflows() {
        let samples = [
            "",
            " ",
            "a",
            "   leading",
            "trailing   ",
            "日本語 mixed ascii e\u{301} 👍🏽 family 👨‍👩‍👧",
            "averyveryverylongwordwithoutanyspaces and more",
        ];
        let indent = Indent::hanging(Span::raw("10. "));
        for sample in samples {
            for width in 0..=30 {
                let lines = wrap_indented(&Line::from(sample), width, &indent);
                assert_eq!(lines.is_empty(), width == 0);
                assert_fits(&lines, width);
            }
        }
    }
}
