#![allow(clippy::unwrap_used, clippy::expect_used)]
//! `/reload` against a running team: only agents whose own definition or endpoint changed
//! restart, a restarted agent goes on with its conversation under its new definition unless its
//! provider changed, removed agents stop, and applying a reload waits for no agent.

mod support;

use serde_json::Value;
use support::harness::Harness;
use support::mock_llm::MockLlm;
use tzzr::engine::config;
use tzzr::engine::env::Environment;
use tzzr::engine::orchestrator::ReloadSummary;
use tzzr::engine::protocol::{EventKind, Outcome};

fn team(mock: &MockLlm, b: &str, with_gone: bool) -> String {
    let mut text = format!(
        "agents:\n  a: {{role: You help., provider: openai, model: m, api_base: {base}}}\n  b: {b}\n",
        base = mock.openai_base()
    );
    if with_gone {
        text.push_str("  gone: {provider: scripted, script: [bye]}\n");
    }
    text
}

fn openai_b(mock: &MockLlm, role: &str) -> String {
    format!(
        "{{role: {role}, provider: openai, model: m, api_base: {}}}",
        mock.openai_base()
    )
}

fn load(h: &Harness, text: &str) -> (config::Config, Environment) {
    let env = Environment::isolated::<[(&str, &str); 0], &str, &str>([]);
    let path = h.dir().join("config.yaml");
    let config = config::load_str_with(text, &path, &|k: &str| env.get(k))
        .unwrap()
        .config;
    (config, env)
}

async fn ask(h: &mut Harness, agent: &str, text: &str) -> Outcome {
    let turn = h.prompt(agent, text);
    let events = h.until_finished(turn).await;
    h.outcome(&events)
}

/// (role, content) of each message of the last request the mock saw.
fn last_messages(mock: &MockLlm) -> Vec<(String, String)> {
    let last = mock.chat_requests().last().unwrap().json().clone();
    let mut messages: Vec<(String, String)> = last["system"]
        .as_str()
        .map(|system| ("system".to_owned(), system.to_owned()))
        .into_iter()
        .collect();
    messages.extend(
        last["messages"]
            .as_array()
            .unwrap()
            .iter()
            .map(|m: &Value| {
                let content = match &m["content"] {
                    Value::String(text) => text.clone(),
                    other => other.to_string(),
                };
                (m["role"].as_str().unwrap().to_owned(), content)
            }),
    );
    messages
}

fn names(list: &[&str]) -> Vec<String> {
    list.iter().map(|n| (*n).to_owned()).collect()
}

#[tokio::test]
async fn a_reload_that_removes_an_agent_and_changes_a_role_restarts_only_that_agent() {
    let mock = MockLlm::start().await;
    let mut h = Harness::start(&team(&mock, &openai_b(&mock, "first"), true)).await;
    assert!(ask(&mut h, "a", "I am Ada").await.is_done());
    assert!(ask(&mut h, "b", "I am Bob").await.is_done());

    let (config, env) = load(&h, &team(&mock, &openai_b(&mock, "second"), false));
    let summary = h.orchestrator().reload(config, &env).await.unwrap();
    assert_eq!(
        summary,
        ReloadSummary {
            kept: names(&["a"]),
            restarted: names(&["b"]),
            new_conversation: vec![],
            added: vec![],
            removed: names(&["gone"]),
        }
    );
    assert_eq!(
        summary.to_string(),
        "config reloaded: restarted b; removed gone; 1 unchanged"
    );
    let agents: Vec<String> = h.orchestrator().agents().map(|a| a.name.clone()).collect();
    assert_eq!(agents, ["a", "b"]);
    assert!(h.orchestrator().prompt("gone", "hello?").is_err());

    assert!(ask(&mut h, "b", "who am I?").await.is_done());
    assert_eq!(
        last_messages(&mock),
        [
            ("system".to_owned(), "# b\n\nsecond".to_owned()),
            ("user".to_owned(), "I am Bob".to_owned()),
            ("assistant".to_owned(), "echo: I am Bob".to_owned()),
            ("user".to_owned(), "who am I?".to_owned()),
        ],
        "b goes on with its conversation under its new role"
    );
    assert!(ask(&mut h, "a", "who am I?").await.is_done());
    assert_eq!(
        last_messages(&mock).len(),
        4,
        "a was not restarted and remembers"
    );
    h.shutdown().await;
}

#[tokio::test]
async fn an_agent_whose_provider_changed_starts_a_new_conversation() {
    let mock = MockLlm::start().await;
    let mut h = Harness::start_with_env(
        &team(&mock, &openai_b(&mock, "first"), false),
        &[("ANTHROPIC_API_KEY", "sk-ant-test")],
    )
    .await;
    assert!(ask(&mut h, "b", "I am Bob").await.is_done());

    let to_anthropic = format!(
        "{{role: first, provider: anthropic, model: claude-sonnet-4-5, api_base: {}}}",
        mock.anthropic_base()
    );
    let env = Environment::isolated([("ANTHROPIC_API_KEY", "sk-ant-test")]);
    let path = h.dir().join("config.yaml");
    let config = config::load_str_with(&team(&mock, &to_anthropic, false), &path, &|k: &str| {
        env.get(k)
    })
    .unwrap()
    .config;
    let summary = h.orchestrator().reload(config, &env).await.unwrap();
    assert_eq!(summary.restarted, ["b"]);
    assert_eq!(summary.new_conversation, ["b"]);
    assert_eq!(summary.kept, ["a"]);

    assert!(ask(&mut h, "b", "who am I?").await.is_done());
    let messages = last_messages(&mock);
    assert_eq!(messages.last().map(|(role, _)| role.as_str()), Some("user"));
    assert_eq!(
        messages.len(),
        2,
        "only the system prompt and the new prompt: {messages:?}"
    );
    h.shutdown().await;
}

#[tokio::test]
async fn applying_a_reload_waits_for_no_agent_and_a_busy_agent_goes_on_after_its_turn_is_cancelled()
{
    let mock = MockLlm::start().await;
    let mut h = Harness::start(&team(&mock, &openai_b(&mock, "first"), false)).await;
    assert!(ask(&mut h, "b", "I am Bob").await.is_done());
    let busy = h.prompt("b", "[[delay:60000]] think long");
    h.wait_for(busy, |k| matches!(k, EventKind::TurnStarted { .. }))
        .await;

    let (config, env) = load(&h, &team(&mock, &openai_b(&mock, "second"), false));
    // Not async: the busy turn runs on while this returns.
    let summary = h.orchestrator().apply_reload(config, &env).unwrap();
    assert_eq!(summary.restarted, ["b"]);
    // A prompt sent at once waits for the new task, which first stops the old one.
    let next = h.prompt("b", "still there?");
    let events = h.until_finished(busy).await;
    assert_eq!(h.outcome(&events), Outcome::Cancelled);
    let events = h.until_finished(next).await;
    assert!(h.outcome(&events).is_done(), "{events:?}");
    let roles: Vec<String> = last_messages(&mock)
        .into_iter()
        .map(|(role, _)| role)
        .collect();
    assert_eq!(roles.first().map(String::as_str), Some("system"));
    assert!(
        roles.len() >= 4,
        "the earlier exchange is still in the conversation: {roles:?}"
    );
    h.shutdown().await;
}
