//! A task's events kept in the session journal, so that a later run of the session (`tzzr
//! --task NAME --resume-task`, `/task NAME --resume` after `tzzr --continue`) goes on from the
//! step that failed with the answers of the steps that succeeded, without paying for them again.

use serde::{Deserialize, Serialize};

use crate::engine::orchestrator::Orchestrator;
use crate::engine::pipeline::{StepRecord, TaskEvent};

/// The kind of the session records that hold task events.
pub const RECORD_KIND: &str = "task_event";

/// One task event as the session keeps it: which task it belongs to (step events do not say).
#[derive(Debug, Serialize, Deserialize)]
struct Kept {
    task: String,
    event: TaskEvent,
}

/// Keeps `events` of task `task` in the session this run writes, if it writes one.
pub fn record(orchestrator: &Orchestrator, task: &str, events: &[TaskEvent]) {
    let Some(session) = orchestrator.session() else {
        return;
    };
    for event in events {
        let kept = Kept {
            task: task.to_owned(),
            event: event.clone(),
        };
        match serde_json::to_value(&kept) {
            Ok(data) => session.record(RECORD_KIND, data),
            Err(e) => tracing::warn!("a task event cannot be kept in the session: {e}"),
        }
    }
}

/// What the earlier runs of task `task` in the resumed session left: each step's last ending.
/// Records that do not read as task events (a file edited by hand, another version) are skipped.
pub fn recorded(orchestrator: &Orchestrator, task: &str) -> Vec<StepRecord> {
    let events: Vec<TaskEvent> = orchestrator
        .restored_records(RECORD_KIND)
        .filter_map(|data| Kept::deserialize(data).ok())
        .filter(|kept| kept.task == task)
        .map(|kept| kept.event)
        .collect();
    StepRecord::from_events(&events)
}
