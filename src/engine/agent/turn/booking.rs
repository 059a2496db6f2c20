//! What a model call may spend and what it did spend: its worst case held against the budgets
//! before it starts, the usage booked on the meter as it comes, the hold released after.

use std::sync::{Arc, Mutex};

use super::lock;
use crate::engine::cost::{BudgetError, CostMeter, HoldId, PriceTable, Pricing};
use crate::engine::protocol::{EventKind, TokenUsage};

/// What the usage of a call is booked against.
pub(super) struct UsageContext<'a> {
    pub agent: &'a str,
    pub upstream_model: &'a str,
    pub price_model: &'a str,
    pub pricing: Pricing,
    pub prices: &'a PriceTable,
    pub meter: &'a Mutex<CostMeter>,
}

impl UsageContext<'_> {
    /// Books one usage report on the meter and says what to show.
    pub fn book(
        &mut self,
        model: String,
        usage: TokenUsage,
        reported_cost_usd: Option<f64>,
        estimated: bool,
    ) -> EventKind {
        let label = if model == self.upstream_model {
            self.price_model.to_owned()
        } else {
            model
        };
        let priced = self.pricing.cost(self.prices, &label, &usage);
        let cost_usd = reported_cost_usd.or(priced.cost_usd).unwrap_or(0.0);
        lock(self.meter).record(self.agent, &label, usage, cost_usd, estimated);
        EventKind::Usage {
            model: label,
            usage,
            cost_usd,
            priced: reported_cost_usd.is_some() || priced.cost_usd.is_some(),
            estimated,
            local: reported_cost_usd.is_none() && priced.local,
        }
    }
}

/// What a call is assumed to write at most when the agent sets no `max_tokens`.
pub(super) const DEFAULT_OUTPUT_RESERVE: u32 = 4096;

/// A call's worst case held against the budgets while it runs; released when dropped (the call
/// ended, failed or was cancelled: what it used is booked as usage).
pub(super) struct Hold {
    meter: Arc<Mutex<CostMeter>>,
    id: HoldId,
    agent: String,
}

impl Hold {
    /// Releases the hold and says which budgets just passed 80 %.
    pub fn settle(self) -> Vec<String> {
        let mut meter = lock(&self.meter);
        meter.release(self.id);
        meter.warnings(&self.agent)
    }
}

impl Drop for Hold {
    fn drop(&mut self) {
        lock(&self.meter).release(self.id);
    }
}

/// Holds the worst case of a call whose prompt is about `est_tokens` tokens: the prompt and
/// `max_tokens` of output (or [`DEFAULT_OUTPUT_RESERVE`]) at the model's price. Refused when
/// it would take the run or the agent past a budget.
pub(super) fn reserve(
    meter: &Arc<Mutex<CostMeter>>,
    prices: &PriceTable,
    pricing: Pricing,
    agent: &str,
    price_model: &str,
    est_tokens: u64,
    max_tokens: Option<u32>,
) -> Result<Hold, BudgetError> {
    let worst = TokenUsage {
        input: est_tokens,
        output: u64::from(max_tokens.unwrap_or(DEFAULT_OUTPUT_RESERVE)),
        ..TokenUsage::default()
    };
    let worst_usd = pricing
        .cost(prices, price_model, &worst)
        .cost_usd
        .unwrap_or(0.0);
    let id = lock(meter).reserve(agent, worst_usd)?;
    Ok(Hold {
        meter: Arc::clone(meter),
        id,
        agent: agent.to_owned(),
    })
}
