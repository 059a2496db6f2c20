//! One agent as the panes show it: what it is doing now, how its last turn ended, its
//! conversation, its tool calls, and the approval it waits for.

use super::endpoints::later;
use super::trace::{CallState, ToolCallView};
use super::transcript::{Entry, Transcript};
use crate::engine::orchestrator::AgentInfo;
use crate::engine::protocol::{
    AgentEvent, CallId, EndpointHealth, EventKind, FailureKind, Outcome, StoppedBy, TurnId,
    WindowSource,
};

/// What an agent is doing right now.
#[derive(Clone, Debug, PartialEq)]
pub enum Activity {
    Idle,
    /// A turn runs and nothing streams at the moment (the model thinks, a call is being made).
    Thinking {
        since: jiff::Timestamp,
    },
    Streaming {
        since: jiff::Timestamp,
    },
    RunningTool {
        tool: String,
        since: jiff::Timestamp,
    },
    AwaitingApproval {
        tool: String,
    },
    /// Held back by the endpoint's rate limiter (until a time), or waiting for one of its
    /// concurrency slots (`None`).
    Waiting {
        limiter: String,
        until: Option<jiff::Timestamp>,
    },
    Retrying {
        attempt: u32,
        until: jiff::Timestamp,
    },
}

impl Activity {
    pub fn is_busy(&self) -> bool {
        !matches!(self, Activity::Idle)
    }
}

/// How the last turn ended.
#[derive(Clone, Debug, PartialEq)]
pub enum LastOutcome {
    Done,
    Cancelled,
    /// The answer was cut or withheld.
    Stopped(StoppedBy),
    Failed(FailureKind),
}

/// A tool call waiting for the user's yes or no.
#[derive(Clone, Debug, PartialEq)]
pub struct PendingApproval {
    pub call: CallId,
    pub tool: String,
    pub args: serde_json::Value,
    pub why: String,
    pub asked_at: jiff::Timestamp,
}

/// How full the agent's context window is, as its last `Context` event said.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct ContextFill {
    pub used: u64,
    pub window: u64,
    pub source: WindowSource,
}

impl ContextFill {
    /// The share of the window used (1.0 and more: full).
    pub fn ratio(&self) -> f64 {
        if self.window == 0 {
            1.0
        } else {
            self.used as f64 / self.window as f64
        }
    }
}

#[derive(Debug)]
pub struct AgentView {
    pub info: AgentInfo,
    pub activity: Activity,
    pub last: Option<LastOutcome>,
    /// The running (or last) turn and when it started.
    pub turn: Option<TurnId>,
    pub turn_started: Option<jiff::Timestamp>,
    pub turn_ended: Option<jiff::Timestamp>,
    /// Output tokens reported (or, while streaming, pieces received) in the current turn.
    pub turn_tokens: u64,
    pub turn_cost_usd: f64,
    pub transcript: Transcript,
    pub calls: Vec<ToolCallView>,
    pub approval: Option<PendingApproval>,
    /// `None` until the engine reports it.
    pub context: Option<ContextFill>,
    /// What the last background probe said when its endpoint could not be reached (with the
    /// hint); `None` once it, or a turn, got an answer.
    pub unreachable: Option<String>,
}

impl AgentView {
    pub fn new(info: AgentInfo) -> Self {
        Self {
            info,
            activity: Activity::Idle,
            last: None,
            turn: None,
            turn_started: None,
            turn_ended: None,
            turn_tokens: 0,
            turn_cost_usd: 0.0,
            transcript: Transcript::default(),
            calls: Vec::new(),
            approval: None,
            context: None,
            unreachable: None,
        }
    }

    pub fn name(&self) -> &str {
        &self.info.name
    }

    pub fn call(&self, id: &CallId) -> Option<&ToolCallView> {
        self.calls.iter().rev().find(|c| &c.call == id)
    }

    pub fn apply(&mut self, event: &AgentEvent) {
        let at = event.at;
        match &event.kind {
            EventKind::TurnStarted { prompt } => {
                self.turn = Some(event.turn);
                self.turn_started = Some(at);
                self.turn_ended = None;
                self.turn_tokens = 0;
                self.turn_cost_usd = 0.0;
                self.last = None;
                self.activity = Activity::Thinking { since: at };
                self.transcript.push(Entry::User {
                    text: prompt.clone(),
                });
            }
            EventKind::TextDelta { text } => {
                self.transcript.append_answer(text);
                self.turn_tokens += 1;
                if !matches!(self.activity, Activity::Streaming { .. }) {
                    self.activity = Activity::Streaming { since: at };
                }
            }
            EventKind::Reasoning { text } => {
                self.transcript.append_reasoning(text);
                self.activity = Activity::Thinking { since: at };
            }
            EventKind::ToolCallRequested {
                call,
                tool,
                args,
                runs_in_provider,
            } => {
                self.calls.push(ToolCallView {
                    call: call.clone(),
                    tool: tool.clone(),
                    args: args.clone(),
                    runs_in_provider: *runs_in_provider,
                    state: CallState::Running,
                    output: String::new(),
                    started: at,
                });
                self.transcript.push(Entry::Tool { call: call.clone() });
                self.activity = Activity::RunningTool {
                    tool: tool.clone(),
                    since: at,
                };
            }
            EventKind::ApprovalNeeded {
                call,
                tool,
                args,
                why,
            } => {
                if let Some(view) = self.calls.iter_mut().rev().find(|c| &c.call == call) {
                    view.state = CallState::AwaitingApproval;
                }
                self.transcript.touch_tool(call);
                self.approval = Some(PendingApproval {
                    call: call.clone(),
                    tool: tool.clone(),
                    args: args.clone(),
                    why: why.clone(),
                    asked_at: at,
                });
                self.activity = Activity::AwaitingApproval { tool: tool.clone() };
            }
            EventKind::ToolCallFinished {
                call,
                ok,
                output,
                duration,
                ..
            } => {
                if let Some(view) = self.calls.iter_mut().rev().find(|c| &c.call == call) {
                    view.state = CallState::Finished {
                        ok: *ok,
                        duration: *duration,
                    };
                    view.output.clone_from(output);
                }
                self.transcript.touch_tool(call);
                if self.approval.as_ref().is_some_and(|a| &a.call == call) {
                    self.approval = None;
                }
                self.activity = Activity::Thinking { since: at };
            }
            EventKind::Retry {
                attempt,
                wait,
                reason,
            } => {
                self.transcript.push(Entry::Notice {
                    text: format!("retry {attempt} in {:.1}s: {reason}", wait.as_secs_f64()),
                });
                self.activity = Activity::Retrying {
                    attempt: *attempt,
                    until: later(at, *wait),
                };
            }
            EventKind::Waiting { limiter, eta } => {
                self.activity = Activity::Waiting {
                    limiter: limiter.clone(),
                    until: eta.map(|eta| later(at, eta)),
                };
            }
            EventKind::Usage {
                usage, cost_usd, ..
            } => {
                // Pieces counted while streaming give way to the real count.
                self.turn_tokens = self.turn_tokens.max(usage.output);
                self.turn_cost_usd += cost_usd;
            }
            EventKind::Notice { text } => {
                self.transcript.push(Entry::Notice { text: text.clone() })
            }
            EventKind::FallbackTaken { from, to, why } => self.transcript.push(Entry::Notice {
                text: format!("↪ going on with {to} instead of {from}: {why}"),
            }),
            EventKind::TurnFinished { outcome } => {
                self.activity = Activity::Idle;
                self.turn_ended = Some(at);
                self.approval = None;
                self.transcript.end_streaming();
                if outcome.is_done() {
                    self.unreachable = None;
                }
                self.last = Some(match outcome {
                    Outcome::Done { .. } => LastOutcome::Done,
                    Outcome::Stopped { reason, .. } => {
                        self.transcript.push(Entry::Stopped { reason: *reason });
                        LastOutcome::Stopped(*reason)
                    }
                    Outcome::Cancelled => {
                        self.transcript.push(Entry::Notice {
                            text: "cancelled".to_owned(),
                        });
                        LastOutcome::Cancelled
                    }
                    Outcome::Failed { error, kind } => {
                        self.transcript.push(Entry::Error {
                            text: error.clone(),
                            kind: *kind,
                        });
                        LastOutcome::Failed(*kind)
                    }
                });
            }
            EventKind::Context {
                used,
                window,
                source,
            } => {
                self.context = Some(ContextFill {
                    used: *used,
                    window: *window,
                    source: *source,
                });
            }
            EventKind::Compacted {
                before_tokens,
                after_tokens,
                messages,
            } => self.transcript.push(Entry::Notice {
                text: format!(
                    "⇣ compacted {messages} messages: ~{before_tokens} → ~{after_tokens} tokens"
                ),
            }),
            EventKind::Health { health, detail, .. } => {
                self.unreachable = (*health == EndpointHealth::Unreachable).then(|| detail.clone());
            }
            EventKind::Endpoint { .. } => {}
        }
    }

    /// Forgets what was shown (`/clear`); the engine forgets the conversation on `Reset`.
    pub fn clear(&mut self) {
        self.transcript.clear();
        self.calls.clear();
        self.last = None;
    }
}
