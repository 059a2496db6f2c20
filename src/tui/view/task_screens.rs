//! Snapshots of the task view mid-run and finished, and the keys that move in it, from the
//! task's events and its steps' engine events on a fixed clock.

use crossterm::event::{Event, KeyCode, KeyEvent, KeyModifiers};

use super::screens::screen;
use crate::engine::pipeline::{StepRef, StepState, TaskEvent, TaskState};
use crate::engine::protocol::{AgentEvent, EventKind, TokenUsage, TurnId};
use crate::tui::app::state::View;
use crate::tui::app::tests::info;
use crate::tui::app::{App, AppEvent, Effect};

const T0: i64 = 1_795_000_000;

fn at(seconds: i64) -> jiff::Timestamp {
    jiff::Timestamp::from_second(T0 + seconds).unwrap_or(jiff::Timestamp::UNIX_EPOCH)
}

fn step(index: &str, id: Option<&str>, agent: &str) -> StepRef {
    StepRef {
        index: index.into(),
        id: id.map(str::to_owned),
        agent: agent.into(),
    }
}

fn steps() -> Vec<StepRef> {
    vec![
        step("1", Some("design"), "architect"),
        step("2", None, "developer"),
        step("3.1", Some("review"), "reviewer"),
        step("3.2", Some("tests"), "tester"),
        step("4", None, "architect"),
    ]
}

fn task(app: &mut App, event: TaskEvent) -> Vec<Effect> {
    app.handle(AppEvent::Task(event))
}

fn engine(app: &mut App, agent: &str, turn: u64, second: i64, kind: EventKind) {
    app.handle(AppEvent::Engine(AgentEvent {
        agent: agent.into(),
        turn: TurnId(turn),
        at: at(second),
        kind,
    }));
}

fn started(app: &mut App, index: usize, turn: u64, second: i64) {
    let step = steps()[index].clone();
    let agent = step.agent.clone();
    task(
        app,
        TaskEvent::StepStarted {
            step,
            turn: TurnId(turn),
            attempt: 1,
            prompt: "…".into(),
        },
    );
    engine(
        app,
        &agent,
        turn,
        second,
        EventKind::TurnStarted {
            prompt: "…".into()
        },
    );
}

fn finished(app: &mut App, index: usize, state: StepState, output: &str, error: Option<&str>) {
    task(
        app,
        TaskEvent::StepFinished {
            step: steps()[index].clone(),
            state,
            output: output.into(),
            error: error.map(str::to_owned),
            attempts: 1,
            tokens: TokenUsage {
                input: 1200,
                output: 300,
                ..TokenUsage::default()
            },
            cost_usd: 0.0125,
            elapsed_ms: 12_000,
        },
    );
}

/// Design and implementation done; review and tests running side by side.
fn mid_run() -> App {
    let agents = [
        info("architect"),
        info("developer"),
        info("reviewer"),
        info("tester"),
    ];
    let mut app = App::new(&agents, &[], None);
    task(
        &mut app,
        TaskEvent::TaskStarted {
            task: "feature".into(),
            steps: steps(),
        },
    );
    started(&mut app, 0, 1, 0);
    finished(
        &mut app,
        0,
        StepState::Done,
        "Add a `--dry-run` flag in args.rs; print the plan instead of running it.",
        None,
    );
    started(&mut app, 1, 2, 12);
    finished(
        &mut app,
        1,
        StepState::Done,
        "Done: args.rs and main.rs changed, 2 tests added.",
        None,
    );
    started(&mut app, 2, 3, 24);
    started(&mut app, 3, 4, 24);
    engine(
        &mut app,
        "reviewer",
        3,
        27,
        EventKind::TextDelta {
            text: "The flag is parsed but never reaches".into(),
        },
    );
    engine(
        &mut app,
        "tester",
        4,
        28,
        EventKind::TextDelta {
            text: "Running cargo test\u{1b}[31m…".into(),
        },
    );
    app
}

#[test]
fn the_task_view_mid_run_shows_a_group_side_by_side() {
    let app = mid_run();
    assert_eq!(app.ui.view, View::Task);
    insta::assert_snapshot!(screen(&app, 100, 30, 30));
}

#[test]
fn the_task_view_when_a_step_failed() {
    let mut app = mid_run();
    finished(
        &mut app,
        2,
        StepState::Done,
        "One bug: the flag never reaches run().",
        None,
    );
    finished(
        &mut app,
        3,
        StepState::Failed,
        "",
        Some("HTTP 500: the server failed"),
    );
    task(
        &mut app,
        TaskEvent::TaskFinished {
            task: "feature".into(),
            state: TaskState::Failed,
            failed_step: Some(steps()[3].clone()),
            error: Some("HTTP 500: the server failed".into()),
            tokens: TokenUsage {
                input: 4800,
                output: 1200,
                ..TokenUsage::default()
            },
            cost_usd: 0.05,
            elapsed_ms: 40_000,
        },
    );
    insta::assert_snapshot!(screen(&app, 100, 30, 45));
    let status = app.ui.status.as_ref().map(|s| s.text.clone());
    assert_eq!(
        status.as_deref(),
        Some(
            "task `feature` failed at step 3.2 `tests` (tester): HTTP 500: the server failed; /task feature --resume goes on from there"
        )
    );
}

fn key(app: &mut App, code: KeyCode) -> Vec<Effect> {
    app.handle(AppEvent::Terminal(Event::Key(KeyEvent::new(
        code,
        KeyModifiers::NONE,
    ))))
}

#[test]
fn arrows_pick_a_step_enter_opens_its_agent_and_esc_leaves_the_task_running() {
    let mut app = mid_run();
    key(&mut app, KeyCode::Down);
    key(&mut app, KeyCode::Down);
    key(&mut app, KeyCode::Right);
    assert_eq!(app.ui.task_step, 3, "3.2, beside 3.1");
    key(&mut app, KeyCode::Enter);
    assert_eq!(app.ui.view, View::Main);
    assert_eq!(app.model.agents[app.ui.selected].name(), "tester");

    for c in "/task".chars() {
        key(&mut app, KeyCode::Char(c));
    }
    key(&mut app, KeyCode::Enter);
    assert_eq!(
        app.ui.view,
        View::Task,
        "/task alone shows the running task"
    );
    key(&mut app, KeyCode::Esc);
    assert_eq!(app.ui.view, View::Main);
    assert!(app.model.task.as_ref().is_some_and(|t| t.is_running()));
}

#[test]
fn a_second_task_while_one_runs_is_refused() {
    let mut app = mid_run();
    for c in "/task other".chars() {
        key(&mut app, KeyCode::Char(c));
    }
    let effects = key(&mut app, KeyCode::Enter);
    assert_eq!(effects, []);
    let status = app.ui.status.as_ref().map(|s| (s.text.clone(), s.is_error));
    assert_eq!(
        status,
        Some((
            "task `feature` is still running: wait for it to end (/task shows it) before starting another".into(),
            true
        ))
    );
}

#[test]
fn task_with_input_or_resume_asks_the_loop_to_start_it() {
    let mut app = App::new(&[info("architect")], &[], None);
    for c in "/task feature add a flag".chars() {
        key(&mut app, KeyCode::Char(c));
    }
    assert_eq!(
        key(&mut app, KeyCode::Enter),
        [Effect::StartTask {
            name: "feature".into(),
            input: Some("add a flag".into()),
            resume: false
        }]
    );
    for c in "/task feature --resume".chars() {
        key(&mut app, KeyCode::Char(c));
    }
    assert_eq!(
        key(&mut app, KeyCode::Enter),
        [Effect::StartTask {
            name: "feature".into(),
            input: None,
            resume: true
        }]
    );
}

#[test]
fn the_task_view_draws_at_any_size_without_panicking() {
    let app = mid_run();
    for width in [0, 1, 5, 20, 40, 59, 60, 80] {
        for height in [0, 1, 3, 6, 9, 12, 24] {
            let _ = screen(&app, width, height, 30);
        }
    }
}

#[test]
fn a_servers_escape_sequences_never_reach_the_status_line() {
    let mut app = mid_run();
    task(
        &mut app,
        TaskEvent::TaskFinished {
            task: "feature\u{1b}[2J".into(),
            state: TaskState::Failed,
            failed_step: Some(steps()[2].clone()),
            error: Some("\u{1b}]0;pwned\u{7}boom".into()),
            tokens: TokenUsage::default(),
            cost_usd: 0.0,
            elapsed_ms: 0,
        },
    );
    let status = app
        .ui
        .status
        .as_ref()
        .map(|s| s.text.clone())
        .unwrap_or_default();
    assert!(status.contains("boom"), "{status}");
    assert!(!status.chars().any(char::is_control), "{status:?}");
}
