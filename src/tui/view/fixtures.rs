//! Test fixtures for the panes: models fed with real events at fixed times, buffers drawn at a
//! fixed moment, screens as text, and the checks every view must pass at any size.

use std::path::PathBuf;

use ratatui::buffer::{Buffer, Cell};
use ratatui::layout::{Position, Rect};
use ratatui::style::Style;

use crate::engine::orchestrator::AgentInfo;
use crate::engine::protocol::{AgentEvent, EventKind, TurnId};
use crate::tui::app::state::UiState;
use crate::tui::model::Model;
use crate::tui::view::Ctx;

/// 2026-11-25T10:00:00Z: every fixture time counts seconds from here.
pub const EPOCH: i64 = 1_795_600_800;

pub fn at(seconds: i64) -> jiff::Timestamp {
    jiff::Timestamp::from_second(EPOCH + seconds).unwrap_or(jiff::Timestamp::UNIX_EPOCH)
}

/// `at(seconds)` plus some milliseconds (for spinner frames).
pub fn at_ms(seconds: i64, millis: i64) -> jiff::Timestamp {
    jiff::Timestamp::from_millisecond((EPOCH + seconds) * 1000 + millis)
        .unwrap_or(jiff::Timestamp::UNIX_EPOCH)
}

/// An HTTP agent on the endpoint `openai`, without a budget.
pub fn agent(name: &str) -> AgentInfo {
    AgentInfo {
        name: name.to_owned(),
        provider: "openai".to_owned(),
        model: "gpt-4o".to_owned(),
        target: "gpt-4o via openai api.openai.com".to_owned(),
        endpoint: Some("openai".to_owned()),
        tools: vec!["read".to_owned(), "write".to_owned()],
        servers: Vec::new(),
        scripted: false,
        problem: None,
        notes: Vec::new(),
        fallbacks: Vec::new(),
        budget_usd: None,
        log: PathBuf::from(format!("logs/{name}.md")),
    }
}

/// Builds a model by feeding it events, as the TUI does.
pub struct Scene {
    pub model: Model,
    pub ui: UiState,
}

impl Scene {
    pub fn new(agents: Vec<AgentInfo>, budget_usd: Option<f64>) -> Self {
        let ui = UiState::new(agents.len());
        Self {
            model: Model::new(&agents, &[], budget_usd),
            ui,
        }
    }

    /// Applies one event of `agent`'s turn 1, `seconds` after [`EPOCH`].
    pub fn event(&mut self, agent: &str, seconds: i64, kind: EventKind) -> &mut Self {
        self.model.apply(&AgentEvent {
            agent: agent.into(),
            turn: TurnId(1),
            at: at(seconds),
            kind,
        });
        self
    }

    pub fn ctx(&self, now: jiff::Timestamp) -> Ctx<'_> {
        Ctx {
            model: &self.model,
            ui: &self.ui,
            now,
        }
    }
}

/// A `width` × `height` buffer with `draw` applied to all of it.
pub fn draw(width: u16, height: u16, draw: impl FnOnce(Rect, &mut Buffer)) -> Buffer {
    let area = Rect::new(0, 0, width, height);
    let mut buf = Buffer::empty(area);
    draw(area, &mut buf);
    buf
}

/// The buffer as text, one line per row, trailing spaces cut.
pub fn screen(buf: &Buffer) -> String {
    let area = buf.area;
    let mut out = String::new();
    for y in area.top()..area.bottom() {
        let mut row = String::new();
        let mut hidden = 0;
        for x in area.left()..area.right() {
            let symbol = buf[(x, y)].symbol();
            if hidden > 0 {
                // Covered by the wide character before it.
                hidden -= 1;
                continue;
            }
            hidden = unicode_width::UnicodeWidthStr::width(symbol).saturating_sub(1);
            row.push_str(symbol);
        }
        out.push_str(row.trim_end());
        out.push('\n');
    }
    out
}

/// Where `text` starts on screen (first match, row by row).
pub fn find(buf: &Buffer, text: &str) -> Option<Position> {
    let area = buf.area;
    for y in area.top()..area.bottom() {
        for x in area.left()..area.right() {
            let mut matched = String::new();
            let mut col = x;
            while matched.len() < text.len() && col < area.right() {
                matched.push_str(buf[(col, y)].symbol());
                col += 1;
            }
            if matched.starts_with(text) {
                return Some(Position::new(x, y));
            }
        }
    }
    None
}

/// The style of the cell where `text` starts on screen.
pub fn style_of(buf: &Buffer, text: &str) -> Style {
    let Some(at) = find(buf, text) else {
        panic!("`{text}` is not on screen:\n{}", screen(buf));
    };
    buf[at].style()
}

/// The cell where `text` starts has `expected`'s colours and at least its modifiers.
pub fn assert_style(buf: &Buffer, text: &str, expected: Style) {
    let actual = style_of(buf, text);
    let same_colours = expected.fg.is_none_or(|fg| actual.fg == Some(fg))
        && expected.bg.is_none_or(|bg| actual.bg == Some(bg));
    assert!(
        same_colours && actual.add_modifier.contains(expected.add_modifier),
        "`{text}` is drawn {actual:?}, expected {expected:?}:\n{}",
        screen(buf)
    );
}

/// No cell holds an escape or any other control character.
pub fn assert_no_escape(buf: &Buffer) {
    for cell in &buf.content {
        assert!(
            !cell.symbol().chars().any(char::is_control),
            "a control character reached the buffer: {:?}\n{}",
            cell.symbol(),
            screen(buf)
        );
    }
}

/// Draws at every size from 0×0 to 12×6 (and 1×1), placed away from the buffer's corner, and
/// checks that nothing panics and no cell outside the area changes.
pub fn assert_stays_inside(draw: impl Fn(Rect, &mut Buffer)) {
    let marker = || {
        let mut cell = Cell::default();
        cell.set_symbol("#");
        cell
    };
    let sizes = (0..=12u16)
        .flat_map(|w| (0..=6u16).map(move |h| (w, h)))
        .chain([(1, 1), (40, 1), (1, 20)]);
    for (width, height) in sizes {
        let whole = Rect::new(0, 0, width + 6, height + 4);
        let area = Rect::new(3, 2, width, height);
        let mut buf = Buffer::filled(whole, marker());
        draw(area, &mut buf);
        for y in whole.top()..whole.bottom() {
            for x in whole.left()..whole.right() {
                if !area.contains(Position::new(x, y)) {
                    assert_eq!(
                        buf[(x, y)].symbol(),
                        "#",
                        "drew at ({x},{y}) outside {area:?}:\n{}",
                        screen(&buf)
                    );
                }
            }
        }
    }
}
