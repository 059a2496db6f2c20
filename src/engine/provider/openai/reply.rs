//! Reading a chat-completions reply: streamed chunks (text, reasoning, tool calls, usage,
//! errors) and the one-object JSON of a non-streaming call.

use serde_json::Value;

use super::calls::CallAssembly;
use crate::engine::protocol::TokenUsage;
use crate::engine::provider::sse::{self, SseEvent};
use crate::engine::provider::stream::{Decoder, Progress};
use crate::engine::provider::{ModelReply, ProviderError, Sink, StopReason, StreamItem};

/// The state of one streamed reply, fed one SSE `data` payload at a time.
#[derive(Debug)]
pub struct ChatStream {
    url: String,
    model: String,
    text: String,
    calls: CallAssembly,
    finish_reason: Option<String>,
    usage: Option<TokenUsage>,
    saw_done: bool,
}

impl ChatStream {
    pub fn new(url: &str, model: &str) -> Self {
        Self {
            url: url.to_owned(),
            model: model.to_owned(),
            text: String::new(),
            calls: CallAssembly::default(),
            finish_reason: None,
            usage: None,
            saw_done: false,
        }
    }

    fn take_delta(&mut self, delta: &Value, sink: Sink<'_>) {
        if let Some(text) = delta.get("content").and_then(Value::as_str)
            && !text.is_empty()
        {
            self.text.push_str(text);
            sink(StreamItem::TextDelta(text.to_owned()));
        }
        if let Some(thought) = reasoning_in(delta) {
            sink(StreamItem::Reasoning(thought.to_owned()));
        }
        if let Some(entries) = delta.get("tool_calls").and_then(Value::as_array) {
            self.calls.take(entries);
        }
    }
}

impl Decoder for ChatStream {
    fn feed(&mut self, event: &SseEvent, sink: Sink<'_>) -> Result<Progress, ProviderError> {
        let data = event.data.as_str();
        if data.trim() == "[DONE]" {
            self.saw_done = true;
            return Ok(Progress::Done);
        }
        let chunk: Value = serde_json::from_str(data).map_err(|e| ProviderError::Protocol {
            url: self.url.clone(),
            detail: format!("a stream chunk is not JSON ({e}): {}", sse::clip(data)),
        })?;
        if let Some(error) = chunk.get("error").filter(|e| !e.is_null()) {
            return Err(stream_error(&self.url, error));
        }
        if let Some(usage) = chunk.get("usage").filter(|u| u.is_object()) {
            self.usage = Some(usage_from(usage));
        }
        let choices = chunk.get("choices").and_then(Value::as_array);
        // Only the first choice: tzzr never asks for `n > 1`.
        let first = |choice: &&Value| choice.get("index").and_then(Value::as_u64).unwrap_or(0) == 0;
        for choice in choices.into_iter().flatten().filter(first) {
            if let Some(delta) = choice.get("delta") {
                self.take_delta(delta, sink);
            }
            if let Some(reason) = choice.get("finish_reason").and_then(Value::as_str) {
                self.finish_reason = Some(reason.to_owned());
            }
        }
        Ok(Progress::More)
    }

    fn reported_usage(&self) -> Option<TokenUsage> {
        self.usage
    }

    fn call_bytes(&self) -> usize {
        self.calls.bytes()
    }

    /// `[DONE]`, or a finish reason without it (some servers end the stream right after).
    fn has_finished(&self) -> bool {
        self.saw_done || self.finish_reason.is_some()
    }

    fn cut_inside_tool_call(&mut self) -> bool {
        let is_inside = self.calls.has_open_call();
        if is_inside {
            self.finish_reason = Some("length".to_owned());
        }
        is_inside
    }

    /// Reports the usage, if the server sent it.
    fn finish(self, sink: Sink<'_>) -> Result<ModelReply, ProviderError> {
        let was_cut = self.finish_reason.as_deref() == Some("length");
        let (tool_calls, cut_calls) = self.calls.into_calls(was_cut);
        if let Some(usage) = self.usage {
            sink(StreamItem::Usage {
                model: self.model,
                usage,
                reported_cost_usd: None,
                estimated: false,
            });
        }
        let stop = stop_reason(self.finish_reason.as_deref(), !tool_calls.is_empty());
        Ok(ModelReply {
            text: self.text,
            tool_calls,
            stop,
            cut_calls,
        })
    }
}

/// Reads a non-streaming `chat.completion` object: the reply, its reasoning and its usage.
pub fn parse_completion(
    url: &str,
    body: &Value,
) -> Result<(ModelReply, Option<String>, Option<TokenUsage>), ProviderError> {
    if let Some(error) = body.get("error").filter(|e| !e.is_null()) {
        return Err(stream_error(url, error));
    }
    let Some(choice) = body.pointer("/choices/0") else {
        return Err(ProviderError::Protocol {
            url: url.to_owned(),
            detail: format!("the reply has no choices: {}", sse::clip(&body.to_string())),
        });
    };
    let message = choice.get("message").unwrap_or(&Value::Null);
    let text = message
        .get("content")
        .and_then(Value::as_str)
        .unwrap_or_default()
        .to_owned();
    let reasoning = reasoning_in(message).map(str::to_owned);
    let mut calls = CallAssembly::default();
    if let Some(entries) = message.get("tool_calls").and_then(Value::as_array) {
        calls.take(entries);
    }
    let finish = choice.get("finish_reason").and_then(Value::as_str);
    let (tool_calls, cut_calls) = calls.into_calls(finish == Some("length"));
    let stop = stop_reason(finish, !tool_calls.is_empty());
    let usage = body.get("usage").filter(|u| u.is_object()).map(usage_from);
    Ok((
        ModelReply {
            text,
            tool_calls,
            stop,
            cut_calls,
        },
        reasoning,
        usage,
    ))
}

/// Reasoning text under either name servers use for it.
fn reasoning_in(delta: &Value) -> Option<&str> {
    ["reasoning_content", "reasoning"]
        .into_iter()
        .filter_map(|key| delta.get(key).and_then(Value::as_str))
        .find(|text| !text.is_empty())
}

/// OpenAI's usage: cached prompt tokens are counted apart from the rest of the prompt.
fn usage_from(usage: &Value) -> TokenUsage {
    let count = |pointer: &str| usage.pointer(pointer).and_then(Value::as_u64).unwrap_or(0);
    let cached = count("/prompt_tokens_details/cached_tokens");
    TokenUsage {
        input: count("/prompt_tokens").saturating_sub(cached),
        output: count("/completion_tokens"),
        cache_read: cached,
        cache_write: 0,
    }
}

/// Why the model stopped. Some servers say `stop` after tool calls; the calls decide.
fn stop_reason(finish_reason: Option<&str>, has_tool_calls: bool) -> StopReason {
    match finish_reason {
        Some("tool_calls" | "function_call") => StopReason::ToolUse,
        Some("length") => StopReason::MaxTokens,
        Some("content_filter") => StopReason::ContentFilter,
        Some("stop") | None if has_tool_calls => StopReason::ToolUse,
        Some("stop") | None => StopReason::EndTurn,
        Some(other) => StopReason::Other(other.to_owned()),
    }
}

/// An `{"error": …}` inside a 200 reply: `Http` when it names an HTTP status, else `Protocol`.
fn stream_error(url: &str, error: &Value) -> ProviderError {
    let message = sse::message_in_json(&serde_json::json!({ "error": error }))
        .unwrap_or_else(|| sse::clip(&error.to_string()));
    let status = ["code", "status"]
        .into_iter()
        .filter_map(|key| error.get(key).and_then(Value::as_u64))
        .find(|code| (400..=599).contains(code))
        .and_then(|code| u16::try_from(code).ok());
    match status {
        Some(status) => ProviderError::Http {
            url: url.to_owned(),
            status,
            message,
            retry_after: None,
        },
        None => ProviderError::Protocol {
            url: url.to_owned(),
            detail: format!("the server reported an error: {message}"),
        },
    }
}

#[cfg(test)]
mod tests {
    use pretty_assertions::assert_eq;
    use serde_json::json;

    use super::*;
    use crate::engine::conversation::ToolCall;
    use crate::engine::protocol::CallId;
    use crate::engine::provider::stream::decode_lines;

    /// Feeds every `data:` line of an SSE text, as the event reader would.
    fn run(sse_text: &str) -> (Result<ModelReply, ProviderError>, Vec<StreamItem>) {
        decode_lines(ChatStream::new("u", "m"), sse_text)
    }

    #[test]
    fn text_arrives_in_pieces_and_usage_separates_cached_tokens() {
        let (reply, items) = run(r#"
data: {"id":"c1","choices":[{"index":0,"delta":{"role":"assistant","content":""},"finish_reason":null}]}
data: {"id":"c1","choices":[{"index":0,"delta":{"content":"Hel"},"finish_reason":null}],"x_unknown":1}
data: {"id":"c1","choices":[{"index":0,"delta":{"reasoning_content":"thinking"},"finish_reason":null}]}
data: {"id":"c1","choices":[{"index":0,"delta":{"content":"lo"},"finish_reason":"stop"}]}
data: {"id":"c1","choices":[],"usage":{"prompt_tokens":100,"completion_tokens":7,"total_tokens":107,"prompt_tokens_details":{"cached_tokens":60}}}
data: [DONE]
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
                StreamItem::TextDelta("Hel".into()),
                StreamItem::Reasoning("thinking".into()),
                StreamItem::TextDelta("lo".into()),
                StreamItem::Usage {
                    model: "m".into(),
                    usage: TokenUsage {
                        input: 40,
                        output: 7,
                        cache_read: 60,
                        cache_write: 0
                    },
                    reported_cost_usd: None,
                    estimated: false,
                },
            ]
        );
    }

    #[test]
    fn two_tool_calls_are_pieced_together_by_index() {
        let (reply, _) = run(r#"
data: {"choices":[{"index":0,"delta":{"tool_calls":[{"index":0,"id":"call_a","type":"function","function":{"name":"read","arguments":""}}]}}]}
data: {"choices":[{"index":0,"delta":{"tool_calls":[{"index":0,"function":{"arguments":"{\"path\": "}}]}}]}
data: {"choices":[{"index":0,"delta":{"tool_calls":[{"index":1,"id":"call_b","type":"function","function":{"name":"bash","arguments":"{\"command\":\"ls\"}"}}]}}]}
data: {"choices":[{"index":0,"delta":{"tool_calls":[{"index":0,"function":{"arguments":"\"a.txt\"}"}}]}}]}
data: {"choices":[{"index":0,"delta":{},"finish_reason":"tool_calls"}]}
data: [DONE]
"#);
        assert_eq!(
            reply,
            Ok(ModelReply {
                text: String::new(),
                tool_calls: vec![
                    ToolCall {
                        id: CallId("call_a".into()),
                        tool: "read".into(),
                        args: json!({"path": "a.txt"})
                    },
                    ToolCall {
                        id: CallId("call_b".into()),
                        tool: "bash".into(),
                        args: json!({"command": "ls"})
                    },
                ],
                stop: StopReason::ToolUse,
                cut_calls: Vec::new(),
            })
        );
    }

    #[test]
    fn broken_or_missing_arguments_become_raw_or_empty_objects() {
        let (reply, _) = run(r#"
data: {"choices":[{"index":0,"delta":{"tool_calls":[{"index":0,"id":"x","function":{"name":"a","arguments":"{oops"}},{"index":1,"function":{"name":"b"}}]}}]}
data: {"choices":[{"index":0,"delta":{},"finish_reason":"stop"}]}
"#);
        let Ok(reply) = reply else {
            panic!("{reply:?}")
        };
        assert_eq!(reply.tool_calls[0].args, json!({"_raw": "{oops"}));
        assert_eq!(reply.tool_calls[1].id, CallId("call_1".into()));
        assert_eq!(reply.tool_calls[1].args, json!({}));
        assert_eq!(reply.stop, StopReason::ToolUse);
    }

    #[test]
    fn a_stream_cut_before_any_finish_reason_is_a_protocol_error() {
        let (reply, items) = run(r#"
data: {"choices":[{"index":0,"delta":{"content":"Hel"},"finish_reason":null}]}
"#);
        assert_eq!(reply, Err(sse::ended_early("u")));
        assert_eq!(items, vec![StreamItem::TextDelta("Hel".into())]);
    }

    #[test]
    fn a_finish_reason_without_done_is_enough() {
        let (reply, _) = run(r#"
data: {"choices":[{"index":0,"delta":{"content":"long"},"finish_reason":"length"}]}
"#);
        assert_eq!(reply.map(|r| r.stop), Ok(StopReason::MaxTokens));
    }

    #[test]
    fn a_call_cut_by_length_is_set_apart_and_the_whole_one_kept() {
        let (reply, _) = run(r#"
data: {"choices":[{"index":0,"delta":{"tool_calls":[{"index":0,"id":"a","function":{"name":"read","arguments":"{\"path\":\"a\"}"}}]}}]}
data: {"choices":[{"index":0,"delta":{"tool_calls":[{"index":1,"id":"b","function":{"name":"bash","arguments":"{\"comm"}}]}}]}
data: {"choices":[{"index":0,"delta":{},"finish_reason":"length"}]}
"#);
        assert_eq!(
            reply,
            Ok(ModelReply {
                text: String::new(),
                tool_calls: vec![ToolCall {
                    id: CallId("a".into()),
                    tool: "read".into(),
                    args: json!({"path": "a"}),
                }],
                stop: StopReason::MaxTokens,
                cut_calls: vec![ToolCall {
                    id: CallId("b".into()),
                    tool: "bash".into(),
                    args: json!({"_raw": "{\"comm"}),
                }],
            })
        );
    }

    #[test]
    fn a_stream_that_ends_inside_a_calls_arguments_is_cut_not_failed() {
        let (reply, _) = run(r#"
data: {"choices":[{"index":0,"delta":{"tool_calls":[{"index":0,"id":"b","function":{"name":"bash","arguments":"{\"comm"}}]}}]}
"#);
        let Ok(reply) = reply else {
            panic!("{reply:?}")
        };
        assert_eq!(reply.stop, StopReason::MaxTokens);
        assert_eq!(reply.tool_calls, vec![]);
        assert_eq!(reply.cut_calls.len(), 1);
    }

    #[test]
    fn a_content_filter_stop_is_reported_as_such() {
        let (reply, _) = run(r#"
data: {"choices":[{"index":0,"delta":{"content":"I"},"finish_reason":"content_filter"}]}
"#);
        assert_eq!(reply.map(|r| r.stop), Ok(StopReason::ContentFilter));
    }

    #[test]
    fn a_completion_cut_by_length_sets_its_broken_call_apart() {
        let body = json!({"choices": [{"finish_reason": "length", "message": {"content": null,
            "tool_calls": [{"id": "c", "function": {"name": "bash", "arguments": "{\"command\": \"l"}}]}}]});
        let (reply, _, _) = parse_completion("u", &body).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(reply.stop, StopReason::MaxTokens);
        assert_eq!(reply.tool_calls, vec![]);
        assert_eq!(reply.cut_calls[0].id, CallId("c".into()));
    }

    #[test]
    fn an_error_inside_the_stream_is_reported() {
        let (reply, _) = run(r#"
data: {"error":{"message":"upstream overloaded","code":502}}
"#);
        assert_eq!(
            reply,
            Err(ProviderError::Http {
                url: "u".into(),
                status: 502,
                message: "upstream overloaded".into(),
                retry_after: None
            })
        );
        let (reply, _) = run(r#"
data: {"error":{"message":"context too long","type":"invalid_request_error"}}
"#);
        assert_eq!(
            reply,
            Err(ProviderError::Protocol {
                url: "u".into(),
                detail: "the server reported an error: context too long".into()
            })
        );
    }

    #[test]
    fn a_chunk_that_is_not_json_is_a_protocol_error() {
        let (reply, _) = run("data: {nope\n");
        assert!(
            matches!(&reply, Err(ProviderError::Protocol { detail, .. }) if detail.starts_with("a stream chunk is not JSON")),
            "{reply:?}"
        );
    }

    #[test]
    fn a_non_streaming_completion_with_null_content_and_tool_calls() {
        let body = json!({
            "id": "chatcmpl-1", "object": "chat.completion",
            "choices": [{"index": 0, "finish_reason": "tool_calls", "message": {
                "role": "assistant", "content": null,
                "tool_calls": [{"id": "call__0_get_weather_cmpl-9", "type": "function",
                    "function": {"name": "get_weather", "arguments": "{\"city\": \"Paris\" }"}}],
                "function_call": {"name": "get_weather:", "arguments": "{}"}
            }}],
            "usage": {"prompt_tokens": 50, "completion_tokens": 9, "total_tokens": 59}
        });
        let (reply, reasoning, usage) =
            parse_completion("u", &body).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(
            reply,
            ModelReply {
                text: String::new(),
                tool_calls: vec![ToolCall {
                    id: CallId("call__0_get_weather_cmpl-9".into()),
                    tool: "get_weather".into(),
                    args: json!({"city": "Paris"}),
                }],
                stop: StopReason::ToolUse,
                cut_calls: Vec::new(),
            }
        );
        assert_eq!(reasoning, None);
        assert_eq!(
            usage,
            Some(TokenUsage {
                input: 50,
                output: 9,
                cache_read: 0,
                cache_write: 0
            })
        );
    }
}
