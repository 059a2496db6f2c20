//! The placeholders a step's prompt may hold: `{{input}}`, `{{previous}}` and
//! `{{steps.ID.output}}`. Any other `{{…}}` is text the model gets as written.

use std::ops::Range;

/// What a placeholder stands for.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Placeholder<'a> {
    /// The task's input (`--input`, `/task NAME input`).
    Input,
    /// The answer of the step before (for a parallel group, the step before the group).
    Previous,
    /// The answer of the step with this id.
    StepOutput(&'a str),
}

/// Every placeholder of `prompt` with where it is, in order.
pub fn placeholders(prompt: &str) -> Vec<(Range<usize>, Placeholder<'_>)> {
    let mut found = Vec::new();
    let mut from = 0;
    while let Some(open) = prompt[from..].find("{{").map(|at| from + at) {
        let Some(close) = prompt[open + 2..].find("}}").map(|at| open + 2 + at) else {
            break;
        };
        let inner = prompt[open + 2..close].trim();
        let placeholder = match inner {
            "input" => Some(Placeholder::Input),
            "previous" => Some(Placeholder::Previous),
            _ => inner
                .strip_prefix("steps.")
                .and_then(|rest| rest.strip_suffix(".output"))
                .map(Placeholder::StepOutput),
        };
        match placeholder {
            Some(placeholder) => {
                found.push((open..close + 2, placeholder));
                from = close + 2;
            }
            // `{{{{input}}`: the literal braces are skipped one at a time.
            None => from = open + 1,
        }
    }
    found
}

/// `prompt` with each placeholder replaced by what `value` says it stands for.
pub fn fill<'p>(prompt: &'p str, mut value: impl FnMut(Placeholder<'p>) -> String) -> String {
    let mut filled = String::with_capacity(prompt.len());
    let mut copied = 0;
    for (range, placeholder) in placeholders(prompt) {
        filled.push_str(&prompt[copied..range.start]);
        filled.push_str(&value(placeholder));
        copied = range.end;
    }
    filled.push_str(&prompt[copied..]);
    filled
}

/// Whether `id` can name a step: letters, digits, `-` and `_`.
pub fn is_step_id(id: &str) -> bool {
    !id.is_empty()
        && id
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_three_placeholders_are_found_with_or_without_spaces() {
        let found: Vec<Placeholder<'_>> = placeholders(
            "Given {{input}} and {{ previous }}, see {{steps.design.output}}; {{other}} stays.",
        )
        .into_iter()
        .map(|(_, p)| p)
        .collect();
        assert_eq!(
            found,
            [
                Placeholder::Input,
                Placeholder::Previous,
                Placeholder::StepOutput("design")
            ]
        );
    }

    #[test]
    fn fill_replaces_placeholders_and_keeps_other_braces() {
        let filled = fill("A {{input}} B {{x}} C {{{{previous}}", |p| match p {
            Placeholder::Input => "in".into(),
            Placeholder::Previous => "prev".into(),
            Placeholder::StepOutput(id) => id.into(),
        });
        assert_eq!(filled, "A in B {{x}} C {{prev");
    }

    #[test]
    fn an_answer_holding_a_placeholder_is_not_filled_again() {
        let filled = fill("{{input}} then {{previous}}", |p| match p {
            Placeholder::Input => "{{previous}}".into(),
            Placeholder::Previous => "done".into(),
            Placeholder::StepOutput(_) => String::new(),
        });
        assert_eq!(filled, "{{previous}} then done");
    }

    #[test]
    fn step_ids_are_words() {
        assert!(is_step_id("design-2_b"));
        assert!(!is_step_id(""));
        assert!(!is_step_id("a b"));
        assert!(!is_step_id("a.b"));
    }
}
