//! What stands between an agent and an endpoint: a rate limiter, a circuit breaker and a retry
//! policy, one set per endpoint (base URL + key), shared by every agent that uses it.

pub mod breaker;
pub mod endpoint;
pub mod limiter;
pub mod quota;
pub mod reachability;
pub mod retry;

pub use breaker::Breaker;
pub use endpoint::Endpoint;
pub use limiter::{Limiter, LimiterPermit};
pub use reachability::Reachability;
pub use retry::RetryPolicy;
