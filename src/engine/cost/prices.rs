//! Prices in USD per million tokens and context windows, per model name. Built-in defaults cover
//! each vendor's current models; `models:` in the config adds or overrides entries.

use indexmap::IndexMap;

use crate::engine::config::ModelSpec;
use crate::engine::protocol::TokenUsage;

/// USD per million tokens.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Price {
    pub input: f64,
    pub output: f64,
    pub cache_read: f64,
    pub cache_write: f64,
}

#[derive(Clone, Copy, Debug, PartialEq, Default)]
pub struct ModelInfo {
    pub price: Option<Price>,
    pub context_window: Option<u64>,
}

#[derive(Clone, Debug, Default)]
pub struct PriceTable {
    entries: IndexMap<String, ModelInfo>,
}

impl PriceTable {
    pub fn builtin() -> Self {
        todo!("PriceTable::builtin")
    }

    /// The built-in table with the config's `models:` entries laid over it.
    pub fn with_overrides(models: &IndexMap<String, ModelSpec>) -> Self {
        let _ = models;
        todo!("PriceTable::with_overrides")
    }

    /// The entry for a model name: exact, then without a vendor prefix (`groq/…`), then without
    /// a date suffix (`-20250514`).
    pub fn lookup(&self, model: &str) -> Option<&ModelInfo> {
        let _ = model;
        todo!("PriceTable::lookup")
    }

    /// The cost of `usage` on `model`, `None` when the model has no price.
    pub fn cost(&self, model: &str, usage: &TokenUsage) -> Option<f64> {
        let _ = (model, usage);
        todo!("PriceTable::cost")
    }
}
