//! Diagnostics go to a file in the user's state directory (`~/.local/state/tzzr/tzzr.log`),
//! never to the terminal. `TZZR_LOG` sets the filter (`info` by default).

use std::path::PathBuf;

use tracing_appender::non_blocking::WorkerGuard;
use tracing_subscriber::EnvFilter;

/// Where the diagnostics log lives, if the platform has a state (or data) directory.
pub fn log_dir() -> Option<PathBuf> {
    let dirs = directories::ProjectDirs::from("", "", "tzzr")?;
    Some(
        dirs.state_dir()
            .unwrap_or_else(|| dirs.data_local_dir())
            .to_path_buf(),
    )
}

/// Starts logging to the file. Keep the guard alive until exit, or the last lines are lost.
/// Without a writable state directory, nothing is logged.
pub fn init() -> Option<WorkerGuard> {
    let dir = log_dir()?;
    std::fs::create_dir_all(&dir).ok()?;
    let file = tracing_appender::rolling::never(&dir, "tzzr.log");
    // The default queue (128,000 lines) is allocated and touched up front: 4 ms of every start.
    let (writer, guard) = tracing_appender::non_blocking::NonBlockingBuilder::default()
        .buffered_lines_limit(1024)
        .finish(file);
    let filter = EnvFilter::try_from_env("TZZR_LOG").unwrap_or_else(|_| EnvFilter::new("info"));
    tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(writer)
        .with_ansi(false)
        .try_init()
        .ok()?;
    Some(guard)
}
