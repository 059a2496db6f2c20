//! Tasks (v6's `tasks:`, which v6 parsed and never ran): steps run one after the other, each
//! step's answer becoming the context of the next prompt, as v6's `run_with_context` framed it;
//! groups of steps run at once; placeholders, retries, timeouts and budgets.

pub mod drive;
pub mod event;
pub mod framing;
pub mod placeholder;
pub mod recorded;
pub mod runner;
mod step;

pub use drive::{Progress, drive};
pub use event::{StepRecord, StepRef, StepState, TaskEvent, TaskState};
pub use framing::step_prompt;
pub use recorded::{record, recorded};
pub use runner::{TaskRun, Turns};
