//! The run as a state machine: a fake orchestrator records what it sends, the tests play the
//! agents' events.

use std::path::Path;
use std::time::Duration;

use tokio::time::Instant;

use super::*;
use crate::engine::protocol::FailureKind;

#[derive(Default)]
struct Fake {
    sent: Vec<(String, String)>,
    cancelled: Vec<String>,
}

impl Turns for Fake {
    fn send(&mut self, agent: &str, prompt: String) -> Result<TurnId, UnknownAgent> {
        self.sent.push((agent.to_owned(), prompt));
        Ok(TurnId(self.sent.len() as u64))
    }

    fn cancel(&mut self, agent: &str) {
        self.cancelled.push(agent.to_owned());
    }
}

fn task(yaml_steps: &str) -> TaskSpec {
    let yaml = format!(
        "agents:\n  a: {{provider: scripted}}\n  b: {{provider: scripted}}\n  c: {{provider: scripted}}\ntasks:\n  t:\n{yaml_steps}"
    );
    let loaded = crate::engine::config::load_str(&yaml, Path::new("/p/config.yaml"))
        .unwrap_or_else(|e| panic!("{e}"));
    loaded.config.tasks["t"].clone()
}

fn event(turn: u64, kind: EventKind) -> AgentEvent {
    AgentEvent::new("a".into(), TurnId(turn), kind)
}

fn done(turn: u64, text: &str) -> AgentEvent {
    event(
        turn,
        EventKind::TurnFinished {
            outcome: Outcome::Done { text: text.into() },
        },
    )
}

fn failed(turn: u64) -> AgentEvent {
    event(
        turn,
        EventKind::TurnFinished {
            outcome: Outcome::failed(FailureKind::Server, "HTTP 500"),
        },
    )
}

fn cost(turn: u64, usd: f64) -> AgentEvent {
    event(
        turn,
        EventKind::Usage {
            model: "m".into(),
            usage: TokenUsage {
                input: 100,
                output: 10,
                ..TokenUsage::default()
            },
            cost_usd: usd,
            priced: true,
            estimated: false,
            local: false,
        },
    )
}

fn finish_state(events: &[TaskEvent]) -> Option<(TaskState, Option<String>)> {
    events.iter().find_map(|e| match e {
        TaskEvent::TaskFinished {
            state, failed_step, ..
        } => Some((*state, failed_step.as_ref().map(|s| s.index.clone()))),
        _ => None,
    })
}

#[test]
fn a_group_runs_at_once_and_the_next_step_reads_its_answers_joined() {
    let spec = task(
        "    steps:\n      - {agent: a, prompt: design, id: design}\n      - parallel:\n          - {agent: b, prompt: review}\n          - {agent: c, prompt: 'test {{steps.design.output}}', id: tests}\n      - {agent: a, prompt: sum up}\n",
    );
    let mut run = TaskRun::new("t", &spec, Some("the ticket".into()), Vec::new());
    let mut turns = Fake::default();
    let now = Instant::now();
    run.start(&mut turns, now);
    assert_eq!(
        turns.sent,
        [("a".into(), "the ticket\n\n---\n\ndesign".into())]
    );
    run.on_event(&done(1, "D"), &mut turns, now);
    assert_eq!(
        turns.sent[1..],
        [
            ("b".into(), "D\n\n---\n\nreview".into()),
            ("c".into(), "test D".into())
        ]
    );
    run.on_event(&done(3, "T"), &mut turns, now);
    assert_eq!(turns.sent.len(), 3, "the group waits for all its steps");
    run.on_event(&done(2, "R"), &mut turns, now);
    assert_eq!(
        turns.sent[3].1,
        "### b\n\nR\n\n### c (tests)\n\nT\n\n---\n\nsum up"
    );
    let events = run.on_event(&done(4, "S"), &mut turns, now);
    assert_eq!(finish_state(&events), Some((TaskState::Done, None)));
}

#[test]
fn a_failed_step_is_retried_then_stops_the_task_naming_it() {
    let spec = task(
        "    steps:\n      - {agent: a, prompt: one, retry: 1}\n      - {agent: b, prompt: two}\n",
    );
    let mut run = TaskRun::new("t", &spec, None, Vec::new());
    let mut turns = Fake::default();
    let now = Instant::now();
    run.start(&mut turns, now);
    let events = run.on_event(&failed(1), &mut turns, now);
    assert!(matches!(
        &events[0],
        TaskEvent::StepRetrying { attempt: 2, error, .. } if error == "HTTP 500"
    ));
    assert_eq!(turns.sent.len(), 2);
    assert_eq!(turns.sent[1].1, "one", "the same prompt again");
    let events = run.on_event(&failed(2), &mut turns, now);
    assert_eq!(
        finish_state(&events),
        Some((TaskState::Failed, Some("1".into())))
    );
    assert_eq!(turns.sent.len(), 2, "step 2 never starts");
}

#[test]
fn continue_on_error_lets_the_task_go_on() {
    let spec = task(
        "    steps:\n      - {agent: a, prompt: one, continue_on_error: true}\n      - {agent: b, prompt: two}\n",
    );
    let mut run = TaskRun::new("t", &spec, None, Vec::new());
    let mut turns = Fake::default();
    let now = Instant::now();
    run.start(&mut turns, now);
    run.on_event(&failed(1), &mut turns, now);
    assert_eq!(turns.sent[1], ("b".into(), "two".into()));
}

#[test]
fn a_turn_past_its_timeout_is_cancelled_and_retried() {
    let spec = task("    steps:\n      - {agent: a, prompt: one, timeout: 30, retry: 1}\n");
    let mut run = TaskRun::new("t", &spec, None, Vec::new());
    let mut turns = Fake::default();
    let start = Instant::now();
    run.start(&mut turns, start);
    assert_eq!(
        run.next_deadline(),
        None,
        "a queued turn's time has not begun"
    );
    run.on_event(
        &event(
            1,
            EventKind::TurnStarted {
                prompt: "one".into(),
            },
        ),
        &mut turns,
        start,
    );
    assert_eq!(run.next_deadline(), Some(start + Duration::from_secs(30)));
    run.on_tick(&mut turns, start + Duration::from_secs(29));
    assert!(turns.cancelled.is_empty());
    run.on_tick(&mut turns, start + Duration::from_secs(30));
    assert_eq!(turns.cancelled, ["a"]);
    let cancelled = event(
        1,
        EventKind::TurnFinished {
            outcome: Outcome::Cancelled,
        },
    );
    let events = run.on_event(&cancelled, &mut turns, start + Duration::from_secs(30));
    assert!(matches!(
        &events[0],
        TaskEvent::StepRetrying { error, .. } if error.starts_with("timed out after 30s")
    ));
}

#[test]
fn a_step_over_its_budget_is_stopped_and_the_task_budget_refuses_the_next_step() {
    let spec = task(
        "    budget_usd: 0.5\n    steps:\n      - {agent: a, prompt: one, budget_usd: 0.1, retry: 3}\n      - {agent: b, prompt: two}\n",
    );
    let mut run = TaskRun::new("t", &spec, None, Vec::new());
    let mut turns = Fake::default();
    let now = Instant::now();
    run.start(&mut turns, now);
    run.on_event(&cost(1, 0.2), &mut turns, now);
    assert_eq!(turns.cancelled, ["a"], "over its own budget: cancelled");
    let cancelled = event(
        1,
        EventKind::TurnFinished {
            outcome: Outcome::Cancelled,
        },
    );
    let events = run.on_event(&cancelled, &mut turns, now);
    assert_eq!(turns.sent.len(), 1, "no retry past the budget");
    assert_eq!(
        finish_state(&events),
        Some((TaskState::Failed, Some("1".into())))
    );

    let spec = task(
        "    budget_usd: 0.5\n    steps:\n      - {agent: a, prompt: one}\n      - {agent: b, prompt: two}\n",
    );
    let mut run = TaskRun::new("t", &spec, None, Vec::new());
    let mut turns = Fake::default();
    run.start(&mut turns, now);
    run.on_event(&cost(1, 0.6), &mut turns, now);
    let events = run.on_event(&done(1, "x"), &mut turns, now);
    assert_eq!(turns.sent.len(), 1, "step 2 is refused");
    assert!(events.iter().any(|e| matches!(
        e,
        TaskEvent::StepFinished { state: StepState::Failed, error: Some(error), .. }
            if error.contains("the task's budget_usd of $0.5000 is spent ($0.6000)")
    )));
    assert_eq!(
        finish_state(&events),
        Some((TaskState::Failed, Some("2".into())))
    );
}

#[test]
fn a_resumed_run_reuses_what_succeeded_and_starts_at_the_failed_step() {
    let spec = task(
        "    steps:\n      - {agent: a, prompt: one}\n      - {agent: b, prompt: two}\n      - {agent: c, prompt: three}\n",
    );
    let mut first = TaskRun::new("t", &spec, None, Vec::new());
    let mut turns = Fake::default();
    let now = Instant::now();
    first.start(&mut turns, now);
    first.on_event(&done(1, "ONE"), &mut turns, now);
    first.on_event(&failed(2), &mut turns, now);
    let records = first.records();
    assert_eq!(records.len(), 2);

    let mut again = TaskRun::new("t", &spec, None, records);
    let mut turns = Fake::default();
    let events = again.start(&mut turns, now);
    assert!(matches!(
        &events[1],
        TaskEvent::StepFinished { state: StepState::Reused, output, .. } if output == "ONE"
    ));
    assert_eq!(turns.sent, [("b".into(), "ONE\n\n---\n\ntwo".into())]);
}

#[test]
fn stopping_cancels_the_running_steps_and_starts_nothing_more() {
    let spec = task(
        "    steps:\n      - {agent: a, prompt: one, retry: 2}\n      - {agent: b, prompt: two}\n",
    );
    let mut run = TaskRun::new("t", &spec, None, Vec::new());
    let mut turns = Fake::default();
    let now = Instant::now();
    run.start(&mut turns, now);
    run.stop(&mut turns);
    assert_eq!(turns.cancelled, ["a"]);
    let cancelled = event(
        1,
        EventKind::TurnFinished {
            outcome: Outcome::Cancelled,
        },
    );
    let events = run.on_event(&cancelled, &mut turns, now);
    assert_eq!(
        finish_state(&events),
        Some((TaskState::Cancelled, Some("1".into())))
    );
    assert_eq!(turns.sent.len(), 1);
}

#[test]
fn the_step_after_a_group_reads_why_a_member_that_may_fail_has_no_answer() {
    let spec = task(
        "    steps:\n      - parallel:\n          - {agent: a, prompt: one}\n          - {agent: b, prompt: two, continue_on_error: true}\n      - {agent: c, prompt: three}\n",
    );
    let mut run = TaskRun::new("t", &spec, None, Vec::new());
    let mut turns = Fake::default();
    let now = Instant::now();
    run.start(&mut turns, now);
    run.on_event(&failed(2), &mut turns, now);
    run.on_event(&done(1, "ONE"), &mut turns, now);
    assert_eq!(
        turns.sent[2].1,
        "### a\n\nONE\n\n### b\n\n(this step failed: HTTP 500)\n\n---\n\nthree"
    );
}

#[test]
fn a_turn_refused_by_a_budget_or_a_key_is_not_sent_again() {
    let spec = task("    steps:\n      - {agent: a, prompt: one, retry: 3}\n");
    let mut run = TaskRun::new("t", &spec, None, Vec::new());
    let mut turns = Fake::default();
    let now = Instant::now();
    run.start(&mut turns, now);
    let refused = event(
        1,
        EventKind::TurnFinished {
            outcome: Outcome::failed(FailureKind::Budget, "budget: spent"),
        },
    );
    let events = run.on_event(&refused, &mut turns, now);
    assert_eq!(turns.sent.len(), 1);
    assert_eq!(
        finish_state(&events),
        Some((TaskState::Failed, Some("1".into())))
    );
}

#[test]
fn a_record_of_a_step_that_changed_agent_is_not_reused() {
    let spec = task("    steps:\n      - {agent: a, prompt: one}\n");
    let stale = StepRecord {
        step: StepRef {
            index: "1".into(),
            id: None,
            agent: "b".into(),
        },
        state: StepState::Done,
        output: "from another config".into(),
    };
    let mut run = TaskRun::new("t", &spec, None, vec![stale]);
    let mut turns = Fake::default();
    run.start(&mut turns, Instant::now());
    assert_eq!(turns.sent, [("a".into(), "one".into())]);
}

#[test]
fn a_zero_budget_refuses_nothing_while_nothing_is_spent() {
    let spec = task(
        "    budget_usd: 0\n    steps:\n      - {agent: a, prompt: one}\n      - {agent: b, prompt: two}\n",
    );
    let mut run = TaskRun::new("t", &spec, None, Vec::new());
    let mut turns = Fake::default();
    let now = Instant::now();
    run.start(&mut turns, now);
    run.on_event(&cost(1, 0.0), &mut turns, now);
    run.on_event(&done(1, "free"), &mut turns, now);
    assert_eq!(turns.sent.len(), 2);
}
