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
use crate::engine::journal::Journal;
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
    ///
    /// All or nothing: everything that can fail (the working dir, HTTP, every new agent's log)
    /// is done before the first agent is touched, so an error leaves the running team as it was.
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
        let mut env = env.clone();
        env.learn_secrets_of(&config);
        let mut new_pool = if change.everything || change.providers {
            Some(EndpointPool::new(&config)?)
        } else {
            None
        };
        let plan = self.plan(&config, &env, &change, new_pool.as_mut());
        let journals = match self.open_journals(&plan, &config) {
            Ok(journals) => journals,
            Err(e) => {
                // The plan may have made endpoints in the running pool: forget the unused.
                self.forget_unused_endpoints();
                return Err(e);
            }
        };

        if let Some(pool) = new_pool {
            self.endpoints = pool;
        }
        if change.everything {
            self.prices = Arc::new(PriceTable::with_overrides(&config.models));
        }
        // Agents that list a server restart below; the old servers stop once they are gone.
        let old_hub = change
            .mcp
            .then(|| std::mem::replace(&mut self.mcp, McpHub::start(&config)));
        self.protected = super::tool_context::protected(&config, &env, &working_dir);
        self.config = config;
        self.env = env;
        self.working_dir = working_dir;
        self.meter
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .set_budgets(budgets(&self.config));

        let mut old = std::mem::take(&mut self.slots);
        let mut summary = ReloadSummary::default();
        for ((spec, step), journal) in plan.into_iter().zip(journals) {
            let name = spec.name.clone();
            let slot = match (step, journal, old.shift_remove(&name)) {
                (Step::Keep, _, Some(slot)) => {
                    summary.kept.push(name.clone());
                    slot
                }
                (Step::Restart { keeps_conversation }, Some(journal), Some(slot)) => {
                    summary.restarted.push(name.clone());
                    if !keeps_conversation {
                        summary.new_conversation.push(name.clone());
                    }
                    let predecessor = Predecessor {
                        handle: slot.handle,
                        keeps_conversation,
                    };
                    self.start_agent(spec, Some(predecessor), journal)
                }
                (_, Some(journal), _) => {
                    summary.added.push(name.clone());
                    self.start_agent(spec, None, journal)
                }
                // The plan opened a log for every agent that is not kept.
                (_, None, _) => continue,
            };
            self.slots.insert(name, slot);
        }
        summary.removed = old.keys().cloned().collect();
        let removed: Vec<Slot> = old.into_values().collect();
        self.forget_unused_endpoints();
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

    /// What happens to each agent of `config`, decided without touching any running one.
    fn plan(
        &mut self,
        config: &Config,
        env: &Environment,
        change: &SharedChange,
        mut new_pool: Option<&mut EndpointPool>,
    ) -> Vec<(AgentSpec, Step)> {
        let mut plan = Vec::with_capacity(config.agents.len());
        for spec in config.agents.values() {
            let Some(slot) = self.slots.get(&spec.name) else {
                plan.push((spec.clone(), Step::Add));
                continue;
            };
            let route = route::resolve(spec, config, env);
            let pool = match new_pool.as_deref_mut() {
                Some(pool) => pool,
                None => &mut self.endpoints,
            };
            let endpoint = endpoint_for(pool, &route, config);
            let unchanged = !change.everything
                && slot.spec == *spec
                && slot.route == route
                && same_endpoint(&slot.probe, endpoint.as_ref())
                && slot.system_prompt == system_prompt(spec, config)
                && spec
                    .servers
                    .iter()
                    .all(|s| self.config.servers.get(s) == config.servers.get(s))
                && !(change.mcp && (!spec.mcp.is_empty() || !slot.spec.mcp.is_empty()));
            let step = if unchanged {
                Step::Keep
            } else {
                Step::Restart {
                    keeps_conversation: same_provider(&slot.route, &route),
                }
            };
            plan.push((spec.clone(), step));
        }
        plan
    }

    /// The log of every agent the plan starts (`None` for the kept), or the first that cannot
    /// be opened.
    fn open_journals(
        &self,
        plan: &[(AgentSpec, Step)],
        config: &Config,
    ) -> Result<Vec<Option<Journal>>, StartError> {
        plan.iter()
            .map(|(spec, step)| match step {
                Step::Keep => Ok(None),
                Step::Restart { .. } | Step::Add => {
                    self.open_journal(spec, &config.settings.log_dir).map(Some)
                }
            })
            .collect()
    }

    /// Forgets the endpoints no running agent uses, freeing their labels.
    fn forget_unused_endpoints(&mut self) {
        let slots = &self.slots;
        self.endpoints.retain_used(|endpoint| {
            slots
                .values()
                .any(|slot| matches!(&slot.probe, Probe::Endpoint(ep) if Arc::ptr_eq(ep, endpoint)))
        });
    }
}

/// What a reload does with one agent of the new config.
enum Step {
    Keep,
    Restart { keeps_conversation: bool },
    Add,
}

/// The shared endpoint an agent on `route` would use (none if it cannot call one).
fn endpoint_for(pool: &mut EndpointPool, route: &Route, config: &Config) -> Option<Arc<Endpoint>> {
    match route {
        Route::Http(http) if super::describe::unusable_key(&http.key).is_none() => {
            Some(pool.get(http, config))
        }
        Route::Http(_) | Route::ClaudeCli { .. } | Route::Scripted { .. } => None,
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
