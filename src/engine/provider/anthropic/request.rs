//! The Messages request body: system prompt apart, content blocks, tool_use / tool_result, and
//! strict alternation of user and assistant turns.

use serde_json::{Value, json};

use crate::engine::conversation::Message;
use crate::engine::provider::{ModelRequest, sse};

/// Used when the agent sets no `max_tokens`: the API requires one.
pub const DEFAULT_MAX_TOKENS: u32 = 8192;

/// The body of a streaming `POST /v1/messages`.
pub fn messages_body(req: &ModelRequest<'_>) -> Value {
    let mut body = json!({
        "model": req.model,
        "messages": wire_messages(req.messages),
        "max_tokens": req.max_tokens.unwrap_or(DEFAULT_MAX_TOKENS),
        "stream": true,
    });
    if !req.system.is_empty() {
        body["system"] = json!(req.system);
    }
    if let Some(temperature) = req.temperature {
        body["temperature"] = sse::json_f32(temperature);
    }
    if !req.tools.is_empty() {
        let tools: Vec<Value> = req
            .tools
            .iter()
            .map(|tool| {
                json!({
                    "name": tool.name,
                    "description": tool.description,
                    "input_schema": tool.parameters,
                })
            })
            .collect();
        body["tools"] = Value::Array(tools);
    }
    body
}

/// The conversation as alternating turns. Consecutive messages of one role (tool results then
/// a user's words, or two prompts left by a cancelled turn) merge into one turn; a message with
/// nothing to say is left out, since the API refuses empty content.
fn wire_messages(messages: &[Message]) -> Vec<Value> {
    let mut turns: Vec<(&'static str, Vec<Value>)> = Vec::new();
    for message in messages {
        let (role, blocks) = blocks_of(message);
        if blocks.is_empty() {
            continue;
        }
        match turns.last_mut() {
            Some((last_role, last_blocks)) if *last_role == role => last_blocks.extend(blocks),
            _ => turns.push((role, blocks)),
        }
    }
    turns
        .into_iter()
        .map(|(role, mut blocks)| {
            let only_text = blocks.len() == 1 && blocks[0]["type"] == "text";
            let content = if only_text {
                blocks.swap_remove(0)["text"].take()
            } else {
                Value::Array(blocks)
            };
            json!({ "role": role, "content": content })
        })
        .collect()
}

fn blocks_of(message: &Message) -> (&'static str, Vec<Value>) {
    match message {
        Message::User { text } => ("user", text_block(text).into_iter().collect()),
        Message::Assistant { text, tool_calls } => {
            let mut blocks: Vec<Value> = text_block(text).into_iter().collect();
            blocks.extend(tool_calls.iter().map(|call| {
                json!({
                    "type": "tool_use",
                    "id": call.id,
                    "name": call.tool,
                    "input": as_object(&call.args),
                })
            }));
            ("assistant", blocks)
        }
        Message::ToolResults { results } => {
            let blocks = results
                .iter()
                .map(|result| {
                    json!({
                        "type": "tool_result",
                        "tool_use_id": result.call,
                        "content": result.output,
                        "is_error": !result.ok,
                    })
                })
                .collect();
            ("user", blocks)
        }
    }
}

/// A text block, or none for empty text (the API refuses empty text blocks).
fn text_block(text: &str) -> Option<Value> {
    (!text.is_empty()).then(|| json!({ "type": "text", "text": text }))
}

/// `input` must be an object; anything else is wrapped so it still reaches the model.
fn as_object(args: &Value) -> Value {
    if args.is_object() {
        args.clone()
    } else {
        json!({ "_raw": args.to_string() })
    }
}

#[cfg(test)]
mod tests {
    use pretty_assertions::assert_eq;

    use super::*;
    use crate::engine::conversation::{ToolCall, ToolResult};
    use crate::engine::protocol::CallId;
    use crate::engine::tools::ToolSpec;

    #[test]
    fn a_body_has_the_system_apart_a_default_max_tokens_and_tools_with_input_schema() {
        let tools = [ToolSpec {
            name: "read".into(),
            description: "Read a file".into(),
            parameters: json!({"type": "object"}),
        }];
        let messages = [Message::user("hi")];
        let req = ModelRequest {
            model: "claude-sonnet-4-5",
            system: "Be brief.",
            messages: &messages,
            tools: &tools,
            temperature: Some(0.2),
            max_tokens: None,
        };
        assert_eq!(
            messages_body(&req),
            json!({
                "model": "claude-sonnet-4-5",
                "system": "Be brief.",
                "messages": [{"role": "user", "content": "hi"}],
                "max_tokens": 8192,
                "stream": true,
                "temperature": 0.2,
                "tools": [{"name": "read", "description": "Read a file", "input_schema": {"type": "object"}}],
            })
        );
    }

    #[test]
    fn an_empty_system_and_no_tools_are_left_out() {
        let messages = [Message::user("hi")];
        let req = ModelRequest {
            model: "m",
            system: "",
            messages: &messages,
            tools: &[],
            temperature: None,
            max_tokens: Some(100),
        };
        let body = messages_body(&req);
        assert_eq!(body.get("system"), None);
        assert_eq!(body.get("tools"), None);
        assert_eq!(body.get("temperature"), None);
        assert_eq!(body["max_tokens"], 100);
    }

    #[test]
    fn tool_turns_use_blocks_and_same_role_messages_merge() {
        let messages = [
            Message::user("first, cancelled"),
            Message::user("list files"),
            Message::Assistant {
                text: "Let me look.".into(),
                tool_calls: vec![ToolCall {
                    id: CallId("toolu_1".into()),
                    tool: "bash".into(),
                    args: json!({"command": "ls"}),
                }],
            },
            Message::ToolResults {
                results: vec![ToolResult {
                    call: CallId("toolu_1".into()),
                    tool: "bash".into(),
                    ok: false,
                    output: "exit 2".into(),
                }],
            },
            Message::user("and now?"),
            Message::assistant(""),
            Message::assistant("Done."),
        ];
        assert_eq!(
            wire_messages(&messages),
            vec![
                json!({"role": "user", "content": [
                    {"type": "text", "text": "first, cancelled"},
                    {"type": "text", "text": "list files"},
                ]}),
                json!({"role": "assistant", "content": [
                    {"type": "text", "text": "Let me look."},
                    {"type": "tool_use", "id": "toolu_1", "name": "bash", "input": {"command": "ls"}},
                ]}),
                json!({"role": "user", "content": [
                    {"type": "tool_result", "tool_use_id": "toolu_1", "content": "exit 2", "is_error": true},
                    {"type": "text", "text": "and now?"},
                ]}),
                json!({"role": "assistant", "content": "Done."}),
            ]
        );
    }

    #[test]
    fn an_assistant_turn_with_only_tool_calls_has_no_empty_text_block() {
        let messages = [Message::Assistant {
            text: String::new(),
            tool_calls: vec![ToolCall {
                id: CallId("t".into()),
                tool: "glob".into(),
                args: json!("not an object"),
            }],
        }];
        assert_eq!(
            wire_messages(&messages),
            vec![json!({"role": "assistant", "content": [
                {"type": "tool_use", "id": "t", "name": "glob", "input": {"_raw": "\"not an object\""}},
            ]})]
        );
    }
}
