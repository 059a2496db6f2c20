//! What the mock needs from a request body of either dialect: model, streaming flags, the last
//! user turn's text and any tool results it answers with. Tolerates every shape the real
//! clients send (string or block content, `system` messages inside `messages`, unknown fields).

use serde_json::Value;

/// The wire format of a request.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Dialect {
    OpenAi,
    Anthropic,
}

/// The parts of a chat request the mock answers from.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Incoming {
    pub model: String,
    pub stream: bool,
    /// OpenAI's `stream_options.include_usage`.
    pub include_usage: bool,
    /// The text blocks of the last user message, in order.
    pub user_texts: Vec<String>,
    /// `(call id, output)` when the last turn carries tool results.
    pub tool_results: Vec<(String, String)>,
    /// The size of the body, for the usage estimate.
    pub body_bytes: usize,
}

impl Incoming {
    pub fn read(dialect: Dialect, body: &Value, body_bytes: usize) -> Self {
        let messages: Vec<&Value> = body
            .get("messages")
            .and_then(Value::as_array)
            .map(|m| m.iter().collect())
            .unwrap_or_default();
        let (user_texts, tool_results) = match dialect {
            Dialect::OpenAi => openai_last_turn(&messages),
            Dialect::Anthropic => anthropic_last_turn(&messages),
        };
        Self {
            model: body
                .get("model")
                .and_then(Value::as_str)
                .unwrap_or("mock-model")
                .to_owned(),
            stream: body.get("stream").and_then(Value::as_bool).unwrap_or(false),
            include_usage: body
                .pointer("/stream_options/include_usage")
                .and_then(Value::as_bool)
                .unwrap_or(false),
            user_texts,
            tool_results,
            body_bytes,
        }
    }

    /// Every text of the last user message, for directives.
    pub fn user_text(&self) -> String {
        self.user_texts.join("\n")
    }
}

fn role(message: &Value) -> &str {
    message.get("role").and_then(Value::as_str).unwrap_or("")
}

fn is_instruction(message: &Value) -> bool {
    matches!(role(message), "system" | "developer")
}

/// OpenAI: trailing `tool` messages are tool results; else the last `user` message's text.
fn openai_last_turn(messages: &[&Value]) -> (Vec<String>, Vec<(String, String)>) {
    let conversation: Vec<&Value> = messages
        .iter()
        .copied()
        .filter(|m| !is_instruction(m))
        .collect();
    let trailing_results: Vec<(String, String)> = conversation
        .iter()
        .rev()
        .take_while(|m| role(m) == "tool")
        .map(|m| {
            (
                str_field(m, "tool_call_id"),
                texts_of(m.get("content")).join("\n"),
            )
        })
        .collect();
    if !trailing_results.is_empty() {
        return (Vec::new(), trailing_results.into_iter().rev().collect());
    }
    let texts = conversation
        .iter()
        .rev()
        .find(|m| role(m) == "user")
        .map(|m| texts_of(m.get("content")))
        .unwrap_or_default();
    (texts, Vec::new())
}

/// Anthropic: the last user message (system messages inside `messages` skipped); its
/// `tool_result` blocks if it has any, else its text blocks.
fn anthropic_last_turn(messages: &[&Value]) -> (Vec<String>, Vec<(String, String)>) {
    let Some(last_user) = messages.iter().rev().find(|m| role(m) == "user") else {
        return (Vec::new(), Vec::new());
    };
    let content = last_user.get("content");
    let results: Vec<(String, String)> = content
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .filter(|block| block.get("type").and_then(Value::as_str) == Some("tool_result"))
        .map(|block| {
            (
                str_field(block, "tool_use_id"),
                texts_of(block.get("content")).join("\n"),
            )
        })
        .collect();
    if results.is_empty() {
        (texts_of(content), Vec::new())
    } else {
        (Vec::new(), results)
    }
}

fn str_field(value: &Value, key: &str) -> String {
    value
        .get(key)
        .and_then(Value::as_str)
        .unwrap_or_default()
        .to_owned()
}

/// The texts of a content value: a string, or the `text` of each text block of a list.
fn texts_of(content: Option<&Value>) -> Vec<String> {
    match content {
        Some(Value::String(text)) => vec![text.clone()],
        Some(Value::Array(blocks)) => blocks
            .iter()
            .filter_map(|block| match block {
                Value::String(text) => Some(text.clone()),
                _ => block.get("text").and_then(Value::as_str).map(str::to_owned),
            })
            .collect(),
        _ => Vec::new(),
    }
}
