//! The real peers of the end-to-end tests. Each is named by an environment variable; a test
//! whose peer is missing prints a `SKIPPED …` line (visible in `cargo test`'s output) and
//! passes, unless TZZR_E2E_REQUIRED=1 (CI), where it fails.

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

fn peer(var: &str, what: &str) -> Option<String> {
    match std::env::var(var) {
        Ok(value) if !value.trim().is_empty() => Some(value),
        _ => {
            skip(&format!("{var} is not set; set it to {what}"));
            None
        }
    }
}

/// Says, past the test harness's capture, that the running test is skipped and why, or fails
/// it when TZZR_E2E_REQUIRED=1 (CI). A skipped test still shows `ok` in cargo's summary: this
/// line is what tells the two apart (`cargo test 2>&1 | grep SKIPPED` lists them, with a count).
pub fn skip(why: &str) {
    let test = std::thread::current().name().unwrap_or("a test").to_owned();
    if std::env::var("TZZR_E2E_REQUIRED").as_deref() == Ok("1") {
        panic!("{test}: {why}, and TZZR_E2E_REQUIRED=1 forbids skipping it");
    }
    let count = SKIPPED.fetch_add(1, std::sync::atomic::Ordering::Relaxed) + 1;
    // Written to the process's stderr, not through `eprintln!`, which the harness captures
    // and shows only for failed tests.
    use std::io::Write;
    let _ = writeln!(
        std::io::stderr().lock(),
        "SKIPPED ({count} in this test binary) {test}: {why}"
    );
}

static SKIPPED: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);
