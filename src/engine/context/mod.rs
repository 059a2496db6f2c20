//! Context windows: how many tokens an agent's model takes, how full its conversation is, and
//! how to make room (compaction) before a call would not fit. Pure parts only; the turn loop
//! makes the calls (`agent::turn::context`).

pub mod estimate;
pub mod keeper;
pub mod plan;
pub mod summary;
pub mod window;

pub use estimate::Estimator;
pub use keeper::ContextKeeper;
pub use plan::{Cut, plan_cut};
pub use window::{ContextWindow, DEFAULT_WINDOW_TOKENS, ReportedWindow, WindowSource};
