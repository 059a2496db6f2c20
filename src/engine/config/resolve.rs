//! From the raw file to the typed config: v6's defaults, paths made absolute, and the values
//! that must be one of a few words (provider kinds, tool protocols) checked on the way.

use std::path::{Path, PathBuf};
use std::time::Duration;

use indexmap::IndexMap;

use super::diagnose::{Report, did_you_mean};
use super::locate::KeyPath;
use super::raw::{
    RawAgent, RawApproval, RawConfig, RawFallback, RawMcpServer, RawModel, RawProvider, RawReply,
    RawServer, RawSettings, RawStep, RawTask,
};
use super::scalar::{Flag, Real, Seconds, Whole};
use super::{
    AgentSpec, BUILTIN_PROVIDERS, Config, Fallback, McpServerSpec, McpTransport, ModelSpec,
    ProviderKind, ProviderSpec, ScriptedReply, ScriptedStop, ScriptedToolCall, Server, Settings,
    StepSpec, TaskSpec, TaskStep, ToolProtocol,
};

use crate::engine::mcp::naming;
use crate::engine::tools::ALL_TOOLS;
use crate::engine::tools::approval::{ApprovalPolicy, CHANGES_THE_WORLD, Policy};

/// Reads an environment variable; `None` when unset.
pub type EnvLookup<'a> = &'a dyn Fn(&str) -> Option<String>;

const TOOL_PROTOCOLS: [&str; 3] = ["auto", "native", "text"];

/// The config of `raw`, loaded from `origin`; mistakes go to `report`.
pub fn resolve(
    raw: RawConfig,
    origin: &Path,
    env: EnvLookup<'_>,
    report: &mut Report<'_>,
) -> Config {
    let base_dir = base_dir(origin);
    let settings = settings(raw.settings.unwrap_or_default(), &base_dir, env, report);
    let root = KeyPath::root();
    let servers = named(
        raw.servers,
        &root.key("servers"),
        "server",
        report,
        |_, body, _| body.map(|body| server(body, env)),
    );
    let mcp_servers = named(
        raw.mcp_servers,
        &root.key("mcp_servers"),
        "MCP server",
        report,
        |name, body, report| body.and_then(|body| mcp_server(name, body, report)),
    );
    let providers = named(
        raw.providers,
        &root.key("providers"),
        "provider",
        report,
        |name, body, report| Some(provider(name, body.unwrap_or_default(), report)),
    );
    let models = named(
        raw.models,
        &root.key("models"),
        "model",
        report,
        |name, body, report| Some(model(name, body.unwrap_or_default(), report)),
    );
    let agents = named(
        raw.agents,
        &root.key("agents"),
        "agent",
        report,
        |name, body, report| body.map(|body| agent(name, body, &settings, report)),
    );
    let tasks = named(
        raw.tasks,
        &root.key("tasks"),
        "task",
        report,
        |name, body, report| body.map(|body| task(name, body, report)),
    );
    Config {
        source: origin.to_path_buf(),
        origin: crate::engine::env::Origin::User(origin.to_path_buf()),
        base_dir,
        settings,
        servers,
        mcp_servers,
        providers,
        models,
        agents,
        tasks,
    }
}

/// The entries of a section in file order. `make` gets `None` for an entry written with an
/// empty body and returns `None` to skip it, which is then warned about.
fn named<R, T>(
    section: Option<IndexMap<String, Option<R>>>,
    path: &KeyPath,
    what: &str,
    report: &mut Report<'_>,
    mut make: impl FnMut(&str, Option<R>, &mut Report<'_>) -> Option<T>,
) -> IndexMap<String, T> {
    let mut resolved = IndexMap::new();
    for (name, body) in section.unwrap_or_default() {
        match make(&name, body, report) {
            Some(value) => {
                resolved.insert(name, value);
            }
            None => report.warn_at_key(
                &path.key(name.as_str()),
                format!("{what} `{name}` is empty and is skipped"),
            ),
        }
    }
    resolved
}

/// The directory of the config file, absolute and without `.` steps.
fn base_dir(origin: &Path) -> PathBuf {
    let parent = origin
        .parent()
        .filter(|p| !p.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    let absolute = std::path::absolute(parent).unwrap_or_else(|_| parent.to_path_buf());
    absolute.components().collect()
}

/// A directory written in the config: `~` is the home directory, anything relative is relative
/// to the config's directory.
fn config_dir(base_dir: &Path, written: &str, env: EnvLookup<'_>) -> PathBuf {
    let home = env("HOME");
    let expanded = match (written.strip_prefix('~'), home) {
        (Some(rest), Some(home)) if rest.is_empty() || rest.starts_with('/') => {
            PathBuf::from(format!("{home}{rest}"))
        }
        _ => PathBuf::from(written),
    };
    base_dir.join(expanded).components().collect()
}

/// v6's `get_env_bool`: true/yes/1 and false/no/0 in any case, else the default.
fn env_flag(value: Option<String>, default: bool) -> bool {
    match value.map(|v| v.to_lowercase()).as_deref() {
        Some("true" | "yes" | "1") => true,
        Some("false" | "no" | "0") => false,
        _ => default,
    }
}

/// `settings.compact_at` when the file does not set it: compact at 85 % of the window.
pub const DEFAULT_COMPACT_AT: f64 = 0.85;

/// `settings.health_interval` when the file does not set it: five minutes.
pub const DEFAULT_HEALTH_INTERVAL: Duration = Duration::from_secs(300);

fn settings(
    raw: RawSettings,
    base_dir: &Path,
    env: EnvLookup<'_>,
    report: &mut Report<'_>,
) -> Settings {
    let seconds = |value: Option<Seconds>, default: Duration| value.map_or(default, |Seconds(d)| d);
    let count = |value: Option<Whole<u32>>, default: u32| value.map_or(default, |Whole(n)| n);
    let flag = |value: Option<Flag>, default: bool| value.map_or(default, |Flag(b)| b);
    Settings {
        default_provider: raw.default_provider.unwrap_or_else(|| "claude".to_owned()),
        default_model: raw.default_model.unwrap_or_else(|| "sonnet".to_owned()),
        timeout: seconds(raw.timeout, Duration::from_secs(300)),
        call_timeout: seconds(
            raw.call_timeout,
            crate::engine::provider::bounds::DEFAULT_CALL_DEADLINE,
        ),
        working_dir: config_dir(base_dir, raw.working_dir.as_deref().unwrap_or("."), env),
        max_tool_iterations: count(raw.max_tool_iterations, 10),
        sandbox_paths: flag(raw.sandbox_paths, true),
        ssh_strict_host_checking: match raw.ssh_strict_host_checking {
            Some(Flag(b)) => b,
            None => env_flag(env("SSH_KNOWN_HOSTS_CHECK"), true),
        },
        allowed_commands: raw.allowed_commands.unwrap_or_default(),
        rate_limit_per_minute: count(raw.rate_limit_per_minute, 60),
        max_retries: count(raw.max_retries, 3),
        retry_delay: seconds(raw.retry_delay, Duration::from_secs(1)),
        enable_circuit_breaker: flag(raw.enable_circuit_breaker, true),
        circuit_breaker_threshold: count(raw.circuit_breaker_threshold, 5),
        circuit_breaker_timeout: seconds(raw.circuit_breaker_timeout, Duration::from_secs(30)),
        budget_usd: raw.budget_usd.map(|Real(x)| x),
        log_dir: config_dir(base_dir, raw.log_dir.as_deref().unwrap_or("logs"), env),
        approval: approval(
            raw.approval,
            &ApprovalPolicy::default(),
            &KeyPath::root().key("settings"),
            "settings",
            report,
        ),
        require_sandbox: flag(raw.require_sandbox, false),
        http_allow_private: flag(raw.http_allow_private, false),
        loop_guard: count(raw.loop_guard, 3),
        fallback: fallbacks(
            raw.fallback,
            &KeyPath::root().key("settings"),
            "settings",
            report,
        ),
        compact_at: raw.compact_at.map_or(DEFAULT_COMPACT_AT, |Real(x)| x),
        compaction_model: raw.compaction_model,
        health_interval: seconds(raw.health_interval, DEFAULT_HEALTH_INTERVAL),
    }
}

/// `base` with `raw` laid over it, written out for every known tool: one word sets the policy of
/// every tool that changes the world; a mapping sets tools one by one.
fn approval(
    raw: Option<RawApproval>,
    base: &ApprovalPolicy,
    owner: &KeyPath,
    owner_name: &str,
    report: &mut Report<'_>,
) -> ApprovalPolicy {
    let mut resolved = base.written_out();
    let path = owner.key("approval");
    match raw {
        None => {}
        Some(RawApproval::One(word)) => {
            if let Some(policy) = policy_word(&word, &path, owner_name, report) {
                resolved.changes = policy;
                for tool in CHANGES_THE_WORLD {
                    resolved.per_tool.insert(tool.to_owned(), policy);
                }
            }
        }
        Some(RawApproval::PerTool(entries)) => {
            for (tool, word) in entries {
                // A tool of an MCP server; that the server exists is checked with the whole config.
                let names_mcp_tool = naming::split(&tool).is_some();
                if tool.starts_with(naming::PREFIX) && !names_mcp_tool {
                    report.error_at_key(
                        &path.key(&tool),
                        format!(
                            "{owner_name}'s approval names `{tool}`, which is not a tool of an MCP server; write mcp__SERVER__TOOL (e.g. mcp__everything__echo)"
                        ),
                    );
                    continue;
                }
                if !names_mcp_tool && !ALL_TOOLS.contains(&tool.as_str()) {
                    report.error_at_key(
                        &path.key(&tool),
                        format!(
                            "{owner_name}'s approval names unknown tool `{tool}`{} (known: {})",
                            did_you_mean(&tool, ALL_TOOLS),
                            ALL_TOOLS.join(", ")
                        ),
                    );
                    continue;
                }
                if let Some(policy) = policy_word(&word, &path.key(&tool), owner_name, report) {
                    resolved.per_tool.insert(tool, policy);
                }
            }
        }
    }
    resolved
}

fn policy_word(
    word: &str,
    at: &KeyPath,
    owner_name: &str,
    report: &mut Report<'_>,
) -> Option<Policy> {
    let policy = Policy::parse(word);
    if policy.is_none() {
        report.error_at_value(
            at,
            format!(
                "{owner_name} has unknown approval `{word}`{} (one of: {})",
                did_you_mean(word, Policy::NAMES),
                Policy::NAMES.join(", ")
            ),
        );
    }
    policy
}

fn server(raw: RawServer, env: EnvLookup<'_>) -> Server {
    Server {
        host: raw.host.unwrap_or_default(),
        user: raw.user.unwrap_or_else(|| "root".to_owned()),
        // v6 also fell back when the key was written but empty.
        key: raw
            .key
            .filter(|key| !key.is_empty())
            .or_else(|| env("SSH_KEY_PATH"))
            .unwrap_or_else(|| "~/.ssh/id_rsa".to_owned()),
        port: raw.port.map_or(22, |Whole(port)| port),
        description: raw.description.unwrap_or_default(),
    }
}

/// An MCP server entry: exactly one of `command` (stdio) and `url` (streamable HTTP). `None`,
/// with an error reported, when neither or both are given.
fn mcp_server(name: &str, raw: RawMcpServer, report: &mut Report<'_>) -> Option<McpServerSpec> {
    let path = KeyPath::root().key("mcp_servers").key(name);
    let transport = match (raw.command, raw.url) {
        (Some(command), None) => McpTransport::Stdio {
            command,
            args: raw.args.unwrap_or_default(),
            env: raw.env.unwrap_or_default(),
        },
        (None, Some(url)) => McpTransport::Http {
            url,
            headers: raw.headers.unwrap_or_default(),
        },
        (Some(_), Some(_)) => {
            report.error_at_key(
                &path,
                format!("MCP server `{name}` has both `command` and `url`; keep one (command for a program on stdio, url for streamable HTTP)"),
            );
            return None;
        }
        (None, None) => {
            report.error_at_key(
                &path,
                format!("MCP server `{name}` needs a `command` (a program speaking MCP on stdio) or a `url` (streamable HTTP)"),
            );
            return None;
        }
    };
    Some(McpServerSpec {
        transport,
        description: raw.description.unwrap_or_default(),
    })
}

fn provider(name: &str, raw: RawProvider, report: &mut Report<'_>) -> ProviderSpec {
    let path = KeyPath::root().key("providers").key(name);
    let kinds = BUILTIN_PROVIDERS.join(", ");
    let kind = match raw.kind.as_deref().map(str::trim) {
        Some(kind) => ProviderKind::from_builtin(kind).unwrap_or_else(|| {
            report.error_at_value(
                &path.key("kind"),
                format!(
                    "provider `{name}` has unknown kind `{kind}`{} (kinds: {kinds})",
                    did_you_mean(kind, BUILTIN_PROVIDERS)
                ),
            );
            ProviderKind::OpenAi
        }),
        None => ProviderKind::from_builtin(name).unwrap_or_else(|| {
            report.error_at_key(
                &path,
                format!("provider `{name}` needs a `kind:` (one of {kinds})"),
            );
            ProviderKind::OpenAi
        }),
    };
    ProviderSpec {
        kind,
        api_base: raw.api_base,
        api_key_env: raw.api_key_env,
        rpm: raw.rpm.map(|Whole(n)| n),
        tpm: raw.tpm.map(|Whole(n)| n),
        concurrency: raw.concurrency.map(|Whole(n)| n),
        command: raw.command,
    }
}

fn model(name: &str, raw: RawModel, report: &mut Report<'_>) -> ModelSpec {
    let path = KeyPath::root().key("models").key(name);
    ModelSpec {
        model: raw.model,
        input: raw.input.map(|Real(x)| x),
        output: raw.output.map(|Real(x)| x),
        cache_read: raw.cache_read.map(|Real(x)| x),
        cache_write: raw.cache_write.map(|Real(x)| x),
        context_window: raw.context_window.map(|Whole(n)| n),
        tool_protocol: raw
            .tool_protocol
            .and_then(|written| tool_protocol(&written, &path, &format!("model `{name}`"), report)),
    }
}

fn tool_protocol(
    written: &str,
    owner: &KeyPath,
    owner_name: &str,
    report: &mut Report<'_>,
) -> Option<ToolProtocol> {
    match written.trim().to_lowercase().as_str() {
        "auto" => Some(ToolProtocol::Auto),
        "native" => Some(ToolProtocol::Native),
        "text" => Some(ToolProtocol::Text),
        _ => {
            report.error_at_value(
                &owner.key("tool_protocol"),
                format!(
                    "{owner_name} has unknown tool_protocol `{written}`{} (one of: {})",
                    did_you_mean(written, TOOL_PROTOCOLS),
                    TOOL_PROTOCOLS.join(", ")
                ),
            );
            None
        }
    }
}

fn agent(name: &str, raw: RawAgent, settings: &Settings, report: &mut Report<'_>) -> AgentSpec {
    let path = KeyPath::root().key("agents").key(name);
    let approval = approval(
        raw.approval,
        &settings.approval,
        &path,
        &format!("agent `{name}`"),
        report,
    );
    let script = raw
        .script
        .unwrap_or_default()
        .into_iter()
        .enumerate()
        .map(|(i, reply)| scripted_reply(reply, &path.key("script").index(i), report))
        .collect();
    AgentSpec {
        name: name.to_owned(),
        role: raw.role.unwrap_or_default(),
        provider: raw
            .provider
            .unwrap_or_else(|| settings.default_provider.clone()),
        model: raw.model.unwrap_or_else(|| settings.default_model.clone()),
        tools: raw.tools.unwrap_or_default(),
        servers: raw.servers.unwrap_or_default(),
        max_turns: raw
            .max_turns
            .map_or(settings.max_tool_iterations, |Whole(n)| n),
        api_base: raw.api_base,
        temperature: raw.temperature.map(|Real(x)| x as f32),
        max_tokens: raw.max_tokens.map(|Whole(n)| n),
        budget_usd: raw.budget_usd.map(|Real(x)| x),
        tool_protocol: raw
            .tool_protocol
            .and_then(|written| tool_protocol(&written, &path, &format!("agent `{name}`"), report)),
        script,
        approval,
        mcp: raw.mcp.unwrap_or_default(),
        fallback: match raw.fallback {
            Some(own) => fallbacks(Some(own), &path, &format!("agent `{name}`"), report),
            None => settings.fallback.clone(),
        },
        compact_at: raw.compact_at.map_or(settings.compact_at, |Real(x)| x),
        compaction_model: raw
            .compaction_model
            .or_else(|| settings.compaction_model.clone()),
    }
}

/// The entries of a `fallback:` list under `owner`; one without a model is an error.
fn fallbacks(
    raw: Option<Vec<RawFallback>>,
    owner: &KeyPath,
    owner_name: &str,
    report: &mut Report<'_>,
) -> Vec<Fallback> {
    raw.unwrap_or_default()
        .into_iter()
        .enumerate()
        .filter_map(|(i, entry)| {
            let model = entry.model.filter(|m| !m.trim().is_empty());
            if model.is_none() {
                report.error_at_key(
                    &owner.key("fallback").index(i),
                    format!(
                        "{owner_name}'s fallback {} names no model; write a model name, or {{provider: NAME, model: MODEL}}",
                        i + 1
                    ),
                );
            }
            Some(Fallback {
                provider: entry.provider,
                model: model?,
            })
        })
        .collect()
}

fn scripted_reply(raw: RawReply, path: &KeyPath, report: &mut Report<'_>) -> ScriptedReply {
    let tool_calls = raw
        .tool_calls
        .unwrap_or_default()
        .into_iter()
        .enumerate()
        .filter_map(|(i, call)| {
            let call_path = path.key("tool_calls").index(i);
            let Some(tool) = call.tool else {
                report.error_at_key(&call_path, format!("{call_path} has no `tool`"));
                return None;
            };
            let params = match call.params {
                Some(serde_json::Value::Null) | None => {
                    serde_json::Value::Object(serde_json::Map::new())
                }
                Some(params) => params,
            };
            Some(ScriptedToolCall {
                tool,
                params,
                cut: call.cut.is_some_and(|Flag(cut)| cut),
            })
        })
        .collect();
    let stop = raw.stop.and_then(|written| {
        let stop = match written.trim() {
            "max_tokens" => Some(ScriptedStop::MaxTokens),
            "content_filter" => Some(ScriptedStop::ContentFilter),
            "refusal" => Some(ScriptedStop::Refusal),
            _ => None,
        };
        if stop.is_none() {
            report.error_at_value(
                &path.key("stop"),
                format!(
                    "{path} has unknown stop `{written}`{} (one of: {})",
                    did_you_mean(&written, ScriptedStop::NAMES),
                    ScriptedStop::NAMES.join(", ")
                ),
            );
        }
        stop
    });
    ScriptedReply {
        text: raw.text.unwrap_or_default(),
        tool_calls,
        delay: raw
            .delay_ms
            .map_or(Duration::ZERO, |Whole(ms)| Duration::from_millis(ms)),
        error: raw.error,
        stop,
    }
}

fn task(name: &str, raw: RawTask, report: &mut Report<'_>) -> TaskSpec {
    let steps_path = KeyPath::root().key("tasks").key(name).key("steps");
    let steps = raw
        .steps
        .unwrap_or_default()
        .into_iter()
        .enumerate()
        .map(|(i, mut raw)| {
            let path = steps_path.index(i);
            let place = format!("step {} of task `{name}`", i + 1);
            let Some(members) = raw.parallel.take() else {
                return TaskStep::Single(step(raw, &path, &place, report));
            };
            check_group(&raw, members.is_empty(), &path, &place, report);
            let members = members.into_iter().enumerate().map(|(j, member)| {
                let place = format!("step {}.{} of task `{name}`", i + 1, j + 1);
                let path = path.key("parallel").index(j);
                if member.parallel.is_some() {
                    report.error_at_key(
                        &path.key("parallel"),
                        format!("{place} is a parallel group inside a parallel group; list its steps in the outer group"),
                    );
                    return StepSpec::default();
                }
                step(member, &path, &place, report)
            });
            TaskStep::Parallel(members.collect())
        })
        .collect();
    TaskSpec {
        description: raw.description.unwrap_or_default(),
        steps,
        budget_usd: raw.budget_usd.map(|Real(usd)| usd),
    }
}

/// A `parallel:` entry holds its steps and nothing else.
fn check_group(
    raw: &RawStep,
    is_empty: bool,
    path: &KeyPath,
    place: &str,
    report: &mut Report<'_>,
) {
    let own_keys = [
        ("id", raw.id.is_some()),
        ("agent", raw.agent.is_some()),
        ("prompt", raw.prompt.is_some()),
        ("retry", raw.retry.is_some()),
        ("timeout", raw.timeout.is_some()),
        ("budget_usd", raw.budget_usd.is_some()),
        ("continue_on_error", raw.continue_on_error.is_some()),
    ];
    for (key, _) in own_keys.iter().filter(|(_, set)| *set) {
        report.error_at_key(
            &path.key(*key),
            format!("{place} is a `parallel:` group and cannot have `{key}`; set it on the steps inside the group"),
        );
    }
    if is_empty {
        report.error_at_key(
            &path.key("parallel"),
            format!(
                "{place} is an empty `parallel:` group; list at least one step in it, or remove it"
            ),
        );
    }
}

fn step(raw: RawStep, path: &KeyPath, place: &str, report: &mut Report<'_>) -> StepSpec {
    // Kept (with no agent) so later steps keep their index for messages.
    let agent = raw.agent.unwrap_or_else(|| {
        report.error_at_key(path, format!("{place} names no `agent`"));
        String::new()
    });
    StepSpec {
        id: raw.id,
        agent,
        prompt: raw.prompt.unwrap_or_default(),
        retry: raw.retry.map_or(0, |Whole(n)| n),
        timeout: raw.timeout.map(|Seconds(d)| d),
        budget_usd: raw.budget_usd.map(|Real(usd)| usd),
        continue_on_error: raw.continue_on_error.is_some_and(|Flag(on)| on),
    }
}
