//! `--health` and `/health`: is each agent's provider there and does it take the key? Spends no
//! tokens: HTTP endpoints list their models, the Claude CLI prints its version. `--health` also
//! says, for each agent with bash, what confines it here.

use std::sync::Arc;
use std::time::Duration;

use futures::future::join_all;
use serde::Serialize;

use crate::engine::orchestrator::Orchestrator;
use crate::engine::provider::backend::Backend;
use crate::engine::provider::{ProviderError, anthropic, claude_cli, openai};
use crate::engine::redact::Redactor;
use crate::engine::resilience::Endpoint;
use crate::engine::resilience::endpoint::Dialect;
use crate::engine::tools::exec::SandboxSupport;

/// How a health check reaches an agent's provider without spending tokens: the part of its
/// [`Backend`] that can be cloned and checked away from the agent's task.
#[derive(Clone, Debug)]
pub enum Probe {
    Endpoint(Arc<Endpoint>),
    ClaudeCli { program: String },
    Scripted,
    Unavailable(String),
}

impl Probe {
    pub fn of(backend: &Backend) -> Self {
        match backend {
            Backend::Http(endpoint) => Self::Endpoint(endpoint.clone()),
            Backend::ClaudeCli(cli) => Self::ClaudeCli {
                program: cli.program().to_owned(),
            },
            Backend::Scripted(_) => Self::Scripted,
            Backend::Unavailable(error) => Self::Unavailable(error.to_string()),
        }
    }
}

/// The health of one agent.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct HealthReport {
    pub agent: String,
    pub healthy: bool,
    /// What was checked, or what is wrong and how to fix it.
    pub detail: String,
}

/// Longest wait for one probe.
const PROBE_TIMEOUT: Duration = Duration::from_secs(15);

/// Checks every agent, each endpoint once, all at the same time.
pub async fn check(orchestrator: &Orchestrator) -> Vec<HealthReport> {
    let mut reports = check_probes(probes(orchestrator)).await;
    let require_sandbox = orchestrator.config().settings.require_sandbox;
    for (report, (info, probe)) in reports.iter_mut().zip(orchestrator.probes()) {
        // The Claude CLI runs its own Bash tool, not tzzr's.
        let has_tzzr_bash = info.tools.iter().any(|tool| tool == "bash")
            && !matches!(probe, Probe::ClaudeCli { .. });
        if has_tzzr_bash {
            add_sandbox(report, SandboxSupport::detected(), require_sandbox);
        }
    }
    reports
}

/// Adds to an agent's line what confines its bash; with `require_sandbox` and no full
/// sandbox, bash cannot run, and the agent is not healthy.
fn add_sandbox(report: &mut HealthReport, support: &SandboxSupport, require_sandbox: bool) {
    let line = match (&support.landlock, support.confines()) {
        (Ok(abi), true) => format!("bash sandboxed (Landlock ABI {abi}, mount namespace)"),
        (_, false) if require_sandbox => {
            report.healthy = false;
            format!(
                "bash refused (settings.require_sandbox): {}",
                support.summary()
            )
        }
        (_, _) => support.summary(),
    };
    report.detail = format!("{}; {line}", report.detail);
}

/// Each agent's probe, and the secrets to mask in what servers answer.
#[derive(Clone, Debug)]
pub(crate) struct Probes {
    pub list: Vec<(String, Probe)>,
    pub secrets: Arc<Redactor>,
}

/// Each agent's probe, to check away from the orchestrator (a background task of the TUI).
pub(crate) fn probes(orchestrator: &Orchestrator) -> Probes {
    Probes {
        list: orchestrator
            .probes()
            .map(|(info, probe)| (info.name.clone(), probe.clone()))
            .collect(),
        secrets: orchestrator.secrets().clone(),
    }
}

/// Checks the given probes, each endpoint once, all at the same time. A server that echoes a
/// key in its answer gets it masked.
pub(crate) async fn check_probes(probes: Probes) -> Vec<HealthReport> {
    let Probes {
        list: probes,
        secrets,
    } = probes;
    let unique: Vec<Arc<Endpoint>> = {
        let mut seen = Vec::<Arc<Endpoint>>::new();
        for (_, probe) in &probes {
            if let Probe::Endpoint(ep) = probe
                && !seen.iter().any(|s| Arc::ptr_eq(s, ep))
            {
                seen.push(ep.clone());
            }
        }
        seen
    };
    let endpoint_checks = join_all(unique.iter().map(|ep| probe_endpoint(ep)));
    let cli_checks = join_all(probes.iter().map(|(_, probe)| async move {
        match probe {
            Probe::ClaudeCli { program } => Some(probe_cli(program).await),
            Probe::Endpoint(_) | Probe::Scripted | Probe::Unavailable(_) => None,
        }
    }));
    let (endpoint_outcomes, cli_outcomes) = tokio::join!(endpoint_checks, cli_checks);
    let endpoint_result = |ep: &Arc<Endpoint>| {
        unique
            .iter()
            .position(|u| Arc::ptr_eq(u, ep))
            .and_then(|i| endpoint_outcomes.get(i).cloned())
            .unwrap_or_else(|| Err("not checked".to_owned()))
    };
    probes
        .into_iter()
        .zip(cli_outcomes)
        .map(|((agent, probe), cli)| {
            let outcome = match (&probe, cli) {
                (Probe::Endpoint(ep), _) => endpoint_result(ep),
                (_, Some(cli)) => cli,
                (Probe::Scripted, None) => Ok("scripted replies (no model to check)".to_owned()),
                (Probe::Unavailable(why), None) => Err(why.clone()),
                (Probe::ClaudeCli { .. }, None) => Err("not checked".to_owned()),
            };
            let healthy = outcome.is_ok();
            let detail = outcome.unwrap_or_else(|why| why);
            HealthReport {
                agent,
                healthy,
                detail: secrets.redact(&detail).into_owned(),
            }
        })
        .collect()
}

async fn probe_endpoint(ep: &Endpoint) -> Result<String, String> {
    match list_models(ep).await {
        Ok(count) => Ok(format!("{} answers ({count} models)", ep.label)),
        Err(e) => Err(e.to_string()),
    }
}

/// Asks the endpoint for its models (no tokens spent) and notes on it whether its server could
/// be reached: any answer, even a refusal, proves it is there.
pub(crate) async fn list_models(ep: &Endpoint) -> Result<usize, ProviderError> {
    let listing = async {
        match ep.dialect {
            Dialect::OpenAi => openai::list_models(ep).await,
            Dialect::Anthropic => anthropic::list_models(ep).await,
        }
    };
    let outcome = match tokio::time::timeout(PROBE_TIMEOUT, listing).await {
        Ok(Ok(models)) => Ok(models.len()),
        Ok(Err(e)) => Err(e),
        Err(_) => Err(ProviderError::Timeout {
            url: ep.base_url.clone(),
            after: PROBE_TIMEOUT,
        }),
    };
    match &outcome {
        Err(ProviderError::Connect { detail, .. }) => {
            ep.reachability.mark_unreachable(detail.clone())
        }
        // A server too slow to list its models may still be there: leave what is known.
        Err(ProviderError::Timeout { .. }) => {}
        Ok(_) | Err(_) => ep.reachability.mark_reachable(),
    }
    outcome
}

async fn probe_cli(program: &str) -> Result<String, String> {
    match claude_cli::version(program).await {
        Ok(version) => Ok(format!("claude CLI {version}")),
        Err(e) => Err(e.to_string()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn healthy() -> HealthReport {
        HealthReport {
            agent: "coder".into(),
            healthy: true,
            detail: "scripted replies (no model to check)".into(),
        }
    }

    #[test]
    fn a_bash_agent_says_what_confines_bash() {
        let mut report = healthy();
        add_sandbox(&mut report, &SandboxSupport::full(7), true);
        assert!(report.healthy);
        assert_eq!(
            report.detail,
            "scripted replies (no model to check); bash sandboxed (Landlock ABI 7, mount namespace)"
        );
    }

    #[test]
    fn without_a_sandbox_bash_is_unconfined_or_refused() {
        let none = SandboxSupport::none("this kernel has no Landlock");
        let mut report = healthy();
        add_sandbox(&mut report, &none, false);
        assert!(report.healthy);
        assert!(report.detail.ends_with("; bash runs UNCONFINED here and can write anywhere you can: this kernel has no Landlock"), "{}", report.detail);
        let mut report = healthy();
        add_sandbox(&mut report, &none, true);
        assert!(!report.healthy);
        assert!(
            report
                .detail
                .contains("; bash refused (settings.require_sandbox): "),
            "{}",
            report.detail
        );
    }
}
