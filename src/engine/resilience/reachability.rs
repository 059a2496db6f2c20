//! Whether an endpoint's server can be reached, as the last background probe or real call found
//! it. Shared by every agent on the endpoint: while it is unreachable their calls fail at once
//! with a hint instead of waiting out the retries on a refused connection.

use std::sync::{Mutex, PoisonError};

use tokio::sync::Notify;

/// What is known of an endpoint's server.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub enum Reach {
    /// Nothing checked yet: calls go ahead.
    #[default]
    Unknown,
    Reachable,
    /// The last probe or call could not connect: `reason` says why (`connection refused`).
    Unreachable {
        reason: String,
    },
}

/// The reachability of one endpoint, and the hint that goes with "unreachable".
#[derive(Debug)]
pub struct Reachability {
    state: Mutex<Reach>,
    /// How to fix an unreachable server, e.g. "start Ollama, or point api_base at a server".
    hint: String,
    /// Woken when a call was refused because of a stale "unreachable": check again now.
    recheck: Notify,
}

impl Default for Reachability {
    fn default() -> Self {
        Self::new(GENERIC_HINT)
    }
}

/// The hint for a server tzzr knows nothing particular about.
pub const GENERIC_HINT: &str = "start the server, or point api_base at one that runs";

impl Reachability {
    pub fn new(hint: impl Into<String>) -> Self {
        Self {
            state: Mutex::new(Reach::Unknown),
            hint: hint.into(),
            recheck: Notify::new(),
        }
    }

    pub fn state(&self) -> Reach {
        self.state
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .clone()
    }

    pub fn hint(&self) -> &str {
        &self.hint
    }

    pub fn mark_reachable(&self) {
        *self.state.lock().unwrap_or_else(PoisonError::into_inner) = Reach::Reachable;
    }

    pub fn mark_unreachable(&self, reason: impl Into<String>) {
        *self.state.lock().unwrap_or_else(PoisonError::into_inner) = Reach::Unreachable {
            reason: reason.into(),
        };
    }

    /// A real call could not connect: marks it, and, if that is news, asks the monitor to
    /// probe at once so that every agent on the endpoint hears of it.
    pub fn report_unreachable(&self, reason: impl Into<String>) {
        let mut state = self.state.lock().unwrap_or_else(PoisonError::into_inner);
        let news = !matches!(*state, Reach::Unreachable { .. });
        *state = Reach::Unreachable {
            reason: reason.into(),
        };
        drop(state);
        if news {
            self.recheck.notify_one();
        }
    }

    /// Why a call must not go out now (the server is known to be unreachable), or `None`.
    /// A refusal asks the background monitor to check again at once, so that a server started
    /// meanwhile is found by the next prompt rather than after the monitor's backoff.
    pub fn refusal(&self) -> Option<String> {
        match self.state() {
            Reach::Unreachable { reason } => {
                self.recheck.notify_one();
                Some(reason)
            }
            Reach::Unknown | Reach::Reachable => None,
        }
    }

    /// Resolves when a refused call asked for a new check.
    pub async fn recheck_wanted(&self) {
        self.recheck.notified().await;
    }
}

/// The hint for an endpoint of `vendor` at `base_url`.
pub fn hint_for(vendor: &str, base_url: &str) -> String {
    if vendor.starts_with("ollama") {
        "start Ollama, or point api_base at a server".to_owned()
    } else {
        format!(
            "check that {base_url} is up and reachable from here, or point api_base at a server"
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_unreachable_endpoint_refuses_calls_until_it_is_reachable_again() {
        let reach = Reachability::new("start Ollama, or point api_base at a server");
        assert_eq!(reach.refusal(), None, "unknown lets calls through");
        reach.mark_unreachable("connection refused");
        assert_eq!(reach.refusal().as_deref(), Some("connection refused"));
        reach.mark_reachable();
        assert_eq!(reach.refusal(), None);
        assert_eq!(reach.state(), Reach::Reachable);
    }

    #[test]
    fn ollama_gets_its_own_hint() {
        assert_eq!(
            hint_for("ollama", "http://localhost:11434/v1"),
            "start Ollama, or point api_base at a server"
        );
        assert!(
            hint_for("openai", "https://api.openai.com/v1").contains("https://api.openai.com/v1")
        );
    }

    #[tokio::test]
    async fn a_refusal_asks_for_a_check_at_once() {
        let reach = Reachability::default();
        reach.mark_unreachable("connection refused");
        let _ = reach.refusal();
        // notify_one stores a permit: the monitor sees it even if it was not waiting yet.
        tokio::time::timeout(std::time::Duration::from_secs(1), reach.recheck_wanted())
            .await
            .unwrap();
    }
}
