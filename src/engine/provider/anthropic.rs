//! The Anthropic Messages dialect: streaming events, tool_use / tool_result, cache usage.

use tokio_util::sync::CancellationToken;

use super::{ModelReply, ModelRequest, ProviderError, Sink};
use crate::engine::resilience::Endpoint;

/// One streaming Messages call (`POST {base}/v1/messages`), no retries.
pub async fn stream_messages(
    ep: &Endpoint,
    req: &ModelRequest<'_>,
    cancel: &CancellationToken,
    sink: Sink<'_>,
) -> Result<ModelReply, ProviderError> {
    let _ = (ep, req, cancel, sink);
    todo!("anthropic::stream_messages")
}

/// `GET {base}/v1/models`: an auth probe that spends no tokens.
pub async fn list_models(ep: &Endpoint) -> Result<Vec<String>, ProviderError> {
    let _ = ep;
    todo!("anthropic::list_models")
}
