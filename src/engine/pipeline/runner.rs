//! One run of a task as a state machine: it is fed the agents' events and the time, and it sends
//! prompts and cancels through [`Turns`] and says what happened as [`TaskEvent`]s. The headless
//! runner and the TUI drive the same machine; it never waits on anything itself.

use std::collections::HashMap;
use std::time::Duration;

use tokio::time::Instant;

use super::event::{StepRecord, StepRef, StepState, TaskEvent, TaskState};
use super::framing::{Context, frame, joined};
use super::step::{CancelledFor, Step, finished_event, is_worth_retrying, millis};
use crate::engine::config::{TaskSpec, TaskStep};
use crate::engine::orchestrator::{Orchestrator, UnknownAgent};
use crate::engine::protocol::{AgentCommand, AgentEvent, EventKind, Outcome, TokenUsage, TurnId};

/// Where a task's prompts go: the orchestrator, or a test's fake.
pub trait Turns {
    /// Sends `prompt` to `agent` (queued behind its running turn) as a new turn.
    fn send(&mut self, agent: &str, prompt: String) -> Result<TurnId, UnknownAgent>;
    /// Cancels `agent`'s running turn.
    fn cancel(&mut self, agent: &str);
}

impl Turns for Orchestrator {
    fn send(&mut self, agent: &str, prompt: String) -> Result<TurnId, UnknownAgent> {
        self.prompt(agent, prompt)
    }

    fn cancel(&mut self, agent: &str) {
        // An agent that is gone has no turn to cancel.
        let _ = self.command(agent, AgentCommand::Cancel);
    }
}

/// A task being run.
#[derive(Debug)]
pub struct TaskRun {
    name: String,
    input: Option<String>,
    budget_usd: Option<f64>,
    /// One entry per entry of `steps:`, a group's steps side by side.
    stages: Vec<Vec<Step>>,
    /// The stage running now; `stages.len()` once every stage is over.
    current: usize,
    /// The answer before the current stage.
    previous: Option<String>,
    /// Which step each of the run's turns belongs to.
    turns: HashMap<TurnId, (usize, usize)>,
    tokens: TokenUsage,
    cost_usd: f64,
    started: Option<Instant>,
    /// Set when the user stopped the task: no step starts or retries.
    is_stopping: bool,
    finished: Option<TaskState>,
    /// Earlier records by step place, for resuming.
    resumed: HashMap<String, StepRecord>,
}

impl TaskRun {
    /// A run of `spec` on `input`; steps `resume` records as done are reused, not run again.
    pub fn new(
        name: &str,
        spec: &TaskSpec,
        input: Option<String>,
        resume: Vec<StepRecord>,
    ) -> Self {
        let stages = spec
            .steps
            .iter()
            .enumerate()
            .map(|(i, entry)| {
                entry
                    .members()
                    .iter()
                    .enumerate()
                    .map(|(j, spec)| {
                        let index = match entry {
                            TaskStep::Single(_) => (i + 1).to_string(),
                            TaskStep::Parallel(_) => format!("{}.{}", i + 1, j + 1),
                        };
                        Step::new(index, spec)
                    })
                    .collect()
            })
            .collect();
        Self {
            name: name.to_owned(),
            input,
            budget_usd: spec.budget_usd,
            stages,
            current: 0,
            previous: None,
            turns: HashMap::new(),
            tokens: TokenUsage::default(),
            cost_usd: 0.0,
            started: None,
            is_stopping: false,
            finished: None,
            resumed: resume
                .into_iter()
                .filter(|r| r.state.is_success())
                .map(|r| (r.step.index.clone(), r))
                .collect(),
        }
    }

    pub fn name(&self) -> &str {
        &self.name
    }

    /// How the run ended, once it has.
    pub fn finished(&self) -> Option<TaskState> {
        self.finished
    }

    /// Whether `turn` is one of this run's.
    pub fn owns(&self, turn: TurnId) -> bool {
        self.turns.contains_key(&turn)
    }

    /// What the run has left of each step that ended, to resume it later.
    pub fn records(&self) -> Vec<StepRecord> {
        self.stages
            .iter()
            .flatten()
            .filter(|s| s.is_over())
            .map(|s| StepRecord {
                step: s.step.clone(),
                state: s.state,
                output: s.output.clone(),
            })
            .collect()
    }

    /// When the run next needs [`TaskRun::on_tick`]: the nearest step deadline.
    pub fn next_deadline(&self) -> Option<Instant> {
        self.running().filter_map(|s| s.deadline).min()
    }

    /// Starts the run: sends the first step's prompts.
    pub fn start(&mut self, turns: &mut dyn Turns, now: Instant) -> Vec<TaskEvent> {
        self.started = Some(now);
        let mut events = vec![TaskEvent::TaskStarted {
            task: self.name.clone(),
            steps: self
                .stages
                .iter()
                .flatten()
                .map(|s| s.step.clone())
                .collect(),
        }];
        self.previous = self.input.clone();
        if self.stages.is_empty() {
            self.finish(TaskState::Done, None, None, now, &mut events);
        } else {
            self.start_members(turns, now, &mut events);
            self.advance(turns, now, &mut events);
        }
        events
    }

    /// Takes in one agent event; events of turns that are not this run's are ignored.
    pub fn on_event(
        &mut self,
        event: &AgentEvent,
        turns: &mut dyn Turns,
        now: Instant,
    ) -> Vec<TaskEvent> {
        let mut events = Vec::new();
        let Some(&(stage, member)) = self.turns.get(&event.turn) else {
            return events;
        };
        match &event.kind {
            EventKind::TurnStarted { .. } => {
                let step = &mut self.stages[stage][member];
                step.deadline = step.spec.timeout.map(|limit| now + limit);
            }
            EventKind::Usage {
                usage, cost_usd, ..
            } => {
                self.tokens.add(*usage);
                self.cost_usd += cost_usd;
                let step = &mut self.stages[stage][member];
                step.tokens.add(*usage);
                step.cost_usd += cost_usd;
                let over = step.spec.budget_usd.is_some_and(|b| step.cost_usd > b);
                if over && step.cancelled_for.is_none() {
                    step.cancelled_for = Some(CancelledFor::Budget);
                    turns.cancel(&step.spec.agent);
                }
            }
            EventKind::TurnFinished { outcome } => {
                self.turns.remove(&event.turn);
                self.turn_finished(stage, member, outcome, turns, now, &mut events);
            }
            EventKind::TextDelta { .. }
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
            | EventKind::Notice { .. } => {}
        }
        events
    }

    /// Cancels the turns whose time is up.
    pub fn on_tick(&mut self, turns: &mut dyn Turns, now: Instant) {
        for step in self.stages.iter_mut().flatten() {
            let is_late = step.deadline.is_some_and(|d| d <= now);
            if step.state == StepState::Running && is_late && step.cancelled_for.is_none() {
                step.cancelled_for = Some(CancelledFor::Timeout);
                step.deadline = None;
                turns.cancel(&step.spec.agent);
            }
        }
    }

    /// Stops the run: the running steps are cancelled and nothing starts after them.
    pub fn stop(&mut self, turns: &mut dyn Turns) {
        self.is_stopping = true;
        for step in self.stages.iter().flatten() {
            if step.state == StepState::Running {
                turns.cancel(&step.spec.agent);
            }
        }
    }

    /// Whether the task's turns have spent its budget (a run that spent nothing, on free local
    /// models, never has, even under `budget_usd: 0`).
    fn is_budget_spent(&self) -> bool {
        self.budget_usd
            .is_some_and(|budget| self.cost_usd > 0.0 && self.cost_usd >= budget)
    }

    fn running(&self) -> impl Iterator<Item = &Step> {
        self.stages
            .iter()
            .flatten()
            .filter(|s| s.state == StepState::Running)
    }

    /// Sends the prompts of the current stage's steps, or reuses an earlier run's answers.
    fn start_members(&mut self, turns: &mut dyn Turns, now: Instant, events: &mut Vec<TaskEvent>) {
        let stage = self.current;
        for member in 0..self.stages[stage].len() {
            let step = &self.stages[stage][member].step;
            // A record of a step that has since moved or changed agent is not this step's.
            if let Some(record) = self.resumed.get(&step.index).filter(|r| r.step == *step) {
                let step = &mut self.stages[stage][member];
                step.state = StepState::Reused;
                step.output = record.output.clone();
                events.push(finished_event(step));
            } else {
                self.send(stage, member, turns, now, events);
            }
        }
    }

    /// Moves on while the current stage is over: ends the run when a step stopped it or the
    /// last stage is over, else starts the next stage.
    fn advance(&mut self, turns: &mut dyn Turns, now: Instant, events: &mut Vec<TaskEvent>) {
        while self.finished.is_none()
            && self.current < self.stages.len()
            && self.stage_is_over(self.current)
        {
            let stage = &self.stages[self.current];
            let stopper = stage.iter().find(|s| {
                !s.state.is_success()
                    && (!s.spec.continue_on_error || s.state == StepState::Cancelled)
            });
            if let Some(stopper) = stopper {
                let state = if stopper.state == StepState::Cancelled {
                    TaskState::Cancelled
                } else {
                    TaskState::Failed
                };
                let (step, error) = (stopper.step.clone(), stopper.error.clone());
                self.finish(state, Some(step), error, now, events);
                return;
            }
            self.previous = Some(match stage.as_slice() {
                [single] => single.output.clone(),
                group => joined(
                    &group
                        .iter()
                        .map(|s| (s.label(), s.answer_for_next()))
                        .collect::<Vec<_>>(),
                ),
            });
            self.current += 1;
            if self.current == self.stages.len() {
                self.finish(TaskState::Done, None, None, now, events);
            } else if self.is_stopping {
                self.finish(TaskState::Cancelled, None, None, now, events);
            } else {
                self.start_members(turns, now, events);
            }
        }
    }

    /// Sends a step's prompt (an attempt), unless the task's budget is spent.
    fn send(
        &mut self,
        stage: usize,
        member: usize,
        turns: &mut dyn Turns,
        now: Instant,
        events: &mut Vec<TaskEvent>,
    ) {
        if let Some(budget) = self.budget_usd.filter(|_| self.is_budget_spent()) {
            let spent = self.cost_usd;
            let step = &mut self.stages[stage][member];
            step.state = StepState::Failed;
            step.error = Some(format!(
                "not started: the task's budget_usd of ${budget:.4} is spent (${spent:.4}); raise it under tasks: in the config"
            ));
            events.push(finished_event(step));
            return;
        }
        let prompt = self.prompt_of(stage, member);
        let step = &mut self.stages[stage][member];
        match turns.send(&step.spec.agent, prompt.clone()) {
            Ok(turn) => {
                step.state = StepState::Running;
                step.attempts += 1;
                step.turn = Some(turn);
                step.started.get_or_insert(now);
                step.deadline = None;
                step.cancelled_for = None;
                self.turns.insert(turn, (stage, member));
                events.push(TaskEvent::StepStarted {
                    step: step.step.clone(),
                    turn,
                    attempt: step.attempts,
                    prompt,
                });
            }
            Err(unknown) => {
                step.state = StepState::Failed;
                step.error = Some(unknown.to_string());
                events.push(finished_event(step));
            }
        }
    }

    fn prompt_of(&self, stage: usize, member: usize) -> String {
        let output_of = |id: &str| {
            self.stages[..stage]
                .iter()
                .flatten()
                .find(|s| s.step.id.as_deref() == Some(id))
                .map(|s| s.output.clone())
        };
        let context = Context {
            input: self.input.as_deref(),
            previous: self.previous.as_deref(),
            output_of: &output_of,
        };
        frame(&self.stages[stage][member].spec.prompt, &context)
    }

    fn turn_finished(
        &mut self,
        stage: usize,
        member: usize,
        outcome: &Outcome,
        turns: &mut dyn Turns,
        now: Instant,
        events: &mut Vec<TaskEvent>,
    ) {
        let budget_left = !self.is_budget_spent();
        let is_stopping = self.is_stopping;
        let step = &mut self.stages[stage][member];
        step.turn = None;
        step.deadline = None;
        let mut is_hopeless = false;
        let failure = match outcome {
            Outcome::Done { text } => {
                step.output = text.clone();
                None
            }
            Outcome::Stopped { text, reason } => {
                step.output = text.clone();
                Some(reason.describe().to_owned())
            }
            Outcome::Failed { error, kind } => {
                is_hopeless = !is_worth_retrying(*kind);
                Some(error.clone())
            }
            Outcome::Cancelled => Some(match step.cancelled_for {
                Some(CancelledFor::Timeout) => format!(
                    "timed out after {}s (its timeout); raise `timeout` on the step",
                    step.spec.timeout.unwrap_or_default().as_secs_f64()
                ),
                Some(CancelledFor::Budget) => format!(
                    "stopped: it spent ${:.4}, over its budget_usd of ${:.4}",
                    step.cost_usd,
                    step.spec.budget_usd.unwrap_or_default()
                ),
                None => "cancelled".to_owned(),
            }),
        };
        step.elapsed = step.started.map_or(Duration::ZERO, |s| now - s);
        let Some(error) = failure else {
            step.state = StepState::Done;
            step.error = None;
            events.push(finished_event(step));
            self.advance(turns, now, events);
            return;
        };
        let was_cancelled = matches!(outcome, Outcome::Cancelled) && step.cancelled_for.is_none();
        let may_retry = step.attempts <= step.spec.retry
            && !is_hopeless
            && !is_stopping
            && !was_cancelled
            && step.cancelled_for != Some(CancelledFor::Budget)
            && budget_left;
        if may_retry {
            events.push(TaskEvent::StepRetrying {
                step: step.step.clone(),
                attempt: step.attempts + 1,
                error,
            });
            self.send(stage, member, turns, now, events);
        } else {
            step.state = if was_cancelled || is_stopping {
                StepState::Cancelled
            } else {
                StepState::Failed
            };
            step.error = Some(error);
            events.push(finished_event(step));
        }
        self.advance(turns, now, events);
    }

    /// Whether every step of `stage` is over (true past the last stage).
    fn stage_is_over(&self, stage: usize) -> bool {
        self.stages
            .get(stage)
            .is_none_or(|steps| steps.iter().all(Step::is_over))
    }

    fn finish(
        &mut self,
        state: TaskState,
        failed_step: Option<StepRef>,
        error: Option<String>,
        now: Instant,
        events: &mut Vec<TaskEvent>,
    ) {
        self.finished = Some(state);
        events.push(TaskEvent::TaskFinished {
            task: self.name.clone(),
            state,
            failed_step,
            error,
            tokens: self.tokens,
            cost_usd: self.cost_usd,
            elapsed_ms: millis(self.started.map_or(Duration::ZERO, |s| now - s)),
        });
    }
}

#[cfg(test)]
#[path = "runner_tests.rs"]
mod tests;
