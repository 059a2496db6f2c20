//! The real peers of the end-to-end tests. Each is named by an environment variable; a test
//! whose peer is missing says so and passes, unless TZZR_E2E_REQUIRED=1 (CI), where it fails.

use std::path::PathBuf;

/// Base URL of a real OpenAI-compatible model server (`../shared/llm/serve --background`).
pub fn llm_url() -> Option<String> {
    peer(
        "TZZR_E2E_LLM_URL",
        "a real model server: TZZR_E2E_LLM_URL=$(../shared/llm/serve --background --port 0)",
    )
}

/// The real Claude Code CLI (`npm install --prefix DIR @anthropic-ai/claude-code`).
pub fn claude_bin() -> Option<PathBuf> {
    peer(
        "TZZR_E2E_CLAUDE",
        "the real Claude Code CLI: TZZR_E2E_CLAUDE=DIR/node_modules/.bin/claude",
    )
    .map(PathBuf::from)
}

/// A real OpenSSH server binary (Debian's `openssh-server`): TZZR_E2E_SSHD=/usr/sbin/sshd.
pub fn sshd() -> Option<PathBuf> {
    peer(
        "TZZR_E2E_SSHD",
        "a real OpenSSH server: TZZR_E2E_SSHD=/usr/sbin/sshd (apt-get install openssh-server)",
    )
    .map(PathBuf::from)
}

/// The stdio entry of the real MCP server `@modelcontextprotocol/server-everything` (`.ci/run`
/// installs it from npm; it runs offline with node).
pub fn mcp_everything() -> Option<PathBuf> {
    peer(
        "TZZR_E2E_MCP_EVERYTHING",
        "the real MCP test server: npm install --prefix DIR @modelcontextprotocol/server-everything, then TZZR_E2E_MCP_EVERYTHING=DIR/node_modules/@modelcontextprotocol/server-everything/dist/index.js",
    )
    .map(PathBuf::from)
}

#[expect(
    clippy::print_stderr,
    reason = "a skipped test says why in the test output"
)]
fn peer(var: &str, what: &str) -> Option<String> {
    match std::env::var(var) {
        Ok(value) if !value.trim().is_empty() => Some(value),
        _ if std::env::var("TZZR_E2E_REQUIRED").as_deref() == Ok("1") => {
            panic!("{var} is not set and TZZR_E2E_REQUIRED=1: set it to {what}")
        }
        _ => {
            eprintln!("skipped: set {var} to run against {what}");
            None
        }
    }
}
