//! Adds up usage and cost per agent and per model, and refuses a call that would cross a budget.

use std::collections::HashMap;

use indexmap::IndexMap;
use serde::Serialize;

use crate::engine::protocol::TokenUsage;

/// Spending limits in USD.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Budgets {
    /// For the whole run (`settings.budget_usd`).
    pub total: Option<f64>,
    /// Per agent (`agents.NAME.budget_usd`).
    pub per_agent: HashMap<String, f64>,
}

#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum BudgetError {
    #[error(
        "budget: this call (about ${estimate:.4}) would take the run past settings.budget_usd (${spent:.4} of ${limit:.2} spent); raise budget_usd in the config to go on"
    )]
    Total {
        spent: f64,
        limit: f64,
        estimate: f64,
    },
    #[error(
        "budget: this call (about ${estimate:.4}) would take agent `{agent}` past its budget_usd (${spent:.4} of ${limit:.2} spent); raise agents.{agent}.budget_usd to go on"
    )]
    Agent {
        agent: String,
        spent: f64,
        limit: f64,
        estimate: f64,
    },
}

/// Totals of one agent or one model.
#[derive(Clone, Debug, Default, PartialEq, Serialize)]
pub struct Tally {
    pub requests: u64,
    pub input_tokens: u64,
    pub output_tokens: u64,
    pub cache_read_tokens: u64,
    pub cache_write_tokens: u64,
    pub cost_usd: f64,
}

/// v6's cost summary (`total_*`, `by_model`) plus `by_agent` and the budget.
#[derive(Clone, Debug, Default, PartialEq, Serialize)]
pub struct CostSummary {
    pub total_requests: u64,
    pub total_input_tokens: u64,
    pub total_output_tokens: u64,
    pub total_tokens: u64,
    pub total_cache_read_tokens: u64,
    pub total_cost_usd: f64,
    pub by_model: IndexMap<String, Tally>,
    pub by_agent: IndexMap<String, Tally>,
    pub budget_usd: Option<f64>,
}

#[derive(Debug, Default)]
pub struct CostMeter {
    budgets: Budgets,
    by_model: IndexMap<String, Tally>,
    by_agent: IndexMap<String, Tally>,
}

impl CostMeter {
    pub fn new(budgets: Budgets) -> Self {
        let _ = budgets;
        todo!("CostMeter::new")
    }

    /// Refuses a call whose estimated cost would take the run or the agent past its budget
    /// (or that would start when the budget is already spent).
    pub fn check(&self, agent: &str, estimate_usd: f64) -> Result<(), BudgetError> {
        let _ = (agent, estimate_usd);
        todo!("CostMeter::check")
    }

    pub fn record(&mut self, agent: &str, model: &str, usage: TokenUsage, cost_usd: f64) {
        let _ = (agent, model, usage, cost_usd);
        todo!("CostMeter::record")
    }

    pub fn total_spent(&self) -> f64 {
        todo!("CostMeter::total_spent")
    }

    pub fn agent_spent(&self, agent: &str) -> f64 {
        let _ = agent;
        todo!("CostMeter::agent_spent")
    }

    pub fn summary(&self) -> CostSummary {
        todo!("CostMeter::summary")
    }
}
