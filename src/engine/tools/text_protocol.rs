//! v6's text tool protocol for models without native tool calling: the instructions that go into
//! the system prompt, and a robust parser for the ```tool blocks the model answers with.

use crate::engine::conversation::{ToolCall, ToolResult};
use crate::engine::tools::ToolSpec;

/// The system-prompt section that teaches the model the ```tool block format (v6's wording).
pub fn instructions(specs: &[ToolSpec]) -> String {
    let _ = specs;
    todo!("text_protocol::instructions")
}

/// Every tool call in a model's text, in order, with ids `text-1`, `text-2`, ….
pub fn parse_calls(text: &str) -> Vec<ToolCall> {
    let _ = text;
    todo!("text_protocol::parse_calls")
}

/// The user message that carries tool results back to the model (v6's format).
pub fn results_message(results: &[ToolResult]) -> String {
    let _ = results;
    todo!("text_protocol::results_message")
}
