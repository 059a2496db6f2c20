//! The sessions in the sessions directory: listed newest first, found by id prefix or as the
//! last one of a config.

use std::path::{Path, PathBuf};

use serde::Serialize;

use super::read::{ReadError, read_file, read_header};
use super::{Replay, SessionId};

/// One line of `tzzr --sessions`.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct SessionSummary {
    pub id: SessionId,
    pub config: PathBuf,
    pub started: jiff::Timestamp,
    pub agents: Vec<String>,
    pub turns: usize,
    pub cost_usd: f64,
    pub last_prompt: Option<String>,
}

impl SessionSummary {
    pub fn of(replay: &Replay) -> Self {
        Self {
            id: replay.header.id.clone(),
            config: replay.header.config.clone(),
            started: replay.header.started,
            agents: replay
                .agent_names()
                .into_iter()
                .map(str::to_owned)
                .collect(),
            turns: replay.turns(),
            cost_usd: replay.cost_usd(),
            last_prompt: replay.last_prompt().map(str::to_owned),
        }
    }
}

/// Why no session could be resumed or exported.
#[derive(Debug, thiserror::Error)]
pub enum FindError {
    #[error("no session of {} yet; run tzzr on it first (sessions are kept in {})", .config.display(), .dir.display())]
    NoneYet { config: PathBuf, dir: PathBuf },
    #[error("no session `{id}`{}; see tzzr --sessions", nearest_note(.nearest))]
    Unknown { id: String, nearest: Vec<String> },
    #[error("`{id}` could be any of {}; give more of the id", .matches.join(", "))]
    Ambiguous { id: String, matches: Vec<String> },
    #[error("session {id} is of {}, not of {}; run tzzr --config {} --resume {id}", .theirs.display(), .ours.display(), .theirs.display())]
    OtherConfig {
        id: SessionId,
        theirs: PathBuf,
        ours: PathBuf,
    },
    #[error(transparent)]
    Read(#[from] ReadError),
}

fn nearest_note(nearest: &[String]) -> String {
    if nearest.is_empty() {
        String::new()
    } else {
        format!("; nearest: {}", nearest.join(", "))
    }
}

/// The sessions directory.
#[derive(Clone, Debug)]
pub struct Catalog {
    dir: PathBuf,
}

impl Catalog {
    pub fn new(dir: impl Into<PathBuf>) -> Self {
        Self { dir: dir.into() }
    }

    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// Every session's id, newest first (none if the directory does not exist yet).
    pub fn ids(&self) -> Vec<SessionId> {
        let Ok(entries) = std::fs::read_dir(&self.dir) else {
            return Vec::new();
        };
        let mut ids: Vec<SessionId> = entries
            .flatten()
            .filter_map(|e| SessionId::from_file_name(e.file_name().to_str()?))
            .collect();
        ids.sort_unstable_by(|a, b| b.cmp(a));
        ids
    }

    pub fn path_of(&self, id: &SessionId) -> PathBuf {
        self.dir.join(id.file_name())
    }

    /// Every readable session that ran a turn, newest first; unreadable ones are left out (and
    /// logged), and so are runs where nobody asked anything (a UI opened and closed).
    pub fn summaries(&self) -> Vec<SessionSummary> {
        self.ids()
            .iter()
            .filter_map(|id| match read_file(&self.path_of(id)) {
                Ok(replay) => Some(SessionSummary::of(&replay)),
                Err(e) => {
                    tracing::warn!("{e}");
                    None
                }
            })
            .filter(|s| s.turns > 0)
            .collect()
    }

    /// The session to go on with for `config`: the one whose id starts with `prefix`, or the
    /// last one of `config`.
    pub fn find_for(&self, prefix: Option<&str>, config: &Path) -> Result<Replay, FindError> {
        let replay = match prefix {
            Some(prefix) => read_file(&self.path_of(&self.by_prefix(prefix)?))?,
            None => self.last_of(config)?,
        };
        if replay.header.config != config {
            return Err(FindError::OtherConfig {
                id: replay.header.id,
                theirs: replay.header.config,
                ours: config.to_path_buf(),
            });
        }
        Ok(replay)
    }

    /// The session whose id starts with `prefix`, of any config.
    pub fn find(&self, prefix: &str) -> Result<Replay, FindError> {
        Ok(read_file(&self.path_of(&self.by_prefix(prefix)?))?)
    }

    /// The newest session of `config` that ran a turn (a UI opened and closed is not the work
    /// to go on with).
    fn last_of(&self, config: &Path) -> Result<Replay, FindError> {
        self.ids()
            .into_iter()
            .filter(|id| read_header(&self.path_of(id)).is_some_and(|h| h.config == config))
            .find_map(|id| {
                read_file(&self.path_of(&id))
                    .inspect_err(|e| tracing::warn!("{e}"))
                    .ok()
                    .filter(|replay| replay.turns() > 0)
            })
            .ok_or_else(|| FindError::NoneYet {
                config: config.to_path_buf(),
                dir: self.dir.clone(),
            })
    }

    fn by_prefix(&self, prefix: &str) -> Result<SessionId, FindError> {
        let ids = self.ids();
        let matches: Vec<&SessionId> = ids
            .iter()
            .filter(|id| !prefix.is_empty() && id.as_str().starts_with(prefix))
            .collect();
        match matches.as_slice() {
            [one] => Ok((*one).clone()),
            [] => {
                let mut near: Vec<(f64, &SessionId)> = ids
                    .iter()
                    // An id is typed as a prefix: compare it with as much of each id.
                    .map(|id| {
                        let head: String =
                            id.as_str().chars().take(prefix.chars().count()).collect();
                        (strsim::normalized_levenshtein(prefix, &head), id)
                    })
                    .collect();
                near.sort_by(|a, b| b.0.total_cmp(&a.0));
                Err(FindError::Unknown {
                    id: crate::sanitize::line_for_display(prefix),
                    nearest: near.iter().take(3).map(|(_, id)| id.to_string()).collect(),
                })
            }
            many => Err(FindError::Ambiguous {
                id: prefix.to_owned(),
                matches: many.iter().take(5).map(ToString::to_string).collect(),
            }),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn write_session(dir: &Path, id: &str, config: &str, prompts: &[&str]) {
        let mut text = format!(
            "{{\"record\":\"session\",\"id\":\"{id}\",\"config\":\"{config}\",\"started\":\"2026-11-29T10:00:00Z\",\"version\":\"0.1.0\"}}\n"
        );
        for (turn, prompt) in prompts.iter().enumerate() {
            text.push_str(&format!(
                "{{\"record\":\"event\",\"event\":{{\"agent\":\"a\",\"turn\":{},\"at\":\"2026-11-29T10:00:01Z\",\"event\":\"turn_started\",\"prompt\":\"{prompt}\"}}}}\n",
                turn + 1
            ));
        }
        std::fs::write(dir.join(format!("{id}.jsonl")), text).unwrap();
    }

    #[test]
    fn continue_takes_the_newest_session_of_the_config_that_did_something() {
        let dir = tempfile::tempdir().unwrap();
        write_session(
            dir.path(),
            "20261129-100000-aaaa",
            "/p/config.yaml",
            &["work"],
        );
        write_session(
            dir.path(),
            "20261129-110000-bbbb",
            "/other/config.yaml",
            &["other"],
        );
        write_session(dir.path(), "20261129-120000-cccc", "/p/config.yaml", &[]);
        let catalog = Catalog::new(dir.path());
        let replay = catalog.find_for(None, Path::new("/p/config.yaml")).unwrap();
        assert_eq!(replay.header.id.as_str(), "20261129-100000-aaaa");
        let listed: Vec<String> = catalog
            .summaries()
            .iter()
            .map(|s| s.id.to_string())
            .collect();
        assert_eq!(listed, ["20261129-110000-bbbb", "20261129-100000-aaaa"]);
    }

    #[test]
    fn an_id_is_found_by_a_prefix_and_an_unknown_one_names_the_nearest() {
        let dir = tempfile::tempdir().unwrap();
        write_session(dir.path(), "20261129-100000-aaaa", "/p/config.yaml", &["x"]);
        write_session(dir.path(), "20261129-110000-bbbb", "/p/config.yaml", &["y"]);
        let catalog = Catalog::new(dir.path());
        assert_eq!(
            catalog.find("20261129-11").unwrap().header.id.as_str(),
            "20261129-110000-bbbb"
        );
        let ambiguous = catalog.find("20261129").unwrap_err().to_string();
        assert!(ambiguous.contains("could be any of"), "{ambiguous}");
        let unknown = catalog.find("20261129-1000x").unwrap_err().to_string();
        assert!(
            unknown.contains("nearest: 20261129-100000-aaaa"),
            "{unknown}"
        );
        let other = catalog
            .find_for(Some("20261129-10"), Path::new("/q/config.yaml"))
            .unwrap_err()
            .to_string();
        assert!(
            other.contains("is of /p/config.yaml, not of /q/config.yaml"),
            "{other}"
        );
    }
}
