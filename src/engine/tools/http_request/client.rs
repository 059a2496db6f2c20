//! The HTTP client of one agent's `http_request`, built once on first use: the guarded
//! resolver, a redirect policy that checks every hop, and no proxy (a proxy would connect for
//! us, to addresses no guard sees).

use std::fmt;
use std::sync::{Arc, OnceLock};

use reqwest::dns::Resolve;
use reqwest::redirect;

use super::address::{Guard, Refusal};
use super::resolver::{GuardedResolver, SystemResolver};
use crate::engine::tools::error::ToolError;

/// The most redirects one call follows.
pub const MAX_REDIRECTS: usize = 10;

/// A redirect the guard refused.
#[derive(Debug, thiserror::Error)]
#[error("refused the redirect to {to}: {refusal}")]
pub struct RedirectRefused {
    pub to: String,
    pub refusal: Refusal,
}

/// A chain of redirects longer than [`MAX_REDIRECTS`].
#[derive(Debug, thiserror::Error)]
#[error("stopped after {MAX_REDIRECTS} redirects (the next was to {next})")]
pub struct TooManyRedirects {
    pub next: String,
}

pub struct HttpClient {
    guard: Guard,
    /// Where names are resolved before the guard filters them (the system's resolver, or a
    /// test's fixed answers).
    names: Arc<dyn Resolve>,
    client: OnceLock<Result<reqwest::Client, String>>,
}

impl fmt::Debug for HttpClient {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("HttpClient")
            .field("guard", &self.guard)
            .field("is_built", &self.client.get().is_some())
            .finish_non_exhaustive()
    }
}

impl HttpClient {
    pub fn new(allow_private: bool) -> Self {
        Self::with(Guard::new(allow_private), Arc::new(SystemResolver))
    }

    /// A client with its own guard and name resolution (tests).
    pub fn with(guard: Guard, names: Arc<dyn Resolve>) -> Self {
        Self {
            guard,
            names,
            client: OnceLock::new(),
        }
    }

    pub fn guard(&self) -> &Guard {
        &self.guard
    }

    /// The client, built on the first call.
    pub fn client(&self) -> Result<&reqwest::Client, ToolError> {
        self.client
            .get_or_init(|| self.build())
            .as_ref()
            .map_err(|reason| ToolError::Failed(format!("cannot start the HTTP client: {reason}")))
    }

    fn build(&self) -> Result<reqwest::Client, String> {
        // reqwest is built without a default TLS provider; a second install fails harmlessly.
        let _ = rustls::crypto::ring::default_provider().install_default();
        reqwest::Client::builder()
            .no_proxy()
            .dns_resolver(GuardedResolver::new(self.guard.clone(), self.names.clone()))
            .redirect(redirect_policy(self.guard.clone()))
            .referer(false)
            .user_agent(concat!("tzzr/", env!("CARGO_PKG_VERSION")))
            .build()
            .map_err(|e| e.to_string())
    }
}

/// Follows at most [`MAX_REDIRECTS`] hops, each to a URL the guard allows. A hop to a name is
/// checked again by the resolver when it connects.
fn redirect_policy(guard: Guard) -> redirect::Policy {
    redirect::Policy::custom(move |attempt| {
        // `previous` starts with the URL first asked for, which was no redirect.
        if attempt.previous().len() > MAX_REDIRECTS {
            let next = attempt.url().to_string();
            return attempt.error(TooManyRedirects { next });
        }
        match guard.check_url(attempt.url()) {
            Ok(()) => attempt.follow(),
            Err(refusal) => {
                let to = attempt.url().to_string();
                attempt.error(RedirectRefused { to, refusal })
            }
        }
    })
}
