//! A report over the screen: /status, /costs, /agents, /health (placeholder: being written).

use ratatui::buffer::Buffer;
use ratatui::layout::Rect;

pub fn render(title: &str, lines: &[String], area: Rect, buf: &mut Buffer) {
    let _ = (title, lines, area, buf);
}
