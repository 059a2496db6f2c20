//! Response bodies sent piece by piece: SSE frames with a delay between them, then a proper end,
//! a dropped connection, or silence until the mock stops.

use std::collections::VecDeque;
use std::time::Duration;

use axum::body::{Body, Bytes};
use axum::http::header;
use axum::response::{IntoResponse, Response};
use futures::Stream;
use tokio_util::sync::CancellationToken;

use super::answer;
use super::reply::MockEnding;

/// A non-streaming answer; `Cut` sends half the JSON then drops the connection, `EndEarly`
/// ends the body after half the JSON, `Stall` sends headers only.
pub fn whole_reply(
    json_text: String,
    ending: &MockEnding,
    shutdown: CancellationToken,
) -> Response {
    let (parts, after) = match ending {
        MockEnding::Cut { .. } => {
            let [half, _] = answer::halves(&json_text);
            (vec![half.to_owned()], After::Fail)
        }
        MockEnding::EndEarly { .. } => {
            let [half, _] = answer::halves(&json_text);
            (vec![half.to_owned()], After::End)
        }
        MockEnding::Stall { .. } | MockEnding::Forever { .. } => (Vec::new(), After::Stall),
        MockEnding::Complete | MockEnding::EmptyBody | MockEnding::ErrorEvent { .. } => {
            (vec![json_text], After::End)
        }
    };
    (
        [(header::CONTENT_TYPE, "application/json")],
        Body::from_stream(frame_stream(parts, Duration::ZERO, after, shutdown)),
    )
        .into_response()
}

/// A connection closed without any answer (the client sees "connection closed before message
/// completed"): an error before the first byte makes the server drop the connection.
pub fn dropped_connection() -> Response {
    let gone = std::io::Error::new(
        std::io::ErrorKind::ConnectionAborted,
        "mockllm dropped the connection",
    );
    Body::from_stream(futures::stream::once(async move { Err::<Bytes, _>(gone) })).into_response()
}

/// What a body stream does once its frames are sent.
#[derive(Clone, Copy, Debug)]
pub enum After {
    End,
    /// Drop the connection without ending the body properly.
    Fail,
    /// Send nothing more until the mock stops.
    Stall,
}

/// `frames`, then `frame` forever, `chunk_delay` apart, until the mock stops or the client goes.
pub fn endless_stream(
    frames: Vec<String>,
    frame: String,
    chunk_delay: Duration,
    shutdown: CancellationToken,
) -> impl Stream<Item = Result<Bytes, std::io::Error>> + Send + 'static {
    let first = frame_stream(frames, chunk_delay, After::End, shutdown.clone());
    let again = futures::stream::unfold((), move |()| {
        let shutdown = shutdown.clone();
        let frame = Bytes::from(frame.clone());
        async move {
            if !chunk_delay.is_zero() {
                tokio::select! {
                    () = tokio::time::sleep(chunk_delay) => {}
                    () = shutdown.cancelled() => return None,
                }
            } else if shutdown.is_cancelled() {
                return None;
            }
            Some((Ok(frame), ()))
        }
    });
    futures::StreamExt::chain(first, again)
}

pub fn frame_stream(
    frames: Vec<String>,
    chunk_delay: Duration,
    after: After,
    shutdown: CancellationToken,
) -> impl Stream<Item = Result<Bytes, std::io::Error>> + Send + 'static {
    let state = (VecDeque::from(frames), Some(after), true);
    futures::stream::unfold(state, move |(mut frames, after, is_first)| {
        let shutdown = shutdown.clone();
        async move {
            if let Some(frame) = frames.pop_front() {
                if !is_first && !chunk_delay.is_zero() {
                    tokio::select! {
                        () = tokio::time::sleep(chunk_delay) => {}
                        () = shutdown.cancelled() => return None,
                    }
                }
                return Some((Ok(Bytes::from(frame)), (frames, after, false)));
            }
            match after? {
                After::End => None,
                After::Fail => {
                    // Let the server flush what was sent: an error drops its unsent buffer.
                    tokio::time::sleep(Duration::from_millis(20)).await;
                    let cut = std::io::Error::new(
                        std::io::ErrorKind::ConnectionAborted,
                        "mockllm cut the stream",
                    );
                    Some((Err(cut), (frames, None, false)))
                }
                After::Stall => {
                    shutdown.cancelled().await;
                    None
                }
            }
        }
    })
}
