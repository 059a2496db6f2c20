//! Runs a task to its end on an orchestrator: feeds the run every agent event and the clock,
//! and hands each agent and task event to the front end (the headless printer) as it comes.

use std::future::Future;

use tokio::sync::mpsc::UnboundedReceiver;
use tokio::time::Instant;

use super::event::{TaskEvent, TaskState};
use super::runner::TaskRun;
use crate::engine::orchestrator::Orchestrator;
use crate::engine::protocol::AgentEvent;

/// Something the front end may show.
#[derive(Clone, Copy, Debug)]
pub enum Progress<'a> {
    /// An event of one of the task's turns.
    Agent(&'a AgentEvent),
    Task(&'a TaskEvent),
}

/// Drives `run` until it ends; `stop` resolving (Ctrl+C) stops it, and it ends once its running
/// turns have. Events of turns that are not the run's are dropped. An error of `show` ends the
/// drive at once.
pub async fn drive<E>(
    run: &mut TaskRun,
    orchestrator: &mut Orchestrator,
    events: &mut UnboundedReceiver<AgentEvent>,
    stop: impl Future<Output = ()>,
    mut show: impl FnMut(Progress<'_>) -> Result<(), E>,
) -> Result<TaskState, E> {
    let started = run.start(orchestrator, Instant::now());
    super::record(orchestrator, run.name(), &started);
    for event in started {
        show(Progress::Task(&event))?;
    }
    tokio::pin!(stop);
    let mut is_stopped = false;
    loop {
        if let Some(state) = run.finished() {
            return Ok(state);
        }
        let deadline = run.next_deadline();
        tokio::select! {
            event = events.recv() => {
                // Every agent task holds a sender while the orchestrator lives.
                let Some(event) = event else { return Ok(TaskState::Cancelled) };
                if !run.owns(event.turn) {
                    continue;
                }
                show(Progress::Agent(&event))?;
                let task_events = run.on_event(&event, orchestrator, Instant::now());
                super::record(orchestrator, run.name(), &task_events);
                for task_event in task_events {
                    show(Progress::Task(&task_event))?;
                }
            }
            () = async { tokio::time::sleep_until(deadline.unwrap_or_else(Instant::now)).await },
                if deadline.is_some() => {
                run.on_tick(orchestrator, Instant::now());
            }
            () = &mut stop, if !is_stopped => {
                is_stopped = true;
                run.stop(orchestrator);
            }
        }
    }
}
