//! `/reload`: takes a new config into the running orchestrator, restarting only the agents whose
//! own definition or endpoint changed. A restarted agent goes on with its conversation unless its
//! provider changed, and nothing here waits for an agent: a restarted agent's new task stops its
//! predecessor itself, and removed agents stop in the background.

use std::collections::BTreeMap;
use std::sync::{Arc, PoisonError};

use super::endpoints::EndpointPool;
use super::{Orchestrator, Slot, StartError, budgets, system_prompt, working_dir};
use crate::engine::agent::Predecessor;
use crate::engine::config::{AgentSpec, Config};
use crate::engine::cost::PriceTable;
use crate::engine::env::Environment;
use crate::engine::health::Probe;
use crate::engine::mcp::McpHub;
use crate::engine::provider::route::{self, Route};
use crate::engine::resilience::Endpoint;

/// What `/reload` changed.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ReloadSummary {
    /// Untouched: still running, mid-turn or not.
    pub kept: Vec<String>,
    /// Restarted under their new definition, with their conversation unless listed in
    /// `new_conversation`.
    pub restarted: Vec<String>,
    /// Restarted agents whose provider changed: they start a new conversation.
    pub new_conversation: Vec<String>,
    pub added: Vec<String>,
    pub removed: Vec<String>,
}

impl std::fmt::Display for ReloadSummary {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let part = |what: &str, names: &[String]| {
            (!names.is_empty()).then(|| format!("{what} {}", names.join(", ")))
        };
        let fresh = (!self.new_conversation.is_empty()).then(|| {
            format!(
                "new conversation for {} (provider changed)",
                self.new_conversation.join(", ")
            )
        });
        let parts: Vec<String> = [
            part("restarted", &self.restarted),
            fresh,
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
                "config reloaded: {}; {} unchanged",
                parts.join("; "),
                self.kept.len()
            )
        }
    }
}

/// What changed between two configs for every agent at once.
struct SharedChange {
    /// `settings`, `models` or the `.env` values: every agent restarts.
    everything: bool,
    /// The MCP servers in use: agents that list one restart with the new servers.
    mcp: bool,
    /// Named `providers`: endpoints are built anew.
    providers: bool,
}

impl Orchestrator {
    /// [`Orchestrator::apply_reload`], then waits until the agents it let go have stopped.
    pub async fn reload(
        &mut self,
        config: Config,
        env: &Environment,
    ) -> Result<ReloadSummary, StartError> {
        let summary = self.apply_reload(config, env)?;
        for retiring in std::mem::take(&mut self.retiring) {
            // A retiring task that panicked has nothing left to stop.
            let _ = retiring.await;
        }
        Ok(summary)
    }

    /// Takes a new config at once, without waiting for any agent (a front end can call it from
    /// its UI task): agents whose definition, system prompt, servers and endpoint did not change
    /// keep running untouched; changed ones restart under the new definition and go on with
    /// their conversation, unless their provider changed; new ones start; removed ones stop in
    /// the background. Costs spent so far stay counted.
    pub fn apply_reload(
        &mut self,
        config: Config,
        env: &Environment,
    ) -> Result<ReloadSummary, StartError> {
        let working_dir = working_dir(&config)?;
        let dotenv = |env: &Environment| {
            env.dotenv_vars()
                .map(|(k, v)| (k.to_owned(), v.to_owned()))
                .collect::<BTreeMap<_, _>>()
        };
        let change = SharedChange {
            everything: config.settings != self.config.settings
                || config.models != self.config.models
                || dotenv(&self.env) != dotenv(env),
            mcp: config.mcp_servers != self.config.mcp_servers
                || mcp_servers_in_use(&config) != mcp_servers_in_use(&self.config),
            providers: config.providers != self.config.providers,
        };
        if change.everything || change.providers {
            self.endpoints = EndpointPool::new(&config)?;
        }
        if change.everything {
            self.prices = Arc::new(PriceTable::with_overrides(&config.models));
        }
        // Agents that list a server restart below; the old servers stop once they are gone.
        let old_hub = change
            .mcp
            .then(|| std::mem::replace(&mut self.mcp, McpHub::start(&config)));
        let old_config = std::mem::replace(&mut self.config, config);
        self.env = env.clone();
        self.env.learn_secrets_of(&self.config);
        self.working_dir = working_dir;
        self.meter
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .set_budgets(budgets(&self.config));

        let mut old = std::mem::take(&mut self.slots);
        let mut summary = ReloadSummary::default();
        let specs: Vec<AgentSpec> = self.config.agents.values().cloned().collect();
        for spec in specs {
            let name = spec.name.clone();
            let Some(slot) = old.shift_remove(&name) else {
                summary.added.push(name.clone());
                let slot = self.spawn_agent(spec, None)?;
                self.slots.insert(name, slot);
                continue;
            };
            let route = route::resolve(&spec, &self.config, &self.env);
            let endpoint = self.endpoint_for(&route);
            let unchanged = !change.everything
                && slot.spec == spec
                && slot.route == route
                && same_endpoint(&slot.probe, endpoint.as_ref())
                && slot.system_prompt == system_prompt(&spec, &self.config)
                && spec
                    .servers
                    .iter()
                    .all(|s| old_config.servers.get(s) == self.config.servers.get(s))
                && !(change.mcp && (!spec.mcp.is_empty() || !slot.spec.mcp.is_empty()));
            if unchanged {
                summary.kept.push(name.clone());
                self.slots.insert(name, slot);
                continue;
            }
            let keeps_conversation = same_provider(&slot.route, &route);
            summary.restarted.push(name.clone());
            if !keeps_conversation {
                summary.new_conversation.push(name.clone());
            }
            let predecessor = Predecessor {
                handle: slot.handle,
                keeps_conversation,
            };
            let slot = self.spawn_agent(spec, Some(predecessor))?;
            self.slots.insert(name, slot);
        }
        summary.removed = old.keys().cloned().collect();
        let removed: Vec<Slot> = old.into_values().collect();
        self.endpoints.retain_used(|endpoint| {
            self.slots
                .values()
                .any(|slot| matches!(&slot.probe, Probe::Endpoint(ep) if Arc::ptr_eq(ep, endpoint)))
        });
        self.retiring.retain(|task| !task.is_finished());
        if self.health.is_some() {
            self.watch_health();
        }
        if !removed.is_empty() || old_hub.is_some() {
            self.retiring.push(tokio::spawn(async move {
                for slot in removed {
                    slot.handle.shutdown().await;
                }
                if let Some(old_hub) = old_hub {
                    old_hub.shutdown().await;
                }
            }));
        }
        Ok(summary)
    }

    /// The shared endpoint an agent on `route` would use (none if it cannot call one).
    fn endpoint_for(&mut self, route: &Route) -> Option<Arc<Endpoint>> {
        match route {
            Route::Http(http) if super::describe::unusable_key(&http.key).is_none() => {
                Some(self.endpoints.get(http, &self.config))
            }
            Route::Http(_) | Route::ClaudeCli { .. } | Route::Scripted { .. } => None,
        }
    }
}

/// Whether an agent still calls the same endpoint object (its limiter, breaker, …).
fn same_endpoint(probe: &Probe, endpoint: Option<&Arc<Endpoint>>) -> bool {
    match (probe, endpoint) {
        (Probe::Endpoint(old), Some(new)) => Arc::ptr_eq(old, new),
        (Probe::Endpoint(_), None) => false,
        (Probe::ClaudeCli { .. } | Probe::Scripted | Probe::Unavailable(_), new) => new.is_none(),
    }
}

/// Whether a conversation can go on after a restart: the same server and dialect, or the same
/// script. A Claude CLI agent's conversation lives in the CLI's session, which a restart ends.
fn same_provider(old: &Route, new: &Route) -> bool {
    match (old, new) {
        (Route::Http(old), Route::Http(new)) => {
            old.dialect == new.dialect && old.base_url == new.base_url
        }
        (Route::Scripted { .. }, Route::Scripted { .. }) => true,
        (Route::ClaudeCli { .. }, _) | (Route::Http(_) | Route::Scripted { .. }, _) => false,
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
            restarted: names(&["c", "f"]),
            new_conversation: names(&["f"]),
            added: vec![],
            removed: names(&["d", "e"]),
        };
        assert_eq!(
            summary.to_string(),
            "config reloaded: restarted c, f; new conversation for f (provider changed); removed d, e; 2 unchanged"
        );
        assert_eq!(
            ReloadSummary::default().to_string(),
            "config reloaded: nothing changed"
        );
    }
}
