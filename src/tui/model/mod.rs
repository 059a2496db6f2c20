//! The read model: everything the panes show, built from engine events only. `Model::apply` is its
//! only writer (plus the log tail's lines); views read it and never change it.

mod agent;
mod costs;
mod endpoints;
pub mod task;
mod trace;
mod transcript;

use std::path::PathBuf;

pub use agent::{Activity, AgentView, ContextFill, LastOutcome, PendingApproval};
pub use costs::{CostView, Tokens};
pub use endpoints::{Breaker, EndpointView, ProbeView};
pub use trace::{CallState, ToolCallView};
pub use transcript::{Entry, EntryId, Transcript};

use super::logtail::LogUpdate;
use crate::engine::orchestrator::{AgentInfo, EndpointStatus};
use crate::engine::protocol::{AgentEvent, EventKind, Outcome};

/// What the TUI knows, from the config at start and from every event since.
#[derive(Debug, Default)]
pub struct Model {
    pub agents: Vec<AgentView>,
    pub endpoints: Vec<EndpointView>,
    pub costs: CostView,
    /// `settings.budget_usd`.
    pub budget_usd: Option<f64>,
    /// The log the log pane follows, and its last lines.
    pub log: LogView,
    /// The task running, or the last one run (`/task`).
    pub task: Option<task::TaskView>,
}

/// The log pane's file and lines (the newest last).
#[derive(Debug, Default)]
pub struct LogView {
    pub agent: Option<String>,
    pub path: Option<PathBuf>,
    pub lines: Vec<String>,
}

/// How many log lines the model keeps.
pub const LOG_LINES_KEPT: usize = 500;

impl Model {
    pub fn new(
        agents: &[AgentInfo],
        endpoints: &[EndpointStatus],
        budget_usd: Option<f64>,
    ) -> Self {
        Self {
            agents: agents.iter().cloned().map(AgentView::new).collect(),
            endpoints: endpoints.iter().map(EndpointView::new).collect(),
            costs: CostView::default(),
            budget_usd,
            log: LogView::default(),
            task: None,
        }
    }

    pub fn agent_index(&self, name: &str) -> Option<usize> {
        self.agents.iter().position(|a| a.info.name == name)
    }

    /// Folds one of a task's events into the model.
    pub fn apply_task(&mut self, event: &crate::engine::pipeline::TaskEvent) {
        match (&mut self.task, event) {
            (_, crate::engine::pipeline::TaskEvent::TaskStarted { task, steps }) => {
                self.task = Some(task::TaskView::new(task, steps));
            }
            (Some(view), event) => view.apply(event),
            (None, _) => {}
        }
    }

    /// Folds one engine event into the model.
    pub fn apply(&mut self, event: &AgentEvent) {
        if let Some(task) = &mut self.task {
            task.apply_agent(event);
        }
        let Some(index) = self.agent_index(&event.agent) else {
            // An agent removed by /reload may still report its last events: nothing shows them.
            return;
        };
        match &event.kind {
            EventKind::Usage {
                model,
                usage,
                cost_usd,
                priced,
                estimated,
                local,
            } => {
                let charge = costs::Charge {
                    usage: *usage,
                    cost_usd: *cost_usd,
                    priced: *priced,
                    estimated: *estimated,
                    local: *local,
                };
                self.costs.record(&event.agent, model, charge);
            }
            EventKind::Endpoint {
                endpoint,
                breaker,
                limiter,
            } => {
                let view = self.endpoint_mut(endpoint);
                view.update(*breaker, *limiter, event.at);
            }
            EventKind::Health {
                endpoint,
                health,
                detail,
            } => {
                self.endpoint_mut(endpoint)
                    .probed(*health, detail.clone(), event.at);
            }
            EventKind::Retry { reason: error, .. } => self.note_endpoint_error(index, error),
            EventKind::TurnFinished {
                outcome: Outcome::Failed { error, kind },
            } => {
                // The agent's own limits (budget, loop guard) say nothing about its endpoint.
                if kind.is_about_endpoint() {
                    self.note_endpoint_error(index, error);
                }
            }
            EventKind::TurnStarted { .. }
            | EventKind::TextDelta { .. }
            | EventKind::Reasoning { .. }
            | EventKind::ToolCallRequested { .. }
            | EventKind::ApprovalNeeded { .. }
            | EventKind::ToolCallFinished { .. }
            | EventKind::Waiting { .. }
            | EventKind::Notice { .. }
            // Its `why` may be about a fallback's endpoint, not the agent's own.
            | EventKind::FallbackTaken { .. }
            | EventKind::Context { .. }
            | EventKind::Compacted { .. }
            | EventKind::TurnFinished { .. } => {}
        }
        self.agents[index].apply(event);
    }

    fn note_endpoint_error(&mut self, agent: usize, error: &str) {
        if let Some(label) = self.agents[agent].info.endpoint.clone() {
            self.endpoint_mut(&label).last_error = Some(error.to_owned());
        }
    }

    fn endpoint_mut(&mut self, label: &str) -> &mut EndpointView {
        if let Some(i) = self.endpoints.iter().position(|e| e.label == label) {
            return &mut self.endpoints[i];
        }
        self.endpoints.push(EndpointView::named(label));
        let last = self.endpoints.len() - 1;
        &mut self.endpoints[last]
    }

    /// What the log tail read: the file from its tail again, or new lines; the last
    /// `LOG_LINES_KEPT` stay.
    pub fn apply_log(&mut self, update: LogUpdate) {
        match update {
            LogUpdate::Reset { lines } => self.log.lines = lines,
            LogUpdate::Appended { lines } => self.log.lines.extend(lines),
        }
        let excess = self.log.lines.len().saturating_sub(LOG_LINES_KEPT);
        self.log.lines.drain(..excess);
    }

    /// Points the log pane at another agent's log (its lines arrive from a new tail).
    pub fn follow_log(&mut self, agent: &str, path: PathBuf) {
        self.log = LogView {
            agent: Some(agent.to_owned()),
            path: Some(path),
            lines: Vec::new(),
        };
    }

    /// The oldest approval any agent waits for.
    pub fn pending_approval(&self) -> Option<(usize, &PendingApproval)> {
        self.agents
            .iter()
            .enumerate()
            .filter_map(|(i, a)| a.approval.as_ref().map(|p| (i, p)))
            .min_by_key(|(_, p)| p.asked_at)
    }
}
