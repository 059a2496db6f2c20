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

use std::path::PathBuf;
use std::sync::OnceLock;

pub use capture::Captured;
pub use group::kill_all as kill_all_process_groups;
pub use support::{SandboxReport, SandboxSupport};

static HELPER: OnceLock<PathBuf> = OnceLock::new();

/// Names the program that is the sandbox helper (tzzr's own binary; integration tests name
/// the one cargo built). The first call wins; call it before the first bash call.
pub fn set_helper_program(program: PathBuf) {
    let _ = HELPER.set(program);
}

/// The sandbox helper: the program set, else this process's own executable.
pub fn helper_program() -> Option<PathBuf> {
    HELPER.get().cloned().or_else(own_program)
}

/// This process's own executable, in a form that still starts it after the file was replaced
/// (an upgrade while tzzr runs): `/proc/self/exe`, read by the child as it starts, is the
/// binary tzzr runs from, deleted or not.
pub fn own_program() -> Option<PathBuf> {
    let proc_exe = PathBuf::from("/proc/self/exe");
    if proc_exe.exists() {
        Some(proc_exe)
    } else {
        std::env::current_exe().ok()
    }
}
