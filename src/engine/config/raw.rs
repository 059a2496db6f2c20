//! The file format: serde structs that mirror `config.yaml` key for key (v6's keys plus tzzr's
//! optional ones). Everything is optional here; defaults are applied when resolving.

use std::fmt;

use indexmap::IndexMap;
use serde::Deserialize;
use serde::de::value::MapAccessDeserializer;
use serde::de::{self, Deserializer, MapAccess, SeqAccess, Visitor};

use super::scalar::{Flag, Real, Seconds, Whole};

/// A section of named entries; an entry whose body is empty (only comments) is `None`.
pub type Named<T> = IndexMap<String, Option<T>>;

/// The whole file.
#[derive(Debug, Default, Deserialize)]
pub struct RawConfig {
    pub settings: Option<RawSettings>,
    #[serde(default, deserialize_with = "unique_names")]
    pub servers: Option<Named<RawServer>>,
    #[serde(default, deserialize_with = "unique_names")]
    pub mcp_servers: Option<Named<RawMcpServer>>,
    #[serde(default, deserialize_with = "unique_names")]
    pub providers: Option<Named<RawProvider>>,
    #[serde(default, deserialize_with = "unique_names")]
    pub models: Option<Named<RawModel>>,
    #[serde(default, deserialize_with = "unique_names")]
    pub agents: Option<Named<RawAgent>>,
    #[serde(default, deserialize_with = "unique_names")]
    pub tasks: Option<Named<RawTask>>,
}

/// What a duplicate name's error says; the parser adds where the first one is.
pub const DEFINED_TWICE: &str =
    "is defined twice; the second would replace the first: rename or remove one";

/// A section of named entries where a name given twice is an error, not a silent replacement.
fn unique_names<'de, D, T>(deserializer: D) -> Result<Option<Named<T>>, D::Error>
where
    D: Deserializer<'de>,
    T: Deserialize<'de>,
{
    struct UniqueNames<T>(std::marker::PhantomData<T>);

    impl<'de, T: Deserialize<'de>> Visitor<'de> for UniqueNames<T> {
        type Value = Option<Named<T>>;

        fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
            f.write_str("a mapping")
        }

        fn visit_unit<E: de::Error>(self) -> Result<Self::Value, E> {
            Ok(None)
        }

        fn visit_none<E: de::Error>(self) -> Result<Self::Value, E> {
            Ok(None)
        }

        fn visit_some<D2: Deserializer<'de>>(self, inner: D2) -> Result<Self::Value, D2::Error> {
            inner.deserialize_map(self)
        }

        fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
            let mut named = Named::new();
            while let Some(name) = map.next_key::<String>()? {
                if named.contains_key(&name) {
                    return Err(de::Error::custom(format!(
                        "`{}` {DEFINED_TWICE}",
                        crate::sanitize::line_for_display(&name)
                    )));
                }
                let entry = map.next_value()?;
                named.insert(name, entry);
            }
            Ok(Some(named))
        }
    }

    deserializer.deserialize_option(UniqueNames(std::marker::PhantomData))
}

impl RawConfig {
    pub const KEYS: &[&str] = &[
        "settings",
        "servers",
        "mcp_servers",
        "providers",
        "models",
        "agents",
        "tasks",
    ];
}

#[derive(Debug, Default, Deserialize)]
pub struct RawSettings {
    pub default_provider: Option<String>,
    pub default_model: Option<String>,
    pub timeout: Option<Seconds>,
    pub call_timeout: Option<Seconds>,
    pub working_dir: Option<String>,
    pub max_tool_iterations: Option<Whole<u32>>,
    pub sandbox_paths: Option<Flag>,
    pub ssh_strict_host_checking: Option<Flag>,
    pub allowed_commands: Option<Vec<String>>,
    pub rate_limit_per_minute: Option<Whole<u32>>,
    pub max_retries: Option<Whole<u32>>,
    pub retry_delay: Option<Seconds>,
    pub enable_circuit_breaker: Option<Flag>,
    pub circuit_breaker_threshold: Option<Whole<u32>>,
    pub circuit_breaker_timeout: Option<Seconds>,
    pub budget_usd: Option<Real>,
    pub log_dir: Option<String>,
    pub approval: Option<RawApproval>,
    pub require_sandbox: Option<Flag>,
    pub http_allow_private: Option<Flag>,
    pub loop_guard: Option<Whole<u32>>,
    pub fallback: Option<Vec<RawFallback>>,
    pub compact_at: Option<Real>,
    pub compaction_model: Option<String>,
    pub health_interval: Option<Seconds>,
}

impl RawSettings {
    pub const KEYS: &[&str] = &[
        "default_provider",
        "default_model",
        "timeout",
        "call_timeout",
        "working_dir",
        "max_tool_iterations",
        "sandbox_paths",
        "ssh_strict_host_checking",
        "allowed_commands",
        "rate_limit_per_minute",
        "max_retries",
        "retry_delay",
        "enable_circuit_breaker",
        "circuit_breaker_threshold",
        "circuit_breaker_timeout",
        "budget_usd",
        "log_dir",
        "approval",
        "require_sandbox",
        "http_allow_private",
        "loop_guard",
        "fallback",
        "compact_at",
        "compaction_model",
        "health_interval",
    ];
}

#[derive(Debug, Default, Deserialize)]
pub struct RawServer {
    pub host: Option<String>,
    pub user: Option<String>,
    pub key: Option<String>,
    pub port: Option<Whole<u16>>,
    pub description: Option<String>,
}

impl RawServer {
    pub const KEYS: &[&str] = &["host", "user", "key", "port", "description"];
}

/// An MCP server: a program speaking MCP on stdio (`command`, `args`, `env`), or a
/// streamable-HTTP `url` (with `headers`).
#[derive(Debug, Default, Deserialize)]
pub struct RawMcpServer {
    pub command: Option<String>,
    pub args: Option<Vec<String>>,
    pub env: Option<IndexMap<String, String>>,
    pub url: Option<String>,
    pub headers: Option<IndexMap<String, String>>,
    pub description: Option<String>,
}

impl RawMcpServer {
    pub const KEYS: &[&str] = &["command", "args", "env", "url", "headers", "description"];
}

#[derive(Debug, Default, Deserialize)]
pub struct RawProvider {
    pub kind: Option<String>,
    pub api_base: Option<String>,
    pub api_key_env: Option<String>,
    pub rpm: Option<Whole<u32>>,
    pub tpm: Option<Whole<u64>>,
    pub concurrency: Option<Whole<u32>>,
    pub command: Option<String>,
}

impl RawProvider {
    pub const KEYS: &[&str] = &[
        "kind",
        "api_base",
        "api_key_env",
        "rpm",
        "tpm",
        "concurrency",
        "command",
    ];
}

#[derive(Debug, Default, Deserialize)]
pub struct RawModel {
    pub model: Option<String>,
    pub input: Option<Real>,
    pub output: Option<Real>,
    pub cache_read: Option<Real>,
    pub cache_write: Option<Real>,
    pub context_window: Option<Whole<u64>>,
    pub tool_protocol: Option<String>,
}

impl RawModel {
    pub const KEYS: &[&str] = &[
        "model",
        "input",
        "output",
        "cache_read",
        "cache_write",
        "context_window",
        "tool_protocol",
    ];
}

#[derive(Debug, Default, Deserialize)]
pub struct RawAgent {
    pub role: Option<String>,
    pub provider: Option<String>,
    pub model: Option<String>,
    pub tools: Option<Vec<String>>,
    pub servers: Option<Vec<String>>,
    pub max_turns: Option<Whole<u32>>,
    pub api_base: Option<String>,
    pub temperature: Option<Real>,
    pub max_tokens: Option<Whole<u32>>,
    pub budget_usd: Option<Real>,
    pub tool_protocol: Option<String>,
    pub script: Option<Vec<RawReply>>,
    pub approval: Option<RawApproval>,
    pub mcp: Option<Vec<String>>,
    pub fallback: Option<Vec<RawFallback>>,
    pub compact_at: Option<Real>,
    pub compaction_model: Option<String>,
}

impl RawAgent {
    pub const KEYS: &[&str] = &[
        "role",
        "provider",
        "model",
        "tools",
        "servers",
        "max_turns",
        "api_base",
        "temperature",
        "max_tokens",
        "budget_usd",
        "tool_protocol",
        "script",
        "approval",
        "mcp",
        "fallback",
        "compact_at",
        "compaction_model",
    ];
}

/// `approval:` — one policy (`auto`, `ask`, `deny`) for the tools that change the world, or a
/// policy per tool name.
#[derive(Debug, PartialEq, Deserialize)]
#[serde(untagged)]
pub enum RawApproval {
    One(String),
    PerTool(IndexMap<String, String>),
}

/// One reply of a scripted agent: a mapping, or a plain string meaning just its text.
#[derive(Debug, Default, PartialEq)]
pub struct RawReply {
    pub text: Option<String>,
    pub tool_calls: Option<Vec<RawToolCall>>,
    pub delay_ms: Option<Whole<u64>>,
    pub error: Option<String>,
    pub stop: Option<String>,
}

impl RawReply {
    pub const KEYS: &[&str] = &["text", "tool_calls", "delay_ms", "error", "stop"];
}

/// The mapping form of [`RawReply`]; its own type so serde derives the field handling (and
/// `serde_ignored` still sees unknown keys inside it).
#[derive(Deserialize)]
struct ReplyFields {
    text: Option<String>,
    tool_calls: Option<Vec<RawToolCall>>,
    delay_ms: Option<Whole<u64>>,
    error: Option<String>,
    stop: Option<String>,
}

impl<'de> Deserialize<'de> for RawReply {
    fn deserialize<D: Deserializer<'de>>(de: D) -> Result<Self, D::Error> {
        de.deserialize_any(ReplyVisitor)
    }
}

struct ReplyVisitor;

impl ReplyVisitor {
    fn text(text: impl fmt::Display) -> RawReply {
        RawReply {
            text: Some(text.to_string()),
            ..RawReply::default()
        }
    }
}

impl<'de> Visitor<'de> for ReplyVisitor {
    type Value = RawReply;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a reply: a string, or a mapping with text, tool_calls, delay_ms, error, stop")
    }

    fn visit_str<E: de::Error>(self, v: &str) -> Result<RawReply, E> {
        Ok(Self::text(v))
    }

    fn visit_bool<E: de::Error>(self, v: bool) -> Result<RawReply, E> {
        Ok(Self::text(v))
    }

    fn visit_i64<E: de::Error>(self, v: i64) -> Result<RawReply, E> {
        Ok(Self::text(v))
    }

    fn visit_u64<E: de::Error>(self, v: u64) -> Result<RawReply, E> {
        Ok(Self::text(v))
    }

    fn visit_f64<E: de::Error>(self, v: f64) -> Result<RawReply, E> {
        Ok(Self::text(v))
    }

    /// An empty list item (`- `): a reply with no text.
    fn visit_unit<E: de::Error>(self) -> Result<RawReply, E> {
        Ok(RawReply::default())
    }

    fn visit_seq<A: SeqAccess<'de>>(self, _seq: A) -> Result<RawReply, A::Error> {
        Err(de::Error::custom(
            "expected a reply (a string, or a mapping with text, tool_calls, delay_ms, error, stop), found a list",
        ))
    }

    fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<RawReply, A::Error> {
        let fields = ReplyFields::deserialize(MapAccessDeserializer::new(map))?;
        Ok(RawReply {
            text: fields.text,
            tool_calls: fields.tool_calls,
            delay_ms: fields.delay_ms,
            error: fields.error,
            stop: fields.stop,
        })
    }
}

/// One entry of `fallback:`: a model name (served by the agent's own provider), or a mapping
/// with `provider` and `model`.
#[derive(Debug, Default, PartialEq)]
pub struct RawFallback {
    pub provider: Option<String>,
    pub model: Option<String>,
}

impl RawFallback {
    pub const KEYS: &[&str] = &["provider", "model"];
}

#[derive(Deserialize)]
struct FallbackFields {
    provider: Option<String>,
    model: Option<String>,
}

impl<'de> Deserialize<'de> for RawFallback {
    fn deserialize<D: Deserializer<'de>>(de: D) -> Result<Self, D::Error> {
        de.deserialize_any(FallbackVisitor)
    }
}

struct FallbackVisitor;

impl<'de> Visitor<'de> for FallbackVisitor {
    type Value = RawFallback;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a fallback: a model name, or a mapping with provider and model")
    }

    fn visit_str<E: de::Error>(self, v: &str) -> Result<RawFallback, E> {
        Ok(RawFallback {
            provider: None,
            model: Some(v.to_owned()),
        })
    }

    fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<RawFallback, A::Error> {
        let fields = FallbackFields::deserialize(MapAccessDeserializer::new(map))?;
        Ok(RawFallback {
            provider: fields.provider,
            model: fields.model,
        })
    }
}

#[derive(Debug, Default, PartialEq, Deserialize)]
pub struct RawToolCall {
    pub tool: Option<String>,
    pub params: Option<serde_json::Value>,
    pub cut: Option<Flag>,
}

impl RawToolCall {
    pub const KEYS: &[&str] = &["tool", "params", "cut"];
}

#[derive(Debug, Default, Deserialize)]
pub struct RawTask {
    pub description: Option<String>,
    pub steps: Option<Vec<RawStep>>,
    pub budget_usd: Option<Real>,
}

impl RawTask {
    pub const KEYS: &[&str] = &["description", "steps", "budget_usd"];
}

/// A step (`agent` and `prompt`, as in v6) or a group (`parallel:` holding steps).
#[derive(Debug, Default, Deserialize)]
pub struct RawStep {
    pub id: Option<String>,
    pub agent: Option<String>,
    pub prompt: Option<String>,
    pub parallel: Option<Vec<RawStep>>,
    pub retry: Option<Whole<u32>>,
    pub timeout: Option<Seconds>,
    pub budget_usd: Option<Real>,
    pub continue_on_error: Option<Flag>,
}

impl RawStep {
    pub const KEYS: &[&str] = &[
        "id",
        "agent",
        "prompt",
        "parallel",
        "retry",
        "timeout",
        "budget_usd",
        "continue_on_error",
    ];
}
