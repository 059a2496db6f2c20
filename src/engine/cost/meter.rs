//! Adds up usage and cost per agent and per model, holds each running call's worst case against
//! the budgets, refuses a call that would cross one, and says once when 80 % of one is spent.

use std::collections::{HashMap, HashSet};

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

/// The share of a budget at which the user is told it is nearly spent.
const WARN_AT: f64 = 0.8;

#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum BudgetError {
    #[error(
        "budget: this call (up to ${estimate:.4}) would take the run past settings.budget_usd (${spent:.4} of ${limit:.2} spent{}); raise budget_usd in the config to go on",
        held_note(*held)
    )]
    Total {
        spent: f64,
        /// Held by calls still running (their worst case).
        held: f64,
        limit: f64,
        estimate: f64,
    },
    #[error(
        "budget: this call (up to ${estimate:.4}) would take agent `{agent}` past its budget_usd (${spent:.4} of ${limit:.2} spent{}); raise agents.{agent}.budget_usd to go on",
        held_note(*held)
    )]
    Agent {
        agent: String,
        spent: f64,
        held: f64,
        limit: f64,
        estimate: f64,
    },
}

fn held_note(held: f64) -> String {
    if held > 0.0 {
        format!(", ${held:.4} held by calls under way")
    } else {
        String::new()
    }
}

/// A running call's worst-case cost, held against the budgets until [`CostMeter::release`].
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct HoldId(u64);

/// Totals of one agent or one model.
#[derive(Clone, Debug, Default, PartialEq, Serialize)]
pub struct Tally {
    pub requests: u64,
    pub input_tokens: u64,
    pub output_tokens: u64,
    pub cache_read_tokens: u64,
    pub cache_write_tokens: u64,
    pub cost_usd: f64,
    /// Requests whose tokens tzzr estimated (the server reported no usage).
    #[serde(skip_serializing_if = "is_zero")]
    pub estimated_requests: u64,
}

fn is_zero(n: &u64) -> bool {
    *n == 0
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
    /// Requests whose tokens are tzzr's estimate, not the server's count.
    pub total_estimated_requests: u64,
    pub by_model: IndexMap<String, Tally>,
    pub by_agent: IndexMap<String, Tally>,
    pub budget_usd: Option<f64>,
}

#[derive(Debug, Default)]
pub struct CostMeter {
    budgets: Budgets,
    by_model: IndexMap<String, Tally>,
    by_agent: IndexMap<String, Tally>,
    /// The worst case of each call under way, and its agent.
    holds: HashMap<HoldId, (String, f64)>,
    next_hold: u64,
    /// The budgets already warned about: `None` for the run's, else the agent's.
    warned: HashSet<Option<String>>,
}

impl CostMeter {
    pub fn new(budgets: Budgets) -> Self {
        Self {
            budgets,
            ..Self::default()
        }
    }

    /// New limits (a reloaded config); what was spent stays counted, and the new limits warn
    /// again at 80 %.
    pub fn set_budgets(&mut self, budgets: Budgets) {
        self.budgets = budgets;
        self.warned.clear();
    }

    /// Refuses a call whose worst-case cost, with what is spent and what the calls under way
    /// hold, would take the run or the agent past its budget (or that would start when the
    /// budget is already spent).
    pub fn check(&self, agent: &str, estimate_usd: f64) -> Result<(), BudgetError> {
        let crosses = |spent: f64, limit: f64| {
            !estimate_usd.is_finite() || spent >= limit || spent + estimate_usd > limit
        };
        if let Some(limit) = self.budgets.total {
            let spent = self.total_spent();
            let held = self.held(None);
            if crosses(spent + held, limit) {
                return Err(BudgetError::Total {
                    spent,
                    held,
                    limit,
                    estimate: estimate_usd,
                });
            }
        }
        if let Some(&limit) = self.budgets.per_agent.get(agent) {
            let spent = self.agent_spent(agent);
            let held = self.held(Some(agent));
            if crosses(spent + held, limit) {
                return Err(BudgetError::Agent {
                    agent: agent.to_owned(),
                    spent,
                    held,
                    limit,
                    estimate: estimate_usd,
                });
            }
        }
        Ok(())
    }

    /// Holds a call's worst-case cost against the budgets until it is released, or refuses it
    /// as [`check`](Self::check) does. Calls that run at once thus never together pass a budget.
    pub fn reserve(&mut self, agent: &str, worst_usd: f64) -> Result<HoldId, BudgetError> {
        self.check(agent, worst_usd)?;
        let id = HoldId(self.next_hold);
        self.next_hold = self.next_hold.wrapping_add(1);
        self.holds
            .insert(id, (agent.to_owned(), worst_usd.max(0.0)));
        Ok(id)
    }

    /// The call is over (done, failed or cancelled); what it used is booked with `record`.
    pub fn release(&mut self, hold: HoldId) {
        self.holds.remove(&hold);
    }

    /// The run's budget, then `agent`'s, each once it is 80 % spent: what to tell the user,
    /// once per budget.
    pub fn warnings(&mut self, agent: &str) -> Vec<String> {
        let mut notes = Vec::new();
        if let Some(limit) = self.budgets.total {
            let spent = self.total_spent();
            if spent >= WARN_AT * limit && self.warned.insert(None) {
                notes.push(format!(
                    "budget: {:.0} % of settings.budget_usd is spent (${spent:.4} of ${limit:.2}); calls that would pass it will be refused",
                    percent(spent, limit)
                ));
            }
        }
        if let Some(&limit) = self.budgets.per_agent.get(agent) {
            let spent = self.agent_spent(agent);
            if spent >= WARN_AT * limit && self.warned.insert(Some(agent.to_owned())) {
                notes.push(format!(
                    "budget: {:.0} % of agents.{agent}.budget_usd is spent (${spent:.4} of ${limit:.2}); calls that would pass it will be refused",
                    percent(spent, limit)
                ));
            }
        }
        notes
    }

    /// What the calls under way hold: all of them, or `agent`'s.
    fn held(&self, agent: Option<&str>) -> f64 {
        self.holds
            .values()
            .filter(|(owner, _)| agent.is_none_or(|a| a == owner))
            .fold(0.0, |sum, (_, usd)| sum + usd)
    }

    /// Counts one model call of `agent` (one request, its tokens, its cost); `estimated` when
    /// the tokens are tzzr's estimate.
    pub fn record(
        &mut self,
        agent: &str,
        model: &str,
        usage: TokenUsage,
        cost_usd: f64,
        estimated: bool,
    ) {
        self.by_agent
            .entry(agent.to_owned())
            .or_default()
            .add(usage, cost_usd, estimated);
        self.by_model
            .entry(model.to_owned())
            .or_default()
            .add(usage, cost_usd, estimated);
    }

    pub fn total_spent(&self) -> f64 {
        // A fold from +0.0: an empty `sum()` of floats is -0.0, shown as "$-0.0000".
        self.by_agent
            .values()
            .fold(0.0, |sum, tally| sum + tally.cost_usd)
    }

    pub fn agent_spent(&self, agent: &str) -> f64 {
        self.by_agent.get(agent).map_or(0.0, |tally| tally.cost_usd)
    }

    pub fn summary(&self) -> CostSummary {
        let mut total = Tally::default();
        for tally in self.by_agent.values() {
            total.merge(tally);
        }
        CostSummary {
            total_requests: total.requests,
            total_input_tokens: total.input_tokens,
            total_output_tokens: total.output_tokens,
            total_tokens: total.input_tokens + total.output_tokens,
            total_cache_read_tokens: total.cache_read_tokens,
            total_cost_usd: round_to_micro_dollars(total.cost_usd),
            total_estimated_requests: total.estimated_requests,
            by_model: self.by_model.clone(),
            by_agent: self.by_agent.clone(),
            budget_usd: self.budgets.total,
        }
    }
}

impl Tally {
    fn add(&mut self, usage: TokenUsage, cost_usd: f64, estimated: bool) {
        self.requests += 1;
        self.input_tokens = self.input_tokens.saturating_add(usage.input);
        self.output_tokens = self.output_tokens.saturating_add(usage.output);
        self.cache_read_tokens = self.cache_read_tokens.saturating_add(usage.cache_read);
        self.cache_write_tokens = self.cache_write_tokens.saturating_add(usage.cache_write);
        self.cost_usd += cost_usd;
        self.estimated_requests += u64::from(estimated);
    }

    fn merge(&mut self, other: &Tally) {
        self.requests += other.requests;
        self.input_tokens += other.input_tokens;
        self.output_tokens += other.output_tokens;
        self.cache_read_tokens += other.cache_read_tokens;
        self.cache_write_tokens += other.cache_write_tokens;
        self.cost_usd += other.cost_usd;
        self.estimated_requests += other.estimated_requests;
    }
}

fn percent(spent: f64, limit: f64) -> f64 {
    if limit > 0.0 {
        (spent / limit * 100.0).min(999.0)
    } else {
        100.0
    }
}

/// v6 rounds the total to 6 decimals (`round(total_cost_usd, 6)`).
fn round_to_micro_dollars(usd: f64) -> f64 {
    (usd * 1e6).round() / 1e6
}

#[cfg(test)]
mod tests {
    use super::*;

    fn usage(input: u64, output: u64) -> TokenUsage {
        TokenUsage {
            input,
            output,
            cache_read: 0,
            cache_write: 0,
        }
    }

    fn budgets(total: Option<f64>, per_agent: &[(&str, f64)]) -> Budgets {
        Budgets {
            total,
            per_agent: per_agent
                .iter()
                .map(|(name, usd)| ((*name).to_owned(), *usd))
                .collect(),
        }
    }

    #[test]
    fn no_budget_never_refuses() {
        let mut meter = CostMeter::new(Budgets::default());
        meter.record("coder", "gpt-4o", usage(1, 1), 1_000.0, false);
        assert_eq!(meter.check("coder", 1_000.0), Ok(()));
    }

    #[test]
    fn a_call_that_would_cross_the_run_budget_is_refused() {
        let mut meter = CostMeter::new(budgets(Some(1.0), &[]));
        meter.record("coder", "gpt-4o", usage(1, 1), 0.75, false);
        assert_eq!(
            meter.check("coder", 0.25),
            Ok(()),
            "reaching the limit exactly is allowed"
        );
        assert_eq!(
            meter.check("reviewer", 0.30),
            Err(BudgetError::Total {
                spent: 0.75,
                held: 0.0,
                limit: 1.0,
                estimate: 0.30
            })
        );
    }

    #[test]
    fn a_spent_run_budget_refuses_even_a_free_call() {
        let mut meter = CostMeter::new(budgets(Some(1.0), &[]));
        meter.record("coder", "gpt-4o", usage(1, 1), 1.0, false);
        assert!(matches!(
            meter.check("coder", 0.0),
            Err(BudgetError::Total { .. })
        ));
    }

    #[test]
    fn an_agent_budget_limits_only_that_agent() {
        let mut meter = CostMeter::new(budgets(None, &[("coder", 0.5)]));
        meter.record("coder", "gpt-4o", usage(1, 1), 0.5, false);
        meter.record("reviewer", "gpt-4o", usage(1, 1), 3.0, false);
        assert_eq!(
            meter.check("coder", 0.0),
            Err(BudgetError::Agent {
                agent: "coder".to_owned(),
                spent: 0.5,
                held: 0.0,
                limit: 0.5,
                estimate: 0.0
            })
        );
        assert_eq!(meter.check("reviewer", 10.0), Ok(()));
    }

    #[test]
    fn an_agent_call_that_would_cross_its_budget_is_refused() {
        let mut meter = CostMeter::new(budgets(Some(100.0), &[("coder", 0.5)]));
        meter.record("coder", "gpt-4o", usage(1, 1), 0.25, false);
        assert!(matches!(
            meter.check("coder", 0.3),
            Err(BudgetError::Agent { .. })
        ));
        assert_eq!(meter.check("coder", 0.2), Ok(()));
    }

    #[test]
    fn budget_errors_say_how_to_go_on() {
        let total = BudgetError::Total {
            spent: 0.75,
            held: 0.0,
            limit: 1.0,
            estimate: 0.3,
        };
        assert_eq!(
            total.to_string(),
            "budget: this call (up to $0.3000) would take the run past settings.budget_usd ($0.7500 of $1.00 spent); raise budget_usd in the config to go on"
        );
        let agent = BudgetError::Agent {
            agent: "coder".to_owned(),
            spent: 0.5,
            held: 0.125,
            limit: 0.5,
            estimate: 0.01,
        };
        assert_eq!(
            agent.to_string(),
            "budget: this call (up to $0.0100) would take agent `coder` past its budget_usd ($0.5000 of $0.50 spent, $0.1250 held by calls under way); raise agents.coder.budget_usd to go on"
        );
    }

    #[test]
    fn calls_under_way_hold_their_worst_case_until_released() {
        let mut meter = CostMeter::new(budgets(Some(1.0), &[("coder", 0.5)]));
        let first = meter.reserve("coder", 0.3).unwrap();
        assert_eq!(
            meter.reserve("coder", 0.3),
            Err(BudgetError::Agent {
                agent: "coder".to_owned(),
                spent: 0.0,
                held: 0.3,
                limit: 0.5,
                estimate: 0.3
            }),
            "two at once would pass the agent's budget"
        );
        let second = meter.reserve("reviewer", 0.6).unwrap();
        assert!(
            matches!(meter.reserve("reviewer", 0.2), Err(BudgetError::Total { held, .. }) if (held - 0.9).abs() < 1e-9)
        );

        meter.record("coder", "gpt-4o", usage(1, 1), 0.05, false);
        meter.release(first);
        assert!(
            meter.reserve("coder", 0.3).is_ok(),
            "the call settled at its real cost"
        );
        meter.release(second);
        assert!((meter.held(None) - 0.3).abs() < 1e-9);
    }

    #[test]
    fn estimated_usage_is_counted_and_marked() {
        let mut meter = CostMeter::new(Budgets::default());
        meter.record("local", "llama", usage(400, 100), 0.0, true);
        meter.record("local", "llama", usage(10, 5), 0.0, false);
        let summary = meter.summary();
        assert_eq!(summary.total_requests, 2);
        assert_eq!(summary.total_tokens, 515);
        assert_eq!(summary.total_estimated_requests, 1);
        assert_eq!(summary.by_model["llama"].estimated_requests, 1);
        let json = serde_json::to_value(&summary).unwrap();
        assert_eq!(json["by_agent"]["local"]["estimated_requests"], 1);
    }

    #[test]
    fn nothing_spent_reads_as_zero_not_minus_zero() {
        let meter = CostMeter::new(budgets(Some(0.01), &[]));
        let refused = meter.check("coder", 1.0).unwrap_err().to_string();
        assert!(refused.contains("($0.0000 of $0.01 spent)"), "{refused}");
    }

    #[test]
    fn an_estimate_that_is_not_a_number_is_refused_under_a_budget() {
        let meter = CostMeter::new(budgets(Some(1.0), &[]));
        assert!(meter.check("coder", f64::NAN).is_err());
        assert!(meter.check("coder", f64::INFINITY).is_err());
        let free = CostMeter::new(Budgets::default());
        assert_eq!(
            free.check("coder", f64::NAN),
            Ok(()),
            "no budget, nothing to refuse"
        );
    }

    #[test]
    fn each_budget_warns_once_at_80_percent() {
        let mut meter = CostMeter::new(budgets(Some(1.0), &[("coder", 0.5)]));
        meter.record("coder", "gpt-4o", usage(1, 1), 0.39, false);
        assert_eq!(meter.warnings("coder"), Vec::<String>::new());
        meter.record("coder", "gpt-4o", usage(1, 1), 0.01, false);
        assert_eq!(
            meter.warnings("coder"),
            [
                "budget: 80 % of agents.coder.budget_usd is spent ($0.4000 of $0.50); calls that would pass it will be refused"
            ]
        );
        assert_eq!(meter.warnings("coder"), Vec::<String>::new(), "once");
        meter.record("reviewer", "gpt-4o", usage(1, 1), 0.45, false);
        assert_eq!(
            meter.warnings("reviewer"),
            [
                "budget: 85 % of settings.budget_usd is spent ($0.8500 of $1.00); calls that would pass it will be refused"
            ]
        );
        assert_eq!(meter.warnings("coder"), Vec::<String>::new());
    }

    #[test]
    fn spend_is_kept_per_agent_and_in_total() {
        let mut meter = CostMeter::new(Budgets::default());
        meter.record("coder", "gpt-4o", usage(1, 1), 0.25, false);
        meter.record("coder", "claude-sonnet-4-5", usage(1, 1), 0.5, false);
        meter.record("reviewer", "gpt-4o", usage(1, 1), 1.0, false);
        assert_eq!(meter.agent_spent("coder"), 0.75);
        assert_eq!(meter.agent_spent("nobody"), 0.0);
        assert_eq!(meter.total_spent(), 1.75);
    }

    #[test]
    fn summary_has_v6_totals_and_tallies_by_model_and_agent() {
        let mut meter = CostMeter::new(budgets(Some(5.0), &[]));
        let cached = TokenUsage {
            input: 100,
            output: 20,
            cache_read: 1_000,
            cache_write: 50,
        };
        meter.record("coder", "claude-sonnet-4-5", cached, 0.001_234_567_8, false);
        meter.record("coder", "gpt-4o", usage(10, 5), 0.000_1, false);
        meter.record("reviewer", "gpt-4o", usage(30, 7), 0.000_2, false);

        let summary = meter.summary();
        assert_eq!(summary.total_requests, 3);
        assert_eq!(summary.total_input_tokens, 140);
        assert_eq!(summary.total_output_tokens, 32);
        assert_eq!(summary.total_tokens, 172);
        assert_eq!(summary.total_cache_read_tokens, 1_000);
        assert_eq!(summary.total_cost_usd, 0.001535);
        assert_eq!(summary.budget_usd, Some(5.0));
        assert_eq!(
            summary.by_model.keys().collect::<Vec<_>>(),
            ["claude-sonnet-4-5", "gpt-4o"]
        );
        let gpt = &summary.by_model["gpt-4o"];
        assert_eq!(
            (gpt.requests, gpt.input_tokens, gpt.output_tokens),
            (2, 40, 12)
        );
        let coder = &summary.by_agent["coder"];
        assert_eq!(
            (
                coder.requests,
                coder.cache_read_tokens,
                coder.cache_write_tokens
            ),
            (2, 1_000, 50)
        );
        assert_eq!(summary.by_agent["reviewer"].requests, 1);
    }

    #[test]
    fn summary_serializes_with_v6_field_names() {
        let mut meter = CostMeter::new(Budgets::default());
        meter.record("coder", "gpt-4o", usage(10, 5), 0.5, false);
        let json = serde_json::to_value(meter.summary()).unwrap();
        for field in [
            "total_requests",
            "total_input_tokens",
            "total_output_tokens",
            "total_tokens",
            "total_cache_read_tokens",
            "total_cost_usd",
            "by_model",
            "by_agent",
            "budget_usd",
        ] {
            assert!(json.get(field).is_some(), "{field} missing");
        }
        assert_eq!(json["by_model"]["gpt-4o"]["requests"], 1);
        assert_eq!(json["by_model"]["gpt-4o"]["cost_usd"], 0.5);
    }
}
