//! Runs prompts without a terminal UI: sends them, prints every event until each turn has
//! finished, and turns Ctrl+C into a cancel.

use std::collections::HashSet;
use std::io::Write;

use tokio::sync::mpsc::UnboundedReceiver;

use super::print::Printer;
use crate::engine::orchestrator::{Orchestrator, UnknownAgent};
use crate::engine::protocol::{AgentEvent, EventKind, Outcome, TurnId};

/// How the turns of a headless run ended.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Tally {
    pub done: usize,
    pub failed: usize,
    pub cancelled: usize,
}

/// Sends each `(agent, prompt)` and prints events until every one of those turns has finished.
pub async fn run_turns<O: Write, E: Write>(
    orchestrator: &mut Orchestrator,
    events: &mut UnboundedReceiver<AgentEvent>,
    prompts: Vec<(String, String)>,
    printer: &mut Printer<O, E>,
) -> Result<Tally, RunError> {
    let mut pending: HashSet<TurnId> = HashSet::new();
    for (agent, prompt) in prompts {
        pending.insert(orchestrator.prompt(&agent, prompt)?);
    }
    let mut tally = Tally::default();
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
                    match outcome {
                        Outcome::Done { .. } => tally.done += 1,
                        Outcome::Failed { .. } => tally.failed += 1,
                        Outcome::Cancelled => tally.cancelled += 1,
                    }
                }
            }
            signal = tokio::signal::ctrl_c(), if !interrupted => {
                if signal.is_ok() {
                    interrupted = true;
                    orchestrator.cancel_all();
                }
            }
        }
    }
    Ok(tally)
}

#[derive(Debug, thiserror::Error)]
pub enum RunError {
    #[error(transparent)]
    UnknownAgent(#[from] UnknownAgent),
    #[error("cannot write the output: {0}")]
    Output(std::io::Error),
}
