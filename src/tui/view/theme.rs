//! Every style the panes use, in one place: colours say state (green ok, amber waiting, red
//! failing), bold says where the focus is, dim says "less important".

use ratatui::style::{Color, Modifier, Style};

pub struct Theme;

impl Theme {
    pub fn text() -> Style {
        Style::default()
    }
    pub fn dim() -> Style {
        Style::default().fg(Color::DarkGray)
    }
    pub fn title() -> Style {
        Style::default().add_modifier(Modifier::BOLD)
    }
    pub fn border() -> Style {
        Style::default().fg(Color::DarkGray)
    }
    pub fn border_focused() -> Style {
        Style::default().fg(Color::Cyan)
    }
    pub fn selected() -> Style {
        Style::default()
            .bg(Color::DarkGray)
            .add_modifier(Modifier::BOLD)
    }
    pub fn key() -> Style {
        Style::default()
            .fg(Color::Cyan)
            .add_modifier(Modifier::BOLD)
    }
    pub fn ok() -> Style {
        Style::default().fg(Color::Green)
    }
    pub fn warn() -> Style {
        Style::default().fg(Color::Yellow)
    }
    pub fn error() -> Style {
        Style::default().fg(Color::Red)
    }
    pub fn busy() -> Style {
        Style::default().fg(Color::Cyan)
    }
    pub fn user() -> Style {
        Style::default()
            .fg(Color::Blue)
            .add_modifier(Modifier::BOLD)
    }
    pub fn assistant() -> Style {
        Style::default()
            .fg(Color::Magenta)
            .add_modifier(Modifier::BOLD)
    }
    pub fn money() -> Style {
        Style::default().fg(Color::Green)
    }
    /// The total spent, the pane's headline.
    pub fn money_total() -> Style {
        Style::default()
            .fg(Color::Green)
            .add_modifier(Modifier::BOLD)
    }
    /// A tool call's name, and the TOOL entries of a log.
    pub fn tool() -> Style {
        Style::default().fg(Color::Cyan)
    }
    /// An error kept for reference rather than news (an endpoint's last error).
    pub fn error_faded() -> Style {
        Style::default().fg(Color::Red).add_modifier(Modifier::DIM)
    }
    /// A section heading inside a pane (`by agent`, `Global`).
    pub fn heading() -> Style {
        Style::default().add_modifier(Modifier::BOLD | Modifier::UNDERLINED)
    }
    pub fn scripted() -> Style {
        Style::default()
            .fg(Color::Yellow)
            .add_modifier(Modifier::ITALIC)
    }
}

/// The budget gauge's colour: green, amber from 80 %, red from 100 %.
pub fn budget_style(ratio: f64) -> Style {
    if ratio >= 1.0 {
        Theme::error()
    } else if ratio >= 0.8 {
        Theme::warn()
    } else {
        Theme::ok()
    }
}

/// The spinner frame for a moment (ten frames a second).
pub fn spinner(now: jiff::Timestamp) -> &'static str {
    const FRAMES: [&str; 10] = ["⠋", "⠙", "⠹", "⠸", "⠼", "⠴", "⠦", "⠧", "⠇", "⠏"];
    let tenths = now.as_millisecond().rem_euclid(1000) / 100;
    FRAMES[usize::try_from(tenths).unwrap_or(0) % FRAMES.len()]
}
