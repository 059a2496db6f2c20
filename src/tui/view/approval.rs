//! The approval window: which agent wants to run which tool with which arguments, why it asks,
//! and the three answers.

use ratatui::buffer::Buffer;
use ratatui::layout::{Constraint, Flex, Layout, Rect};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Clear, Paragraph, Widget, Wrap};

use super::theme::Theme;
use super::{Ctx, pane};
use crate::sanitize::{for_display, line_for_display};
use crate::tui::model::PendingApproval;

pub fn render(ctx: &Ctx<'_>, pending: (usize, &PendingApproval), area: Rect, buf: &mut Buffer) {
    let (index, request) = pending;
    let Some(agent) = ctx.model.agents.get(index) else {
        return;
    };
    let width = area.width.saturating_sub(4).min(90);
    let height = area.height.saturating_sub(2).min(20);
    let [row] = Layout::vertical([Constraint::Length(height)])
        .flex(Flex::Center)
        .areas(area);
    let [window] = Layout::horizontal([Constraint::Length(width)])
        .flex(Flex::Center)
        .areas(row);
    Clear.render(window, buf);
    let block = pane(
        Line::from(" Approve this tool call? ").style(Theme::warn()),
        true,
    );
    let inner = block.inner(window);
    block.render(window, buf);
    if inner.width == 0 || inner.height == 0 {
        return;
    }
    let args =
        serde_json::to_string_pretty(&request.args).unwrap_or_else(|_| request.args.to_string());
    let mut lines = vec![
        Line::from(vec![
            Span::styled("agent ", Theme::dim()),
            Span::styled(agent.name().to_owned(), Theme::title()),
            Span::styled("  tool ", Theme::dim()),
            Span::styled(line_for_display(&request.tool), Theme::title()),
        ]),
        Line::from(Span::styled(
            for_display(&request.why).into_owned(),
            Theme::dim(),
        )),
        Line::default(),
    ];
    lines.extend(for_display(&args).lines().map(|l| Line::from(l.to_owned())));
    let answers = Line::from(vec![
        Span::styled(" y ", Theme::key()),
        Span::raw("allow   "),
        Span::styled(" n ", Theme::key()),
        Span::raw("deny   "),
        Span::styled(" a ", Theme::key()),
        Span::raw(format!(
            "always allow {} for {}   ",
            line_for_display(&request.tool),
            agent.name()
        )),
        Span::styled(" Esc ", Theme::key()),
        Span::raw("cancel the turn"),
    ]);
    let [body, footer] = Layout::vertical([Constraint::Min(0), Constraint::Length(1)]).areas(inner);
    Paragraph::new(lines)
        .wrap(Wrap { trim: false })
        .render(body, buf);
    Paragraph::new(answers).render(footer, buf);
}
