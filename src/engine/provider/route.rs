//! Which endpoint and upstream model an agent talks to: built-in provider names, LiteLLM's model
//! names (v6's aliases and vendor prefixes), named `providers:`, `api_base`, and the key each needs.
//! Pure: reads the config and the environment, touches no network.

use url::Url;

use crate::engine::config::{AgentSpec, Config, ProviderKind, ProviderSpec, ToolProtocol};
use crate::engine::env::{ApiKey, Environment, Origin};
use crate::engine::provider::provenance::{self, Credential, SetBase};
use crate::engine::resilience::endpoint::Dialect;

/// Where an agent's calls go.
#[derive(Clone, Debug, PartialEq)]
pub(crate) enum Route {
    Http(HttpRoute),
    ClaudeCli {
        program: String,
        model: String,
        /// Why the CLI must not be started (its program or its base URL came from the
        /// workspace), and how to fix it.
        refused: Option<String>,
    },
    Scripted {
        model: String,
    },
}

/// An HTTP API endpoint and the model to ask for on it.
#[derive(Clone, Debug, PartialEq)]
pub(crate) struct HttpRoute {
    pub dialect: Dialect,
    /// `openai`, `anthropic`, `gemini`, `groq`, …, or the name of a `providers:` entry.
    pub vendor: String,
    /// Without a trailing slash; OpenAI dialect with its version (`…/v1`), Anthropic the root.
    pub base_url: String,
    pub key: KeyStatus,
    /// The model id sent upstream (vendor prefix removed).
    pub model: String,
    /// The name to look prices up by (the LiteLLM name, e.g. `gemini/gemini-1.5-pro`).
    pub price_model: String,
    pub tool_protocol: ToolProtocol,
    pub rpm: Option<u32>,
    pub tpm: Option<u64>,
    pub concurrency: Option<u32>,
}

impl HttpRoute {
    /// `vendor host[:port]`, for panes and messages.
    pub fn label(&self) -> String {
        let host = Url::parse(&self.base_url)
            .ok()
            .and_then(|u| {
                u.host_str()
                    .map(|h| u.port().map_or(h.to_owned(), |p| format!("{h}:{p}")))
            })
            .unwrap_or_else(|| self.base_url.clone());
        format!("{} {host}", self.vendor)
    }
}

/// Whether the route has the key it needs.
#[derive(Clone, Debug, PartialEq)]
pub(crate) enum KeyStatus {
    Found {
        var: String,
        key: ApiKey,
    },
    /// Local servers (localhost, Ollama) need none.
    NotNeeded,
    /// None of these variables is set.
    Missing {
        vars: Vec<String>,
    },
    /// The key is there but must not go to this base URL ([`provenance`]); `why` says so and
    /// how to fix it.
    Refused {
        why: String,
    },
}

impl KeyStatus {
    pub fn key(&self) -> Option<&ApiKey> {
        match self {
            KeyStatus::Found { key, .. } => Some(key),
            KeyStatus::NotNeeded | KeyStatus::Missing { .. } | KeyStatus::Refused { .. } => None,
        }
    }
}

/// A vendor reachable through a LiteLLM-style prefix.
struct Vendor {
    prefix: &'static str,
    dialect: Dialect,
    base_url: &'static str,
    /// Variables that may override the base URL, in order.
    base_env: &'static [&'static str],
    /// Variables that may hold the key, in order; empty when none is needed.
    key_env: &'static [&'static str],
}

const OPENAI: Vendor = Vendor {
    prefix: "openai",
    dialect: Dialect::OpenAi,
    base_url: "https://api.openai.com/v1",
    base_env: &["OPENAI_BASE_URL", "OPENAI_API_BASE"],
    key_env: &["OPENAI_API_KEY"],
};

const ANTHROPIC: Vendor = Vendor {
    prefix: "anthropic",
    dialect: Dialect::Anthropic,
    base_url: "https://api.anthropic.com",
    base_env: &["ANTHROPIC_BASE_URL"],
    key_env: &["ANTHROPIC_API_KEY"],
};

const VENDORS: [Vendor; 9] = [
    OPENAI,
    ANTHROPIC,
    Vendor {
        prefix: "ollama",
        dialect: Dialect::OpenAi,
        base_url: "http://localhost:11434/v1",
        base_env: &["OLLAMA_API_BASE", "OLLAMA_HOST"],
        key_env: &[],
    },
    Vendor {
        prefix: "ollama_chat",
        dialect: Dialect::OpenAi,
        base_url: "http://localhost:11434/v1",
        base_env: &["OLLAMA_API_BASE", "OLLAMA_HOST"],
        key_env: &[],
    },
    Vendor {
        prefix: "gemini",
        dialect: Dialect::OpenAi,
        base_url: "https://generativelanguage.googleapis.com/v1beta/openai",
        base_env: &["GEMINI_API_BASE"],
        key_env: &["GEMINI_API_KEY", "GOOGLE_API_KEY"],
    },
    Vendor {
        prefix: "groq",
        dialect: Dialect::OpenAi,
        base_url: "https://api.groq.com/openai/v1",
        base_env: &["GROQ_API_BASE"],
        key_env: &["GROQ_API_KEY"],
    },
    Vendor {
        prefix: "mistral",
        dialect: Dialect::OpenAi,
        base_url: "https://api.mistral.ai/v1",
        base_env: &["MISTRAL_API_BASE"],
        key_env: &["MISTRAL_API_KEY"],
    },
    Vendor {
        prefix: "deepseek",
        dialect: Dialect::OpenAi,
        base_url: "https://api.deepseek.com/v1",
        base_env: &["DEEPSEEK_API_BASE"],
        key_env: &["DEEPSEEK_API_KEY"],
    },
    Vendor {
        prefix: "together_ai",
        dialect: Dialect::OpenAi,
        base_url: "https://api.together.xyz/v1",
        base_env: &["TOGETHERAI_API_BASE", "TOGETHER_API_BASE"],
        key_env: &["TOGETHERAI_API_KEY", "TOGETHER_API_KEY"],
    },
];

/// v6's LiteLLM aliases (`LiteLLMProvider.MODEL_ALIASES`), kept so v6 configs mean the same.
const LITELLM_ALIASES: [(&str, &str); 29] = [
    ("gpt4", "gpt-4"),
    ("gpt4o", "gpt-4o"),
    ("gpt4-turbo", "gpt-4-turbo"),
    ("gpt4o-mini", "gpt-4o-mini"),
    ("o1", "o1-preview"),
    ("o1-mini", "o1-mini"),
    ("o3-mini", "o3-mini"),
    ("gemini", "gemini/gemini-1.5-pro"),
    ("gemini-pro", "gemini/gemini-1.5-pro"),
    ("gemini-flash", "gemini/gemini-1.5-flash"),
    ("gemini-2", "gemini/gemini-2.0-flash"),
    ("claude-api", "claude-3-5-sonnet-20241022"),
    ("claude-opus-api", "claude-3-opus-20240229"),
    ("mistral", "mistral/mistral-large-latest"),
    ("mistral-small", "mistral/mistral-small-latest"),
    ("mixtral", "mistral/open-mixtral-8x22b"),
    ("codestral", "mistral/codestral-latest"),
    ("llama3", "ollama/llama3"),
    ("llama3.1", "ollama/llama3.1"),
    ("llama3.2", "ollama/llama3.2"),
    ("codellama", "ollama/codellama"),
    ("mixtral-local", "ollama/mixtral"),
    ("qwen", "ollama/qwen2.5"),
    ("deepseek", "ollama/deepseek-r1"),
    ("groq-llama", "groq/llama-3.3-70b-versatile"),
    ("groq-mixtral", "groq/mixtral-8x7b-32768"),
    (
        "together-llama",
        "together_ai/meta-llama/Llama-3-70b-chat-hf",
    ),
    ("deepseek-chat", "deepseek/deepseek-chat"),
    ("deepseek-coder", "deepseek/deepseek-coder"),
];

/// v6's Claude aliases: the CLI knows `haiku`, `sonnet`, `opus` itself; the semantic ones map to those.
const CLAUDE_CLI_ALIASES: [(&str, &str); 4] = [
    ("fast", "haiku"),
    ("default", "sonnet"),
    ("smart", "sonnet"),
    ("powerful", "opus"),
];

/// Short names for the Anthropic API, which (unlike the CLI) wants full ids.
const ANTHROPIC_ALIASES: [(&str, &str); 7] = [
    ("haiku", "claude-haiku-4-5"),
    ("sonnet", "claude-sonnet-4-5"),
    ("opus", "claude-opus-4-5"),
    ("fast", "claude-haiku-4-5"),
    ("default", "claude-sonnet-4-5"),
    ("smart", "claude-sonnet-4-5"),
    ("powerful", "claude-opus-4-5"),
];

/// The program the `claude` provider runs: the provider's `command`, else `TZZR_CLAUDE_BIN`,
/// else `claude` on PATH; with why it must not run when a workspace file chose it.
pub(crate) fn claude_program(
    env: &Environment,
    spec: Option<(&str, &ProviderSpec)>,
    config_origin: &Origin,
) -> (String, Result<(), String>) {
    if let Some((name, command)) = spec.and_then(|(n, s)| s.command.as_ref().map(|c| (n, c))) {
        let check =
            provenance::check_program(command, config_origin, &format!("providers.{name}.command"));
        return (command.clone(), check);
    }
    match env.lookup("TZZR_CLAUDE_BIN") {
        Some((program, origin)) => {
            let check = provenance::check_program(&program, &origin, "TZZR_CLAUDE_BIN");
            (program, check)
        }
        None => ("claude".to_owned(), Ok(())),
    }
}

/// The Claude CLI's base URL (`ANTHROPIC_BASE_URL` for the child) and the credential it would
/// send there: why that must not happen, if it must not.
fn claude_destination(agent: &AgentSpec, config: &Config, env: &Environment) -> Result<(), String> {
    let setting = format!("agents.{}.api_base", agent.name);
    let env_base = env.lookup("ANTHROPIC_BASE_URL");
    let base = match (&agent.api_base, &env_base) {
        (Some(url), _) => Some(SetBase {
            url,
            origin: &config.origin,
            setting: &setting,
        }),
        (None, Some((url, origin))) => Some(SetBase {
            url,
            origin,
            setting: "ANTHROPIC_BASE_URL",
        }),
        (None, None) => None,
    };
    let key = ["ANTHROPIC_API_KEY", "ANTHROPIC_AUTH_TOKEN"]
        .into_iter()
        .find_map(|var| env.lookup(var).map(|(_, origin)| (var, origin)));
    let credential = match &key {
        Some((var, origin)) => Credential::Key { var, origin },
        None => Credential::ClaudeLogin,
    };
    provenance::check_destination(credential, base.as_ref())
}

/// The `.env` variables the Claude CLI child gets on top of the environment it inherits: those
/// the process does not set itself (the process wins, as everywhere). From a workspace `.env`
/// only the CLI's own `ANTHROPIC_*` settings pass (their base URL checked by
/// [`claude_destination`]): a cloned file must not set `PATH`, `NODE_OPTIONS` or
/// `LD_PRELOAD` for a program tzzr starts.
pub(crate) fn claude_child_env(env: &Environment) -> Vec<(String, String)> {
    let is_set_in_process = |name: &str| env.inherits_process() && std::env::var_os(name).is_some();
    let mut vars: Vec<(String, String)> = env
        .dotenv_entries()
        .filter(|(name, _, _)| !is_set_in_process(name))
        .filter(|(name, _, origin)| match origin {
            Origin::User(_) => true,
            // An isolated environment's variables stand for the process's own; in a loaded one,
            // a `.env` value copied from the process (`${VAR}`) may carry a secret elsewhere.
            Origin::Process => !env.inherits_process(),
            Origin::Workspace(_) => {
                name.starts_with("ANTHROPIC_")
                    && (!name.ends_with("_BASE_URL") || *name == "ANTHROPIC_BASE_URL")
            }
        })
        .map(|(name, value, _)| (name.to_owned(), value.to_owned()))
        .collect();
    vars.sort();
    vars
}

/// Works out where `agent`'s calls go.
pub(crate) fn resolve(agent: &AgentSpec, config: &Config, env: &Environment) -> Route {
    let named = config.providers.get(&agent.provider);
    let kind = named
        .map(|p| p.kind)
        .or_else(|| ProviderKind::from_builtin(&agent.provider));
    // An unknown provider cannot get here: config validation rejects it. Treat it as LiteLLM.
    match kind.unwrap_or(ProviderKind::LiteLlm) {
        ProviderKind::ClaudeCli => {
            let (program, program_check) = claude_program(
                env,
                named.map(|spec| (agent.provider.as_str(), spec)),
                &config.origin,
            );
            let refused = program_check
                .and_then(|()| claude_destination(agent, config, env))
                .err();
            Route::ClaudeCli {
                program,
                model: alias(&CLAUDE_CLI_ALIASES, &agent.model).to_owned(),
                refused,
            }
        }
        ProviderKind::Scripted => Route::Scripted {
            model: agent.model.clone(),
        },
        ProviderKind::LiteLlm => Route::Http(litellm_route(agent, config, env, named)),
        ProviderKind::OpenAi => Route::Http(explicit_route(&OPENAI, agent, config, env, named)),
        ProviderKind::Anthropic => {
            Route::Http(explicit_route(&ANTHROPIC, agent, config, env, named))
        }
    }
}

fn alias<'a>(table: &[(&str, &'a str)], name: &'a str) -> &'a str {
    table
        .iter()
        .find(|(from, _)| *from == name)
        .map_or(name, |(_, to)| to)
}

/// The LiteLLM name an alias stands for: `models:` first, then v6's table.
fn expand_alias(config: &Config, model: &str) -> String {
    if let Some(target) = config.models.get(model).and_then(|m| m.model.clone()) {
        return target;
    }
    alias(&LITELLM_ALIASES, model).to_owned()
}

fn litellm_route(
    agent: &AgentSpec,
    config: &Config,
    env: &Environment,
    named: Option<&ProviderSpec>,
) -> HttpRoute {
    let full = expand_alias(config, &agent.model);
    let (vendor, upstream) = match full.split_once('/') {
        Some((prefix, rest)) => match VENDORS.iter().find(|v| v.prefix == prefix) {
            Some(v) => (v, rest.to_owned()),
            // `meta-llama/…` style names without a known prefix go to OpenAI-compatible servers as is.
            None => (&OPENAI, full.clone()),
        },
        None if full.starts_with("claude") => (&ANTHROPIC, full.clone()),
        None => (&OPENAI, full.clone()),
    };
    build(
        vendor,
        vendor.prefix,
        upstream,
        full.clone(),
        agent,
        config,
        env,
        named,
    )
}

fn explicit_route(
    vendor: &Vendor,
    agent: &AgentSpec,
    config: &Config,
    env: &Environment,
    named: Option<&ProviderSpec>,
) -> HttpRoute {
    let full = expand_alias(config, &agent.model);
    let bare = full
        .strip_prefix(vendor.prefix)
        .and_then(|rest| rest.strip_prefix('/'))
        .unwrap_or(&full);
    let upstream = if vendor.dialect == Dialect::Anthropic {
        alias(&ANTHROPIC_ALIASES, bare).to_owned()
    } else {
        bare.to_owned()
    };
    let label = named.map_or(vendor.prefix, |_| agent.provider.as_str());
    build(
        vendor,
        label,
        upstream.clone(),
        upstream,
        agent,
        config,
        env,
        named,
    )
}

#[expect(clippy::too_many_arguments, reason = "one private assembly step")]
fn build(
    vendor: &Vendor,
    label: &str,
    upstream: String,
    price_model: String,
    agent: &AgentSpec,
    config: &Config,
    env: &Environment,
    named: Option<&ProviderSpec>,
) -> HttpRoute {
    let from_env = vendor
        .base_env
        .iter()
        .find_map(|var| env.lookup(var).map(|(url, origin)| (url, origin, *var)));
    let agent_setting = format!("agents.{}.api_base", agent.name);
    let provider_setting = format!("providers.{}.api_base", agent.provider);
    let set_base: Option<(String, &Origin, &str)> = agent
        .api_base
        .clone()
        .map(|url| (url, &config.origin, agent_setting.as_str()))
        .or_else(|| {
            named
                .and_then(|p| p.api_base.clone())
                .map(|url| (url, &config.origin, provider_setting.as_str()))
        })
        .or_else(|| {
            from_env
                .as_ref()
                .map(|(url, origin, var)| (url.clone(), origin, *var))
        });
    let came_from_env = from_env.is_some()
        && set_base.as_ref().map(|(_, _, setting)| *setting) == from_env.as_ref().map(|f| f.2);
    let base = set_base
        .as_ref()
        .map_or(vendor.base_url, |(url, _, _)| url.as_str());
    let base = normalize_base(vendor, base, came_from_env);
    let key_vars: Vec<String> = match named.and_then(|p| p.api_key_env.clone()) {
        Some(var) => vec![var],
        None => vendor.key_env.iter().map(|v| (*v).to_owned()).collect(),
    };
    let key =
        if let Some((var, key, origin)) =
            env.key_with_origin(&key_vars.iter().map(String::as_str).collect::<Vec<_>>())
        {
            // A base URL someone wrote that is the vendor's own is the vendor's own.
            let is_vendor_default = base == vendor.base_url;
            let destination = set_base.as_ref().filter(|_| !is_vendor_default).map(
                |(_, base_origin, setting)| SetBase {
                    url: &base,
                    origin: base_origin,
                    setting,
                },
            );
            let credential = Credential::Key {
                var: &var,
                origin: &origin,
            };
            match provenance::check_destination(credential, destination.as_ref()) {
                Ok(()) => KeyStatus::Found { var, key },
                Err(why) => KeyStatus::Refused { why },
            }
        } else if key_vars.is_empty() || is_local(&base) {
            KeyStatus::NotNeeded
        } else {
            KeyStatus::Missing { vars: key_vars }
        };
    let models_entry = |name: &str| config.models.get(name).and_then(|m| m.tool_protocol);
    let tool_protocol = agent
        .tool_protocol
        .or_else(|| models_entry(&agent.model))
        .or_else(|| models_entry(&price_model))
        .unwrap_or(ToolProtocol::Auto);
    // `settings.rate_limit_per_minute` is per agent (v6), not the endpoint's.
    HttpRoute {
        dialect: vendor.dialect,
        vendor: label.to_owned(),
        base_url: base,
        key,
        model: upstream,
        price_model,
        tool_protocol,
        rpm: named.and_then(|p| p.rpm),
        tpm: named.and_then(|p| p.tpm),
        concurrency: named.and_then(|p| p.concurrency),
    }
}

/// Trims the trailing slash; Ollama's variables name the server root, so `/v1` is added to them.
fn normalize_base(vendor: &Vendor, base: &str, came_from_env: bool) -> String {
    let trimmed = base.trim_end_matches('/');
    let is_ollama = vendor.prefix.starts_with("ollama");
    if is_ollama && came_from_env && !trimmed.ends_with("/v1") {
        let with_scheme = if trimmed.contains("://") {
            trimmed.to_owned()
        } else {
            format!("http://{trimmed}")
        };
        return format!("{with_scheme}/v1");
    }
    trimmed.to_owned()
}

/// Whether a base URL points at this machine (no key needed there).
pub(crate) fn is_local(base_url: &str) -> bool {
    let Ok(url) = Url::parse(base_url) else {
        return false;
    };
    match url.host() {
        Some(url::Host::Domain(d)) => d == "localhost" || d.ends_with(".localhost"),
        Some(url::Host::Ipv4(ip)) => ip.is_loopback(),
        Some(url::Host::Ipv6(ip)) => ip.is_loopback(),
        None => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::engine::config::{ModelSpec, Settings};
    use crate::engine::tools::approval::ApprovalPolicy;
    use indexmap::IndexMap;
    use std::path::PathBuf;
    use std::time::Duration;

    fn config() -> Config {
        Config {
            source: PathBuf::from("/cfg/config.yaml"),
            origin: Origin::User(PathBuf::from("/cfg/config.yaml")),
            base_dir: PathBuf::from("/cfg"),
            settings: Settings {
                default_provider: "claude".into(),
                default_model: "sonnet".into(),
                timeout: Duration::from_secs(300),
                call_timeout: Duration::from_secs(600),
                working_dir: PathBuf::from("/cfg"),
                max_tool_iterations: 10,
                sandbox_paths: true,
                ssh_strict_host_checking: true,
                allowed_commands: vec![],
                rate_limit_per_minute: 60,
                max_retries: 3,
                retry_delay: Duration::from_secs(1),
                enable_circuit_breaker: true,
                circuit_breaker_threshold: 5,
                circuit_breaker_timeout: Duration::from_secs(30),
                budget_usd: None,
                log_dir: PathBuf::from("/cfg/logs"),
                approval: ApprovalPolicy::default(),
                require_sandbox: false,
                http_allow_private: false,
                loop_guard: 3,
                fallback: Vec::new(),
                compact_at: 0.85,
                compaction_model: None,
                health_interval: std::time::Duration::ZERO,
            },
            servers: IndexMap::new(),
            mcp_servers: IndexMap::new(),
            providers: IndexMap::new(),
            models: IndexMap::new(),
            agents: IndexMap::new(),
            tasks: IndexMap::new(),
        }
    }

    fn agent(provider: &str, model: &str) -> AgentSpec {
        AgentSpec {
            name: "a".into(),
            role: String::new(),
            provider: provider.into(),
            model: model.into(),
            tools: vec![],
            servers: vec![],
            max_turns: 10,
            api_base: None,
            temperature: None,
            max_tokens: None,
            budget_usd: None,
            tool_protocol: None,
            script: vec![],
            approval: ApprovalPolicy::default(),
            mcp: vec![],
            fallback: vec![],
            compact_at: 0.85,
            compaction_model: None,
        }
    }

    fn http(route: Route) -> HttpRoute {
        match route {
            Route::Http(h) => h,
            other => panic!("expected an HTTP route, got {other:?}"),
        }
    }

    #[test]
    fn v6_aliases_route_to_each_vendor_with_its_key() {
        let env = Environment::isolated([("GEMINI_API_KEY", "g"), ("GROQ_API_KEY", "q")]);
        let cfg = config();
        let gem = http(resolve(&agent("litellm", "gemini-pro"), &cfg, &env));
        assert_eq!(
            gem.base_url,
            "https://generativelanguage.googleapis.com/v1beta/openai"
        );
        assert_eq!(gem.model, "gemini-1.5-pro");
        assert_eq!(gem.price_model, "gemini/gemini-1.5-pro");
        assert!(matches!(gem.key, KeyStatus::Found { ref var, .. } if var == "GEMINI_API_KEY"));
        let groq = http(resolve(&agent("litellm", "groq-llama"), &cfg, &env));
        assert_eq!(
            (groq.base_url.as_str(), groq.model.as_str()),
            ("https://api.groq.com/openai/v1", "llama-3.3-70b-versatile")
        );
        let gpt = http(resolve(&agent("litellm", "gpt4o"), &cfg, &env));
        assert_eq!(gpt.model, "gpt-4o");
        assert_eq!(
            gpt.key,
            KeyStatus::Missing {
                vars: vec!["OPENAI_API_KEY".into()]
            }
        );
        let ds = http(resolve(&agent("litellm", "deepseek-chat"), &cfg, &env));
        assert_eq!(
            (ds.vendor.as_str(), ds.model.as_str()),
            ("deepseek", "deepseek-chat")
        );
    }

    #[test]
    fn google_api_key_from_v6_env_example_works_for_gemini() {
        let env = Environment::isolated([("GOOGLE_API_KEY", "g")]);
        let gem = http(resolve(
            &agent("litellm", "gemini/gemini-2.5-pro"),
            &config(),
            &env,
        ));
        assert!(matches!(gem.key, KeyStatus::Found { ref var, .. } if var == "GOOGLE_API_KEY"));
    }

    #[test]
    fn ollama_needs_no_key_and_its_env_base_gets_v1() {
        let env = Environment::isolated([("OLLAMA_API_BASE", "http://gpu-box:11434")]);
        let route = http(resolve(&agent("litellm", "llama3"), &config(), &env));
        assert_eq!(route.base_url, "http://gpu-box:11434/v1");
        assert_eq!(route.model, "llama3");
        assert_eq!(route.key, KeyStatus::NotNeeded);
    }

    #[test]
    fn claude_names_under_litellm_go_to_the_anthropic_api() {
        let env = Environment::isolated([("ANTHROPIC_API_KEY", "k")]);
        let route = http(resolve(&agent("litellm", "claude-api"), &config(), &env));
        assert_eq!(route.dialect, Dialect::Anthropic);
        assert_eq!(route.base_url, "https://api.anthropic.com");
        assert_eq!(route.model, "claude-3-5-sonnet-20241022");
        let prefixed = http(resolve(
            &agent("litellm", "anthropic/claude-haiku-4-5"),
            &config(),
            &env,
        ));
        assert_eq!(prefixed.model, "claude-haiku-4-5");
    }

    #[test]
    fn api_base_on_localhost_needs_no_key_and_env_base_urls_are_honoured() {
        let env = Environment::isolated([("ANTHROPIC_BASE_URL", "http://127.0.0.1:9999/")]);
        let mut a = agent("openai", "smollm2");
        a.api_base = Some("http://127.0.0.1:8080/v1/".into());
        let route = http(resolve(&a, &config(), &env));
        assert_eq!(route.base_url, "http://127.0.0.1:8080/v1");
        assert_eq!(route.key, KeyStatus::NotNeeded);
        let anth = http(resolve(&agent("anthropic", "sonnet"), &config(), &env));
        assert_eq!(anth.base_url, "http://127.0.0.1:9999");
        assert_eq!(anth.model, "claude-sonnet-4-5");
        assert_eq!(anth.key, KeyStatus::NotNeeded);
    }

    #[test]
    fn models_section_adds_aliases() {
        let mut cfg = config();
        cfg.models.insert(
            "fast".into(),
            ModelSpec {
                model: Some("groq/llama-3.1-8b-instant".into()),
                tool_protocol: Some(ToolProtocol::Text),
                ..ModelSpec::default()
            },
        );
        let route = http(resolve(
            &agent("litellm", "fast"),
            &cfg,
            &Environment::isolated::<[(&str, &str); 0], &str, &str>([]),
        ));
        assert_eq!(route.model, "llama-3.1-8b-instant");
        assert_eq!(route.tool_protocol, ToolProtocol::Text);
    }

    #[test]
    fn named_providers_bring_base_key_variable_and_limits() {
        let mut cfg = config();
        cfg.providers.insert(
            "local".into(),
            ProviderSpec {
                kind: ProviderKind::OpenAi,
                api_base: Some("https://llm.internal/v1".into()),
                api_key_env: Some("LOCAL_KEY".into()),
                rpm: Some(600),
                tpm: None,
                concurrency: Some(4),
                command: None,
            },
        );
        let env = Environment::isolated([("LOCAL_KEY", "x")]);
        let route = http(resolve(&agent("local", "qwen"), &cfg, &env));
        assert_eq!(route.vendor, "local");
        assert_eq!(route.base_url, "https://llm.internal/v1");
        assert!(matches!(route.key, KeyStatus::Found { ref var, .. } if var == "LOCAL_KEY"));
        assert_eq!((route.rpm, route.concurrency), (Some(600), Some(4)));
        assert_eq!(route.label(), "local llm.internal");
    }

    #[test]
    fn the_per_agent_rate_limit_is_not_the_endpoints() {
        let cfg = config();
        assert_eq!(cfg.settings.rate_limit_per_minute, 60);
        let route = http(resolve(
            &agent("openai", "gpt-4o"),
            &cfg,
            &Environment::isolated([("OPENAI_API_KEY", "k")]),
        ));
        assert_eq!(
            (route.rpm, route.tpm, route.concurrency),
            (None, None, None)
        );
    }

    #[test]
    fn claude_provider_runs_the_cli_with_cli_aliases() {
        let env = Environment::isolated([("TZZR_CLAUDE_BIN", "/opt/claude")]);
        assert_eq!(
            resolve(&agent("claude", "powerful"), &config(), &env),
            Route::ClaudeCli {
                program: "/opt/claude".into(),
                model: "opus".into(),
                refused: None,
            }
        );
    }

    fn workspace_config() -> Config {
        let mut cfg = config();
        cfg.origin = Origin::Workspace(PathBuf::from("/repo/config.yaml"));
        cfg
    }

    fn dotenv(dir: &std::path::Path, text: &str) -> PathBuf {
        let file = dir.join(".env");
        std::fs::write(&file, text).unwrap();
        file
    }

    #[test]
    fn a_workspace_api_base_never_gets_the_users_key() {
        let env = Environment::isolated([("OPENAI_API_KEY", "sk-user-0123456789")]);
        let mut a = agent("openai", "gpt-4o");
        a.api_base = Some("https://llm.evil.example/v1".into());
        let route = http(resolve(&a, &workspace_config(), &env));
        assert_eq!(route.key.key(), None);
        assert!(
            matches!(&route.key, KeyStatus::Refused { why } if why.starts_with("the key from your environment (OPENAI_API_KEY) would go to https://llm.evil.example/v1 set by ./config.yaml")),
            "{:?}",
            route.key
        );
        // The same config named by the user, or the vendor's own URL, take the key.
        let named = http(resolve(&a, &config(), &env));
        assert!(matches!(named.key, KeyStatus::Found { .. }));
        let default = http(resolve(
            &agent("openai", "gpt-4o"),
            &workspace_config(),
            &env,
        ));
        assert!(matches!(default.key, KeyStatus::Found { .. }));
    }

    #[test]
    fn a_providers_api_base_from_the_workspace_is_held_to_the_same_rule() {
        let mut cfg = workspace_config();
        cfg.providers.insert(
            "proxy".into(),
            ProviderSpec {
                kind: ProviderKind::OpenAi,
                api_base: Some("https://proxy.example/v1".into()),
                api_key_env: Some("GROQ_API_KEY".into()),
                rpm: None,
                tpm: None,
                concurrency: None,
                command: None,
            },
        );
        let env = Environment::isolated([("GROQ_API_KEY", "gsk-user-0123456789")]);
        let route = http(resolve(&agent("proxy", "m"), &cfg, &env));
        assert!(
            matches!(&route.key, KeyStatus::Refused { why } if why.contains("(GROQ_API_KEY) would go to https://proxy.example/v1")),
            "{:?}",
            route.key
        );
    }

    #[test]
    fn a_workspace_dotenv_base_url_gets_only_a_workspace_key() {
        let dir = tempfile::tempdir().unwrap();
        let file = dotenv(
            dir.path(),
            "OPENAI_BASE_URL=https://x.example/v1\nTZZR_TEST_WS_KEY=sk-ws-0123456789\n",
        );
        let (env, _) = Environment::load(&[Origin::Workspace(file)]);
        // The process may or may not have OPENAI_API_KEY: use a named provider's variable.
        let mut cfg = config();
        cfg.providers.insert(
            "p".into(),
            ProviderSpec {
                kind: ProviderKind::OpenAi,
                api_base: None,
                api_key_env: Some("TZZR_TEST_WS_KEY".into()),
                rpm: None,
                tpm: None,
                concurrency: None,
                command: None,
            },
        );
        let route = http(resolve(&agent("p", "m"), &cfg, &env));
        assert_eq!(route.base_url, "https://x.example/v1");
        assert!(
            matches!(route.key, KeyStatus::Found { .. }),
            "{:?}",
            route.key
        );
    }

    #[test]
    fn plain_http_to_another_machine_never_carries_a_key() {
        let env = Environment::isolated([("OPENAI_API_KEY", "sk-user-0123456789")]);
        let mut a = agent("openai", "m");
        a.api_base = Some("http://gpu-box:8080/v1".into());
        let route = http(resolve(&a, &config(), &env));
        assert!(
            matches!(&route.key, KeyStatus::Refused { why } if why.contains("over plain http to http://gpu-box:8080/v1")),
            "{:?}",
            route.key
        );
        // Ollama needs no key: plain http to its box is fine.
        let ollama = Environment::isolated([("OLLAMA_API_BASE", "http://gpu-box:11434")]);
        let route = http(resolve(&agent("litellm", "llama3"), &config(), &ollama));
        assert_eq!(route.key, KeyStatus::NotNeeded);
    }

    #[test]
    fn a_workspace_file_never_chooses_the_claude_program() {
        let dir = tempfile::tempdir().unwrap();
        let file = dotenv(dir.path(), "TZZR_CLAUDE_BIN=./evil-claude\n");
        let (env, _) = Environment::load(&[Origin::Workspace(file)]);
        if std::env::var_os("TZZR_CLAUDE_BIN").is_some() {
            return; // the process's own choice wins; nothing to check here
        }
        let Route::ClaudeCli {
            program, refused, ..
        } = resolve(&agent("claude", "sonnet"), &config(), &env)
        else {
            panic!("expected the CLI")
        };
        assert_eq!(program, "./evil-claude");
        assert!(refused.is_some_and(|why| why.contains("chosen by TZZR_CLAUDE_BIN in ./.env")),);
        let mut cfg = workspace_config();
        cfg.providers.insert(
            "cc".into(),
            ProviderSpec {
                kind: ProviderKind::ClaudeCli,
                api_base: None,
                api_key_env: None,
                rpm: None,
                tpm: None,
                concurrency: None,
                command: Some("/tmp/evil".into()),
            },
        );
        let Route::ClaudeCli { refused, .. } = resolve(&agent("cc", "sonnet"), &cfg, &env) else {
            panic!("expected the CLI")
        };
        assert!(refused.is_some_and(|why| why.contains("providers.cc.command")));
    }

    #[test]
    fn the_claude_cli_never_takes_the_users_credentials_to_a_workspace_base_url() {
        let env = Environment::isolated([("ANTHROPIC_API_KEY", "sk-ant-user-0123456789")]);
        let mut a = agent("claude", "sonnet");
        a.api_base = Some("https://evil.example".into());
        let Route::ClaudeCli { refused, .. } = resolve(&a, &workspace_config(), &env) else {
            panic!("expected the CLI")
        };
        assert!(
            refused.as_deref().is_some_and(|why| why.starts_with(
                "the key from your environment (ANTHROPIC_API_KEY) would go to https://evil.example set by ./config.yaml"
            )),
            "{refused:?}"
        );
        // Without a key the CLI's own login would go there: refused too.
        let no_key = Environment::isolated::<[(&str, &str); 0], &str, &str>([]);
        let Route::ClaudeCli { refused, .. } = resolve(&a, &workspace_config(), &no_key) else {
            panic!("expected the CLI")
        };
        assert!(refused.is_some_and(|why| why.starts_with("your Claude login would go to")));
        let Route::ClaudeCli { refused, .. } = resolve(&a, &config(), &env) else {
            panic!("expected the CLI")
        };
        assert_eq!(refused, None);
    }

    #[test]
    fn a_workspace_dotenv_passes_only_the_clis_own_settings_to_the_child() {
        let dir = tempfile::tempdir().unwrap();
        let theirs = dotenv(
            dir.path(),
            "TZZR_TEST_NODE_OPTIONS=--require=/tmp/evil.js\nANTHROPIC_MODEL=claude-x\nANTHROPIC_BEDROCK_BASE_URL=https://evil\nANTHROPIC_CUSTOM_HEADERS=x-leak: ${HOME}\n",
        );
        let mine = dir.path().join("mine.env");
        std::fs::write(&mine, "TZZR_TEST_MINE=1\n").unwrap();
        let (env, _) = Environment::load(&[Origin::User(mine), Origin::Workspace(theirs)]);
        assert_eq!(
            claude_child_env(&env),
            vec![
                ("ANTHROPIC_MODEL".to_owned(), "claude-x".to_owned()),
                ("TZZR_TEST_MINE".to_owned(), "1".to_owned()),
            ]
        );
        // An isolated environment stands for the process: all of it passes.
        let isolated = Environment::isolated([("HOME", "/tmp/h")]);
        assert_eq!(
            claude_child_env(&isolated),
            vec![("HOME".to_owned(), "/tmp/h".to_owned())]
        );
    }

    #[test]
    fn local_addresses_are_recognised() {
        assert!(is_local("http://127.0.0.1:8080/v1"));
        assert!(is_local("http://localhost:11434"));
        assert!(is_local("http://[::1]:80"));
        assert!(!is_local("https://api.openai.com/v1"));
        assert!(!is_local("not a url"));
    }
}
