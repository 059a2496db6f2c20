//! The orchestrator: builds every agent from the config (route, endpoint, tools, journal), starts
//! one task per agent, and is the front ends' only handle on them. Endpoints are shared by every
//! agent that uses the same base URL and key.

mod backend;
mod describe;
mod endpoints;
mod fallbacks;
mod reload;
mod status;
mod tool_context;

use std::path::PathBuf;
use std::sync::{Arc, Mutex, PoisonError};

use indexmap::IndexMap;
use tokio::sync::mpsc::{self, UnboundedReceiver, UnboundedSender};

use self::backend::{AgentBackend, BackendSite};
use self::describe::describe_agent;
use self::endpoints::EndpointPool;
use self::tool_context::tool_context;
use crate::engine::agent::{self, AgentHandle, AgentRuntime, BridgeLink, Emitter, Predecessor};
use crate::engine::config::{AgentSpec, Config, diagnose};
use crate::engine::context::{ContextKeeper, ContextWindow};
use crate::engine::cost::{Budgets, CostMeter, CostSummary, PriceTable, Pricing};
use crate::engine::env::Environment;
use crate::engine::health::Probe;
use crate::engine::health_monitor::{HealthMonitor, Watched};
use crate::engine::journal::{Journal, JournalHeader};
use crate::engine::journal_writer::JournalWriter;
use crate::engine::mcp::McpHub;
use crate::engine::mcp::bridge::{Bridge, RuntimeDir};
use crate::engine::protocol::{AgentCommand, AgentEvent, EventKind, FailureKind, Outcome, TurnId};
use crate::engine::provider::context_probe::WindowProbes;
use crate::engine::provider::route::{self, Route};
use crate::engine::redact::Redactor;
use crate::engine::resilience::endpoint::Dialect;
use crate::engine::session::{AgentReplay, SessionLog, SessionPlan};
use crate::engine::tools::Toolbox;
use crate::engine::tools::approval::{Asker, Gate};
use crate::engine::tools::protected::Protected;

pub use self::backend::system_prompt;
pub use self::describe::{AgentInfo, describe};
pub use self::reload::ReloadSummary;
pub use self::status::{AgentStatus, EndpointStatus, Status, StatusSettings};

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
    #[error(transparent)]
    Session(crate::engine::session::OpenError),
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

struct Slot {
    spec: AgentSpec,
    /// Where its calls go, as resolved when it started.
    route: Route,
    /// The system prompt it started with (it names the servers the agent may reach).
    system_prompt: String,
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
    /// What no agent's tools may touch (the config, the logs, the `.env` files).
    protected: Arc<Protected>,
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
    /// What local servers said about their models' context windows.
    window_probes: WindowProbes,
    /// Agents and MCP servers a reload let go, stopping in the background; awaited by
    /// `shutdown`.
    retiring: Vec<tokio::task::JoinHandle<()>>,
    /// The background probes, once a front end asked for them (`watch_health`).
    health: Option<HealthMonitor>,
    /// The journal of this run's session, if it keeps one.
    session: Option<Arc<SessionLog>>,
    /// What each agent starts with, from the session this run resumes (taken as it starts).
    restored: std::collections::HashMap<String, AgentReplay>,
    /// What the user should know about the resumed session (agents left out, lines skipped).
    session_notes: Vec<String>,
    /// The resumed session's events, for a front end to rebuild its screen from.
    restored_events: Vec<AgentEvent>,
    /// The records other parts of tzzr kept in the resumed session (`kind`, `data`), in order.
    restored_data: Vec<(String, serde_json::Value)>,
}

impl std::fmt::Debug for Orchestrator {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Orchestrator")
            .field("agents", &self.slots.keys().collect::<Vec<_>>())
            .field("endpoints", &self.endpoints.order.len())
            .finish_non_exhaustive()
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

impl Orchestrator {
    /// Starts every agent of `config`. Must run inside a tokio runtime. The receiver gets every
    /// event of every agent; `asker` says who answers the tool calls that ask for approval.
    pub fn start(
        config: Config,
        env: &Environment,
        asker: Asker,
    ) -> Result<(Self, UnboundedReceiver<AgentEvent>), StartError> {
        Self::start_with(config, env, asker, None)
    }

    /// [`start`](Self::start), keeping a session journal: a new session, or going on with one
    /// (each agent's conversation, a Claude CLI agent's session, the money spent so far; an
    /// agent no longer in the config is left out with a note, a new one starts empty).
    pub fn start_with(
        config: Config,
        env: &Environment,
        asker: Asker,
        session: Option<SessionPlan>,
    ) -> Result<(Self, UnboundedReceiver<AgentEvent>), StartError> {
        let (events, receiver) = mpsc::unbounded_channel();
        let mut env = env.clone();
        env.learn_secrets_of(&config);
        let working_dir = working_dir(&config)?;
        let mut orchestrator = Self {
            protected: tool_context::protected(&config, &env, &working_dir),
            working_dir,
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
            window_probes: WindowProbes::default(),
            retiring: Vec::new(),
            health: None,
            session: None,
            restored: std::collections::HashMap::new(),
            session_notes: Vec::new(),
            restored_events: Vec::new(),
            restored_data: Vec::new(),
            config,
        };
        if let Some(plan) = session {
            orchestrator.open_session(plan)?;
        }
        let specs: Vec<AgentSpec> = orchestrator.config.agents.values().cloned().collect();
        for spec in specs {
            let slot = orchestrator.spawn_agent(spec, None)?;
            orchestrator.slots.insert(slot.spec.name.clone(), slot);
        }
        Ok((orchestrator, receiver))
    }

    fn open_session(&mut self, plan: SessionPlan) -> Result<(), StartError> {
        let log = match plan {
            // A run the user did not ask to keep is not refused for want of a journal.
            SessionPlan::New { dir, config } => {
                match SessionLog::create(&self.journals, &dir, &config) {
                    Ok(log) => log,
                    Err(e) => {
                        tracing::warn!("no session journal: {e}");
                        self.session_notes.push(format!(
                            "this run is not kept as a session (it cannot be resumed): {e}"
                        ));
                        return Ok(());
                    }
                }
            }
            SessionPlan::Resume(replay) => {
                let log =
                    SessionLog::reopen(&self.journals, &replay).map_err(StartError::Session)?;
                self.restore(*replay);
                log
            }
        };
        self.session = Some(Arc::new(log));
        Ok(())
    }

    /// Takes what the agents of `replay` start with, and the money it spent.
    fn restore(&mut self, mut replay: crate::engine::session::Replay) {
        let id = &replay.header.id;
        if replay.skipped > 0 {
            self.session_notes.push(format!(
                "session {id}: {} unreadable line(s) skipped",
                replay.skipped
            ));
        }
        let mut meter = self.meter.lock().unwrap_or_else(PoisonError::into_inner);
        for event in &replay.events {
            if let EventKind::Usage {
                model,
                usage,
                cost_usd,
                estimated,
                ..
            } = &event.kind
            {
                let cost = if cost_usd.is_finite() {
                    cost_usd.max(0.0)
                } else {
                    0.0
                };
                meter.record(&event.agent, model, *usage, cost, *estimated);
            }
        }
        drop(meter);
        self.next_turn = replay.next_turn().0;
        self.restored_events = std::mem::take(&mut replay.events);
        self.restored_data = std::mem::take(&mut replay.data);
        for (name, agent) in replay.agents {
            if self.config.agents.contains_key(&name) {
                self.restored.insert(name, agent);
            } else if agent.turns > 0 || !agent.conversation.is_empty() {
                self.session_notes.push(format!(
                    "session {id}: agent `{}` is not in the config any more; its conversation is left out",
                    crate::sanitize::line_for_display(&name)
                ));
            }
        }
    }

    /// Builds one agent (route, endpoint, tools, journal) and starts its task, after
    /// `predecessor` if it takes over from one (`/reload`).
    fn spawn_agent(
        &mut self,
        spec: AgentSpec,
        predecessor: Option<Predecessor>,
    ) -> Result<Slot, StartError> {
        let journal = self.open_journal(&spec, &self.config.settings.log_dir)?;
        Ok(self.start_agent(spec, predecessor, journal))
    }

    /// Opens an agent's log in `log_dir`: the one step of starting an agent that can fail.
    fn open_journal(
        &self,
        spec: &AgentSpec,
        log_dir: &std::path::Path,
    ) -> Result<Journal, StartError> {
        Journal::open(
            &self.journals,
            log_dir,
            &JournalHeader {
                agent: &spec.name,
                provider: &spec.provider,
                model: &spec.model,
                tools: &spec.tools,
            },
        )
        .map_err(|error| StartError::Journal {
            agent: spec.name.clone(),
            dir: log_dir.to_path_buf(),
            error,
        })
    }

    /// Builds one agent around its opened log and starts its task (cannot fail).
    fn start_agent(
        &mut self,
        spec: AgentSpec,
        predecessor: Option<Predecessor>,
        journal: Journal,
    ) -> Slot {
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
        let pricing = Pricing::for_route(&route, &self.config);
        let AgentBackend {
            backend,
            model,
            price_model,
            tool_protocol,
        } = AgentBackend::build(
            &spec,
            &route,
            &BackendSite {
                config,
                env: &self.env,
                working_dir: &self.working_dir,
            },
            &mut self.endpoints,
            bridge
                .as_ref()
                .map(|link| link.bridge.mcp_config().to_path_buf()),
        );
        let probe = Probe::of(&backend);
        info.endpoint = backend.endpoint().map(|e| e.label.clone());
        if let Some(note) =
            unpriced_under_budget(&spec, config, &route, pricing, &self.prices, &price_model)
        {
            info.notes.push(note);
        }
        let (fallbacks, fallback_notes) =
            fallbacks::build(&spec, config, &self.env, |spec, route| {
                AgentBackend::build(
                    spec,
                    route,
                    &BackendSite {
                        config,
                        env: &self.env,
                        working_dir: &self.working_dir,
                    },
                    &mut self.endpoints,
                    None,
                )
            });
        info.notes.extend(fallback_notes);
        let name: Arc<str> = spec.name.as_str().into();
        let restored = self.restored.remove(&spec.name).unwrap_or_default();
        let cli_session = restored.cli_session.filter(|id| is_cli_session_id(id));
        let mut backend = backend;
        if let Some(id) = &cli_session {
            backend.resume_cli_session(id.clone());
        }
        let session = self
            .session
            .as_ref()
            .map(|log| log.tap(&spec.name, &restored.conversation, cli_session.as_deref()));
        let window = ContextWindow::for_model(&self.prices, &price_model);
        // Only a server that speaks the OpenAI dialect can be llama.cpp or Ollama.
        let reported = backend
            .endpoint()
            .filter(|e| window.is_default() && e.dialect == Dialect::OpenAi)
            .map(|e| self.window_probes.window_of(e, &model));
        let context = ContextKeeper::new(window, spec.compact_at, spec.compaction_model.clone())
            .with_reported(reported);
        let system_prompt = system_prompt(&spec, config);
        let runtime = AgentRuntime {
            name: name.clone(),
            system_prompt: system_prompt.clone(),
            model,
            price_model,
            pricing,
            model_label: format!("{}/{}", spec.provider, spec.model),
            backend,
            fallbacks,
            toolbox: Toolbox::new(
                &spec.tools,
                tool_context(
                    config,
                    &self.protected,
                    &self.working_dir,
                    &spec,
                    self.runtime_dir.as_ref(),
                ),
            )
            .with_mcp(self.mcp.for_agent(&spec.mcp)),
            gate: Gate::new(&spec.name, spec.approval.clone(), self.asker),
            tool_protocol,
            max_turns: spec.max_turns.max(1),
            loop_guard: config.settings.loop_guard,
            temperature: spec.temperature,
            max_tokens: spec.max_tokens,
            prices: self.prices.clone(),
            meter: self.meter.clone(),
            rate_limit: crate::engine::resilience::Limiter::new(
                Some(config.settings.rate_limit_per_minute),
                None,
                None,
            ),
            startup_notes: info.notes.clone(),
            conversation: restored.conversation,
            context,
            bridge,
        };
        let handle = agent::spawn_after(
            runtime,
            Emitter::new(
                name,
                self.events.clone(),
                Some(journal),
                self.env.secrets().clone(),
            )
            .with_session(session),
            predecessor,
        );
        Slot {
            spec,
            route,
            system_prompt,
            info,
            probe,
            handle,
        }
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

    /// The journal of this run's session, if it keeps one: its id, and [`SessionLog::record`]
    /// for other parts' records.
    pub fn session(&self) -> Option<&Arc<SessionLog>> {
        self.session.as_ref()
    }

    /// The events of the session this run resumed (once; empty after), for a front end to
    /// rebuild what it showed: transcripts, traces, costs, prompt history.
    pub fn take_restored_events(&mut self) -> Vec<AgentEvent> {
        std::mem::take(&mut self.restored_events)
    }

    /// The records of `kind` the resumed session holds (see [`SessionLog::record`]), oldest
    /// first; none when this run resumed no session.
    pub fn restored_records<'a>(
        &'a self,
        kind: &'a str,
    ) -> impl Iterator<Item = &'a serde_json::Value> + 'a {
        self.restored_data
            .iter()
            .filter(move |(k, _)| k == kind)
            .map(|(_, data)| data)
    }

    /// What the user should know about the session this run resumed.
    pub fn session_notes(&self) -> &[String] {
        &self.session_notes
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

    /// Probes every endpoint in the background from now on (at once, then every
    /// `settings.health_interval`; never when it is zero) and reports each result to the agents
    /// on it as `Health` events. A reload starts the probes again for the new endpoints.
    pub fn watch_health(&mut self) {
        let interval = self.config.settings.health_interval;
        self.health = (!interval.is_zero()).then(|| {
            HealthMonitor::start(
                self.watched_endpoints(),
                interval,
                self.events.clone(),
                self.secrets().clone(),
            )
        });
    }

    /// Every endpoint in use and the agents on it.
    fn watched_endpoints(&self) -> Vec<Watched> {
        let mut watched: Vec<Watched> = Vec::new();
        let mut index = std::collections::HashMap::<*const _, usize>::new();
        for slot in self.slots.values() {
            let Probe::Endpoint(endpoint) = &slot.probe else {
                continue;
            };
            let at = *index.entry(Arc::as_ptr(endpoint)).or_insert_with(|| {
                watched.push(Watched {
                    endpoint: endpoint.clone(),
                    agents: Vec::new(),
                });
                watched.len() - 1
            });
            watched[at].agents.push(slot.handle.name.clone());
        }
        watched
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
                outcome: Outcome::failed(FailureKind::Internal, error),
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

    /// Cancels what runs, closes every agent's inbox and waits for the tasks to end, then stops
    /// (kills) the MCP servers.
    pub async fn shutdown(mut self) {
        self.health = None;
        for slot in self.slots.into_values() {
            slot.handle.shutdown().await;
        }
        for retiring in self.retiring {
            // A retiring task that panicked has nothing left to stop.
            let _ = retiring.await;
        }
        self.mcp.shutdown().await;
        self.journals.sync().await;
    }

    /// Waits until no MCP server is still starting (at most their start limit), so that
    /// `status` can say how each one ended up.
    pub async fn settle_mcp(&self) {
        self.mcp.settle().await;
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

/// Whether a Claude CLI session id read from a journal is one the CLI could have made (it goes
/// on the CLI's command line).
fn is_cli_session_id(id: &str) -> bool {
    !id.is_empty()
        && id.len() <= 128
        && !id.starts_with('-')
        && id
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
}

/// A config from YAML text, as if read from `/project/config.yaml`, with only `vars` set.
#[cfg(test)]
fn test_config(yaml: &str, vars: &[(&str, &str)]) -> (Config, Environment) {
    let env = Environment::isolated(vars.iter().copied());
    let loaded = crate::engine::config::load_str_with(
        yaml,
        std::path::Path::new("/project/config.yaml"),
        &|key: &str| env.get(key),
    )
    .unwrap_or_else(|e| panic!("config: {e}"));
    (loaded.config, env)
}

/// A warning for an HTTP agent under a budget whose model has no price and is not served on
/// this machine: its calls would count as $0, a silent hole in the budget.
fn unpriced_under_budget(
    spec: &AgentSpec,
    config: &Config,
    route: &Route,
    pricing: Pricing,
    prices: &PriceTable,
    price_model: &str,
) -> Option<String> {
    let budgeted = config.settings.budget_usd.is_some() || spec.budget_usd.is_some();
    (budgeted && matches!(route, Route::Http(_)) && pricing.is_unpriced(prices, price_model)).then(|| {
        format!(
            "no price known for model `{price_model}`: its calls count as $0 against budget_usd; give it input and output prices under models: in the config"
        )
    })
}

#[cfg(test)]
mod dead_agent_tests;
