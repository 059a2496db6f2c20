//! What a running task reports: typed events a front end renders and a journal records, and the
//! records of an earlier run that a resumed run starts from.

use serde::{Deserialize, Serialize};

use crate::engine::protocol::{TokenUsage, TurnId};

/// Which step: its place (`"2"`, or `"3.1"` for the first step of the group at 3), its id if it
/// has one, and its agent.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct StepRef {
    pub index: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub id: Option<String>,
    pub agent: String,
}

impl StepRef {
    /// How a message names the step: `step 2 (coder)`, ``step 3.1 `review` (reviewer)``.
    pub fn describe(&self) -> String {
        match &self.id {
            Some(id) => format!("step {} `{id}` ({})", self.index, self.agent),
            None => format!("step {} ({})", self.index, self.agent),
        }
    }
}

/// Where a step is.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum StepState {
    /// Not started yet.
    Waiting,
    Running,
    Done,
    /// Done in an earlier run: its answer is reused and nothing is spent on it.
    Reused,
    Failed,
    /// Stopped by the user.
    Cancelled,
}

impl StepState {
    /// Whether the step's answer can feed the steps after it.
    pub fn is_success(self) -> bool {
        matches!(self, StepState::Done | StepState::Reused)
    }
}

/// How a task ended.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum TaskState {
    Done,
    Failed,
    Cancelled,
}

/// One thing that happened in a task.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(tag = "event", rename_all = "snake_case")]
pub enum TaskEvent {
    /// The task's steps, in order; a parallel group's steps share the number before the dot.
    TaskStarted { task: String, steps: Vec<StepRef> },
    /// A step's prompt was sent (again, when `attempt` is past 1) as turn `turn` of its agent.
    StepStarted {
        step: StepRef,
        turn: TurnId,
        attempt: u32,
        prompt: String,
    },
    /// An attempt failed and the step is sent again.
    StepRetrying {
        step: StepRef,
        attempt: u32,
        error: String,
    },
    /// A step ended: its answer (or what it wrote before it failed), what it spent over all its
    /// attempts, and how long it ran.
    StepFinished {
        step: StepRef,
        state: StepState,
        output: String,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        error: Option<String>,
        attempts: u32,
        tokens: TokenUsage,
        cost_usd: f64,
        elapsed_ms: u64,
    },
    /// The task ended; `failed_step` is the step that stopped it.
    TaskFinished {
        task: String,
        state: TaskState,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        failed_step: Option<StepRef>,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        error: Option<String>,
        tokens: TokenUsage,
        cost_usd: f64,
        elapsed_ms: u64,
    },
}

/// What an earlier run left of one step: enough to skip it when the task is resumed.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct StepRecord {
    pub step: StepRef,
    pub state: StepState,
    pub output: String,
}

impl StepRecord {
    /// The records in `events` (a run's, as recorded), the last word on each step winning.
    pub fn from_events<'e>(events: impl IntoIterator<Item = &'e TaskEvent>) -> Vec<StepRecord> {
        let mut records: Vec<StepRecord> = Vec::new();
        for event in events {
            if let TaskEvent::StepFinished {
                step,
                state,
                output,
                ..
            } = event
            {
                records.retain(|r| r.step.index != step.index);
                records.push(StepRecord {
                    step: step.clone(),
                    state: *state,
                    output: output.clone(),
                });
            }
        }
        records
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn events_round_trip_through_json_with_a_tag() {
        let event = TaskEvent::StepFinished {
            step: StepRef {
                index: "3.1".into(),
                id: Some("review".into()),
                agent: "reviewer".into(),
            },
            state: StepState::Done,
            output: "LGTM".into(),
            error: None,
            attempts: 1,
            tokens: TokenUsage {
                input: 10,
                output: 2,
                ..TokenUsage::default()
            },
            cost_usd: 0.25,
            elapsed_ms: 1200,
        };
        let json = serde_json::to_value(&event).unwrap();
        assert_eq!(json["event"], "step_finished");
        assert_eq!(json["step"]["index"], "3.1");
        assert_eq!(json["state"], "done");
        assert_eq!(json.get("error"), None);
        let back: TaskEvent = serde_json::from_value(json).unwrap();
        assert_eq!(back, event);
    }

    #[test]
    fn records_keep_the_last_word_on_each_step() {
        let step = StepRef {
            index: "1".into(),
            id: None,
            agent: "a".into(),
        };
        let finished = |state, output: &str| TaskEvent::StepFinished {
            step: step.clone(),
            state,
            output: output.into(),
            error: None,
            attempts: 1,
            tokens: TokenUsage::default(),
            cost_usd: 0.0,
            elapsed_ms: 0,
        };
        let records = StepRecord::from_events(&[
            finished(StepState::Failed, "half"),
            finished(StepState::Done, "whole"),
        ]);
        assert_eq!(records.len(), 1);
        assert_eq!(records[0].output, "whole");
        assert_eq!(records[0].state, StepState::Done);
    }
}
