//! Drawing: the layout of the screen and one file per pane. Every view reads the model and the UI
//! state and writes cells; none sends anything or touches a file.

pub mod agents;
pub mod approval;
pub mod conversation;
pub mod costs;
pub mod endpoints;
pub mod fit;
pub mod help;
pub mod input;
pub mod log;
pub mod outcome;
pub mod report;
pub mod runall;
pub mod sessions;
pub mod status;
pub mod task;
pub mod theme;
pub mod tools;

use ratatui::buffer::Buffer;
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, BorderType, Borders};

use self::theme::Theme;
use super::app::state::{Focus, Overlay, UiState, View};
use super::input::PromptInput;
use super::model::Model;
use conversation::ConversationCache;

/// What every view may read.
pub struct Ctx<'a> {
    pub model: &'a Model,
    pub ui: &'a UiState,
    /// The moment drawn (spinners, countdowns, elapsed times).
    pub now: jiff::Timestamp,
}

impl Ctx<'_> {
    pub fn focused(&self, pane: Focus) -> bool {
        self.ui.focus == pane
    }
}

/// Where each pane goes on a screen of a given size.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Areas {
    /// Everything above the input.
    pub body: Rect,
    pub agents: Rect,
    pub conversation: Rect,
    /// The tool-call pane, or (on narrow screens) whichever side pane has the focus.
    pub side: Rect,
    pub side_pane: Focus,
    pub costs: Rect,
    pub endpoints: Rect,
    pub log: Rect,
    pub input: Rect,
    pub status: Rect,
}

/// Three columns from 110 cells wide; below that, the right-hand panes share the left column's
/// lower half with the tool calls (the focused one shows); below 60, the conversation alone.
pub fn layout(area: Rect, ui: &UiState, input_lines: u16) -> Areas {
    let input_height = (input_lines.clamp(1, 6) + 2).min(area.height.saturating_sub(1));
    let [body, input, status] = Layout::vertical([
        Constraint::Min(0),
        Constraint::Length(input_height),
        Constraint::Length(1),
    ])
    .areas(area);
    let none = Rect::new(body.x, body.y, 0, 0);
    let mut areas = Areas {
        body,
        agents: none,
        conversation: body,
        side: none,
        side_pane: Focus::Tools,
        costs: none,
        endpoints: none,
        log: none,
        input,
        status,
    };
    if body.width < 60 {
        return areas;
    }
    let wide = body.width >= 110;
    let left_width = if wide { 30 } else { 26 };
    let right_width = if wide { 36 } else { 0 };
    let [left, middle, right] = Layout::horizontal([
        Constraint::Length(left_width),
        Constraint::Min(20),
        Constraint::Length(right_width),
    ])
    .areas(body);
    // Two lines an agent when they fit in half the column; the pane packs them tighter if not.
    let agent_count = u16::try_from(ui.scroll.len()).unwrap_or(u16::MAX);
    let agents_height = agent_count
        .saturating_mul(2)
        .saturating_add(2)
        .clamp(3, (left.height / 2).max(3));
    let [agents, side] =
        Layout::vertical([Constraint::Length(agents_height), Constraint::Min(0)]).areas(left);
    areas.agents = agents;
    areas.conversation = middle;
    areas.side = side;
    if wide {
        let [costs, endpoints, log] = Layout::vertical([
            Constraint::Percentage(36),
            Constraint::Percentage(30),
            Constraint::Min(3),
        ])
        .areas(right);
        areas.costs = costs;
        areas.endpoints = endpoints;
        areas.log = log;
    } else if matches!(ui.focus, Focus::Costs | Focus::Endpoints | Focus::Log) {
        areas.side_pane = ui.focus;
    }
    areas
}

/// Draws the whole screen.
pub fn render(
    ctx: &Ctx<'_>,
    input: &PromptInput,
    cache: &ConversationCache,
    area: Rect,
    buf: &mut Buffer,
) {
    let areas = layout(area, ctx.ui, input.height());
    match ctx.ui.view {
        View::Main => {
            agents::render(ctx, areas.agents, buf);
            conversation::render(ctx, cache, areas.conversation, buf);
            match areas.side_pane {
                Focus::Costs => costs::render(ctx, areas.side, buf),
                Focus::Endpoints => endpoints::render(ctx, areas.side, buf),
                Focus::Log => log::render(ctx, areas.side, buf),
                Focus::Input | Focus::Agents | Focus::Conversation | Focus::Tools => {
                    tools::render(ctx, areas.side, buf);
                }
            }
            costs::render(ctx, areas.costs, buf);
            endpoints::render(ctx, areas.endpoints, buf);
            log::render(ctx, areas.log, buf);
        }
        View::RunAll => runall::render(ctx, cache, areas.body, buf),
        View::Task => task::render(ctx, areas.body, buf),
    }
    input::render(ctx, input, areas.input, buf);
    status::render(ctx, areas.status, buf);
    match &ctx.ui.overlay {
        Overlay::None => {}
        Overlay::Help => help::render(ctx, area, buf),
        Overlay::Report { title, lines } => report::render(title, lines, area, buf),
        Overlay::ToolCall { index } => tools::render_detail(ctx, *index, area, buf),
        Overlay::Sessions { sessions, selected } => {
            sessions::render(sessions, *selected, ctx.now, area, buf);
        }
    }
    if let Some(pending) = ctx.model.pending_approval() {
        let scroll = ctx.ui.approval_scroll(&pending.1.call);
        approval::render(ctx, pending, scroll, area, buf);
    }
}

/// The frame of a pane: its title, and a brighter border when it has the focus.
pub fn pane(title: impl Into<Line<'static>>, focused: bool) -> Block<'static> {
    let style = if focused {
        Theme::border_focused()
    } else {
        Theme::border()
    };
    Block::default()
        .borders(Borders::ALL)
        .border_type(BorderType::Rounded)
        .border_style(style)
        .title(title.into().style(Theme::title()))
}

/// A title with a dim note after it: `Costs · budget $5.00`.
pub fn titled(title: &str, note: &str) -> Line<'static> {
    if note.is_empty() {
        Line::from(format!(" {title} "))
    } else {
        Line::from(vec![
            Span::raw(format!(" {title} ")),
            Span::styled(format!("{note} "), Theme::dim()),
        ])
    }
}

/// `$1.2346` with four decimals under a dollar, two above.
pub fn dollars(amount: f64) -> String {
    if amount.abs() < 1.0 {
        format!("${amount:.4}")
    } else {
        format!("${amount:.2}")
    }
}

/// `12.3k` for counts of tokens.
pub fn count(n: u64) -> String {
    match n {
        0..1_000 => n.to_string(),
        1_000..1_000_000 => format!("{:.1}k", n as f64 / 1_000.0),
        _ => format!("{:.1}M", n as f64 / 1_000_000.0),
    }
}

/// `3s`, `1m 05s`, `2h 10m`: a short duration for countdowns and elapsed times.
pub fn short_duration(seconds: i64) -> String {
    let s = seconds.max(0);
    match s {
        0..60 => format!("{s}s"),
        60..3600 => format!("{}m {:02}s", s / 60, s % 60),
        _ => format!("{}h {:02}m", s / 3600, (s % 3600) / 60),
    }
}

/// Whole seconds from `now` until `then`, rounded up (0 when past).
pub fn seconds_until(now: jiff::Timestamp, then: jiff::Timestamp) -> i64 {
    let left = then.duration_since(now);
    (left.as_secs() + i64::from(left.subsec_nanos() > 0)).max(0)
}

/// Whole seconds from `then` to `now` (0 if `then` is later).
pub fn seconds_since(now: jiff::Timestamp, then: jiff::Timestamp) -> i64 {
    now.duration_since(then).as_secs().max(0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn three_columns_from_110_cells_and_the_agents_get_two_lines_each() {
        let ui = UiState::new(5);
        let areas = layout(Rect::new(0, 0, 120, 35), &ui, 1);
        assert_eq!(areas.agents.height, 12, "{areas:?}");
        assert!(areas.costs.width > 0 && areas.log.width > 0);
        assert_eq!(areas.input.height, 3);
        assert_eq!(areas.status, Rect::new(0, 34, 120, 1));
    }
}

#[cfg(test)]
mod fixtures;
#[cfg(test)]
mod health_screens;
#[cfg(test)]
mod hostile_names;
#[cfg(test)]
mod reload_screens;
#[cfg(test)]
mod screens;
#[cfg(test)]
mod task_screens;
