//! The tools an agent may call, with v6's names and parameters, confined to the working
//! directory. `Toolbox` is what an agent holds: the specs it offers the model and the runner.

pub mod approval;
mod args;
mod bash;
mod beneath;
mod blocking;
mod command_filter;
mod error;
pub mod exec;
mod glob;
mod grep;
mod http_request;
mod limits;
mod list_dir;
mod mcp;
pub mod protected;
mod read;
pub mod sandbox;
mod schema;
mod ssh;
pub mod text_protocol;
mod walk;
mod write;

use std::collections::{HashMap, HashSet};
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use serde::Serialize;
use tokio_util::sync::CancellationToken;

use crate::engine::config::Server;
use crate::engine::conversation::ToolCall;
use crate::engine::mcp::McpServer;

use self::args::Args;
use self::error::ToolError;
use self::exec::SandboxSupport;
use self::limits::{bounded, cap_output};
use self::protected::Protected;
use self::sandbox::Sandbox;

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
    schema::spec(name)
}

/// What the tools of one agent may touch.
#[derive(Clone, Debug)]
pub struct ToolContext {
    /// Absolute, canonical working directory; file tools stay inside it when `sandbox_paths`.
    pub working_dir: PathBuf,
    pub sandbox_paths: bool,
    /// Time limit of one tool call.
    pub timeout: Duration,
    /// What no tool reads or writes, whatever `sandbox_paths` says.
    pub protected: Arc<Protected>,
    /// Directories a sandboxed shell must not even see (the Claude CLI bridge's sockets).
    pub hidden: Vec<PathBuf>,
    /// Where the whole output of a call goes when the model gets only part of it.
    pub output_dir: PathBuf,
    pub shell: ShellPolicy,
    /// `http_request` may reach loopback, private and link-local addresses.
    pub http_allow_private: bool,
    pub ssh: SshPolicy,
}

/// What `bash` may run and with what.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ShellPolicy {
    /// v6's allow-list of first words; empty allows any command.
    pub allowed_commands: Vec<String>,
    /// Refuse to run without the kernel sandbox.
    pub require_sandbox: bool,
    /// Variables that hold keys under names the usual patterns miss (`api_key_env` of
    /// providers): removed from the shell's environment too.
    pub secret_vars: Vec<String>,
}

/// Where `ssh` may go.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct SshPolicy {
    pub strict_host_checking: bool,
    /// The agent's `servers:`, by name.
    pub servers: Vec<(String, Server)>,
}

impl ToolContext {
    /// A context for `working_dir` with v6's defaults and nothing protected (tests, benches).
    pub fn new(working_dir: PathBuf) -> Self {
        Self {
            output_dir: working_dir.join(".tzzr-outputs"),
            working_dir,
            sandbox_paths: true,
            timeout: Duration::from_secs(300),
            protected: Arc::new(Protected::default()),
            hidden: Vec::new(),
            shell: ShellPolicy::default(),
            http_allow_private: false,
            ssh: SshPolicy {
                strict_host_checking: true,
                servers: Vec::new(),
            },
        }
    }
}

/// What a tool call produced.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ToolOutput {
    pub ok: bool,
    /// What the model reads.
    pub output: String,
    /// The whole output, when `output` holds only part of it.
    pub full_output: Option<PathBuf>,
}

impl ToolOutput {
    pub fn succeeded(output: impl Into<String>) -> Self {
        Self {
            ok: true,
            output: output.into(),
            full_output: None,
        }
    }

    pub fn failed(output: impl Into<String>) -> Self {
        Self {
            ok: false,
            output: output.into(),
            full_output: None,
        }
    }
}

/// The tools of one agent.
#[derive(Debug)]
pub struct Toolbox {
    /// tzzr's own tools first (`builtin` of them), then those of the agent's MCP servers.
    specs: Vec<ToolSpec>,
    builtin: usize,
    ctx: ToolContext,
    sandbox: Sandbox,
    /// Built on the first `http_request` call, then shared by every call of this agent.
    http: http_request::HttpClient,
    /// What confines bash; `None`: this machine's, probed on the first bash call.
    sandbox_support: Option<Arc<SandboxSupport>>,
    mcp: Vec<McpServer>,
    /// What the user last heard about each MCP server, so that it is said once.
    mcp_heard: HashMap<String, String>,
    mcp_skipped_heard: HashSet<String>,
}

impl Toolbox {
    /// The toolbox for the tool names of an agent's config (already validated as known).
    /// Names are kept in the config's order; a repeated name counts once.
    pub fn new(tools: &[String], ctx: ToolContext) -> Self {
        let mut specs: Vec<ToolSpec> = Vec::new();
        for name in tools {
            if !specs.iter().any(|s| &s.name == name)
                && let Some(spec) = spec(name)
            {
                specs.push(spec);
            }
        }
        let sandbox =
            Sandbox::new(&ctx.working_dir, ctx.sandbox_paths).protecting(ctx.protected.clone());
        let http = http_request::HttpClient::new(ctx.http_allow_private);
        Self {
            builtin: specs.len(),
            specs,
            ctx,
            sandbox,
            http,
            sandbox_support: None,
            mcp: Vec::new(),
            mcp_heard: HashMap::new(),
            mcp_skipped_heard: HashSet::new(),
        }
    }

    /// The same toolbox, confining bash as `support` says instead of as this machine does
    /// (tests of what happens where the kernel has no sandbox).
    pub fn with_sandbox_support(self, support: SandboxSupport) -> Self {
        Self {
            sandbox_support: Some(Arc::new(support)),
            ..self
        }
    }

    /// The tools offered to the model.
    pub fn specs(&self) -> &[ToolSpec] {
        &self.specs
    }

    /// Whether the model may call `tool`.
    pub fn offers(&self, tool: &str) -> bool {
        self.specs.iter().any(|s| s.name == tool)
    }

    /// The refusal a call of `tool` gets when the agent does not have it; `None` when it does.
    pub fn refuse_unoffered(&self, tool: &str) -> Option<ToolOutput> {
        (!self.offers(tool)).then(|| ToolOutput::failed(self.not_available(tool).to_string()))
    }

    pub fn context(&self) -> &ToolContext {
        &self.ctx
    }

    /// Runs one call. Never panics and never fails as a Rust error: whatever went wrong is
    /// reported to the model in the output, with `ok: false`.
    pub async fn run(&self, call: &ToolCall, cancel: &CancellationToken) -> ToolOutput {
        match self.try_run(call, cancel).await {
            Ok(output) => ToolOutput {
                output: cap_output(output.output),
                ..output
            },
            Err(error) => ToolOutput::failed(cap_output(error.to_string())),
        }
    }

    fn not_available(&self, tool: &str) -> ToolError {
        ToolError::NotAvailable {
            tool: tool.to_owned(),
            offered: self.specs.iter().map(|s| s.name.clone()).collect(),
        }
    }

    async fn try_run(
        &self,
        call: &ToolCall,
        cancel: &CancellationToken,
    ) -> Result<ToolOutput, ToolError> {
        if !self.offers(&call.tool) {
            return Err(self.not_available(&call.tool));
        }
        let args = Args::of(&call.tool, &call.args)?;
        if let Some(server) = self.mcp_server_for(&call.tool) {
            return self
                .run_mcp(server, &call.tool, &call.args, cancel)
                .await
                .map(ToolOutput::succeeded);
        }
        let invocation =
            Invocation::parse(&call.tool, &args)?.ok_or_else(|| self.not_available(&call.tool))?;
        if cancel.is_cancelled() {
            return Err(ToolError::Cancelled);
        }
        match invocation {
            Invocation::Files(files) => {
                // The work checks `stop` between files; the guard fires it whenever this future
                // ends first (timeout, cancel, or the caller dropping it).
                let stop = cancel.child_token();
                let _stop_on_exit = stop.clone().drop_guard();
                let sandbox = self.sandbox.clone();
                let work = blocking::run(move || files.run(&sandbox, &stop));
                bounded(work, self.ctx.timeout, cancel)
                    .await
                    .map(ToolOutput::succeeded)
            }
            Invocation::Http(request) => {
                let limit = request.time_limit(self.ctx.timeout);
                bounded(request.run(&self.http), limit, cancel)
                    .await
                    .map(ToolOutput::succeeded)
            }
            // Runs here, not on a thread: the process is the work, and the runner kills its
            // whole group on timeout, on cancel, and when this future is dropped.
            Invocation::Process(ProcessCall::Bash(request)) => {
                let support = match &self.sandbox_support {
                    Some(support) => support.as_ref(),
                    None => SandboxSupport::detected(),
                };
                request.run(&self.ctx, &self.sandbox, support, cancel).await
            }
            Invocation::Process(ProcessCall::Ssh(request)) => request.run(&self.ctx, cancel).await,
        }
    }
}

/// A call whose arguments have been checked.
#[derive(Debug)]
enum Invocation {
    /// File work: runs on a thread of its own.
    Files(FileCall),
    /// Network work: runs on the runtime, and ends when its future is dropped.
    Http(http_request::Request),
    /// A child process, in its own process group.
    Process(ProcessCall),
}

/// A call that runs a program.
#[derive(Debug)]
enum ProcessCall {
    Bash(bash::Request),
    Ssh(ssh::Request),
}

/// A file tool's call, ready to run on a blocking thread.
#[derive(Debug)]
enum FileCall {
    Read(read::Request),
    Write(write::Request),
    ListDir(list_dir::Request),
    Glob(glob::Request),
    Grep(grep::Request),
    /// Blocks until stopped: lets tests see the time limit and cancellation at work.
    #[cfg(test)]
    Stall,
}

impl Invocation {
    /// `None` for a tool this build cannot run.
    fn parse(tool: &str, args: &Args<'_>) -> Result<Option<Self>, ToolError> {
        Ok(Some(match tool {
            "read" => Self::Files(FileCall::Read(read::Request::from_args(args)?)),
            "write" => Self::Files(FileCall::Write(write::Request::from_args(args)?)),
            "list_dir" => Self::Files(FileCall::ListDir(list_dir::Request::from_args(args)?)),
            "glob" => Self::Files(FileCall::Glob(glob::Request::from_args(args)?)),
            "grep" => Self::Files(FileCall::Grep(grep::Request::from_args(args)?)),
            "http_request" => Self::Http(http_request::Request::from_args(args)?),
            "bash" => Self::Process(ProcessCall::Bash(bash::Request::from_args(args)?)),
            "ssh" => Self::Process(ProcessCall::Ssh(ssh::Request::from_args(args)?)),
            #[cfg(test)]
            "stall" => Self::Files(FileCall::Stall),
            _ => return Ok(None),
        }))
    }
}

impl FileCall {
    fn run(&self, sandbox: &Sandbox, stop: &CancellationToken) -> Result<String, ToolError> {
        match self {
            Self::Read(request) => request.run(sandbox),
            Self::Write(request) => request.run(sandbox),
            Self::ListDir(request) => request.run(sandbox, stop),
            Self::Glob(request) => request.run(sandbox, stop),
            Self::Grep(request) => request.run(sandbox, stop),
            #[cfg(test)]
            Self::Stall => {
                while !stop.is_cancelled() {
                    std::thread::sleep(Duration::from_millis(1));
                }
                Err(ToolError::Cancelled)
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::engine::protocol::CallId;
    use pretty_assertions::assert_eq;
    use serde_json::{Value, json};
    use std::fs;
    use tempfile::TempDir;

    const TIMEOUT: Duration = Duration::from_secs(30);

    fn names(list: &[&str]) -> Vec<String> {
        list.iter().map(|name| (*name).to_owned()).collect()
    }

    fn toolbox(tools: &[&str]) -> (TempDir, Toolbox) {
        let temp = tempfile::tempdir().unwrap();
        let ctx = ToolContext {
            timeout: TIMEOUT,
            ..ToolContext::new(temp.path().canonicalize().unwrap())
        };
        let toolbox = Toolbox::new(&names(tools), ctx);
        (temp, toolbox)
    }

    /// A toolbox that also offers the test-only `stall` tool.
    fn stalling_toolbox() -> (TempDir, Toolbox) {
        let (temp, mut toolbox) = toolbox(&["read"]);
        toolbox.specs.push(ToolSpec {
            name: "stall".into(),
            description: "waits".into(),
            parameters: json!({"type": "object", "properties": {}}),
        });
        (temp, toolbox)
    }

    fn call(tool: &str, args: Value) -> ToolCall {
        ToolCall {
            id: CallId("call-1".into()),
            tool: tool.into(),
            args,
        }
    }

    async fn run(toolbox: &Toolbox, tool: &str, args: Value) -> ToolOutput {
        toolbox
            .run(&call(tool, args), &CancellationToken::new())
            .await
    }

    fn failed(output: &str) -> ToolOutput {
        ToolOutput::failed(output)
    }

    fn succeeded(output: &str) -> ToolOutput {
        ToolOutput::succeeded(output)
    }

    #[test]
    fn offers_each_tool_once_in_config_order() {
        let (_temp, toolbox) = toolbox(&[
            "bash",
            "read",
            "grep",
            "ssh",
            "read",
            "http_request",
            "list_dir",
            "write",
            "glob",
        ]);
        let offered: Vec<&str> = toolbox.specs().iter().map(|s| s.name.as_str()).collect();
        assert_eq!(
            offered,
            [
                "bash",
                "read",
                "grep",
                "ssh",
                "http_request",
                "list_dir",
                "write",
                "glob"
            ]
        );
        assert_eq!(toolbox.specs()[1], spec("read").unwrap());
    }

    #[tokio::test]
    async fn a_tool_not_offered_is_refused_naming_the_ones_offered() {
        let (_temp, toolbox) = toolbox(&["read", "grep"]);
        for tool in ["bash", "rm"] {
            assert_eq!(
                run(&toolbox, tool, json!({"command": "ls"})).await,
                failed(&format!(
                    "tool `{tool}` is not available to this agent (it has: read, grep)"
                ))
            );
        }
    }

    #[tokio::test]
    async fn argument_problems_come_back_as_errors() {
        let (_temp, toolbox) = toolbox(&["read", "list_dir"]);
        assert_eq!(
            run(&toolbox, "read", json!({"_raw": "{path: x"})).await,
            failed("the arguments for `read` are not valid JSON: {path: x")
        );
        assert_eq!(
            run(&toolbox, "read", json!(["x"])).await,
            failed("the arguments for `read` must be a JSON object, not an array")
        );
        assert_eq!(
            run(&toolbox, "read", json!({"file": "x"})).await,
            failed("missing required parameter `path`")
        );
        assert_eq!(
            run(&toolbox, "list_dir", json!({"recursive": 1})).await,
            failed("parameter `recursive` must be a boolean")
        );
    }

    #[tokio::test]
    async fn files_written_can_be_read_listed_found_and_searched() {
        let (_temp, toolbox) = toolbox(&["read", "write", "list_dir", "glob", "grep"]);
        let write = json!({"path": "src/lib.rs", "content": "pub fn answer() -> u8 { 42 }\n"});
        assert_eq!(
            run(&toolbox, "write", write).await,
            succeeded("Wrote 29 bytes to lib.rs")
        );
        assert_eq!(
            run(&toolbox, "read", json!({"path": "src/lib.rs"})).await,
            succeeded("pub fn answer() -> u8 { 42 }\n")
        );
        assert_eq!(
            run(
                &toolbox,
                "list_dir",
                json!({"path": ".", "recursive": "true"})
            )
            .await,
            succeeded("[d] src\n[f] src/lib.rs")
        );
        assert_eq!(
            run(&toolbox, "glob", json!({"pattern": "**/*.rs"})).await,
            succeeded("Found 1 files:\nsrc/lib.rs")
        );
        assert_eq!(
            run(
                &toolbox,
                "grep",
                json!({"pattern": "\\d+", "path": ".", "recursive": true})
            )
            .await,
            succeeded("src/lib.rs:1:pub fn answer() -> u8 { 42 }")
        );
    }

    #[tokio::test]
    async fn output_beyond_100_000_bytes_is_cut_with_a_note() {
        let (temp, toolbox) = toolbox(&["grep"]);
        let line = format!("{}\n", "x".repeat(399));
        fs::write(temp.path().join("wide.txt"), line.repeat(400)).unwrap();
        let out = run(
            &toolbox,
            "grep",
            json!({"pattern": "x", "path": "wide.txt"}),
        )
        .await;
        assert!(out.ok);
        let (shown, note) = out.output.split_once("\n[… ").unwrap();
        assert_eq!(shown.len(), limits::OUTPUT_LIMIT);
        assert!(note.ends_with(" more bytes not shown]"), "{note}");
    }

    #[tokio::test]
    async fn the_sandbox_follows_the_context() {
        let (temp, toolbox) = toolbox(&["read"]);
        let outside = temp.path().parent().unwrap().join("tzzr-outside-check.txt");
        let path = outside.display().to_string();
        let out = run(&toolbox, "read", json!({"path": path})).await;
        assert!(!out.ok);
        assert!(
            out.output.starts_with("path outside the working directory"),
            "{}",
            out.output
        );

        let open_ctx = ToolContext {
            sandbox_paths: false,
            ..toolbox.context().clone()
        };
        let open = Toolbox::new(&names(&["read"]), open_ctx);
        let out = run(&open, "read", json!({"path": path})).await;
        assert_eq!(out, failed(&format!("File not found: {path}")));
    }

    #[tokio::test]
    async fn an_already_cancelled_call_does_not_run() {
        let (temp, toolbox) = toolbox(&["write"]);
        let cancel = CancellationToken::new();
        cancel.cancel();
        let out = toolbox
            .run(
                &call("write", json!({"path": "a.txt", "content": "x"})),
                &cancel,
            )
            .await;
        assert_eq!(out, failed("cancelled"));
        assert!(!temp.path().join("a.txt").exists());
    }

    #[tokio::test(start_paused = true)]
    async fn a_call_that_outlasts_the_timeout_times_out() {
        let (_temp, toolbox) = stalling_toolbox();
        let (out, ()) = tokio::join!(run(&toolbox, "stall", json!({})), async {
            tokio::task::yield_now().await;
            tokio::time::advance(TIMEOUT + Duration::from_secs(1)).await;
        });
        assert_eq!(out, failed("timed out after 30s"));
    }

    #[tokio::test(start_paused = true)]
    async fn cancelling_a_running_call_ends_it() {
        let (_temp, toolbox) = stalling_toolbox();
        let cancel = CancellationToken::new();
        let stall = call("stall", json!({}));
        let (out, ()) = tokio::join!(toolbox.run(&stall, &cancel), async {
            tokio::task::yield_now().await;
            cancel.cancel();
        });
        assert_eq!(out, failed("cancelled"));
    }
}
