//! One step of a running task: what it was given, where it is, what it wrote and spent.

use std::time::Duration;

use tokio::time::Instant;

use super::event::{StepRef, StepState, TaskEvent};
use crate::engine::config::StepSpec;
use crate::engine::protocol::{FailureKind, TokenUsage, TurnId};

/// Why the runner cancelled a step's turn.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum CancelledFor {
    Timeout,
    Budget,
}

/// One step of the run.
#[derive(Debug)]
pub(super) struct Step {
    pub(super) step: StepRef,
    pub(super) spec: StepSpec,
    pub(super) state: StepState,
    pub(super) attempts: u32,
    pub(super) turn: Option<TurnId>,
    /// When its first attempt was sent.
    pub(super) started: Option<Instant>,
    /// When the running attempt's turn must end (set when the turn starts: a queued turn does
    /// not use up its time waiting).
    pub(super) deadline: Option<Instant>,
    pub(super) cancelled_for: Option<CancelledFor>,
    pub(super) output: String,
    pub(super) error: Option<String>,
    pub(super) tokens: TokenUsage,
    pub(super) cost_usd: f64,
    pub(super) elapsed: Duration,
}

impl Step {
    pub(super) fn new(index: String, spec: &StepSpec) -> Self {
        Self {
            step: StepRef {
                index,
                id: spec.id.clone(),
                agent: spec.agent.clone(),
            },
            spec: spec.clone(),
            state: StepState::Waiting,
            attempts: 0,
            turn: None,
            started: None,
            deadline: None,
            cancelled_for: None,
            output: String::new(),
            error: None,
            tokens: TokenUsage::default(),
            cost_usd: 0.0,
            elapsed: Duration::ZERO,
        }
    }

    pub(super) fn is_over(&self) -> bool {
        !matches!(self.state, StepState::Waiting | StepState::Running)
    }

    /// What the step after a group reads of this member: its answer, or why it has none (it
    /// failed and `continue_on_error` let the task go on).
    pub(super) fn answer_for_next(&self) -> String {
        match (&self.error, self.state.is_success()) {
            (Some(error), false) => format!("(this step failed: {error})"),
            _ => self.output.clone(),
        }
    }

    /// What the next step reads of this one: `agent` or `agent (id)`.
    pub(super) fn label(&self) -> String {
        match &self.step.id {
            Some(id) => format!("{} ({id})", self.step.agent),
            None => self.step.agent.clone(),
        }
    }
}

/// Whether the same prompt sent again may fare better: not when a budget, the config, a key or
/// the account refused it.
pub(super) fn is_worth_retrying(kind: FailureKind) -> bool {
    match kind {
        FailureKind::Budget
        | FailureKind::Config
        | FailureKind::Auth
        | FailureKind::Quota
        | FailureKind::Cancelled => false,
        FailureKind::RateLimit
        | FailureKind::Context
        | FailureKind::Network
        | FailureKind::Server
        | FailureKind::Request
        | FailureKind::Loop
        | FailureKind::Internal
        | FailureKind::Other => true,
    }
}

pub(super) fn finished_event(step: &Step) -> TaskEvent {
    TaskEvent::StepFinished {
        step: step.step.clone(),
        state: step.state,
        output: step.output.clone(),
        error: step.error.clone(),
        attempts: step.attempts,
        tokens: step.tokens,
        cost_usd: step.cost_usd,
        elapsed_ms: millis(step.elapsed),
    }
}

pub(super) fn millis(d: Duration) -> u64 {
    u64::try_from(d.as_millis()).unwrap_or(u64::MAX)
}
