//! (being written)

use ratatui::buffer::Buffer;
use ratatui::layout::Rect;

use super::Ctx;

/// Rendered lines of each transcript entry, per width (being written).
#[derive(Debug, Default)]
pub struct ConversationCache;

pub fn render(ctx: &Ctx<'_>, cache: &ConversationCache, area: Rect, buf: &mut Buffer) {
    let _ = (ctx, cache, area, buf);
}
