//! The agent actor: waits for commands, runs one turn at a time, queues prompts that arrive
//! meanwhile, and cancels or resets on request.

use std::collections::VecDeque;

use tokio::sync::mpsc::{self, UnboundedReceiver, UnboundedSender};
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;

use super::turn::run_turn;
use super::{AgentRuntime, Emitter};
use crate::engine::protocol::{AgentCommand, AgentName, EventKind, Outcome, TurnId};

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

    /// Closes the command channel and waits for the task: a running turn is cancelled first.
    pub async fn shutdown(self) {
        let _ = self.commands.send(AgentCommand::Cancel);
        drop(self.commands);
        // A task that panicked has nothing left to clean up; its panic was logged by tokio.
        let _ = self.join.await;
    }
}

/// Starts the task of one agent. Its events go to `out` (journal, then channel).
pub fn spawn(rt: AgentRuntime, out: Emitter) -> AgentHandle {
    let (commands, inbox) = mpsc::unbounded_channel();
    let name = rt.name.clone();
    let join = tokio::spawn(run(rt, out, inbox));
    AgentHandle {
        name,
        commands,
        join,
    }
}

async fn run(mut rt: AgentRuntime, mut out: Emitter, mut inbox: UnboundedReceiver<AgentCommand>) {
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
        let outcome = {
            let turn_run = run_turn(&mut rt, &mut out, text, &cancel);
            tokio::pin!(turn_run);
            loop {
                tokio::select! {
                    outcome = &mut turn_run => break outcome,
                    command = inbox.recv(), if inbox_open => match command {
                        // The front end is gone: stop this turn and end after it.
                        None => {
                            inbox_open = false;
                            queue.clear();
                            cancel.cancel();
                        }
                        Some(AgentCommand::Prompt { turn, text }) => queue.push_back((turn, text)),
                        Some(AgentCommand::Cancel) => cancel.cancel(),
                        Some(AgentCommand::Reset) => {
                            reset_after = true;
                            queue.clear();
                            cancel.cancel();
                        }
                        // Approvals arrive with the tools that ask for them.
                        Some(AgentCommand::Approve { .. }) => {}
                    },
                }
            }
        };
        finish(&mut out, outcome);
        if reset_after {
            reset(&mut rt);
        }
    }
}

fn finish(out: &mut Emitter, outcome: Outcome) {
    out.emit(EventKind::TurnFinished { outcome });
}

fn reset(rt: &mut AgentRuntime) {
    rt.conversation.clear();
    rt.backend.reset();
}
