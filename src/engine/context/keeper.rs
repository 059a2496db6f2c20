//! One agent's context bookkeeping: its window, when to compact, which model summarises, and
//! how its estimates are corrected.

use super::{ContextWindow, Estimator, ReportedWindow};

#[derive(Clone, Debug)]
pub struct ContextKeeper {
    pub window: ContextWindow,
    /// Compact when the next prompt would take more than this share of the window.
    pub compact_at: f64,
    /// The model that writes summaries; `None`: the agent's own.
    pub compaction_model: Option<String>,
    pub estimator: Estimator,
    /// Where the server's own figure arrives, when the window is only a default.
    pub reported: Option<ReportedWindow>,
}

impl ContextKeeper {
    pub fn new(window: ContextWindow, compact_at: f64, compaction_model: Option<String>) -> Self {
        Self {
            window,
            compact_at: compact_at.clamp(0.1, 1.0),
            compaction_model,
            estimator: Estimator::default(),
            reported: None,
        }
    }

    /// Listens for the server's figure (it replaces a default window only).
    pub fn with_reported(mut self, reported: Option<ReportedWindow>) -> Self {
        self.reported = reported.filter(|_| self.window.is_default());
        self
    }

    /// Takes the server's figure once it has arrived.
    pub fn adopt_reported_window(&mut self) {
        if let Some(window) = self.reported.as_ref().and_then(ReportedWindow::get) {
            self.window = window;
            self.reported = None;
        }
    }

    /// Whether a prompt of `used` tokens should be compacted first.
    pub fn wants_compaction(&self, used: u64) -> bool {
        used as f64 > self.window.tokens as f64 * self.compact_at
    }

    /// Whether a prompt of `used` tokens fits the window at all.
    pub fn fits(&self, used: u64) -> bool {
        used <= self.window.tokens
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::engine::context::WindowSource;

    fn keeper(tokens: u64) -> ContextKeeper {
        ContextKeeper::new(
            ContextWindow {
                tokens,
                source: WindowSource::Configured,
            },
            0.85,
            None,
        )
    }

    #[test]
    fn a_window_the_server_reports_replaces_the_default_once_it_arrives() {
        let reported = ReportedWindow::default();
        let mut k = ContextKeeper::new(ContextWindow::default_window(), 0.85, None)
            .with_reported(Some(reported.clone()));
        k.adopt_reported_window();
        assert_eq!(k.window, ContextWindow::default_window());
        reported.set(ContextWindow::reported(4_096).unwrap());
        k.adopt_reported_window();
        assert_eq!(
            (k.window.tokens, k.window.source),
            (4_096, WindowSource::Server)
        );
    }

    #[test]
    fn a_configured_window_does_not_listen_to_the_server() {
        let k = keeper(2_000).with_reported(Some(ReportedWindow::default()));
        assert!(k.reported.is_none());
    }

    #[test]
    fn compaction_starts_past_compact_at_and_a_prompt_fits_up_to_the_window() {
        let k = keeper(2_000);
        assert!(!k.wants_compaction(1_700));
        assert!(k.wants_compaction(1_701));
        assert!(k.fits(2_000));
        assert!(!k.fits(2_001));
    }
}
