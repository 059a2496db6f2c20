//! The tools an agent may call, with v6's names and parameters, confined to the working
//! directory. `Toolbox` is what an agent holds: the specs it offers the model and the runner.

pub mod sandbox;
pub mod text_protocol;

use std::path::PathBuf;
use std::time::Duration;

use serde::Serialize;
use tokio_util::sync::CancellationToken;

use crate::engine::conversation::ToolCall;

/// Every tool name v6 knows, in v6's order.
pub const ALL_TOOLS: [&str; 8] = [
    "bash",
    "read",
    "write",
    "glob",
    "grep",
    "http_request",
    "ssh",
    "list_dir",
];

/// A tool as offered to a model: name, description and JSON-schema parameters (v6's schemas).
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct ToolSpec {
    pub name: String,
    pub description: String,
    pub parameters: serde_json::Value,
}

/// The schema of a known tool, `None` for an unknown name.
pub fn spec(name: &str) -> Option<ToolSpec> {
    let _ = name;
    todo!("tools::spec")
}

/// What the tools of one agent may touch.
#[derive(Clone, Debug)]
pub struct ToolContext {
    /// Absolute, canonical working directory; file tools stay inside it when `sandbox_paths`.
    pub working_dir: PathBuf,
    pub sandbox_paths: bool,
    /// Time limit of one tool call.
    pub timeout: Duration,
}

/// What a tool call produced.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ToolOutput {
    pub ok: bool,
    pub output: String,
}

/// The tools of one agent.
#[derive(Debug)]
pub struct Toolbox {
    specs: Vec<ToolSpec>,
    unavailable: Vec<String>,
    ctx: ToolContext,
}

impl Toolbox {
    /// The toolbox for the tool names of an agent's config (already validated as known).
    pub fn new(tools: &[String], ctx: ToolContext) -> Self {
        let _ = (tools, ctx);
        todo!("Toolbox::new")
    }

    /// The tools offered to the model.
    pub fn specs(&self) -> &[ToolSpec] {
        &self.specs
    }

    /// Tools the config names that this build cannot run yet; the agent warns about them.
    pub fn unavailable(&self) -> &[String] {
        &self.unavailable
    }

    pub fn context(&self) -> &ToolContext {
        &self.ctx
    }

    /// Runs one call. Never panics and never fails as a Rust error: whatever went wrong is
    /// reported to the model in the output, with `ok: false`.
    pub async fn run(&self, call: &ToolCall, cancel: &CancellationToken) -> ToolOutput {
        let _ = (call, cancel);
        todo!("Toolbox::run")
    }
}
