//! What the agents spend: the price table (built-in, overridden by `models:`), the meter that adds
//! up usage per agent and per model, and the budgets checked before each call.

mod catalog;
pub mod meter;
pub mod prices;
pub mod pricing;

pub use meter::{BudgetError, Budgets, CostMeter, CostSummary, HoldId, Tally};
pub use prices::{ModelInfo, Price, PriceTable};
pub use pricing::{Priced, Pricing};
