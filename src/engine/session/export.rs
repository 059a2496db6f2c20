//! A session's transcript for people (markdown) or programs (JSON): per agent, every turn's
//! prompt, tool calls and answer, built from the recorded events; JSON adds each agent's
//! conversation as the model last saw it.

use indexmap::IndexMap;
use serde::Serialize;

use super::{Replay, SessionId};
use crate::engine::conversation::Message;
use crate::engine::protocol::{EventKind, Outcome, TurnId};

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ExportFormat {
    Markdown,
    Json,
}

impl std::str::FromStr for ExportFormat {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "md" | "markdown" => Ok(Self::Markdown),
            "json" => Ok(Self::Json),
            other => Err(format!(
                "unknown export format `{}`; use md or json",
                crate::sanitize::line_for_display(other)
            )),
        }
    }
}

/// `agent` names no agent of the session.
#[derive(Debug, thiserror::Error, PartialEq)]
#[error("session {session} has no agent `{agent}`; its agents: {}", .known.join(", "))]
pub struct NoSuchAgent {
    pub session: SessionId,
    pub agent: String,
    pub known: Vec<String>,
}

#[derive(Debug, Serialize)]
struct Transcript<'a> {
    id: &'a SessionId,
    config: &'a std::path::Path,
    started: jiff::Timestamp,
    agents: Vec<AgentTranscript<'a>>,
}

#[derive(Debug, Serialize)]
struct AgentTranscript<'a> {
    name: &'a str,
    turns: Vec<Turn>,
    conversation: &'a [Message],
}

#[derive(Debug, Default, Serialize)]
struct Turn {
    turn: TurnId,
    started: Option<jiff::Timestamp>,
    prompt: String,
    tools: Vec<ToolUse>,
    answer: String,
    status: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    error: Option<String>,
}

#[derive(Debug, Serialize)]
struct ToolUse {
    tool: String,
    args: serde_json::Value,
    ok: bool,
    output: String,
}

/// The transcript of every agent of `replay`, or of `agent` alone.
pub fn export(
    replay: &Replay,
    format: ExportFormat,
    agent: Option<&str>,
) -> Result<String, NoSuchAgent> {
    let names: Vec<&str> = match agent {
        Some(name) if replay.agents.contains_key(name) => vec![name],
        Some(name) => {
            return Err(NoSuchAgent {
                session: replay.header.id.clone(),
                agent: crate::sanitize::line_for_display(name),
                known: replay.agents.keys().cloned().collect(),
            });
        }
        None => replay.agents.keys().map(String::as_str).collect(),
    };
    let transcript = Transcript {
        id: &replay.header.id,
        config: &replay.header.config,
        started: replay.header.started,
        agents: names
            .into_iter()
            .map(|name| AgentTranscript {
                name,
                turns: turns_of(replay, name),
                conversation: &replay.agents[name].conversation,
            })
            .collect(),
    };
    Ok(match format {
        ExportFormat::Json => crate::engine::json_text::pretty(&transcript)
            .unwrap_or_else(|e| format!("{{\"error\": \"{e}\"}}")),
        ExportFormat::Markdown => markdown(&transcript),
    })
}

/// Writes an export to `path`, private to the user, never through a symbolic link (a cloned
/// repository may hold `notes.md -> ~/.bashrc`).
pub fn write_export(path: &std::path::Path, text: &str) -> std::io::Result<()> {
    use std::io::Write;
    use std::os::unix::fs::OpenOptionsExt;
    let mut file = std::fs::OpenOptions::new()
        .write(true)
        .create(true)
        .truncate(true)
        .mode(0o600)
        .custom_flags(rustix::fs::OFlags::NOFOLLOW.bits() as i32)
        .open(path)
        .map_err(|e| {
            if e.raw_os_error() == Some(rustix::io::Errno::LOOP.raw_os_error()) {
                std::io::Error::new(
                    std::io::ErrorKind::InvalidInput,
                    "it is a symbolic link, and tzzr writes no export through a link; name another file",
                )
            } else {
                e
            }
        })?;
    file.write_all(text.as_bytes())
}

fn turns_of(replay: &Replay, agent: &str) -> Vec<Turn> {
    let mut turns: IndexMap<TurnId, Turn> = IndexMap::new();
    let mut args: IndexMap<String, serde_json::Value> = IndexMap::new();
    for event in replay.events.iter().filter(|e| &*e.agent == agent) {
        let turn = turns.entry(event.turn).or_insert_with(|| Turn {
            turn: event.turn,
            status: "unfinished",
            ..Turn::default()
        });
        match &event.kind {
            EventKind::TurnStarted { prompt } => {
                turn.started = Some(event.at);
                turn.prompt.clone_from(prompt);
            }
            EventKind::TextDelta { text } => turn.answer.push_str(text),
            EventKind::ToolCallRequested { call, args: a, .. } => {
                args.insert(call.0.clone(), a.clone());
            }
            EventKind::ToolCallFinished {
                call,
                tool,
                ok,
                output,
                ..
            } => turn.tools.push(ToolUse {
                tool: tool.clone(),
                args: args.shift_remove(&call.0).unwrap_or_default(),
                ok: *ok,
                output: output.clone(),
            }),
            EventKind::TurnFinished { outcome } => {
                turn.status = match outcome {
                    Outcome::Done { text } | Outcome::Stopped { text, .. } => {
                        // The final answer, whole (the streamed text may hold earlier steps).
                        turn.answer.clone_from(text);
                        if outcome.is_done() { "done" } else { "stopped" }
                    }
                    Outcome::Cancelled => "cancelled",
                    Outcome::Failed { error, .. } => {
                        turn.error = Some(error.clone());
                        "failed"
                    }
                };
            }
            EventKind::Reasoning { .. }
            | EventKind::ApprovalNeeded { .. }
            | EventKind::Retry { .. }
            | EventKind::Waiting { .. }
            | EventKind::Usage { .. }
            | EventKind::Endpoint { .. }
            | EventKind::FallbackTaken { .. }
            | EventKind::Context { .. }
            | EventKind::Compacted { .. }
            | EventKind::Health { .. }
            | EventKind::Notice { .. } => {}
        }
    }
    turns
        .into_values()
        .filter(|t| t.started.is_some())
        .collect()
}

fn markdown(transcript: &Transcript<'_>) -> String {
    let mut out = format!(
        "# tzzr session {}\n\nConfig: {}  \nStarted: {}\n",
        transcript.id,
        transcript.config.display(),
        utc(transcript.started)
    );
    for agent in &transcript.agents {
        out.push_str(&format!("\n## {}\n", agent.name));
        for turn in &agent.turns {
            let when = turn
                .started
                .map(|t| format!(" ({})", utc(t)))
                .unwrap_or_default();
            out.push_str(&format!(
                "\n### Turn {}{when}\n\n**Prompt**\n\n{}\n",
                turn.turn, turn.prompt
            ));
            for tool in &turn.tools {
                let status = if tool.ok { "ok" } else { "failed" };
                out.push_str(&format!(
                    "\n**Tool** `{}` {} ({status})\n\n{}\n",
                    tool.tool,
                    tool.args,
                    fenced(&tool.output)
                ));
            }
            if !turn.answer.is_empty() {
                out.push_str(&format!("\n**Answer**\n\n{}\n", turn.answer));
            }
            if let Some(error) = &turn.error {
                out.push_str(&format!("\n**Failed**: {error}\n"));
            } else if turn.status != "done" {
                out.push_str(&format!("\n*({})*\n", turn.status));
            }
        }
    }
    crate::sanitize::for_plain_text(&out).into_owned()
}

/// A time to the second, for people.
fn utc(at: jiff::Timestamp) -> String {
    at.strftime("%Y-%m-%d %H:%M:%S UTC").to_string()
}

/// `text` in a code fence longer than any run of backticks inside it.
fn fenced(text: &str) -> String {
    let longest = text.split(|c| c != '`').map(str::len).max().unwrap_or(0);
    let fence = "`".repeat((longest + 1).max(3));
    format!("{fence}\n{text}\n{fence}")
}

#[cfg(test)]
mod tests {
    #[test]
    fn an_export_is_never_written_through_a_link() {
        let dir = tempfile::tempdir().unwrap();
        let target = dir.path().join("bashrc");
        std::fs::write(&target, "mine").unwrap();
        let link = dir.path().join("notes.md");
        std::os::unix::fs::symlink(&target, &link).unwrap();
        let error = super::write_export(&link, "transcript").unwrap_err();
        assert!(error.to_string().contains("symbolic link"), "{error}");
        assert_eq!(std::fs::read_to_string(&target).unwrap(), "mine");
    }
}
