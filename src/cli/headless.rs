//! Runs prompts without a terminal UI: sends them, prints every event until each turn has
//! finished, and turns Ctrl+C into a cancel.

use std::collections::HashSet;
use std::io::Write;

use tokio::sync::mpsc::UnboundedReceiver;

use super::print::Printer;
use crate::engine::config::TaskStep;
use crate::engine::orchestrator::{Orchestrator, UnknownAgent};
use crate::engine::pipeline::step_prompt;
use crate::engine::protocol::{AgentEvent, EventKind, Outcome, TurnId};

/// How one turn of a headless run ended.
#[derive(Clone, Debug, PartialEq)]
pub struct Finished {
    pub agent: String,
    pub outcome: Outcome,
}

/// The exit status of a headless run: 130 if a turn was cancelled (Ctrl+C), 1 if one failed.
pub fn exit_status(finished: &[Finished]) -> u8 {
    let any = |f: fn(&Outcome) -> bool| finished.iter().any(|t| f(&t.outcome));
    if any(|o| matches!(o, Outcome::Cancelled)) {
        130
    } else if any(|o| matches!(o, Outcome::Failed { .. })) {
        1
    } else {
        0
    }
}

/// Sends each `(agent, prompt)` and prints events until every one of those turns has finished.
pub async fn run_turns<O: Write, E: Write>(
    orchestrator: &mut Orchestrator,
    events: &mut UnboundedReceiver<AgentEvent>,
    prompts: Vec<(String, String)>,
    printer: &mut Printer<O, E>,
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
            signal = tokio::signal::ctrl_c(), if !interrupted => {
                if signal.is_ok() {
                    interrupted = true;
                    orchestrator.cancel_all();
                }
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
        )
        .await?;
        let Some(last) = outcome.pop() else { break };
        previous = match &last.outcome {
            Outcome::Done { text } => Some(text.clone()),
            Outcome::Failed { .. } | Outcome::Cancelled => None,
        };
        finished.push(last);
        if previous.is_none() {
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
