//! (being written)

use ratatui::buffer::Buffer;
use ratatui::layout::Rect;

use super::Ctx;
use super::conversation::ConversationCache;

pub fn render(ctx: &Ctx<'_>, cache: &ConversationCache, area: Rect, buf: &mut Buffer) {
    let _ = (ctx, cache, area, buf);
}
