//! `/reload`: takes a new config into the running orchestrator, restarting only what changed.

use std::sync::{Arc, PoisonError};

use super::endpoints::EndpointPool;
use super::{Orchestrator, StartError, budgets, working_dir};
use crate::engine::config::{AgentSpec, Config};
use crate::engine::cost::PriceTable;
use crate::engine::env::Environment;
use crate::engine::mcp::McpHub;

/// What `/reload` changed.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ReloadSummary {
    pub kept: Vec<String>,
    pub restarted: Vec<String>,
    pub added: Vec<String>,
    pub removed: Vec<String>,
}

impl std::fmt::Display for ReloadSummary {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let part = |what: &str, names: &[String]| {
            (!names.is_empty()).then(|| format!("{what} {}", names.join(", ")))
        };
        let parts: Vec<String> = [
            part("restarted", &self.restarted),
            part("added", &self.added),
            part("removed", &self.removed),
        ]
        .into_iter()
        .flatten()
        .collect();
        if parts.is_empty() {
            write!(f, "config reloaded: nothing changed")
        } else {
            write!(
                f,
                "config reloaded: {}; {} kept their conversations",
                parts.join("; "),
                self.kept.len()
            )
        }
    }
}

impl Orchestrator {
    /// Takes a new config: agents whose definition did not change keep running with their
    /// conversations; changed ones restart; new ones start; removed ones stop. A change to
    /// `settings`, `providers` or `models` restarts every agent (their endpoints change).
    /// Costs spent so far stay counted.
    pub async fn reload(
        &mut self,
        config: Config,
        env: &Environment,
    ) -> Result<ReloadSummary, StartError> {
        let mcp_changed = config.mcp_servers != self.config.mcp_servers
            || mcp_servers_in_use(&config) != mcp_servers_in_use(&self.config);
        let everything_changed = config.settings != self.config.settings
            || config.providers != self.config.providers
            || config.models != self.config.models
            || config.servers != self.config.servers
            || mcp_changed;
        let working_dir = working_dir(&config)?;
        let env_changed = self
            .env
            .dotenv_vars()
            .collect::<std::collections::BTreeMap<_, _>>()
            != env
                .dotenv_vars()
                .collect::<std::collections::BTreeMap<_, _>>();
        let mut old = std::mem::take(&mut self.slots);
        let mut summary = ReloadSummary::default();
        if everything_changed || env_changed {
            self.endpoints = EndpointPool::new(&config)?;
            self.prices = Arc::new(PriceTable::with_overrides(&config.models));
        }
        // Every agent restarts below; the old servers stop once none of them is left.
        let old_hub = mcp_changed.then(|| std::mem::replace(&mut self.mcp, McpHub::start(&config)));
        self.config = config;
        self.env = env.clone();
        self.env.learn_secrets_of(&self.config);
        self.working_dir = working_dir;
        self.meter
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .set_budgets(budgets(&self.config));
        let specs: Vec<AgentSpec> = self.config.agents.values().cloned().collect();
        for spec in specs {
            let name = spec.name.clone();
            match old.shift_remove(&name) {
                Some(slot) if slot.spec == spec && !everything_changed && !env_changed => {
                    summary.kept.push(name.clone());
                    self.slots.insert(name, slot);
                }
                Some(slot) => {
                    slot.handle.shutdown().await;
                    summary.restarted.push(name.clone());
                    let slot = self.spawn_agent(spec)?;
                    self.slots.insert(name, slot);
                }
                None => {
                    summary.added.push(name.clone());
                    let slot = self.spawn_agent(spec)?;
                    self.slots.insert(name, slot);
                }
            }
        }
        for (name, slot) in old {
            slot.handle.shutdown().await;
            summary.removed.push(name);
        }
        if let Some(old_hub) = old_hub {
            old_hub.shutdown().await;
        }
        Ok(summary)
    }
}

/// The MCP servers some agent lists, in config order.
fn mcp_servers_in_use(config: &Config) -> Vec<&str> {
    config
        .mcp_servers
        .keys()
        .filter(|name| config.agents.values().any(|a| a.mcp.contains(name)))
        .map(String::as_str)
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn names(list: &[&str]) -> Vec<String> {
        list.iter().map(|n| (*n).to_owned()).collect()
    }

    #[test]
    fn the_summary_names_what_changed_and_counts_what_was_kept() {
        let summary = ReloadSummary {
            kept: names(&["a", "b"]),
            restarted: names(&["c"]),
            added: vec![],
            removed: names(&["d", "e"]),
        };
        assert_eq!(
            summary.to_string(),
            "config reloaded: restarted c; removed d, e; 2 kept their conversations"
        );
        assert_eq!(
            ReloadSummary::default().to_string(),
            "config reloaded: nothing changed"
        );
    }
}
