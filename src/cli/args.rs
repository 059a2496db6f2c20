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
    /// Resume the task from the step that failed, with the answers of the steps that succeeded:
    /// from the session this run goes on with (the last of this config, or --resume ID), or
    /// from FILE, the JSON Lines an earlier --task NAME --json printed
    #[arg(long, value_name = "FILE", requires = "task", num_args = 0..=1)]
    pub resume_task: Option<Option<PathBuf>>,
    /// Print JSON (JSON Lines of the engine's events for --agent/--all, of the steps for --task)
    #[arg(long)]
    pub json: bool,
    /// Approve every tool call that would ask (`approval: ask`); without it they are refused
    #[arg(long, short = 'y')]
    pub yes: bool,

    // Sessions: every run is kept, and a later run can go on with one or export it.
    /// List the sessions kept so far, newest first
    #[arg(long, conflicts_with_all = ["agent", "all", "prompt", "task"])]
    pub sessions: bool,
    /// Go on with the last session of this config (the TUI, or with --agent/--all/--task)
    #[arg(long = "continue", conflicts_with = "resume")]
    pub continue_session: bool,
    /// Go on with session ID (a prefix is enough); without ID, the last one of this config
    #[arg(long, value_name = "ID", num_args = 0..=1, default_missing_value = "")]
    pub resume: Option<String>,
    /// Write the transcript of session ID: every agent's, or --agent's
    #[arg(long, value_name = "ID", conflicts_with_all = ["all", "prompt", "task", "sessions", "continue_session", "resume"])]
    pub export: Option<String>,
    /// The export's format: md or json [default: md]
    #[arg(long, value_name = "FORMAT", requires = "export")]
    pub format: Option<String>,
    /// Write the export to FILE instead of standard output
    #[arg(long, short = 'o', value_name = "FILE", requires = "export")]
    pub output: Option<PathBuf>,
}

/// Which earlier session a run goes on with.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Resume {
    /// The last session of this config.
    Last,
    /// The session whose id starts with this.
    Id(String),
}

impl Args {
    /// The session to go on with, if `--continue` or `--resume` asked for one.
    pub fn resume(&self) -> Option<Resume> {
        // A task resumed from the session goes on in that session.
        let resumes_task = matches!(self.resume_task, Some(None));
        match (&self.resume, self.continue_session || resumes_task) {
            (Some(id), _) if !id.is_empty() => Some(Resume::Id(id.clone())),
            (Some(_), _) | (None, true) => Some(Resume::Last),
            (None, false) => None,
        }
    }
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
    Sessions,
    Export(ExportRequest),
}

/// `--export ID [--format md|json] [-o FILE] [--agent NAME]`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ExportRequest {
    pub id: String,
    pub format: Option<String>,
    pub output: Option<PathBuf>,
    pub agent: Option<String>,
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
        if self.sessions {
            return Ok(Mode::Sessions);
        }
        if let Some(id) = &self.export {
            return Ok(Mode::Export(ExportRequest {
                id: id.clone(),
                format: self.format.clone(),
                output: self.output.clone(),
                agent: self.agent.clone(),
            }));
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
    fn session_flags_pick_a_session_and_modes() {
        let args = |argv: &[&str]| {
            Args::try_parse_from(std::iter::once("tzzr").chain(argv.iter().copied())).unwrap()
        };
        assert_eq!(args(&["--continue"]).resume(), Some(Resume::Last));
        assert_eq!(args(&["--resume"]).resume(), Some(Resume::Last));
        assert_eq!(
            args(&["--resume", "2026", "--agent", "a", "--prompt", "hi"]).resume(),
            Some(Resume::Id("2026".into()))
        );
        assert_eq!(args(&[]).resume(), None);
        assert_eq!(mode(&["--sessions"]), Ok(Mode::Sessions));
        assert_eq!(
            mode(&[
                "--export", "2026", "--format", "json", "-o", "t.json", "--agent", "a"
            ]),
            Ok(Mode::Export(ExportRequest {
                id: "2026".into(),
                format: Some("json".into()),
                output: Some("t.json".into()),
                agent: Some("a".into()),
            }))
        );
        assert!(Args::try_parse_from(["tzzr", "--continue", "--resume", "x"]).is_err());
        assert!(Args::try_parse_from(["tzzr", "--format", "md"]).is_err());
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
