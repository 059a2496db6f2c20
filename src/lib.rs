//! tzzr runs a team of LLM agents side by side, in a terminal UI or headless.

pub mod cli;
pub mod engine;
pub mod logging;
pub mod report;
pub mod sanitize;
pub mod stop_signals;
pub mod tui;
