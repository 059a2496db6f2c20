//! The OpenAI chat-completions dialect (OpenAI, Gemini's and Groq's OpenAI endpoints, Mistral,
//! DeepSeek, Together, Ollama, llama.cpp, LiteLLM's proxy, …): streaming with native tool calls.

use tokio_util::sync::CancellationToken;

use super::{ModelReply, ModelRequest, ProviderError, Sink};
use crate::engine::resilience::Endpoint;

/// One streaming chat-completions call (`POST {base}/chat/completions`), no retries.
pub async fn stream_chat(
    ep: &Endpoint,
    req: &ModelRequest<'_>,
    cancel: &CancellationToken,
    sink: Sink<'_>,
) -> Result<ModelReply, ProviderError> {
    let _ = (ep, req, cancel, sink);
    todo!("openai::stream_chat")
}

/// `GET {base}/models`: proves the endpoint answers and takes the key, without spending tokens.
pub async fn list_models(ep: &Endpoint) -> Result<Vec<String>, ProviderError> {
    let _ = ep;
    todo!("openai::list_models")
}
