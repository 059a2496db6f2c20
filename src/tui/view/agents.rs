//! The agent list: name, provider/model, what each is doing (with a spinner while it works), and
//! what it has cost. Agents that cannot run say so in red.

use ratatui::buffer::Buffer;
use ratatui::layout::Rect;
use ratatui::text::{Line, Span};
use ratatui::widgets::Widget;

use super::theme::{Theme, spinner};
use super::{Ctx, dollars, pane, seconds_until, titled};
use crate::tui::app::state::Focus;
use crate::tui::model::{Activity, AgentView, LastOutcome};
use crate::tui::wrap;

pub fn render(ctx: &Ctx<'_>, area: Rect, buf: &mut Buffer) {
    let busy = ctx.model.agents.iter().filter(|a| a.activity.is_busy()).count();
    let note = if busy > 0 { format!("{busy} working") } else { String::new() };
    let block = pane(titled("Agents", &note), ctx.focused(Focus::Agents));
    let inner = block.inner(area);
    block.render(area, buf);
    if inner.width == 0 || inner.height == 0 {
        return;
    }
    let agents = &ctx.model.agents;
    let two_lines = usize::from(inner.height) >= agents.len() * 2;
    let per_agent = if two_lines { 2 } else { 1 };
    let visible = (usize::from(inner.height) / per_agent).max(1);
    // Keep the selected agent on screen.
    let first = ctx.ui.selected.saturating_sub(visible - 1);
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

fn first_line(ctx: &Ctx<'_>, index: usize, agent: &AgentView, selected: bool) -> Line<'static> {
    let marker = if selected { "›" } else { " " };
    let number = if index < 9 { format!("{}", index + 1) } else { " ".to_owned() };
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
    let kind = if info.scripted { Theme::scripted() } else { Theme::dim() };
    Line::from(vec![
        Span::raw("   "),
        Span::styled(format!("{}/{}", info.provider, info.model), kind),
        Span::raw(" "),
        Span::styled(dollars(cost), Theme::money()),
    ])
}

/// What the agent is doing, in a few words, and its colour.
pub fn state_text(ctx: &Ctx<'_>, agent: &AgentView) -> (String, ratatui::style::Style) {
    let spin = spinner(ctx.now);
    match &agent.activity {
        Activity::Thinking { .. } => (format!("{spin} thinking"), Theme::busy()),
        Activity::Streaming { .. } => (format!("{spin} streaming"), Theme::busy()),
        Activity::RunningTool { tool, .. } => (format!("{spin} {tool}"), Theme::busy()),
        Activity::AwaitingApproval { tool } => (format!("? approve {tool}"), Theme::warn()),
        Activity::Waiting { until, .. } => (
            format!("⏳ rate limit {}s", seconds_until(ctx.now, *until)),
            Theme::warn(),
        ),
        Activity::Retrying { attempt, until } => (
            format!("↻ retry {attempt} in {}s", seconds_until(ctx.now, *until)),
            Theme::warn(),
        ),
        Activity::Idle => match (&agent.info.problem, &agent.last) {
            (_, Some(LastOutcome::Failed(_))) => ("✗ failed".to_owned(), Theme::error()),
            (Some(_), _) => ("✗ cannot run".to_owned(), Theme::error()),
            (None, Some(LastOutcome::Cancelled)) => ("cancelled".to_owned(), Theme::dim()),
            (None, Some(LastOutcome::Done)) => ("✓ idle".to_owned(), Theme::ok()),
            (None, None) => ("idle".to_owned(), Theme::dim()),
        },
    }
}
