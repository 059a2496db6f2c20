//! The engine: agents, providers, tools, costs and logs. It knows nothing of terminals; the TUI
//! and the headless CLI both drive it through `protocol`.

pub mod agent;
pub mod config;
pub mod context;
pub mod conversation;
pub mod cost;
pub mod env;
pub mod health;
pub mod health_monitor;
pub mod journal;
pub mod journal_writer;
pub mod json_text;
pub mod log_dir;
pub mod mcp;
pub mod open_files;
pub mod orchestrator;
pub mod own_program;
pub mod pipeline;
pub mod protocol;
pub mod provider;
pub mod redact;
pub mod resilience;
pub mod session;
pub mod tokens;
pub mod tools;
