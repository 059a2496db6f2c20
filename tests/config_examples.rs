#![allow(clippy::unwrap_used, clippy::expect_used)]
//! The v6 example configs, copied verbatim from the seed, load into what v6 would have seen.

use std::path::{Path, PathBuf};
use std::time::Duration;

use pretty_assertions::assert_eq;
use tzzr::engine::config::{AgentSpec, Config, Server, Settings, load_file};
use tzzr::engine::tools::approval::ApprovalPolicy;

fn examples_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("examples")
}

/// Loads an example, which must give no warning at all.
fn load_example(name: &str) -> Config {
    let loaded = load_file(&examples_dir().join(name)).unwrap();
    assert_eq!(loaded.warnings, Vec::new(), "warnings for {name}");
    let config = loaded.config;
    assert_eq!(config.base_dir, examples_dir());
    assert!(config.providers.is_empty() && config.models.is_empty());
    config
}

/// What v6 read for `ssh_strict_host_checking` when the file does not set it.
fn v6_host_checking_default() -> bool {
    let value = std::env::var("SSH_KNOWN_HOSTS_CHECK").map(|v| v.to_lowercase());
    !matches!(value.as_deref(), Ok("false" | "no" | "0"))
}

/// v6's `Settings()` defaults, for a config in the examples directory.
fn v6_settings() -> Settings {
    Settings {
        default_provider: "claude".into(),
        default_model: "sonnet".into(),
        timeout: Duration::from_secs(300),
        call_timeout: Duration::from_secs(600),
        working_dir: examples_dir(),
        max_tool_iterations: 10,
        sandbox_paths: true,
        ssh_strict_host_checking: v6_host_checking_default(),
        allowed_commands: Vec::new(),
        rate_limit_per_minute: 60,
        max_retries: 3,
        retry_delay: Duration::from_secs(1),
        enable_circuit_breaker: true,
        circuit_breaker_threshold: 5,
        circuit_breaker_timeout: Duration::from_secs(30),
        budget_usd: None,
        log_dir: examples_dir().join("logs"),
        approval: ApprovalPolicy::default().written_out(),
        require_sandbox: false,
        http_allow_private: false,
        loop_guard: 3,
        fallback: Vec::new(),
        compact_at: 0.85,
        compaction_model: None,
        health_interval: Duration::from_secs(300),
    }
}

/// An agent as v6's `AgentConfig` held it: no tzzr-only values.
fn agent(name: &str, role: &str, provider: &str, model: &str, tools: &[&str]) -> AgentSpec {
    AgentSpec {
        name: name.into(),
        role: role.into(),
        provider: provider.into(),
        model: model.into(),
        tools: tools.iter().map(|t| (*t).to_owned()).collect(),
        servers: Vec::new(),
        max_turns: 10,
        api_base: None,
        temperature: None,
        max_tokens: None,
        budget_usd: None,
        tool_protocol: None,
        script: Vec::new(),
        approval: ApprovalPolicy::default().written_out(),
        mcp: Vec::new(),
        fallback: Vec::new(),
        compact_at: 0.85,
        compaction_model: None,
    }
}

fn agents(config: &Config) -> Vec<&AgentSpec> {
    config.agents.values().collect()
}

#[test]
fn v6_config_yaml_loads_with_its_one_assistant_and_empty_servers_and_tasks() {
    let config = load_example("v6_config.yaml");
    assert_eq!(
        config.settings,
        Settings {
            ssh_strict_host_checking: true,
            ..v6_settings()
        }
    );
    assert!(config.servers.is_empty());
    assert!(config.tasks.is_empty());
    let assistant = agent(
        "assistant",
        "You are a helpful assistant that can execute commands,\nread and write files, and help with various tasks.\n",
        "claude",
        "sonnet",
        &["bash", "read", "write", "list_dir", "glob"],
    );
    assert_eq!(agents(&config), [&assistant]);
}

#[test]
fn simple_yaml_loads_one_claude_assistant() {
    let config = load_example("simple.yaml");
    assert_eq!(config.settings, v6_settings());
    assert!(config.servers.is_empty() && config.tasks.is_empty());
    let assistant = agent(
        "assistant",
        "You are a helpful assistant.",
        "claude",
        "sonnet",
        &["bash", "read", "write"],
    );
    assert_eq!(agents(&config), [&assistant]);
}

#[test]
fn dev_team_yaml_loads_four_agents_on_claude_and_litellm() {
    let config = load_example("dev_team.yaml");
    assert_eq!(config.settings, v6_settings());
    let names: Vec<&str> = config.agents.keys().map(String::as_str).collect();
    assert_eq!(names, ["architect", "developer", "reviewer", "tester"]);
    let summary: Vec<(&str, &str, Vec<&str>)> = config
        .agents
        .values()
        .map(|a| {
            (
                a.provider.as_str(),
                a.model.as_str(),
                a.tools.iter().map(String::as_str).collect(),
            )
        })
        .collect();
    assert_eq!(
        summary,
        [
            ("claude", "opus", vec!["read", "write", "list_dir", "glob"]),
            (
                "claude",
                "sonnet",
                vec!["read", "write", "bash", "grep", "glob"]
            ),
            ("litellm", "gpt4o", vec!["read", "grep", "glob"]),
            ("litellm", "gemini-pro", vec!["read", "write", "bash"]),
        ]
    );
    assert!(
        config.agents["architect"]
            .role
            .starts_with("You are a senior software architect.\n")
    );
    assert!(
        config.agents["tester"]
            .role
            .ends_with("You ensure good test coverage.\n")
    );
    assert!(
        config
            .agents
            .values()
            .all(|a| a.max_turns == 10 && a.servers.is_empty())
    );
    let feature = &config.tasks["feature"];
    let agents: Vec<Vec<&str>> = feature
        .steps
        .iter()
        .map(|s| s.members().iter().map(|m| m.agent.as_str()).collect())
        .collect();
    assert_eq!(
        agents,
        [
            vec!["architect"],
            vec!["developer"],
            vec!["reviewer", "tester"],
            vec!["architect"]
        ]
    );
}

#[test]
fn devops_yaml_loads_two_servers_and_two_agents_that_reach_them() {
    let config = load_example("devops.yaml");
    assert_eq!(
        config.settings,
        Settings {
            ssh_strict_host_checking: true,
            ..v6_settings()
        }
    );
    let server = |host: &str, description: &str| Server {
        host: host.into(),
        user: "deploy".into(),
        key: "~/.ssh/deploy_key".into(),
        port: 22,
        description: description.into(),
    };
    let servers: Vec<(&str, &Server)> = config
        .servers
        .iter()
        .map(|(name, s)| (name.as_str(), s))
        .collect();
    assert_eq!(
        servers,
        [
            (
                "production",
                &server("prod.example.com", "Production server")
            ),
            ("staging", &server("staging.example.com", "Staging server")),
        ]
    );
    let both = vec!["production".to_owned(), "staging".to_owned()];
    let deployer = &config.agents["deployer"];
    assert_eq!(
        (deployer.provider.as_str(), deployer.model.as_str()),
        ("claude", "sonnet")
    );
    assert_eq!(deployer.tools, ["ssh", "bash", "read"]);
    assert_eq!(deployer.servers, both);
    let monitor = &config.agents["monitor"];
    assert_eq!(
        (monitor.provider.as_str(), monitor.model.as_str()),
        ("claude", "haiku")
    );
    assert_eq!(monitor.tools, ["ssh", "http_request", "read"]);
    assert_eq!(monitor.servers, both);
}

#[test]
fn local_ollama_yaml_loads_litellm_agents_with_fifteen_turns() {
    let config = load_example("local_ollama.yaml");
    assert_eq!(
        config.settings,
        Settings {
            default_provider: "litellm".into(),
            default_model: "llama3".into(),
            timeout: Duration::from_secs(120),
            max_tool_iterations: 15,
            ..v6_settings()
        }
    );
    let mut assistant = agent(
        "assistant",
        "You are a helpful assistant running locally.\nYou can execute commands and work with files.\n",
        "litellm",
        "llama3",
        &["bash", "read", "write", "list_dir"],
    );
    assistant.max_turns = 15;
    let mut coder = agent(
        "coder",
        "You are a coding assistant specialized in programming.\nYou write clean, efficient code.\n",
        "litellm",
        "codellama",
        &["read", "write", "bash", "grep"],
    );
    coder.max_turns = 15;
    assert_eq!(agents(&config), [&assistant, &coder]);
}
