//! The bridge that gives Claude Code agents tzzr's tools. For each such agent tzzr listens on a
//! Unix socket in a private runtime directory and writes an mcp-config naming one stdio server,
//! `tzzr`, whose command is tzzr itself in relay mode (`tzzr __mcp-bridge SOCKET`). What the CLI
//! asks over it (the tool list, tool calls, permission prompts) reaches the agent's running turn
//! as [`HostRequest`]s, answered there with the agent's own gate, toolbox and events.

pub mod permission;
pub mod relay;
mod runtime_dir;
mod serve;

use std::io::Write;
use std::os::unix::fs::OpenOptionsExt;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::AtomicU64;

use rmcp::ServiceExt;
use tokio::net::UnixListener;
use tokio::sync::{mpsc, oneshot};
use tokio::task::{JoinHandle, JoinSet};
use tokio_util::sync::CancellationToken;

use self::permission::{PermissionAnswer, PermissionRequest};
pub use self::runtime_dir::RuntimeDir;
use self::serve::BridgeServer;
use super::naming;
use crate::engine::conversation::ToolCall;
use crate::engine::tools::{ALL_TOOLS, ToolOutput, ToolSpec};

/// The MCP server's name in the CLI's config: its tools are `mcp__tzzr__NAME` to the CLI.
pub const SERVER_NAME: &str = "tzzr";
/// The first argument that makes tzzr a relay (dispatched before flags are parsed).
pub const RELAY_MODE: &str = "__mcp-bridge";
/// The bridge's permission-prompt tool.
pub const APPROVE_TOOL: &str = "approve";
/// What the CLI calls the bridge's tools: this prefix, then the bridge's name.
pub const CLI_PREFIX: &str = "mcp__tzzr__";
/// The value of `--permission-prompt-tool`.
pub const PERMISSION_PROMPT_TOOL: &str = "mcp__tzzr__approve";

/// What the CLI asks of the agent, through the bridge, while a turn runs.
#[derive(Debug)]
pub enum HostRequest {
    /// The tools to serve (tzzr's names; the bridge renames them).
    ListTools {
        reply: oneshot::Sender<Vec<ToolSpec>>,
    },
    /// Run one served tool (`call.tool` in tzzr's name).
    Call {
        call: ToolCall,
        reply: oneshot::Sender<ToolOutput>,
    },
    /// May one of the CLI's tool calls run?
    Permission {
        request: PermissionRequest,
        reply: oneshot::Sender<PermissionAnswer>,
    },
}

/// Where an agent's turn receives [`HostRequest`]s.
pub type HostRequests = mpsc::Receiver<HostRequest>;

/// The bridge's name for one of tzzr's tools: tzzr's own keep theirs, `mcp__S__T` becomes
/// `S__T` (so the CLI sees `mcp__tzzr__S__T`).
pub fn bridge_name(tzzr: &str) -> String {
    tzzr.strip_prefix(naming::PREFIX).unwrap_or(tzzr).to_owned()
}

/// tzzr's name for one of the bridge's tools (the inverse of [`bridge_name`]).
pub fn tzzr_name(bridge: &str) -> String {
    if ALL_TOOLS.contains(&bridge) || bridge == APPROVE_TOOL {
        bridge.to_owned()
    } else {
        format!("{}{bridge}", naming::PREFIX)
    }
}

/// The tzzr name of a tool the CLI reports, if it is one of the bridge's (`mcp__tzzr__X`).
pub fn from_cli_name(cli: &str) -> Option<String> {
    cli.strip_prefix(CLI_PREFIX).map(tzzr_name)
}

/// One agent's bridge: its socket (served while this lives) and its mcp-config file.
#[derive(Debug)]
pub struct Bridge {
    config_file: PathBuf,
    socket: PathBuf,
    stop: CancellationToken,
    listener: JoinHandle<()>,
}

impl Bridge {
    /// Listens for agent number `slot` in `dir` and writes the CLI's mcp-config (0600) naming
    /// `program` as the relay. Must run inside a tokio runtime.
    pub fn open(
        dir: &RuntimeDir,
        slot: usize,
        program: &Path,
    ) -> std::io::Result<(Self, HostRequests)> {
        let socket = dir.path().join(format!("agent-{slot}.sock"));
        let config_file = dir.path().join(format!("agent-{slot}.mcp.json"));
        let listener = UnixListener::bind(&socket)?;
        let config = serde_json::json!({
            "mcpServers": {
                SERVER_NAME: {
                    "type": "stdio",
                    "command": program,
                    "args": [RELAY_MODE, &socket],
                }
            }
        });
        std::fs::OpenOptions::new()
            .write(true)
            .create_new(true)
            .mode(0o600)
            .open(&config_file)?
            .write_all(config.to_string().as_bytes())?;
        let (requests, inbox) = mpsc::channel(16);
        let stop = CancellationToken::new();
        let listener = tokio::spawn(accept(listener, requests, stop.clone()));
        Ok((
            Self {
                config_file,
                socket,
                stop,
                listener,
            },
            inbox,
        ))
    }

    /// The file to pass to the CLI's `--mcp-config`.
    pub fn mcp_config(&self) -> &Path {
        &self.config_file
    }
}

impl Drop for Bridge {
    fn drop(&mut self) {
        self.stop.cancel();
        self.listener.abort();
        let _ = std::fs::remove_file(&self.socket);
        let _ = std::fs::remove_file(&self.config_file);
    }
}

/// Accepts the relay's connections (only from this user) and serves each until it closes or
/// the bridge stops.
async fn accept(
    listener: UnixListener,
    requests: mpsc::Sender<HostRequest>,
    stop: CancellationToken,
) {
    let me = rustix::process::getuid();
    let calls = Arc::new(AtomicU64::new(0));
    let mut connections = JoinSet::new();
    loop {
        let stream = tokio::select! {
            () = stop.cancelled() => break,
            // Reap finished connections as they end.
            Some(_) = connections.join_next(), if !connections.is_empty() => continue,
            accepted = listener.accept() => match accepted {
                Ok((stream, _)) => stream,
                Err(e) => {
                    tracing::warn!(error = %e, "the MCP bridge cannot accept a connection");
                    continue;
                }
            },
        };
        let same_user = stream
            .peer_cred()
            .is_ok_and(|cred| cred.uid() == me.as_raw());
        if !same_user {
            tracing::warn!("the MCP bridge refused a connection from another user");
            continue;
        }
        let server = BridgeServer::new(requests.clone(), calls.clone());
        let stop = stop.clone();
        connections.spawn(async move {
            let (read, write) = stream.into_split();
            match server
                .serve_with_ct((read, write), stop.child_token())
                .await
            {
                Ok(running) => {
                    let _ = running.waiting().await;
                }
                Err(e) => tracing::warn!(error = %e, "the MCP bridge's handshake failed"),
            }
        });
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_go_both_ways_between_tzzr_the_bridge_and_the_cli() {
        for (tzzr, bridge) in [
            ("list_dir", "list_dir"),
            ("http_request", "http_request"),
            ("mcp__everything__echo", "everything__echo"),
        ] {
            assert_eq!(bridge_name(tzzr), bridge);
            assert_eq!(tzzr_name(bridge), tzzr);
        }
        assert_eq!(from_cli_name("mcp__tzzr__ssh"), Some("ssh".into()));
        assert_eq!(
            from_cli_name("mcp__tzzr__everything__echo"),
            Some("mcp__everything__echo".into())
        );
        assert_eq!(from_cli_name("Bash"), None);
    }
}
