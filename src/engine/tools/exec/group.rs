//! The process group of one tool call. Killing it reaches every process the call started,
//! grandchildren and background jobs included; it is killed whenever the call ends, however
//! it ends (its guard's `Drop` runs when the future is dropped too).

use std::sync::{Mutex, PoisonError};

use rustix::process::{Pid, Signal};

/// Groups alive right now, so that a hurried exit (a second Ctrl-C) can still kill them all.
static LIVE: Mutex<Vec<Pid>> = Mutex::new(Vec::new());

/// A process group started by tzzr, killed with SIGKILL when dropped.
#[derive(Debug)]
pub struct ProcessGroup {
    id: Pid,
    /// False once the group was killed after its leader had been reaped: its id may be
    /// handed to someone else once its members are gone, so it is never signalled again.
    armed: bool,
}

impl ProcessGroup {
    /// The group led by the process `leader` (started with `process_group(0)`, or making
    /// its own session as it starts).
    pub fn led_by(leader: u32) -> Option<Self> {
        let id = i32::try_from(leader).ok().and_then(Pid::from_raw)?;
        LIVE.lock().unwrap_or_else(PoisonError::into_inner).push(id);
        Some(Self { id, armed: true })
    }

    /// Kills every process of the group (and keeps the guard armed).
    pub fn kill(&self) {
        if self.armed {
            // ESRCH: nobody left, which is what we want.
            let _ = rustix::process::kill_process_group(self.id, Signal::KILL);
            // A leader that makes its group itself (`setsid`) may not have made it yet: then
            // it is alone, and killing it is enough.
            let _ = rustix::process::kill_process(self.id, Signal::KILL);
        }
    }

    /// Kills the group once its leader has been reaped, then never again.
    pub fn kill_after_leader_exit(&mut self) {
        self.kill();
        self.armed = false;
        self.forget();
    }

    fn forget(&self) {
        LIVE.lock()
            .unwrap_or_else(PoisonError::into_inner)
            .retain(|id| *id != self.id);
    }
}

impl Drop for ProcessGroup {
    fn drop(&mut self) {
        self.kill();
        self.forget();
    }
}

/// Kills every tool process group still running (for an exit that cannot wait for them).
pub fn kill_all() {
    for id in LIVE.lock().unwrap_or_else(PoisonError::into_inner).iter() {
        let _ = rustix::process::kill_process_group(*id, Signal::KILL);
    }
}
