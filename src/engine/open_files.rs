//! A bounded set of open log files: the most recently written stay open, the least recently
//! written is closed when another must be opened. Ten thousand agents hold two logs each; the
//! process keeps at most `capacity` of them open, whatever the team's size.

use std::fs::File;
use std::path::PathBuf;

use indexmap::IndexMap;

use crate::engine::log_dir::{LogDir, LogFileError};

/// How many log files tzzr keeps open at once: a quarter of the descriptors this process may
/// open (the rest are for connections, tools and MCP servers), between 64 and 4,096. Under the
/// usual soft limit of 1,024 that is 256; once tzzr has raised it, a team of a thousand keeps
/// both its logs open instead of opening a file for every write.
pub fn open_log_files() -> usize {
    let limit = rustix::process::getrlimit(rustix::process::Resource::Nofile).current;
    capacity_under(limit)
}

fn capacity_under(descriptors: Option<u64>) -> usize {
    let quarter = descriptors.map_or(usize::MAX, |n| usize::try_from(n / 4).unwrap_or(usize::MAX));
    quarter.clamp(64, 4096)
}

#[derive(Debug)]
pub struct OpenFiles {
    capacity: usize,
    /// Least recently used first.
    files: IndexMap<PathBuf, File>,
}

impl OpenFiles {
    pub fn new(capacity: usize) -> Self {
        Self {
            capacity: capacity.max(1),
            files: IndexMap::new(),
        }
    }

    /// `name` in `dir`, open for appending (opened as [`LogDir::append`] does, without following
    /// a link), and now the most recently used.
    pub fn append(&mut self, dir: &LogDir, name: &str) -> Result<&mut File, LogFileError> {
        let path = dir.path().join(name);
        let last = match self.files.get_index_of(&path) {
            Some(at) => {
                let last = self.files.len() - 1;
                self.files.move_index(at, last);
                last
            }
            None => {
                let file = dir.append(name)?;
                if self.files.len() >= self.capacity {
                    self.files.shift_remove_index(0);
                }
                self.files.insert_full(path, file).0
            }
        };
        Ok(&mut self.files[last])
    }

    pub fn capacity(&self) -> usize {
        self.capacity
    }

    /// How many files are open now.
    pub fn len(&self) -> usize {
        self.files.len()
    }

    pub fn is_empty(&self) -> bool {
        self.files.is_empty()
    }

    /// Closes every file.
    pub fn close_all(&mut self) {
        self.files.clear();
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Write;

    #[test]
    fn never_more_than_capacity_files_are_open_and_every_write_lands() {
        let dir = tempfile::tempdir().unwrap();
        let logs = LogDir::open(dir.path()).unwrap();
        let mut open = OpenFiles::new(8);
        for round in 0..3 {
            for n in 0..100 {
                let file = open.append(&logs, &format!("{n}.md")).unwrap();
                writeln!(file, "round {round}").unwrap();
                assert!(open.len() <= 8);
            }
        }
        for n in 0..100 {
            let text = std::fs::read_to_string(dir.path().join(format!("{n}.md"))).unwrap();
            assert_eq!(text, "round 0\nround 1\nround 2\n");
        }
    }

    #[test]
    fn a_quarter_of_the_descriptors_go_to_logs_within_bounds() {
        assert_eq!(capacity_under(Some(1024)), 256);
        assert_eq!(capacity_under(Some(20_000)), 4096);
        assert_eq!(capacity_under(Some(100)), 64);
        assert_eq!(capacity_under(None), 4096, "unlimited");
    }

    #[test]
    fn the_least_recently_written_file_is_the_one_closed() {
        let dir = tempfile::tempdir().unwrap();
        let logs = LogDir::open(dir.path()).unwrap();
        let mut open = OpenFiles::new(2);
        open.append(&logs, "a").unwrap();
        open.append(&logs, "b").unwrap();
        open.append(&logs, "a").unwrap();
        open.append(&logs, "c").unwrap();
        let names: Vec<_> = open.files.keys().map(|p| p.file_name().unwrap()).collect();
        assert_eq!(names, ["a", "c"]);
    }

    #[test]
    fn a_link_is_refused_as_log_dir_refuses_it() {
        let dir = tempfile::tempdir().unwrap();
        std::os::unix::fs::symlink(dir.path().join("elsewhere"), dir.path().join("x.md")).unwrap();
        let logs = LogDir::open(dir.path()).unwrap();
        let mut open = OpenFiles::new(2);
        assert!(matches!(
            open.append(&logs, "x.md"),
            Err(LogFileError::Link { .. })
        ));
        assert!(open.is_empty());
        assert!(!dir.path().join("elsewhere").exists());
    }
}
