//! Token counts tzzr works out itself, before a call (budget, limiter, context) and where a
//! server reports none: about four characters a token, rounded up.

use crate::engine::conversation::Message;
use crate::engine::tools::ToolSpec;

/// The tokens of a request: system prompt, messages and the tools offered.
pub fn estimate_request(system: &str, messages: &[Message], tools: &[ToolSpec]) -> u64 {
    let tool_chars: usize = tools
        .iter()
        .map(|t| t.name.len() + t.description.len() + t.parameters.to_string().len())
        .sum();
    let chars =
        system.len() + tool_chars + messages.iter().map(Message::approx_chars).sum::<usize>();
    chars_to_tokens(chars)
}

/// The tokens of one message, as [`estimate_request`] counts it.
pub fn estimate_message(message: &Message) -> u64 {
    chars_to_tokens(message.approx_chars())
}

/// The tokens of a piece of text (a streamed answer, say).
pub fn estimate_text(text: &str) -> u64 {
    chars_to_tokens(text.len())
}

fn chars_to_tokens(chars: usize) -> u64 {
    u64::try_from(chars).unwrap_or(u64::MAX).div_ceil(4)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn four_characters_make_a_token_rounded_up() {
        assert_eq!(estimate_text(""), 0);
        assert_eq!(estimate_text("abcd"), 1);
        assert_eq!(estimate_text("abcde"), 2);
    }

    #[test]
    fn a_request_counts_system_messages_and_tools() {
        let messages = [Message::user("x".repeat(40))];
        assert_eq!(estimate_request(&"s".repeat(40), &messages, &[]), 20);
    }
}
