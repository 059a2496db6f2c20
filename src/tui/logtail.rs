//! Following an agent's log file (`logs/<agent>.md`) as the engine appends to it: the last lines at
//! start, then only the new bytes, read by a background task off the UI task and sent as lines
//! cleaned for display.

use std::fs::{File, Metadata};
use std::io::{self, Read, Seek, SeekFrom};
use std::path::{Path, PathBuf};
use std::time::Duration;

use tokio::sync::mpsc;
use tokio::task::JoinHandle;
use tokio::time::MissedTickBehavior;

use crate::sanitize;

/// How often the file's length is looked at.
pub const POLL_INTERVAL: Duration = Duration::from_millis(250);
/// Lines longer than this many bytes are cut (and end with `…`).
pub const MAX_LINE_BYTES: usize = 4096;
/// The most bytes one poll reads: how far back from the end the first lines are looked for, and
/// the largest growth read as an append (more than this since the last poll starts over from the
/// tail), so a 100 MB log is never read whole.
const WINDOW_BYTES: u64 = 4 << 20;
/// The first look back from the end for the last lines; grown fourfold up to `WINDOW_BYTES`.
const FIRST_WINDOW_BYTES: u64 = 64 << 10;
/// Updates a [`LogTail`] buffers before its task waits for the UI to take them.
const CHANNEL_CAPACITY: usize = 16;

/// What changed in the followed file, as lines without their newline, cleaned by
/// [`sanitize::for_display`]. Neither carries more than the tail's `max_lines` lines, so a view
/// that keeps the last `max_lines` lines after applying each update shows the file's end.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum LogUpdate {
    /// Replace every line shown with these: the file's last lines. Sent when the file is first
    /// found, when it was truncated or replaced by another file, and when more than `max_lines`
    /// lines (or more than 4 MiB) arrived at once.
    Reset { lines: Vec<String> },
    /// Lines appended after the ones already sent (never empty).
    Appended { lines: Vec<String> },
}

/// The background task following one file; dropping the handle stops the task.
#[derive(Debug)]
pub struct LogTailHandle {
    task: JoinHandle<()>,
}

impl Drop for LogTailHandle {
    fn drop(&mut self) {
        self.task.abort();
    }
}

/// Starts following `path` on the current tokio runtime, sending updates to `tx`: first a
/// [`LogUpdate::Reset`] with the last `max_lines` lines (at least 1) once the file exists (a
/// missing file is polled until it appears), then the complete lines appended every
/// [`POLL_INTERVAL`]; a line without its newline yet waits for it. The task ends when the handle
/// is dropped or `tx`'s receiver is closed.
///
/// On a channel shared by several tails, an update from a dropped tail may still arrive after it
/// is dropped; [`LogTail`] has a channel of its own, so it never sees one.
pub fn spawn(path: PathBuf, max_lines: usize, tx: mpsc::Sender<LogUpdate>) -> LogTailHandle {
    let reader = Reader::new(path, max_lines.max(1));
    LogTailHandle {
        task: tokio::spawn(follow(reader, POLL_INTERVAL, tx)),
    }
}

/// A followed log file with its own channel: what the UI holds for the selected agent. Replacing
/// it (another agent selected) stops the old task and drops its pending updates.
#[derive(Debug)]
pub struct LogTail {
    path: PathBuf,
    updates: mpsc::Receiver<LogUpdate>,
    _task: LogTailHandle,
}

impl LogTail {
    /// Starts following `path` (see [`spawn`]) on the current tokio runtime.
    pub fn follow(path: PathBuf, max_lines: usize) -> Self {
        let (tx, updates) = mpsc::channel(CHANNEL_CAPACITY);
        let task = spawn(path.clone(), max_lines, tx);
        Self {
            path,
            updates,
            _task: task,
        }
    }

    /// The next update; `None` only if the task ended (it panicked).
    pub async fn recv(&mut self) -> Option<LogUpdate> {
        self.updates.recv().await
    }

    /// An update already waiting, without waiting for one (to drain before a draw).
    pub fn try_recv(&mut self) -> Option<LogUpdate> {
        self.updates.try_recv().ok()
    }

    pub fn path(&self) -> &Path {
        &self.path
    }
}

async fn follow(mut reader: Reader, every: Duration, tx: mpsc::Sender<LogUpdate>) {
    let mut ticks = tokio::time::interval(every);
    ticks.set_missed_tick_behavior(MissedTickBehavior::Delay);
    loop {
        ticks.tick().await;
        // File I/O blocks (a stat on a network file system can hang), so it runs off the runtime.
        let polled = tokio::task::spawn_blocking(move || {
            let update = reader.poll_logging_errors();
            (reader, update)
        })
        .await;
        let update;
        (reader, update) = match polled {
            Ok(polled) => polled,
            Err(error) => {
                tracing::error!(%error, "log tail stopped");
                return;
            }
        };
        if let Some(update) = update
            && tx.send(update).await.is_err()
        {
            // The receiver is gone: nobody shows this log any more.
            return;
        }
    }
}

/// Which file a path named when it was read, to notice it was replaced (rotated, recreated).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct FileIdentity {
    device: u64,
    inode: u64,
}

#[cfg(unix)]
fn identity(metadata: &Metadata) -> Option<FileIdentity> {
    use std::os::unix::fs::MetadataExt;
    Some(FileIdentity {
        device: metadata.dev(),
        inode: metadata.ino(),
    })
}

/// Without an inode, a replaced file is noticed only when it is shorter than what was read.
#[cfg(not(unix))]
fn identity(_metadata: &Metadata) -> Option<FileIdentity> {
    None
}

/// How far into which file the tail has read.
#[derive(Clone, Copy, Debug)]
struct Position {
    identity: Option<FileIdentity>,
    offset: u64,
}

/// The synchronous part: reads what is new and cuts it into lines. Runs on a blocking thread.
#[derive(Debug)]
struct Reader {
    path: PathBuf,
    max_lines: usize,
    /// `None` until the file has been found.
    position: Option<Position>,
    /// The bytes of a line whose newline has not been read yet (at most `MAX_LINE_BYTES`).
    partial: Vec<u8>,
    /// The partial line was longer than `MAX_LINE_BYTES`: the rest up to its newline is dropped.
    is_partial_cut: bool,
    /// The partial line's start is not known (it began before the bytes read): it is dropped.
    is_partial_headless: bool,
    /// The last error logged, so a lasting one is logged once, not every poll.
    last_error: Option<io::ErrorKind>,
}

impl Reader {
    fn new(path: PathBuf, max_lines: usize) -> Self {
        Self {
            path,
            max_lines,
            position: None,
            partial: Vec::new(),
            is_partial_cut: false,
            is_partial_headless: false,
            last_error: None,
        }
    }

    fn poll_logging_errors(&mut self) -> Option<LogUpdate> {
        match self.poll() {
            Ok(update) => {
                self.last_error = None;
                update
            }
            Err(error) => {
                if self.last_error != Some(error.kind()) {
                    tracing::warn!(path = %self.path.display(), %error, "cannot read log");
                    self.last_error = Some(error.kind());
                }
                None
            }
        }
    }

    fn poll(&mut self) -> io::Result<Option<LogUpdate>> {
        let mut file = match File::open(&self.path) {
            Ok(file) => file,
            // Not written yet (or removed): what was shown stays until a file appears.
            Err(error) if error.kind() == io::ErrorKind::NotFound => return Ok(None),
            Err(error) => return Err(error),
        };
        // The opened file's own metadata: the path may be replaced between a stat and the open.
        let metadata = file.metadata()?;
        let len = metadata.len();
        let identity = identity(&metadata);
        let offset = match self.position {
            Some(position) if position.identity == identity && position.offset <= len => {
                position.offset
            }
            _ => return self.read_tail(&mut file, len, identity).map(Some),
        };
        if len == offset {
            return Ok(None);
        }
        if len - offset > WINDOW_BYTES {
            return self.read_tail(&mut file, len, identity).map(Some);
        }
        let bytes = read_range(&mut file, offset, len)?;
        self.position = Some(Position {
            identity,
            offset: offset + bytes.len() as u64,
        });
        let lines = self.split_lines(&bytes);
        Ok(if lines.is_empty() {
            None
        } else if lines.len() > self.max_lines {
            Some(LogUpdate::Reset {
                lines: keep_last(lines, self.max_lines),
            })
        } else {
            Some(LogUpdate::Appended { lines })
        })
    }

    /// Starts over from the file's last `max_lines` lines, looking back from the end in growing
    /// windows until they are found, the start is reached, or `WINDOW_BYTES` were read.
    fn read_tail(
        &mut self,
        file: &mut File,
        len: u64,
        identity: Option<FileIdentity>,
    ) -> io::Result<LogUpdate> {
        let mut window = FIRST_WINDOW_BYTES.min(len);
        let (start, bytes, lines_start) = loop {
            let start = len - window;
            let bytes = read_range(file, start, len)?;
            let lines_start = start_of_last_lines(&bytes, self.max_lines);
            if lines_start.is_some() || start == 0 || window >= WINDOW_BYTES {
                break (start, bytes, lines_start);
            }
            window = (window * 4).min(WINDOW_BYTES).min(len);
        };
        self.partial.clear();
        self.is_partial_cut = false;
        // Without `max_lines` whole lines in the window, its first line began before it.
        self.is_partial_headless = lines_start.is_none() && start > 0;
        self.position = Some(Position {
            identity,
            offset: start + bytes.len() as u64,
        });
        let lines = self.split_lines(&bytes[lines_start.unwrap_or(0)..]);
        Ok(LogUpdate::Reset {
            lines: keep_last(lines, self.max_lines),
        })
    }

    /// The complete lines in `bytes`, continuing the partial line from the previous read; the
    /// part after the last newline becomes the new partial line.
    fn split_lines(&mut self, bytes: &[u8]) -> Vec<String> {
        let mut lines = Vec::new();
        for piece in bytes.split_inclusive(|&b| b == b'\n') {
            match piece.strip_suffix(b"\n") {
                Some(content) => {
                    self.extend_partial(content);
                    if let Some(line) = self.take_line() {
                        lines.push(line);
                    }
                }
                None => self.extend_partial(piece),
            }
        }
        lines
    }

    fn extend_partial(&mut self, content: &[u8]) {
        if self.is_partial_headless || self.is_partial_cut {
            return;
        }
        let room = MAX_LINE_BYTES - self.partial.len();
        if content.len() <= room {
            self.partial.extend_from_slice(content);
            return;
        }
        // Cut before a UTF-8 continuation byte, so a character is not split in two.
        let mut end = room;
        while end > 0 && is_utf8_continuation(content[end]) {
            end -= 1;
        }
        self.partial.extend_from_slice(&content[..end]);
        self.is_partial_cut = true;
    }

    /// The partial line, now complete, as it may be shown (`None` if its start is unknown).
    fn take_line(&mut self) -> Option<String> {
        let is_headless = std::mem::take(&mut self.is_partial_headless);
        let is_cut = std::mem::take(&mut self.is_partial_cut);
        let bytes = std::mem::take(&mut self.partial);
        if is_headless {
            return None;
        }
        let text = String::from_utf8_lossy(&bytes);
        let mut line = sanitize::for_display(&text).into_owned();
        if is_cut {
            line.push('…');
        }
        Some(line)
    }
}

fn is_utf8_continuation(byte: u8) -> bool {
    byte & 0b1100_0000 == 0b1000_0000
}

/// The bytes of `file` from `start` up to `end` (fewer if it shrank meanwhile).
fn read_range(file: &mut File, start: u64, end: u64) -> io::Result<Vec<u8>> {
    file.seek(SeekFrom::Start(start))?;
    let mut bytes = Vec::with_capacity(usize::try_from(end - start).unwrap_or(0));
    file.take(end - start).read_to_end(&mut bytes)?;
    Ok(bytes)
}

/// Where in `bytes` the last `n` complete lines (those ended by a newline) start, when `bytes`
/// holds the newline before the first of them; `None` if it does not (fewer lines, or the first
/// one began before `bytes`).
fn start_of_last_lines(bytes: &[u8], n: usize) -> Option<usize> {
    let last_newline = bytes.iter().rposition(|&b| b == b'\n')?;
    bytes[..last_newline]
        .iter()
        .enumerate()
        .rev()
        .filter(|&(_, &b)| b == b'\n')
        .nth(n.checked_sub(1)?)
        .map(|(i, _)| i + 1)
}

fn keep_last(mut lines: Vec<String>, n: usize) -> Vec<String> {
    if lines.len() > n {
        lines.drain(..lines.len() - n);
    }
    lines
}

#[cfg(test)]
mod tests {
    use super::*;
    use pretty_assertions::assert_eq;
    use std::io::Write;
    use tokio::time::timeout;

    /// Long enough for a few dozen polls of virtual time.
    const PATIENCE: Duration = Duration::from_secs(10);

    async fn next(tail: &mut LogTail) -> LogUpdate {
        timeout(PATIENCE, tail.recv())
            .await
            .expect("an update within the patience")
            .expect("the tail is running")
    }

    /// Several polls pass without an update.
    async fn assert_quiet(tail: &mut LogTail) {
        let polls = POLL_INTERVAL * 8;
        if let Ok(update) = timeout(polls, tail.recv()).await {
            panic!("unexpected update: {update:?}");
        }
    }

    fn append(path: &Path, text: &[u8]) {
        let mut file = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(path)
            .unwrap();
        file.write_all(text).unwrap();
    }

    fn reset(lines: &[&str]) -> LogUpdate {
        LogUpdate::Reset {
            lines: lines.iter().map(|l| l.to_string()).collect(),
        }
    }

    fn appended(lines: &[&str]) -> LogUpdate {
        LogUpdate::Appended {
            lines: lines.iter().map(|l| l.to_string()).collect(),
        }
    }

    #[tokio::test(start_paused = true)]
    async fn the_first_update_is_exactly_the_last_lines_of_a_long_file() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("coder.md");
        let text: String = (0..200_000).map(|i| format!("line {i}\n")).collect();
        append(&path, text.as_bytes());

        let mut tail = LogTail::follow(path, 3);

        assert_eq!(
            next(&mut tail).await,
            reset(&["line 199997", "line 199998", "line 199999"])
        );
        assert_quiet(&mut tail).await;
    }

    #[tokio::test(start_paused = true)]
    async fn a_short_file_is_shown_whole_and_an_empty_one_as_no_lines() {
        let dir = tempfile::tempdir().unwrap();
        let short = dir.path().join("short.md");
        let empty = dir.path().join("empty.md");
        append(&short, b"# Log\n\nfirst\n");
        append(&empty, b"");

        let mut short_tail = LogTail::follow(short, 10);
        let mut empty_tail = LogTail::follow(empty, 10);

        assert_eq!(next(&mut short_tail).await, reset(&["# Log", "", "first"]));
        assert_eq!(next(&mut empty_tail).await, reset(&[]));
    }

    #[tokio::test(start_paused = true)]
    async fn appended_lines_arrive_after_the_first_ones() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("coder.md");
        append(&path, b"one\n");
        let mut tail = LogTail::follow(path.clone(), 10);
        assert_eq!(next(&mut tail).await, reset(&["one"]));

        append(&path, b"two\nthree\n");
        assert_eq!(next(&mut tail).await, appended(&["two", "three"]));
        append(&path, b"four\n");
        assert_eq!(next(&mut tail).await, appended(&["four"]));
    }

    #[tokio::test(start_paused = true)]
    async fn a_partial_line_is_held_until_its_newline() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("coder.md");
        append(&path, b"done\nhalf");
        let mut tail = LogTail::follow(path.clone(), 10);
        assert_eq!(next(&mut tail).await, reset(&["done"]));

        append(&path, b" a line");
        assert_quiet(&mut tail).await;
        append(&path, b", whole\nnext");
        assert_eq!(next(&mut tail).await, appended(&["half a line, whole"]));
    }

    #[tokio::test(start_paused = true)]
    async fn a_truncated_file_starts_over_from_its_new_tail() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("coder.md");
        append(&path, b"old one\nold two\nold three\n");
        let mut tail = LogTail::follow(path.clone(), 10);
        assert_eq!(
            next(&mut tail).await,
            reset(&["old one", "old two", "old three"])
        );

        std::fs::OpenOptions::new()
            .write(true)
            .open(&path)
            .unwrap()
            .set_len(0)
            .unwrap();
        append(&path, b"new\n");

        assert_eq!(next(&mut tail).await, reset(&["new"]));
    }

    #[cfg(unix)]
    #[tokio::test(start_paused = true)]
    async fn a_replaced_file_starts_over_even_when_it_is_longer() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("coder.md");
        append(&path, b"old\n");
        let mut tail = LogTail::follow(path.clone(), 10);
        assert_eq!(next(&mut tail).await, reset(&["old"]));

        let replacement = dir.path().join("coder.md.new");
        append(&replacement, b"a much longer new log\nsecond\n");
        std::fs::rename(&replacement, &path).unwrap();

        assert_eq!(
            next(&mut tail).await,
            reset(&["a much longer new log", "second"])
        );
    }

    #[tokio::test(start_paused = true)]
    async fn a_missing_file_is_waited_for() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("not-yet.md");
        let mut tail = LogTail::follow(path.clone(), 10);
        assert_quiet(&mut tail).await;

        append(&path, b"hello\n");
        assert_eq!(next(&mut tail).await, reset(&["hello"]));
        append(&path, b"again\n");
        assert_eq!(next(&mut tail).await, appended(&["again"]));
    }

    #[tokio::test(start_paused = true)]
    async fn more_new_lines_than_kept_arrive_as_a_reset_to_the_last_ones() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("coder.md");
        append(&path, b"start\n");
        let mut tail = LogTail::follow(path.clone(), 2);
        assert_eq!(next(&mut tail).await, reset(&["start"]));

        append(&path, b"a\nb\nc\n");
        assert_eq!(next(&mut tail).await, reset(&["b", "c"]));
    }

    #[tokio::test(start_paused = true)]
    async fn lines_are_cleaned_cut_and_decoded_lossily() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("coder.md");
        let mut text = b"\x1b]0;title\x07\x1b[31mred\x1b[0m\tx\r\n".to_vec();
        text.extend_from_slice(b"bad \xff byte\n");
        text.extend_from_slice("é".repeat(3000).as_bytes());
        text.push(b'\n');
        append(&path, &text);

        let mut tail = LogTail::follow(path, 10);

        let LogUpdate::Reset { lines } = next(&mut tail).await else {
            panic!("the first update is a reset");
        };
        assert_eq!(lines[..2], ["red x", "bad \u{fffd} byte"]);
        // 4096 bytes hold 2048 two-byte characters; none is split.
        assert_eq!(lines[2], format!("{}…", "é".repeat(2048)));
    }

    #[tokio::test(start_paused = true)]
    async fn a_long_line_split_across_polls_is_cut_once() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("coder.md");
        append(&path, b"");
        let mut tail = LogTail::follow(path.clone(), 10);
        assert_eq!(next(&mut tail).await, reset(&[]));

        append(&path, "x".repeat(3000).as_bytes());
        assert_quiet(&mut tail).await;
        append(&path, "x".repeat(3000).as_bytes());
        assert_quiet(&mut tail).await;
        append(&path, b"\nshort\n");

        let expected = format!("{}…", "x".repeat(MAX_LINE_BYTES));
        assert_eq!(next(&mut tail).await, appended(&[&expected, "short"]));
    }

    #[tokio::test(start_paused = true)]
    async fn a_line_begun_before_the_window_is_not_shown_headless() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("coder.md");
        let mut text = "y".repeat(WINDOW_BYTES as usize + 10);
        text.push_str("\nlast\n");
        append(&path, text.as_bytes());

        let mut tail = LogTail::follow(path, 5);

        assert_eq!(next(&mut tail).await, reset(&["last"]));
    }

    #[tokio::test(start_paused = true)]
    async fn dropping_the_handle_stops_the_task() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("coder.md");
        append(&path, b"one\n");
        let (tx, mut rx) = mpsc::channel(4);
        let handle = spawn(path, 10, tx);
        let first = timeout(PATIENCE, rx.recv()).await.unwrap();
        assert_eq!(first, Some(reset(&["one"])));

        drop(handle);

        // The task's sender is dropped with the task: the channel closes.
        assert_eq!(timeout(PATIENCE, rx.recv()).await.unwrap(), None);
    }

    #[test]
    fn the_start_of_the_last_lines_needs_the_newline_before_them() {
        assert_eq!(start_of_last_lines(b"a\nb\nc\n", 2), Some(2));
        assert_eq!(start_of_last_lines(b"a\nb\nc\npartial", 1), Some(4));
        assert_eq!(start_of_last_lines(b"a\nb\n", 2), None);
        assert_eq!(start_of_last_lines(b"no newline", 1), None);
    }
}
