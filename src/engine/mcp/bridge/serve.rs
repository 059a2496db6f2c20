//! The MCP server side of the bridge: one per connection from the relay. It answers
//! `tools/list` and `tools/call` by asking the agent's running turn ([`HostRequest`]s), which
//! owns the gate, the toolbox and the events.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use rmcp::model::{
    CallToolRequestParams, CallToolResponse, CallToolResult, ContentBlock, Implementation,
    JsonObject, ListToolsResult, PaginatedRequestParams, ServerCapabilities, ServerConfig, Tool,
};
use rmcp::service::RequestContext;
use rmcp::{ErrorData, RoleServer, ServerHandler};
use serde_json::{Value, json};
use tokio::sync::{mpsc, oneshot};

use super::permission::PermissionRequest;
use super::{APPROVE_TOOL, HostRequest, bridge_name, tzzr_name};
use crate::engine::conversation::ToolCall;
use crate::engine::protocol::CallId;

/// Where Claude Code puts the id of the model's tool call in a `tools/call`'s `_meta`.
const TOOL_USE_ID: &str = "claudecode/toolUseId";

/// Serves one connection of the Claude CLI.
#[derive(Clone)]
pub struct BridgeServer {
    requests: mpsc::Sender<HostRequest>,
    /// Numbers calls that come without the CLI's tool-use id.
    calls: Arc<AtomicU64>,
}

impl BridgeServer {
    pub fn new(requests: mpsc::Sender<HostRequest>, calls: Arc<AtomicU64>) -> Self {
        Self { requests, calls }
    }

    /// Sends `request` to the agent's turn and waits for its answer.
    async fn ask<T>(
        &self,
        request: impl FnOnce(oneshot::Sender<T>) -> HostRequest,
    ) -> Result<T, ErrorData> {
        let (reply, answer) = oneshot::channel();
        let gone = || ErrorData::internal_error("the tzzr agent is not running a turn", None);
        self.requests
            .send(request(reply))
            .await
            .map_err(|_| gone())?;
        answer.await.map_err(|_| gone())
    }
}

impl ServerHandler for BridgeServer {
    fn get_info(&self) -> ServerConfig {
        ServerConfig::new(ServerCapabilities::builder().enable_tools().build())
            .with_server_info(Implementation::new("tzzr", env!("CARGO_PKG_VERSION")))
            .with_instructions(
                "tzzr's tools for this agent; they run in tzzr under its approval policy.",
            )
    }

    async fn list_tools(
        &self,
        _request: Option<PaginatedRequestParams>,
        _context: RequestContext<RoleServer>,
    ) -> Result<ListToolsResult, ErrorData> {
        let specs = self.ask(|reply| HostRequest::ListTools { reply }).await?;
        let mut tools: Vec<Tool> = specs
            .into_iter()
            .map(|spec| {
                let schema = match spec.parameters {
                    Value::Object(schema) => schema,
                    _ => JsonObject::new(),
                };
                Tool::new(bridge_name(&spec.name), spec.description, schema)
            })
            .collect();
        tools.push(approve_tool());
        Ok(ListToolsResult::with_all_items(tools))
    }

    async fn call_tool(
        &self,
        request: CallToolRequestParams,
        context: RequestContext<RoleServer>,
    ) -> Result<CallToolResponse, ErrorData> {
        let arguments = Value::Object(request.arguments.clone().unwrap_or_default());
        if request.name == APPROVE_TOOL {
            let answer = match PermissionRequest::parse(&arguments) {
                Ok(permission) => {
                    self.ask(|reply| HostRequest::Permission {
                        request: permission,
                        reply,
                    })
                    .await?
                }
                Err(why) => super::permission::PermissionAnswer::Deny { message: why },
            };
            let text = ContentBlock::text(answer.to_json());
            return Ok(CallToolResult::success(vec![text]).into());
        }
        let tool_use_id = context
            .meta
            .get(TOOL_USE_ID)
            .or_else(|| request.meta.as_ref().and_then(|m| m.get(TOOL_USE_ID)))
            .and_then(Value::as_str)
            .map(str::to_owned);
        let id = tool_use_id.unwrap_or_else(|| {
            format!("bridge-{}", self.calls.fetch_add(1, Ordering::Relaxed) + 1)
        });
        let call = ToolCall {
            id: CallId(id),
            tool: tzzr_name(&request.name),
            args: arguments,
        };
        let output = self.ask(|reply| HostRequest::Call { call, reply }).await?;
        let content = vec![ContentBlock::text(output.output)];
        Ok(if output.ok {
            CallToolResult::success(content)
        } else {
            CallToolResult::error(content)
        }
        .into())
    }
}

/// The permission-prompt tool. The CLI calls it itself and does not offer it to the model.
fn approve_tool() -> Tool {
    let schema = json!({
        "type": "object",
        "properties": {
            "tool_name": {"type": "string", "description": "The tool that wants to run"},
            "input": {"type": "object", "description": "Its input"},
            "tool_use_id": {"type": "string", "description": "The id of the model's call"}
        },
        "required": ["tool_name", "input"]
    });
    let schema: JsonObject = serde_json::from_value(schema).unwrap_or_default();
    Tool::new(
        APPROVE_TOOL,
        "Asks tzzr (and its user) whether one of the Claude CLI's tool calls may run.",
        schema,
    )
}
