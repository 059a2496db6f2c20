//! Key handling against plain state: what each key and command does to the app, and which
//! effects it asks the runner for.

use std::path::PathBuf;

use crossterm::event::{
    Event, KeyCode, KeyEvent, KeyModifiers, MouseButton, MouseEvent, MouseEventKind,
};
use pretty_assertions::assert_eq;

use super::state::{Focus, Overlay, View};
use super::{App, AppEvent, Effect};
use crate::engine::orchestrator::AgentInfo;
use crate::engine::protocol::{AgentCommand, AgentEvent, Approval, CallId, EventKind, TurnId};

pub fn info(name: &str) -> AgentInfo {
    AgentInfo {
        name: name.into(),
        provider: "scripted".into(),
        model: "demo".into(),
        target: "scripted replies (not a model)".into(),
        endpoint: None,
        tools: vec!["read".into()],
        servers: vec![],
        scripted: true,
        problem: None,
        notes: vec![],
        fallbacks: vec![],
        budget_usd: None,
        log: PathBuf::from(format!("/logs/{name}.md")),
    }
}

fn app() -> App {
    App::new(
        &[info("alpha"), info("beta"), info("gamma")],
        &[],
        Some(5.0),
    )
}

fn press(app: &mut App, code: KeyCode) -> Vec<Effect> {
    app.handle(AppEvent::Terminal(Event::Key(KeyEvent::new(
        code,
        KeyModifiers::NONE,
    ))))
}

fn chord(app: &mut App, code: KeyCode, modifiers: KeyModifiers) -> Vec<Effect> {
    app.handle(AppEvent::Terminal(Event::Key(KeyEvent::new(
        code, modifiers,
    ))))
}

fn type_line(app: &mut App, text: &str) -> Vec<Effect> {
    for c in text.chars() {
        press(app, KeyCode::Char(c));
    }
    press(app, KeyCode::Enter)
}

fn event(agent: &str, kind: EventKind) -> AppEvent {
    AppEvent::Engine(AgentEvent {
        agent: agent.into(),
        turn: TurnId(1),
        at: jiff::Timestamp::UNIX_EPOCH,
        kind,
    })
}

#[test]
fn enter_sends_the_prompt_to_the_selected_agent() {
    let mut app = app();
    let effects = type_line(&mut app, "hello");
    assert_eq!(
        effects,
        [Effect::Prompt {
            agent: "alpha".into(),
            text: "hello".into()
        }]
    );
}

#[test]
fn agents_are_selected_with_arrows_vim_keys_digits_and_alt_digits() {
    let mut app = app();
    assert_eq!(
        app.start(),
        [Effect::FollowLog {
            path: "/logs/alpha.md".into()
        }]
    );
    press(&mut app, KeyCode::Tab);
    assert_eq!(app.ui.focus, Focus::Agents);
    assert_eq!(
        press(&mut app, KeyCode::Down),
        [Effect::FollowLog {
            path: "/logs/beta.md".into()
        }]
    );
    press(&mut app, KeyCode::Char('j'));
    assert_eq!(app.ui.selected, 2);
    press(&mut app, KeyCode::Char('k'));
    assert_eq!(app.ui.selected, 1);
    press(&mut app, KeyCode::Char('1'));
    assert_eq!(app.ui.selected, 0);
    press(&mut app, KeyCode::Tab);
    press(&mut app, KeyCode::Tab);
    chord(&mut app, KeyCode::Char('3'), KeyModifiers::ALT);
    assert_eq!(app.ui.selected, 2);
}

#[test]
fn tab_and_shift_tab_walk_the_panes() {
    let mut app = app();
    let mut seen = vec![app.ui.focus];
    for _ in 0..6 {
        press(&mut app, KeyCode::Tab);
        seen.push(app.ui.focus);
    }
    assert_eq!(seen, Focus::ORDER);
    press(&mut app, KeyCode::Tab);
    assert_eq!(app.ui.focus, Focus::Input);
    press(&mut app, KeyCode::BackTab);
    assert_eq!(app.ui.focus, Focus::Log);
}

#[test]
fn all_alone_arms_the_next_prompt_for_every_agent_and_all_text_sends_at_once() {
    let mut app = app();
    assert!(type_line(&mut app, "/all").is_empty());
    assert_eq!(app.ui.view, View::RunAll);
    let effects = type_line(&mut app, "status?");
    assert_eq!(effects.len(), 3);
    assert!(
        effects
            .iter()
            .all(|e| matches!(e, Effect::Prompt { text, .. } if text == "status?"))
    );

    let mut app = self::app();
    let effects = type_line(&mut app, "/all go now");
    let agents: Vec<&str> = effects
        .iter()
        .filter_map(|e| match e {
            Effect::Prompt { agent, .. } => Some(agent.as_str()),
            _ => None,
        })
        .collect();
    assert_eq!(agents, ["alpha", "beta", "gamma"]);
    assert_eq!(app.ui.view, View::RunAll);
}

#[test]
fn ctrl_a_toggles_the_run_all_view_and_enter_opens_a_column() {
    let mut app = app();
    chord(&mut app, KeyCode::Char('a'), KeyModifiers::CONTROL);
    assert_eq!(app.ui.view, View::RunAll);
    press(&mut app, KeyCode::Right);
    press(&mut app, KeyCode::Char('l'));
    assert_eq!(app.ui.column, 2);
    let effects = press(&mut app, KeyCode::Enter);
    assert_eq!(app.ui.view, View::Main);
    assert_eq!(app.ui.selected, 2);
    assert_eq!(
        effects,
        [Effect::FollowLog {
            path: "/logs/gamma.md".into()
        }]
    );
}

#[test]
fn esc_cancels_the_selected_agents_turn_only_when_it_runs() {
    let mut app = app();
    assert!(press(&mut app, KeyCode::Esc).is_empty());
    app.handle(event(
        "alpha",
        EventKind::TurnStarted { prompt: "p".into() },
    ));
    assert_eq!(
        press(&mut app, KeyCode::Esc),
        [Effect::Command {
            agent: "alpha".into(),
            command: AgentCommand::Cancel
        }]
    );
}

#[test]
fn ctrl_c_cancels_running_turns_first_then_quits() {
    let mut app = app();
    app.handle(event("beta", EventKind::TurnStarted { prompt: "p".into() }));
    let ctrl_c = |app: &mut App| chord(app, KeyCode::Char('c'), KeyModifiers::CONTROL);
    assert_eq!(
        ctrl_c(&mut app),
        [Effect::Command {
            agent: "beta".into(),
            command: AgentCommand::Cancel
        }]
    );
    app.handle(event(
        "beta",
        EventKind::TurnFinished {
            outcome: crate::engine::protocol::Outcome::Cancelled,
        },
    ));
    assert_eq!(ctrl_c(&mut app), [Effect::Quit]);
}

#[test]
fn q_quits_outside_the_input_and_types_inside_it() {
    let mut app = app();
    assert!(press(&mut app, KeyCode::Char('q')).is_empty());
    assert_eq!(app.input.text(), "q");
    press(&mut app, KeyCode::Backspace);
    press(&mut app, KeyCode::Tab);
    assert_eq!(press(&mut app, KeyCode::Char('q')), [Effect::Quit]);
}

#[test]
fn question_mark_shows_the_keymap_and_esc_closes_it() {
    let mut app = app();
    press(&mut app, KeyCode::Char('?'));
    assert_eq!(app.ui.overlay, Overlay::Help);
    press(&mut app, KeyCode::Esc);
    assert_eq!(app.ui.overlay, Overlay::None);
    type_line(&mut app, "why?");
    assert_eq!(
        app.ui.overlay,
        Overlay::None,
        "a ? inside a prompt is just text"
    );
}

#[test]
fn an_approval_is_answered_with_y_n_or_a() {
    for (key, decision) in [
        ('y', Approval::Allow),
        ('n', Approval::Deny),
        ('a', Approval::AlwaysAllow),
    ] {
        let mut app = app();
        app.handle(event(
            "gamma",
            EventKind::TurnStarted { prompt: "p".into() },
        ));
        app.handle(event(
            "gamma",
            EventKind::ApprovalNeeded {
                call: CallId("c1".into()),
                tool: "write".into(),
                args: serde_json::json!({"path": "x"}),
                why: "asks".into(),
            },
        ));
        assert!(app.model.pending_approval().is_some());
        let effects = press(&mut app, KeyCode::Char(key));
        assert_eq!(
            effects,
            [Effect::Command {
                agent: "gamma".into(),
                command: AgentCommand::Approve {
                    call: CallId("c1".into()),
                    decision
                }
            }]
        );
        assert!(app.model.pending_approval().is_none());
    }
}

#[test]
fn slash_commands_do_what_v6_did_and_unknown_ones_suggest() {
    let mut app = app();
    assert_eq!(type_line(&mut app, "/status"), [Effect::Status]);
    assert_eq!(type_line(&mut app, "/health"), [Effect::Health]);
    assert_eq!(type_line(&mut app, "/reload"), [Effect::Reload]);
    assert_eq!(type_line(&mut app, "/quit"), [Effect::Quit]);
    assert_eq!(
        type_line(&mut app, "/agent gamma"),
        [Effect::FollowLog {
            path: "/logs/gamma.md".into()
        }]
    );
    assert_eq!(app.ui.selected, 2);
    type_line(&mut app, "/agent gama");
    assert_eq!(
        app.ui.status.as_ref().map(|s| s.text.as_str()),
        Some("no agent `gama`; did you mean `gamma`?")
    );
    type_line(&mut app, "/logs beta");
    assert_eq!((app.ui.selected, app.ui.focus), (1, Focus::Log));
    type_line(&mut app, "/costs");
    assert!(matches!(&app.ui.overlay, Overlay::Report { title, .. } if title == "Costs"));
    press(&mut app, KeyCode::Esc);
    type_line(&mut app, "/agents");
    assert!(
        matches!(&app.ui.overlay, Overlay::Report { lines, .. } if lines[0].starts_with("  alpha: scripted/demo"))
    );
    press(&mut app, KeyCode::Esc);
    assert_eq!(
        type_line(&mut app, "/clear"),
        [Effect::Command {
            agent: "beta".into(),
            command: AgentCommand::Reset
        }]
    );
    type_line(&mut app, "/stauts");
    assert_eq!(
        app.ui.status.as_ref().map(|s| s.text.as_str()),
        Some("unknown command /stauts; did you mean `/status`?; /help lists them")
    );
    type_line(&mut app, "/help");
    assert_eq!(app.ui.overlay, Overlay::Help);
}

#[test]
fn history_brings_back_earlier_prompts() {
    let mut app = app();
    type_line(&mut app, "first");
    type_line(&mut app, "second");
    press(&mut app, KeyCode::Up);
    assert_eq!(app.input.text(), "second");
    press(&mut app, KeyCode::Up);
    assert_eq!(app.input.text(), "first");
}

#[test]
fn a_paste_goes_into_the_prompt_without_sending() {
    let mut app = app();
    press(&mut app, KeyCode::Tab);
    let effects = app.handle(AppEvent::Terminal(Event::Paste("two\nlines".into())));
    assert!(effects.is_empty());
    assert_eq!(
        (app.ui.focus, app.input.text()),
        (Focus::Input, "two\nlines".to_owned())
    );
}

#[test]
fn scrolling_up_stops_following_and_end_follows_again() {
    let mut app = app();
    for i in 0..60 {
        app.handle(event(
            "alpha",
            EventKind::Notice {
                text: format!("line {i}"),
            },
        ));
    }
    press(&mut app, KeyCode::PageUp);
    assert!(app.ui.scroll().lines_from_bottom > 0);
    let wheel = MouseEvent {
        kind: MouseEventKind::ScrollDown,
        column: 50,
        row: 10,
        modifiers: KeyModifiers::NONE,
    };
    app.handle(AppEvent::Terminal(Event::Mouse(wheel)));
    press(&mut app, KeyCode::Tab);
    press(&mut app, KeyCode::Tab);
    assert_eq!(app.ui.focus, Focus::Conversation);
    press(&mut app, KeyCode::Char('g'));
    let top = app.ui.scroll().lines_from_bottom;
    assert!(top > 0);
    press(&mut app, KeyCode::Up);
    assert_eq!(
        app.ui.scroll().lines_from_bottom,
        top,
        "the top is the limit"
    );
    press(&mut app, KeyCode::End);
    assert!(app.ui.scroll().follows_tail());
}

#[test]
fn a_click_on_an_agent_selects_it() {
    let mut app = app();
    let areas = app.areas();
    let click = MouseEvent {
        kind: MouseEventKind::Down(MouseButton::Left),
        column: areas.agents.x + 3,
        row: areas.agents.y + 3,
        modifiers: KeyModifiers::NONE,
    };
    let effects = app.handle(AppEvent::Terminal(Event::Mouse(click)));
    assert_eq!(app.ui.focus, Focus::Agents);
    assert_eq!(
        app.ui.selected, 1,
        "two lines an agent: the third line is the second agent"
    );
    assert_eq!(
        effects,
        [Effect::FollowLog {
            path: "/logs/beta.md".into()
        }]
    );
}

#[test]
fn enter_on_a_tool_call_opens_its_details() {
    let mut app = app();
    app.handle(event(
        "alpha",
        EventKind::TurnStarted { prompt: "p".into() },
    ));
    app.handle(event(
        "alpha",
        EventKind::ToolCallRequested {
            call: CallId("c1".into()),
            tool: "read".into(),
            args: serde_json::json!({"path": "a"}),
            runs_in_provider: false,
        },
    ));
    while app.ui.focus != Focus::Tools {
        press(&mut app, KeyCode::Tab);
    }
    press(&mut app, KeyCode::Enter);
    assert_eq!(app.ui.overlay, Overlay::ToolCall { index: 0 });
}

#[test]
fn a_reload_keeps_what_was_shown_of_agents_that_stay() {
    let mut app = app();
    app.handle(event(
        "beta",
        EventKind::TurnStarted {
            prompt: "kept?".into(),
        },
    ));
    type_line(&mut app, "/agent beta");
    let effects = app.handle(AppEvent::Reloaded {
        agents: vec![info("beta"), info("delta")],
        endpoints: vec![],
        budget_usd: None,
        new_conversation: vec![],
        summary: "config reloaded: added delta; removed alpha, gamma".into(),
    });
    let names: Vec<&str> = app.model.agents.iter().map(|a| a.name()).collect();
    assert_eq!(names, ["beta", "delta"]);
    assert_eq!(app.ui.selected, 0, "beta is still selected");
    assert_eq!(
        app.model.agents[0].transcript.len(),
        1,
        "its conversation is still on screen"
    );
    assert_eq!(
        effects,
        [Effect::FollowLog {
            path: "/logs/beta.md".into()
        }]
    );
    assert_eq!(
        app.ui.status.as_ref().map(|s| s.text.as_str()),
        Some("config reloaded: added delta; removed alpha, gamma")
    );
}

#[test]
fn removing_an_agent_leaves_the_others_scroll_and_tool_selection_alone() {
    let mut app = app();
    for i in 0..60 {
        app.handle(event(
            "gamma",
            EventKind::Notice {
                text: format!("line {i}"),
            },
        ));
    }
    type_line(&mut app, "/agent gamma");
    press(&mut app, KeyCode::PageUp);
    let scrolled = app.ui.scroll();
    assert!(!scrolled.follows_tail());
    app.ui.tool_row[2] = Some(4);
    app.handle(AppEvent::Reloaded {
        agents: vec![info("beta"), info("gamma")],
        endpoints: vec![],
        budget_usd: None,
        new_conversation: vec![],
        summary: "config reloaded: removed alpha; 2 unchanged".into(),
    });
    assert_eq!(app.ui.selected, 1, "gamma is still selected");
    assert_eq!(app.ui.scroll(), scrolled, "gamma's scroll moved with it");
    assert_eq!(app.ui.tool_row, [None, Some(4)]);
    assert!(
        app.ui.scroll.first().is_some_and(|s| s.follows_tail()),
        "beta's is its own"
    );
}

#[test]
fn an_agent_reloaded_with_a_new_conversation_shows_none_of_the_old_one() {
    let mut app = app();
    for agent in ["alpha", "beta"] {
        app.handle(event(
            agent,
            EventKind::TurnStarted {
                prompt: "before".into(),
            },
        ));
    }
    app.handle(AppEvent::Reloaded {
        agents: vec![info("alpha"), info("beta")],
        endpoints: vec![],
        budget_usd: None,
        new_conversation: vec!["beta".into()],
        summary: "config reloaded: restarted beta; new conversation for beta (provider changed); 1 unchanged".into(),
    });
    let shown: Vec<usize> = app
        .model
        .agents
        .iter()
        .map(|a| a.transcript.len())
        .collect();
    assert_eq!(
        shown,
        [1, 0],
        "alpha keeps its conversation on screen, beta starts anew"
    );
}
