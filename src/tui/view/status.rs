//! The bottom line: the last message (errors in red), else the keys that matter; the run's cost on
//! the right.

use ratatui::buffer::Buffer;
use ratatui::layout::Rect;
use ratatui::text::{Line, Span};

use super::theme::{Theme, budget_style};
use super::{Ctx, dollars};
use crate::tui::app::state::View;
use crate::tui::wrap;

pub fn render(ctx: &Ctx<'_>, area: Rect, buf: &mut Buffer) {
    if area.width == 0 || area.height == 0 {
        return;
    }
    let spent = ctx.model.costs.total.cost_usd;
    let money = match ctx.model.budget_usd {
        Some(budget) => Span::styled(
            format!(" {} of {} ", dollars(spent), dollars(budget)),
            budget_style(spent / budget.max(f64::EPSILON)),
        ),
        None => Span::styled(format!(" {} ", dollars(spent)), Theme::money()),
    };
    let money_width = u16::try_from(money.width()).unwrap_or(0).min(area.width);
    let left = match &ctx.ui.status {
        Some(status) => Line::from(Span::styled(
            status.text.clone(),
            if status.is_error {
                Theme::error()
            } else {
                Theme::text()
            },
        )),
        None => hints(ctx),
    };
    let left_width = area.width.saturating_sub(money_width + 1);
    buf.set_line(
        area.x,
        area.y,
        &wrap::truncate(&left, left_width),
        left_width,
    );
    buf.set_span(area.right() - money_width, area.y, &money, money_width);
}

fn hints(ctx: &Ctx<'_>) -> Line<'static> {
    let pairs: &[(&str, &str)] = match ctx.ui.view {
        View::Main => &[
            ("?", "keys"),
            ("Tab", "focus"),
            ("Ctrl+A", "all agents"),
            ("Esc", "cancel"),
            ("Ctrl+C", "quit"),
        ],
        View::Task => &[
            ("↑↓←→", "step"),
            ("Enter", "open its agent"),
            ("Esc", "back"),
            ("Ctrl+C", "quit"),
        ],
        View::RunAll => &[
            ("←→", "column"),
            ("Enter", "open"),
            ("Ctrl+A", "back"),
            ("Esc", "cancel"),
            ("Ctrl+C", "quit"),
        ],
    };
    let mut spans = Vec::new();
    for (key, what) in pairs {
        spans.push(Span::styled(format!(" {key}"), Theme::key()));
        spans.push(Span::styled(format!(" {what} "), Theme::dim()));
    }
    Line::from(spans)
}
