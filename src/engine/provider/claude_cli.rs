//! The Claude Code CLI as a provider: `claude -p … --output-format stream-json --verbose`, one
//! process per turn, multi-turn through the CLI's session id (`--session-id`, then `--resume`).
//! The CLI runs its own tools; tzzr reports them.

use std::os::unix::fs::PermissionsExt;
use std::os::unix::process::ExitStatusExt;
use std::path::{Path, PathBuf};
use std::process::{ExitStatus, Stdio};
use std::time::Duration;

use rustix::process::{Pid, Signal};
use tokio::io::{AsyncBufReadExt, AsyncRead, BufReader};
use tokio::process::{Child, Command};
use tokio::time::Instant;
use tokio_util::sync::CancellationToken;

use super::claude_stream::{Finish, StreamParser};
use super::{ModelReply, ProviderError, Sink, StreamItem};
use crate::engine::mcp::bridge::PERMISSION_PROMPT_TOOL;

/// `claude --version` answers in milliseconds; anything slower is a broken install.
const VERSION_LIMIT: Duration = Duration::from_secs(10);
/// How long the CLI may take to exit after its `result` line (it stores the session then, and
/// the next turn's `--resume` needs that).
const EXIT_GRACE: Duration = Duration::from_secs(10);
/// How long to keep reading after the CLI exited without a result, for lines still in the
/// pipes, before leftovers that hold the pipes open are killed.
const DRAIN_GRACE: Duration = Duration::from_secs(1);

/// The longest line of the CLI's output tzzr keeps; the rest of a longer line is dropped (the
/// cut line is not JSON, so it is skipped with a warning), so memory stays bounded.
const MAX_LINE_BYTES: usize = 16 * 1024 * 1024;

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
    /// The mcp-config of tzzr's bridge (its tools, and approvals for the CLI's own tools);
    /// without it the agent's tools are pre-approved with `--allowedTools`.
    pub bridge: Option<PathBuf>,
    /// Absolute paths the CLI's file tools may not read or edit (the config, `.env` files,
    /// the logs): the CLI reads inside its working directory without asking anyone.
    pub protected: Vec<PathBuf>,
}

#[derive(Debug)]
pub struct ClaudeCli {
    cfg: ClaudeCliConfig,
    /// The CLI's session, known once a run printed its `system/init` line.
    session: Option<String>,
}

impl ClaudeCli {
    pub fn new(cfg: ClaudeCliConfig) -> Self {
        Self { cfg, session: None }
    }

    /// The program this session runs, as the config names it.
    pub fn program(&self) -> &str {
        &self.cfg.program
    }

    /// Runs one turn. On cancel the child is killed (its process group) and `Cancelled` returned.
    ///
    /// A run killed right after `system/init` leaves a session the CLI never stored; when
    /// `--resume` then finds nothing, the turn is run again in a new session, with a notice.
    pub async fn run(
        &mut self,
        prompt: &str,
        cancel: &CancellationToken,
        sink: Sink<'_>,
    ) -> Result<ModelReply, ProviderError> {
        let resumed = self.session.clone();
        match self.run_once(prompt, cancel, &mut *sink).await {
            Err(RunError::SessionNotFound(message)) => {
                self.session = None;
                let Some(lost) = resumed else {
                    return Err(ProviderError::Cli { message });
                };
                sink(StreamItem::Notice(format!(
                    "claude CLI has no record of session {lost}; starting a new session without the earlier turns"
                )));
                self.run_once(prompt, cancel, sink)
                    .await
                    .map_err(RunError::into_provider)
            }
            other => other.map_err(RunError::into_provider),
        }
    }

    /// Forgets the session: the next turn starts a new one.
    pub fn reset(&mut self) {
        self.session = None;
    }

    /// The next turn goes on with session `id` (an earlier run's, restored from its journal).
    pub fn resume(&mut self, id: String) {
        self.session = Some(id);
    }

    pub fn session_id(&self) -> Option<&str> {
        self.session.as_deref()
    }

    async fn run_once(
        &mut self,
        prompt: &str,
        cancel: &CancellationToken,
        sink: Sink<'_>,
    ) -> Result<ModelReply, RunError> {
        let session = match &self.session {
            Some(id) => SessionArg::Resume(id.clone()),
            None => SessionArg::Start(uuid::Uuid::new_v4().to_string()),
        };
        let mut child = spawn(&self.cfg, &cli_args(&self.cfg, prompt, &session))?;
        let mut parser = StreamParser::new(self.cfg.model.clone());
        let watched = watch(&mut child, &mut parser, self.cfg.timeout, cancel, sink).await;
        if let Some(id) = parser.session_id() {
            self.session = Some(id.to_owned());
        }
        let cli = |message| Err(RunError::Provider(ProviderError::Cli { message }));
        match watched {
            Watched::Finished(Finish::Reply(reply)) => Ok(reply),
            Watched::Finished(Finish::Failed(message)) => cli(message),
            Watched::Finished(Finish::SessionNotFound(message)) => {
                Err(RunError::SessionNotFound(message))
            }
            Watched::Exited {
                status,
                last_stderr,
            } => cli(last_stderr
                .or_else(|| parser.last_api_error().map(str::to_owned))
                .unwrap_or_else(|| describe_exit(status))),
            Watched::Silent => cli(format!(
                "no output from claude for {}s",
                self.cfg.timeout.as_secs_f64()
            )),
            Watched::Cancelled => Err(RunError::Provider(ProviderError::Cancelled)),
        }
    }
}

/// Why one run of the CLI failed.
enum RunError {
    Provider(ProviderError),
    /// `--resume` named a session the CLI has no record of.
    SessionNotFound(String),
}

impl RunError {
    fn into_provider(self) -> ProviderError {
        match self {
            RunError::Provider(e) => e,
            RunError::SessionNotFound(message) => ProviderError::Cli { message },
        }
    }
}

impl From<ProviderError> for RunError {
    fn from(e: ProviderError) -> Self {
        RunError::Provider(e)
    }
}

enum SessionArg {
    Start(String),
    Resume(String),
}

/// The argv after the program. The prompt goes last, after `--`, so that a prompt starting with
/// `-` is not taken for an option (the CLI answers `error: unknown option`).
fn cli_args(cfg: &ClaudeCliConfig, prompt: &str, session: &SessionArg) -> Vec<String> {
    let (tools, _unsupported) = map_tools(&cfg.tools);
    let tools = tools.join(",");
    let mut args: Vec<String> = [
        "-p",
        "--output-format",
        "stream-json",
        "--verbose",
        "--include-partial-messages",
        "--model",
        &cfg.model,
        "--system-prompt",
        &cfg.system_prompt,
        "--max-turns",
        &cfg.max_turns.to_string(),
        "--tools",
        &tools,
    ]
    .map(str::to_owned)
    .into();
    match &cfg.bridge {
        // Approvals come to tzzr; nothing is pre-approved, and no settings or MCP servers of
        // the working directory (a cloned repository) can pre-approve or add anything.
        Some(mcp_config) => args.extend([
            "--mcp-config".to_owned(),
            mcp_config.display().to_string(),
            "--strict-mcp-config".to_owned(),
            "--permission-prompt-tool".to_owned(),
            PERMISSION_PROMPT_TOOL.to_owned(),
            "--setting-sources".to_owned(),
            "user".to_owned(),
        ]),
        None if !tools.is_empty() => args.extend(["--allowedTools".to_owned(), tools]),
        None => {}
    }
    let denied = protected_rules(&cfg.protected);
    if !denied.is_empty() {
        args.push("--disallowedTools".to_owned());
        args.extend(denied);
    }
    match session {
        SessionArg::Start(id) => args.extend(["--session-id".to_owned(), id.clone()]),
        SessionArg::Resume(id) => args.extend(["--resume".to_owned(), id.clone()]),
    }
    args.extend(["--".to_owned(), prompt.to_owned()]);
    args
}

/// The CLI's permission rules that keep its file tools off `protected` paths (`//` starts an
/// absolute path in its rule syntax; a directory's rule covers what is inside).
fn protected_rules(protected: &[PathBuf]) -> Vec<String> {
    let mut rules = Vec::new();
    // The path as written and as resolved (through symlinks): the CLI may see either.
    let mut paths: Vec<PathBuf> = Vec::new();
    for path in protected {
        for form in [Some(path.clone()), path.canonicalize().ok()]
            .into_iter()
            .flatten()
        {
            if !paths.contains(&form) {
                paths.push(form);
            }
        }
    }
    for path in &paths {
        let Some(text) = path.to_str().filter(|t| t.starts_with('/')) else {
            continue;
        };
        let pattern = if path.is_dir() {
            format!("/{}/**", text.trim_end_matches('/'))
        } else {
            format!("/{text}")
        };
        for tool in ["Read", "Edit"] {
            rules.push(format!("{tool}({pattern})"));
        }
    }
    rules
}

/// Starts the CLI in its own process group, so that a kill reaches the tools it started too.
fn spawn(cfg: &ClaudeCliConfig, args: &[String]) -> Result<Child, ProviderError> {
    let program = locate(&cfg.program)
        .and_then(|path| std::path::absolute(path).ok())
        .ok_or_else(|| ProviderError::CliMissing {
            program: cfg.program.clone(),
        })?;
    tracing::debug!(program = %program.display(), cwd = %cfg.cwd.display(), "starting claude CLI");
    let mut command = Command::new(&program);
    command
        .args(args)
        .current_dir(&cfg.cwd)
        .envs(cfg.env.iter().map(|(k, v)| (k, v)))
        .env("CLAUDE_CODE_MAX_RETRIES", cfg.max_retries.to_string())
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .process_group(0)
        .kill_on_drop(true);
    // A program just written (an install, an update) can be "busy" for a moment while another
    // process that forked meanwhile still holds its write handle: try again briefly.
    let mut spawned = command.spawn();
    for _ in 0..20 {
        match &spawned {
            Err(e) if e.kind() == std::io::ErrorKind::ExecutableFileBusy => {
                std::thread::sleep(std::time::Duration::from_millis(5));
                spawned = command.spawn();
            }
            _ => break,
        }
    }
    spawned.map_err(|e| ProviderError::Cli {
        message: format!(
            "cannot start {} in {}: {e}",
            program.display(),
            cfg.cwd.display()
        ),
    })
}

/// How a watched run ended.
enum Watched {
    Finished(Finish),
    /// The CLI exited without a `result` line.
    Exited {
        status: Option<ExitStatus>,
        last_stderr: Option<String>,
    },
    /// Nothing on stdout for the configured timeout; the CLI was killed.
    Silent,
    /// The token fired; the CLI was killed.
    Cancelled,
}

/// Reads the CLI's output until it has given its result and exited, feeding stdout to
/// `parser` and keeping stderr's last line. Every wait races `cancel`.
async fn watch(
    child: &mut Child,
    parser: &mut StreamParser,
    timeout: Duration,
    cancel: &CancellationToken,
    sink: Sink<'_>,
) -> Watched {
    let group = child
        .id()
        .and_then(|id| i32::try_from(id).ok())
        .and_then(Pid::from_raw);
    let (Some(stdout), Some(stderr)) = (child.stdout.take(), child.stderr.take()) else {
        kill(child, group).await;
        return Watched::Exited {
            status: None,
            last_stderr: Some("claude CLI started without output pipes".to_owned()),
        };
    };
    let mut stdout = LineReader::new(stdout);
    let mut stderr = LineReader::new(stderr);
    let mut last_stderr = None;
    let mut finish = None;
    let mut exited = false;
    let mut status = None;
    // Three limits in turn: silence while running, the exit after the result, the drain
    // after the exit.
    let deadline = tokio::time::sleep(timeout);
    tokio::pin!(deadline);

    loop {
        let pipes_closed = !stdout.is_open && !stderr.is_open;
        if exited && (finish.is_some() || pipes_closed) {
            break;
        }
        tokio::select! {
            biased;
            () = cancel.cancelled() => {
                kill(child, group).await;
                return Watched::Cancelled;
            }
            line = stdout.next_line(), if stdout.is_open => {
                // In one-turn mode nothing follows the result; whatever does is not this turn's.
                let Some(line) = line.filter(|_| finish.is_none()) else { continue };
                if !exited {
                    deadline.as_mut().reset(Instant::now() + timeout);
                }
                if let Some(end) = parser.feed(&line, &mut *sink) {
                    finish = Some(end);
                    if !exited {
                        deadline.as_mut().reset(Instant::now() + EXIT_GRACE);
                    }
                }
            }
            line = stderr.next_line(), if stderr.is_open => {
                if let Some(line) = line.as_deref().map(str::trim).filter(|l| !l.is_empty()) {
                    tracing::debug!(line, "claude CLI stderr");
                    last_stderr = Some(line.to_owned());
                }
            }
            exit = child.wait(), if !exited => {
                exited = true;
                status = exit.ok();
                deadline.as_mut().reset(Instant::now() + DRAIN_GRACE);
            }
            () = &mut deadline => {
                let was_running = !exited;
                kill(child, group).await;
                if was_running && finish.is_none() {
                    return Watched::Silent;
                }
                break;
            }
        }
    }
    match finish {
        Some(end) => Watched::Finished(end),
        None => Watched::Exited {
            status,
            last_stderr,
        },
    }
}

/// Kills the CLI's whole process group (the tools it started included) and reaps the CLI.
async fn kill(child: &mut Child, group: Option<Pid>) {
    match group {
        // ESRCH: the group is already gone, which is what we want.
        Some(group) => {
            let _ = rustix::process::kill_process_group(group, Signal::KILL);
        }
        None => {
            let _ = child.start_kill();
        }
    }
    let _ = child.wait().await;
}

fn describe_exit(status: Option<ExitStatus>) -> String {
    match status {
        Some(status) => match (status.code(), status.signal()) {
            (Some(code), _) => format!("claude exited with status {code}"),
            (None, Some(signal)) => format!("claude was killed by signal {signal}"),
            (None, None) => format!("claude exited: {status}"),
        },
        None => "claude exited with an unknown status".to_owned(),
    }
}

/// Lines of a child's pipe, tolerant of bad UTF-8, each cut at `max_line` bytes.
struct LineReader<R> {
    reader: BufReader<R>,
    /// A line read in part when a `select!` dropped the read; the next read completes it.
    pending: Vec<u8>,
    is_open: bool,
    max_line: usize,
}

impl<R: AsyncRead + Unpin> LineReader<R> {
    fn new(inner: R) -> Self {
        Self {
            reader: BufReader::new(inner),
            pending: Vec::new(),
            is_open: true,
            max_line: MAX_LINE_BYTES,
        }
    }

    /// The next line without its line end; `None` at the end of the stream. Cancel-safe: what
    /// was read stays in `pending` (only `fill_buf` awaits).
    async fn next_line(&mut self) -> Option<String> {
        let at_end = loop {
            let buffer = match self.reader.fill_buf().await {
                Ok(buffer) => buffer,
                Err(e) => {
                    tracing::warn!(error = %e, "reading the claude CLI's output failed");
                    break true;
                }
            };
            if buffer.is_empty() {
                break true;
            }
            let newline = buffer.iter().position(|&b| b == b'\n');
            let taken = newline.map_or(buffer.len(), |at| at + 1);
            let room = self.max_line.saturating_sub(self.pending.len());
            self.pending.extend_from_slice(&buffer[..taken.min(room)]);
            self.reader.consume(taken);
            if newline.is_some() {
                break false;
            }
        };
        if at_end {
            self.is_open = false;
            if self.pending.is_empty() {
                return None;
            }
        }
        let bytes = std::mem::take(&mut self.pending);
        let line = String::from_utf8_lossy(&bytes);
        Some(line.trim_end_matches(['\n', '\r']).to_owned())
    }
}

/// The CLI's names for tzzr's tools, and the tzzr tools the CLI has no equivalent for.
pub fn map_tools(tools: &[String]) -> (Vec<&'static str>, Vec<String>) {
    let mut cli = Vec::new();
    let mut unsupported: Vec<String> = Vec::new();
    for tool in tools {
        match cli_name(tool) {
            Some(name) if !cli.contains(&name) => cli.push(name),
            Some(_) => {}
            None if !unsupported.contains(tool) => unsupported.push(tool.clone()),
            None => {}
        }
    }
    (cli, unsupported)
}

/// The CLI's own tool that stands for tzzr's `tool`; `None` for `list_dir`, `ssh` and
/// `http_request`, which the CLI 2.1.332 lacks (no LS tool) and tzzr serves over its bridge.
pub fn cli_name(tool: &str) -> Option<&'static str> {
    match tool {
        "bash" => Some("Bash"),
        "read" => Some("Read"),
        "write" => Some("Write"),
        "glob" => Some("Glob"),
        "grep" => Some("Grep"),
        _ => None,
    }
}

/// Where `program` would be run from (a path, or a search of PATH).
pub fn locate(program: &str) -> Option<PathBuf> {
    if program.is_empty() {
        return None;
    }
    if program.contains('/') {
        let path = PathBuf::from(program);
        return path.is_file().then_some(path);
    }
    let search = std::env::var_os("PATH")?;
    std::env::split_paths(&search)
        .filter(|dir| !dir.as_os_str().is_empty())
        .map(|dir| dir.join(program))
        .find(|candidate| is_executable(candidate))
}

fn is_executable(path: &Path) -> bool {
    path.metadata()
        .is_ok_and(|m| m.is_file() && m.permissions().mode() & 0o111 != 0)
}

/// `claude --version`: a health check that needs no network.
pub async fn version(program: &str) -> Result<String, ProviderError> {
    let path = locate(program).ok_or_else(|| ProviderError::CliMissing {
        program: program.to_owned(),
    })?;
    let output = Command::new(&path)
        .arg("--version")
        .stdin(Stdio::null())
        .kill_on_drop(true)
        .output();
    let output = tokio::time::timeout(VERSION_LIMIT, output)
        .await
        .map_err(|_| ProviderError::Cli {
            message: format!(
                "`{program} --version` gave no answer within {}s",
                VERSION_LIMIT.as_secs()
            ),
        })?
        .map_err(|e| ProviderError::Cli {
            message: format!("cannot run `{program} --version`: {e}"),
        })?;
    if !output.status.success() {
        let stderr = String::from_utf8_lossy(&output.stderr).trim().to_owned();
        let message = if stderr.is_empty() {
            format!(
                "`{program} --version`: {}",
                describe_exit(Some(output.status))
            )
        } else {
            stderr
        };
        return Err(ProviderError::Cli { message });
    }
    Ok(String::from_utf8_lossy(&output.stdout).trim().to_owned())
}

#[cfg(test)]
mod tests {
    use pretty_assertions::assert_eq;

    use super::*;

    fn names(names: &[&str]) -> Vec<String> {
        names.iter().map(|n| (*n).to_owned()).collect()
    }

    #[tokio::test]
    async fn a_line_longer_than_the_cap_is_cut_and_the_next_line_is_whole() {
        let text = format!("short\r\n{}\nafter\nlast", "x".repeat(100));
        let mut lines = LineReader::new(text.as_bytes());
        lines.max_line = 10;
        assert_eq!(lines.next_line().await.as_deref(), Some("short"));
        assert_eq!(lines.next_line().await.as_deref(), Some("xxxxxxxxxx"));
        assert_eq!(lines.next_line().await.as_deref(), Some("after"));
        assert_eq!(lines.next_line().await.as_deref(), Some("last"));
        assert_eq!(lines.next_line().await, None);
        assert!(!lines.is_open);
    }

    fn config(tools: &[&str]) -> ClaudeCliConfig {
        ClaudeCliConfig {
            program: "claude".into(),
            model: "sonnet".into(),
            system_prompt: "You are brief.".into(),
            tools: names(tools),
            max_turns: 7,
            max_retries: 0,
            cwd: PathBuf::from("."),
            env: Vec::new(),
            timeout: Duration::from_secs(60),
            bridge: None,
            protected: Vec::new(),
        }
    }

    #[test]
    fn tools_map_to_cli_names_in_order_without_duplicates() {
        let (cli, unsupported) = map_tools(&names(&[
            "grep",
            "bash",
            "ssh",
            "read",
            "bash",
            "list_dir",
            "write",
            "glob",
            "http_request",
            "ssh",
        ]));
        assert_eq!(cli, ["Grep", "Bash", "Read", "Write", "Glob"]);
        assert_eq!(unsupported, ["ssh", "list_dir", "http_request"]);
    }

    #[test]
    fn first_turn_starts_a_session_with_the_agents_tools_pre_approved() {
        let args = cli_args(
            &config(&["bash", "read", "ssh"]),
            "hi",
            &SessionArg::Start("id-1".into()),
        );
        assert_eq!(
            args,
            [
                "-p",
                "--output-format",
                "stream-json",
                "--verbose",
                "--include-partial-messages",
                "--model",
                "sonnet",
                "--system-prompt",
                "You are brief.",
                "--max-turns",
                "7",
                "--tools",
                "Bash,Read",
                "--allowedTools",
                "Bash,Read",
                "--session-id",
                "id-1",
                "--",
                "hi",
            ]
        );
    }

    #[test]
    fn with_the_bridge_approvals_go_to_tzzr_and_nothing_is_pre_approved() {
        let cfg = ClaudeCliConfig {
            bridge: Some(PathBuf::from("/run/tzzr-1/agent-0.mcp.json")),
            ..config(&["bash", "read", "list_dir"])
        };
        let args = cli_args(&cfg, "hi", &SessionArg::Start("id-1".into()));
        let after_tools: Vec<&str> = args.iter().map(String::as_str).skip(11).collect();
        assert_eq!(
            after_tools,
            [
                "--tools",
                "Bash,Read",
                "--mcp-config",
                "/run/tzzr-1/agent-0.mcp.json",
                "--strict-mcp-config",
                "--permission-prompt-tool",
                "mcp__tzzr__approve",
                "--setting-sources",
                "user",
                "--session-id",
                "id-1",
                "--",
                "hi",
            ]
        );
    }

    #[test]
    fn protected_paths_become_deny_rules_for_the_clis_file_tools() {
        let dir = std::env::temp_dir().canonicalize().unwrap();
        let file = PathBuf::from("/project/config.yaml");
        assert_eq!(
            protected_rules(&[file, dir.clone(), PathBuf::from("relative/.env")]),
            [
                "Read(//project/config.yaml)".to_owned(),
                "Edit(//project/config.yaml)".to_owned(),
                format!(
                    "Read(/{}/**)",
                    dir.display().to_string().trim_end_matches('/')
                ),
                format!(
                    "Edit(/{}/**)",
                    dir.display().to_string().trim_end_matches('/')
                ),
            ]
        );
    }

    #[test]
    fn a_protected_path_behind_a_symlink_is_denied_under_both_names() {
        let temp = std::env::temp_dir().join(format!("tzzr-rules-{}", std::process::id()));
        std::fs::create_dir_all(temp.join("real")).unwrap();
        std::fs::write(temp.join("real/.env"), "K=v").unwrap();
        let _ = std::fs::remove_file(temp.join("link"));
        std::os::unix::fs::symlink(temp.join("real"), temp.join("link")).unwrap();
        let rules = protected_rules(&[temp.join("link/.env")]);
        let real = temp.join("real/.env").canonicalize().unwrap();
        assert!(rules.contains(&format!("Read(/{})", temp.join("link/.env").display())));
        assert!(
            rules.contains(&format!("Read(/{})", real.display())),
            "{rules:?}"
        );
        std::fs::remove_dir_all(&temp).unwrap();
    }

    #[test]
    fn an_agent_without_tools_gets_none_and_a_later_turn_resumes() {
        let args = cli_args(
            &config(&[]),
            "-x starts with a dash",
            &SessionArg::Resume("id-1".into()),
        );
        let tail: Vec<&str> = args.iter().map(String::as_str).skip(11).collect();
        assert_eq!(
            tail,
            [
                "--tools",
                "",
                "--resume",
                "id-1",
                "--",
                "-x starts with a dash"
            ]
        );
    }

    #[test]
    fn locate_takes_a_path_as_it_is_and_searches_path_for_a_name() {
        assert_eq!(locate("/bin/sh"), Some(PathBuf::from("/bin/sh")));
        assert_eq!(locate("/no/such/claude"), None);
        assert_eq!(locate(""), None);
        assert!(locate("sh").is_some_and(|p| p.ends_with("sh") && p.is_absolute()));
        assert_eq!(locate("tzzr-no-such-program-anywhere"), None);
    }

    #[test]
    fn exit_descriptions_name_the_code_or_the_signal() {
        assert_eq!(
            describe_exit(Some(ExitStatus::from_raw(1 << 8))),
            "claude exited with status 1"
        );
        assert_eq!(
            describe_exit(Some(ExitStatus::from_raw(9))),
            "claude was killed by signal 9"
        );
    }
}
