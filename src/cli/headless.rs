//! Runs prompts without a terminal UI: sends them, prints every event until each turn has
//! finished, and turns Ctrl+C (or SIGTERM, SIGHUP) into a cancel; a second one exits at once.

use std::collections::HashSet;
use std::io::Write;
use std::time::Duration;

use tokio::sync::mpsc::UnboundedReceiver;
use tokio::sync::watch;

use super::print::Printer;
use crate::engine::config::TaskSpec;
use crate::engine::orchestrator::{Orchestrator, UnknownAgent};
use crate::engine::pipeline::{
    Progress, StepRecord, StepState, TaskEvent, TaskRun, TaskState, drive,
};
use crate::engine::protocol::{AgentEvent, EventKind, Outcome, TurnId};
use crate::engine::tools::exec::kill_all_process_groups;
use crate::sanitize::line_for_display;
pub use crate::stop_signals::StopSignal as Interrupt;
use crate::stop_signals::StopSignals;

/// How one turn of a headless run ended.
#[derive(Clone, Debug, PartialEq)]
pub struct Finished {
    pub agent: String,
    pub outcome: Outcome,
}

/// The exit status of a headless run: 130 if a turn was cancelled (Ctrl+C), 1 if one failed or
/// its answer was cut.
pub fn exit_status(finished: &[Finished]) -> u8 {
    let any = |f: fn(&Outcome) -> bool| finished.iter().any(|t| f(&t.outcome));
    if any(|o| matches!(o, Outcome::Cancelled)) {
        130
    } else if any(|o| matches!(o, Outcome::Failed { .. } | Outcome::Stopped { .. })) {
        1
    } else {
        0
    }
}

/// SIGINT, SIGTERM and SIGHUP during a headless run. The first is recorded for the run to cancel every
/// agent (each turn then ends, which kills its tools' process groups) and to exit with its
/// status; a second exits at once, killing the tool processes still running.
#[derive(Clone, Debug)]
pub struct Interrupts {
    first: watch::Receiver<Option<Interrupt>>,
}

impl Interrupts {
    /// Starts listening; from now on the signals no longer end the process by themselves.
    /// Needs a tokio runtime.
    pub fn install() -> std::io::Result<Self> {
        let mut signals = StopSignals::install()?;
        let (record, first) = watch::channel(None);
        tokio::spawn(async move {
            loop {
                let received = signals.recv().await;
                if record.borrow().is_some() {
                    kill_all_process_groups();
                    std::process::exit(i32::from(received.exit_status()));
                }
                // Nobody listening means the run is over; the status is still read from here.
                let _ = record.send(Some(received));
            }
        });
        Ok(Self { first })
    }

    /// The first signal received, if any.
    pub fn received(&self) -> Option<Interrupt> {
        *self.first.borrow()
    }

    /// Waits for the first signal.
    async fn first(&mut self) -> Interrupt {
        loop {
            if let Some(received) = *self.first.borrow_and_update() {
                return received;
            }
            if self.first.changed().await.is_err() {
                // The listener is gone: no signal will come.
                std::future::pending::<()>().await;
            }
        }
    }
}

/// Sends each `(agent, prompt)` and prints events until every one of those turns has finished.
pub async fn run_turns<O: Write, E: Write>(
    orchestrator: &mut Orchestrator,
    events: &mut UnboundedReceiver<AgentEvent>,
    prompts: Vec<(String, String)>,
    printer: &mut Printer<O, E>,
    interrupts: &mut Interrupts,
) -> Result<Vec<Finished>, RunError> {
    let mut pending: HashSet<TurnId> = HashSet::new();
    for (agent, prompt) in prompts {
        pending.insert(orchestrator.prompt(&agent, prompt)?);
    }
    let mut finished = Vec::new();
    let mut interrupted = false;
    while !pending.is_empty() {
        tokio::select! {
            event = events.recv() => {
                // Every agent task holds a sender while the orchestrator lives; this cannot end early.
                let Some(event) = event else { break };
                if !pending.contains(&event.turn) {
                    continue;
                }
                printer.event(&event).map_err(RunError::Output)?;
                if let EventKind::TurnFinished { outcome } = &event.kind {
                    pending.remove(&event.turn);
                    finished.push(Finished {
                        agent: event.agent.to_string(),
                        outcome: outcome.clone(),
                    });
                }
            }
            _ = interrupts.first(), if !interrupted => {
                interrupted = true;
                orchestrator.cancel_all();
            }
        }
    }
    Ok(finished)
}

/// What to run of a task: its name, its steps, the input, and the records of an earlier run to
/// resume from.
pub struct TaskRequest<'a> {
    pub name: &'a str,
    pub spec: &'a TaskSpec,
    pub input: Option<String>,
    pub resume: Vec<StepRecord>,
}

/// Runs a task: text shows each step's heading (stderr) and answer (stdout, streamed; a
/// parallel group's answers as blocks); `--json` one line per task event, the last one the
/// summary. A failed task names its failing step on stderr.
pub async fn run_task<O: Write, E: Write>(
    orchestrator: &mut Orchestrator,
    events: &mut UnboundedReceiver<AgentEvent>,
    request: TaskRequest<'_>,
    printer: &mut Printer<O, E>,
    interrupts: &mut Interrupts,
) -> Result<TaskState, RunError> {
    let entries = request.spec.steps.len();
    let mut run = TaskRun::new(request.name, request.spec, request.input, request.resume);
    let mut stop = interrupts.clone();
    let stop = async move {
        stop.first().await;
    };
    drive(
        &mut run,
        orchestrator,
        events,
        stop,
        |progress| match progress {
            Progress::Agent(event) if !printer.is_json() => printer.event(event),
            Progress::Agent(_) => Ok(()),
            Progress::Task(event) if printer.is_json() => printer.json_line(event),
            Progress::Task(event) => printer.heading_for(&task_line(event, entries)),
        },
    )
    .await
    .map_err(RunError::Output)
}

/// The line a task event shows on stderr in text mode, if any.
fn task_line(event: &TaskEvent, entries: usize) -> Option<String> {
    match event {
        TaskEvent::TaskStarted { .. } => None,
        TaskEvent::StepStarted { step, attempt, .. } => Some(format!(
            "── step {}/{entries}: {}{} ──",
            step.index,
            line_for_display(&step.agent),
            if *attempt > 1 {
                format!(" (attempt {attempt})")
            } else {
                String::new()
            }
        )),
        TaskEvent::StepRetrying { step, error, .. } => Some(format!(
            "↻ {} failed: {}; sending it again",
            line_for_display(&step.describe()),
            line_for_display(error.lines().next().unwrap_or_default())
        )),
        TaskEvent::StepFinished { step, state, .. } => match state {
            StepState::Reused => Some(format!(
                "── step {}/{entries}: {} (done in an earlier run) ──",
                step.index,
                line_for_display(&step.agent)
            )),
            StepState::Waiting
            | StepState::Running
            | StepState::Done
            | StepState::Failed
            | StepState::Cancelled => None,
        },
        TaskEvent::TaskFinished {
            task,
            state,
            failed_step,
            error,
            tokens,
            cost_usd,
            elapsed_ms,
        } => {
            let task = line_for_display(task);
            let spent = format!(
                "{} tokens, ${cost_usd:.4}, {:.1}s",
                tokens.input + tokens.output,
                Duration::from_millis(*elapsed_ms).as_secs_f64()
            );
            let step = failed_step
                .as_ref()
                .map(|s| line_for_display(&s.describe()))
                .unwrap_or_default();
            let error =
                line_for_display(error.as_deref().unwrap_or("").lines().next().unwrap_or(""));
            Some(match state {
                TaskState::Done => format!("── task `{task}` done ({spent}) ──"),
                TaskState::Failed => {
                    format!("tzzr: task `{task}` failed at {step}: {error} ({spent})")
                }
                TaskState::Cancelled => format!("tzzr: task `{task}` cancelled ({spent})"),
            })
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum RunError {
    #[error(transparent)]
    UnknownAgent(#[from] UnknownAgent),
    #[error("cannot write the output: {0}")]
    Output(std::io::Error),
}
