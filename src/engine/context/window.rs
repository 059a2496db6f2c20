//! An agent's context window and where tzzr learnt it: the config's `models:` or the built-in
//! price table, the server itself, or a stated default.

use std::sync::{Arc, OnceLock};

use tokio::sync::Notify;

use crate::engine::cost::PriceTable;

/// What a server said about a model's window: empty until (and unless) it answered. Shared by
/// the agents on one endpoint and model; filled by a background probe that waits until one of
/// them is first used (`--health` or an idle agent asks nothing).
#[derive(Clone, Debug, Default)]
pub struct ReportedWindow {
    answer: Arc<OnceLock<ContextWindow>>,
    wanted: Arc<Notify>,
}

impl ReportedWindow {
    /// The window, once the server told it; asks for it to be found out otherwise.
    pub fn get(&self) -> Option<ContextWindow> {
        let found = self.answer.get().copied();
        if found.is_none() {
            self.wanted.notify_one();
        }
        found
    }

    /// Waits until an agent wants the answer (for the probe).
    pub async fn wanted(&self) {
        self.wanted.notified().await;
    }

    /// Records the server's answer (the first one counts).
    pub fn set(&self, window: ContextWindow) {
        let _ = self.answer.set(window);
    }
}

/// The window assumed when nothing says otherwise: small enough to be safe on a local server.
pub const DEFAULT_WINDOW_TOKENS: u64 = 8_192;

/// Windows outside this range are not believed (a hostile or broken server, a typo).
const PLAUSIBLE: std::ops::RangeInclusive<u64> = 256..=100_000_000;

#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum WindowSource {
    /// `models:` in the config, or the built-in price table.
    Configured,
    /// What the server reported (llama.cpp `/props`, Ollama `/api/show`).
    Server,
    /// Nothing said: [`DEFAULT_WINDOW_TOKENS`].
    Default,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ContextWindow {
    pub tokens: u64,
    pub source: WindowSource,
}

impl ContextWindow {
    /// The window the config or the price table gives `model`, else the default.
    pub fn for_model(prices: &PriceTable, model: &str) -> Self {
        match prices
            .context_window(model)
            .filter(|n| PLAUSIBLE.contains(n))
        {
            Some(tokens) => Self {
                tokens,
                source: WindowSource::Configured,
            },
            None => Self::default_window(),
        }
    }

    pub fn default_window() -> Self {
        Self {
            tokens: DEFAULT_WINDOW_TOKENS,
            source: WindowSource::Default,
        }
    }

    /// A window a server reported, if it is believable.
    pub fn reported(tokens: u64) -> Option<Self> {
        PLAUSIBLE.contains(&tokens).then_some(Self {
            tokens,
            source: WindowSource::Server,
        })
    }

    /// Whether a server's figure should replace this one: only a default gives way.
    pub fn is_default(&self) -> bool {
        self.source == WindowSource::Default
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_known_model_takes_the_price_tables_window_and_an_unknown_one_the_stated_default() {
        let prices = PriceTable::builtin();
        let known = ContextWindow::for_model(&prices, "claude-haiku-4-5");
        assert_eq!(known.tokens, 200_000);
        assert_eq!(known.source, WindowSource::Configured);
        let unknown = ContextWindow::for_model(&prices, "my-local-fine-tune");
        assert_eq!(unknown, ContextWindow::default_window());
        assert_eq!(unknown.tokens, 8_192);
    }

    #[test]
    fn an_implausible_reported_window_is_not_believed() {
        assert_eq!(ContextWindow::reported(0), None);
        assert_eq!(ContextWindow::reported(u64::MAX), None);
        assert_eq!(
            ContextWindow::reported(4_096).map(|w| w.source),
            Some(WindowSource::Server)
        );
    }
}
