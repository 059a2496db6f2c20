#![allow(clippy::unwrap_used, clippy::expect_used)]
//! The real binary in a real terminal (tmux): start the UI against the in-process API server,
//! type a prompt, run `/all`, approve a tool call, quit, and read the screen at each step.

mod support;

use std::process::Command;

use support::mock_llm::MockLlm;
use support::tmux::Tmux;

fn have_tmux() -> bool {
    let found = Command::new("tmux")
        .arg("-V")
        .output()
        .is_ok_and(|o| o.status.success());
    if !found {
        support::peers::skip("tmux is not installed (apt-get install tmux)");
    }
    found
}

/// A directory whose config.yaml has one agent, `bot`, talking to `mock`.
fn one_bot_project(mock: &MockLlm) -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("config.yaml"),
        format!(
            "agents:\n  bot:\n    role: You answer.\n    provider: openai\n    model: gpt-4o\n    api_base: {}\n",
            mock.openai_base()
        ),
    )
    .unwrap();
    dir
}

#[tokio::test(flavor = "multi_thread")]
async fn prompt_run_all_approve_and_quit_in_a_real_terminal() {
    if !have_tmux() {
        return;
    }
    let mock = MockLlm::start().await;
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("config.yaml"),
        format!(
            r#"
agents:
  bot:
    role: You answer.
    provider: openai
    model: gpt-4o
    api_base: {}
  writer:
    provider: scripted
    tools: [write]
    script:
      - text: "Writing the file."
        tool_calls:
          - tool: write
            params: {{path: notes.txt, content: "approved"}}
      - "Done."
"#,
            mock.openai_base()
        ),
    )
    .unwrap();
    let binary = env!("CARGO_BIN_EXE_tzzr");
    let state = dir.path().join("state");
    let command = format!(
        "XDG_STATE_HOME={} {binary}; echo EXIT=$?; sleep 60",
        state.display()
    );
    let tmux = Tmux::start(dir.path(), &command);

    tmux.wait_for("the UI", |s| {
        s.contains("Agents") && s.contains("Prompt → bot")
    })
    .await;

    tmux.type_line("hello from tmux");
    tmux.wait_for("bot's streamed answer", |s| {
        s.contains("echo: hello from tmux")
    })
    .await;

    tmux.type_line("/all ping everyone");
    let modal = tmux
        .wait_for("the writer's approval window", |s| {
            s.contains("Approve this tool call?")
        })
        .await;
    assert!(
        modal.contains("writer") && modal.contains("notes.txt"),
        "{modal}"
    );
    assert!(
        !dir.path().join("notes.txt").exists(),
        "nothing is written before the answer"
    );
    tmux.keys(&["y"]);
    let grid = tmux
        .wait_for("both columns of the run-all grid to finish", |s| {
            s.contains("echo: ping everyone") && s.contains("Done.")
        })
        .await;
    assert!(
        grid.contains("1 bot") && grid.contains("2 writer"),
        "{grid}"
    );
    assert_eq!(
        std::fs::read_to_string(dir.path().join("notes.txt")).unwrap(),
        "approved"
    );

    tmux.keys(&["C-a"]);
    tmux.wait_for("the main view", |s| s.contains("Tool calls"))
        .await;
    tmux.keys(&["C-c"]);
    let after = tmux.wait_for("tzzr to exit", |s| s.contains("EXIT=")).await;
    assert!(after.contains("EXIT=0"), "{after}");
    assert!(
        !after.contains("╭ Agents"),
        "the terminal is back to the shell:\n{after}"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn quit_then_continue_shows_the_conversation_and_the_agent_remembers_it() {
    if !have_tmux() {
        return;
    }
    let mock = MockLlm::start().await;
    let dir = one_bot_project(&mock);
    let binary = env!("CARGO_BIN_EXE_tzzr");
    let state = dir.path().join("state");
    let command = format!(
        "export XDG_STATE_HOME={}; {binary}; {binary} --continue; echo EXIT=$?; sleep 60",
        state.display()
    );
    let tmux = Tmux::start(dir.path(), &command);
    tmux.wait_for("the UI", |s| s.contains("Prompt → bot"))
        .await;
    tmux.type_line("my name is Ada");
    tmux.wait_for("bot's answer", |s| s.contains("echo: my name is Ada"))
        .await;
    tmux.keys(&["C-c"]);

    let resumed = tmux
        .wait_for("the UI again, on the earlier session", |s| {
            s.contains("resumed the session") && s.contains("Prompt → bot")
        })
        .await;
    assert!(
        resumed.contains("my name is Ada") && resumed.contains("echo: my name is Ada"),
        "{resumed}"
    );
    tmux.type_line("what is my name?");
    tmux.wait_for("bot's second answer", |s| {
        s.contains("echo: what is my name?")
    })
    .await;
    let request = mock.chat_requests().pop().unwrap();
    let contents: Vec<&str> = request.json()["messages"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["content"].as_str().unwrap_or(""))
        .collect();
    assert_eq!(
        contents[1..],
        ["my name is Ada", "echo: my name is Ada", "what is my name?"]
    );

    tmux.type_line("/sessions");
    let picker = tmux
        .wait_for("the sessions picker", |s| s.contains("Enter resumes"))
        .await;
    assert!(
        picker.contains("2 turns") && picker.contains("\"what is my name?\""),
        "{picker}"
    );
    tmux.keys(&["Escape"]);
    tmux.type_line("/export json transcript.json");
    tmux.wait_for("the export", |s| {
        s.contains("transcript written to transcript.json")
    })
    .await;
    let exported: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(dir.path().join("transcript.json")).unwrap())
            .unwrap();
    assert_eq!(
        exported["agents"][0]["turns"][1]["answer"],
        "echo: what is my name?"
    );
    tmux.keys(&["C-c"]);
    let after = tmux.wait_for("tzzr to exit", |s| s.contains("EXIT=")).await;
    assert!(after.contains("EXIT=0"), "{after}");
}

#[tokio::test(flavor = "multi_thread")]
async fn the_sessions_picker_switches_to_an_earlier_session() {
    if !have_tmux() {
        return;
    }
    let mock = MockLlm::start().await;
    let dir = one_bot_project(&mock);
    let binary = env!("CARGO_BIN_EXE_tzzr");
    let state = dir.path().join("state");
    // An earlier session, run headless; then the UI in a new one.
    let command = format!(
        "export XDG_STATE_HOME={}; {binary} --agent bot --prompt 'the word is lark' >/dev/null; {binary}; echo EXIT=$?; sleep 60",
        state.display()
    );
    let tmux = Tmux::start(dir.path(), &command);
    tmux.wait_for("the UI", |s| s.contains("Prompt → bot"))
        .await;
    tmux.type_line("/sessions");
    let picker = tmux
        .wait_for("the earlier session in the picker", |s| {
            s.contains("Enter resumes") && s.contains("\"the word is lark\"")
        })
        .await;
    assert!(
        !picker.contains("0 turns"),
        "the running session has no turn yet: it is not listed\n{picker}"
    );
    tmux.keys(&["Enter"]);
    let resumed = tmux
        .wait_for("the earlier session on screen", |s| {
            s.contains("resumed the session") && s.contains("echo: the word is lark")
        })
        .await;
    assert!(
        !resumed.contains("Enter resumes"),
        "the picker closed:\n{resumed}"
    );
    tmux.type_line("what is the word?");
    tmux.wait_for("bot's answer", |s| s.contains("echo: what is the word?"))
        .await;
    let request = mock.chat_requests().pop().unwrap();
    assert_eq!(request.json()["messages"][1]["content"], "the word is lark");
    tmux.keys(&["C-c"]);
    let after = tmux.wait_for("tzzr to exit", |s| s.contains("EXIT=")).await;
    assert!(after.contains("EXIT=0"), "{after}");
}
