//! How one agent's calls are priced: by the price table, where a model the table does not know
//! costs nothing when this machine serves it (a model run locally) and is unpriced elsewhere;
//! or not at all, for a script that calls no model.

use crate::engine::config::Config;
use crate::engine::protocol::TokenUsage;
use crate::engine::provider::route::{Route, is_local};

use super::PriceTable;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Pricing {
    /// By the price table. `local`: served on this machine (127.0.0.1, localhost, ::1), so a
    /// model the table does not know is free; a known one is priced wherever it is served (a
    /// LiteLLM proxy on localhost still costs money).
    Table { local: bool },
    /// A scripted agent calls no model: it costs nothing.
    Free,
}

/// The cost of one usage report.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Priced {
    /// `None`: the model has no known price (counted as $0).
    pub cost_usd: Option<f64>,
    /// Free because this machine served a model the table does not know.
    pub local: bool,
}

impl Pricing {
    /// A scripted agent is free unless `models:` prices its model on purpose (a demo or a test
    /// of budgets); an HTTP agent is local when its base URL is this machine.
    pub(crate) fn for_route(route: &Route, config: &Config) -> Self {
        match route {
            Route::Http(http) => Pricing::Table {
                local: is_local(&http.base_url),
            },
            Route::Scripted { model } if config.models.contains_key(model) => {
                Pricing::Table { local: false }
            }
            Route::Scripted { .. } => Pricing::Free,
            Route::ClaudeCli { .. } => Pricing::Table { local: false },
        }
    }

    pub fn cost(self, prices: &PriceTable, model: &str, usage: &TokenUsage) -> Priced {
        match self {
            Pricing::Free => Priced {
                cost_usd: Some(0.0),
                local: false,
            },
            Pricing::Table { local } => match prices.cost(model, usage) {
                Some(cost_usd) => Priced {
                    cost_usd: Some(cost_usd),
                    local: false,
                },
                None => Priced {
                    cost_usd: local.then_some(0.0),
                    local,
                },
            },
        }
    }

    /// Whether `model` would count as $0 without being free: no price known, not served here.
    pub fn is_unpriced(self, prices: &PriceTable, model: &str) -> bool {
        self.cost(prices, model, &TokenUsage::default())
            .cost_usd
            .is_none()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn usage() -> TokenUsage {
        TokenUsage {
            input: 1_000_000,
            output: 0,
            ..TokenUsage::default()
        }
    }

    #[test]
    fn a_known_model_is_priced_wherever_it_is_served() {
        let prices = PriceTable::builtin();
        for local in [false, true] {
            let priced = Pricing::Table { local }.cost(&prices, "gpt-4o", &usage());
            assert_eq!(
                priced,
                Priced {
                    cost_usd: Some(2.5),
                    local: false
                }
            );
        }
    }

    #[test]
    fn an_unknown_model_is_free_on_this_machine_and_unpriced_elsewhere() {
        let prices = PriceTable::builtin();
        assert_eq!(
            Pricing::Table { local: true }.cost(&prices, "qwen3-coder", &usage()),
            Priced {
                cost_usd: Some(0.0),
                local: true
            }
        );
        assert_eq!(
            Pricing::Table { local: false }.cost(&prices, "qwen3-coder", &usage()),
            Priced {
                cost_usd: None,
                local: false
            }
        );
        assert!(Pricing::Table { local: false }.is_unpriced(&prices, "qwen3-coder"));
        assert!(!Pricing::Table { local: true }.is_unpriced(&prices, "qwen3-coder"));
    }

    #[test]
    fn a_script_costs_nothing_even_named_after_a_priced_model() {
        let prices = PriceTable::builtin();
        assert_eq!(
            Pricing::Free.cost(&prices, "claude-sonnet-4-5", &usage()),
            Priced {
                cost_usd: Some(0.0),
                local: false
            }
        );
    }
}
