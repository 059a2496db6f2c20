//! The streaming loop both HTTP dialects share: server-sent events in, fed one at a time to the
//! dialect's [`Decoder`], the reply out once the model said it finished.

use tokio_util::sync::CancellationToken;

use super::sse::{SseEvent, SseEvents, ended_early};
use super::{ModelReply, ProviderError, Sink};

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

/// Reads `events` to the end through `decoder`. A stream that ends (or breaks) before the model
/// said it finished is [`ended_early`].
pub async fn read<D: Decoder>(
    url: &str,
    mut events: SseEvents,
    mut decoder: D,
    cancel: &CancellationToken,
    sink: Sink<'_>,
) -> Result<Streamed, ProviderError> {
    let mut saw_data = false;
    while let Some(event) = events.next(cancel).await? {
        saw_data = true;
        if decoder.feed(&event, &mut *sink)? == Progress::Done {
            break;
        }
    }
    // Closes the connection before the caller goes on (a retry, a second request).
    drop(events);
    conclude(url, saw_data, decoder, sink)
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
