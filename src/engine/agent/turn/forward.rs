//! A provider's stream items become the agent's events, in order.

use std::collections::HashMap;

use tokio::time::Instant;

use super::super::Emitter;
use super::booking::UsageContext;
use crate::engine::protocol::{CallId, EventKind};
use crate::engine::provider::StreamItem;

/// Turns a provider's item into events (and books usage on the meter).
pub(super) fn forward(
    item: StreamItem,
    out: &mut Emitter,
    streamed: &mut String,
    usage_ctx: &mut UsageContext<'_>,
    provider_calls: &mut HashMap<CallId, (String, Instant)>,
) {
    let kind = match item {
        StreamItem::TextDelta(text) => {
            streamed.push_str(&text);
            EventKind::TextDelta { text }
        }
        StreamItem::Reasoning(text) => EventKind::Reasoning { text },
        StreamItem::ProviderToolCall(call) => {
            provider_calls.insert(call.id.clone(), (call.tool.clone(), Instant::now()));
            EventKind::ToolCallRequested {
                call: call.id,
                tool: call.tool,
                args: call.args,
                runs_in_provider: true,
            }
        }
        StreamItem::ProviderToolResult { call, ok, output } => {
            let (tool, started) = provider_calls
                .remove(&call)
                .unwrap_or_else(|| (String::from("?"), Instant::now()));
            EventKind::ToolCallFinished {
                call,
                tool,
                ok,
                output,
                duration: started.elapsed(),
                full_output: None,
            }
        }
        report => match about_the_call(report, usage_ctx) {
            Some(kind) => kind,
            None => return,
        },
    };
    out.emit(kind);
}

/// What a call says about itself rather than its answer (usage, waits, retries, notes), as an
/// event, with usage booked on the meter; `None` for the answer's own items.
pub(super) fn about_the_call(
    item: StreamItem,
    usage_ctx: &mut UsageContext<'_>,
) -> Option<EventKind> {
    Some(match item {
        StreamItem::Usage {
            model,
            usage,
            reported_cost_usd,
            estimated,
        } => usage_ctx.book(model, usage, reported_cost_usd, estimated),
        StreamItem::Waiting { limiter, eta } => EventKind::Waiting { limiter, eta },
        StreamItem::Retry {
            attempt,
            wait,
            reason,
        } => EventKind::Retry {
            attempt,
            wait,
            reason,
        },
        StreamItem::Notice(text) => EventKind::Notice { text },
        StreamItem::TextDelta(_)
        | StreamItem::Reasoning(_)
        | StreamItem::ProviderToolCall(_)
        | StreamItem::ProviderToolResult { .. } => return None,
    })
}
