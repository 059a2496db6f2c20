//! Fallback models: when the agent's model cannot answer (its endpoint's breaker is open, a
//! call failed after its retries, the key has no quota) the turn goes on with the next one.
//! Each turn starts again from the agent's own model.

use crate::engine::config::ToolProtocol;
use crate::engine::cost::Pricing;
use crate::engine::provider::ProviderError;
use crate::engine::provider::backend::Backend;

/// A model to go on with, built like the agent's own (route, endpoint, prices).
#[derive(Debug)]
pub struct FallbackModel {
    /// As the user wrote it: `provider/model`.
    pub label: String,
    /// The model id sent upstream.
    pub model: String,
    /// The name prices are looked up by.
    pub price_model: String,
    /// Whether its calls are priced by the table, free on this machine, or free (a script).
    pub pricing: Pricing,
    pub backend: Backend,
    pub tool_protocol: ToolProtocol,
}

/// Why a failed call goes on with the next model, if it does. Nothing is retried elsewhere
/// once text was shown: the user would read the start of the answer twice.
pub(super) fn reason_to_fall_back(error: &ProviderError, streamed: bool) -> Option<String> {
    let worth_it = match error {
        ProviderError::BreakerOpen { .. }
        | ProviderError::Quota { .. }
        | ProviderError::Unreachable { .. } => true,
        other => other.is_retryable() && !streamed,
    };
    worth_it.then(|| error.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[test]
    fn an_open_breaker_an_empty_quota_and_exhausted_retries_fall_back() {
        let open = ProviderError::BreakerOpen {
            endpoint: "openai".into(),
            probe_in: Duration::from_secs(30),
        };
        assert!(reason_to_fall_back(&open, false).is_some());
        let quota = ProviderError::Quota {
            url: "u".into(),
            status: 429,
            message: "no quota".into(),
        };
        assert!(reason_to_fall_back(&quota, false).is_some());
        let busy = ProviderError::Http {
            url: "u".into(),
            status: 503,
            message: "overloaded".into(),
            retry_after: None,
        };
        assert!(reason_to_fall_back(&busy, false).is_some());
        assert!(
            reason_to_fall_back(&busy, true).is_none(),
            "text was already shown"
        );
    }

    #[test]
    fn a_refused_key_or_a_bad_request_does_not_fall_back() {
        let auth = ProviderError::Auth {
            url: "u".into(),
            status: 401,
            message: "bad key".into(),
        };
        assert!(reason_to_fall_back(&auth, false).is_none());
        let bad = ProviderError::Http {
            url: "u".into(),
            status: 400,
            message: "bad".into(),
            retry_after: None,
        };
        assert!(reason_to_fall_back(&bad, false).is_none());
        assert!(reason_to_fall_back(&ProviderError::Cancelled, false).is_none());
    }
}
