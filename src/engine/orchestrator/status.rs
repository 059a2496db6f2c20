//! `--status` and the Endpoints pane: what the running agents and their shared endpoints look
//! like now.

use std::path::PathBuf;

use indexmap::IndexMap;
use serde::Serialize;

use super::Orchestrator;
use crate::engine::config::AgentSpec;
use crate::engine::cost::CostSummary;
use crate::engine::mcp::Phase;
use crate::engine::protocol::{BreakerState, LimiterSnapshot};
use crate::engine::resilience::endpoint::Dialect;
use crate::engine::tools::exec::{SandboxReport, SandboxSupport};

/// The state of one shared endpoint.
#[derive(Clone, Debug, Serialize)]
pub struct EndpointStatus {
    pub label: String,
    pub dialect: &'static str,
    pub base_url: String,
    pub agents: Vec<String>,
    pub breaker: BreakerState,
    pub limiter: LimiterSnapshot,
}

/// `--status`: v6's fields, plus endpoints and why an agent cannot run.
#[derive(Clone, Debug, Serialize)]
pub struct Status {
    pub config_path: PathBuf,
    pub settings: StatusSettings,
    pub agents: IndexMap<String, AgentStatus>,
    pub servers: Vec<String>,
    pub costs: CostSummary,
    pub endpoints: Vec<EndpointStatus>,
    /// What confines bash on this machine (probed only when an agent has bash).
    pub sandbox: Option<SandboxReport>,
}

#[derive(Clone, Debug, Serialize)]
pub struct StatusSettings {
    pub timeout: f64,
    pub rate_limit: u32,
    pub max_retries: u32,
    pub sandbox_paths: bool,
    pub circuit_breaker: bool,
    pub budget_usd: Option<f64>,
    pub working_dir: PathBuf,
    pub log_dir: PathBuf,
}

#[derive(Clone, Debug, Serialize)]
pub struct AgentStatus {
    pub provider: String,
    pub model: String,
    pub tools: Vec<String>,
    pub target: String,
    pub ready: bool,
    pub problem: Option<String>,
    pub notes: Vec<String>,
    /// The models it goes on with when its own cannot answer, in order.
    pub fallbacks: Vec<String>,
    pub log: PathBuf,
}

impl Orchestrator {
    pub fn endpoints(&self) -> Vec<EndpointStatus> {
        self.endpoints
            .order
            .iter()
            .map(|ep| {
                let (breaker, limiter) = ep.snapshot();
                EndpointStatus {
                    label: ep.label.clone(),
                    dialect: match ep.dialect {
                        Dialect::OpenAi => "openai",
                        Dialect::Anthropic => "anthropic",
                    },
                    base_url: ep.base_url.clone(),
                    agents: self
                        .slots
                        .values()
                        .filter(|s| s.info.endpoint.as_deref() == Some(ep.label.as_str()))
                        .map(|s| s.info.name.clone())
                        .collect(),
                    breaker,
                    limiter,
                }
            })
            .collect()
    }

    pub fn status(&self) -> Status {
        let s = &self.config.settings;
        Status {
            config_path: self.config.source.clone(),
            settings: StatusSettings {
                timeout: s.timeout.as_secs_f64(),
                rate_limit: s.rate_limit_per_minute,
                max_retries: s.max_retries,
                sandbox_paths: s.sandbox_paths,
                circuit_breaker: s.enable_circuit_breaker,
                budget_usd: s.budget_usd,
                working_dir: s.working_dir.clone(),
                log_dir: s.log_dir.clone(),
            },
            agents: self
                .slots
                .values()
                .map(|slot| {
                    let a = &slot.info;
                    let mut notes = a.notes.clone();
                    notes.extend(self.mcp_notes(&slot.spec));
                    (
                        a.name.clone(),
                        AgentStatus {
                            provider: a.provider.clone(),
                            model: a.model.clone(),
                            tools: a.tools.clone(),
                            target: a.target.clone(),
                            ready: a.problem.is_none(),
                            problem: a.problem.clone(),
                            notes,
                            fallbacks: a.fallbacks.clone(),
                            log: a.log.clone(),
                        },
                    )
                })
                .collect(),
            servers: self.config.servers.keys().cloned().collect(),
            costs: self.costs(),
            endpoints: self.endpoints(),
            sandbox: self
                .slots
                .values()
                .any(|slot| slot.info.tools.iter().any(|tool| tool == "bash"))
                .then(|| SandboxSupport::detected().report()),
        }
    }

    /// What each MCP server of `agent` looks like now, one line each.
    fn mcp_notes(&self, spec: &AgentSpec) -> Vec<String> {
        self.mcp
            .for_agent(&spec.mcp)
            .iter()
            .map(|server| {
                let name = server.name();
                let snapshot = server.snapshot();
                match snapshot.phase {
                    Phase::Ready => format!(
                        "MCP server `{name}`: {} tools ({})",
                        snapshot.tools.len(),
                        snapshot
                            .tools
                            .iter()
                            .map(|t| t.spec.name.as_str())
                            .collect::<Vec<_>>()
                            .join(", ")
                    ),
                    Phase::Connecting => format!("MCP server `{name}`: still starting"),
                    Phase::Down(why) => format!("not available: {why}"),
                }
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use pretty_assertions::assert_eq;

    use super::*;
    use crate::engine::orchestrator::test_config;
    use crate::engine::tools::approval::Asker;

    /// Two agents on one keyless local endpoint, one with no key for OpenAI, one scripted.
    async fn started(dir: &std::path::Path) -> Orchestrator {
        let yaml = format!(
            "settings:\n  working_dir: {dir}\n  log_dir: {dir}/logs\n  budget_usd: 2.5\nagents:\n  a:\n    provider: openai\n    model: m\n    api_base: http://127.0.0.1:9/v1\n  b:\n    provider: openai\n    model: m\n    api_base: http://127.0.0.1:9/v1\n  keyless:\n    provider: openai\n    model: gpt-4o\n  demo:\n    provider: scripted\n    script: [hi]\n",
            dir = dir.display()
        );
        let (config, env) = test_config(&yaml, &[]);
        Orchestrator::start(config, &env, Asker::Interactive)
            .unwrap()
            .0
    }

    #[tokio::test]
    async fn status_says_which_agents_can_run_and_who_shares_each_endpoint() {
        let dir = tempfile::tempdir().unwrap();
        let orchestrator = started(dir.path()).await;
        let status = orchestrator.status();
        let ready: Vec<(&str, bool)> = status
            .agents
            .iter()
            .map(|(name, agent)| (name.as_str(), agent.ready))
            .collect();
        assert_eq!(
            ready,
            [("a", true), ("b", true), ("keyless", false), ("demo", true)]
        );
        assert_eq!(status.settings.budget_usd, Some(2.5));
        let endpoints: Vec<(&str, &str, Vec<String>)> = status
            .endpoints
            .iter()
            .map(|e| (e.label.as_str(), e.dialect, e.agents.clone()))
            .collect();
        // The keyless agent gets no endpoint: it cannot call anything.
        assert_eq!(
            endpoints,
            [("openai 127.0.0.1:9", "openai", vec!["a".into(), "b".into()])]
        );
        assert_eq!(status.endpoints[0].breaker, BreakerState::Closed);
        assert_eq!(status.sandbox, None);
        orchestrator.shutdown().await;
    }
}
