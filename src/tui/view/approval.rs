//! (being written)

use ratatui::buffer::Buffer;
use ratatui::layout::Rect;

use super::Ctx;
use crate::tui::model::PendingApproval;

pub fn render(ctx: &Ctx<'_>, pending: (usize, &PendingApproval), area: Rect, buf: &mut Buffer) {
    let _ = (ctx, pending, area, buf);
}
