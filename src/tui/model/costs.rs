//! Money and tokens, added up from `Usage` events: total, per agent, per model.

use indexmap::IndexMap;

use crate::engine::protocol::TokenUsage;

/// Tokens and dollars of one agent, one model, or everything.
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct Tokens {
    pub calls: u64,
    pub input: u64,
    pub output: u64,
    pub cache_read: u64,
    pub cache_write: u64,
    pub cost_usd: f64,
    /// Some usage had no price (counted as $0).
    pub unpriced: bool,
    /// Some counts are tzzr's estimate (the server sent no usage).
    pub estimated: bool,
    /// Some usage was free: a model the price table does not know, served on this machine.
    pub local: bool,
}

/// One `Usage` event: what it counted and how it was priced.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Charge {
    pub usage: TokenUsage,
    pub cost_usd: f64,
    pub priced: bool,
    pub estimated: bool,
    pub local: bool,
}

impl Tokens {
    fn add(&mut self, charge: Charge) {
        let usage = charge.usage;
        self.calls += 1;
        self.input = self.input.saturating_add(usage.input);
        self.output = self.output.saturating_add(usage.output);
        self.cache_read = self.cache_read.saturating_add(usage.cache_read);
        self.cache_write = self.cache_write.saturating_add(usage.cache_write);
        self.cost_usd += charge.cost_usd;
        self.unpriced |= !charge.priced;
        self.estimated |= charge.estimated;
        self.local |= charge.local;
    }
}

#[derive(Clone, Debug, Default, PartialEq)]
pub struct CostView {
    pub total: Tokens,
    pub by_agent: IndexMap<String, Tokens>,
    pub by_model: IndexMap<String, Tokens>,
}

impl CostView {
    pub fn record(&mut self, agent: &str, model: &str, charge: Charge) {
        self.total.add(charge);
        self.by_agent
            .entry(agent.to_owned())
            .or_default()
            .add(charge);
        self.by_model
            .entry(model.to_owned())
            .or_default()
            .add(charge);
    }

    pub fn agent_cost(&self, agent: &str) -> f64 {
        self.by_agent.get(agent).map_or(0.0, |t| t.cost_usd)
    }
}
