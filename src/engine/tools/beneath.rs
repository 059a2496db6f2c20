//! Opening a path that `Sandbox::resolve` checked, without following any symlink on the way.
//! A check by path and a later open by path race: a directory swapped for a symlink in between
//! would carry a write outside. Walking the resolved path one directory at a time with
//! `O_NOFOLLOW` closes that window: a link that appeared since the check is refused, not followed.

use std::fs::{File, Metadata};
use std::io;
use std::os::fd::OwnedFd;
use std::path::{Component, Path};

use rustix::fs::{Mode, OFlags};
use rustix::io::Errno;

use super::protected::Protected;

/// What the file is opened for.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Access {
    Read,
    /// Created if missing (with its directories), emptied unless `append`.
    Write {
        append: bool,
    },
}

#[derive(Debug, thiserror::Error)]
pub enum BeneathError {
    #[error("a symbolic link appeared in the path while it was being opened; try again")]
    LinkAppeared,
    #[error("it is off limits: tzzr keeps its config, .env files and logs out of reach of agents")]
    Protected,
    #[error("it is not a regular file")]
    NotAFile,
    #[error(transparent)]
    Io(#[from] io::Error),
}

/// Opens `resolved` (absolute, free of symlinks when it was checked) for `access`, refusing any
/// symlink met on the way and any file or directory `protected` covers.
pub fn open(resolved: &Path, access: Access, protected: &Protected) -> Result<File, BeneathError> {
    let mut names = Vec::new();
    for component in resolved.components() {
        match component {
            Component::RootDir => {}
            Component::Normal(name) => names.push(name),
            // A resolved path has none of these; meeting one means the caller skipped the check.
            Component::CurDir | Component::ParentDir | Component::Prefix(_) => {
                return Err(io::Error::new(
                    io::ErrorKind::InvalidInput,
                    "the path was not resolved before opening",
                )
                .into());
            }
        }
    }
    let Some((last, parents)) = names.split_last() else {
        return Err(BeneathError::NotAFile);
    };
    let mut dir = rustix::fs::open(
        "/",
        OFlags::PATH | OFlags::DIRECTORY | OFlags::CLOEXEC,
        Mode::empty(),
    )
    .map_err(io::Error::from)?;
    for name in parents {
        dir = open_dir(&dir, name, access)?;
        let stat = rustix::fs::fstat(&dir).map_err(io::Error::from)?;
        if protected.covers(stat.st_dev, stat.st_ino) {
            return Err(BeneathError::Protected);
        }
    }
    let flags = match access {
        Access::Read => OFlags::RDONLY,
        Access::Write { append: false } => OFlags::WRONLY | OFlags::CREATE,
        Access::Write { append: true } => OFlags::WRONLY | OFlags::CREATE | OFlags::APPEND,
    };
    // NONBLOCK: opening a FIFO must not wait for a peer; it is refused below anyway.
    let file = rustix::fs::openat(
        &dir,
        *last,
        flags | OFlags::NOFOLLOW | OFlags::NONBLOCK | OFlags::CLOEXEC,
        Mode::from_raw_mode(0o666),
    )
    .map_err(link_appeared)?;
    let file = File::from(file);
    let meta = file.metadata()?;
    check_file(&meta, protected)?;
    if access == (Access::Write { append: false }) {
        file.set_len(0)?;
    }
    Ok(file)
}

fn check_file(meta: &Metadata, protected: &Protected) -> Result<(), BeneathError> {
    if !meta.is_file() {
        return Err(BeneathError::NotAFile);
    }
    if protected.covers_identity(meta) {
        return Err(BeneathError::Protected);
    }
    Ok(())
}

/// The directory `name` in `parent`, made first when writing and missing.
fn open_dir(
    parent: &OwnedFd,
    name: &std::ffi::OsStr,
    access: Access,
) -> Result<OwnedFd, BeneathError> {
    let flags = OFlags::PATH | OFlags::DIRECTORY | OFlags::NOFOLLOW | OFlags::CLOEXEC;
    match rustix::fs::openat(parent, name, flags, Mode::empty()) {
        Err(Errno::NOENT) if matches!(access, Access::Write { .. }) => {
            match rustix::fs::mkdirat(parent, name, Mode::from_raw_mode(0o777)) {
                Ok(()) | Err(Errno::EXIST) => {}
                Err(e) => return Err(io::Error::from(e).into()),
            }
            rustix::fs::openat(parent, name, flags, Mode::empty()).map_err(link_appeared)
        }
        other => other.map_err(link_appeared),
    }
}

/// `O_NOFOLLOW` on a symlink gives `ELOOP`; `O_DIRECTORY` on one gives `ENOTDIR`.
fn link_appeared(errno: Errno) -> BeneathError {
    match errno {
        Errno::LOOP | Errno::NOTDIR => BeneathError::LinkAppeared,
        other => BeneathError::Io(other.into()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::fs;
    use std::io::{Read, Write};
    use std::os::unix::fs::symlink;

    fn root() -> (tempfile::TempDir, std::path::PathBuf) {
        let temp = tempfile::tempdir().unwrap();
        let root = temp.path().canonicalize().unwrap();
        (temp, root)
    }

    #[test]
    fn writes_make_directories_and_reads_read() {
        let (_temp, root) = root();
        let none = Protected::default();
        let path = root.join("a/b/c.txt");
        open(&path, Access::Write { append: false }, &none)
            .unwrap()
            .write_all(b"one")
            .unwrap();
        open(&path, Access::Write { append: true }, &none)
            .unwrap()
            .write_all(b"two")
            .unwrap();
        let mut text = String::new();
        open(&path, Access::Read, &none)
            .unwrap()
            .read_to_string(&mut text)
            .unwrap();
        assert_eq!(text, "onetwo");
        open(&path, Access::Write { append: false }, &none).unwrap();
        assert_eq!(fs::read_to_string(&path).unwrap(), "");
    }

    #[test]
    fn a_symlink_anywhere_on_the_way_is_refused() {
        let (_temp, root) = root();
        let none = Protected::default();
        fs::create_dir(root.join("real")).unwrap();
        symlink(root.join("real"), root.join("link")).unwrap();
        fs::write(root.join("real/f"), "x").unwrap();
        symlink(root.join("real/f"), root.join("flink")).unwrap();
        for path in ["link/f", "link/new", "flink"] {
            let outcome = open(&root.join(path), Access::Write { append: false }, &none);
            assert!(
                matches!(outcome, Err(BeneathError::LinkAppeared)),
                "{path}: {outcome:?}"
            );
        }
        assert_eq!(fs::read_to_string(root.join("real/f")).unwrap(), "x");
    }

    #[test]
    fn protected_files_and_directories_are_refused_by_identity() {
        let (_temp, root) = root();
        fs::create_dir(root.join("logs")).unwrap();
        fs::write(root.join(".env"), "K=v").unwrap();
        fs::hard_link(root.join(".env"), root.join("alias")).unwrap();
        let protected = Protected::new([root.join(".env"), root.join("logs")]);
        for path in [".env", "alias", "logs/a.md"] {
            let outcome = open(&root.join(path), Access::Write { append: true }, &protected);
            assert!(
                matches!(outcome, Err(BeneathError::Protected)),
                "{path}: {outcome:?}"
            );
        }
        assert_eq!(fs::read_to_string(root.join(".env")).unwrap(), "K=v");
    }

    #[test]
    fn fifos_and_directories_are_not_files() {
        let (_temp, root) = root();
        fs::create_dir(root.join("d")).unwrap();
        let none = Protected::default();
        assert!(matches!(
            open(&root.join("d"), Access::Read, &none),
            Err(BeneathError::NotAFile)
        ));
    }
}
