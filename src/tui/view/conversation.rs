//! The selected agent's conversation: prompts, answers rendered as markdown while they stream,
//! tool calls, notices and errors. Rendered lines are cached per entry revision and width, and
//! only the lines on screen are drawn, so a 5,000-message conversation costs what one screen does.

use std::cell::RefCell;
use std::collections::HashMap;

use ratatui::buffer::Buffer;
use ratatui::layout::Rect;
use ratatui::style::{Modifier, Style};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Paragraph, Widget};

use super::outcome;
use super::theme::Theme;
use super::{Ctx, pane, titled};
use crate::sanitize::{for_display, line_for_display};
use crate::tui::app::state::Focus;
use crate::tui::markdown::{self, MarkdownTheme};
use crate::tui::model::{AgentView, CallState, Entry, EntryId};
use crate::tui::wrap;

/// Rendered lines of transcript entries, per agent, entry, revision and width. A memo of a pure
/// function: drawing fills it, and a changed entry (new revision) or width renders again.
#[derive(Debug, Default)]
pub struct ConversationCache {
    entries: RefCell<HashMap<(usize, EntryId), Cached>>,
}

#[derive(Debug)]
struct Cached {
    rev: u64,
    width: u16,
    lines: Vec<Line<'static>>,
}

impl ConversationCache {
    pub fn clear(&self) {
        self.entries.borrow_mut().clear();
    }

    /// Drops what was rendered for one agent (its transcript was cleared).
    pub fn forget_agent(&self, agent: usize) {
        self.entries.borrow_mut().retain(|(a, _), _| *a != agent);
    }

    /// The height of a whole conversation at `width`, rendering what is not cached yet.
    pub fn total_height(&self, index: usize, agent: &AgentView, width: u16) -> usize {
        agent
            .transcript
            .iter()
            .map(|(id, rev, entry)| self.height(index, agent, id, rev, entry, width) + 1)
            .sum::<usize>()
            .saturating_sub(1)
    }

    fn height(
        &self,
        index: usize,
        agent: &AgentView,
        id: EntryId,
        rev: u64,
        entry: &Entry,
        width: u16,
    ) -> usize {
        self.with_lines(index, agent, id, rev, entry, width, |lines| lines.len())
    }

    #[expect(
        clippy::too_many_arguments,
        reason = "the cache key and what renders on a miss"
    )]
    fn with_lines<T>(
        &self,
        index: usize,
        agent: &AgentView,
        id: EntryId,
        rev: u64,
        entry: &Entry,
        width: u16,
        read: impl FnOnce(&[Line<'static>]) -> T,
    ) -> T {
        let mut entries = self.entries.borrow_mut();
        let cached = entries
            .entry((index, id))
            .and_modify(|c| {
                if c.rev != rev || c.width != width {
                    *c = Cached {
                        rev,
                        width,
                        lines: render_entry(agent, entry, width),
                    };
                }
            })
            .or_insert_with(|| Cached {
                rev,
                width,
                lines: render_entry(agent, entry, width),
            });
        read(&cached.lines)
    }
}

/// `coder · ctx 1.2k/8.2k 15% · gpt-4o via …`: the meter before the target, which is cut first.
fn title(agent: &crate::tui::model::AgentView) -> String {
    if agent.unreachable.is_some() {
        return format!("{} · ✗ unreachable · {}", agent.name(), agent.info.target);
    }
    match &agent.context {
        Some(fill) => format!(
            "{} · {} · {}",
            agent.name(),
            super::agents::context_meter(fill),
            agent.info.target
        ),
        None => format!("{} · {}", agent.name(), agent.info.target),
    }
}

pub fn render(ctx: &Ctx<'_>, cache: &ConversationCache, area: Rect, buf: &mut Buffer) {
    let Some(agent) = ctx.model.agents.get(ctx.ui.selected) else {
        pane(titled("Conversation", ""), ctx.focused(Focus::Conversation)).render(area, buf);
        return;
    };
    let scroll = ctx.ui.scroll();
    let note = if scroll.follows_tail() {
        String::new()
    } else {
        format!("↑ {} lines up · End follows", scroll.lines_from_bottom)
    };
    let block = pane(
        titled(&title(agent), &note),
        ctx.focused(Focus::Conversation),
    );
    let inner = block.inner(area);
    block.render(area, buf);
    if inner.width == 0 || inner.height == 0 {
        return;
    }
    if agent.transcript.is_empty() {
        Paragraph::new(empty_state(agent))
            .wrap(ratatui::widgets::Wrap { trim: false })
            .render(inner, buf);
        return;
    }
    let lines = visible_lines(
        cache,
        ctx.ui.selected,
        agent,
        inner,
        scroll.lines_from_bottom,
    );
    for (row, line) in lines.iter().enumerate() {
        let y = inner.y + u16::try_from(row).unwrap_or(u16::MAX);
        buf.set_line(inner.x, y, line, inner.width);
    }
}

/// The lines that fill `area` when the conversation is scrolled `from_bottom` lines up from its
/// end: walks entries from the newest back, skips what lies below the view by its (cached)
/// height, copies only the lines on screen, and stops as soon as the screen is full.
pub fn visible_lines(
    cache: &ConversationCache,
    index: usize,
    agent: &AgentView,
    area: Rect,
    from_bottom: usize,
) -> Vec<Line<'static>> {
    let height = usize::from(area.height);
    let mut skip = from_bottom;
    // Bottom-up: the newest line first.
    let mut collected: Vec<Line<'static>> = Vec::with_capacity(height);
    for (position, (id, rev, entry)) in agent.transcript.iter().rev().enumerate() {
        if collected.len() >= height {
            break;
        }
        // A blank line separates an entry from the one below it.
        let gap = usize::from(position > 0);
        cache.with_lines(index, agent, id, rev, entry, area.width, |lines| {
            let block = lines.len() + gap;
            if skip >= block {
                skip -= block;
                return;
            }
            let blank = Line::default();
            for line in std::iter::repeat_n(&blank, gap)
                .chain(lines.iter().rev())
                .skip(skip)
            {
                if collected.len() >= height {
                    break;
                }
                collected.push(line.clone());
            }
            skip = 0;
        });
    }
    collected.reverse();
    collected
}

/// What an agent with no conversation yet shows: how to start, or why it cannot run.
fn empty_state(agent: &AgentView) -> Vec<Line<'static>> {
    let info = &agent.info;
    let mut lines = vec![
        Line::from(vec![
            Span::styled(info.name.clone(), Theme::title()),
            Span::styled(format!("  {}/{}", info.provider, info.model), Theme::dim()),
        ]),
        Line::from(Span::styled(info.target.clone(), Theme::dim())),
        Line::default(),
    ];
    match &info.problem {
        Some(problem) => {
            lines.push(Line::from(Span::styled(
                "This agent cannot run yet:",
                Theme::error(),
            )));
            lines.push(Line::from(problem.clone()));
        }
        None if info.scripted => lines.push(Line::from(Span::styled(
            "Scripted replies from the config, not a model. Type a prompt below.",
            Theme::scripted(),
        ))),
        None => lines.push(Line::from("Type a prompt below and press Enter.")),
    }
    if let Some(why) = &agent.unreachable {
        lines.push(Line::default());
        lines.push(Line::from(Span::styled(
            "Its server cannot be reached (a prompt fails at once until it answers):",
            Theme::error(),
        )));
        lines.push(Line::from(line_for_display(why)));
    }
    for note in &info.notes {
        lines.push(Line::from(Span::styled(
            format!("note: {note}"),
            Theme::dim(),
        )));
    }
    lines
}

/// One entry as lines of at most `width` cells.
fn render_entry(agent: &AgentView, entry: &Entry, width: u16) -> Vec<Line<'static>> {
    let body_width = width.saturating_sub(2);
    let indent = |lines: Vec<Line<'static>>| -> Vec<Line<'static>> {
        lines
            .into_iter()
            .map(|mut line| {
                line.spans.insert(0, Span::raw("  "));
                line
            })
            .collect()
    };
    match entry {
        Entry::User { text } => {
            let mut lines = vec![Line::from(Span::styled("› you", Theme::user()))];
            lines.extend(indent(wrap::wrap_text(
                &for_display(text),
                Style::default(),
                body_width,
            )));
            lines
        }
        Entry::Assistant { text, streaming } => {
            let mut lines = vec![Line::from(Span::styled(
                format!("‹ {}", agent.name()),
                Theme::assistant(),
            ))];
            let mut body =
                markdown::render(&for_display(text), body_width, &MarkdownTheme::default());
            if *streaming {
                match body.last_mut() {
                    Some(last) if last.width() < usize::from(body_width) => {
                        last.spans.push(Span::styled("▍", Theme::busy()))
                    }
                    _ => body.push(Line::from(Span::styled("▍", Theme::busy()))),
                }
            }
            lines.extend(indent(body));
            lines
        }
        Entry::Reasoning { text } => {
            let style = Theme::dim().add_modifier(Modifier::ITALIC);
            let mut body = wrap::wrap_text(&for_display(text), style, body_width);
            // Long reasoning shows its end: what the model thinks now.
            let keep = body.len().saturating_sub(3);
            body.drain(..keep);
            let mut lines = vec![Line::from(Span::styled("  thinking…", style))];
            lines.extend(indent(body));
            lines
        }
        Entry::Tool { call } => {
            let line = match agent.call(call) {
                Some(view) => {
                    let (mark, style) = match view.state {
                        CallState::Running => ("⚙", Theme::busy()),
                        CallState::AwaitingApproval => ("?", Theme::warn()),
                        CallState::Finished { ok: true, .. } => ("✓", Theme::ok()),
                        CallState::Finished { ok: false, .. } => ("✗", Theme::error()),
                    };
                    let args = line_for_display(&view.args.to_string());
                    Line::from(vec![
                        Span::raw("  "),
                        Span::styled(format!("{mark} "), style),
                        Span::styled(line_for_display(&view.tool), Theme::title()),
                        Span::styled(format!(" {args}"), Theme::dim()),
                    ])
                }
                None => Line::from(Span::styled(format!("  ⚙ {call}"), Theme::dim())),
            };
            vec![wrap::truncate(&line, width)]
        }
        Entry::Notice { text } => {
            wrap::wrap_text(&format!("· {}", for_display(text)), Theme::dim(), width)
        }
        Entry::Stopped { reason } => {
            wrap::wrap_text(&format!("⚠ {}", reason.describe()), Theme::warn(), width)
        }
        Entry::Error { text, kind } => wrap::wrap_text(
            &format!("✗ {}", for_display(text)),
            outcome::failure_style(*kind),
            width,
        ),
    }
}
