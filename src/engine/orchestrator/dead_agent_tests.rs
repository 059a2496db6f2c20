//! A prompt to an agent whose task has ended fails at once; the other agents go on.

use super::*;
use crate::engine::config;

#[tokio::test]
async fn a_prompt_to_a_dead_agent_fails_at_once_and_the_others_answer() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("config.yaml");
    let text = "agents:\n  gone: {provider: scripted}\n  alive: {provider: scripted}\n";
    let env = Environment::isolated::<[(&str, &str); 0], &str, &str>([]);
    let loaded = config::load_str_with(text, &path, &|k: &str| env.get(k)).unwrap();
    let (mut orch, mut events) = Orchestrator::start(loaded.config, &env, Asker::Nobody).unwrap();
    orch.slots.get_mut("gone").unwrap().handle.kill().await;

    let turn = orch.prompt("gone", "hello?").unwrap();
    // Turn 0 is what agents say at start (their context window).
    let event = loop {
        let event = events.recv().await.unwrap();
        if event.turn != TurnId(0) {
            break event;
        }
    };
    assert_eq!(event.turn, turn);
    let EventKind::TurnFinished {
        outcome:
            Outcome::Failed {
                error,
                kind: FailureKind::Internal,
            },
    } = event.kind
    else {
        panic!("{event:?}")
    };
    assert!(
        error.starts_with("agent `gone` has stopped (an internal error ended it;"),
        "{error}"
    );

    let turn = orch.prompt("alive", "hello").unwrap();
    loop {
        let event = events.recv().await.unwrap();
        if let EventKind::TurnFinished { outcome } = event.kind {
            assert_eq!(event.turn, turn);
            assert!(matches!(outcome, Outcome::Done { .. }), "{outcome:?}");
            break;
        }
    }
    orch.shutdown().await;
}
