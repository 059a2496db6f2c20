//! What an agent said and did, on disk as it happens: `LOG_DIR/<agent>.md` (v6's markdown log:
//! PROMPT, TOOL, RESULT, ERROR entries, never truncated) and `LOG_DIR/<agent>.jsonl` (every event).
//! Entries are formatted here, on the agent's task, and written by the [`JournalWriter`] thread
//! (buffered, at most [`FLUSH_EVERY`](crate::engine::journal_writer::FLUSH_EVERY) late), so a crash
//! loses at most the last moment's events. Both files are opened without following links
//! ([`LogDir`]); the markdown log holds no escape sequence and the JSONL journal no raw control
//! character, so printing either is safe.

use std::collections::HashMap;
use std::io::{self, Write};
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use jiff::tz::TimeZone;
use jiff::{Timestamp, ZonedDateTime};

use crate::engine::journal_writer::{JournalWriter, LogFile, Queue};
use crate::engine::json_text;
use crate::engine::protocol::{AgentEvent, CallId, EventKind, Outcome};
use crate::sanitize;

/// What the log header says about the agent.
#[derive(Clone, Copy, Debug)]
pub struct JournalHeader<'a> {
    pub agent: &'a str,
    pub provider: &'a str,
    pub model: &'a str,
    pub tools: &'a [String],
}

#[derive(Debug)]
pub struct Journal {
    md: Arc<LogFile>,
    jsonl: Arc<LogFile>,
    queue: Queue,
    /// The zone the markdown log's times are written in (the system's local zone).
    time_zone: TimeZone,
    /// Arguments of requested tool calls, kept until the call finishes: the finished event,
    /// which the TOOL entry is written from, does not repeat them.
    pending_args: HashMap<CallId, serde_json::Value>,
}

impl Journal {
    /// Opens (creating `log_dir` and the files as needed) the agent's two logs, once, to check
    /// them: a new markdown log gets v6's header now. A log directory or file that is a
    /// symbolic link is refused, naming it. Nothing stays open: `writer` writes the entries.
    pub fn open(
        writer: &JournalWriter,
        log_dir: &Path,
        header: &JournalHeader<'_>,
    ) -> io::Result<Self> {
        Self::open_in(
            writer,
            log_dir,
            header,
            TimeZone::system(),
            Timestamp::now(),
        )
    }

    fn open_in(
        writer: &JournalWriter,
        log_dir: &Path,
        header: &JournalHeader<'_>,
        time_zone: TimeZone,
        now: Timestamp,
    ) -> io::Result<Self> {
        let dir = writer.log_dir(log_dir)?;
        let md = LogFile::new(dir.clone(), &md_file_name(header.agent));
        let jsonl = LogFile::new(dir.clone(), &jsonl_file_name(header.agent));
        let mut md_file = dir.append(&md_file_name(header.agent))?;
        dir.append(&jsonl_file_name(header.agent))?;
        if md_file.metadata()?.len() == 0 {
            let created = now.to_zoned_datetime(time_zone.clone());
            let text = header_text(header, &created);
            md_file.write_all(sanitize::for_plain_text(&text).as_bytes())?;
        }
        Ok(Self {
            md: Arc::new(md),
            jsonl: Arc::new(jsonl),
            queue: writer.queue(),
            time_zone,
            pending_args: HashMap::new(),
        })
    }

    /// Hands the event to the writer: for the JSONL journal and, for the events v6 logged, the
    /// markdown log. Never waits. An error says why a log could not be written (once).
    pub fn record(&mut self, event: &AgentEvent) -> Result<(), String> {
        let mut line = json_text::compact(event).map_err(|e| e.to_string())?;
        line.push('\n');
        self.queue.append(&self.jsonl, line.into_bytes());
        if let Some((kind, content)) = self.md_entry(&event.kind) {
            let at = event.at.to_zoned_datetime(self.time_zone.clone());
            let entry = format!("\n## {} | {kind}\n\n{content}\n", log_time(&at));
            self.queue.append(
                &self.md,
                sanitize::for_plain_text(&entry).into_owned().into_bytes(),
            );
        }
        match self.md.take_failure().or_else(|| self.jsonl.take_failure()) {
            Some(error) => Err(error),
            None => Ok(()),
        }
    }

    /// Waits until the writer has room for what this journal holds back (the disk is slow).
    pub async fn catch_up(&mut self) {
        self.queue.catch_up().await;
    }

    /// Waits until every event recorded so far is on disk.
    pub async fn sync(&mut self) {
        self.queue.sync().await;
    }

    /// The markdown entry (type and content) an event adds, if any.
    fn md_entry(&mut self, kind: &EventKind) -> Option<(&'static str, String)> {
        match kind {
            EventKind::TurnStarted { prompt } => Some(("PROMPT", prompt.clone())),
            EventKind::ToolCallRequested { call, args, .. } => {
                self.pending_args.insert(call.clone(), args.clone());
                None
            }
            EventKind::ToolCallFinished {
                call,
                tool,
                ok,
                output,
                duration,
                full_output,
            } => {
                let args = self.pending_args.remove(call);
                let mut entry = tool_entry(tool, *ok, *duration, args.as_ref(), output);
                if let Some(path) = full_output {
                    entry.push_str(&format!("\n\nThe whole output: {}", path.display()));
                }
                Some(("TOOL", entry))
            }
            EventKind::TurnFinished { outcome } => {
                // A cancelled or failed turn leaves calls that never finished.
                self.pending_args.clear();
                Some(match outcome {
                    Outcome::Done { text } => ("RESULT", text.clone()),
                    Outcome::Stopped { text, reason } => {
                        ("STOPPED", format!("{}.\n\n{text}", reason.describe()))
                    }
                    Outcome::Failed { error, .. } => ("ERROR", error.clone()),
                    Outcome::Cancelled => ("CANCELLED", "The turn was cancelled.".to_owned()),
                })
            }
            EventKind::Notice { text } => Some(("NOTE", text.clone())),
            EventKind::FallbackTaken { from, to, why } => Some((
                "FALLBACK",
                format!("Going on with {to} instead of {from}: {why}"),
            )),
            EventKind::Compacted {
                before_tokens,
                after_tokens,
                messages,
            } => Some((
                "COMPACTED",
                format!(
                    "{messages} older messages were replaced by a summary: about {before_tokens} → {after_tokens} tokens."
                ),
            )),
            EventKind::TextDelta { .. }
            | EventKind::Reasoning { .. }
            | EventKind::ApprovalNeeded { .. }
            | EventKind::Retry { .. }
            | EventKind::Waiting { .. }
            | EventKind::Usage { .. }
            | EventKind::Context { .. }
            | EventKind::Endpoint { .. }
            | EventKind::Health { .. } => None,
        }
    }

    pub fn md_path(&self) -> &Path {
        self.md.path()
    }

    pub fn jsonl_path(&self) -> &Path {
        self.jsonl.path()
    }
}

/// The markdown log's file name for an agent (names are made safe for a file system).
pub fn md_file_name(agent: &str) -> String {
    format!("{}.md", file_stem(agent))
}

/// The JSONL journal's file name for an agent, beside its markdown log.
pub fn jsonl_file_name(agent: &str) -> String {
    format!("{}.jsonl", file_stem(agent))
}

/// The last `n` entries of a markdown log (v6's `read_log(last_n)`), from the `## ` of the first
/// of them; the whole log, header included, when it has `n` entries or fewer.
pub fn last_entries(md: &str, n: usize) -> &str {
    if n == 0 {
        return "";
    }
    let starts: Vec<usize> = md
        .match_indices("\n## ")
        .map(|(at, _)| at + 1)
        .filter(|&start| is_entry_heading(&md[start..]))
        .collect();
    match starts.len().checked_sub(n) {
        Some(first) => &md[starts[first]..],
        None => md,
    }
}

/// Whether `text` starts with an entry heading (`## YYYY-MM-DD HH:MM:SS | `), not a heading the
/// model wrote inside an entry.
fn is_entry_heading(text: &str) -> bool {
    const PATTERN: &[u8] = b"## 0000-00-00 00:00:00 | ";
    let bytes = text.as_bytes();
    bytes.len() >= PATTERN.len()
        && PATTERN.iter().zip(bytes).all(|(&want, &got)| match want {
            b'0' => got.is_ascii_digit(),
            _ => got == want,
        })
}

/// An agent's name made safe for a file name (the stem of its logs).
pub fn file_stem(agent: &str) -> String {
    if agent.is_empty() {
        return "_".to_owned();
    }
    agent
        .chars()
        .map(|c| match c {
            'A'..='Z' | 'a'..='z' | '0'..='9' | '.' | '_' | '-' => c,
            _ => '_',
        })
        .collect()
}

fn header_text(header: &JournalHeader<'_>, created: &ZonedDateTime) -> String {
    let tools = if header.tools.is_empty() {
        "none".to_owned()
    } else {
        header.tools.join(", ")
    };
    let created = created.timestamp().display_with_offset(created.offset());
    format!(
        "# {}\n\n- **Created:** {created}\n- **Provider:** {}\n- **Model:** {}\n- **Tools:** {tools}\n\n---\n\n",
        header.agent, header.provider, header.model
    )
}

/// v6's entry time: `YYYY-MM-DD HH:MM:SS`, local.
fn log_time(at: &ZonedDateTime) -> String {
    let t = at.datetime();
    format!(
        "{:04}-{:02}-{:02} {:02}:{:02}:{:02}",
        t.year(),
        t.month(),
        t.day(),
        t.hour(),
        t.minute(),
        t.second()
    )
}

fn tool_entry(
    tool: &str,
    ok: bool,
    duration: Duration,
    args: Option<&serde_json::Value>,
    output: &str,
) -> String {
    let mark = if ok { "✅" } else { "❌" };
    let mut entry = format!("**{tool}** {mark} ({} ms)\n\n", duration.as_millis());
    if let Some(args) = args {
        let pretty = serde_json::to_string_pretty(args).unwrap_or_else(|_| args.to_string());
        entry.push_str(&fenced("json", &pretty));
        entry.push_str("\n\n");
    }
    entry.push_str(&fenced("", output));
    entry
}

/// `body` in a code fence longer than any run of backticks inside it, so it cannot close early.
fn fenced(lang: &str, body: &str) -> String {
    let longest_run = body.split(|c| c != '`').map(str::len).max().unwrap_or(0);
    let fence = "`".repeat(longest_run.max(2) + 1);
    let newline = if body.is_empty() || body.ends_with('\n') {
        ""
    } else {
        "\n"
    };
    format!("{fence}{lang}\n{body}{newline}{fence}")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::engine::protocol::{TokenUsage, TurnId};
    use pretty_assertions::assert_eq;
    use serde_json::json;

    const HEADER_AT: &str = "2026-11-25T09:00:00Z";

    fn header<'a>(agent: &'a str, tools: &'a [String]) -> JournalHeader<'a> {
        JournalHeader {
            agent,
            provider: "litellm",
            model: "gpt-4o",
            tools,
        }
    }

    fn writer() -> JournalWriter {
        JournalWriter::start()
    }

    fn open(dir: &Path, agent: &str) -> Journal {
        open_with(&writer(), dir, agent)
    }

    fn open_with(writer: &JournalWriter, dir: &Path, agent: &str) -> Journal {
        let tools = ["read".to_owned(), "bash".to_owned()];
        Journal::open_in(
            writer,
            dir,
            &header(agent, &tools),
            TimeZone::UTC,
            HEADER_AT.parse().unwrap(),
        )
        .unwrap()
    }

    fn event(second: u32, kind: EventKind) -> AgentEvent {
        AgentEvent {
            agent: "coder".into(),
            turn: TurnId(1),
            at: format!("2026-11-25T10:00:{second:02}Z").parse().unwrap(),
            kind,
        }
    }

    fn finished(call: &str, ok: bool, output: &str) -> EventKind {
        EventKind::ToolCallFinished {
            call: CallId(call.to_owned()),
            tool: "bash".to_owned(),
            ok,
            output: output.to_owned(),
            duration: Duration::from_millis(12),
            full_output: None,
        }
    }

    fn read(path: &Path) -> String {
        std::fs::read_to_string(path).unwrap()
    }

    async fn read_md(journal: &mut Journal) -> String {
        journal.sync().await;
        read(journal.md_path())
    }

    async fn read_jsonl(journal: &mut Journal) -> String {
        journal.sync().await;
        read(journal.jsonl_path())
    }

    const HEADER: &str = "# coder\n\n- **Created:** 2026-11-25T09:00:00+00:00\n- **Provider:** litellm\n- **Model:** gpt-4o\n- **Tools:** read, bash\n\n---\n\n";

    #[tokio::test]
    async fn a_new_log_starts_with_v6s_header() {
        let dir = tempfile::tempdir().unwrap();
        let mut journal = open(&dir.path().join("logs"), "coder");
        assert_eq!(read_md(&mut journal).await, HEADER);
        assert_eq!(read_jsonl(&mut journal).await, "");
    }

    #[tokio::test]
    async fn an_agent_without_tools_says_none() {
        let dir = tempfile::tempdir().unwrap();
        let mut journal = Journal::open_in(
            &writer(),
            dir.path(),
            &header("solo", &[]),
            TimeZone::UTC,
            HEADER_AT.parse().unwrap(),
        )
        .unwrap();
        assert!(read_md(&mut journal).await.contains("- **Tools:** none\n"));
    }

    #[tokio::test]
    async fn reopening_appends_without_a_second_header() {
        let dir = tempfile::tempdir().unwrap();
        let prompt = |text: &str| {
            event(
                0,
                EventKind::TurnStarted {
                    prompt: text.to_owned(),
                },
            )
        };
        let writer = writer();
        open_with(&writer, dir.path(), "coder")
            .record(&prompt("first"))
            .unwrap();
        let mut journal = open_with(&writer, dir.path(), "coder");
        journal.record(&prompt("second")).unwrap();

        let md = read_md(&mut journal).await;
        assert_eq!(md.matches("# coder\n").count(), 1);
        assert!(md.ends_with(
            "\n## 2026-11-25 10:00:00 | PROMPT\n\nfirst\n\n## 2026-11-25 10:00:00 | PROMPT\n\nsecond\n"
        ));
        assert_eq!(read_jsonl(&mut journal).await.lines().count(), 2);
    }

    #[tokio::test]
    async fn each_logged_event_kind_becomes_a_v6_entry() {
        let dir = tempfile::tempdir().unwrap();
        let mut journal = open(dir.path(), "coder");
        let events = [
            EventKind::TurnStarted {
                prompt: "list files".to_owned(),
            },
            EventKind::TextDelta {
                text: "Let me look.".to_owned(),
            },
            EventKind::ToolCallRequested {
                call: CallId("call_1".to_owned()),
                tool: "bash".to_owned(),
                args: json!({"command": "ls"}),
                runs_in_provider: false,
            },
            finished("call_1", true, "a.txt\nb.txt\n"),
            finished("call_2", false, "no such file"),
            EventKind::Usage {
                model: "gpt-4o".to_owned(),
                usage: TokenUsage::default(),
                cost_usd: 0.0,
                priced: true,
                estimated: false,
                local: false,
            },
            EventKind::Notice {
                text: "fell back to gpt-4o-mini".to_owned(),
            },
            EventKind::TurnFinished {
                outcome: Outcome::Done {
                    text: "Two files.".to_owned(),
                },
            },
            EventKind::TurnFinished {
                outcome: Outcome::Failed {
                    error: "rate limited".to_owned(),
                    kind: crate::engine::protocol::FailureKind::Other,
                },
            },
            EventKind::TurnFinished {
                outcome: Outcome::Cancelled,
            },
        ];
        for (second, kind) in (0..).zip(events) {
            journal.record(&event(second, kind)).unwrap();
        }

        let expected = [
            HEADER,
            "\n## 2026-11-25 10:00:00 | PROMPT\n\nlist files\n",
            "\n## 2026-11-25 10:00:03 | TOOL\n\n**bash** ✅ (12 ms)\n\n```json\n{\n  \"command\": \"ls\"\n}\n```\n\n```\na.txt\nb.txt\n```\n",
            "\n## 2026-11-25 10:00:04 | TOOL\n\n**bash** ❌ (12 ms)\n\n```\nno such file\n```\n",
            "\n## 2026-11-25 10:00:06 | NOTE\n\nfell back to gpt-4o-mini\n",
            "\n## 2026-11-25 10:00:07 | RESULT\n\nTwo files.\n",
            "\n## 2026-11-25 10:00:08 | ERROR\n\nrate limited\n",
            "\n## 2026-11-25 10:00:09 | CANCELLED\n\nThe turn was cancelled.\n",
        ]
        .concat();
        assert_eq!(read_md(&mut journal).await, expected);
    }

    #[tokio::test]
    async fn prompts_and_results_are_never_cut() {
        let dir = tempfile::tempdir().unwrap();
        let mut journal = open(dir.path(), "coder");
        let long = "x".repeat(5_000);
        journal
            .record(&event(
                0,
                EventKind::TurnStarted {
                    prompt: long.clone(),
                },
            ))
            .unwrap();
        journal
            .record(&event(
                1,
                EventKind::TurnFinished {
                    outcome: Outcome::Done { text: long.clone() },
                },
            ))
            .unwrap();
        assert_eq!(read_md(&mut journal).await.matches(&long).count(), 2);
    }

    #[test]
    fn tool_output_fences_outlast_the_backticks_inside() {
        assert_eq!(fenced("", "plain"), "```\nplain\n```");
        assert_eq!(
            fenced("", "```rust\nfn x() {}\n```"),
            "````\n```rust\nfn x() {}\n```\n````"
        );
        assert_eq!(fenced("json", "a `````b"), "``````json\na `````b\n``````");
        assert_eq!(fenced("", ""), "```\n```");
    }

    #[tokio::test]
    async fn tool_arguments_with_backticks_are_fenced_safely() {
        let dir = tempfile::tempdir().unwrap();
        let mut journal = open(dir.path(), "coder");
        journal
            .record(&event(
                0,
                EventKind::ToolCallRequested {
                    call: CallId("c".to_owned()),
                    tool: "bash".to_owned(),
                    args: json!({"command": "printf '````'"}),
                    runs_in_provider: false,
                },
            ))
            .unwrap();
        journal
            .record(&event(1, finished("c", true, "````")))
            .unwrap();
        let md = read_md(&mut journal).await;
        assert!(md.contains(
            "`````json\n{\n  \"command\": \"printf '````'\"\n}\n`````\n\n`````\n````\n`````\n"
        ));
    }

    #[tokio::test]
    async fn every_event_is_one_jsonl_line_that_parses_back() {
        let dir = tempfile::tempdir().unwrap();
        let mut journal = open(dir.path(), "coder");
        let events = [
            event(
                0,
                EventKind::TextDelta {
                    text: "line one\nline two".to_owned(),
                },
            ),
            event(1, finished("call_1", true, "out\n")),
            event(
                2,
                EventKind::Retry {
                    attempt: 1,
                    wait: Duration::from_millis(500),
                    reason: "429".to_owned(),
                },
            ),
        ];
        for e in &events {
            journal.record(e).unwrap();
        }
        let jsonl = read_jsonl(&mut journal).await;
        let lines: Vec<&str> = jsonl.lines().collect();
        assert_eq!(lines.len(), events.len());
        for (line, e) in lines.iter().zip(&events) {
            let parsed: serde_json::Value = serde_json::from_str(line).unwrap();
            assert_eq!(parsed, serde_json::to_value(e).unwrap());
        }
    }

    #[tokio::test]
    async fn a_log_file_linked_elsewhere_is_refused_and_nothing_is_written_there() {
        let dir = tempfile::tempdir().unwrap();
        let bashrc = dir.path().join(".bashrc");
        std::fs::write(&bashrc, "export PS1='$ '\n").unwrap();
        let logs = dir.path().join("logs");
        std::fs::create_dir(&logs).unwrap();
        std::os::unix::fs::symlink(&bashrc, logs.join("coder.md")).unwrap();
        let tools: [String; 0] = [];
        let refused = Journal::open(&writer(), &logs, &header("coder", &tools)).unwrap_err();
        assert!(
            refused.to_string().contains("coder.md is a symbolic link"),
            "{refused}"
        );
        assert_eq!(
            std::fs::read_to_string(&bashrc).unwrap(),
            "export PS1='$ '\n"
        );
    }

    #[tokio::test]
    async fn escape_sequences_never_reach_the_logs() {
        let dir = tempfile::tempdir().unwrap();
        let mut journal = open(dir.path(), "coder");
        journal
            .record(&event(
                0,
                EventKind::TurnFinished {
                    outcome: Outcome::Done {
                        text: "ok\x1b]52;c;ZXZpbA==\x07 \u{9b}2Jdone\tx".to_owned(),
                    },
                },
            ))
            .unwrap();
        let md = read_md(&mut journal).await;
        assert!(md.ends_with("| RESULT\n\nok done\tx\n"), "{md:?}");
        let jsonl = read_jsonl(&mut journal).await;
        assert!(
            !jsonl.chars().any(|c| c != '\n' && c.is_control()),
            "{jsonl:?}"
        );
        assert!(
            jsonl.contains(r"\u001b]52;c;ZXZpbA==\u0007 \u009b2Jdone\tx"),
            "{jsonl}"
        );
    }

    #[test]
    fn file_names_are_made_safe() {
        assert_eq!(md_file_name("coder-2.v1_x"), "coder-2.v1_x.md");
        assert_eq!(md_file_name("../etc/passwd"), ".._etc_passwd.md");
        assert_eq!(md_file_name("data analyst é"), "data_analyst__.md");
        assert_eq!(jsonl_file_name("a/b"), "a_b.jsonl");
        assert_eq!(md_file_name(""), "_.md");
    }

    #[test]
    fn last_entries_are_the_last_n_entries_of_the_log() {
        let md = [
            HEADER,
            "\n## 2026-11-25 10:00:00 | PROMPT\n\nhi\n",
            "\n## 2026-11-25 10:00:01 | RESULT\n\n## Heading the model wrote\n\nbody\n",
            "\n## 2026-11-25 10:00:02 | PROMPT\n\nagain\n",
        ]
        .concat();
        assert_eq!(
            last_entries(&md, 2),
            "## 2026-11-25 10:00:01 | RESULT\n\n## Heading the model wrote\n\nbody\n\n## 2026-11-25 10:00:02 | PROMPT\n\nagain\n"
        );
        assert_eq!(
            last_entries(&md, 1),
            "## 2026-11-25 10:00:02 | PROMPT\n\nagain\n"
        );
        assert_eq!(last_entries(&md, 3), &md[HEADER.len() + 1..]);
        assert_eq!(last_entries(&md, 5), md);
        assert_eq!(last_entries(&md, 0), "");
        assert_eq!(last_entries("", 5), "");
    }
}
