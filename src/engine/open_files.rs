//! A bounded set of open log files: the most recently written stay open, the least recently
//! written is closed when another must be opened. Ten thousand agents hold two logs each; the
//! process keeps at most `capacity` of them open, whatever the team's size.

use std::collections::hash_map::Entry;
use std::collections::{BTreeMap, HashMap};
use std::fs::File;
use std::path::PathBuf;

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
    /// Each open file, with when it was last written (a tick of `clock`).
    files: HashMap<PathBuf, (File, u64)>,
    /// The open files by when they were last written, oldest first: a write and an eviction
    /// cost a lookup each, however many files are open (a list kept in order cost a shift of
    /// every later entry per write, a tenth of the writer's time with 2,000 logs).
    by_use: BTreeMap<u64, PathBuf>,
    clock: u64,
}

impl OpenFiles {
    pub fn new(capacity: usize) -> Self {
        Self {
            capacity: capacity.max(1),
            files: HashMap::new(),
            by_use: BTreeMap::new(),
            clock: 0,
        }
    }

    /// `name` in `dir`, open for appending (opened as [`LogDir::append`] does, without following
    /// a link), and now the most recently used.
    pub fn append(&mut self, dir: &LogDir, name: &str) -> Result<&mut File, LogFileError> {
        let path = dir.path().join(name);
        self.clock += 1;
        let now = self.clock;
        if !self.files.contains_key(&path)
            && self.files.len() >= self.capacity
            && let Some((_, oldest)) = self.by_use.pop_first()
        {
            self.files.remove(&oldest);
        }
        let (file, used) = match self.files.entry(path) {
            Entry::Occupied(open) => {
                let (file, used) = open.into_mut();
                if let Some(key) = self.by_use.remove(used) {
                    self.by_use.insert(now, key);
                }
                (file, used)
            }
            Entry::Vacant(closed) => {
                let file = dir.append(name)?;
                self.by_use.insert(now, closed.key().clone());
                let (file, used) = closed.insert((file, now));
                (file, used)
            }
        };
        *used = now;
        Ok(file)
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
        self.by_use.clear();
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
        let names: Vec<_> = open
            .by_use
            .values()
            .map(|p| p.file_name().unwrap())
            .collect();
        assert_eq!(names, ["a", "c"], "oldest first");
        assert_eq!(open.len(), 2);
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
