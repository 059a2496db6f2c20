//! The private directory the bridges' sockets and mcp-config files live in: made fresh (0700,
//! never an existing path) under `$XDG_RUNTIME_DIR`, else tzzr's state dir, else the temp dir;
//! removed when dropped. Sandboxed shells get it hidden.

use std::os::unix::fs::{DirBuilderExt, MetadataExt, PermissionsExt};
use std::path::{Path, PathBuf};

/// Unix socket paths must fit in 108 bytes; leave room for `agent-NNN.sock`.
const MAX_DIR_LEN: usize = 80;

#[derive(Debug)]
pub struct RuntimeDir {
    path: PathBuf,
}

impl RuntimeDir {
    /// A new private directory. Fails rather than use a path that exists already.
    pub fn create() -> std::io::Result<Self> {
        let name = format!(
            "tzzr-{}-{}",
            std::process::id(),
            &uuid::Uuid::new_v4().simple().to_string()[..12]
        );
        // Out of the temp dir where possible: a sandboxed shell may write there, and one that
        // replaced a socket could answer the CLI's permission prompts itself.
        let runtime = std::env::var_os("XDG_RUNTIME_DIR")
            .map(PathBuf::from)
            .filter(|dir| dir.is_absolute() && dir.is_dir());
        let state = directories::ProjectDirs::from("", "", "tzzr")
            .and_then(|dirs| dirs.state_dir().map(Path::to_path_buf))
            .filter(|dir| std::fs::create_dir_all(dir).is_ok());
        let path = [runtime, state]
            .into_iter()
            .flatten()
            .map(|dir| dir.join(&name))
            .find(|path| path.as_os_str().len() <= MAX_DIR_LEN)
            .unwrap_or_else(|| std::env::temp_dir().join(&name));
        // `create` fails on any existing path, a planted symlink included.
        std::fs::DirBuilder::new().mode(0o700).create(&path)?;
        let made = std::fs::symlink_metadata(&path)?;
        let mine = made.is_dir()
            && made.uid() == rustix::process::getuid().as_raw()
            && made.permissions().mode() & 0o077 == 0;
        if !mine {
            return Err(std::io::Error::other(format!(
                "{} is not a private directory of this user",
                path.display()
            )));
        }
        Ok(Self { path })
    }

    pub fn path(&self) -> &Path {
        &self.path
    }
}

impl Drop for RuntimeDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.path);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_directory_is_private_and_gone_after_drop() {
        let dir = RuntimeDir::create().unwrap();
        let path = dir.path().to_path_buf();
        let mode = std::fs::metadata(&path).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode, 0o700);
        assert!(path.as_os_str().len() <= MAX_DIR_LEN + 20);
        drop(dir);
        assert!(!path.exists());
    }
}
