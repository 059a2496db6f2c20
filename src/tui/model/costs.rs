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
}

impl Tokens {
    fn add(&mut self, usage: TokenUsage, cost_usd: f64, priced: bool) {
        self.calls += 1;
        self.input += usage.input;
        self.output += usage.output;
        self.cache_read += usage.cache_read;
        self.cache_write += usage.cache_write;
        self.cost_usd += cost_usd;
        self.unpriced |= !priced;
    }
}

#[derive(Clone, Debug, Default, PartialEq)]
pub struct CostView {
    pub total: Tokens,
    pub by_agent: IndexMap<String, Tokens>,
    pub by_model: IndexMap<String, Tokens>,
}

impl CostView {
    pub fn record(
        &mut self,
        agent: &str,
        model: &str,
        usage: TokenUsage,
        cost_usd: f64,
        priced: bool,
    ) {
        self.total.add(usage, cost_usd, priced);
        self.by_agent
            .entry(agent.to_owned())
            .or_default()
            .add(usage, cost_usd, priced);
        self.by_model
            .entry(model.to_owned())
            .or_default()
            .add(usage, cost_usd, priced);
    }

    pub fn agent_cost(&self, agent: &str) -> f64 {
        self.by_agent.get(agent).map_or(0.0, |t| t.cost_usd)
    }
}
