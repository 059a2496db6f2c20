//! A session read back: each agent's conversation and Claude CLI session as they last were, the
//! events (for a front end to rebuild its screen from), the money spent, and other parts' data.

use std::path::{Path, PathBuf};

use indexmap::IndexMap;

use super::read::Lines;
use super::record::{ConversationRecord, Header, Record};
use crate::engine::conversation::Message;
use crate::engine::protocol::{AgentEvent, EventKind, FailureKind, Outcome, TurnId};

/// What one agent left in the session.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct AgentReplay {
    /// The conversation as the model saw it at the end of its last recorded turn.
    pub conversation: Vec<Message>,
    pub cli_session: Option<String>,
    pub turns: usize,
    pub cost_usd: f64,
    pub last_prompt: Option<String>,
}

#[derive(Clone, Debug)]
pub struct Replay {
    pub path: PathBuf,
    pub header: Header,
    /// The last line was cut short (the run was killed mid-write).
    pub torn: bool,
    /// Lines that were not records.
    pub skipped: usize,
    /// Every event, in order; a turn the journal never saw end gets a `TurnFinished` saying so.
    pub events: Vec<AgentEvent>,
    /// Every agent that has a record, in the order they first appear.
    pub agents: IndexMap<String, AgentReplay>,
    /// Records other parts of tzzr kept (`kind`, `data`), in order.
    pub data: Vec<(String, serde_json::Value)>,
}

impl Replay {
    /// The session the lines hold, if they start with its header.
    pub(super) fn from_lines(path: &Path, lines: Lines) -> Option<Self> {
        let mut records = lines.records.into_iter();
        let Some(Record::Session(header)) = records.next() else {
            return None;
        };
        let mut replay = Self {
            path: path.to_path_buf(),
            header,
            torn: lines.torn,
            skipped: lines.skipped,
            events: Vec::new(),
            agents: IndexMap::new(),
            data: Vec::new(),
        };
        // Turns started and not yet ended, in the order they started.
        let mut open_turns: IndexMap<(String, TurnId), ()> = IndexMap::new();
        for record in records {
            match record {
                // A second header (two files glued together): not this session's.
                Record::Session(_) => replay.skipped += 1,
                Record::Resumed { at, .. } => replay.end_open_turns(&mut open_turns, at),
                Record::Event { event } => {
                    replay.take_event(&event, &mut open_turns);
                    replay.events.push(event);
                }
                Record::Conversation(record) => replay.take_conversation(record),
                Record::Data { kind, data } => replay.data.push((kind, data)),
            }
        }
        let end = replay
            .events
            .last()
            .map(|e| e.at)
            .unwrap_or(replay.header.started);
        replay.end_open_turns(&mut open_turns, end);
        Some(replay)
    }

    fn agent(&mut self, name: &str) -> &mut AgentReplay {
        if !self.agents.contains_key(name) {
            self.agents.insert(name.to_owned(), AgentReplay::default());
        }
        &mut self.agents[name]
    }

    fn take_event(&mut self, event: &AgentEvent, open: &mut IndexMap<(String, TurnId), ()>) {
        let key = (event.agent.to_string(), event.turn);
        match &event.kind {
            EventKind::TurnStarted { prompt } => {
                open.insert(key, ());
                let agent = self.agent(&event.agent);
                agent.turns += 1;
                agent.last_prompt = Some(prompt.clone());
            }
            EventKind::Usage { cost_usd, .. } => {
                let cost = if cost_usd.is_finite() && *cost_usd > 0.0 {
                    *cost_usd
                } else {
                    0.0
                };
                self.agent(&event.agent).cost_usd += cost;
            }
            EventKind::TurnFinished { .. } => {
                open.shift_remove(&key);
            }
            EventKind::TextDelta { .. }
            | EventKind::Reasoning { .. }
            | EventKind::ToolCallRequested { .. }
            | EventKind::ApprovalNeeded { .. }
            | EventKind::ToolCallFinished { .. }
            | EventKind::Retry { .. }
            | EventKind::Waiting { .. }
            | EventKind::Endpoint { .. }
            | EventKind::FallbackTaken { .. }
            | EventKind::Context { .. }
            | EventKind::Compacted { .. }
            | EventKind::Health { .. }
            | EventKind::Notice { .. } => {}
        }
    }

    fn take_conversation(&mut self, record: ConversationRecord) {
        let agent = self.agent(&record.agent);
        if record.whole {
            agent.conversation = record.messages;
        } else {
            agent.conversation.extend(record.messages);
        }
        agent.cli_session = record.cli_session;
    }

    /// Turns that never ended (the run was killed): they end here, failed, for whoever rebuilds
    /// a screen from the events.
    fn end_open_turns(&mut self, open: &mut IndexMap<(String, TurnId), ()>, at: jiff::Timestamp) {
        for ((agent, turn), ()) in open.drain(..) {
            self.events.push(AgentEvent {
                agent: agent.as_str().into(),
                turn,
                at,
                kind: EventKind::TurnFinished {
                    outcome: Outcome::failed(
                        FailureKind::Cancelled,
                        "interrupted: tzzr stopped before this turn ended (the conversation keeps the turns before it)",
                    ),
                },
            });
        }
    }

    /// The id the next turn of a run that goes on with this session takes.
    pub fn next_turn(&self) -> TurnId {
        TurnId(self.events.iter().map(|e| e.turn.0).max().unwrap_or(0) + 1)
    }

    pub fn turns(&self) -> usize {
        self.agents.values().map(|a| a.turns).sum()
    }

    pub fn cost_usd(&self) -> f64 {
        self.agents.values().fold(0.0, |sum, a| sum + a.cost_usd)
    }

    /// The prompt of the turn that started last.
    pub fn last_prompt(&self) -> Option<&str> {
        self.events.iter().rev().find_map(|e| match &e.kind {
            EventKind::TurnStarted { prompt } => Some(prompt.as_str()),
            _ => None,
        })
    }

    /// The agents that ran a turn, in order of appearance.
    pub fn agent_names(&self) -> Vec<&str> {
        self.agents
            .iter()
            .filter(|(_, a)| a.turns > 0)
            .map(|(name, _)| name.as_str())
            .collect()
    }

    /// The records of `kind` another part kept (a pipeline's), in order.
    pub fn data<'a>(&'a self, kind: &'a str) -> impl Iterator<Item = &'a serde_json::Value> {
        self.data
            .iter()
            .filter(move |(k, _)| k == kind)
            .map(|(_, data)| data)
    }
}
