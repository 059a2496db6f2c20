#![allow(clippy::unwrap_used, clippy::expect_used)]
//! Rate limits as a user meets them, against the in-process server: the server's own headers
//! make calls wait until its reset, a 429 holds back every agent on the endpoint, and
//! `settings.rate_limit_per_minute` counts each agent's calls on their own. Every wait is told
//! with the time it will really take.

mod support;

use std::time::{Duration, Instant};

use support::harness::Harness;
use support::mock_llm::{MockLlm, MockReply};
use tzzr::engine::protocol::{AgentCommand, AgentEvent, EventKind, Outcome};

fn team(mock: &MockLlm, settings: &str, agents: &[&str]) -> String {
    let mut yaml = format!("settings:\n  retry_delay: 0.01\n{settings}agents:\n");
    for name in agents {
        yaml.push_str(&format!(
            "  {name}:\n    role: You help.\n    provider: openai\n    model: gpt-4o\n    api_base: {}\n",
            mock.openai_base()
        ));
    }
    yaml
}

/// Each `Waiting` of these events: which limiter, and the wait it announced.
fn waits(events: &[AgentEvent]) -> Vec<(String, Duration)> {
    events
        .iter()
        .filter_map(|e| match &e.kind {
            EventKind::Waiting {
                limiter,
                eta: Some(eta),
            } => Some((limiter.clone(), *eta)),
            _ => None,
        })
        .collect()
}

fn quota_headers(reply: MockReply, remaining: &str) -> MockReply {
    reply
        .header("x-ratelimit-limit-requests", "2")
        .header("x-ratelimit-remaining-requests", remaining)
        .header("x-ratelimit-reset-requests", "2s")
}

#[tokio::test]
async fn a_server_with_no_requests_remaining_makes_the_next_call_wait_for_its_reset() {
    let mock = MockLlm::start().await;
    mock.push_all([
        quota_headers(MockReply::echo(), "1"),
        quota_headers(MockReply::echo(), "0"),
        MockReply::echo(),
    ]);
    let mut h = Harness::start(&team(&mock, "", &["bot"])).await;
    for prompt in ["one", "two"] {
        let turn = h.prompt("bot", prompt);
        let events = h.until_finished(turn).await;
        assert!(h.outcome(&events).is_done(), "{events:?}");
        assert_eq!(waits(&events), [], "the server still had room");
    }
    let endpoint = h.orchestrator().endpoints().remove(0);
    let told = endpoint.limiter.server_requests.unwrap();
    assert_eq!((told.limit, told.remaining), (Some(2), Some(0)));
    assert!(told.reset_in.unwrap() <= Duration::from_secs(2));

    let started = Instant::now();
    let turn = h.prompt("bot", "three");
    let events = h.until_finished(turn).await;
    let took = started.elapsed();
    assert!(h.outcome(&events).is_done(), "{events:?}");
    let [(limiter, eta)] = &waits(&events)[..] else {
        panic!("one wait expected: {events:?}");
    };
    assert_eq!(*limiter, endpoint.label);
    assert!(
        *eta > Duration::from_millis(1000) && *eta <= Duration::from_secs(2),
        "the wait told is the time to the reset: {eta:?}"
    );
    assert!(took >= *eta, "it waited what it said ({took:?} < {eta:?})");
    assert_eq!(mock.chat_requests().len(), 3);
    h.shutdown().await;
}

#[tokio::test]
async fn a_429_holds_back_the_other_agents_on_the_endpoint_too() {
    let mock = MockLlm::start().await;
    mock.push_all([
        MockReply::status(429).retry_after("1"),
        MockReply::echo(),
        MockReply::echo(),
    ]);
    let mut h = Harness::start(&team(&mock, "", &["first", "second"])).await;
    let first = h.prompt("first", "hi");
    h.wait_for(first, |k| matches!(k, EventKind::Retry { .. }))
        .await;
    let second = h.prompt("second", "hi");
    let events = h.until_finished(second).await;
    assert!(h.outcome(&events).is_done(), "{events:?}");
    let [(_, eta)] = &waits(&events)[..] else {
        panic!("the second agent must wait for the pause: {events:?}");
    };
    assert!(
        *eta > Duration::ZERO && *eta <= Duration::from_secs(1),
        "{eta:?}"
    );
    let events = h.until_finished(first).await;
    assert!(h.outcome(&events).is_done(), "{events:?}");
    h.shutdown().await;
}

#[tokio::test]
async fn rate_limit_per_minute_counts_each_agents_calls_on_their_own() {
    let mock = MockLlm::start().await;
    let settings = "  rate_limit_per_minute: 1\n";
    let mut h = Harness::start(&team(&mock, settings, &["a", "b", "c"])).await;
    for agent in ["a", "b", "c"] {
        let turn = h.prompt(agent, "hi");
        let events = h.until_finished(turn).await;
        assert!(h.outcome(&events).is_done(), "{events:?}");
        assert_eq!(waits(&events), [], "{agent}'s first call of the minute");
    }
    let endpoint = h.orchestrator().endpoints().remove(0);
    assert_eq!(
        endpoint.limiter.rpm_limit, None,
        "the endpoint has no limit of its own"
    );

    let again = h.prompt("a", "again");
    h.wait_for(again, |k| matches!(k, EventKind::Waiting { .. }))
        .await;
    h.command("a", AgentCommand::Cancel);
    let events = h.until_finished(again).await;
    let [(limiter, eta)] = &waits(&events)[..] else {
        panic!("{events:?}");
    };
    assert_eq!(limiter, "agent a");
    assert!(
        *eta > Duration::from_secs(55) && *eta <= Duration::from_secs(60),
        "a's next slot is a minute after its first call: {eta:?}"
    );
    assert_eq!(h.outcome(&events), Outcome::Cancelled);
    assert_eq!(
        mock.chat_requests().len(),
        3,
        "the waiting call was never sent"
    );
    h.shutdown().await;
}

#[tokio::test]
async fn a_hundred_agents_with_default_settings_all_call_at_once() {
    let mock = MockLlm::start().await;
    let names: Vec<String> = (0..100).map(|i| format!("a{i}")).collect();
    let names: Vec<&str> = names.iter().map(String::as_str).collect();
    let yaml = team(&mock, "", &names).replace("settings:\n  retry_delay: 0.01\n", "");
    let mut h = Harness::start(&yaml).await;
    let turns: Vec<_> = names.iter().map(|name| h.prompt(name, "hi")).collect();
    for turn in turns {
        let events = h.until_finished(turn).await;
        assert!(h.outcome(&events).is_done(), "{events:?}");
        assert_eq!(waits(&events), [], "v6's 60 a minute is each agent's own");
    }
    assert_eq!(mock.chat_requests().len(), 100);
    h.shutdown().await;
}

#[tokio::test]
async fn a_call_waiting_for_a_concurrency_slot_says_so_without_inventing_a_time() {
    let mock = MockLlm::start().await;
    let yaml = format!(
        "providers:\n  local:\n    kind: openai\n    api_base: {}\n    concurrency: 1\nagents:\n  first:\n    provider: local\n    model: m\n  second:\n    provider: local\n    model: m\n",
        mock.openai_base()
    );
    let mut h = Harness::start(&yaml).await;
    let first = h.prompt("first", "[[delay:300]] slow");
    h.wait_for(first, |k| matches!(k, EventKind::TurnStarted { .. }))
        .await;
    while mock.chat_requests().is_empty() {
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    let second = h.prompt("second", "quick");
    let events = h.until_finished(second).await;
    assert!(h.outcome(&events).is_done(), "{events:?}");
    let slot_waits: Vec<_> = events
        .iter()
        .filter_map(|e| match &e.kind {
            EventKind::Waiting { limiter, eta } => Some((limiter.clone(), *eta)),
            _ => None,
        })
        .collect();
    let label = h.orchestrator().endpoints().remove(0).label;
    assert_eq!(slot_waits, [(label, None)], "{events:?}");
    let events = h.until_finished(first).await;
    assert!(h.outcome(&events).is_done(), "{events:?}");
    h.shutdown().await;
}
