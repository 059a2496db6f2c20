//! Drives a real `Orchestrator` the way a front end does: a config written to a temp dir, prompts
//! and commands in, events out, collected per turn.

use std::path::{Path, PathBuf};
use std::time::Duration;

use tempfile::TempDir;
use tokio::sync::mpsc::UnboundedReceiver;
use tzzr::engine::config;
use tzzr::engine::env::Environment;
use tzzr::engine::orchestrator::Orchestrator;
use tzzr::engine::protocol::{
    AgentCommand, AgentEvent, Approval, CallId, EventKind, Outcome, TurnId,
};
use tzzr::engine::tools::approval::Asker;

/// Longest wait for an event before a test fails (instead of hanging).
const PATIENCE: Duration = Duration::from_secs(60);

pub struct Harness {
    dir: TempDir,
    orchestrator: Option<Orchestrator>,
    events: UnboundedReceiver<AgentEvent>,
    backlog: Vec<AgentEvent>,
}

impl Harness {
    /// Starts the agents of `yaml` (a config.yaml in a fresh temp dir) with an empty environment;
    /// tool calls that ask for approval wait for `command(.., Approve { .. })`.
    pub async fn start(yaml: &str) -> Self {
        Self::start_with_env(yaml, &[]).await
    }

    pub async fn start_with_env(yaml: &str, vars: &[(&str, &str)]) -> Self {
        use_built_tzzr();
        let dir = tempfile::tempdir().expect("temp dir");
        let path = dir.path().join("config.yaml");
        std::fs::write(&path, yaml).expect("write config");
        let env = Environment::isolated(vars.iter().map(|(k, v)| (*k, *v)));
        let loaded = config::load_str_with(yaml, &path, &|k: &str| env.get(k))
            .unwrap_or_else(|e| panic!("config: {e}"));
        let (orchestrator, events) = Orchestrator::start(loaded.config, &env, Asker::Interactive)
            .unwrap_or_else(|e| panic!("start: {e}"));
        Self {
            dir,
            orchestrator: Some(orchestrator),
            events,
            backlog: Vec::new(),
        }
    }

    pub fn dir(&self) -> &Path {
        self.dir.path()
    }

    pub fn orchestrator(&mut self) -> &mut Orchestrator {
        self.orchestrator.as_mut().expect("running")
    }

    pub fn prompt(&mut self, agent: &str, text: &str) -> TurnId {
        self.orchestrator()
            .prompt(agent, text)
            .unwrap_or_else(|e| panic!("{e}"))
    }

    pub fn command(&mut self, agent: &str, command: AgentCommand) {
        self.orchestrator()
            .command(agent, command)
            .unwrap_or_else(|e| panic!("{e}"));
    }

    /// Every event of `turn`, in order, through its `TurnFinished`.
    pub async fn until_finished(&mut self, turn: TurnId) -> Vec<AgentEvent> {
        loop {
            if let Some(end) = self
                .backlog
                .iter()
                .position(|e| e.turn == turn && matches!(e.kind, EventKind::TurnFinished { .. }))
            {
                let (mine, rest): (Vec<_>, Vec<_>) = self
                    .backlog
                    .drain(..)
                    .enumerate()
                    .partition(|(i, e)| e.turn == turn && *i <= end);
                self.backlog = rest.into_iter().map(|(_, e)| e).collect();
                return mine.into_iter().map(|(_, e)| e).collect();
            }
            self.receive().await;
        }
    }

    /// The events of `turn` received so far (it has not finished), left for `until_finished`.
    pub fn so_far(&self, turn: TurnId) -> Vec<AgentEvent> {
        self.backlog
            .iter()
            .filter(|e| e.turn == turn)
            .cloned()
            .collect()
    }

    /// Waits until `turn` has produced an event for which `matches` holds (kept for `until_finished`).
    pub async fn wait_for(&mut self, turn: TurnId, matches: impl Fn(&EventKind) -> bool) {
        while !self
            .backlog
            .iter()
            .any(|e| e.turn == turn && matches(&e.kind))
        {
            self.receive().await;
        }
    }

    /// Waits for the next event of `turn` for which `matches` holds and takes it out of the
    /// backlog (events between turns, such as background health, come with turn 0).
    pub async fn next_matching(
        &mut self,
        turn: TurnId,
        matches: impl Fn(&EventKind) -> bool,
    ) -> AgentEvent {
        loop {
            if let Some(at) = self
                .backlog
                .iter()
                .position(|e| e.turn == turn && matches(&e.kind))
            {
                return self.backlog.remove(at);
            }
            self.receive().await;
        }
    }

    /// Waits until `turn` asks for an approval and returns the request (the oldest not yet
    /// answered).
    pub async fn asked(&mut self, turn: TurnId) -> Asked {
        self.wait_for(turn, |k| matches!(k, EventKind::ApprovalNeeded { .. }))
            .await;
        asked_in(&self.so_far(turn))
            .into_iter()
            .next()
            .expect("an approval request")
    }

    /// Answers the approval request `call` of `agent`.
    pub fn answer(&mut self, agent: &str, call: &CallId, decision: Approval) {
        self.command(
            agent,
            AgentCommand::Approve {
                call: call.clone(),
                decision,
            },
        );
    }

    async fn receive(&mut self) {
        let event = tokio::time::timeout(PATIENCE, self.events.recv())
            .await
            .unwrap_or_else(|_| {
                panic!(
                    "no event for {PATIENCE:?}; so far: {:?}",
                    kinds(&self.backlog)
                )
            })
            .expect("event channel open");
        self.backlog.push(event);
    }

    /// The outcome in a turn's events.
    pub fn outcome(&self, events: &[AgentEvent]) -> Outcome {
        events
            .iter()
            .find_map(|e| match &e.kind {
                EventKind::TurnFinished { outcome } => Some(outcome.clone()),
                _ => None,
            })
            .expect("a TurnFinished event")
    }

    pub fn write_file(&self, name: &str, contents: &str) -> PathBuf {
        let path = self.dir.path().join(name);
        std::fs::write(&path, contents).expect("write file");
        path
    }

    /// A file of the log directory (`logs/NAME`).
    pub fn read_log(&self, name: &str) -> String {
        std::fs::read_to_string(self.dir.path().join("logs").join(name)).unwrap_or_default()
    }

    pub async fn shutdown(mut self) {
        if let Some(orchestrator) = self.orchestrator.take() {
            orchestrator.shutdown().await;
        }
    }
}

/// tzzr starts itself again (bash's sandbox helper, the Claude CLI's bridge): in tests, the
/// binary cargo built (the test binary is not tzzr).
pub fn use_built_tzzr() {
    tzzr::engine::own_program::register(PathBuf::from(env!("CARGO_BIN_EXE_tzzr")));
}

/// A tool call waiting for the user's answer.
#[derive(Clone, Debug, PartialEq)]
pub struct Asked {
    pub call: CallId,
    pub tool: String,
    pub args: serde_json::Value,
}

/// Every approval request among `events`, in order.
pub fn asked_in(events: &[AgentEvent]) -> Vec<Asked> {
    events
        .iter()
        .filter_map(|e| match &e.kind {
            EventKind::ApprovalNeeded {
                call, tool, args, ..
            } => Some(Asked {
                call: call.clone(),
                tool: tool.clone(),
                args: args.clone(),
            }),
            _ => None,
        })
        .collect()
}

/// What one finished tool call showed: its tool, whether it succeeded, what the model read.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Done {
    pub tool: String,
    pub ok: bool,
    pub output: String,
}

/// Every finished tool call among `events`, in order.
pub fn done_in(events: &[AgentEvent]) -> Vec<Done> {
    events
        .iter()
        .filter_map(|e| match &e.kind {
            EventKind::ToolCallFinished {
                tool, ok, output, ..
            } => Some(Done {
                tool: tool.clone(),
                ok: *ok,
                output: output.clone(),
            }),
            _ => None,
        })
        .collect()
}

/// The `event` tag of each event (`turn_started`, `text_delta`, …).
pub fn kinds(events: &[AgentEvent]) -> Vec<String> {
    events
        .iter()
        .map(|e| {
            serde_json::to_value(e).expect("serializable")["event"]
                .as_str()
                .unwrap_or("?")
                .to_owned()
        })
        .collect()
}

/// The text of each `Notice` event, in order.
pub fn notices(events: &[AgentEvent]) -> Vec<String> {
    events
        .iter()
        .filter_map(|e| match &e.kind {
            EventKind::Notice { text } => Some(text.clone()),
            _ => None,
        })
        .collect()
}
