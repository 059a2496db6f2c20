#![allow(clippy::unwrap_used, clippy::expect_used)]
//! Sessions: a run's journal read back into the same conversations, a resumed run's requests
//! carrying the earlier turns, exports in both formats, and a run killed mid-stream resumed
//! with everything but the turn in flight.

mod support;

use std::path::{Path, PathBuf};
use std::time::Duration;

use pretty_assertions::assert_eq;
use serde_json::Value;
use support::mock_llm::MockLlm;
use tokio::sync::mpsc::UnboundedReceiver;
use tzzr::engine::config;
use tzzr::engine::conversation::Message;
use tzzr::engine::env::Environment;
use tzzr::engine::orchestrator::Orchestrator;
use tzzr::engine::protocol::{AgentEvent, EventKind, Outcome, TurnId};
use tzzr::engine::session::{Catalog, ExportFormat, SessionPlan, export};
use tzzr::engine::tools::approval::Asker;

const PATIENCE: Duration = Duration::from_secs(60);

fn config_yaml(mock: &MockLlm) -> String {
    format!(
        "settings:\n  retry_delay: 0.01\nagents:\n  bot:\n    role: You help.\n    provider: openai\n    model: gpt-4o\n    api_base: {}\n  quiet:\n    role: You wait.\n    provider: openai\n    model: gpt-4o\n    api_base: {}\n",
        mock.openai_base(),
        mock.openai_base()
    )
}

/// A project (its config) and the sessions directory, both in a temp dir.
struct Project {
    dir: tempfile::TempDir,
}

impl Project {
    fn new(yaml: &str) -> Self {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("config.yaml"), yaml).unwrap();
        Self { dir }
    }

    fn config_path(&self) -> PathBuf {
        self.dir.path().join("config.yaml").canonicalize().unwrap()
    }

    fn sessions(&self) -> PathBuf {
        self.dir.path().join("state/tzzr/sessions")
    }

    fn catalog(&self) -> Catalog {
        Catalog::new(self.sessions())
    }

    /// Starts the config's agents in a new session, or going on with the last one.
    fn start(&self, resume: bool) -> Run {
        support::harness::use_built_tzzr();
        let yaml = std::fs::read_to_string(self.config_path()).unwrap();
        let env = Environment::isolated(std::iter::empty::<(&str, &str)>());
        let loaded = config::load_str_with(&yaml, &self.config_path(), &|k: &str| env.get(k))
            .unwrap_or_else(|e| panic!("config: {e}"));
        let plan = if resume {
            let replay = self.catalog().find_for(None, &self.config_path()).unwrap();
            SessionPlan::Resume(Box::new(replay))
        } else {
            SessionPlan::New {
                dir: self.sessions(),
                config: self.config_path(),
            }
        };
        let (orchestrator, events) =
            Orchestrator::start_with(loaded.config, &env, Asker::Nobody, Some(plan))
                .unwrap_or_else(|e| panic!("start: {e}"));
        Run {
            orchestrator,
            events,
        }
    }
}

struct Run {
    orchestrator: Orchestrator,
    events: UnboundedReceiver<AgentEvent>,
}

impl Run {
    /// Sends `prompt` to `agent` and waits for the turn's end.
    async fn ask(&mut self, agent: &str, prompt: &str) -> (TurnId, Outcome) {
        let turn = self.orchestrator.prompt(agent, prompt).unwrap();
        loop {
            let event = tokio::time::timeout(PATIENCE, self.events.recv())
                .await
                .expect("the turn ends in time")
                .expect("events flow");
            if let (true, EventKind::TurnFinished { outcome }) = (event.turn == turn, event.kind) {
                return (turn, outcome);
            }
        }
    }

    async fn stop(self) {
        self.orchestrator.shutdown().await;
    }
}

fn roles(request: &Value) -> Vec<&str> {
    request["messages"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["role"].as_str().unwrap())
        .collect()
}

#[tokio::test]
async fn a_journal_replays_into_the_same_conversations() {
    let mock = MockLlm::start().await;
    let project = Project::new(&config_yaml(&mock));
    let mut run = project.start(false);
    run.ask("bot", "my name is Ada").await;
    run.ask("bot", "and I like tea").await;
    run.stop().await;

    let replay = project
        .catalog()
        .find_for(None, &project.config_path())
        .unwrap();
    assert_eq!(
        replay.agents["bot"].conversation,
        vec![
            Message::user("my name is Ada"),
            Message::assistant("echo: my name is Ada"),
            Message::user("and I like tea"),
            Message::assistant("echo: and I like tea"),
        ]
    );
    assert_eq!(replay.turns(), 2);
    assert_eq!(replay.last_prompt(), Some("and I like tea"));
    assert!(!replay.agents.contains_key("quiet") || replay.agents["quiet"].turns == 0);
}

#[tokio::test]
async fn a_resumed_run_sends_the_earlier_turns_and_appends_to_the_session() {
    let mock = MockLlm::start().await;
    let project = Project::new(&config_yaml(&mock));
    let mut run = project.start(false);
    run.ask("bot", "my name is Ada").await;
    run.stop().await;

    let mut run = project.start(true);
    let (turn, outcome) = run.ask("bot", "what is my name?").await;
    assert!(outcome.is_done(), "{outcome:?}");
    assert_eq!(turn, TurnId(2), "turn ids go on from the session's");
    run.stop().await;

    let second = &mock.chat_requests()[1];
    assert_eq!(
        roles(second.json()),
        ["system", "user", "assistant", "user"]
    );
    assert_eq!(
        second.json()["messages"][2]["content"],
        "echo: my name is Ada"
    );

    assert_eq!(
        project.catalog().ids().len(),
        1,
        "the run went on with the same session"
    );
    let replay = project
        .catalog()
        .find_for(None, &project.config_path())
        .unwrap();
    assert_eq!(replay.turns(), 2);
    assert_eq!(replay.agents["bot"].conversation.len(), 4);
}

#[tokio::test]
async fn exports_hold_every_turn_in_markdown_and_json() {
    let mock = MockLlm::start().await;
    let project = Project::new(&config_yaml(&mock));
    let mut run = project.start(false);
    run.ask("bot", "first question").await;
    run.ask("quiet", "second question").await;
    run.stop().await;
    let replay = project
        .catalog()
        .find_for(None, &project.config_path())
        .unwrap();

    let md = export(&replay, ExportFormat::Markdown, None).unwrap();
    for needle in [
        "# tzzr session",
        "## bot",
        "## quiet",
        "**Prompt**\n\nfirst question",
        "**Answer**\n\necho: first question",
        "echo: second question",
    ] {
        assert!(md.contains(needle), "{needle:?} missing from:\n{md}");
    }

    let json: Value =
        serde_json::from_str(&export(&replay, ExportFormat::Json, Some("quiet")).unwrap()).unwrap();
    let agents = json["agents"].as_array().unwrap();
    assert_eq!(agents.len(), 1);
    assert_eq!(agents[0]["name"], "quiet");
    assert_eq!(agents[0]["turns"][0]["prompt"], "second question");
    assert_eq!(agents[0]["turns"][0]["answer"], "echo: second question");
    assert_eq!(agents[0]["turns"][0]["status"], "done");
    assert_eq!(
        agents[0]["conversation"][1]["text"],
        "echo: second question"
    );

    let unknown = export(&replay, ExportFormat::Json, Some("nobody")).unwrap_err();
    assert!(
        unknown.to_string().contains("no agent `nobody`"),
        "{unknown}"
    );
}

#[tokio::test]
async fn the_journal_is_private_to_the_user() {
    use std::os::unix::fs::PermissionsExt;
    let mock = MockLlm::start().await;
    let project = Project::new(&config_yaml(&mock));
    let run = project.start(false);
    run.stop().await;
    let mode = |p: &Path| std::fs::metadata(p).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode(&project.sessions()), 0o700);
    let id = &project.catalog().ids()[0];
    assert_eq!(mode(&project.catalog().path_of(id)), 0o600);
}
