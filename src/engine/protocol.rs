//! The seam between the engine and its front ends: commands go in to an agent, events come out.
//! Everything a front end shows is derived from these events; everything a key does is a command.

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use serde::{Deserialize, Serialize};

pub use crate::engine::context::WindowSource;

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
    /// Start a turn. If one is running, this one is queued and starts when it ends (in order).
    Prompt { turn: TurnId, text: String },
    /// Stop the running turn, if any, leaving the conversation consistent. Queued prompts still
    /// run after it.
    Cancel,
    /// Forget the conversation (a new Claude CLI session too). A running turn is cancelled, and
    /// the prompts queued behind it end `Cancelled` without running.
    Reset,
    /// Answer an `ApprovalNeeded` event.
    Approve { call: CallId, decision: Approval },
    /// Summarise the older part of the conversation now (after the running turn, if any).
    Compact,
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
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
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

    /// Saturates: a server's wild figure never wraps a total.
    pub fn add(&mut self, other: TokenUsage) {
        self.input = self.input.saturating_add(other.input);
        self.output = self.output.saturating_add(other.output);
        self.cache_read = self.cache_read.saturating_add(other.cache_read);
        self.cache_write = self.cache_write.saturating_add(other.cache_write);
    }
}

/// The state of an endpoint's circuit breaker.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
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
#[derive(Clone, Copy, Debug, Default, PartialEq, Serialize, Deserialize)]
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
        default,
        skip_serializing_if = "Option::is_none",
        with = "millis::option"
    )]
    pub paused_for: Option<Duration>,
}

/// One of a server's rate limits as its headers put it (counts past `u32::MAX` show as it).
#[derive(Clone, Copy, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct ServerQuota {
    pub limit: Option<u32>,
    pub remaining: Option<u32>,
    /// Until the server restores the limit; `None` when it did not say.
    #[serde(rename = "reset_in_ms", default, with = "millis::option")]
    pub reset_in: Option<Duration>,
}

/// How a turn ended.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(tag = "status", rename_all = "snake_case")]
pub enum Outcome {
    /// The final assistant text of the turn.
    Done {
        text: String,
    },
    /// The model stopped before it finished: `text` is what it wrote, cut or withheld.
    Stopped {
        text: String,
        reason: StoppedBy,
    },
    Cancelled,
    Failed {
        error: String,
        /// What failed, for front ends to colour and route by (never by reading `error`).
        kind: FailureKind,
    },
}

impl Outcome {
    pub fn is_done(&self) -> bool {
        matches!(self, Outcome::Done { .. })
    }

    pub fn failed(kind: FailureKind, error: impl Into<String>) -> Self {
        Outcome::Failed {
            error: error.into(),
            kind,
        }
    }
}

/// Why a model's answer is not whole.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum StoppedBy {
    /// The answer reached `max_tokens` (twice, when a tool call was cut).
    MaxTokens,
    /// The provider's content filter withheld or cut the answer.
    ContentFilter,
    /// The model declined to answer.
    Refusal,
}

impl StoppedBy {
    /// One line for the user: what happened and what to do.
    pub fn describe(self) -> &'static str {
        match self {
            StoppedBy::MaxTokens => {
                "the answer was cut off at max_tokens: raise the agent's max_tokens or ask for a shorter answer"
            }
            StoppedBy::ContentFilter => "the provider's content filter withheld or cut the answer",
            StoppedBy::Refusal => "the model declined to answer",
        }
    }
}

/// Why a turn failed, in a word a front end can match on.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum FailureKind {
    /// No key, or the server refused it (HTTP 401/403).
    Auth,
    /// The server's rate limit (HTTP 429), still there after the retries.
    RateLimit,
    /// The key has no quota or credit left (HTTP 402, `insufficient_quota`, a billing error).
    Quota,
    /// tzzr's own `budget_usd` refused the call.
    Budget,
    /// The conversation is longer than the model's context window.
    Context,
    /// The server could not be reached or did not answer in time.
    Network,
    /// The server failed: HTTP 5xx, a broken reply, or its circuit breaker is open.
    Server,
    /// The server refused the request itself (HTTP 400, 404, 422: a wrong model name, …).
    Request,
    /// The agent cannot run as configured: an untrusted base URL, a missing program.
    Config,
    /// The model called the same tool with the same arguments too many times in a row.
    Loop,
    Cancelled,
    /// A bug in tzzr (a turn panicked).
    Internal,
    /// Anything else (a scripted failure, a Claude CLI error).
    Other,
}

impl FailureKind {
    /// Whether the failure says something about the endpoint the agent talks to (and belongs
    /// in the endpoints view), rather than about tzzr's own limits or the turn.
    pub fn is_about_endpoint(self) -> bool {
        match self {
            FailureKind::Auth
            | FailureKind::RateLimit
            | FailureKind::Quota
            | FailureKind::Context
            | FailureKind::Network
            | FailureKind::Server
            | FailureKind::Request => true,
            FailureKind::Budget
            | FailureKind::Config
            | FailureKind::Loop
            | FailureKind::Cancelled
            | FailureKind::Internal
            | FailureKind::Other => false,
        }
    }
}

/// What a background probe found of an endpoint.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum EndpointHealth {
    /// It answers and takes the key.
    Healthy,
    /// It answers, but refuses the probe (a wrong key, no model list).
    Failing,
    /// It cannot be reached: prompts to its agents fail at once until it answers again.
    Unreachable,
}

/// The payload of an [`AgentEvent`].
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
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
        #[serde(default, skip_serializing_if = "Option::is_none")]
        full_output: Option<PathBuf>,
    },
    Retry {
        attempt: u32,
        #[serde(with = "millis")]
        wait: Duration,
        reason: String,
    },
    /// Held back before a model call: by a rate limit until `eta` has passed, or, with no
    /// `eta` (`null`), until one of the endpoint's `concurrency` slots frees, which no clock
    /// can tell (a call in flight must end first).
    Waiting {
        limiter: String,
        #[serde(serialize_with = "millis::serialize_option")]
        eta: Option<Duration>,
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
    /// What a background probe (no tokens spent) found of the agent's endpoint; sent to every
    /// agent on it after each probe, with turn 0.
    Health {
        endpoint: String,
        health: EndpointHealth,
        /// What answered, or what is wrong and how to fix it.
        detail: String,
    },
    /// The turn went on with another model because `from` could not answer (`why`).
    FallbackTaken {
        from: String,
        to: String,
        why: String,
    },
    /// How full the agent's context window is: after each model call, a compaction, a reset,
    /// and once at start.
    Context {
        /// Tokens the next call's prompt takes (system prompt, tools, conversation), estimated
        /// and corrected by what the server reported.
        used: u64,
        window: u64,
        /// Where the window comes from; `default` means nothing said (8,192 assumed).
        source: WindowSource,
    },
    /// The older part of the conversation was replaced by a summary.
    Compacted {
        before_tokens: u64,
        after_tokens: u64,
        /// How many messages the summary replaced.
        messages: usize,
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

/// Serializes a `Duration` as whole milliseconds, the unit JSON consumers expect (and reads it
/// back, for a session's journal).
pub mod millis {
    use std::time::Duration;

    use serde::{Deserialize, Deserializer, Serializer};

    pub fn serialize<S: Serializer>(d: &Duration, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_u64(u64::try_from(d.as_millis()).unwrap_or(u64::MAX))
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Duration, D::Error> {
        u64::deserialize(d).map(Duration::from_millis)
    }

    /// `null`, or whole milliseconds.
    pub fn serialize_option<S: Serializer>(d: &Option<Duration>, s: S) -> Result<S::Ok, S::Error> {
        match d {
            Some(d) => serialize(d, s),
            None => s.serialize_none(),
        }
    }

    /// `Option<Duration>` as `null` or whole milliseconds, both ways.
    pub mod option {
        use std::time::Duration;

        use serde::{Deserialize, Deserializer, Serializer};

        pub fn serialize<S: Serializer>(d: &Option<Duration>, s: S) -> Result<S::Ok, S::Error> {
            super::serialize_option(d, s)
        }

        pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Option<Duration>, D::Error> {
            Option::<u64>::deserialize(d).map(|ms| ms.map(Duration::from_millis))
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
    fn a_cut_answer_is_stopped_not_done() {
        let json = serde_json::to_value(Outcome::Stopped {
            text: "The list: one, two,".into(),
            reason: StoppedBy::MaxTokens,
        })
        .unwrap();
        assert_eq!(
            json,
            serde_json::json!({"status": "stopped", "text": "The list: one, two,", "reason": "max_tokens"})
        );
    }

    #[test]
    fn outcome_serializes_with_a_status() {
        let json = serde_json::to_value(Outcome::failed(FailureKind::RateLimit, "boom")).unwrap();
        assert_eq!(
            json,
            serde_json::json!({"status": "failed", "error": "boom", "kind": "rate_limit"})
        );
    }
}
