//! MCP, both ways. As a client (rmcp), tzzr starts or reaches the `mcp_servers:` its agents list
//! and offers their tools to the model as `mcp__SERVER__TOOL`, through the same gate, trace and
//! log as its own tools. As a server, it serves tools the Claude Code CLI lacks (and the
//! approval prompt of the CLI's own tools) to Claude agents over a bridge (`bridge`).

pub mod bridge;
pub mod connect;
pub mod content;
pub mod hub;
pub mod naming;
pub mod server;

pub use hub::McpHub;
pub use server::{McpServer, McpTool, Phase, Snapshot};
