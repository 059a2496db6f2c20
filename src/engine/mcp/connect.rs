//! One connection to one MCP server: a program on stdio, started in its own process group (the
//! whole group is killed when the connection goes), or a streamable-HTTP endpoint; then the MCP
//! handshake and the server's tool list, all within a time limit.

use std::collections::HashMap;
use std::ffi::OsStr;
use std::process::{ExitStatus, Stdio};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use rmcp::model::{ClientCapabilities, ClientConfig, Implementation, Tool};
use rmcp::service::RunningService;
use rmcp::transport::StreamableHttpClientTransport;
use rmcp::transport::streamable_http_client::StreamableHttpClientTransportConfig;
use rmcp::{Peer, RoleClient, ServiceExt};
use rustix::process::{Pid, Signal};
use tokio::io::{AsyncBufReadExt, BufReader};
use tokio::process::{Child, ChildStderr, Command};
use tokio::task::JoinHandle;

use crate::engine::config::{McpServerSpec, McpTransport};
use crate::sanitize;

/// Name fragments of variables that hold secrets: a server gets none of them unless its
/// `env:` names them.
const SECRET_NAME_PARTS: [&str; 5] = ["KEY", "TOKEN", "SECRET", "PASSWORD", "CREDENTIAL"];
/// The longest stderr line kept to explain a failure.
const LAST_WORDS_LIMIT: usize = 300;

/// The last line a server wrote on stderr, shared with whoever explains its failure.
pub type LastWords = Arc<Mutex<Option<String>>>;

/// Where and how to start a server.
#[derive(Clone, Debug)]
pub struct Launch {
    pub name: String,
    pub spec: McpServerSpec,
    /// Relative commands and paths in `args` are relative to the config's directory.
    pub base_dir: std::path::PathBuf,
    /// Variables holding keys under names the usual patterns miss (providers' `api_key_env`).
    pub secret_vars: Vec<String>,
}

/// An open connection and the tools the server listed.
pub struct Connection {
    service: RunningService<RoleClient, ClientConfig>,
    pub tools: Vec<Tool>,
    process: Option<ServerProcess>,
}

impl std::fmt::Debug for Connection {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Connection")
            .field("tools", &self.tools.len())
            .field("pid", &self.process.as_ref().and_then(|p| p.child.id()))
            .finish_non_exhaustive()
    }
}

impl Connection {
    pub fn peer(&self) -> Peer<RoleClient> {
        self.service.peer().clone()
    }

    /// Waits for the server's process to end; never returns for an HTTP server (its failures
    /// show on calls).
    pub async fn exited(&mut self) -> std::io::Result<ExitStatus> {
        match &mut self.process {
            Some(process) => process.child.wait().await,
            None => std::future::pending().await,
        }
    }

    /// Ends the session and kills the server's process group.
    pub async fn close(mut self) {
        self.service.cancellation_token().cancel();
        if let Some(mut process) = self.process.take() {
            process.kill();
            let _ = process.child.wait().await;
        }
    }
}

/// A server's child process; its whole group is killed when this is dropped.
struct ServerProcess {
    child: Child,
    group: Option<Pid>,
    stderr: Option<JoinHandle<()>>,
}

impl ServerProcess {
    fn kill(&mut self) {
        match self.group {
            // ESRCH: already gone, which is what we want.
            Some(group) => {
                let _ = rustix::process::kill_process_group(group, Signal::KILL);
            }
            None => {
                let _ = self.child.start_kill();
            }
        }
    }
}

impl Drop for ServerProcess {
    fn drop(&mut self) {
        self.kill();
        if let Some(reader) = self.stderr.take() {
            reader.abort();
        }
    }
}

/// Starts or reaches the server, does the MCP handshake and lists its tools, all within
/// `limit`. The error is one line that says what went wrong.
pub async fn open(
    launch: &Launch,
    limit: Duration,
    last_words: &LastWords,
) -> Result<Connection, String> {
    let name = &launch.name;
    let (service, process) = match &launch.spec.transport {
        McpTransport::Stdio { command, args, env } => {
            let mut process = spawn(launch, command, args, env, last_words)?;
            let (Some(stdout), Some(stdin)) =
                (process.child.stdout.take(), process.child.stdin.take())
            else {
                return Err(format!("MCP server `{name}` started without pipes"));
            };
            let handshake = client_config().serve((stdout, stdin));
            let service = match tokio::time::timeout(limit, handshake).await {
                Ok(Ok(service)) => service,
                Ok(Err(e)) => {
                    // Give a dying server a moment to say why on stderr.
                    let status =
                        tokio::time::timeout(Duration::from_millis(500), process.child.wait())
                            .await
                            .ok()
                            .and_then(Result::ok);
                    return Err(explain(
                        &format!("MCP server `{name}` failed the MCP handshake ({e})"),
                        status,
                        last_words,
                    ));
                }
                Err(_) => {
                    return Err(explain(
                        &format!(
                            "MCP server `{name}` did not finish the MCP handshake within {}s",
                            limit.as_secs_f64()
                        ),
                        None,
                        last_words,
                    ));
                }
            };
            (service, Some(process))
        }
        McpTransport::Http { url, headers } => {
            let transport = http_transport(name, url, headers, limit)?;
            let service = match tokio::time::timeout(limit, client_config().serve(transport)).await
            {
                Ok(Ok(service)) => service,
                Ok(Err(e)) => return Err(format!("MCP server `{name}` at {url}: {e}")),
                Err(_) => {
                    return Err(format!(
                        "MCP server `{name}` at {url} did not answer within {}s",
                        limit.as_secs_f64()
                    ));
                }
            };
            (service, None)
        }
    };
    let tools = match tokio::time::timeout(limit, service.peer().list_all_tools()).await {
        Ok(Ok(tools)) => tools,
        Ok(Err(e)) => return Err(format!("MCP server `{name}` did not list its tools: {e}")),
        Err(_) => {
            return Err(format!(
                "MCP server `{name}` did not list its tools within {}s",
                limit.as_secs_f64()
            ));
        }
    };
    Ok(Connection {
        service,
        tools,
        process,
    })
}

fn client_config() -> ClientConfig {
    ClientConfig::new(
        ClientCapabilities::default(),
        Implementation::new("tzzr", env!("CARGO_PKG_VERSION")),
    )
}

fn spawn(
    launch: &Launch,
    command: &str,
    args: &[String],
    env: &indexmap::IndexMap<String, String>,
    last_words: &LastWords,
) -> Result<ServerProcess, String> {
    let name = &launch.name;
    let inherited =
        std::env::vars_os().filter(|(key, _)| !is_secret_name(key, &launch.secret_vars));
    let mut child = Command::new(command)
        .args(args)
        .current_dir(&launch.base_dir)
        .env_clear()
        .envs(inherited)
        .envs(env)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .process_group(0)
        .kill_on_drop(true)
        .spawn()
        .map_err(|e| {
            format!(
                "MCP server `{name}`: cannot start `{command}` in {}: {e}; check mcp_servers.{name}.command",
                launch.base_dir.display()
            )
        })?;
    let group = child
        .id()
        .and_then(|id| i32::try_from(id).ok())
        .and_then(Pid::from_raw);
    let stderr = child
        .stderr
        .take()
        .map(|stderr| tokio::spawn(keep_last_words(name.clone(), stderr, last_words.clone())));
    Ok(ServerProcess {
        child,
        group,
        stderr,
    })
}

fn http_transport(
    name: &str,
    url: &str,
    headers: &indexmap::IndexMap<String, String>,
    limit: Duration,
) -> Result<StreamableHttpClientTransport<reqwest::Client>, String> {
    // reqwest is built without a default TLS provider; a second install fails harmlessly.
    let _ = rustls::crypto::ring::default_provider().install_default();
    let client = reqwest::Client::builder()
        .connect_timeout(limit)
        .user_agent(concat!("tzzr/", env!("CARGO_PKG_VERSION")))
        .build()
        .map_err(|e| format!("MCP server `{name}`: cannot set up HTTP: {e}"))?;
    let mut custom = HashMap::new();
    for (key, value) in headers {
        let header = reqwest::header::HeaderName::from_bytes(key.as_bytes()).map_err(|_| {
            format!("mcp_servers.{name}.headers: `{key}` is not a valid header name")
        })?;
        let value = reqwest::header::HeaderValue::from_str(value).map_err(|_| {
            format!("mcp_servers.{name}.headers.{key}: the value is not a valid header value")
        })?;
        custom.insert(header, value);
    }
    let config = StreamableHttpClientTransportConfig::with_uri(url).custom_headers(custom);
    Ok(StreamableHttpClientTransport::with_client(client, config))
}

/// Logs what a server says on stderr and keeps its last line.
async fn keep_last_words(name: String, stderr: ChildStderr, last_words: LastWords) {
    let mut lines = BufReader::new(stderr).lines();
    while let Ok(Some(line)) = lines.next_line().await {
        let line = sanitize::line_for_display(line.trim());
        if line.is_empty() {
            continue;
        }
        tracing::debug!(server = %name, line = %line, "MCP server stderr");
        let kept: String = line.chars().take(LAST_WORDS_LIMIT).collect();
        *last_words.lock().unwrap_or_else(PoisonError::into_inner) = Some(kept);
    }
}

/// `what`, with how the process ended and its last line on stderr when known.
pub fn explain(what: &str, status: Option<ExitStatus>, last_words: &LastWords) -> String {
    let mut text = what.to_owned();
    if let Some(status) = status {
        text.push_str(&format!("; it {}", describe_exit(status)));
    }
    let said = last_words
        .lock()
        .unwrap_or_else(PoisonError::into_inner)
        .clone();
    if let Some(said) = said {
        text.push_str(&format!("; its last line on stderr: {said}"));
    }
    text
}

fn describe_exit(status: ExitStatus) -> String {
    use std::os::unix::process::ExitStatusExt;
    match (status.code(), status.signal()) {
        (Some(code), _) => format!("exited with status {code}"),
        (None, Some(signal)) => format!("was killed by signal {signal}"),
        (None, None) => format!("exited ({status})"),
    }
}

/// Whether a variable of this name may hold a secret.
fn is_secret_name(name: &OsStr, secret_vars: &[String]) -> bool {
    let name = name.to_string_lossy();
    let upper = name.to_ascii_uppercase();
    SECRET_NAME_PARTS.iter().any(|part| upper.contains(part))
        || secret_vars.iter().any(|var| *var == name)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn variables_named_like_secrets_are_not_inherited() {
        let extra = vec!["MY_LLM".to_owned()];
        for secret in [
            "OPENAI_API_KEY",
            "GITHUB_TOKEN",
            "db_password",
            "AWS_SECRET",
            "MY_LLM",
        ] {
            assert!(is_secret_name(OsStr::new(secret), &extra), "{secret}");
        }
        for plain in ["PATH", "HOME", "LANG", "NODE_ENV"] {
            assert!(!is_secret_name(OsStr::new(plain), &extra), "{plain}");
        }
    }

    #[test]
    fn explanations_name_the_exit_and_the_last_stderr_line() {
        use std::os::unix::process::ExitStatusExt;
        let words: LastWords = Arc::new(Mutex::new(Some("Error: boom".into())));
        assert_eq!(
            explain(
                "MCP server `x` failed",
                Some(ExitStatus::from_raw(1 << 8)),
                &words
            ),
            "MCP server `x` failed; it exited with status 1; its last line on stderr: Error: boom"
        );
        let quiet: LastWords = Arc::default();
        assert_eq!(
            explain(
                "MCP server `x` failed",
                Some(ExitStatus::from_raw(9)),
                &quiet
            ),
            "MCP server `x` failed; it was killed by signal 9"
        );
    }

    #[tokio::test]
    async fn a_missing_command_fails_at_once_naming_the_config_key() {
        let launch = Launch {
            name: "ghost".into(),
            spec: McpServerSpec {
                transport: McpTransport::Stdio {
                    command: "/no/such/mcp-server".into(),
                    args: vec![],
                    env: indexmap::IndexMap::new(),
                },
                description: String::new(),
            },
            base_dir: std::env::temp_dir(),
            secret_vars: vec![],
        };
        let error = open(&launch, Duration::from_secs(5), &LastWords::default())
            .await
            .unwrap_err();
        assert!(
            error.starts_with("MCP server `ghost`: cannot start `/no/such/mcp-server`")
                && error.ends_with("check mcp_servers.ghost.command"),
            "{error}"
        );
    }

    #[tokio::test]
    async fn a_program_that_is_no_mcp_server_fails_the_handshake_with_its_last_words() {
        let launch = Launch {
            name: "liar".into(),
            spec: McpServerSpec {
                transport: McpTransport::Stdio {
                    command: "sh".into(),
                    args: vec![
                        "-c".into(),
                        "echo 'not a server' >&2; echo nonsense; exit 3".into(),
                    ],
                    env: indexmap::IndexMap::new(),
                },
                description: String::new(),
            },
            base_dir: std::env::temp_dir(),
            secret_vars: vec![],
        };
        let error = open(&launch, Duration::from_secs(10), &LastWords::default())
            .await
            .unwrap_err();
        assert!(
            error.starts_with("MCP server `liar` failed the MCP handshake"),
            "{error}"
        );
        assert!(error.contains("exited with status 3"), "{error}");
    }
}
