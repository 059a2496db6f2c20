//! Tool calls pieced together from chat-completions `tool_calls` entries: streamed pieces by
//! index, or the whole calls of a non-streaming reply (each one piece).

use std::collections::BTreeMap;
use std::collections::btree_map::Entry;

use serde_json::Value;

use crate::engine::conversation::ToolCall;
use crate::engine::protocol::CallId;
use crate::engine::provider::sse;

/// A tool call while its pieces arrive.
#[derive(Debug, Default)]
struct PartialCall {
    id: String,
    name: String,
    arguments: String,
}

impl PartialCall {
    fn is_empty(&self) -> bool {
        self.id.is_empty() && self.name.is_empty() && self.arguments.is_empty()
    }
}

/// What one call held apart from its text costs, counted in [`CallAssembly::bytes`] so a server
/// cannot grow memory with endless empty calls.
const CALL_OVERHEAD_BYTES: usize = 64;

/// The calls of one reply, by the `index` the server gave each, so pieces of several calls can
/// interleave.
#[derive(Debug, Default)]
pub struct CallAssembly {
    calls: BTreeMap<u64, PartialCall>,
    /// Kept as pieces arrive: summing at every event would cost time squared in the calls.
    bytes: usize,
}

impl CallAssembly {
    /// Takes the `tool_calls` array of a delta or a message; `position`s stand in for missing
    /// indexes.
    pub fn take(&mut self, entries: &[Value]) {
        for (position, entry) in entries.iter().enumerate() {
            self.take_piece(position, entry);
        }
    }

    fn take_piece(&mut self, position: usize, piece: &Value) {
        let index = piece
            .get("index")
            .and_then(Value::as_u64)
            .unwrap_or(position as u64);
        let call = match self.calls.entry(index) {
            Entry::Occupied(entry) => entry.into_mut(),
            Entry::Vacant(entry) => {
                self.bytes = self.bytes.saturating_add(CALL_OVERHEAD_BYTES);
                entry.insert(PartialCall::default())
            }
        };
        let before = call.id.len() + call.name.len() + call.arguments.len();
        if let Some(id) = piece.get("id").and_then(Value::as_str)
            && call.id.is_empty()
        {
            call.id = id.to_owned();
        }
        let function = piece.get("function");
        if let Some(name) = function.and_then(|f| f.get("name")).and_then(Value::as_str)
            // Some servers repeat the whole name in every piece; others split it.
            && name != call.name
        {
            call.name.push_str(name);
        }
        match function.and_then(|f| f.get("arguments")) {
            Some(Value::String(text)) => call.arguments.push_str(text),
            Some(Value::Null) | None => {}
            // A few servers send the arguments as an object rather than JSON text.
            Some(object) => call.arguments.push_str(&object.to_string()),
        }
        let after = call.id.len() + call.name.len() + call.arguments.len();
        self.bytes = self.bytes.saturating_add(after - before);
    }

    /// Bytes of ids, names and argument text so far, and a fixed cost per call.
    pub fn bytes(&self) -> usize {
        self.bytes
    }

    /// Whether some call's arguments are not yet complete JSON (the stream is inside them).
    pub fn has_open_call(&self) -> bool {
        self.calls
            .values()
            .any(|call| !call.is_empty() && !is_complete_json(&call.arguments))
    }

    /// The calls in index order, a call without an id named `call_<index>`: those to run, and
    /// those cut off (when the reply `was_cut`, a call whose arguments are not complete JSON).
    pub fn into_calls(self, was_cut: bool) -> (Vec<ToolCall>, Vec<ToolCall>) {
        let mut whole = Vec::new();
        let mut cut = Vec::new();
        for (index, call) in self.calls {
            if call.is_empty() {
                continue;
            }
            let is_cut = was_cut && !is_complete_json(&call.arguments);
            let call = ToolCall {
                id: CallId(if call.id.is_empty() {
                    format!("call_{index}")
                } else {
                    call.id
                }),
                tool: call.name,
                args: sse::parse_tool_args(&call.arguments),
            };
            if is_cut { &mut cut } else { &mut whole }.push(call);
        }
        (whole, cut)
    }
}

/// Whether argument text is one whole JSON value (empty text is not: the model never wrote it).
fn is_complete_json(text: &str) -> bool {
    serde_json::from_str::<serde::de::IgnoredAny>(text).is_ok()
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn every_call_counts_even_an_empty_one_so_endless_calls_hit_the_reply_limit() {
        let mut calls = CallAssembly::default();
        let empty: Vec<Value> = (0..1000).map(|i| json!({"index": i})).collect();
        calls.take(&empty);
        assert_eq!(calls.bytes(), 1000 * CALL_OVERHEAD_BYTES);
        calls
            .take(&[json!({"index": 0, "id": "c", "function": {"name": "ls", "arguments": "{}"}})]);
        assert_eq!(calls.bytes(), 1000 * CALL_OVERHEAD_BYTES + 5);
        assert_eq!(calls.into_calls(false).0.len(), 1);
    }

    #[test]
    fn a_cut_reply_sets_apart_only_the_calls_with_unfinished_arguments() {
        let mut calls = CallAssembly::default();
        calls.take(&[
            json!({"index": 0, "id": "a", "function": {"name": "ls", "arguments": "{}"}}),
            json!({"index": 1, "id": "b", "function": {"name": "rm", "arguments": "{\"pa"}}),
        ]);
        assert!(calls.has_open_call());
        let (whole, cut) = calls.into_calls(true);
        assert_eq!(whole[0].id, CallId("a".into()));
        assert_eq!(cut[0].id, CallId("b".into()));
    }
}
