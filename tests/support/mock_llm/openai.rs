//! The mock's chat-completions side: an answer as SSE chunks (role, reasoning, text, tool-call
//! pieces, finish, usage, `[DONE]`) or as one `chat.completion` object, and OpenAI error bodies.

use serde_json::{Value, json};

use super::answer::{Answer, halves};
use super::reply::MockStop;

/// SSE frames of a streamed answer.
pub struct Frames {
    pub frames: Vec<String>,
    /// Where a cut stream stops by default: after the first delta, before the finish.
    pub halfway: usize,
}

fn frame(data: &Value) -> String {
    format!("data: {data}\n\n")
}

fn chunk(answer: &Answer, delta: Value, finish_reason: Option<&str>) -> String {
    frame(&json!({
        "id": format!("chatcmpl-mock{}", answer.id),
        "object": "chat.completion.chunk",
        "created": 0,
        "model": answer.model,
        "choices": [{"index": 0, "delta": delta, "finish_reason": finish_reason}],
    }))
}

fn finish_reason(stop: MockStop) -> &'static str {
    match stop {
        MockStop::EndTurn => "stop",
        MockStop::ToolUse => "tool_calls",
        MockStop::MaxTokens => "length",
        MockStop::Refused => "content_filter",
    }
}

fn usage(answer: &Answer) -> Value {
    let prompt = answer.usage.input + answer.usage.cache_read;
    json!({
        "prompt_tokens": prompt,
        "completion_tokens": answer.usage.output,
        "total_tokens": prompt + answer.usage.output,
        "prompt_tokens_details": {"cached_tokens": answer.usage.cache_read},
    })
}

pub fn stream_frames(answer: &Answer, include_usage: bool) -> Frames {
    let mut frames = vec![chunk(
        answer,
        json!({"role": "assistant", "content": ""}),
        None,
    )];
    for piece in &answer.reasoning_chunks {
        frames.push(chunk(answer, json!({"reasoning_content": piece}), None));
    }
    for piece in &answer.text_chunks {
        frames.push(chunk(answer, json!({"content": piece}), None));
    }
    for (index, call) in answer.tool_calls.iter().enumerate() {
        let arguments = call.args.to_string();
        let [first, second] = halves(&arguments);
        frames.push(chunk(
            answer,
            json!({"tool_calls": [{"index": index, "id": call.id, "type": "function",
                "function": {"name": call.name, "arguments": first}}]}),
            None,
        ));
        if answer.cuts_last_call && index + 1 == answer.tool_calls.len() {
            break;
        }
        frames.push(chunk(
            answer,
            json!({"tool_calls": [{"index": index, "function": {"arguments": second}}]}),
            None,
        ));
    }
    // Frame 0 is the role; frame 1, if any before the finish, the first delta.
    let halfway = frames.len().min(2);
    frames.push(chunk(answer, json!({}), Some(finish_reason(answer.stop))));
    if include_usage {
        frames.push(frame(&json!({
            "id": format!("chatcmpl-mock{}", answer.id),
            "object": "chat.completion.chunk",
            "created": 0,
            "model": answer.model,
            "choices": [],
            "usage": usage(answer),
        })));
    }
    frames.push("data: [DONE]\n\n".to_owned());
    Frames { frames, halfway }
}

/// A non-streaming `chat.completion` (content `null` when there are only tool calls, as OpenAI
/// sends it).
pub fn completion(answer: &Answer) -> Value {
    let text = answer.text();
    let mut message = json!({
        "role": "assistant",
        "content": if text.is_empty() && !answer.tool_calls.is_empty() { Value::Null } else { json!(text) },
    });
    if !answer.reasoning_chunks.is_empty() {
        message["reasoning_content"] = json!(answer.reasoning_chunks.concat());
    }
    if !answer.tool_calls.is_empty() {
        message["tool_calls"] = answer
            .tool_calls
            .iter()
            .map(|call| {
                json!({"id": call.id, "type": "function",
                       "function": {"name": call.name, "arguments": call.args.to_string()}})
            })
            .collect();
    }
    json!({
        "id": format!("chatcmpl-mock{}", answer.id),
        "object": "chat.completion",
        "created": 0,
        "model": answer.model,
        "choices": [{"index": 0, "message": message, "finish_reason": finish_reason(answer.stop)}],
        "usage": usage(answer),
    })
}

pub fn error_body(status: u16, message: &str) -> Value {
    // OpenAI's answer to a key with no quota left: a 429 that is no rate limit.
    if message.contains("exceeded your current quota") {
        return json!({"error": {"message": message, "type": "insufficient_quota", "param": null, "code": "insufficient_quota"}});
    }
    let kind = match status {
        400 | 404 | 413 | 422 => "invalid_request_error",
        401 | 403 => "authentication_error",
        429 => "rate_limit_error",
        _ => "server_error",
    };
    json!({"error": {"message": message, "type": kind, "param": null, "code": null}})
}

/// An error inside a stream, as OpenRouter and LiteLLM send them.
pub fn error_frame(kind: &str, message: &str) -> String {
    frame(&json!({"error": {"message": message, "type": kind}}))
}

pub fn models(ids: &[String]) -> Value {
    let data: Vec<Value> = ids
        .iter()
        .map(|id| json!({"id": id, "object": "model", "created": 0, "owned_by": "mockllm"}))
        .collect();
    json!({"object": "list", "data": data})
}
