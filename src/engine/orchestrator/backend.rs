//! What an agent talks to, built from its route: the backend, the model name sent and the one
//! priced, and how tools reach the model.

use std::path::{Path, PathBuf};

use super::describe::unusable_key;
use super::endpoints::EndpointPool;
use super::tool_context::protected_paths;
use crate::engine::config::{AgentSpec, Config, ToolProtocol};
use crate::engine::env::Environment;
use crate::engine::provider::ProviderError;
use crate::engine::provider::backend::Backend;
use crate::engine::provider::claude_cli::{ClaudeCli, ClaudeCliConfig};
use crate::engine::provider::route::{self, Route};
use crate::engine::provider::scripted::Scripted;

/// v6's system prompt: the agent's name, its role, and the servers it may reach.
pub fn system_prompt(spec: &AgentSpec, config: &Config) -> String {
    let mut prompt = format!("# {}\n\n{}", spec.name, spec.role);
    if !spec.servers.is_empty() {
        prompt.push_str("\n\n## Available Servers\n");
        for name in &spec.servers {
            if let Some(server) = config.servers.get(name) {
                prompt.push_str(&format!("- **{name}**: {}@{}", server.user, server.host));
                if !server.description.is_empty() {
                    prompt.push_str(&format!(" ({})", server.description));
                }
                prompt.push('\n');
            }
        }
    }
    prompt
}

/// An agent's backend and the names it runs under. `model` and `price_model` differ when the
/// route renames the model for the wire (`gpt4o` is priced as written, sent as `gpt-4o`).
#[derive(Debug)]
pub(super) struct AgentBackend {
    pub backend: Backend,
    /// The model name sent to the provider.
    pub model: String,
    /// The model name looked up in the price table.
    pub price_model: String,
    pub tool_protocol: ToolProtocol,
}

/// What building a backend needs besides the agent's own spec and route.
pub(super) struct BackendSite<'a> {
    pub config: &'a Config,
    pub env: &'a Environment,
    pub working_dir: &'a Path,
}

impl AgentBackend {
    /// Builds the agent's backend: HTTP agents get the shared endpoint of their (dialect, base,
    /// key), Claude agents their own CLI session (with `bridge` as its MCP config), and an agent
    /// that cannot run a backend that fails every call with why.
    pub(super) fn build(
        spec: &AgentSpec,
        route: &Route,
        site: &BackendSite<'_>,
        endpoints: &mut EndpointPool,
        bridge: Option<PathBuf>,
    ) -> Self {
        let BackendSite {
            config,
            env,
            working_dir,
        } = *site;
        match route {
            Route::Http(http) => Self {
                backend: match unusable_key(&http.key) {
                    Some(error) => Backend::Unavailable(error),
                    None => Backend::Http(endpoints.get(http, config)),
                },
                model: http.model.clone(),
                price_model: http.price_model.clone(),
                tool_protocol: http.tool_protocol,
            },
            Route::ClaudeCli {
                refused: Some(why), ..
            } => Self {
                backend: Backend::Unavailable(ProviderError::Untrusted { why: why.clone() }),
                model: spec.model.clone(),
                price_model: spec.model.clone(),
                tool_protocol: ToolProtocol::Native,
            },
            Route::ClaudeCli {
                program,
                model,
                refused: None,
            } => {
                let mut child_env = route::claude_child_env(env);
                if let Some(base) = &spec.api_base {
                    child_env.push(("ANTHROPIC_BASE_URL".to_owned(), base.clone()));
                }
                let cli = ClaudeCli::new(ClaudeCliConfig {
                    program: program.clone(),
                    model: model.clone(),
                    system_prompt: system_prompt(spec, config),
                    tools: spec.tools.clone(),
                    max_turns: spec.max_turns.max(1),
                    max_retries: config.settings.max_retries,
                    cwd: working_dir.to_path_buf(),
                    env: child_env,
                    timeout: config.settings.timeout,
                    bridge,
                    protected: protected_paths(config, env, working_dir),
                });
                Self {
                    backend: Backend::ClaudeCli(cli),
                    model: model.clone(),
                    price_model: model.clone(),
                    // The CLI gives the model its own tools natively.
                    tool_protocol: ToolProtocol::Native,
                }
            }
            Route::Scripted { model } => Self {
                backend: Backend::Scripted(Scripted::new(spec.script.clone())),
                model: model.clone(),
                price_model: model.clone(),
                tool_protocol: ToolProtocol::Native,
            },
        }
    }
}

#[cfg(test)]
mod tests {
    use pretty_assertions::assert_eq;

    use super::*;
    use crate::engine::health::Probe;
    use crate::engine::orchestrator::test_config;

    fn built(yaml: &str, vars: &[(&str, &str)]) -> (AgentBackend, EndpointPool) {
        let (config, env) = test_config(yaml, vars);
        let spec = config.agents.values().next().unwrap().clone();
        let route = route::resolve(&spec, &config, &env);
        let mut endpoints = EndpointPool::new(&config).unwrap();
        let site = BackendSite {
            config: &config,
            env: &env,
            working_dir: Path::new("/project"),
        };
        let built = AgentBackend::build(&spec, &route, &site, &mut endpoints, None);
        (built, endpoints)
    }

    #[test]
    fn an_http_agent_sends_the_vendor_model_and_is_priced_by_the_litellm_name() {
        let (built, endpoints) = built(
            "agents:\n  g:\n    provider: litellm\n    model: gemini/gemini-1.5-pro\n",
            &[("GEMINI_API_KEY", "k")],
        );
        assert_eq!(built.model, "gemini-1.5-pro");
        assert_eq!(built.price_model, "gemini/gemini-1.5-pro");
        assert!(matches!(built.backend, Backend::Http(_)));
        assert_eq!(endpoints.order.len(), 1);
    }

    #[test]
    fn an_agent_without_its_key_gets_no_endpoint_and_fails_with_why() {
        let (built, endpoints) = built(
            "agents:\n  coder:\n    provider: openai\n    model: gpt-4o\n",
            &[],
        );
        let Backend::Unavailable(error) = &built.backend else {
            panic!("{:?}", built.backend);
        };
        assert!(matches!(error, ProviderError::MissingKey { .. }));
        assert!(endpoints.order.is_empty());
        let Probe::Unavailable(why) = Probe::of(&built.backend) else {
            panic!("the probe mirrors the backend");
        };
        assert_eq!(why, error.to_string());
    }

    #[test]
    fn a_claude_agent_runs_the_cli_with_native_tools_and_is_probed_by_its_program() {
        let (built, _) = built(
            "agents:\n  writer:\n    provider: claude\n    model: fast\n",
            &[("TZZR_CLAUDE_BIN", "/opt/claude")],
        );
        assert_eq!(
            (built.model.as_str(), built.price_model.as_str()),
            ("haiku", "haiku")
        );
        assert_eq!(built.tool_protocol, ToolProtocol::Native);
        assert!(
            matches!(Probe::of(&built.backend), Probe::ClaudeCli { program } if program == "/opt/claude")
        );
    }

    #[test]
    fn a_scripted_agent_is_probed_as_scripted() {
        let (built, _) = built(
            "agents:\n  demo:\n    provider: scripted\n    script: [hi]\n",
            &[],
        );
        assert!(matches!(Probe::of(&built.backend), Probe::Scripted));
    }

    #[test]
    fn the_system_prompt_names_the_agent_its_role_and_its_servers() {
        let (config, _) = test_config(
            "servers:\n  web:\n    host: web.example\n    user: ops\n    description: the web box\nagents:\n  ops:\n    provider: scripted\n    role: You keep things up.\n    servers: [web]\n    script: [hi]\n",
            &[],
        );
        assert_eq!(
            system_prompt(&config.agents["ops"], &config),
            "# ops\n\nYou keep things up.\n\n## Available Servers\n- **web**: ops@web.example (the web box)\n"
        );
    }
}
