//! The prompt box (being written).

#[derive(Debug, Default)]
pub struct PromptInput;

impl PromptInput {
    /// Lines of text in the box.
    pub fn height(&self) -> u16 {
        1
    }
}
