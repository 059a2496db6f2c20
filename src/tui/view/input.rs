//! (being written)

use ratatui::buffer::Buffer;
use ratatui::layout::Rect;

use super::Ctx;
use crate::tui::input::PromptInput;

pub fn render(ctx: &Ctx<'_>, input: &PromptInput, area: Rect, buf: &mut Buffer) {
    let _ = (ctx, input, area, buf);
}
