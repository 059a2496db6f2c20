//! What tzzr accepts from one model call, whatever the server sends: the size of a reply, of one
//! server-sent event, of a body read whole, the output tokens, and the time of the whole call.

use std::time::Duration;

use tokio::time::Instant;

use super::ProviderError;

const MB: usize = 1024 * 1024;

/// The limits of one HTTP model call; each one broken ends the call with
/// [`ProviderError::TooLarge`](super::ProviderError::TooLarge) or `Deadline`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Bounds {
    /// Text, reasoning and tool arguments of one reply.
    pub reply_bytes: usize,
    /// One server-sent event (its lines included).
    pub event_bytes: usize,
    /// A body read whole (a non-streaming reply, a model list).
    pub body_bytes: usize,
    /// The whole call, first byte to last: keep-alive comments do not extend it.
    pub call_deadline: Duration,
}

impl Default for Bounds {
    fn default() -> Self {
        Self {
            reply_bytes: 8 * MB,
            event_bytes: 4 * MB,
            body_bytes: 16 * MB,
            call_deadline: DEFAULT_CALL_DEADLINE,
        }
    }
}

/// `settings.call_timeout` when the config does not set it.
pub const DEFAULT_CALL_DEADLINE: Duration = Duration::from_secs(600);

/// When one call must be over, `settings.call_timeout` after it began.
#[derive(Clone, Copy, Debug)]
pub struct Deadline {
    at: Instant,
    after: Duration,
}

impl Deadline {
    /// A deadline `after` from now (tokio's clock, so paused tests can pass it).
    pub fn start(after: Duration) -> Self {
        Self {
            at: Instant::now() + after,
            after,
        }
    }

    pub fn remaining(&self) -> Duration {
        self.at.saturating_duration_since(Instant::now())
    }

    pub fn is_past(&self) -> bool {
        Instant::now() >= self.at
    }

    pub fn error(&self, url: &str) -> ProviderError {
        ProviderError::Deadline {
            url: url.to_owned(),
            after: self.after,
        }
    }
}

/// Output tokens (estimated from what streamed) past which a server is taken to ignore
/// `max_tokens`: four times it, and never under 4,096. `None` without a `max_tokens`.
pub fn output_token_limit(max_tokens: Option<u32>) -> Option<u64> {
    max_tokens.map(|m| (u64::from(m) * 4).max(4096))
}

/// A size for messages: `8 MB`, `512 KB`.
pub fn size(bytes: usize) -> String {
    if bytes >= MB && bytes.is_multiple_of(MB) {
        format!("{} MB", bytes / MB)
    } else {
        format!("{} KB", bytes.div_ceil(1024))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_token_limit_is_four_times_max_tokens_with_a_floor() {
        assert_eq!(output_token_limit(None), None);
        assert_eq!(output_token_limit(Some(100)), Some(4096));
        assert_eq!(output_token_limit(Some(8192)), Some(32_768));
        assert_eq!(
            output_token_limit(Some(u32::MAX)),
            Some(u64::from(u32::MAX) * 4)
        );
    }

    #[test]
    fn sizes_read_in_megabytes_or_kilobytes() {
        assert_eq!(size(8 * MB), "8 MB");
        assert_eq!(size(1000), "1 KB");
        assert_eq!(size(MB + 1), "1025 KB");
    }
}
