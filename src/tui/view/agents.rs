//! The agent list: name, provider/model, what each is doing (with a spinner while it works), and
//! what it has cost. Agents that cannot run say so in red.

use ratatui::buffer::Buffer;
use ratatui::layout::Rect;
use ratatui::text::{Line, Span};
use ratatui::widgets::Widget;

use super::outcome;
use super::theme::{Theme, spinner};
use super::{Ctx, dollars, pane, seconds_until, titled};
use crate::engine::protocol::WindowSource;
use crate::sanitize::line_for_display;
use crate::tui::app::state::Focus;
use crate::tui::model::{Activity, AgentView, ContextFill, LastOutcome};
use crate::tui::wrap;

pub fn render(ctx: &Ctx<'_>, area: Rect, buf: &mut Buffer) {
    let busy = ctx
        .model
        .agents
        .iter()
        .filter(|a| a.activity.is_busy())
        .count();
    let note = if busy > 0 {
        format!("{busy} working")
    } else {
        String::new()
    };
    let block = pane(titled("Agents", &note), ctx.focused(Focus::Agents));
    let inner = block.inner(area);
    block.render(area, buf);
    if inner.width == 0 || inner.height == 0 {
        return;
    }
    let agents = &ctx.model.agents;
    let rows = Rows::new(inner.height, agents.len(), ctx.ui.selected);
    let two_lines = rows.per_agent == 2;
    let (first, visible) = (rows.first, rows.visible);
    let mut y = inner.y;
    for (index, agent) in agents.iter().enumerate().skip(first).take(visible) {
        let selected = index == ctx.ui.selected;
        let mut lines = vec![first_line(ctx, index, agent, selected)];
        if two_lines {
            lines.push(second_line(ctx, agent));
        }
        for line in lines {
            if y >= inner.bottom() {
                return;
            }
            let mut line = wrap::truncate(&line, inner.width);
            if selected {
                line = line.patch_style(Theme::selected());
                // The highlight runs the whole width.
                buf.set_style(Rect::new(inner.x, y, inner.width, 1), Theme::selected());
            }
            buf.set_line(inner.x, y, &line, inner.width);
            y += 1;
        }
    }
}

/// How agents sit in the pane: two lines each when they all fit, else one; scrolled so that the
/// selected one shows. Mouse clicks use the same arithmetic as drawing.
pub struct Rows {
    pub per_agent: usize,
    pub first: usize,
    pub visible: usize,
}

impl Rows {
    pub fn new(inner_height: u16, agents: usize, selected: usize) -> Self {
        let height = usize::from(inner_height);
        let per_agent = if height >= agents * 2 { 2 } else { 1 };
        let visible = (height / per_agent).max(1);
        Self {
            per_agent,
            first: selected.saturating_sub(visible - 1),
            visible,
        }
    }

    /// The agent drawn on `row` of the pane's inside, if any.
    pub fn agent_at(&self, row: u16, agents: usize) -> Option<usize> {
        let index = self.first + usize::from(row) / self.per_agent;
        (index < agents && usize::from(row) / self.per_agent < self.visible).then_some(index)
    }
}

fn first_line(ctx: &Ctx<'_>, index: usize, agent: &AgentView, selected: bool) -> Line<'static> {
    let marker = if selected { "›" } else { " " };
    let number = if index < 9 {
        format!("{}", index + 1)
    } else {
        " ".to_owned()
    };
    let (state, style) = state_text(ctx, agent);
    Line::from(vec![
        Span::styled(format!("{marker}{number} "), Theme::dim()),
        Span::styled(agent.name().to_owned(), Theme::title()),
        Span::raw(" "),
        Span::styled(state, style),
    ])
}

fn second_line(ctx: &Ctx<'_>, agent: &AgentView) -> Line<'static> {
    let info = &agent.info;
    let cost = ctx.model.costs.agent_cost(agent.name());
    let kind = if info.scripted {
        Theme::scripted()
    } else {
        Theme::dim()
    };
    let mut spans = vec![Span::raw("   ")];
    // First, so that a narrow pane cuts the cost (also in the Costs pane), not the meter.
    if let Some(fill) = &agent.context {
        spans.push(Span::styled(
            format!("ctx {:.0}%", percent(fill)),
            context_style(fill.ratio()),
        ));
        spans.push(Span::raw(" "));
    }
    spans.extend([
        Span::styled(format!("{}/{}", info.provider, info.model), kind),
        Span::raw(" "),
        Span::styled(dollars(cost), Theme::money()),
    ]);
    Line::from(spans)
}

fn percent(fill: &ContextFill) -> f64 {
    (fill.ratio() * 100.0).min(999.0)
}

/// `ctx 1.2k/8.2k 15%`; a window nothing reported is marked `?` (the assumed default).
pub fn context_meter(fill: &ContextFill) -> String {
    let assumed = if fill.source == WindowSource::Default {
        "?"
    } else {
        ""
    };
    format!(
        "ctx {}/{}{assumed} {:.0}%",
        thousands(fill.used),
        thousands(fill.window),
        percent(fill)
    )
}

/// Dim while there is room, amber past 70 % of the window, red past 90 %.
pub fn context_style(ratio: f64) -> ratatui::style::Style {
    if ratio > 0.9 {
        Theme::error()
    } else if ratio > 0.7 {
        Theme::warn()
    } else {
        Theme::dim()
    }
}

/// `950`, `8.2k`, `200k`, `1.0M`.
fn thousands(n: u64) -> String {
    match n {
        0..1_000 => n.to_string(),
        1_000..100_000 => format!("{:.1}k", n as f64 / 1_000.0),
        100_000..1_000_000 => format!("{}k", n / 1_000),
        _ => format!("{:.1}M", n as f64 / 1_000_000.0),
    }
}

/// What the agent is doing, in a few words, and its colour.
pub fn state_text(ctx: &Ctx<'_>, agent: &AgentView) -> (String, ratatui::style::Style) {
    let spin = spinner(ctx.now);
    match &agent.activity {
        Activity::Thinking { .. } => (format!("{spin} thinking"), Theme::busy()),
        Activity::Streaming { .. } => (format!("{spin} streaming"), Theme::busy()),
        Activity::RunningTool { tool, .. } => {
            (format!("{spin} {}", line_for_display(tool)), Theme::busy())
        }
        Activity::AwaitingApproval { tool } => (
            format!("? approve {}", line_for_display(tool)),
            Theme::warn(),
        ),
        Activity::Waiting {
            until: Some(until), ..
        } => (
            format!("⏳ rate limit {}s", seconds_until(ctx.now, *until)),
            Theme::warn(),
        ),
        Activity::Waiting { until: None, .. } => ("⏳ slot busy".to_owned(), Theme::warn()),
        Activity::Retrying { attempt, until } => (
            format!("↻ retry {attempt} in {}s", seconds_until(ctx.now, *until)),
            Theme::warn(),
        ),
        Activity::Idle if agent.info.problem.is_none() && agent.unreachable.is_some() => {
            ("✗ unreachable".to_owned(), Theme::error())
        }
        Activity::Idle => match (&agent.info.problem, &agent.last) {
            (None, Some(LastOutcome::Stopped(reason))) => (
                format!("⚠ {}", outcome::stopped_label(*reason)),
                Theme::warn(),
            ),
            (_, Some(LastOutcome::Failed(kind))) => (
                format!("✗ {}", outcome::failure_label(*kind)),
                outcome::failure_style(*kind),
            ),
            (Some(_), _) => ("✗ cannot run".to_owned(), Theme::error()),
            (None, Some(LastOutcome::Cancelled)) => ("cancelled".to_owned(), Theme::dim()),
            (None, Some(LastOutcome::Done)) => ("✓ idle".to_owned(), Theme::ok()),
            (None, None) => ("idle".to_owned(), Theme::dim()),
        },
    }
}
