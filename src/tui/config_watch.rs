//! Watches the config file for edits, for the TUI's live reload. The file's directory is
//! watched, not the file, since editors save by writing a new file and renaming it over the old
//! one; events are kept by name (the config's, and its target's when it is a symlink). A burst
//! of events settles into one signal once the file has been quiet for a moment.

use std::path::{Path, PathBuf};
use std::time::Duration;

use notify::event::{EventKind, ModifyKind};
use notify::{RecommendedWatcher, RecursiveMode, Watcher};
use tokio::sync::mpsc::{self, UnboundedSender};
use tokio::task::JoinHandle;

/// How long the file must stay quiet before it is read again (an editor's save is several
/// events: write, rename, attributes).
pub const SETTLE: Duration = Duration::from_millis(300);

/// A running watch; dropping it stops watching.
#[derive(Debug)]
pub struct ConfigWatch {
    _watcher: RecommendedWatcher,
    settle: JoinHandle<()>,
}

impl Drop for ConfigWatch {
    fn drop(&mut self) {
        self.settle.abort();
    }
}

impl ConfigWatch {
    /// Watches `config` and sends on `edited` once per settled burst of edits. Must run inside a
    /// tokio runtime.
    pub fn start(config: &Path, edited: UnboundedSender<()>) -> notify::Result<Self> {
        let files = watched_files(config);
        let (touched, mut touches) = mpsc::unbounded_channel::<()>();
        let names = files.clone();
        let mut watcher =
            notify::recommended_watcher(move |event: notify::Result<notify::Event>| {
                let Ok(event) = event else { return };
                if is_edit(&event.kind) && event.paths.iter().any(|p| names.contains(p)) {
                    // The settle task is gone only when the watch is being dropped.
                    let _ = touched.send(());
                }
            })?;
        let mut dirs: Vec<&Path> = files.iter().filter_map(|f| f.parent()).collect();
        dirs.sort();
        dirs.dedup();
        for dir in dirs {
            watcher.watch(dir, RecursiveMode::NonRecursive)?;
        }
        let settle = tokio::spawn(async move {
            while touches.recv().await.is_some() {
                loop {
                    match tokio::time::timeout(SETTLE, touches.recv()).await {
                        Ok(Some(())) => {}
                        Ok(None) => return,
                        Err(_quiet) => break,
                    }
                }
                if edited.send(()).is_err() {
                    return; // The UI is gone.
                }
            }
        });
        Ok(Self {
            _watcher: watcher,
            settle,
        })
    }
}

/// The config's absolute path, and its target's when it is a symlink.
fn watched_files(config: &Path) -> Vec<PathBuf> {
    let given = std::path::absolute(config).unwrap_or_else(|_| config.to_path_buf());
    let mut files = vec![given.clone()];
    if let Ok(target) = given.canonicalize()
        && target != given
    {
        files.push(target);
    }
    // The directory may itself be reached through a link: events name the real path.
    if let Some(real_dir) = given.parent().and_then(|d| d.canonicalize().ok())
        && let Some(name) = given.file_name()
    {
        let real = real_dir.join(name);
        if !files.contains(&real) {
            files.push(real);
        }
    }
    files
}

/// Whether an event may have changed the file's contents. Reads (ours too, on reload) and
/// attribute changes (atime) are not edits: taking them would reload forever.
fn is_edit(kind: &EventKind) -> bool {
    match kind {
        EventKind::Create(_) | EventKind::Remove(_) => true,
        EventKind::Modify(ModifyKind::Metadata(_)) => false,
        EventKind::Modify(_) => true,
        EventKind::Access(_) | EventKind::Any | EventKind::Other => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use notify::event::{AccessKind, CreateKind, DataChange, MetadataKind, RenameMode};

    #[test]
    fn writes_renames_and_new_files_are_edits_but_reads_and_attributes_are_not() {
        assert!(is_edit(&EventKind::Modify(ModifyKind::Data(
            DataChange::Any
        ))));
        assert!(is_edit(&EventKind::Modify(ModifyKind::Name(
            RenameMode::To
        ))));
        assert!(is_edit(&EventKind::Create(CreateKind::File)));
        assert!(!is_edit(&EventKind::Access(AccessKind::Any)));
        assert!(!is_edit(&EventKind::Modify(ModifyKind::Metadata(
            MetadataKind::AccessTime
        ))));
    }

    #[test]
    fn a_symlinked_config_is_watched_where_it_points_too() {
        let dir = tempfile::tempdir().unwrap();
        let real = dir.path().join("team.yaml");
        std::fs::write(&real, "agents: {}\n").unwrap();
        let link = dir.path().join("config.yaml");
        std::os::unix::fs::symlink(&real, &link).unwrap();
        let files = watched_files(&link);
        assert!(files.contains(&link), "{files:?}");
        assert!(files.contains(&real.canonicalize().unwrap()), "{files:?}");
    }
}
