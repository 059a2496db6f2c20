#![allow(clippy::unwrap_used, clippy::expect_used)]
//! Background health: endpoints are probed at start and every `settings.health_interval`
//! without spending tokens; an agent whose server is down hears so before anyone types, and a
//! prompt to it fails at once with a hint instead of after the retries.

mod support;

use std::time::Duration;

use support::harness::{Harness, kinds};
use support::mock_llm::{MockLlm, MockOptions, MockReply};
use tokio::time::Instant;
use tzzr::engine::protocol::{AgentEvent, EndpointHealth, EventKind, FailureKind, Outcome, TurnId};

const OLLAMA_HINT: &str = "start Ollama, or point api_base at a server";

/// The bundled `local` agent's shape (Ollama, no key), pointed at `base`.
fn local_agent_config(base: &str) -> String {
    format!(
        "settings:\n  health_interval: 30\n  max_retries: 3\n  retry_delay: 1\n  rate_limit_per_minute: 0\nagents:\n  local:\n    role: You help.\n    provider: litellm\n    model: ollama/llama3\n    api_base: {base}\n"
    )
}

async fn next_health(h: &mut Harness) -> (EndpointHealth, String) {
    let event = h
        .next_matching(TurnId(0), |k| matches!(k, EventKind::Health { .. }))
        .await;
    match event.kind {
        EventKind::Health { health, detail, .. } => (health, detail),
        other => unreachable!("{other:?}"),
    }
}

async fn next_health_is(h: &mut Harness, wanted: EndpointHealth) -> String {
    loop {
        let (health, detail) = next_health(h).await;
        if health == wanted {
            return detail;
        }
    }
}

/// A port on 127.0.0.1 that nothing listens on.
fn dead_port() -> u16 {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    listener.local_addr().unwrap().port()
}

fn failure(outcome: &Outcome) -> (FailureKind, String) {
    match outcome {
        Outcome::Failed { kind, error } => (*kind, error.clone()),
        other => panic!("expected a failure, got {other:?}"),
    }
}

fn retries(events: &[AgentEvent]) -> usize {
    events
        .iter()
        .filter(|e| matches!(e.kind, EventKind::Retry { .. }))
        .count()
}

#[tokio::test(start_paused = true)]
async fn an_agent_on_a_dead_port_is_unreachable_before_anyone_types_and_fails_at_once() {
    let base = format!("http://127.0.0.1:{}/v1", dead_port());
    let mut h = Harness::start(&local_agent_config(&base)).await;
    h.orchestrator().watch_health();

    let (health, detail) = next_health(&mut h).await;
    assert_eq!(health, EndpointHealth::Unreachable);
    assert!(detail.contains("connection refused"), "{detail}");
    assert!(detail.ends_with(OLLAMA_HINT), "{detail}");

    let sent = Instant::now();
    let turn = h.prompt("local", "hello?");
    let events = h.until_finished(turn).await;
    let (kind, error) = failure(&h.outcome(&events));
    assert_eq!(kind, FailureKind::Network);
    assert!(
        error.contains("is unreachable (connection refused)"),
        "{error}"
    );
    assert!(error.ends_with(OLLAMA_HINT), "{error}");
    assert_eq!(retries(&events), 0, "{:?}", kinds(&events));
    assert!(
        sent.elapsed() < Duration::from_secs(1),
        "{:?}",
        sent.elapsed()
    );
    h.shutdown().await;
}

#[tokio::test(start_paused = true)]
async fn a_server_that_goes_down_is_marked_unreachable_and_found_again_when_it_is_back() {
    let mock = MockLlm::start().await;
    let port = mock.addr().port();
    let mut h = Harness::start(&local_agent_config(&mock.openai_base())).await;
    h.orchestrator().watch_health();

    let detail = next_health_is(&mut h, EndpointHealth::Healthy).await;
    assert!(detail.contains("answers (2 models)"), "{detail}");
    mock.push(MockReply::text(["up"]));
    let turn = h.prompt("local", "are you there?");
    let events = h.until_finished(turn).await;
    assert!(h.outcome(&events).is_done());

    // Killed: the next probe (30 s later) finds it gone.
    drop(mock);
    let detail = next_health_is(&mut h, EndpointHealth::Unreachable).await;
    assert!(detail.ends_with(OLLAMA_HINT), "{detail}");
    let turn = h.prompt("local", "still there?");
    let events = h.until_finished(turn).await;
    let (kind, error) = failure(&h.outcome(&events));
    assert_eq!(
        (kind, retries(&events)),
        (FailureKind::Network, 0),
        "{error}"
    );

    // Up again on the same port: a probe finds it within the backoff, and prompts go through.
    let mock = restart_on(port).await;
    next_health_is(&mut h, EndpointHealth::Healthy).await;
    mock.push(MockReply::text(["back"]));
    let turn = h.prompt("local", "and now?");
    let events = h.until_finished(turn).await;
    assert_eq!(
        h.outcome(&events),
        Outcome::Done {
            text: "back".into()
        }
    );
    h.shutdown().await;
}

/// A mock on `port` again, once the old one has let it go.
async fn restart_on(port: u16) -> MockLlm {
    for _ in 0..100 {
        let options = MockOptions {
            port,
            ..MockOptions::default()
        };
        if let Ok(mock) = MockLlm::start_with(options).await {
            return mock;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    panic!("port {port} stays taken");
}

#[tokio::test(start_paused = true)]
async fn a_thousand_agents_on_one_endpoint_probe_it_once() {
    let mock = MockLlm::start().await;
    let mut yaml = "settings:\n  health_interval: 30\nagents:\n".to_owned();
    for n in 0..1000 {
        yaml.push_str(&format!(
            "  a{n}:\n    provider: openai\n    model: m\n    api_base: {}\n",
            mock.openai_base()
        ));
    }
    let mut h = Harness::start(&yaml).await;
    h.orchestrator().watch_health();
    for _ in 0..1000 {
        assert_eq!(next_health(&mut h).await.0, EndpointHealth::Healthy);
    }
    let probes = mock
        .requests()
        .iter()
        .filter(|r| r.path == "/v1/models")
        .count();
    assert_eq!(probes, 1);
    h.shutdown().await;
}

#[tokio::test(start_paused = true)]
async fn without_probes_a_refused_connection_still_fails_the_next_prompt_at_once() {
    let base = format!("http://127.0.0.1:{}/v1", dead_port());
    let mut h = Harness::start(&local_agent_config(&base)).await;

    let turn = h.prompt("local", "first");
    let events = h.until_finished(turn).await;
    assert_eq!(retries(&events), 3, "the first call does not know yet");
    let (kind, _) = failure(&h.outcome(&events));
    assert_eq!(kind, FailureKind::Network);

    let turn = h.prompt("local", "second");
    let events = h.until_finished(turn).await;
    let (kind, error) = failure(&h.outcome(&events));
    assert_eq!(
        (kind, retries(&events)),
        (FailureKind::Network, 0),
        "{error}"
    );
    assert!(error.ends_with(OLLAMA_HINT), "{error}");
    h.shutdown().await;
}

#[tokio::test(start_paused = true)]
async fn a_zero_interval_turns_the_probes_off() {
    let mock = MockLlm::start().await;
    let yaml = local_agent_config(&mock.openai_base())
        .replace("health_interval: 30", "health_interval: 0");
    let mut h = Harness::start(&yaml).await;
    h.orchestrator().watch_health();
    tokio::time::sleep(Duration::from_secs(600)).await;
    assert!(mock.requests().is_empty(), "{:?}", mock.requests());
    h.shutdown().await;
}
