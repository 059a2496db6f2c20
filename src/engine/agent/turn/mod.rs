//! One turn: the prompt, then model calls and tool runs until the model answers without tools,
//! `max_turns` model calls are made, the budget says no, the answer is cut or withheld, the loop
//! guard trips, or the user cancels. Whatever happens, the conversation is left in a state
//! every provider accepts (every tool call answered).

mod booking;
mod context;
mod fallback;
mod forward;
mod guard;
mod pace;
mod stop;
mod tools;

use std::collections::HashMap;
use std::sync::{Mutex, PoisonError};

use tokio_util::sync::CancellationToken;

use super::{AgentRuntime, Emitter, host};
use crate::engine::config::ToolProtocol;
use crate::engine::conversation::Message;
use crate::engine::protocol::{EventKind, FailureKind, Outcome, StoppedBy};
use crate::engine::provider::backend::Backend;
use crate::engine::provider::{ModelRequest, ProviderError, StreamItem};
use crate::engine::tools::{ToolSpec, text_protocol};
use booking::UsageContext;
pub(super) use context::{compact_now, report_now as report_context};
pub use fallback::FallbackModel;
use forward::forward;
use guard::LoopGuard;
pub(super) use tools::{Emit, pass_gate, run_one};
use tools::{StepCalls, not_run, push_results, run_tools};

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
        model_label,
        pricing,
        backend,
        fallbacks,
        toolbox,
        gate,
        tool_protocol,
        max_turns,
        loop_guard,
        temperature,
        max_tokens,
        prices,
        meter,
        rate_limit,
        startup_notes,
        conversation,
        context: keeper,
    } = rt;
    let keeps_own_context = matches!(backend, Backend::ClaudeCli(_));
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
    let mut start_len = conversation.len();
    conversation.push(Message::user(prompt));

    let mut calls_made = 0u32;
    let mut guard = LoopGuard::new(*loop_guard);
    let mut cut_before = false;
    // 0: the agent's own model; n: `fallbacks[n - 1]`. Every turn starts from its own.
    let mut active = 0usize;
    let mut retried_too_long = false;
    let outcome = loop {
        let (backend, model, price_model, pricing, tool_protocol) =
            match active.checked_sub(1).and_then(|i| fallbacks.get_mut(i)) {
                None => (
                    &mut *backend,
                    model.as_str(),
                    price_model.as_str(),
                    *pricing,
                    &mut *tool_protocol,
                ),
                Some(next) => (
                    &mut next.backend,
                    next.model.as_str(),
                    next.price_model.as_str(),
                    next.pricing,
                    &mut next.tool_protocol,
                ),
            };
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
        let frame = context::Frame {
            system: &system,
            tools,
        };
        keeper.adopt_reported_window();
        let mut measured = context::measure(keeper, frame, conversation);
        if !keeps_own_context && keeper.wants_compaction(measured.used) {
            let mut who =
                context::Summariser::new(name, model, price_model, pricing, prices, meter, backend);
            let why = match context::compact(
                &mut who,
                keeper,
                frame,
                conversation,
                out,
                cancel,
                context::Aim::HalfTheWindow,
            )
            .await
            {
                Ok(replaced) => {
                    start_len = context::start_after(start_len, replaced);
                    measured = context::measure(keeper, frame, conversation);
                    String::from("even the newest messages alone are too long")
                }
                Err(context::CompactError::Cancelled) => break Outcome::Cancelled,
                Err(error) => error.to_string(),
            };
            if !keeper.fits(measured.used) {
                conversation.truncate(start_len);
                break Outcome::failed(
                    FailureKind::Context,
                    context::cannot_fit(keeper, measured.used, &why),
                );
            }
        }
        let est_tokens = measured.used;
        if backend.endpoint().is_some() && !pace::wait_for_slot(rate_limit, name, out, cancel).await
        {
            break Outcome::Cancelled;
        }
        let hold = match booking::reserve(
            meter,
            prices,
            pricing,
            name,
            price_model,
            est_tokens,
            *max_tokens,
        ) {
            Ok(hold) => hold,
            Err(refused) => break Outcome::failed(FailureKind::Budget, refused.to_string()),
        };
        calls_made += 1;
        let mut streamed = String::new();
        let mut reported_input = None;
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
                pricing,
                prices,
                meter,
            };
            let mut provider_calls = HashMap::new();
            // While the Claude CLI runs, its requests through tzzr's bridge are served here
            // too: both sides emit, each holding the emitter only for one event.
            let shared_out = Mutex::new(&mut *out);
            let mut sink = |item: StreamItem| {
                if let Some(tokens) = context::reported_input(&item) {
                    reported_input = Some(tokens);
                }
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
        // The disk may be behind: wait for it between model calls rather than buffer without end.
        out.catch_up().await;

        let reply = match result {
            Ok(reply) => {
                if let Some(tokens) = reported_input.filter(|_| !keeps_own_context) {
                    keeper.estimator.learn(measured.raw, tokens);
                }
                retried_too_long = false;
                reply
            }
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
            Err(ProviderError::ContextTooLong { .. })
                if !keeps_own_context && !retried_too_long =>
            {
                // Our estimate was low: count more from now on, make room, and try once more.
                retried_too_long = true;
                calls_made -= 1;
                keeper.estimator.was_too_low();
                let mut who = context::Summariser::new(
                    name,
                    model,
                    price_model,
                    pricing,
                    prices,
                    meter,
                    backend,
                );
                match context::compact(
                    &mut who,
                    keeper,
                    frame,
                    conversation,
                    out,
                    cancel,
                    context::Aim::HalfThePrompt {
                        sent: measured.used,
                    },
                )
                .await
                {
                    Ok(replaced) => {
                        start_len = context::start_after(start_len, replaced);
                        continue;
                    }
                    Err(context::CompactError::Cancelled) => break Outcome::Cancelled,
                    Err(error) => {
                        conversation.truncate(start_len);
                        break Outcome::failed(
                            FailureKind::Context,
                            context::cannot_fit(keeper, measured.used, &error.to_string()),
                        );
                    }
                }
            }
            Err(error @ ProviderError::ContextTooLong { .. }) => {
                // Compacted and still too long: this turn's messages go, so the next turn works.
                conversation.truncate(start_len);
                break Outcome::failed(
                    FailureKind::Context,
                    format!(
                        "{error} (even after compacting the conversation; this turn's messages were dropped so the next prompt starts from what fitted)"
                    ),
                );
            }
            Err(error) => {
                if let Some(why) = fallback::reason_to_fall_back(&error, !streamed.is_empty())
                    && active < fallbacks.len()
                {
                    let from = match active.checked_sub(1) {
                        None => model_label.clone(),
                        Some(i) => fallbacks[i].label.clone(),
                    };
                    let to = fallbacks[active].label.clone();
                    active += 1;
                    calls_made -= 1;
                    out.emit(EventKind::FallbackTaken { from, to, why });
                    continue;
                }
                keep_partial(conversation, streamed);
                break Outcome::failed(error.kind(), error.to_string());
            }
        };

        let (calls, cut) = if uses_text {
            (text_protocol::parse_calls(&reply.text), Vec::new())
        } else {
            (reply.tool_calls.clone(), reply.cut_calls.clone())
        };
        conversation.push(Message::Assistant {
            text: reply.text.clone(),
            // Text-protocol calls live in the text; sending them as native calls would confuse the model.
            tool_calls: if uses_text {
                Vec::new()
            } else {
                stop::calls_kept(&calls, &cut)
            },
        });
        context::report(out, keeper, frame, conversation);
        let stopped = stop::stopped_by(&reply.stop);
        if let Some(reason @ (StoppedBy::ContentFilter | StoppedBy::Refusal)) = stopped {
            // A withheld answer's calls are not run, but still answered.
            let all = [calls, cut].concat();
            if !all.is_empty() {
                push_results(
                    conversation,
                    uses_text,
                    not_run(&all, "not run: the reply was withheld"),
                );
            }
            break Outcome::Stopped {
                text: reply.text,
                reason,
            };
        }
        if calls.is_empty() && cut.is_empty() {
            break match stopped {
                Some(reason) => Outcome::Stopped {
                    text: reply.text,
                    reason,
                },
                None => Outcome::Done { text: reply.text },
            };
        }
        let mut looped = None;
        let results = if calls_made >= *max_turns {
            let all: Vec<_> = calls.iter().chain(&cut).cloned().collect();
            let names: Vec<&str> = all.iter().map(|c| c.tool.as_str()).collect();
            out.emit(EventKind::Notice {
                text: format!(
                    "stopped after {calls_made} model calls (max_turns); the model still wanted: {}",
                    names.join(", ")
                ),
            });
            not_run(&all, &format!("not run: max_turns ({max_turns}) reached"))
        } else {
            let step = StepCalls {
                whole: &calls,
                cut: &cut,
                cut_before,
            };
            let ran = run_tools(toolbox, gate, out, step, &mut guard, cancel).await;
            looped = ran.looped;
            ran.results
        };
        push_results(conversation, uses_text, results);
        if cancel.is_cancelled() {
            break Outcome::Cancelled;
        }
        if let Some(why) = looped {
            break Outcome::failed(FailureKind::Loop, why);
        }
        if !cut.is_empty() {
            if cut_before {
                break Outcome::Stopped {
                    text: reply.text,
                    reason: StoppedBy::MaxTokens,
                };
            }
            cut_before = true;
        }
        if calls_made >= *max_turns {
            break Outcome::Done { text: reply.text };
        }
    };
    if conversation.len() == start_len + 1
        && matches!(conversation.last(), Some(Message::User { .. }))
    {
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
