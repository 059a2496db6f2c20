//! What an agent's tools may touch: the working directory, the servers it names, and never the
//! config, the logs or a `.env` file.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use crate::engine::config::{AgentSpec, Config};
use crate::engine::env::Environment;
use crate::engine::mcp::bridge::RuntimeDir;
use crate::engine::tools::protected::Protected;
use crate::engine::tools::{ShellPolicy, SshPolicy, ToolContext};

pub(super) fn tool_context(
    config: &Config,
    protected: &Arc<Protected>,
    working_dir: &Path,
    spec: &AgentSpec,
    runtime_dir: Option<&RuntimeDir>,
) -> ToolContext {
    let s = &config.settings;
    ToolContext {
        working_dir: working_dir.to_path_buf(),
        sandbox_paths: s.sandbox_paths,
        timeout: s.timeout,
        protected: protected.clone(),
        hidden: runtime_dir
            .map(|dir| dir.path().to_path_buf())
            .into_iter()
            .collect(),
        output_dir: s
            .log_dir
            .join("outputs")
            .join(crate::engine::journal::file_stem(&spec.name)),
        shell: ShellPolicy {
            allowed_commands: s.allowed_commands.clone(),
            require_sandbox: s.require_sandbox,
            secret_vars: config
                .providers
                .values()
                .filter_map(|p| p.api_key_env.clone())
                .collect(),
        },
        http_allow_private: s.http_allow_private,
        ssh: SshPolicy {
            strict_host_checking: s.ssh_strict_host_checking,
            servers: spec
                .servers
                .iter()
                .filter_map(|name| config.servers.get(name).map(|s| (name.clone(), s.clone())))
                .collect(),
        },
    }
}

/// What tools must not touch of the logs: the log directory, or, when the working directory
/// lies inside it (`log_dir: .`), only the files tzzr writes there.
fn log_paths(config: &Config, working_dir: &Path) -> Vec<PathBuf> {
    let log_dir = &config.settings.log_dir;
    let log_dir_holds_work = log_dir
        .canonicalize()
        .is_ok_and(|dir| working_dir.starts_with(dir));
    if !log_dir_holds_work {
        return vec![log_dir.clone()];
    }
    config
        .agents
        .keys()
        .flat_map(|name| {
            [
                log_dir.join(crate::engine::journal::md_file_name(name)),
                log_dir.join(crate::engine::journal::jsonl_file_name(name)),
            ]
        })
        .chain([log_dir.join("outputs")])
        .collect()
}

/// What no agent may touch: the config file, the logs and every `.env` read. The same for
/// every agent of a config, so found once (each path is resolved on disk: a thousand agents
/// resolving them each took a third of a second at start).
pub(super) fn protected(config: &Config, env: &Environment, working_dir: &Path) -> Arc<Protected> {
    Arc::new(Protected::new(protected_paths(config, env, working_dir)))
}

pub(super) fn protected_paths(
    config: &Config,
    env: &Environment,
    working_dir: &Path,
) -> Vec<PathBuf> {
    [config.source.clone()]
        .into_iter()
        .chain(log_paths(config, working_dir))
        .chain(env.dotenv_files().iter().cloned())
        .map(|path| std::path::absolute(&path).unwrap_or(path))
        .collect()
}
