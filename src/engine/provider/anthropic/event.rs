//! The Messages API's stream events as typed structs: only the fields tzzr reads, anything new
//! parsed as `Other`. Read by the HTTP dialect and by the Claude CLI's `stream_event` lines.

use serde::{Deserialize, Deserializer};
use serde_json::Value;

use crate::engine::provider::StopReason;

/// What a `stop_reason` says (Messages API and the Claude CLI's result line alike).
pub fn stop_reason(name: &str) -> StopReason {
    match name {
        "end_turn" | "stop_sequence" => StopReason::EndTurn,
        "tool_use" => StopReason::ToolUse,
        // Either way the answer is incomplete.
        "max_tokens" | "model_context_window_exceeded" => StopReason::MaxTokens,
        "refusal" => StopReason::Refusal,
        other => StopReason::Other(other.to_owned()),
    }
}

/// One event of a streamed Messages reply.
#[derive(Debug, Deserialize, PartialEq)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum Event {
    MessageStart {
        message: MessageStart,
    },
    ContentBlockStart {
        #[serde(default)]
        index: u64,
        content_block: Block,
    },
    ContentBlockDelta {
        #[serde(default)]
        index: u64,
        delta: Delta,
    },
    ContentBlockStop {
        #[serde(default)]
        index: u64,
    },
    MessageDelta {
        #[serde(default)]
        delta: MessageDelta,
        #[serde(default)]
        usage: Option<Usage>,
    },
    MessageStop,
    Error {
        #[serde(default)]
        error: ErrorBody,
    },
    /// `ping` and anything new.
    #[serde(other)]
    Other,
}

impl Event {
    /// Parses one event's data. `event_name` (the SSE `event:` line) stands in for a `type` the
    /// data lacks, as some proxies send it.
    pub fn parse(event_name: &str, data: &str) -> serde_json::Result<Event> {
        match serde_json::from_str(data) {
            Ok(event) => Ok(event),
            Err(e) => {
                let Ok(Value::Object(mut object)) = serde_json::from_str::<Value>(data) else {
                    return Err(e);
                };
                if object.contains_key("type") {
                    return Err(e);
                }
                object.insert("type".to_owned(), Value::String(event_name.to_owned()));
                serde_json::from_value(Value::Object(object))
            }
        }
    }
}

#[derive(Debug, Default, Deserialize, PartialEq)]
pub struct MessageStart {
    #[serde(default)]
    pub id: Option<String>,
    #[serde(default)]
    pub usage: Option<Usage>,
}

/// The start of a content block.
#[derive(Debug, Deserialize, PartialEq)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum Block {
    Text {
        #[serde(default)]
        text: String,
    },
    Thinking {
        #[serde(default)]
        thinking: String,
    },
    ToolUse {
        #[serde(default)]
        id: String,
        #[serde(default)]
        name: String,
        /// Used when no `input_json_delta` follows.
        #[serde(default)]
        input: Value,
    },
    #[serde(other)]
    Other,
}

/// A piece of a content block.
#[derive(Debug, Deserialize, PartialEq)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum Delta {
    TextDelta {
        #[serde(default)]
        text: String,
    },
    ThinkingDelta {
        #[serde(default)]
        thinking: String,
    },
    InputJsonDelta {
        #[serde(default)]
        partial_json: String,
    },
    /// `signature_delta`, `citations_delta` and anything new.
    #[serde(other)]
    Other,
}

#[derive(Debug, Default, Deserialize, PartialEq)]
pub struct MessageDelta {
    #[serde(default)]
    pub stop_reason: Option<String>,
}

/// Cumulative token counts; a count that is not a whole number is absent.
#[derive(Debug, Default, Deserialize, PartialEq)]
pub struct Usage {
    #[serde(default, deserialize_with = "count")]
    pub input_tokens: Option<u64>,
    #[serde(default, deserialize_with = "count")]
    pub output_tokens: Option<u64>,
    #[serde(default, deserialize_with = "count")]
    pub cache_read_input_tokens: Option<u64>,
    #[serde(default, deserialize_with = "count")]
    pub cache_creation_input_tokens: Option<u64>,
}

#[derive(Debug, Default, Deserialize, PartialEq)]
pub struct ErrorBody {
    #[serde(default, rename = "type")]
    pub kind: Option<String>,
    #[serde(default)]
    pub message: Option<String>,
}

fn count<'de, D: Deserializer<'de>>(deserializer: D) -> Result<Option<u64>, D::Error> {
    Ok(Option::<Value>::deserialize(deserializer)?.and_then(|v| v.as_u64()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn events_parse_typed_and_unknown_ones_are_other() {
        let delta = r#"{"type":"content_block_delta","index":2,"delta":{"type":"input_json_delta","partial_json":"{\"a\""}}"#;
        assert_eq!(
            Event::parse("x", delta).ok(),
            Some(Event::ContentBlockDelta {
                index: 2,
                delta: Delta::InputJsonDelta {
                    partial_json: "{\"a\"".into()
                }
            })
        );
        assert_eq!(
            Event::parse("ping", r#"{"type":"ping"}"#).ok(),
            Some(Event::Other)
        );
        assert_eq!(
            Event::parse("x", r#"{"type":"brand_new","x":1}"#).ok(),
            Some(Event::Other)
        );
    }

    #[test]
    fn a_missing_type_is_taken_from_the_event_name() {
        assert_eq!(
            Event::parse("message_stop", "{}").ok(),
            Some(Event::MessageStop)
        );
        assert!(Event::parse("message_stop", "[1]").is_err());
    }

    #[test]
    fn counts_that_are_not_whole_numbers_are_absent() {
        let data = r#"{"type":"message_delta","delta":{"stop_reason":"end_turn"},"usage":{"output_tokens":-3,"input_tokens":1.5,"cache_read_input_tokens":18446744073709551615}}"#;
        let Ok(Event::MessageDelta { usage, .. }) = Event::parse("x", data) else {
            panic!("not a message_delta");
        };
        assert_eq!(
            usage,
            Some(Usage {
                input_tokens: None,
                output_tokens: None,
                cache_read_input_tokens: Some(u64::MAX),
                cache_creation_input_tokens: None,
            })
        );
    }
}
