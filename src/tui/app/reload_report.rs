//! A config error as lines of the report the TUI shows when a reload fails: every line whole,
//! wrapped at the report's width, so `config.yaml:12:5: …` and its hint are read entire.

use ratatui::style::Style;

use crate::tui::wrap;

/// The width errors wrap at (a report is at most 100 columns, with padding).
const WIDTH: u16 = 96;

/// `error`, one string per wrapped line.
pub fn wrapped(error: &str) -> Vec<String> {
    error
        .lines()
        .flat_map(|line| {
            let wrapped = wrap::wrap_text(line, Style::default(), WIDTH);
            if wrapped.is_empty() {
                vec![String::new()]
            } else {
                wrapped
                    .iter()
                    .map(|l| l.spans.iter().map(|s| s.content.as_ref()).collect())
                    .collect()
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_long_error_is_wrapped_whole() {
        let error = format!(
            "config.yaml:12:5: agents.coder.max_turns: expected a whole number, found `ten`; {}",
            "write it as digits, e.g. max_turns: 10 (the number of model calls per prompt)"
                .repeat(2)
        );
        let lines = wrapped(&error);
        assert!(lines.len() > 1, "{lines:?}");
        assert!(
            lines
                .iter()
                .all(|l| l.chars().count() <= usize::from(WIDTH))
        );
        assert!(lines[0].starts_with("config.yaml:12:5: "));
        let joined = lines.join(" ");
        assert_eq!(
            joined.split_whitespace().collect::<Vec<_>>(),
            error.split_whitespace().collect::<Vec<_>>()
        );
    }
}
