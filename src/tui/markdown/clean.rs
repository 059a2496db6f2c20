//! Text fit for a terminal cell: tabs become spaces, control characters and bidi overrides go.

use std::borrow::Cow;

/// Spaces a tab becomes (no tab stops: text is cleaned before it is placed on a line).
const TAB: &str = "    ";

/// `text` with each tab as four spaces and every control character (C0, DEL, C1, so newlines
/// and escape sequences' ESC too) and bidi embedding/override/isolate mark dropped.
/// Borrows when there is nothing to change.
pub fn clean(text: &str) -> Cow<'_, str> {
    if !text.chars().any(needs_cleaning) {
        return Cow::Borrowed(text);
    }
    let mut cleaned = String::with_capacity(text.len() + 8);
    for c in text.chars() {
        if c == '\t' {
            cleaned.push_str(TAB);
        } else if !needs_cleaning(c) {
            cleaned.push(c);
        }
    }
    Cow::Owned(cleaned)
}

fn needs_cleaning(c: char) -> bool {
    c.is_control() || matches!(c, '\u{202A}'..='\u{202E}' | '\u{2066}'..='\u{2069}')
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn clean_text_is_borrowed() {
        assert!(matches!(clean("plain text, 日本語"), Cow::Borrowed(_)));
    }

    #[test]
    fn tabs_become_spaces_and_controls_go() {
        assert_eq!(clean("a\tb"), "a    b");
        assert_eq!(clean("\u{1b}[31mred\u{1b}[0m\r\n"), "[31mred[0m");
        assert_eq!(clean("x\u{7f}\u{85}\u{0}y"), "xy");
        assert_eq!(clean("evil\u{202E}txt"), "eviltxt");
    }
}
