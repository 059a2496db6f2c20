//! The mock's Messages side: an answer as the full event sequence (`message_start` with usage,
//! thinking / text / tool_use blocks, `message_delta`, `message_stop`) or as one message object,
//! and Anthropic error bodies.

use serde_json::{Value, json};

use super::answer::{Answer, halves};
use super::openai::Frames;
use super::reply::MockStop;

fn event(name: &str, data: &Value) -> String {
    format!("event: {name}\ndata: {data}\n\n")
}

fn stop_reason(stop: MockStop) -> &'static str {
    match stop {
        MockStop::EndTurn => "end_turn",
        MockStop::ToolUse => "tool_use",
        MockStop::MaxTokens => "max_tokens",
        MockStop::Refused => "refusal",
    }
}

fn start_usage(answer: &Answer) -> Value {
    json!({
        "input_tokens": answer.usage.input,
        "cache_creation_input_tokens": answer.usage.cache_write,
        "cache_read_input_tokens": answer.usage.cache_read,
        "output_tokens": 1,
    })
}

/// The content blocks of the whole answer, for the non-streaming form.
fn blocks(answer: &Answer) -> Vec<Value> {
    let mut blocks = Vec::new();
    if !answer.reasoning_chunks.is_empty() {
        blocks.push(
            json!({"type": "thinking", "thinking": answer.reasoning_chunks.concat(),
                           "signature": "mock-signature"}),
        );
    }
    let text = answer.text();
    if !text.is_empty() {
        blocks.push(json!({"type": "text", "text": text}));
    }
    for call in &answer.tool_calls {
        blocks.push(
            json!({"type": "tool_use", "id": call.id, "name": call.name, "input": call.args}),
        );
    }
    blocks
}

pub fn stream_frames(answer: &Answer) -> Frames {
    let mut frames = vec![event(
        "message_start",
        &json!({"type": "message_start", "message": {
            "id": format!("msg_mock{}", answer.id), "type": "message", "role": "assistant",
            "model": answer.model, "content": [], "stop_reason": null, "stop_sequence": null,
            "usage": start_usage(answer),
        }}),
    )];
    frames.push(event("ping", &json!({"type": "ping"})));
    let mut index = 0;
    let mut block = |frames: &mut Vec<String>, start: Value, deltas: Vec<Value>, closed: bool| {
        frames.push(event(
            "content_block_start",
            &json!({"type": "content_block_start", "index": index, "content_block": start}),
        ));
        for delta in deltas {
            frames.push(event(
                "content_block_delta",
                &json!({"type": "content_block_delta", "index": index, "delta": delta}),
            ));
        }
        if closed {
            frames.push(event(
                "content_block_stop",
                &json!({"type": "content_block_stop", "index": index}),
            ));
        }
        index += 1;
    };
    if !answer.reasoning_chunks.is_empty() {
        let mut deltas: Vec<Value> = answer
            .reasoning_chunks
            .iter()
            .map(|piece| json!({"type": "thinking_delta", "thinking": piece}))
            .collect();
        deltas.push(json!({"type": "signature_delta", "signature": "mock-signature"}));
        block(
            &mut frames,
            json!({"type": "thinking", "thinking": ""}),
            deltas,
            true,
        );
    }
    if !answer.text_chunks.is_empty() {
        let deltas = answer
            .text_chunks
            .iter()
            .map(|piece| json!({"type": "text_delta", "text": piece}))
            .collect();
        block(
            &mut frames,
            json!({"type": "text", "text": ""}),
            deltas,
            true,
        );
    }
    for (n, call) in answer.tool_calls.iter().enumerate() {
        let input = call.args.to_string();
        let is_cut = answer.cuts_last_call && n + 1 == answer.tool_calls.len();
        let pieces = halves(&input);
        let sent = if is_cut { &pieces[..1] } else { &pieces[..] };
        let deltas = sent
            .iter()
            .map(|piece| json!({"type": "input_json_delta", "partial_json": piece}))
            .collect();
        block(
            &mut frames,
            json!({"type": "tool_use", "id": call.id, "name": call.name, "input": {}}),
            deltas,
            !is_cut,
        );
    }
    // message_start, ping, content_block_start, then the first delta of the first block.
    let halfway = frames.len().min(4);
    frames.push(event(
        "message_delta",
        &json!({"type": "message_delta",
                "delta": {"stop_reason": stop_reason(answer.stop), "stop_sequence": null},
                "usage": {"output_tokens": answer.usage.output}}),
    ));
    frames.push(event("message_stop", &json!({"type": "message_stop"})));
    Frames { frames, halfway }
}

/// A non-streaming message.
pub fn message(answer: &Answer) -> Value {
    let mut usage = start_usage(answer);
    usage["output_tokens"] = json!(answer.usage.output);
    json!({
        "id": format!("msg_mock{}", answer.id), "type": "message", "role": "assistant",
        "model": answer.model, "content": blocks(answer),
        "stop_reason": stop_reason(answer.stop), "stop_sequence": null, "usage": usage,
    })
}

pub fn error_kind(status: u16) -> &'static str {
    match status {
        400 | 422 => "invalid_request_error",
        401 => "authentication_error",
        403 => "permission_error",
        404 => "not_found_error",
        413 => "request_too_large",
        429 => "rate_limit_error",
        529 => "overloaded_error",
        _ => "api_error",
    }
}

pub fn error_body(status: u16, message: &str) -> Value {
    json!({"type": "error", "error": {"type": error_kind(status), "message": message}})
}

pub fn error_frame(kind: &str, message: &str) -> String {
    event(
        "error",
        &json!({"type": "error", "error": {"type": kind, "message": message}}),
    )
}

pub fn models(ids: &[String]) -> Value {
    let data: Vec<Value> = ids
        .iter()
        .map(|id| {
            json!({"type": "model", "id": id, "display_name": id,
                   "created_at": "2025-01-01T00:00:00Z"})
        })
        .collect();
    json!({
        "data": data,
        "has_more": false,
        "first_id": ids.first(),
        "last_id": ids.last(),
    })
}
