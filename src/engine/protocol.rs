//! The seam between the engine and its front ends: commands go in to an agent, events come out.
//! Everything a front end shows is derived from these events; everything a key does is a command.

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use serde::{Deserialize, Serialize};

/// Identifies one user turn of one agent (a prompt and everything it caused).
#[derive(
    Clone, Copy, Debug, Default, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize,
)]
#[serde(transparent)]
pub struct TurnId(pub u64);

impl std::fmt::Display for TurnId {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}", self.0)
    }
}

/// Identifies one tool call: the id the model gave it (`call_…`, `toolu_…`) or one tzzr made up.
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(transparent)]
pub struct CallId(pub String);

impl std::fmt::Display for CallId {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

/// An agent's name as written in the config; cheap to clone into every event.
pub type AgentName = Arc<str>;

/// What a front end asks of one agent.
#[derive(Clone, Debug, PartialEq)]
pub enum AgentCommand {
    /// Start a turn. Ignored with a `TurnFinished { Failed }` if a turn is already running.
    Prompt { turn: TurnId, text: String },
    /// Stop the running turn, if any, leaving the conversation consistent.
    Cancel,
    /// Forget the conversation (a new Claude CLI session too).
    Reset,
    /// Answer an `ApprovalNeeded` event.
    Approve { call: CallId, decision: Approval },
}

/// The user's answer to an approval request.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Approval {
    Allow,
    Deny,
    /// Allow, and do not ask again for this agent and tool.
    AlwaysAllow,
}

/// One thing that happened in an agent. Every event names its agent and turn and when it happened.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct AgentEvent {
    pub agent: AgentName,
    pub turn: TurnId,
    pub at: jiff::Timestamp,
    #[serde(flatten)]
    pub kind: EventKind,
}

impl AgentEvent {
    pub fn new(agent: AgentName, turn: TurnId, kind: EventKind) -> Self {
        Self {
            agent,
            turn,
            at: jiff::Timestamp::now(),
            kind,
        }
    }
}

/// Token counts of one model call (or, for the Claude CLI, of one whole run).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct TokenUsage {
    pub input: u64,
    pub output: u64,
    pub cache_read: u64,
    pub cache_write: u64,
}

impl TokenUsage {
    pub fn is_empty(&self) -> bool {
        *self == Self::default()
    }

    pub fn add(&mut self, other: TokenUsage) {
        self.input += other.input;
        self.output += other.output;
        self.cache_read += other.cache_read;
        self.cache_write += other.cache_write;
    }
}

/// The state of an endpoint's circuit breaker.
#[derive(Clone, Copy, Debug, PartialEq, Serialize)]
#[serde(tag = "state", rename_all = "snake_case")]
pub enum BreakerState {
    Closed,
    /// Calls are refused until the next probe.
    Open {
        #[serde(with = "millis")]
        probe_in: Duration,
    },
    HalfOpen,
}

/// What an endpoint's rate limiter looks like right now.
#[derive(Clone, Copy, Debug, Default, PartialEq, Serialize)]
pub struct LimiterSnapshot {
    /// Requests allowed per minute; `None` for no limit.
    pub rpm_limit: Option<u32>,
    /// Requests started in the last minute.
    pub rpm_used: u32,
    /// Tokens allowed per minute; `None` for no limit.
    pub tpm_limit: Option<u64>,
    /// Tokens used in the last minute.
    pub tpm_used: u64,
    /// Calls waiting for a slot.
    pub queued: u32,
    /// Retries made on this endpoint so far.
    pub retries: u32,
    /// What the server's headers last said about requests (`x-ratelimit-*-requests`,
    /// `anthropic-ratelimit-requests-*`), counted down as calls start.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub server_requests: Option<ServerQuota>,
    /// The same for tokens.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub server_tokens: Option<ServerQuota>,
    /// No call starts for this long: the server answered 429.
    #[serde(
        skip_serializing_if = "Option::is_none",
        serialize_with = "millis::serialize_option"
    )]
    pub paused_for: Option<Duration>,
}

/// One of a server's rate limits as its headers put it (counts past `u32::MAX` show as it).
#[derive(Clone, Copy, Debug, Default, PartialEq, Serialize)]
pub struct ServerQuota {
    pub limit: Option<u32>,
    pub remaining: Option<u32>,
    /// Until the server restores the limit; `None` when it did not say.
    #[serde(rename = "reset_in_ms", serialize_with = "millis::serialize_option")]
    pub reset_in: Option<Duration>,
}

/// How a turn ended.
#[derive(Clone, Debug, PartialEq, Serialize)]
#[serde(tag = "status", rename_all = "snake_case")]
pub enum Outcome {
    /// The final assistant text of the turn.
    Done {
        text: String,
    },
    Cancelled,
    Failed {
        error: String,
    },
}

impl Outcome {
    pub fn is_done(&self) -> bool {
        matches!(self, Outcome::Done { .. })
    }
}

/// The payload of an [`AgentEvent`].
#[derive(Clone, Debug, PartialEq, Serialize)]
#[serde(tag = "event", rename_all = "snake_case")]
pub enum EventKind {
    TurnStarted {
        prompt: String,
    },
    TextDelta {
        text: String,
    },
    Reasoning {
        text: String,
    },
    /// A tool call the model asked for. `runs_in_provider` is true when the provider runs it
    /// (the Claude CLI runs its own tools) and tzzr only reports it.
    ToolCallRequested {
        call: CallId,
        tool: String,
        args: serde_json::Value,
        runs_in_provider: bool,
    },
    ApprovalNeeded {
        call: CallId,
        tool: String,
        args: serde_json::Value,
        why: String,
    },
    ToolCallFinished {
        call: CallId,
        tool: String,
        ok: bool,
        /// What the model was given (capped).
        output: String,
        #[serde(with = "millis")]
        duration: Duration,
        /// Where the whole output is kept when the model got only part of it.
        #[serde(skip_serializing_if = "Option::is_none")]
        full_output: Option<PathBuf>,
    },
    Retry {
        attempt: u32,
        #[serde(with = "millis")]
        wait: Duration,
        reason: String,
    },
    Waiting {
        limiter: String,
        #[serde(with = "millis")]
        eta: Duration,
    },
    Usage {
        model: String,
        usage: TokenUsage,
        cost_usd: f64,
        /// False when the model has no price in the table (its cost is counted as 0).
        priced: bool,
        /// The server reported no usage: these counts are tzzr's estimate.
        #[serde(default, skip_serializing_if = "std::ops::Not::not")]
        estimated: bool,
        /// Free because this machine serves a model the price table does not know.
        #[serde(default, skip_serializing_if = "std::ops::Not::not")]
        local: bool,
    },
    Endpoint {
        endpoint: String,
        breaker: BreakerState,
        limiter: LimiterSnapshot,
    },
    /// Something the user should know that is neither output nor failure
    /// (a fallback taken, a budget nearly spent).
    Notice {
        text: String,
    },
    TurnFinished {
        outcome: Outcome,
    },
}

/// Serializes a `Duration` as whole milliseconds, the unit JSON consumers expect.
pub mod millis {
    use std::time::Duration;

    use serde::Serializer;

    pub fn serialize<S: Serializer>(d: &Duration, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_u64(u64::try_from(d.as_millis()).unwrap_or(u64::MAX))
    }

    /// `null`, or whole milliseconds.
    pub fn serialize_option<S: Serializer>(d: &Option<Duration>, s: S) -> Result<S::Ok, S::Error> {
        match d {
            Some(d) => serialize(d, s),
            None => s.serialize_none(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn events_serialize_flat_with_a_tag() {
        let event = AgentEvent {
            agent: "coder".into(),
            turn: TurnId(3),
            at: "2026-11-25T10:00:00Z".parse().unwrap(),
            kind: EventKind::ToolCallFinished {
                call: CallId("call_1".into()),
                tool: "read".into(),
                ok: true,
                output: "hi".into(),
                duration: Duration::from_millis(12),
                full_output: None,
            },
        };
        let json = serde_json::to_value(&event).unwrap();
        assert_eq!(
            json,
            serde_json::json!({
                "agent": "coder", "turn": 3, "at": "2026-11-25T10:00:00Z",
                "event": "tool_call_finished", "call": "call_1", "tool": "read",
                "ok": true, "output": "hi", "duration": 12
            })
        );
    }

    #[test]
    fn outcome_serializes_with_a_status() {
        let json = serde_json::to_value(Outcome::Failed {
            error: "boom".into(),
        })
        .unwrap();
        assert_eq!(
            json,
            serde_json::json!({"status": "failed", "error": "boom"})
        );
    }
}
