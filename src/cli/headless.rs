//! Runs prompts without a terminal UI: sends them, prints every event until each turn has
//! finished, and turns Ctrl+C (or SIGTERM, SIGHUP) into a cancel; a second one exits at once.

use std::collections::HashSet;
use std::io::Write;

use tokio::sync::mpsc::UnboundedReceiver;
use tokio::sync::watch;

use super::print::Printer;
use crate::engine::config::TaskStep;
use crate::engine::orchestrator::{Orchestrator, UnknownAgent};
use crate::engine::pipeline::step_prompt;
use crate::engine::protocol::{AgentEvent, EventKind, Outcome, TurnId};
use crate::engine::tools::exec::kill_all_process_groups;
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

/// Runs a task's steps in order, each with the previous answer as context; stops at the first
/// step that does not finish.
pub async fn run_task<O: Write, E: Write>(
    orchestrator: &mut Orchestrator,
    events: &mut UnboundedReceiver<AgentEvent>,
    steps: &[TaskStep],
    printer: &mut Printer<O, E>,
    interrupts: &mut Interrupts,
) -> Result<Vec<Finished>, RunError> {
    let mut finished = Vec::new();
    let mut previous: Option<String> = None;
    for (n, step) in steps.iter().enumerate() {
        printer
            .heading(&format!(
                "── step {}/{}: {} ──",
                n + 1,
                steps.len(),
                step.agent
            ))
            .map_err(RunError::Output)?;
        let prompt = step_prompt(previous.as_deref(), &step.prompt);
        let mut outcome = run_turns(
            orchestrator,
            events,
            vec![(step.agent.clone(), prompt)],
            printer,
            interrupts,
        )
        .await?;
        let Some(last) = outcome.pop() else { break };
        previous = match &last.outcome {
            Outcome::Done { text } => Some(text.clone()),
            // A cut answer is no ground for the next step.
            Outcome::Stopped { .. } | Outcome::Failed { .. } | Outcome::Cancelled => None,
        };
        finished.push(last);
        if previous.is_none() || interrupts.received().is_some() {
            break;
        }
    }
    Ok(finished)
}

#[derive(Debug, thiserror::Error)]
pub enum RunError {
    #[error(transparent)]
    UnknownAgent(#[from] UnknownAgent),
    #[error("cannot write the output: {0}")]
    Output(std::io::Error),
}
