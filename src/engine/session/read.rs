//! Reads a session's journal back. The file is the user's, but anything may have written into
//! it (a crash mid-line, a full disk, a hand edit): every line is bounded, the number of lines
//! too, and a line that is not a record is skipped and counted, never a panic.

use std::fs::File;
use std::io::{self, BufRead, BufReader, Read};
use std::path::{Path, PathBuf};

use super::record::Record;
use super::{Replay, SessionId};

/// The longest line read; a longer one is skipped (a whole conversation after a compaction is
/// far shorter).
const MAX_LINE: usize = 64 << 20;
/// The most lines read from one journal.
const MAX_LINES: usize = 10_000_000;
/// The largest journal read at all.
const MAX_FILE: u64 = 2 << 30;

#[derive(Debug, thiserror::Error)]
pub enum ReadError {
    #[error("cannot read session {}: {source}", .path.display())]
    Io { path: PathBuf, source: io::Error },
    #[error("{} is not a tzzr session (its first line is not a session header); delete it or move it out of the sessions directory", .path.display())]
    NoHeader { path: PathBuf },
    #[error("session {} is {size} bytes, more than tzzr reads ({MAX_FILE}); export what you need from it with another tool", .path.display())]
    TooLarge { path: PathBuf, size: u64 },
}

/// The records of a journal, in order, and whether its last line was cut short (a crash).
#[derive(Debug, Default)]
pub struct Lines {
    pub records: Vec<Record>,
    /// The last line had no newline: it was being written when the run died.
    pub torn: bool,
    /// Lines that were not a record (or too long), skipped.
    pub skipped: usize,
}

/// Reads the session journal at `path`.
pub fn read_file(path: &Path) -> Result<Replay, ReadError> {
    let io_error = |source| ReadError::Io {
        path: path.to_path_buf(),
        source,
    };
    let file = File::open(path).map_err(io_error)?;
    let meta = file.metadata().map_err(io_error)?;
    if !meta.is_file() {
        return Err(io_error(io::Error::new(
            io::ErrorKind::InvalidInput,
            "not a regular file",
        )));
    }
    if meta.len() > MAX_FILE {
        return Err(ReadError::TooLarge {
            path: path.to_path_buf(),
            size: meta.len(),
        });
    }
    let lines = read_records(file).map_err(io_error)?;
    let mut replay = Replay::from_lines(path, lines).ok_or_else(|| ReadError::NoHeader {
        path: path.to_path_buf(),
    })?;
    // The file's name is the session's id: a header naming another session (copied, edited)
    // must not send this run's records into that one's file.
    if let Some(id) = path
        .file_name()
        .and_then(|n| n.to_str())
        .and_then(SessionId::from_file_name)
    {
        replay.header.id = id;
    }
    Ok(replay)
}

/// The header of the journal at `path` (its first line only), if it is a session's.
pub fn read_header(path: &Path) -> Option<super::Header> {
    let file = File::open(path).ok()?;
    let mut line = Vec::new();
    BufReader::new(file)
        .take(64 << 10)
        .read_until(b'\n', &mut line)
        .ok()?;
    match serde_json::from_slice(&line).ok()? {
        Record::Session(header) => Some(header),
        _ => None,
    }
}

/// Every record in `input`, skipping what is not one.
pub fn read_records(input: impl Read) -> io::Result<Lines> {
    read_records_within(input, MAX_LINE)
}

fn read_records_within(input: impl Read, max_line: usize) -> io::Result<Lines> {
    let mut reader = BufReader::new(input);
    let mut lines = Lines::default();
    let mut line = Vec::new();
    for _ in 0..MAX_LINES {
        line.clear();
        let read = (&mut reader)
            .take(max_line as u64 + 1)
            .read_until(b'\n', &mut line)?;
        if read == 0 {
            break;
        }
        let complete = line.last() == Some(&b'\n');
        if !complete && line.len() > max_line {
            lines.skipped += 1;
            skip_rest_of_line(&mut reader)?;
            continue;
        }
        if !complete {
            // The last line, cut short: whatever it held was in flight.
            lines.torn = true;
            break;
        }
        match serde_json::from_slice::<Record>(&line) {
            Ok(record) => lines.records.push(record),
            Err(_) if line.iter().all(u8::is_ascii_whitespace) => {}
            Err(e) => {
                tracing::debug!("skipping a session line that is not a record: {e}");
                lines.skipped += 1;
            }
        }
    }
    Ok(lines)
}

fn skip_rest_of_line(reader: &mut impl BufRead) -> io::Result<()> {
    loop {
        let buf = reader.fill_buf()?;
        if buf.is_empty() {
            return Ok(());
        }
        match buf.iter().position(|&b| b == b'\n') {
            Some(at) => {
                reader.consume(at + 1);
                return Ok(());
            }
            None => {
                let len = buf.len();
                reader.consume(len);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const HEADER: &str = r#"{"record":"session","id":"20261129-100000-abcd","config":"/p/config.yaml","started":"2026-11-29T10:00:00Z","version":"0.1.0"}"#;

    #[test]
    fn a_torn_last_line_is_left_out() {
        let text = format!(
            "{HEADER}\n{}\n{}",
            r#"{"record":"event","event":{"agent":"a","turn":1,"at":"2026-11-29T10:00:01Z","event":"turn_started","prompt":"hi"}}"#,
            r#"{"record":"event","event":{"agent":"a","turn":1,"at":"2026-11-29T10:00:01Z","event":"text_d"#
        );
        let lines = read_records(text.as_bytes()).unwrap();
        assert_eq!(lines.records.len(), 2);
        assert!(lines.torn);
        assert_eq!(lines.skipped, 0);
    }

    #[test]
    fn hostile_lines_are_skipped_not_fatal() {
        let huge = "x".repeat(4096);
        let text = format!(
            "{HEADER}\n{huge}\nnot json\n{{\"record\":\"nope\"}}\n[1,2]\n\u{0}\u{1b}[2J\n\n{HEADER}\n"
        );
        let lines = read_records_within(text.as_bytes(), 1024).unwrap();
        assert_eq!(lines.records.len(), 2);
        assert_eq!(lines.skipped, 5);
        assert!(!lines.torn);
    }

    #[test]
    fn a_session_is_the_one_its_file_names() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("20261129-110000-ffff.jsonl");
        std::fs::write(&path, format!("{HEADER}\n")).unwrap();
        assert_eq!(
            read_file(&path).unwrap().header.id.as_str(),
            "20261129-110000-ffff"
        );
    }

    #[test]
    fn a_file_without_a_header_is_not_a_session() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("x.jsonl");
        std::fs::write(&path, "{\"record\":\"data\",\"kind\":\"k\",\"data\":1}\n").unwrap();
        let error = read_file(&path).unwrap_err();
        assert!(matches!(error, ReadError::NoHeader { .. }), "{error}");
    }
}
