//! What a compaction asks the model and what it puts in the conversation: the older messages
//! written out as a bounded transcript, and the summary that replaces them as one message.

use crate::engine::conversation::Message;

/// How the summary message starts, so the model (and a reader of the log) knows what it is.
pub const SUMMARY_HEADER: &str =
    "[Summary of the earlier conversation, written by tzzr to stay within the context window]";

/// One message of the transcript is cut to this many characters (a long file read, say).
const MAX_ENTRY_CHARS: usize = 2_000;

/// What the summariser is told.
pub fn instructions(max_tokens: u32) -> String {
    let words = u64::from(max_tokens) * 3 / 4;
    format!(
        "You compact conversations. Summarise the conversation you are given for the assistant \
         that will continue it: the user's goals and instructions, decisions made, facts learnt \
         (file names, commands, results, errors), and what is still open. Plain text, at most \
         {words} words. Do not call tools; do not address the user."
    )
}

/// The output tokens a summary may take: an eighth of the window, within 128..=2048.
pub fn max_summary_tokens(window: u64) -> u32 {
    u32::try_from((window / 8).clamp(128, 2_048)).unwrap_or(2_048)
}

/// The messages as one text of at most `max_chars` characters: each entry clipped, and when the
/// whole is still too long, its oldest part left out (the newest matters most).
pub fn transcript(messages: &[Message], max_chars: usize) -> String {
    let mut text = String::new();
    for message in messages {
        let entry = match message {
            Message::User { text } => format!("User: {}", clip(text)),
            Message::Assistant { text, tool_calls } => {
                let mut entry = format!("Assistant: {}", clip(text));
                for call in tool_calls {
                    let args = call.args.to_string();
                    entry.push_str(&format!("\n  called {}({})", call.tool, clip(&args)));
                }
                entry
            }
            Message::ToolResults { results } => results
                .iter()
                .map(|r| {
                    let status = if r.ok { "ok" } else { "failed" };
                    format!("Tool {} ({status}): {}", r.tool, clip(&r.output))
                })
                .collect::<Vec<_>>()
                .join("\n"),
        };
        text.push_str(&entry);
        text.push_str("\n\n");
    }
    if text.len() <= max_chars {
        return text;
    }
    const OMITTED: &str = "[… older part left out …]\n";
    let keep = max_chars.saturating_sub(OMITTED.len());
    let mut start = text.len() - keep;
    while !text.is_char_boundary(start) {
        start += 1;
    }
    format!("{OMITTED}{}", &text[start..])
}

/// The message that stands for the summarised ones; a summary longer than `max_chars` is cut.
pub fn summary_message(summary: &str, max_chars: usize) -> Message {
    let summary = summary.trim();
    let mut end = summary.len().min(max_chars);
    while !summary.is_char_boundary(end) {
        end -= 1;
    }
    Message::user(format!("{SUMMARY_HEADER}\n{}", &summary[..end]))
}

fn clip(text: &str) -> String {
    if text.len() <= MAX_ENTRY_CHARS {
        return text.to_owned();
    }
    let mut end = MAX_ENTRY_CHARS;
    while !text.is_char_boundary(end) {
        end -= 1;
    }
    format!("{} […{} more characters]", &text[..end], text.len() - end)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::engine::conversation::{ToolCall, ToolResult};
    use crate::engine::protocol::CallId;

    #[test]
    fn the_transcript_names_who_said_what_and_every_tool_call_and_result() {
        let messages = [
            Message::user("read a.txt"),
            Message::Assistant {
                text: String::new(),
                tool_calls: vec![ToolCall {
                    id: CallId("c1".into()),
                    tool: "read".into(),
                    args: serde_json::json!({"path": "a.txt"}),
                }],
            },
            Message::ToolResults {
                results: vec![ToolResult {
                    call: CallId("c1".into()),
                    tool: "read".into(),
                    ok: true,
                    output: "hello".into(),
                }],
            },
        ];
        let text = transcript(&messages, 10_000);
        assert!(text.contains("User: read a.txt"));
        assert!(text.contains("called read({\"path\":\"a.txt\"})"));
        assert!(text.contains("Tool read (ok): hello"));
    }

    #[test]
    fn a_long_transcript_keeps_its_newest_part_within_the_bound() {
        let messages: Vec<Message> = (0..100)
            .map(|i| Message::user(format!("message {i} ✓ {}", "x".repeat(100))))
            .collect();
        let text = transcript(&messages, 1_000);
        assert!(text.len() <= 1_000);
        assert!(text.contains("message 99"));
        assert!(!text.contains("message 0 "));
    }

    #[test]
    fn a_runaway_summary_is_cut_to_its_bound() {
        let Message::User { text } = summary_message(&"é".repeat(10_000), 101) else {
            panic!("a user message");
        };
        assert!(text.starts_with(SUMMARY_HEADER));
        assert!(text.len() <= SUMMARY_HEADER.len() + 1 + 101);
    }

    #[test]
    fn the_summary_fits_an_eighth_of_the_window_within_bounds() {
        assert_eq!(max_summary_tokens(2_000), 250);
        assert_eq!(max_summary_tokens(100), 128);
        assert_eq!(max_summary_tokens(1_000_000), 2_048);
    }
}
