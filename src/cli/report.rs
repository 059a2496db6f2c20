//! The one-shot reports: `--agents` and `--health` as text (v6's lines, plus why an agent cannot
//! run); `--status` and `--json` variants are the engine's serialized structs.

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
        if let Some(problem) = &agent.problem {
            text.push_str(&format!("      cannot run: {problem}\n"));
        }
        for note in &agent.notes {
            text.push_str(&format!("      note: {note}\n"));
        }
    }
    if agents.is_empty() {
        text.push_str("  (no agents: add some under `agents:` in the config)\n");
    }
    text
}

/// v6's `  ✅ name` / `  ❌ name` lines with what was checked or what is wrong.
pub fn health_text(reports: &[HealthReport]) -> String {
    reports
        .iter()
        .map(|r| {
            let mark = if r.healthy { "✅" } else { "❌" };
            format!("  {mark} {}  {}\n", r.agent, r.detail)
        })
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
