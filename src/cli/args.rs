//! The command line: v6's flags (`--config`, `--status`, `--agents`, `--agent`, `--prompt`,
//! `--health`) plus `--all` and `--json`.

use std::path::PathBuf;

use clap::Parser;

#[derive(Debug, Clone, Parser)]
#[command(
    name = "tzzr",
    version,
    about = "Run a team of LLM agents side by side: a terminal UI, or headless with these flags.",
    after_help = "Examples:\n  tzzr                                  open the terminal UI on ./config.yaml\n  tzzr --agents                          list the agents and whether they can run\n  tzzr --agent coder --prompt \"Fix the tests\"\n  git diff | tzzr --agent reviewer --prompt -\n  tzzr --all --prompt \"Summarise README.md\" --json\n  tzzr --task review                     run a pipeline from tasks:"
)]
pub struct Args {
    /// Config file [default: ./config.yaml, then the user config dir]
    #[arg(long, value_name = "FILE")]
    pub config: Option<PathBuf>,
    /// Print the status as JSON: settings, agents, endpoints, costs
    #[arg(long)]
    pub status: bool,
    /// List the agents, their models, and why one cannot run
    #[arg(long)]
    pub agents: bool,
    /// Check every agent's provider without spending tokens; exit 1 if one is unhealthy
    #[arg(long)]
    pub health: bool,
    /// The agent to send --prompt to
    #[arg(long, value_name = "NAME", conflicts_with = "all")]
    pub agent: Option<String>,
    /// Send --prompt to every agent at once
    #[arg(long)]
    pub all: bool,
    /// The prompt; `-` reads it from standard input
    #[arg(long, value_name = "TEXT", conflicts_with = "task")]
    pub prompt: Option<String>,
    /// Run a pipeline from `tasks:`: each step's answer is the context of the next
    #[arg(long, value_name = "NAME", conflicts_with_all = ["agent", "all"])]
    pub task: Option<String>,
    /// The task's input: `{{input}}` in its prompts, else the context of its first step; `-`
    /// reads it from standard input
    #[arg(long, value_name = "TEXT", requires = "task")]
    pub input: Option<String>,
    /// Resume the task after the steps that succeeded in an earlier run, from the JSON Lines
    /// that run printed with --task NAME --json
    #[arg(long, value_name = "FILE", requires = "task", num_args = 0..=1)]
    pub resume_task: Option<Option<PathBuf>>,
    /// Print JSON (JSON Lines of the engine's events for --agent/--all, of the steps for --task)
    #[arg(long)]
    pub json: bool,
    /// Approve every tool call that would ask (`approval: ask`); without it they are refused
    #[arg(long, short = 'y')]
    pub yes: bool,
}

/// What the command line asks for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Mode {
    Tui,
    Agents,
    Status,
    Health,
    Prompt { agent: String, prompt: String },
    All { prompt: String },
    Task { name: String },
}

/// A flag combination that makes no sense.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum UsageError {
    #[error("--prompt needs --agent NAME or --all")]
    PromptWithoutTarget,
    #[error("--agent {0} needs --prompt TEXT (or `--prompt -` to read it from stdin)")]
    AgentWithoutPrompt(String),
    #[error("--all needs --prompt TEXT (or `--prompt -` to read it from stdin)")]
    AllWithoutPrompt,
}

impl Args {
    /// The mode, with the prompt as given (`-` not yet read).
    pub fn mode(&self) -> Result<Mode, UsageError> {
        if self.status {
            return Ok(Mode::Status);
        }
        if self.agents {
            return Ok(Mode::Agents);
        }
        if self.health {
            return Ok(Mode::Health);
        }
        if let Some(name) = &self.task {
            return Ok(Mode::Task { name: name.clone() });
        }
        match (&self.agent, self.all, &self.prompt) {
            (Some(agent), _, Some(prompt)) => Ok(Mode::Prompt {
                agent: agent.clone(),
                prompt: prompt.clone(),
            }),
            (Some(agent), _, None) => Err(UsageError::AgentWithoutPrompt(agent.clone())),
            (None, true, Some(prompt)) => Ok(Mode::All {
                prompt: prompt.clone(),
            }),
            (None, true, None) => Err(UsageError::AllWithoutPrompt),
            (None, false, Some(_)) => Err(UsageError::PromptWithoutTarget),
            (None, false, None) => Ok(Mode::Tui),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn mode(argv: &[&str]) -> Result<Mode, UsageError> {
        let args = Args::try_parse_from(std::iter::once("tzzr").chain(argv.iter().copied()))
            .unwrap_or_else(|e| panic!("{e}"));
        args.mode()
    }

    #[test]
    fn v6_flags_pick_their_modes() {
        assert_eq!(mode(&[]), Ok(Mode::Tui));
        assert_eq!(mode(&["--agents"]), Ok(Mode::Agents));
        assert_eq!(mode(&["--status"]), Ok(Mode::Status));
        assert_eq!(mode(&["--health"]), Ok(Mode::Health));
        assert_eq!(
            mode(&["--agent", "coder", "--prompt", "hi"]),
            Ok(Mode::Prompt {
                agent: "coder".into(),
                prompt: "hi".into()
            })
        );
        assert_eq!(
            mode(&["--all", "--prompt", "-"]),
            Ok(Mode::All { prompt: "-".into() })
        );
        assert_eq!(
            mode(&["--task", "deploy"]),
            Ok(Mode::Task {
                name: "deploy".into()
            })
        );
    }

    #[test]
    fn incomplete_combinations_say_what_is_missing() {
        assert_eq!(
            mode(&["--prompt", "hi"]),
            Err(UsageError::PromptWithoutTarget)
        );
        assert_eq!(
            mode(&["--agent", "coder"]),
            Err(UsageError::AgentWithoutPrompt("coder".into()))
        );
        assert_eq!(mode(&["--all"]), Err(UsageError::AllWithoutPrompt));
        assert!(Args::try_parse_from(["tzzr", "--all", "--agent", "x"]).is_err());
        assert!(Args::try_parse_from(["tzzr", "--task", "t", "--agent", "x"]).is_err());
    }
}
