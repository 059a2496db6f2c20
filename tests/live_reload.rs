#![allow(clippy::unwrap_used, clippy::expect_used)]
//! Live reload: the config file edited on disk while an agent streams is picked up by the
//! TUI's watcher and applied as /reload does, through the same code the TUI's loop runs
//! (`ConfigWatch` → `AppEvent::ConfigEdited` → `apply_config` → the app): agents added and
//! removed (the streaming one ends its turn cleanly, and its log says so), a broken edit shown
//! with its line and column while the team runs on, and warnings shown.

mod support;

use std::path::{Path, PathBuf};
use std::time::Duration;

use support::harness::Harness;
use support::mock_llm::{MockLlm, MockReply};
use tokio::sync::mpsc::{self, UnboundedReceiver};
use tzzr::engine::config;
use tzzr::engine::env::Environment;
use tzzr::engine::protocol::{EventKind, Outcome};
use tzzr::tui::app::state::Overlay;
use tzzr::tui::app::{App, AppEvent, Effect};
use tzzr::tui::config_watch::ConfigWatch;
use tzzr::tui::run::{ConfigRead, apply_config};

/// Longest wait for the watcher to report an edit (it settles after 300 ms).
const PATIENCE: Duration = Duration::from_secs(20);

/// A running team, the TUI's app over it, and the watch on its config file.
struct Live {
    h: Harness,
    app: App,
    edits: UnboundedReceiver<()>,
    _watch: ConfigWatch,
    path: PathBuf,
}

impl Live {
    async fn start(yaml: &str) -> Self {
        let mut h = Harness::start(yaml).await;
        let path = h.dir().join("config.yaml");
        let orchestrator = h.orchestrator();
        let agents: Vec<_> = orchestrator.agents().cloned().collect();
        let app = App::new(&agents, &orchestrator.endpoints(), None);
        let (edited, edits) = mpsc::unbounded_channel();
        let watch = ConfigWatch::start(&path, edited).unwrap();
        Self {
            h,
            app,
            edits,
            _watch: watch,
            path,
        }
    }

    /// Saves the config as editors do: a new file renamed over the old one.
    fn save(&self, yaml: &str) {
        let fresh = self.path.with_extension("yaml.swp");
        std::fs::write(&fresh, yaml).unwrap();
        std::fs::rename(&fresh, &self.path).unwrap();
    }

    /// Waits for the watcher's signal and runs what the TUI's loop runs for it.
    async fn reload_after_edit(&mut self) {
        tokio::time::timeout(PATIENCE, self.edits.recv())
            .await
            .expect("the watcher saw the edit")
            .expect("the watch is running");
        let effects = self.app.handle(AppEvent::ConfigEdited);
        assert_eq!(effects, [Effect::Reload]);
        let read = read(&self.path);
        let (event, warnings) = apply_config(self.h.orchestrator(), read);
        self.app.handle(event);
        if let Some(warnings) = warnings {
            self.app.handle(AppEvent::ConfigWarnings { warnings });
        }
    }

    fn status(&self) -> String {
        self.app
            .ui
            .status
            .as_ref()
            .map(|s| s.text.clone())
            .unwrap_or_default()
    }

    fn agents_on_screen(&self) -> Vec<String> {
        self.app
            .model
            .agents
            .iter()
            .map(|a| a.info.name.clone())
            .collect()
    }

    fn running_agents(&mut self) -> Vec<String> {
        self.h
            .orchestrator()
            .agents()
            .map(|a| a.name.clone())
            .collect()
    }

    fn report(&self) -> Option<(String, Vec<String>)> {
        match &self.app.ui.overlay {
            Overlay::Report { title, lines } => Some((title.clone(), lines.clone())),
            _ => None,
        }
    }
}

/// What the TUI's reloader does, without a `.env`.
fn read(path: &Path) -> ConfigRead {
    let env = Environment::isolated::<[(&str, &str); 0], &str, &str>([]);
    config::load_file_with(path, &|k: &str| env.get(k))
        .map(|loaded| {
            let warnings = loaded.warnings.iter().map(ToString::to_string).collect();
            (loaded.config, env, warnings)
        })
        .map_err(|e| e.to_string())
}

fn team(mock: &MockLlm, agents: &[&str]) -> String {
    let mut yaml = "settings:\n  rate_limit_per_minute: 0\nagents:\n".to_owned();
    for name in agents {
        yaml.push_str(&format!(
            "  {name}:\n    role: You help.\n    provider: openai\n    model: m\n    api_base: {}\n",
            mock.openai_base()
        ));
    }
    yaml
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_edit_adds_an_agent_while_another_streams_and_removing_the_streaming_one_ends_its_turn()
{
    let mock = MockLlm::start().await;
    let mut live = Live::start(&team(&mock, &["writer"])).await;
    mock.push(MockReply::text(["Once upon a time"]).forever(2, "and then "));
    let turn = live.h.prompt("writer", "tell me a long story");
    live.h
        .wait_for(turn, |k| matches!(k, EventKind::TextDelta { .. }))
        .await;

    live.save(&team(&mock, &["writer", "critic"]));
    live.reload_after_edit().await;
    assert_eq!(
        live.status(),
        "config reloaded: added critic; 1 unchanged",
        "{:?}",
        live.app.ui.overlay
    );
    assert_eq!(live.agents_on_screen(), ["writer", "critic"]);
    // Reading the file again (a read, an atime change) is not an edit: no reload loop.
    tokio::time::sleep(3 * tzzr::tui::config_watch::SETTLE).await;
    assert!(live.edits.try_recv().is_err(), "a reload set off another");
    assert!(
        live.h
            .so_far(turn)
            .iter()
            .all(|e| !matches!(e.kind, EventKind::TurnFinished { .. })),
        "the streaming agent was kept running"
    );
    mock.push(MockReply::text(["Nice."]));
    let critique = live.h.prompt("critic", "thoughts?");
    let events = live.h.until_finished(critique).await;
    assert!(live.h.outcome(&events).is_done());

    // The streaming one goes: its turn ends cancelled, and its log says so.
    live.save(&team(&mock, &["critic"]));
    live.reload_after_edit().await;
    assert_eq!(
        live.status(),
        "config reloaded: removed writer; 1 unchanged"
    );
    assert_eq!(live.agents_on_screen(), ["critic"]);
    assert_eq!(live.running_agents(), ["critic"]);
    let events = live.h.until_finished(turn).await;
    assert_eq!(live.h.outcome(&events), Outcome::Cancelled);
    let log = live.h.read_log("writer.md");
    assert!(log.contains("tell me a long story"), "{log}");
    assert!(log.contains("| CANCELLED"), "{log}");
    live.h.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_broken_edit_shows_its_line_and_column_and_keeps_the_team_until_a_good_edit() {
    let mock = MockLlm::start().await;
    let good = team(&mock, &["a", "b"]);
    let mut live = Live::start(&good).await;

    // A tab where YAML wants spaces, on line 5.
    let broken = good.replacen("    role: You help.", "\trole: You help.", 1);
    live.save(&broken);
    live.reload_after_edit().await;
    let (title, lines) = live.report().expect("the error is shown whole");
    assert_eq!(title, "Config not reloaded");
    let error = lines.join(" ");
    assert!(error.contains("config.yaml:5:"), "{error}");
    assert!(
        live.status().ends_with("the running agents are unchanged"),
        "{}",
        live.status()
    );
    assert_eq!(live.running_agents(), ["a", "b"]);
    assert_eq!(live.agents_on_screen(), ["a", "b"]);
    mock.push(MockReply::text(["still here"]));
    let turn = live.h.prompt("a", "hello?");
    let events = live.h.until_finished(turn).await;
    assert!(live.h.outcome(&events).is_done());

    live.save(&team(&mock, &["a", "b", "c"]));
    live.reload_after_edit().await;
    assert_eq!(live.status(), "config reloaded: added c; 2 unchanged");
    assert_eq!(live.running_agents(), ["a", "b", "c"]);
    live.h.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn warnings_are_shown_after_a_reload_once_and_counted_in_the_summary() {
    let mock = MockLlm::start().await;
    let mut live = Live::start(&team(&mock, &["a"])).await;
    let typo = team(&mock, &["a"]).replace(
        "    role: You help.",
        "    role: You help.\n    tols: [read]",
    );
    live.save(&typo);
    live.reload_after_edit().await;
    let (title, lines) = live.report().expect("warnings shown");
    assert_eq!(title, "Config warnings");
    assert!(
        lines
            .iter()
            .any(|l| l.contains("tols") && l.contains("tools")),
        "{lines:?}"
    );
    assert!(
        live.status().ends_with("; 1 config warnings"),
        "{}",
        live.status()
    );

    // The same warnings after the next save are counted, not shown again.
    live.app.ui.overlay = Overlay::None;
    live.save(&format!("{typo}# a comment\n"));
    live.reload_after_edit().await;
    assert_eq!(live.report(), None);
    assert!(
        live.status().ends_with("; 1 config warnings"),
        "{}",
        live.status()
    );
    live.h.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_symlinked_config_is_reloaded_when_its_target_is_edited() {
    let mock = MockLlm::start().await;
    let mut live = Live::start(&team(&mock, &["a"])).await;
    // config.yaml becomes a link to team.yaml, then team.yaml is edited in place.
    let target = live.h.dir().join("team.yaml");
    std::fs::write(&target, team(&mock, &["a"])).unwrap();
    drop(live._watch);
    std::fs::remove_file(&live.path).unwrap();
    std::os::unix::fs::symlink(&target, &live.path).unwrap();
    let (edited, edits) = mpsc::unbounded_channel();
    live._watch = ConfigWatch::start(&live.path, edited).unwrap();
    live.edits = edits;

    std::fs::write(&target, team(&mock, &["a", "b"])).unwrap();
    live.reload_after_edit().await;
    assert_eq!(live.status(), "config reloaded: added b; 1 unchanged");
    live.h.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_reload_that_cannot_start_an_agent_changes_nothing() {
    let mock = MockLlm::start().await;
    let other = MockLlm::start().await;
    let mut live = Live::start(&team(&mock, &["a", "b"])).await;
    // `bad`'s log cannot be written: a directory stands where the file goes.
    std::fs::create_dir_all(live.h.dir().join("logs").join("bad.md")).unwrap();
    let edit = format!(
        "{}  c:\n    provider: openai\n    model: m\n    api_base: {}\n  bad:\n    provider: openai\n    model: m\n    api_base: {}\n",
        team(&mock, &["a", "b"]).replacen("You help.", "You review.", 2),
        other.openai_base(),
        other.openai_base(),
    );
    live.save(&edit);
    live.reload_after_edit().await;
    let (title, lines) = live.report().expect("the error is shown");
    assert_eq!(title, "Config not reloaded");
    assert!(lines.join(" ").contains("agent `bad`"), "{lines:?}");
    // Neither the new agents nor the changed roles: the team as it was.
    assert_eq!(live.running_agents(), ["a", "b"]);
    let config = live.h.orchestrator().config().clone();
    assert!(config.agents.values().all(|a| a.role == "You help."));
    let endpoints = live.h.orchestrator().endpoints();
    assert_eq!(endpoints.len(), 1, "{endpoints:?}");
    mock.push(MockReply::text(["unchanged"]));
    let turn = live.h.prompt("b", "hi");
    let events = live.h.until_finished(turn).await;
    assert!(live.h.outcome(&events).is_done());
    live.h.shutdown().await;
}
