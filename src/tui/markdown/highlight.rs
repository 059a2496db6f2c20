//! Syntax highlighting of fenced code with syntect. The syntax and theme sets load once, on the
//! first block that needs them (or [`preload`]); highlighted lines are kept so that a re-render
//! (a resize) or a block growing while it streams only highlights lines it has not seen.

use std::sync::{LazyLock, Mutex, PoisonError};

use ratatui::style::{Color, Modifier, Style};
use ratatui::text::Span;
use syntect::easy::HighlightLines;
use syntect::highlighting::{FontStyle, HighlightState, Highlighter, Theme, ThemeSet};
use syntect::parsing::{ParseState, ScopeStack, SyntaxReference, SyntaxSet};
use syntect::util::LinesWithEndings;

use super::clean::clean;

static SYNTAXES: LazyLock<SyntaxSet> = LazyLock::new(SyntaxSet::load_defaults_newlines);
static THEMES: LazyLock<ThemeSet> = LazyLock::new(ThemeSet::load_defaults);
static CACHE: Mutex<Vec<Highlighted>> = Mutex::new(Vec::new());

/// Blocks kept, most recently used last: enough for the code on a screen or two.
const CACHE_BLOCKS: usize = 32;
/// Larger blocks are highlighted every time rather than held in memory.
const CACHE_BLOCK_BYTES: usize = 1 << 20;

/// Loads syntect's syntaxes and themes now instead of on the first highlighted block: call it on
/// a background thread at start-up so the first code block does not stall a frame.
pub fn preload() {
    LazyLock::force(&SYNTAXES);
    LazyLock::force(&THEMES);
}

#[cfg(test)]
thread_local! {
    /// How often this thread asked for highlighting: proves plain messages never load syntect.
    pub static REQUESTS: std::cell::Cell<usize> = const { std::cell::Cell::new(0) };
}

type StyledLines = Vec<Vec<Span<'static>>>;

/// A block's complete lines (each ending in `\n`), highlighted, with syntect's state after them.
struct Highlighted {
    syntax: String,
    theme: String,
    text: String,
    lines: StyledLines,
    parse: ParseState,
    highlight: HighlightState,
}

/// `code`'s lines as styled spans (no line endings, cleaned), or `None` when `language` or
/// `theme` is unknown, the language is plain text, or syntect fails on the code.
pub fn highlight(code: &str, language: &str, theme: &str) -> Option<StyledLines> {
    #[cfg(test)]
    REQUESTS.with(|count| count.set(count.get() + 1));
    let syntax = SYNTAXES
        .find_syntax_by_token(&token_for(language))
        .filter(|syntax| syntax.name != "Plain Text")?;
    let theme_name = theme;
    let theme = THEMES.themes.get(theme_name)?;
    let complete = code.rfind('\n').map_or(0, |newline| newline + 1);
    let (complete, tail) = code.split_at(complete);

    let start = resume(&syntax.name, theme_name, complete);
    let done = start.as_ref().map_or(0, |seen| seen.text.len());
    let (mut lines, parse, highlight) = match start {
        Some(seen) => (seen.lines, seen.parse, seen.highlight),
        None => fresh(syntax, theme),
    };
    let mut highlighter = HighlightLines::from_state(theme, highlight, parse);
    highlight_lines(&mut highlighter, &complete[done..], &mut lines)?;
    if !tail.is_empty() || done < complete.len() {
        let (highlight, parse) = highlighter.state();
        if !tail.is_empty() {
            let mut for_tail = HighlightLines::from_state(theme, highlight.clone(), parse.clone());
            let mut tail_lines = Vec::with_capacity(1);
            highlight_lines(&mut for_tail, tail, &mut tail_lines)?;
            if done < complete.len() {
                remember(&syntax.name, theme_name, complete, &lines, parse, highlight);
            }
            lines.append(&mut tail_lines);
        } else {
            remember(&syntax.name, theme_name, complete, &lines, parse, highlight);
        }
    }
    Some(lines)
}

fn fresh(syntax: &SyntaxReference, theme: &Theme) -> (StyledLines, ParseState, HighlightState) {
    let highlight = HighlightState::new(&Highlighter::new(theme), ScopeStack::new());
    (Vec::new(), ParseState::new(syntax), highlight)
}

fn highlight_lines(
    highlighter: &mut HighlightLines<'_>,
    text: &str,
    lines: &mut StyledLines,
) -> Option<()> {
    for line in LinesWithEndings::from(text) {
        let pieces = highlighter.highlight_line(line, &SYNTAXES).ok()?;
        let mut spans: Vec<Span<'static>> = Vec::with_capacity(pieces.len());
        for (style, text) in pieces {
            let text = clean(text);
            let style = to_ratatui(style);
            match spans.last_mut() {
                Some(last) if last.style == style => last.content.to_mut().push_str(&text),
                _ if text.is_empty() => {}
                _ => spans.push(Span::styled(text.into_owned(), style)),
            }
        }
        lines.push(spans);
    }
    Some(())
}

/// A copy of the longest kept block that `complete` starts with.
fn resume(syntax: &str, theme: &str, complete: &str) -> Option<Highlighted> {
    let mut cache = CACHE.lock().unwrap_or_else(PoisonError::into_inner);
    let index = cache
        .iter()
        .enumerate()
        .filter(|(_, seen)| {
            seen.syntax == syntax && seen.theme == theme && complete.starts_with(&seen.text)
        })
        .max_by_key(|(_, seen)| seen.text.len())
        .map(|(index, _)| index)?;
    let seen = cache.remove(index);
    let copy = Highlighted {
        syntax: seen.syntax.clone(),
        theme: seen.theme.clone(),
        text: seen.text.clone(),
        lines: seen.lines.clone(),
        parse: seen.parse.clone(),
        highlight: seen.highlight.clone(),
    };
    cache.push(seen);
    Some(copy)
}

/// Keeps a block, replacing the shorter version of it a stream left behind.
fn remember(
    syntax: &str,
    theme: &str,
    complete: &str,
    lines: &StyledLines,
    parse: ParseState,
    highlight: HighlightState,
) {
    if complete.len() > CACHE_BLOCK_BYTES {
        return;
    }
    let mut cache = CACHE.lock().unwrap_or_else(PoisonError::into_inner);
    cache.retain(|seen| {
        !(seen.syntax == syntax && seen.theme == theme && complete.starts_with(&seen.text))
    });
    if cache.len() >= CACHE_BLOCKS {
        cache.remove(0);
    }
    cache.push(Highlighted {
        syntax: syntax.to_owned(),
        theme: theme.to_owned(),
        text: complete.to_owned(),
        lines: lines.clone(),
        parse,
        highlight,
    });
}

/// The fence's language as syntect knows it: lower case, with the common names syntect's
/// default set lacks mapped to the nearest syntax it has.
fn token_for(language: &str) -> String {
    let language = language.to_ascii_lowercase();
    let alias = match language.as_str() {
        "shell" | "sh" | "zsh" | "console" | "shell-session" => "bash",
        "ts" | "typescript" | "tsx" | "jsx" | "javascript" | "node" => "js",
        "golang" => "go",
        "jsonc" | "json5" => "json",
        "py3" | "python3" => "py",
        "c++" => "cpp",
        "patch" => "diff",
        _ => return language,
    };
    alias.to_owned()
}

fn to_ratatui(style: syntect::highlighting::Style) -> Style {
    let color = style.foreground;
    let mut out = Style::new().fg(Color::Rgb(color.r, color.g, color.b));
    if style.font_style.contains(FontStyle::BOLD) {
        out = out.add_modifier(Modifier::BOLD);
    }
    if style.font_style.contains(FontStyle::ITALIC) {
        out = out.add_modifier(Modifier::ITALIC);
    }
    if style.font_style.contains(FontStyle::UNDERLINE) {
        out = out.add_modifier(Modifier::UNDERLINED);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashSet;

    const RUST: &str = "fn main() {\n    let x: u32 = 42; // answer\n    println!(\"{x}\");\n}\n";

    #[test]
    fn rust_gets_several_colours_one_line_per_source_line() {
        let lines = highlight(RUST, "rust", "base16-ocean.dark");
        let lines = lines.unwrap_or_default();
        assert_eq!(lines.len(), 4);
        let colours: HashSet<_> = lines.iter().flatten().filter_map(|s| s.style.fg).collect();
        assert!(colours.len() > 1, "{colours:?}");
        let text: String = lines[1].iter().map(|s| s.content.as_ref()).collect();
        assert_eq!(text, "    let x: u32 = 42; // answer");
    }

    #[test]
    fn unknown_languages_and_themes_and_plain_text_give_none() {
        assert!(highlight(RUST, "no-such-language", "base16-ocean.dark").is_none());
        assert!(highlight(RUST, "rust", "no-such-theme").is_none());
        assert!(highlight(RUST, "txt", "base16-ocean.dark").is_none());
    }

    #[test]
    fn a_growing_block_highlights_like_the_whole_block() {
        let whole = highlight(RUST, "rust", "base16-ocean.dark");
        for end in (0..=RUST.len()).filter(|&end| RUST.is_char_boundary(end)) {
            let part = highlight(&RUST[..end], "rust", "base16-ocean.dark");
            let part = part.unwrap_or_default();
            let whole = whole.as_deref().unwrap_or_default();
            let complete_lines = RUST[..end].matches('\n').count();
            assert_eq!(
                part[..complete_lines],
                whole[..complete_lines],
                "prefix of {end}"
            );
        }
        assert_eq!(highlight(RUST, "rust", "base16-ocean.dark"), whole);
    }

    #[test]
    fn aliases_reach_a_syntax() {
        for language in ["sh", "Python", "ts", "json", "yaml", "diff"] {
            assert!(
                highlight("x = 1\n", language, "base16-ocean.dark").is_some(),
                "{language}"
            );
        }
    }
}
