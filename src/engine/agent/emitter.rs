//! Where an agent's events go: its journal on disk first, then the front end's channel.

use tokio::sync::mpsc::UnboundedSender;

use crate::engine::journal::Journal;
use crate::engine::protocol::{AgentEvent, AgentName, EventKind, TurnId};

#[derive(Debug)]
pub struct Emitter {
    agent: AgentName,
    turn: TurnId,
    events: UnboundedSender<AgentEvent>,
    journal: Option<Journal>,
    journal_failed: bool,
}

impl Emitter {
    pub fn new(
        agent: AgentName,
        events: UnboundedSender<AgentEvent>,
        journal: Option<Journal>,
    ) -> Self {
        Self {
            agent,
            turn: TurnId::default(),
            events,
            journal,
            journal_failed: false,
        }
    }

    pub fn set_turn(&mut self, turn: TurnId) {
        self.turn = turn;
    }

    /// Journals the event, then sends it. A journal that cannot be written is reported once.
    pub fn emit(&mut self, kind: EventKind) {
        let event = AgentEvent::new(self.agent.clone(), self.turn, kind);
        if let Some(journal) = &mut self.journal
            && let Err(e) = journal.record(&event)
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
        // A closed receiver means the front end has shut down; the event is journaled already.
        let _ = self.events.send(event);
    }
}
