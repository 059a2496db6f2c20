//! HTTP plumbing shared by the HTTP dialects: sending a request under the endpoint's timeout and
//! the caller's cancel token, turning failures into [`ProviderError`]s, and reading server-sent
//! events with a limit on silence.

mod failure;
mod json;

use std::future::Future;
use std::pin::Pin;
use std::time::Duration;

use eventsource_stream::{EventStreamError, Eventsource};
use futures::{Stream, StreamExt};
use tokio_util::sync::CancellationToken;

pub use failure::{
    clip, describe, ended_early, error_message, message_in_json, retry_after, status_error, timeout,
};
pub use json::{json_f32, parse_tool_args};

use super::ProviderError;
use crate::engine::resilience::Endpoint;
use failure::send_error;

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
    ep.limiter.observe(response.headers());
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
