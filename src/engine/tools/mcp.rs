//! The toolbox's MCP side: the tools of the agent's MCP servers, offered after tzzr's own and
//! refreshed at the start of each turn, and their calls, bounded like every other tool's.

use std::time::Duration;

use serde_json::Value;
use tokio_util::sync::CancellationToken;

use super::Toolbox;
use super::error::ToolError;
use crate::engine::mcp::{McpServer, Phase, naming};

impl Toolbox {
    /// The same toolbox with the tools of these MCP servers too (offered once they are known).
    pub fn with_mcp(mut self, servers: Vec<McpServer>) -> Self {
        self.mcp = servers;
        self
    }

    /// The agent's MCP servers.
    pub fn mcp_servers(&self) -> &[McpServer] {
        &self.mcp
    }

    /// Brings the offered MCP tools up to date: waits (at most `limit`) for servers still
    /// starting, asks servers that are down to start again, then offers every tool known.
    /// Returns what the user should hear about (a server down, a tool that cannot be offered),
    /// each thing once until it changes.
    pub async fn refresh_mcp(
        &mut self,
        limit: Duration,
        cancel: &CancellationToken,
    ) -> Vec<String> {
        if self.mcp.is_empty() {
            return Vec::new();
        }
        let snapshots =
            futures::future::join_all(self.mcp.iter().map(|server| server.ready(limit, cancel)))
                .await;
        let mut notices = Vec::new();
        self.specs.truncate(self.builtin);
        for (server, snapshot) in self.mcp.iter().zip(snapshots) {
            let name = server.name();
            let heard = match &snapshot.phase {
                Phase::Ready => None,
                Phase::Down(why) if snapshot.tools.is_empty() => {
                    Some(format!("{why}; its tools are not offered to the model"))
                }
                Phase::Down(why) => Some(format!(
                    "{why}; its tools stay offered and their next call starts it again"
                )),
                Phase::Connecting => Some(format!(
                    "MCP server `{name}` is still starting after {}s; its tools are offered once it is up",
                    limit.as_secs_f64()
                )),
            };
            match heard {
                Some(text) if self.mcp_heard.get(name) != Some(&text) => {
                    self.mcp_heard.insert(name.to_owned(), text.clone());
                    notices.push(text);
                }
                Some(_) => {}
                None => {
                    self.mcp_heard.remove(name);
                }
            }
            for skipped in snapshot.skipped.iter() {
                if self.mcp_skipped_heard.insert(skipped.clone()) {
                    notices.push(skipped.clone());
                }
            }
            for tool in snapshot.tools.iter() {
                if !self.specs.iter().any(|s| s.name == tool.spec.name) {
                    self.specs.push(tool.spec.clone());
                }
            }
        }
        notices
    }

    /// Whether a file tool may touch `path` (inside the working directory when confined, never
    /// the config, `.env` files or logs); `Err` says why not. For the Claude CLI's own file
    /// tools, which ask tzzr through the bridge.
    pub fn confine(&self, path: &str) -> Result<(), String> {
        self.sandbox
            .resolve(path)
            .map(|_| ())
            .map_err(|e| e.to_string())
    }

    /// Why the MCP server behind `tool` is down, if it is one and it is.
    pub fn mcp_down(&self, tool: &str) -> Option<String> {
        match self.mcp_server_for(tool)?.snapshot().phase {
            Phase::Down(why) => Some(why),
            Phase::Connecting | Phase::Ready => None,
        }
    }

    pub(super) fn mcp_server_for(&self, tool: &str) -> Option<&McpServer> {
        let (server, _) = naming::split(tool)?;
        self.mcp.iter().find(|s| s.name() == server)
    }

    /// One call of an MCP tool the agent is offered.
    pub(super) async fn run_mcp(
        &self,
        server: &McpServer,
        tool: &str,
        args: &Value,
        cancel: &CancellationToken,
    ) -> Result<String, ToolError> {
        let Some((_, server_tool)) = naming::split(tool) else {
            return Err(ToolError::Failed(format!(
                "`{tool}` is not an MCP tool name"
            )));
        };
        let call = async {
            server
                .call(server_tool, args)
                .await
                .map_err(ToolError::Failed)
        };
        super::limits::bounded(call, self.ctx.timeout, cancel).await
    }
}
