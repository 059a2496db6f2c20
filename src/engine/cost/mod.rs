//! What the agents spend: the price table (built-in, overridden by `models:`), the meter that adds
//! up usage per agent and per model, and the budgets checked before each call.

pub mod meter;
pub mod prices;

pub use meter::{BudgetError, Budgets, CostMeter, CostSummary};
pub use prices::{ModelInfo, Price, PriceTable};
