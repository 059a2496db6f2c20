//! The chat-completions request body: the conversation, the tools and the options in OpenAI's
//! wire shape, written so llama.cpp's servers accept it too.

use serde_json::{Value, json};

use crate::engine::conversation::Message;
use crate::engine::provider::{ModelRequest, sse};

/// The body of `POST /chat/completions`. `streaming` asks for SSE with a usage chunk; without it
/// the reply is one JSON object (the fallback for servers that end a stream without data).
pub fn chat_body(req: &ModelRequest<'_>, streaming: bool) -> Value {
    let mut body = json!({
        "model": req.model,
        "messages": wire_messages(req.system, req.messages),
        "stream": streaming,
    });
    if streaming {
        body["stream_options"] = json!({ "include_usage": true });
    }
    if let Some(temperature) = req.temperature {
        body["temperature"] = sse::json_f32(temperature);
    }
    if let Some(max_tokens) = req.max_tokens {
        body["max_tokens"] = json!(max_tokens);
    }
    if !req.tools.is_empty() {
        let tools: Vec<Value> = req
            .tools
            .iter()
            .map(|tool| {
                json!({
                    "type": "function",
                    "function": {
                        "name": tool.name,
                        "description": tool.description,
                        "parameters": tool.parameters,
                    },
                })
            })
            .collect();
        body["tools"] = Value::Array(tools);
        // llama-cpp-python ignores tools unless it is told to choose.
        body["tool_choice"] = json!("auto");
    }
    body
}

/// The system prompt (when there is one) and every message, tool results as one `tool` message
/// per result.
fn wire_messages(system: &str, messages: &[Message]) -> Vec<Value> {
    let mut wire = Vec::with_capacity(messages.len() + 1);
    if !system.is_empty() {
        wire.push(json!({ "role": "system", "content": system }));
    }
    for message in messages {
        match message {
            Message::User { text } => wire.push(json!({ "role": "user", "content": text })),
            Message::Assistant { text, tool_calls } => {
                // Always a string: llama-cpp-python answers HTTP 500 to `null` or a missing key.
                let mut assistant = json!({ "role": "assistant", "content": text });
                if !tool_calls.is_empty() {
                    let calls: Vec<Value> = tool_calls
                        .iter()
                        .map(|call| {
                            json!({
                                "id": call.id,
                                "type": "function",
                                "function": {
                                    "name": call.tool,
                                    "arguments": call.args.to_string(),
                                },
                            })
                        })
                        .collect();
                    assistant["tool_calls"] = Value::Array(calls);
                }
                wire.push(assistant);
            }
            Message::ToolResults { results } => {
                wire.extend(results.iter().map(|result| {
                    json!({
                        "role": "tool",
                        "tool_call_id": result.call,
                        "content": result.output,
                    })
                }));
            }
        }
    }
    wire
}

#[cfg(test)]
mod tests {
    use pretty_assertions::assert_eq;

    use super::*;
    use crate::engine::conversation::{ToolCall, ToolResult};
    use crate::engine::protocol::CallId;
    use crate::engine::tools::ToolSpec;

    fn weather_tool() -> ToolSpec {
        ToolSpec {
            name: "weather".into(),
            description: "Weather of a city".into(),
            parameters: json!({"type": "object", "properties": {"city": {"type": "string"}}}),
        }
    }

    #[test]
    fn a_streaming_body_asks_for_usage_and_offers_tools_with_auto_choice() {
        let tools = [weather_tool()];
        let messages = [Message::user("hi")];
        let req = ModelRequest {
            model: "gpt-4o",
            system: "Be brief.",
            messages: &messages,
            tools: &tools,
            temperature: Some(0.7),
            max_tokens: Some(256),
        };
        assert_eq!(
            chat_body(&req, true),
            json!({
                "model": "gpt-4o",
                "messages": [
                    {"role": "system", "content": "Be brief."},
                    {"role": "user", "content": "hi"},
                ],
                "stream": true,
                "stream_options": {"include_usage": true},
                "temperature": 0.7,
                "max_tokens": 256,
                "tools": [{"type": "function", "function": {
                    "name": "weather",
                    "description": "Weather of a city",
                    "parameters": {"type": "object", "properties": {"city": {"type": "string"}}},
                }}],
                "tool_choice": "auto",
            })
        );
    }

    #[test]
    fn a_plain_body_has_no_system_tools_or_options_it_was_not_given() {
        let messages = [Message::user("hi")];
        let req = ModelRequest {
            model: "m",
            system: "",
            messages: &messages,
            tools: &[],
            temperature: None,
            max_tokens: None,
        };
        assert_eq!(
            chat_body(&req, false),
            json!({
                "model": "m",
                "messages": [{"role": "user", "content": "hi"}],
                "stream": false,
            })
        );
    }

    #[test]
    fn tool_calls_and_results_use_the_wire_shape_llama_cpp_accepts() {
        let messages = [
            Message::user("weather?"),
            Message::Assistant {
                text: String::new(),
                tool_calls: vec![
                    ToolCall {
                        id: CallId("call_1".into()),
                        tool: "weather".into(),
                        args: json!({"city": "Paris"}),
                    },
                    ToolCall {
                        id: CallId("call_2".into()),
                        tool: "weather".into(),
                        args: json!({"city": "Oslo"}),
                    },
                ],
            },
            Message::ToolResults {
                results: vec![
                    ToolResult {
                        call: CallId("call_1".into()),
                        tool: "weather".into(),
                        ok: true,
                        output: "sunny".into(),
                    },
                    ToolResult {
                        call: CallId("call_2".into()),
                        tool: "weather".into(),
                        ok: false,
                        output: "no data".into(),
                    },
                ],
            },
            Message::assistant("Sunny in Paris."),
        ];
        assert_eq!(
            wire_messages("", &messages),
            vec![
                json!({"role": "user", "content": "weather?"}),
                json!({"role": "assistant", "content": "", "tool_calls": [
                    {"id": "call_1", "type": "function",
                     "function": {"name": "weather", "arguments": "{\"city\":\"Paris\"}"}},
                    {"id": "call_2", "type": "function",
                     "function": {"name": "weather", "arguments": "{\"city\":\"Oslo\"}"}},
                ]}),
                json!({"role": "tool", "tool_call_id": "call_1", "content": "sunny"}),
                json!({"role": "tool", "tool_call_id": "call_2", "content": "no data"}),
                json!({"role": "assistant", "content": "Sunny in Paris."}),
            ]
        );
    }
}
