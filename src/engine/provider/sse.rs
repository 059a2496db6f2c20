//! HTTP plumbing shared by the HTTP dialects: sending a request under the endpoint's timeout, the
//! call's deadline and the caller's cancel token, turning failures into [`ProviderError`]s,
//! reading bodies under a size cap, and reading server-sent events with a limit on silence.

mod failure;
mod json;
mod parser;

use std::collections::VecDeque;
use std::future::Future;
use std::time::Duration;

use tokio_util::sync::CancellationToken;

pub use failure::{
    clip, describe, ended_early, error_message, message_in_json, retry_after, status_error, timeout,
};
pub use json::{json_f32, parse_tool_args};
pub use parser::{ParseError, SseParser};

use super::ProviderError;
use super::bounds::{Deadline, size};
use crate::engine::resilience::Endpoint;
use failure::send_error;

/// How much of an error body tzzr reads for its message.
const MAX_ERROR_BODY_BYTES: usize = 64 * 1024;

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

/// Awaits `work` for at most `idle`, and never past `deadline`.
async fn within<T>(
    url: &str,
    idle: Duration,
    deadline: &Deadline,
    cancel: &CancellationToken,
    work: impl Future<Output = T>,
) -> Result<T, ProviderError> {
    let wait = idle.min(deadline.remaining());
    match unless_cancelled(cancel, tokio::time::timeout(wait, work)).await? {
        Ok(out) => Ok(out),
        Err(_elapsed) if deadline.is_past() => Err(deadline.error(url)),
        Err(_elapsed) => Err(timeout(url, idle)),
    }
}

/// Sends `request` and waits for the response head, at most `ep.timeout`. A non-2xx answer
/// becomes `Auth` (401/403) or `Http`, with the server's own message.
pub async fn send(
    ep: &Endpoint,
    url: &str,
    request: reqwest::RequestBuilder,
    deadline: &Deadline,
    cancel: &CancellationToken,
) -> Result<reqwest::Response, ProviderError> {
    let response = match within(url, ep.timeout, deadline, cancel, request.send()).await? {
        Err(e) => return Err(send_error(url, ep.timeout, &e)),
        Ok(response) => response,
    };
    ep.limiter.observe(response.headers());
    let status = response.status();
    if status.is_success() {
        return Ok(response);
    }
    let headers = response.headers().clone();
    // The error body is a courtesy: its start, if it comes within the timeout.
    let body = match read_capped(ep, url, response, MAX_ERROR_BODY_BYTES, deadline, cancel).await {
        Ok(Capped::Whole(bytes) | Capped::Cut(bytes)) => {
            String::from_utf8_lossy(&bytes).into_owned()
        }
        Err(ProviderError::Cancelled) => return Err(ProviderError::Cancelled),
        Err(_) => String::new(),
    };
    Err(status_error(
        url,
        status.as_u16(),
        &headers,
        &body,
        jiff::Timestamp::now(),
    ))
}

/// A body read up to a cap.
enum Capped {
    Whole(Vec<u8>),
    /// The body went on past the cap; these are its first bytes.
    Cut(Vec<u8>),
}

/// Reads a body chunk by chunk, at most `cap` bytes (a server may say any length or none).
async fn read_capped(
    ep: &Endpoint,
    url: &str,
    mut response: reqwest::Response,
    cap: usize,
    deadline: &Deadline,
    cancel: &CancellationToken,
) -> Result<Capped, ProviderError> {
    let announced = response
        .content_length()
        .and_then(|n| usize::try_from(n).ok());
    if announced.is_some_and(|n| n > cap) {
        return Ok(Capped::Cut(Vec::new()));
    }
    let mut body = Vec::with_capacity(announced.unwrap_or(0));
    loop {
        match within(url, ep.timeout, deadline, cancel, response.chunk()).await? {
            Ok(Some(chunk)) => {
                if body.len() + chunk.len() > cap {
                    body.extend_from_slice(&chunk[..cap - body.len()]);
                    return Ok(Capped::Cut(body));
                }
                body.extend_from_slice(&chunk);
            }
            Ok(None) => return Ok(Capped::Whole(body)),
            Err(e) if e.is_timeout() => return Err(timeout(url, ep.timeout)),
            Err(e) => {
                return Err(ProviderError::Protocol {
                    url: url.to_owned(),
                    detail: format!(
                        "the connection broke while reading the reply: {}",
                        describe(&e)
                    ),
                });
            }
        }
    }
}

/// Reads a whole (non-streaming) response body: at most `ep.timeout` between two pieces, never
/// past the deadline, and no more than the endpoint's `body_bytes`.
pub async fn read_body(
    ep: &Endpoint,
    url: &str,
    response: reqwest::Response,
    deadline: &Deadline,
    cancel: &CancellationToken,
) -> Result<String, ProviderError> {
    let cap = ep.bounds.body_bytes;
    match read_capped(ep, url, response, cap, deadline, cancel).await? {
        Capped::Whole(bytes) => Ok(String::from_utf8_lossy(&bytes).into_owned()),
        Capped::Cut(_) => Err(ProviderError::TooLarge {
            url: url.to_owned(),
            limit: format!(
                "the reply body is larger than {} (the limit for a body)",
                size(cap)
            ),
        }),
    }
}

/// Parses a JSON reply body, naming the URL when it is not JSON.
pub fn parse_json(url: &str, body: &str) -> Result<serde_json::Value, ProviderError> {
    serde_json::from_str(body).map_err(|e| ProviderError::Protocol {
        url: url.to_owned(),
        detail: format!("the reply is not JSON ({e}): {}", clip(body)),
    })
}

/// The events of a streaming response. Silence (no byte at all, `: ping` comments included)
/// longer than the endpoint's timeout ends it with `Timeout`; the call's deadline ends it with
/// `Deadline` however lively the server; an event past `event_bytes` ends it with `TooLarge`.
pub struct SseEvents {
    url: String,
    silence_limit: Duration,
    deadline: Deadline,
    response: reqwest::Response,
    parser: SseParser,
    ready: VecDeque<SseEvent>,
    is_over: bool,
}

impl SseEvents {
    pub fn new(ep: &Endpoint, url: &str, deadline: Deadline, response: reqwest::Response) -> Self {
        Self {
            url: url.to_owned(),
            silence_limit: ep.timeout,
            deadline,
            response,
            parser: SseParser::new(ep.bounds.event_bytes),
            ready: VecDeque::new(),
            is_over: false,
        }
    }

    /// The next event with data, `None` when the stream ended cleanly.
    pub async fn next(
        &mut self,
        cancel: &CancellationToken,
    ) -> Result<Option<SseEvent>, ProviderError> {
        loop {
            if let Some(event) = self.ready.pop_front() {
                return Ok(Some(event));
            }
            if self.is_over {
                return Ok(None);
            }
            let next = self.response.chunk();
            let parsed = match within(&self.url, self.silence_limit, &self.deadline, cancel, next)
                .await?
            {
                Ok(Some(chunk)) => self.parser.push(&chunk, &mut self.ready),
                Err(e) if e.is_timeout() => {
                    return Err(timeout(&self.url, self.silence_limit));
                }
                Err(e) => {
                    return Err(
                        self.protocol(format!("the connection broke mid-stream: {}", describe(&e)))
                    );
                }
                Ok(None) => {
                    self.is_over = true;
                    self.parser.finish(&mut self.ready)
                }
            };
            match parsed {
                Ok(()) => {}
                Err(ParseError::NotUtf8) => {
                    return Err(self.protocol("the stream is not UTF-8".to_owned()));
                }
                Err(ParseError::TooLarge) => {
                    return Err(ProviderError::TooLarge {
                        url: self.url.clone(),
                        limit: format!(
                            "one server-sent event is larger than {} (the limit per event)",
                            size(self.parser.max_event())
                        ),
                    });
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
