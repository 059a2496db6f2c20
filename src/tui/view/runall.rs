//! The run-all grid: one live column per agent (as many as fit, around the selected one), each
//! with its state, tokens, cost and elapsed time above its conversation's tail.

use ratatui::buffer::Buffer;
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::text::{Line, Span};
use ratatui::widgets::Widget;

use super::agents::state_text;
use super::conversation::{ConversationCache, visible_lines};
use super::theme::Theme;
use super::{Ctx, count, dollars, pane, seconds_since, short_duration};
use crate::tui::model::AgentView;
use crate::tui::wrap;

/// Narrower columns than this are not worth reading: fewer are shown.
const MIN_COLUMN: u16 = 26;

pub fn render(ctx: &Ctx<'_>, cache: &ConversationCache, area: Rect, buf: &mut Buffer) {
    let agents = &ctx.model.agents;
    if agents.is_empty() || area.width == 0 || area.height == 0 {
        return;
    }
    let fit = usize::from((area.width / MIN_COLUMN).max(1)).min(agents.len());
    let selected = ctx.ui.column.min(agents.len() - 1);
    let first = selected.saturating_sub(fit - 1).min(agents.len() - fit);
    let columns = Layout::horizontal(vec![
        Constraint::Ratio(1, u32::try_from(fit).unwrap_or(1));
        fit
    ])
    .split(area);
    for (slot, index) in (first..first + fit).enumerate() {
        column(
            ctx,
            cache,
            index,
            &agents[index],
            index == selected,
            columns[slot],
            buf,
        );
    }
}

fn column(
    ctx: &Ctx<'_>,
    cache: &ConversationCache,
    index: usize,
    agent: &AgentView,
    selected: bool,
    area: Rect,
    buf: &mut Buffer,
) {
    let number = if index < 9 {
        format!("{} ", index + 1)
    } else {
        String::new()
    };
    let block = pane(Line::from(format!(" {number}{} ", agent.name())), selected);
    let inner = block.inner(area);
    block.render(area, buf);
    if inner.width == 0 || inner.height == 0 {
        return;
    }
    let (state, style) = state_text(ctx, agent);
    let elapsed = match (agent.turn_started, agent.turn_ended) {
        (Some(start), Some(end)) => short_duration(seconds_since(end, start)),
        (Some(start), None) => short_duration(seconds_since(ctx.now, start)),
        (None, _) => "–".to_owned(),
    };
    let header = [
        Line::from(Span::styled(state, style)),
        Line::from(vec![
            Span::styled(format!("{} tok ", count(agent.turn_tokens)), Theme::dim()),
            Span::styled(dollars(agent.turn_cost_usd), Theme::money()),
            Span::styled(format!(" {elapsed}"), Theme::dim()),
        ]),
    ];
    let mut y = inner.y;
    for line in &header {
        if y >= inner.bottom() {
            return;
        }
        buf.set_line(inner.x, y, &wrap::truncate(line, inner.width), inner.width);
        y += 1;
    }
    let body = Rect::new(inner.x, y, inner.width, inner.bottom().saturating_sub(y));
    if body.height == 0 {
        return;
    }
    if agent.transcript.is_empty() {
        let why = agent
            .info
            .problem
            .clone()
            .or_else(|| agent.unreachable.clone())
            .unwrap_or_else(|| "no prompt yet".to_owned());
        for (row, line) in wrap::wrap_text(&why, Theme::dim(), body.width)
            .iter()
            .take(usize::from(body.height))
            .enumerate()
        {
            buf.set_line(
                body.x,
                body.y + u16::try_from(row).unwrap_or(0),
                line,
                body.width,
            );
        }
        return;
    }
    for (row, line) in visible_lines(cache, index, agent, body, 0)
        .iter()
        .enumerate()
    {
        buf.set_line(
            body.x,
            body.y + u16::try_from(row).unwrap_or(0),
            line,
            body.width,
        );
    }
}
