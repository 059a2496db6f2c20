//! The OpenAI chat-completions dialect (OpenAI, Gemini's and Groq's OpenAI endpoints, Mistral,
//! DeepSeek, Together, Ollama, llama.cpp, LiteLLM's proxy, …): streaming with native tool calls.

mod calls;
mod reply;
mod request;

use tokio_util::sync::CancellationToken;

use super::bounds::Deadline;
use super::sse::{self, SseEvents};
use super::stream::{self, Streamed};
use super::{ModelReply, ModelRequest, ProviderError, Sink, StreamItem, usage};
use crate::engine::resilience::Endpoint;
use reply::ChatStream;

/// One streaming chat-completions call (`POST {base}/chat/completions`), no retries.
pub async fn stream_chat(
    ep: &Endpoint,
    req: &ModelRequest<'_>,
    cancel: &CancellationToken,
    sink: Sink<'_>,
) -> Result<ModelReply, ProviderError> {
    let url = format!("{}/chat/completions", base(ep));
    let body = request::chat_body(req, true);
    let deadline = Deadline::start(ep.bounds.call_deadline);
    let request = authorized(ep, ep.http.post(&url)).json(&body);
    let response = sse::send(ep, &url, request, &deadline, cancel).await?;
    if is_json(&response) {
        // A server that ignores `stream: true` and answers with one object.
        let text = sse::read_body(ep, &url, response, &deadline, cancel).await?;
        return report_completion(&url, req, &text, sink);
    }
    let events = SseEvents::new(ep, &url, deadline, response);
    let decoder = ChatStream::new(&url, req.model);
    match stream::read(&url, req, events, decoder, &ep.bounds, cancel, &mut *sink).await? {
        Streamed::Reply(reply) => Ok(reply),
        Streamed::Empty => ask_without_streaming(ep, &url, req, &deadline, cancel, sink).await,
    }
}

/// llama-cpp-python answers `tool_choice: "auto"` + `stream: true` with an empty 200 stream when
/// the model picks a tool; the same request without streaming works.
async fn ask_without_streaming(
    ep: &Endpoint,
    url: &str,
    req: &ModelRequest<'_>,
    deadline: &Deadline,
    cancel: &CancellationToken,
    sink: Sink<'_>,
) -> Result<ModelReply, ProviderError> {
    tracing::warn!(endpoint = %ep.label, "empty stream; asking again without streaming");
    let body = request::chat_body(req, false);
    let send = || {
        let request = authorized(ep, ep.http.post(url)).json(&body);
        sse::send(ep, url, request, deadline, cancel)
    };
    let response = match send().await {
        // llama-cpp-python closes the connection the empty stream came on, but only after the
        // pool may have handed it out again: a fresh connection gets through.
        Err(ProviderError::Connect { .. }) => send().await?,
        other => other?,
    };
    let text = sse::read_body(ep, url, response, deadline, cancel).await?;
    sink(StreamItem::Notice(format!(
        "{} ended the stream without data; asked again without streaming",
        ep.label
    )));
    report_completion(url, req, &text, sink)
}

/// Reports a whole `chat.completion` as if it had streamed: reasoning, the text in one piece,
/// usage (estimated when the server sent none).
fn report_completion(
    url: &str,
    req: &ModelRequest<'_>,
    body: &str,
    sink: Sink<'_>,
) -> Result<ModelReply, ProviderError> {
    let (reply, reasoning, reported) = reply::parse_completion(url, &sse::parse_json(url, body)?)?;
    let mut output_bytes = reply.text.len();
    if let Some(reasoning) = reasoning {
        output_bytes += reasoning.len();
        sink(StreamItem::Reasoning(reasoning));
    }
    if !reply.text.is_empty() {
        sink(StreamItem::TextDelta(reply.text.clone()));
    }
    let counted = match reported {
        Some(usage) => StreamItem::Usage {
            model: req.model.to_owned(),
            usage,
            reported_cost_usd: None,
            estimated: false,
        },
        None => {
            let calls = reply.tool_calls.iter().chain(&reply.cut_calls);
            let call_bytes: usize = calls.map(|c| c.tool.len() + c.args.to_string().len()).sum();
            usage::estimated(req, usage::estimate(req, output_bytes + call_bytes))
        }
    };
    usage::pass_on(url, counted, sink);
    Ok(reply)
}

fn is_json(response: &reqwest::Response) -> bool {
    response
        .headers()
        .get(reqwest::header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.trim_start().starts_with("application/json"))
}

/// `GET {base}/models`: proves the endpoint answers and takes the key, without spending tokens.
pub async fn list_models(ep: &Endpoint) -> Result<Vec<String>, ProviderError> {
    let url = format!("{}/models", base(ep));
    let never = CancellationToken::new();
    let deadline = Deadline::start(ep.bounds.call_deadline);
    let request = authorized(ep, ep.http.get(&url));
    let response = sse::send(ep, &url, request, &deadline, &never).await?;
    let text = sse::read_body(ep, &url, response, &deadline, &never).await?;
    model_ids(&url, &sse::parse_json(&url, &text)?)
}

/// The `data[].id` of a model list (both dialects use this shape).
pub(super) fn model_ids(url: &str, list: &serde_json::Value) -> Result<Vec<String>, ProviderError> {
    let Some(models) = list.get("data").and_then(serde_json::Value::as_array) else {
        return Err(ProviderError::Protocol {
            url: url.to_owned(),
            detail: format!(
                "the model list has no `data`: {}",
                sse::clip(&list.to_string())
            ),
        });
    };
    Ok(models
        .iter()
        .filter_map(|m| m.get("id").and_then(serde_json::Value::as_str))
        .map(str::to_owned)
        .collect())
}

fn base(ep: &Endpoint) -> &str {
    ep.base_url.trim_end_matches('/')
}

fn authorized(ep: &Endpoint, request: reqwest::RequestBuilder) -> reqwest::RequestBuilder {
    match &ep.key {
        Some(key) => request.bearer_auth(key.expose()),
        None => request,
    }
}
