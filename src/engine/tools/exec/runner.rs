//! Runs one process for a tool call: in a process group of its own, stdin closed, stdout and
//! stderr merged into one pipe (the order a terminal would show) and captured, bounded by the
//! call's time limit and the turn's cancel token. However the call ends, the whole group is
//! killed: when the leader exits (background jobs do not outlive the call), on timeout, on
//! cancel, and when the future is dropped.

use std::ffi::OsString;
use std::os::fd::OwnedFd;
use std::os::unix::process::ExitStatusExt;
use std::path::{Path, PathBuf};
use std::process::{ExitStatus, Stdio};
use std::time::Duration;

use tokio::io::AsyncReadExt;
use tokio::net::unix::pipe;
use tokio::time::Instant;
use tokio_util::sync::CancellationToken;

use super::capture::{Capture, Captured};
use super::group::ProcessGroup;
use crate::engine::tools::ToolOutput;
use crate::engine::tools::error::ToolError;

/// How long output is still read once the leader has exited and the group was killed: only a
/// process that left the group (`setsid`) can hold the pipe open that long.
const DRAIN_GRACE: Duration = Duration::from_millis(250);
/// Bytes read from the pipe at a time.
const READ_SIZE: usize = 64 * 1024;

/// What to start.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Spawn {
    pub program: OsString,
    pub args: Vec<OsString>,
    pub cwd: PathBuf,
    /// The whole environment of the process (nothing else is inherited).
    pub env: Vec<(OsString, OsString)>,
    /// The program makes a session of its own as it starts (the sandbox helper does, with
    /// `setsid`, leaving the terminal behind): it must not be made a group leader first, as
    /// `setsid` refuses a group leader. Its session is its group all the same.
    pub own_session: bool,
}

/// The bounds of one call.
#[derive(Clone, Copy, Debug)]
pub struct Limits<'a> {
    pub timeout: Duration,
    /// Where the whole output goes when the model gets only part of it.
    pub output_dir: &'a Path,
    /// Names the output file.
    pub tool: &'static str,
}

/// How the process ended.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Ending {
    Exited(ExitStatus),
    /// The time limit passed; the group was killed.
    TimedOut(Duration),
}

/// A process that ran to its end (or to its time limit).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Finished {
    pub ending: Ending,
    pub output: Captured,
}

impl Finished {
    /// What the model reads: the output, then the exit code (or why there is none).
    pub fn into_tool_output(self) -> ToolOutput {
        let Captured {
            text, full_output, ..
        } = self.output;
        let (ok, output) = match self.ending {
            Ending::TimedOut(after) => (
                false,
                format!(
                    "timed out after {}s; every process it started was killed. Output so far:\n{}",
                    after.as_secs_f64(),
                    if text.is_empty() { "(none)" } else { &text }
                ),
            ),
            Ending::Exited(status) => {
                let ending = match (status.code(), status.signal()) {
                    (Some(code), _) => format!("exit code {code}"),
                    (None, Some(signal)) => format!("killed by signal {signal}"),
                    (None, None) => format!("ended: {status}"),
                };
                let output = if text.is_empty() {
                    format!("[{ending}, no output]")
                } else if text.ends_with('\n') {
                    format!("{text}[{ending}]")
                } else {
                    format!("{text}\n[{ending}]")
                };
                (status.success(), output)
            }
        };
        ToolOutput {
            ok,
            output,
            full_output,
        }
    }
}

/// Runs `spawn` to its end. `Err(Cancelled)` when `cancel` fires first (the group is killed).
pub async fn run(
    spawn: &Spawn,
    limits: Limits<'_>,
    cancel: &CancellationToken,
) -> Result<Finished, ToolError> {
    if cancel.is_cancelled() {
        return Err(ToolError::Cancelled);
    }
    let cannot = |what: &str, e: std::io::Error| {
        ToolError::Failed(format!(
            "cannot {what} {}: {e}",
            spawn.program.to_string_lossy()
        ))
    };
    let (reader, writer) = std::io::pipe().map_err(|e| cannot("make a pipe for", e))?;
    let mut child = {
        let mut command = tokio::process::Command::new(&spawn.program);
        command
            .args(&spawn.args)
            .current_dir(&spawn.cwd)
            .env_clear()
            .envs(spawn.env.iter().map(|(name, value)| (name, value)))
            .stdin(Stdio::null())
            .stdout(
                writer
                    .try_clone()
                    .map_err(|e| cannot("make a pipe for", e))?,
            )
            .stderr(writer)
            .kill_on_drop(true);
        if !spawn.own_session {
            command.process_group(0);
        }
        // The command (and its copies of the pipe's write end) is dropped here, so the pipe
        // ends when the last process of the call closes it.
        command.spawn().map_err(|e| cannot("start", e))?
    };
    let mut group = child
        .id()
        .and_then(ProcessGroup::led_by)
        .ok_or_else(|| ToolError::Crashed("the process has no id".to_owned()))?;
    let mut pipe = pipe::Receiver::from_owned_fd(OwnedFd::from(reader))
        .map_err(|e| cannot("read the output of", e))?;

    let mut capture = Capture::new(limits.output_dir, limits.tool);
    let mut buffer = vec![0u8; READ_SIZE];
    let mut is_pipe_open = true;
    let mut ending: Option<Ending> = None;
    let deadline = tokio::time::sleep(limits.timeout);
    tokio::pin!(deadline);
    let drain = tokio::time::sleep(Duration::MAX);
    tokio::pin!(drain);

    while is_pipe_open {
        tokio::select! {
            biased;
            () = cancel.cancelled() => {
                group.kill();
                return Err(ToolError::Cancelled);
            }
            () = &mut deadline, if ending.is_none() => {
                group.kill();
                // Reap the leader now that it is dead; the group cannot be reused while it is
                // a zombie, so `kill` above reached only the call's processes.
                let _ = child.wait().await;
                group.kill_after_leader_exit();
                ending = Some(Ending::TimedOut(limits.timeout));
                drain.as_mut().reset(Instant::now() + DRAIN_GRACE);
            }
            status = child.wait(), if ending.is_none() => {
                let status = status.map_err(|e| cannot("wait for", e))?;
                group.kill_after_leader_exit();
                ending = Some(Ending::Exited(status));
                drain.as_mut().reset(Instant::now() + DRAIN_GRACE);
            }
            () = &mut drain => break,
            // Last: endless output must not starve the time limit or the exit.
            read = pipe.read(&mut buffer) => match read {
                Ok(0) => is_pipe_open = false,
                Ok(n) => capture.feed(&buffer[..n]),
                Err(e) => {
                    tracing::warn!("reading a tool's output failed: {e}");
                    is_pipe_open = false;
                }
            },
        }
    }
    let ending = match ending {
        Some(ending) => ending,
        // Every process closed the pipe; the leader may still be running (it closed its own
        // output): wait for it, still bounded by time and cancel.
        None => tokio::select! {
            biased;
            () = cancel.cancelled() => {
                group.kill();
                return Err(ToolError::Cancelled);
            }
            status = child.wait() => {
                let status = status.map_err(|e| cannot("wait for", e))?;
                group.kill_after_leader_exit();
                Ending::Exited(status)
            }
            () = &mut deadline => {
                group.kill();
                let _ = child.wait().await;
                group.kill_after_leader_exit();
                Ending::TimedOut(limits.timeout)
            }
        },
    };
    Ok(Finished {
        ending,
        output: capture.finish(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Instant as StdInstant;

    fn bash(dir: &Path, script: &str) -> Spawn {
        Spawn {
            program: "/bin/bash".into(),
            args: vec!["-c".into(), script.into()],
            cwd: dir.to_path_buf(),
            env: std::env::vars_os().collect(),
            own_session: false,
        }
    }

    fn limits(dir: &Path, timeout: Duration) -> Limits<'_> {
        Limits {
            timeout,
            output_dir: dir,
            tool: "bash",
        }
    }

    /// Whether `pid` is alive (a zombie waiting for its reaper is not).
    fn is_running(pid: u32) -> bool {
        match std::fs::read_to_string(format!("/proc/{pid}/stat")) {
            Ok(stat) => !matches!(
                stat.rsplit_once(") ")
                    .and_then(|(_, rest)| rest.chars().next()),
                Some('Z' | 'X') | None
            ),
            Err(_) => false,
        }
    }

    /// Waits (a few seconds at most) for every pid written in `file` to be gone.
    async fn all_gone(file: &Path) -> bool {
        let pids: Vec<u32> = std::fs::read_to_string(file)
            .unwrap()
            .split_whitespace()
            .map(|pid| pid.parse().unwrap())
            .collect();
        assert!(!pids.is_empty());
        let started = StdInstant::now();
        while pids.iter().any(|pid| is_running(*pid)) {
            if started.elapsed() > Duration::from_secs(10) {
                return false;
            }
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
        true
    }

    /// Waits (a few seconds at most) until `file` holds `lines` whole lines.
    async fn wait_for_lines(file: &Path, lines: usize) {
        let started = StdInstant::now();
        loop {
            let text = std::fs::read_to_string(file).unwrap_or_default();
            if text.ends_with('\n') && text.lines().count() >= lines {
                return;
            }
            assert!(
                started.elapsed() < Duration::from_secs(10),
                "{} never held {lines} lines",
                file.display()
            );
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
    }

    const FORK_AND_SLEEP: &str = "sleep 1000 & echo $! > pids; bash -c 'sleep 1000 & echo $! >> pids; wait' & sleep 0.2; echo $$ >> pids; sleep 1000";

    #[tokio::test]
    async fn stdout_and_stderr_arrive_in_order_with_the_exit_code() {
        let temp = tempfile::tempdir().unwrap();
        let spawn = bash(
            temp.path(),
            "echo out; echo err >&2; printf '\\033[31mred\\033[0m'; exit 3",
        );
        let finished = run(
            &spawn,
            limits(temp.path(), Duration::from_secs(30)),
            &CancellationToken::new(),
        )
        .await
        .unwrap();
        let output = finished.into_tool_output();
        assert_eq!(
            output,
            ToolOutput {
                ok: false,
                output: "out\nerr\nred\n[exit code 3]".into(),
                full_output: None,
            }
        );
    }

    #[tokio::test]
    async fn no_output_and_success_say_so() {
        let temp = tempfile::tempdir().unwrap();
        let finished = run(
            &bash(temp.path(), "true"),
            limits(temp.path(), Duration::from_secs(30)),
            &CancellationToken::new(),
        )
        .await
        .unwrap();
        assert_eq!(
            finished.into_tool_output(),
            ToolOutput::succeeded("[exit code 0, no output]")
        );
    }

    #[tokio::test]
    async fn a_background_job_holding_the_output_does_not_hang_the_call_and_dies() {
        let temp = tempfile::tempdir().unwrap();
        let started = StdInstant::now();
        let spawn = bash(temp.path(), "sleep 1000 & echo $! > pids; echo started");
        let finished = run(
            &spawn,
            limits(temp.path(), Duration::from_secs(60)),
            &CancellationToken::new(),
        )
        .await
        .unwrap();
        assert!(started.elapsed() < Duration::from_secs(10));
        assert_eq!(finished.into_tool_output().output, "started\n[exit code 0]");
        assert!(all_gone(&temp.path().join("pids")).await);
    }

    #[tokio::test]
    async fn the_time_limit_kills_the_whole_group_and_keeps_the_output_so_far() {
        let temp = tempfile::tempdir().unwrap();
        let spawn = bash(temp.path(), &format!("echo begun; {FORK_AND_SLEEP}"));
        let finished = run(
            &spawn,
            limits(temp.path(), Duration::from_secs(2)),
            &CancellationToken::new(),
        )
        .await
        .unwrap();
        assert_eq!(
            finished.into_tool_output(),
            ToolOutput::failed(
                "timed out after 2s; every process it started was killed. Output so far:\nbegun\n"
            )
        );
        assert!(all_gone(&temp.path().join("pids")).await);
    }

    #[tokio::test]
    async fn cancelling_kills_the_whole_group() {
        let temp = tempfile::tempdir().unwrap();
        let cancel = CancellationToken::new();
        let spawn = bash(temp.path(), FORK_AND_SLEEP);
        let pids = temp.path().join("pids");
        let (result, ()) = tokio::join!(
            run(
                &spawn,
                limits(temp.path(), Duration::from_secs(600)),
                &cancel
            ),
            async {
                wait_for_lines(&pids, 3).await;
                cancel.cancel();
            }
        );
        assert_eq!(result.unwrap_err().to_string(), "cancelled");
        assert!(all_gone(&pids).await);
    }

    #[tokio::test]
    async fn dropping_the_call_kills_the_whole_group() {
        let temp = tempfile::tempdir().unwrap();
        let dir = temp.path().to_path_buf();
        let call = tokio::spawn(async move {
            let spawn = bash(&dir, FORK_AND_SLEEP);
            let cancel = CancellationToken::new();
            let _ = run(&spawn, limits(&dir, Duration::from_secs(600)), &cancel).await;
        });
        let pids = temp.path().join("pids");
        wait_for_lines(&pids, 3).await;
        call.abort();
        assert!(call.await.unwrap_err().is_cancelled());
        assert!(all_gone(&pids).await);
    }

    #[tokio::test]
    async fn a_missing_program_is_a_clear_error() {
        let temp = tempfile::tempdir().unwrap();
        let spawn = Spawn {
            program: "/nonexistent/tool".into(),
            ..bash(temp.path(), "true")
        };
        let error = run(
            &spawn,
            limits(temp.path(), Duration::from_secs(5)),
            &CancellationToken::new(),
        )
        .await
        .unwrap_err();
        assert!(
            error
                .to_string()
                .starts_with("cannot start /nonexistent/tool: "),
            "{error}"
        );
    }
}
