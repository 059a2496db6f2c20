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

#[cfg(test)]
mod tests {
    use indexmap::IndexMap;
    use serde_json::json;

    use super::*;
    use crate::engine::tools::ToolContext;
    use crate::engine::tools::approval::{ApprovalPolicy, Asker, Policy};

    fn toolbox(dir: &std::path::Path) -> Toolbox {
        let tools = ["bash", "read", "list_dir"].map(str::to_owned);
        Toolbox::new(&tools, ToolContext::new(dir.canonicalize().unwrap()))
    }

    fn gate(asker: Asker, per_tool: &[(&str, Policy)]) -> Gate {
        let policy = ApprovalPolicy {
            changes: Policy::Ask,
            per_tool: per_tool
                .iter()
                .map(|(tool, policy)| ((*tool).to_owned(), *policy))
                .collect::<IndexMap<_, _>>(),
        };
        Gate::new("cc", policy, asker)
    }

    fn request(tool: &str, input: serde_json::Value) -> PermissionRequest {
        PermissionRequest {
            tool_name: tool.into(),
            input,
            tool_use_id: Some("toolu_1".into()),
        }
    }

    async fn answer(
        toolbox: &Toolbox,
        gate: &mut Gate,
        request: PermissionRequest,
    ) -> PermissionAnswer {
        let mut emit = |_: EventKind| {};
        permit(toolbox, gate, &mut emit, request, &CancellationToken::new()).await
    }

    fn denial(answer: &PermissionAnswer) -> &str {
        match answer {
            PermissionAnswer::Deny { message } => message,
            PermissionAnswer::Allow { .. } => panic!("allowed: {answer:?}"),
        }
    }

    #[tokio::test]
    async fn the_clis_bash_follows_the_agents_policy() {
        let dir = tempfile::tempdir().unwrap();
        let toolbox = toolbox(dir.path());
        let input = json!({"command": "touch x"});
        let allowed = answer(
            &toolbox,
            &mut gate(Asker::ApproveAll, &[]),
            request("Bash", input.clone()),
        )
        .await;
        assert_eq!(
            allowed,
            PermissionAnswer::Allow {
                input: input.clone()
            }
        );
        let nobody = answer(
            &toolbox,
            &mut gate(Asker::Nobody, &[]),
            request("Bash", input.clone()),
        )
        .await;
        assert!(
            denial(&nobody).contains("no one can give it here"),
            "{nobody:?}"
        );
        let denied = answer(
            &toolbox,
            &mut gate(Asker::ApproveAll, &[("bash", Policy::Deny)]),
            request("Bash", input),
        )
        .await;
        assert!(
            denial(&denied).contains("agents.cc.approval denies `bash`"),
            "{denied:?}"
        );
    }

    #[tokio::test]
    async fn the_clis_file_tools_stay_inside_the_working_directory() {
        let dir = tempfile::tempdir().unwrap();
        let toolbox = toolbox(dir.path());
        let mut g = gate(Asker::ApproveAll, &[]);
        let outside = answer(
            &toolbox,
            &mut g,
            request("Read", json!({"file_path": "/etc/hostname"})),
        )
        .await;
        assert!(
            denial(&outside).contains("path outside the working directory"),
            "{outside:?}"
        );
        let climbing = answer(
            &toolbox,
            &mut g,
            request("Edit", json!({"file_path": "../x"})),
        )
        .await;
        assert!(denial(&climbing).contains("outside"), "{climbing:?}");
        let inside = answer(
            &toolbox,
            &mut g,
            request("Read", json!({"file_path": "notes.txt"})),
        )
        .await;
        assert!(
            matches!(inside, PermissionAnswer::Allow { .. }),
            "{inside:?}"
        );
    }

    #[tokio::test]
    async fn tools_tzzr_does_not_know_or_does_not_serve_are_refused() {
        let dir = tempfile::tempdir().unwrap();
        let toolbox = toolbox(dir.path());
        let mut g = gate(Asker::ApproveAll, &[]);
        let unknown = answer(&toolbox, &mut g, request("Task\u{1b}[31m", json!({}))).await;
        assert_eq!(
            denial(&unknown),
            "refused: tzzr has no approval policy for the claude CLI's tool `Task`"
        );
        let unserved = answer(&toolbox, &mut g, request("mcp__tzzr__ssh", json!({}))).await;
        assert_eq!(
            denial(&unserved),
            "tool `ssh` is not available to this agent"
        );
    }

    #[tokio::test]
    async fn served_tools_are_allowed_at_the_prompt_and_asked_about_when_they_run() {
        let dir = tempfile::tempdir().unwrap();
        let toolbox = toolbox(dir.path());
        let mut asking = gate(Asker::Interactive, &[("list_dir", Policy::Ask)]);
        let mut asked = 0;
        let answer = {
            let mut emit = |kind: EventKind| {
                if matches!(kind, EventKind::ApprovalNeeded { .. }) {
                    asked += 1;
                }
            };
            permit(
                &toolbox,
                &mut asking,
                &mut emit,
                request("mcp__tzzr__list_dir", json!({"path": "."})),
                &CancellationToken::new(),
            )
            .await
        };
        assert!(
            matches!(answer, PermissionAnswer::Allow { .. }),
            "{answer:?}"
        );
        assert_eq!(asked, 0, "the call itself will ask");
        let mut refusing = gate(Asker::Interactive, &[("list_dir", Policy::Deny)]);
        let refused = super::tests::answer(
            &toolbox,
            &mut refusing,
            request("mcp__tzzr__list_dir", json!({"path": "."})),
        )
        .await;
        assert!(
            denial(&refused).contains("denies `list_dir`"),
            "{refused:?}"
        );
    }
}
