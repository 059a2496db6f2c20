//! Model providers: one model call in, a stream of items and a reply out. The wire formats live in
//! one file each; `route` decides which one an agent talks to, `call` wraps HTTP calls in the
//! endpoint's limiter, breaker and retries.

pub mod anthropic;
pub mod backend;
pub mod bounds;
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
pub mod stream;
pub mod usage;

use std::time::Duration;

use crate::engine::conversation::{Message, ToolCall};
use crate::engine::protocol::{CallId, FailureKind, TokenUsage};
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
    /// The endpoint's limiter holds the call back: for about `eta`, or (`None`) until one of
    /// its concurrency slots frees.
    Waiting {
        limiter: String,
        eta: Option<Duration>,
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
    /// The endpoint is known to be down (a background probe or an earlier call could not
    /// connect): the call fails at once instead of waiting out the retries.
    #[error("{endpoint} is unreachable ({reason}): {hint}")]
    Unreachable {
        endpoint: String,
        reason: String,
        hint: String,
    },
    #[error("no answer from {url} within {}s", .after.as_secs())]
    Timeout { url: String, after: Duration },
    /// The whole call ran past `settings.call_timeout`, however lively the server was.
    #[error("{url} did not finish the reply within {}s (settings.call_timeout)", .after.as_secs())]
    Deadline { url: String, after: Duration },
    /// The server sent more than tzzr accepts: `limit` says which limit and its size.
    #[error("stopped reading {url}: {limit}")]
    TooLarge { url: String, limit: String },
    #[error("{url} refused the API key (HTTP {status}): {message}")]
    Auth {
        url: String,
        status: u16,
        message: String,
    },
    /// The key has no quota or credit left: waiting will not help, another model may.
    #[error("{url}: the key has no quota or credit left (HTTP {status}): {message}")]
    Quota {
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
        self.is_retryable()
            || matches!(
                self,
                ProviderError::Protocol { .. }
                    | ProviderError::Deadline { .. }
                    | ProviderError::TooLarge { .. }
            )
    }

    /// What kind of failure this is, for the turn's outcome.
    pub fn kind(&self) -> FailureKind {
        match self {
            ProviderError::MissingKey { .. } | ProviderError::Auth { .. } => FailureKind::Auth,
            ProviderError::Untrusted { .. } | ProviderError::CliMissing { .. } => {
                FailureKind::Config
            }
            ProviderError::Connect { .. }
            | ProviderError::Unreachable { .. }
            | ProviderError::Timeout { .. }
            | ProviderError::Deadline { .. } => FailureKind::Network,
            ProviderError::Quota { .. } => FailureKind::Quota,
            ProviderError::ContextTooLong { .. } => FailureKind::Context,
            ProviderError::Http {
                status, message, ..
            } => match status {
                429 => FailureKind::RateLimit,
                408 => FailureKind::Network,
                413 => FailureKind::Context,
                500..=599 => FailureKind::Server,
                _ if says_context_is_full(message) => FailureKind::Context,
                _ => FailureKind::Request,
            },
            ProviderError::Protocol { .. }
            | ProviderError::TooLarge { .. }
            | ProviderError::BreakerOpen { .. } => FailureKind::Server,
            ProviderError::Cli { .. } | ProviderError::Scripted { .. } => FailureKind::Other,
            ProviderError::Cancelled => FailureKind::Cancelled,
        }
    }
}

/// Whether a server's refusal says the prompt does not fit the model's context window, in the
/// words OpenAI, Anthropic, llama.cpp, Ollama and vLLM use.
fn says_context_is_full(message: &str) -> bool {
    const MARKERS: [&str; 6] = [
        "context_length_exceeded",
        "maximum context length",
        "context length",
        "context window",
        "prompt is too long",
        "exceeds the available context size",
    ];
    let message = message.to_ascii_lowercase();
    MARKERS.iter().any(|marker| message.contains(marker))
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
    fn failures_have_the_kind_a_front_end_routes_by() {
        let http = |status, message: &str| ProviderError::Http {
            url: "u".into(),
            status,
            message: message.into(),
            retry_after: None,
        };
        assert_eq!(http(429, "slow down").kind(), FailureKind::RateLimit);
        assert_eq!(http(503, "overloaded").kind(), FailureKind::Server);
        assert_eq!(http(404, "no such model").kind(), FailureKind::Request);
        assert_eq!(
            http(400, "This model's maximum context length is 8192 tokens").kind(),
            FailureKind::Context
        );
        assert_eq!(
            http(400, "prompt is too long: 210000 tokens > 200000 maximum").kind(),
            FailureKind::Context
        );
        let quota = ProviderError::Quota {
            url: "u".into(),
            status: 429,
            message: "You exceeded your current quota".into(),
        };
        assert_eq!(quota.kind(), FailureKind::Quota);
        assert!(!quota.is_retryable(), "waiting does not refill a quota");
        assert_eq!(
            ProviderError::MissingKey { var: "K".into() }.kind(),
            FailureKind::Auth
        );
        assert_eq!(
            ProviderError::Connect {
                url: "u".into(),
                detail: "refused".into()
            }
            .kind(),
            FailureKind::Network
        );
        assert_eq!(
            ProviderError::BreakerOpen {
                endpoint: "e".into(),
                probe_in: Duration::from_secs(3)
            }
            .kind(),
            FailureKind::Server
        );
        assert_eq!(ProviderError::Cancelled.kind(), FailureKind::Cancelled);
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
