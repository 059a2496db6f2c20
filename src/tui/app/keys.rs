//! What each key does, by priority: the approval window, an open overlay, global keys, then the
//! focused pane. Unbound printable keys outside the prompt box go to it.

use crossterm::event::{KeyCode, KeyEvent, KeyEventKind, KeyModifiers};

use super::state::{Focus, Overlay, View};
use super::{App, Effect, commands};
use crate::engine::protocol::{AgentCommand, Approval};
use crate::tui::input::InputOutcome;

pub fn handle_key(app: &mut App, key: KeyEvent) -> Vec<Effect> {
    if key.kind == KeyEventKind::Release {
        return Vec::new();
    }
    app.ui.status = None;
    let ctrl = key.modifiers.contains(KeyModifiers::CONTROL);
    let alt = key.modifiers.contains(KeyModifiers::ALT);

    if ctrl && key.code == KeyCode::Char('c') {
        return interrupt(app);
    }

    if let Some((index, pending)) = app.model.pending_approval() {
        let agent = app.model.agents[index].name().to_owned();
        let call = pending.call.clone();
        let decision = match key.code {
            KeyCode::Char('y' | 'Y') => Some(Approval::Allow),
            KeyCode::Char('n' | 'N') => Some(Approval::Deny),
            KeyCode::Char('a' | 'A') => Some(Approval::AlwaysAllow),
            KeyCode::Esc => {
                return vec![Effect::Command {
                    agent,
                    command: AgentCommand::Cancel,
                }];
            }
            KeyCode::Up | KeyCode::Char('k') => return app.scroll_approval(-1),
            KeyCode::Down | KeyCode::Char('j') => return app.scroll_approval(1),
            KeyCode::PageUp => return app.scroll_approval(-10),
            KeyCode::PageDown => return app.scroll_approval(10),
            KeyCode::Home => return app.scroll_approval(isize::MIN),
            KeyCode::End => return app.scroll_approval(isize::MAX),
            _ => None,
        };
        return match decision {
            Some(decision) => {
                // The window closes at once; the event that confirms it follows.
                if let Some(view) = app.model.agents.get_mut(index) {
                    view.approval = None;
                }
                vec![Effect::Command {
                    agent,
                    command: AgentCommand::Approve { call, decision },
                }]
            }
            None => Vec::new(),
        };
    }

    if matches!(app.ui.overlay, Overlay::Sessions { .. }) {
        return super::resume::picker_key(app, key);
    }
    if app.ui.overlay != Overlay::None {
        if matches!(
            key.code,
            KeyCode::Esc | KeyCode::Enter | KeyCode::Char('q' | '?')
        ) {
            app.ui.overlay = Overlay::None;
        }
        return Vec::new();
    }

    if app.ui.view == View::Task
        && let Some(effects) = super::task::key(app, key)
    {
        return effects;
    }

    match key.code {
        KeyCode::Char('a') if ctrl => {
            app.ui.view = match app.ui.view {
                View::Main | View::Task => View::RunAll,
                View::RunAll => View::Main,
            };
            app.ui.all_armed = false;
            app.ui.focus = Focus::Input;
            return Vec::new();
        }
        KeyCode::Tab => {
            app.ui.focus = app.ui.focus.next();
            return Vec::new();
        }
        KeyCode::BackTab => {
            app.ui.focus = app.ui.focus.previous();
            return Vec::new();
        }
        KeyCode::Esc => return cancel_selected(app),
        KeyCode::PageUp => {
            app.scroll_conversation(page(app));
            return Vec::new();
        }
        KeyCode::PageDown => {
            app.scroll_conversation(-page(app));
            return Vec::new();
        }
        KeyCode::Char(c @ '1'..='9') if alt => {
            return app.select(usize::from(c as u8 - b'1'));
        }
        _ => {}
    }

    if app.ui.view == View::RunAll && app.input.is_empty() {
        match key.code {
            KeyCode::Left | KeyCode::Char('h') => {
                app.ui.column = app.ui.column.saturating_sub(1);
                return Vec::new();
            }
            KeyCode::Right | KeyCode::Char('l') => {
                app.ui.column = (app.ui.column + 1).min(app.model.agents.len().saturating_sub(1));
                return Vec::new();
            }
            KeyCode::Enter => {
                app.ui.view = View::Main;
                let column = app.ui.column;
                return app.select(column);
            }
            _ => {}
        }
    }

    match app.ui.focus {
        Focus::Input => input_key(app, key),
        pane => pane_key(app, pane, key),
    }
}

fn input_key(app: &mut App, key: KeyEvent) -> Vec<Effect> {
    if key.code == KeyCode::Char('?') && app.input.is_empty() && key.modifiers.is_empty() {
        app.ui.overlay = Overlay::Help;
        return Vec::new();
    }
    match app.input.handle_key(key) {
        InputOutcome::Submit(text) => commands::submit(app, text),
        InputOutcome::Consumed | InputOutcome::Ignored => Vec::new(),
    }
}

fn pane_key(app: &mut App, pane: Focus, key: KeyEvent) -> Vec<Effect> {
    match (pane, key.code) {
        (_, KeyCode::Char('q')) => return vec![Effect::Quit],
        (_, KeyCode::Char('?')) => {
            app.ui.overlay = Overlay::Help;
            return Vec::new();
        }
        (Focus::Agents, KeyCode::Up | KeyCode::Char('k')) => {
            let index = app.ui.selected.saturating_sub(1);
            return app.select(index);
        }
        (Focus::Agents, KeyCode::Down | KeyCode::Char('j')) => {
            let index = app.ui.selected + 1;
            return app.select(index);
        }
        (Focus::Agents, KeyCode::Char(c @ '1'..='9')) => {
            return app.select(usize::from(c as u8 - b'1'));
        }
        (Focus::Agents, KeyCode::Enter) => {
            app.ui.focus = Focus::Input;
            return Vec::new();
        }
        (Focus::Conversation, KeyCode::Up | KeyCode::Char('k')) => {
            app.scroll_conversation(1);
            return Vec::new();
        }
        (Focus::Conversation, KeyCode::Down | KeyCode::Char('j')) => {
            app.scroll_conversation(-1);
            return Vec::new();
        }
        (Focus::Conversation, KeyCode::Home | KeyCode::Char('g')) => {
            app.scroll_conversation(isize::MAX);
            return Vec::new();
        }
        (Focus::Conversation, KeyCode::End | KeyCode::Char('G')) => {
            if let Some(scroll) = app.ui.scroll_mut() {
                scroll.lines_from_bottom = 0;
            }
            return Vec::new();
        }
        (Focus::Tools, KeyCode::Up | KeyCode::Char('k')) => {
            app.move_tool_row(-1);
            return Vec::new();
        }
        (Focus::Tools, KeyCode::Down | KeyCode::Char('j')) => {
            app.move_tool_row(1);
            return Vec::new();
        }
        (Focus::Tools, KeyCode::Enter) => {
            let selected = app.ui.selected;
            let calls = app.model.agents.get(selected).map_or(0, |a| a.calls.len());
            if calls > 0 {
                let index = app
                    .ui
                    .tool_row
                    .get(selected)
                    .copied()
                    .flatten()
                    .unwrap_or(calls - 1);
                app.ui.overlay = Overlay::ToolCall { index };
            }
            return Vec::new();
        }
        (Focus::Log, KeyCode::Up | KeyCode::Char('k')) => {
            app.scroll_log(1);
            return Vec::new();
        }
        (Focus::Log, KeyCode::Down | KeyCode::Char('j')) => {
            app.scroll_log(-1);
            return Vec::new();
        }
        _ => {}
    }
    // Typing anywhere writes a prompt.
    if let KeyCode::Char(_) = key.code
        && !key
            .modifiers
            .intersects(KeyModifiers::CONTROL | KeyModifiers::ALT)
    {
        app.ui.focus = Focus::Input;
        return input_key(app, key);
    }
    Vec::new()
}

/// Ctrl+C: cancel what runs; with nothing running, quit.
fn interrupt(app: &mut App) -> Vec<Effect> {
    let busy: Vec<String> = app
        .model
        .agents
        .iter()
        .filter(|a| a.activity.is_busy())
        .map(|a| a.name().to_owned())
        .collect();
    if busy.is_empty() {
        return vec![Effect::Quit];
    }
    app.ui.say(format!(
        "cancelling {}; Ctrl+C again quits",
        busy.join(", ")
    ));
    busy.into_iter()
        .map(|agent| Effect::Command {
            agent,
            command: AgentCommand::Cancel,
        })
        .collect()
}

/// Esc: cancel the selected agent's turn (the selected column's in the run-all view).
pub fn cancel_selected(app: &mut App) -> Vec<Effect> {
    let index = match app.ui.view {
        View::Main | View::Task => app.ui.selected,
        View::RunAll => app.ui.column,
    };
    let Some(agent) = app.model.agents.get(index) else {
        return Vec::new();
    };
    if !agent.activity.is_busy() {
        return Vec::new();
    }
    let name = agent.name().to_owned();
    app.ui.say(format!("cancelling {name}"));
    vec![Effect::Command {
        agent: name,
        command: AgentCommand::Cancel,
    }]
}

/// A page of the conversation pane.
fn page(app: &App) -> isize {
    let height = app.areas().conversation.height.saturating_sub(3).max(1);
    isize::try_from(height).unwrap_or(10)
}
