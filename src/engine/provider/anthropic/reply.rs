//! Reading a streamed Messages reply: the event sequence from `message_start` to `message_stop`,
//! content blocks by index (text, tool_use with its JSON in pieces, thinking), usage and errors.

use std::collections::BTreeMap;

use serde_json::Value;

use super::event::{self, Block, Delta, ErrorBody, Event, Usage};
use crate::engine::conversation::ToolCall;
use crate::engine::protocol::{CallId, TokenUsage};
use crate::engine::provider::sse::{self, SseEvent};
use crate::engine::provider::stream::{Decoder, Progress};
use crate::engine::provider::{ModelReply, ProviderError, Sink, StopReason, StreamItem};

/// A tool_use block while its input arrives.
#[derive(Debug)]
struct PartialToolUse {
    id: String,
    name: String,
    /// The `input` of `content_block_start`, used when no JSON pieces follow.
    start_input: Value,
    json: String,
    /// `content_block_stop` arrived: the input is whole.
    is_closed: bool,
}

/// The state of one streamed reply, fed one event at a time.
#[derive(Debug)]
pub struct MessageStream {
    url: String,
    model: String,
    text: String,
    /// Tool uses by content-block index, in the order the model wrote them.
    tool_uses: BTreeMap<u64, PartialToolUse>,
    /// Bytes the tool uses hold, kept as they arrive (see [`Decoder::call_bytes`]).
    call_bytes: usize,
    stop_reason: Option<String>,
    usage: TokenUsage,
    saw_usage: bool,
    saw_stop: bool,
}

impl MessageStream {
    pub fn new(url: &str, model: &str) -> Self {
        Self {
            url: url.to_owned(),
            model: model.to_owned(),
            text: String::new(),
            tool_uses: BTreeMap::new(),
            call_bytes: 0,
            stop_reason: None,
            usage: TokenUsage::default(),
            saw_usage: false,
            saw_stop: false,
        }
    }

    /// Usage counts are cumulative: a later figure replaces an earlier one.
    fn take_usage(&mut self, usage: Usage) {
        self.saw_usage = true;
        if let Some(n) = usage.input_tokens {
            self.usage.input = n;
        }
        if let Some(n) = usage.output_tokens {
            self.usage.output = n;
        }
        if let Some(n) = usage.cache_read_input_tokens {
            self.usage.cache_read = n;
        }
        if let Some(n) = usage.cache_creation_input_tokens {
            self.usage.cache_write = n;
        }
    }

    fn start_block(&mut self, index: u64, block: Block, sink: Sink<'_>) {
        match block {
            Block::Text { text } => {
                if !text.is_empty() {
                    self.text.push_str(&text);
                    sink(StreamItem::TextDelta(text));
                }
            }
            Block::Thinking { thinking } => {
                if !thinking.is_empty() {
                    sink(StreamItem::Reasoning(thinking));
                }
            }
            Block::ToolUse { id, name, input } => {
                // A fixed cost per block too, so endless empty blocks count.
                let held = 64 + id.len() + name.len() + input.to_string().len();
                self.call_bytes = self.call_bytes.saturating_add(held);
                self.tool_uses.insert(
                    index,
                    PartialToolUse {
                        id,
                        name,
                        start_input: input,
                        json: String::new(),
                        is_closed: false,
                    },
                );
            }
            Block::Other => {}
        }
    }

    fn take_delta(&mut self, index: u64, delta: Delta, sink: Sink<'_>) {
        match delta {
            Delta::TextDelta { text } => {
                if !text.is_empty() {
                    self.text.push_str(&text);
                    sink(StreamItem::TextDelta(text));
                }
            }
            Delta::ThinkingDelta { thinking } => {
                if !thinking.is_empty() {
                    sink(StreamItem::Reasoning(thinking));
                }
            }
            Delta::InputJsonDelta { partial_json } => {
                if let Some(tool_use) = self.tool_uses.get_mut(&index) {
                    self.call_bytes = self.call_bytes.saturating_add(partial_json.len());
                    tool_use.json.push_str(&partial_json);
                }
            }
            Delta::Other => {}
        }
    }
}

impl Decoder for MessageStream {
    /// The event's `type` names it; the SSE `event:` line stands in when the data has none.
    fn feed(&mut self, event: &SseEvent, sink: Sink<'_>) -> Result<Progress, ProviderError> {
        let parsed =
            Event::parse(&event.event, &event.data).map_err(|e| ProviderError::Protocol {
                url: self.url.clone(),
                detail: format!("an event is not JSON ({e}): {}", sse::clip(&event.data)),
            })?;
        match parsed {
            Event::MessageStart { message } => {
                if let Some(usage) = message.usage {
                    self.take_usage(usage);
                }
            }
            Event::ContentBlockStart {
                index,
                content_block,
            } => self.start_block(index, content_block, sink),
            Event::ContentBlockDelta { index, delta } => self.take_delta(index, delta, sink),
            Event::MessageDelta { delta, usage } => {
                if let Some(reason) = delta.stop_reason {
                    self.stop_reason = Some(reason);
                }
                if let Some(usage) = usage {
                    self.take_usage(usage);
                }
            }
            Event::MessageStop => {
                self.saw_stop = true;
                return Ok(Progress::Done);
            }
            Event::Error { error } => return Err(stream_error(&self.url, error)),
            Event::ContentBlockStop { index } => {
                if let Some(tool_use) = self.tool_uses.get_mut(&index) {
                    tool_use.is_closed = true;
                }
            }
            // ping and anything new.
            Event::Other => {}
        }
        Ok(Progress::More)
    }

    fn reported_usage(&self) -> Option<TokenUsage> {
        self.saw_usage.then_some(self.usage)
    }

    fn call_bytes(&self) -> usize {
        self.call_bytes
    }

    fn has_finished(&self) -> bool {
        self.saw_stop || self.stop_reason.is_some()
    }

    fn cut_inside_tool_call(&mut self) -> bool {
        let is_inside = self.tool_uses.values().any(|t| !t.is_closed);
        if is_inside {
            self.stop_reason = Some("max_tokens".to_owned());
        }
        is_inside
    }

    /// Reports the usage once. A tool use whose block never closed was cut.
    fn finish(self, sink: Sink<'_>) -> Result<ModelReply, ProviderError> {
        let mut tool_calls = Vec::new();
        let mut cut_calls = Vec::new();
        for (n, tool_use) in self.tool_uses.into_values().enumerate() {
            let is_cut = !tool_use.is_closed;
            let call = ToolCall {
                id: CallId(if tool_use.id.is_empty() {
                    format!("toolu_{n}")
                } else {
                    tool_use.id
                }),
                tool: tool_use.name,
                args: if tool_use.json.trim().is_empty() && tool_use.start_input.is_object() {
                    tool_use.start_input
                } else {
                    sse::parse_tool_args(&tool_use.json)
                },
            };
            if is_cut {
                &mut cut_calls
            } else {
                &mut tool_calls
            }
            .push(call);
        }
        if self.saw_usage {
            sink(StreamItem::Usage {
                model: self.model,
                usage: self.usage,
                reported_cost_usd: None,
                estimated: false,
            });
        }
        let stop = match self.stop_reason.as_deref() {
            Some(name) => event::stop_reason(name),
            None if !tool_calls.is_empty() => StopReason::ToolUse,
            None => StopReason::EndTurn,
        };
        Ok(ModelReply {
            text: self.text,
            tool_calls,
            stop,
            cut_calls,
        })
    }
}

/// An `error` event: overloaded is HTTP 529 (retryable, as the API would have answered it
/// before the stream began); anything else is a protocol failure.
fn stream_error(url: &str, error: ErrorBody) -> ProviderError {
    let kind = error.kind.unwrap_or_else(|| "error".to_owned());
    let message = error
        .message
        .filter(|m| !m.is_empty())
        .map_or_else(|| kind.clone(), |m| sse::clip(&m));
    match kind.as_str() {
        "overloaded_error" => ProviderError::Http {
            url: url.to_owned(),
            status: 529,
            message,
            retry_after: None,
        },
        _ => ProviderError::Protocol {
            url: url.to_owned(),
            detail: format!("the server reported {kind}: {message}"),
        },
    }
}

#[cfg(test)]
mod tests {
    use pretty_assertions::assert_eq;
    use serde_json::json;

    use super::*;
    use crate::engine::provider::stream::decode_lines;

    /// Feeds an SSE text event by event (`event:` then `data:` lines), as the reader would.
    fn run(sse_text: &str) -> (Result<ModelReply, ProviderError>, Vec<StreamItem>) {
        decode_lines(MessageStream::new("u", "claude"), sse_text)
    }

    #[test]
    fn text_thinking_and_cache_usage_from_a_whole_event_sequence() {
        let (reply, items) = run(r#"
event: message_start
data: {"type":"message_start","message":{"id":"msg_1","type":"message","role":"assistant","content":[],"model":"claude","stop_reason":null,"usage":{"input_tokens":12,"cache_creation_input_tokens":300,"cache_read_input_tokens":2000,"output_tokens":1}}}

event: content_block_start
data: {"type":"content_block_start","index":0,"content_block":{"type":"thinking","thinking":""}}

event: content_block_delta
data: {"type":"content_block_delta","index":0,"delta":{"type":"thinking_delta","thinking":"hmm"}}

event: content_block_delta
data: {"type":"content_block_delta","index":0,"delta":{"type":"signature_delta","signature":"abc"}}

event: content_block_stop
data: {"type":"content_block_stop","index":0}

event: ping
data: {"type": "ping"}

event: content_block_start
data: {"type":"content_block_start","index":1,"content_block":{"type":"text","text":""}}

event: content_block_delta
data: {"type":"content_block_delta","index":1,"delta":{"type":"text_delta","text":"Hel"}}

event: content_block_delta
data: {"type":"content_block_delta","index":1,"delta":{"type":"text_delta","text":"lo"}}

event: content_block_stop
data: {"type":"content_block_stop","index":1}

event: message_delta
data: {"type":"message_delta","delta":{"stop_reason":"end_turn","stop_sequence":null},"usage":{"output_tokens":9}}

event: message_stop
data: {"type":"message_stop"}
"#);
        assert_eq!(
            reply,
            Ok(ModelReply {
                text: "Hello".into(),
                tool_calls: vec![],
                stop: StopReason::EndTurn,
                cut_calls: Vec::new(),
            })
        );
        assert_eq!(
            items,
            vec![
                StreamItem::Reasoning("hmm".into()),
                StreamItem::TextDelta("Hel".into()),
                StreamItem::TextDelta("lo".into()),
                StreamItem::Usage {
                    model: "claude".into(),
                    usage: TokenUsage {
                        input: 12,
                        output: 9,
                        cache_read: 2000,
                        cache_write: 300
                    },
                    reported_cost_usd: None,
                    estimated: false,
                },
            ]
        );
    }

    #[test]
    fn tool_uses_collect_their_json_pieces_per_block() {
        let (reply, _) = run(r#"
data: {"type":"message_start","message":{"usage":{"input_tokens":5,"output_tokens":1}}}
data: {"type":"content_block_start","index":0,"content_block":{"type":"tool_use","id":"toolu_a","name":"read","input":{}}}
data: {"type":"content_block_delta","index":0,"delta":{"type":"input_json_delta","partial_json":"{\"path\":"}}
data: {"type":"content_block_delta","index":0,"delta":{"type":"input_json_delta","partial_json":" \"a.txt\"}"}}
data: {"type":"content_block_stop","index":0}
data: {"type":"content_block_start","index":1,"content_block":{"type":"tool_use","id":"toolu_b","name":"list_dir","input":{}}}
data: {"type":"content_block_stop","index":1}
data: {"type":"content_block_start","index":2,"content_block":{"type":"tool_use","id":"toolu_c","name":"bash","input":{}}}
data: {"type":"content_block_delta","index":2,"delta":{"type":"input_json_delta","partial_json":"{\"command\": \"ls"}}
data: {"type":"content_block_stop","index":2}
data: {"type":"message_delta","delta":{"stop_reason":"tool_use"},"usage":{"output_tokens":30}}
data: {"type":"message_stop"}
"#);
        assert_eq!(
            reply,
            Ok(ModelReply {
                text: String::new(),
                tool_calls: vec![
                    ToolCall {
                        id: CallId("toolu_a".into()),
                        tool: "read".into(),
                        args: json!({"path": "a.txt"})
                    },
                    ToolCall {
                        id: CallId("toolu_b".into()),
                        tool: "list_dir".into(),
                        args: json!({})
                    },
                    ToolCall {
                        id: CallId("toolu_c".into()),
                        tool: "bash".into(),
                        args: json!({"_raw": "{\"command\": \"ls"})
                    },
                ],
                stop: StopReason::ToolUse,
                cut_calls: Vec::new(),
            })
        );
    }

    #[test]
    fn max_tokens_without_message_stop_is_accepted() {
        let (reply, _) = run(r#"
data: {"type":"content_block_delta","index":0,"delta":{"type":"text_delta","text":"long"}}
data: {"type":"message_delta","delta":{"stop_reason":"max_tokens"},"usage":{"output_tokens":4}}
"#);
        assert_eq!(reply.map(|r| r.stop), Ok(StopReason::MaxTokens));
    }

    #[test]
    fn a_tool_use_whose_block_never_closed_is_cut() {
        let (reply, _) = run(r#"
data: {"type":"content_block_start","index":0,"content_block":{"type":"tool_use","id":"toolu_a","name":"read","input":{}}}
data: {"type":"content_block_delta","index":0,"delta":{"type":"input_json_delta","partial_json":"{\"path\": \"a.txt\"}"}}
data: {"type":"content_block_stop","index":0}
data: {"type":"content_block_start","index":1,"content_block":{"type":"tool_use","id":"toolu_b","name":"bash","input":{}}}
data: {"type":"content_block_delta","index":1,"delta":{"type":"input_json_delta","partial_json":"{\"comm"}}
data: {"type":"message_delta","delta":{"stop_reason":"max_tokens"},"usage":{"output_tokens":30}}
data: {"type":"message_stop"}
"#);
        assert_eq!(
            reply,
            Ok(ModelReply {
                text: String::new(),
                tool_calls: vec![ToolCall {
                    id: CallId("toolu_a".into()),
                    tool: "read".into(),
                    args: json!({"path": "a.txt"})
                }],
                stop: StopReason::MaxTokens,
                cut_calls: vec![ToolCall {
                    id: CallId("toolu_b".into()),
                    tool: "bash".into(),
                    args: json!({"_raw": "{\"comm"})
                }],
            })
        );
    }

    #[test]
    fn a_stream_that_ends_inside_a_tool_use_is_cut_not_failed() {
        let (reply, _) = run(r#"
data: {"type":"content_block_start","index":0,"content_block":{"type":"tool_use","id":"toolu_b","name":"bash","input":{}}}
data: {"type":"content_block_delta","index":0,"delta":{"type":"input_json_delta","partial_json":"{\"comm"}}
"#);
        let Ok(reply) = reply else {
            panic!("{reply:?}")
        };
        assert_eq!(reply.stop, StopReason::MaxTokens);
        assert_eq!(reply.tool_calls, vec![]);
        assert_eq!(reply.cut_calls.len(), 1);
    }

    #[test]
    fn a_refusal_is_reported_as_such() {
        let (reply, _) = run(r#"
data: {"type":"content_block_delta","index":0,"delta":{"type":"text_delta","text":"No"}}
data: {"type":"message_delta","delta":{"stop_reason":"refusal"}}
data: {"type":"message_stop"}
"#);
        assert_eq!(reply.map(|r| r.stop), Ok(StopReason::Refusal));
    }

    #[test]
    fn a_stream_cut_before_the_model_finished_is_a_protocol_error() {
        let (reply, items) = run(r#"
data: {"type":"message_start","message":{"usage":{"input_tokens":5,"output_tokens":1}}}
data: {"type":"content_block_delta","index":0,"delta":{"type":"text_delta","text":"Hel"}}
"#);
        assert_eq!(reply, Err(sse::ended_early("u")));
        assert_eq!(items, vec![StreamItem::TextDelta("Hel".into())]);
    }

    #[test]
    fn an_overloaded_error_event_is_a_retryable_529() {
        let (reply, _) = run(r#"
event: error
data: {"type":"error","error":{"type":"overloaded_error","message":"Overloaded"}}
"#);
        assert_eq!(
            reply,
            Err(ProviderError::Http {
                url: "u".into(),
                status: 529,
                message: "Overloaded".into(),
                retry_after: None
            })
        );
        let (reply, _) = run(r#"
data: {"type":"error","error":{"type":"invalid_request_error","message":"bad"}}
"#);
        assert_eq!(
            reply,
            Err(ProviderError::Protocol {
                url: "u".into(),
                detail: "the server reported invalid_request_error: bad".into()
            })
        );
    }
}
