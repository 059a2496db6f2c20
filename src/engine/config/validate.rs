//! Checks across the resolved config: names that must refer to something (tools, servers,
//! providers, agents of a task) and numbers that must make sense (budgets, prices, turns).

use crate::engine::mcp::naming;
use crate::engine::pipeline::placeholder::{Placeholder, is_step_id, placeholders};
use crate::engine::tools::ALL_TOOLS;
use crate::engine::tools::approval::ApprovalPolicy;

use super::diagnose::{Report, did_you_mean};
use super::locate::{KeyPath, key_position};
use super::{AgentSpec, BUILTIN_PROVIDERS, Config, Fallback, ProviderKind, StepSpec, TaskStep};

/// Reports every mistake of `config` to `report`.
pub fn validate(config: &Config, report: &mut Report<'_>) {
    let root = KeyPath::root();
    check_settings(config, &root.key("settings"), report);
    for (name, model) in &config.models {
        let path = root.key("models").key(name.as_str());
        for (key, price) in [
            ("input", model.input),
            ("output", model.output),
            ("cache_read", model.cache_read),
            ("cache_write", model.cache_write),
        ] {
            if let Some(price) = price.filter(|p| *p < 0.0) {
                report.error_at_value(
                    &path.key(key),
                    format!("model `{name}` has a negative {key} price ({price})"),
                );
            }
        }
    }
    for (name, server) in &config.servers {
        if server.host.trim().is_empty() {
            report.warn_at_key(
                &root.key("servers").key(name.as_str()),
                format!("server `{name}` has no `host`; ssh to it will fail"),
            );
        }
    }
    for name in config.mcp_servers.keys() {
        if !is_mcp_server_name(name) {
            report.error_at_key(
                &root.key("mcp_servers").key(name.as_str()),
                format!("MCP server name `{name}` may hold only letters, digits, `-` and single `_` (its tools are named mcp__{name}__TOOL)"),
            );
        }
    }
    check_mcp_approvals(
        config,
        &config.settings.approval,
        &root.key("settings"),
        "settings",
        report,
    );
    for agent in config.agents.values() {
        check_agent(config, agent, report);
    }
    check_tasks(config, report);
    check_printable_names(config, report);
    check_log_file_names(config, report);
}

/// The longest file name most file systems take, in bytes.
const MAX_FILE_NAME: usize = 255;

/// Each agent writes `LOG_DIR/<stem>.md` and `.jsonl`, the stem being its name made safe for a
/// file name: two names with one stem (`a/b`, `a_b`, `a b`) would write into each other's logs,
/// and a name too long for a file name could not be logged at all.
fn check_log_file_names(config: &Config, report: &mut Report<'_>) {
    let root = KeyPath::root();
    let mut stems: std::collections::HashMap<String, &str> = std::collections::HashMap::new();
    for name in config.agents.keys() {
        let stem = crate::engine::journal::file_stem(name);
        let longest = crate::engine::journal::jsonl_file_name(name).len();
        if longest > MAX_FILE_NAME {
            report.error_at_key(
                &root.key("agents").key(name.as_str()),
                format!(
                    "the agent name `{}` is too long for its log's file name ({longest} bytes with `.jsonl`; at most {MAX_FILE_NAME}); use a shorter name",
                    shown(name)
                ),
            );
            continue;
        }
        if let Some(first) = stems.get(stem.as_str()) {
            report.error_at_key(
                &root.key("agents").key(name.as_str()),
                format!(
                    "agents `{}` and `{}` would write the same log files ({stem}.md, {stem}.jsonl: names are made safe for a file name); rename one",
                    shown(first),
                    shown(name)
                ),
            );
        } else {
            stems.insert(stem, name);
        }
    }
}

/// A name as an error shows it: control characters gone, and not too long for one line.
fn shown(name: &str) -> String {
    const LONGEST: usize = 60;
    let clean = crate::sanitize::line_for_display(name);
    if clean.chars().count() <= LONGEST {
        return clean;
    }
    let head: String = clean.chars().take(LONGEST).collect();
    format!("{head}…")
}

/// Names and models are drawn on the screen as they are: a cloned config must not put escape
/// sequences there.
fn check_printable_names(config: &Config, report: &mut Report<'_>) {
    let root = KeyPath::root();
    let has_control = |text: &str| text.chars().any(char::is_control);
    let sections: [(&str, Vec<&String>); 4] = [
        ("agents", config.agents.keys().collect()),
        ("tasks", config.tasks.keys().collect()),
        ("models", config.models.keys().collect()),
        ("servers", config.servers.keys().collect()),
    ];
    for (section, names) in sections {
        for name in names.into_iter().filter(|n| has_control(n)) {
            report.error_at_key(
                &root.key(section).key(name.as_str()),
                format!(
                    "the name `{}` in {section} holds a control character; use printable characters only",
                    crate::sanitize::line_for_display(name)
                ),
            );
        }
    }
    for agent in config.agents.values().filter(|a| has_control(&a.model)) {
        report.error_at_value(
            &root.key("agents").key(agent.name.as_str()).key("model"),
            format!(
                "agent `{}` has a model name with a control character; use printable characters only",
                crate::sanitize::line_for_display(&agent.name)
            ),
        );
    }
}

fn check_settings(config: &Config, path: &KeyPath, report: &mut Report<'_>) {
    let settings = &config.settings;
    if settings.max_tool_iterations == 0 {
        report.error_at_value(
            &path.key("max_tool_iterations"),
            "settings.max_tool_iterations is 0; it must be at least 1",
        );
    }
    if let Some(budget) = settings.budget_usd.filter(|b| *b < 0.0) {
        report.error_at_value(
            &path.key("budget_usd"),
            format!("settings.budget_usd is negative ({budget}); it must be 0 or more"),
        );
    }
    check_fallback_providers(config, &settings.fallback, path, "settings", report);
    check_compact_at(
        settings.compact_at,
        &path.key("compact_at"),
        "settings",
        report,
    );
}

/// Each `fallback:` entry that names a provider names a known one.
fn check_fallback_providers(
    config: &Config,
    fallbacks: &[Fallback],
    owner: &KeyPath,
    owner_name: &str,
    report: &mut Report<'_>,
) {
    let known = provider_names(config);
    for (i, fallback) in fallbacks.iter().enumerate() {
        let Some(provider) = &fallback.provider else {
            continue;
        };
        if !known.contains(&provider.as_str()) {
            report.error_at_value(
                &owner.key("fallback").index(i).key("provider"),
                format!(
                    "{owner_name}'s fallback {} uses unknown provider `{provider}`{} (known: {})",
                    i + 1,
                    did_you_mean(provider, known.iter().copied()),
                    known.join(", ")
                ),
            );
        }
    }
}

/// `compact_at` is a share of the context window: above 0.1 (or every call compacts) and at most 1.
fn check_compact_at(value: f64, at: &KeyPath, owner: &str, report: &mut Report<'_>) {
    if !(value > 0.1 && value <= 1.0) {
        report.error_at_value(
            at,
            format!("{owner} has compact_at {value}; it must be a share of the context window above 0.1 and at most 1 (0.85 is the default)"),
        );
    }
}

/// Every name an agent's `provider:` may use: the built-in ones, then those of `providers:`.
fn provider_names(config: &Config) -> Vec<&str> {
    BUILTIN_PROVIDERS
        .into_iter()
        .chain(config.providers.keys().map(String::as_str))
        .collect()
}

fn provider_kind(config: &Config, provider: &str) -> Option<ProviderKind> {
    config
        .providers
        .get(provider)
        .map(|spec| spec.kind)
        .or_else(|| ProviderKind::from_builtin(provider))
}

fn check_agent(config: &Config, agent: &AgentSpec, report: &mut Report<'_>) {
    let name = &agent.name;
    let path = KeyPath::root().key("agents").key(name.as_str());

    let known_providers = provider_names(config);
    if !known_providers.contains(&agent.provider.as_str()) {
        let written = path.key("provider");
        // An agent without `provider:` took settings.default_provider: point there instead.
        let (at, source) = if key_position(report.text(), &written).is_some() {
            (written, String::new())
        } else {
            (
                KeyPath::root().key("settings").key("default_provider"),
                " (from settings.default_provider)".to_owned(),
            )
        };
        report.error_at_value(
            &at,
            format!(
                "agent `{name}` uses unknown provider `{}`{source}{} (known: {})",
                agent.provider,
                did_you_mean(&agent.provider, known_providers.iter().copied()),
                known_providers.join(", ")
            ),
        );
    }

    // A list taken from settings.fallback is checked there (and the same list written again
    // has the same providers). Not a search of the text: that made loading quadratic in agents.
    if agent.fallback != config.settings.fallback {
        let owner_name = format!("agent `{name}`");
        check_fallback_providers(config, &agent.fallback, &path, &owner_name, report);
    }

    for (i, tool) in agent.tools.iter().enumerate() {
        if tool.trim().is_empty() {
            report.error_at_value(
                &path.key("tools").index(i),
                format!("agent `{name}` has an empty item in `tools:`"),
            );
        } else if !ALL_TOOLS.contains(&tool.as_str()) {
            report.error_at_value(
                &path.key("tools").index(i),
                format!(
                    "agent `{name}` names unknown tool `{tool}`{} (known: {})",
                    did_you_mean(tool, ALL_TOOLS),
                    ALL_TOOLS.join(", ")
                ),
            );
        }
    }

    for (i, server) in agent.servers.iter().enumerate() {
        if !config.servers.contains_key(server) {
            let known = if config.servers.is_empty() {
                "no servers are defined under `servers:`".to_owned()
            } else {
                let names: Vec<&str> = config.servers.keys().map(String::as_str).collect();
                format!("servers: {}", names.join(", "))
            };
            report.error_at_value(
                &path.key("servers").index(i),
                format!(
                    "agent `{name}` names unknown server `{server}`{} ({known})",
                    did_you_mean(server, config.servers.keys().map(String::as_str))
                ),
            );
        }
    }

    for (i, server) in agent.mcp.iter().enumerate() {
        if !config.mcp_servers.contains_key(server) {
            let known = if config.mcp_servers.is_empty() {
                "no MCP servers are defined under `mcp_servers:`".to_owned()
            } else {
                let names: Vec<&str> = config.mcp_servers.keys().map(String::as_str).collect();
                format!("MCP servers: {}", names.join(", "))
            };
            report.error_at_value(
                &path.key("mcp").index(i),
                format!(
                    "agent `{name}` names unknown MCP server `{server}`{} ({known})",
                    did_you_mean(server, config.mcp_servers.keys().map(String::as_str))
                ),
            );
        }
    }

    check_mcp_approvals(
        config,
        &agent.approval,
        &path,
        &format!("agent `{name}`"),
        report,
    );

    // A 0 inherited from settings.max_tool_iterations is reported there.
    if agent.max_turns == 0 && config.settings.max_tool_iterations != 0 {
        report.error_at_value(
            &path.key("max_turns"),
            format!("agent `{name}` has max_turns 0; it must be at least 1"),
        );
    }

    if let Some(budget) = agent.budget_usd.filter(|b| *b < 0.0) {
        report.error_at_value(
            &path.key("budget_usd"),
            format!("agent `{name}` has a negative budget_usd ({budget}); it must be 0 or more"),
        );
    }
    if agent.compact_at != config.settings.compact_at {
        check_compact_at(
            agent.compact_at,
            &path.key("compact_at"),
            &format!("agent `{name}`"),
            report,
        );
    }

    // A scripted agent without a script echoes its prompts: a valid choice, no warning.
    let is_scripted = provider_kind(config, &agent.provider) == Some(ProviderKind::Scripted);
    if !is_scripted && !agent.script.is_empty() {
        report.warn_at_key(
            &path.key("script"),
            format!(
                "agent `{name}` has a `script:` but its provider `{}` is not scripted; the script is ignored",
                agent.provider
            ),
        );
    }
}

/// Approval entries for `mcp__SERVER__TOOL` must name a server of `mcp_servers:`. Only entries
/// written under `owner` are checked there (an agent inherits those of `settings`).
fn check_mcp_approvals(
    config: &Config,
    approval: &ApprovalPolicy,
    owner: &KeyPath,
    owner_name: &str,
    report: &mut Report<'_>,
) {
    for tool in approval.per_tool.keys() {
        let Some((server, _)) = naming::split(tool) else {
            continue;
        };
        let at = owner.key("approval").key(tool.as_str());
        if config.mcp_servers.contains_key(server) || key_position(report.text(), &at).is_none() {
            continue;
        }
        let known = if config.mcp_servers.is_empty() {
            "no MCP servers are defined under `mcp_servers:`".to_owned()
        } else {
            let names: Vec<&str> = config.mcp_servers.keys().map(String::as_str).collect();
            format!("MCP servers: {}", names.join(", "))
        };
        report.error_at_key(
            &at,
            format!(
                "{owner_name}'s approval names `{tool}`, a tool of unknown MCP server `{server}`{} ({known})",
                did_you_mean(server, config.mcp_servers.keys().map(String::as_str))
            ),
        );
    }
}

/// Whether `name` can stand between `mcp__` and `__TOOL` without making the tool name ambiguous.
fn is_mcp_server_name(name: &str) -> bool {
    !name.is_empty()
        && !name.contains("__")
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
}

fn check_tasks(config: &Config, report: &mut Report<'_>) {
    for (task_name, task) in &config.tasks {
        let path = KeyPath::root().key("tasks").key(task_name.as_str());
        if let Some(budget) = task.budget_usd.filter(|b| *b < 0.0) {
            report.error_at_value(
                &path.key("budget_usd"),
                format!(
                    "task `{task_name}` has a negative budget_usd ({budget}); it must be 0 or more"
                ),
            );
        }
        // Ids of the steps before the one being checked, with where each was defined.
        let mut earlier: Vec<&str> = Vec::new();
        for (i, entry) in task.steps.iter().enumerate() {
            let mut in_this_entry: Vec<&str> = Vec::new();
            for (j, step) in entry.members().iter().enumerate() {
                let (place, step_path) = match entry {
                    TaskStep::Single(_) => (
                        format!("step {} of task `{task_name}`", i + 1),
                        path.key("steps").index(i),
                    ),
                    TaskStep::Parallel(_) => (
                        format!("step {}.{} of task `{task_name}`", i + 1, j + 1),
                        path.key("steps").index(i).key("parallel").index(j),
                    ),
                };
                check_step(config, step, &place, &step_path, &earlier, report);
                if let Some(id) = step.id.as_deref() {
                    if earlier.contains(&id) || in_this_entry.contains(&id) {
                        report.error_at_value(
                            &step_path.key("id"),
                            format!("{place} reuses the id `{id}` of an earlier step; give each step its own id"),
                        );
                    }
                    in_this_entry.push(id);
                }
            }
            earlier.extend(in_this_entry);
        }
    }
}

/// One step: its agent exists, its id is a word, its placeholders name earlier steps.
fn check_step(
    config: &Config,
    step: &StepSpec,
    place: &str,
    path: &KeyPath,
    earlier: &[&str],
    report: &mut Report<'_>,
) {
    // A step with no agent at all was reported while resolving.
    if !step.agent.is_empty() && !config.agents.contains_key(&step.agent) {
        let agent_names: Vec<&str> = config.agents.keys().map(String::as_str).collect();
        report.error_at_value(
            &path.key("agent"),
            format!(
                "{place} names unknown agent `{}`{} (agents: {})",
                crate::sanitize::line_for_display(&step.agent),
                did_you_mean(&step.agent, agent_names.iter().copied()),
                agent_names.join(", ")
            ),
        );
    }
    if let Some(id) = step.id.as_deref().filter(|id| !is_step_id(id)) {
        report.error_at_value(
            &path.key("id"),
            format!(
                "{place} has the id `{}`; an id is letters, digits, `-` and `_`",
                crate::sanitize::line_for_display(id)
            ),
        );
    }
    if let Some(budget) = step.budget_usd.filter(|b| *b < 0.0) {
        report.error_at_value(
            &path.key("budget_usd"),
            format!("{place} has a negative budget_usd ({budget}); it must be 0 or more"),
        );
    }
    for (_, placeholder) in placeholders(&step.prompt) {
        let Placeholder::StepOutput(named) = placeholder else {
            continue;
        };
        if earlier.contains(&named) {
            continue;
        }
        let known = if earlier.is_empty() {
            "no step before it has an id".to_owned()
        } else {
            format!("steps before it: {}", earlier.join(", "))
        };
        report.error_at_value(
            &path.key("prompt"),
            format!(
                "{place} uses {{{{steps.{}.output}}}}, but no earlier step has the id `{}`{} ({known})",
                crate::sanitize::line_for_display(named),
                crate::sanitize::line_for_display(named),
                did_you_mean(named, earlier.iter().copied()),
            ),
        );
    }
}

#[cfg(test)]
mod log_file_name_tests {
    use std::path::Path;

    fn error(text: &str) -> String {
        match super::super::load_str(text, Path::new("/p/config.yaml")) {
            Ok(_) => panic!("expected an error"),
            Err(e) => e.to_string(),
        }
    }

    #[test]
    fn names_that_share_a_log_file_are_an_error_naming_both() {
        assert_eq!(
            error(
                "agents:\n  a/b: {provider: scripted}\n  ok: {provider: scripted}\n  a b: {provider: scripted}\n"
            ),
            "/p/config.yaml:4:3: agents `a/b` and `a b` would write the same log files (a_b.md, a_b.jsonl: names are made safe for a file name); rename one"
        );
        assert_eq!(
            error("agents:\n  café: {provider: scripted}\n  caf_: {provider: scripted}\n"),
            "/p/config.yaml:3:3: agents `café` and `caf_` would write the same log files (caf_.md, caf_.jsonl: names are made safe for a file name); rename one"
        );
    }

    #[test]
    fn a_name_too_long_for_a_file_name_is_an_error() {
        let long = "n".repeat(250);
        assert_eq!(
            error(&format!("agents:\n  {long}: {{provider: scripted}}\n")),
            format!(
                "/p/config.yaml:2:3: the agent name `{}…` is too long for its log's file name (256 bytes with `.jsonl`; at most 255); use a shorter name",
                "n".repeat(60)
            )
        );
        let fits = "n".repeat(249);
        assert!(
            super::super::load_str(
                &format!("agents:\n  {fits}: {{provider: scripted}}\n"),
                Path::new("/p/config.yaml")
            )
            .is_ok()
        );
    }
}
