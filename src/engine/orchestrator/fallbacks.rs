//! An agent's fallback models, built from its `fallback:` list the way its own model is built
//! (route, key, shared endpoint). A fallback that cannot take over a conversation (the Claude
//! CLI keeps its own) or cannot run (no key) is left out, with a note saying why.

use super::backend::AgentBackend;
use crate::engine::agent::FallbackModel;
use crate::engine::config::{AgentSpec, Config};
use crate::engine::cost::Pricing;
use crate::engine::env::Environment;
use crate::engine::provider::backend::Backend;
use crate::engine::provider::route::{self, Route};

/// The fallbacks of `spec`, in order, and a note for each one left out. `build` makes a
/// backend the way the agent's own is made.
pub(super) fn build(
    spec: &AgentSpec,
    config: &Config,
    env: &Environment,
    mut build: impl FnMut(&AgentSpec, &Route) -> AgentBackend,
) -> (Vec<FallbackModel>, Vec<String>) {
    let mut models = Vec::new();
    let mut notes = Vec::new();
    for fallback in &spec.fallback {
        let provider = fallback.provider.as_deref().unwrap_or(&spec.provider);
        let label = format!("{provider}/{}", fallback.model);
        let as_agent = AgentSpec {
            provider: provider.to_owned(),
            model: fallback.model.clone(),
            // The agent's `api_base` belongs to its own provider.
            api_base: spec.api_base.clone().filter(|_| provider == spec.provider),
            tool_protocol: None,
            fallback: Vec::new(),
            ..spec.clone()
        };
        let route = route::resolve(&as_agent, config, env);
        if matches!(route, Route::ClaudeCli { .. }) {
            notes.push(format!(
                "fallback {label} is left out: the claude CLI keeps its own conversation and cannot take over this one"
            ));
            continue;
        }
        let AgentBackend {
            backend,
            model,
            price_model,
            tool_protocol,
        } = build(&as_agent, &route);
        if let Backend::Unavailable(why) = &backend {
            notes.push(format!("fallback {label} is left out: {why}"));
            continue;
        }
        models.push(FallbackModel {
            label,
            model,
            pricing: Pricing::for_route(&route, config),
            price_model,
            backend,
            tool_protocol,
        });
    }
    (models, notes)
}
