//! What a Claude agent's turn serves while the Claude CLI runs: the CLI's requests through
//! tzzr's bridge. Tool calls run here like any other (trace, gate, log); permission prompts
//! for the CLI's own tools are decided by the same gate, asking the user the same way.

use std::convert::Infallible;
use std::sync::{Mutex, PoisonError};

use tokio_util::sync::CancellationToken;

use super::Emitter;
use super::turn::{Emit, pass_gate, run_one};
use crate::engine::conversation::ToolCall;
use crate::engine::mcp::bridge::permission::{
    CliTool, PermissionAnswer, PermissionRequest, map_cli_tool, path_of,
};
use crate::engine::mcp::bridge::{Bridge, HostRequest, HostRequests};
use crate::engine::protocol::{CallId, EventKind};
use crate::engine::provider::claude_cli::cli_name;
use crate::engine::tools::approval::{Gate, GateDecision};
use crate::engine::tools::{ToolOutput, ToolSpec, Toolbox};

/// A Claude agent's bridge and where its requests arrive.
#[derive(Debug)]
pub struct BridgeLink {
    /// Kept for as long as the agent lives: dropping it closes the socket.
    pub bridge: Bridge,
    pub requests: HostRequests,
}

/// Serves the CLI's requests one at a time until the turn drops this future (when the CLI's
/// run ends). Never returns.
pub(super) async fn serve(
    requests: &mut HostRequests,
    toolbox: &Toolbox,
    gate: &mut Gate,
    out: &Mutex<&mut Emitter>,
    cancel: &CancellationToken,
) -> Infallible {
    let mut emit = |kind: EventKind| {
        out.lock()
            .unwrap_or_else(PoisonError::into_inner)
            .emit(kind);
    };
    while let Some(request) = requests.recv().await {
        // A dropped reply means the CLI gave up waiting; nothing else to do with the answer.
        match request {
            HostRequest::ListTools { reply } => {
                let _ = reply.send(served(toolbox));
            }
            HostRequest::Call { call, reply } => {
                let refused = is_cli_own(&call.tool).then(|| {
                    ToolOutput::failed(format!(
                        "`{}` is the claude CLI's own tool here; tzzr does not serve it",
                        call.tool
                    ))
                });
                let output = run_one(toolbox, gate, &mut emit, &call, refused, cancel).await;
                let _ = reply.send(output);
            }
            HostRequest::Permission { request, reply } => {
                let answer = permit(toolbox, gate, &mut emit, request, cancel).await;
                let _ = reply.send(answer);
            }
        }
    }
    // The bridge is gone (the agent is stopping): wait for the CLI's run to end.
    std::future::pending().await
}

/// The tools the bridge serves: the agent's tools the CLI lacks, and its MCP servers' tools.
fn served(toolbox: &Toolbox) -> Vec<ToolSpec> {
    toolbox
        .specs()
        .iter()
        .filter(|spec| !is_cli_own(&spec.name))
        .cloned()
        .collect()
}

fn is_cli_own(tool: &str) -> bool {
    cli_name(tool).is_some()
}

/// The answer to the CLI's permission prompt, by the agent's policy (and the user, when it
/// asks). Tools tzzr serves pass the gate when they run, so they are not asked about twice.
async fn permit(
    toolbox: &Toolbox,
    gate: &mut Gate,
    emit: &mut Emit<'_>,
    request: PermissionRequest,
    cancel: &CancellationToken,
) -> PermissionAnswer {
    let deny = |message: String| PermissionAnswer::Deny { message };
    let allow = |input| PermissionAnswer::Allow { input };
    let tool = match map_cli_tool(&request.tool_name) {
        CliTool::Unknown => {
            return deny(format!(
                "refused: tzzr has no approval policy for the claude CLI's tool `{}`",
                crate::sanitize::line_for_display(&request.tool_name)
            ));
        }
        CliTool::Bridged(tool) => {
            if !toolbox.offers(&tool) || is_cli_own(&tool) {
                return deny(format!("tool `{tool}` is not available to this agent"));
            }
            return match gate.decide(&tool) {
                GateDecision::Refuse(reason) => deny(reason),
                GateDecision::Run | GateDecision::Ask(_) => allow(request.input),
            };
        }
        CliTool::Own(tool) => tool,
    };
    // The CLI's file tools stay where tzzr's would: inside the working directory, away from
    // the config, `.env` files and logs.
    if matches!(tool, "read" | "write" | "glob" | "grep" | "list_dir")
        && let Some(path) = path_of(&request.input)
        && let Err(why) = toolbox.confine(path)
    {
        return deny(format!("refused: {why}"));
    }
    let id = request
        .tool_use_id
        .clone()
        .unwrap_or_else(|| format!("permission-{}", request.tool_name));
    let call = ToolCall {
        id: CallId(id),
        tool: tool.to_owned(),
        args: request.input,
    };
    match pass_gate(gate, emit, &call, cancel).await {
        Ok(()) => allow(call.args),
        Err(reason) => deny(reason),
    }
}
