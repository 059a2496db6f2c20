//! The task the TUI runs, one at a time: a [`TaskRun`] on the orchestrator, fed the engine's
//! events and the clock by the loop, and what its last run of each task left, for `--resume`.

use std::collections::HashMap;

use tokio::time::Instant;

use crate::engine::config::diagnose::did_you_mean;
use crate::engine::orchestrator::Orchestrator;
use crate::engine::pipeline::{self, StepRecord, TaskEvent, TaskRun};
use crate::engine::protocol::AgentEvent;

#[derive(Debug, Default)]
pub struct TaskSlot {
    run: Option<TaskRun>,
    /// The steps each task's last run ended, by task name.
    records: HashMap<String, Vec<StepRecord>>,
}

impl TaskSlot {
    /// Starts task `name`; the error is one line for the status bar.
    pub fn start(
        &mut self,
        orchestrator: &mut Orchestrator,
        name: &str,
        input: Option<String>,
        resume: bool,
    ) -> Result<Vec<TaskEvent>, String> {
        if let Some(run) = &self.run {
            return Err(format!(
                "task `{}` is still running: wait for it to end before starting another",
                run.name()
            ));
        }
        let tasks = &orchestrator.config().tasks;
        let Some(spec) = tasks.get(name).cloned() else {
            let names: Vec<&str> = tasks.keys().map(String::as_str).collect();
            return Err(format!(
                "no task `{}`{}; tasks: {}",
                crate::sanitize::line_for_display(name),
                did_you_mean(name, names.iter().copied()),
                if names.is_empty() {
                    "none (add some under `tasks:` in the config, then /reload)".to_owned()
                } else {
                    names.join(", ")
                }
            ));
        };
        if spec.steps.is_empty() {
            return Err(format!("task `{name}` has no steps"));
        }
        let records = if resume {
            // This run's last try, else what the resumed session kept of earlier runs.
            self.records
                .get(name)
                .cloned()
                .or_else(|| Some(pipeline::recorded(orchestrator, name)).filter(|r| !r.is_empty()))
                .ok_or_else(|| {
                    format!("task `{name}` has not run yet in this session: /task {name} runs it")
                })?
        } else {
            Vec::new()
        };
        let mut run = TaskRun::new(name, &spec, input, records);
        let events = run.start(orchestrator, Instant::now());
        pipeline::record(orchestrator, name, &events);
        self.keep(run);
        Ok(events)
    }

    /// Feeds an engine event to the running task.
    pub fn on_event(
        &mut self,
        event: &AgentEvent,
        orchestrator: &mut Orchestrator,
    ) -> Vec<TaskEvent> {
        let Some(mut run) = self.run.take() else {
            return Vec::new();
        };
        let events = run.on_event(event, orchestrator, Instant::now());
        pipeline::record(orchestrator, run.name(), &events);
        self.keep(run);
        events
    }

    /// Cancels the running task's turns whose time is up.
    pub fn on_tick(&mut self, orchestrator: &mut Orchestrator) {
        if let Some(run) = &mut self.run {
            run.on_tick(orchestrator, Instant::now());
        }
    }

    /// When [`TaskSlot::on_tick`] is next needed.
    pub fn deadline(&self) -> Option<Instant> {
        self.run.as_ref().and_then(TaskRun::next_deadline)
    }

    /// Keeps a run that goes on; files away the records of one that ended.
    fn keep(&mut self, run: TaskRun) {
        if run.finished().is_some() {
            self.records.insert(run.name().to_owned(), run.records());
        } else {
            self.run = Some(run);
        }
    }
}
