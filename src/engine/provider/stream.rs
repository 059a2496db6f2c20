//! The streaming loop both HTTP dialects share: server-sent events in, fed one at a time to the
//! dialect's [`Decoder`], the reply out once the model said it finished. The loop also holds the
//! reply to its bounds: bytes streamed, and output tokens against `max_tokens`.

use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};

use tokio_util::sync::CancellationToken;

use super::bounds::{Bounds, output_token_limit, size};
use super::sse::{SseEvent, SseEvents, ended_early};
use super::{ModelReply, ModelRequest, ProviderError, Sink, StreamItem, usage};
use crate::engine::protocol::TokenUsage;

/// Whether the stream has more to say.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Progress {
    More,
    /// The dialect's end marker arrived (`[DONE]`, `message_stop`).
    Done,
}

/// One dialect's reading of a streamed reply, fed one event at a time.
pub trait Decoder {
    /// Takes one event, reporting text and reasoning to `sink` as they come.
    fn feed(&mut self, event: &SseEvent, sink: Sink<'_>) -> Result<Progress, ProviderError>;

    /// Bytes the tool calls hold so far (text and reasoning pass through the sink). Kept as
    /// pieces arrive: the loop asks after every event.
    fn call_bytes(&self) -> usize;

    /// The usage the server reported so far, if any (Anthropic's `message_start` gives the
    /// input before any output): a stream that breaks counts it rather than an estimate.
    fn reported_usage(&self) -> Option<TokenUsage>;

    /// Whether the model said why it stopped (a stop reason, or the end marker). A stream that
    /// ends before this is cut, not finished.
    fn has_finished(&self) -> bool;

    /// For a stream that ended cleanly without finishing: if it ended inside a tool call's
    /// arguments, marks the reply cut (as `max_tokens` would) and says so. Such a reply is
    /// returned, its cut calls apart, rather than failed.
    fn cut_inside_tool_call(&mut self) -> bool;

    /// The whole reply once the stream ended; reports the usage if the server sent it.
    fn finish(self, sink: Sink<'_>) -> Result<ModelReply, ProviderError>;
}

/// How a stream ended.
#[derive(Debug, PartialEq)]
pub enum Streamed {
    Reply(ModelReply),
    /// The server ended the stream without a single event with data.
    Empty,
}

/// What one reply may hold.
#[derive(Clone, Copy, Debug)]
pub struct ReplyLimits {
    pub bytes: usize,
    /// Estimated output tokens (see [`output_token_limit`]).
    pub tokens: Option<u64>,
    pub max_tokens: Option<u32>,
}

impl ReplyLimits {
    pub fn new(bounds: &Bounds, max_tokens: Option<u32>) -> Self {
        Self {
            bytes: bounds.reply_bytes,
            tokens: output_token_limit(max_tokens),
            max_tokens,
        }
    }

    /// The error for a reply of `bytes` so far, if it broke a limit.
    fn check(&self, url: &str, bytes: usize) -> Result<(), ProviderError> {
        let too_large = |limit: String| ProviderError::TooLarge {
            url: url.to_owned(),
            limit,
        };
        if bytes > self.bytes {
            return Err(too_large(format!(
                "the reply passed {} of text, reasoning and tool arguments (the limit per reply)",
                size(self.bytes)
            )));
        }
        // Four bytes a token, as `engine::tokens` estimates.
        let estimated = u64::try_from(bytes.div_ceil(4)).unwrap_or(u64::MAX);
        if let (Some(limit), Some(max_tokens)) = (self.tokens, self.max_tokens)
            && estimated > limit
        {
            return Err(too_large(format!(
                "the reply passed about {limit} tokens, far beyond its max_tokens of {max_tokens} (the server ignores max_tokens)"
            )));
        }
        Ok(())
    }
}

/// Reads `events` to the end through `decoder`. A stream that ends (or breaks) before the model
/// said it finished is [`ended_early`]; one that breaks a limit ends at once with `TooLarge`.
/// Usage is always reported once output streamed: the server's (clamped to sane figures), else
/// tzzr's estimate, before the reply or the error.
pub async fn read<D: Decoder>(
    url: &str,
    req: &ModelRequest<'_>,
    events: SseEvents,
    mut decoder: D,
    bounds: &Bounds,
    cancel: &CancellationToken,
    sink: Sink<'_>,
) -> Result<Streamed, ProviderError> {
    // Shared by the counting sink and the checks between events (one task: no contention).
    let streamed = AtomicUsize::new(0);
    let saw_usage = AtomicBool::new(false);
    let mut counting = |item: StreamItem| {
        match &item {
            StreamItem::TextDelta(text) | StreamItem::Reasoning(text) => {
                streamed.fetch_add(text.len(), Ordering::Relaxed);
            }
            StreamItem::Usage { .. } => saw_usage.store(true, Ordering::Relaxed),
            _ => {}
        }
        usage::pass_on(url, item, &mut *sink);
    };
    let limits = ReplyLimits::new(bounds, req.max_tokens);
    let result = read_events(url, events, &mut decoder, limits, cancel, &mut counting).await;
    let call_bytes = decoder.call_bytes();
    let reported = decoder.reported_usage();
    let result = match result {
        Ok(saw_data) => conclude(url, saw_data, decoder, &mut counting),
        Err(e) => Err(e),
    };
    let output = streamed.load(Ordering::Relaxed).saturating_add(call_bytes);
    let is_counted = saw_usage.load(Ordering::Relaxed);
    let needs_estimate = match &result {
        Ok(Streamed::Reply(_)) => !is_counted,
        // No output, nothing to count: the caller asks again or reports the failure.
        Ok(Streamed::Empty) => false,
        Err(_) => !is_counted && output > 0,
    };
    if needs_estimate {
        let guess = usage::estimate(req, output);
        let counted = match reported {
            // What the server said of the input, and at least what streamed out.
            Some(known) => TokenUsage {
                output: known.output.max(guess.output),
                ..known
            },
            None => guess,
        };
        usage::pass_on(url, usage::estimated(req, counted), sink);
    }
    result
}

/// Feeds the events to the decoder until the end marker or the end of the stream, checking the
/// reply's limits after each; says whether any event with data came.
async fn read_events<D: Decoder>(
    url: &str,
    mut events: SseEvents,
    decoder: &mut D,
    limits: ReplyLimits,
    cancel: &CancellationToken,
    sink: Sink<'_>,
) -> Result<bool, ProviderError> {
    let mut saw_data = false;
    let mut streamed = 0usize;
    while let Some(event) = events.next(cancel).await? {
        saw_data = true;
        let mut counting = |item: StreamItem| {
            if let StreamItem::TextDelta(text) | StreamItem::Reasoning(text) = &item {
                streamed = streamed.saturating_add(text.len());
            }
            sink(item);
        };
        let progress = decoder.feed(&event, &mut counting)?;
        limits.check(url, streamed.saturating_add(decoder.call_bytes()))?;
        if progress == Progress::Done {
            break;
        }
    }
    // Closes the connection before the caller goes on (a retry, a second request).
    drop(events);
    Ok(saw_data)
}
/// The end of a stream, however its events were read.
fn conclude<D: Decoder>(
    url: &str,
    saw_data: bool,
    mut decoder: D,
    sink: Sink<'_>,
) -> Result<Streamed, ProviderError> {
    if !saw_data {
        return Ok(Streamed::Empty);
    }
    if !decoder.has_finished() && !decoder.cut_inside_tool_call() {
        return Err(ended_early(url));
    }
    decoder.finish(sink).map(Streamed::Reply)
}

/// Feeds a decoder the `data:` lines of an SSE text, each its own event named by the `event:`
/// line before it, as [`read`] would: the reply, or the error, and what reached the sink.
#[cfg(test)]
pub fn decode_lines<D: Decoder>(
    mut decoder: D,
    sse_text: &str,
) -> (Result<ModelReply, ProviderError>, Vec<super::StreamItem>) {
    let mut items = Vec::new();
    let mut sink = |item| items.push(item);
    let mut name = "message";
    let mut saw_data = false;
    for line in sse_text.lines() {
        if let Some(event) = line.strip_prefix("event: ") {
            name = event;
        } else if let Some(data) = line.strip_prefix("data: ") {
            saw_data = true;
            let event = SseEvent {
                event: name.to_owned(),
                data: data.to_owned(),
            };
            match decoder.feed(&event, &mut sink) {
                Ok(Progress::More) => {}
                Ok(Progress::Done) => break,
                Err(e) => return (Err(e), items),
            }
        }
    }
    let reply = match conclude("u", saw_data, decoder, &mut sink) {
        Ok(Streamed::Reply(reply)) => Ok(reply),
        Ok(Streamed::Empty) => Err(ended_early("u")),
        Err(e) => Err(e),
    };
    (reply, items)
}
