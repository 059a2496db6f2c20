//! The session flags: which session a run keeps (`--continue`, `--resume [ID]`, else a new
//! one), `--sessions` as text, and `--export`.

use std::path::{Path, PathBuf};

use crate::cli::args::Resume;
use crate::engine::session::{self, Catalog, ExportFormat, FindError, SessionPlan, SessionSummary};

/// Why a session flag could not be honoured.
#[derive(Debug, thiserror::Error)]
pub enum SessionError {
    #[error(transparent)]
    NoDir(#[from] session::NoSessionDir),
    #[error(transparent)]
    Find(#[from] FindError),
    #[error("{0}")]
    Export(String),
    #[error("cannot write {}: {source}", .path.display())]
    Write {
        path: PathBuf,
        source: std::io::Error,
    },
}

/// The sessions directory.
pub fn catalog() -> Result<Catalog, SessionError> {
    Ok(session::catalog()?)
}

/// The session a run on `config_file` keeps: the one `resume` names, or a new one.
pub fn plan(resume: Option<&Resume>, config_file: &Path) -> Result<SessionPlan, SessionError> {
    let catalog = catalog()?;
    let config = config_file
        .canonicalize()
        .unwrap_or_else(|_| config_file.to_path_buf());
    let replay = match resume {
        None => {
            return Ok(SessionPlan::New {
                dir: catalog.dir().to_path_buf(),
                config,
            });
        }
        Some(Resume::Last) => catalog.find_for(None, &config)?,
        Some(Resume::Id(id)) => catalog.find_for(Some(id), &config)?,
    };
    Ok(SessionPlan::Resume(Box::new(replay)))
}

/// `tzzr --sessions`: one line per session, newest first.
pub fn list_text(sessions: &[SessionSummary]) -> String {
    if sessions.is_empty() {
        return "  (no sessions yet: every run of tzzr keeps one)\n".to_owned();
    }
    let zone = jiff::tz::TimeZone::system();
    let mut text = String::new();
    for s in sessions {
        let started = s
            .started
            .to_zoned_datetime(zone.clone())
            .strftime("%Y-%m-%d %H:%M");
        let prompt = s
            .last_prompt
            .as_deref()
            .map(|p| {
                format!(
                    "  \"{}\"",
                    shorten(&crate::sanitize::line_for_display(p), 60)
                )
            })
            .unwrap_or_default();
        text.push_str(&format!(
            "{}  {started}  {}  {} turn{}  ${:.4}  {}{prompt}\n",
            s.id,
            crate::sanitize::line_for_display(&s.config.display().to_string()),
            s.turns,
            if s.turns == 1 { "" } else { "s" },
            s.cost_usd,
            shorten(&crate::sanitize::line_for_display(&s.agents.join(",")), 40),
        ));
    }
    text
}

fn shorten(text: &str, max: usize) -> String {
    if text.chars().count() <= max {
        return text.to_owned();
    }
    let mut short: String = text.chars().take(max.saturating_sub(1)).collect();
    short.push('…');
    short
}

/// `tzzr --export ID`: the transcript, written to `output`, or returned for standard output.
pub fn export(
    id: &str,
    format: Option<&str>,
    output: Option<&Path>,
    agent: Option<&str>,
) -> Result<Option<String>, SessionError> {
    let format: ExportFormat = format
        .unwrap_or("md")
        .parse()
        .map_err(SessionError::Export)?;
    let replay = catalog()?.find(id)?;
    let text =
        session::export(&replay, format, agent).map_err(|e| SessionError::Export(e.to_string()))?;
    match output {
        Some(path) => {
            session::write_export(path, &text).map_err(|source| SessionError::Write {
                path: path.to_path_buf(),
                source,
            })?;
            Ok(None)
        }
        None => Ok(Some(text)),
    }
}
