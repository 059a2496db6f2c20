//! The agent actor: waits for commands, runs one turn at a time, queues prompts that arrive
//! meanwhile, and cancels or resets on request.

use std::collections::VecDeque;
use std::panic::AssertUnwindSafe;

use futures::FutureExt;

use tokio::sync::mpsc::{self, UnboundedReceiver, UnboundedSender};
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;

use super::turn::{compact_now, report_context, run_turn};
use super::{AgentRuntime, Emitter};
use crate::engine::conversation::Message;
use crate::engine::protocol::{
    AgentCommand, AgentName, Approval, CallId, FailureKind, Outcome, TurnId,
};

/// The front end's grip on a running agent task.
#[derive(Debug)]
pub struct AgentHandle {
    pub name: AgentName,
    commands: UnboundedSender<AgentCommand>,
    /// Ends with the agent's conversation.
    join: JoinHandle<Vec<Message>>,
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
    /// Returns the conversation the agent ended with.
    pub async fn shutdown(self) -> Vec<Message> {
        let _ = self.commands.send(AgentCommand::Cancel);
        drop(self.commands);
        // A task that panicked has nothing left to clean up; its panic was logged by tokio.
        self.join.await.unwrap_or_default()
    }
}

/// The agent a new one takes over from (`/reload`), and whether its conversation goes on.
#[derive(Debug)]
pub struct Predecessor {
    pub handle: AgentHandle,
    pub keeps_conversation: bool,
}

/// Starts the task of one agent. Its events go to `out` (journal, then channel).
pub fn spawn(rt: AgentRuntime, out: Emitter) -> AgentHandle {
    spawn_after(rt, out, None)
}

/// [`spawn`], taking over from `predecessor`: the new task first stops it (cancelling its turn)
/// and, if asked, goes on with its conversation. The handle is usable at once: commands sent
/// meanwhile wait in the inbox, so nobody waits for the old agent but the new one.
pub fn spawn_after(
    mut rt: AgentRuntime,
    out: Emitter,
    predecessor: Option<Predecessor>,
) -> AgentHandle {
    let (commands, inbox) = mpsc::unbounded_channel();
    let (answers, answers_in) = mpsc::unbounded_channel();
    rt.gate.connect(answers_in);
    let name = rt.name.clone();
    let join = tokio::spawn(async move {
        if let Some(Predecessor {
            handle,
            keeps_conversation,
        }) = predecessor
        {
            let conversation = handle.shutdown().await;
            if keeps_conversation {
                rt.conversation = conversation;
            }
        }
        run(rt, out, inbox, answers).await
    });
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
) -> Vec<Message> {
    let mut queue: VecDeque<(TurnId, String)> = VecDeque::new();
    let mut inbox_open = true;
    report_context(&rt, &mut out);
    loop {
        let (turn, text) = match queue.pop_front() {
            Some(next) => next,
            None if !inbox_open => return rt.conversation,
            None => match inbox.recv().await {
                None => return rt.conversation,
                Some(AgentCommand::Prompt { turn, text }) => (turn, text),
                Some(AgentCommand::Reset) => {
                    reset(&mut rt);
                    report_context(&rt, &mut out);
                    out.record_conversation(&rt.conversation, rt.backend.cli_session());
                    continue;
                }
                Some(AgentCommand::Compact) => {
                    Box::pin(compact_now(&mut rt, &mut out, &CancellationToken::new())).await;
                    out.record_conversation(&rt.conversation, rt.backend.cli_session());
                    continue;
                }
                // Nothing is running: nothing to cancel or approve.
                Some(AgentCommand::Cancel | AgentCommand::Approve { .. }) => continue,
            },
        };

        out.set_turn(turn);
        let cancel = CancellationToken::new();
        let mut reset_after = false;
        let mut compact_after = false;
        let mut dropped: Vec<TurnId> = Vec::new();
        let finished = {
            // A bug in a turn must not take the agent (or the front end waiting on it) down.
            // Boxed: a turn's state (12 KB) is held only while it runs, not by every idle agent.
            let mut turn_run = Box::pin(
                AssertUnwindSafe(run_turn(&mut rt, &mut out, text, &cancel)).catch_unwind(),
            );
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
                        Some(AgentCommand::Compact) => compact_after = true,
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
            Outcome::failed(
                FailureKind::Internal,
                format!("internal error: {what}; the conversation was reset"),
            )
        });
        out.record_conversation(&rt.conversation, rt.backend.cli_session());
        out.finish(outcome).await;
        // Prompts queued behind a reset are not run: each still gets its ending.
        for turn in dropped {
            out.set_turn(turn);
            out.finish(Outcome::Cancelled).await;
        }
        if reset_after {
            reset(&mut rt);
            report_context(&rt, &mut out);
        } else if compact_after {
            Box::pin(compact_now(&mut rt, &mut out, &CancellationToken::new())).await;
        }
        if reset_after || compact_after {
            out.record_conversation(&rt.conversation, rt.backend.cli_session());
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
