//! The read model of the running (or last) task: each step's agent, state, time, tokens, cost
//! and output, from the task's events and, live, from the events of its steps' turns.

use crate::engine::pipeline::{StepRef, StepState, TaskEvent, TaskState};
use crate::engine::protocol::{AgentEvent, EventKind, TurnId};

#[derive(Clone, Debug, PartialEq)]
pub struct StepView {
    pub step: StepRef,
    pub state: StepState,
    /// The turn of the running (or last) attempt.
    pub turn: Option<TurnId>,
    pub attempt: u32,
    /// What the step has written: streamed while it runs, its answer once done.
    pub output: String,
    pub error: Option<String>,
    pub tokens: u64,
    pub cost_usd: f64,
    pub started_at: Option<jiff::Timestamp>,
    /// When it ended, or its last event while it runs.
    pub last_at: Option<jiff::Timestamp>,
    /// Over all attempts, once it ended.
    pub elapsed_ms: Option<u64>,
}

impl StepView {
    fn new(step: StepRef) -> Self {
        Self {
            step,
            state: StepState::Waiting,
            turn: None,
            attempt: 0,
            output: String::new(),
            error: None,
            tokens: 0,
            cost_usd: 0.0,
            started_at: None,
            last_at: None,
            elapsed_ms: None,
        }
    }
}

#[derive(Clone, Debug, PartialEq)]
pub struct TaskView {
    pub name: String,
    pub steps: Vec<StepView>,
    /// `None` while it runs.
    pub state: Option<TaskState>,
    pub failed_step: Option<StepRef>,
    pub error: Option<String>,
}

impl TaskView {
    pub fn new(name: &str, steps: &[StepRef]) -> Self {
        Self {
            name: name.to_owned(),
            steps: steps.iter().cloned().map(StepView::new).collect(),
            state: None,
            failed_step: None,
            error: None,
        }
    }

    /// Tokens of every step so far (input and output).
    pub fn tokens(&self) -> u64 {
        self.steps.iter().map(|s| s.tokens).sum()
    }

    pub fn cost_usd(&self) -> f64 {
        self.steps.iter().map(|s| s.cost_usd).sum()
    }

    pub fn is_running(&self) -> bool {
        self.state.is_none()
    }

    /// The steps by entry of `steps:`: a group's steps together, in order (as indices).
    pub fn stages(&self) -> Vec<Vec<usize>> {
        let mut stages: Vec<Vec<usize>> = Vec::new();
        let mut last_entry: Option<&str> = None;
        for (i, step) in self.steps.iter().enumerate() {
            let entry = step.step.index.split('.').next().unwrap_or_default();
            match stages.last_mut() {
                Some(stage) if last_entry == Some(entry) => stage.push(i),
                _ => stages.push(vec![i]),
            }
            last_entry = Some(entry);
        }
        stages
    }

    /// Takes in one of the task's events.
    pub fn apply(&mut self, event: &TaskEvent) {
        match event {
            TaskEvent::TaskStarted { task, steps } => *self = Self::new(task, steps),
            TaskEvent::StepStarted {
                step,
                turn,
                attempt,
                ..
            } => {
                if let Some(view) = self.step_mut(step) {
                    view.state = StepState::Running;
                    view.turn = Some(*turn);
                    view.attempt = *attempt;
                    view.output.clear();
                }
            }
            TaskEvent::StepRetrying { step, error, .. } => {
                if let Some(view) = self.step_mut(step) {
                    view.error = Some(error.clone());
                }
            }
            TaskEvent::StepFinished {
                step,
                state,
                output,
                error,
                tokens,
                cost_usd,
                elapsed_ms,
                ..
            } => {
                if let Some(view) = self.step_mut(step) {
                    view.state = *state;
                    view.output.clone_from(output);
                    view.error.clone_from(error);
                    view.tokens = tokens.input.saturating_add(tokens.output);
                    view.cost_usd = *cost_usd;
                    view.elapsed_ms = Some(*elapsed_ms);
                }
            }
            TaskEvent::TaskFinished {
                state,
                failed_step,
                error,
                ..
            } => {
                self.state = Some(*state);
                self.failed_step.clone_from(failed_step);
                self.error.clone_from(error);
            }
        }
    }

    /// Takes in an agent event: a running step's text, tokens and cost as they come.
    pub fn apply_agent(&mut self, event: &AgentEvent) {
        let Some(view) = self
            .steps
            .iter_mut()
            .find(|s| s.state == StepState::Running && s.turn == Some(event.turn))
        else {
            return;
        };
        view.started_at.get_or_insert(event.at);
        view.last_at = Some(event.at);
        match &event.kind {
            EventKind::TextDelta { text } => view.output.push_str(text),
            EventKind::Usage {
                usage, cost_usd, ..
            } => {
                view.tokens = view
                    .tokens
                    .saturating_add(usage.input.saturating_add(usage.output));
                view.cost_usd += cost_usd;
            }
            EventKind::TurnStarted { .. }
            | EventKind::Reasoning { .. }
            | EventKind::ToolCallRequested { .. }
            | EventKind::ApprovalNeeded { .. }
            | EventKind::ToolCallFinished { .. }
            | EventKind::Retry { .. }
            | EventKind::Waiting { .. }
            | EventKind::Endpoint { .. }
            | EventKind::FallbackTaken { .. }
            | EventKind::Context { .. }
            | EventKind::Compacted { .. }
            | EventKind::Health { .. }
            | EventKind::Notice { .. }
            | EventKind::TurnFinished { .. } => {}
        }
    }

    fn step_mut(&mut self, step: &StepRef) -> Option<&mut StepView> {
        self.steps.iter_mut().find(|s| s.step.index == step.index)
    }
}
