//! Tasks (v6's `tasks:`, which v6 parsed and never ran): steps run one after the other, each step's
//! answer becoming the context of the next prompt, as v6's `run_with_context` framed it.

/// The prompt of a step: the previous step's answer, a rule, then the step's own prompt.
pub fn step_prompt(previous_answer: Option<&str>, prompt: &str) -> String {
    match previous_answer {
        Some(context) if !context.trim().is_empty() => format!("{context}\n\n---\n\n{prompt}"),
        _ => prompt.to_owned(),
    }
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
}
