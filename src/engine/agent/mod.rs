//! One tokio task per agent: it owns the conversation, runs turns (model calls and tool calls, up
//! to `max_turns`), and reports everything as events. Nobody else touches its state.

mod emitter;
mod host;
mod task;
mod turn;

use std::sync::{Arc, Mutex};

pub use emitter::Emitter;
pub use host::BridgeLink;
pub use task::{AgentHandle, Predecessor, spawn, spawn_after};
pub use turn::FallbackModel;

use crate::engine::config::ToolProtocol;
use crate::engine::context::ContextKeeper;
use crate::engine::conversation::Message;
use crate::engine::cost::{CostMeter, PriceTable, Pricing};
use crate::engine::protocol::AgentName;
use crate::engine::provider::backend::Backend;
use crate::engine::resilience::Limiter;
use crate::engine::tools::Toolbox;
use crate::engine::tools::approval::Gate;

/// Everything an agent task needs, built by the orchestrator.
#[derive(Debug)]
pub struct AgentRuntime {
    pub name: AgentName,
    /// v6's system prompt: `# NAME`, the role, the servers it may reach.
    pub system_prompt: String,
    /// The model id sent upstream.
    pub model: String,
    /// The name prices are looked up by.
    pub price_model: String,
    /// `provider/model` as written, for messages about fallbacks.
    pub model_label: String,
    /// Whether its calls are priced by the table, free on this machine, or free (a script).
    pub pricing: Pricing,
    pub backend: Backend,
    /// Models the turn goes on with, in order, when this one cannot answer.
    pub fallbacks: Vec<FallbackModel>,
    pub toolbox: Toolbox,
    /// Every tool call passes it: runs, asks the user, or is refused.
    pub gate: Gate,
    pub tool_protocol: ToolProtocol,
    /// Model calls allowed in one turn.
    pub max_turns: u32,
    /// Identical tool calls in a row that stop a turn (`settings.loop_guard`); 0 is off.
    pub loop_guard: u32,
    pub temperature: Option<f32>,
    pub max_tokens: Option<u32>,
    pub prices: Arc<PriceTable>,
    /// Shared by all agents; locked only for a synchronous step.
    pub meter: Arc<Mutex<CostMeter>>,
    /// `settings.rate_limit_per_minute`: this agent's own window of model calls (v6).
    pub rate_limit: Limiter,
    /// Something to say at the first turn (tools this build cannot give the agent, …).
    pub startup_notes: Vec<String>,
    pub conversation: Vec<Message>,
    /// The model's context window and how full the conversation may get.
    pub context: ContextKeeper,
    /// A Claude agent's bridge: the CLI's requests are served while its run goes on.
    pub bridge: Option<BridgeLink>,
}
