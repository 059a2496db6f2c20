//! The shared endpoints: one per (dialect, base URL, key), each with its own limiter, breaker
//! and retry policy, shared by every agent that uses it.

use std::collections::HashMap;
use std::sync::Arc;

use super::StartError;
use crate::engine::config::Config;
use crate::engine::provider::route::HttpRoute;
use crate::engine::resilience::endpoint::Dialect;
use crate::engine::resilience::reachability::hint_for;
use crate::engine::resilience::{Breaker, Endpoint, Limiter, Reachability, RetryPolicy};

/// Redirects are followed only within the endpoint's own origin: a key sent as a custom header
/// (`x-api-key`) would otherwise follow a redirect to any host, over any scheme.
fn same_origin_redirects() -> reqwest::redirect::Policy {
    reqwest::redirect::Policy::custom(|attempt| {
        let first = attempt.previous().first().map(reqwest::Url::origin);
        if attempt.previous().len() > 5 {
            attempt.error("too many redirects")
        } else if first.is_some_and(|origin| origin == attempt.url().origin()) {
            attempt.follow()
        } else {
            attempt.stop()
        }
    })
}

/// One endpoint per (dialect, base URL, key), shared by the agents that use it.
pub(super) struct EndpointPool {
    http: reqwest::Client,
    by_key: HashMap<(Dialect, String, Option<String>), Arc<Endpoint>>,
    /// In the order agents first used them.
    pub(super) order: Vec<Arc<Endpoint>>,
}

impl EndpointPool {
    pub(super) fn new(config: &Config) -> Result<Self, StartError> {
        // reqwest is built without a default TLS provider (ring instead of aws-lc, half the build):
        // install it once. A second install fails harmlessly.
        let _ = rustls::crypto::ring::default_provider().install_default();
        let http = reqwest::Client::builder()
            .connect_timeout(
                config
                    .settings
                    .timeout
                    .min(std::time::Duration::from_secs(30)),
            )
            .user_agent(concat!("tzzr/", env!("CARGO_PKG_VERSION")))
            .redirect(same_origin_redirects())
            .build()
            .map_err(|e| StartError::Http(e.to_string()))?;
        Ok(Self {
            http,
            by_key: HashMap::new(),
            order: Vec::new(),
        })
    }

    pub(super) fn get(&mut self, route: &HttpRoute, config: &Config) -> Arc<Endpoint> {
        let key = (
            route.dialect,
            route.base_url.clone(),
            route.key.key().map(|k| k.expose().to_owned()),
        );
        if let Some(existing) = self.by_key.get(&key) {
            return existing.clone();
        }
        let s = &config.settings;
        let endpoint = Arc::new(Endpoint {
            label: self.unique_label(route.label()),
            dialect: route.dialect,
            base_url: route.base_url.clone(),
            key: route.key.key().cloned(),
            http: self.http.clone(),
            timeout: s.timeout,
            limiter: Limiter::new(route.rpm, route.tpm, route.concurrency),
            breaker: s
                .enable_circuit_breaker
                .then(|| Breaker::new(s.circuit_breaker_threshold, s.circuit_breaker_timeout)),
            retry: RetryPolicy {
                max_retries: s.max_retries,
                base_delay: s.retry_delay,
                max_delay: std::time::Duration::from_secs(60),
            },
            bounds: crate::engine::provider::bounds::Bounds {
                call_deadline: s.call_timeout,
                ..Default::default()
            },
            reachability: Reachability::new(hint_for(&route.vendor, &route.base_url)),
        });
        self.by_key.insert(key, endpoint.clone());
        self.order.push(endpoint.clone());
        endpoint
    }

    /// Forgets the endpoints no agent uses any more (after `/reload`), freeing their labels.
    pub(super) fn retain_used(&mut self, is_used: impl Fn(&Arc<Endpoint>) -> bool) {
        self.order.retain(|endpoint| is_used(endpoint));
        self.by_key.retain(|_, endpoint| is_used(endpoint));
    }

    /// Two keys on one base URL are two endpoints; their labels must differ.
    fn unique_label(&self, label: String) -> String {
        let taken = |l: &str| self.order.iter().any(|e| e.label == l);
        if !taken(&label) {
            return label;
        }
        (2..)
            .map(|n| format!("{label} #{n}"))
            .find(|l| !taken(l))
            .unwrap_or(label)
    }
}

#[cfg(test)]
mod tests {
    use pretty_assertions::assert_eq;

    use super::*;
    use crate::engine::env::ApiKey;
    use crate::engine::orchestrator::test_config;
    use crate::engine::provider::route::KeyStatus;

    fn route(dialect: Dialect, base_url: &str, key: Option<&str>) -> HttpRoute {
        HttpRoute {
            dialect,
            vendor: "local".into(),
            base_url: base_url.into(),
            key: key.map_or(KeyStatus::NotNeeded, |key| KeyStatus::Found {
                var: "KEY".into(),
                key: ApiKey::new(key),
            }),
            model: "m".into(),
            price_model: "m".into(),
            tool_protocol: crate::engine::config::ToolProtocol::Native,
            rpm: None,
            tpm: None,
            concurrency: None,
        }
    }

    fn pool() -> (EndpointPool, Config) {
        let (config, _) = test_config("agents: {}\n", &[]);
        (EndpointPool::new(&config).unwrap(), config)
    }

    #[test]
    fn agents_on_one_base_url_and_key_share_one_endpoint() {
        let (mut pool, config) = pool();
        let a = pool.get(
            &route(Dialect::OpenAi, "http://127.0.0.1:1/v1", Some("k")),
            &config,
        );
        let b = pool.get(
            &route(Dialect::OpenAi, "http://127.0.0.1:1/v1", Some("k")),
            &config,
        );
        assert!(Arc::ptr_eq(&a, &b));
        assert_eq!(pool.order.len(), 1);
    }

    #[test]
    fn another_key_or_dialect_is_another_endpoint_with_its_own_label() {
        let (mut pool, config) = pool();
        let base = "http://127.0.0.1:1";
        let labels: Vec<String> = [
            route(Dialect::OpenAi, base, Some("k1")),
            route(Dialect::OpenAi, base, Some("k2")),
            route(Dialect::Anthropic, base, Some("k1")),
            route(Dialect::OpenAi, base, None),
        ]
        .iter()
        .map(|r| pool.get(r, &config).label.clone())
        .collect();
        assert_eq!(
            labels,
            [
                "local 127.0.0.1:1",
                "local 127.0.0.1:1 #2",
                "local 127.0.0.1:1 #3",
                "local 127.0.0.1:1 #4"
            ]
        );
    }

    #[test]
    fn an_endpoint_takes_its_limits_from_the_route_and_its_policy_from_settings() {
        let (config, _) = test_config(
            "settings:\n  max_retries: 7\n  enable_circuit_breaker: false\nagents: {}\n",
            &[],
        );
        let mut pool = EndpointPool::new(&config).unwrap();
        let endpoint = pool.get(
            &route(Dialect::OpenAi, "http://127.0.0.1:1/v1", None),
            &config,
        );
        assert_eq!(endpoint.retry.max_retries, 7);
        assert!(endpoint.breaker.is_none());
        assert!(endpoint.key.is_none());
    }
}
