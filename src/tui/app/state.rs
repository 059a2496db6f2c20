//! What the user is looking at: focus, view, overlays, selection and scroll positions. Changed by
//! key handling only; read by the views.

use crate::engine::protocol::CallId;

/// The pane that receives keys.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Focus {
    #[default]
    Input,
    Agents,
    Conversation,
    Tools,
    Endpoints,
    Costs,
    Log,
}

impl Focus {
    /// Tab order.
    pub const ORDER: [Focus; 7] = [
        Focus::Input,
        Focus::Agents,
        Focus::Conversation,
        Focus::Tools,
        Focus::Endpoints,
        Focus::Costs,
        Focus::Log,
    ];

    pub fn next(self) -> Self {
        let i = Self::ORDER.iter().position(|f| *f == self).unwrap_or(0);
        Self::ORDER[(i + 1) % Self::ORDER.len()]
    }

    pub fn previous(self) -> Self {
        let i = Self::ORDER.iter().position(|f| *f == self).unwrap_or(0);
        Self::ORDER[(i + Self::ORDER.len() - 1) % Self::ORDER.len()]
    }

    pub fn title(self) -> &'static str {
        match self {
            Focus::Input => "Prompt",
            Focus::Agents => "Agents",
            Focus::Conversation => "Conversation",
            Focus::Tools => "Tool calls",
            Focus::Endpoints => "Endpoints",
            Focus::Costs => "Costs",
            Focus::Log => "Log",
        }
    }
}

/// The main screen, the run-all grid, or the task view.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum View {
    #[default]
    Main,
    RunAll,
    /// The steps of the running (or last) task (`/task`).
    Task,
}

/// A window over the panes.
#[derive(Clone, Debug, Default, PartialEq)]
pub enum Overlay {
    #[default]
    None,
    Help,
    /// A report (`/status`, `/costs`, `/agents`, `/health`): a title and its lines.
    Report {
        title: String,
        lines: Vec<String>,
    },
    /// The full arguments and output of one tool call of the selected agent.
    ToolCall {
        index: usize,
    },
    /// `/sessions`: the sessions of this config to resume one of.
    Sessions {
        sessions: Vec<crate::engine::session::SessionSummary>,
        selected: usize,
    },
}

/// How far the conversation is scrolled up from its end; 0 follows the tail.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Scroll {
    pub lines_from_bottom: usize,
}

impl Scroll {
    pub fn follows_tail(self) -> bool {
        self.lines_from_bottom == 0
    }
}

/// A message in the status line, until the next key.
#[derive(Clone, Debug, PartialEq)]
pub struct Status {
    pub text: String,
    pub is_error: bool,
}

#[derive(Clone, Debug, Default)]
pub struct UiState {
    pub focus: Focus,
    pub view: View,
    pub overlay: Overlay,
    /// The selected agent (index into `Model::agents`).
    pub selected: usize,
    /// The selected column of the run-all grid.
    pub column: usize,
    /// Conversation scroll, per agent.
    pub scroll: Vec<Scroll>,
    /// The selected row of the tool-call pane, per agent (`None` follows the newest).
    pub tool_row: Vec<Option<usize>>,
    /// Lines the log pane is scrolled up.
    pub log_scroll: usize,
    /// How far the approval window's body is scrolled, for the call it was scrolled on.
    pub approval_scroll: Option<(CallId, usize)>,
    /// The selected step of the task view (index into the task's steps).
    pub task_step: usize,
    /// `/all` was typed alone: the next prompt goes to every agent.
    pub all_armed: bool,
    pub status: Option<Status>,
}

impl UiState {
    pub fn new(agents: usize) -> Self {
        Self {
            scroll: vec![Scroll::default(); agents],
            tool_row: vec![None; agents],
            ..Self::default()
        }
    }

    pub fn scroll(&self) -> Scroll {
        self.scroll.get(self.selected).copied().unwrap_or_default()
    }

    pub fn scroll_mut(&mut self) -> Option<&mut Scroll> {
        self.scroll.get_mut(self.selected)
    }

    /// The approval window's scroll offset when it shows `call`.
    pub fn approval_scroll(&self, call: &CallId) -> usize {
        match &self.approval_scroll {
            Some((scrolled, offset)) if scrolled == call => *offset,
            _ => 0,
        }
    }

    pub fn say(&mut self, text: impl Into<String>) {
        self.status = Some(Status {
            text: text.into(),
            is_error: false,
        });
    }

    pub fn complain(&mut self, text: impl Into<String>) {
        self.status = Some(Status {
            text: text.into(),
            is_error: true,
        });
    }
}
