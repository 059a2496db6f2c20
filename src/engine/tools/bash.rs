//! `bash`, with v6's parameters (`command`, `working_dir`): `/bin/bash -c COMMAND` in the working
//! directory (or in `working_dir`, when it resolves inside it), through the kernel sandbox where
//! this machine has one. v6's deny-list and `allowed_commands` refuse first; the kernel is the wall.

use std::path::PathBuf;

use tokio_util::sync::CancellationToken;

use super::args::Args;
use super::command_filter;
use super::error::ToolError;
use super::exec::runner::{self, Limits};
use super::exec::{SandboxSupport, confine};
use super::sandbox::Sandbox;
use super::{ToolContext, ToolOutput};
use crate::engine::own_program;

/// A checked `bash` call.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Request {
    command: String,
    working_dir: Option<String>,
}

impl Request {
    pub fn from_args(args: &Args<'_>) -> Result<Self, ToolError> {
        let command = args.required_str("command")?;
        if command.trim().is_empty() {
            return Err(ToolError::Failed("the command is empty".to_owned()));
        }
        Ok(Self {
            command,
            working_dir: args
                .optional_str("working_dir")?
                .filter(|dir| !dir.trim().is_empty()),
        })
    }

    pub async fn run(
        &self,
        ctx: &ToolContext,
        sandbox: &Sandbox,
        support: &SandboxSupport,
        cancel: &CancellationToken,
    ) -> Result<ToolOutput, ToolError> {
        if let Some(why) = command_filter::refusal(&self.command, &ctx.shell.allowed_commands) {
            return Err(ToolError::Failed(why));
        }
        let cwd = self.cwd(sandbox)?;
        let spawn = confine::shell_spawn(
            ctx,
            support,
            own_program::for_tzzr().as_deref(),
            cwd,
            &self.command,
        )?;
        let limits = Limits {
            timeout: ctx.timeout,
            output_dir: &ctx.output_dir,
            tool: "bash",
        };
        Ok(runner::run(&spawn, limits, cancel)
            .await?
            .into_tool_output())
    }

    /// The directory the command starts in.
    fn cwd(&self, sandbox: &Sandbox) -> Result<PathBuf, ToolError> {
        let Some(dir) = &self.working_dir else {
            return Ok(sandbox.root().to_path_buf());
        };
        let resolved = sandbox.resolve(dir)?;
        if resolved.is_dir() {
            Ok(resolved)
        } else {
            Err(ToolError::Failed(format!(
                "working_dir {dir} is not a directory"
            )))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use pretty_assertions::assert_eq;
    use serde_json::json;

    fn request(args: serde_json::Value) -> Result<Request, String> {
        Request::from_args(&Args::of("bash", &args).unwrap()).map_err(|e| e.to_string())
    }

    #[test]
    fn v6_parameters_are_read() {
        assert_eq!(
            request(json!({"command": "ls", "working_dir": "src"})),
            Ok(Request {
                command: "ls".into(),
                working_dir: Some("src".into())
            })
        );
        assert_eq!(
            request(json!({"command": "ls", "working_dir": ""})),
            Ok(Request {
                command: "ls".into(),
                working_dir: None
            })
        );
        assert_eq!(
            request(json!({"working_dir": "src"})),
            Err("missing required parameter `command`".into())
        );
        assert_eq!(
            request(json!({"command": "  "})),
            Err("the command is empty".into())
        );
        assert_eq!(
            request(json!({"command": ["ls"]})),
            Err("parameter `command` must be a string".into())
        );
    }

    #[test]
    fn working_dir_must_stay_inside_and_be_a_directory() {
        let temp = tempfile::tempdir().unwrap();
        let root = temp.path().canonicalize().unwrap();
        std::fs::create_dir(root.join("src")).unwrap();
        std::fs::write(root.join("notes.txt"), "").unwrap();
        let sandbox = Sandbox::new(&root, true);
        let cwd = |dir: &str| {
            Request {
                command: "ls".into(),
                working_dir: Some(dir.into()),
            }
            .cwd(&sandbox)
            .map_err(|e| e.to_string())
        };
        assert_eq!(cwd("src"), Ok(root.join("src")));
        assert!(
            cwd("..")
                .unwrap_err()
                .starts_with("path outside the working directory: ..")
        );
        assert!(
            cwd("/etc")
                .unwrap_err()
                .starts_with("path outside the working directory: /etc")
        );
        assert_eq!(
            cwd("notes.txt"),
            Err("working_dir notes.txt is not a directory".into())
        );
        assert_eq!(cwd("src/.."), Ok(root));
    }
}
