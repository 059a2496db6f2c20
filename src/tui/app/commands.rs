//! What the prompt box sends: a prompt (to the selected agent, or to all after `/all`), or one of
//! v6's slash commands (plus `/cancel`, `/clear`, `/compact`, `/help`).

use super::state::{Focus, Overlay, View};
use super::{App, Effect, keys};
use crate::engine::protocol::AgentCommand;
use crate::tui::view;

/// Every command, for `/help` and for "did you mean".
pub const COMMANDS: [&str; 18] = [
    "/status",
    "/agents",
    "/agent",
    "/logs",
    "/costs",
    "/health",
    "/reload",
    "/all",
    "/quit",
    "/cancel",
    "/clear",
    "/compact",
    "/help",
    "/exit",
    "/task",
    "/sessions",
    "/resume",
    "/export",
];

pub fn submit(app: &mut App, text: String) -> Vec<Effect> {
    let trimmed = text.trim();
    if trimmed.starts_with('/') && !trimmed.starts_with("//") {
        return command(app, trimmed);
    }
    // `//text` sends a prompt that starts with a slash.
    let text = trimmed
        .strip_prefix('/')
        .filter(|_| trimmed.starts_with("//"))
        .map_or(text.clone(), str::to_owned);
    if app.ui.view == View::RunAll || app.ui.all_armed {
        app.ui.all_armed = false;
        return prompt_all(app, &text);
    }
    let Some(agent) = app.model.agents.get(app.ui.selected) else {
        app.ui
            .complain("no agent to send to: add one under `agents:` in the config, then /reload");
        return Vec::new();
    };
    if agent.activity.is_busy() {
        app.ui.say(format!(
            "{} is busy: the prompt waits its turn (Esc cancels the running one)",
            agent.name()
        ));
    }
    if let Some(scroll) = app.ui.scroll_mut() {
        scroll.lines_from_bottom = 0;
    }
    vec![Effect::Prompt {
        agent: agent.name().to_owned(),
        text,
    }]
}

fn prompt_all(app: &mut App, text: &str) -> Vec<Effect> {
    app.ui.view = View::RunAll;
    app.ui
        .say(format!("sent to {} agents", app.model.agents.len()));
    app.model
        .agents
        .iter()
        .map(|agent| Effect::Prompt {
            agent: agent.name().to_owned(),
            text: text.to_owned(),
        })
        .collect()
}

fn command(app: &mut App, line: &str) -> Vec<Effect> {
    let (name, rest) = line.split_once(char::is_whitespace).unwrap_or((line, ""));
    let rest = rest.trim();
    match name {
        "/quit" | "/exit" => vec![Effect::Quit],
        "/help" => {
            app.ui.overlay = Overlay::Help;
            Vec::new()
        }
        "/status" => vec![Effect::Status],
        "/task" => super::task::command(app, rest),
        "/health" => {
            app.ui.say("checking every agent's provider…");
            vec![Effect::Health]
        }
        "/reload" => {
            app.ui.say("reloading the config…");
            vec![Effect::Reload]
        }
        "/agents" => {
            app.ui.overlay = Overlay::Report {
                title: "Agents".to_owned(),
                lines: agents_report(app),
            };
            Vec::new()
        }
        "/costs" => {
            app.ui.overlay = Overlay::Report {
                title: "Costs".to_owned(),
                lines: costs_report(app),
            };
            Vec::new()
        }
        "/agent" => match find_agent(app, rest) {
            Ok(index) => {
                app.ui.view = View::Main;
                app.select(index)
            }
            Err(message) => {
                app.ui.complain(message);
                Vec::new()
            }
        },
        "/logs" => {
            let index = if rest.is_empty() {
                Ok(app.ui.selected)
            } else {
                find_agent(app, rest)
            };
            match index {
                Ok(index) => {
                    app.ui.focus = Focus::Log;
                    app.ui.log_scroll = 0;
                    let mut effects = app.select(index);
                    if effects.is_empty() {
                        // Already selected: follow its log from the start again.
                        effects.push(Effect::FollowLog {
                            path: app.model.agents[index].info.log.clone(),
                        });
                    }
                    effects
                }
                Err(message) => {
                    app.ui.complain(message);
                    Vec::new()
                }
            }
        }
        "/all" if rest.is_empty() => {
            app.ui.all_armed = true;
            app.ui.view = View::RunAll;
            app.ui.say("the next prompt goes to every agent");
            Vec::new()
        }
        "/all" => prompt_all(app, rest),
        "/cancel" => {
            let effects = keys::cancel_selected(app);
            if effects.is_empty() {
                app.ui.say("nothing to cancel");
            }
            effects
        }
        "/clear" => {
            let Some(agent) = app.model.agents.get_mut(app.ui.selected) else {
                return Vec::new();
            };
            agent.clear();
            let name = agent.name().to_owned();
            app.cache.forget_agent(app.ui.selected);
            if let Some(scroll) = app.ui.scroll_mut() {
                scroll.lines_from_bottom = 0;
            }
            app.ui.say(format!("{name} starts a new conversation"));
            vec![Effect::Command {
                agent: name,
                command: AgentCommand::Reset,
            }]
        }
        "/compact" => {
            let Some(agent) = app.model.agents.get(app.ui.selected) else {
                return Vec::new();
            };
            let name = agent.name().to_owned();
            let when = if agent.activity.is_busy() {
                "after this turn"
            } else {
                "now"
            };
            app.ui
                .say(format!("{name} summarises its older messages {when}"));
            vec![Effect::Command {
                agent: name,
                command: AgentCommand::Compact,
            }]
        }
        "/sessions" => super::resume::sessions_command(app),
        "/resume" => super::resume::resume_command(app, rest),
        "/export" => super::resume::export_command(app, rest),
        unknown => {
            let hint = crate::engine::config::diagnose::did_you_mean(unknown, COMMANDS);
            app.ui
                .complain(format!("unknown command {unknown}{hint}; /help lists them"));
            Vec::new()
        }
    }
}

fn find_agent(app: &App, name: &str) -> Result<usize, String> {
    if name.is_empty() {
        return Err("which agent? /agent NAME".to_owned());
    }
    app.model.agent_index(name).ok_or_else(|| {
        let names = app.model.agents.iter().map(|a| a.name());
        let hint = crate::engine::config::diagnose::did_you_mean(name, names);
        format!("no agent `{name}`{hint}")
    })
}

/// v6's `/agents` list, plus what keeps an agent from running.
fn agents_report(app: &App) -> Vec<String> {
    let mut lines = Vec::new();
    for (i, agent) in app.model.agents.iter().enumerate() {
        let marker = if i == app.ui.selected { "→" } else { " " };
        let info = &agent.info;
        lines.push(format!(
            "{marker} {}: {}/{}  ({})",
            info.name, info.provider, info.model, info.target
        ));
        if !info.tools.is_empty() {
            lines.push(format!("      tools: {}", info.tools.join(", ")));
        }
        lines.extend(crate::report::agent_details(info));
    }
    lines
}

/// v6's `/costs` summary, from what the usage events said.
fn costs_report(app: &App) -> Vec<String> {
    let costs = &app.model.costs;
    let mut lines = vec![
        format!("Requests: {}", costs.total.calls),
        format!(
            "Tokens: {} in / {} out (cache {} read, {} written)",
            costs.total.input, costs.total.output, costs.total.cache_read, costs.total.cache_write
        ),
        format!("Cost: {}", view::dollars(costs.total.cost_usd)),
    ];
    if let Some(budget) = app.model.budget_usd {
        lines.push(format!(
            "Budget: {} ({:.0}% spent)",
            view::dollars(budget),
            100.0 * costs.total.cost_usd / budget.max(f64::EPSILON)
        ));
    }
    if !costs.by_model.is_empty() {
        lines.push(String::new());
        lines.push("By model:".to_owned());
        for (model, t) in &costs.by_model {
            lines.push(format!(
                "  {model}: {} req, {}",
                t.calls,
                view::dollars(t.cost_usd)
            ));
        }
    }
    if !costs.by_agent.is_empty() {
        lines.push(String::new());
        lines.push("By agent:".to_owned());
        for (agent, t) in &costs.by_agent {
            lines.push(format!(
                "  {agent}: {} req, {}",
                t.calls,
                view::dollars(t.cost_usd)
            ));
        }
    }
    lines
}
