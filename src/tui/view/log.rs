//! The log tail pane (placeholder: being written).

use ratatui::buffer::Buffer;
use ratatui::layout::Rect;
use ratatui::widgets::Widget;

use super::{Ctx, pane};
use crate::tui::app::state::Focus;

pub fn render(ctx: &Ctx<'_>, area: Rect, buf: &mut Buffer) {
    pane(" Log ", ctx.focused(Focus::Log)).render(area, buf);
}
