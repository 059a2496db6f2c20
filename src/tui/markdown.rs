//! Markdown (an assistant's message, possibly still streaming) to styled lines wrapped to a width,
//! with fenced code highlighted by syntect. Callers cache the result per message and width.

mod clean;
mod highlight;
mod table;
mod theme;

use std::borrow::Cow;

use pulldown_cmark::{CodeBlockKind, Event, Options, Parser, Tag, TagEnd};
use ratatui::style::Style;
use ratatui::text::{Line, Span};

pub use clean::clean;
pub use highlight::preload as preload_highlighting;
pub use theme::MarkdownTheme;

use crate::tui::wrap::{Indent, trim_end, truncate, wrap_indented};
use table::Table;

/// GFM tables, strikethrough and task lists: plain parser flags, no extra code in pulldown-cmark.
const OPTIONS: Options = Options::ENABLE_TABLES
    .union(Options::ENABLE_STRIKETHROUGH)
    .union(Options::ENABLE_TASKLISTS);

const QUOTE_BAR: &str = "│ ";
const CODE_GUTTER: &str = "▎ ";
const BULLETS: [&str; 3] = ["• ", "◦ ", "▪ "];

/// Renders `markdown` as lines no wider than `width` cells (width 0 gives no lines).
///
/// Prose wraps at spaces with hanging indents for list items and a `│ ` bar on quoted lines;
/// code blocks are **not** wrapped: each line is cut at the width with a `…` (the conversation
/// does not scroll sideways) behind a `▎ ` gutter. Fenced code with a known language is
/// highlighted when `theme.is_colored`; syntect loads on the first such block only.
/// Unclosed constructs of a streaming message render as far as they go: an open fence runs to
/// the end, a half-written `**bold` shows as typed until it closes. No span holds a control
/// character.
pub fn render(markdown: &str, width: u16, theme: &MarkdownTheme) -> Vec<Line<'static>> {
    if width == 0 {
        return Vec::new();
    }
    let theme = if theme.is_colored {
        Cow::Borrowed(theme)
    } else {
        Cow::Owned(theme.without_colors())
    };
    let mut renderer = Renderer::new(width, &theme);
    for event in Parser::new_ext(markdown, OPTIONS) {
        renderer.handle(event);
    }
    renderer.finish()
}

/// A block that prefixes the lines inside it.
enum Container {
    Quote,
    /// A list item: `marker` (`• `, `12. `, `☐ `) before its first line, spaces after.
    Item {
        marker: Span<'static>,
        is_marker_shown: bool,
    },
}

struct CodeBlock {
    language: String,
    text: String,
}

struct Link {
    url: String,
    text: String,
}

/// Turns parser events into lines: inline content collects in `inline` until its block ends,
/// then wraps with the prefixes of the enclosing quotes and list items.
struct Renderer<'t> {
    width: u16,
    theme: &'t MarkdownTheme,
    lines: Vec<Line<'static>>,
    containers: Vec<Container>,
    /// One entry per open list: the next item's number, `None` for bullets.
    lists: Vec<Option<u64>>,
    inline: Vec<Span<'static>>,
    /// Composed inline styles: each entry is the one below patched with its tag's style.
    styles: Vec<Style>,
    links: Vec<Link>,
    code: Option<CodeBlock>,
    table: Option<Table>,
    /// A block ended: the next one starts after a blank line.
    needs_blank: bool,
}

impl<'t> Renderer<'t> {
    fn new(width: u16, theme: &'t MarkdownTheme) -> Self {
        Self {
            width,
            theme,
            lines: Vec::new(),
            containers: Vec::new(),
            lists: Vec::new(),
            inline: Vec::new(),
            styles: vec![theme.text],
            links: Vec::new(),
            code: None,
            table: None,
            needs_blank: false,
        }
    }

    fn style(&self) -> Style {
        self.styles.last().copied().unwrap_or(self.theme.text)
    }

    fn push_style(&mut self, patch: Style) {
        self.styles.push(self.style().patch(patch));
    }

    fn pop_style(&mut self) {
        if self.styles.len() > 1 {
            self.styles.pop();
        }
    }

    fn handle(&mut self, event: Event<'_>) {
        match event {
            Event::Start(tag) => self.start(tag),
            Event::End(tag) => self.end(tag),
            Event::Text(text) => match &mut self.code {
                Some(code) => code.text.push_str(&text),
                None => self.push_text(&text, self.style()),
            },
            Event::Code(code) => self.push_text(&code, self.style().patch(self.theme.inline_code)),
            Event::InlineMath(math) | Event::DisplayMath(math) => {
                self.push_text(&math, self.style().patch(self.theme.inline_code));
            }
            Event::Html(html) => self.push_html_lines(&html),
            Event::InlineHtml(html) => self.push_text(&html, self.style()),
            Event::FootnoteReference(label) => self.push_text(&format!("[^{label}]"), self.style()),
            Event::SoftBreak => self.push_text(" ", self.style()),
            Event::HardBreak => {
                let forced = if self.table.is_some() { " " } else { "\n" };
                self.push_raw(forced, self.style());
            }
            Event::Rule => self.rule(),
            Event::TaskListMarker(is_checked) => self.task_marker(is_checked),
        }
    }

    fn start(&mut self, tag: Tag<'_>) {
        match tag {
            Tag::Paragraph
            | Tag::HtmlBlock
            | Tag::FootnoteDefinition(_)
            | Tag::DefinitionList
            | Tag::DefinitionListTitle
            | Tag::DefinitionListDefinition
            | Tag::MetadataBlock(_) => self.start_block(),
            Tag::Heading { level, .. } => {
                self.start_block();
                let index = level as usize - 1;
                let heading = self.theme.headings.get(index).copied().unwrap_or_default();
                self.push_style(heading);
            }
            Tag::BlockQuote(_) => {
                self.start_block();
                self.containers.push(Container::Quote);
                self.push_style(self.theme.quote_text);
            }
            Tag::CodeBlock(kind) => {
                self.start_block();
                let language = match kind {
                    CodeBlockKind::Fenced(info) => fence_language(&info).to_owned(),
                    CodeBlockKind::Indented => String::new(),
                };
                self.code = Some(CodeBlock {
                    language,
                    text: String::new(),
                });
            }
            Tag::List(first) => {
                self.start_block();
                self.lists.push(first);
            }
            Tag::Item => self.start_item(),
            Tag::Table(alignments) => {
                self.start_block();
                self.table = Some(Table::new(alignments));
            }
            Tag::TableHead => {
                self.push_style(self.theme.table_header);
                self.start_row();
            }
            Tag::TableRow => self.start_row(),
            Tag::TableCell => self.inline.clear(),
            Tag::Emphasis => self.push_style(self.theme.emphasis),
            Tag::Strong => self.push_style(self.theme.strong),
            Tag::Strikethrough => self.push_style(self.theme.strikethrough),
            Tag::Superscript | Tag::Subscript => self.push_style(Style::new()),
            Tag::Link { dest_url, .. } | Tag::Image { dest_url, .. } => {
                self.links.push(Link {
                    url: clean(&dest_url).into_owned(),
                    text: String::new(),
                });
                self.push_style(self.theme.link);
            }
        }
    }

    fn end(&mut self, tag: TagEnd) {
        match tag {
            TagEnd::Paragraph
            | TagEnd::HtmlBlock
            | TagEnd::FootnoteDefinition
            | TagEnd::DefinitionList
            | TagEnd::DefinitionListTitle
            | TagEnd::DefinitionListDefinition
            | TagEnd::MetadataBlock(_) => self.end_block(),
            TagEnd::Heading(_) => {
                self.end_block();
                self.pop_style();
            }
            TagEnd::BlockQuote(_) => {
                self.end_block();
                self.containers.pop();
                self.pop_style();
            }
            TagEnd::CodeBlock => {
                if let Some(code) = self.code.take() {
                    self.code_block(&code);
                }
                self.needs_blank = true;
            }
            TagEnd::List(_) => {
                self.flush_inline();
                self.lists.pop();
                let is_in_item = self
                    .containers
                    .iter()
                    .any(|container| matches!(container, Container::Item { .. }));
                self.needs_blank = !is_in_item;
            }
            TagEnd::Item => self.end_item(),
            TagEnd::Table => {
                if let Some(table) = self.table.take() {
                    self.table_block(&table);
                }
                self.needs_blank = true;
            }
            TagEnd::TableHead => self.pop_style(),
            TagEnd::TableRow => {}
            TagEnd::TableCell => {
                let cell = std::mem::take(&mut self.inline);
                if let Some(table) = &mut self.table {
                    table.push_cell(cell);
                }
            }
            TagEnd::Emphasis
            | TagEnd::Strong
            | TagEnd::Strikethrough
            | TagEnd::Superscript
            | TagEnd::Subscript => self.pop_style(),
            TagEnd::Link | TagEnd::Image => {
                self.pop_style();
                if let Some(link) = self.links.pop() {
                    self.end_link(link);
                }
            }
        }
    }

    fn finish(mut self) -> Vec<Line<'static>> {
        if let Some(code) = self.code.take() {
            self.code_block(&code);
        }
        if let Some(table) = self.table.take() {
            self.table_block(&table);
        }
        self.flush_inline();
        self.lines
    }

    fn start_block(&mut self) {
        self.flush_inline();
        if self.needs_blank && !self.lines.is_empty() {
            self.blank_line();
        }
        self.needs_blank = false;
    }

    fn end_block(&mut self) {
        self.flush_inline();
        self.needs_blank = true;
    }

    fn start_item(&mut self) {
        self.start_block();
        let marker = match self.lists.last_mut() {
            Some(Some(number)) => {
                let marker = format!("{number}. ");
                *number = number.saturating_add(1);
                marker
            }
            Some(None) | None => {
                let depth = self.lists.len().saturating_sub(1);
                BULLETS[depth.min(BULLETS.len() - 1)].to_owned()
            }
        };
        self.containers.push(Container::Item {
            marker: Span::styled(marker, self.theme.list_marker),
            is_marker_shown: false,
        });
    }

    fn end_item(&mut self) {
        self.flush_inline();
        let is_marker_pending = matches!(
            self.containers.last(),
            Some(Container::Item {
                is_marker_shown: false,
                ..
            })
        );
        if is_marker_pending {
            // An item with nothing in it yet (a list still streaming) still shows its marker.
            let indent = self.prefix();
            self.push_block_lines(&indent, vec![Line::default()]);
        }
        self.containers.pop();
    }

    fn task_marker(&mut self, is_checked: bool) {
        if let Some(Container::Item {
            marker,
            is_marker_shown: false,
        }) = self.containers.last_mut()
        {
            let symbol = if is_checked { "☑ " } else { "☐ " };
            *marker = Span::styled(symbol, self.theme.list_marker);
        }
    }

    fn start_row(&mut self) {
        if let Some(table) = &mut self.table {
            table.start_row();
        }
    }

    fn end_link(&mut self, link: Link) {
        let is_url_shown = !link.url.is_empty()
            && link.text != link.url
            && link.url.strip_prefix("mailto:") != Some(link.text.as_str());
        if !is_url_shown {
            return;
        }
        let url_style = self.style().patch(self.theme.link_url);
        if link.text.is_empty() {
            self.push_raw(&link.url, url_style);
        } else {
            self.push_raw(&format!(" ({})", link.url), url_style);
        }
    }

    /// Adds inline text as drawn: cleaned of control characters.
    fn push_text(&mut self, text: &str, style: Style) {
        let text = clean(text);
        if let Some(link) = self.links.last_mut() {
            link.text.push_str(&text);
        }
        self.push_raw(&text, style);
    }

    /// Adds already clean text (or the `\n` of a hard break), merging with a same-styled span.
    fn push_raw(&mut self, text: &str, style: Style) {
        if text.is_empty() {
            return;
        }
        match self.inline.last_mut() {
            Some(last) if last.style == style => last.content.to_mut().push_str(text),
            _ => self.inline.push(Span::styled(text.to_owned(), style)),
        }
    }

    /// A raw HTML block is shown as text, line by line (each event holds whole lines).
    fn push_html_lines(&mut self, html: &str) {
        for line in html.lines() {
            if !self.inline.is_empty() {
                self.push_raw("\n", self.style());
            }
            self.push_text(line, self.style());
        }
    }

    /// The prefixes of the enclosing containers: `first` shows each pending list marker (and
    /// marks it shown), `rest` has spaces in their place.
    fn prefix(&mut self) -> Indent {
        let mut indent = Indent::none();
        for container in &mut self.containers {
            match container {
                Container::Quote => {
                    let bar = Span::styled(QUOTE_BAR, self.theme.quote_bar);
                    indent.first.push(bar.clone());
                    indent.rest.push(bar);
                }
                Container::Item {
                    marker,
                    is_marker_shown,
                } => {
                    let blank = Span::raw(" ".repeat(marker.width()));
                    if *is_marker_shown {
                        indent.first.push(blank.clone());
                    } else {
                        indent.first.push(marker.clone());
                        *is_marker_shown = true;
                    }
                    indent.rest.push(blank);
                }
            }
        }
        indent
    }

    /// Cells left for content inside the current containers (at least one).
    fn room(indent: &Indent, width: u16) -> u16 {
        let used: usize = indent.rest.iter().map(Span::width).sum();
        let used = u16::try_from(used).unwrap_or(u16::MAX);
        width.saturating_sub(used).max(1)
    }

    fn flush_inline(&mut self) {
        if self.inline.is_empty() {
            return;
        }
        let line = Line::from(std::mem::take(&mut self.inline));
        let indent = self.prefix();
        self.lines.extend(wrap_indented(&line, self.width, &indent));
    }

    /// An empty line between blocks: only the quote bars of the enclosing quotes.
    fn blank_line(&mut self) {
        let mut spans: Vec<Span<'static>> = Vec::new();
        let mut kept = 0;
        for container in &self.containers {
            match container {
                Container::Quote => {
                    spans.push(Span::styled(QUOTE_BAR, self.theme.quote_bar));
                    kept = spans.len();
                }
                Container::Item { marker, .. } => {
                    spans.push(Span::raw(" ".repeat(marker.width())));
                }
            }
        }
        spans.truncate(kept);
        if let Some(last) = spans.last_mut() {
            last.content = Cow::Borrowed(QUOTE_BAR.trim_end());
        }
        self.lines.push(truncate(&Line::from(spans), self.width));
    }

    /// Lines already fitted to the room inside the containers, prefixed and cut as a last guard.
    fn push_block_lines(&mut self, indent: &Indent, rows: Vec<Line<'static>>) {
        for (index, row) in rows.into_iter().enumerate() {
            let prefix = if index == 0 {
                &indent.first
            } else {
                &indent.rest
            };
            let mut spans = prefix.clone();
            spans.extend(row.spans);
            trim_end(&mut spans);
            let line = Line::from(spans).style(row.style);
            self.lines.push(truncate(&line, self.width));
        }
    }

    fn rule(&mut self) {
        self.start_block();
        let indent = self.prefix();
        let room = Self::room(&indent, self.width);
        let rule = Line::from(Span::styled("─".repeat(usize::from(room)), self.theme.rule));
        self.push_block_lines(&indent, vec![rule]);
        self.needs_blank = true;
    }

    fn code_block(&mut self, code: &CodeBlock) {
        let highlighted = if self.theme.is_colored && !code.language.is_empty() {
            highlight::highlight(&code.text, &code.language, &self.theme.syntax_theme)
        } else {
            None
        };
        let rows = highlighted.unwrap_or_else(|| {
            code.text
                .lines()
                .map(|line| vec![Span::styled(clean(line).into_owned(), self.theme.code)])
                .collect()
        });
        let gutter = Span::styled(CODE_GUTTER, self.theme.code_gutter);
        let mut lines: Vec<Line<'static>> = rows
            .into_iter()
            .map(|mut row| {
                row.insert(0, gutter.clone());
                Line::from(row)
            })
            .collect();
        if lines.is_empty() {
            lines.push(Line::from(gutter));
        }
        let indent = self.prefix();
        self.push_block_lines(&indent, lines);
    }

    fn table_block(&mut self, table: &Table) {
        let indent = self.prefix();
        let room = Self::room(&indent, self.width);
        let rows = table.lines(room, self.theme);
        self.push_block_lines(&indent, rows);
    }
}

/// The language of a fence's info string: its first word (`rust` in "rust,no_run").
fn fence_language(info: &str) -> &str {
    info.split(|c: char| c.is_whitespace() || c == ',' || c == '{' || c == '}')
        .find(|word| !word.is_empty())
        .map(|word| word.trim_start_matches('.'))
        .unwrap_or_default()
}

#[cfg(test)]
mod tests;
