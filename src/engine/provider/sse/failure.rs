//! What a failed HTTP exchange means: an unreachable server, a non-2xx answer with the server's
//! own message and `Retry-After`, or a stream that stopped too soon.

use std::error::Error as _;
use std::time::Duration;

use reqwest::header::HeaderMap;

use crate::engine::provider::ProviderError;

/// How much of an error body ends up in a message.
const MAX_MESSAGE_CHARS: usize = 500;

pub fn timeout(url: &str, after: Duration) -> ProviderError {
    ProviderError::Timeout {
        url: url.to_owned(),
        after,
    }
}

/// What a failed `send` means: the server could not be reached (retryable), or the request
/// itself is malformed (not retryable).
pub(super) fn send_error(url: &str, after: Duration, e: &reqwest::Error) -> ProviderError {
    if e.is_timeout() {
        timeout(url, after)
    } else if e.is_builder() {
        ProviderError::Protocol {
            url: url.to_owned(),
            detail: format!("cannot build the request: {}", describe(e)),
        }
    } else {
        ProviderError::Connect {
            url: url.to_owned(),
            detail: describe(e),
        }
    }
}

/// A short human reason for a reqwest failure, from the innermost cause ("connection refused"
/// rather than "error sending request for url (…)").
pub fn describe(e: &reqwest::Error) -> String {
    let mut innermost: &dyn std::error::Error = e;
    let mut source = e.source();
    while let Some(cause) = source {
        if let Some(io) = cause.downcast_ref::<std::io::Error>() {
            return describe_io(io);
        }
        innermost = cause;
        source = cause.source();
    }
    innermost.to_string()
}

fn describe_io(io: &std::io::Error) -> String {
    use std::io::ErrorKind;
    match io.kind() {
        ErrorKind::ConnectionRefused => "connection refused".to_owned(),
        ErrorKind::ConnectionReset => "connection reset by the server".to_owned(),
        ErrorKind::ConnectionAborted => "connection aborted".to_owned(),
        ErrorKind::TimedOut => "timed out".to_owned(),
        ErrorKind::UnexpectedEof => "the server closed the connection".to_owned(),
        _ => io.to_string(),
    }
}

/// The error for a non-2xx answer: `Auth` for 401/403, `Http` otherwise, with the server's
/// message and its `Retry-After` (relative to `now` when it is a date).
pub fn status_error(
    url: &str,
    status: u16,
    headers: &HeaderMap,
    body: &str,
    now: jiff::Timestamp,
) -> ProviderError {
    let message = error_message(status, body);
    if says_no_quota(status, body) {
        ProviderError::Quota {
            url: url.to_owned(),
            status,
            message,
        }
    } else if super::super::context_limit::is_context_too_long(status, body) {
        ProviderError::ContextTooLong {
            url: url.to_owned(),
            message,
        }
    } else if matches!(status, 401 | 403) {
        ProviderError::Auth {
            url: url.to_owned(),
            status,
            message,
        }
    } else {
        ProviderError::Http {
            url: url.to_owned(),
            status,
            message,
            retry_after: retry_after(headers, now),
        }
    }
}

/// Whether the answer says the key has no quota or credit left: HTTP 402, OpenAI's
/// `insufficient_quota`, Anthropic's `billing_error` or its "credit balance is too low".
fn says_no_quota(status: u16, body: &str) -> bool {
    if status == 402 {
        return true;
    }
    let Ok(json) = serde_json::from_str::<serde_json::Value>(body) else {
        return false;
    };
    let field = |pointer: &str| json.pointer(pointer).and_then(serde_json::Value::as_str);
    let marked = ["/error/code", "/error/type"]
        .into_iter()
        .filter_map(field)
        .any(|word| matches!(word, "insufficient_quota" | "billing_error"));
    marked
        || field("/error/message")
            .is_some_and(|m| m.to_ascii_lowercase().contains("credit balance is too low"))
}

/// The server's explanation of an error: `error.message` (OpenAI, Anthropic), `message`,
/// `detail`, a string `error`, else the body itself (clipped), else the status's reason.
pub fn error_message(status: u16, body: &str) -> String {
    let from_json = serde_json::from_str::<serde_json::Value>(body)
        .ok()
        .and_then(|json| message_in_json(&json));
    let message = match from_json {
        Some(message) => message,
        None => clip(body.trim()),
    };
    if !message.is_empty() {
        return message;
    }
    reqwest::StatusCode::from_u16(status)
        .ok()
        .and_then(|s| s.canonical_reason())
        .unwrap_or("no message")
        .to_owned()
}

/// The message of an error object in any of the usual shapes, if there is one.
pub fn message_in_json(json: &serde_json::Value) -> Option<String> {
    let candidates = [
        json.pointer("/error/message"),
        json.get("message"),
        json.get("detail"),
        json.get("error"),
    ];
    candidates
        .into_iter()
        .flatten()
        .find_map(|v| v.as_str().filter(|s| !s.is_empty()))
        .map(clip)
}

/// How long the server asked us to wait: `retry-after-ms` (OpenAI), else `Retry-After` in
/// seconds or as an HTTP-date.
pub fn retry_after(headers: &HeaderMap, now: jiff::Timestamp) -> Option<Duration> {
    let header = |name: &str| {
        headers
            .get(name)
            .and_then(|v| v.to_str().ok())
            .map(str::trim)
    };
    if let Some(ms) = header("retry-after-ms").and_then(|v| v.parse::<f64>().ok()) {
        return Duration::try_from_secs_f64(ms / 1000.0).ok();
    }
    let value = header("retry-after")?;
    if let Ok(seconds) = value.parse::<f64>() {
        return Duration::try_from_secs_f64(seconds).ok();
    }
    let at = jiff::fmt::rfc2822::DateTimeParser::new()
        .parse_timestamp(value)
        .ok()?;
    Some(Duration::try_from(at.duration_since(now)).unwrap_or(Duration::ZERO))
}

/// Cuts long server text to a readable size, on a character boundary.
pub fn clip(text: &str) -> String {
    match text.char_indices().nth(MAX_MESSAGE_CHARS) {
        Some((end, _)) => format!("{}…", &text[..end]),
        None => text.to_owned(),
    }
}

/// The error every dialect reports when the stream ended before the model finished.
pub fn ended_early(url: &str) -> ProviderError {
    ProviderError::Protocol {
        url: url.to_owned(),
        detail: "the stream ended before the model finished".to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use reqwest::header::HeaderValue;

    fn headers(pairs: &[(&'static str, &'static str)]) -> HeaderMap {
        let mut map = HeaderMap::new();
        for (name, value) in pairs {
            map.insert(*name, HeaderValue::from_static(value));
        }
        map
    }

    fn at(text: &str) -> jiff::Timestamp {
        text.parse().unwrap_or_else(|e| panic!("{text}: {e}"))
    }

    #[test]
    fn retry_after_reads_seconds_milliseconds_and_http_dates() {
        let now = at("2026-11-25T12:00:00Z");
        assert_eq!(
            retry_after(&headers(&[("retry-after", "7")]), now),
            Some(Duration::from_secs(7))
        );
        assert_eq!(
            retry_after(
                &headers(&[("retry-after", "7"), ("retry-after-ms", "1500")]),
                now
            ),
            Some(Duration::from_millis(1500))
        );
        assert_eq!(
            retry_after(
                &headers(&[("retry-after", "Wed, 25 Nov 2026 12:00:30 GMT")]),
                now
            ),
            Some(Duration::from_secs(30))
        );
        assert_eq!(
            retry_after(
                &headers(&[("retry-after", "Wed, 25 Nov 2026 11:00:00 GMT")]),
                now
            ),
            Some(Duration::ZERO)
        );
        assert_eq!(retry_after(&headers(&[("retry-after", "soon")]), now), None);
        assert_eq!(retry_after(&headers(&[("retry-after", "-3")]), now), None);
        assert_eq!(
            retry_after(&headers(&[("retry-after", "1e300")]), now),
            None
        );
        assert_eq!(retry_after(&HeaderMap::new(), now), None);
    }

    #[test]
    fn status_errors_carry_the_servers_message() {
        let now = at("2026-11-25T12:00:00Z");
        let body =
            r#"{"error":{"message":"Incorrect API key provided","type":"invalid_request_error"}}"#;
        assert_eq!(
            status_error("u", 401, &HeaderMap::new(), body, now),
            ProviderError::Auth {
                url: "u".into(),
                status: 401,
                message: "Incorrect API key provided".into()
            }
        );
        let limited = status_error(
            "u",
            429,
            &headers(&[("retry-after", "2")]),
            r#"{"type":"error","error":{"type":"rate_limit_error","message":"slow down"}}"#,
            now,
        );
        assert_eq!(
            limited,
            ProviderError::Http {
                url: "u".into(),
                status: 429,
                message: "slow down".into(),
                retry_after: Some(Duration::from_secs(2)),
            }
        );
        assert!(limited.is_retryable());
    }

    #[test]
    fn an_empty_quota_is_not_a_rate_limit() {
        let now = at("2026-11-25T12:00:00Z");
        let openai = r#"{"error":{"message":"You exceeded your current quota","type":"insufficient_quota","code":"insufficient_quota"}}"#;
        let anthropic_billing =
            r#"{"type":"error","error":{"type":"billing_error","message":"pay up"}}"#;
        let anthropic_credit = r#"{"type":"error","error":{"type":"invalid_request_error","message":"Your credit balance is too low to access the Anthropic API."}}"#;
        for (status, body) in [
            (429, openai),
            (402, anthropic_billing),
            (400, anthropic_credit),
            (402, ""),
        ] {
            let error = status_error("u", status, &HeaderMap::new(), body, now);
            assert!(
                matches!(error, ProviderError::Quota { status: s, .. } if s == status),
                "{status} {body}: {error:?}"
            );
        }
        let plain =
            r#"{"error":{"message":"slow down","type":"requests","code":"rate_limit_exceeded"}}"#;
        assert!(matches!(
            status_error("u", 429, &HeaderMap::new(), plain, now),
            ProviderError::Http { status: 429, .. }
        ));
    }

    #[test]
    fn error_messages_fall_back_to_the_body_then_the_reason() {
        assert_eq!(error_message(500, r#"{"detail":"boom"}"#), "boom");
        assert_eq!(
            error_message(502, "Bad gateway from nginx\n"),
            "Bad gateway from nginx"
        );
        assert_eq!(error_message(503, ""), "Service Unavailable");
        assert_eq!(
            error_message(
                500,
                r#"{"error":{"message":"","type":"internal_server_error"}}"#
            ),
            r#"{"error":{"message":"","type":"internal_server_error"}}"#
        );
        let long = "x".repeat(2000);
        assert_eq!(
            error_message(500, &long).chars().count(),
            MAX_MESSAGE_CHARS + 1
        );
    }
}
