//! What a model call may spend and what it did spend: the budget check before a call, the
//! usage booked on the meter after it.

use std::sync::Mutex;

use super::lock;
use crate::engine::cost::{BudgetError, CostMeter, PriceTable};
use crate::engine::protocol::{EventKind, TokenUsage};

/// What the usage of a call is booked against.
pub(super) struct UsageContext<'a> {
    pub agent: &'a str,
    pub upstream_model: &'a str,
    pub price_model: &'a str,
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
        let priced = self.prices.cost(&label, &usage);
        let cost_usd = reported_cost_usd.or(priced).unwrap_or(0.0);
        lock(self.meter).record(self.agent, &label, usage, cost_usd);
        EventKind::Usage {
            model: label,
            usage,
            cost_usd,
            priced: reported_cost_usd.is_some() || priced.is_some(),
            estimated,
        }
    }
}

/// Whether the agent may make a call whose prompt is about `est_tokens` tokens.
pub(super) fn admit(
    meter: &Mutex<CostMeter>,
    prices: &PriceTable,
    agent: &str,
    price_model: &str,
    est_tokens: u64,
) -> Result<(), BudgetError> {
    let est_cost = prices
        .cost(
            price_model,
            &TokenUsage {
                input: est_tokens,
                ..TokenUsage::default()
            },
        )
        .unwrap_or(0.0);
    lock(meter).check(agent, est_cost)
}
