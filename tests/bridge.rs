#![allow(clippy::unwrap_used, clippy::expect_used)]
//! tzzr's MCP bridge for Claude agents, driven by a fake `claude` that speaks MCP to it the way
//! the real CLI does: it reads the mcp-config tzzr passed, starts the relay (`tzzr
//! __mcp-bridge SOCKET`, the real binary), lists the tools, asks a permission prompt and calls
//! a served tool. Runs everywhere (no peer); the real CLI does the same in `e2e_claude`.

mod support;

use std::path::{Path, PathBuf};

use pretty_assertions::assert_eq;
use support::harness::Harness;
use tzzr::engine::protocol::{AgentCommand, Approval, CallId, EventKind, Outcome};

/// The MCP messages the fake sends, one a line (the last three answered concurrently).
const MESSAGES: &str = r#"{"jsonrpc":"2.0","id":1,"method":"initialize","params":{"protocolVersion":"2025-06-18","capabilities":{},"clientInfo":{"name":"fake-claude","version":"1"}}}
{"jsonrpc":"2.0","method":"notifications/initialized"}
{"jsonrpc":"2.0","id":2,"method":"tools/list"}
{"jsonrpc":"2.0","id":3,"method":"tools/call","params":{"name":"approve","arguments":{"tool_name":"Bash","input":{"command":"echo hi"},"tool_use_id":"toolu_fake1"}}}
{"jsonrpc":"2.0","id":4,"method":"tools/call","params":{"name":"list_dir","arguments":{"path":"."},"_meta":{"claudecode/toolUseId":"toolu_fake2"}}}
{"jsonrpc":"2.0","id":5,"method":"tools/call","params":{"name":"read","arguments":{"path":"config.yaml"}}}
"#;

/// A fake `claude` in `dir`: it records its argv, speaks [`MESSAGES`] through the bridge named
/// in its `--mcp-config`, keeps the relay's stdin open until all answers are in, writes them to
/// `bridge.out`, and ends the run like the CLI does.
fn fake_claude(dir: &Path) -> PathBuf {
    use std::os::unix::fs::PermissionsExt;
    std::fs::write(dir.join("messages.jsonl"), MESSAGES).unwrap();
    let script = format!(
        r#"#!/bin/sh
dir='{dir}'
printf '%s\n' "$@" > "$dir/argv.log"
config=""
previous=""
for arg in "$@"; do
  [ "$previous" = --mcp-config ] && config="$arg"
  previous="$arg"
done
command=$(sed -n 's/.*"command":"\([^"]*\)".*/\1/p' "$config")
socket=$(sed -n 's/.*"__mcp-bridge","\([^"]*\)".*/\1/p' "$config")
printf '{{"type":"system","subtype":"init","session_id":"s-1","tools":[]}}\n'
: > "$dir/bridge.out"
{{
  cat "$dir/messages.jsonl"
  n=0
  while [ "$(grep -c '"id":[345]' "$dir/bridge.out")" -lt 3 ] && [ "$n" -lt 3000 ]; do
    sleep 0.02; n=$((n + 1))
  done
}} | "$command" __mcp-bridge "$socket" > "$dir/bridge.out"
printf '{{"type":"result","subtype":"success","is_error":false,"result":"bridged"}}\n'
"#,
        dir = dir.display()
    );
    let path = dir.join("claude");
    std::fs::write(&path, script).unwrap();
    std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o755)).unwrap();
    path
}

/// The answer to request `id` in the fake's transcript.
fn answer(transcript: &str, id: u64) -> serde_json::Value {
    transcript
        .lines()
        .filter_map(|line| serde_json::from_str::<serde_json::Value>(line).ok())
        .find(|message| message["id"] == id)
        .unwrap_or_else(|| panic!("no answer to {id} in {transcript}"))
}

#[tokio::test]
async fn a_claude_agent_gets_tzzrs_tools_and_asks_tzzr_over_the_bridge() {
    let fake_dir = tempfile::tempdir().unwrap();
    let claude = fake_claude(fake_dir.path());
    let config = "agents:\n  cc:\n    provider: claude\n    model: sonnet\n    tools: [bash, read, list_dir]\n";
    let mut h =
        Harness::start_with_env(config, &[("TZZR_CLAUDE_BIN", claude.to_str().unwrap())]).await;
    h.write_file("here.txt", "x");
    let turn = h.prompt("cc", "go");

    // The permission prompt for the CLI's Bash asks the user, under the CLI's call id.
    h.wait_for(turn, |k| matches!(k, EventKind::ApprovalNeeded { .. }))
        .await;
    let asked = h
        .so_far(turn)
        .iter()
        .find_map(|e| match &e.kind {
            EventKind::ApprovalNeeded { call, tool, .. } => Some((call.clone(), tool.clone())),
            _ => None,
        })
        .unwrap();
    assert_eq!(asked, (CallId("toolu_fake1".into()), "bash".to_owned()));
    h.command(
        "cc",
        AgentCommand::Approve {
            call: asked.0,
            decision: Approval::Allow,
        },
    );
    let events = h.until_finished(turn).await;
    assert_eq!(
        h.outcome(&events),
        Outcome::Done {
            text: "bridged".into()
        }
    );
    let transcript = std::fs::read_to_string(fake_dir.path().join("bridge.out")).unwrap();

    // Served: the tools the CLI lacks, and the permission prompt; not the CLI's own.
    let listed: Vec<String> = answer(&transcript, 2)["result"]["tools"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t["name"].as_str().unwrap().to_owned())
        .collect();
    assert_eq!(listed, ["list_dir", "approve"]);

    let permission = answer(&transcript, 3)["result"]["content"][0]["text"]
        .as_str()
        .unwrap()
        .to_owned();
    let permission: serde_json::Value = serde_json::from_str(&permission).unwrap();
    assert_eq!(
        permission,
        serde_json::json!({"behavior": "allow", "updatedInput": {"command": "echo hi"}})
    );

    let listing = answer(&transcript, 4)["result"].clone();
    assert_eq!(listing["isError"], false);
    assert!(
        listing["content"][0]["text"]
            .as_str()
            .unwrap()
            .contains("[f] here.txt"),
        "{listing}"
    );
    let refused = answer(&transcript, 5)["result"].clone();
    assert_eq!(refused["isError"], true, "{refused}");

    // The served call is in the trace once, under tzzr's name and the CLI's call id.
    let traced: Vec<(String, String)> = events
        .iter()
        .filter_map(|e| match &e.kind {
            EventKind::ToolCallFinished { call, tool, .. } => Some((call.0.clone(), tool.clone())),
            _ => None,
        })
        .collect();
    assert!(
        traced.contains(&("toolu_fake2".to_owned(), "list_dir".to_owned())),
        "{traced:?}"
    );
    let argv = std::fs::read_to_string(fake_dir.path().join("argv.log")).unwrap();
    assert!(
        argv.contains("--permission-prompt-tool\nmcp__tzzr__approve\n"),
        "{argv}"
    );
    assert!(!argv.contains("--allowedTools"), "{argv}");
    h.shutdown().await;
}

#[tokio::test]
async fn the_bridge_files_are_private_and_removed_at_shutdown() {
    use std::os::unix::fs::PermissionsExt;
    let fake_dir = tempfile::tempdir().unwrap();
    // A fake that only notes where its mcp-config is and how it is protected.
    let claude = fake_dir.path().join("claude");
    std::fs::write(
        &claude,
        format!(
            "#!/bin/sh\nprevious=\"\"\nfor arg in \"$@\"; do [ \"$previous\" = --mcp-config ] && echo \"$arg\" > '{}/config.path'; previous=\"$arg\"; done\nprintf '%s\\n' '{{\"type\":\"result\",\"subtype\":\"success\",\"is_error\":false,\"result\":\"ok\"}}'\n",
            fake_dir.path().display()
        ),
    )
    .unwrap();
    std::fs::set_permissions(&claude, std::fs::Permissions::from_mode(0o755)).unwrap();
    let mut h = Harness::start_with_env(
        "agents:\n  cc:\n    provider: claude\n    model: sonnet\n",
        &[("TZZR_CLAUDE_BIN", claude.to_str().unwrap())],
    )
    .await;
    let turn = h.prompt("cc", "hi");
    let events = h.until_finished(turn).await;
    assert!(h.outcome(&events).is_done(), "{events:?}");
    let config = PathBuf::from(
        std::fs::read_to_string(fake_dir.path().join("config.path"))
            .unwrap()
            .trim(),
    );
    let mode = |p: &Path| std::fs::metadata(p).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode(&config), 0o600);
    let runtime = config.parent().unwrap().to_path_buf();
    assert_eq!(mode(&runtime), 0o700);
    h.shutdown().await;
    assert!(!config.exists(), "{}", config.display());
}
