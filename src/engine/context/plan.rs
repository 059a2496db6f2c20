//! Where to cut a conversation for compaction: the messages before the cut are summarised, the
//! ones from it on stay as they are. A cut never falls between an assistant message and the
//! results of its tool calls, and the last message always stays.

use crate::engine::conversation::Message;

/// The first message kept: `messages[..at]` are summarised.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Cut {
    pub at: usize,
}

/// The cut that keeps as many of the latest messages as fit in `room` tokens (`sizes[i]` is the
/// size of `messages[i]`), summarising at least one message; when even the shortest tail does
/// not fit, the shortest tail. `None` when nothing can be summarised (one message, or one
/// assistant message and its results).
pub fn plan_cut(messages: &[Message], sizes: &[u64], room: u64) -> Option<Cut> {
    debug_assert_eq!(messages.len(), sizes.len());
    let mut tail = 0u64;
    let mut best = None;
    // From the newest message back: the earliest cut whose tail still fits wins.
    for at in (1..messages.len()).rev() {
        tail = tail.saturating_add(sizes.get(at).copied().unwrap_or(0));
        if !can_cut_before(&messages[at]) {
            continue;
        }
        if tail > room {
            return best.or(Some(Cut { at }));
        }
        best = Some(Cut { at });
    }
    best
}

/// Tool results must follow the assistant message that asked for them.
fn can_cut_before(message: &Message) -> bool {
    match message {
        Message::User { .. } | Message::Assistant { .. } => true,
        Message::ToolResults { .. } => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::engine::conversation::{ToolCall, ToolResult};
    use crate::engine::protocol::CallId;

    fn call(id: &str) -> Message {
        Message::Assistant {
            text: String::new(),
            tool_calls: vec![ToolCall {
                id: CallId(id.into()),
                tool: "read".into(),
                args: serde_json::json!({}),
            }],
        }
    }

    fn result(id: &str) -> Message {
        Message::ToolResults {
            results: vec![ToolResult {
                call: CallId(id.into()),
                tool: "read".into(),
                ok: true,
                output: "x".into(),
            }],
        }
    }

    #[test]
    fn the_latest_messages_that_fit_stay_and_the_rest_is_summarised() {
        let m = [
            Message::user("a"),
            Message::assistant("b"),
            Message::user("c"),
            Message::assistant("d"),
        ];
        assert_eq!(plan_cut(&m, &[10, 10, 10, 10], 20), Some(Cut { at: 2 }));
        assert_eq!(plan_cut(&m, &[10, 10, 10, 10], 1_000), Some(Cut { at: 1 }));
    }

    #[test]
    fn a_cut_never_separates_tool_calls_from_their_results() {
        let m = [
            Message::user("a"),
            call("1"),
            result("1"),
            call("2"),
            result("2"),
        ];
        // Room for one message: the shortest tail that is whole is the last call and its result.
        let cut = plan_cut(&m, &[10; 5], 10).unwrap();
        assert_eq!(cut, Cut { at: 3 });
        assert!(!matches!(m[cut.at], Message::ToolResults { .. }));
    }

    #[test]
    fn nothing_can_be_summarised_in_a_lone_message_or_a_lone_tool_pair() {
        assert_eq!(plan_cut(&[Message::user("huge")], &[99_999], 10), None);
        assert_eq!(plan_cut(&[call("1"), result("1")], &[5, 5], 1), None);
    }
}
