//! The provider-neutral shape of a conversation: what each provider translates to its own wire
//! format. Owned by the agent task; providers only read it.

use serde::{Deserialize, Serialize};

use super::protocol::CallId;

/// A tool call as the model asked for it.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ToolCall {
    pub id: CallId,
    pub tool: String,
    /// The arguments object. Arguments that were not valid JSON arrive as
    /// `{"_raw": "<text>"}` so the tool can report the problem to the model.
    pub args: serde_json::Value,
}

/// What running a tool call produced, as sent back to the model.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ToolResult {
    pub call: CallId,
    pub tool: String,
    pub ok: bool,
    pub output: String,
}

/// One message of a conversation. The system prompt is not a message: it belongs to the agent.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(tag = "role", rename_all = "snake_case")]
pub enum Message {
    User {
        text: String,
    },
    Assistant {
        text: String,
        tool_calls: Vec<ToolCall>,
    },
    /// The results of every tool call of the assistant message just before, in the same order.
    ToolResults {
        results: Vec<ToolResult>,
    },
}

impl Message {
    pub fn user(text: impl Into<String>) -> Self {
        Message::User { text: text.into() }
    }

    pub fn assistant(text: impl Into<String>) -> Self {
        Message::Assistant {
            text: text.into(),
            tool_calls: Vec::new(),
        }
    }

    /// A rough size in characters, for budget estimates before a call.
    pub fn approx_chars(&self) -> usize {
        match self {
            Message::User { text } => text.len(),
            Message::Assistant { text, tool_calls } => {
                text.len()
                    + tool_calls
                        .iter()
                        .map(|c| c.tool.len() + c.args.to_string().len())
                        .sum::<usize>()
            }
            Message::ToolResults { results } => results.iter().map(|r| r.output.len() + 16).sum(),
        }
    }
}

/// The text of the last user message, `""` if there is none.
pub fn last_user_text(messages: &[Message]) -> &str {
    messages
        .iter()
        .rev()
        .find_map(|m| match m {
            Message::User { text } => Some(text.as_str()),
            Message::Assistant { .. } | Message::ToolResults { .. } => None,
        })
        .unwrap_or("")
}
