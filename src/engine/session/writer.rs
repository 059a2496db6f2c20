//! Writes a session's journal through the [`JournalWriter`] that writes the agents' logs (so at
//! most [`FLUSH_EVERY`](crate::engine::journal_writer::FLUSH_EVERY) late, and on disk before a
//! turn's end reaches the front end). The directory is private to the user (0700), the file too
//! (0600). Events arrive masked from the emitter; conversations are masked here.

use std::io::Write;
use std::os::unix::fs::{DirBuilderExt, PermissionsExt};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, PoisonError};

use super::record::{ConversationRecord, Header, Record};
use super::{Replay, SessionId};
use crate::engine::conversation::Message;
use crate::engine::journal_writer::{JournalWriter, LogFile, Queue};
use crate::engine::json_text;
use crate::engine::log_dir::{LogDir, LogFileError};
use crate::engine::protocol::AgentEvent;
use crate::engine::redact::Redactor;

/// Why the session's journal could not be opened.
#[derive(Debug, thiserror::Error)]
pub enum OpenError {
    #[error("cannot write the session journal: {0}; check the permissions of that directory")]
    File(#[from] LogFileError),
    #[error(
        "session {id} is open in another tzzr; quit that one first, or start without --continue/--resume for a new session"
    )]
    Busy { id: SessionId },
}

/// The journal of the running session, shared by every agent's [`SessionTap`]. While it lives,
/// the file is locked: two runs appending to one session would interleave its conversations.
#[derive(Debug)]
pub struct SessionLog {
    /// Holds the lock.
    _locked: std::fs::File,
    id: SessionId,
    config: PathBuf,
    file: Arc<LogFile>,
    writer: JournalWriter,
    /// For records that are not an agent's (`data`).
    queue: Mutex<Queue>,
}

impl SessionLog {
    /// Starts a new session for `config` in `dir` (made private if it does not exist).
    pub fn create(writer: &JournalWriter, dir: &Path, config: &Path) -> Result<Self, OpenError> {
        let log_dir = open_private_dir(dir)?;
        let started = jiff::Timestamp::now();
        let id = SessionId::new(started);
        let header = Record::Session(Header {
            id: id.clone(),
            config: config.to_path_buf(),
            started,
            version: env!("CARGO_PKG_VERSION").to_owned(),
        });
        let mut file = log_dir.create_new(&id.file_name())?;
        lock(&file, &id)?;
        write_line(&mut file, &header, &log_dir, &id)?;
        Ok(Self::on(writer, log_dir, file, id, config.to_path_buf()))
    }

    /// Goes on with the session `replay` was read from: a `resumed` line, then this run's records.
    pub fn reopen(writer: &JournalWriter, replay: &Replay) -> Result<Self, OpenError> {
        let dir = replay.path.parent().unwrap_or_else(|| Path::new("."));
        let log_dir = open_private_dir(dir)?;
        let id = replay.header.id.clone();
        let mut file = log_dir.append(&id.file_name())?;
        lock(&file, &id)?;
        if replay.torn {
            // The last run died mid-line: end that line so the next record starts its own.
            write_bytes(&mut file, b"\n", &log_dir, &id)?;
        }
        let resumed = Record::Resumed {
            at: jiff::Timestamp::now(),
            version: env!("CARGO_PKG_VERSION").to_owned(),
        };
        write_line(&mut file, &resumed, &log_dir, &id)?;
        Ok(Self::on(
            writer,
            log_dir,
            file,
            id,
            replay.header.config.clone(),
        ))
    }

    fn on(
        writer: &JournalWriter,
        dir: LogDir,
        locked: std::fs::File,
        id: SessionId,
        config: PathBuf,
    ) -> Self {
        let file = Arc::new(LogFile::new(Arc::new(dir), &id.file_name()));
        Self {
            _locked: locked,
            id,
            config,
            file,
            writer: writer.clone(),
            queue: Mutex::new(writer.queue()),
        }
    }

    pub fn id(&self) -> &SessionId {
        &self.id
    }

    pub fn config(&self) -> &Path {
        &self.config
    }

    pub fn path(&self) -> &Path {
        self.file.path()
    }

    /// The writer of one agent's records, in order. `conversation` is what the agent starts
    /// with (restored from this session), so that only what follows it is recorded again.
    pub fn tap(
        &self,
        agent: &str,
        conversation: &[Message],
        cli_session: Option<&str>,
    ) -> SessionTap {
        SessionTap {
            agent: agent.to_owned(),
            file: self.file.clone(),
            queue: self.writer.queue(),
            recorded: (!conversation.is_empty() || cli_session.is_some()).then(|| Recorded {
                len: conversation.len(),
                first: conversation.first().cloned(),
                last: conversation.last().cloned(),
                cli_session: cli_session.map(str::to_owned),
            }),
        }
    }

    /// Keeps a record of some other part of tzzr (`kind` names it; a pipeline keeps its step
    /// outputs so). Read back with [`Replay::data`].
    pub fn record(&self, kind: &str, data: serde_json::Value) {
        let record = Record::Data {
            kind: kind.to_owned(),
            data,
        };
        match json_text::compact(&record) {
            Ok(mut line) => {
                line.push('\n');
                self.queue
                    .lock()
                    .unwrap_or_else(PoisonError::into_inner)
                    .append(&self.file, line.into_bytes());
            }
            Err(e) => tracing::error!("cannot record {kind} in the session: {e}"),
        }
    }

    /// Waits until everything recorded so far is on disk.
    pub async fn sync(&self) {
        self.writer.sync().await;
    }
}

/// What a tap last recorded of its agent's conversation: enough to tell whether the
/// conversation only grew since (then only the new messages are written) or was replaced.
#[derive(Debug)]
struct Recorded {
    len: usize,
    first: Option<Message>,
    last: Option<Message>,
    cli_session: Option<String>,
}

/// One agent's way into the session journal.
#[derive(Debug)]
pub struct SessionTap {
    agent: String,
    file: Arc<LogFile>,
    queue: Queue,
    /// `None` until the first conversation record: that one is always whole.
    recorded: Option<Recorded>,
}

impl SessionTap {
    /// Records one event (already masked). Never waits.
    pub fn event(&mut self, event: &AgentEvent) {
        match json_text::compact(event) {
            Ok(json) => {
                let line = format!("{{\"record\":\"event\",\"event\":{json}}}\n");
                self.queue.append(&self.file, line.into_bytes());
            }
            Err(e) => {
                tracing::error!(agent = %self.agent, "cannot record an event in the session: {e}")
            }
        }
    }

    /// Records the conversation as it is now, if it changed since the last record: the new
    /// messages when it only grew, the whole of it when it was replaced. Secrets are masked.
    pub fn conversation(
        &mut self,
        messages: &[Message],
        cli_session: Option<&str>,
        secrets: &Redactor,
    ) {
        let grew_from = self.recorded.as_ref().and_then(|r| {
            let kept = r.len <= messages.len()
                && (r.len == 0
                    || (messages.first() == r.first.as_ref()
                        && messages.get(r.len - 1) == r.last.as_ref()));
            kept.then_some(r.len)
        });
        let same_cli =
            self.recorded.as_ref().map(|r| r.cli_session.as_deref()) == Some(cli_session);
        if grew_from == Some(messages.len()) && same_cli {
            return;
        }
        let (whole, new) = match grew_from {
            Some(len) => (false, &messages[len..]),
            None => (true, messages),
        };
        let record = Record::Conversation(ConversationRecord {
            agent: self.agent.clone(),
            whole,
            messages: new.to_vec(),
            cli_session: cli_session.map(str::to_owned),
        });
        let line = serde_json::to_value(&record).and_then(|mut value| {
            secrets.redact_json(&mut value);
            json_text::compact(&value)
        });
        match line {
            Ok(mut line) => {
                line.push('\n');
                self.queue.append(&self.file, line.into_bytes());
                self.recorded = Some(Recorded {
                    len: messages.len(),
                    first: messages.first().cloned(),
                    last: messages.last().cloned(),
                    cli_session: cli_session.map(str::to_owned),
                });
            }
            Err(e) => {
                tracing::error!(agent = %self.agent, "cannot record the conversation in the session: {e}")
            }
        }
    }

    /// Waits until the writer has room for what this tap holds back.
    pub async fn catch_up(&mut self) {
        self.queue.catch_up().await;
    }

    /// Waits until every record made through this tap is on disk.
    pub async fn sync(&mut self) {
        self.queue.sync().await;
    }
}

/// Takes the session's lock, or says who has it.
fn lock(file: &std::fs::File, id: &SessionId) -> Result<(), OpenError> {
    match rustix::fs::flock(file, rustix::fs::FlockOperation::NonBlockingLockExclusive) {
        Ok(()) => Ok(()),
        Err(rustix::io::Errno::WOULDBLOCK) => Err(OpenError::Busy { id: id.clone() }),
        // A file system without locks: the session is still written.
        Err(e) => {
            tracing::warn!("cannot lock session {id}: {e}");
            Ok(())
        }
    }
}

/// `dir`, created private to the user if it does not exist, opened without following a link.
fn open_private_dir(dir: &Path) -> Result<LogDir, LogFileError> {
    if !dir.exists() {
        std::fs::DirBuilder::new()
            .recursive(true)
            .mode(0o700)
            .create(dir)
            .map_err(|source| LogFileError::Io {
                path: dir.to_path_buf(),
                source,
            })?;
        // The mode above is cut by the umask; the sessions directory is the user's alone.
        let _ = std::fs::set_permissions(dir, std::fs::Permissions::from_mode(0o700));
    }
    LogDir::open(dir)
}

fn write_line(
    file: &mut std::fs::File,
    record: &Record,
    dir: &LogDir,
    id: &SessionId,
) -> Result<(), LogFileError> {
    let mut line = json_text::compact(record).map_err(|e| LogFileError::Io {
        path: dir.path().join(id.file_name()),
        source: e.into(),
    })?;
    line.push('\n');
    write_bytes(file, line.as_bytes(), dir, id)
}

fn write_bytes(
    file: &mut std::fs::File,
    bytes: &[u8],
    dir: &LogDir,
    id: &SessionId,
) -> Result<(), LogFileError> {
    file.write_all(bytes).map_err(|source| LogFileError::Io {
        path: dir.path().join(id.file_name()),
        source,
    })
}
