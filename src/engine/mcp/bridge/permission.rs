//! The Claude CLI's permission prompt (`--permission-prompt-tool mcp__tzzr__approve`): the
//! request it sends, the answer it expects, and which of tzzr's tools each of the CLI's tools
//! counts as, so that the agent's approval policy decides.

use serde::Deserialize;
use serde_json::{Value, json};

use super::CLI_PREFIX;

/// What the CLI asks: may `tool_name` run with `input`?
#[derive(Clone, Debug, PartialEq, Deserialize)]
pub struct PermissionRequest {
    pub tool_name: String,
    #[serde(default)]
    pub input: Value,
    #[serde(default)]
    pub tool_use_id: Option<String>,
}

impl PermissionRequest {
    /// The request in a call's arguments; an error the CLI (and the log) can read otherwise.
    pub fn parse(arguments: &Value) -> Result<Self, String> {
        serde_json::from_value(arguments.clone()).map_err(|e| {
            format!("the permission request is not what tzzr expects ({e}): it wants tool_name, input and tool_use_id")
        })
    }
}

/// tzzr's answer, as the text of the tool's result.
#[derive(Clone, Debug, PartialEq)]
pub enum PermissionAnswer {
    /// Run it, with this input (the CLI's own, unchanged).
    Allow { input: Value },
    /// Do not run it; the model reads `message`.
    Deny { message: String },
}

impl PermissionAnswer {
    /// The JSON text the CLI reads: `{"behavior":"allow","updatedInput":…}` or
    /// `{"behavior":"deny","message":…}`.
    pub fn to_json(&self) -> String {
        match self {
            Self::Allow { input } => json!({"behavior": "allow", "updatedInput": input}),
            Self::Deny { message } => json!({"behavior": "deny", "message": message}),
        }
        .to_string()
    }
}

/// What one of the CLI's tools is to tzzr.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum CliTool {
    /// One of the CLI's own tools; the gate decides under this tzzr tool's name.
    Own(&'static str),
    /// A tool tzzr serves over the bridge (tzzr's name); it passes the gate when it runs.
    Bridged(String),
    /// A tool tzzr has no policy for.
    Unknown,
}

/// The tzzr tool the CLI's `name` counts as.
pub fn map_cli_tool(name: &str) -> CliTool {
    if let Some(served) = name.strip_prefix(CLI_PREFIX) {
        return CliTool::Bridged(super::tzzr_name(served));
    }
    CliTool::Own(match name {
        "Bash" | "BashOutput" | "KillShell" | "KillBash" => "bash",
        "Write" | "Edit" | "MultiEdit" | "NotebookEdit" => "write",
        "Read" | "NotebookRead" => "read",
        "Glob" => "glob",
        "Grep" => "grep",
        "LS" => "list_dir",
        "WebFetch" | "WebSearch" => "http_request",
        _ => return CliTool::Unknown,
    })
}

/// The path a file tool's input names, if any (`file_path`, `notebook_path`, `path`).
pub fn path_of(input: &Value) -> Option<&str> {
    ["file_path", "notebook_path", "path"]
        .iter()
        .find_map(|key| input.get(*key).and_then(Value::as_str))
        .filter(|path| !path.is_empty())
}

#[cfg(test)]
mod tests {
    use pretty_assertions::assert_eq;

    use super::*;

    #[test]
    fn the_request_the_cli_sends_is_read() {
        let sent = json!({"tool_name": "Bash", "input": {"command": "touch made.txt && echo made"}, "tool_use_id": "toolu_32e6ebff33c9b87800"});
        assert_eq!(
            PermissionRequest::parse(&sent),
            Ok(PermissionRequest {
                tool_name: "Bash".into(),
                input: json!({"command": "touch made.txt && echo made"}),
                tool_use_id: Some("toolu_32e6ebff33c9b87800".into()),
            })
        );
        let broken = PermissionRequest::parse(&json!({"input": {}})).unwrap_err();
        assert!(broken.contains("tool_name"), "{broken}");
    }

    #[test]
    fn answers_are_the_json_the_cli_expects() {
        let allow = PermissionAnswer::Allow {
            input: json!({"command": "echo hi"}),
        };
        let parsed: Value = serde_json::from_str(&allow.to_json()).unwrap();
        assert_eq!(
            parsed,
            json!({"behavior": "allow", "updatedInput": {"command": "echo hi"}})
        );
        let deny = PermissionAnswer::Deny {
            message: "refused: the user denied this call".into(),
        };
        let parsed: Value = serde_json::from_str(&deny.to_json()).unwrap();
        assert_eq!(
            parsed,
            json!({"behavior": "deny", "message": "refused: the user denied this call"})
        );
    }

    #[test]
    fn the_clis_tools_count_as_tzzrs() {
        assert_eq!(map_cli_tool("Bash"), CliTool::Own("bash"));
        assert_eq!(map_cli_tool("Edit"), CliTool::Own("write"));
        assert_eq!(map_cli_tool("Write"), CliTool::Own("write"));
        assert_eq!(map_cli_tool("Read"), CliTool::Own("read"));
        assert_eq!(map_cli_tool("Glob"), CliTool::Own("glob"));
        assert_eq!(map_cli_tool("WebFetch"), CliTool::Own("http_request"));
        assert_eq!(
            map_cli_tool("mcp__tzzr__list_dir"),
            CliTool::Bridged("list_dir".into())
        );
        assert_eq!(
            map_cli_tool("mcp__tzzr__everything__echo"),
            CliTool::Bridged("mcp__everything__echo".into())
        );
        assert_eq!(map_cli_tool("mcp__other__x"), CliTool::Unknown);
        assert_eq!(map_cli_tool("Task"), CliTool::Unknown);
    }

    #[test]
    fn paths_come_from_the_usual_keys() {
        assert_eq!(
            path_of(&json!({"file_path": "/etc/passwd"})),
            Some("/etc/passwd")
        );
        assert_eq!(path_of(&json!({"path": "src"})), Some("src"));
        assert_eq!(path_of(&json!({"pattern": "*.rs"})), None);
        assert_eq!(path_of(&json!({"path": ""})), None);
    }
}
