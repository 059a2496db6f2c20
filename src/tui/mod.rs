//! The terminal UI: a ratatui front end over `engine::protocol` only.

pub mod app;
pub mod config_watch;
pub mod input;
pub mod logtail;
pub mod markdown;
pub mod model;
pub mod run;
pub mod task_slot;
pub mod terminal;
pub mod view;
pub mod wrap;
