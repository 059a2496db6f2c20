//! One agent's tool calls, in order: what was asked, whether it waits for approval, how it ended.

use std::time::Duration;

use crate::engine::protocol::CallId;

#[derive(Clone, Debug, PartialEq)]
pub enum CallState {
    Running,
    AwaitingApproval,
    Finished { ok: bool, duration: Duration },
}

#[derive(Clone, Debug, PartialEq)]
pub struct ToolCallView {
    pub call: CallId,
    pub tool: String,
    pub args: serde_json::Value,
    /// The Claude CLI ran it itself.
    pub runs_in_provider: bool,
    pub state: CallState,
    pub output: String,
    pub started: jiff::Timestamp,
}

impl ToolCallView {
    pub fn is_running(&self) -> bool {
        !matches!(self.state, CallState::Finished { .. })
    }
}
