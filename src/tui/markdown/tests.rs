use std::collections::HashSet;

use pretty_assertions::assert_eq;
use ratatui::style::{Color, Modifier, Style};
use ratatui::text::{Line, Span};

use super::highlight::REQUESTS;
use super::*;

fn plain(markdown: &str, width: u16) -> Vec<String> {
    texts(&render(markdown, width, &MarkdownTheme::plain()))
}

fn texts(lines: &[Line<'_>]) -> Vec<String> {
    lines.iter().map(ToString::to_string).collect()
}

/// The first span whose text is exactly `text`.
fn span<'a>(lines: &'a [Line<'static>], text: &str) -> &'a Span<'static> {
    lines
        .iter()
        .flat_map(|line| &line.spans)
        .find(|span| span.content == text)
        .unwrap_or_else(|| panic!("no span {text:?} in {lines:#?}"))
}

fn has(style: Style, modifier: Modifier) -> bool {
    style.add_modifier.contains(modifier)
}

fn assert_drawable(lines: &[Line<'_>], width: u16, context: &str) {
    for line in lines {
        assert!(
            line.width() <= usize::from(width),
            "{context}: {line:?} is wider than {width}"
        );
        for span in &line.spans {
            assert!(
                !span.content.chars().any(char::is_control),
                "{context}: control character in {span:?}"
            );
        }
    }
}

const CHAT_ANSWER: &str = r#"# Fixing the borrow error

The compiler complains because `items` is **borrowed mutably** while you still hold a
reference from `first()`. You have *three* options:

1. Clone the value first: `let first = items[0].clone();`
2. Limit the borrow's scope with a block.
3. Use indices instead of references:
   - read `items[i]`
   - then push

> Note: the [NLL docs](https://doc.rust-lang.org/nomicon/lifetimes.html) explain why.

```rust
fn main() {
    let mut items = vec![1, 2, 3];
    let first = items[0];
    items.push(first); // fine: `first` is a copy
}
```

| option | cost | safe |
|:-------|-----:|:----:|
| clone  | O(n) | yes  |
| scope  | 0    | yes  |

- [x] compiles
- [ ] has tests

---
That's all~~, folks~~."#;

#[test]
fn width_zero_renders_nothing() {
    assert!(render("# title\n\ntext", 0, &MarkdownTheme::plain()).is_empty());
    assert!(render("", 80, &MarkdownTheme::plain()).is_empty());
}

#[test]
fn headings_are_bold_and_coloured_by_level() {
    let lines = render("# One\n## Two\n### Three", 40, &MarkdownTheme::dark());
    assert_eq!(texts(&lines), vec!["One", "", "Two", "", "Three"]);
    let one = span(&lines, "One").style;
    let three = span(&lines, "Three").style;
    assert!(has(one, Modifier::BOLD) && has(three, Modifier::BOLD));
    assert!(one.fg.is_some() && three.fg.is_some());
    assert_ne!(one.fg, three.fg);
}

#[test]
fn paragraphs_are_separated_by_a_blank_line_and_wrap() {
    let lines = plain("first paragraph here\n\nsecond one", 10);
    assert_eq!(lines, vec!["first", "paragraph", "here", "", "second one"]);
}

#[test]
fn soft_breaks_are_spaces_and_hard_breaks_new_lines() {
    assert_eq!(plain("one\ntwo", 40), vec!["one two"]);
    assert_eq!(
        plain("one  \ntwo\\\nthree", 40),
        vec!["one", "two", "three"]
    );
}

#[test]
fn emphasis_strong_and_strikethrough_are_styled() {
    let lines = render(
        "*it* **bold** ~~gone~~ ***both***",
        40,
        &MarkdownTheme::plain(),
    );
    assert_eq!(texts(&lines), vec!["it bold gone both"]);
    assert!(has(span(&lines, "it").style, Modifier::ITALIC));
    assert!(has(span(&lines, "bold").style, Modifier::BOLD));
    assert!(has(span(&lines, "gone").style, Modifier::CROSSED_OUT));
    let both = span(&lines, "both").style;
    assert!(has(both, Modifier::BOLD) && has(both, Modifier::ITALIC));
}

#[test]
fn inline_code_has_its_own_style() {
    let theme = MarkdownTheme::dark();
    let lines = render("call `run()` now", 40, &theme);
    assert_eq!(texts(&lines), vec!["call run() now"]);
    assert_eq!(span(&lines, "run()").style, theme.inline_code);
    assert_ne!(span(&lines, "call ").style, theme.inline_code);
}

#[test]
fn links_show_their_url_dimmed_unless_the_text_is_the_url() {
    let theme = MarkdownTheme::dark();
    let lines = render(
        "see [the docs](https://x.io/d) or <https://y.io>",
        80,
        &theme,
    );
    assert_eq!(
        texts(&lines),
        vec!["see the docs (https://x.io/d) or https://y.io"]
    );
    assert_eq!(span(&lines, "the docs").style, theme.link);
    assert!(has(span(&lines, " (https://x.io/d)").style, Modifier::DIM));
    assert_eq!(span(&lines, "https://y.io").style, theme.link);
    assert_eq!(plain("mail <me@x.io>", 40), vec!["mail me@x.io"]);
}

#[test]
fn quotes_put_a_bar_on_every_wrapped_line() {
    let lines = plain("> quoted words that wrap\n>\n> > nested", 12);
    assert_eq!(
        lines,
        vec!["│ quoted", "│ words that", "│ wrap", "│", "│ │ nested"]
    );
}

#[test]
fn unordered_lists_use_bullets_by_depth_with_a_hanging_indent() {
    let lines = plain("- one two three\n- four\n  - five\n    - six", 11);
    assert_eq!(
        lines,
        vec!["• one two", "  three", "• four", "  ◦ five", "    ▪ six"]
    );
}

#[test]
fn ordered_lists_keep_their_numbers_and_start() {
    let lines = plain("3. three\n4. four is long\n\nafter", 12);
    assert_eq!(
        lines,
        vec!["3. three", "4. four is", "   long", "", "after"]
    );
    let lines = plain("9. a\n10. b", 20);
    assert_eq!(lines, vec!["9. a", "10. b"]);
}

#[test]
fn loose_lists_keep_blank_lines_between_items() {
    assert_eq!(plain("- a\n\n- b", 20), vec!["• a", "", "• b"]);
}

#[test]
fn list_items_can_hold_quotes_and_code() {
    let lines = plain("- item\n\n  > quoted\n\n  ```\n  code\n  ```", 30);
    assert_eq!(lines, vec!["• item", "", "  │ quoted", "", "  ▎ code"]);
}

#[test]
fn task_items_show_boxes_instead_of_bullets() {
    assert_eq!(
        plain("- [x] done\n- [ ] todo", 20),
        vec!["☑ done", "☐ todo"]
    );
}

#[test]
fn empty_items_still_show_their_marker() {
    assert_eq!(plain("- a\n-", 20), vec!["• a", "•"]);
}

#[test]
fn rules_span_the_width() {
    let lines = plain("above\n\n---\n\nbelow", 8);
    assert_eq!(lines, vec!["above", "", "────────", "", "below"]);
}

#[test]
fn code_blocks_are_cut_not_wrapped_behind_a_gutter() {
    let markdown = "```\nshort\nthis line is far too long\n\tindented\n```";
    let lines = plain(markdown, 12);
    assert_eq!(lines, vec!["▎ short", "▎ this line…", "▎     inden…"]);
}

#[test]
fn indented_code_blocks_render_like_fenced_ones() {
    assert_eq!(
        plain("text\n\n    let x = 1;", 30),
        vec!["text", "", "▎ let x = 1;"]
    );
}

#[test]
fn rust_code_is_highlighted_in_several_colours() {
    let lines = render(
        "```rust\nfn main() {\n    let x = \"s\"; // c\n}\n```",
        60,
        &MarkdownTheme::dark(),
    );
    assert_eq!(
        texts(&lines),
        vec!["▎ fn main() {", "▎     let x = \"s\"; // c", "▎ }"]
    );
    let colours: HashSet<Color> = lines
        .iter()
        .flat_map(|line| &line.spans[1..])
        .filter_map(|span| span.style.fg)
        .collect();
    assert!(colours.len() > 1, "{colours:?}");
    assert!(
        colours
            .iter()
            .all(|colour| matches!(colour, Color::Rgb(..)))
    );
}

#[test]
fn the_plain_theme_draws_no_colour_at_all() {
    let lines = render(CHAT_ANSWER, 60, &MarkdownTheme::plain());
    for span in lines.iter().flat_map(|line| &line.spans) {
        assert_eq!((span.style.fg, span.style.bg), (None, None), "{span:?}");
    }
    let custom = MarkdownTheme {
        is_colored: false,
        ..MarkdownTheme::dark()
    };
    for span in render(CHAT_ANSWER, 60, &custom)
        .iter()
        .flat_map(|line| &line.spans)
    {
        assert_eq!((span.style.fg, span.style.bg), (None, None), "{span:?}");
    }
}

#[test]
fn unknown_languages_draw_in_the_plain_code_style() {
    let theme = MarkdownTheme::dark();
    let lines = render("```klingon\nqapla' batlh\n```", 40, &theme);
    assert_eq!(texts(&lines), vec!["▎ qapla' batlh"]);
    assert_eq!(span(&lines, "qapla' batlh").style, theme.code);
    assert_eq!(span(&lines, "▎ ").style, theme.code_gutter);
}

#[test]
fn messages_without_a_fenced_language_never_ask_for_syntect() {
    REQUESTS.with(|count| count.set(0));
    let dark = MarkdownTheme::dark();
    render(
        "# Title\n\ntext `code` and\n\n    indented code\n\n```\nno language\n```",
        80,
        &dark,
    );
    render("```rust\nfn f() {}\n```", 80, &MarkdownTheme::plain());
    assert_eq!(REQUESTS.with(std::cell::Cell::get), 0);
    render("```rust\nfn f() {}\n```", 80, &dark);
    assert_eq!(REQUESTS.with(std::cell::Cell::get), 1);
}

#[test]
fn fence_languages_are_the_first_word_of_the_info_string() {
    assert_eq!(fence_language("rust,no_run"), "rust");
    assert_eq!(fence_language("  python title=x.py"), "python");
    assert_eq!(fence_language("{.rust}"), "rust");
    assert_eq!(fence_language(""), "");
}

#[test]
fn tables_align_their_columns() {
    let lines = plain("| a | bb |\n|:--|---:|\n| ccc | d |\n| e |", 30);
    assert_eq!(lines, vec!["a   │ bb", "────┼───", "ccc │  d", "e   │"]);
    let lines = render("| h |\n|---|\n| x |", 30, &MarkdownTheme::plain());
    assert!(has(span(&lines, "h").style, Modifier::BOLD));
}

#[test]
fn tables_too_wide_fall_back_to_wrapped_rows() {
    let lines = plain(
        "| name | description |\n|---|---|\n| wrap | a long cell |",
        16,
    );
    assert_eq!(
        lines,
        vec!["name │", "  description", "wrap │ a long", "  cell"]
    );
}

#[test]
fn tables_inside_quotes_keep_the_bar() {
    assert_eq!(
        plain("> | a | b |\n> |---|---|\n> | 1 | 2 |", 30),
        vec!["│ a │ b", "│ ──┼──", "│ 1 │ 2"]
    );
}

#[test]
fn raw_html_is_shown_as_text() {
    assert_eq!(
        plain("<div>\nhi\n</div>", 30),
        vec!["<div>", "hi", "</div>"]
    );
    assert_eq!(plain("a <b>bold</b>", 30), vec!["a <b>bold</b>"]);
}

#[test]
fn an_open_fence_runs_to_the_end_while_streaming() {
    let lines = plain("text\n\n```rust\nfn main() {\n    let", 40);
    assert_eq!(lines, vec!["text", "", "▎ fn main() {", "▎     let"]);
    assert_eq!(plain("```python\n", 40), vec!["▎"]);
}

#[test]
fn half_written_emphasis_shows_as_typed() {
    assert_eq!(plain("so **bold", 40), vec!["so **bold"]);
    assert_eq!(plain("a [link](http", 40), vec!["a [link](http"]);
}

#[test]
fn control_characters_never_reach_a_span() {
    let nasty = "tab\there \u{1b}[31mred\u{1b}[0m bell\u{7}\n\n```\ncode\twith\u{0}nul\r\n```\n\n`in\u{8}line`";
    for theme in [MarkdownTheme::dark(), MarkdownTheme::plain()] {
        let lines = render(nasty, 40, &theme);
        assert_drawable(&lines, 40, "nasty");
        assert_eq!(texts(&lines)[0], "tab    here [31mred[0m bell");
    }
}

#[test]
fn every_streaming_prefix_renders_within_the_width() {
    let theme = MarkdownTheme::dark();
    let boundaries = CHAT_ANSWER
        .char_indices()
        .map(|(index, _)| index)
        .chain([CHAT_ANSWER.len()]);
    for end in boundaries {
        let prefix = &CHAT_ANSWER[..end];
        for width in [100, 24] {
            let lines = render(prefix, width, &theme);
            assert_drawable(&lines, width, &format!("prefix of {end} bytes"));
        }
    }
}

#[test]
fn narrow_widths_never_overflow() {
    let theme = MarkdownTheme::plain();
    let text = "> - 日本語 **bold** `code` [l](u)\n>   1. deep\n\n| a | b |\n|---|---|\n| 1 | 2 |\n\n```\nlong code line\n```";
    for width in 1..=12 {
        assert_drawable(
            &render(text, width, &theme),
            width,
            &format!("width {width}"),
        );
    }
}

#[test]
fn a_chat_answer_snapshot() {
    let lines = render(CHAT_ANSWER, 60, &MarkdownTheme::plain());
    insta::assert_snapshot!(texts(&lines).join("\n"));
}

#[test]
fn a_narrow_chat_answer_snapshot() {
    let lines = render(CHAT_ANSWER, 28, &MarkdownTheme::plain());
    insta::assert_snapshot!(texts(&lines).join("\n"));
}
