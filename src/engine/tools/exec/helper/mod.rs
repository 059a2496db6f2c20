//! The sandbox helper: tzzr started again as `tzzr __sandbox-exec … -- PROGRAM ARG…`. Before
//! anything else in `main` (no thread, no logging), it confines its own process, in order:
//! a session of its own (no controlling terminal), a mount namespace with the protected paths
//! read-only, then Landlock, then `exec`s the program, which inherits all of it. A step it was asked for and cannot do ends it with a
//! clear line on stderr and [`SETUP_FAILED`], never with an unconfined run.

pub mod args;
mod namespace;
mod ruleset;

use std::ffi::OsString;
use std::io::Write;
use std::os::unix::process::CommandExt;
use std::process::{Command, ExitCode};

pub use args::{ENTRY, HelperArgs, Mount};

/// The exit status of a helper that could not confine itself (the command did not run).
pub const SETUP_FAILED: u8 = 125;
/// The exit status when the program could not be started after confinement (as shells do).
pub const NOT_STARTED: u8 = 127;
/// Every line the helper writes starts with this.
pub const PREFIX: &str = "tzzr sandbox: ";

/// Runs the helper when this process was started as one, and returns its exit status (only
/// when something failed: on success the process has become the program). `None` otherwise.
pub fn run_if_requested() -> Option<ExitCode> {
    let mut args = std::env::args_os().skip(1);
    if args.next().as_deref() != Some(std::ffi::OsStr::new(ENTRY)) {
        return None;
    }
    Some(match HelperArgs::parse(args) {
        Ok(HelperArgs::Probe { write }) => probe(&write),
        Ok(HelperArgs::Exec {
            namespace,
            landlock,
            write,
            mounts,
            command,
        }) => match confine(namespace, landlock, &write, &mounts) {
            Ok(()) => exec(command),
            Err(why) => fail(SETUP_FAILED, &format!("{why}; the command was not run")),
        },
        Err(why) => fail(SETUP_FAILED, &format!("bad arguments: {why}")),
    })
}

fn confine(
    namespace: bool,
    landlock: bool,
    write: &[std::path::PathBuf],
    mounts: &[Mount],
) -> Result<(), String> {
    // A new session, and with it a new process group (the one tzzr kills), without the
    // user's terminal: `/dev/tty` cannot be opened, and reading it cannot stop the command.
    rustix::process::setsid().map_err(|e| format!("cannot start a session of its own: {e}"))?;
    if namespace {
        let cwd = std::env::current_dir()
            .map_err(|e| format!("cannot read the working directory: {e}"))?;
        namespace::enter()?;
        for mount in mounts {
            match mount {
                Mount::Pin(dir) => namespace::pin(dir)?,
                Mount::ReadOnly(path) => namespace::read_only(path)?,
                Mount::Hide(dir) => namespace::hide(dir)?,
            }
        }
        // The working directory still points into the mounts as they were: relative paths
        // would go around the new ones. Entering it again goes through them.
        std::env::set_current_dir(&cwd)
            .map_err(|e| format!("cannot enter {}: {e}", cwd.display()))?;
    }
    if landlock {
        ruleset::restrict(write)?;
    }
    Ok(())
}

fn exec(command: Vec<OsString>) -> ExitCode {
    let mut command = command.into_iter();
    let Some(program) = command.next() else {
        return fail(SETUP_FAILED, "no command to run");
    };
    let error = Command::new(&program).args(command).exec();
    fail(
        NOT_STARTED,
        &format!("cannot run {}: {error}", program.display()),
    )
}

/// Tries each step on itself and prints what works, one line each:
/// `namespace: yes` or `namespace: no: WHY`, then `landlock: ABI` or `landlock: no: WHY`.
fn probe(write: &std::path::Path) -> ExitCode {
    let namespace = namespace::enter().and_then(|()| namespace::read_only(write));
    let landlock = ruleset::restrict(&[write.to_path_buf()]);
    let report = format!(
        "namespace: {}\nlandlock: {}\n",
        match &namespace {
            Ok(()) => "yes".to_owned(),
            Err(why) => format!("no: {why}"),
        },
        match &landlock {
            Ok(abi) => abi.to_string(),
            Err(why) => format!("no: {why}"),
        }
    );
    match std::io::stdout().write_all(report.as_bytes()) {
        Ok(()) => ExitCode::SUCCESS,
        Err(_) => ExitCode::from(SETUP_FAILED),
    }
}

fn fail(code: u8, why: &str) -> ExitCode {
    // Nothing more can be done if stderr is gone; the exit status still says it.
    let _ = writeln!(std::io::stderr(), "{PREFIX}{why}");
    ExitCode::from(code)
}
