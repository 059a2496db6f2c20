//! Model providers: one model call in, a stream of items and a reply out. The wire formats live in
//! one file each; `route` decides which one an agent talks to, `call` wraps HTTP calls in the
//! endpoint's limiter, breaker and retries.

pub mod anthropic;
pub mod backend;
pub mod call;
pub mod claude_cli;
pub mod claude_stream;
pub mod context_limit;
pub mod context_probe;
pub mod openai;
pub mod provenance;
pub mod route;
pub mod scripted;
pub mod sse;

use std::time::Duration;

use crate::engine::conversation::{Message, ToolCall};
use crate::engine::protocol::{CallId, TokenUsage};
use crate::engine::tools::ToolSpec;

/// One model call: everything a provider needs to build its request.
#[derive(Clone, Copy, Debug)]
pub struct ModelRequest<'a> {
    /// The model id as the upstream API wants it (prefix such as `groq/` already removed).
    pub model: &'a str,
    pub system: &'a str,
    pub messages: &'a [Message],
    /// Tools offered natively; empty when the agent has none or uses the text protocol.
    pub tools: &'a [ToolSpec],
    pub temperature: Option<f32>,
    pub max_tokens: Option<u32>,
}

/// What a provider reports while a call runs, in order.
#[derive(Clone, Debug, PartialEq)]
pub enum StreamItem {
    TextDelta(String),
    Reasoning(String),
    /// A tool call the provider runs itself (the Claude CLI); tzzr only reports it.
    ProviderToolCall(ToolCall),
    /// The result of a [`StreamItem::ProviderToolCall`].
    ProviderToolResult {
        call: CallId,
        ok: bool,
        output: String,
    },
    /// Tokens used. `reported_cost_usd` is the provider's own figure (the Claude CLI's
    /// `total_cost_usd`), which wins over the price table.
    Usage {
        model: String,
        usage: TokenUsage,
        reported_cost_usd: Option<f64>,
        /// The server sent no usage (or the stream broke first): tzzr counted the tokens itself.
        estimated: bool,
    },
    /// The endpoint's rate limiter holds the call back for about `eta`.
    Waiting {
        limiter: String,
        eta: Duration,
    },
    /// The provider itself is retrying (the Claude CLI's `api_retry` lines).
    Retry {
        attempt: u32,
        wait: Duration,
        reason: String,
    },
    Notice(String),
}

/// Why the model stopped.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum StopReason {
    EndTurn,
    ToolUse,
    /// Cut by `max_tokens`: the text is incomplete.
    MaxTokens,
    /// Cut or withheld by the provider's content filter.
    ContentFilter,
    /// The model declined to answer (Anthropic's `refusal`).
    Refusal,
    Other(String),
}

/// The whole answer of one model call.
#[derive(Clone, Debug, PartialEq)]
pub struct ModelReply {
    pub text: String,
    /// Calls for tzzr to run. Empty for the Claude CLI, which runs its own.
    pub tool_calls: Vec<ToolCall>,
    pub stop: StopReason,
    /// Tool calls whose arguments the stream cut off (`max_tokens`): never run, the model is told.
    pub cut_calls: Vec<ToolCall>,
}

/// Where a provider reports [`StreamItem`]s.
pub type Sink<'a> = &'a mut (dyn FnMut(StreamItem) + Send);

/// Why a model call failed.
#[derive(Debug, thiserror::Error, Clone, PartialEq)]
pub enum ProviderError {
    #[error("no API key: set {var} (in the environment or a .env file beside the config)")]
    MissingKey { var: String },
    /// A key that must not go to this base URL, or a program a workspace file chose
    /// (`provenance`): `why` says which and how to fix it.
    #[error("{why}")]
    Untrusted { why: String },
    #[error("cannot reach {url}: {detail}")]
    Connect { url: String, detail: String },
    #[error("no answer from {url} within {}s", .after.as_secs())]
    Timeout { url: String, after: Duration },
    #[error("{url} refused the API key (HTTP {status}): {message}")]
    Auth {
        url: String,
        status: u16,
        message: String,
    },
    #[error("{url} answered HTTP {status}: {message}")]
    Http {
        url: String,
        status: u16,
        message: String,
        retry_after: Option<Duration>,
    },
    /// The reply could not be understood, or the stream ended before the model finished.
    #[error("bad reply from {url}: {detail}")]
    Protocol { url: String, detail: String },
    #[error(
        "claude CLI not found ({program}): install it with `npm install -g @anthropic-ai/claude-code`, or set TZZR_CLAUDE_BIN to its path"
    )]
    CliMissing { program: String },
    #[error("claude CLI: {message}")]
    Cli { message: String },
    #[error("circuit breaker open for {endpoint}: next try in {}s", .probe_in.as_secs().max(1))]
    BreakerOpen {
        endpoint: String,
        probe_in: Duration,
    },
    /// The server says the prompt does not fit the model's context window.
    #[error("{url}: the prompt is longer than the model's context window: {message}")]
    ContextTooLong { url: String, message: String },
    #[error("scripted provider: {message}")]
    Scripted { message: String },
    #[error("cancelled")]
    Cancelled,
}

impl ProviderError {
    /// Whether trying the same call again may succeed: connection failures, timeouts,
    /// HTTP 408/409/429 and 5xx. A cut stream is not retried (its text was already shown).
    pub fn is_retryable(&self) -> bool {
        match self {
            ProviderError::Connect { .. } | ProviderError::Timeout { .. } => true,
            ProviderError::Http { status, .. } => {
                matches!(status, 408 | 409 | 429) || (500..=599).contains(status)
            }
            _ => false,
        }
    }

    /// How long the server asked us to wait (`Retry-After`), if it did.
    pub fn retry_after(&self) -> Option<Duration> {
        match self {
            ProviderError::Http { retry_after, .. } => *retry_after,
            _ => None,
        }
    }

    /// Whether this failure says something about the endpoint's health (counts for the breaker).
    pub fn counts_against_endpoint(&self) -> bool {
        self.is_retryable() || matches!(self, ProviderError::Protocol { .. })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rate_limits_and_server_errors_are_retryable_but_auth_is_not() {
        let http = |status| ProviderError::Http {
            url: "u".into(),
            status,
            message: String::new(),
            retry_after: None,
        };
        assert!(http(429).is_retryable());
        assert!(http(503).is_retryable());
        assert!(!http(400).is_retryable());
        let auth = ProviderError::Auth {
            url: "u".into(),
            status: 401,
            message: String::new(),
        };
        assert!(!auth.is_retryable());
        assert!(!ProviderError::Cancelled.is_retryable());
    }

    #[test]
    fn missing_key_says_how_to_fix_it() {
        let e = ProviderError::MissingKey {
            var: "OPENAI_API_KEY".into(),
        };
        assert_eq!(
            e.to_string(),
            "no API key: set OPENAI_API_KEY (in the environment or a .env file beside the config)"
        );
    }
}
