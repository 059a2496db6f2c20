//! What is kept of a process's output: everything while it fits what a model may read; beyond
//! that, only its head and its tail in memory, while the whole of it goes to a file.

use std::fs::File;
use std::io::{BufWriter, Write};
use std::path::{Path, PathBuf};

use super::clean::StreamCleaner;
use super::spill;
use crate::engine::tools::limits::{OUTPUT_LIMIT, char_floor};

/// Room left under `OUTPUT_LIMIT` for the notes tzzr adds (what was left out, the exit code).
const NOTES_ROOM: usize = 1_000;
/// The most output shown whole; longer output shows its first and last `SHOWN / 2` bytes.
const SHOWN: usize = OUTPUT_LIMIT - NOTES_ROOM;
const HEAD: usize = SHOWN / 2;
const TAIL: usize = SHOWN / 2;

/// The output of one call as it arrives, cleaned of terminal control sequences.
#[derive(Debug)]
pub struct Capture {
    cleaner: StreamCleaner,
    /// Everything so far, until it outgrows `SHOWN`; then the first `HEAD` bytes.
    head: String,
    /// The last bytes (between `TAIL` and `2 * TAIL` of them) once the output outgrew `SHOWN`.
    tail: String,
    /// Bytes of cleaned output so far.
    total: usize,
    spill: Spill,
    /// Where the whole output goes once it outgrows `SHOWN`.
    spill_dir: PathBuf,
    tool: &'static str,
    /// Cleaned text waiting to be taken in (one allocation reused across reads).
    scratch: String,
}

#[derive(Debug)]
enum Spill {
    /// Everything is still in `head`.
    NotNeeded,
    Writing {
        file: BufWriter<File>,
        path: PathBuf,
    },
    /// The file could not be made or written: the model still gets head and tail.
    Failed(String),
}

/// What a model gets of an output.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Captured {
    /// All of it, or its head and tail around a note saying how much was left out.
    pub text: String,
    /// Bytes of cleaned output in all.
    pub total: usize,
    /// The file holding all of it, when `text` does not.
    pub full_output: Option<PathBuf>,
}

impl Capture {
    /// A capture that spills into a new file in `spill_dir` (named after `tool`) when needed.
    pub fn new(spill_dir: &Path, tool: &'static str) -> Self {
        Self {
            cleaner: StreamCleaner::default(),
            head: String::new(),
            tail: String::new(),
            total: 0,
            spill: Spill::NotNeeded,
            spill_dir: spill_dir.to_path_buf(),
            tool,
            scratch: String::new(),
        }
    }

    /// Takes the next bytes of output.
    pub fn feed(&mut self, bytes: &[u8]) {
        let mut clean = std::mem::take(&mut self.scratch);
        self.cleaner.feed(bytes, &mut clean);
        self.take(&clean);
        clean.clear();
        self.scratch = clean;
    }

    /// Everything captured, once the process is done writing.
    pub fn finish(mut self) -> Captured {
        let mut last = String::new();
        self.cleaner.finish(&mut last);
        self.take(&last);
        let (text, full_output) = match self.spill {
            Spill::NotNeeded => (self.head, None),
            Spill::Writing { mut file, path } => match file.flush() {
                Ok(()) => (joined(&self.head, &self.tail, self.total, None), Some(path)),
                Err(e) => {
                    let why = format!("cannot write {}: {e}", path.display());
                    (joined(&self.head, &self.tail, self.total, Some(&why)), None)
                }
            },
            Spill::Failed(why) => (joined(&self.head, &self.tail, self.total, Some(&why)), None),
        };
        Captured {
            text,
            total: self.total,
            full_output,
        }
    }

    fn take(&mut self, clean: &str) {
        if clean.is_empty() {
            return;
        }
        self.total += clean.len();
        match &mut self.spill {
            Spill::NotNeeded if self.head.len() + clean.len() <= SHOWN => {
                self.head.push_str(clean);
            }
            Spill::NotNeeded => {
                self.head.push_str(clean);
                self.start_spilling();
            }
            Spill::Writing { file, path } => {
                if let Err(e) = file.write_all(clean.as_bytes()) {
                    let why = format!("cannot write {}: {e}", path.display());
                    tracing::warn!("{why}");
                    self.spill = Spill::Failed(why);
                }
                push_tail(&mut self.tail, clean);
            }
            Spill::Failed(_) => push_tail(&mut self.tail, clean),
        }
    }

    /// The output outgrew `SHOWN`: everything so far (all in `head`) goes to the file, and
    /// `head` keeps its first `HEAD` bytes, `tail` the rest up to `TAIL`.
    fn start_spilling(&mut self) {
        self.spill = match spill::create(&self.spill_dir, self.tool) {
            Ok((file, path)) => {
                let mut file = BufWriter::with_capacity(256 * 1024, file);
                match file.write_all(self.head.as_bytes()) {
                    Ok(()) => Spill::Writing { file, path },
                    Err(e) => Spill::Failed(format!("cannot write {}: {e}", path.display())),
                }
            }
            Err(e) => Spill::Failed(format!(
                "cannot keep the whole output in {}: {e}",
                self.spill_dir.display()
            )),
        };
        if let Spill::Failed(why) = &self.spill {
            tracing::warn!("{why}");
        }
        let cut = char_floor(&self.head, HEAD);
        let rest = self.head.split_off(cut);
        push_tail(&mut self.tail, &rest);
    }
}

/// Appends `text` to `tail`, dropping from its front whatever is more than `TAIL` bytes back
/// (in batches, so that each byte is moved about once).
fn push_tail(tail: &mut String, text: &str) {
    if text.len() >= TAIL {
        tail.clear();
        let start = ceil_char(text, text.len() - TAIL);
        tail.push_str(&text[start..]);
        return;
    }
    tail.push_str(text);
    if tail.len() > 2 * TAIL {
        let start = ceil_char(tail, tail.len() - TAIL);
        tail.drain(..start);
    }
}

/// The smallest char boundary of `text` at or above `index`.
fn ceil_char(text: &str, index: usize) -> usize {
    let mut at = index.min(text.len());
    while !text.is_char_boundary(at) {
        at += 1;
    }
    at
}

/// Head, the note on what was left out, and the last `TAIL` bytes of `tail`.
fn joined(head: &str, tail: &str, total: usize, spill_failure: Option<&str>) -> String {
    let tail = &tail[ceil_char(tail, tail.len().saturating_sub(TAIL))..];
    let left_out = total - head.len() - tail.len();
    let mut text = String::with_capacity(head.len() + tail.len() + 200);
    text.push_str(head);
    if !head.ends_with('\n') {
        text.push('\n');
    }
    text.push_str(&format!(
        "[… {left_out} of {total} bytes left out here; narrow the command (grep, head, tail) to see them"
    ));
    if let Some(why) = spill_failure {
        text.push_str(&format!("; {why}"));
    }
    text.push_str(" …]\n");
    text.push_str(tail);
    text
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::fs;

    fn capture(dir: &Path, pieces: &[&[u8]]) -> Captured {
        let mut capture = Capture::new(dir, "bash");
        for piece in pieces {
            capture.feed(piece);
        }
        capture.finish()
    }

    #[test]
    fn short_output_is_kept_whole_and_clean() {
        let temp = tempfile::tempdir().unwrap();
        let out = capture(temp.path(), &[b"one\n\x1b[1mtwo", b"\x1b[0m\n"]);
        assert_eq!(
            out,
            Captured {
                text: "one\ntwo\n".into(),
                total: 8,
                full_output: None
            }
        );
        assert!(!temp.path().exists() || fs::read_dir(temp.path()).unwrap().count() == 0);
    }

    #[test]
    fn long_output_shows_head_and_tail_and_keeps_the_whole_on_disk() {
        let temp = tempfile::tempdir().unwrap();
        let dir = temp.path().join("outputs");
        let lines: Vec<String> = (0..100_000).map(|n| format!("line {n}\n")).collect();
        let whole = lines.concat();
        let pieces: Vec<&[u8]> = whole.as_bytes().chunks(4096).collect();
        let out = capture(&dir, &pieces);

        assert_eq!(out.total, whole.len());
        assert!(out.text.len() <= OUTPUT_LIMIT, "{}", out.text.len());
        assert!(out.text.starts_with("line 0\nline 1\n"));
        assert!(out.text.ends_with("line 99998\nline 99999\n"));
        let left_out = whole.len() - HEAD - TAIL;
        assert!(
            out.text.contains(&format!(
                "[… {left_out} of {} bytes left out here;",
                whole.len()
            )),
            "{}",
            &out.text[HEAD - 100..HEAD + 200]
        );
        let file = out.full_output.unwrap();
        assert_eq!(fs::read_to_string(file).unwrap(), whole);
    }

    #[test]
    fn the_head_and_tail_meet_exactly_at_the_limit() {
        let temp = tempfile::tempdir().unwrap();
        let exact = "x".repeat(SHOWN);
        let out = capture(temp.path(), &[exact.as_bytes()]);
        assert_eq!(out.text, exact);
        assert_eq!(out.full_output, None);
        let over = "x".repeat(SHOWN + 1);
        let out = capture(temp.path(), &[over.as_bytes()]);
        assert!(
            out.text.contains("[… 1 of"),
            "{}",
            &out.text[HEAD..HEAD + 100]
        );
        assert!(out.full_output.is_some());
    }

    #[test]
    fn when_the_file_cannot_be_made_the_model_still_gets_head_and_tail() {
        let temp = tempfile::tempdir().unwrap();
        let blocker = temp.path().join("not-a-dir");
        fs::write(&blocker, "").unwrap();
        let big = "y".repeat(3 * OUTPUT_LIMIT);
        let out = capture(&blocker.join("outputs"), &[big.as_bytes()]);
        assert_eq!(out.full_output, None);
        assert!(
            out.text.contains("cannot keep the whole output in"),
            "{}",
            &out.text[HEAD..HEAD + 300]
        );
        assert!(out.text.len() <= OUTPUT_LIMIT);
    }

    #[test]
    fn the_tail_never_splits_a_character() {
        let mut tail = String::new();
        for _ in 0..10 {
            push_tail(&mut tail, &"é✓".repeat(TAIL / 3));
        }
        assert!(tail.len() <= 2 * TAIL);
        push_tail(&mut tail, &"✓".repeat(TAIL));
        assert!(tail.len() <= TAIL && tail.chars().all(|c| c == '✓'));
    }
}
