//! How MCP tools are named for the model: `mcp__SERVER__TOOL`, as Claude Code names them. Server
//! names hold no `__` (the config checks), so the first `__` after the prefix ends the server.

/// What every MCP tool's name starts with.
pub const PREFIX: &str = "mcp__";

/// The longest tool name the model APIs take (OpenAI's limit; Anthropic allows 128).
pub const MAX_NAME_LEN: usize = 64;

/// The name the model sees for `tool` of `server`.
pub fn tool_name(server: &str, tool: &str) -> String {
    format!("{PREFIX}{server}__{tool}")
}

/// The server and the tool a model-facing name stands for; `None` when it is not an MCP name.
pub fn split(name: &str) -> Option<(&str, &str)> {
    let rest = name.strip_prefix(PREFIX)?;
    let (server, tool) = rest.split_once("__")?;
    (!server.is_empty() && !tool.is_empty()).then_some((server, tool))
}

/// Why a server's tool cannot be offered under its name, if it cannot: model APIs accept
/// only ASCII letters, digits, `_` and `-`, up to [`MAX_NAME_LEN`] characters.
pub fn unusable(server: &str, tool: &str) -> Option<&'static str> {
    if tool.is_empty() {
        return Some("it has no name");
    }
    if !tool
        .chars()
        .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-')
    {
        return Some(
            "its name holds characters model APIs refuse (only letters, digits, `_` and `-`)",
        );
    }
    if tool_name(server, tool).len() > MAX_NAME_LEN {
        return Some("its full name would be longer than the 64 characters model APIs take");
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_follow_claude_codes_scheme() {
        assert_eq!(tool_name("everything", "echo"), "mcp__everything__echo");
        assert_eq!(tool_name("my-fs", "read_file"), "mcp__my-fs__read_file");
    }

    #[test]
    fn split_takes_the_server_up_to_the_first_double_underscore() {
        assert_eq!(split("mcp__everything__echo"), Some(("everything", "echo")));
        assert_eq!(split("mcp__fs__read__all"), Some(("fs", "read__all")));
        assert_eq!(split("mcp__a_b__c"), Some(("a_b", "c")));
        for not_mcp in [
            "echo",
            "mcp__",
            "mcp__everything",
            "mcp____echo",
            "mcp__x__",
        ] {
            assert_eq!(split(not_mcp), None, "{not_mcp}");
        }
    }

    #[test]
    fn names_a_model_api_refuses_are_unusable() {
        assert_eq!(unusable("everything", "get-annotated-message"), None);
        assert!(unusable("s", "").is_some());
        assert!(unusable("s", "rm -rf").is_some());
        assert!(unusable("s", "\u{1b}]52;c;eA==\u{7}").is_some());
        assert!(unusable("s", "é").is_some());
        assert!(unusable("s", &"x".repeat(60)).is_some());
        assert_eq!(unusable("s", &"x".repeat(56)), None);
    }
}
