//! Reading the config file as the hostile input it may be (a cloned repository chooses it):
//! only a regular file, never waiting on a FIFO or a device, and never more than
//! [`MAX_CONFIG_BYTES`], so `--config /dev/zero` cannot grow tzzr without bound.

use std::io::Read;
use std::path::Path;

use rustix::fs::{FileType, Mode, OFlags};

use super::{ConfigError, Diagnostic};

/// The largest config tzzr reads: a team of ten thousand agents takes about a megabyte.
pub const MAX_CONFIG_BYTES: u64 = 4 * 1024 * 1024;

/// The text of the config at `path` (a link to a regular file is followed).
pub fn read_config(path: &Path) -> Result<String, ConfigError> {
    let refused = |message: String| ConfigError::Invalid(Diagnostic::at(path, None, message));
    let io = |source: std::io::Error| ConfigError::Read {
        path: path.to_path_buf(),
        source,
    };
    // Non-blocking: opening a FIFO for reading would otherwise wait for a writer.
    let fd = rustix::fs::open(
        path,
        OFlags::RDONLY | OFlags::NONBLOCK | OFlags::CLOEXEC,
        Mode::empty(),
    )
    .map_err(|errno| io(errno.into()))?;
    let stat = rustix::fs::fstat(&fd).map_err(|errno| io(errno.into()))?;
    let kind = FileType::from_raw_mode(stat.st_mode);
    if kind != FileType::RegularFile {
        return Err(refused(format!(
            "is {}, not a regular file; --config takes a YAML file",
            describe(kind)
        )));
    }
    let mut text = String::new();
    std::fs::File::from(fd)
        .take(MAX_CONFIG_BYTES + 1)
        .read_to_string(&mut text)
        .map_err(io)?;
    if text.len() as u64 > MAX_CONFIG_BYTES {
        return Err(refused(format!(
            "is larger than {} MB; a config is a few kilobytes: is this the right file?",
            MAX_CONFIG_BYTES / (1024 * 1024)
        )));
    }
    Ok(text)
}

fn describe(kind: FileType) -> &'static str {
    match kind {
        FileType::Directory => "a directory",
        FileType::Fifo => "a FIFO",
        FileType::CharacterDevice | FileType::BlockDevice => "a device",
        FileType::Socket => "a socket",
        FileType::RegularFile | FileType::Symlink | FileType::Unknown => "not a regular file",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn refused(path: &Path) -> String {
        read_config(path).unwrap_err().to_string()
    }

    #[test]
    fn devices_fifos_and_directories_are_refused_at_once_naming_the_path() {
        assert_eq!(
            refused(Path::new("/dev/zero")),
            "/dev/zero: is a device, not a regular file; --config takes a YAML file"
        );
        let dir = tempfile::tempdir().unwrap();
        let fifo = dir.path().join("config.yaml");
        rustix::fs::mkfifoat(rustix::fs::CWD, &fifo, Mode::from_raw_mode(0o600)).unwrap();
        // No writer will ever come: this would hang if the read waited for one.
        assert_eq!(
            refused(&fifo),
            format!(
                "{}: is a FIFO, not a regular file; --config takes a YAML file",
                fifo.display()
            )
        );
        assert!(
            refused(dir.path())
                .ends_with(": is a directory, not a regular file; --config takes a YAML file")
        );
    }

    #[test]
    fn a_file_over_the_cap_is_refused_and_one_at_it_is_read() {
        let dir = tempfile::tempdir().unwrap();
        let big = dir.path().join("big.yaml");
        let limit = usize::try_from(MAX_CONFIG_BYTES).unwrap();
        std::fs::write(&big, "#".repeat(limit + 1)).unwrap();
        assert_eq!(
            refused(&big),
            format!(
                "{}: is larger than 4 MB; a config is a few kilobytes: is this the right file?",
                big.display()
            )
        );
        std::fs::write(&big, "#".repeat(limit)).unwrap();
        assert_eq!(read_config(&big).unwrap().len(), limit);
    }

    #[test]
    fn a_link_to_a_config_is_read() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("real.yaml"), "agents: {}\n").unwrap();
        std::os::unix::fs::symlink("real.yaml", dir.path().join("config.yaml")).unwrap();
        assert_eq!(
            read_config(&dir.path().join("config.yaml")).unwrap(),
            "agents: {}\n"
        );
    }
}
