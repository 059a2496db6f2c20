//! v6's `settings.rate_limit_per_minute`: each agent its own window of model calls, waited for
//! before each call to an HTTP endpoint (whose shared limits come after, in the call).

use tokio_util::sync::CancellationToken;

use super::super::Emitter;
use crate::engine::protocol::EventKind;
use crate::engine::resilience::Limiter;

/// Waits until the agent may make its next model call, telling the user how long each wait
/// will be. `false` when the turn was cancelled meanwhile.
pub(super) async fn wait_for_slot(
    limiter: &Limiter,
    agent: &str,
    out: &mut Emitter,
    cancel: &CancellationToken,
) -> bool {
    let label = format!("agent {agent}");
    let mut on_wait = |eta| {
        out.emit(EventKind::Waiting {
            limiter: label.clone(),
            eta,
        });
    };
    tokio::select! {
        _permit = limiter.acquire(0, &mut on_wait) => true,
        () = cancel.cancelled() => false,
    }
}
