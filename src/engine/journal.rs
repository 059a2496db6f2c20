//! What an agent said and did, on disk as it happens: `LOG_DIR/<agent>.md` (v6's markdown log:
//! PROMPT, TOOL, RESULT, ERROR entries, never truncated) and `LOG_DIR/<agent>.jsonl` (every event).
//! Each entry is written with one `write` call, so a crash loses at most the event in flight.

use std::fs::File;
use std::io;
use std::path::{Path, PathBuf};

use crate::engine::protocol::AgentEvent;

/// What the log header says about the agent.
#[derive(Clone, Copy, Debug)]
pub struct JournalHeader<'a> {
    pub agent: &'a str,
    pub provider: &'a str,
    pub model: &'a str,
    pub tools: &'a [String],
}

#[derive(Debug)]
pub struct Journal {
    md: File,
    jsonl: File,
    md_path: PathBuf,
    jsonl_path: PathBuf,
}

impl Journal {
    /// Opens (creating `log_dir` and the files as needed) the agent's two logs for appending.
    /// A new markdown log starts with v6's header.
    pub fn open(log_dir: &Path, header: &JournalHeader<'_>) -> io::Result<Self> {
        let _ = (log_dir, header);
        todo!("Journal::open")
    }

    /// Appends the event to the JSONL journal and, for the events v6 logged, to the markdown log.
    pub fn record(&mut self, event: &AgentEvent) -> io::Result<()> {
        let _ = (event, &self.md, &self.jsonl);
        todo!("Journal::record")
    }

    pub fn md_path(&self) -> &Path {
        &self.md_path
    }

    pub fn jsonl_path(&self) -> &Path {
        &self.jsonl_path
    }
}

/// The markdown log's file name for an agent (names are made safe for a file system).
pub fn md_file_name(agent: &str) -> String {
    let _ = agent;
    todo!("journal::md_file_name")
}
