//! One writer task writes every agent's logs, and only on tokio's blocking pool, so no runtime
//! thread ever waits on the disk. Agents hand it bytes through a bounded channel; it buffers them
//! per file and writes them, one batch at a time, through a bounded set of open files
//! ([`OpenFiles`]) at least every [`FLUSH_EVERY`], when much is buffered, and whenever someone
//! waits for it ([`Queue::sync`]: the end of a turn, shutdown). A crash loses at most what
//! arrived in the last [`FLUSH_EVERY`]. (The blocking pool, unlike a thread of its own, also
//! holds a paused test clock still while it writes.)
//!
//! When the disk is slower than the agents, the channel fills and an agent's queue holds its bytes
//! until [`Queue::catch_up`], which waits for room: agents slow down (between model calls and at
//! the end of each turn) instead of memory growing without bound.

use std::collections::VecDeque;
use std::io::{self, Write};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use indexmap::IndexMap;
use tokio::sync::{mpsc, oneshot};
use tokio::time::Instant;

use crate::engine::log_dir::{LogDir, LogFileError};
use crate::engine::open_files::{OpenFiles, open_log_files};

/// The longest a written event waits in memory before it reaches the disk.
pub const FLUSH_EVERY: Duration = Duration::from_millis(100);
/// Jobs the channel holds before agents must wait for the writer.
const QUEUE_LEN: usize = 4096;
/// Bytes buffered before the writer writes them out without waiting for the timer.
const MAX_BUFFERED: usize = 1 << 20;

/// One log file, as the writer sees it: where it is, and whether writing it failed.
#[derive(Debug)]
pub struct LogFile {
    dir: Arc<LogDir>,
    name: String,
    path: PathBuf,
    /// Set by the writer on the first failure; nothing more is written to the file after it.
    failure: Mutex<Failure>,
}

#[derive(Debug, Default)]
struct Failure {
    error: Option<String>,
    reported: bool,
}

impl LogFile {
    pub fn new(dir: Arc<LogDir>, name: &str) -> Self {
        Self {
            path: dir.path().join(name),
            dir,
            name: name.to_owned(),
            failure: Mutex::default(),
        }
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Why writing this file failed, the first time it is asked after the failure.
    pub fn take_failure(&self) -> Option<String> {
        let mut failure = self.failure.lock().unwrap_or_else(PoisonError::into_inner);
        if failure.reported {
            return None;
        }
        let error = failure.error.clone()?;
        failure.reported = true;
        Some(error)
    }

    fn failed(&self) -> bool {
        self.failure
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .error
            .is_some()
    }

    fn fail(&self, error: &dyn std::fmt::Display) {
        let mut failure = self.failure.lock().unwrap_or_else(PoisonError::into_inner);
        if failure.error.is_none() {
            tracing::error!(file = %self.path.display(), "cannot write the log: {error}");
            failure.error = Some(error.to_string());
        }
    }
}

enum Job {
    Append {
        file: Arc<LogFile>,
        bytes: Vec<u8>,
    },
    /// Write out everything received so far, then answer.
    Sync(oneshot::Sender<()>),
}

/// The handle on the writer task; the task ends once every handle and queue is gone.
#[derive(Clone, Debug)]
pub struct JournalWriter {
    jobs: mpsc::Sender<Job>,
    /// The log directory last opened, shared by every agent's logs (one descriptor, not one
    /// per agent).
    dir: Arc<Mutex<Option<Arc<LogDir>>>>,
}

impl JournalWriter {
    /// Starts the writer task. Needs a tokio runtime.
    pub fn start() -> Self {
        Self::start_with(open_log_files())
    }

    fn start_with(open_files: usize) -> Self {
        let (jobs, inbox) = mpsc::channel(QUEUE_LEN);
        tokio::spawn(write_until_closed(inbox, open_files));
        Self {
            jobs,
            dir: Arc::default(),
        }
    }

    /// The log directory at `path`, opened once (created if needed, refused if a link).
    pub fn log_dir(&self, path: &Path) -> Result<Arc<LogDir>, LogFileError> {
        let mut dir = self.dir.lock().unwrap_or_else(PoisonError::into_inner);
        if let Some(open) = dir.as_ref().filter(|d| d.path() == path) {
            return Ok(open.clone());
        }
        let open = Arc::new(LogDir::open(path)?);
        *dir = Some(open.clone());
        Ok(open)
    }

    /// A queue of one agent's writes, in order.
    pub fn queue(&self) -> Queue {
        Queue {
            jobs: self.jobs.clone(),
            backlog: VecDeque::new(),
        }
    }

    /// Waits until everything handed over so far is written.
    pub async fn sync(&self) {
        self.queue().sync().await;
    }
}

/// One agent's writes on their way to the writer, in the order they were made.
#[derive(Debug)]
pub struct Queue {
    jobs: mpsc::Sender<Job>,
    /// Writes the channel had no room for yet, oldest first.
    backlog: VecDeque<Job>,
}

impl std::fmt::Debug for Job {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Job::Append { file, bytes } => {
                write!(f, "Append({}, {} bytes)", file.path.display(), bytes.len())
            }
            Job::Sync(_) => write!(f, "Sync"),
        }
    }
}

impl Queue {
    /// Hands `bytes` over for `file` without waiting; kept here if the writer is behind.
    pub fn append(&mut self, file: &Arc<LogFile>, bytes: Vec<u8>) {
        let job = Job::Append {
            file: file.clone(),
            bytes,
        };
        if !self.backlog.is_empty() {
            self.backlog.push_back(job);
            return;
        }
        match self.jobs.try_send(job) {
            Ok(()) => {}
            Err(mpsc::error::TrySendError::Full(job)) => self.backlog.push_back(job),
            // The writer is gone (it only ends when every queue is dropped, or on a bug).
            Err(mpsc::error::TrySendError::Closed(Job::Append { file, .. })) => {
                file.fail(&"the log writer has stopped");
            }
            Err(mpsc::error::TrySendError::Closed(Job::Sync(_))) => {}
        }
    }

    /// Waits until the writer has taken every write held here.
    pub async fn catch_up(&mut self) {
        while let Some(job) = self.backlog.pop_front() {
            if let Err(mpsc::error::SendError(job)) = self.jobs.send(job).await {
                if let Job::Append { file, .. } = job {
                    file.fail(&"the log writer has stopped");
                }
                self.backlog.clear();
            }
        }
    }

    /// Waits until every write made through this queue is on disk.
    pub async fn sync(&mut self) {
        self.catch_up().await;
        let (done, written) = oneshot::channel();
        if self.jobs.send(Job::Sync(done)).await.is_ok() {
            // An error means the writer is gone: nothing more will be written anyway.
            let _ = written.await;
        }
    }
}

impl Drop for Queue {
    /// Writes still held here go to the writer after all, in order.
    fn drop(&mut self) {
        if self.backlog.is_empty() {
            return;
        }
        let backlog = std::mem::take(&mut self.backlog);
        let jobs = self.jobs.clone();
        match tokio::runtime::Handle::try_current() {
            Ok(runtime) => {
                runtime.spawn(async move {
                    for job in backlog {
                        if jobs.send(job).await.is_err() {
                            return;
                        }
                    }
                });
            }
            Err(_) => tracing::warn!("{} log writes dropped at exit", backlog.len()),
        }
    }
}

/// The writer task's work: take jobs, buffer them per file, write them out in time.
async fn write_until_closed(mut inbox: mpsc::Receiver<Job>, open_files: usize) {
    let mut buffers = Buffers::new(open_files);
    loop {
        let job = match buffers.due {
            Some(due) => tokio::select! {
                job = inbox.recv() => job,
                () = tokio::time::sleep_until(due) => {
                    buffers = buffers.written().await;
                    continue;
                }
            },
            None => inbox.recv().await,
        };
        let Some(job) = job else { break };
        let mut waiting = Vec::new();
        buffers.take(job, &mut waiting);
        // Whatever else is ready joins this batch: one write per file, not one per event.
        while let Ok(job) = inbox.try_recv() {
            buffers.take(job, &mut waiting);
        }
        if !waiting.is_empty() || buffers.size >= MAX_BUFFERED {
            buffers = buffers.written().await;
        }
        for done in waiting {
            // The one waiting may have given up (its task ended): nothing to tell then.
            let _ = done.send(());
        }
    }
    buffers.written().await;
}

struct Buffers {
    files: OpenFiles,
    pending: IndexMap<PathBuf, (Arc<LogFile>, Vec<u8>)>,
    size: usize,
    /// When the oldest buffered byte must be written.
    due: Option<Instant>,
}

impl Buffers {
    fn new(open_files: usize) -> Self {
        Self {
            files: OpenFiles::new(open_files),
            pending: IndexMap::new(),
            size: 0,
            due: None,
        }
    }

    fn take(&mut self, job: Job, waiting: &mut Vec<oneshot::Sender<()>>) {
        match job {
            Job::Append { file, bytes } => {
                if file.failed() {
                    return;
                }
                self.size += bytes.len();
                self.due.get_or_insert_with(|| Instant::now() + FLUSH_EVERY);
                self.pending
                    .entry(file.path.clone())
                    .or_insert_with(|| (file, Vec::new()))
                    .1
                    .extend_from_slice(&bytes);
            }
            Job::Sync(done) => waiting.push(done),
        }
    }

    /// Writes out what is buffered, on the blocking pool.
    async fn written(mut self) -> Self {
        if self.pending.is_empty() {
            self.due = None;
            return self;
        }
        let capacity = self.files.capacity();
        tokio::task::spawn_blocking(move || {
            self.write_out();
            self
        })
        .await
        .unwrap_or_else(|e| {
            tracing::error!("the log writer failed: {e}");
            Self::new(capacity)
        })
    }

    fn write_out(&mut self) {
        for (_, (file, bytes)) in self.pending.drain(..) {
            let written = self
                .files
                .append(&file.dir, &file.name)
                .map_err(io::Error::from)
                .and_then(|open| open.write_all(&bytes));
            if let Err(e) = written {
                file.fail(&e);
            }
        }
        self.size = 0;
        self.due = None;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn file(writer: &JournalWriter, dir: &Path, name: &str) -> Arc<LogFile> {
        Arc::new(LogFile::new(writer.log_dir(dir).unwrap(), name))
    }

    #[tokio::test]
    async fn writes_are_on_disk_once_synced_and_in_order() {
        let dir = tempfile::tempdir().unwrap();
        let writer = JournalWriter::start();
        let log = file(&writer, dir.path(), "a.jsonl");
        let mut queue = writer.queue();
        for n in 0..10_000 {
            queue.append(&log, format!("{n}\n").into_bytes());
        }
        queue.sync().await;
        let text = std::fs::read_to_string(log.path()).unwrap();
        let lines: Vec<usize> = text.lines().map(|l| l.parse().unwrap()).collect();
        assert_eq!(lines, (0..10_000).collect::<Vec<_>>());
    }

    #[tokio::test(start_paused = true)]
    async fn writes_reach_the_disk_without_anyone_waiting() {
        let dir = tempfile::tempdir().unwrap();
        let writer = JournalWriter::start();
        let log = file(&writer, dir.path(), "a.md");
        writer.queue().append(&log, b"hello\n".to_vec());
        tokio::time::sleep(FLUSH_EVERY).await;
        // The write itself runs on the blocking pool: give it the moment it takes.
        for _ in 0..500 {
            if std::fs::read_to_string(log.path()).unwrap_or_default() == "hello\n" {
                return;
            }
            tokio::time::sleep(Duration::from_millis(1)).await;
        }
        panic!("never written");
    }

    #[tokio::test(start_paused = true)]
    async fn a_writer_behind_holds_an_agent_back_instead_of_filling_memory() {
        let dir = tempfile::tempdir().unwrap();
        let writer = JournalWriter::start();
        let log = file(&writer, dir.path(), "a.md");
        // A writer that takes jobs only when told: the disk is slow.
        let (jobs, mut inbox) = mpsc::channel(2);
        let mut queue = Queue {
            jobs,
            backlog: VecDeque::new(),
        };
        for n in 0..5u8 {
            queue.append(&log, vec![n]);
        }
        assert_eq!(queue.backlog.len(), 3, "the channel holds two");
        let catch_up = tokio::spawn(async move {
            queue.catch_up().await;
            queue
        });
        tokio::time::sleep(Duration::from_secs(10)).await;
        assert!(!catch_up.is_finished(), "waits for the writer");
        let mut taken = Vec::new();
        for _ in 0..5 {
            match inbox.recv().await {
                Some(Job::Append { bytes, .. }) => taken.extend(bytes),
                other => panic!("{other:?}"),
            }
        }
        assert_eq!(taken, [0, 1, 2, 3, 4]);
        assert!(catch_up.await.unwrap().backlog.is_empty());
    }

    #[tokio::test]
    async fn a_thousand_logs_go_through_a_few_open_files() {
        let dir = tempfile::tempdir().unwrap();
        let writer = JournalWriter::start_with(4);
        let logs: Vec<_> = (0..1_000)
            .map(|n| file(&writer, dir.path(), &format!("{n}.md")))
            .collect();
        let mut queue = writer.queue();
        for round in 0..3 {
            for log in &logs {
                queue.append(log, format!("{round}\n").into_bytes());
            }
            queue.sync().await;
        }
        for log in &logs {
            assert_eq!(std::fs::read_to_string(log.path()).unwrap(), "0\n1\n2\n");
        }
    }

    #[tokio::test]
    async fn a_file_that_cannot_be_written_says_why_once() {
        let dir = tempfile::tempdir().unwrap();
        std::os::unix::fs::symlink("/etc/passwd", dir.path().join("a.md")).unwrap();
        let writer = JournalWriter::start();
        let log = file(&writer, dir.path(), "a.md");
        let mut queue = writer.queue();
        queue.append(&log, b"x".to_vec());
        queue.sync().await;
        let why = log.take_failure().unwrap();
        assert!(why.contains("is a symbolic link"), "{why}");
        assert_eq!(log.take_failure(), None);
    }
}
