//! One HTTP model call through its endpoint's breaker, limiter and retry policy. A call is retried
//! only when it failed before anything was streamed (the user never sees text twice).

use std::time::Duration;

use tokio_util::sync::CancellationToken;

use super::{ModelReply, ModelRequest, ProviderError, Sink, StreamItem, anthropic, openai};
use crate::engine::resilience::Endpoint;
use crate::engine::resilience::endpoint::Dialect;

/// Calls the endpoint with `req`, estimated at `est_tokens` tokens for the limiter.
pub async fn call_http(
    ep: &Endpoint,
    req: &ModelRequest<'_>,
    est_tokens: u64,
    cancel: &CancellationToken,
    sink: Sink<'_>,
) -> Result<ModelReply, ProviderError> {
    let mut retry = 0u32;
    loop {
        // Never waits for a probe: what is known now decides.
        if let Some(reason) = ep.reachability.refusal() {
            return Err(ProviderError::Unreachable {
                endpoint: ep.label.clone(),
                reason,
                hint: ep.reachability.hint().to_owned(),
            });
        }
        if let Some(breaker) = &ep.breaker
            && let Err(probe_in) = breaker.try_pass()
        {
            return Err(ProviderError::BreakerOpen {
                endpoint: ep.label.clone(),
                probe_in,
            });
        }
        let permit = {
            let label = ep.label.clone();
            let mut on_wait = |eta: Option<Duration>| {
                sink(StreamItem::Waiting {
                    limiter: label.clone(),
                    eta,
                })
            };
            tokio::select! {
                permit = ep.limiter.acquire(est_tokens, &mut on_wait) => permit,
                () = cancel.cancelled() => return Err(ProviderError::Cancelled),
            }
        };
        let mut streamed = false;
        let mut used_tokens = None;
        let result = {
            let mut tracking = |item: StreamItem| {
                match &item {
                    StreamItem::Usage { usage, .. } => {
                        used_tokens = Some(
                            usage
                                .input
                                .saturating_add(usage.output)
                                .saturating_add(usage.cache_read)
                                .saturating_add(usage.cache_write),
                        );
                    }
                    StreamItem::TextDelta(_)
                    | StreamItem::Reasoning(_)
                    | StreamItem::ProviderToolCall(_)
                    | StreamItem::ProviderToolResult { .. } => streamed = true,
                    StreamItem::Waiting { .. }
                    | StreamItem::Retry { .. }
                    | StreamItem::Notice(_) => {}
                }
                sink(item);
            };
            match ep.dialect {
                Dialect::OpenAi => openai::stream_chat(ep, req, cancel, &mut tracking).await,
                Dialect::Anthropic => {
                    anthropic::stream_messages(ep, req, cancel, &mut tracking).await
                }
            }
        };
        let call = permit.call();
        drop(permit);
        if let Some(actual) = used_tokens {
            ep.limiter.record_tokens(call, actual);
        }
        match &result {
            // Any answer at all proves the server is there.
            Ok(_) | Err(ProviderError::Http { .. } | ProviderError::Auth { .. }) => {
                ep.reachability.mark_reachable();
            }
            Err(_) => {}
        }
        if let Some(breaker) = &ep.breaker {
            match &result {
                Ok(_) => breaker.record_success(),
                Err(e) if e.counts_against_endpoint() => breaker.record_failure(),
                Err(_) => {}
            }
        }
        match result {
            Err(e) if e.is_retryable() && !streamed => {
                retry += 1;
                let wait = ep.retry.delay(retry, e.retry_after());
                if matches!(e, ProviderError::Http { status: 429, .. }) {
                    // Every agent on the endpoint holds back, not only the one that was told.
                    ep.limiter
                        .pause(e.retry_after().or(wait).unwrap_or(ep.retry.base_delay));
                }
                let Some(wait) = wait else {
                    if let ProviderError::Connect { detail, .. } = &e {
                        // Retries spent on a refused connection: the agents on this endpoint
                        // fail at once from now on, until a probe finds the server again.
                        ep.reachability.report_unreachable(detail.clone());
                    }
                    return Err(e);
                };
                ep.limiter.note_retry();
                sink(StreamItem::Retry {
                    attempt: retry,
                    wait,
                    reason: e.to_string(),
                });
                tokio::select! {
                    () = tokio::time::sleep(wait) => {}
                    () = cancel.cancelled() => return Err(ProviderError::Cancelled),
                }
            }
            other => return other,
        }
    }
}
