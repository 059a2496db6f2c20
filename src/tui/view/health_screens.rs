//! Snapshots of what background health shows: an agent whose server is down says
//! "unreachable" with the hint before anyone types, and the Endpoints pane says what each
//! probe found and when.

use super::fixtures::{assert_style, draw, screen as pane_text};
use super::screens::screen;
use super::theme::Theme;
use crate::engine::orchestrator::{AgentInfo, EndpointStatus};
use crate::engine::protocol::{
    AgentEvent, BreakerState, EndpointHealth, EventKind, FailureKind, LimiterSnapshot, Outcome,
    TurnId,
};
use crate::tui::app::tests::info;
use crate::tui::app::{App, AppEvent};

const T0: i64 = 1_795_000_000;
const HINT: &str = "start Ollama, or point api_base at a server";

fn at(seconds: i64) -> jiff::Timestamp {
    jiff::Timestamp::from_second(T0 + seconds).unwrap_or(jiff::Timestamp::UNIX_EPOCH)
}

fn http_agent(name: &str, model: &str, endpoint: &str) -> AgentInfo {
    let mut agent = info(name);
    agent.provider = "litellm".into();
    agent.model = model.into();
    agent.scripted = false;
    agent.target = format!("{model} via {endpoint}");
    agent.endpoint = Some(endpoint.into());
    agent
}

fn status(label: &str, base_url: &str, agents: &[&str]) -> EndpointStatus {
    EndpointStatus {
        label: label.into(),
        dialect: "openai",
        base_url: base_url.into(),
        agents: agents.iter().map(|a| (*a).to_owned()).collect(),
        breaker: BreakerState::Closed,
        limiter: LimiterSnapshot::default(),
    }
}

fn send(app: &mut App, agent: &str, turn: u64, second: i64, kind: EventKind) {
    app.handle(AppEvent::Engine(AgentEvent {
        agent: agent.into(),
        turn: TurnId(turn),
        at: at(second),
        kind,
    }));
}

fn health(endpoint: &str, health: EndpointHealth, detail: &str) -> EventKind {
    EventKind::Health {
        endpoint: endpoint.into(),
        health,
        detail: detail.into(),
    }
}

/// `local` on an Ollama that is not running, `coder` on an OpenAI that answers, probed at
/// second 10.
fn probed_team() -> App {
    let agents = [
        http_agent("local", "llama3", "ollama localhost:11434"),
        http_agent("coder", "gpt4o", "openai api.openai.com"),
    ];
    let endpoints = [
        status(
            "ollama localhost:11434",
            "http://localhost:11434/v1",
            &["local"],
        ),
        status(
            "openai api.openai.com",
            "https://api.openai.com/v1",
            &["coder"],
        ),
    ];
    let mut app = App::new(&agents, &endpoints, None);
    send(
        &mut app,
        "local",
        0,
        10,
        health(
            "ollama localhost:11434",
            EndpointHealth::Unreachable,
            &format!("cannot reach http://localhost:11434/v1/models: connection refused: {HINT}"),
        ),
    );
    send(
        &mut app,
        "coder",
        0,
        10,
        health(
            "openai api.openai.com",
            EndpointHealth::Healthy,
            "openai api.openai.com answers (93 models)",
        ),
    );
    app
}

#[test]
fn an_unreachable_agent_says_so_with_the_hint_before_anyone_types() {
    let app = probed_team();
    let text = screen(&app, 120, 35, 22);
    insta::assert_snapshot!(text);
    assert!(text.contains("local ✗ unreachable"), "{text}");
    assert!(text.contains("coder idle"), "{text}");
    assert!(
        text.contains("connection refused: start Ollama, or point api_base"),
        "{text}"
    );
    assert!(text.contains("✗ unreachable · checked 12s ago"), "{text}");
}

#[test]
fn the_endpoints_pane_says_what_each_probe_found_and_when() {
    let app = probed_team();
    let ctx = super::Ctx {
        model: &app.model,
        ui: &app.ui,
        now: at(22),
    };
    let buf = draw(36, 16, |area, buf| {
        super::endpoints::render(&ctx, area, buf)
    });
    let text = pane_text(&buf);
    insta::assert_snapshot!(text);
    assert!(text.contains("✓ answers · checked 12s ago"), "{text}");
    assert_style(&buf, "✗ unreachable", Theme::error());
    assert_style(&buf, "✓ answers", Theme::ok());
}

#[test]
fn a_probe_that_finds_the_server_again_clears_unreachable() {
    let mut app = probed_team();
    send(
        &mut app,
        "local",
        0,
        40,
        health(
            "ollama localhost:11434",
            EndpointHealth::Healthy,
            "ollama localhost:11434 answers (3 models)",
        ),
    );
    let text = screen(&app, 120, 35, 45);
    assert!(!text.contains("unreachable"), "{text}");
    assert!(text.contains("local idle"), "{text}");
}

#[test]
fn a_prompt_refused_while_unreachable_stays_unreachable_and_shows_why() {
    let mut app = probed_team();
    send(
        &mut app,
        "local",
        1,
        15,
        EventKind::TurnStarted {
            prompt: "hello?".into(),
        },
    );
    let error = format!("ollama localhost:11434 is unreachable (connection refused): {HINT}");
    send(
        &mut app,
        "local",
        1,
        15,
        EventKind::TurnFinished {
            outcome: Outcome::failed(FailureKind::Network, error),
        },
    );
    let text = screen(&app, 120, 35, 16);
    insta::assert_snapshot!(text);
    assert!(text.contains("local ✗ unreachable"), "{text}");
    assert!(text.contains("local · ✗ unreachable"), "{text}");
}
