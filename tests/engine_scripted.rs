#![allow(clippy::unwrap_used, clippy::expect_used)]
//! The engine end to end on the scripted provider: turns, tool loops, cancel, queueing, budgets,
//! max_turns and the journal, as a front end sees them through events.

mod support;

use std::time::Duration;

use pretty_assertions::assert_eq;
use support::harness::{Harness, kinds};
use tzzr::engine::protocol::{AgentCommand, EventKind, FailureKind, Outcome};

#[tokio::test]
async fn a_scripted_tool_loop_reads_a_file_and_answers() {
    let mut h = Harness::start(
        r#"
agents:
  demo:
    provider: scripted
    tools: [read]
    script:
      - text: "Reading."
        tool_calls:
          - tool: read
            params: {path: notes.txt}
      - "The notes say hello."
"#,
    )
    .await;
    h.write_file("notes.txt", "hello from the notes");
    let turn = h.prompt("demo", "what do the notes say?");
    let events = h.until_finished(turn).await;
    assert_eq!(
        kinds(&events),
        [
            "turn_started",
            "text_delta",
            "usage",
            "context",
            "tool_call_requested",
            "tool_call_finished",
            "text_delta",
            "text_delta",
            "text_delta",
            "text_delta",
            "usage",
            "context",
            "turn_finished"
        ]
    );
    let finished = events
        .iter()
        .find_map(|e| match &e.kind {
            EventKind::ToolCallFinished { ok, output, .. } => Some((*ok, output.clone())),
            _ => None,
        })
        .unwrap();
    assert_eq!(finished, (true, "hello from the notes".to_owned()));
    assert_eq!(
        h.outcome(&events),
        Outcome::Done {
            text: "The notes say hello.".into()
        }
    );
    let log = h.read_log("demo.md");
    for entry in [
        "| PROMPT",
        "what do the notes say?",
        "| TOOL",
        "**read** ✅",
        "| RESULT",
        "The notes say hello.",
    ] {
        assert!(log.contains(entry), "log lacks {entry:?}:\n{log}");
    }
    let journal = h.read_log("demo.jsonl");
    // Besides the turn's events, the journal holds the agent's context at start (turn 0).
    let of_turns = journal
        .lines()
        .filter(|l| !l.contains(r#""turn":0,"#))
        .count();
    assert_eq!(of_turns, events.len());
    h.shutdown().await;
}

#[tokio::test]
async fn a_path_outside_the_working_directory_is_refused_to_the_model() {
    let mut h = Harness::start(
        r#"
agents:
  demo:
    provider: scripted
    tools: [read]
    script:
      - tool_calls:
          - tool: read
            params: {path: ../../etc/passwd}
      - "ok"
"#,
    )
    .await;
    let turn = h.prompt("demo", "go");
    let events = h.until_finished(turn).await;
    let output = events
        .iter()
        .find_map(|e| match &e.kind {
            EventKind::ToolCallFinished {
                ok: false, output, ..
            } => Some(output.clone()),
            _ => None,
        })
        .unwrap();
    assert!(output.contains("outside the working directory"), "{output}");
    h.shutdown().await;
}

#[tokio::test]
async fn cancel_stops_a_streaming_turn_and_the_agent_answers_the_next_prompt() {
    let mut h = Harness::start(
        r#"
agents:
  slow:
    provider: scripted
    script:
      - text: "one two three four five six seven eight nine ten"
        delay_ms: 200
      - "quick answer"
"#,
    )
    .await;
    let turn = h.prompt("slow", "talk");
    h.wait_for(turn, |k| matches!(k, EventKind::TextDelta { .. }))
        .await;
    h.command("slow", AgentCommand::Cancel);
    let events = h.until_finished(turn).await;
    assert_eq!(h.outcome(&events), Outcome::Cancelled);
    let next = h.prompt("slow", "again");
    let events = h.until_finished(next).await;
    assert_eq!(
        h.outcome(&events),
        Outcome::Done {
            text: "quick answer".into()
        }
    );
    assert!(h.read_log("slow.md").contains("| CANCELLED"));
    h.shutdown().await;
}

#[tokio::test]
async fn prompts_sent_while_busy_are_queued_not_lost() {
    let mut h = Harness::start(
        r#"
agents:
  a:
    provider: scripted
    script:
      - text: "first answer here"
        delay_ms: 30
      - "second answer"
"#,
    )
    .await;
    let first = h.prompt("a", "one");
    let second = h.prompt("a", "two");
    let events = h.until_finished(first).await;
    assert_eq!(
        h.outcome(&events),
        Outcome::Done {
            text: "first answer here".into()
        }
    );
    let events = h.until_finished(second).await;
    assert_eq!(
        h.outcome(&events),
        Outcome::Done {
            text: "second answer".into()
        }
    );
    h.shutdown().await;
}

#[tokio::test]
async fn max_turns_stops_a_model_that_keeps_calling_tools() {
    let mut h = Harness::start(
        r#"
agents:
  loop:
    provider: scripted
    tools: [list_dir]
    max_turns: 2
    script:
      - text: "again"
        tool_calls:
          - tool: list_dir
            params: {path: "."}
"#,
    )
    .await;
    let turn = h.prompt("loop", "go");
    let events = h.until_finished(turn).await;
    let runs = events
        .iter()
        .filter(|e| matches!(e.kind, EventKind::ToolCallFinished { .. }))
        .count();
    assert_eq!(runs, 1, "the second call's tools are not run");
    assert!(events.iter().any(|e| matches!(&e.kind,
        EventKind::Notice { text } if text.contains("max_turns"))));
    assert_eq!(
        h.outcome(&events),
        Outcome::Done {
            text: "again".into()
        }
    );
    h.shutdown().await;
}

#[tokio::test]
async fn a_call_that_would_cross_the_budget_is_refused() {
    let mut h = Harness::start(
        r#"
settings:
  budget_usd: 0.1
models:
  pricey:
    input: 1000
    output: 1000
agents:
  spender:
    provider: scripted
    model: pricey
    max_tokens: 50
    script:
      - "WORDS"
"#
        .replace("WORDS", &"costly ".repeat(200))
        .as_str(),
    )
    .await;
    let first = h.prompt("spender", "hello there");
    let events = h.until_finished(first).await;
    assert!(h.outcome(&events).is_done(), "{events:?}");
    let cost: f64 = events
        .iter()
        .filter_map(|e| match e.kind {
            EventKind::Usage { cost_usd, .. } => Some(cost_usd),
            _ => None,
        })
        .sum();
    // Its worst case (prompt + max_tokens) fit; a script ignores max_tokens and spent more.
    assert!(cost > 0.1, "the first call spent the budget: {cost}");
    let second = h.prompt("spender", "and again");
    let events = h.until_finished(second).await;
    let Outcome::Failed { error, kind } = h.outcome(&events) else {
        panic!("expected a refusal: {events:?}")
    };
    assert_eq!(kind, FailureKind::Budget);
    assert!(error.contains("settings.budget_usd"), "{error}");
    assert_eq!(
        kinds(&events),
        ["turn_started", "turn_finished"],
        "no call was made"
    );
    h.shutdown().await;
}

#[tokio::test]
async fn reset_forgets_the_conversation_and_scripted_failures_are_reported() {
    let mut h = Harness::start(
        r#"
agents:
  flaky:
    provider: scripted
    script:
      - error: "the model fell over"
      - "fine now"
"#,
    )
    .await;
    let turn = h.prompt("flaky", "hi");
    let events = h.until_finished(turn).await;
    assert_eq!(
        h.outcome(&events),
        Outcome::Failed {
            error: "scripted provider: the model fell over".into(),
            kind: FailureKind::Other,
        }
    );
    h.command("flaky", AgentCommand::Reset);
    let turn = h.prompt("flaky", "hi again");
    let events = h.until_finished(turn).await;
    assert_eq!(
        h.outcome(&events),
        Outcome::Done {
            text: "fine now".into()
        }
    );
    assert!(h.read_log("flaky.md").contains("| ERROR"));
    h.shutdown().await;
}

#[tokio::test]
async fn an_unknown_agent_is_named_with_a_suggestion() {
    let mut h = Harness::start("agents:\n  coder:\n    provider: scripted\n").await;
    let error = h.orchestrator().prompt("codr", "hi").unwrap_err();
    assert_eq!(
        error.to_string(),
        "unknown agent `codr`; did you mean `coder`?; agents: coder"
    );
    h.shutdown().await;
}

#[tokio::test(start_paused = true)]
async fn the_whole_team_answers_at_once() {
    let mut h = Harness::start(
        r#"
agents:
  a: {provider: scripted, script: [{text: "from a", delay_ms: 1000}]}
  b: {provider: scripted, script: [{text: "from b", delay_ms: 1000}]}
  c: {provider: scripted, script: [{text: "from c", delay_ms: 1000}]}
"#,
    )
    .await;
    let started = tokio::time::Instant::now();
    let turns: Vec<_> = ["a", "b", "c"].iter().map(|a| h.prompt(a, "go")).collect();
    for turn in turns {
        let events = h.until_finished(turn).await;
        assert!(h.outcome(&events).is_done());
    }
    // Two words, a second each: in parallel that is two seconds, not six.
    assert!(
        started.elapsed() < Duration::from_secs(3),
        "{:?}",
        started.elapsed()
    );
    h.shutdown().await;
}

#[tokio::test]
async fn a_prompt_whose_input_alone_would_cross_an_agent_budget_is_not_sent() {
    let mut h = Harness::start(
        r#"
models:
  pricey: {input: 10000, output: 10000}
agents:
  spender:
    provider: scripted
    model: pricey
    budget_usd: 0.01
    script: ["never sent"]
"#,
    )
    .await;
    let turn = h.prompt(
        "spender",
        "a prompt long enough to cost more than a cent at this price",
    );
    let events = h.until_finished(turn).await;
    let Outcome::Failed { error, kind } = h.outcome(&events) else {
        panic!("expected a refusal: {events:?}")
    };
    assert_eq!(kind, FailureKind::Budget);
    assert!(error.contains("agents.spender.budget_usd"), "{error}");
    assert_eq!(h.orchestrator().costs().total_requests, 0);
    h.shutdown().await;
}

#[tokio::test]
async fn reset_while_busy_cancels_the_turn_and_every_queued_prompt_still_ends() {
    let mut h = Harness::start(
        r#"
agents:
  a:
    provider: scripted
    script:
      - text: "a slow answer that takes a while"
        delay_ms: 100
"#,
    )
    .await;
    let running = h.prompt("a", "one");
    let queued = h.prompt("a", "two");
    h.wait_for(running, |k| matches!(k, EventKind::TextDelta { .. }))
        .await;
    h.command("a", AgentCommand::Reset);
    let events = h.until_finished(running).await;
    assert_eq!(h.outcome(&events), Outcome::Cancelled);
    let events = h.until_finished(queued).await;
    assert_eq!(kinds(&events), ["turn_finished"]);
    assert_eq!(h.outcome(&events), Outcome::Cancelled);
    h.shutdown().await;
}

const WRITER: &str = r#"
agents:
  writer:
    provider: scripted
    tools: [write]
    script:
      - tool_calls:
          - tool: write
            params: {path: out.txt, content: "first"}
      - "wrote it"
"#;

/// Prompts the writer, waits for its approval request, answers it; returns the turn.
async fn answer_approval(
    h: &mut Harness,
    decision: tzzr::engine::protocol::Approval,
) -> tzzr::engine::protocol::TurnId {
    let turn = h.prompt("writer", "write it");
    h.wait_for(turn, |k| matches!(k, EventKind::ApprovalNeeded { .. }))
        .await;
    let call = approval_call(&h.so_far(turn)).expect("an approval request");
    h.command("writer", AgentCommand::Approve { call, decision });
    turn
}

fn approval_call(
    events: &[tzzr::engine::protocol::AgentEvent],
) -> Option<tzzr::engine::protocol::CallId> {
    events.iter().find_map(|e| match &e.kind {
        EventKind::ApprovalNeeded { call, .. } => Some(call.clone()),
        _ => None,
    })
}

#[tokio::test]
async fn a_write_waits_for_approval_and_runs_when_allowed() {
    use tzzr::engine::protocol::Approval;
    let mut h = Harness::start(WRITER).await;
    let turn = h.prompt("writer", "write it");
    h.wait_for(turn, |k| matches!(k, EventKind::ApprovalNeeded { .. }))
        .await;
    assert!(
        !h.dir().join("out.txt").exists(),
        "nothing runs before the answer"
    );
    let call = approval_call(&h.so_far(turn)).expect("an approval request");
    h.command(
        "writer",
        AgentCommand::Approve {
            call,
            decision: Approval::Allow,
        },
    );
    let events = h.until_finished(turn).await;
    assert_eq!(
        h.outcome(&events),
        Outcome::Done {
            text: "wrote it".into()
        }
    );
    assert_eq!(
        std::fs::read_to_string(h.dir().join("out.txt")).unwrap(),
        "first"
    );
    h.shutdown().await;
}

#[tokio::test]
async fn a_denied_write_is_reported_to_the_model_and_not_run() {
    use tzzr::engine::protocol::Approval;
    let mut h = Harness::start(WRITER).await;
    let turn = answer_approval(&mut h, Approval::Deny).await;
    let events = h.until_finished(turn).await;
    let output = events
        .iter()
        .find_map(|e| match &e.kind {
            EventKind::ToolCallFinished {
                ok: false, output, ..
            } => Some(output.clone()),
            _ => None,
        })
        .unwrap();
    assert_eq!(output, "refused: the user denied this call");
    assert!(!h.dir().join("out.txt").exists());
    h.shutdown().await;
}

#[tokio::test]
async fn always_allow_stops_asking_for_that_tool() {
    use tzzr::engine::protocol::Approval;
    let mut h = Harness::start(WRITER).await;
    let turn = answer_approval(&mut h, Approval::AlwaysAllow).await;
    let events = h.until_finished(turn).await;
    assert!(h.outcome(&events).is_done());
    let again = h.prompt("writer", "write it again");
    let events = h.until_finished(again).await;
    assert_eq!(approval_call(&events), None, "no second question");
    assert!(h.outcome(&events).is_done());
    h.shutdown().await;
}

#[tokio::test]
async fn cancel_while_waiting_for_approval_ends_the_turn_without_running() {
    let mut h = Harness::start(WRITER).await;
    let turn = h.prompt("writer", "write it");
    h.wait_for(turn, |k| matches!(k, EventKind::ApprovalNeeded { .. }))
        .await;
    h.command("writer", AgentCommand::Cancel);
    let events = h.until_finished(turn).await;
    assert_eq!(h.outcome(&events), Outcome::Cancelled);
    assert!(!h.dir().join("out.txt").exists());
    h.shutdown().await;
}

#[tokio::test]
async fn a_tool_the_agent_lacks_is_refused_before_anyone_is_asked() {
    let yaml = r#"
agents:
  reader:
    provider: scripted
    tools: [read]
    approval: ask
    script:
      - tool_calls:
          - tool: write
            params: {path: out.txt, content: "x"}
      - "could not"
"#;
    let mut h = Harness::start(yaml).await;
    let turn = h.prompt("reader", "write it");
    let events = h.until_finished(turn).await;
    assert!(
        approval_call(&events).is_none(),
        "asked about a tool the agent does not have"
    );
    let output = events
        .iter()
        .find_map(|e| match &e.kind {
            EventKind::ToolCallFinished {
                ok: false, output, ..
            } => Some(output.clone()),
            _ => None,
        })
        .unwrap();
    assert_eq!(
        output,
        "tool `write` is not available to this agent (it has: read)"
    );
    assert!(!h.dir().join("out.txt").exists());
    h.shutdown().await;
}
