//! Specs of loading as a whole: text in, config or one-line diagnostics out.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::path::{Path, PathBuf};
use std::time::Duration;

use pretty_assertions::assert_eq;

use super::*;

const ORIGIN: &str = "/project/config.yaml";

fn load_with(text: &str, env: &[(&str, &str)]) -> Result<Loaded, ConfigError> {
    let env: Vec<(String, String)> = env
        .iter()
        .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
        .collect();
    let lookup = move |key: &str| env.iter().find(|(k, _)| k == key).map(|(_, v)| v.clone());
    load_str_with(text, Path::new(ORIGIN), &lookup)
}

fn load(text: &str) -> Loaded {
    match load_with(text, &[]) {
        Ok(loaded) => loaded,
        Err(e) => panic!("expected the config to load, got: {e}"),
    }
}

/// The one-line error a text gives.
fn error(text: &str) -> String {
    match load_with(text, &[]) {
        Err(ConfigError::Invalid(diagnostic)) => diagnostic.to_string(),
        Err(other) => panic!("expected an Invalid error, got: {other}"),
        Ok(_) => panic!("expected an error, the config loaded"),
    }
}

fn warnings(text: &str) -> Vec<String> {
    load(text)
        .warnings
        .iter()
        .map(ToString::to_string)
        .collect()
}

// --- values and defaults ---

#[test]
fn a_minimal_config_gets_every_v6_default() {
    let config = load("agents:\n  a:\n    role: hi\n").config;
    let s = &config.settings;
    assert_eq!(s.default_provider, "claude");
    assert_eq!(s.default_model, "sonnet");
    assert_eq!(s.timeout, Duration::from_secs(300));
    assert_eq!(s.call_timeout, Duration::from_secs(600));
    assert_eq!(s.working_dir, PathBuf::from("/project"));
    assert_eq!(s.max_tool_iterations, 10);
    assert!(s.sandbox_paths);
    assert!(s.ssh_strict_host_checking);
    assert!(s.allowed_commands.is_empty());
    assert_eq!(s.rate_limit_per_minute, 60);
    assert_eq!(s.max_retries, 3);
    assert_eq!(s.retry_delay, Duration::from_secs(1));
    assert!(s.enable_circuit_breaker);
    assert_eq!(s.circuit_breaker_threshold, 5);
    assert_eq!(s.circuit_breaker_timeout, Duration::from_secs(30));
    assert_eq!(s.budget_usd, None);
    assert_eq!(s.log_dir, PathBuf::from("/project/logs"));

    let a = &config.agents["a"];
    assert_eq!(
        (a.provider.as_str(), a.model.as_str()),
        ("claude", "sonnet")
    );
    assert_eq!(a.max_turns, 10);
    assert!(a.tools.is_empty() && a.servers.is_empty() && a.script.is_empty());
    assert_eq!(config.base_dir, PathBuf::from("/project"));
    assert_eq!(config.source, PathBuf::from(ORIGIN));
}

#[test]
fn agents_take_provider_model_and_max_turns_from_settings() {
    let text = "\
settings:
  default_provider: litellm
  default_model: llama3
  max_tool_iterations: 15
agents:
  a: {role: x}
  b: {provider: claude, model: opus, max_turns: 4}
";
    let config = load(text).config;
    let a = &config.agents["a"];
    assert_eq!(
        (a.provider.as_str(), a.model.as_str(), a.max_turns),
        ("litellm", "llama3", 15)
    );
    let b = &config.agents["b"];
    assert_eq!(
        (b.provider.as_str(), b.model.as_str(), b.max_turns),
        ("claude", "opus", 4)
    );
}

#[test]
fn pyyaml_booleans_are_read_as_booleans() {
    let text = "\
settings:
  sandbox_paths: no
  ssh_strict_host_checking: Off
  enable_circuit_breaker: YES
";
    let s = load(text).config.settings;
    assert!(!s.sandbox_paths);
    assert!(!s.ssh_strict_host_checking);
    assert!(s.enable_circuit_breaker);
}

#[test]
fn numbers_written_as_strings_are_read_as_numbers() {
    let text = "\
settings:
  timeout: \"120\"
  call_timeout: 900
  max_retries: '5'
  retry_delay: \"2.5\"
  rate_limit_per_minute: \"0\"
servers:
  web: {host: h, port: \"2222\"}
agents:
  a: {max_turns: \"7\", temperature: \"0.2\", budget_usd: \"1.5\"}
";
    let config = load(text).config;
    let s = &config.settings;
    assert_eq!(s.timeout, Duration::from_secs(120));
    assert_eq!(s.call_timeout, Duration::from_secs(900));
    assert_eq!(s.max_retries, 5);
    assert_eq!(s.retry_delay, Duration::from_millis(2500));
    assert_eq!(s.rate_limit_per_minute, 0);
    assert_eq!(config.servers["web"].port, 2222);
    let a = &config.agents["a"];
    assert_eq!(
        (a.max_turns, a.temperature, a.budget_usd),
        (7, Some(0.2), Some(1.5))
    );
}

#[test]
fn a_word_where_a_number_belongs_is_an_error_at_the_value() {
    let text = "settings:\n  timeout: 300\n  max_retries: three\n";
    assert_eq!(
        error(text),
        "/project/config.yaml:3:16: settings.max_retries: expected a whole number from 0 to 4294967295, found string \"three\""
    );
}

#[test]
fn a_wrong_shape_is_an_error_that_says_what_was_expected() {
    let text = "agents:\n  a:\n    tools: bash\n";
    assert_eq!(
        error(text),
        "/project/config.yaml:3:12: agents.a.tools: expected a list, found string \"bash\""
    );
}

#[test]
fn an_out_of_range_number_is_an_error_at_the_value() {
    let text = "servers:\n  s:\n    host: h\n    port: 99999\n";
    assert_eq!(
        error(text),
        "/project/config.yaml:4:11: servers.s.port: expected a whole number from 0 to 65535, found 99999"
    );
}

#[test]
fn a_file_that_is_not_a_mapping_is_an_error() {
    assert_eq!(
        error("- a\n- b\n"),
        "/project/config.yaml:1:1: expected a mapping, found a list"
    );
    assert_eq!(
        error("agents: [a, b]\n"),
        "/project/config.yaml:1:9: agents: expected a mapping, found a list"
    );
}

/// What a text gives, in one line: the agents and warnings of a config, or the error.
fn outcome(text: &str) -> String {
    match load_with(text, &[]) {
        Ok(loaded) => format!(
            "ok: agents {:?}; warnings {:?}",
            loaded.config.agents.keys().collect::<Vec<_>>(),
            loaded
                .warnings
                .iter()
                .map(ToString::to_string)
                .collect::<Vec<_>>()
        ),
        Err(e) => format!("error: {e}"),
    }
}

#[test]
fn odd_input_is_an_error_or_a_config_never_a_panic() {
    let cases = [
        ("\u{feff}agents: {}\n", "ok: agents []; warnings []"),
        (
            "a: &x {b: *x}\n",
            "ok: agents []; warnings [\"/project/config.yaml:1:1: unknown key `a` at the top level (known keys: settings, servers, mcp_servers, providers, models, agents, tasks)\"]",
        ),
        (
            "agents:\n  a:\n    <<: 5\n",
            "error: /project/config.yaml: expected a mapping or list of mappings for merging, but found scalar",
        ),
        (
            "agents: {}\n---\nagents: {}\n",
            "error: /project/config.yaml: invalid YAML: deserializing from YAML containing more than one document is not supported",
        ),
        (
            "agents:\n\ta: {}\n",
            "error: /project/config.yaml:2:1: invalid YAML: found character that cannot start any token, while scanning for the next token",
        ),
        (
            "agents:\n  ? [a]\n  : {}\n",
            "error: /project/config.yaml:2:5: agents: expected a string, found a list",
        ),
        // Keys YAML reads as a number, a boolean or null are names as written.
        (
            "agents:\n  1: {}\n  true: {}\n  ~: {}\n",
            "ok: agents [\"1\", \"true\", \"~\"]; warnings []",
        ),
        (
            "settings:\n  timeout: 1e400\n",
            "error: /project/config.yaml:2:12: settings.timeout: expected a number of seconds, 0 or more, found string \"1e400\"",
        ),
        // Empty paths fall back to their defaults.
        (
            "settings:\n  log_dir: ~\n  working_dir: \"\"\n",
            "ok: agents []; warnings []",
        ),
        (
            "agents:\n  a:\n    script:\n      - [x]\n",
            "error: /project/config.yaml:4:9: agents.a.script[0]: expected a reply (a string, or a mapping with text, tool_calls, delay_ms, error, stop), found a list",
        ),
        (
            "tasks:\n  t:\n    steps: [~]\n",
            "error: /project/config.yaml:3:13: tasks.t.steps[0]: expected a mapping, found nothing (null)",
        ),
    ];
    for (text, expected) in cases {
        assert_eq!(outcome(text), expected, "for {text:?}");
    }
}

#[test]
fn a_yaml_syntax_error_points_at_the_problem() {
    let text = "agents:\n  a:\n    role: \"unclosed\n";
    let message = error(text);
    assert!(
        message.starts_with("/project/config.yaml:4:1: invalid YAML: "),
        "{message}"
    );
    assert!(!message.contains(" at line "), "{message}");
    let text = "settings:\n  timeout: 1\n   bad: 2\n";
    let message = error(text);
    assert!(message.starts_with("/project/config.yaml:3:"), "{message}");
    assert!(
        message.contains("invalid YAML: mapping values are not allowed"),
        "{message}"
    );
}

#[test]
fn servers_default_to_root_port_22_and_the_ssh_key_from_the_environment() {
    let text = "\
servers:
  a: {host: a.example}
  b: {host: b.example, user: deploy, key: ~/.ssh/b, port: 2200, description: B}
";
    let with_env = load_with(text, &[("SSH_KEY_PATH", "/keys/id")])
        .unwrap()
        .config;
    let a = &with_env.servers["a"];
    assert_eq!(
        (a.user.as_str(), a.key.as_str(), a.port),
        ("root", "/keys/id", 22)
    );
    let b = &with_env.servers["b"];
    assert_eq!(
        b,
        &Server {
            host: "b.example".into(),
            user: "deploy".into(),
            key: "~/.ssh/b".into(),
            port: 2200,
            description: "B".into(),
        }
    );
    let without_env = load(text).config;
    assert_eq!(without_env.servers["a"].key, "~/.ssh/id_rsa");
}

#[test]
fn ssh_host_checking_defaults_to_the_v6_environment_variable() {
    let off = load_with("agents: {}\n", &[("SSH_KNOWN_HOSTS_CHECK", "No")]).unwrap();
    assert!(!off.config.settings.ssh_strict_host_checking);
    let written = "settings: {ssh_strict_host_checking: yes}\n";
    let on = load_with(written, &[("SSH_KNOWN_HOSTS_CHECK", "false")]).unwrap();
    assert!(on.config.settings.ssh_strict_host_checking);
}

#[test]
fn sections_with_only_comments_are_empty() {
    let text = "\
settings:
  # nothing yet
servers:
  # production:
  #   host: 1.2.3.4
agents:
tasks:
  # deploy:
";
    let loaded = load(text);
    assert!(loaded.config.servers.is_empty());
    assert!(loaded.config.agents.is_empty());
    assert!(loaded.config.tasks.is_empty());
    assert_eq!(loaded.config.settings.max_retries, 3);
    assert!(loaded.warnings.is_empty());
}

#[test]
fn an_agent_with_an_empty_body_is_skipped_with_a_warning() {
    let text = "\
agents:
  real:
    role: x
  empty:
    # coder, to be written
";
    let loaded = load(text);
    assert_eq!(loaded.config.agents.keys().collect::<Vec<_>>(), ["real"]);
    assert_eq!(
        warnings(text),
        ["/project/config.yaml:4:3: agent `empty` is empty and is skipped"]
    );
}

#[test]
fn a_server_or_task_with_an_empty_body_is_skipped_with_a_warning() {
    let text = "servers:\n  old:\n    # retired\ntasks:\n  later:\n";
    let loaded = load(text);
    assert!(loaded.config.servers.is_empty() && loaded.config.tasks.is_empty());
    assert_eq!(
        warnings(text),
        [
            "/project/config.yaml:2:3: server `old` is empty and is skipped",
            "/project/config.yaml:5:3: task `later` is empty and is skipped",
        ]
    );
}

#[test]
fn entries_keep_file_order() {
    let text = "agents:\n  zed: {}\n  alpha: {}\n  mid: {}\n";
    let config = load(text).config;
    assert_eq!(
        config.agents.keys().collect::<Vec<_>>(),
        ["zed", "alpha", "mid"]
    );
}

#[test]
fn relative_paths_are_relative_to_the_config_directory() {
    let text = "settings:\n  working_dir: ./work/../src\n  log_dir: out/logs\n";
    let s = load(text).config.settings;
    assert_eq!(s.working_dir, PathBuf::from("/project/work/../src"));
    assert_eq!(s.log_dir, PathBuf::from("/project/out/logs"));

    let absolute = load("settings: {working_dir: /srv/app, log_dir: /var/log/tzzr}\n").config;
    assert_eq!(absolute.settings.working_dir, PathBuf::from("/srv/app"));
    assert_eq!(absolute.settings.log_dir, PathBuf::from("/var/log/tzzr"));

    let home = load_with("settings: {working_dir: ~/code}\n", &[("HOME", "/home/u")]).unwrap();
    assert_eq!(
        home.config.settings.working_dir,
        PathBuf::from("/home/u/code")
    );
}

#[test]
fn a_config_named_without_a_directory_has_an_absolute_base_dir() {
    let loaded = load_str_with("agents: {}\n", Path::new("config.yaml"), &|_| None).unwrap();
    let cwd = std::env::current_dir().unwrap();
    assert_eq!(loaded.config.base_dir, cwd);
    assert_eq!(loaded.config.settings.working_dir, cwd);
}

#[test]
fn tzzr_keys_are_read() {
    let text = "\
settings:
  budget_usd: 5
providers:
  local:
    kind: openai
    api_base: http://127.0.0.1:11434/v1
    api_key_env: LOCAL_KEY
    rpm: 30
    tpm: 100000
    concurrency: 2
  cli:
    kind: claude
    command: /opt/claude
models:
  fast:
    model: gpt-4o-mini
    input: 0.15
    output: 0.6
    cache_read: 0.075
    cache_write: 0.3
    context_window: 128000
    tool_protocol: native
agents:
  a:
    provider: local
    model: fast
    api_base: http://127.0.0.1:8080/v1
    temperature: 0.5
    max_tokens: 1000
    budget_usd: 0.25
    tool_protocol: text
";
    let config = load(text).config;
    assert_eq!(config.settings.budget_usd, Some(5.0));
    assert_eq!(
        config.providers["local"],
        ProviderSpec {
            kind: ProviderKind::OpenAi,
            api_base: Some("http://127.0.0.1:11434/v1".into()),
            api_key_env: Some("LOCAL_KEY".into()),
            rpm: Some(30),
            tpm: Some(100_000),
            concurrency: Some(2),
            command: None,
        }
    );
    assert_eq!(config.providers["cli"].kind, ProviderKind::ClaudeCli);
    assert_eq!(
        config.providers["cli"].command.as_deref(),
        Some("/opt/claude")
    );
    assert_eq!(
        config.models["fast"],
        ModelSpec {
            model: Some("gpt-4o-mini".into()),
            input: Some(0.15),
            output: Some(0.6),
            cache_read: Some(0.075),
            cache_write: Some(0.3),
            context_window: Some(128_000),
            tool_protocol: Some(ToolProtocol::Native),
        }
    );
    let a = &config.agents["a"];
    assert_eq!(a.api_base.as_deref(), Some("http://127.0.0.1:8080/v1"));
    assert_eq!(
        (a.temperature, a.max_tokens, a.budget_usd),
        (Some(0.5), Some(1000), Some(0.25))
    );
    assert_eq!(a.tool_protocol, Some(ToolProtocol::Text));
}

#[test]
fn a_provider_named_like_a_builtin_needs_no_kind() {
    let config = load("providers:\n  openai:\n    api_base: http://127.0.0.1:1/v1\n").config;
    assert_eq!(config.providers["openai"].kind, ProviderKind::OpenAi);
}

#[test]
fn scripted_replies_may_be_strings_or_mappings() {
    let text = "\
agents:
  bot:
    provider: scripted
    script:
      - Hello there
      - text: Let me look.
        tool_calls:
          - tool: read
            params: {path: README.md}
          - tool: list_dir
        delay_ms: 20
      - error: rate limited
";
    let script = load(text).config.agents["bot"].script.clone();
    assert_eq!(
        script,
        vec![
            ScriptedReply {
                text: "Hello there".into(),
                ..ScriptedReply::default()
            },
            ScriptedReply {
                text: "Let me look.".into(),
                tool_calls: vec![
                    ScriptedToolCall {
                        tool: "read".into(),
                        params: serde_json::json!({"path": "README.md"}),
                        cut: false,
                    },
                    ScriptedToolCall {
                        tool: "list_dir".into(),
                        params: serde_json::json!({}),
                        cut: false,
                    },
                ],
                delay: Duration::from_millis(20),
                error: None,
                stop: None,
            },
            ScriptedReply {
                error: Some("rate limited".into()),
                ..ScriptedReply::default()
            },
        ]
    );
}

#[test]
fn a_scripted_tool_call_without_a_tool_is_an_error() {
    let text = "agents:\n  bot:\n    provider: scripted\n    script:\n      - tool_calls:\n          - params: {}\n";
    assert_eq!(
        error(text),
        "/project/config.yaml:6:11: agents.bot.script[0].tool_calls[0] has no `tool`"
    );
}

#[test]
fn a_script_on_a_provider_that_is_not_scripted_is_warned_about() {
    let text = "\
providers:
  demo: {kind: scripted}
agents:
  quiet:
    provider: demo
  talker:
    provider: claude
    script: [hi]
";
    assert_eq!(
        warnings(text),
        [
            "/project/config.yaml:8:5: agent `talker` has a `script:` but its provider `claude` is not scripted; the script is ignored",
        ]
    );
}

// --- unknown keys ---

#[test]
fn an_unknown_key_is_a_warning_that_names_the_nearest_key_and_its_place() {
    let text = "\
agents:
  coder:
    role: x
    tols:
      - bash
";
    let loaded = load(text);
    assert!(loaded.config.agents["coder"].tools.is_empty());
    assert_eq!(
        warnings(text),
        ["/project/config.yaml:4:5: unknown key `tols` in agents.coder; did you mean `tools`?"]
    );
}

#[test]
fn unknown_keys_are_found_in_every_section_and_nested_list() {
    let text = "\
setings:
  timeout: 1
settings:
  max_retry: 2
agents:
  bot:
    provider: scripted
    script:
      - text: hi
        delay: 5
tasks:
  t:
    steps:
      - agent: bot
        promt: go
";
    assert_eq!(
        warnings(text),
        [
            "/project/config.yaml:1:1: unknown key `setings` at the top level; did you mean `settings`?",
            "/project/config.yaml:4:3: unknown key `max_retry` in settings; did you mean `max_retries`?",
            "/project/config.yaml:10:9: unknown key `delay` in agents.bot.script[0]; did you mean `delay_ms`?",
            "/project/config.yaml:15:9: unknown key `promt` in tasks.t.steps[0]; did you mean `prompt`?",
        ]
    );
}

#[test]
fn an_unknown_key_like_no_known_key_lists_the_known_keys() {
    assert_eq!(
        warnings("servers:\n  a:\n    host: h\n    zzz: 1\n"),
        [
            "/project/config.yaml:4:5: unknown key `zzz` in servers.a (known keys: host, user, key, port, description)"
        ]
    );
}

#[test]
fn every_key_of_the_format_is_known() {
    let text = "\
settings:
  default_provider: claude
  default_model: sonnet
  timeout: 1
  working_dir: .
  max_tool_iterations: 1
  sandbox_paths: true
  ssh_strict_host_checking: true
  allowed_commands: [ls]
  rate_limit_per_minute: 1
  max_retries: 1
  retry_delay: 1
  enable_circuit_breaker: true
  circuit_breaker_threshold: 1
  circuit_breaker_timeout: 1
  budget_usd: 1
  log_dir: logs
  approval: ask
  require_sandbox: true
  http_allow_private: false
servers:
  s: {host: h, user: u, key: k, port: 1, description: d}
mcp_servers:
  fs: {command: npx, args: [x], env: {A: b}, description: d}
  web: {url: http://127.0.0.1:1/mcp, headers: {A: b}}
providers:
  p: {kind: openai, api_base: b, api_key_env: K, rpm: 1, tpm: 1, concurrency: 1, command: c}
models:
  m: {model: x, input: 1, output: 1, cache_read: 1, cache_write: 1, context_window: 1, tool_protocol: auto}
agents:
  a:
    role: r
    provider: scripted
    model: m
    tools: [bash]
    servers: [s]
    max_turns: 1
    api_base: b
    temperature: 0
    max_tokens: 1
    budget_usd: 1
    tool_protocol: auto
    approval: {bash: ask}
    mcp: [fs, web]
    script:
      - {text: t, tool_calls: [{tool: bash, params: {command: ls}}], delay_ms: 1, error: e}
tasks:
  t:
    description: d
    steps: [{agent: a, prompt: p}]
";
    assert_eq!(warnings(text), Vec::<String>::new());
}

// --- validation ---

#[test]
fn unknown_tool_is_an_error_that_names_the_nearest_tool() {
    let text = "\
agents:
  coder:
    tools:
      - read
      - bsh
";
    assert_eq!(
        error(text),
        "/project/config.yaml:5:9: agent `coder` names unknown tool `bsh`; did you mean `bash`? (known: bash, read, write, glob, grep, http_request, ssh, list_dir)"
    );
}

#[test]
fn unknown_tool_in_a_flow_list_points_at_the_item() {
    assert_eq!(
        error("agents:\n  coder:\n    tools: [read, zzz]\n"),
        "/project/config.yaml:3:19: agent `coder` names unknown tool `zzz` (known: bash, read, write, glob, grep, http_request, ssh, list_dir)"
    );
}

#[test]
fn sandbox_and_http_settings_default_to_off() {
    let s = load("agents:\n  a:\n    role: hi\n").config.settings;
    assert!(!s.require_sandbox && !s.http_allow_private);
    let s = load("settings:\n  require_sandbox: yes\n  http_allow_private: true\n")
        .config
        .settings;
    assert!(s.require_sandbox && s.http_allow_private);
}

#[test]
fn mcp_servers_are_stdio_programs_or_http_urls() {
    let text = "\
mcp_servers:
  everything:
    command: node
    args: [server.js, stdio]
    env: {DEBUG: '1'}
  remote:
    url: https://mcp.example.com/mcp
    headers: {Authorization: Bearer x}
agents:
  a:
    mcp: [everything, remote]
";
    let config = load(text).config;
    assert_eq!(
        config.mcp_servers["everything"].transport,
        McpTransport::Stdio {
            command: "node".into(),
            args: vec!["server.js".into(), "stdio".into()],
            env: IndexMap::from([("DEBUG".to_owned(), "1".to_owned())]),
        }
    );
    assert!(matches!(
        &config.mcp_servers["remote"].transport,
        McpTransport::Http { url, headers } if url == "https://mcp.example.com/mcp" && headers.len() == 1
    ));
    assert_eq!(config.agents["a"].mcp, ["everything", "remote"]);
}

#[test]
fn an_mcp_server_needs_exactly_one_way_to_reach_it() {
    assert_eq!(
        error("mcp_servers:\n  x:\n    args: [a]\n"),
        "/project/config.yaml:2:3: MCP server `x` needs a `command` (a program speaking MCP on stdio) or a `url` (streamable HTTP)"
    );
    assert_eq!(
        error("mcp_servers:\n  x: {command: a, url: b}\n"),
        "/project/config.yaml:2:3: MCP server `x` has both `command` and `url`; keep one (command for a program on stdio, url for streamable HTTP)"
    );
    assert_eq!(
        error("mcp_servers:\n  my__fs: {command: a}\n"),
        "/project/config.yaml:2:3: MCP server name `my__fs` may hold only letters, digits, `-` and single `_` (its tools are named mcp__my__fs__TOOL)"
    );
}

#[test]
fn an_agent_naming_an_unknown_mcp_server_is_an_error() {
    let text = "mcp_servers:\n  files: {command: a}\nagents:\n  a:\n    mcp: [file]\n";
    assert_eq!(
        error(text),
        "/project/config.yaml:5:11: agent `a` names unknown MCP server `file`; did you mean `files`? (MCP servers: files)"
    );
}

#[test]
fn unknown_server_is_an_error_that_names_the_nearest_server() {
    let text = "\
servers:
  production: {host: p}
  staging: {host: s}
agents:
  deployer:
    tools: [ssh]
    servers:
      - prod
";
    assert_eq!(
        error(text),
        "/project/config.yaml:8:9: agent `deployer` names unknown server `prod`; did you mean `production`? (servers: production, staging)"
    );
    assert_eq!(
        error("agents:\n  a:\n    servers: [web]\n"),
        "/project/config.yaml:3:15: agent `a` names unknown server `web` (no servers are defined under `servers:`)"
    );
}

#[test]
fn unknown_provider_is_an_error_that_names_the_nearest_provider() {
    let text = "\
providers:
  local: {kind: openai}
agents:
  a:
    provider: openia
";
    assert_eq!(
        error(text),
        "/project/config.yaml:5:15: agent `a` uses unknown provider `openia`; did you mean `openai`? (known: claude, litellm, openai, anthropic, scripted, local)"
    );
}

#[test]
fn an_unknown_default_provider_is_reported_at_the_setting() {
    let text = "settings:\n  default_provider: cloude\nagents:\n  a: {role: x}\n";
    assert_eq!(
        error(text),
        "/project/config.yaml:2:21: agent `a` uses unknown provider `cloude` (from settings.default_provider); did you mean `claude`? (known: claude, litellm, openai, anthropic, scripted)"
    );
}

#[test]
fn task_step_naming_an_unknown_agent_is_an_error() {
    let text = "\
agents:
  coder: {}
  deployer: {}
tasks:
  deploy:
    description: Deploy
    steps:
      - agent: coder
        prompt: Run tests
      - agent: deployr
        prompt: Deploy
";
    assert_eq!(
        error(text),
        "/project/config.yaml:10:16: step 2 of task `deploy` names unknown agent `deployr`; did you mean `deployer`? (agents: coder, deployer)"
    );
}

#[test]
fn a_task_step_without_an_agent_is_an_error() {
    let text = "tasks:\n  t:\n    steps:\n      - prompt: go\n";
    assert_eq!(
        error(text),
        "/project/config.yaml:4:7: step 1 of task `t` names no `agent`"
    );
}

#[test]
fn a_provider_of_unknown_kind_is_an_error() {
    let text = "providers:\n  local:\n    kind: olama\n";
    assert_eq!(
        error(text),
        "/project/config.yaml:3:11: provider `local` has unknown kind `olama` (kinds: claude, litellm, openai, anthropic, scripted)"
    );
    let text = "providers:\n  local:\n    kind: opena\n";
    assert!(error(text).contains("did you mean `openai`?"));
    assert_eq!(
        error("providers:\n  local:\n    rpm: 5\n"),
        "/project/config.yaml:2:3: provider `local` needs a `kind:` (one of claude, litellm, openai, anthropic, scripted)"
    );
}

#[test]
fn an_unknown_tool_protocol_is_an_error() {
    assert_eq!(
        error("agents:\n  a:\n    tool_protocol: nativ\n"),
        "/project/config.yaml:3:20: agent `a` has unknown tool_protocol `nativ`; did you mean `native`? (one of: auto, native, text)"
    );
    assert_eq!(
        error("models:\n  m: {tool_protocol: json}\n"),
        "/project/config.yaml:2:22: model `m` has unknown tool_protocol `json` (one of: auto, native, text)"
    );
}

#[test]
fn a_negative_budget_is_an_error() {
    assert_eq!(
        error("settings:\n  budget_usd: -1\n"),
        "/project/config.yaml:2:15: settings.budget_usd is negative (-1); it must be 0 or more"
    );
    assert_eq!(
        error("agents:\n  a:\n    budget_usd: -0.5\n"),
        "/project/config.yaml:3:17: agent `a` has a negative budget_usd (-0.5); it must be 0 or more"
    );
}

#[test]
fn zero_max_turns_is_an_error() {
    assert_eq!(
        error("agents:\n  a:\n    max_turns: 0\n"),
        "/project/config.yaml:3:16: agent `a` has max_turns 0; it must be at least 1"
    );
    assert_eq!(
        error("settings:\n  max_tool_iterations: 0\nagents:\n  a: {}\n"),
        "/project/config.yaml:2:24: settings.max_tool_iterations is 0; it must be at least 1"
    );
}

#[test]
fn the_first_error_in_the_file_is_the_one_reported() {
    let text = "\
agents:
  a:
    tools: [bsh]
    provider: nope
";
    assert!(error(text).starts_with("/project/config.yaml:3:13: agent `a` names unknown tool"));
}

// --- discover and load_file ---

#[test]
fn discover_prefers_config_yaml_then_config_yml_then_the_user_config_dir() {
    let cwd = tempfile::tempdir().unwrap();
    let user = tempfile::tempdir().unwrap();
    let (cwd, user) = (cwd.path(), user.path());

    let searched = vec![
        cwd.join("config.yaml"),
        cwd.join("config.yml"),
        user.join("config.yaml"),
    ];
    match discover(None, cwd, Some(user)) {
        Err(ConfigError::NotFound { searched: got }) => assert_eq!(got, searched),
        other => panic!("expected NotFound, got {other:?}"),
    }

    let found = |path: PathBuf, is_workspace: bool| ConfigFile { path, is_workspace };
    std::fs::write(user.join("config.yaml"), "").unwrap();
    assert_eq!(
        discover(None, cwd, Some(user)).unwrap(),
        found(user.join("config.yaml"), false)
    );
    std::fs::write(cwd.join("config.yml"), "").unwrap();
    assert_eq!(
        discover(None, cwd, Some(user)).unwrap(),
        found(cwd.join("config.yml"), true)
    );
    std::fs::write(cwd.join("config.yaml"), "").unwrap();
    assert_eq!(
        discover(None, cwd, Some(user)).unwrap(),
        found(cwd.join("config.yaml"), true)
    );
    // Working in the user config dir: its config is the user's.
    assert!(!discover(None, user, Some(user)).unwrap().is_workspace);
}

#[test]
fn discover_takes_an_explicit_path_or_says_it_is_missing() {
    let dir = tempfile::tempdir().unwrap();
    let mine = dir.path().join("team.yaml");
    std::fs::write(&mine, "").unwrap();
    std::fs::write(dir.path().join("config.yaml"), "").unwrap();
    assert_eq!(
        discover(Some(&mine), dir.path(), None).unwrap(),
        ConfigFile {
            path: mine.clone(),
            is_workspace: false
        }
    );
    assert_eq!(
        discover(Some(&mine), dir.path(), None).unwrap().origin(),
        crate::engine::env::Origin::User(mine.clone())
    );

    let missing = dir.path().join("missing.yaml");
    let err = discover(Some(&missing), dir.path(), None).unwrap_err();
    assert!(
        matches!(&err, ConfigError::NotFound { searched } if searched == std::slice::from_ref(&missing))
    );
    assert!(err.to_string().contains("missing.yaml"), "{err}");
}

#[test]
fn load_file_reads_the_file_and_places_paths_beside_it() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("team.yaml");
    std::fs::write(&file, "agents:\n  a: {tools: [read]}\n").unwrap();
    let config = load_file(&file).unwrap().config;
    assert_eq!(config.base_dir, dir.path());
    assert_eq!(config.settings.log_dir, dir.path().join("logs"));

    let err = load_file(&dir.path().join("nope.yaml")).unwrap_err();
    assert!(matches!(err, ConfigError::Read { .. }), "{err}");
}

// --- approvals ---

#[test]
fn tools_that_change_the_world_ask_unless_the_config_says_otherwise() {
    use crate::engine::tools::approval::Policy;
    let config = load(
        "\
settings:
  approval: {bash: deny}
agents:
  careful: {tools: [write, bash, read]}
  trusted: {approval: auto}
  mixed: {approval: {write: auto, read: ask}}
",
    )
    .config;
    let policy = |agent: &str, tool: &str| config.agents[agent].approval.for_tool(tool);
    assert_eq!(policy("careful", "write"), Policy::Ask);
    assert_eq!(policy("careful", "bash"), Policy::Deny);
    assert_eq!(policy("careful", "read"), Policy::Auto);
    assert_eq!(
        policy("trusted", "bash"),
        Policy::Auto,
        "the agent's word wins"
    );
    assert_eq!(policy("mixed", "write"), Policy::Auto);
    assert_eq!(policy("mixed", "read"), Policy::Ask);
    assert_eq!(policy("mixed", "bash"), Policy::Deny);
}

#[test]
fn an_unknown_approval_word_or_tool_is_an_error_at_its_place() {
    assert_eq!(
        error("agents:\n  a:\n    approval: asks\n"),
        "/project/config.yaml:3:15: agent `a` has unknown approval `asks`; did you mean `ask`? (one of: auto, ask, deny)"
    );
    assert_eq!(
        error("settings:\n  approval:\n    wirte: auto\n"),
        "/project/config.yaml:3:5: settings's approval names unknown tool `wirte`; did you mean `write`? (known: bash, read, write, glob, grep, http_request, ssh, list_dir)"
    );
}

#[test]
fn approval_may_name_a_tool_of_a_configured_mcp_server() {
    use crate::engine::tools::approval::Policy;
    let config = load(
        "\
mcp_servers:
  everything: {command: node}
settings:
  approval: {mcp__everything__get-sum: deny}
agents:
  a:
    mcp: [everything]
    approval: {mcp__everything__echo: auto}
",
    )
    .config;
    let policy = |tool: &str| config.agents["a"].approval.for_tool(tool);
    assert_eq!(policy("mcp__everything__echo"), Policy::Auto);
    assert_eq!(
        policy("mcp__everything__get-sum"),
        Policy::Deny,
        "inherited from settings"
    );
    assert_eq!(
        policy("mcp__everything__get-env"),
        Policy::Ask,
        "MCP tools ask by default"
    );
}

#[test]
fn approval_of_a_tool_of_an_unknown_mcp_server_is_an_error_at_its_key() {
    assert_eq!(
        error(
            "mcp_servers:\n  everything: {command: node}\nagents:\n  a:\n    approval: {mcp__everythin__echo: auto}\n"
        ),
        "/project/config.yaml:5:16: agent `a`'s approval names `mcp__everythin__echo`, a tool of unknown MCP server `everythin`; did you mean `everything`? (MCP servers: everything)"
    );
    assert_eq!(
        error("settings:\n  approval:\n    mcp__web__fetch: auto\n"),
        "/project/config.yaml:3:5: settings's approval names `mcp__web__fetch`, a tool of unknown MCP server `web` (no MCP servers are defined under `mcp_servers:`)"
    );
}

#[test]
fn an_approval_key_that_looks_like_mcp_but_names_no_tool_is_an_error() {
    assert_eq!(
        error(
            "mcp_servers:\n  everything: {command: node}\nsettings:\n  approval:\n    mcp__everything: auto\n"
        ),
        "/project/config.yaml:5:5: settings's approval names `mcp__everything`, which is not a tool of an MCP server; write mcp__SERVER__TOOL (e.g. mcp__everything__echo)"
    );
}

#[test]
fn a_scripted_reply_may_end_cut_with_a_cut_call() {
    let text = "
agents:
  bot:
    provider: scripted
    script:
      - text: The list goes on
        stop: max_tokens
        tool_calls:
          - {tool: write, params: {path: a.txt}, cut: true}
";
    let script = load(text).config.agents["bot"].script.clone();
    assert_eq!(
        script[0].stop,
        Some(crate::engine::config::ScriptedStop::MaxTokens)
    );
    assert!(script[0].tool_calls[0].cut);
    assert_eq!(
        error(
            "agents:\n  a:\n    provider: scripted\n    script:\n      - {text: x, stop: max_token}\n"
        ),
        "/project/config.yaml:5:25: agents.a.script[0] has unknown stop `max_token`; did you mean `max_tokens`? (one of: max_tokens, content_filter, refusal)"
    );
}

#[test]
fn compaction_settings_default_to_85_percent_and_the_agents_own_model() {
    let loaded = load("agents:\n  a: {}\n  b:\n    compact_at: 0.5\n    compaction_model: small\n");
    let settings = &loaded.config.settings;
    assert_eq!(
        (settings.compact_at, settings.compaction_model.as_deref()),
        (0.85, None)
    );
    let a = &loaded.config.agents["a"];
    assert_eq!((a.compact_at, a.compaction_model.as_deref()), (0.85, None));
    let b = &loaded.config.agents["b"];
    assert_eq!(
        (b.compact_at, b.compaction_model.as_deref()),
        (0.5, Some("small"))
    );
    let inherited = load("settings:\n  compaction_model: cheap\nagents:\n  a: {}\n");
    assert_eq!(
        inherited.config.agents["a"].compaction_model.as_deref(),
        Some("cheap")
    );
}

#[test]
fn fallbacks_are_model_names_or_a_provider_and_model_and_agents_inherit_settings() {
    use crate::engine::config::Fallback;
    let text = "
settings:
  fallback: [gpt-4o-mini]
agents:
  a: {provider: openai, model: gpt-4o}
  b:
    provider: openai
    model: gpt-4o
    fallback:
      - {provider: anthropic, model: claude-3-5-haiku}
      - gpt-4o-mini
";
    let config = load(text).config;
    let own = |model: &str| Fallback {
        provider: None,
        model: model.into(),
    };
    assert_eq!(config.agents["a"].fallback, [own("gpt-4o-mini")]);
    assert_eq!(
        config.agents["b"].fallback,
        [
            Fallback {
                provider: Some("anthropic".into()),
                model: "claude-3-5-haiku".into()
            },
            own("gpt-4o-mini")
        ]
    );
}

#[test]
fn a_fallback_with_an_unknown_provider_or_no_model_is_an_error() {
    assert_eq!(
        error("agents:\n  a:\n    fallback:\n      - {provider: antropic, model: m}\n"),
        "/project/config.yaml:4:20: agent `a`'s fallback 1 uses unknown provider `antropic`; did you mean `anthropic`? (known: claude, litellm, openai, anthropic, scripted)"
    );
    assert_eq!(
        error("settings:\n  fallback:\n    - {provider: opena, model: m}\n"),
        "/project/config.yaml:3:18: settings's fallback 1 uses unknown provider `opena`; did you mean `openai`? (known: claude, litellm, openai, anthropic, scripted)"
    );
    assert_eq!(
        error("agents:\n  a:\n    fallback:\n      - {provider: openai}\n"),
        "/project/config.yaml:4:7: agent `a`'s fallback 1 names no model; write a model name, or {provider: NAME, model: MODEL}"
    );
}

#[test]
fn a_compact_at_that_is_no_share_of_the_window_is_an_error() {
    assert_eq!(
        error("settings:\n  compact_at: 85\n"),
        "/project/config.yaml:2:15: settings has compact_at 85; it must be a share of the context window above 0.1 and at most 1 (0.85 is the default)"
    );
    assert!(error("agents:\n  a:\n    compact_at: 0\n").contains("agent `a` has compact_at 0"));
}

// --- tasks ---

const TASK_AGENTS: &str = "agents:\n  architect: {provider: scripted}\n  coder: {provider: scripted}\n  reviewer: {provider: scripted}\n";

#[test]
fn a_v6_task_loads_as_single_steps_and_new_keys_are_read() {
    let text = format!(
        "{TASK_AGENTS}tasks:\n  ship:\n    budget_usd: 2\n    steps:\n      - agent: architect\n        prompt: Design\n      - parallel:\n          - {{agent: coder, prompt: Build, id: build, retry: 2, timeout: 90, budget_usd: 0.5, continue_on_error: yes}}\n          - {{agent: reviewer, prompt: Review}}\n"
    );
    let task = &load(&text).config.tasks["ship"];
    assert_eq!(task.budget_usd, Some(2.0));
    assert_eq!(
        task.steps[0],
        TaskStep::Single(StepSpec {
            agent: "architect".into(),
            prompt: "Design".into(),
            ..StepSpec::default()
        })
    );
    let TaskStep::Parallel(group) = &task.steps[1] else {
        panic!("a group: {:?}", task.steps[1]);
    };
    assert_eq!(
        group[0],
        StepSpec {
            id: Some("build".into()),
            agent: "coder".into(),
            prompt: "Build".into(),
            retry: 2,
            timeout: Some(Duration::from_secs(90)),
            budget_usd: Some(0.5),
            continue_on_error: true,
        }
    );
}

#[test]
fn a_step_naming_an_unknown_agent_inside_a_group_is_placed_and_suggests_the_nearest() {
    let text = format!(
        "{TASK_AGENTS}tasks:\n  t:\n    steps:\n      - parallel:\n          - agent: reviewr\n            prompt: x\n"
    );
    assert_eq!(
        error(&text),
        "/project/config.yaml:9:20: step 1.1 of task `t` names unknown agent `reviewr`; did you mean `reviewer`? (agents: architect, coder, reviewer)"
    );
}

#[test]
fn a_duplicate_step_id_is_an_error_at_the_second() {
    let text = format!(
        "{TASK_AGENTS}tasks:\n  t:\n    steps:\n      - {{agent: coder, prompt: a, id: x}}\n      - {{agent: coder, prompt: b, id: x}}\n"
    );
    assert_eq!(
        error(&text),
        "/project/config.yaml:9:39: step 2 of task `t` reuses the id `x` of an earlier step; give each step its own id"
    );
}

#[test]
fn a_placeholder_naming_a_later_or_unknown_step_is_an_error() {
    let later = format!(
        "{TASK_AGENTS}tasks:\n  t:\n    steps:\n      - {{agent: coder, prompt: 'use {{{{steps.plan.output}}}}'}}\n      - {{agent: architect, prompt: p, id: plan}}\n"
    );
    assert_eq!(
        error(&later),
        "/project/config.yaml:8:32: step 1 of task `t` uses {{steps.plan.output}}, but no earlier step has the id `plan` (no step before it has an id)"
    );
    let sibling = format!(
        "{TASK_AGENTS}tasks:\n  t:\n    steps:\n      - {{agent: coder, prompt: a, id: plan}}\n      - parallel:\n          - {{agent: coder, prompt: b, id: build}}\n          - {{agent: reviewer, prompt: '{{{{steps.biuld.output}}}}'}}\n"
    );
    assert_eq!(
        error(&sibling),
        "/project/config.yaml:11:39: step 2.2 of task `t` uses {{steps.biuld.output}}, but no earlier step has the id `biuld` (steps before it: plan)"
    );
}

#[test]
fn an_empty_or_nested_group_is_refused() {
    let empty = format!("{TASK_AGENTS}tasks:\n  t:\n    steps:\n      - parallel: []\n");
    assert_eq!(
        error(&empty),
        "/project/config.yaml:8:9: step 1 of task `t` is an empty `parallel:` group; list at least one step in it, or remove it"
    );
    let nested = format!(
        "{TASK_AGENTS}tasks:\n  t:\n    steps:\n      - parallel:\n          - parallel:\n              - {{agent: coder, prompt: a}}\n"
    );
    assert!(
        error(&nested).ends_with(
            "step 1.1 of task `t` is a parallel group inside a parallel group; list its steps in the outer group"
        ),
        "{}",
        error(&nested)
    );
    let mixed = format!(
        "{TASK_AGENTS}tasks:\n  t:\n    steps:\n      - agent: coder\n        parallel:\n          - {{agent: coder, prompt: a}}\n"
    );
    assert!(
        error(&mixed).ends_with(
            "step 1 of task `t` is a `parallel:` group and cannot have `agent`; set it on the steps inside the group"
        ),
        "{}",
        error(&mixed)
    );
}
