//! The Anthropic Messages dialect: streaming events, tool_use / tool_result, cache usage.

pub mod event;
mod reply;
mod request;

use tokio_util::sync::CancellationToken;

use super::bounds::Deadline;
use super::sse::{self, SseEvents};
use super::stream::{self, Streamed};
use super::{ModelReply, ModelRequest, ProviderError, Sink};
use crate::engine::resilience::Endpoint;
use reply::MessageStream;

/// The API version every request names.
const API_VERSION: &str = "2023-06-01";

/// One streaming Messages call (`POST {base}/v1/messages`), no retries.
pub async fn stream_messages(
    ep: &Endpoint,
    req: &ModelRequest<'_>,
    cancel: &CancellationToken,
    sink: Sink<'_>,
) -> Result<ModelReply, ProviderError> {
    let url = format!("{}/v1/messages", root(&ep.base_url));
    let body = request::messages_body(req);
    let deadline = Deadline::start(ep.bounds.call_deadline);
    let request = headers(ep, ep.http.post(&url)).json(&body);
    let response = sse::send(ep, &url, request, &deadline, cancel).await?;
    let events = SseEvents::new(ep, &url, deadline, response);
    let decoder = MessageStream::new(&url, req.model);
    match stream::read(&url, req, events, decoder, &ep.bounds, cancel, sink).await? {
        Streamed::Reply(reply) => Ok(reply),
        Streamed::Empty => Err(sse::ended_early(&url)),
    }
}

/// `GET {base}/v1/models`: an auth probe that spends no tokens.
pub async fn list_models(ep: &Endpoint) -> Result<Vec<String>, ProviderError> {
    let url = format!("{}/v1/models", root(&ep.base_url));
    let never = CancellationToken::new();
    let deadline = Deadline::start(ep.bounds.call_deadline);
    let request = headers(ep, ep.http.get(&url));
    let response = sse::send(ep, &url, request, &deadline, &never).await?;
    let text = sse::read_body(ep, &url, response, &deadline, &never).await?;
    super::openai::model_ids(&url, &sse::parse_json(&url, &text)?)
}

/// The API root: `ANTHROPIC_BASE_URL` is the root, but a user may have written `…/v1`.
fn root(base_url: &str) -> &str {
    let base = base_url.trim_end_matches('/');
    base.strip_suffix("/v1").unwrap_or(base)
}

fn headers(ep: &Endpoint, request: reqwest::RequestBuilder) -> reqwest::RequestBuilder {
    let request = request.header("anthropic-version", API_VERSION);
    let Some(key) = &ep.key else {
        return request;
    };
    match reqwest::header::HeaderValue::from_str(key.expose()) {
        Ok(mut value) => {
            value.set_sensitive(true);
            request.header("x-api-key", value)
        }
        // Not a valid header value: reqwest turns this into a request error (without the key).
        Err(_) => request.header("x-api-key", key.expose()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_root_is_the_base_without_a_trailing_v1() {
        assert_eq!(
            root("https://api.anthropic.com"),
            "https://api.anthropic.com"
        );
        assert_eq!(
            root("https://api.anthropic.com/"),
            "https://api.anthropic.com"
        );
        assert_eq!(root("http://127.0.0.1:8080/v1"), "http://127.0.0.1:8080");
        assert_eq!(root("http://127.0.0.1:8080/v1/"), "http://127.0.0.1:8080");
    }
}
