//! Where an agent's events go: every secret masked and every tool name made printable first,
//! then its journal (handed to the writer thread, never waited on but at a turn's end), then the
//! front end's channel.

use std::sync::Arc;

use tokio::sync::mpsc::UnboundedSender;

use crate::engine::conversation::Message;
use crate::engine::journal::Journal;
use crate::engine::protocol::{AgentEvent, AgentName, EventKind, Outcome, TurnId};
use crate::engine::redact::{Redactor, StreamMask};
use crate::engine::session::SessionTap;
use crate::sanitize;

#[derive(Debug)]
pub struct Emitter {
    agent: AgentName,
    turn: TurnId,
    events: UnboundedSender<AgentEvent>,
    journal: Option<Journal>,
    journal_failed: bool,
    /// The session's journal, when the run keeps one.
    session: Option<SessionTap>,
    secrets: Arc<Redactor>,
    /// Streamed text and reasoning are masked across pieces: a key spelled out token by token
    /// never shows.
    text: StreamMask,
    reasoning: StreamMask,
}

impl Emitter {
    pub fn new(
        agent: AgentName,
        events: UnboundedSender<AgentEvent>,
        journal: Option<Journal>,
        secrets: Arc<Redactor>,
    ) -> Self {
        Self {
            agent,
            turn: TurnId::default(),
            events,
            journal,
            journal_failed: false,
            session: None,
            secrets,
            text: StreamMask::default(),
            reasoning: StreamMask::default(),
        }
    }

    /// Records every event in the session's journal too.
    pub fn with_session(mut self, session: Option<SessionTap>) -> Self {
        self.session = session;
        self
    }

    /// Keeps the conversation (and a Claude CLI agent's session) in the session's journal, so
    /// that a later run can go on with it.
    pub fn record_conversation(&mut self, conversation: &[Message], cli_session: Option<&str>) {
        if let Some(session) = &mut self.session {
            session.conversation(conversation, cli_session, &self.secrets);
        }
    }

    pub fn set_turn(&mut self, turn: TurnId) {
        self.turn = turn;
    }

    /// Masks the event's secrets, journals it, then sends it. A journal that cannot be written
    /// is reported once.
    pub fn emit(&mut self, kind: EventKind) {
        match kind {
            EventKind::TextDelta { text } => {
                self.flush_reasoning();
                let text = self.text.push(&self.secrets, text);
                if !text.is_empty() {
                    self.deliver(EventKind::TextDelta { text });
                }
            }
            EventKind::Reasoning { text } => {
                self.flush_text();
                let text = self.reasoning.push(&self.secrets, text);
                if !text.is_empty() {
                    self.deliver(EventKind::Reasoning { text });
                }
            }
            other => {
                self.flush_text();
                self.flush_reasoning();
                let masked = self.masked(other);
                self.deliver(masked);
            }
        }
    }

    /// Ends the turn: its `TurnFinished` reaches the front end only once the turn's journal is
    /// on disk, so whoever sees a turn end can read all of it in the logs.
    pub async fn finish(&mut self, outcome: Outcome) {
        self.flush_text();
        self.flush_reasoning();
        let kind = self.masked(EventKind::TurnFinished { outcome });
        let event = AgentEvent::new(self.agent.clone(), self.turn, kind);
        self.journal_event(&event);
        if let Some(session) = &mut self.session {
            session.catch_up().await;
        }
        if let Some(journal) = &mut self.journal {
            journal.sync().await;
        } else if let Some(session) = &mut self.session {
            session.sync().await;
        }
        // A closed receiver means the front end has shut down; the event is journaled already.
        let _ = self.events.send(event);
    }

    /// Waits while the journal writer is behind (the disk is slow): the agent slows down rather
    /// than holding ever more events in memory.
    pub async fn catch_up(&mut self) {
        if let Some(journal) = &mut self.journal {
            journal.catch_up().await;
        }
        if let Some(session) = &mut self.session {
            session.catch_up().await;
        }
    }

    /// Text held back at the end of a piece: something else happens now, so it goes first.
    fn flush_text(&mut self) {
        if self.text.is_holding() {
            let text = self.text.flush();
            self.deliver(EventKind::TextDelta { text });
        }
    }

    fn flush_reasoning(&mut self) {
        if self.reasoning.is_holding() {
            let text = self.reasoning.flush();
            self.deliver(EventKind::Reasoning { text });
        }
    }

    /// The event with every known secret masked and tool names fit for one line of a terminal
    /// (a model names its tools; a name may hold escape sequences).
    fn masked(&self, mut kind: EventKind) -> EventKind {
        let r = &*self.secrets;
        match &mut kind {
            EventKind::TurnStarted { prompt } => r.redact_string(prompt),
            EventKind::TextDelta { text } | EventKind::Reasoning { text } => {
                r.redact_string(text);
            }
            EventKind::ToolCallRequested { tool, args, .. } => {
                clean_tool_name(r, tool);
                r.redact_json(args);
            }
            EventKind::ApprovalNeeded {
                tool, args, why, ..
            } => {
                clean_tool_name(r, tool);
                r.redact_json(args);
                r.redact_string(why);
            }
            EventKind::ToolCallFinished { tool, output, .. } => {
                clean_tool_name(r, tool);
                r.redact_string(output);
            }
            EventKind::Retry { reason, .. } => r.redact_string(reason),
            EventKind::Waiting { limiter, .. } => r.redact_string(limiter),
            EventKind::Usage { model, .. } => r.redact_string(model),
            EventKind::Endpoint { endpoint, .. } => r.redact_string(endpoint),
            EventKind::Health {
                endpoint, detail, ..
            } => {
                r.redact_string(endpoint);
                r.redact_string(detail);
            }
            EventKind::Notice { text } => r.redact_string(text),
            EventKind::FallbackTaken { from, to, why } => {
                r.redact_string(from);
                r.redact_string(to);
                r.redact_string(why);
            }
            EventKind::Context { .. } | EventKind::Compacted { .. } => {}
            EventKind::TurnFinished { outcome } => match outcome {
                Outcome::Done { text } | Outcome::Stopped { text, .. } => r.redact_string(text),
                Outcome::Failed { error, .. } => r.redact_string(error),
                Outcome::Cancelled => {}
            },
        }
        kind
    }

    fn deliver(&mut self, kind: EventKind) {
        let event = AgentEvent::new(self.agent.clone(), self.turn, kind);
        self.journal_event(&event);
        // A closed receiver means the front end has shut down; the event is journaled already.
        let _ = self.events.send(event);
    }

    /// Hands the event to the journal; a journal that cannot be written is reported once.
    fn journal_event(&mut self, event: &AgentEvent) {
        if let Some(session) = &mut self.session {
            session.event(event);
        }
        if let Some(journal) = &mut self.journal
            && let Err(e) = journal.record(event)
            && !self.journal_failed
        {
            self.journal_failed = true;
            tracing::error!(agent = %self.agent, error = %e, "cannot write the agent's log");
            let warning = EventKind::Notice {
                text: format!(
                    "cannot write the log {}: {e}; events are no longer saved",
                    journal.md_path().display()
                ),
            };
            // The front end may be gone (shutdown): nothing else to do with the event then.
            let _ = self
                .events
                .send(AgentEvent::new(self.agent.clone(), self.turn, warning));
        }
    }
}

fn clean_tool_name(secrets: &Redactor, tool: &mut String) {
    let clean = sanitize::line_for_display(tool);
    if clean != *tool {
        *tool = clean;
    }
    secrets.redact_string(tool);
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::engine::protocol::CallId;
    use serde_json::json;
    use tokio::sync::mpsc;

    const KEY: &str = "sk-test-0123456789abcdef";

    fn emitter() -> (Emitter, mpsc::UnboundedReceiver<AgentEvent>) {
        let (tx, rx) = mpsc::unbounded_channel();
        let secrets = Arc::new(Redactor::new([KEY]));
        (Emitter::new("a".into(), tx, None, secrets), rx)
    }

    fn received(rx: &mut mpsc::UnboundedReceiver<AgentEvent>) -> Vec<EventKind> {
        let mut kinds = Vec::new();
        while let Ok(event) = rx.try_recv() {
            kinds.push(event.kind);
        }
        kinds
    }

    #[test]
    fn a_key_echoed_in_any_event_is_masked() {
        let (mut out, mut rx) = emitter();
        out.emit(EventKind::ToolCallFinished {
            call: CallId("c".into()),
            tool: "http_request".into(),
            ok: false,
            output: format!("401: bad key {KEY}"),
            duration: std::time::Duration::ZERO,
            full_output: None,
        });
        out.emit(EventKind::TurnFinished {
            outcome: Outcome::Failed {
                error: format!("api.example refused the API key (HTTP 401): {KEY}"),
                kind: crate::engine::protocol::FailureKind::Other,
            },
        });
        let shown = format!("{:?}", received(&mut rx));
        assert!(!shown.contains(KEY), "{shown}");
        assert!(shown.contains("401: bad key ***"), "{shown}");
    }

    #[test]
    fn a_key_streamed_token_by_token_never_shows() {
        let (mut out, mut rx) = emitter();
        let text = format!("the key is {KEY}.");
        for piece in text.as_bytes().chunks(3) {
            out.emit(EventKind::TextDelta {
                text: String::from_utf8(piece.to_vec()).unwrap(),
            });
        }
        out.emit(EventKind::TurnFinished {
            outcome: Outcome::Done { text },
        });
        let kinds = received(&mut rx);
        let streamed: String = kinds
            .iter()
            .filter_map(|k| match k {
                EventKind::TextDelta { text } => Some(text.as_str()),
                _ => None,
            })
            .collect();
        assert_eq!(streamed, "the key is ***.");
        assert!(
            matches!(kinds.last(), Some(EventKind::TurnFinished { outcome: Outcome::Done { text } }) if text == "the key is ***."),
            "{kinds:?}"
        );
    }

    #[test]
    fn held_back_text_goes_out_before_the_next_event() {
        let (mut out, mut rx) = emitter();
        out.emit(EventKind::TextDelta {
            text: "ends with s".into(),
        });
        out.emit(EventKind::Notice {
            text: "next".into(),
        });
        assert_eq!(
            received(&mut rx),
            vec![
                EventKind::TextDelta {
                    text: "ends with ".into()
                },
                EventKind::TextDelta { text: "s".into() },
                EventKind::Notice {
                    text: "next".into()
                },
            ]
        );
    }

    #[test]
    fn tool_names_and_arguments_are_made_safe() {
        let (mut out, mut rx) = emitter();
        out.emit(EventKind::ToolCallRequested {
            call: CallId("c".into()),
            tool: "read\x1b]52;c;ZXZpbA==\x07\x1b[6n\u{9b}2J".into(),
            args: json!({"headers": {"Authorization": format!("Bearer {KEY}")}}),
            runs_in_provider: false,
        });
        assert_eq!(
            received(&mut rx),
            vec![EventKind::ToolCallRequested {
                call: CallId("c".into()),
                tool: "read".into(),
                args: json!({"headers": {"Authorization": "Bearer ***"}}),
                runs_in_provider: false,
            }]
        );
    }
}
