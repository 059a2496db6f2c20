//! The signals that ask tzzr to stop (SIGINT, SIGTERM, SIGHUP), for both front ends: once
//! listened for, they no longer end the process by themselves, so running turns are cancelled
//! and recorded as such, and the terminal is given back, before tzzr exits.

use tokio::signal::unix::{Signal, SignalKind, signal};

/// A signal that asks tzzr to stop.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum StopSignal {
    /// SIGINT (Ctrl+C in a terminal that is not in raw mode, or `kill -INT`).
    Int,
    /// SIGTERM (`kill`, a service manager).
    Term,
    /// SIGHUP (the terminal closed).
    Hup,
}

impl StopSignal {
    /// The shell's convention for a process a signal ended: 128 + the signal's number.
    pub fn exit_status(self) -> u8 {
        match self {
            Self::Hup => 129,
            Self::Int => 130,
            Self::Term => 143,
        }
    }
}

/// Listens for the stop signals.
#[derive(Debug)]
pub struct StopSignals {
    int: Signal,
    term: Signal,
    hup: Signal,
}

impl StopSignals {
    /// Starts listening. Needs a tokio runtime.
    pub fn install() -> std::io::Result<Self> {
        Ok(Self {
            int: signal(SignalKind::interrupt())?,
            term: signal(SignalKind::terminate())?,
            hup: signal(SignalKind::hangup())?,
        })
    }

    /// The next stop signal; never, once the runtime no longer delivers them.
    pub async fn recv(&mut self) -> StopSignal {
        tokio::select! {
            Some(()) = self.int.recv() => StopSignal::Int,
            Some(()) = self.term.recv() => StopSignal::Term,
            Some(()) = self.hup.recv() => StopSignal::Hup,
            else => std::future::pending().await,
        }
    }
}
