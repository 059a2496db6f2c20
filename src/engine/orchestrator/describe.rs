//! What a front end shows about an agent before it runs (`--agents`, the agent list): where its
//! calls go, why it cannot run, what the user should know. Starts nothing.

use std::path::PathBuf;

use serde::Serialize;

use crate::engine::config::{AgentSpec, Config};
use crate::engine::env::Environment;
use crate::engine::provider::ProviderError;
use crate::engine::provider::claude_cli;
use crate::engine::provider::route::{self, KeyStatus, Route};
use crate::engine::tools::exec::SandboxSupport;

/// What a front end shows about an agent before it has run.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct AgentInfo {
    pub name: String,
    /// As written in the config.
    pub provider: String,
    pub model: String,
    /// Where its calls go, e.g. `gpt-4o via openai api.openai.com`.
    pub target: String,
    /// The shared endpoint's label, for HTTP agents.
    pub endpoint: Option<String>,
    pub tools: Vec<String>,
    pub servers: Vec<String>,
    /// Replies come from the config, not from a model.
    pub scripted: bool,
    /// Why the agent cannot run and how to fix it.
    pub problem: Option<String>,
    /// Things the user should know (tools this provider cannot use, …).
    pub notes: Vec<String>,
    /// The models it goes on with when its own cannot answer, in order (`provider/model`, or
    /// the model alone on its own provider).
    pub fallbacks: Vec<String>,
    pub budget_usd: Option<f64>,
    /// Its markdown log.
    pub log: PathBuf,
}

/// Describes every agent of a config without starting anything (no runtime, no network).
pub fn describe(config: &Config, env: &Environment) -> Vec<AgentInfo> {
    config
        .agents
        .values()
        .map(|spec| {
            let mut info = describe_agent(spec, &route::resolve(spec, config, env), config);
            if !spec.mcp.is_empty() {
                // Nothing is started here, so the servers' tools are not known yet.
                info.notes.push(format!(
                    "MCP servers: {} (their tools are listed once the agent runs; see --status)",
                    spec.mcp.join(", ")
                ));
            }
            info
        })
        .collect()
}

pub(super) fn describe_agent(spec: &AgentSpec, route: &Route, config: &Config) -> AgentInfo {
    let mut notes = Vec::new();
    let (target, endpoint, problem) = match route {
        Route::Http(http) => {
            let problem = unusable_key(&http.key).map(|e| e.to_string());
            (
                format!("{} via {}", http.model, http.label()),
                Some(http.label()),
                problem,
            )
        }
        Route::ClaudeCli {
            program,
            model,
            refused,
        } => {
            let problem = refused.clone().or_else(|| {
                claude_cli::locate(program).is_none().then(|| {
                    ProviderError::CliMissing {
                        program: program.clone(),
                    }
                    .to_string()
                })
            });
            let (_, served) = claude_cli::map_tools(&spec.tools);
            if !served.is_empty() {
                notes.push(format!(
                    "{} served to the claude CLI by tzzr over MCP (the CLI has no such tool)",
                    served.join(", ")
                ));
            }
            (format!("claude CLI ({model})"), None, problem)
        }
        Route::Scripted { .. } => ("scripted replies (not a model)".to_owned(), None, None),
    };
    if let Some(note) = bash_sandbox_note(spec, route, config) {
        notes.push(note);
    }
    // A workspace's config may put escape sequences in a base URL or a program path, which
    // these lines quote.
    let printable = |text: String| crate::sanitize::line_for_display(&text);
    AgentInfo {
        name: spec.name.clone(),
        provider: spec.provider.clone(),
        model: spec.model.clone(),
        target: printable(target),
        endpoint: endpoint.map(printable),
        tools: spec.tools.clone(),
        servers: spec.servers.clone(),
        scripted: matches!(route, Route::Scripted { .. }),
        problem: problem.map(printable),
        notes: notes.into_iter().map(printable).collect(),
        fallbacks: spec
            .fallback
            .iter()
            .map(|f| match &f.provider {
                Some(provider) => printable(format!("{provider}/{}", f.model)),
                None => printable(f.model.clone()),
            })
            .collect(),
        budget_usd: spec.budget_usd,
        log: config
            .settings
            .log_dir
            .join(crate::engine::journal::md_file_name(&spec.name)),
    }
}

/// Whether the agent runs tzzr's own bash (the Claude CLI runs its own).
fn runs_tzzr_bash(spec: &AgentSpec, route: &Route) -> bool {
    !matches!(route, Route::ClaudeCli { .. }) && spec.tools.iter().any(|tool| tool == "bash")
}

/// What an agent with bash must be told once: that bash is not (fully) confined here, or
/// refused because of `require_sandbox`. Nothing when bash is confined.
fn bash_sandbox_note(spec: &AgentSpec, route: &Route, config: &Config) -> Option<String> {
    if !runs_tzzr_bash(spec, route) {
        return None;
    }
    let support = SandboxSupport::detected();
    match (support.confines(), config.settings.require_sandbox) {
        (true, _) => None,
        (false, true) => Some(format!(
            "bash is refused here (settings.require_sandbox): {}",
            support.summary()
        )),
        (false, false) => Some(format!(
            "{}; set settings.require_sandbox: true to refuse bash instead",
            support.summary()
        )),
    }
}

/// Why an HTTP agent cannot use its key: none is set, or it must not go to this base URL.
pub(super) fn unusable_key(key: &KeyStatus) -> Option<ProviderError> {
    match key {
        KeyStatus::Missing { vars } => Some(ProviderError::MissingKey {
            var: vars.join(" or "),
        }),
        KeyStatus::Refused { why } => Some(ProviderError::Untrusted { why: why.clone() }),
        KeyStatus::Found { .. } | KeyStatus::NotNeeded => None,
    }
}

#[cfg(test)]
mod tests {
    use std::path::Path;

    use pretty_assertions::assert_eq;

    use super::*;
    use crate::engine::orchestrator::test_config;

    fn described(yaml: &str, vars: &[(&str, &str)]) -> Vec<AgentInfo> {
        let (config, env) = test_config(yaml, vars);
        describe(&config, &env)
    }

    #[test]
    fn fallbacks_are_listed_in_order_with_their_provider_when_it_is_another() {
        let [info] = described(
            "agents:\n  coder:\n    provider: openai\n    model: gpt-4o\n    fallback: [gpt-4o-mini, {provider: anthropic, model: claude-haiku-4-5}]\n",
            &[("OPENAI_API_KEY", "sk-test"), ("ANTHROPIC_API_KEY", "sk-ant-test")],
        )
        .try_into()
        .unwrap();
        assert_eq!(
            info.fallbacks,
            ["gpt-4o-mini", "anthropic/claude-haiku-4-5"],
            "{info:?}"
        );
        let text = crate::report::agents_text(&[info]);
        assert!(
            text.contains("\n      falls back to: gpt-4o-mini, anthropic/claude-haiku-4-5\n"),
            "{text}"
        );
    }

    #[test]
    fn a_scripted_agent_is_said_to_reply_from_the_config() {
        let [info] = described(
            "settings:\n  log_dir: /project/logs\nagents:\n  demo:\n    provider: scripted\n    script: [hi]\n",
            &[],
        )
        .try_into()
        .unwrap();
        assert_eq!(
            info,
            AgentInfo {
                name: "demo".into(),
                provider: "scripted".into(),
                model: info.model.clone(),
                target: "scripted replies (not a model)".into(),
                endpoint: None,
                tools: vec![],
                servers: vec![],
                scripted: true,
                problem: None,
                notes: vec![],
                fallbacks: vec![],
                budget_usd: None,
                log: Path::new("/project/logs").join(crate::engine::journal::md_file_name("demo")),
            }
        );
    }

    #[test]
    fn an_http_agent_without_its_key_names_the_variable_to_set() {
        let [info] = described(
            "agents:\n  coder:\n    provider: openai\n    model: gpt-4o\n",
            &[],
        )
        .try_into()
        .unwrap();
        assert_eq!(info.target, "gpt-4o via openai api.openai.com");
        assert_eq!(info.endpoint.as_deref(), Some("openai api.openai.com"));
        assert!(!info.scripted);
        let problem = info.problem.unwrap();
        assert!(
            problem.starts_with("no API key: set OPENAI_API_KEY"),
            "{problem}"
        );
    }

    #[test]
    fn an_http_agent_with_its_key_can_run() {
        let [info] = described(
            "agents:\n  coder:\n    provider: openai\n    model: gpt-4o\n",
            &[("OPENAI_API_KEY", "sk-test")],
        )
        .try_into()
        .unwrap();
        assert_eq!(info.problem, None);
        assert_eq!(info.notes, Vec::<String>::new());
    }

    #[test]
    fn a_claude_agent_says_which_program_is_missing_and_which_tools_tzzr_serves() {
        let [info] = described(
            "agents:\n  writer:\n    provider: claude\n    model: powerful\n    tools: [read, ssh]\n",
            &[("TZZR_CLAUDE_BIN", "/nonexistent/claude")],
        )
        .try_into()
        .unwrap();
        assert_eq!(info.target, "claude CLI (opus)");
        assert_eq!(info.endpoint, None);
        assert_eq!(
            info.problem,
            Some(
                ProviderError::CliMissing {
                    program: "/nonexistent/claude".into()
                }
                .to_string()
            )
        );
        assert_eq!(
            info.notes,
            ["ssh served to the claude CLI by tzzr over MCP (the CLI has no such tool)"]
        );
    }

    #[test]
    fn mcp_servers_are_noted_before_they_run() {
        let [info] = described(
            "mcp_servers:\n  files:\n    command: mcp-files\nagents:\n  demo:\n    provider: scripted\n    mcp: [files]\n    script: [hi]\n",
            &[],
        )
        .try_into()
        .unwrap();
        assert_eq!(
            info.notes,
            ["MCP servers: files (their tools are listed once the agent runs; see --status)"]
        );
    }

    #[test]
    fn escape_sequences_in_a_base_url_are_not_shown() {
        let [info] = described(
            "agents:\n  coder:\n    provider: openai\n    model: gpt-4o\n    api_base: \"http://127.0.0.1:9/\\e[2Jv1\"\n",
            &[],
        )
        .try_into()
        .unwrap();
        assert!(!info.target.contains('\u{1b}'), "{:?}", info.target);
    }
}
