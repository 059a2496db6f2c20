//! The real binary in a real terminal: a tmux session the tests type into and read, killed when
//! dropped.

use std::path::Path;
use std::process::Command;
use std::time::{Duration, Instant};

/// Longest wait for something to show on the screen.
pub const PATIENCE: Duration = Duration::from_secs(30);

pub struct Tmux {
    session: String,
}

impl Tmux {
    /// Starts `command` in `dir` on a 120x35 screen.
    pub fn start(dir: &Path, command: &str) -> Self {
        // One session per test, also when a test binary runs several at once.
        static STARTED: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);
        let n = STARTED.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        let session = format!("tzzr-test-{}-{n}", std::process::id());
        let status = Command::new("tmux")
            .args(["new-session", "-d", "-s", &session, "-x", "120", "-y", "35"])
            .arg(command)
            .current_dir(dir)
            .env("TERM", "xterm-256color")
            .status()
            .expect("tmux runs");
        assert!(status.success(), "tmux new-session failed");
        Self { session }
    }

    pub fn screen(&self) -> String {
        let out = Command::new("tmux")
            .args(["capture-pane", "-p", "-t", &self.session])
            .output()
            .expect("tmux capture-pane");
        String::from_utf8_lossy(&out.stdout).into_owned()
    }

    /// A tmux format about the pane (`#{alternate_on}`, …).
    pub fn show(&self, format: &str) -> String {
        let out = Command::new("tmux")
            .args(["display-message", "-p", "-t", &self.session, format])
            .output()
            .expect("tmux display-message");
        String::from_utf8_lossy(&out.stdout).trim().to_owned()
    }

    pub fn keys(&self, keys: &[&str]) {
        let status = Command::new("tmux")
            .args(["send-keys", "-t", &self.session])
            .args(keys)
            .status()
            .expect("tmux send-keys");
        assert!(status.success());
    }

    pub fn type_line(&self, text: &str) {
        self.keys(&["-l", text]);
        self.keys(&["Enter"]);
    }

    /// Waits until the screen satisfies `ready`, letting the runtime's other tasks (an
    /// in-process server) run; fails with the last screen if it never does.
    pub async fn wait_for(&self, what: &str, ready: impl Fn(&str) -> bool) -> String {
        let deadline = Instant::now() + PATIENCE;
        loop {
            if let Some(screen) = self.ready_by(what, &ready, deadline) {
                return screen;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    /// [`Tmux::wait_for`] outside a runtime.
    pub fn wait_for_blocking(&self, what: &str, ready: impl Fn(&str) -> bool) -> String {
        let deadline = Instant::now() + PATIENCE;
        loop {
            if let Some(screen) = self.ready_by(what, &ready, deadline) {
                return screen;
            }
            std::thread::sleep(Duration::from_millis(100));
        }
    }

    fn ready_by(
        &self,
        what: &str,
        ready: impl Fn(&str) -> bool,
        deadline: Instant,
    ) -> Option<String> {
        let screen = self.screen();
        if ready(&screen) {
            return Some(screen);
        }
        assert!(
            Instant::now() < deadline,
            "waited {PATIENCE:?} for {what}; the screen:\n{screen}"
        );
        None
    }
}

impl Drop for Tmux {
    fn drop(&mut self) {
        let _ = Command::new("tmux")
            .args(["kill-session", "-t", &self.session])
            .status();
    }
}
