//! The endpoints pane: per shared HTTP endpoint, its breaker (with the countdown to the next
//! probe), its rate-limit gauges, what the server said of its limits (with the countdown to its
//! reset), a 429's pause, the calls queued and retried, and the last error seen.

use ratatui::buffer::Buffer;
use ratatui::layout::Rect;
use ratatui::style::Style;
use ratatui::text::{Line, Span};
use ratatui::widgets::Widget;

use super::fit::{draw_rows, spread, text_width};
use super::theme::{Theme, budget_style};
use super::{Ctx, count, pane, seconds_since, seconds_until, short_duration, titled};
use crate::engine::protocol::{EndpointHealth, ServerQuota};
use crate::sanitize::line_for_display;
use crate::tui::app::state::Focus;
use crate::tui::model::{Breaker, EndpointView, ProbeView};

/// The widest a limiter bar grows.
const BAR_WIDTH: usize = 10;

pub fn render(ctx: &Ctx<'_>, area: Rect, buf: &mut Buffer) {
    let endpoints = &ctx.model.endpoints;
    let open = endpoints
        .iter()
        .filter(|e| matches!(e.breaker, Breaker::Open { .. }))
        .count();
    let unreachable = endpoints
        .iter()
        .filter(|e| {
            e.probe
                .as_ref()
                .is_some_and(|p| p.health == EndpointHealth::Unreachable)
        })
        .count();
    let note = [(open, "open"), (unreachable, "unreachable")]
        .iter()
        .filter(|(n, _)| *n > 0)
        .map(|(n, what)| format!("{n} {what}"))
        .collect::<Vec<_>>()
        .join(" · ");
    let block = pane(titled("Endpoints", &note), ctx.focused(Focus::Endpoints));
    let inner = block.inner(area);
    block.render(area, buf);
    if endpoints.is_empty() {
        let empty = Line::styled(
            "no HTTP endpoints (CLI or scripted agents only)",
            Theme::dim(),
        );
        draw_rows([empty], inner, buf);
        return;
    }
    // Each row with the endpoint it belongs to (the blank after a block belongs to it).
    let mut rows: Vec<(usize, Line<'static>)> = Vec::new();
    for (i, endpoint) in endpoints.iter().enumerate() {
        if i > 0 {
            rows.push((i - 1, Line::default()));
        }
        let block = lines(endpoint, ctx.now, inner.width);
        rows.extend(block.into_iter().map(|l| (i, l)));
    }
    let height = usize::from(inner.height);
    if rows.len() > height && height >= 2 {
        let shown = height - 1;
        let hidden = endpoints.len() - 1 - rows[shown - 1].0;
        if hidden > 0 {
            rows.truncate(shown);
            let noun = if hidden == 1 { "endpoint" } else { "endpoints" };
            let more = Line::styled(format!("… {hidden} more {noun}"), Theme::dim());
            rows.push((endpoints.len(), more));
        }
    }
    draw_rows(rows.into_iter().map(|(_, l)| l), inner, buf);
}

/// One endpoint's block of lines.
fn lines(endpoint: &EndpointView, now: jiff::Timestamp, width: u16) -> Vec<Line<'static>> {
    let (symbol, state, style) = match endpoint.breaker {
        Breaker::Closed => ("●", "closed".to_owned(), Theme::ok()),
        Breaker::Open { probe_at } => {
            let left = seconds_until(now, probe_at);
            let state = if left == 0 {
                "open · probe due".to_owned()
            } else {
                format!("open · probe in {}", short_duration(left))
            };
            ("●", state, Theme::error())
        }
        Breaker::HalfOpen => ("◐", "half-open".to_owned(), Theme::warn()),
    };
    let header = spread(
        vec![
            Span::styled(symbol, style),
            Span::raw(" "),
            Span::styled(line_for_display(&endpoint.label), Theme::title()),
        ],
        vec![Span::styled(state, style)],
        width,
    );
    let limiter = &endpoint.limiter;
    let mut lines = vec![
        header,
        gauge(
            "rpm",
            u64::from(limiter.rpm_used),
            limiter.rpm_limit.map(u64::from),
            width,
        ),
        gauge("tpm", limiter.tpm_used, limiter.tpm_limit, width),
    ];
    let told = [
        ("req", limiter.server_requests, endpoint.requests_reset_at),
        ("tok", limiter.server_tokens, endpoint.tokens_reset_at),
    ];
    for (name, quota, reset_at) in told {
        if let Some(quota) = quota {
            lines.push(server_quota(name, quota, reset_at, now));
        }
    }
    if let Some(until) = endpoint.paused_until
        && until > now
    {
        lines.push(Line::from(vec![
            Span::styled("429 · paused ", Theme::warn()),
            Span::styled(short_duration(seconds_until(now, until)), Theme::warn()),
        ]));
    }
    lines.push(Line::from(vec![
        Span::styled("queued ", Theme::dim()),
        Span::styled(limiter.queued.to_string(), busy_if(limiter.queued > 0)),
        Span::styled(" · retries ", Theme::dim()),
        Span::styled(limiter.retries.to_string(), busy_if(limiter.retries > 0)),
    ]));
    if let Some(probe) = &endpoint.probe {
        lines.extend(probe_lines(probe, now));
    }
    if let Some(error) = &endpoint.last_error {
        lines.push(Line::styled(
            format!("✗ {}", line_for_display(error.trim())),
            Theme::error_faded(),
        ));
    }
    lines
}

/// `✓ answers · checked 12s ago`, or what is wrong (with the hint) under `✗ unreachable`.
fn probe_lines(probe: &ProbeView, now: jiff::Timestamp) -> Vec<Line<'static>> {
    let (state, style) = match probe.health {
        EndpointHealth::Healthy => ("✓ answers", Theme::ok()),
        EndpointHealth::Failing => ("! probe refused", Theme::warn()),
        EndpointHealth::Unreachable => ("✗ unreachable", Theme::error()),
    };
    let ago = short_duration(seconds_since(now, probe.checked_at));
    let mut lines = vec![Line::from(vec![
        Span::styled(state, style),
        Span::styled(format!(" · checked {ago} ago"), Theme::dim()),
    ])];
    if probe.health != EndpointHealth::Healthy {
        lines.push(Line::styled(
            line_for_display(probe.detail.trim()),
            Theme::error_faded(),
        ));
    }
    lines
}

/// `rpm ━━━━━───── 12/60`, or `rpm 12 (no limit)`; the bar is coloured like a budget (amber from
/// 80 % of the limit, red at it) and shrinks, then goes, when the pane is narrow.
fn gauge(name: &'static str, used: u64, limit: Option<u64>, width: u16) -> Line<'static> {
    let Some(limit) = limit else {
        return Line::from(vec![
            Span::styled(format!("{name} "), Theme::dim()),
            Span::raw(count(used)),
            Span::styled(" (no limit)", Theme::dim()),
        ]);
    };
    let numbers = format!("{}/{}", count(used), count(limit));
    let ratio = if limit == 0 {
        1.0
    } else {
        used as f64 / limit as f64
    };
    let room = usize::from(width).saturating_sub(text_width(name) + text_width(&numbers) + 2);
    let bar = room.min(BAR_WIDTH);
    let mut spans = vec![Span::styled(format!("{name} "), Theme::dim())];
    if bar >= 3 {
        let filled = ((ratio.clamp(0.0, 1.0) * bar as f64).round() as usize).min(bar);
        spans.push(Span::styled("━".repeat(filled), budget_style(ratio)));
        spans.push(Span::styled("─".repeat(bar - filled), Theme::dim()));
        spans.push(Span::raw(" "));
    }
    spans.push(Span::styled(numbers, budget_style(ratio)));
    Line::from(spans)
}

/// `req left 12/60 · reset 3s`: what the server's headers said, counted down as calls start;
/// amber when none is left.
fn server_quota(
    name: &'static str,
    quota: ServerQuota,
    reset_at: Option<jiff::Timestamp>,
    now: jiff::Timestamp,
) -> Line<'static> {
    let left = match (quota.remaining, quota.limit) {
        (Some(remaining), Some(limit)) => {
            format!("{}/{}", count(remaining.into()), count(limit.into()))
        }
        (Some(remaining), None) => count(remaining.into()),
        (None, Some(limit)) => format!("?/{}", count(limit.into())),
        (None, None) => "?".to_owned(),
    };
    let mut spans = vec![
        Span::styled(format!("{name} left "), Theme::dim()),
        Span::styled(left, busy_if(quota.remaining == Some(0))),
    ];
    if let Some(reset_at) = reset_at.filter(|&at| at > now) {
        spans.push(Span::styled(" · reset ", Theme::dim()));
        spans.push(Span::raw(short_duration(seconds_until(now, reset_at))));
    }
    Line::from(spans)
}

fn busy_if(condition: bool) -> Style {
    if condition {
        Theme::warn()
    } else {
        Theme::text()
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::super::fixtures::{
        Scene, agent, assert_stays_inside, assert_style, at, at_ms, draw, screen,
    };
    use super::*;
    use crate::engine::protocol::{BreakerState, EventKind, FailureKind, LimiterSnapshot, Outcome};

    fn http_agent(name: &str, endpoint: &str) -> crate::engine::orchestrator::AgentInfo {
        let mut info = agent(name);
        info.endpoint = Some(endpoint.to_owned());
        info
    }

    fn endpoint(label: &str, breaker: BreakerState, limiter: LimiterSnapshot) -> EventKind {
        EventKind::Endpoint {
            endpoint: label.to_owned(),
            breaker,
            limiter,
        }
    }

    /// openai: closed, busy, limited; anthropic: open since second 20 for 30 s after a 529;
    /// local: half-open, unlimited.
    fn three_endpoints() -> Scene {
        let mut scene = Scene::new(
            vec![
                http_agent("coder", "openai"),
                http_agent("reviewer", "anthropic"),
                http_agent("scout", "local"),
            ],
            None,
        );
        scene
            .event(
                "coder",
                10,
                endpoint(
                    "openai",
                    BreakerState::Closed,
                    LimiterSnapshot {
                        rpm_limit: Some(60),
                        rpm_used: 12,
                        tpm_limit: Some(90_000),
                        tpm_used: 81_000,
                        queued: 2,
                        retries: 0,
                        ..LimiterSnapshot::default()
                    },
                ),
            )
            .event(
                "reviewer",
                19,
                EventKind::Retry {
                    attempt: 5,
                    wait: Duration::from_secs(2),
                    reason: "HTTP 529 overloaded_error: Overloaded \u{1b}[31m(try later)\u{1b}[0m\nsecond line"
                        .to_owned(),
                },
            )
            .event(
                "reviewer",
                20,
                endpoint(
                    "anthropic",
                    BreakerState::Open {
                        probe_in: Duration::from_secs(30),
                    },
                    LimiterSnapshot {
                        rpm_limit: Some(50),
                        rpm_used: 50,
                        tpm_limit: None,
                        tpm_used: 40_000,
                        queued: 0,
                        retries: 7,
                        ..LimiterSnapshot::default()
                    },
                ),
            )
            .event(
                "scout",
                21,
                endpoint(
                    "local",
                    BreakerState::HalfOpen,
                    LimiterSnapshot {
                        rpm_used: 3,
                        tpm_used: 512,
                        ..LimiterSnapshot::default()
                    },
                ),
            );
        scene
    }

    fn endpoints_pane(scene: &Scene, now: jiff::Timestamp, width: u16, height: u16) -> Buffer {
        draw(width, height, |area, buf| {
            render(&scene.ctx(now), area, buf)
        })
    }

    #[test]
    fn closed_open_and_half_open_breakers_with_their_limiters() {
        let buf = endpoints_pane(&three_endpoints(), at(38), 36, 20);
        let text = screen(&buf);
        insta::assert_snapshot!(text);
        assert!(text.contains("open · probe in 12s"), "{text}");
        assert_style(&buf, "● openai", Theme::ok());
        assert_style(&buf, "● anthropic", Theme::error());
        assert_style(&buf, "◐ local", Theme::warn());
        assert_style(&buf, "━", Theme::ok());
        assert_style(&buf, "81.0k/90.0k", Theme::warn());
        assert_style(&buf, "50/50", Theme::error());
        assert_style(&buf, "✗ HTTP 529", Theme::error_faded());
    }

    #[test]
    fn the_probe_countdown_follows_the_clock_and_rounds_up() {
        let scene = three_endpoints();
        let text = screen(&endpoints_pane(&scene, at_ms(49, 500), 36, 20));
        assert!(text.contains("open · probe in 1s"), "{text}");
        let text = screen(&endpoints_pane(&scene, at(50), 36, 20));
        assert!(text.contains("open · probe due"), "{text}");
    }

    #[test]
    fn a_failed_turn_becomes_the_endpoint_last_error() {
        let mut scene = Scene::new(vec![http_agent("coder", "openai")], None);
        scene.event(
            "coder",
            5,
            EventKind::TurnFinished {
                outcome: Outcome::Failed {
                    error: "HTTP 401: invalid api key; set OPENAI_API_KEY".to_owned(),
                    kind: FailureKind::Auth,
                },
            },
        );
        insta::assert_snapshot!(screen(&endpoints_pane(&scene, at(6), 36, 8)));
    }

    #[test]
    fn a_budget_refusal_is_not_the_endpoint_last_error() {
        let mut scene = Scene::new(vec![http_agent("coder", "openai")], None);
        scene.event(
            "coder",
            5,
            EventKind::TurnFinished {
                outcome: Outcome::failed(
                    FailureKind::Budget,
                    "budget reached: $0.0100 of $0.0100 spent",
                ),
            },
        );
        let text = screen(&endpoints_pane(&scene, at(6), 36, 8));
        assert!(!text.contains("budget"), "{text}");
    }

    #[test]
    fn a_short_pane_counts_the_endpoints_it_cannot_show() {
        let buf = endpoints_pane(&three_endpoints(), at(38), 36, 9);
        let text = screen(&buf);
        insta::assert_snapshot!(text);
        assert!(text.contains("… 1 more endpoint"), "{text}");
    }

    #[test]
    fn a_narrow_pane_drops_the_bars_before_the_numbers() {
        insta::assert_snapshot!(screen(&endpoints_pane(&three_endpoints(), at(38), 18, 20)));
    }

    #[test]
    fn what_the_server_said_is_shown_with_its_reset_countdown() {
        let mut scene = Scene::new(vec![http_agent("coder", "openai")], None);
        scene.event(
            "coder",
            10,
            endpoint(
                "openai",
                BreakerState::Closed,
                LimiterSnapshot {
                    rpm_used: 2,
                    server_requests: Some(ServerQuota {
                        limit: Some(500),
                        remaining: Some(0),
                        reset_in: Some(Duration::from_millis(2_500)),
                    }),
                    server_tokens: Some(ServerQuota {
                        limit: Some(30_000),
                        remaining: Some(12_000),
                        reset_in: Some(Duration::from_secs(90)),
                    }),
                    paused_for: Some(Duration::from_secs(5)),
                    ..LimiterSnapshot::default()
                },
            ),
        );
        let buf = endpoints_pane(&scene, at(11), 44, 9);
        let text = screen(&buf);
        insta::assert_snapshot!(text);
        assert!(text.contains("req left 0/500 · reset 2s"), "{text}");
        assert!(
            text.contains("tok left 12.0k/30.0k · reset 1m 29s"),
            "{text}"
        );
        assert!(text.contains("429 · paused 4s"), "{text}");
        assert_style(&buf, "0/500", Theme::warn());

        let later = screen(&endpoints_pane(&scene, at(13), 44, 9));
        assert!(!later.contains("0/500 · reset"), "past the reset: {later}");
        assert!(later.contains("reset 1m 27s"), "{later}");
        let after_pause = screen(&endpoints_pane(&scene, at(16), 44, 9));
        assert!(!after_pause.contains("paused"), "{after_pause}");
    }

    #[test]
    fn no_endpoints_says_why() {
        let scene = Scene::new(vec![], None);
        let text = screen(&endpoints_pane(&scene, at(0), 60, 4));
        assert!(
            text.contains("no HTTP endpoints (CLI or scripted agents only)"),
            "{text}"
        );
    }

    #[test]
    fn endpoints_never_panic_nor_draw_outside_their_area() {
        let scene = three_endpoints();
        assert_stays_inside(|area, buf| render(&scene.ctx(at(38)), area, buf));
        let empty = Scene::new(vec![], None);
        assert_stays_inside(|area, buf| render(&empty.ctx(at(38)), area, buf));
    }
}
