//! The prompt box, titled with where the prompt goes.

use ratatui::buffer::Buffer;
use ratatui::layout::Rect;
use ratatui::widgets::Widget;

use super::{Ctx, pane, titled};
use crate::tui::app::state::{Focus, View};
use crate::tui::input::PromptInput;

pub fn render(ctx: &Ctx<'_>, input: &PromptInput, area: Rect, buf: &mut Buffer) {
    let target = match (ctx.ui.view, ctx.ui.all_armed) {
        (View::RunAll, _) | (View::Main | View::Task, true) => "every agent".to_owned(),
        (View::Main | View::Task, false) => ctx
            .model
            .agents
            .get(ctx.ui.selected)
            .map_or_else(|| "nobody".to_owned(), |a| a.name().to_owned()),
    };
    let block = pane(
        titled(
            &format!("Prompt → {target}"),
            "Enter sends · Alt+Enter new line",
        ),
        ctx.focused(Focus::Input),
    );
    let inner = block.inner(area);
    block.render(area, buf);
    if inner.width > 0 && inner.height > 0 {
        input.textarea().render(inner, buf);
    }
}
