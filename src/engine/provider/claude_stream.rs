//! Reads the Claude CLI's `--output-format stream-json` output: one JSON object per line, turned
//! into [`StreamItem`]s as they arrive and, at the `result` line, into how the run ended.

use std::collections::HashSet;
use std::time::Duration;

use serde::Deserialize;

use super::anthropic::event::{self, Delta, Event};
use super::{ModelReply, Sink, StopReason, StreamItem};
use crate::engine::conversation::ToolCall;
use crate::engine::mcp::bridge::CLI_PREFIX;
use crate::engine::protocol::{CallId, TokenUsage};

/// What the CLI prints when `--resume` names a session it has no record of (e.g. a run killed
/// right after `system/init`, before it stored the prompt).
const SESSION_NOT_FOUND: &str = "No conversation found with session ID";

/// How a run ended, as its `result` line says.
#[derive(Clone, Debug, PartialEq)]
pub enum Finish {
    Reply(ModelReply),
    /// `is_error: true`: the result text, or the `errors` joined.
    Failed(String),
    /// `--resume` named a session the CLI cannot find; starting a new one is the cure.
    SessionNotFound(String),
}

/// Turns the CLI's lines into stream items; one parser per run.
#[derive(Debug)]
pub struct StreamParser {
    /// Reported as the model of the usage when the CLI names no single model.
    fallback_model: String,
    session_id: Option<String>,
    /// Message ids whose text (or thinking) already arrived as `stream_event` deltas, so the
    /// whole `assistant` line must not repeat it.
    streamed_text: HashSet<String>,
    streamed_thinking: HashSet<String>,
    /// The id of the message the `stream_event` lines currently belong to (`message_start`).
    streaming_message: Option<String>,
    last_api_error: Option<String>,
    /// Calls of tzzr's own bridge tools (`mcp__tzzr__*`): tzzr reports them itself as it runs
    /// them, so the CLI's report of them is not repeated.
    bridged_calls: HashSet<String>,
}

impl StreamParser {
    pub fn new(fallback_model: impl Into<String>) -> Self {
        Self {
            fallback_model: fallback_model.into(),
            session_id: None,
            streamed_text: HashSet::new(),
            streamed_thinking: HashSet::new(),
            streaming_message: None,
            last_api_error: None,
            bridged_calls: HashSet::new(),
        }
    }

    /// The session id of the `system/init` line, once it has been seen.
    pub fn session_id(&self) -> Option<&str> {
        self.session_id.as_deref()
    }

    /// The text of the last API error the CLI reported as a synthetic assistant message.
    pub fn last_api_error(&self) -> Option<&str> {
        self.last_api_error.as_deref()
    }

    /// Reads one line, pushes what it says into `sink`, and returns how the run ended if this
    /// was the `result` line. Lines that are not JSON are logged and skipped.
    pub fn feed(&mut self, line: &str, sink: Sink<'_>) -> Option<Finish> {
        let line = line.trim();
        if line.is_empty() {
            return None;
        }
        let parsed: Line = match serde_json::from_str(line) {
            Ok(parsed) => parsed,
            Err(e) => {
                let start: String = line.chars().take(200).collect();
                tracing::warn!(error = %e, line = %start, "skipping a claude CLI line that is not understood");
                return None;
            }
        };
        match parsed {
            Line::System(system) => {
                self.system(system, sink);
                None
            }
            Line::StreamEvent {
                event,
                api_message_id,
            } => {
                self.stream_event(event, api_message_id, sink);
                None
            }
            Line::Assistant(assistant) => {
                self.assistant(assistant, sink);
                None
            }
            Line::User(user) => {
                user_tool_results(user, &self.bridged_calls, sink);
                None
            }
            Line::Result(result) => Some(self.result(result, sink)),
            Line::Other => None,
        }
    }

    fn system(&mut self, system: SystemLine, sink: Sink<'_>) {
        match system {
            SystemLine::Init { session_id } => self.session_id = Some(session_id),
            SystemLine::ApiRetry {
                attempt,
                retry_delay_ms,
                error_status,
                error,
            } => {
                let error = error.unwrap_or_else(|| "unknown".to_owned());
                let reason = match error_status {
                    Some(status) => format!("{error} (HTTP {status})"),
                    None => error,
                };
                sink(StreamItem::Retry {
                    attempt,
                    wait: Duration::from_millis(retry_delay_ms),
                    reason,
                });
            }
            SystemLine::PermissionDenied { tool_name, message } => {
                let tool = tool_name.unwrap_or_else(|| "a tool".to_owned());
                let notice = match message {
                    Some(message) => format!("claude CLI denied {tool}: {message}"),
                    None => format!("claude CLI denied {tool}"),
                };
                sink(StreamItem::Notice(notice));
            }
            SystemLine::Other => {}
        }
    }

    fn stream_event(&mut self, event: Event, api_message_id: Option<String>, sink: Sink<'_>) {
        match event {
            Event::MessageStart { message } => self.streaming_message = message.id,
            Event::ContentBlockDelta { delta, .. } => {
                let message = api_message_id
                    .or_else(|| self.streaming_message.clone())
                    .unwrap_or_default();
                match delta {
                    Delta::TextDelta { text } => {
                        self.streamed_text.insert(message);
                        sink(StreamItem::TextDelta(text));
                    }
                    Delta::ThinkingDelta { thinking } => {
                        self.streamed_thinking.insert(message);
                        sink(StreamItem::Reasoning(thinking));
                    }
                    Delta::InputJsonDelta { .. } | Delta::Other => {}
                }
            }
            // The CLI's `assistant` lines carry the whole blocks, tool uses and the end.
            Event::ContentBlockStart { .. }
            | Event::ContentBlockStop { .. }
            | Event::MessageDelta { .. }
            | Event::MessageStop
            | Event::Error { .. }
            | Event::Other => {}
        }
    }

    fn assistant(&mut self, assistant: AssistantLine, sink: Sink<'_>) {
        let id = assistant.message.id.unwrap_or_default();
        for block in assistant.message.content {
            match block {
                // The error comes back in the `result` line; showing it as model text too would
                // say it twice.
                AssistantBlock::Text { text } if assistant.is_api_error_message => {
                    self.last_api_error = Some(text);
                }
                AssistantBlock::Text { text } => {
                    if !text.is_empty() && !self.streamed_text.contains(&id) {
                        sink(StreamItem::TextDelta(text));
                    }
                }
                AssistantBlock::Thinking { thinking } => {
                    if !thinking.is_empty() && !self.streamed_thinking.contains(&id) {
                        sink(StreamItem::Reasoning(thinking));
                    }
                }
                AssistantBlock::ToolUse { id, name, .. } if name.starts_with(CLI_PREFIX) => {
                    self.bridged_calls.insert(id);
                }
                AssistantBlock::ToolUse { id, name, input } => {
                    sink(StreamItem::ProviderToolCall(ToolCall {
                        id: CallId(id),
                        tool: name,
                        args: input,
                    }));
                }
                AssistantBlock::Other => {}
            }
        }
    }

    fn result(&self, result: ResultLine, sink: Sink<'_>) -> Finish {
        let errors: Vec<String> = result
            .errors
            .unwrap_or_default()
            .into_iter()
            .map(|e| match e {
                serde_json::Value::String(s) => s,
                other => other.to_string(),
            })
            .collect();
        if result.is_error
            && let Some(lost) = errors.iter().find(|e| e.contains(SESSION_NOT_FOUND))
        {
            return Finish::SessionNotFound(lost.clone());
        }

        let model = match result.model_usage.as_ref() {
            Some(models) if models.len() == 1 => models.keys().next().cloned(),
            _ => None,
        }
        .unwrap_or_else(|| self.fallback_model.clone());
        let usage = result.usage.unwrap_or_default();
        sink(StreamItem::Usage {
            model,
            usage: TokenUsage {
                input: usage.input_tokens,
                output: usage.output_tokens,
                cache_read: usage.cache_read_input_tokens,
                cache_write: usage.cache_creation_input_tokens,
            },
            reported_cost_usd: result.total_cost_usd,
            estimated: false,
        });

        let text = result.result.unwrap_or_default();
        if !result.is_error {
            let stop = match result.stop_reason.as_deref().map(event::stop_reason) {
                // The CLI runs its own tools: a run that ends is done with them.
                None | Some(StopReason::ToolUse) => StopReason::EndTurn,
                Some(stop) => stop,
            };
            return Finish::Reply(ModelReply {
                text,
                tool_calls: Vec::new(),
                stop,
                cut_calls: Vec::new(),
            });
        }
        let message = if !text.trim().is_empty() {
            text
        } else if !errors.is_empty() {
            errors.join("; ")
        } else if let Some(api_error) = &self.last_api_error {
            api_error.clone()
        } else {
            format!("the run ended with {}", result.subtype)
        };
        Finish::Failed(message)
    }
}

/// `user` lines carry the results of the tools the CLI ran; lines the CLI injected itself
/// (`isSynthetic`, plain text) are not results.
fn user_tool_results(user: UserLine, bridged_calls: &HashSet<String>, sink: Sink<'_>) {
    if user.is_synthetic {
        return;
    }
    let UserContent::Blocks(blocks) = user.message.content else {
        return;
    };
    for block in blocks {
        match block {
            UserBlock::ToolResult { tool_use_id, .. } if bridged_calls.contains(&tool_use_id) => {}
            UserBlock::ToolResult {
                tool_use_id,
                content,
                is_error,
            } => sink(StreamItem::ProviderToolResult {
                call: CallId(tool_use_id),
                ok: !is_error,
                output: content
                    .map(ToolResultContent::into_text)
                    .unwrap_or_default(),
            }),
            UserBlock::Other => {}
        }
    }
}

// The wire shapes: only the fields tzzr reads; serde ignores the rest.

#[derive(Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
enum Line {
    System(SystemLine),
    StreamEvent {
        event: Event,
        #[serde(default)]
        api_message_id: Option<String>,
    },
    Assistant(AssistantLine),
    User(UserLine),
    Result(ResultLine),
    #[serde(other)]
    Other,
}

#[derive(Deserialize)]
#[serde(tag = "subtype", rename_all = "snake_case")]
enum SystemLine {
    Init {
        session_id: String,
    },
    ApiRetry {
        #[serde(default)]
        attempt: u32,
        #[serde(default)]
        retry_delay_ms: u64,
        #[serde(default)]
        error_status: Option<u16>,
        #[serde(default)]
        error: Option<String>,
    },
    PermissionDenied {
        #[serde(default)]
        tool_name: Option<String>,
        #[serde(default)]
        message: Option<String>,
    },
    #[serde(other)]
    Other,
}

#[derive(Deserialize)]
struct AssistantLine {
    message: AssistantMessage,
    #[serde(default)]
    is_api_error_message: bool,
}

#[derive(Deserialize)]
struct AssistantMessage {
    #[serde(default)]
    id: Option<String>,
    #[serde(default)]
    content: Vec<AssistantBlock>,
}

#[derive(Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
enum AssistantBlock {
    Text {
        text: String,
    },
    Thinking {
        #[serde(default)]
        thinking: String,
    },
    ToolUse {
        id: String,
        name: String,
        #[serde(default)]
        input: serde_json::Value,
    },
    #[serde(other)]
    Other,
}

#[derive(Deserialize)]
struct UserLine {
    message: UserMessage,
    #[serde(default, rename = "isSynthetic")]
    is_synthetic: bool,
}

#[derive(Deserialize)]
struct UserMessage {
    content: UserContent,
}

#[derive(Deserialize)]
#[serde(untagged)]
enum UserContent {
    Text(#[expect(dead_code, reason = "plain user text is not a tool result")] String),
    Blocks(Vec<UserBlock>),
}

#[derive(Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
enum UserBlock {
    ToolResult {
        tool_use_id: String,
        #[serde(default)]
        content: Option<ToolResultContent>,
        #[serde(default)]
        is_error: bool,
    },
    #[serde(other)]
    Other,
}

#[derive(Deserialize)]
#[serde(untagged)]
enum ToolResultContent {
    Text(String),
    Blocks(Vec<ResultBlock>),
}

impl ToolResultContent {
    fn into_text(self) -> String {
        match self {
            ToolResultContent::Text(text) => text,
            ToolResultContent::Blocks(blocks) => blocks
                .into_iter()
                .filter_map(|block| match block {
                    ResultBlock::Text { text } => Some(text),
                    ResultBlock::Other => None,
                })
                .collect::<Vec<_>>()
                .join("\n"),
        }
    }
}

#[derive(Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
enum ResultBlock {
    Text {
        text: String,
    },
    #[serde(other)]
    Other,
}

#[derive(Deserialize)]
struct ResultLine {
    #[serde(default)]
    subtype: String,
    /// The last API call's `stop_reason` (`max_tokens`, `refusal`, …).
    #[serde(default)]
    stop_reason: Option<String>,
    #[serde(default)]
    is_error: bool,
    #[serde(default)]
    result: Option<String>,
    #[serde(default)]
    errors: Option<Vec<serde_json::Value>>,
    #[serde(default)]
    total_cost_usd: Option<f64>,
    #[serde(default)]
    usage: Option<ResultUsage>,
    #[serde(default, rename = "modelUsage")]
    model_usage: Option<serde_json::Map<String, serde_json::Value>>,
}

#[derive(Default, Deserialize)]
#[serde(default)]
struct ResultUsage {
    input_tokens: u64,
    output_tokens: u64,
    cache_read_input_tokens: u64,
    cache_creation_input_tokens: u64,
}

#[cfg(test)]
mod tests {
    use pretty_assertions::assert_eq;
    use serde_json::json;

    use super::*;

    /// Feeds every line of `text` through a fresh parser: the items, the finish, the parser.
    fn parse(text: &str) -> (Vec<StreamItem>, Option<Finish>, StreamParser) {
        let mut parser = StreamParser::new("sonnet");
        let mut items = Vec::new();
        let mut finish = None;
        for line in text.lines() {
            let mut sink = |item| items.push(item);
            if let Some(end) = parser.feed(line, &mut sink) {
                finish = Some(end);
            }
        }
        (items, finish, parser)
    }

    fn fixture(name: &str) -> String {
        let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("tests/fixtures/claude-cli")
            .join(format!("{name}.jsonl"));
        std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("fixture {}: {e}", path.display()))
    }

    fn reply(text: &str) -> Option<Finish> {
        Some(Finish::Reply(ModelReply {
            text: text.to_owned(),
            tool_calls: Vec::new(),
            stop: StopReason::EndTurn,
            cut_calls: Vec::new(),
        }))
    }

    fn usage(model: &str, tokens: [u64; 4], cost: f64) -> StreamItem {
        let [input, output, cache_read, cache_write] = tokens;
        StreamItem::Usage {
            model: model.to_owned(),
            usage: TokenUsage {
                input,
                output,
                cache_read,
                cache_write,
            },
            reported_cost_usd: Some(cost),
            estimated: false,
        }
    }

    fn text(s: &str) -> StreamItem {
        StreamItem::TextDelta(s.to_owned())
    }

    fn streamed_text(items: &[StreamItem]) -> String {
        items
            .iter()
            .filter_map(|item| match item {
                StreamItem::TextDelta(t) => Some(t.as_str()),
                _ => None,
            })
            .collect()
    }

    #[test]
    fn hello_gives_the_text_the_usage_and_the_reply() {
        let (items, finish, parser) = parse(&fixture("hello"));
        let answer = "echo: hello w1 w2 w3 w4 w5 w6 w7 w8 w9 w10 w11 w12 w13 w14 w15 w16 w17 w18";
        assert_eq!(
            items,
            vec![
                text(answer),
                usage("claude-opus-5-5", [0, 20, 0, 2358], 0.012189999999999998),
            ]
        );
        assert_eq!(finish, reply(answer));
        assert_eq!(
            parser.session_id(),
            Some("9197f65d-2b03-4f1e-afe2-783bd60bb4e2")
        );
    }

    #[test]
    fn a_tool_call_is_reported_with_its_result() {
        let (items, finish, _) = parse(&fixture("tool_default"));
        let answer = "tool results: toolu_833754f9fb961fd000=hi";
        assert_eq!(
            items,
            vec![
                StreamItem::ProviderToolCall(ToolCall {
                    id: CallId("toolu_833754f9fb961fd000".into()),
                    tool: "Bash".into(),
                    args: json!({"command": "echo hi"}),
                }),
                StreamItem::ProviderToolResult {
                    call: CallId("toolu_833754f9fb961fd000".into()),
                    ok: true,
                    output: "hi".into(),
                },
                text(answer),
                usage("claude-opus-5-5", [0, 7, 908, 3815], 0.0193966),
            ]
        );
        assert_eq!(finish, reply(answer));
    }

    #[test]
    fn a_denied_tool_gives_a_notice_and_a_failed_result() {
        let (items, _, _) = parse(&fixture("touch_default"));
        let denial = "touch in '<tmp>/work/made.txt' needs approval. The path is inside the working directories for this session ('<tmp>/work'), and Claude Code asks before a shell command creates, changes or removes files there.";
        assert_eq!(
            items[1..3],
            [
                StreamItem::Notice(format!("claude CLI denied Bash: {denial}")),
                StreamItem::ProviderToolResult {
                    call: CallId("toolu_32e6ebff33c9b87800".into()),
                    ok: false,
                    output: denial.into(),
                },
            ]
        );
    }

    #[test]
    fn a_tool_result_given_as_text_blocks_is_joined() {
        // Recorded with a test server that happened to be named `tzzr`; renamed, since tzzr
        // reports its own bridge's calls itself.
        let transcript = fixture("mcp2").replace("mcp__tzzr__", "mcp__other__");
        let (items, _, _) = parse(&transcript);
        assert_eq!(
            items[1],
            StreamItem::ProviderToolResult {
                call: CallId("toolu_3597c05566cabadc00".into()),
                ok: true,
                output: r#"ran {"server": "web1", "command": "uptime"}"#.into(),
            }
        );
    }

    #[test]
    fn calls_of_tzzrs_bridge_tools_are_left_to_tzzr_to_report() {
        // tzzr runs them itself and reports them once, as `list_dir`; the CLI's copy is dropped.
        let lines = [
            r#"{"type":"assistant","message":{"id":"m1","content":[{"type":"tool_use","id":"toolu_1","name":"mcp__tzzr__list_dir","input":{"path":"."}}]}}"#,
            r#"{"type":"user","message":{"role":"user","content":[{"tool_use_id":"toolu_1","type":"tool_result","content":[{"type":"text","text":"[f] a.txt"}]}]}}"#,
            r#"{"type":"assistant","message":{"id":"m2","content":[{"type":"tool_use","id":"toolu_2","name":"Bash","input":{"command":"ls"}}]}}"#,
            r#"{"type":"user","message":{"role":"user","content":[{"tool_use_id":"toolu_2","type":"tool_result","content":"a.txt","is_error":false}]}}"#,
        ];
        let (items, _, _) = parse(&lines.join("\n"));
        assert_eq!(
            items,
            vec![
                StreamItem::ProviderToolCall(ToolCall {
                    id: CallId("toolu_2".into()),
                    tool: "Bash".into(),
                    args: json!({"command": "ls"}),
                }),
                StreamItem::ProviderToolResult {
                    call: CallId("toolu_2".into()),
                    ok: true,
                    output: "a.txt".into(),
                },
            ]
        );
    }

    #[test]
    fn api_retries_are_reported_and_the_error_result_fails_the_run() {
        let (items, finish, _) = parse(&fixture("e429_1"));
        let retry = |attempt, ms| StreamItem::Retry {
            attempt,
            wait: Duration::from_millis(ms),
            reason: "rate_limit (HTTP 429)".into(),
        };
        // The synthetic "API Error" message is not shown as model text: the failure says it.
        assert_eq!(
            items,
            vec![
                retry(1, 1150),
                retry(2, 1176),
                usage("sonnet", [0, 0, 0, 0], 0.0)
            ]
        );
        assert_eq!(
            finish,
            Some(Finish::Failed(
                "API Error: Request rejected (429) · mockllm status directive 429".into()
            ))
        );
    }

    #[test]
    fn not_logged_in_fails_with_the_cli_message() {
        let (items, finish, _) = parse(&fixture("nokey"));
        assert_eq!(items, vec![usage("sonnet", [0, 0, 0, 0], 0.0)]);
        assert_eq!(
            finish,
            Some(Finish::Failed("Not logged in · Please run /login".into()))
        );
    }

    #[test]
    fn max_turns_fails_with_the_errors_of_the_result() {
        let (items, finish, _) = parse(&fixture("mt"));
        assert_eq!(items.len(), 3, "tool call, tool result, usage: {items:?}");
        assert_eq!(
            items[2],
            usage("claude-opus-5-5", [0, 4, 908, 1452], 0.0075216)
        );
        assert_eq!(
            finish,
            Some(Finish::Failed("Reached maximum number of turns (1)".into()))
        );
    }

    #[test]
    fn partial_messages_stream_text_once() {
        let (items, finish, _) = parse(&fixture("partial"));
        assert_eq!(
            items,
            vec![
                text("echo:"),
                text(" hello"),
                text(" w1"),
                text(" w2"),
                text(" w3"),
                usage("claude-opus-5-5", [0, 5, 0, 2359], 0.011895),
            ]
        );
        assert_eq!(finish, reply("echo: hello w1 w2 w3"));
    }

    #[test]
    fn partial_messages_with_a_tool_keep_the_order_and_never_repeat_text() {
        let (items, finish, _) = parse(&fixture("partial_tool"));
        let Some(Finish::Reply(reply)) = finish else {
            panic!("expected a reply, got {finish:?}");
        };
        assert_eq!(streamed_text(&items), reply.text);
        let others: Vec<_> = items
            .iter()
            .filter(|item| !matches!(item, StreamItem::TextDelta(_)))
            .collect();
        assert!(
            matches!(others[0], StreamItem::ProviderToolCall(c) if c.tool == "Read" && c.args == json!({"file_path": "/etc/hostname"}))
        );
        assert!(
            matches!(others[1], StreamItem::Notice(n) if n.starts_with("claude CLI denied Read"))
        );
        assert!(matches!(
            others[2],
            StreamItem::ProviderToolResult { ok: false, .. }
        ));
        assert!(matches!(others[3], StreamItem::Usage { .. }));
        assert_eq!(others.len(), 4);
    }

    #[test]
    fn synthetic_user_lines_are_not_tool_results() {
        let (items, finish, _) = parse(&fixture("llama-server-smollm2"));
        assert!(
            items
                .iter()
                .all(|item| matches!(item, StreamItem::TextDelta(_) | StreamItem::Usage { .. })),
            "{items:?}"
        );
        assert_eq!(items.len(), 4, "three messages of text, then the usage");
        assert_eq!(
            items[3],
            usage("smollm2-135m-instruct", [446, 122, 835, 0], 0.004391)
        );
        assert!(matches!(finish, Some(Finish::Reply(_))));
    }

    #[test]
    fn unknown_fields_lines_and_subtypes_are_ignored_and_garbage_is_skipped() {
        let lines = [
            r#"{"type":"system","subtype":"init","session_id":"s-1","brand_new":{"x":[1,2]}}"#,
            "this is not json {",
            "",
            r#"{"type":"rate_limit_event","info":{"status":"allowed"}}"#,
            r#"{"type":"system","subtype":"hook_started","hook":"x"}"#,
            r#"{"type":"stream_event","event":{"type":"ping"},"session_id":"s-1"}"#,
            r#"{"type":"assistant","message":{"id":"m1","content":[{"type":"text","text":"hi","citations":null},{"type":"server_tool_use","id":"x"}],"new":1},"extra":true}"#,
            r#"{"type":"user","message":{"role":"user","content":"plain text from the CLI"}}"#,
            r#"{"type":"result","subtype":"success","is_error":false,"result":"hi","total_cost_usd":0.5,"usage":{"input_tokens":3,"output_tokens":1,"future":{}},"modelUsage":{"a":{},"b":{}},"new_field":[]}"#,
        ];
        let (items, finish, parser) = parse(&lines.join("\n"));
        assert_eq!(items, vec![text("hi"), usage("sonnet", [3, 1, 0, 0], 0.5)]);
        assert_eq!(finish, reply("hi"));
        assert_eq!(parser.session_id(), Some("s-1"));
    }

    #[test]
    fn thinking_streams_as_reasoning_once() {
        let lines = [
            r#"{"type":"stream_event","event":{"type":"message_start","message":{"id":"m1"}}}"#,
            r#"{"type":"stream_event","event":{"type":"content_block_delta","index":0,"delta":{"type":"thinking_delta","thinking":"hmm"}}}"#,
            r#"{"type":"assistant","message":{"id":"m1","content":[{"type":"thinking","thinking":"hmm","signature":"s"}]}}"#,
            r#"{"type":"assistant","message":{"id":"m2","content":[{"type":"thinking","thinking":"unstreamed"}]}}"#,
        ];
        let (items, _, _) = parse(&lines.join("\n"));
        assert_eq!(
            items,
            vec![
                StreamItem::Reasoning("hmm".into()),
                StreamItem::Reasoning("unstreamed".into())
            ]
        );
    }

    #[test]
    fn a_result_cut_by_max_tokens_or_refused_says_so() {
        let result = |reason: &str| {
            format!(
                r#"{{"type":"result","subtype":"success","is_error":false,"result":"part","stop_reason":"{reason}"}}"#
            )
        };
        let stop_of = |line: &str| match parse(line).1 {
            Some(Finish::Reply(reply)) => reply.stop,
            other => panic!("not a reply: {other:?}"),
        };
        assert_eq!(stop_of(&result("max_tokens")), StopReason::MaxTokens);
        assert_eq!(stop_of(&result("refusal")), StopReason::Refusal);
        assert_eq!(stop_of(&result("end_turn")), StopReason::EndTurn);
        assert_eq!(stop_of(&result("tool_use")), StopReason::EndTurn);
    }

    #[test]
    fn an_error_result_without_text_uses_its_errors() {
        let line = r#"{"type":"result","subtype":"error_during_execution","is_error":true,"result":null,"errors":["first","second"]}"#;
        let (_, finish, _) = parse(line);
        assert_eq!(finish, Some(Finish::Failed("first; second".into())));
    }

    #[test]
    fn a_resume_of_an_unknown_session_is_recognised_and_costs_nothing() {
        let line = r#"{"type":"result","subtype":"error_during_execution","is_error":true,"result":null,"errors":["No conversation found with session ID: 5ff4baef-65d8-4d04-91da-696bcb8591d9"],"total_cost_usd":0}"#;
        let (items, finish, _) = parse(line);
        assert_eq!(items, vec![]);
        assert_eq!(
            finish,
            Some(Finish::SessionNotFound(
                "No conversation found with session ID: 5ff4baef-65d8-4d04-91da-696bcb8591d9"
                    .into()
            ))
        );
    }
}
