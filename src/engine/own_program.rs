//! tzzr's own executable, which tzzr starts again in hidden modes: the bash sandbox helper
//! (`__sandbox-exec`, started by tzzr) and the MCP bridge relay (`__mcp-bridge`, started by the
//! Claude CLI). `main` registers it; nothing in a config or a `.env` can name another program.

use std::path::PathBuf;
use std::sync::OnceLock;

static REGISTERED: OnceLock<PathBuf> = OnceLock::new();

/// Names tzzr's executable: `main` registers the running one, integration tests the one cargo
/// built (a test binary is not tzzr). The first call wins.
pub fn register(program: PathBuf) {
    let _ = REGISTERED.set(program);
}

/// Registers the running executable. Called by `main` before anything else starts.
pub fn register_current() {
    if let Ok(exe) = std::env::current_exe() {
        register(exe);
    }
}

/// The program for tzzr to start itself with. `/proc/self/exe` is resolved by the child as it
/// starts (while it is still tzzr): the binary tzzr runs from, even after an upgrade replaced
/// the file. A test's registered binary is used as it is.
pub fn for_tzzr() -> Option<PathBuf> {
    let registered = REGISTERED.get()?;
    let proc_exe = PathBuf::from("/proc/self/exe");
    let is_running_one = std::env::current_exe().is_ok_and(|exe| &exe == registered);
    Some(if is_running_one && proc_exe.exists() {
        proc_exe
    } else {
        registered.clone()
    })
}

/// The program another process (the Claude CLI) starts to reach tzzr: a real path.
pub fn for_others() -> Option<PathBuf> {
    REGISTERED.get().cloned()
}
