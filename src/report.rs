//! The one-shot reports as text, shared by both front ends (the headless CLI prints them, the
//! TUI shows them in an overlay): `--agents`/`/agents` and `--health`/`/health` (v6's lines, plus
//! why an agent cannot run). `--status` and `--json` variants are the engine's serialized structs.

use crate::engine::health::HealthReport;
use crate::engine::orchestrator::AgentInfo;

/// v6's `  name: provider/model` lines, each followed by what keeps the agent from running.
pub fn agents_text(agents: &[AgentInfo]) -> String {
    let mut text = String::new();
    for agent in agents {
        text.push_str(&format!(
            "  {}: {}/{}",
            agent.name, agent.provider, agent.model
        ));
        if agent.scripted {
            text.push_str("  (scripted replies, not a model)");
        }
        text.push('\n');
        for line in agent_details(agent) {
            text.push_str(&line);
            text.push('\n');
        }
    }
    if agents.is_empty() {
        text.push_str("  (no agents: add some under `agents:` in the config)\n");
    }
    text
}

/// What keeps an agent from running, then what its user should know, one indented line each.
pub(crate) fn agent_details(agent: &AgentInfo) -> Vec<String> {
    agent
        .problem
        .iter()
        .map(|problem| format!("      cannot run: {problem}"))
        .chain(
            (!agent.fallbacks.is_empty())
                .then(|| format!("      falls back to: {}", agent.fallbacks.join(", "))),
        )
        .chain(agent.notes.iter().map(|note| format!("      note: {note}")))
        .collect()
}

/// v6's `  ✅ name` / `  ❌ name` lines with what was checked or what is wrong.
pub(crate) fn health_lines(reports: &[HealthReport]) -> Vec<String> {
    reports
        .iter()
        .map(|r| {
            let mark = if r.healthy { "✅" } else { "❌" };
            format!("  {mark} {}  {}", r.agent, r.detail)
        })
        .collect()
}

/// [`health_lines`], each ended by a newline.
pub fn health_text(reports: &[HealthReport]) -> String {
    health_lines(reports)
        .into_iter()
        .map(|line| line + "\n")
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::path::PathBuf;

    fn info(name: &str, problem: Option<&str>, scripted: bool) -> AgentInfo {
        AgentInfo {
            name: name.into(),
            provider: if scripted { "scripted" } else { "litellm" }.into(),
            model: "gpt4o".into(),
            target: "gpt-4o via openai api.openai.com".into(),
            endpoint: None,
            tools: vec![],
            servers: vec![],
            scripted,
            problem: problem.map(str::to_owned),
            notes: vec![],
            fallbacks: vec![],
            budget_usd: None,
            log: PathBuf::from("logs/x.md"),
        }
    }

    #[test]
    fn agents_list_keeps_v6_lines_and_says_why_an_agent_cannot_run() {
        let text = agents_text(&[
            info("coder", Some("no API key: set OPENAI_API_KEY"), false),
            info("demo", None, true),
        ]);
        assert_eq!(
            text,
            "  coder: litellm/gpt4o\n      cannot run: no API key: set OPENAI_API_KEY\n  demo: scripted/gpt4o  (scripted replies, not a model)\n"
        );
    }

    #[test]
    fn details_say_why_an_agent_cannot_run_before_the_notes() {
        let mut agent = info("coder", Some("no API key"), false);
        agent.notes = vec!["bash runs UNCONFINED here".into()];
        assert_eq!(
            agent_details(&agent),
            [
                "      cannot run: no API key",
                "      note: bash runs UNCONFINED here"
            ]
        );
        assert!(agent_details(&info("demo", None, true)).is_empty());
    }

    #[test]
    fn health_lines_carry_a_mark_and_the_detail() {
        let text = health_text(&[
            HealthReport {
                agent: "a".into(),
                healthy: true,
                detail: "claude CLI 2.1.332".into(),
            },
            HealthReport {
                agent: "b".into(),
                healthy: false,
                detail: "cannot reach http://x: connection refused".into(),
            },
        ]);
        assert_eq!(
            text,
            "  ✅ a  claude CLI 2.1.332\n  ❌ b  cannot reach http://x: connection refused\n"
        );
    }
}
