//! Running the tool calls of one model reply: each through the agent's gate, in order, with
//! its request and result in the trace.

use tokio::time::Instant;
use tokio_util::sync::CancellationToken;

use super::super::Emitter;
use crate::engine::conversation::{Message, ToolCall, ToolResult};
use crate::engine::protocol::{Approval, EventKind};
use crate::engine::tools::approval::{Gate, GateDecision};
use crate::engine::tools::{ToolOutput, Toolbox, text_protocol};

pub(super) async fn run_tools(
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
