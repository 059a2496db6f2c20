//! One turn: the prompt, then model calls and tool runs until the model answers without tools,
//! `max_turns` model calls are made, the budget says no, or the user cancels. Whatever happens,
//! the conversation is left in a state every provider accepts.

mod booking;
mod forward;
mod pace;
mod tools;

use std::collections::HashMap;
use std::sync::{Mutex, PoisonError};

use tokio_util::sync::CancellationToken;

use super::{AgentRuntime, Emitter, host};
use crate::engine::config::ToolProtocol;
use crate::engine::conversation::Message;
use crate::engine::protocol::{EventKind, Outcome};
use crate::engine::provider::{ModelRequest, ProviderError, StreamItem};
use crate::engine::tokens;
use crate::engine::tools::{ToolSpec, text_protocol};
use booking::UsageContext;
use forward::forward;
pub(super) use tools::{Emit, pass_gate, run_one};
use tools::{not_run, push_results, run_tools};

/// Runs one turn to its end and says how it ended. Emits `TurnStarted` but not `TurnFinished`.
pub(super) async fn run_turn(
    rt: &mut AgentRuntime,
    out: &mut Emitter,
    prompt: String,
    cancel: &CancellationToken,
) -> Outcome {
    let AgentRuntime {
        bridge,
        name,
        system_prompt,
        model,
        price_model,
        pricing,
        backend,
        toolbox,
        gate,
        tool_protocol,
        max_turns,
        temperature,
        max_tokens,
        prices,
        meter,
        rate_limit,
        startup_notes,
        conversation,
    } = rt;
    out.emit(EventKind::TurnStarted {
        prompt: prompt.clone(),
    });
    for text in startup_notes.drain(..) {
        out.emit(EventKind::Notice { text });
    }
    // The first model call of the turn already offers the MCP tools of servers that started.
    let start_limit = crate::engine::mcp::hub::start_limit(toolbox.context().timeout);
    for text in toolbox.refresh_mcp(start_limit, cancel).await {
        out.emit(EventKind::Notice { text });
    }
    let start_len = conversation.len();
    conversation.push(Message::user(prompt));

    let mut calls_made = 0u32;
    let outcome = loop {
        let uses_text = *tool_protocol == ToolProtocol::Text && !toolbox.specs().is_empty();
        let system = if uses_text {
            format!(
                "{system_prompt}\n\n{}",
                text_protocol::instructions(toolbox.specs())
            )
        } else {
            system_prompt.clone()
        };
        let tools: &[ToolSpec] = if uses_text { &[] } else { toolbox.specs() };
        let est_tokens = tokens::estimate_request(&system, conversation, tools);
        if backend.endpoint().is_some() && !pace::wait_for_slot(rate_limit, name, out, cancel).await
        {
            break Outcome::Cancelled;
        }
        let hold = match booking::reserve(
            meter,
            prices,
            *pricing,
            name,
            price_model,
            est_tokens,
            *max_tokens,
        ) {
            Ok(hold) => hold,
            Err(refused) => {
                break Outcome::Failed {
                    error: refused.to_string(),
                };
            }
        };
        calls_made += 1;
        let mut streamed = String::new();
        let result = {
            let req = ModelRequest {
                model,
                system: &system,
                messages: conversation,
                tools,
                temperature: *temperature,
                max_tokens: *max_tokens,
            };
            let mut usage_ctx = UsageContext {
                agent: name,
                upstream_model: model,
                price_model,
                pricing: *pricing,
                prices,
                meter,
            };
            let mut provider_calls = HashMap::new();
            // While the Claude CLI runs, its requests through tzzr's bridge are served here
            // too: both sides emit, each holding the emitter only for one event.
            let shared_out = Mutex::new(&mut *out);
            let mut sink = |item: StreamItem| {
                forward(
                    item,
                    &mut lock(&shared_out),
                    &mut streamed,
                    &mut usage_ctx,
                    &mut provider_calls,
                );
            };
            let complete = backend.complete(&req, est_tokens, cancel, &mut sink);
            match bridge.as_mut() {
                Some(link) => {
                    let host = host::serve(&mut link.requests, toolbox, gate, &shared_out, cancel);
                    tokio::select! {
                        result = complete => result,
                        never = host => match never {},
                    }
                }
                None => complete.await,
            }
        };
        for text in hold.settle() {
            out.emit(EventKind::Notice { text });
        }
        if let Some(endpoint) = backend.endpoint() {
            let (breaker, limiter) = endpoint.snapshot();
            out.emit(EventKind::Endpoint {
                endpoint: endpoint.label.clone(),
                breaker,
                limiter,
            });
        }

        let reply = match result {
            Ok(reply) => reply,
            Err(error) if should_fall_back_to_text(&error, *tool_protocol, tools) => {
                *tool_protocol = ToolProtocol::Text;
                calls_made -= 1;
                out.emit(EventKind::Notice {
                    text: format!(
                        "the server refused native tool calls ({error}); using the ```tool text protocol instead"
                    ),
                });
                continue;
            }
            Err(ProviderError::Cancelled) => {
                keep_partial(conversation, streamed);
                break Outcome::Cancelled;
            }
            Err(error) => {
                keep_partial(conversation, streamed);
                break Outcome::Failed {
                    error: error.to_string(),
                };
            }
        };

        let calls = if uses_text {
            text_protocol::parse_calls(&reply.text)
        } else {
            reply.tool_calls.clone()
        };
        conversation.push(Message::Assistant {
            text: reply.text.clone(),
            // Text-protocol calls live in the text; sending them as native calls would confuse the model.
            tool_calls: if uses_text { Vec::new() } else { calls.clone() },
        });
        if calls.is_empty() {
            break Outcome::Done { text: reply.text };
        }
        let results = if calls_made >= *max_turns {
            let names: Vec<&str> = calls.iter().map(|c| c.tool.as_str()).collect();
            out.emit(EventKind::Notice {
                text: format!(
                    "stopped after {calls_made} model calls (max_turns); the model still wanted: {}",
                    names.join(", ")
                ),
            });
            not_run(&calls, &format!("not run: max_turns ({max_turns}) reached"))
        } else {
            run_tools(toolbox, gate, out, &calls, cancel).await
        };
        push_results(conversation, uses_text, results);
        if cancel.is_cancelled() {
            break Outcome::Cancelled;
        }
        if calls_made >= *max_turns {
            break Outcome::Done { text: reply.text };
        }
    };
    if conversation.len() == start_len + 1 {
        // Nothing came back: forget the prompt so the next one does not follow a dangling message.
        conversation.truncate(start_len);
    }
    outcome
}

/// Keeps what the model said before a failure or a cancel, so the next turn knows it.
fn keep_partial(conversation: &mut Vec<Message>, streamed: String) {
    if !streamed.is_empty() {
        conversation.push(Message::assistant(streamed));
    }
}

/// A server that cannot take `tools` for this model says so with an error that mentions tools
/// (Ollama: "does not support tools"); with `tool_protocol: auto` that means: use text blocks.
fn should_fall_back_to_text(
    error: &ProviderError,
    protocol: ToolProtocol,
    tools: &[ToolSpec],
) -> bool {
    let mentions_tools = |message: &str| message.to_ascii_lowercase().contains("tool");
    protocol == ToolProtocol::Auto
        && !tools.is_empty()
        && matches!(error, ProviderError::Http { status: 400 | 404 | 422 | 500, message, .. } if mentions_tools(message))
}

fn lock<T>(shared: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    shared.lock().unwrap_or_else(PoisonError::into_inner)
}
