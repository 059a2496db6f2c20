//! The tool-call trace (placeholder: being written).

use ratatui::buffer::Buffer;
use ratatui::layout::Rect;
use ratatui::widgets::Widget;

use super::{Ctx, pane};
use crate::tui::app::state::Focus;

pub fn render(ctx: &Ctx<'_>, area: Rect, buf: &mut Buffer) {
    pane(" Tool calls ", ctx.focused(Focus::Tools)).render(area, buf);
}

/// The full arguments and output of one call of the selected agent, over the screen.
pub fn render_detail(ctx: &Ctx<'_>, index: usize, area: Rect, buf: &mut Buffer) {
    let _ = (ctx, index, area, buf);
}
