//! The cost meter: the total, the budget gauge, tokens, then what each agent and each model
//! spent (most expensive first). Rows are cut from the bottom when the pane is short.

use ratatui::buffer::Buffer;
use ratatui::layout::Rect;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Gauge, Widget};

use super::fit::{fit_line, spread, text_width};
use super::theme::{Theme, budget_style};
use super::{Ctx, count, dollars, pane, titled};
use crate::sanitize::line_for_display;
use crate::tui::app::state::Focus;
use crate::tui::model::{Model, Tokens};

pub fn render(ctx: &Ctx<'_>, area: Rect, buf: &mut Buffer) {
    let block = pane(titled("Costs", ""), ctx.focused(Focus::Costs));
    let inner = block.inner(area);
    block.render(area, buf);
    let rows = rows(ctx.model, inner.width);
    let height = usize::from(inner.height);
    let cut = rows.len() > height && height >= 3;
    let shown = if cut {
        height - 1
    } else {
        rows.len().min(height)
    };
    let mut y = inner.y;
    for row in &rows[..shown] {
        let line_area = Rect::new(inner.x, y, inner.width, 1);
        match row {
            Row::Text(line) => fit_line(line.clone(), inner.width).render(line_area, buf),
            Row::Heading(title) => {
                fit_line(Line::styled(*title, Theme::heading()), inner.width)
                    .render(line_area, buf);
            }
            Row::Budget { spent, limit } => budget_gauge(*spent, *limit, line_area, buf),
        }
        y += 1;
    }
    if cut {
        let more = Line::styled(format!("… {} more", rows.len() - shown), Theme::dim());
        fit_line(more, inner.width).render(Rect::new(inner.x, y, inner.width, 1), buf);
    }
}

/// One row of the pane.
enum Row {
    Text(Line<'static>),
    Heading(&'static str),
    Budget { spent: f64, limit: f64 },
}

/// Every row, the most important first.
fn rows(model: &Model, width: u16) -> Vec<Row> {
    let total = &model.costs.total;
    let mut rows = vec![Row::Text(total_line(total, width))];
    if let Some(limit) = model.budget_usd {
        rows.push(Row::Budget {
            spent: total.cost_usd,
            limit,
        });
    }
    if total.calls == 0 {
        rows.push(Row::Text(Line::styled("no model calls yet", Theme::dim())));
        return rows;
    }
    rows.push(Row::Text(Line::from(vec![
        Span::styled("in ", Theme::dim()),
        Span::raw(count(total.input)),
        Span::styled("  out ", Theme::dim()),
        Span::raw(count(total.output)),
    ])));
    if total.cache_read > 0 || total.cache_write > 0 {
        rows.push(Row::Text(Line::from(vec![
            Span::styled("cache read ", Theme::dim()),
            Span::raw(count(total.cache_read)),
            Span::styled("  write ", Theme::dim()),
            Span::raw(count(total.cache_write)),
        ])));
    }
    if total.unpriced {
        rows.push(Row::Text(Line::styled(
            "? no price known: counted as $0",
            Theme::dim(),
        )));
    }
    if total.estimated {
        rows.push(Row::Text(Line::styled(
            "~ some counts estimated: the server sent no usage",
            Theme::dim(),
        )));
    }
    if total.local {
        rows.push(Row::Text(Line::styled(
            "local models (served on this machine) are free",
            Theme::dim(),
        )));
    }
    rows.push(Row::Heading("by agent"));
    rows.extend(agent_rows(model, width).into_iter().map(Row::Text));
    rows.push(Row::Heading("by model"));
    rows.extend(model_rows(model, width).into_iter().map(Row::Text));
    rows
}

fn total_line(total: &Tokens, width: u16) -> Line<'static> {
    let mut left = vec![Span::styled(dollars(total.cost_usd), Theme::money_total())];
    if total.unpriced {
        left.push(Span::styled("?", Theme::dim()));
    }
    left.push(Span::styled(" total", Theme::dim()));
    let right = if total.calls == 0 {
        Vec::new()
    } else {
        vec![Span::styled(
            calls(total.calls).trim_end().to_owned(),
            Theme::dim(),
        )]
    };
    spread(left, right, width)
}

/// Agents that spent something or have a budget, the most expensive first; a budget shows as
/// `$0.40/$2.00`, coloured by how much of it is spent.
fn agent_rows(model: &Model, width: u16) -> Vec<Line<'static>> {
    let costs = &model.costs;
    let mut agents: Vec<(&str, Tokens, Option<f64>)> = model
        .agents
        .iter()
        .filter_map(|a| {
            let tokens = costs.by_agent.get(a.name()).copied();
            let budget = a.info.budget_usd;
            (tokens.is_some() || budget.is_some())
                .then(|| (a.name(), tokens.unwrap_or_default(), budget))
        })
        .collect();
    // Agents removed by /reload still spent what they spent.
    agents.extend(
        costs
            .by_agent
            .iter()
            .filter(|(name, _)| model.agent_index(name).is_none())
            .map(|(name, tokens)| (name.as_str(), *tokens, None)),
    );
    agents.sort_by(|a, b| b.1.cost_usd.total_cmp(&a.1.cost_usd));
    let amounts = Amounts::of(agents.iter().map(|(_, tokens, _)| tokens));
    agents
        .into_iter()
        .map(|(name, tokens, budget)| {
            let spent = match budget {
                Some(limit) => Span::styled(
                    format!("{}/{}", cents(tokens.cost_usd), cents(limit)),
                    budget_style(ratio(tokens.cost_usd, limit)),
                ),
                None => Span::styled(dollars(tokens.cost_usd), Theme::money()),
            };
            name_and(name, amounts.cell(spent, &tokens), width)
        })
        .collect()
}

/// Every model used, the most expensive first, with its number of calls.
fn model_rows(model: &Model, width: u16) -> Vec<Line<'static>> {
    let mut models: Vec<(&String, &Tokens)> = model.costs.by_model.iter().collect();
    models.sort_by(|a, b| b.1.cost_usd.total_cmp(&a.1.cost_usd));
    let amounts = Amounts::of(models.iter().map(|(_, tokens)| *tokens));
    models
        .into_iter()
        .map(|(name, tokens)| {
            let spent = Span::styled(dollars(tokens.cost_usd), Theme::money());
            let amount = amounts.cell(spent, tokens);
            let calls = Span::styled(format!("{}  ", calls(tokens.calls)), Theme::dim());
            // The number of calls goes first when the pane is too narrow for it.
            let room = usize::from(width).saturating_sub(NAME_AT_LEAST + 1);
            let right = if amount.iter().map(Span::width).sum::<usize>() + calls.width() <= room {
                [vec![calls], amount].concat()
            } else {
                amount
            };
            name_and(name, right, width)
        })
        .collect()
}

/// A right-aligned column of amounts, with room for a `?` when any of them is unpriced.
struct Amounts {
    width: usize,
    any_unpriced: bool,
}

impl Amounts {
    fn of<'a>(tokens: impl Iterator<Item = &'a Tokens>) -> Self {
        let mut column = Self {
            width: 0,
            any_unpriced: false,
        };
        for t in tokens {
            column.width = column.width.max(dollars(t.cost_usd).len());
            column.any_unpriced |= t.unpriced;
        }
        column
    }

    /// `spent` padded to the column, then `?` (dim) or a space when another row has one.
    fn cell(&self, spent: Span<'static>, tokens: &Tokens) -> Vec<Span<'static>> {
        let pad = self.width.saturating_sub(spent.width());
        let mut spans = vec![Span::raw(" ".repeat(pad)), spent];
        if tokens.unpriced {
            spans.push(Span::styled("?", Theme::dim()));
        } else if self.any_unpriced {
            spans.push(Span::raw(" "));
        }
        spans
    }
}

/// How much of a name a row shows before it drops a column to make room.
const NAME_AT_LEAST: usize = 6;

/// `name` (cleaned, cut first) on the left, `right` at the pane's edge.
fn name_and(name: &str, right: Vec<Span<'static>>, width: u16) -> Line<'static> {
    spread(vec![Span::raw(line_for_display(name))], right, width)
}

/// The budget gauge, `$4.10 of $5.00 (82%)` on a bar coloured green, amber from 80 %, red from
/// 100 %; just the percentage when the label does not fit.
fn budget_gauge(spent: f64, limit: f64, area: Rect, buf: &mut Buffer) {
    let ratio = ratio(spent, limit);
    let percent = format!("{:.0}%", ratio * 100.0);
    let label = format!("{} of {} ({percent})", cents(spent), cents(limit));
    let label = if text_width(&label) <= usize::from(area.width) {
        label
    } else {
        percent
    };
    Gauge::default()
        .ratio(ratio.clamp(0.0, 1.0))
        .label(Span::styled(label, Theme::text()))
        .gauge_style(budget_style(ratio))
        .use_unicode(true)
        .render(area, buf);
}

/// How much of `limit` is spent; a budget of zero (or less) counts as spent.
fn ratio(spent: f64, limit: f64) -> f64 {
    if limit > 0.0 && spent.is_finite() {
        (spent / limit).max(0.0)
    } else {
        1.0
    }
}

/// `$4.10`, or `$0.0032` when two decimals would show nothing.
fn cents(amount: f64) -> String {
    if amount != 0.0 && amount.abs() < 0.01 {
        dollars(amount)
    } else {
        format!("${amount:.2}")
    }
}

/// `1 call `, `12 calls`: the same width for one and many, so columns line up.
fn calls(n: u64) -> String {
    if n == 1 {
        "1 call ".to_owned()
    } else {
        format!("{n} calls")
    }
}

#[cfg(test)]
mod tests {
    use ratatui::style::Color;

    use super::super::fixtures::{
        Scene, agent, assert_stays_inside, assert_style, at, draw, screen, style_of,
    };
    use super::*;
    use crate::engine::protocol::{EventKind, TokenUsage};

    fn usage(model: &str, input: u64, output: u64, cost_usd: f64) -> EventKind {
        EventKind::Usage {
            model: model.to_owned(),
            usage: TokenUsage {
                input,
                output,
                cache_read: 0,
                cache_write: 0,
            },
            cost_usd,
            priced: true,
            estimated: false,
            local: false,
        }
    }

    /// coder spent $3.00 on gpt-4o, reviewer $1.00 on claude: $4.00 in all.
    fn spending(budget_usd: Option<f64>) -> Scene {
        let mut scene = Scene::new(
            vec![agent("coder"), agent("reviewer"), agent("idle")],
            budget_usd,
        );
        scene
            .event("coder", 1, usage("gpt-4o", 12_000, 3_400, 2.0))
            .event("coder", 2, usage("gpt-4o", 8_000, 1_100, 1.0))
            .event("reviewer", 3, usage("claude-sonnet-4", 5_000, 900, 1.0));
        scene
    }

    fn costs_pane(scene: &Scene, width: u16, height: u16) -> Buffer {
        draw(width, height, |area, buf| {
            render(&scene.ctx(at(10)), area, buf)
        })
    }

    #[test]
    fn without_a_budget_the_meter_shows_total_tokens_agents_and_models() {
        let buf = costs_pane(&spending(None), 36, 14);
        insta::assert_snapshot!(screen(&buf));
        assert_style(&buf, "$4.00", Theme::money_total());
    }

    #[test]
    fn budget_gauge_is_green_at_half() {
        let buf = costs_pane(&spending(Some(8.0)), 36, 14);
        insta::assert_snapshot!(screen(&buf));
        assert_eq!(style_of(&buf, "█").fg, Some(Color::Green));
    }

    #[test]
    fn budget_gauge_turns_amber_at_85_percent() {
        let buf = costs_pane(&spending(Some(4.0 / 0.85)), 36, 14);
        let text = screen(&buf);
        assert!(text.contains("$4.00 of $4.71 (85%)"), "{text}");
        insta::assert_snapshot!(text);
        assert_eq!(style_of(&buf, "█").fg, Some(Color::Yellow));
    }

    #[test]
    fn budget_gauge_is_full_and_red_past_the_budget() {
        let buf = costs_pane(&spending(Some(4.0 / 1.2)), 36, 14);
        let text = screen(&buf);
        assert!(text.contains("$4.00 of $3.33 (120%)"), "{text}");
        insta::assert_snapshot!(text);
        assert_eq!(style_of(&buf, "█").fg, Some(Color::Red));
    }

    #[test]
    fn agent_budgets_show_spent_over_limit_coloured_by_how_much_is_left() {
        let mut coder = agent("coder");
        coder.budget_usd = Some(2.0);
        let mut saver = agent("saver");
        saver.budget_usd = Some(0.5);
        let mut scene = Scene::new(vec![coder, saver, agent("free")], None);
        scene
            .event("coder", 1, usage("gpt-4o", 1_000, 100, 0.4))
            .event("free", 2, usage("gpt-4o", 1_000, 100, 0.7));
        let buf = costs_pane(&scene, 36, 12);
        insta::assert_snapshot!(screen(&buf));
        assert_style(&buf, "$0.40/$2.00", Theme::ok());
        assert_style(&buf, "$0.00/$0.50", Theme::ok());
    }

    #[test]
    fn agent_over_its_budget_is_red() {
        let mut coder = agent("coder");
        coder.budget_usd = Some(1.0);
        let mut scene = Scene::new(vec![coder], None);
        scene.event("coder", 1, usage("gpt-4o", 1_000, 100, 1.5));
        let buf = costs_pane(&scene, 36, 10);
        assert_style(&buf, "$1.50/$1.00", Theme::error());
    }

    #[test]
    fn unpriced_usage_is_marked_with_a_dim_question_mark_and_a_note() {
        let mut scene = Scene::new(vec![agent("coder"), agent("local")], None);
        scene
            .event("coder", 1, usage("gpt-4o", 2_000, 500, 0.25))
            .event(
                "local",
                2,
                EventKind::Usage {
                    model: "llama-3-70b".to_owned(),
                    usage: TokenUsage {
                        input: 4_000,
                        output: 800,
                        cache_read: 1_500,
                        cache_write: 300,
                    },
                    cost_usd: 0.0,
                    priced: false,
                    estimated: false,
                    local: false,
                },
            );
        let buf = costs_pane(&scene, 36, 14);
        let text = screen(&buf);
        insta::assert_snapshot!(text);
        assert!(text.contains("cache read 1.5k  write 300"), "{text}");
        assert!(text.contains("$0.0000?"), "{text}");
        assert_eq!(style_of(&buf, "?").fg, Some(Color::DarkGray));
    }

    #[test]
    fn estimated_counts_and_free_local_models_are_said_so() {
        let mut scene = Scene::new(vec![agent("coder"), agent("local")], None);
        let mut estimated = usage("gpt-4o", 2_000, 500, 0.25);
        if let EventKind::Usage { estimated: e, .. } = &mut estimated {
            *e = true;
        }
        scene.event("coder", 1, estimated).event(
            "local",
            2,
            EventKind::Usage {
                model: "qwen3-coder".to_owned(),
                usage: TokenUsage {
                    input: 4_000,
                    output: 800,
                    ..TokenUsage::default()
                },
                cost_usd: 0.0,
                priced: true,
                estimated: false,
                local: true,
            },
        );
        let text = screen(&costs_pane(&scene, 52, 14));
        insta::assert_snapshot!(text);
        assert!(
            text.contains("~ some counts estimated: the server sent no usage"),
            "{text}"
        );
        assert!(
            text.contains("local models (served on this machine) are free"),
            "{text}"
        );
        assert!(
            !text.contains('?'),
            "a free local model is not unpriced: {text}"
        );
    }

    #[test]
    fn nothing_spent_yet_says_so() {
        let scene = Scene::new(vec![agent("coder")], Some(5.0));
        insta::assert_snapshot!(screen(&costs_pane(&scene, 36, 6)));
    }

    #[test]
    fn a_short_pane_keeps_the_total_first_and_counts_what_it_cut() {
        let buf = costs_pane(&spending(Some(8.0)), 30, 7);
        let text = screen(&buf);
        insta::assert_snapshot!(text);
        assert!(text.contains("… 5 more"), "{text}");
    }

    #[test]
    fn a_narrow_pane_cuts_names_not_amounts() {
        let mut scene = Scene::new(vec![agent("a-very-long-agent-name")], Some(5.0));
        scene.event(
            "a-very-long-agent-name",
            1,
            usage("claude-sonnet-4-20250514", 1_000, 100, 1.25),
        );
        insta::assert_snapshot!(screen(&costs_pane(&scene, 22, 9)));
    }

    #[test]
    fn costs_never_panic_nor_draw_outside_their_area() {
        for scene in [spending(None), spending(Some(0.0)), spending(Some(3.0))] {
            assert_stays_inside(|area, buf| render(&scene.ctx(at(10)), area, buf));
        }
    }
}
