//! One agent's context bookkeeping: its window, when to compact, which model summarises, and
//! how its estimates are corrected.

use super::{ContextWindow, Estimator};

#[derive(Clone, Debug, PartialEq)]
pub struct ContextKeeper {
    pub window: ContextWindow,
    /// Compact when the next prompt would take more than this share of the window.
    pub compact_at: f64,
    /// The model that writes summaries; `None`: the agent's own.
    pub compaction_model: Option<String>,
    pub estimator: Estimator,
}

impl ContextKeeper {
    pub fn new(window: ContextWindow, compact_at: f64, compaction_model: Option<String>) -> Self {
        Self {
            window,
            compact_at: compact_at.clamp(0.1, 1.0),
            compaction_model,
            estimator: Estimator::default(),
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
    fn compaction_starts_past_compact_at_and_a_prompt_fits_up_to_the_window() {
        let k = keeper(2_000);
        assert!(!k.wants_compaction(1_700));
        assert!(k.wants_compaction(1_701));
        assert!(k.fits(2_000));
        assert!(!k.fits(2_001));
    }
}
