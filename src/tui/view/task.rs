//! The task view: one row per entry of the task's `steps:`, a group's steps side by side, each
//! step with its agent, state, time, tokens, cost and the tail of its output, live.

use ratatui::buffer::Buffer;
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::style::Style;
use ratatui::text::{Line, Span};
use ratatui::widgets::Widget;

use super::theme::{Theme, spinner};
use super::{Ctx, count, dollars, pane, seconds_since, short_duration, titled};
use crate::engine::pipeline::{StepState, TaskState};
use crate::sanitize;
use crate::tui::model::task::{StepView, TaskView};
use crate::tui::wrap;

/// A step's box is never shorter than this (its frame, its header and two lines of output).
const MIN_ROW: u16 = 5;

pub fn render(ctx: &Ctx<'_>, area: Rect, buf: &mut Buffer) {
    let Some(task) = &ctx.model.task else {
        return;
    };
    let (state, _) = task_state(task);
    let note = format!(
        "{state} · {} tok · {}",
        count(task.tokens()),
        dollars(task.cost_usd())
    );
    let title = titled(
        &format!("Task {}", sanitize::line_for_display(&task.name)),
        &note,
    );
    let block = pane(title, true);
    let inner = block.inner(area);
    block.render(area, buf);
    if inner.width == 0 || inner.height == 0 {
        return;
    }
    let mut body = inner;
    if let Some(error) = task.error.as_deref().filter(|_| !task.is_running()) {
        let line = Line::from(Span::styled(
            sanitize::line_for_display(error.lines().next().unwrap_or_default()),
            Theme::error(),
        ));
        buf.set_line(
            body.x,
            body.y,
            &wrap::truncate(&line, body.width),
            body.width,
        );
        body.y += 1;
        body.height -= 1;
    }
    let stages = task.stages();
    if stages.is_empty() || body.height < MIN_ROW {
        return;
    }
    // As many rows as fit, from one that keeps the selected step's row in sight.
    let fit = usize::from(body.height / MIN_ROW).clamp(1, stages.len());
    let selected_stage = stages
        .iter()
        .position(|s| s.contains(&ctx.ui.task_step))
        .unwrap_or(0);
    let first = selected_stage
        .saturating_sub(fit - 1)
        .min(stages.len() - fit);
    let rows = Layout::vertical(vec![
        Constraint::Ratio(1, u32::try_from(fit).unwrap_or(1));
        fit
    ])
    .split(body);
    for (row, stage) in stages[first..first + fit].iter().enumerate() {
        let columns = Layout::horizontal(vec![
            Constraint::Ratio(
                1,
                u32::try_from(stage.len()).unwrap_or(1)
            );
            stage.len()
        ])
        .split(rows[row]);
        for (column, &index) in stage.iter().enumerate() {
            step_box(
                ctx,
                &task.steps[index],
                index == ctx.ui.task_step,
                columns[column],
                buf,
            );
        }
    }
}

fn task_state(task: &TaskView) -> (String, Style) {
    match task.state {
        None => {
            let done = task.steps.iter().filter(|s| s.state.is_success()).count();
            (
                format!("running, {done} of {} steps done", task.steps.len()),
                Theme::busy(),
            )
        }
        Some(TaskState::Done) => ("done".to_owned(), Theme::ok()),
        Some(TaskState::Failed) => ("failed".to_owned(), Theme::error()),
        Some(TaskState::Cancelled) => ("cancelled".to_owned(), Theme::warn()),
    }
}

fn step_box(ctx: &Ctx<'_>, step: &StepView, selected: bool, area: Rect, buf: &mut Buffer) {
    let name = match &step.step.id {
        Some(id) => format!(" {} {} · {id} ", step.step.index, step.step.agent),
        None => format!(" {} {} ", step.step.index, step.step.agent),
    };
    let block = pane(Line::from(sanitize::line_for_display(&name)), selected);
    let inner = block.inner(area);
    block.render(area, buf);
    if inner.width == 0 || inner.height == 0 {
        return;
    }
    let (state, style) = match step.state {
        StepState::Waiting => ("waiting".to_owned(), Theme::dim()),
        StepState::Running if step.attempt > 1 => (
            format!("{} running, attempt {}", spinner(ctx.now), step.attempt),
            Theme::busy(),
        ),
        StepState::Running => (format!("{} running", spinner(ctx.now)), Theme::busy()),
        StepState::Done => ("✓ done".to_owned(), Theme::ok()),
        StepState::Reused => ("✓ done in an earlier run".to_owned(), Theme::ok()),
        StepState::Failed => ("✗ failed".to_owned(), Theme::error()),
        StepState::Cancelled => ("cancelled".to_owned(), Theme::warn()),
    };
    let elapsed = match (step.elapsed_ms, step.started_at) {
        (Some(ms), _) => short_duration(i64::try_from(ms / 1000).unwrap_or(i64::MAX)),
        (None, Some(start)) => short_duration(seconds_since(ctx.now, start)),
        (None, None) => "–".to_owned(),
    };
    let header = Line::from(vec![
        Span::styled(state, style),
        Span::styled(
            format!(" · {elapsed} · {} tok ", count(step.tokens)),
            Theme::dim(),
        ),
        Span::styled(dollars(step.cost_usd), Theme::money()),
    ]);
    buf.set_line(
        inner.x,
        inner.y,
        &wrap::truncate(&header, inner.width),
        inner.width,
    );
    let body = Rect::new(
        inner.x,
        inner.y + 1,
        inner.width,
        inner.height.saturating_sub(1),
    );
    if body.height == 0 {
        return;
    }
    let mut lines = if step.output.is_empty() {
        Vec::new()
    } else {
        wrap::wrap_text(
            &sanitize::for_display(&step.output),
            Theme::text(),
            body.width,
        )
    };
    if let Some(error) = &step.error {
        lines.extend(wrap::wrap_text(
            &sanitize::for_display(error),
            Theme::error(),
            body.width,
        ));
    }
    // The tail: the newest words of a streaming answer.
    let shown = usize::from(body.height);
    let skip = lines.len().saturating_sub(shown);
    for (row, line) in lines.iter().skip(skip).enumerate() {
        buf.set_line(
            body.x,
            body.y + u16::try_from(row).unwrap_or(0),
            line,
            body.width,
        );
    }
}
