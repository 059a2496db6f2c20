//! One turn: the prompt, then model calls and tool runs until the model answers without tools,
//! `max_turns` model calls are made, the budget says no, or the user cancels. Whatever happens,
//! the conversation is left in a state every provider accepts.

use std::collections::HashMap;
use std::sync::{Mutex, PoisonError};

use tokio::time::Instant;
use tokio_util::sync::CancellationToken;

use super::{AgentRuntime, Emitter, host};
use crate::engine::config::ToolProtocol;
use crate::engine::conversation::{Message, ToolCall, ToolResult};
use crate::engine::cost::{CostMeter, PriceTable};
use crate::engine::protocol::Approval;
use crate::engine::protocol::{CallId, EventKind, Outcome, TokenUsage};
use crate::engine::provider::{ModelRequest, ProviderError, StreamItem};
use crate::engine::tools::approval::{Gate, GateDecision};
use crate::engine::tools::{ToolOutput, ToolSpec, Toolbox, text_protocol};

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
        backend,
        toolbox,
        gate,
        tool_protocol,
        max_turns,
        temperature,
        max_tokens,
        prices,
        meter,
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
        let est_tokens = estimate_tokens(&system, conversation, tools);
        let est_cost = prices
            .cost(
                price_model,
                &TokenUsage {
                    input: est_tokens,
                    ..TokenUsage::default()
                },
            )
            .unwrap_or(0.0);
        if let Err(refused) = lock(meter).check(name, est_cost) {
            break Outcome::Failed {
                error: refused.to_string(),
            };
        }

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

/// What the usage of a call is booked against.
struct UsageContext<'a> {
    agent: &'a str,
    upstream_model: &'a str,
    price_model: &'a str,
    prices: &'a PriceTable,
    meter: &'a Mutex<CostMeter>,
}

/// Turns a provider's item into events (and books usage on the meter).
fn forward(
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
        StreamItem::Usage {
            model,
            usage,
            reported_cost_usd,
        } => {
            let label = if model == usage_ctx.upstream_model {
                usage_ctx.price_model.to_owned()
            } else {
                model
            };
            let priced = usage_ctx.prices.cost(&label, &usage);
            let cost_usd = reported_cost_usd.or(priced).unwrap_or(0.0);
            lock(usage_ctx.meter).record(usage_ctx.agent, &label, usage, cost_usd);
            EventKind::Usage {
                model: label,
                usage,
                cost_usd,
                priced: reported_cost_usd.is_some() || priced.is_some(),
            }
        }
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
    };
    out.emit(kind);
}

async fn run_tools(
    toolbox: &Toolbox,
    gate: &mut Gate,
    out: &mut Emitter,
    calls: &[ToolCall],
    cancel: &CancellationToken,
) -> Vec<ToolResult> {
    let mut results = Vec::with_capacity(calls.len());
    let mut emit = |kind| out.emit(kind);
    for call in calls {
        if cancel.is_cancelled() {
            results.extend(not_run(
                std::slice::from_ref(call),
                "not run: the turn was cancelled",
            ));
            continue;
        }
        let output = run_one(toolbox, gate, &mut emit, call, None, cancel).await;
        results.push(ToolResult {
            call: call.id.clone(),
            tool: call.tool.clone(),
            ok: output.ok,
            output: output.output,
        });
    }
    results
}

/// Where events go while a provider call may be emitting too (see `host`).
pub(super) type Emit<'a> = dyn FnMut(EventKind) + Send + 'a;

/// One tool call from request to result, in the trace: refused (`refused`, or a tool the agent
/// does not have, before anyone is asked), or past the gate and run.
pub(super) async fn run_one(
    toolbox: &Toolbox,
    gate: &mut Gate,
    emit: &mut Emit<'_>,
    call: &ToolCall,
    refused: Option<ToolOutput>,
    cancel: &CancellationToken,
) -> ToolOutput {
    emit(EventKind::ToolCallRequested {
        call: call.id.clone(),
        tool: call.tool.clone(),
        args: call.args.clone(),
        runs_in_provider: false,
    });
    let started = Instant::now();
    let output = match refused.or_else(|| toolbox.refuse_unoffered(&call.tool)) {
        Some(refusal) => refusal,
        None => match pass_gate(gate, emit, call, cancel).await {
            Ok(()) => toolbox.run(call, cancel).await,
            Err(refusal) => ToolOutput::failed(refusal),
        },
    };
    emit(EventKind::ToolCallFinished {
        call: call.id.clone(),
        tool: call.tool.clone(),
        ok: output.ok,
        output: output.output.clone(),
        duration: started.elapsed(),
        full_output: output.full_output.clone(),
    });
    if !output.ok
        && let Some(why) = toolbox.mcp_down(&call.tool)
    {
        emit(EventKind::Notice {
            text: format!("{why}; the agent goes on, and the next call starts it again"),
        });
    }
    output
}

/// Whether `call` may run: by policy, or by the user's answer. `Err` carries the refusal the
/// model will read.
pub(super) async fn pass_gate(
    gate: &mut Gate,
    emit: &mut Emit<'_>,
    call: &ToolCall,
    cancel: &CancellationToken,
) -> Result<(), String> {
    match gate.decide(&call.tool) {
        GateDecision::Run => Ok(()),
        GateDecision::Refuse(reason) => Err(reason),
        GateDecision::Ask(why) => {
            emit(EventKind::ApprovalNeeded {
                call: call.id.clone(),
                tool: call.tool.clone(),
                args: call.args.clone(),
                why,
            });
            match gate.wait(&call.id, cancel).await {
                Some(Approval::Allow) => Ok(()),
                Some(Approval::AlwaysAllow) => {
                    gate.always_allow(&call.tool);
                    Ok(())
                }
                Some(Approval::Deny) => Err("refused: the user denied this call".to_owned()),
                None => Err("not run: the turn was cancelled".to_owned()),
            }
        }
    }
}

fn not_run(calls: &[ToolCall], why: &str) -> Vec<ToolResult> {
    calls
        .iter()
        .map(|call| ToolResult {
            call: call.id.clone(),
            tool: call.tool.clone(),
            ok: false,
            output: why.to_owned(),
        })
        .collect()
}

fn push_results(conversation: &mut Vec<Message>, uses_text: bool, results: Vec<ToolResult>) {
    if uses_text {
        conversation.push(Message::user(text_protocol::results_message(&results)));
    } else {
        conversation.push(Message::ToolResults { results });
    }
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

/// About four characters a token: enough for a budget check and the token limiter.
fn estimate_tokens(system: &str, messages: &[Message], tools: &[ToolSpec]) -> u64 {
    let tool_chars: usize = tools
        .iter()
        .map(|t| t.name.len() + t.description.len() + t.parameters.to_string().len())
        .sum();
    let chars =
        system.len() + tool_chars + messages.iter().map(Message::approx_chars).sum::<usize>();
    (chars as u64).div_ceil(4)
}

fn lock<T>(shared: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    shared.lock().unwrap_or_else(PoisonError::into_inner)
}
