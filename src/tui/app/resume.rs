//! Sessions in the TUI: a resumed session on screen (its recorded events go through the same
//! model code the live ones do, so transcripts, traces and costs look as they did; its prompts
//! refill the history), the `/sessions` picker, `/resume [ID]` and `/export [md|json] [FILE]`.

use std::path::PathBuf;

use crossterm::event::{KeyCode, KeyEvent};

use super::state::Overlay;
use super::{App, Effect};
use crate::engine::protocol::{AgentEvent, EventKind};
use crate::engine::session::ExportFormat;

/// `/sessions`: the picker opens once they are read.
pub(super) fn sessions_command(app: &mut App) -> Vec<Effect> {
    app.ui.say("reading the sessions…");
    vec![Effect::ListSessions]
}

/// `/resume ID` goes on with that session; `/resume` alone opens the picker.
pub(super) fn resume_command(app: &mut App, id: &str) -> Vec<Effect> {
    if id.is_empty() {
        return sessions_command(app);
    }
    app.ui.say(format!("resuming session {id}…"));
    vec![Effect::Resume { id: id.to_owned() }]
}

/// `/export [md|json] [FILE]`: the format from the first word or the file's extension.
pub(super) fn export_command(app: &mut App, args: &str) -> Vec<Effect> {
    let (first, rest) = args.split_once(char::is_whitespace).unwrap_or((args, ""));
    let (format, file) = match first.parse::<ExportFormat>() {
        Ok(format) => (Some(format), rest.trim()),
        Err(_) => (None, args),
    };
    let file = (!file.is_empty()).then(|| PathBuf::from(file));
    let format = format.unwrap_or_else(|| {
        match file
            .as_ref()
            .and_then(|f| f.extension())
            .and_then(|e| e.to_str())
        {
            Some("json") => ExportFormat::Json,
            _ => ExportFormat::Markdown,
        }
    });
    app.ui.say("writing the transcript…");
    vec![Effect::Export { format, file }]
}

/// Keys while the picker is open: ↑↓ choose, Enter resumes, Esc (or q) closes.
pub(super) fn picker_key(app: &mut App, key: KeyEvent) -> Vec<Effect> {
    let Overlay::Sessions { sessions, selected } = &mut app.ui.overlay else {
        return Vec::new();
    };
    match key.code {
        KeyCode::Up | KeyCode::Char('k') => *selected = selected.saturating_sub(1),
        KeyCode::Down | KeyCode::Char('j') => {
            *selected = (*selected + 1).min(sessions.len().saturating_sub(1));
        }
        KeyCode::Home => *selected = 0,
        KeyCode::End => *selected = sessions.len().saturating_sub(1),
        KeyCode::Enter => {
            let chosen = sessions.get(*selected).map(|s| s.id.to_string());
            app.ui.overlay = Overlay::None;
            if let Some(id) = chosen {
                return resume_command(app, &id);
            }
        }
        KeyCode::Esc | KeyCode::Char('q') => app.ui.overlay = Overlay::None,
        _ => {}
    }
    Vec::new()
}

impl App {
    /// Shows what the session this run goes on with recorded. The state of endpoints and any
    /// approval asked then are the past's, not now's: they are left out.
    pub fn restore(&mut self, events: Vec<AgentEvent>) {
        if events.is_empty() {
            return;
        }
        let mut turns = 0;
        for event in &events {
            match &event.kind {
                EventKind::ApprovalNeeded { .. }
                | EventKind::Endpoint { .. }
                | EventKind::Health { .. }
                | EventKind::Waiting { .. } => continue,
                EventKind::TurnStarted { prompt } => {
                    turns += 1;
                    self.input.remember(prompt);
                }
                EventKind::TextDelta { .. }
                | EventKind::Reasoning { .. }
                | EventKind::ToolCallRequested { .. }
                | EventKind::ToolCallFinished { .. }
                | EventKind::Retry { .. }
                | EventKind::Usage { .. }
                | EventKind::FallbackTaken { .. }
                | EventKind::Context { .. }
                | EventKind::Compacted { .. }
                | EventKind::Notice { .. }
                | EventKind::TurnFinished { .. } => {}
            }
            self.model.apply(event);
        }
        self.ui.say(format!(
            "resumed the session: {turns} earlier turn{} restored",
            if turns == 1 { "" } else { "s" }
        ));
    }
}

#[cfg(test)]
mod tests {
    use ratatui::buffer::Buffer;
    use ratatui::layout::Rect;

    use super::*;
    use crate::engine::protocol::{CallId, FailureKind, Outcome, TokenUsage, TurnId};
    use crate::tui::app::AppEvent;
    use crate::tui::app::tests::info;
    use crate::tui::view::{Ctx, render};

    fn at(second: i64) -> jiff::Timestamp {
        jiff::Timestamp::from_second(1_795_000_000 + second).unwrap()
    }

    fn event(turn: u64, second: i64, kind: EventKind) -> AgentEvent {
        AgentEvent {
            agent: "coder".into(),
            turn: TurnId(turn),
            at: at(second),
            kind,
        }
    }

    /// What a session journal holds of two turns: one answered, one killed mid-stream.
    fn recorded() -> Vec<AgentEvent> {
        vec![
            event(
                1,
                0,
                EventKind::TurnStarted {
                    prompt: "my name is Ada".into(),
                },
            ),
            event(
                1,
                1,
                EventKind::TextDelta {
                    text: "Hello, Ada.".into(),
                },
            ),
            event(
                1,
                1,
                EventKind::Usage {
                    model: "gpt-4o".into(),
                    usage: TokenUsage {
                        input: 1200,
                        output: 300,
                        ..TokenUsage::default()
                    },
                    cost_usd: 0.006,
                    priced: true,
                    estimated: false,
                    local: false,
                },
            ),
            event(
                1,
                2,
                EventKind::TurnFinished {
                    outcome: Outcome::Done {
                        text: "Hello, Ada.".into(),
                    },
                },
            ),
            event(
                2,
                3,
                EventKind::TurnStarted {
                    prompt: "write a poem".into(),
                },
            ),
            event(
                2,
                4,
                EventKind::ApprovalNeeded {
                    call: CallId("c1".into()),
                    tool: "bash".into(),
                    args: serde_json::json!({"command": "ls"}),
                    why: "approval: ask".into(),
                },
            ),
            event(
                2,
                5,
                EventKind::TurnFinished {
                    outcome: Outcome::failed(
                        FailureKind::Cancelled,
                        "interrupted: tzzr stopped before this turn ended",
                    ),
                },
            ),
        ]
    }

    fn screen(app: &App) -> String {
        let area = Rect::new(0, 0, 100, 24);
        let mut buf = Buffer::empty(area);
        let ctx = Ctx {
            model: &app.model,
            ui: &app.ui,
            now: at(10),
        };
        render(&ctx, &app.input, &app.cache, area, &mut buf);
        (0..area.height)
            .map(|y| {
                let line: String = (0..area.width)
                    .map(|x| buf[(x, y)].symbol().to_owned())
                    .collect();
                line.trim_end().to_owned()
            })
            .collect::<Vec<_>>()
            .join("\n")
    }

    #[test]
    fn a_resumed_session_shows_its_transcript_costs_and_no_stale_approval() {
        let mut app = App::new(&[info("coder")], &[], None);
        app.size = Rect::new(0, 0, 100, 24);
        app.restore(recorded());
        assert!(app.model.agents[0].approval.is_none());
        assert!(!app.model.agents[0].activity.is_busy());
        insta::assert_snapshot!(screen(&app));
    }

    fn key(app: &mut App, code: crossterm::event::KeyCode) -> Vec<Effect> {
        use crossterm::event::{Event, KeyEvent, KeyModifiers};
        app.handle(AppEvent::Terminal(Event::Key(KeyEvent::new(
            code,
            KeyModifiers::NONE,
        ))))
    }

    fn summary(id: &str) -> crate::engine::session::SessionSummary {
        crate::engine::session::SessionSummary {
            id: crate::engine::session::SessionId(id.into()),
            config: "/p/config.yaml".into(),
            started: at(0),
            agents: vec!["coder".into()],
            turns: 1,
            cost_usd: 0.0,
            last_prompt: None,
        }
    }

    #[test]
    fn the_picker_moves_with_arrows_resumes_on_enter_and_closes_on_esc() {
        use crossterm::event::KeyCode;
        let mut app = App::new(&[info("coder")], &[], None);
        app.handle(AppEvent::Sessions {
            sessions: vec![summary("20261129-2"), summary("20261129-1")],
        });
        assert!(key(&mut app, KeyCode::Down).is_empty());
        assert!(key(&mut app, KeyCode::Down).is_empty(), "stops at the last");
        assert_eq!(
            key(&mut app, KeyCode::Enter),
            vec![Effect::Resume {
                id: "20261129-1".into()
            }]
        );
        assert_eq!(app.ui.overlay, Overlay::None);

        app.handle(AppEvent::Sessions {
            sessions: vec![summary("20261129-2")],
        });
        assert!(key(&mut app, KeyCode::Esc).is_empty());
        assert_eq!(app.ui.overlay, Overlay::None);
    }

    #[test]
    fn session_commands_ask_the_runner() {
        let mut app = App::new(&[info("coder")], &[], None);
        let mut send = |text: &str| super::super::commands::submit(&mut app, text.to_owned());
        assert_eq!(send("/sessions"), vec![Effect::ListSessions]);
        assert_eq!(send("/resume"), vec![Effect::ListSessions]);
        assert_eq!(
            send("/resume 2026"),
            vec![Effect::Resume { id: "2026".into() }]
        );
        assert_eq!(
            send("/export"),
            vec![Effect::Export {
                format: ExportFormat::Markdown,
                file: None
            }]
        );
        assert_eq!(
            send("/export json"),
            vec![Effect::Export {
                format: ExportFormat::Json,
                file: None
            }]
        );
        assert_eq!(
            send("/export out/t.json"),
            vec![Effect::Export {
                format: ExportFormat::Json,
                file: Some("out/t.json".into())
            }]
        );
        assert_eq!(
            send("/export md my notes.md"),
            vec![Effect::Export {
                format: ExportFormat::Markdown,
                file: Some("my notes.md".into())
            }]
        );
    }

    #[test]
    fn a_resumed_session_refills_the_prompt_history() {
        use crossterm::event::{Event, KeyCode, KeyEvent, KeyModifiers};
        let mut app = App::new(&[info("coder")], &[], None);
        app.restore(recorded());
        app.handle(AppEvent::Terminal(Event::Key(KeyEvent::new(
            KeyCode::Up,
            KeyModifiers::NONE,
        ))));
        assert_eq!(app.input.text(), "write a poem");
    }
}
