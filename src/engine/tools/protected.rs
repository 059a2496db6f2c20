//! What no agent may touch: the config file, every `.env` tzzr read and the log directory. A
//! tool that could rewrite them could lift its own limits (`sandbox_paths: false`) or send the
//! keys in `.env` to a model. Matched by path and, for files, by identity, so neither another
//! spelling nor a hard link reaches them.

use std::fs;
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};

/// One protected file or directory.
#[derive(Clone, Debug, PartialEq, Eq)]
struct Entry {
    /// Absolute; canonical when it existed when the set was made.
    path: PathBuf,
    /// Device and inode when it existed: a hard link elsewhere is the same file, another
    /// mount of a directory the same directory.
    identity: Option<(u64, u64)>,
    is_dir: bool,
}

/// The paths no tool may read or write.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Protected {
    entries: Vec<Entry>,
}

impl Protected {
    /// Protects each file or directory of `paths` (absolute; those missing are protected by
    /// path, in case they appear later).
    pub fn new(paths: impl IntoIterator<Item = PathBuf>) -> Self {
        let mut entries: Vec<Entry> = Vec::new();
        for path in paths {
            let entry = match fs::canonicalize(&path).and_then(|p| Ok((fs::metadata(&p)?, p))) {
                Ok((meta, canonical)) => Entry {
                    path: canonical,
                    identity: Some((meta.dev(), meta.ino())),
                    is_dir: meta.is_dir(),
                },
                Err(_) => Entry {
                    path: through_existing_parent(&path),
                    identity: None,
                    // A missing path may become a directory (the log dir is made at start).
                    is_dir: true,
                },
            };
            if !entries.iter().any(|e| e.path == entry.path) {
                entries.push(entry);
            }
        }
        Self { entries }
    }

    /// The protected path that `resolved` (absolute, symlinks resolved) is, or lies in.
    pub fn covering(&self, resolved: &Path) -> Option<&Path> {
        let identity = fs::metadata(resolved)
            .ok()
            .map(|meta| (meta.dev(), meta.ino()));
        self.entries
            .iter()
            .find(|entry| {
                resolved == entry.path
                    || (entry.is_dir && resolved.starts_with(&entry.path))
                    || (identity.is_some() && identity == entry.identity)
            })
            .map(|entry| entry.path.as_path())
    }

    /// Whether the file or directory `meta` describes is itself protected (checked on an open
    /// handle, where paths no longer matter).
    pub fn covers_identity(&self, meta: &fs::Metadata) -> bool {
        self.covers(meta.dev(), meta.ino())
    }

    /// Whether the file or directory with this device and inode is itself protected.
    pub fn covers(&self, dev: u64, ino: u64) -> bool {
        let identity = Some((dev, ino));
        self.entries.iter().any(|entry| entry.identity == identity)
    }

    /// Every protected path, for the process sandbox to keep read-only.
    pub fn paths(&self) -> impl Iterator<Item = &Path> {
        self.entries.iter().map(|entry| entry.path.as_path())
    }

    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }
}

/// `path` with its parent's symlinks resolved when the parent exists (a missing log dir in a
/// working dir reached through a symlink must still match what tools resolve).
fn through_existing_parent(path: &Path) -> PathBuf {
    let plain: PathBuf = path.components().collect();
    match (plain.parent().map(fs::canonicalize), plain.file_name()) {
        (Some(Ok(parent)), Some(name)) => parent.join(name),
        _ => plain,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_protected_file_is_found_by_any_path_and_by_a_hard_link() {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path().canonicalize().unwrap();
        fs::write(root.join(".env"), "KEY=x").unwrap();
        fs::write(root.join("notes.txt"), "n").unwrap();
        fs::hard_link(root.join(".env"), root.join("copy")).unwrap();
        fs::create_dir(root.join("sub")).unwrap();
        let protected = Protected::new([root.join("sub/../.env")]);
        assert_eq!(
            protected.covering(&root.join(".env")),
            Some(root.join(".env").as_path())
        );
        assert_eq!(
            protected.covering(&root.join("copy")),
            Some(root.join(".env").as_path())
        );
        assert_eq!(protected.covering(&root.join("notes.txt")), None);
    }

    #[test]
    fn everything_in_a_protected_directory_is_protected_even_if_made_later() {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path().canonicalize().unwrap();
        let protected = Protected::new([root.join("logs")]);
        fs::create_dir(root.join("logs")).unwrap();
        assert!(protected.covering(&root.join("logs/coder.md")).is_some());
        assert!(protected.covering(&root.join("logs")).is_some());
        assert_eq!(protected.covering(&root.join("logs2/x")), None);
    }
}
