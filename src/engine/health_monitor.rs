//! Background health: every endpoint is probed (token-free, as `--health` does) at start and
//! every `settings.health_interval`, an unreachable one sooner with backoff, and each result
//! goes to every agent on it as a `Health` event. One probe per endpoint, however many agents
//! share it, and only a few probes at a time.

use std::sync::Arc;
use std::time::Duration;

use tokio::sync::Semaphore;
use tokio::sync::mpsc::UnboundedSender;
use tokio::task::JoinSet;

use crate::engine::health::list_models;
use crate::engine::protocol::{AgentEvent, AgentName, EndpointHealth, EventKind, TurnId};
use crate::engine::provider::ProviderError;
use crate::engine::redact::Redactor;
use crate::engine::resilience::Endpoint;

/// Probes in flight at once, over all endpoints.
const CONCURRENT_PROBES: usize = 8;
/// The first re-probe of an unreachable endpoint; each miss doubles it, up to the interval.
const FIRST_RECHECK: Duration = Duration::from_secs(5);

/// One endpoint to watch and the agents that hear about it.
#[derive(Clone, Debug)]
pub struct Watched {
    pub endpoint: Arc<Endpoint>,
    pub agents: Vec<AgentName>,
}

/// The running probes; dropping it stops them.
#[derive(Debug)]
pub struct HealthMonitor {
    tasks: JoinSet<()>,
}

impl HealthMonitor {
    /// Starts probing `watched` now and every `interval` (an unreachable endpoint sooner);
    /// results go to `events`, with whatever a server echoes of `secrets` masked.
    pub fn start(
        watched: Vec<Watched>,
        interval: Duration,
        events: UnboundedSender<AgentEvent>,
        secrets: Arc<Redactor>,
    ) -> Self {
        let permits = Arc::new(Semaphore::new(CONCURRENT_PROBES));
        let mut tasks = JoinSet::new();
        for watched in watched {
            tasks.spawn(watch(
                watched,
                interval,
                permits.clone(),
                events.clone(),
                secrets.clone(),
            ));
        }
        Self { tasks }
    }

    /// How many endpoints it watches.
    pub fn len(&self) -> usize {
        self.tasks.len()
    }

    pub fn is_empty(&self) -> bool {
        self.tasks.is_empty()
    }
}

async fn watch(
    watched: Watched,
    interval: Duration,
    permits: Arc<Semaphore>,
    events: UnboundedSender<AgentEvent>,
    secrets: Arc<Redactor>,
) {
    let endpoint = &watched.endpoint;
    let mut recheck = FIRST_RECHECK.min(interval);
    loop {
        let outcome = {
            // The semaphore is never closed; without a permit there is nothing to do.
            let Ok(_permit) = permits.acquire().await else {
                return;
            };
            list_models(endpoint).await
        };
        let (health, detail) = verdict(endpoint, &outcome);
        let detail = secrets.redact(&detail).into_owned();
        for agent in &watched.agents {
            let kind = EventKind::Health {
                endpoint: endpoint.label.clone(),
                health,
                detail: detail.clone(),
            };
            if events
                .send(AgentEvent::new(agent.clone(), TurnId(0), kind))
                .is_err()
            {
                return; // The front end is gone: nobody to tell.
            }
        }
        let wait = if health == EndpointHealth::Unreachable {
            let wait = recheck;
            recheck = (recheck * 2).min(interval);
            wait
        } else {
            recheck = FIRST_RECHECK.min(interval);
            interval
        };
        tokio::select! {
            () = tokio::time::sleep(wait) => {}
            // A prompt refused, or a call that found the server gone: look now.
            () = endpoint.reachability.recheck_wanted() => {}
        }
    }
}

/// What a probe's outcome means for the agents on the endpoint, in one line.
fn verdict(
    endpoint: &Endpoint,
    outcome: &Result<usize, ProviderError>,
) -> (EndpointHealth, String) {
    match outcome {
        Ok(models) => (
            EndpointHealth::Healthy,
            format!("{} answers ({models} models)", endpoint.label),
        ),
        Err(e @ ProviderError::Connect { .. }) => (
            EndpointHealth::Unreachable,
            format!("{e}: {}", endpoint.reachability.hint()),
        ),
        Err(e) => (EndpointHealth::Failing, e.to_string()),
    }
}
