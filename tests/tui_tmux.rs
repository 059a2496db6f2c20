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
