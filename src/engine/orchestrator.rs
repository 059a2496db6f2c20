//! The orchestrator: builds every agent from the config (route, endpoint, tools, journal), starts
//! one task per agent, and is the front ends' only handle on them. Endpoints are shared by every
//! agent that uses the same base URL and key.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, PoisonError};

use indexmap::IndexMap;
use serde::Serialize;
use tokio::sync::mpsc::{self, UnboundedReceiver, UnboundedSender};

use crate::engine::agent::{self, AgentHandle, AgentRuntime, BridgeLink, Emitter};
use crate::engine::config::{AgentSpec, Config, ToolProtocol, diagnose};
use crate::engine::cost::{Budgets, CostMeter, CostSummary, PriceTable};
use crate::engine::env::Environment;
use crate::engine::journal::{Journal, JournalHeader};
use crate::engine::journal_writer::JournalWriter;
use crate::engine::mcp::bridge::{Bridge, RuntimeDir};
use crate::engine::mcp::{McpHub, Phase};
use crate::engine::protocol::{
    AgentCommand, AgentEvent, BreakerState, EventKind, LimiterSnapshot, Outcome, TurnId,
};
use crate::engine::provider::ProviderError;
use crate::engine::provider::backend::Backend;
use crate::engine::provider::claude_cli::{self, ClaudeCli, ClaudeCliConfig};
use crate::engine::provider::route::{self, HttpRoute, KeyStatus, Route};
use crate::engine::provider::scripted::Scripted;
use crate::engine::redact::Redactor;
use crate::engine::resilience::endpoint::Dialect;
use crate::engine::resilience::{Breaker, Endpoint, Limiter, RetryPolicy};
use crate::engine::tools::approval::{Asker, Gate};
use crate::engine::tools::exec::{SandboxReport, SandboxSupport};
use crate::engine::tools::protected::Protected;
use crate::engine::tools::{ShellPolicy, SshPolicy, ToolContext, Toolbox};

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
    pub budget_usd: Option<f64>,
    /// Its markdown log.
    pub log: PathBuf,
}

/// Why the orchestrator could not start.
#[derive(Debug, thiserror::Error)]
pub enum StartError {
    #[error("settings.working_dir: {} does not exist or is not a directory; create it or fix the path", .0.display())]
    WorkingDir(PathBuf),
    // `error` is not a `source`: its text is part of this one line already.
    #[error("cannot write the log of agent `{agent}` in {}: {error}{}", .dir.display(), log_dir_hint(.error))]
    Journal {
        agent: String,
        dir: PathBuf,
        error: std::io::Error,
    },
    #[error("cannot set up HTTP: {0}")]
    Http(String),
}

/// A link names its own fix; any other failure is the directory's.
fn log_dir_hint(error: &std::io::Error) -> &'static str {
    if crate::engine::log_dir::is_link_error(error) {
        ""
    } else {
        "; fix settings.log_dir"
    }
}

/// A command for an agent that does not exist.
#[derive(Debug, thiserror::Error, PartialEq)]
#[error("unknown agent `{name}`{}; agents: {}", suggestion(.nearest), .known.join(", "))]
pub struct UnknownAgent {
    pub name: String,
    pub nearest: Option<String>,
    pub known: Vec<String>,
}

fn suggestion(nearest: &Option<String>) -> String {
    nearest
        .as_ref()
        .map(|n| format!("; did you mean `{n}`?"))
        .unwrap_or_default()
}

/// How a health check reaches an agent's provider without spending tokens.
#[derive(Clone, Debug)]
pub enum Probe {
    Endpoint(Arc<Endpoint>),
    ClaudeCli { program: String },
    Scripted,
    Unavailable(String),
}

/// The state of one shared endpoint.
#[derive(Clone, Debug, Serialize)]
pub struct EndpointStatus {
    pub label: String,
    pub dialect: &'static str,
    pub base_url: String,
    pub agents: Vec<String>,
    pub breaker: BreakerState,
    pub limiter: LimiterSnapshot,
}

/// `--status`: v6's fields, plus endpoints and why an agent cannot run.
#[derive(Clone, Debug, Serialize)]
pub struct Status {
    pub config_path: PathBuf,
    pub settings: StatusSettings,
    pub agents: IndexMap<String, AgentStatus>,
    pub servers: Vec<String>,
    pub costs: CostSummary,
    pub endpoints: Vec<EndpointStatus>,
    /// What confines bash on this machine (probed only when an agent has bash).
    pub sandbox: Option<SandboxReport>,
}

#[derive(Clone, Debug, Serialize)]
pub struct StatusSettings {
    pub timeout: f64,
    pub rate_limit: u32,
    pub max_retries: u32,
    pub sandbox_paths: bool,
    pub circuit_breaker: bool,
    pub budget_usd: Option<f64>,
    pub working_dir: PathBuf,
    pub log_dir: PathBuf,
}

#[derive(Clone, Debug, Serialize)]
pub struct AgentStatus {
    pub provider: String,
    pub model: String,
    pub tools: Vec<String>,
    pub target: String,
    pub ready: bool,
    pub problem: Option<String>,
    pub notes: Vec<String>,
    pub log: PathBuf,
}

struct Slot {
    spec: AgentSpec,
    info: AgentInfo,
    probe: Probe,
    handle: AgentHandle,
}

/// The running agents of one config.
pub struct Orchestrator {
    config: Config,
    env: Environment,
    asker: Asker,
    events: UnboundedSender<AgentEvent>,
    working_dir: PathBuf,
    prices: Arc<PriceTable>,
    meter: Arc<Mutex<CostMeter>>,
    endpoints: EndpointPool,
    /// Writes every agent's logs, off the runtime's threads.
    journals: JournalWriter,
    /// The MCP servers the agents use, shared by every agent that lists one.
    mcp: McpHub,
    /// Where Claude agents' bridges live (made with the first one); removed when dropped.
    runtime_dir: Option<RuntimeDir>,
    /// Numbers bridges within the runtime dir.
    bridges_opened: usize,
    slots: IndexMap<String, Slot>,
    next_turn: u64,
}

impl std::fmt::Debug for Orchestrator {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Orchestrator")
            .field("agents", &self.slots.keys().collect::<Vec<_>>())
            .field("endpoints", &self.endpoints.order.len())
            .finish_non_exhaustive()
    }
}

/// What `/reload` changed.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ReloadSummary {
    pub kept: Vec<String>,
    pub restarted: Vec<String>,
    pub added: Vec<String>,
    pub removed: Vec<String>,
}

impl std::fmt::Display for ReloadSummary {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let part = |what: &str, names: &[String]| {
            (!names.is_empty()).then(|| format!("{what} {}", names.join(", ")))
        };
        let parts: Vec<String> = [
            part("restarted", &self.restarted),
            part("added", &self.added),
            part("removed", &self.removed),
        ]
        .into_iter()
        .flatten()
        .collect();
        if parts.is_empty() {
            write!(f, "config reloaded: nothing changed")
        } else {
            write!(
                f,
                "config reloaded: {}; {} kept their conversations",
                parts.join("; "),
                self.kept.len()
            )
        }
    }
}

fn budgets(config: &Config) -> Budgets {
    Budgets {
        total: config.settings.budget_usd,
        per_agent: config
            .agents
            .values()
            .filter_map(|a| a.budget_usd.map(|b| (a.name.clone(), b)))
            .collect(),
    }
}

fn working_dir(config: &Config) -> Result<PathBuf, StartError> {
    config
        .settings
        .working_dir
        .canonicalize()
        .ok()
        .filter(|p| p.is_dir())
        .ok_or_else(|| StartError::WorkingDir(config.settings.working_dir.clone()))
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

fn describe_agent(spec: &AgentSpec, route: &Route, config: &Config) -> AgentInfo {
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

fn tool_context(
    config: &Config,
    env: &Environment,
    working_dir: &Path,
    spec: &AgentSpec,
    runtime_dir: Option<&RuntimeDir>,
) -> ToolContext {
    let s = &config.settings;
    let protected = Protected::new(protected_paths(config, env, working_dir));
    ToolContext {
        working_dir: working_dir.to_path_buf(),
        sandbox_paths: s.sandbox_paths,
        timeout: s.timeout,
        protected: Arc::new(protected),
        hidden: runtime_dir
            .map(|dir| dir.path().to_path_buf())
            .into_iter()
            .collect(),
        output_dir: s
            .log_dir
            .join("outputs")
            .join(crate::engine::journal::file_stem(&spec.name)),
        shell: ShellPolicy {
            allowed_commands: s.allowed_commands.clone(),
            require_sandbox: s.require_sandbox,
            secret_vars: config
                .providers
                .values()
                .filter_map(|p| p.api_key_env.clone())
                .collect(),
        },
        http_allow_private: s.http_allow_private,
        ssh: SshPolicy {
            strict_host_checking: s.ssh_strict_host_checking,
            servers: spec
                .servers
                .iter()
                .filter_map(|name| config.servers.get(name).map(|s| (name.clone(), s.clone())))
                .collect(),
        },
    }
}

/// What tools must not touch of the logs: the log directory, or, when the working directory
/// lies inside it (`log_dir: .`), only the files tzzr writes there.
fn log_paths(config: &Config, working_dir: &Path) -> Vec<PathBuf> {
    let log_dir = &config.settings.log_dir;
    let log_dir_holds_work = log_dir
        .canonicalize()
        .is_ok_and(|dir| working_dir.starts_with(dir));
    if !log_dir_holds_work {
        return vec![log_dir.clone()];
    }
    config
        .agents
        .keys()
        .flat_map(|name| {
            [
                log_dir.join(crate::engine::journal::md_file_name(name)),
                log_dir.join(crate::engine::journal::jsonl_file_name(name)),
            ]
        })
        .chain([log_dir.join("outputs")])
        .collect()
}

/// What no agent may touch: the config file, the logs and every `.env` read.
fn protected_paths(config: &Config, env: &Environment, working_dir: &Path) -> Vec<PathBuf> {
    [config.source.clone()]
        .into_iter()
        .chain(log_paths(config, working_dir))
        .chain(env.dotenv_files().iter().cloned())
        .map(|path| std::path::absolute(&path).unwrap_or(path))
        .collect()
}

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

impl Orchestrator {
    /// Starts every agent of `config`. Must run inside a tokio runtime. The receiver gets every
    /// event of every agent; `asker` says who answers the tool calls that ask for approval.
    pub fn start(
        config: Config,
        env: &Environment,
        asker: Asker,
    ) -> Result<(Self, UnboundedReceiver<AgentEvent>), StartError> {
        let (events, receiver) = mpsc::unbounded_channel();
        let mut env = env.clone();
        env.learn_secrets_of(&config);
        let mut orchestrator = Self {
            working_dir: working_dir(&config)?,
            prices: Arc::new(PriceTable::with_overrides(&config.models)),
            meter: Arc::new(Mutex::new(CostMeter::new(budgets(&config)))),
            endpoints: EndpointPool::new(&config)?,
            journals: JournalWriter::start(),
            mcp: McpHub::start(&config),
            // Made before any agent, so that every shell is started with it hidden.
            runtime_dir: RuntimeDir::create()
                .inspect_err(|e| tracing::warn!("no private runtime directory: {e}"))
                .ok(),
            bridges_opened: 0,
            env,
            asker,
            events,
            slots: IndexMap::new(),
            next_turn: 1,
            config,
        };
        let specs: Vec<AgentSpec> = orchestrator.config.agents.values().cloned().collect();
        for spec in specs {
            let slot = orchestrator.spawn_agent(spec)?;
            orchestrator.slots.insert(slot.spec.name.clone(), slot);
        }
        Ok((orchestrator, receiver))
    }

    /// Builds one agent (route, endpoint, tools, journal) and starts its task.
    fn spawn_agent(&mut self, spec: AgentSpec) -> Result<Slot, StartError> {
        let route = route::resolve(&spec, &self.config, &self.env);
        let mut info = describe_agent(&spec, &route, &self.config);
        let bridge = match route {
            Route::ClaudeCli { .. } => match self.open_bridge() {
                Ok(link) => Some(link),
                Err(why) => {
                    info.notes.push(format!(
                        "tzzr's MCP bridge is off ({why}): the claude CLI gets no tools from tzzr and its own tools are pre-approved"
                    ));
                    None
                }
            },
            Route::Http(_) | Route::Scripted { .. } => None,
        };
        let config = &self.config;
        let (backend, probe, model, price_model, protocol) = build_backend(
            &spec,
            &route,
            config,
            &self.env,
            &self.working_dir,
            &mut self.endpoints,
            bridge
                .as_ref()
                .map(|link| link.bridge.mcp_config().to_path_buf()),
        );
        info.endpoint = backend.endpoint().map(|e| e.label.clone());
        let journal = Journal::open(
            &self.journals,
            &config.settings.log_dir,
            &JournalHeader {
                agent: &spec.name,
                provider: &spec.provider,
                model: &spec.model,
                tools: &spec.tools,
            },
        )
        .map_err(|error| StartError::Journal {
            agent: spec.name.clone(),
            dir: config.settings.log_dir.clone(),
            error,
        })?;
        let name: Arc<str> = spec.name.as_str().into();
        let runtime = AgentRuntime {
            name: name.clone(),
            system_prompt: system_prompt(&spec, config),
            model,
            price_model,
            backend,
            toolbox: Toolbox::new(
                &spec.tools,
                tool_context(
                    config,
                    &self.env,
                    &self.working_dir,
                    &spec,
                    self.runtime_dir.as_ref(),
                ),
            )
            .with_mcp(self.mcp.for_agent(&spec.mcp)),
            gate: Gate::new(&spec.name, spec.approval.clone(), self.asker),
            tool_protocol: protocol,
            max_turns: spec.max_turns.max(1),
            temperature: spec.temperature,
            max_tokens: spec.max_tokens,
            prices: self.prices.clone(),
            meter: self.meter.clone(),
            startup_notes: info.notes.clone(),
            conversation: Vec::new(),
            bridge,
        };
        let handle = agent::spawn(
            runtime,
            Emitter::new(
                name,
                self.events.clone(),
                Some(journal),
                self.env.secrets().clone(),
            ),
        );
        Ok(Slot {
            spec,
            info,
            probe,
            handle,
        })
    }

    /// A bridge for a Claude agent, in the runtime dir (made on first use).
    fn open_bridge(&mut self) -> Result<BridgeLink, String> {
        let program = crate::engine::own_program::for_others()
            .ok_or_else(|| "no tzzr executable is registered to serve it".to_owned())?;
        if self.runtime_dir.is_none() {
            let dir = RuntimeDir::create()
                .map_err(|e| format!("cannot make a private runtime directory: {e}"))?;
            self.runtime_dir = Some(dir);
        }
        let Some(dir) = &self.runtime_dir else {
            return Err("no runtime directory".to_owned());
        };
        let slot = self.bridges_opened;
        self.bridges_opened += 1;
        let (bridge, requests) = Bridge::open(dir, slot, &program)
            .map_err(|e| format!("cannot open its socket in {}: {e}", dir.path().display()))?;
        Ok(BridgeLink { bridge, requests })
    }

    /// Takes a new config: agents whose definition did not change keep running with their
    /// conversations; changed ones restart; new ones start; removed ones stop. A change to
    /// `settings`, `providers` or `models` restarts every agent (their endpoints change).
    /// Costs spent so far stay counted.
    pub async fn reload(
        &mut self,
        config: Config,
        env: &Environment,
    ) -> Result<ReloadSummary, StartError> {
        let mcp_changed = config.mcp_servers != self.config.mcp_servers
            || mcp_servers_in_use(&config) != mcp_servers_in_use(&self.config);
        let everything_changed = config.settings != self.config.settings
            || config.providers != self.config.providers
            || config.models != self.config.models
            || config.servers != self.config.servers
            || mcp_changed;
        let working_dir = working_dir(&config)?;
        let env_changed = self
            .env
            .dotenv_vars()
            .collect::<std::collections::BTreeMap<_, _>>()
            != env
                .dotenv_vars()
                .collect::<std::collections::BTreeMap<_, _>>();
        let mut old = std::mem::take(&mut self.slots);
        let mut summary = ReloadSummary::default();
        if everything_changed || env_changed {
            self.endpoints = EndpointPool::new(&config)?;
            self.prices = Arc::new(PriceTable::with_overrides(&config.models));
        }
        // Every agent restarts below; the old servers stop once none of them is left.
        let old_hub = mcp_changed.then(|| std::mem::replace(&mut self.mcp, McpHub::start(&config)));
        self.config = config;
        self.env = env.clone();
        self.env.learn_secrets_of(&self.config);
        self.working_dir = working_dir;
        self.meter
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .set_budgets(budgets(&self.config));
        let specs: Vec<AgentSpec> = self.config.agents.values().cloned().collect();
        for spec in specs {
            let name = spec.name.clone();
            match old.shift_remove(&name) {
                Some(slot) if slot.spec == spec && !everything_changed && !env_changed => {
                    summary.kept.push(name.clone());
                    self.slots.insert(name, slot);
                }
                Some(slot) => {
                    slot.handle.shutdown().await;
                    summary.restarted.push(name.clone());
                    let slot = self.spawn_agent(spec)?;
                    self.slots.insert(name, slot);
                }
                None => {
                    summary.added.push(name.clone());
                    let slot = self.spawn_agent(spec)?;
                    self.slots.insert(name, slot);
                }
            }
        }
        for (name, slot) in old {
            slot.handle.shutdown().await;
            summary.removed.push(name);
        }
        if let Some(old_hub) = old_hub {
            old_hub.shutdown().await;
        }
        Ok(summary)
    }

    pub fn config(&self) -> &Config {
        &self.config
    }

    /// Every secret this run knows, for masking what the front ends show.
    pub fn secrets(&self) -> &Arc<Redactor> {
        self.env.secrets()
    }

    /// The agents in config order.
    pub fn agents(&self) -> impl Iterator<Item = &AgentInfo> {
        self.slots.values().map(|s| &s.info)
    }

    pub fn agent(&self, name: &str) -> Result<&AgentInfo, UnknownAgent> {
        self.slot(name).map(|s| &s.info)
    }

    /// Each agent's health probe, in config order.
    pub fn probes(&self) -> impl Iterator<Item = (&AgentInfo, &Probe)> {
        self.slots.values().map(|s| (&s.info, &s.probe))
    }

    /// Sends a prompt to an agent (queued if it is busy) and returns the new turn's id. If the
    /// agent's task has ended (a bug), the turn fails at once rather than wait for it forever.
    pub fn prompt(&mut self, agent: &str, text: impl Into<String>) -> Result<TurnId, UnknownAgent> {
        let turn = TurnId(self.next_turn);
        let slot = self.slot(agent)?;
        let sent = slot.handle.send(AgentCommand::Prompt {
            turn,
            text: text.into(),
        });
        if !sent {
            let error = format!(
                "agent `{}` has stopped (an internal error ended it; details in tzzr's log); restart tzzr, or /reload after changing its definition",
                crate::sanitize::line_for_display(&slot.spec.name)
            );
            let ended = EventKind::TurnFinished {
                outcome: Outcome::Failed { error },
            };
            // The receiver is the front end that asked: it is there.
            let _ = self
                .events
                .send(AgentEvent::new(slot.handle.name.clone(), turn, ended));
        }
        self.next_turn += 1;
        Ok(turn)
    }

    /// Sends any other command to an agent.
    pub fn command(&self, agent: &str, command: AgentCommand) -> Result<(), UnknownAgent> {
        self.slot(agent)?.handle.send(command);
        Ok(())
    }

    /// Cancels every running turn.
    pub fn cancel_all(&self) {
        for slot in self.slots.values() {
            slot.handle.send(AgentCommand::Cancel);
        }
    }

    pub fn costs(&self) -> CostSummary {
        self.meter
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .summary()
    }

    pub fn endpoints(&self) -> Vec<EndpointStatus> {
        self.endpoints
            .order
            .iter()
            .map(|ep| {
                let (breaker, limiter) = ep.snapshot();
                EndpointStatus {
                    label: ep.label.clone(),
                    dialect: match ep.dialect {
                        Dialect::OpenAi => "openai",
                        Dialect::Anthropic => "anthropic",
                    },
                    base_url: ep.base_url.clone(),
                    agents: self
                        .slots
                        .values()
                        .filter(|s| s.info.endpoint.as_deref() == Some(ep.label.as_str()))
                        .map(|s| s.info.name.clone())
                        .collect(),
                    breaker,
                    limiter,
                }
            })
            .collect()
    }

    pub fn status(&self) -> Status {
        let s = &self.config.settings;
        Status {
            config_path: self.config.source.clone(),
            settings: StatusSettings {
                timeout: s.timeout.as_secs_f64(),
                rate_limit: s.rate_limit_per_minute,
                max_retries: s.max_retries,
                sandbox_paths: s.sandbox_paths,
                circuit_breaker: s.enable_circuit_breaker,
                budget_usd: s.budget_usd,
                working_dir: s.working_dir.clone(),
                log_dir: s.log_dir.clone(),
            },
            agents: self
                .slots
                .values()
                .map(|slot| {
                    let a = &slot.info;
                    let mut notes = a.notes.clone();
                    notes.extend(self.mcp_notes(&slot.spec));
                    (
                        a.name.clone(),
                        AgentStatus {
                            provider: a.provider.clone(),
                            model: a.model.clone(),
                            tools: a.tools.clone(),
                            target: a.target.clone(),
                            ready: a.problem.is_none(),
                            problem: a.problem.clone(),
                            notes,
                            log: a.log.clone(),
                        },
                    )
                })
                .collect(),
            servers: self.config.servers.keys().cloned().collect(),
            costs: self.costs(),
            endpoints: self.endpoints(),
            sandbox: self
                .slots
                .values()
                .any(|slot| slot.info.tools.iter().any(|tool| tool == "bash"))
                .then(|| SandboxSupport::detected().report()),
        }
    }

    /// Cancels what runs, closes every agent's inbox and waits for the tasks to end, then stops
    /// (kills) the MCP servers.
    pub async fn shutdown(self) {
        for slot in self.slots.into_values() {
            slot.handle.shutdown().await;
        }
        self.mcp.shutdown().await;
        self.journals.sync().await;
    }

    /// Waits until no MCP server is still starting (at most their start limit), so that
    /// `status` can say how each one ended up.
    pub async fn settle_mcp(&self) {
        self.mcp.settle().await;
    }

    /// What each MCP server of `agent` looks like now, one line each.
    fn mcp_notes(&self, spec: &AgentSpec) -> Vec<String> {
        self.mcp
            .for_agent(&spec.mcp)
            .iter()
            .map(|server| {
                let name = server.name();
                let snapshot = server.snapshot();
                match snapshot.phase {
                    Phase::Ready => format!(
                        "MCP server `{name}`: {} tools ({})",
                        snapshot.tools.len(),
                        snapshot
                            .tools
                            .iter()
                            .map(|t| t.spec.name.as_str())
                            .collect::<Vec<_>>()
                            .join(", ")
                    ),
                    Phase::Connecting => format!("MCP server `{name}`: still starting"),
                    Phase::Down(why) => format!("not available: {why}"),
                }
            })
            .collect()
    }

    fn slot(&self, name: &str) -> Result<&Slot, UnknownAgent> {
        self.slots.get(name).ok_or_else(|| UnknownAgent {
            name: name.to_owned(),
            nearest: diagnose::nearest(name, self.slots.keys().map(String::as_str))
                .map(str::to_owned),
            known: self.slots.keys().cloned().collect(),
        })
    }
}

/// Why an HTTP agent cannot use its key: none is set, or it must not go to this base URL.
fn unusable_key(key: &KeyStatus) -> Option<ProviderError> {
    match key {
        KeyStatus::Missing { vars } => Some(ProviderError::MissingKey {
            var: vars.join(" or "),
        }),
        KeyStatus::Refused { why } => Some(ProviderError::Untrusted { why: why.clone() }),
        KeyStatus::Found { .. } | KeyStatus::NotNeeded => None,
    }
}

/// The MCP servers some agent lists, in config order.
fn mcp_servers_in_use(config: &Config) -> Vec<&str> {
    config
        .mcp_servers
        .keys()
        .filter(|name| config.agents.values().any(|a| a.mcp.contains(name)))
        .map(String::as_str)
        .collect()
}

/// The agent's backend and health probe, and the model names and tool protocol it runs with.
fn build_backend(
    spec: &AgentSpec,
    route: &Route,
    config: &Config,
    env: &Environment,
    working_dir: &Path,
    endpoints: &mut EndpointPool,
    bridge: Option<PathBuf>,
) -> (Backend, Probe, String, String, ToolProtocol) {
    match route {
        Route::Http(http) => {
            let protocol = http.tool_protocol;
            if let Some(error) = unusable_key(&http.key) {
                let why = error.to_string();
                return (
                    Backend::Unavailable(error),
                    Probe::Unavailable(why),
                    http.model.clone(),
                    http.price_model.clone(),
                    protocol,
                );
            }
            let endpoint = endpoints.get(http, config);
            (
                Backend::Http(endpoint.clone()),
                Probe::Endpoint(endpoint),
                http.model.clone(),
                http.price_model.clone(),
                protocol,
            )
        }
        Route::ClaudeCli {
            refused: Some(why), ..
        } => {
            let error = ProviderError::Untrusted { why: why.clone() };
            (
                Backend::Unavailable(error),
                Probe::Unavailable(why.clone()),
                spec.model.clone(),
                spec.model.clone(),
                ToolProtocol::Native,
            )
        }
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
            (
                Backend::ClaudeCli(cli),
                Probe::ClaudeCli {
                    program: program.clone(),
                },
                model.clone(),
                model.clone(),
                // The CLI gives the model its own tools natively.
                ToolProtocol::Native,
            )
        }
        Route::Scripted { model } => (
            Backend::Scripted(Scripted::new(spec.script.clone())),
            Probe::Scripted,
            model.clone(),
            model.clone(),
            ToolProtocol::Native,
        ),
    }
}

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
struct EndpointPool {
    http: reqwest::Client,
    by_key: HashMap<(Dialect, String, Option<String>), Arc<Endpoint>>,
    order: Vec<Arc<Endpoint>>,
}

impl EndpointPool {
    fn new(config: &Config) -> Result<Self, StartError> {
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

    fn get(&mut self, route: &HttpRoute, config: &Config) -> Arc<Endpoint> {
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
        });
        self.by_key.insert(key, endpoint.clone());
        self.order.push(endpoint.clone());
        endpoint
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
#[path = "orchestrator/dead_agent_tests.rs"]
mod dead_agent_tests;
