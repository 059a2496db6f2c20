//! Files tzzr writes under the log directory, never through a symbolic link. A repository may
//! ship `logs/` as a link, or `logs/coder.md -> ~/.bashrc`; appending model text there would
//! write into the user's shell. The directory is opened without following a link, and each file
//! is opened relative to it with `O_NOFOLLOW`, so nothing swapped in between can redirect a write.

use std::fs::File;
use std::io;
use std::os::fd::OwnedFd;
use std::path::{Path, PathBuf};

use rustix::fs::{Mode, OFlags};
use rustix::io::Errno;

/// Why a file under the log directory could not be opened.
#[derive(Debug, thiserror::Error)]
pub enum LogFileError {
    #[error(
        "{} is a symbolic link, and tzzr writes no log through a link (it could point at ~/.bashrc); delete the link, or set settings.log_dir to another directory",
        .path.display()
    )]
    Link { path: PathBuf },
    #[error("{}: {source}", .path.display())]
    Io { path: PathBuf, source: io::Error },
}

impl LogFileError {
    fn at(path: &Path, errno: Errno) -> Self {
        if errno == Errno::LOOP || (errno == Errno::NOTDIR && is_link(path)) {
            LogFileError::Link {
                path: path.to_path_buf(),
            }
        } else {
            LogFileError::Io {
                path: path.to_path_buf(),
                source: io::Error::from(errno),
            }
        }
    }
}

impl From<LogFileError> for io::Error {
    fn from(e: LogFileError) -> Self {
        let kind = match &e {
            LogFileError::Link { .. } => io::ErrorKind::InvalidInput,
            LogFileError::Io { source, .. } => source.kind(),
        };
        io::Error::new(kind, e)
    }
}

/// Whether an I/O error came from a link in the log directory.
pub fn is_link_error(e: &io::Error) -> bool {
    e.get_ref()
        .and_then(|inner| inner.downcast_ref::<LogFileError>())
        .is_some_and(|e| matches!(e, LogFileError::Link { .. }))
}

fn is_link(path: &Path) -> bool {
    path.symlink_metadata()
        .is_ok_and(|m| m.file_type().is_symlink())
}

/// The log directory, open: create it (and its parents) if needed, refuse it if it is a link.
#[derive(Debug)]
pub struct LogDir {
    path: PathBuf,
    fd: OwnedFd,
}

impl LogDir {
    pub fn open(path: &Path) -> Result<Self, LogFileError> {
        if !is_link(path) {
            std::fs::create_dir_all(path).map_err(|source| LogFileError::Io {
                path: path.to_path_buf(),
                source,
            })?;
        }
        let fd = rustix::fs::open(
            path,
            OFlags::DIRECTORY | OFlags::NOFOLLOW | OFlags::RDONLY | OFlags::CLOEXEC,
            Mode::empty(),
        )
        .map_err(|errno| LogFileError::at(path, errno))?;
        Ok(Self {
            path: path.to_path_buf(),
            fd,
        })
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Opens `name` (one file name, no `/`) in this directory for appending, creating it
    /// private to the user; a link there is refused.
    pub fn append(&self, name: &str) -> Result<File, LogFileError> {
        self.open_file(name, OFlags::APPEND)
    }

    /// Opens `name` in this directory, emptied, creating it private to the user; a link there
    /// is refused.
    pub fn create(&self, name: &str) -> Result<File, LogFileError> {
        self.open_file(name, OFlags::TRUNC)
    }

    /// Creates `name` in this directory, private to the user; it must not exist yet.
    pub fn create_new(&self, name: &str) -> Result<File, LogFileError> {
        self.open_file(name, OFlags::EXCL)
    }

    fn open_file(&self, name: &str, how: OFlags) -> Result<File, LogFileError> {
        let path = self.path.join(name);
        if name.is_empty() || name.contains('/') || name == "." || name == ".." {
            return Err(LogFileError::Io {
                path,
                source: io::Error::new(io::ErrorKind::InvalidInput, "not a file name"),
            });
        }
        rustix::fs::openat(
            &self.fd,
            name,
            OFlags::WRONLY | OFlags::CREATE | OFlags::NOFOLLOW | OFlags::CLOEXEC | how,
            Mode::from_raw_mode(0o600),
        )
        .map(File::from)
        .map_err(|errno| LogFileError::at(&path, errno))
    }

    /// The subdirectory `name` (one component), created if needed; a link there is refused.
    pub fn subdir(&self, name: &str) -> Result<LogDir, LogFileError> {
        let path = self.path.join(name);
        match rustix::fs::mkdirat(&self.fd, name, Mode::from_raw_mode(0o700)) {
            Ok(()) | Err(Errno::EXIST) => {}
            Err(errno) => return Err(LogFileError::at(&path, errno)),
        }
        let fd = rustix::fs::openat(
            &self.fd,
            name,
            OFlags::DIRECTORY | OFlags::NOFOLLOW | OFlags::RDONLY | OFlags::CLOEXEC,
            Mode::empty(),
        )
        .map_err(|errno| LogFileError::at(&path, errno))?;
        Ok(LogDir { path, fd })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Write;
    use std::os::unix::fs::{PermissionsExt, symlink};

    #[test]
    fn files_are_created_private_and_appended_to() {
        let dir = tempfile::tempdir().unwrap();
        let logs = LogDir::open(&dir.path().join("a/logs")).unwrap();
        logs.append("x.md").unwrap().write_all(b"one\n").unwrap();
        logs.append("x.md").unwrap().write_all(b"two\n").unwrap();
        let path = dir.path().join("a/logs/x.md");
        assert_eq!(std::fs::read_to_string(&path).unwrap(), "one\ntwo\n");
        let mode = path.metadata().unwrap().permissions().mode();
        assert_eq!(mode & 0o077, 0, "{mode:o}");
    }

    #[test]
    fn a_log_file_that_is_a_link_is_refused_and_its_target_untouched() {
        let dir = tempfile::tempdir().unwrap();
        let bashrc = dir.path().join("bashrc");
        std::fs::write(&bashrc, "# mine\n").unwrap();
        std::fs::create_dir(dir.path().join("logs")).unwrap();
        symlink(&bashrc, dir.path().join("logs/coder.md")).unwrap();
        let logs = LogDir::open(&dir.path().join("logs")).unwrap();
        let refused = logs.append("coder.md").unwrap_err();
        assert!(matches!(refused, LogFileError::Link { .. }), "{refused}");
        assert!(
            refused.to_string().ends_with(
                "logs/coder.md is a symbolic link, and tzzr writes no log through a link (it could point at ~/.bashrc); delete the link, or set settings.log_dir to another directory"
            ),
            "{refused}"
        );
        assert!(logs.create("coder.md").is_err());
        // A dangling link is refused too (O_CREAT would follow it and create the target).
        symlink(
            dir.path().join("new-file"),
            dir.path().join("logs/dangling.md"),
        )
        .unwrap();
        assert!(logs.append("dangling.md").is_err());
        assert!(!dir.path().join("new-file").exists());
        assert_eq!(std::fs::read_to_string(&bashrc).unwrap(), "# mine\n");
    }

    #[test]
    fn a_log_directory_that_is_a_link_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        let home = dir.path().join("home");
        std::fs::create_dir(&home).unwrap();
        symlink(&home, dir.path().join("logs")).unwrap();
        let refused = LogDir::open(&dir.path().join("logs")).unwrap_err();
        assert!(matches!(refused, LogFileError::Link { .. }), "{refused}");
        assert!(is_link_error(&io::Error::from(refused)));
        // A link to nowhere is not created through either.
        symlink(dir.path().join("nowhere"), dir.path().join("logs2")).unwrap();
        assert!(LogDir::open(&dir.path().join("logs2")).is_err());
        assert!(!dir.path().join("nowhere").exists());
    }

    #[test]
    fn subdirectories_are_made_without_following_links() {
        let dir = tempfile::tempdir().unwrap();
        let logs = LogDir::open(&dir.path().join("logs")).unwrap();
        let outputs = logs.subdir("outputs").unwrap();
        outputs.create("1.txt").unwrap();
        assert!(dir.path().join("logs/outputs/1.txt").is_file());
        symlink(dir.path(), dir.path().join("logs/elsewhere")).unwrap();
        assert!(matches!(
            logs.subdir("elsewhere"),
            Err(LogFileError::Link { .. })
        ));
        assert!(logs.append("../escape.md").is_err());
    }
}
