//! Running a child process for a tool (`bash`, `ssh`): its own process group, a scrubbed
//! environment, output captured under a cap and cleaned, the time limit and the turn's cancel
//! killing the whole group. For bash, also the kernel sandbox: tzzr itself, started again as a
//! hidden helper (`helper`), confines its own process and then becomes the shell.

mod capture;
mod clean;
pub mod confine;
pub mod env;
mod group;
pub mod helper;
pub mod runner;
mod spill;
pub mod support;

pub use capture::Captured;
pub use group::kill_all as kill_all_process_groups;
pub use support::{SandboxReport, SandboxSupport};
