//! The loop: one `tokio::select!` over the terminal's events, the engine's events, the log tail,
//! background results, the stop signals (SIGTERM, SIGHUP, SIGINT: handled like quitting) and a
//! frame timer. Every ready engine event is applied before drawing,
//! the screen is drawn only when something changed, at most 30 frames a second, and nothing on
//! this task waits on I/O or on an agent (health checks and config reads run in the background,
//! and a reload never waits for the agents it restarts).

use std::time::Duration;

use anyhow::Context;
use crossterm::event::EventStream;
use futures::StreamExt;
use ratatui::layout::Rect;
use tokio::sync::mpsc::{self, UnboundedReceiver, UnboundedSender};
use tokio::time::Instant;

use super::app::{App, AppEvent, Effect};
use super::config_watch::ConfigWatch;
use super::logtail::{LogTail, LogUpdate};
use super::task_slot::TaskSlot;
use super::terminal;
use super::view::{self, Ctx};
use crate::engine::config::Config;
use crate::engine::env::Environment;
use crate::engine::health;
use crate::engine::orchestrator::Orchestrator;
use crate::engine::protocol::AgentEvent;
use crate::engine::session::{Replay, SessionPlan};
use crate::engine::tools::approval::Asker;
use crate::stop_signals::{StopSignal, StopSignals};

/// The shortest time between two frames (30 a second).
const FRAME: Duration = Duration::from_millis(33);
/// How often spinners and countdowns move while something runs.
const TICK: Duration = Duration::from_millis(100);
/// How often the age of the last background probe is drawn again when nothing else moves.
const PROBE_AGE_TICK: Duration = Duration::from_secs(1);
/// Log lines the log pane asks the tail for.
const LOG_LINES: usize = 300;

/// Reads the config again for `/reload` (the same file, the same `.env` rules as at start),
/// with the warnings loading it gave.
pub type Reloader = std::sync::Arc<dyn Fn() -> ConfigRead + Send + Sync>;

/// A config read again, its environment and its warnings; or why it could not be read.
pub type ConfigRead = Result<(Config, Environment, Vec<String>), String>;

/// What background work hands back to the loop.
enum Background {
    /// For the app (a report).
    App(AppEvent),
    /// `/reload` read the config (off this task): the loop applies it to the orchestrator.
    ConfigRead(Box<ConfigRead>),
    /// `/resume` read the config and the session (off this task): the loop starts the team on it.
    SessionRead(Box<Result<(Config, Environment, Replay), String>>),
}

/// Runs the UI until the user quits or a stop signal comes. The terminal is restored on return,
/// whatever happened; running turns are cancelled (and journaled so). The exit status is the
/// signal's (128 + its number), or success.
pub async fn run(
    mut orchestrator: Orchestrator,
    mut events: UnboundedReceiver<AgentEvent>,
    reload: Reloader,
    warnings: Vec<String>,
) -> anyhow::Result<std::process::ExitCode> {
    let mut signals = StopSignals::install().context("cannot listen for SIGTERM and SIGHUP")?;
    let mut guard = terminal::init().context("cannot take over the terminal")?;
    std::thread::spawn(crate::tui::markdown::preload_highlighting);
    orchestrator.watch_health();
    let agents: Vec<_> = orchestrator.agents().cloned().collect();
    let mut app = App::new(
        &agents,
        &orchestrator.endpoints(),
        orchestrator.config().settings.budget_usd,
    );
    let size = guard
        .terminal
        .size()
        .context("cannot read the terminal size")?;
    app.size = Rect::new(0, 0, size.width, size.height);
    app.restore(orchestrator.take_restored_events());

    let (background, mut results) = mpsc::unbounded_channel::<Background>();
    let mut tail: Option<LogTail> = None;
    let mut task = TaskSlot::default();
    let mut terminal_events = EventStream::new();
    let mut pending = app.start();
    pending.extend(app.handle(AppEvent::ConfigWarnings { warnings }));
    // Edits to the config on disk are applied as /reload does.
    let (edited, mut edits) = mpsc::unbounded_channel::<()>();
    let _watch = match ConfigWatch::start(&orchestrator.config().source, edited) {
        Ok(watch) => Some(watch),
        Err(e) => {
            app.ui.complain(format!(
                "cannot watch the config for edits ({e}); /reload reads it again"
            ));
            None
        }
    };
    let mut dirty = true;
    let mut last_frame = Instant::now() - FRAME;
    // Teams left by `/resume`, stopping in the background; awaited before the run ends.
    let mut retired: Vec<tokio::task::JoinHandle<()>> = Vec::new();

    let outcome: anyhow::Result<Option<StopSignal>> = 'ui: loop {
        while !pending.is_empty() {
            for effect in std::mem::take(&mut pending) {
                if effect == Effect::Quit {
                    break 'ui Ok(None);
                }
                let follow_ups = if let Effect::StartTask {
                    name,
                    input,
                    resume,
                } = effect
                {
                    match task.start(&mut orchestrator, &name, input, resume) {
                        Ok(started) => started
                            .into_iter()
                            .flat_map(|e| app.handle(AppEvent::Task(e)))
                            .collect(),
                        Err(why) => {
                            app.ui.complain(crate::sanitize::line_for_display(&why));
                            Vec::new()
                        }
                    }
                } else {
                    execute(
                        effect,
                        &mut orchestrator,
                        &mut app,
                        &mut tail,
                        &background,
                        &reload,
                    )
                    .await
                };
                pending.extend(follow_ups);
            }
            dirty = true;
        }
        let now = Instant::now();
        if dirty && now >= last_frame + FRAME {
            let ctx_now = jiff::Timestamp::now();
            let drawn = guard.terminal.draw(|frame| {
                let ctx = Ctx {
                    model: &app.model,
                    ui: &app.ui,
                    now: ctx_now,
                };
                let area = frame.area();
                view::render(&ctx, &app.input, &app.cache, area, frame.buffer_mut());
            });
            if let Err(e) = drawn {
                break Err(e).context("cannot draw");
            }
            dirty = false;
            last_frame = Instant::now();
        }
        let task_deadline = task.deadline();
        let animating = app.model.agents.iter().any(|a| a.activity.is_busy())
            || app
                .model
                .endpoints
                .iter()
                .any(|e| matches!(e.breaker, super::model::Breaker::Open { .. }));

        let probed = app.model.endpoints.iter().any(|e| e.probe.is_some());

        tokio::select! {
            event = terminal_events.next() => match event {
                Some(Ok(event)) => {
                    pending = app.handle(AppEvent::Terminal(event));
                    dirty = true;
                }
                Some(Err(e)) => break Err(e).context("cannot read the terminal"),
                None => break Ok(None),
            },
            signal = signals.recv() => break Ok(Some(signal)),
            event = events.recv() => {
                let Some(event) = event else { break Ok(None) };
                pending = engine_event(&mut app, &mut task, &mut orchestrator, event);
                // Drain what is ready, then draw once.
                while let Ok(event) = events.try_recv() {
                    pending.extend(engine_event(&mut app, &mut task, &mut orchestrator, event));
                }
                dirty = true;
            }
            () = async { tokio::time::sleep_until(task_deadline.unwrap_or_else(Instant::now)).await },
                if task_deadline.is_some() => task.on_tick(&mut orchestrator),
            update = next_log(&mut tail) => {
                if let Some(update) = update {
                    pending = app.handle(AppEvent::Log(update));
                    // A busy log sends many lines at once: take them all, then draw once.
                    while let Some(update) = tail.as_mut().and_then(LogTail::try_recv) {
                        pending.extend(app.handle(AppEvent::Log(update)));
                    }
                    dirty = true;
                }
            }
            Some(()) = edits.recv() => {
                pending = app.handle(AppEvent::ConfigEdited);
                dirty = true;
            }
            result = results.recv() => {
                match result {
                    Some(Background::App(event)) => pending = app.handle(event),
                    Some(Background::ConfigRead(read)) => {
                        let (event, warnings) = apply_config(&mut orchestrator, *read);
                        pending = app.handle(event);
                        if let Some(warnings) = warnings {
                            pending.extend(app.handle(AppEvent::ConfigWarnings { warnings }));
                        }
                    }
                    Some(Background::SessionRead(read)) => match switch_session(*read) {
                        Ok((next, next_events)) => {
                            let previous = std::mem::replace(&mut orchestrator, next);
                            retired.push(tokio::spawn(previous.shutdown()));
                            events = next_events;
                            tail = None;
                            let size = app.size;
                            let agents: Vec<_> = orchestrator.agents().cloned().collect();
                            app = App::new(
                                &agents,
                                &orchestrator.endpoints(),
                                orchestrator.config().settings.budget_usd,
                            );
                            app.size = size;
                            app.restore(orchestrator.take_restored_events());
                            pending = app.start();
                        }
                        Err(error) => app.ui.complain(error),
                    },
                    None => {}
                }
                dirty = true;
            }
            () = tokio::time::sleep_until(last_frame + FRAME), if dirty => {}
            () = tokio::time::sleep(TICK), if animating && !dirty => dirty = true,
            // "checked 12s ago" in the Endpoints pane moves on, once a second.
            () = tokio::time::sleep(PROBE_AGE_TICK), if probed && !dirty => dirty = true,
        }
    };
    // The terminal first (the user sees the shell at once), then the agents stop; a second
    // signal does not wait for them.
    drop(guard);
    let everything_stopped = async {
        orchestrator.shutdown().await;
        for team in retired {
            // A team that panicked while stopping has nothing left to stop.
            let _ = team.await;
        }
    };
    tokio::select! {
        () = everything_stopped => {}
        _ = signals.recv() => crate::engine::tools::exec::kill_all_process_groups(),
    }
    Ok(match outcome? {
        Some(signal) => std::process::ExitCode::from(signal.exit_status()),
        None => std::process::ExitCode::SUCCESS,
    })
}

/// Hands a config read by `/reload` (or after an edit) to the orchestrator and says how it
/// went, with the new config's warnings when it was applied. Waits for no agent: restarted
/// agents stop their predecessors in their own tasks, so the UI keeps drawing and reading keys
/// meanwhile.
pub fn apply_config(
    orchestrator: &mut Orchestrator,
    read: ConfigRead,
) -> (AppEvent, Option<Vec<String>>) {
    let (config, env, warnings) = match read {
        Ok(read) => read,
        Err(error) => return (AppEvent::ReloadFailed { error }, None),
    };
    let budget_usd = config.settings.budget_usd;
    match orchestrator.apply_reload(config, &env) {
        Ok(summary) => {
            let mut line = summary.to_string();
            if !warnings.is_empty() {
                line.push_str(&format!("; {} config warnings", warnings.len()));
            }
            let reloaded = AppEvent::Reloaded {
                agents: orchestrator.agents().cloned().collect(),
                endpoints: orchestrator.endpoints(),
                budget_usd,
                summary: line,
                new_conversation: summary.new_conversation,
            };
            (reloaded, Some(warnings))
        }
        Err(e) => (
            AppEvent::ReloadFailed {
                error: e.to_string(),
            },
            None,
        ),
    }
}

/// An engine event for the app, then for the running task (whose events follow it).
fn engine_event(
    app: &mut App,
    task: &mut TaskSlot,
    orchestrator: &mut Orchestrator,
    event: AgentEvent,
) -> Vec<Effect> {
    let task_events = task.on_event(&event, orchestrator);
    let mut effects = app.handle(AppEvent::Engine(event));
    for task_event in task_events {
        effects.extend(app.handle(AppEvent::Task(task_event)));
    }
    effects
}

/// The team of the session `/resume` read, started (the running one stops once this one is up).
fn switch_session(
    read: Result<(Config, Environment, Replay), String>,
) -> Result<(Orchestrator, UnboundedReceiver<AgentEvent>), String> {
    let (config, env, replay) = read?;
    let id = replay.header.id.clone();
    Orchestrator::start_with(
        config,
        &env,
        Asker::Interactive,
        Some(SessionPlan::Resume(Box::new(replay))),
    )
    .map_err(|e| format!("/resume {id}: {e}"))
}

/// `/resume ID`, off the UI task: the config read again, and session `id` of it.
fn read_session(
    orchestrator: &Orchestrator,
    id: String,
    reload: &Reloader,
    background: &UnboundedSender<Background>,
) -> Result<(), String> {
    let running = orchestrator.session().ok_or_else(|| {
        "this run keeps no session, so it cannot switch to another; quit and run tzzr --resume ID"
            .to_owned()
    })?;
    let running_id = running.id().clone();
    let config = running.config().to_path_buf();
    let reload = reload.clone();
    let background = background.clone();
    tokio::task::spawn_blocking(move || {
        let read = crate::engine::session::catalog()
            .map_err(|e| e.to_string())
            .and_then(|catalog| {
                catalog
                    .find_for(Some(&id), &config)
                    .map_err(|e| e.to_string())
            })
            .and_then(|replay| {
                if replay.header.id == running_id {
                    Err(format!("session {running_id} is the one running"))
                } else {
                    Ok(replay)
                }
            })
            .and_then(|replay| reload().map(|(config, env, _warnings)| (config, env, replay)));
        // The UI may have quit meanwhile: then nobody needs the session.
        let _ = background.send(Background::SessionRead(Box::new(read)));
    });
    Ok(())
}

/// `/export`, in the background: the session's journal once every event so far is on disk,
/// then its transcript, written to `file` or `tzzr-session-ID.md|json` here.
fn export_session(
    orchestrator: &Orchestrator,
    format: crate::engine::session::ExportFormat,
    file: Option<std::path::PathBuf>,
    background: &UnboundedSender<Background>,
) -> Result<(), String> {
    let session = orchestrator
        .session()
        .cloned()
        .ok_or_else(|| "this run keeps no session: nothing to export".to_owned())?;
    let background = background.clone();
    tokio::spawn(async move {
        session.sync().await;
        let written = tokio::task::spawn_blocking(move || {
            let file = file.unwrap_or_else(|| {
                let extension = match format {
                    crate::engine::session::ExportFormat::Markdown => "md",
                    crate::engine::session::ExportFormat::Json => "json",
                };
                format!("tzzr-session-{}.{extension}", session.id()).into()
            });
            let replay =
                crate::engine::session::read_file(session.path()).map_err(|e| e.to_string())?;
            let text =
                crate::engine::session::export(&replay, format, None).map_err(|e| e.to_string())?;
            crate::engine::session::write_export(&file, &text)
                .map_err(|e| format!("cannot write {}: {e}", file.display()))?;
            Ok::<_, String>(file)
        })
        .await
        .unwrap_or_else(|e| Err(format!("the export failed: {e}")));
        let (text, is_error) = match written {
            Ok(file) => (format!("transcript written to {}", file.display()), false),
            Err(error) => (format!("/export: {error}"), true),
        };
        // The UI may have quit meanwhile: then nobody needs the answer.
        let _ = background.send(Background::App(AppEvent::Said { text, is_error }));
    });
    Ok(())
}

async fn next_log(tail: &mut Option<LogTail>) -> Option<LogUpdate> {
    match tail {
        Some(tail) => tail.recv().await,
        None => std::future::pending().await,
    }
}

/// Carries out one effect; returns the effects the app asks for in answer.
async fn execute(
    effect: Effect,
    orchestrator: &mut Orchestrator,
    app: &mut App,
    tail: &mut Option<LogTail>,
    background: &UnboundedSender<Background>,
    reload: &Reloader,
) -> Vec<Effect> {
    match effect {
        Effect::Prompt { agent, text } => {
            if let Err(e) = orchestrator.prompt(&agent, text) {
                app.ui.complain(e.to_string());
            }
            Vec::new()
        }
        Effect::Command { agent, command } => {
            if let Err(e) = orchestrator.command(&agent, command) {
                app.ui.complain(e.to_string());
            }
            Vec::new()
        }
        Effect::Status => {
            let status = orchestrator.status();
            let lines = serde_json::to_string_pretty(&status)
                .unwrap_or_else(|e| format!("cannot show the status: {e}"))
                .lines()
                .map(str::to_owned)
                .collect();
            app.handle(AppEvent::Report {
                title: "Status".to_owned(),
                lines,
            })
        }
        Effect::Health => {
            let probes = health::probes(orchestrator);
            let background = background.clone();
            tokio::spawn(async move {
                let reports = health::check_probes(probes).await;
                let lines = crate::report::health_lines(&reports);
                // The UI may have quit meanwhile: then nobody needs the answer.
                let _ = background.send(Background::App(AppEvent::Report {
                    title: "Health".to_owned(),
                    lines,
                }));
            });
            Vec::new()
        }
        Effect::Reload => {
            let reload = reload.clone();
            let background = background.clone();
            tokio::task::spawn_blocking(move || {
                // The UI may have quit meanwhile: then nobody needs the config.
                let _ = background.send(Background::ConfigRead(Box::new(reload())));
            });
            Vec::new()
        }
        Effect::FollowLog { path } => {
            let agent = app
                .model
                .agents
                .iter()
                .find(|a| a.info.log == path)
                .map_or_else(String::new, |a| a.name().to_owned());
            app.model.follow_log(&agent, path.clone());
            *tail = Some(LogTail::follow(path, LOG_LINES));
            Vec::new()
        }
        // Started by the loop, which holds the task.
        Effect::Quit | Effect::StartTask { .. } => Vec::new(),
        Effect::Export { format, file } => {
            if let Err(error) = export_session(orchestrator, format, file, background) {
                app.ui.complain(format!("/export: {error}"));
            }
            Vec::new()
        }
        Effect::ListSessions => {
            let config = orchestrator.session().map(|s| s.config().to_path_buf());
            let background = background.clone();
            tokio::task::spawn_blocking(move || {
                let event = match crate::engine::session::catalog() {
                    Ok(catalog) => AppEvent::Sessions {
                        sessions: catalog
                            .summaries()
                            .into_iter()
                            .filter(|s| config.as_ref().is_none_or(|c| &s.config == c))
                            .collect(),
                    },
                    Err(e) => AppEvent::Said {
                        text: format!("/sessions: {e}"),
                        is_error: true,
                    },
                };
                // The UI may have quit meanwhile: then nobody needs the list.
                let _ = background.send(Background::App(event));
            });
            Vec::new()
        }
        Effect::Resume { id } => {
            if let Err(error) = read_session(orchestrator, id, reload, background) {
                app.ui.complain(format!("/resume: {error}"));
            }
            Vec::new()
        }
    }
}
