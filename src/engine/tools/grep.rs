//! `grep`: regex search with ripgrep's crates, printed like `grep -n` (`path:line:text` in a
//! directory, `line:text` in one file); binary files are skipped and the output is capped.

use std::fs::{self, File};
use std::io;

use grep_regex::{RegexMatcher, RegexMatcherBuilder};
use grep_searcher::{BinaryDetection, Searcher, SearcherBuilder, Sink, SinkMatch};
use tokio_util::sync::CancellationToken;

use super::args::Args;
use super::beneath::Access;
use super::error::ToolError;
use super::limits::char_floor;
use super::sandbox::Sandbox;
use super::walk::project_walk;

/// Matching lines shown; the rest are only counted.
const SHOWN_MATCHES: usize = 500;
/// Bytes shown of one matching line (minified files have lines of megabytes).
const LINE_LIMIT: usize = 500;
/// A compiled pattern's size: ripgrep's default (100 MB) lets one pattern take gigabytes.
const REGEX_SIZE_LIMIT: usize = 10 << 20;
/// The lazy DFA's cache: ripgrep's default (1 GB) is what a pathological pattern on a long line
/// fills; past this the search goes on in bounded memory, only slower.
const REGEX_CACHE_LIMIT: usize = 10 << 20;
/// The longest line searched: the searcher holds a whole line in memory.
const LINE_BUFFER_LIMIT: usize = 16 << 20;

#[derive(Debug)]
pub struct Request {
    pattern: String,
    path: String,
    recursive: bool,
}

impl Request {
    pub fn from_args(args: &Args<'_>) -> Result<Self, ToolError> {
        Ok(Self {
            pattern: args.required_str("pattern")?,
            path: args.required_str("path")?,
            recursive: args.flag("recursive")?,
        })
    }

    pub fn run(&self, sandbox: &Sandbox, stop: &CancellationToken) -> Result<String, ToolError> {
        let matcher = RegexMatcherBuilder::new()
            .line_terminator(Some(b'\n'))
            .size_limit(REGEX_SIZE_LIMIT)
            .dfa_size_limit(REGEX_CACHE_LIMIT)
            .build(&self.pattern)
            .map_err(|error| {
                let error = error.to_string();
                ToolError::Failed(if error.contains("size limit") {
                    format!(
                        "the pattern is too complex: compiled, it passes the {} MB limit; write a simpler one",
                        REGEX_SIZE_LIMIT >> 20
                    )
                } else {
                    format!("invalid regex: {error}")
                })
            })?;
        let target = sandbox.resolve(&self.path)?;
        let meta = match fs::metadata(&target) {
            Ok(meta) => meta,
            Err(error) if error.kind() == io::ErrorKind::NotFound => {
                return Err(ToolError::Failed(format!(
                    "{}: No such file or directory",
                    self.path
                )));
            }
            Err(error) => return Err(ToolError::io(&self.path, error)),
        };
        let mut report = Report::default();
        if meta.is_dir() {
            if !self.recursive {
                return Err(ToolError::Failed(format!(
                    "{}: Is a directory (pass recursive: true to search in it)",
                    self.path
                )));
            }
            for entry in project_walk(&target).flatten() {
                if stop.is_cancelled() {
                    return Err(ToolError::Cancelled);
                }
                // Symlinks are not followed, as with `grep -r`: a link could lead outside.
                let is_file = entry.file_type().is_some_and(|kind| kind.is_file());
                if is_file && sandbox.protected_covering(entry.path()).is_none() {
                    let prefix = format!("{}:", sandbox.display(entry.path()));
                    // An unreadable (or protected, or swapped) file is skipped, as grep -s would.
                    let Ok(file) = sandbox.open(entry.path(), Access::Read) else {
                        continue;
                    };
                    if let Err(error) = report.search(&matcher, &file, prefix, stop)
                        && is_line_too_long(&error)
                    {
                        report.long_line_files += 1;
                    }
                }
            }
        } else if meta.is_file() {
            let file = sandbox
                .open(&target, Access::Read)
                .map_err(|error| ToolError::open(&self.path, error))?;
            report
                .search(&matcher, &file, String::new(), stop)
                .map_err(|error| {
                    if is_line_too_long(&error) {
                        ToolError::Failed(format!(
                            "{} has a line longer than {} MB; grep does not search such files",
                            self.path,
                            LINE_BUFFER_LIMIT >> 20
                        ))
                    } else {
                        ToolError::io(&self.path, error)
                    }
                })?;
        } else {
            return Err(ToolError::Failed(format!(
                "{}: not a regular file",
                self.path
            )));
        }
        if stop.is_cancelled() {
            return Err(ToolError::Cancelled);
        }
        Ok(report.render())
    }
}

/// What the search found so far, over all files.
#[derive(Debug, Default)]
struct Report {
    lines: Vec<String>,
    unshown: usize,
    binary_files: usize,
    long_line_files: usize,
}

/// Whether the searcher gave up on a file because a line did not fit its buffer (the crate says
/// so only in the message).
fn is_line_too_long(error: &io::Error) -> bool {
    error.to_string().contains("allocation limit")
}

impl Report {
    fn search(
        &mut self,
        matcher: &RegexMatcher,
        source: &File,
        prefix: String,
        stop: &CancellationToken,
    ) -> io::Result<()> {
        let mut searcher = SearcherBuilder::new()
            .line_number(true)
            .binary_detection(BinaryDetection::quit(0))
            .heap_limit(Some(LINE_BUFFER_LIMIT))
            .build();
        let mut file = FileMatches {
            prefix,
            room: SHOWN_MATCHES.saturating_sub(self.lines.len()),
            lines: Vec::new(),
            unshown: 0,
            is_binary: false,
            stop,
        };
        searcher.search_file(matcher, source, &mut file)?;
        // Matches found before the first NUL byte are dropped too: the file is binary.
        if file.is_binary {
            self.binary_files += 1;
        } else {
            self.lines.append(&mut file.lines);
            self.unshown += file.unshown;
        }
        Ok(())
    }

    fn render(self) -> String {
        let mut out = if self.lines.is_empty() {
            "(no matches)".to_owned()
        } else {
            self.lines.join("\n")
        };
        if self.unshown > 0 {
            out.push_str(&format!("\n[… {} more matches not shown]", self.unshown));
        }
        match self.binary_files {
            0 => {}
            1 => out.push_str("\n(1 binary file skipped)"),
            n => out.push_str(&format!("\n({n} binary files skipped)")),
        }
        match self.long_line_files {
            0 => {}
            n => out.push_str(&format!(
                "\n({n} file{} skipped: a line longer than {} MB)",
                if n == 1 { "" } else { "s" },
                LINE_BUFFER_LIMIT >> 20
            )),
        }
        out
    }
}

/// The matches of one file, held back until the search shows the file is not binary.
struct FileMatches<'a> {
    prefix: String,
    room: usize,
    lines: Vec<String>,
    unshown: usize,
    is_binary: bool,
    stop: &'a CancellationToken,
}

impl Sink for FileMatches<'_> {
    type Error = io::Error;

    fn matched(&mut self, _: &Searcher, found: &SinkMatch<'_>) -> Result<bool, io::Error> {
        if self.lines.len() < self.room {
            let text = String::from_utf8_lossy(found.bytes());
            let text = text.trim_end_matches(['\n', '\r']);
            let shown = &text[..char_floor(text, LINE_LIMIT)];
            let ellipsis = if shown.len() < text.len() { "…" } else { "" };
            let line = found.line_number().unwrap_or(0);
            self.lines
                .push(format!("{}{line}:{shown}{ellipsis}", self.prefix));
        } else {
            self.unshown += 1;
        }
        Ok(!self.stop.is_cancelled())
    }

    fn binary_data(&mut self, _: &Searcher, _offset: u64) -> Result<bool, io::Error> {
        self.is_binary = true;
        Ok(false)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::engine::tools::protected::Protected;
    use pretty_assertions::assert_eq;
    use serde_json::{Value, json};
    use tempfile::TempDir;

    fn workspace() -> (TempDir, Sandbox) {
        let temp = tempfile::tempdir().unwrap();
        let root = temp.path();
        for dir in ["src/engine", "target", ".git"] {
            fs::create_dir_all(root.join(dir)).unwrap();
        }
        fs::write(root.join("src/main.rs"), "fn main() {\n    todo!()\n}\n").unwrap();
        fs::write(
            root.join("src/engine/mod.rs"),
            "// todo: docs\npub mod x;\n",
        )
        .unwrap();
        fs::write(root.join("target/out.rs"), "todo\n").unwrap();
        fs::write(root.join(".git/HEAD"), "todo\n").unwrap();
        fs::write(root.join(".gitignore"), "target/\n").unwrap();
        fs::write(root.join("blob.bin"), b"todo\x00\x01\x02todo").unwrap();
        let sandbox = Sandbox::new(root, true);
        (temp, sandbox)
    }

    fn grep(sandbox: &Sandbox, args: Value) -> Result<String, String> {
        let args = Args::of("grep", &args).map_err(|e| e.to_string())?;
        let request = Request::from_args(&args).map_err(|e| e.to_string())?;
        request
            .run(sandbox, &CancellationToken::new())
            .map_err(|e| e.to_string())
    }

    #[test]
    fn a_single_file_prints_line_and_text() {
        let (_temp, sandbox) = workspace();
        assert_eq!(
            grep(
                &sandbox,
                json!({"pattern": "todo|main", "path": "src/main.rs"})
            ),
            Ok("1:fn main() {\n2:    todo!()".into())
        );
    }

    #[test]
    fn a_directory_prints_path_line_and_text_skipping_ignored_git_and_binary_files() {
        let (_temp, sandbox) = workspace();
        assert_eq!(
            grep(&sandbox, json!({"pattern": "todo", "path": ".", "recursive": true})),
            Ok(
                "src/engine/mod.rs:1:// todo: docs\nsrc/main.rs:2:    todo!()\n(1 binary file skipped)"
                    .into()
            )
        );
    }

    #[test]
    fn paths_stay_relative_to_the_working_dir() {
        let (_temp, sandbox) = workspace();
        assert_eq!(
            grep(
                &sandbox,
                json!({"pattern": "pub", "path": "src/engine", "recursive": "true"})
            ),
            Ok("src/engine/mod.rs:2:pub mod x;".into())
        );
    }

    #[test]
    fn no_match_is_ok() {
        let (_temp, sandbox) = workspace();
        assert_eq!(
            grep(
                &sandbox,
                json!({"pattern": "nothing here", "path": "src/main.rs"})
            ),
            Ok("(no matches)".into())
        );
    }

    #[test]
    fn a_bad_regex_reports_the_regex_error() {
        let (_temp, sandbox) = workspace();
        let err = grep(&sandbox, json!({"pattern": "fn (", "path": "src/main.rs"})).unwrap_err();
        assert!(err.starts_with("invalid regex: "), "{err}");
        assert!(err.contains("unclosed group"), "{err}");
    }

    #[test]
    fn a_directory_without_recursive_is_refused_like_grep() {
        let (_temp, sandbox) = workspace();
        assert_eq!(
            grep(&sandbox, json!({"pattern": "x", "path": "src"})),
            Err("src: Is a directory (pass recursive: true to search in it)".into())
        );
    }

    #[test]
    fn missing_and_outside_paths_are_errors() {
        let (_temp, sandbox) = workspace();
        assert_eq!(
            grep(&sandbox, json!({"pattern": "x", "path": "nope.rs"})),
            Err("nope.rs: No such file or directory".into())
        );
        let err = grep(&sandbox, json!({"pattern": "root", "path": "/etc/passwd"})).unwrap_err();
        assert!(
            err.starts_with("path outside the working directory"),
            "{err}"
        );
    }

    #[test]
    fn output_is_capped_at_500_matches_and_counts_the_rest() {
        let (temp, sandbox) = workspace();
        let text: String = (1..=620).map(|i| format!("hit {i}\n")).collect();
        fs::write(temp.path().join("many.txt"), text).unwrap();
        let out = grep(&sandbox, json!({"pattern": "hit", "path": "many.txt"})).unwrap();
        let lines: Vec<&str> = out.lines().collect();
        assert_eq!(lines.len(), 501);
        assert_eq!(lines[0], "1:hit 1");
        assert_eq!(lines[499], "500:hit 500");
        assert_eq!(lines[500], "[… 120 more matches not shown]");
    }

    #[test]
    fn long_lines_are_cut() {
        let (temp, sandbox) = workspace();
        let line = format!("needle {}", "é".repeat(1_000));
        fs::write(temp.path().join("long.txt"), &line).unwrap();
        let out = grep(&sandbox, json!({"pattern": "needle", "path": "long.txt"})).unwrap();
        assert!(out.starts_with("1:needle é"));
        assert!(out.ends_with('…'));
        assert!(out.len() <= "1:".len() + LINE_LIMIT + "…".len());
    }

    #[test]
    fn a_pattern_too_big_to_compile_is_refused_at_once() {
        let (_temp, sandbox) = workspace();
        assert_eq!(
            grep(&sandbox, json!({"pattern": r"\w{1000}\d", "path": "src/main.rs"})),
            Err("the pattern is too complex: compiled, it passes the 10 MB limit; write a simpler one".into())
        );
    }

    #[test]
    fn a_line_too_long_to_hold_skips_its_file() {
        let (temp, sandbox) = workspace();
        let mut huge = "x".repeat(LINE_BUFFER_LIMIT + 1);
        huge.push_str(" todo\n");
        fs::write(temp.path().join("src/min.js"), huge).unwrap();
        assert_eq!(
            grep(&sandbox, json!({"pattern": "todo", "path": "src/min.js"})),
            Err("src/min.js has a line longer than 16 MB; grep does not search such files".into())
        );
        assert_eq!(
            grep(&sandbox, json!({"pattern": "todo", "path": "src", "recursive": true})),
            Ok("src/engine/mod.rs:1:// todo: docs\nsrc/main.rs:2:    todo!()\n(1 file skipped: a line longer than 16 MB)".into())
        );
    }

    #[test]
    fn protected_files_are_not_searched() {
        let (temp, sandbox) = workspace();
        fs::write(temp.path().join(".env"), "OPENAI_API_KEY=sk-todo-secret\n").unwrap();
        let root = temp.path().canonicalize().unwrap();
        let sandbox = sandbox.protecting(std::sync::Arc::new(Protected::new([root.join(".env")])));
        let out = grep(
            &sandbox,
            json!({"pattern": "todo", "path": ".", "recursive": true}),
        )
        .unwrap();
        assert!(!out.contains("secret"), "{out}");
        let err = grep(&sandbox, json!({"pattern": "KEY", "path": ".env"})).unwrap_err();
        assert!(err.starts_with(".env is off limits"), "{err}");
    }

    #[test]
    fn a_cancelled_search_stops_between_files() {
        let (temp, sandbox) = workspace();
        for i in 0..50 {
            fs::write(temp.path().join(format!("f{i}.txt")), "todo\n").unwrap();
        }
        let args = json!({"pattern": "todo", "path": ".", "recursive": true});
        let args = Args::of("grep", &args).unwrap();
        let stop = CancellationToken::new();
        stop.cancel();
        let outcome = Request::from_args(&args).unwrap().run(&sandbox, &stop);
        assert!(matches!(outcome, Err(ToolError::Cancelled)), "{outcome:?}");
    }

    #[test]
    fn a_symlink_to_a_file_outside_is_not_searched() {
        let (temp, sandbox) = workspace();
        let outside = tempfile::tempdir().unwrap();
        fs::write(outside.path().join("secret.txt"), "password=hunter2\n").unwrap();
        std::os::unix::fs::symlink(
            outside.path().join("secret.txt"),
            temp.path().join("src/link.txt"),
        )
        .unwrap();
        assert_eq!(
            grep(
                &sandbox,
                json!({"pattern": "password", "path": "src", "recursive": true})
            ),
            Ok("(no matches)".into())
        );
    }
}
