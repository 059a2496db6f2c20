//! `ssh`, with v6's parameters (`host`, `command`, `user`, `key_path`, `port`), through the system
//! `ssh` binary. The model only picks one of the agent's servers, by name or host; user, key and
//! port come from the server's entry, and nothing anyone writes becomes an ssh option.

use std::ffi::OsString;

use tokio_util::sync::CancellationToken;

use super::args::Args;
use super::command_filter;
use super::error::ToolError;
use super::exec::env::scrubbed_process_env;
use super::exec::runner::{self, Limits, Spawn};
use super::{SshPolicy, ToolContext, ToolOutput};
use crate::engine::config::Server;

/// Seconds ssh may take to connect.
const CONNECT_TIMEOUT_SECS: u32 = 10;

/// A checked `ssh` call.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Request {
    host: String,
    command: String,
    /// What the model asked for; only compared with the server's entry, never used.
    user: Option<String>,
    key_path: Option<String>,
}

impl Request {
    pub fn from_args(args: &Args<'_>) -> Result<Self, ToolError> {
        let host = args.required_str("host")?;
        let command = args.required_str("command")?;
        if host.trim().is_empty() || command.trim().is_empty() {
            return Err(ToolError::Failed("host or command empty".to_owned()));
        }
        Ok(Self {
            host: host.trim().to_owned(),
            command,
            // Ignored whatever their type: the server's entry decides.
            user: args.optional_str("user").ok().flatten(),
            key_path: args.optional_str("key_path").ok().flatten(),
        })
    }

    pub async fn run(
        &self,
        ctx: &ToolContext,
        cancel: &CancellationToken,
    ) -> Result<ToolOutput, ToolError> {
        if let Some(why) = command_filter::refusal(&self.command, &ctx.shell.allowed_commands) {
            return Err(ToolError::Failed(why));
        }
        let (name, server) = pick_server(&ctx.ssh, &self.host)?;
        let spawn = Spawn {
            program: "ssh".into(),
            args: ssh_args(name, server, ctx.ssh.strict_host_checking, &self.command)?,
            cwd: ctx.working_dir.clone(),
            env: scrubbed_process_env(&ctx.shell.secret_vars),
            own_session: false,
        };
        let limits = Limits {
            timeout: ctx.timeout,
            output_dir: &ctx.output_dir,
            tool: "ssh",
        };
        let mut output = runner::run(&spawn, limits, cancel)
            .await?
            .into_tool_output();
        let asked_other_user = self.user.as_ref().is_some_and(|u| *u != server.user);
        let asked_other_key = self.key_path.as_ref().is_some_and(|k| *k != server.key);
        if asked_other_user || asked_other_key {
            output.output.push_str(&format!(
                "\n[user, key and port come from the entry of server `{name}` ({}); the ones given were ignored]",
                destination(server)
            ));
        }
        Ok(output)
    }
}

/// The agent's server that `given` names, by name or by host (`user@` in front is allowed).
fn pick_server<'a>(policy: &'a SshPolicy, given: &str) -> Result<(&'a str, &'a Server), ToolError> {
    let host = given.rsplit_once('@').map_or(given, |(_, host)| host);
    policy
        .servers
        .iter()
        .find(|(name, _)| name == given)
        .or_else(|| {
            policy
                .servers
                .iter()
                .find(|(_, server)| server.host.eq_ignore_ascii_case(host))
        })
        .map(|(name, server)| (name.as_str(), server))
        .ok_or_else(|| ToolError::Failed(unknown_server(policy, given)))
}

fn unknown_server(policy: &SshPolicy, given: &str) -> String {
    let given = crate::sanitize::line_for_display(given);
    if policy.servers.is_empty() {
        return format!(
            "refused: `{given}` is not a server of this agent, and it has none (list servers under `servers:` and name them in the agent's `servers:`)"
        );
    }
    let known: Vec<String> = policy
        .servers
        .iter()
        .map(|(name, server)| format!("{name} ({})", destination(server)))
        .collect();
    format!(
        "refused: `{given}` is not a server of this agent; it may use: {}",
        known.join(", ")
    )
}

fn destination(server: &Server) -> String {
    format!("{}@{}:{}", server.user, server.host, server.port)
}

/// `ssh`'s arguments: fixed options, the entry's key, port and user, then `--`, the host and
/// the command, so that nothing from the model or the config is read as an option.
fn ssh_args(
    name: &str,
    server: &Server,
    strict_host_checking: bool,
    command: &str,
) -> Result<Vec<OsString>, ToolError> {
    let bad = |field: &str, why: &str| {
        ToolError::Failed(format!(
            "refused: servers.{name}.{field} {why}; fix it in the config"
        ))
    };
    let plain_word = |field: &str, value: &str| {
        if value.is_empty() {
            Err(bad(field, "is empty"))
        } else if value.starts_with('-') {
            Err(bad(
                field,
                "starts with `-` (it would be read as an ssh option)",
            ))
        } else if value.chars().any(|c| c.is_whitespace() || c.is_control()) {
            Err(bad(field, "holds spaces or control characters"))
        } else {
            Ok(())
        }
    };
    plain_word("host", &server.host)?;
    plain_word("user", &server.user)?;
    if server.key.chars().any(char::is_control) {
        return Err(bad("key", "holds control characters"));
    }
    if server.port == 0 {
        return Err(bad("port", "is 0"));
    }
    let strict = if strict_host_checking { "yes" } else { "no" };
    let mut args: Vec<OsString> = [
        "-o",
        "BatchMode=yes",
        "-o",
        &format!("ConnectTimeout={CONNECT_TIMEOUT_SECS}"),
        "-o",
        &format!("StrictHostKeyChecking={strict}"),
        "-o",
        "LogLevel=ERROR",
        "-T",
    ]
    .map(OsString::from)
    .into();
    if !strict_host_checking {
        // Host keys are not checked: do not record them either.
        args.extend(["-o", "UserKnownHostsFile=/dev/null"].map(OsString::from));
    }
    if !server.key.trim().is_empty() {
        args.push("-i".into());
        args.push(expand_home(server.key.trim()));
    }
    args.extend(
        [
            "-p".to_owned(),
            server.port.to_string(),
            "-l".to_owned(),
            server.user.clone(),
            "--".to_owned(),
            server.host.clone(),
            command.to_owned(),
        ]
        .map(OsString::from),
    );
    Ok(args)
}

/// `~/…` in a key path, as ssh would read it.
fn expand_home(path: &str) -> OsString {
    match (path.strip_prefix("~/"), std::env::var_os("HOME")) {
        (Some(rest), Some(home)) => std::path::Path::new(&home).join(rest).into_os_string(),
        _ => path.into(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use pretty_assertions::assert_eq;
    use serde_json::json;

    fn server(host: &str, user: &str) -> Server {
        Server {
            host: host.into(),
            user: user.into(),
            key: "/keys/deploy".into(),
            port: 2222,
            description: String::new(),
        }
    }

    fn policy() -> SshPolicy {
        SshPolicy {
            strict_host_checking: true,
            servers: vec![
                ("web".into(), server("10.0.0.5", "deploy")),
                ("db".into(), server("db.internal", "postgres")),
            ],
        }
    }

    #[test]
    fn a_server_is_picked_by_name_or_host_and_nothing_else() {
        let policy = policy();
        assert_eq!(pick_server(&policy, "web").unwrap().0, "web");
        assert_eq!(pick_server(&policy, "DB.internal").unwrap().0, "db");
        assert_eq!(pick_server(&policy, "root@10.0.0.5").unwrap().0, "web");
        assert_eq!(
            pick_server(&policy, "evil.example")
                .unwrap_err()
                .to_string(),
            "refused: `evil.example` is not a server of this agent; it may use: web (deploy@10.0.0.5:2222), db (postgres@db.internal:2222)"
        );
        assert_eq!(
            pick_server(&SshPolicy::default(), "web")
                .unwrap_err()
                .to_string(),
            "refused: `web` is not a server of this agent, and it has none (list servers under `servers:` and name them in the agent's `servers:`)"
        );
        assert!(pick_server(&policy, "-oProxyCommand=touch /tmp/pwned").is_err());
    }

    #[test]
    fn the_entry_gives_user_key_and_port_and_the_host_comes_after_a_double_dash() {
        let args = ssh_args("web", &server("10.0.0.5", "deploy"), true, "uptime -p").unwrap();
        let args: Vec<String> = args
            .iter()
            .map(|a| a.to_string_lossy().into_owned())
            .collect();
        assert_eq!(
            args,
            [
                "-o",
                "BatchMode=yes",
                "-o",
                "ConnectTimeout=10",
                "-o",
                "StrictHostKeyChecking=yes",
                "-o",
                "LogLevel=ERROR",
                "-T",
                "-i",
                "/keys/deploy",
                "-p",
                "2222",
                "-l",
                "deploy",
                "--",
                "10.0.0.5",
                "uptime -p"
            ]
        );
        let lax = ssh_args("web", &server("h", "u"), false, "x").unwrap();
        assert!(lax.contains(&OsString::from("StrictHostKeyChecking=no")));
        assert!(lax.contains(&OsString::from("UserKnownHostsFile=/dev/null")));
    }

    #[test]
    fn a_hostile_config_entry_is_refused_before_ssh_runs() {
        let refused = |host: &str, user: &str| {
            ssh_args("web", &server(host, user), true, "id")
                .unwrap_err()
                .to_string()
        };
        assert_eq!(
            refused("-oProxyCommand=touch /tmp/pwned", "root"),
            "refused: servers.web.host starts with `-` (it would be read as an ssh option); fix it in the config"
        );
        assert_eq!(
            refused("host", "-oProxyCommand=x"),
            "refused: servers.web.user starts with `-` (it would be read as an ssh option); fix it in the config"
        );
        assert_eq!(
            refused("a b", "root"),
            "refused: servers.web.host holds spaces or control characters; fix it in the config"
        );
        assert_eq!(
            refused("host\u{1b}[2J", "root"),
            "refused: servers.web.host holds spaces or control characters; fix it in the config"
        );
        assert_eq!(
            refused("", "root"),
            "refused: servers.web.host is empty; fix it in the config"
        );
    }

    #[test]
    fn v6_parameters_are_read_and_the_optional_ones_never_fail() {
        let args =
            json!({"host": " web ", "command": "ls", "user": "root", "port": 22, "key_path": 5});
        let request = Request::from_args(&Args::of("ssh", &args).unwrap()).unwrap();
        assert_eq!(
            request,
            Request {
                host: "web".into(),
                command: "ls".into(),
                user: Some("root".into()),
                key_path: None,
            }
        );
        let missing = json!({"host": "web"});
        assert_eq!(
            Request::from_args(&Args::of("ssh", &missing).unwrap())
                .unwrap_err()
                .to_string(),
            "missing required parameter `command`"
        );
    }
}
