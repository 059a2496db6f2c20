//! The configuration: v6's `config.yaml` format (settings, servers, agents, tasks) plus tzzr's
//! optional keys (providers, models, budgets, api_base, …), resolved into typed values with every
//! default applied. Loading reports mistakes with file:line:column.

pub mod diagnose;
pub mod locate;
mod parse;
pub mod raw;
mod read;
mod resolve;
pub mod scalar;
mod validate;

#[cfg(test)]
mod tests;

use std::fmt;
use std::path::{Path, PathBuf};
use std::time::Duration;

use indexmap::IndexMap;

use crate::engine::env::Origin;
use crate::engine::tools::approval::ApprovalPolicy;

/// The built-in provider names an agent's `provider:` may use (besides named `providers:`).
pub const BUILTIN_PROVIDERS: [&str; 5] = ["claude", "litellm", "openai", "anthropic", "scripted"];

/// A loaded, validated configuration.
#[derive(Clone, Debug, PartialEq)]
pub struct Config {
    /// The file it came from.
    pub source: PathBuf,
    /// Whose file that is: base URLs and program paths in a workspace's config must not receive
    /// the user's keys or be run ([`ConfigFile::origin`]). `User` unless the caller says.
    pub origin: Origin,
    /// The directory of that file: relative paths in the config are relative to it.
    pub base_dir: PathBuf,
    pub settings: Settings,
    pub servers: IndexMap<String, Server>,
    /// MCP servers agents may use (`agents.X.mcp`).
    pub mcp_servers: IndexMap<String, McpServerSpec>,
    pub providers: IndexMap<String, ProviderSpec>,
    pub models: IndexMap<String, ModelSpec>,
    pub agents: IndexMap<String, AgentSpec>,
    pub tasks: IndexMap<String, TaskSpec>,
}

/// `settings:` with v6's defaults applied.
#[derive(Clone, Debug, PartialEq)]
pub struct Settings {
    pub default_provider: String,
    pub default_model: String,
    pub timeout: Duration,
    /// The longest one model call may take from first to last byte (`timeout` bounds silence).
    pub call_timeout: Duration,
    /// Absolute: `working_dir` resolved against the config's directory.
    pub working_dir: PathBuf,
    pub max_tool_iterations: u32,
    pub sandbox_paths: bool,
    pub ssh_strict_host_checking: bool,
    pub allowed_commands: Vec<String>,
    /// Requests per minute per endpoint; 0 means no limit.
    pub rate_limit_per_minute: u32,
    pub max_retries: u32,
    pub retry_delay: Duration,
    pub enable_circuit_breaker: bool,
    pub circuit_breaker_threshold: u32,
    pub circuit_breaker_timeout: Duration,
    /// Spending limit for the whole run, in USD.
    pub budget_usd: Option<f64>,
    /// Absolute: where per-agent logs go (`logs/` beside the config by default, as in v6).
    pub log_dir: PathBuf,
    /// The approval policy agents start from (`settings.approval`).
    pub approval: ApprovalPolicy,
    /// Refuse `bash` where the kernel sandbox (Landlock) is missing, instead of running it
    /// unconfined.
    pub require_sandbox: bool,
    /// Let `http_request` reach loopback, private and link-local addresses (local services).
    pub http_allow_private: bool,
    /// The same tool call with the same arguments this many times in a row stops a turn;
    /// 0 turns the guard off.
    pub loop_guard: u32,
    /// The models agents without their own `fallback:` go on with when theirs fails.
    pub fallback: Vec<Fallback>,
    /// Compact an agent's conversation when the next call would fill more than this share of
    /// its model's context window (`settings.compact_at`, 0.85 by default).
    pub compact_at: f64,
    /// The model that writes compaction summaries; `None`: each agent's own model.
    pub compaction_model: Option<String>,
    /// How often the TUI probes every endpoint in the background (token-free); zero: never.
    pub health_interval: Duration,
}

/// One entry of `fallback:`: a model to go on with when the agent's own model cannot answer.
#[derive(Clone, Debug, PartialEq)]
pub struct Fallback {
    /// As written; `None` means the agent's own provider.
    pub provider: Option<String>,
    pub model: String,
}

/// An SSH host an agent may reach.
#[derive(Clone, Debug, PartialEq)]
pub struct Server {
    pub host: String,
    pub user: String,
    /// Path of the private key (`~` not expanded).
    pub key: String,
    pub port: u16,
    pub description: String,
}

/// An entry of `mcp_servers:`: how to reach one MCP server.
#[derive(Clone, Debug, PartialEq)]
pub struct McpServerSpec {
    pub transport: McpTransport,
    pub description: String,
}

#[derive(Clone, Debug, PartialEq)]
pub enum McpTransport {
    /// A program speaking MCP on its stdin and stdout.
    Stdio {
        command: String,
        args: Vec<String>,
        env: IndexMap<String, String>,
    },
    /// A streamable-HTTP MCP endpoint.
    Http {
        url: String,
        headers: IndexMap<String, String>,
    },
}

/// What a provider name stands for.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ProviderKind {
    /// The Claude Code CLI (`claude -p`).
    ClaudeCli,
    /// LiteLLM-style model names routed to each vendor's API.
    LiteLlm,
    /// An OpenAI-compatible chat-completions API.
    OpenAi,
    /// The Anthropic Messages API.
    Anthropic,
    /// Replies written in the config, for demos and tests.
    Scripted,
}

impl ProviderKind {
    /// The kind of a built-in provider name (`claude`, `litellm`, …).
    pub fn from_builtin(name: &str) -> Option<Self> {
        match name {
            "claude" => Some(Self::ClaudeCli),
            "litellm" => Some(Self::LiteLlm),
            "openai" => Some(Self::OpenAi),
            "anthropic" => Some(Self::Anthropic),
            "scripted" => Some(Self::Scripted),
            _ => None,
        }
    }
}

/// A named entry of `providers:`.
#[derive(Clone, Debug, PartialEq)]
pub struct ProviderSpec {
    pub kind: ProviderKind,
    /// Base URL as the SDK of that dialect takes it (OpenAI: with `/v1`; Anthropic: the root).
    pub api_base: Option<String>,
    /// Name of the environment variable that holds the key.
    pub api_key_env: Option<String>,
    pub rpm: Option<u32>,
    pub tpm: Option<u64>,
    /// Calls in flight at once on this endpoint.
    pub concurrency: Option<u32>,
    /// For `kind: claude`: the CLI program to run.
    pub command: Option<String>,
}

/// Whether a model is given tools natively or through v6's ```tool text blocks.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ToolProtocol {
    /// Native tool calling, falling back to text if the server says the model has none.
    Auto,
    Native,
    Text,
}

/// An entry of `models:`: an alias and/or a price and context window for a model name.
#[derive(Clone, Debug, PartialEq, Default)]
pub struct ModelSpec {
    /// What the alias stands for (a LiteLLM-style name), if this entry is an alias.
    pub model: Option<String>,
    /// USD per million tokens.
    pub input: Option<f64>,
    pub output: Option<f64>,
    pub cache_read: Option<f64>,
    pub cache_write: Option<f64>,
    pub context_window: Option<u64>,
    pub tool_protocol: Option<ToolProtocol>,
}

/// One agent, with settings' defaults applied.
#[derive(Clone, Debug, PartialEq)]
pub struct AgentSpec {
    pub name: String,
    pub role: String,
    /// As written (or `settings.default_provider`): a built-in name or a key of `providers:`.
    pub provider: String,
    /// As written (or `settings.default_model`).
    pub model: String,
    pub tools: Vec<String>,
    pub servers: Vec<String>,
    pub max_turns: u32,
    pub api_base: Option<String>,
    pub temperature: Option<f32>,
    pub max_tokens: Option<u32>,
    pub budget_usd: Option<f64>,
    pub tool_protocol: Option<ToolProtocol>,
    /// Replies of a `scripted` agent, played in order (then from the start again).
    pub script: Vec<ScriptedReply>,
    /// Which tool calls run, ask first, or are refused: `settings.approval` with the agent's own
    /// `approval:` over it, one entry per known tool.
    pub approval: ApprovalPolicy,
    /// Names of `mcp_servers:` whose tools this agent gets.
    pub mcp: Vec<String>,
    /// Models to go on with, in order, when this agent's own cannot answer: its own
    /// `fallback:`, else `settings.fallback`.
    pub fallback: Vec<Fallback>,
    /// `settings.compact_at` unless the agent sets its own.
    pub compact_at: f64,
    /// `settings.compaction_model` unless the agent sets its own.
    pub compaction_model: Option<String>,
}

/// One reply of a scripted agent.
#[derive(Clone, Debug, PartialEq, Default)]
pub struct ScriptedReply {
    /// Streamed word by word.
    pub text: String,
    pub tool_calls: Vec<ScriptedToolCall>,
    /// Pause between streamed words.
    pub delay: Duration,
    /// If set, the call fails with this message instead.
    pub error: Option<String>,
    /// How the reply ends when it is not a normal end (`stop: max_tokens`, …).
    pub stop: Option<ScriptedStop>,
}

/// A scripted reply that ends as a real model's would when it is cut or refused.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ScriptedStop {
    MaxTokens,
    ContentFilter,
    Refusal,
}

impl ScriptedStop {
    pub const NAMES: [&str; 3] = ["max_tokens", "content_filter", "refusal"];
}

#[derive(Clone, Debug, PartialEq)]
pub struct ScriptedToolCall {
    pub tool: String,
    pub params: serde_json::Value,
    /// The call's arguments were cut off (`max_tokens`): it arrives as a cut call.
    pub cut: bool,
}

/// A pipeline: each step's output feeds the next.
#[derive(Clone, Debug, PartialEq)]
pub struct TaskSpec {
    pub description: String,
    pub steps: Vec<TaskStep>,
    /// The most the task's turns may cost; no step starts once they have spent it.
    pub budget_usd: Option<f64>,
}

/// One entry of a task's `steps:`: a step, or a group of steps run at once.
#[derive(Clone, Debug, PartialEq)]
pub enum TaskStep {
    Single(StepSpec),
    /// `parallel:`: every step gets the same `{{previous}}` (the answer before the group); the
    /// next step gets the group's answers joined.
    Parallel(Vec<StepSpec>),
}

impl TaskStep {
    /// The steps this entry runs, one for a single step.
    pub fn members(&self) -> &[StepSpec] {
        match self {
            TaskStep::Single(step) => std::slice::from_ref(step),
            TaskStep::Parallel(steps) => steps,
        }
    }
}

/// One prompt sent to one agent, and what to do when its turn fails.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct StepSpec {
    /// The name `{{steps.ID.output}}` refers to it by.
    pub id: Option<String>,
    pub agent: String,
    pub prompt: String,
    /// How many times a failed turn is sent again.
    pub retry: u32,
    /// A turn running longer than this is cancelled (and counts as failed).
    pub timeout: Option<Duration>,
    /// The most this step's turns (retries included) may cost.
    pub budget_usd: Option<f64>,
    /// A failure of this step does not stop the task.
    pub continue_on_error: bool,
}

/// A message about a place in a config file.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Diagnostic {
    pub file: PathBuf,
    /// 1-based; 0 when the place is unknown.
    pub line: usize,
    pub column: usize,
    pub message: String,
}

impl fmt::Display for Diagnostic {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.line == 0 {
            write!(f, "{}: {}", self.file.display(), self.message)
        } else {
            write!(
                f,
                "{}:{}:{}: {}",
                self.file.display(),
                self.line,
                self.column,
                self.message
            )
        }
    }
}

/// A config that could not be loaded.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("no config file found (looked for {}); pass --config FILE or create config.yaml", list_paths(.searched))]
    NotFound { searched: Vec<PathBuf> },
    #[error("{}: cannot read: {source}", .path.display())]
    Read {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("{0}")]
    Invalid(Diagnostic),
}

fn list_paths(paths: &[PathBuf]) -> String {
    paths
        .iter()
        .map(|p| p.display().to_string())
        .collect::<Vec<_>>()
        .join(", ")
}

/// A loaded config and the warnings (unknown keys, …) found while loading it.
#[derive(Clone, Debug)]
pub struct Loaded {
    pub config: Config,
    pub warnings: Vec<Diagnostic>,
}

/// The config file to use, and how it was found.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ConfigFile {
    pub path: PathBuf,
    /// Found in the current directory rather than named with `--config` or kept in the user
    /// config dir: it may have come with a cloned repository.
    pub is_workspace: bool,
}

impl ConfigFile {
    /// The origin of the config's values.
    pub fn origin(&self) -> Origin {
        if self.is_workspace {
            Origin::Workspace(self.path.clone())
        } else {
            Origin::User(self.path.clone())
        }
    }
}

/// The config file to load: `explicit` (`--config`) if given, else `./config.yaml`, `./config.yml`
/// (the workspace's), else `config.yaml` in the user config dir.
pub fn discover(
    explicit: Option<&Path>,
    cwd: &Path,
    user_config_dir: Option<&Path>,
) -> Result<ConfigFile, ConfigError> {
    if let Some(path) = explicit {
        return if path.exists() {
            Ok(ConfigFile {
                path: path.to_path_buf(),
                is_workspace: false,
            })
        } else {
            Err(ConfigError::NotFound {
                searched: vec![path.to_path_buf()],
            })
        };
    }
    let in_cwd = [cwd.join("config.yaml"), cwd.join("config.yml")];
    let in_user_dir = user_config_dir.map(|dir| dir.join("config.yaml"));
    // Working in the user config dir itself makes its config the user's either way.
    let cwd_is_user_dir = user_config_dir.is_some_and(|dir| same_dir(dir, cwd));
    if let Some(found) = in_cwd.iter().find(|path| path.is_file()) {
        return Ok(ConfigFile {
            path: found.clone(),
            is_workspace: !cwd_is_user_dir,
        });
    }
    match in_user_dir.filter(|path| path.is_file()) {
        Some(found) => Ok(ConfigFile {
            path: found,
            is_workspace: false,
        }),
        None => Err(ConfigError::NotFound {
            searched: in_cwd
                .into_iter()
                .chain(user_config_dir.map(|dir| dir.join("config.yaml")))
                .collect(),
        }),
    }
}

fn same_dir(a: &Path, b: &Path) -> bool {
    match (a.canonicalize(), b.canonicalize()) {
        (Ok(a), Ok(b)) => a == b,
        _ => a == b,
    }
}

/// Reads and loads a config file.
pub fn load_file(path: &Path) -> Result<Loaded, ConfigError> {
    load_file_with(path, &process_env)
}

/// Loads config text; `origin` names it in messages and its parent is the base directory.
pub fn load_str(text: &str, origin: &Path) -> Result<Loaded, ConfigError> {
    load_str_with(text, origin, &process_env)
}

/// [`load_file`], reading `SSH_KEY_PATH`, `SSH_KNOWN_HOSTS_CHECK` and `HOME` through `env`
/// (e.g. an [`Environment`](crate::engine::env::Environment) that also holds `.env` values).
pub fn load_file_with(
    path: &Path,
    env: &dyn Fn(&str) -> Option<String>,
) -> Result<Loaded, ConfigError> {
    let text = read::read_config(path)?;
    load_str_with(&text, path, env)
}

/// [`load_str`], reading `SSH_KEY_PATH`, `SSH_KNOWN_HOSTS_CHECK` and `HOME` through `env`.
pub fn load_str_with(
    text: &str,
    origin: &Path,
    env: &dyn Fn(&str) -> Option<String>,
) -> Result<Loaded, ConfigError> {
    let mut report = diagnose::Report::new(text, origin);
    let raw = parse::parse(&mut report).map_err(ConfigError::Invalid)?;
    let config = resolve::resolve(raw, origin, env, &mut report);
    validate::validate(&config, &mut report);
    let warnings = report.finish().map_err(ConfigError::Invalid)?;
    Ok(Loaded { config, warnings })
}

fn process_env(key: &str) -> Option<String> {
    std::env::var(key).ok().filter(|value| !value.is_empty())
}
