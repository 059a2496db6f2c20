//! The agent actor: waits for commands, runs one turn at a time, queues prompts that arrive
//! meanwhile, and cancels or resets on request.

use std::collections::VecDeque;
use std::panic::AssertUnwindSafe;

use futures::FutureExt;

use tokio::sync::mpsc::{self, UnboundedReceiver, UnboundedSender};
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;

use super::turn::run_turn;
use super::{AgentRuntime, Emitter};
use crate::engine::protocol::{AgentCommand, AgentName, Approval, CallId, Outcome, TurnId};

/// The front end's grip on a running agent task.
#[derive(Debug)]
pub struct AgentHandle {
    pub name: AgentName,
    commands: UnboundedSender<AgentCommand>,
    join: JoinHandle<()>,
}

impl AgentHandle {
    /// Sends a command; `false` if the task has ended.
    pub fn send(&self, command: AgentCommand) -> bool {
        self.commands.send(command).is_ok()
    }

    /// Ends the task as a bug would (tests only).
    #[cfg(test)]
    pub(crate) async fn kill(&mut self) {
        self.join.abort();
        while !self.join.is_finished() {
            tokio::task::yield_now().await;
        }
    }

    /// Closes the command channel and waits for the task: a running turn is cancelled first.
    pub async fn shutdown(self) {
        let _ = self.commands.send(AgentCommand::Cancel);
        drop(self.commands);
        // A task that panicked has nothing left to clean up; its panic was logged by tokio.
        let _ = self.join.await;
    }
}

/// Starts the task of one agent. Its events go to `out` (journal, then channel).
pub fn spawn(mut rt: AgentRuntime, out: Emitter) -> AgentHandle {
    let (commands, inbox) = mpsc::unbounded_channel();
    let (answers, answers_in) = mpsc::unbounded_channel();
    rt.gate.connect(answers_in);
    let name = rt.name.clone();
    let join = tokio::spawn(run(rt, out, inbox, answers));
    AgentHandle {
        name,
        commands,
        join,
    }
}

async fn run(
    mut rt: AgentRuntime,
    mut out: Emitter,
    mut inbox: UnboundedReceiver<AgentCommand>,
    answers: UnboundedSender<(CallId, Approval)>,
) {
    let mut queue: VecDeque<(TurnId, String)> = VecDeque::new();
    let mut inbox_open = true;
    loop {
        let (turn, text) = match queue.pop_front() {
            Some(next) => next,
            None if !inbox_open => return,
            None => match inbox.recv().await {
                None => return,
                Some(AgentCommand::Prompt { turn, text }) => (turn, text),
                Some(AgentCommand::Reset) => {
                    reset(&mut rt);
                    continue;
                }
                // Nothing is running: nothing to cancel or approve.
                Some(AgentCommand::Cancel | AgentCommand::Approve { .. }) => continue,
            },
        };

        out.set_turn(turn);
        let cancel = CancellationToken::new();
        let mut reset_after = false;
        let mut dropped: Vec<TurnId> = Vec::new();
        let finished = {
            // A bug in a turn must not take the agent (or the front end waiting on it) down.
            let turn_run =
                AssertUnwindSafe(run_turn(&mut rt, &mut out, text, &cancel)).catch_unwind();
            tokio::pin!(turn_run);
            loop {
                tokio::select! {
                    finished = &mut turn_run => break finished,
                    command = inbox.recv(), if inbox_open => match command {
                        // The front end is gone: stop this turn and end after it.
                        None => {
                            inbox_open = false;
                            dropped.extend(queue.drain(..).map(|(turn, _)| turn));
                            cancel.cancel();
                        }
                        Some(AgentCommand::Prompt { turn, text }) => queue.push_back((turn, text)),
                        Some(AgentCommand::Cancel) => cancel.cancel(),
                        Some(AgentCommand::Reset) => {
                            reset_after = true;
                            dropped.extend(queue.drain(..).map(|(turn, _)| turn));
                            cancel.cancel();
                        }
                        // The running turn waits for it at its gate; a stale answer is dropped there.
                        Some(AgentCommand::Approve { call, decision }) => {
                            let _ = answers.send((call, decision));
                        }
                    },
                }
            }
        };
        let outcome = finished.unwrap_or_else(|panic| {
            let what = panic_message(panic.as_ref());
            tracing::error!(agent = %rt.name, "a turn panicked: {what}");
            reset_after = true;
            Outcome::Failed {
                error: format!("internal error: {what}; the conversation was reset"),
            }
        });
        out.finish(outcome).await;
        // Prompts queued behind a reset are not run: each still gets its ending.
        for turn in dropped {
            out.set_turn(turn);
            out.finish(Outcome::Cancelled).await;
        }
        if reset_after {
            reset(&mut rt);
        }
    }
}

fn panic_message(panic: &(dyn std::any::Any + Send)) -> String {
    panic
        .downcast_ref::<&str>()
        .map(|s| (*s).to_owned())
        .or_else(|| panic.downcast_ref::<String>().cloned())
        .unwrap_or_else(|| "a panic".to_owned())
}

fn reset(rt: &mut AgentRuntime) {
    rt.conversation.clear();
    rt.backend.reset();
}
