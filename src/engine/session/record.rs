//! The lines of a session's journal: one JSON object each, tagged by `record`.
//! `session` opens the file, `resumed` marks each later run that went on with it, `event` is one
//! engine event, `conversation` what replay needs that events do not carry (the messages as the
//! model sees them, the Claude CLI's session id), and `data` a record another part of tzzr keeps
//! here under its own `kind` (a pipeline's step outputs).

use std::path::PathBuf;

use serde::{Deserialize, Serialize};

use super::SessionId;
use crate::engine::conversation::Message;
use crate::engine::protocol::AgentEvent;

/// The first line of every session journal.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Header {
    pub id: SessionId,
    /// The config file, canonical.
    pub config: PathBuf,
    pub started: jiff::Timestamp,
    /// The tzzr version that started the session.
    pub version: String,
}

/// An agent's conversation at the end of a turn (or after a reset or a compaction).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ConversationRecord {
    pub agent: String,
    /// `messages` is the whole conversation (after a reset, a compaction, a reload); otherwise
    /// it is what came after the messages recorded before.
    pub whole: bool,
    pub messages: Vec<Message>,
    /// A Claude CLI agent's session, which keeps its conversation on the CLI's side.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cli_session: Option<String>,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(tag = "record", rename_all = "snake_case")]
pub enum Record {
    Session(Header),
    Resumed {
        at: jiff::Timestamp,
        version: String,
    },
    Event {
        event: AgentEvent,
    },
    Conversation(ConversationRecord),
    Data {
        kind: String,
        data: serde_json::Value,
    },
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::engine::protocol::{EventKind, TurnId};

    #[test]
    fn records_read_back_as_written() {
        let records = [
            Record::Event {
                event: AgentEvent {
                    agent: "coder".into(),
                    turn: TurnId(2),
                    at: "2026-11-29T10:00:00Z".parse().unwrap(),
                    kind: EventKind::TextDelta { text: "hi".into() },
                },
            },
            Record::Conversation(ConversationRecord {
                agent: "coder".into(),
                whole: false,
                messages: vec![Message::user("hi"), Message::assistant("hello")],
                cli_session: Some("abc".into()),
            }),
            Record::Data {
                kind: "task_step".into(),
                data: serde_json::json!({"step": "design", "output": "done"}),
            },
        ];
        for record in records {
            let line = serde_json::to_string(&record).unwrap();
            assert_eq!(
                serde_json::from_str::<Record>(&line).unwrap(),
                record,
                "{line}"
            );
        }
    }
}
