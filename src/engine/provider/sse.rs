//! HTTP plumbing shared by the HTTP dialects: sending a request under the endpoint's timeout and
//! the caller's cancel token, turning failures into [`ProviderError`]s, and reading server-sent
//! events with a limit on silence.

use std::error::Error as _;
use std::future::Future;
use std::pin::Pin;
use std::time::Duration;

use eventsource_stream::{EventStreamError, Eventsource};
use futures::{Stream, StreamExt};
use reqwest::header::HeaderMap;
use tokio_util::sync::CancellationToken;

use super::ProviderError;
use crate::engine::resilience::Endpoint;

/// How much of an error body ends up in a message.
const MAX_MESSAGE_CHARS: usize = 500;

/// One server-sent event: its `event:` name (`message` when absent) and its `data:`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SseEvent {
    pub event: String,
    pub data: String,
}

/// Awaits `work` unless `cancel` fires first; on cancel the future (and any response it holds,
/// closing the connection) is dropped at once.
pub async fn unless_cancelled<T>(
    cancel: &CancellationToken,
    work: impl Future<Output = T>,
) -> Result<T, ProviderError> {
    tokio::select! {
        biased;
        () = cancel.cancelled() => Err(ProviderError::Cancelled),
        out = work => Ok(out),
    }
}

/// Sends `request` and waits for the response head, at most `ep.timeout`. A non-2xx answer
/// becomes `Auth` (401/403) or `Http`, with the server's own message.
pub async fn send(
    ep: &Endpoint,
    url: &str,
    request: reqwest::RequestBuilder,
    cancel: &CancellationToken,
) -> Result<reqwest::Response, ProviderError> {
    let response =
        match unless_cancelled(cancel, tokio::time::timeout(ep.timeout, request.send())).await? {
            Err(_elapsed) => return Err(timeout(url, ep.timeout)),
            Ok(Err(e)) => return Err(send_error(url, ep.timeout, &e)),
            Ok(Ok(response)) => response,
        };
    let status = response.status();
    if status.is_success() {
        return Ok(response);
    }
    let headers = response.headers().clone();
    // The error body is a courtesy: if it does not come within the timeout, report without it.
    let body =
        match unless_cancelled(cancel, tokio::time::timeout(ep.timeout, response.text())).await? {
            Ok(Ok(text)) => text,
            Ok(Err(_)) | Err(_) => String::new(),
        };
    Err(status_error(
        url,
        status.as_u16(),
        &headers,
        &body,
        jiff::Timestamp::now(),
    ))
}

/// Reads a whole (non-streaming) response body, at most `ep.timeout`.
pub async fn read_body(
    ep: &Endpoint,
    url: &str,
    response: reqwest::Response,
    cancel: &CancellationToken,
) -> Result<String, ProviderError> {
    match unless_cancelled(cancel, tokio::time::timeout(ep.timeout, response.text())).await? {
        Err(_elapsed) => Err(timeout(url, ep.timeout)),
        Ok(Err(e)) if e.is_timeout() => Err(timeout(url, ep.timeout)),
        Ok(Err(e)) => Err(ProviderError::Protocol {
            url: url.to_owned(),
            detail: format!(
                "the connection broke while reading the reply: {}",
                describe(&e)
            ),
        }),
        Ok(Ok(text)) => Ok(text),
    }
}

/// Parses a JSON reply body, naming the URL when it is not JSON.
pub fn parse_json(url: &str, body: &str) -> Result<serde_json::Value, ProviderError> {
    serde_json::from_str(body).map_err(|e| ProviderError::Protocol {
        url: url.to_owned(),
        detail: format!("the reply is not JSON ({e}): {}", clip(body)),
    })
}

pub fn timeout(url: &str, after: Duration) -> ProviderError {
    ProviderError::Timeout {
        url: url.to_owned(),
        after,
    }
}

/// What a failed `send` means: the server could not be reached (retryable), or the request
/// itself is malformed (not retryable).
fn send_error(url: &str, after: Duration, e: &reqwest::Error) -> ProviderError {
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
    if matches!(status, 401 | 403) {
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
    if let Some(ms) = header("retry-after-ms").and_then(|v| v.parse::<f64>().ok())
        && ms.is_finite()
        && ms >= 0.0
    {
        return Some(Duration::from_secs_f64(ms / 1000.0));
    }
    let value = header("retry-after")?;
    if let Ok(seconds) = value.parse::<f64>() {
        return (seconds.is_finite() && seconds >= 0.0).then(|| Duration::from_secs_f64(seconds));
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

/// Why reading the body stopped early.
#[derive(Debug)]
enum ReadError {
    Transport(reqwest::Error),
    Silent,
}

impl std::fmt::Display for ReadError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            ReadError::Transport(e) => f.write_str(&describe(e)),
            ReadError::Silent => f.write_str("silent"),
        }
    }
}

type EventStream = Pin<
    Box<dyn Stream<Item = Result<eventsource_stream::Event, EventStreamError<ReadError>>> + Send>,
>;

/// The events of a streaming response. Silence (no byte at all, `: ping` comments included)
/// longer than the endpoint's timeout ends it with `Timeout`.
pub struct SseEvents {
    url: String,
    silence_limit: Duration,
    events: EventStream,
}

impl SseEvents {
    pub fn new(url: &str, silence_limit: Duration, response: reqwest::Response) -> Self {
        let bytes = response.bytes_stream();
        let chunks = futures::stream::unfold(Some(Box::pin(bytes)), move |state| async move {
            let mut bytes = state?;
            match tokio::time::timeout(silence_limit, bytes.next()).await {
                Ok(Some(Ok(chunk))) => Some((Ok(chunk.to_vec()), Some(bytes))),
                Ok(Some(Err(e))) => Some((Err(ReadError::Transport(e)), None)),
                Ok(None) => None,
                Err(_elapsed) => Some((Err(ReadError::Silent), None)),
            }
        });
        // A last event the server did not close with a blank line still counts.
        let closed = chunks.chain(futures::stream::once(async { Ok(b"\n\n".to_vec()) }));
        Self {
            url: url.to_owned(),
            silence_limit,
            events: Box::pin(closed.eventsource()),
        }
    }

    /// The next event with data, `None` when the stream ended cleanly.
    pub async fn next(
        &mut self,
        cancel: &CancellationToken,
    ) -> Result<Option<SseEvent>, ProviderError> {
        loop {
            let Some(item) = unless_cancelled(cancel, self.events.next()).await? else {
                return Ok(None);
            };
            match item {
                Ok(event) if event.data.is_empty() => continue,
                Ok(event) => {
                    return Ok(Some(SseEvent {
                        event: event.event,
                        data: event.data,
                    }));
                }
                Err(EventStreamError::Transport(ReadError::Silent)) => {
                    return Err(timeout(&self.url, self.silence_limit));
                }
                Err(EventStreamError::Transport(ReadError::Transport(e))) if e.is_timeout() => {
                    return Err(timeout(&self.url, self.silence_limit));
                }
                Err(EventStreamError::Transport(ReadError::Transport(e))) => {
                    return Err(
                        self.protocol(format!("the connection broke mid-stream: {}", describe(&e)))
                    );
                }
                Err(EventStreamError::Utf8(e)) => {
                    return Err(self.protocol(format!("the stream is not UTF-8: {e}")));
                }
                Err(EventStreamError::Parser(e)) => {
                    return Err(self.protocol(format!("the stream is not valid SSE: {e}")));
                }
            }
        }
    }

    fn protocol(&self, detail: String) -> ProviderError {
        ProviderError::Protocol {
            url: self.url.clone(),
            detail,
        }
    }
}

/// The error every dialect reports when the stream ended before the model finished.
pub fn ended_early(url: &str) -> ProviderError {
    ProviderError::Protocol {
        url: url.to_owned(),
        detail: "the stream ended before the model finished".to_owned(),
    }
}

/// Parses a tool call's accumulated argument text: `""` is `{}`, text that is not JSON is kept
/// as `{"_raw": text}` so the tool can tell the model what went wrong.
pub fn parse_tool_args(text: &str) -> serde_json::Value {
    let trimmed = text.trim();
    if trimmed.is_empty() {
        return serde_json::json!({});
    }
    serde_json::from_str(trimmed).unwrap_or_else(|_| serde_json::json!({ "_raw": text }))
}

/// A float as JSON without f32 noise (`0.7`, not `0.699999988079071`).
pub fn json_f32(value: f32) -> serde_json::Value {
    let exact = value.to_string().parse::<f64>().unwrap_or(f64::from(value));
    serde_json::Number::from_f64(exact).map_or(serde_json::Value::Null, serde_json::Value::Number)
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

    #[test]
    fn tool_arguments_that_are_not_json_are_kept_raw() {
        assert_eq!(parse_tool_args(""), serde_json::json!({}));
        assert_eq!(
            parse_tool_args(r#"{"city": "Paris" }"#),
            serde_json::json!({"city": "Paris"})
        );
        assert_eq!(
            parse_tool_args(r#"{"city": "Par"#),
            serde_json::json!({"_raw": r#"{"city": "Par"#})
        );
    }

    #[test]
    fn floats_keep_their_written_value() {
        assert_eq!(json_f32(0.7).to_string(), "0.7");
        assert_eq!(json_f32(0.0).to_string(), "0.0");
    }
}
