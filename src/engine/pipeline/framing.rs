//! How a step's prompt is framed: v6's (the previous answer, a `---` rule, the prompt) unless the
//! prompt places the answers itself with placeholders; and how a group's answers are joined.

use super::placeholder::{Placeholder, fill, placeholders};

/// The prompt of a step: the previous step's answer, a rule, then the step's own prompt.
pub fn step_prompt(previous_answer: Option<&str>, prompt: &str) -> String {
    match previous_answer {
        Some(context) if !context.trim().is_empty() => format!("{context}\n\n---\n\n{prompt}"),
        _ => prompt.to_owned(),
    }
}

/// What a step's prompt is filled from.
pub struct Context<'a> {
    /// The task's input.
    pub input: Option<&'a str>,
    /// The answer before this step (the input, for the first).
    pub previous: Option<&'a str>,
    /// The answer of an earlier step by its id.
    pub output_of: &'a dyn Fn(&str) -> Option<String>,
}

/// The prompt sent for `prompt`: filled in if it holds a placeholder, else v6's framing.
pub fn frame(prompt: &str, context: &Context<'_>) -> String {
    if placeholders(prompt).is_empty() {
        return step_prompt(context.previous, prompt);
    }
    fill(prompt, |placeholder| match placeholder {
        Placeholder::Input => context.input.unwrap_or_default().to_owned(),
        Placeholder::Previous => context.previous.unwrap_or_default().to_owned(),
        Placeholder::StepOutput(id) => (context.output_of)(id).unwrap_or_default(),
    })
}

/// A group's answers as one text for the step after it, each headed by who wrote it.
pub fn joined(answers: &[(String, String)]) -> String {
    answers
        .iter()
        .map(|(label, answer)| format!("### {label}\n\n{}", answer.trim_end()))
        .collect::<Vec<_>>()
        .join("\n\n")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_first_step_gets_its_prompt_and_later_ones_the_previous_answer_too() {
        assert_eq!(step_prompt(None, "Run tests"), "Run tests");
        assert_eq!(step_prompt(Some("  "), "Run tests"), "Run tests");
        assert_eq!(
            step_prompt(Some("All 12 tests pass."), "Deploy"),
            "All 12 tests pass.\n\n---\n\nDeploy"
        );
    }

    #[test]
    fn a_prompt_with_a_placeholder_gets_nothing_prepended() {
        let output_of = |id: &str| (id == "design").then(|| "the design".to_owned());
        let context = Context {
            input: Some("the input"),
            previous: Some("the answer"),
            output_of: &output_of,
        };
        assert_eq!(
            frame(
                "Review {{previous}} against {{steps.design.output}} for {{input}}",
                &context
            ),
            "Review the answer against the design for the input"
        );
        assert_eq!(frame("Go", &context), "the answer\n\n---\n\nGo");
    }

    #[test]
    fn a_groups_answers_are_joined_under_their_authors() {
        assert_eq!(
            joined(&[
                ("reviewer".into(), "Fine.\n".into()),
                ("tester (tests)".into(), "3 pass".into())
            ]),
            "### reviewer\n\nFine.\n\n### tester (tests)\n\n3 pass"
        );
    }
}
