//! (being written)

use ratatui::buffer::Buffer;
use ratatui::layout::Rect;

use super::Ctx;

pub fn render(ctx: &Ctx<'_>, area: Rect, buf: &mut Buffer) {
    let _ = (ctx, area, buf);
}
