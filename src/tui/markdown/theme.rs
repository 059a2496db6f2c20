//! The styles markdown is drawn with: a dark-terminal default and a plain one without colours.

use ratatui::style::{Color, Modifier, Style};

/// Every style [`render`](super::render) uses. `Default` is [`MarkdownTheme::dark`].
#[derive(Clone, Debug, PartialEq)]
pub struct MarkdownTheme {
    /// Draw colours. When false, every style below keeps only its modifiers (bold, italic, …)
    /// and code blocks are not highlighted, so the syntax set is never loaded.
    pub is_colored: bool,
    /// Body text.
    pub text: Style,
    /// Headings `#` to `######`, patched over the text style.
    pub headings: [Style; 6],
    pub emphasis: Style,
    pub strong: Style,
    pub strikethrough: Style,
    pub inline_code: Style,
    /// A link's text.
    pub link: Style,
    /// The ` (url)` drawn after a link's text.
    pub link_url: Style,
    /// The `│ ` bar before quoted lines.
    pub quote_bar: Style,
    /// Quoted text, patched over the text style.
    pub quote_text: Style,
    /// Bullets, numbers and task boxes.
    pub list_marker: Style,
    pub rule: Style,
    /// Code-block text when it is not highlighted (no language, unknown language, no colours).
    pub code: Style,
    /// The `▎ ` gutter before each code-block line.
    pub code_gutter: Style,
    pub table_border: Style,
    /// Header cells, patched over the text style.
    pub table_header: Style,
    /// The syntect theme for highlighting, one of syntect's defaults (`base16-ocean.dark`,
    /// `base16-eighties.dark`, `base16-mocha.dark`, `base16-ocean.light`, `InspiredGitHub`,
    /// `Solarized (dark)`, `Solarized (light)`); an unknown name draws code unhighlighted.
    pub syntax_theme: String,
}

impl Default for MarkdownTheme {
    fn default() -> Self {
        Self::dark()
    }
}

impl MarkdownTheme {
    /// Named ANSI colours (they follow the terminal's palette) and syntect's `base16-ocean.dark`.
    pub fn dark() -> Self {
        let bold = Style::new().add_modifier(Modifier::BOLD);
        Self {
            is_colored: true,
            text: Style::new(),
            headings: [
                bold.fg(Color::LightMagenta)
                    .add_modifier(Modifier::UNDERLINED),
                bold.fg(Color::LightMagenta),
                bold.fg(Color::LightBlue),
                bold.fg(Color::LightCyan),
                bold.fg(Color::LightGreen),
                bold.fg(Color::Gray),
            ],
            emphasis: Style::new().add_modifier(Modifier::ITALIC),
            strong: bold,
            strikethrough: Style::new().add_modifier(Modifier::CROSSED_OUT),
            inline_code: Style::new().fg(Color::Yellow),
            link: Style::new()
                .fg(Color::LightBlue)
                .add_modifier(Modifier::UNDERLINED),
            link_url: Style::new().add_modifier(Modifier::DIM),
            quote_bar: Style::new().fg(Color::DarkGray),
            quote_text: Style::new().fg(Color::Gray),
            list_marker: Style::new().fg(Color::LightCyan),
            rule: Style::new().fg(Color::DarkGray),
            code: Style::new().fg(Color::Yellow),
            code_gutter: Style::new().fg(Color::DarkGray),
            table_border: Style::new().fg(Color::DarkGray),
            table_header: bold,
            syntax_theme: "base16-ocean.dark".to_owned(),
        }
    }

    /// No colours at all, only modifiers: for monochrome terminals, `NO_COLOR` and tests.
    /// Inline code is reversed, link URLs and gutters dim.
    pub fn plain() -> Self {
        let dim = Style::new().add_modifier(Modifier::DIM);
        Self {
            is_colored: false,
            inline_code: Style::new().add_modifier(Modifier::REVERSED),
            quote_bar: dim,
            quote_text: Style::new(),
            list_marker: Style::new(),
            rule: dim,
            code: Style::new(),
            code_gutter: dim,
            table_border: dim,
            ..Self::dark()
        }
        .without_colors()
    }

    /// This theme with every colour removed and highlighting off, modifiers kept.
    pub fn without_colors(&self) -> Self {
        Self {
            is_colored: false,
            text: modifiers_only(self.text),
            headings: self.headings.map(modifiers_only),
            emphasis: modifiers_only(self.emphasis),
            strong: modifiers_only(self.strong),
            strikethrough: modifiers_only(self.strikethrough),
            inline_code: modifiers_only(self.inline_code),
            link: modifiers_only(self.link),
            link_url: modifiers_only(self.link_url),
            quote_bar: modifiers_only(self.quote_bar),
            quote_text: modifiers_only(self.quote_text),
            list_marker: modifiers_only(self.list_marker),
            rule: modifiers_only(self.rule),
            code: modifiers_only(self.code),
            code_gutter: modifiers_only(self.code_gutter),
            table_border: modifiers_only(self.table_border),
            table_header: modifiers_only(self.table_header),
            syntax_theme: self.syntax_theme.clone(),
        }
    }
}

fn modifiers_only(style: Style) -> Style {
    Style::new()
        .add_modifier(style.add_modifier)
        .remove_modifier(style.sub_modifier)
}
