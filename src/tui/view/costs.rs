//! The cost meter (placeholder: being written).

use ratatui::buffer::Buffer;
use ratatui::layout::Rect;
use ratatui::widgets::Widget;

use super::{Ctx, pane};
use crate::tui::app::state::Focus;

pub fn render(ctx: &Ctx<'_>, area: Rect, buf: &mut Buffer) {
    pane(" Costs ", ctx.focused(Focus::Costs)).render(area, buf);
}
