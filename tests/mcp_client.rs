#![allow(clippy::unwrap_used, clippy::expect_used)]
//! tzzr as an MCP client against the real `@modelcontextprotocol/server-everything` (peer
//! TZZR_E2E_MCP_EVERYTHING, installed by `.ci/run`): its tools are offered to the model under
//! `mcp__everything__*`, pass the approval gate, run, and a server that dies fails one call,
//! not the agent.

mod support;

use std::path::Path;
use std::time::Duration;

use pretty_assertions::assert_eq;
use support::harness::{Done, Harness, asked_in, done_in, notices};
use support::mock_llm::MockLlm;
use support::peers::mcp_everything;
use tzzr::engine::protocol::{Approval, Outcome};

/// An OpenAI-dialect agent on the mock with the everything server, started by `command`.
fn config(mock: &MockLlm, command: &str, args: &[String], agent_extra: &str) -> String {
    let args = serde_json::to_string(args).unwrap();
    format!(
        "settings:\n  timeout: 60\nmcp_servers:\n  everything:\n    command: {command}\n    args: {args}\nagents:\n  bot:\n    role: You help.\n    provider: openai\n    model: gpt-4o\n    api_base: {}\n    mcp: [everything]\n{agent_extra}",
        mock.openai_base()
    )
}

fn node_args(everything: &Path) -> Vec<String> {
    vec![everything.display().to_string(), "stdio".into()]
}

#[tokio::test]
async fn an_mcp_tool_is_offered_asks_first_and_runs_after_approve() {
    let Some(everything) = mcp_everything() else {
        return;
    };
    let mock = MockLlm::start().await;
    let mut h = Harness::start(&config(&mock, "node", &node_args(&everything), "")).await;
    let turn = h.prompt("bot", r#"[[tool:mcp__everything__echo {"message":"hi"}]]"#);
    let asked = h.asked(turn).await;
    assert_eq!(asked.tool, "mcp__everything__echo");
    assert_eq!(asked_in(&h.so_far(turn)).len(), 1);
    h.answer("bot", &asked.call, Approval::Allow);
    let events = h.until_finished(turn).await;
    assert_eq!(
        done_in(&events),
        [Done {
            tool: "mcp__everything__echo".to_owned(),
            ok: true,
            output: "Echo: hi".to_owned()
        }]
    );
    let Outcome::Done { text } = h.outcome(&events) else {
        panic!("{events:?}")
    };
    assert!(
        text.ends_with("=Echo: hi"),
        "the result went back to the model: {text}"
    );

    // The model was offered the server's tool with its description and schema.
    let first = mock.chat_requests()[0].json().clone();
    let echo = first["tools"]
        .as_array()
        .unwrap()
        .iter()
        .find(|t| t["function"]["name"] == "mcp__everything__echo")
        .expect("the echo tool is offered")
        .clone();
    assert_eq!(
        echo["function"]["description"],
        "Echoes back the input string"
    );
    assert_eq!(
        echo["function"]["parameters"]["properties"]["message"]["type"],
        "string"
    );
    // The call is in the log like any other.
    let log = h.read_log("bot.md");
    assert!(log.contains("**mcp__everything__echo** ✅"), "{log}");
    assert!(log.contains("Echo: hi"), "{log}");
    h.shutdown().await;
}

#[tokio::test]
async fn approval_auto_for_the_tool_runs_it_unasked() {
    let Some(everything) = mcp_everything() else {
        return;
    };
    let mock = MockLlm::start().await;
    let yaml = config(
        &mock,
        "node",
        &node_args(&everything),
        "    approval: {mcp__everything__echo: auto}\n",
    );
    let mut h = Harness::start(&yaml).await;
    let turn = h.prompt(
        "bot",
        r#"[[tool:mcp__everything__echo {"message":"unasked"}]]"#,
    );
    let events = h.until_finished(turn).await;
    assert_eq!(asked_in(&events), []);
    assert_eq!(
        done_in(&events),
        [Done {
            tool: "mcp__everything__echo".to_owned(),
            ok: true,
            output: "Echo: unasked".to_owned()
        }]
    );
    h.shutdown().await;
}

#[tokio::test]
async fn a_tool_the_agent_was_not_given_is_refused_before_anyone_is_asked() {
    let Some(everything) = mcp_everything() else {
        return;
    };
    let mock = MockLlm::start().await;
    let mut h = Harness::start(&config(&mock, "node", &node_args(&everything), "")).await;
    let turn = h.prompt(
        "bot",
        r#"[[tool:mcp__everything__no-such-tool {}]] [[tool:mcp__other__echo {"message":"x"}]]"#,
    );
    let events = h.until_finished(turn).await;
    assert_eq!(
        asked_in(&events),
        [],
        "nobody is asked about a tool the agent lacks"
    );
    let results = done_in(&events);
    assert_eq!(results.len(), 2);
    for Done { tool, ok, output } in &results {
        assert!(!ok);
        assert!(
            output.starts_with(&format!(
                "tool `{tool}` is not available to this agent (it has: "
            )),
            "{output}"
        );
        assert!(output.contains("mcp__everything__echo"), "{output}");
    }
    h.shutdown().await;
}

#[tokio::test]
async fn a_server_killed_mid_call_fails_that_call_and_the_next_turn_works() {
    let Some(everything) = mcp_everything() else {
        return;
    };
    let mock = MockLlm::start().await;
    let dir = tempfile::tempdir().unwrap();
    let pid_file = dir.path().join("server.pid");
    let seen = dir.path().join("requests.log");
    // The server runs behind a shell that notes its process group and copies what the server
    // is sent, so the test knows when the call has reached it.
    let script = format!(
        "echo $$ > '{}'; tee -a '{}' | node '{}' stdio",
        pid_file.display(),
        seen.display(),
        everything.display()
    );
    let yaml = config(
        &mock,
        "sh",
        &["-c".to_owned(), script],
        "    approval: auto\n",
    );
    let mut h = Harness::start(&yaml).await;
    let turn = h.prompt(
        "bot",
        r#"[[tool:mcp__everything__trigger-long-running-operation {"duration":60,"steps":2}]]"#,
    );
    let mut waited = Duration::ZERO;
    while !std::fs::read_to_string(&seen)
        .unwrap_or_default()
        .contains("trigger-long-running-operation")
    {
        assert!(
            waited < Duration::from_secs(60),
            "the call never reached the server"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
        waited += Duration::from_millis(20);
    }
    let group = std::fs::read_to_string(&pid_file).unwrap();
    let killed = std::process::Command::new("kill")
        .args(["-KILL", "--", &format!("-{}", group.trim())])
        .status()
        .unwrap();
    assert!(killed.success());

    let events = h.until_finished(turn).await;
    let results = done_in(&events);
    assert_eq!(results.len(), 1);
    let Done { ok, output, .. } = &results[0];
    assert!(!ok);
    assert!(
        output.starts_with("MCP server `everything` stopped answering")
            && output.ends_with("this call failed, and the next call starts the server again"),
        "{output}"
    );
    assert!(
        notices(&events)
            .iter()
            .any(|n| n.starts_with("MCP server `everything` stopped")),
        "{:?}",
        notices(&events)
    );
    assert!(
        h.outcome(&events).is_done(),
        "the agent goes on: {events:?}"
    );

    let turn = h.prompt(
        "bot",
        r#"[[tool:mcp__everything__echo {"message":"back"}]]"#,
    );
    let events = h.until_finished(turn).await;
    assert_eq!(
        done_in(&events),
        [Done {
            tool: "mcp__everything__echo".to_owned(),
            ok: true,
            output: "Echo: back".to_owned()
        }]
    );
    h.shutdown().await;
}

#[tokio::test]
async fn a_server_that_cannot_start_is_a_notice_and_the_agent_still_answers() {
    let mock = MockLlm::start().await;
    let yaml = config(&mock, "/no/such/mcp-server", &[], "");
    let mut h = Harness::start(&yaml).await;
    let turn = h.prompt("bot", r#"[[tool:mcp__everything__echo {"message":"x"}]]"#);
    let events = h.until_finished(turn).await;
    let heard = notices(&events);
    assert!(
        heard.iter().any(|n| n
            .starts_with("MCP server `everything`: cannot start `/no/such/mcp-server`")
            && n.ends_with("its tools are not offered to the model")),
        "{heard:?}"
    );
    let results = done_in(&events);
    assert!(
        results.len() == 1 && !results[0].ok,
        "the tool is not offered, so the call is refused: {results:?}"
    );
    assert!(h.outcome(&events).is_done(), "{events:?}");
    let tools = mock.chat_requests()[0].json()["tools"].clone();
    assert!(
        tools.is_null() || tools.as_array().is_some_and(Vec::is_empty),
        "{tools}"
    );
    h.shutdown().await;
}

#[tokio::test]
async fn shutdown_kills_the_server() {
    let Some(everything) = mcp_everything() else {
        return;
    };
    let mock = MockLlm::start().await;
    let dir = tempfile::tempdir().unwrap();
    let pid_file = dir.path().join("server.pid");
    let script = format!(
        "echo $$ > '{}'; exec node '{}' stdio",
        pid_file.display(),
        everything.display()
    );
    let yaml = config(
        &mock,
        "sh",
        &["-c".to_owned(), script],
        "    approval: auto\n",
    );
    let mut h = Harness::start(&yaml).await;
    let turn = h.prompt("bot", r#"[[tool:mcp__everything__echo {"message":"up"}]]"#);
    let events = h.until_finished(turn).await;
    assert!(done_in(&events)[0].ok, "{events:?}");
    let pid = std::fs::read_to_string(&pid_file)
        .unwrap()
        .trim()
        .to_owned();
    assert!(Path::new(&format!("/proc/{pid}")).exists());
    h.shutdown().await;
    for _ in 0..500 {
        if is_gone(&pid) {
            return;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    panic!("the MCP server {pid} outlived the orchestrator");
}

/// Whether a process is gone (a zombie waiting to be reaped counts as gone).
fn is_gone(pid: &str) -> bool {
    match std::fs::read_to_string(format!("/proc/{pid}/stat")) {
        Err(_) => true,
        Ok(stat) => stat
            .rsplit_once(')')
            .is_some_and(|(_, rest)| rest.trim_start().starts_with(['Z', 'X'])),
    }
}

/// A streamable-HTTP server-everything on a free port of 127.0.0.1, killed when dropped.
struct HttpEverything {
    child: std::process::Child,
    url: String,
}

impl HttpEverything {
    fn start(everything: &Path) -> Self {
        use std::io::{BufRead, BufReader};
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let mut child = std::process::Command::new("node")
            .arg(everything)
            .arg("streamableHttp")
            .env("PORT", port.to_string())
            .stdin(std::process::Stdio::null())
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::piped())
            .spawn()
            .unwrap();
        let stderr = child.stderr.take().unwrap();
        let mut lines = BufReader::new(stderr).lines();
        loop {
            let line = lines.next().expect("the server says it listens").unwrap();
            if line.contains("listening on port") {
                break;
            }
        }
        // Keep draining its stderr so that it never blocks on a full pipe.
        std::thread::spawn(move || for _ in lines {});
        Self {
            child,
            url: format!("http://127.0.0.1:{port}/mcp"),
        }
    }
}

impl Drop for HttpEverything {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

#[tokio::test]
async fn a_streamable_http_server_works_like_a_stdio_one() {
    let Some(everything) = mcp_everything() else {
        return;
    };
    let server = HttpEverything::start(&everything);
    let mock = MockLlm::start().await;
    let yaml = format!(
        "mcp_servers:\n  everything:\n    url: {}\n    headers: {{X-Test: yes}}\nagents:\n  bot:\n    provider: openai\n    model: gpt-4o\n    api_base: {}\n    mcp: [everything]\n    approval: {{mcp__everything__get-sum: auto}}\n",
        server.url,
        mock.openai_base()
    );
    let mut h = Harness::start(&yaml).await;
    let turn = h.prompt("bot", r#"[[tool:mcp__everything__get-sum {"a":2,"b":3}]]"#);
    let events = h.until_finished(turn).await;
    let results = done_in(&events);
    assert_eq!(results.len(), 1, "{events:?}");
    assert!(results[0].ok, "{results:?}");
    assert!(results[0].output.contains('5'), "{results:?}");
    h.shutdown().await;
}

#[test]
fn an_mcp_server_gets_no_secret_from_tzzrs_environment() {
    let Some(everything) = mcp_everything() else {
        return;
    };
    let project = tempfile::tempdir().unwrap();
    let config = format!(
        "mcp_servers:\n  everything:\n    command: node\n    args: ['{}', stdio]\n    env: {{GIVEN_ON_PURPOSE: visible}}\nagents:\n  bot:\n    provider: scripted\n    mcp: [everything]\n    approval: auto\n    script:\n      - {{tool_calls: [{{tool: mcp__everything__get-env, params: {{}}}}]}}\n      - {{text: done}}\n",
        everything.display()
    );
    std::fs::write(project.path().join("config.yaml"), config).unwrap();
    let output = std::process::Command::new(env!("CARGO_BIN_EXE_tzzr"))
        .current_dir(project.path())
        .args(["--agent", "bot", "--prompt", "go"])
        .env("XDG_STATE_HOME", project.path().join("state"))
        .env("OPENAI_API_KEY", "sk-secret-one")
        .env("DEPLOY_TOKEN", "secret-two")
        .env("DB_PASSWORD", "secret-three")
        .output()
        .unwrap();
    assert!(output.status.success(), "{output:?}");
    let log = std::fs::read_to_string(project.path().join("logs/bot.md")).unwrap();
    assert!(log.contains("**mcp__everything__get-env** ✅"), "{log}");
    assert!(
        log.contains("GIVEN_ON_PURPOSE"),
        "the server's own env: {log}"
    );
    assert!(
        log.contains("\"PATH\""),
        "the rest of the environment: {log}"
    );
    for secret in ["sk-secret-one", "secret-two", "secret-three"] {
        assert!(!log.contains(secret), "{secret} reached the server: {log}");
    }
}

#[test]
fn status_says_what_each_mcp_server_offers_or_why_not() {
    let project = tempfile::tempdir().unwrap();
    let mut config = String::from(
        "mcp_servers:\n  ghost: {command: /no/such/mcp-server}\nagents:\n  bot:\n    provider: scripted\n    mcp: [ghost",
    );
    let everything = mcp_everything();
    if let Some(everything) = &everything {
        config = format!(
            "mcp_servers:\n  ghost: {{command: /no/such/mcp-server}}\n  everything: {{command: node, args: ['{}', stdio]}}\nagents:\n  bot:\n    provider: scripted\n    mcp: [ghost, everything",
            everything.display()
        );
    }
    config.push_str("]\n");
    std::fs::write(project.path().join("config.yaml"), config).unwrap();
    let run = |flag: &str| {
        let output = std::process::Command::new(env!("CARGO_BIN_EXE_tzzr"))
            .current_dir(project.path())
            .arg(flag)
            .env("XDG_STATE_HOME", project.path().join("state"))
            .output()
            .unwrap();
        assert!(output.status.success(), "{output:?}");
        String::from_utf8(output.stdout).unwrap()
    };
    let listed = run("--agents");
    assert!(
        listed.contains("MCP servers: ghost") && listed.contains("see --status"),
        "{listed}"
    );
    let status: serde_json::Value = serde_json::from_str(&run("--status")).unwrap();
    let notes: Vec<String> = status["agents"]["bot"]["notes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|n| n.as_str().unwrap().to_owned())
        .collect();
    assert!(
        notes.iter().any(|n| n
            .starts_with("not available: MCP server `ghost`: cannot start `/no/such/mcp-server`")),
        "{notes:?}"
    );
    if everything.is_some() {
        assert!(
            notes
                .iter()
                .any(|n| n.starts_with("MCP server `everything`: ")
                    && n.contains(" tools (")
                    && n.contains("mcp__everything__echo")),
            "{notes:?}"
        );
    }
}
