//! The Claude Code CLI as a provider: `claude -p … --output-format stream-json --verbose`, one
//! process per turn, multi-turn through the CLI's session id (`--session-id`, then `--resume`).
//! The CLI runs its own tools; tzzr reports them.

use std::path::PathBuf;
use std::time::Duration;

use tokio_util::sync::CancellationToken;

use super::{ModelReply, ProviderError, Sink};

/// How to run the CLI for one agent.
#[derive(Clone, Debug, PartialEq)]
pub struct ClaudeCliConfig {
    /// Program name or path (`claude`, or `TZZR_CLAUDE_BIN`).
    pub program: String,
    /// Passed to `--model` (CLI aliases such as `sonnet` are passed as they are).
    pub model: String,
    pub system_prompt: String,
    /// tzzr tool names; mapped to the CLI's (`bash` → `Bash`, …).
    pub tools: Vec<String>,
    pub max_turns: u32,
    /// `CLAUDE_CODE_MAX_RETRIES` for the CLI's own API retries.
    pub max_retries: u32,
    pub cwd: PathBuf,
    /// Extra environment for the child (`.env` values, `ANTHROPIC_BASE_URL`, …).
    pub env: Vec<(String, String)>,
    /// Longest silence on the CLI's stdout before the run is abandoned.
    pub timeout: Duration,
}

#[derive(Debug)]
pub struct ClaudeCli {
    cfg: ClaudeCliConfig,
    session: Option<String>,
}

impl ClaudeCli {
    pub fn new(cfg: ClaudeCliConfig) -> Self {
        Self { cfg, session: None }
    }

    /// Runs one turn. On cancel the child is killed (its process group) and `Cancelled` returned.
    pub async fn run(
        &mut self,
        prompt: &str,
        cancel: &CancellationToken,
        sink: Sink<'_>,
    ) -> Result<ModelReply, ProviderError> {
        let _ = (prompt, cancel, sink, &self.cfg);
        todo!("ClaudeCli::run")
    }

    /// Forgets the session: the next turn starts a new one.
    pub fn reset(&mut self) {
        self.session = None;
    }

    pub fn session_id(&self) -> Option<&str> {
        self.session.as_deref()
    }
}

/// The CLI's names for tzzr's tools, and the tzzr tools the CLI has no equivalent for.
pub fn map_tools(tools: &[String]) -> (Vec<&'static str>, Vec<String>) {
    let _ = tools;
    todo!("claude_cli::map_tools")
}

/// Where `program` would be run from (a path, or a search of PATH).
pub fn locate(program: &str) -> Option<PathBuf> {
    let _ = program;
    todo!("claude_cli::locate")
}

/// `claude --version`: a health check that needs no network.
pub async fn version(program: &str) -> Result<String, ProviderError> {
    let _ = program;
    todo!("claude_cli::version")
}
