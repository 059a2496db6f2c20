//! Sessions: one run of tzzr on one config, kept as one JSON Lines journal in the user's state
//! directory, so that a later run can list it, resume it (conversations, the Claude CLI's session,
//! the money spent, the transcript) or export it. The per-agent logs beside the config stay as
//! they are; this journal is tzzr's own memory.

mod catalog;
mod export;
mod id;
mod read;
mod record;
mod replay;
mod writer;

use std::path::PathBuf;

pub use catalog::{Catalog, FindError, SessionSummary};
pub use export::{ExportFormat, export, write_export};
pub use id::SessionId;
pub use read::{ReadError, read_file};
pub use record::{ConversationRecord, Header, Record};
pub use replay::{AgentReplay, Replay};
pub use writer::{OpenError, SessionLog, SessionTap};

/// Where sessions are kept: `$XDG_STATE_HOME/tzzr/sessions` (history is state in the XDG
/// sense), or the local data directory where there is no state directory.
pub fn default_dir() -> Option<PathBuf> {
    let dirs = directories::ProjectDirs::from("", "", "tzzr")?;
    let base = dirs
        .state_dir()
        .map_or_else(|| dirs.data_local_dir().to_path_buf(), PathBuf::from);
    Some(base.join("sessions"))
}

/// There is no user directory to keep sessions in.
#[derive(Debug, thiserror::Error)]
#[error("no directory for sessions (HOME is not set); set HOME or XDG_STATE_HOME")]
pub struct NoSessionDir;

/// The sessions in the user's sessions directory.
pub fn catalog() -> Result<Catalog, NoSessionDir> {
    default_dir().map(Catalog::new).ok_or(NoSessionDir)
}

/// How a run uses sessions: a new one in `dir`, or the one it resumes.
#[derive(Debug)]
pub enum SessionPlan {
    New { dir: PathBuf, config: PathBuf },
    Resume(Box<Replay>),
}
