//! The file that keeps the whole output of a call the model saw only part of. Its directory is
//! private (0700), the file too (0600); neither is reached through a symlink, and the name is
//! tzzr's own (tool and a time-ordered uuid), never anything a model wrote.

use std::fs::File;
use std::io;
use std::path::{Path, PathBuf};

use crate::engine::log_dir::LogDir;

/// Creates a new, empty output file for `tool` in `dir` (made if missing).
pub fn create(dir: &Path, tool: &str) -> io::Result<(File, PathBuf)> {
    let (Some(parent), Some(name)) = (dir.parent(), dir.file_name().and_then(|n| n.to_str()))
    else {
        return Err(io::Error::new(
            io::ErrorKind::InvalidInput,
            format!("{} cannot hold output files", dir.display()),
        ));
    };
    let dir = LogDir::open(parent)?.subdir(name)?;
    let file_name = format!("{tool}-{}.txt", uuid::Uuid::now_v7());
    let file = dir.create_new(&file_name)?;
    Ok((file, dir.path().join(file_name)))
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::fs;
    use std::io::Write;
    use std::os::unix::fs::{PermissionsExt, symlink};

    #[test]
    fn files_are_private_new_and_named_by_tzzr() {
        let temp = tempfile::tempdir().unwrap();
        let dir = temp.path().join("logs/outputs/coder");
        let (mut file, path) = create(&dir, "bash").unwrap();
        file.write_all(b"all of it").unwrap();
        assert_eq!(fs::read_to_string(&path).unwrap(), "all of it");
        assert_eq!(path.parent(), Some(dir.as_path()));
        let name = path.file_name().unwrap().to_string_lossy().into_owned();
        assert!(
            name.starts_with("bash-") && name.ends_with(".txt"),
            "{name}"
        );
        let mode = |p: &Path| fs::metadata(p).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode(&dir), 0o700);
        assert_eq!(mode(&path), 0o600);
        let (_, second) = create(&dir, "bash").unwrap();
        assert_ne!(second, path);
    }

    #[test]
    fn a_symlinked_output_dir_is_refused() {
        let temp = tempfile::tempdir().unwrap();
        let elsewhere = temp.path().join("elsewhere");
        fs::create_dir(&elsewhere).unwrap();
        fs::create_dir(temp.path().join("outputs")).unwrap();
        symlink(&elsewhere, temp.path().join("outputs/coder")).unwrap();
        let refused = create(&temp.path().join("outputs/coder"), "bash").unwrap_err();
        assert!(refused.to_string().contains("symbolic link"), "{refused}");
        assert_eq!(fs::read_dir(&elsewhere).unwrap().count(), 0);

        symlink(&elsewhere, temp.path().join("linked")).unwrap();
        let refused = create(&temp.path().join("linked/coder"), "bash").unwrap_err();
        assert!(refused.to_string().contains("symbolic link"), "{refused}");
        assert_eq!(fs::read_dir(&elsewhere).unwrap().count(), 0);
    }
}
