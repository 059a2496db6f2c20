//! Every MCP server of a config that some agent uses, started together in the background when
//! the orchestrator starts and stopped (killed) together at shutdown. Agents that list the same
//! server share its one connection.

use std::time::Duration;

use indexmap::IndexMap;
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;

use super::connect::Launch;
use super::server::{McpServer, Phase};
use crate::engine::config::Config;

/// The longest a server may take to start (handshake and tool list).
const CONNECT_LIMIT: Duration = Duration::from_secs(30);

/// The MCP servers of one config.
#[derive(Debug, Default)]
pub struct McpHub {
    servers: IndexMap<String, McpServer>,
    tasks: Vec<JoinHandle<()>>,
    stop: CancellationToken,
}

impl McpHub {
    /// Starts every server some agent lists. Must run inside a tokio runtime.
    pub fn start(config: &Config) -> Self {
        let stop = CancellationToken::new();
        let limit = connect_limit(config);
        let secret_vars: Vec<String> = config
            .providers
            .values()
            .filter_map(|p| p.api_key_env.clone())
            .collect();
        let mut servers = IndexMap::new();
        let mut tasks = Vec::new();
        for (name, spec) in &config.mcp_servers {
            if !config.agents.values().any(|a| a.mcp.contains(name)) {
                continue;
            }
            let launch = Launch {
                name: name.clone(),
                spec: spec.clone(),
                base_dir: config.base_dir.clone(),
                secret_vars: secret_vars.clone(),
            };
            let (server, task) = McpServer::spawn(launch, limit, stop.child_token());
            servers.insert(name.clone(), server);
            tasks.push(task);
        }
        Self {
            servers,
            tasks,
            stop,
        }
    }

    /// Handles on the servers named (those that exist, in the order given).
    pub fn for_agent(&self, names: &[String]) -> Vec<McpServer> {
        names
            .iter()
            .filter_map(|name| self.servers.get(name).cloned())
            .collect()
    }

    /// Waits until no server is still starting, at most the start limit.
    pub async fn settle(&self) {
        let never = CancellationToken::new();
        let waits = self.servers.values().map(|server| async {
            if server.snapshot().phase == Phase::Connecting {
                server.ready(CONNECT_LIMIT, &never).await;
            }
        });
        futures::future::join_all(waits).await;
    }

    /// Stops every server (their process groups are killed) and waits for that.
    pub async fn shutdown(mut self) {
        self.stop.cancel();
        for task in self.tasks.drain(..) {
            // A task that panicked has nothing left to stop.
            let _ = task.await;
        }
    }
}

impl Drop for McpHub {
    /// Dropped without `shutdown` (a reload, an error path): the tasks still stop.
    fn drop(&mut self) {
        self.stop.cancel();
    }
}

/// How long a server may take to start: the config's timeout, at most 30 s.
pub fn connect_limit(config: &Config) -> Duration {
    start_limit(config.settings.timeout)
}

/// How long a server may take to start, for a tool timeout of `timeout`.
pub fn start_limit(timeout: Duration) -> Duration {
    timeout.min(CONNECT_LIMIT)
}
