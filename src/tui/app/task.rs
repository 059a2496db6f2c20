//! The task view's part of the app: `/task NAME [input]` and `/task NAME --resume`, the task's
//! events, and the keys of its view (pick a step, open its agent, Esc back while it runs on).

use crossterm::event::{KeyCode, KeyEvent};

use super::state::View;
use super::{App, Effect};
use crate::engine::pipeline::{TaskEvent, TaskState};
use crate::sanitize::line_for_display;

/// `/task` with what follows it: a name, then `--resume` or the input.
pub fn command(app: &mut App, rest: &str) -> Vec<Effect> {
    if let Some(task) = app.model.task.as_ref().filter(|t| t.is_running()) {
        if rest.is_empty() || rest == task.name {
            app.ui.view = View::Task;
            return Vec::new();
        }
        app.ui.complain(line_for_display(&format!(
            "task `{}` is still running: wait for it to end (/task shows it) before starting another",
            task.name
        )));
        return Vec::new();
    }
    let (name, input) = rest.split_once(char::is_whitespace).unwrap_or((rest, ""));
    if name.is_empty() {
        if app.model.task.is_some() {
            app.ui.view = View::Task;
        } else {
            app.ui
                .complain("/task NAME [input] runs a task from `tasks:` (/task NAME --resume goes on after a failed run)");
        }
        return Vec::new();
    }
    let input = input.trim();
    let resume = input == "--resume";
    vec![Effect::StartTask {
        name: name.to_owned(),
        input: (!input.is_empty() && !resume).then(|| input.to_owned()),
        resume,
    }]
}

/// Takes in one of the task's events; its start opens the view, its end says how it went.
pub fn apply(app: &mut App, event: &TaskEvent) {
    app.model.apply_task(event);
    match event {
        TaskEvent::TaskStarted { task, .. } => {
            app.ui.view = View::Task;
            app.ui.task_step = 0;
            app.ui.say(line_for_display(&format!(
                "task `{task}` started: Esc goes back to the agents, it runs on"
            )));
        }
        TaskEvent::TaskFinished {
            task,
            state,
            failed_step,
            error,
            ..
        } => match state {
            TaskState::Done => app.ui.say(line_for_display(&format!("task `{task}` done"))),
            TaskState::Failed => app.ui.complain(line_for_display(&format!(
                "task `{task}` failed at {}: {}; /task {task} --resume goes on from there",
                failed_step
                    .as_ref()
                    .map_or_else(|| "a step".to_owned(), |s| s.describe()),
                error.as_deref().unwrap_or("").lines().next().unwrap_or("")
            ))),
            TaskState::Cancelled => {
                app.ui
                    .say(line_for_display(&format!("task `{task}` cancelled")));
            }
        },
        TaskEvent::StepStarted { .. }
        | TaskEvent::StepRetrying { .. }
        | TaskEvent::StepFinished { .. } => {}
    }
}

/// The keys the task view takes when the prompt box is empty; `None` leaves the key to the rest.
pub fn key(app: &mut App, key: KeyEvent) -> Option<Vec<Effect>> {
    if key.code == KeyCode::Esc {
        app.ui.view = View::Main;
        return Some(Vec::new());
    }
    if !app.input.is_empty() {
        return None;
    }
    let task = app.model.task.as_ref()?;
    let stages = task.stages();
    let (stage, member) = stages
        .iter()
        .enumerate()
        .find_map(|(s, steps)| {
            steps
                .iter()
                .position(|i| *i == app.ui.task_step)
                .map(|m| (s, m))
        })
        .unwrap_or((0, 0));
    let pick = |stage: usize, member: usize| {
        stages
            .get(stage)
            .map(|steps| steps[member.min(steps.len() - 1)])
    };
    let next = match key.code {
        KeyCode::Up | KeyCode::Char('k') => pick(stage.saturating_sub(1), member),
        KeyCode::Down | KeyCode::Char('j') => pick(stage + 1, member),
        KeyCode::Left | KeyCode::Char('h') => pick(stage, member.saturating_sub(1)),
        KeyCode::Right | KeyCode::Char('l') => pick(stage, member + 1),
        KeyCode::Enter => {
            let agent = task.steps.get(app.ui.task_step)?.step.agent.clone();
            let index = app.model.agent_index(&agent)?;
            app.ui.view = View::Main;
            return Some(app.select(index));
        }
        _ => return None,
    };
    if let Some(next) = next {
        app.ui.task_step = next;
    }
    Some(Vec::new())
}
