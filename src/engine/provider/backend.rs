//! What one agent talks to: an HTTP endpoint (shared), its own Claude CLI session, its script, or
//! nothing at all (and why).

use std::sync::Arc;

use tokio_util::sync::CancellationToken;

use super::call::call_http;
use super::claude_cli::ClaudeCli;
use super::scripted::Scripted;
use super::{ModelReply, ModelRequest, ProviderError, Sink};
use crate::engine::conversation::last_user_text;
use crate::engine::resilience::Endpoint;

#[derive(Debug)]
pub enum Backend {
    Http(Arc<Endpoint>),
    ClaudeCli(ClaudeCli),
    Scripted(Scripted),
    /// The agent cannot run (no key, …): every call fails with this error.
    Unavailable(ProviderError),
}

impl Backend {
    /// One model call. `est_tokens` feeds the endpoint's token limiter.
    pub async fn complete(
        &mut self,
        req: &ModelRequest<'_>,
        est_tokens: u64,
        cancel: &CancellationToken,
        sink: Sink<'_>,
    ) -> Result<ModelReply, ProviderError> {
        match self {
            Backend::Http(endpoint) => call_http(endpoint, req, est_tokens, cancel, sink).await,
            // The CLI keeps the conversation itself (its session); it only needs the new prompt.
            Backend::ClaudeCli(cli) => cli.run(last_user_text(req.messages), cancel, sink).await,
            Backend::Scripted(script) => script.complete(req, cancel, sink).await,
            Backend::Unavailable(error) => Err(error.clone()),
        }
    }

    /// Forgets provider-side conversation state (the CLI's session).
    pub fn reset(&mut self) {
        match self {
            Backend::ClaudeCli(cli) => cli.reset(),
            Backend::Http(_) | Backend::Scripted(_) | Backend::Unavailable(_) => {}
        }
    }

    /// A Claude CLI agent's session id, once it has one.
    pub fn cli_session(&self) -> Option<&str> {
        match self {
            Backend::ClaudeCli(cli) => cli.session_id(),
            Backend::Http(_) | Backend::Scripted(_) | Backend::Unavailable(_) => None,
        }
    }

    /// Goes on with a Claude CLI session of an earlier run (`--resume`).
    pub fn resume_cli_session(&mut self, id: String) {
        match self {
            Backend::ClaudeCli(cli) => cli.resume(id),
            Backend::Http(_) | Backend::Scripted(_) | Backend::Unavailable(_) => {}
        }
    }

    pub fn endpoint(&self) -> Option<&Arc<Endpoint>> {
        match self {
            Backend::Http(endpoint) => Some(endpoint),
            Backend::ClaudeCli(_) | Backend::Scripted(_) | Backend::Unavailable(_) => None,
        }
    }
}
