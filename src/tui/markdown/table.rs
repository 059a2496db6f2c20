//! GFM tables: columns aligned when they fit, otherwise one wrapped `cell │ cell` line per row.

use pulldown_cmark::Alignment;
use ratatui::text::{Line, Span};

use super::MarkdownTheme;
use crate::tui::wrap::{Indent, trim_end, wrap_indented};

const COLUMN_GAP: &str = " │ ";
const COLUMN_GAP_CELLS: usize = 3;

/// A table being collected from the parser's events: cells are already styled spans.
#[derive(Debug, Default)]
pub struct Table {
    alignments: Vec<Alignment>,
    rows: Vec<Vec<Vec<Span<'static>>>>,
}

impl Table {
    pub fn new(alignments: Vec<Alignment>) -> Self {
        Self {
            alignments,
            rows: Vec::new(),
        }
    }

    pub fn start_row(&mut self) {
        self.rows.push(Vec::new());
    }

    pub fn push_cell(&mut self, spans: Vec<Span<'static>>) {
        match self.rows.last_mut() {
            Some(row) => row.push(spans),
            None => self.rows.push(vec![spans]),
        }
    }

    /// The table as lines at most `room` cells wide; the first row is the header.
    pub fn lines(&self, room: u16, theme: &MarkdownTheme) -> Vec<Line<'static>> {
        let columns = self
            .rows
            .iter()
            .map(Vec::len)
            .max()
            .unwrap_or(0)
            .max(self.alignments.len());
        let mut widths = vec![0; columns];
        for row in &self.rows {
            for (width, cell) in widths.iter_mut().zip(row) {
                *width = (*width).max(cell_width(cell));
            }
        }
        let total = widths.iter().sum::<usize>() + COLUMN_GAP_CELLS * columns.saturating_sub(1);
        if columns > 0 && total <= usize::from(room) {
            self.aligned(&widths, theme)
        } else {
            self.stacked(room, theme)
        }
    }

    fn aligned(&self, widths: &[usize], theme: &MarkdownTheme) -> Vec<Line<'static>> {
        let mut lines = Vec::with_capacity(self.rows.len() + 1);
        for (index, row) in self.rows.iter().enumerate() {
            let mut spans = Vec::new();
            for (column, &width) in widths.iter().enumerate() {
                if column > 0 {
                    spans.push(Span::styled(COLUMN_GAP, theme.table_border));
                }
                let cell = row.get(column).map(Vec::as_slice).unwrap_or_default();
                let pad = width - cell_width(cell);
                let (before, after) = match self.alignments.get(column) {
                    Some(Alignment::Right) => (pad, 0),
                    Some(Alignment::Center) => (pad / 2, pad - pad / 2),
                    Some(Alignment::Left | Alignment::None) | None => (0, pad),
                };
                let is_last = column + 1 == widths.len();
                push_spaces(&mut spans, before);
                spans.extend(cell.iter().cloned());
                if !is_last {
                    push_spaces(&mut spans, after);
                }
            }
            trim_end(&mut spans);
            lines.push(Line::from(spans).style(theme.text));
            if index == 0 {
                let rule: Vec<String> = widths.iter().map(|&w| "─".repeat(w)).collect();
                lines.push(Line::from(Span::styled(
                    rule.join("─┼─"),
                    theme.table_border,
                )));
            }
        }
        lines
    }

    /// Rows too wide to align: each row's cells joined by ` │ `, wrapped with a hanging indent.
    fn stacked(&self, room: u16, theme: &MarkdownTheme) -> Vec<Line<'static>> {
        let indent = Indent {
            first: Vec::new(),
            rest: vec![Span::raw("  ")],
        };
        let mut lines = Vec::new();
        for row in &self.rows {
            let mut spans = Vec::new();
            for (column, cell) in row.iter().enumerate() {
                if column > 0 {
                    spans.push(Span::styled(COLUMN_GAP, theme.table_border));
                }
                spans.extend(cell.iter().cloned());
            }
            lines.extend(wrap_indented(&Line::from(spans), room, &indent));
        }
        lines
    }
}

fn cell_width(cell: &[Span<'_>]) -> usize {
    cell.iter().map(Span::width).sum()
}

fn push_spaces(spans: &mut Vec<Span<'static>>, count: usize) {
    if count > 0 {
        spans.push(Span::raw(" ".repeat(count)));
    }
}
