//! Running the tool calls of one model reply: each through the agent's gate, in order, with
//! its request and result in the trace; at most `MAX_CALLS_PER_STEP` of them, none whose
//! arguments were cut, none past the loop guard, and every call answered.

use tokio::time::Instant;
use tokio_util::sync::CancellationToken;

use super::super::Emitter;
use super::guard::LoopGuard;
use super::stop;
use crate::engine::conversation::{Message, ToolCall, ToolResult};
use crate::engine::protocol::{Approval, EventKind};
use crate::engine::tools::approval::{Gate, GateDecision};
use crate::engine::tools::{ToolOutput, Toolbox, text_protocol};

/// Tool calls run from one model reply at most. The rest are answered "not run", so every call
/// still has its result; 5,000 calls in one reply do not all run.
pub(super) const MAX_CALLS_PER_STEP: usize = 32;

/// The calls of one model reply.
pub(super) struct StepCalls<'a> {
    /// Calls whose arguments arrived whole.
    pub whole: &'a [ToolCall],
    /// Calls whose arguments were cut off: never run.
    pub cut: &'a [ToolCall],
    /// A call was cut before in this turn (the model was already asked to retry).
    pub cut_before: bool,
}

/// What one reply's calls came to: a result for each, whole calls first, in order.
pub(super) struct StepResults {
    pub results: Vec<ToolResult>,
    /// Why the loop guard stopped the turn, if it did.
    pub looped: Option<String>,
}

pub(super) async fn run_tools(
    toolbox: &Toolbox,
    gate: &mut Gate,
    out: &mut Emitter,
    calls: StepCalls<'_>,
    guard: &mut LoopGuard,
    cancel: &CancellationToken,
) -> StepResults {
    let mut results = Vec::with_capacity(calls.whole.len() + calls.cut.len());
    let mut looped = None;
    let (to_run, over_cap) = calls
        .whole
        .split_at(calls.whole.len().min(MAX_CALLS_PER_STEP));
    let mut emit = |kind| out.emit(kind);
    for call in to_run {
        if cancel.is_cancelled() {
            results.extend(not_run(
                std::slice::from_ref(call),
                "not run: the turn was cancelled",
            ));
            continue;
        }
        if looped.is_some() {
            results.extend(not_run(
                std::slice::from_ref(call),
                "not run: the loop guard stopped the turn",
            ));
            continue;
        }
        let refused = guard.check(call).err().map(|why| {
            let output = ToolOutput::failed(format!("not run: {why}"));
            looped = Some(why);
            output
        });
        let output = run_one(toolbox, gate, &mut emit, call, refused, cancel).await;
        results.push(ToolResult {
            call: call.id.clone(),
            tool: call.tool.clone(),
            ok: output.ok,
            output: output.output,
        });
    }
    if !over_cap.is_empty() {
        emit(EventKind::Notice {
            text: format!(
                "the model asked for {} tool calls in one reply; the first {MAX_CALLS_PER_STEP} were taken and the other {} answered \"not run\"",
                calls.whole.len(),
                over_cap.len()
            ),
        });
        results.extend(not_run(
            over_cap,
            &format!(
                "not run: only the first {MAX_CALLS_PER_STEP} tool calls of one reply are run; ask for this one again in your next reply"
            ),
        ));
    }
    for call in calls.cut {
        let refused = ToolOutput::failed(stop::cut_call_result(calls.cut_before));
        let output = run_one(toolbox, gate, &mut emit, call, Some(refused), cancel).await;
        results.push(ToolResult {
            call: call.id.clone(),
            tool: call.tool.clone(),
            ok: output.ok,
            output: output.output,
        });
    }
    StepResults { results, looped }
}

/// Where events go while a provider call may be emitting too (see `host`).
pub(in crate::engine::agent) type Emit<'a> = dyn FnMut(EventKind) + Send + 'a;

/// One tool call from request to result, in the trace: refused (`refused`, or a tool the agent
/// does not have, before anyone is asked), or past the gate and run.
pub(in crate::engine::agent) async fn run_one(
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
pub(in crate::engine::agent) async fn pass_gate(
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

pub(super) fn not_run(calls: &[ToolCall], why: &str) -> Vec<ToolResult> {
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

pub(super) fn push_results(
    conversation: &mut Vec<Message>,
    uses_text: bool,
    results: Vec<ToolResult>,
) {
    if uses_text {
        conversation.push(Message::user(text_protocol::results_message(&results)));
    } else {
        conversation.push(Message::ToolResults { results });
    }
}
