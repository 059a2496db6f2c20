//! What a model's stop reason means for the turn: an answer cut by max_tokens or withheld by a
//! filter or a refusal ends the turn as `Stopped`, and a tool call whose arguments were cut is
//! never run (the model is asked to retry it smaller, once).

use crate::engine::conversation::ToolCall;
use crate::engine::protocol::StoppedBy;
use crate::engine::provider::StopReason;

/// Why a reply is not a whole answer, if it is not.
pub(super) fn stopped_by(stop: &StopReason) -> Option<StoppedBy> {
    match stop {
        StopReason::MaxTokens => Some(StoppedBy::MaxTokens),
        StopReason::ContentFilter => Some(StoppedBy::ContentFilter),
        StopReason::Refusal => Some(StoppedBy::Refusal),
        StopReason::EndTurn | StopReason::ToolUse | StopReason::Other(_) => None,
    }
}

/// What the conversation keeps of a reply's calls: the whole ones, then the cut ones with
/// empty arguments (what was cut may not be valid JSON, and every provider wants an object).
pub(super) fn calls_kept(whole: &[ToolCall], cut: &[ToolCall]) -> Vec<ToolCall> {
    let emptied = cut.iter().map(|call| ToolCall {
        args: if call.args.is_object() {
            call.args.clone()
        } else {
            serde_json::Value::Object(serde_json::Map::new())
        },
        ..call.clone()
    });
    whole.iter().cloned().chain(emptied).collect()
}

/// The result a cut call gets instead of running. `again` when a call was cut before in this
/// turn: then the turn stops.
pub(super) fn cut_call_result(again: bool) -> &'static str {
    if again {
        "not run: the arguments of this call were cut off by max_tokens again; the turn stops here"
    } else {
        "not run: the arguments of this call were cut off by max_tokens before they were complete. Call it again with smaller arguments (for a large file, write it in parts)."
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::engine::protocol::CallId;

    #[test]
    fn only_cut_filtered_and_refused_replies_are_stopped() {
        assert_eq!(
            stopped_by(&StopReason::MaxTokens),
            Some(StoppedBy::MaxTokens)
        );
        assert_eq!(
            stopped_by(&StopReason::ContentFilter),
            Some(StoppedBy::ContentFilter)
        );
        assert_eq!(stopped_by(&StopReason::Refusal), Some(StoppedBy::Refusal));
        assert_eq!(stopped_by(&StopReason::EndTurn), None);
        assert_eq!(stopped_by(&StopReason::Other("eos".into())), None);
    }

    #[test]
    fn a_cut_call_is_kept_with_an_object_for_arguments() {
        let call = |id: &str, args| ToolCall {
            id: CallId(id.into()),
            tool: "write".into(),
            args,
        };
        let kept = calls_kept(
            &[call("a", serde_json::json!({"path": "x"}))],
            &[call(
                "b",
                serde_json::json!("{\"path\": \"y\", \"content\": \"hel"),
            )],
        );
        assert_eq!(kept[0].args, serde_json::json!({"path": "x"}));
        assert_eq!(kept[1].id, CallId("b".into()));
        assert_eq!(kept[1].args, serde_json::json!({}));
    }
}
