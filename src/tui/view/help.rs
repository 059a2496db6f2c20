//! The keymap overlay (`?`): every key and slash command, grouped by where it works, in two
//! columns when the screen is wide enough.

use ratatui::buffer::Buffer;
use ratatui::layout::Rect;
use ratatui::text::{Line, Span};

use super::Ctx;
use super::fit::{centered, draw_rows, text_width};
use super::report::overlay;
use super::theme::Theme;

/// Keys that work in one place, and what they do.
struct Group {
    title: &'static str,
    keys: &'static [(&'static str, &'static str)],
}

const GROUPS: [Group; 7] = [
    Group {
        title: "Global",
        keys: &[
            ("Tab Shift+Tab", "next / previous pane"),
            ("Ctrl+A", "run-all view"),
            ("Esc", "cancel turn / close"),
            ("Ctrl+C", "cancel, then quit"),
            ("q", "quit (outside input)"),
            ("?", "this help"),
            ("Alt+1..9", "select agent"),
        ],
    },
    Group {
        title: "Agents",
        keys: &[("↑↓ j k  1-9", "select agent")],
    },
    Group {
        title: "Conversation",
        keys: &[
            ("PgUp PgDn", "scroll a page"),
            ("↑↓ j k  wheel", "scroll"),
            ("Home End g G", "top / bottom"),
        ],
    },
    Group {
        title: "Tool calls",
        keys: &[("↑↓", "select a call"), ("Enter", "arguments and output")],
    },
    Group {
        title: "Input",
        keys: &[
            ("Enter", "send"),
            ("Alt/Shift+Enter", "new line"),
            ("↑↓", "history (first/last)"),
            ("paste", "keeps its newlines"),
        ],
    },
    Group {
        title: "Run-all",
        keys: &[("←→ h l", "select column"), ("Enter", "open that agent")],
    },
    Group {
        title: "Slash commands",
        keys: &[
            ("/status", "config, agents, budget"),
            ("/agents", "list the agents"),
            ("/agent NAME", "select an agent"),
            ("/logs NAME", "follow an agent's log"),
            ("/costs", "spent per agent, model"),
            ("/health", "breakers and limits"),
            ("/reload", "re-read the config"),
            ("/all [TEXT]", "prompt every agent"),
            ("/task NAME", "run a task from tasks:"),
            ("/cancel", "cancel the turn"),
            ("/clear", "clear the conversation"),
            ("/compact", "summarise older messages"),
            ("/sessions", "pick a session"),
            ("/resume ID", "go on with one"),
            ("/export", "save it, md|json"),
            ("/help", "this help"),
            ("/quit", "quit tzzr"),
        ],
    },
];

/// The narrowest a column of keys is drawn.
const COLUMN_WIDTH: u16 = 36;
/// Cells between two columns.
const GUTTER: u16 = 2;
/// The widest the overlay grows.
const MAX_WIDTH: u16 = 100;

pub fn render(ctx: &Ctx<'_>, area: Rect, buf: &mut Buffer) {
    let _ = ctx;
    let two_columns = area.width >= 2 * COLUMN_WIDTH + GUTTER + 4;
    let columns = if two_columns {
        let split = balanced_split();
        vec![&GROUPS[..split], &GROUPS[split..]]
    } else {
        vec![&GROUPS[..]]
    };
    let rows = columns.iter().map(|c| height(c)).max().unwrap_or(0);
    let width = if two_columns {
        MAX_WIDTH
    } else {
        COLUMN_WIDTH + 4
    };
    let height = u16::try_from(rows + 2).unwrap_or(u16::MAX);
    let outer = centered(area, width, height);
    let inner = overlay(Line::from(" Help "), outer, buf);
    let inner = Rect {
        x: inner.x.saturating_add(1).min(inner.right()),
        width: inner.width.saturating_sub(2),
        ..inner
    };
    let column_width = if two_columns {
        inner.width.saturating_sub(GUTTER) / 2
    } else {
        inner.width
    };
    for (i, groups) in columns.into_iter().enumerate() {
        let offset = (column_width + GUTTER) * u16::try_from(i).unwrap_or(0);
        let column = Rect {
            x: inner.x.saturating_add(offset).min(inner.right()),
            width: column_width.min(inner.width.saturating_sub(offset)),
            ..inner
        };
        draw_column(groups, column, buf);
    }
}

/// Where to split the groups into two columns so the taller column is as short as it can be.
fn balanced_split() -> usize {
    (1..GROUPS.len())
        .min_by_key(|&split| height(&GROUPS[..split]).max(height(&GROUPS[split..])))
        .unwrap_or(GROUPS.len())
}

/// Rows a column of groups takes: a title line and one line per key each.
fn height(groups: &[Group]) -> usize {
    groups.iter().map(|g| 1 + g.keys.len()).sum()
}

/// Draws `groups` from the top of `area`; a column too short ends with `…`.
fn draw_column(groups: &[Group], area: Rect, buf: &mut Buffer) {
    let mut lines = Vec::with_capacity(height(groups));
    for group in groups {
        lines.push(Line::styled(group.title, Theme::heading()));
        let keys_width = group
            .keys
            .iter()
            .map(|(k, _)| text_width(k))
            .max()
            .unwrap_or(0);
        lines.extend(group.keys.iter().map(|(key, meaning)| {
            Line::from(vec![
                Span::styled(format!("{key:<keys_width$}"), Theme::key()),
                Span::raw("  "),
                Span::styled(*meaning, Theme::text()),
            ])
        }));
    }
    let room = usize::from(area.height);
    if lines.len() > room && room > 0 {
        lines.truncate(room - 1);
        lines.push(Line::styled("…", Theme::dim()));
    }
    draw_rows(lines, area, buf);
}

#[cfg(test)]
mod tests {
    use super::super::fixtures::{
        Scene, agent, assert_stays_inside, assert_style, at, draw, screen,
    };
    use super::*;

    fn help(width: u16, height: u16) -> Buffer {
        let scene = Scene::new(vec![agent("coder")], None);
        draw(width, height, |area, buf| {
            render(&scene.ctx(at(0)), area, buf)
        })
    }

    #[test]
    fn help_at_120_by_35_shows_every_key_in_two_columns() {
        let buf = help(120, 35);
        let text = screen(&buf);
        insta::assert_snapshot!(text);
        assert!(!text.contains('…'), "nothing is cut:\n{text}");
        assert_style(&buf, "Ctrl+A", Theme::key());
        assert_style(&buf, "/reload", Theme::key());
    }

    #[test]
    fn help_at_80_by_24_still_shows_every_key() {
        let text = screen(&help(80, 24));
        insta::assert_snapshot!(text);
        assert!(!text.contains('…'), "nothing is cut:\n{text}");
    }

    #[test]
    fn help_on_a_narrow_screen_is_one_column_cut_at_the_bottom() {
        let text = screen(&help(50, 20));
        insta::assert_snapshot!(text);
        assert!(text.contains('…'), "{text}");
    }

    #[test]
    fn help_never_panics_nor_draws_outside_its_area() {
        let scene = Scene::new(vec![agent("coder")], None);
        assert_stays_inside(|area, buf| render(&scene.ctx(at(0)), area, buf));
    }
}
