//! Prints engine events headless. Text: the answer on stdout as it streams (one agent) or as a
//! labelled block when each agent is done (`--all`); progress and errors on stderr. JSON: one event
//! per line on stdout. Nothing a model or a server wrote reaches either stream with an escape
//! sequence in it: text is cleaned (for a terminal, or kept plain for a pipe), JSON escapes every
//! control character, C1 included.

use std::collections::HashMap;
use std::io::{self, Write};

use crate::engine::json_text;
use crate::engine::protocol::{AgentEvent, EventKind, Outcome};
use crate::sanitize;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Format {
    Text,
    Json,
}

/// How one agent's answer is shown in text mode.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Layout {
    /// One agent: text goes to stdout as it arrives.
    Stream,
    /// Many agents: each answer is printed whole, under its agent's name, when it is done.
    Blocks,
}

pub struct Printer<O: Write, E: Write> {
    out: O,
    err: E,
    format: Format,
    layout: Layout,
    /// stdout is a terminal: model text is cleaned for display (tabs expanded, progress lines
    /// collapsed); otherwise it is cleaned of escape sequences only.
    clean: bool,
    answers: HashMap<String, String>,
    /// Agents whose next text starts a new model step (after tool calls): it gets a blank line.
    new_step: std::collections::HashSet<String>,
    at_line_start: bool,
}

impl<O: Write, E: Write> Printer<O, E> {
    pub fn new(out: O, err: E, format: Format, layout: Layout, clean: bool) -> Self {
        Self {
            out,
            err,
            format,
            layout,
            clean,
            answers: HashMap::new(),
            new_step: std::collections::HashSet::new(),
            at_line_start: true,
        }
    }

    pub fn event(&mut self, event: &AgentEvent) -> io::Result<()> {
        match self.format {
            Format::Json => {
                let line = json_text::compact(event).map_err(io::Error::other)?;
                writeln!(self.out, "{line}")?;
                self.out.flush()
            }
            Format::Text => self.text(event),
        }
    }

    fn text(&mut self, event: &AgentEvent) -> io::Result<()> {
        let agent: &str = &event.agent;
        let tag = match self.layout {
            Layout::Stream => String::new(),
            Layout::Blocks => format!("[{}] ", sanitize::line_for_display(agent)),
        };
        match &event.kind {
            EventKind::TurnStarted { .. }
            | EventKind::Reasoning { .. }
            | EventKind::Usage { .. }
            | EventKind::Context { .. }
            | EventKind::Endpoint { .. }
            // A failed prompt says it in its own outcome.
            | EventKind::Health { .. } => Ok(()),
            EventKind::TextDelta { text } => {
                let mut text = self.cleaned(text);
                let answer = self.answers.entry(agent.to_owned()).or_default();
                if self.new_step.remove(agent) && !answer.is_empty() && !text.is_empty() {
                    let gap = if answer.ends_with('\n') { "\n" } else { "\n\n" };
                    text.insert_str(0, gap);
                }
                answer.push_str(&text);
                if self.layout == Layout::Stream && !text.is_empty() {
                    self.out.write_all(text.as_bytes())?;
                    self.out.flush()?;
                    self.at_line_start = text.ends_with('\n');
                }
                Ok(())
            }
            EventKind::ToolCallRequested { tool, args, .. } => {
                self.new_step.insert(agent.to_owned());
                let tool = sanitize::line_for_display(tool);
                let line = format!("{tag}→ {tool} {}", one_line(&args.to_string(), 120));
                self.progress(&line)
            }
            EventKind::ApprovalNeeded { tool, why, .. } => {
                let tool = sanitize::line_for_display(tool);
                let line = format!("{tag}? {tool} needs approval: {}", one_line(why, 200));
                self.progress(&line)
            }
            EventKind::ToolCallFinished {
                tool,
                ok,
                output,
                duration,
                ..
            } => {
                let ms = duration.as_millis();
                let tool = sanitize::line_for_display(tool);
                let line = if *ok {
                    format!("{tag}✓ {tool} ({ms} ms)")
                } else {
                    format!("{tag}✗ {tool} ({ms} ms): {}", one_line(output, 200))
                };
                self.progress(&line)
            }
            EventKind::Retry {
                attempt,
                wait,
                reason,
            } => {
                let line = format!(
                    "{tag}↻ retry {attempt} in {:.1}s: {}",
                    wait.as_secs_f64(),
                    one_line(reason, 200)
                );
                self.progress(&line)
            }
            EventKind::Waiting { limiter, eta } => {
                let limiter = sanitize::line_for_display(limiter);
                let line = match eta {
                    Some(eta) => format!(
                        "{tag}… rate limit of {limiter}: next slot in {:.1}s",
                        eta.as_secs_f64()
                    ),
                    None => format!(
                        "{tag}… every connection slot of {limiter} is busy: waiting for a call to end"
                    ),
                };
                self.progress(&line)
            }
            EventKind::Notice { text } => {
                let line = format!("{tag}note: {}", one_line(text, 300));
                self.progress(&line)
            }
            EventKind::FallbackTaken { from, to, why } => {
                let line = format!(
                    "{tag}↪ going on with {} instead of {}: {}",
                    sanitize::line_for_display(to),
                    sanitize::line_for_display(from),
                    one_line(why, 300)
                );
                self.progress(&line)
            }
            EventKind::Compacted {
                before_tokens,
                after_tokens,
                messages,
            } => {
                let line = format!(
                    "{tag}⇣ compacted {messages} messages into a summary: ~{before_tokens} → ~{after_tokens} tokens"
                );
                self.progress(&line)
            }
            EventKind::TurnFinished { outcome } => self.finished(agent, outcome),
        }
    }

    pub fn is_json(&self) -> bool {
        self.format == Format::Json
    }

    /// Any serializable record as one JSON line on stdout (a task's events).
    pub fn json_line<T: serde::Serialize>(&mut self, record: &T) -> io::Result<()> {
        let line = json_text::compact(record).map_err(io::Error::other)?;
        writeln!(self.out, "{line}")?;
        self.out.flush()
    }

    /// [`Printer::heading`], when there is a line.
    pub fn heading_for(&mut self, line: &Option<String>) -> io::Result<()> {
        match line {
            Some(line) => self.heading(line),
            None => Ok(()),
        }
    }

    /// A line on stderr that names what comes next (a task's step).
    pub fn heading(&mut self, line: &str) -> io::Result<()> {
        if self.format == Format::Text {
            self.end_stream_line()?;
            writeln!(self.err, "{line}")?;
        }
        Ok(())
    }

    fn finished(&mut self, agent: &str, outcome: &Outcome) -> io::Result<()> {
        let streamed = self.answers.remove(agent).unwrap_or_default();
        self.new_step.remove(agent);
        match outcome {
            Outcome::Done { text } => self.answer(agent, text, streamed),
            Outcome::Stopped { text, reason } => {
                self.answer(agent, text, streamed)?;
                let agent = sanitize::line_for_display(agent);
                writeln!(self.err, "tzzr: {agent}: stopped: {}", reason.describe())
            }
            Outcome::Failed { error, .. } => {
                self.end_stream_line()?;
                let agent = sanitize::line_for_display(agent);
                writeln!(self.err, "tzzr: {agent}: {}", one_line(error, 2000))
            }
            Outcome::Cancelled => {
                self.end_stream_line()?;
                let agent = sanitize::line_for_display(agent);
                writeln!(self.err, "tzzr: {agent}: cancelled")
            }
        }
    }

    /// The end of an answer: what did not stream yet (one agent), or the whole block (many).
    fn answer(&mut self, agent: &str, text: &str, streamed: String) -> io::Result<()> {
        match self.layout {
            Layout::Stream => {
                // Streamed text is on stdout already; a provider that streamed nothing
                // still has its say.
                if streamed.is_empty() && !text.is_empty() {
                    let text = self.cleaned(text);
                    self.out.write_all(text.as_bytes())?;
                    self.at_line_start = text.ends_with('\n');
                }
                self.end_stream_line()?;
            }
            Layout::Blocks => {
                let answer = if streamed.trim().is_empty() {
                    self.cleaned(text)
                } else {
                    streamed
                };
                writeln!(self.out, "── {} ──", sanitize::line_for_display(agent))?;
                writeln!(self.out, "{}", answer.trim_end())?;
                writeln!(self.out)?;
            }
        }
        self.out.flush()
    }

    fn end_stream_line(&mut self) -> io::Result<()> {
        if self.layout == Layout::Stream && !self.at_line_start {
            self.out.write_all(b"\n")?;
            self.out.flush()?;
            self.at_line_start = true;
        }
        Ok(())
    }

    fn progress(&mut self, line: &str) -> io::Result<()> {
        writeln!(self.err, "{line}")
    }

    fn cleaned(&self, text: &str) -> String {
        if self.clean {
            sanitize::for_display(text).into_owned()
        } else {
            sanitize::for_plain_text(text).into_owned()
        }
    }
}

/// The first non-blank line of `text`, cut to `max` characters, fit for one terminal line.
fn one_line(text: &str, max: usize) -> String {
    let first = text
        .lines()
        .find(|l| !l.trim().is_empty())
        .unwrap_or("")
        .trim();
    let clean = sanitize::line_for_display(first);
    if clean.chars().count() > max {
        let cut: String = clean.chars().take(max).collect();
        format!("{cut}…")
    } else {
        clean
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::engine::protocol::{CallId, TurnId};
    use std::time::Duration;

    fn ev(agent: &str, kind: EventKind) -> AgentEvent {
        AgentEvent {
            agent: agent.into(),
            turn: TurnId(1),
            at: jiff::Timestamp::UNIX_EPOCH,
            kind,
        }
    }

    fn delta(agent: &str, text: &str) -> AgentEvent {
        ev(agent, EventKind::TextDelta { text: text.into() })
    }

    fn done(agent: &str, text: &str) -> AgentEvent {
        ev(
            agent,
            EventKind::TurnFinished {
                outcome: Outcome::Done { text: text.into() },
            },
        )
    }

    fn run(layout: Layout, clean: bool, events: &[AgentEvent]) -> (String, String) {
        let (mut out, mut err) = (Vec::new(), Vec::new());
        {
            let mut p = Printer::new(&mut out, &mut err, Format::Text, layout, clean);
            for e in events {
                p.event(e).unwrap();
            }
        }
        (
            String::from_utf8(out).unwrap(),
            String::from_utf8(err).unwrap(),
        )
    }

    #[test]
    fn one_agent_streams_the_answer_and_reports_tools_on_stderr() {
        let (out, err) = run(
            Layout::Stream,
            false,
            &[
                ev("a", EventKind::TurnStarted { prompt: "p".into() }),
                ev(
                    "a",
                    EventKind::ToolCallRequested {
                        call: CallId("c1".into()),
                        tool: "read".into(),
                        args: serde_json::json!({"path": "x.txt"}),
                        runs_in_provider: false,
                    },
                ),
                ev(
                    "a",
                    EventKind::ToolCallFinished {
                        call: CallId("c1".into()),
                        tool: "read".into(),
                        ok: false,
                        output: "File not found: x.txt\nmore".into(),
                        duration: Duration::from_millis(3),
                        full_output: None,
                    },
                ),
                delta("a", "Hello "),
                delta("a", "world"),
                done("a", "Hello world"),
            ],
        );
        assert_eq!(out, "Hello world\n");
        assert_eq!(
            err,
            "→ read {\"path\":\"x.txt\"}\n✗ read (3 ms): File not found: x.txt\n"
        );
    }

    #[test]
    fn a_cut_answer_keeps_its_text_and_says_why_on_stderr() {
        let stopped = ev(
            "a",
            EventKind::TurnFinished {
                outcome: Outcome::Stopped {
                    text: "one, two,".into(),
                    reason: crate::engine::protocol::StoppedBy::MaxTokens,
                },
            },
        );
        let (out, err) = run(Layout::Stream, false, &[delta("a", "one, two,"), stopped]);
        assert_eq!(out, "one, two,\n");
        assert_eq!(
            err,
            "tzzr: a: stopped: the answer was cut off at max_tokens: raise the agent's max_tokens or ask for a shorter answer\n"
        );
    }

    #[test]
    fn a_fallback_is_a_line_on_stderr() {
        let taken = ev(
            "a",
            EventKind::FallbackTaken {
                from: "openai/gpt-4o".into(),
                to: "backup/gpt-4o-mini".into(),
                why: "circuit breaker open for openai: next try in 30s".into(),
            },
        );
        let (out, err) = run(Layout::Blocks, false, &[taken]);
        assert_eq!(out, "");
        assert_eq!(
            err,
            "[a] ↪ going on with backup/gpt-4o-mini instead of openai/gpt-4o: circuit breaker open for openai: next try in 30s\n"
        );
    }

    #[test]
    fn text_after_tool_calls_starts_a_new_paragraph() {
        let call = |tool: &str| {
            ev(
                "a",
                EventKind::ToolCallRequested {
                    call: CallId("c".into()),
                    tool: tool.into(),
                    args: serde_json::json!({}),
                    runs_in_provider: false,
                },
            )
        };
        let (out, _) = run(
            Layout::Stream,
            false,
            &[
                delta("a", "Let me look."),
                call("list_dir"),
                delta("a", "Done."),
                done("a", "Done."),
            ],
        );
        assert_eq!(out, "Let me look.\n\nDone.\n");
    }

    #[test]
    fn a_done_turn_that_streamed_nothing_still_prints_its_text() {
        let (out, _) = run(Layout::Stream, false, &[done("a", "final")]);
        assert_eq!(out, "final\n");
    }

    #[test]
    fn many_agents_print_labelled_blocks_when_each_is_done() {
        let (out, err) = run(
            Layout::Blocks,
            false,
            &[
                delta("a", "one "),
                delta("b", "two"),
                delta("a", "more"),
                done("b", "two"),
                ev(
                    "c",
                    EventKind::TurnFinished {
                        outcome: Outcome::Failed {
                            error: "no API key: set X".into(),
                            kind: crate::engine::protocol::FailureKind::Other,
                        },
                    },
                ),
                done("a", "one more"),
            ],
        );
        assert_eq!(out, "── b ──\ntwo\n\n── a ──\none more\n\n");
        assert_eq!(err, "tzzr: c: no API key: set X\n");
    }

    #[test]
    fn failures_end_the_streamed_line_first() {
        let (out, err) = run(
            Layout::Stream,
            false,
            &[
                delta("a", "partial"),
                ev(
                    "a",
                    EventKind::TurnFinished {
                        outcome: Outcome::Failed {
                            error: "bad reply".into(),
                            kind: crate::engine::protocol::FailureKind::Other,
                        },
                    },
                ),
            ],
        );
        assert_eq!(out, "partial\n");
        assert_eq!(err, "tzzr: a: bad reply\n");
    }

    #[test]
    fn terminal_output_is_cleaned_of_escape_sequences() {
        let (out, _) = run(
            Layout::Stream,
            true,
            &[
                delta("a", "\x1b]52;c;aGk=\x07safe\x1b[2J text\x08"),
                done("a", ""),
            ],
        );
        assert_eq!(out, "safe text\n");
    }

    #[test]
    fn piped_output_keeps_tabs_but_loses_escape_sequences() {
        let (out, _) = run(
            Layout::Stream,
            false,
            &[
                delta("a", "\x1b]52;c;aGk=\x07col1\tcol2\u{9b}2J\n"),
                done("a", ""),
            ],
        );
        assert_eq!(out, "col1\tcol2\n");
    }

    #[test]
    fn hostile_tool_and_agent_names_reach_stderr_as_plain_text() {
        let hostile = "read\x1b]52;c;ZXZpbA==\x07\x1b[6n\u{9b}31m";
        let events = [
            ev(
                "a\x1b[2J",
                EventKind::ToolCallRequested {
                    call: CallId("c1".into()),
                    tool: hostile.into(),
                    args: serde_json::json!({"path": "\x1b[6n"}),
                    runs_in_provider: false,
                },
            ),
            ev(
                "a\x1b[2J",
                EventKind::ToolCallFinished {
                    call: CallId("c1".into()),
                    tool: hostile.into(),
                    ok: false,
                    output: "\u{9d}0;title\u{9c}no".into(),
                    duration: Duration::from_millis(1),
                    full_output: None,
                },
            ),
            ev(
                "a\x1b[2J",
                EventKind::TurnFinished {
                    outcome: Outcome::Failed {
                        error: "bad \x1b[6n".into(),
                        kind: crate::engine::protocol::FailureKind::Other,
                    },
                },
            ),
        ];
        let (out, err) = run(Layout::Blocks, false, &events);
        for text in [&out, &err] {
            assert!(
                !text.chars().any(|c| c != '\n' && c.is_control()),
                "{text:?}"
            );
        }
        assert_eq!(
            err,
            "[a] → read {\"path\":\"\\u001b[6n\"}\n[a] ✗ read (1 ms): no\ntzzr: a: bad \n"
        );
    }

    #[test]
    fn json_lines_carry_no_raw_control_character() {
        let mut out = Vec::new();
        let mut p = Printer::new(&mut out, Vec::new(), Format::Json, Layout::Stream, false);
        p.event(&ev(
            "a",
            EventKind::ToolCallRequested {
                call: CallId("c".into()),
                tool: "x\u{9b}6n\x1b]52;c;AA==\x07\u{7f}".into(),
                args: serde_json::json!({"k": "\u{85}"}),
                runs_in_provider: false,
            },
        ))
        .unwrap();
        let text = String::from_utf8(out).unwrap();
        assert!(
            !text.chars().any(|c| c != '\n' && c.is_control()),
            "{text:?}"
        );
        let parsed: serde_json::Value = serde_json::from_str(&text).unwrap();
        assert_eq!(parsed["tool"], "x\u{9b}6n\x1b]52;c;AA==\x07\u{7f}");
    }

    #[test]
    fn json_prints_one_event_per_line() {
        let mut out = Vec::new();
        let mut p = Printer::new(&mut out, Vec::new(), Format::Json, Layout::Stream, true);
        p.event(&delta("a", "hi")).unwrap();
        p.event(&done("a", "hi")).unwrap();
        let text = String::from_utf8(out).unwrap();
        let lines: Vec<serde_json::Value> = text
            .lines()
            .map(|l| serde_json::from_str(l).unwrap())
            .collect();
        assert_eq!(lines[0]["event"], "text_delta");
        assert_eq!(lines[1]["outcome"]["status"], "done");
    }
}
