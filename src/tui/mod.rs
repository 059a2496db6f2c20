//! The terminal UI: a ratatui front end over `engine::protocol` only.

pub mod logtail;
pub mod markdown;
pub mod sanitize;
pub mod wrap;
