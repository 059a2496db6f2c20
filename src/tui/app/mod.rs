//! The application as a pure state machine: `handle(event) -> effects`. Keys, engine events and
//! the results of background work come in; the model and UI state change; effects say what the
//! runner must do (send a prompt, cancel, check health, …). Nothing here touches a terminal, a
//! file or the network, so every key can be tested against plain state.

mod commands;
mod keys;
mod reload_report;
mod resume;
pub mod state;
mod task;
#[cfg(test)]
pub mod tests;

use std::path::PathBuf;

use crossterm::event::{Event, MouseEventKind};
use ratatui::layout::{Position, Rect};

use self::state::{Focus, Overlay, UiState, View};
use super::input::PromptInput;
use super::logtail::LogUpdate;
use super::model::Model;
use super::view::conversation::ConversationCache;
use super::view::{self, Areas, approval};
use crate::engine::orchestrator::{AgentInfo, EndpointStatus};
use crate::engine::pipeline::TaskEvent;
use crate::engine::protocol::{AgentCommand, AgentEvent, EventKind};

/// Something that happened, for the app to take in.
#[derive(Debug)]
pub enum AppEvent {
    Terminal(Event),
    Engine(AgentEvent),
    Log(LogUpdate),
    /// A report finished in the background (`/health`, `/status`).
    Report {
        title: String,
        lines: Vec<String>,
    },
    /// `/reload` read the config again: the agents and endpoints of the new one.
    Reloaded {
        agents: Vec<AgentInfo>,
        endpoints: Vec<EndpointStatus>,
        budget_usd: Option<f64>,
        /// Agents that restarted with a new conversation (their provider changed): what the
        /// screen showed of the old one goes.
        new_conversation: Vec<String>,
        summary: String,
    },
    /// `/reload` could not load the config (the running team is untouched).
    ReloadFailed {
        error: String,
    },
    /// The config file was edited on disk (settled): read it again, as `/reload` does.
    ConfigEdited,
    /// What loading the config warned of (unknown keys, with the nearest known one), at start
    /// and after each reload.
    ConfigWarnings {
        warnings: Vec<String>,
    },
    /// Something happened in the task started with `/task`.
    Task(TaskEvent),
    /// A one-line answer from background work (`/export`).
    Said {
        text: String,
        is_error: bool,
    },
    /// `/sessions` read this config's sessions: the picker opens on them.
    Sessions {
        sessions: Vec<crate::engine::session::SessionSummary>,
    },
}

/// What the runner must do.
#[derive(Clone, Debug, PartialEq)]
pub enum Effect {
    Prompt {
        agent: String,
        text: String,
    },
    Command {
        agent: String,
        command: AgentCommand,
    },
    /// Show the orchestrator's `--status` as a report.
    Status,
    /// Check every agent's provider and show the result as a report.
    Health,
    Reload,
    /// Run a task from `tasks:` (`/task NAME [input]`); `resume` starts after the steps that
    /// succeeded in its last run.
    StartTask {
        name: String,
        input: Option<String>,
        resume: bool,
    },
    /// Follow this log in the log pane.
    FollowLog {
        path: PathBuf,
    },
    /// Write the running session's transcript to `file` (a default name if `None`).
    Export {
        format: crate::engine::session::ExportFormat,
        file: Option<PathBuf>,
    },
    /// Read this config's sessions for the picker.
    ListSessions,
    /// Go on with session `id` instead of the running one.
    Resume {
        id: String,
    },
    Quit,
}

pub struct App {
    pub model: Model,
    pub ui: UiState,
    pub input: PromptInput,
    pub cache: ConversationCache,
    /// The terminal's size, for mouse hit tests and scroll limits.
    pub size: Rect,
    /// The config warnings last shown: the same ones are not shown again after each reload.
    pub config_warnings: Vec<String>,
}

impl App {
    pub fn new(
        agents: &[AgentInfo],
        endpoints: &[EndpointStatus],
        budget_usd: Option<f64>,
    ) -> Self {
        let mut app = Self {
            model: Model::new(agents, endpoints, budget_usd),
            ui: UiState::new(agents.len()),
            input: PromptInput::default(),
            cache: ConversationCache::default(),
            size: Rect::new(0, 0, 120, 35),
            config_warnings: Vec::new(),
        };
        app.update_placeholder();
        app
    }

    /// The effects to run at start: follow the first agent's log.
    pub(crate) fn start(&self) -> Vec<Effect> {
        self.follow_selected_log()
    }

    pub fn handle(&mut self, event: AppEvent) -> Vec<Effect> {
        // Engine events (one per token) never change where the prompt goes.
        let may_retarget = !matches!(event, AppEvent::Engine(_) | AppEvent::Log(_));
        let effects = match event {
            AppEvent::Terminal(Event::Key(key)) => keys::handle_key(self, key),
            AppEvent::Terminal(Event::Paste(text)) => {
                self.ui.focus = Focus::Input;
                self.input.paste(&text);
                Vec::new()
            }
            AppEvent::Terminal(Event::Mouse(mouse)) => self.handle_mouse(mouse),
            AppEvent::Terminal(Event::Resize(width, height)) => {
                self.size = Rect::new(0, 0, width, height);
                Vec::new()
            }
            AppEvent::Terminal(Event::FocusGained | Event::FocusLost) => Vec::new(),
            AppEvent::Engine(event) => {
                self.apply_engine(&event);
                Vec::new()
            }
            AppEvent::Log(update) => {
                self.model.apply_log(update);
                Vec::new()
            }
            AppEvent::Report { title, lines } => {
                self.ui.overlay = Overlay::Report { title, lines };
                Vec::new()
            }
            AppEvent::Reloaded {
                agents,
                endpoints,
                budget_usd,
                new_conversation,
                summary,
            } => {
                let effects = self.reloaded(&agents, &endpoints, budget_usd, summary);
                for agent in &mut self.model.agents {
                    if new_conversation.contains(&agent.info.name) {
                        agent.clear();
                    }
                }
                effects
            }
            AppEvent::Said { text, is_error } => {
                if is_error {
                    self.ui.complain(text);
                } else {
                    self.ui.say(text);
                }
                Vec::new()
            }
            AppEvent::Sessions { sessions } => {
                self.ui.overlay = Overlay::Sessions {
                    sessions,
                    selected: 0,
                };
                Vec::new()
            }
            AppEvent::ReloadFailed { error } => {
                self.ui.complain(format!(
                    "config not reloaded: {error}; the running agents are unchanged"
                ));
                // The status line cuts a long error: the whole of it, wrapped, over the screen.
                let mut lines = reload_report::wrapped(&error);
                lines.push(String::new());
                lines.push(
                    "The running agents are unchanged. Fix the file and save it (or /reload)."
                        .to_owned(),
                );
                self.ui.overlay = Overlay::Report {
                    title: "Config not reloaded".to_owned(),
                    lines,
                };
                Vec::new()
            }
            AppEvent::ConfigEdited => {
                self.ui.say("the config changed on disk: reloading…");
                vec![Effect::Reload]
            }
            AppEvent::ConfigWarnings { warnings } => {
                if !warnings.is_empty() && warnings != self.config_warnings {
                    self.ui.overlay = Overlay::Report {
                        title: "Config warnings".to_owned(),
                        lines: warnings.clone(),
                    };
                }
                self.config_warnings = warnings;
                Vec::new()
            }
            AppEvent::Task(event) => {
                task::apply(self, &event);
                Vec::new()
            }
        };
        if may_retarget {
            self.update_placeholder();
        }
        effects
    }

    fn apply_engine(&mut self, event: &AgentEvent) {
        self.model.apply(event);
        if let EventKind::ApprovalNeeded { .. } = event.kind {
            // The approval window takes the keys; a report or the help would hide it.
            self.ui.overlay = Overlay::None;
        }
    }

    /// The layout of the current screen.
    pub(crate) fn areas(&self) -> Areas {
        view::layout(self.size, &self.ui, self.input.height())
    }

    fn handle_mouse(&mut self, mouse: crossterm::event::MouseEvent) -> Vec<Effect> {
        let at = Position::new(mouse.column, mouse.row);
        let areas = self.areas();
        match mouse.kind {
            MouseEventKind::ScrollUp | MouseEventKind::ScrollDown => {
                let up = matches!(mouse.kind, MouseEventKind::ScrollUp);
                if areas.log.contains(at)
                    || (areas.side.contains(at) && areas.side_pane == Focus::Log)
                {
                    self.scroll_log(if up { 3 } else { -3 });
                } else if areas.side.contains(at) && areas.side_pane == Focus::Tools {
                    self.move_tool_row(if up { -1 } else { 1 });
                } else {
                    self.scroll_conversation(if up { 3 } else { -3 });
                }
                Vec::new()
            }
            MouseEventKind::Down(_) => {
                let panes = [
                    (areas.agents, Focus::Agents),
                    (areas.conversation, Focus::Conversation),
                    (areas.side, areas.side_pane),
                    (areas.costs, Focus::Costs),
                    (areas.endpoints, Focus::Endpoints),
                    (areas.log, Focus::Log),
                    (areas.input, Focus::Input),
                ];
                let Some((area, pane)) = panes.into_iter().find(|(area, _)| area.contains(at))
                else {
                    return Vec::new();
                };
                self.ui.focus = pane;
                if pane == Focus::Agents && self.ui.view == View::Main {
                    let rows = view::agents::Rows::new(
                        area.height.saturating_sub(2),
                        self.model.agents.len(),
                        self.ui.selected,
                    );
                    let row = at.y.saturating_sub(area.y + 1);
                    if let Some(index) = rows.agent_at(row, self.model.agents.len()) {
                        return self.select(index);
                    }
                }
                Vec::new()
            }
            _ => Vec::new(),
        }
    }

    /// Selects an agent: its conversation, tool calls and log.
    pub(crate) fn select(&mut self, index: usize) -> Vec<Effect> {
        if index >= self.model.agents.len() || index == self.ui.selected {
            return Vec::new();
        }
        self.ui.selected = index;
        self.ui.column = index;
        self.ui.log_scroll = 0;
        self.follow_selected_log()
    }

    fn follow_selected_log(&self) -> Vec<Effect> {
        self.model
            .agents
            .get(self.ui.selected)
            .map(|agent| Effect::FollowLog {
                path: agent.info.log.clone(),
            })
            .into_iter()
            .collect()
    }

    /// Scrolls the selected agent's conversation up (positive) or down (negative), within bounds.
    pub fn scroll_conversation(&mut self, lines: isize) {
        let Some(agent) = self.model.agents.get(self.ui.selected) else {
            return;
        };
        let area = self.areas().conversation;
        let height = usize::from(area.height.saturating_sub(2));
        let total = self
            .cache
            .total_height(self.ui.selected, agent, area.width.saturating_sub(2));
        let max = total.saturating_sub(height);
        if let Some(scroll) = self.ui.scroll_mut() {
            scroll.lines_from_bottom = scroll
                .lines_from_bottom
                .saturating_add_signed(lines)
                .min(max);
        }
    }

    /// Scrolls the approval window's body down (positive) or up (negative), within bounds.
    pub(crate) fn scroll_approval(&mut self, lines: isize) -> Vec<Effect> {
        let Some((_, pending)) = self.model.pending_approval() else {
            return Vec::new();
        };
        let max = approval::max_scroll(pending, self.size);
        let offset = self
            .ui
            .approval_scroll(&pending.call)
            .saturating_add_signed(lines)
            .min(max);
        self.ui.approval_scroll = Some((pending.call.clone(), offset));
        Vec::new()
    }

    pub(crate) fn scroll_log(&mut self, lines: isize) {
        let max = self.model.log.lines.len();
        self.ui.log_scroll = self.ui.log_scroll.saturating_add_signed(lines).min(max);
    }

    /// Moves the tool-call selection; past the newest it follows the newest again.
    pub(crate) fn move_tool_row(&mut self, by: isize) {
        let selected = self.ui.selected;
        let Some(agent) = self.model.agents.get(selected) else {
            return;
        };
        let count = agent.calls.len();
        if count == 0 {
            return;
        }
        let Some(row) = self.ui.tool_row.get_mut(selected) else {
            return;
        };
        let current = row.unwrap_or(count - 1);
        let next = current.saturating_add_signed(by);
        *row = if next >= count - 1 && by > 0 {
            None
        } else {
            Some(next.min(count - 1))
        };
    }

    fn reloaded(
        &mut self,
        agents: &[AgentInfo],
        endpoints: &[EndpointStatus],
        budget_usd: Option<f64>,
        summary: String,
    ) -> Vec<Effect> {
        let selected_name = self
            .model
            .agents
            .get(self.ui.selected)
            .map(|a| a.info.name.clone());
        // Per-agent UI state follows the agent's name, not its place in the list: removing one
        // agent leaves the others' scroll and selected tool call alone.
        let old_names: Vec<String> = self
            .model
            .agents
            .iter()
            .map(|a| a.info.name.clone())
            .collect();
        let old_index = |name: &str| old_names.iter().position(|n| n == name);
        let scroll = std::mem::take(&mut self.ui.scroll);
        let tool_row = std::mem::take(&mut self.ui.tool_row);
        self.ui.scroll = agents
            .iter()
            .map(|info| {
                old_index(&info.name)
                    .and_then(|i| scroll.get(i).copied())
                    .unwrap_or_default()
            })
            .collect();
        self.ui.tool_row = agents
            .iter()
            .map(|info| old_index(&info.name).and_then(|i| tool_row.get(i).copied().flatten()))
            .collect();
        let mut old = std::mem::take(&mut self.model.agents);
        self.model.agents = agents
            .iter()
            .map(|info| {
                // What the user saw of an agent that is still there stays on screen.
                match old.iter().position(|a| a.info.name == info.name) {
                    Some(i) => {
                        let mut kept = old.swap_remove(i);
                        kept.info = info.clone();
                        kept
                    }
                    None => super::model::AgentView::new(info.clone()),
                }
            })
            .collect();
        for status in endpoints {
            if !self.model.endpoints.iter().any(|e| e.label == status.label) {
                self.model
                    .endpoints
                    .push(super::model::EndpointView::new(status));
            }
        }
        self.model.budget_usd = budget_usd;
        self.ui.selected = selected_name
            .and_then(|name| self.model.agent_index(&name))
            .unwrap_or(0);
        self.ui.column = self.ui.selected;
        self.cache.clear();
        self.ui.say(summary);
        self.follow_selected_log()
    }

    fn update_placeholder(&mut self) {
        let text = match (self.ui.view, self.ui.all_armed) {
            (View::RunAll, _) | (View::Main, true) => {
                "Prompt for every agent (Enter sends, Alt+Enter new line)".to_owned()
            }
            (View::Task, _) => {
                "Esc back to the agents, ↑↓←→ pick a step, Enter opens its agent, /task NAME runs another"
                    .to_owned()
            }
            (View::Main, false) => match self.model.agents.get(self.ui.selected) {
                Some(agent) => format!(
                    "Prompt for {} (Enter sends, Alt+Enter new line, /help for commands, ? for keys)",
                    agent.name()
                ),
                None => "No agents in the config: add some under `agents:` and /reload".to_owned(),
            },
        };
        self.input.set_placeholder(&text);
    }
}
