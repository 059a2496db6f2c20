//! Why a tool call failed, worded for the model that made it: every variant's message is what
//! the model reads as the tool's output.

use std::io;
use std::time::Duration;

use super::args::ArgError;
use super::beneath::BeneathError;
use super::sandbox::SandboxError;

#[derive(Debug, thiserror::Error)]
pub enum ToolError {
    #[error(
        "tool `{tool}` is not available to this agent ({})",
        offered_list(offered)
    )]
    NotAvailable { tool: String, offered: Vec<String> },
    #[error(transparent)]
    Args(#[from] ArgError),
    #[error(transparent)]
    Sandbox(#[from] SandboxError),
    /// A refusal or failure the tool words itself (v6's messages where v6 had one).
    #[error("{0}")]
    Failed(String),
    #[error("{path}: {source}")]
    Io { path: String, source: io::Error },
    #[error("{path}: {source}")]
    Open { path: String, source: BeneathError },
    #[error("cancelled")]
    Cancelled,
    #[error("timed out after {}s", .0.as_secs_f64())]
    TimedOut(Duration),
    #[error("the tool stopped unexpectedly: {0}")]
    Crashed(String),
}

impl ToolError {
    /// An I/O failure on the path the model named.
    pub fn io(path: &str, source: io::Error) -> Self {
        Self::Io {
            path: path.to_owned(),
            source,
        }
    }

    /// A failure to open the path the model named (a link that appeared, a protected file).
    pub fn open(path: &str, source: BeneathError) -> Self {
        match source {
            BeneathError::Io(source) => Self::io(path, source),
            source => Self::Open {
                path: path.to_owned(),
                source,
            },
        }
    }
}

fn offered_list(offered: &[String]) -> String {
    if offered.is_empty() {
        "it has no tools".to_owned()
    } else {
        format!("it has: {}", offered.join(", "))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn not_available_lists_what_the_agent_has() {
        let err = ToolError::NotAvailable {
            tool: "bash".into(),
            offered: vec!["read".into(), "grep".into()],
        };
        assert_eq!(
            err.to_string(),
            "tool `bash` is not available to this agent (it has: read, grep)"
        );
        let none = ToolError::NotAvailable {
            tool: "bash".into(),
            offered: vec![],
        };
        assert_eq!(
            none.to_string(),
            "tool `bash` is not available to this agent (it has no tools)"
        );
    }

    #[test]
    fn timeouts_print_seconds() {
        assert_eq!(
            ToolError::TimedOut(Duration::from_secs(60)).to_string(),
            "timed out after 60s"
        );
        assert_eq!(
            ToolError::TimedOut(Duration::from_millis(1500)).to_string(),
            "timed out after 1.5s"
        );
    }
}
