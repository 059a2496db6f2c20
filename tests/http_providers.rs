#![allow(clippy::unwrap_used, clippy::expect_used)]
//! The OpenAI and Anthropic providers against the in-process mock LLM: streaming, tool calls,
//! the follow-up wire shape, usage, errors, timeouts, cancellation and the model list.

mod support;

use std::sync::Arc;
use std::time::Duration;

use pretty_assertions::assert_eq;
use serde_json::json;
use tokio_util::sync::CancellationToken;
use tzzr::engine::conversation::{Message, ToolCall, ToolResult};
use tzzr::engine::protocol::{CallId, TokenUsage};
use tzzr::engine::provider::{
    ModelReply, ModelRequest, ProviderError, StopReason, StreamItem, anthropic, openai,
};
use tzzr::engine::resilience::Endpoint;
use tzzr::engine::resilience::endpoint::Dialect;
use tzzr::engine::tools::ToolSpec;

use support::mock_llm::directive::Directives;
use support::mock_llm::{
    MockEnding, MockLlm, MockOptions, MockReply, MockStop, MockToolCall, MockUsage,
};
use support::{anthropic_endpoint, endpoint, openai_endpoint};

type Outcome = (Result<ModelReply, ProviderError>, Vec<StreamItem>);

fn ask<'a>(messages: &'a [Message], tools: &'a [ToolSpec]) -> ModelRequest<'a> {
    ModelRequest {
        model: "mock-model",
        system: "You are terse.",
        messages,
        tools,
        temperature: None,
        max_tokens: None,
    }
}

async fn call(ep: &Endpoint, req: &ModelRequest<'_>, cancel: &CancellationToken) -> Outcome {
    let mut items = Vec::new();
    let mut sink = |item| items.push(item);
    let result = match ep.dialect {
        Dialect::OpenAi => openai::stream_chat(ep, req, cancel, &mut sink).await,
        Dialect::Anthropic => anthropic::stream_messages(ep, req, cancel, &mut sink).await,
    };
    (result, items)
}

async fn call_once(ep: &Endpoint, messages: &[Message]) -> Outcome {
    call(ep, &ask(messages, &[]), &CancellationToken::new()).await
}

fn text_deltas(items: &[StreamItem]) -> Vec<String> {
    items
        .iter()
        .filter_map(|item| match item {
            StreamItem::TextDelta(text) => Some(text.clone()),
            _ => None,
        })
        .collect()
}

fn usages(items: &[StreamItem]) -> Vec<TokenUsage> {
    items
        .iter()
        .filter_map(|item| match item {
            StreamItem::Usage { usage, .. } => Some(*usage),
            _ => None,
        })
        .collect()
}

fn tools() -> Vec<ToolSpec> {
    vec![
        ToolSpec {
            name: "read".into(),
            description: "Read a file".into(),
            parameters: json!({"type": "object", "properties": {"path": {"type": "string"}}}),
        },
        ToolSpec {
            name: "bash".into(),
            description: "Run a command".into(),
            parameters: json!({"type": "object", "properties": {"command": {"type": "string"}}}),
        },
    ]
}

fn two_tool_calls() -> MockReply {
    MockReply::tool_calls([
        MockToolCall::new("read", json!({"path": "src/main.rs"})).with_id("call_read"),
        MockToolCall::new("bash", json!({"command": "ls -la | head"})).with_id("call_bash"),
    ])
}

fn expected_two_calls() -> Vec<ToolCall> {
    vec![
        ToolCall {
            id: CallId("call_read".into()),
            tool: "read".into(),
            args: json!({"path": "src/main.rs"}),
        },
        ToolCall {
            id: CallId("call_bash".into()),
            tool: "bash".into(),
            args: json!({"command": "ls -la | head"}),
        },
    ]
}

/// A conversation whose last turn answers two tool calls.
fn after_tool_calls() -> Vec<Message> {
    vec![
        Message::user("look around"),
        Message::Assistant {
            text: "Looking.".into(),
            tool_calls: expected_two_calls(),
        },
        Message::ToolResults {
            results: vec![
                ToolResult {
                    call: CallId("call_read".into()),
                    tool: "read".into(),
                    ok: true,
                    output: "fn main() {}".into(),
                },
                ToolResult {
                    call: CallId("call_bash".into()),
                    tool: "bash".into(),
                    ok: false,
                    output: "ls: permission denied".into(),
                },
            ],
        },
    ]
}

fn free_port_nobody_listens_on() -> u16 {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    listener.local_addr().unwrap().port()
}

/// Waits (on the runtime's clock) until the mock has received `n` requests.
async fn received(mock: &MockLlm, n: usize) {
    while mock.requests().len() < n {
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
}

// ---------------------------------------------------------------- OpenAI

#[tokio::test]
async fn openai_streams_text_in_several_deltas_and_returns_the_whole_text() {
    let mock = MockLlm::start().await;
    let ep = openai_endpoint(&mock);
    let (reply, items) = call_once(&ep, &[Message::user("hello there")]).await;

    let reply = reply.unwrap();
    assert_eq!(reply.text, "echo: hello there");
    assert_eq!(reply.stop, StopReason::EndTurn);
    assert_eq!(text_deltas(&items), ["echo: ", "hello ", "there"]);

    let sent = &mock.chat_requests()[0];
    assert_eq!(sent.path, "/v1/chat/completions");
    assert_eq!(
        sent.header("authorization"),
        Some("Bearer <redacted: 7 chars>")
    );
    assert_eq!(sent.json()["stream"], true);
    assert_eq!(
        sent.json()["stream_options"],
        json!({"include_usage": true})
    );
    assert_eq!(
        sent.json()["messages"],
        json!([
            {"role": "system", "content": "You are terse."},
            {"role": "user", "content": "hello there"},
        ])
    );
}

#[tokio::test]
async fn openai_sends_no_authorization_without_a_key() {
    let mock = MockLlm::start().await;
    let ep = endpoint(
        Dialect::OpenAi,
        &mock.openai_base(),
        None,
        Duration::from_secs(30),
    );
    let (reply, _) = call_once(&ep, &[Message::user("hi")]).await;
    reply.unwrap();
    assert_eq!(mock.chat_requests()[0].header("authorization"), None);
}

#[tokio::test]
async fn openai_reports_reasoning_apart_from_text() {
    let mock = MockLlm::start().await;
    mock.push(MockReply::text(["4"]).reasoning(["2+2", " is 4"]));
    let (reply, items) = call_once(&openai_endpoint(&mock), &[Message::user("2+2?")]).await;
    assert_eq!(reply.unwrap().text, "4");
    let reasoning: Vec<&StreamItem> = items
        .iter()
        .filter(|i| matches!(i, StreamItem::Reasoning(_)))
        .collect();
    assert_eq!(
        reasoning,
        [
            &StreamItem::Reasoning("2+2".into()),
            &StreamItem::Reasoning(" is 4".into())
        ]
    );
}

#[tokio::test]
async fn openai_returns_two_tool_calls_of_one_step_with_ids_names_and_args() {
    let mock = MockLlm::start().await;
    mock.push(two_tool_calls());
    let tools = tools();
    let messages = [Message::user("look around")];
    let (reply, _) = call(
        &openai_endpoint(&mock),
        &ask(&messages, &tools),
        &CancellationToken::new(),
    )
    .await;

    assert_eq!(
        reply.unwrap(),
        ModelReply {
            text: String::new(),
            tool_calls: expected_two_calls(),
            stop: StopReason::ToolUse,
            cut_calls: Vec::new(),
        }
    );
    let sent = mock.chat_requests()[0].json().clone();
    assert_eq!(sent["tool_choice"], "auto");
    assert_eq!(sent["tools"][1]["function"]["name"], "bash");
}

#[tokio::test]
async fn openai_sends_tool_results_back_as_tool_messages() {
    let mock = MockLlm::start().await;
    let (reply, _) = call_once(&openai_endpoint(&mock), &after_tool_calls()).await;

    assert_eq!(
        reply.unwrap().text,
        "tool results: call_read=fn main() {}; call_bash=ls: permission denied"
    );
    assert_eq!(
        mock.chat_requests()[0].json()["messages"],
        json!([
            {"role": "system", "content": "You are terse."},
            {"role": "user", "content": "look around"},
            {"role": "assistant", "content": "Looking.", "tool_calls": [
                {"id": "call_read", "type": "function",
                 "function": {"name": "read", "arguments": "{\"path\":\"src/main.rs\"}"}},
                {"id": "call_bash", "type": "function",
                 "function": {"name": "bash", "arguments": "{\"command\":\"ls -la | head\"}"}},
            ]},
            {"role": "tool", "tool_call_id": "call_read", "content": "fn main() {}"},
            {"role": "tool", "tool_call_id": "call_bash", "content": "ls: permission denied"},
        ])
    );
}

#[tokio::test]
async fn openai_reports_usage_once_with_cached_tokens_apart() {
    let mock = MockLlm::start().await;
    mock.push(MockReply::text(["a", "b"]).usage(MockUsage {
        input: 40,
        output: 2,
        cache_read: 60,
        cache_write: 0,
    }));
    let (reply, items) = call_once(&openai_endpoint(&mock), &[Message::user("hi")]).await;
    reply.unwrap();
    assert_eq!(
        usages(&items),
        [TokenUsage {
            input: 40,
            output: 2,
            cache_read: 60,
            cache_write: 0
        }]
    );
    assert!(
        matches!(items.last(), Some(StreamItem::Usage { model, reported_cost_usd: None, .. }) if model == "mock-model")
    );
}

#[tokio::test]
async fn openai_rate_limit_is_a_retryable_429_with_retry_after() {
    let mock = MockLlm::start().await;
    let (reply, items) =
        call_once(&openai_endpoint(&mock), &[Message::user("[[status:429]]")]).await;
    let error = reply.unwrap_err();
    assert_eq!(
        error,
        ProviderError::Http {
            url: format!("{}/chat/completions", mock.openai_base()),
            status: 429,
            message: "mockllm status directive 429".into(),
            retry_after: Some(Duration::from_secs(1)),
        }
    );
    assert!(error.is_retryable());
    assert!(items.is_empty());
}

#[tokio::test]
async fn openai_server_errors_are_retryable_and_bad_requests_are_not() {
    let mock = MockLlm::start().await;
    mock.push(MockReply::status(503).retry_after("2"));
    mock.push(MockReply::status(400).error_message("bad tools"));
    let ep = openai_endpoint(&mock);
    let (unavailable, _) = call_once(&ep, &[Message::user("hi")]).await;
    let unavailable = unavailable.unwrap_err();
    assert!(unavailable.is_retryable());
    assert_eq!(unavailable.retry_after(), Some(Duration::from_secs(2)));
    let (bad, _) = call_once(&ep, &[Message::user("hi")]).await;
    let bad = bad.unwrap_err();
    assert!(
        matches!(&bad, ProviderError::Http { status: 400, message, .. } if message == "bad tools")
    );
    assert!(!bad.is_retryable());
}

#[tokio::test]
async fn openai_wrong_key_is_an_auth_error_with_the_servers_message() {
    let mock = MockLlm::start_with(MockOptions::default().api_key("sk-right"))
        .await
        .unwrap();
    let ep = endpoint(
        Dialect::OpenAi,
        &mock.openai_base(),
        Some("sk-wrong"),
        Duration::from_secs(30),
    );
    let (reply, _) = call_once(&ep, &[Message::user("hi")]).await;
    assert_eq!(
        reply.unwrap_err(),
        ProviderError::Auth {
            url: format!("{}/chat/completions", mock.openai_base()),
            status: 401,
            message: "mockllm: invalid API key".into(),
        }
    );
    let good = endpoint(
        Dialect::OpenAi,
        &mock.openai_base(),
        Some("sk-right"),
        Duration::from_secs(30),
    );
    call_once(&good, &[Message::user("hi")]).await.0.unwrap();
}

#[tokio::test]
async fn openai_cut_stream_is_a_protocol_error_after_the_text_already_shown() {
    let mock = MockLlm::start().await;
    mock.push(MockReply::text(["one ", "two ", "three"]).cut());
    let (reply, items) = call_once(&openai_endpoint(&mock), &[Message::user("hi")]).await;
    let error = reply.unwrap_err();
    assert!(matches!(error, ProviderError::Protocol { .. }), "{error:?}");
    assert!(!error.is_retryable());
    assert_eq!(text_deltas(&items), ["one "]);
}

#[tokio::test]
async fn openai_stream_that_ends_cleanly_before_finishing_is_a_protocol_error() {
    let mock = MockLlm::start().await;
    mock.push(MockReply::text(["one ", "two"]).ending(MockEnding::EndEarly { after_frames: 2 }));
    let (reply, _) = call_once(&openai_endpoint(&mock), &[Message::user("hi")]).await;
    assert_eq!(
        reply,
        Err(ProviderError::Protocol {
            url: format!("{}/chat/completions", mock.openai_base()),
            detail: "the stream ended before the model finished".into(),
        })
    );
}

#[tokio::test]
async fn openai_stream_missing_only_its_done_line_is_accepted() {
    let mock = MockLlm::start().await;
    // role, text, finish: no usage chunk, no [DONE].
    mock.push(MockReply::text(["one"]).ending(MockEnding::EndEarly { after_frames: 3 }));
    let (reply, _) = call_once(&openai_endpoint(&mock), &[Message::user("hi")]).await;
    assert_eq!(reply.unwrap().text, "one");
}

#[tokio::test]
async fn openai_empty_stream_is_asked_again_without_streaming() {
    let mock = MockLlm::start().await;
    mock.push(MockReply::empty_body());
    mock.push(MockReply::text(["Sunny ", "in Paris."]).with_tool_calls([
        MockToolCall::new("weather", json!({"city": "Paris"})).with_id("call__0_weather"),
    ]));
    let tools = tools();
    let messages = [Message::user("weather in Paris")];
    let ep = openai_endpoint(&mock);
    let (reply, items) = call(&ep, &ask(&messages, &tools), &CancellationToken::new()).await;

    assert_eq!(
        reply.unwrap(),
        ModelReply {
            text: "Sunny in Paris.".into(),
            tool_calls: vec![ToolCall {
                id: CallId("call__0_weather".into()),
                tool: "weather".into(),
                args: json!({"city": "Paris"}),
            }],
            stop: StopReason::ToolUse,
            cut_calls: Vec::new(),
        }
    );
    assert_eq!(
        items[0],
        StreamItem::Notice(format!(
            "{} ended the stream without data; asked again without streaming",
            ep.label
        ))
    );
    assert_eq!(items[1], StreamItem::TextDelta("Sunny in Paris.".into()));
    assert_eq!(usages(&items).len(), 1);
    // The streaming request, the fallback on the connection the mock then drops (as
    // llama-cpp-python does), and the fallback again on a fresh connection.
    let sent = mock.chat_requests();
    assert_eq!(sent.len(), 3);
    assert_eq!(sent[0].json()["stream"], true);
    assert_eq!(sent[1], sent[2]);
    assert_eq!(sent[2].json()["stream"], false);
    assert_eq!(sent[2].json().get("stream_options"), None);
    assert_eq!(sent[2].json()["tool_choice"], "auto");
}

#[tokio::test]
async fn openai_reads_a_json_answer_to_a_streaming_request_without_asking_again() {
    let mock = MockLlm::start().await;
    mock.push(MockReply::text(["whole ", "answer"]).ignoring_stream());
    let (reply, items) = call_once(&openai_endpoint(&mock), &[Message::user("hi")]).await;
    assert_eq!(reply.unwrap().text, "whole answer");
    assert_eq!(text_deltas(&items), ["whole answer"]);
    assert_eq!(mock.chat_requests().len(), 1);
}

#[tokio::test]
async fn openai_empty_directive_only_empties_the_streaming_request() {
    let mock = MockLlm::start().await;
    let (reply, items) = call_once(&openai_endpoint(&mock), &[Message::user("[[empty]] hi")]).await;
    assert_eq!(reply.unwrap().text, "echo: hi");
    assert!(matches!(items[0], StreamItem::Notice(_)));
}

#[tokio::test]
async fn openai_cancel_during_a_stalled_stream_returns_cancelled() {
    let mock = Arc::new(MockLlm::start().await);
    mock.push(MockReply::text(["never"]).stall_after(1));
    let cancel = CancellationToken::new();
    let canceller = {
        let (mock, cancel) = (Arc::clone(&mock), cancel.clone());
        tokio::spawn(async move {
            received(&mock, 1).await;
            cancel.cancel();
        })
    };
    let messages = [Message::user("hi")];
    let (reply, _) = call(&openai_endpoint(&mock), &ask(&messages, &[]), &cancel).await;
    assert_eq!(reply, Err(ProviderError::Cancelled));
    canceller.await.unwrap();
}

#[tokio::test]
async fn openai_connection_refused_is_a_retryable_connect_error() {
    let base = format!("http://127.0.0.1:{}/v1", free_port_nobody_listens_on());
    let ep = endpoint(Dialect::OpenAi, &base, None, Duration::from_secs(30));
    let (reply, _) = call_once(&ep, &[Message::user("hi")]).await;
    let error = reply.unwrap_err();
    assert_eq!(
        error,
        ProviderError::Connect {
            url: format!("{base}/chat/completions"),
            detail: "connection refused".into(),
        }
    );
    assert!(error.is_retryable());
    assert_eq!(
        openai::list_models(&ep).await.unwrap_err(),
        ProviderError::Connect {
            url: format!("{base}/models"),
            detail: "connection refused".into(),
        }
    );
}

#[tokio::test(start_paused = true)]
async fn openai_slow_first_byte_is_a_timeout() {
    let mock = MockLlm::start().await;
    mock.push(MockReply::echo().delay(Duration::from_secs(120)));
    let ep = endpoint(
        Dialect::OpenAi,
        &mock.openai_base(),
        None,
        Duration::from_secs(5),
    );
    let (reply, _) = call_once(&ep, &[Message::user("hi")]).await;
    let error = reply.unwrap_err();
    assert_eq!(
        error,
        ProviderError::Timeout {
            url: format!("{}/chat/completions", mock.openai_base()),
            after: Duration::from_secs(5),
        }
    );
    assert!(error.is_retryable());
}

#[tokio::test(start_paused = true)]
async fn openai_stream_silent_for_the_timeout_is_a_timeout() {
    let mock = MockLlm::start().await;
    mock.push(MockReply::text(["a ", "b"]).stall_after(2));
    let ep = endpoint(
        Dialect::OpenAi,
        &mock.openai_base(),
        None,
        Duration::from_secs(5),
    );
    let (reply, _) = call_once(&ep, &[Message::user("hi")]).await;
    assert!(
        matches!(reply, Err(ProviderError::Timeout { .. })),
        "{reply:?}"
    );
}

#[tokio::test]
async fn openai_lists_models() {
    let mock = MockLlm::start().await;
    let ep = openai_endpoint(&mock);
    assert_eq!(
        openai::list_models(&ep).await.unwrap(),
        ["mock-model", "mock-model-large"]
    );
    let sent = &mock.requests()[0];
    assert_eq!(
        (sent.method.as_str(), sent.path.as_str()),
        ("GET", "/v1/models")
    );
    assert_eq!(
        sent.header("authorization"),
        Some("Bearer <redacted: 7 chars>")
    );
}

// ---------------------------------------------------------------- Anthropic

#[tokio::test]
async fn anthropic_streams_text_in_several_deltas_and_returns_the_whole_text() {
    let mock = MockLlm::start().await;
    mock.push(MockReply::text(["Hel", "lo, ", "world"]).reasoning(["let me think"]));
    let ep = anthropic_endpoint(&mock);
    let (reply, items) = call_once(&ep, &[Message::user("greet")]).await;

    assert_eq!(
        reply.unwrap(),
        ModelReply {
            text: "Hello, world".into(),
            tool_calls: vec![],
            stop: StopReason::EndTurn,
            cut_calls: Vec::new(),
        }
    );
    assert_eq!(text_deltas(&items), ["Hel", "lo, ", "world"]);
    assert_eq!(items[0], StreamItem::Reasoning("let me think".into()));

    let sent = &mock.chat_requests()[0];
    assert_eq!(sent.path, "/v1/messages");
    assert_eq!(sent.header("x-api-key"), Some("<redacted: 11 chars>"));
    assert_eq!(sent.header("anthropic-version"), Some("2023-06-01"));
    assert_eq!(sent.header("authorization"), None);
    assert_eq!(
        *sent.json(),
        json!({
            "model": "mock-model",
            "system": "You are terse.",
            "messages": [{"role": "user", "content": "greet"}],
            "max_tokens": 8192,
            "stream": true,
        })
    );
}

#[tokio::test]
async fn anthropic_base_ending_in_v1_is_not_doubled() {
    let mock = MockLlm::start().await;
    let ep = endpoint(
        Dialect::Anthropic,
        &mock.openai_base(),
        None,
        Duration::from_secs(30),
    );
    let (reply, _) = call_once(&ep, &[Message::user("hi")]).await;
    assert_eq!(reply.unwrap().text, "echo: hi");
    assert_eq!(mock.chat_requests()[0].path, "/v1/messages");
}

#[tokio::test]
async fn anthropic_returns_two_tool_calls_of_one_step_with_ids_names_and_args() {
    let mock = MockLlm::start().await;
    mock.push(two_tool_calls());
    let tools = tools();
    let messages = [Message::user("look around")];
    let (reply, _) = call(
        &anthropic_endpoint(&mock),
        &ask(&messages, &tools),
        &CancellationToken::new(),
    )
    .await;

    assert_eq!(
        reply.unwrap(),
        ModelReply {
            text: String::new(),
            tool_calls: expected_two_calls(),
            stop: StopReason::ToolUse,
            cut_calls: Vec::new(),
        }
    );
    let sent = mock.chat_requests()[0].json().clone();
    assert_eq!(sent["tools"][0]["name"], "read");
    assert_eq!(sent["tools"][0]["input_schema"]["type"], "object");
}

#[tokio::test]
async fn anthropic_sends_tool_results_as_a_user_turn_of_tool_result_blocks() {
    let mock = MockLlm::start().await;
    let mut messages = after_tool_calls();
    // A prompt sent while the tools ran: it joins the tool results' user turn.
    messages.push(Message::user("and be quick"));
    let (reply, _) = call_once(&anthropic_endpoint(&mock), &messages).await;

    assert_eq!(
        reply.unwrap().text,
        "tool results: call_read=fn main() {}; call_bash=ls: permission denied"
    );
    assert_eq!(
        mock.chat_requests()[0].json()["messages"],
        json!([
            {"role": "user", "content": "look around"},
            {"role": "assistant", "content": [
                {"type": "text", "text": "Looking."},
                {"type": "tool_use", "id": "call_read", "name": "read", "input": {"path": "src/main.rs"}},
                {"type": "tool_use", "id": "call_bash", "name": "bash", "input": {"command": "ls -la | head"}},
            ]},
            {"role": "user", "content": [
                {"type": "tool_result", "tool_use_id": "call_read", "content": "fn main() {}", "is_error": false},
                {"type": "tool_result", "tool_use_id": "call_bash", "content": "ls: permission denied", "is_error": true},
                {"type": "text", "text": "and be quick"},
            ]},
        ])
    );
}

#[tokio::test]
async fn anthropic_reports_usage_once_with_cache_reads_and_writes() {
    let mock = MockLlm::start().await;
    mock.push(MockReply::text(["ok"]).usage(MockUsage {
        input: 12,
        output: 5,
        cache_read: 2000,
        cache_write: 300,
    }));
    let (reply, items) = call_once(&anthropic_endpoint(&mock), &[Message::user("hi")]).await;
    reply.unwrap();
    assert_eq!(
        usages(&items),
        [TokenUsage {
            input: 12,
            output: 5,
            cache_read: 2000,
            cache_write: 300
        }]
    );
}

#[tokio::test]
async fn anthropic_max_tokens_stop_is_reported() {
    let mock = MockLlm::start().await;
    mock.push(MockReply::text(["trunc"]).stop(MockStop::MaxTokens));
    let (reply, _) = call_once(&anthropic_endpoint(&mock), &[Message::user("hi")]).await;
    assert_eq!(reply.unwrap().stop, StopReason::MaxTokens);
}

#[tokio::test]
async fn anthropic_rate_limit_is_a_retryable_429_with_retry_after() {
    let mock = MockLlm::start().await;
    let (reply, _) = call_once(
        &anthropic_endpoint(&mock),
        &[Message::user("[[status:429]]")],
    )
    .await;
    let error = reply.unwrap_err();
    assert_eq!(
        error,
        ProviderError::Http {
            url: format!("{}/v1/messages", mock.anthropic_base()),
            status: 429,
            message: "mockllm status directive 429".into(),
            retry_after: Some(Duration::from_secs(1)),
        }
    );
    assert!(error.is_retryable());
}

#[tokio::test]
async fn anthropic_overloaded_error_event_is_a_retryable_529() {
    let mock = MockLlm::start().await;
    mock.push(MockReply::text(["x"]).error_event("overloaded_error", "Overloaded"));
    let (reply, _) = call_once(&anthropic_endpoint(&mock), &[Message::user("hi")]).await;
    let error = reply.unwrap_err();
    assert!(
        matches!(&error, ProviderError::Http { status: 529, message, .. } if message == "Overloaded"),
        "{error:?}"
    );
    assert!(error.is_retryable());
}

#[tokio::test]
async fn anthropic_wrong_key_is_an_auth_error_with_the_servers_message() {
    let mock = MockLlm::start_with(MockOptions::default().api_key("sk-ant-right"))
        .await
        .unwrap();
    let ep = endpoint(
        Dialect::Anthropic,
        &mock.anthropic_base(),
        Some("sk-ant-wrong"),
        Duration::from_secs(30),
    );
    let (reply, _) = call_once(&ep, &[Message::user("hi")]).await;
    assert_eq!(
        reply.unwrap_err(),
        ProviderError::Auth {
            url: format!("{}/v1/messages", mock.anthropic_base()),
            status: 401,
            message: "mockllm: invalid API key".into(),
        }
    );
    assert!(matches!(
        anthropic::list_models(&ep).await,
        Err(ProviderError::Auth { status: 401, .. })
    ));
}

#[tokio::test]
async fn anthropic_cut_stream_is_a_protocol_error() {
    let mock = MockLlm::start().await;
    let (reply, items) = call_once(
        &anthropic_endpoint(&mock),
        &[Message::user("[[cut]] a b c")],
    )
    .await;
    let error = reply.unwrap_err();
    assert!(matches!(error, ProviderError::Protocol { .. }), "{error:?}");
    assert_eq!(text_deltas(&items), ["echo: "]);
}

#[tokio::test]
async fn anthropic_cancel_during_a_stalled_stream_returns_cancelled() {
    let mock = Arc::new(MockLlm::start().await);
    mock.push(MockReply::stall());
    let cancel = CancellationToken::new();
    let canceller = {
        let (mock, cancel) = (Arc::clone(&mock), cancel.clone());
        tokio::spawn(async move {
            received(&mock, 1).await;
            cancel.cancel();
        })
    };
    let messages = [Message::user("hi")];
    let (reply, _) = call(&anthropic_endpoint(&mock), &ask(&messages, &[]), &cancel).await;
    assert_eq!(reply, Err(ProviderError::Cancelled));
    canceller.await.unwrap();
}

#[tokio::test]
async fn anthropic_connection_refused_is_a_connect_error() {
    let base = format!("http://127.0.0.1:{}", free_port_nobody_listens_on());
    let ep = endpoint(Dialect::Anthropic, &base, None, Duration::from_secs(30));
    let (reply, _) = call_once(&ep, &[Message::user("hi")]).await;
    assert_eq!(
        reply.unwrap_err(),
        ProviderError::Connect {
            url: format!("{base}/v1/messages"),
            detail: "connection refused".into(),
        }
    );
}

#[tokio::test(start_paused = true)]
async fn anthropic_stalled_stream_is_a_timeout() {
    let mock = MockLlm::start().await;
    let ep = endpoint(
        Dialect::Anthropic,
        &mock.anthropic_base(),
        None,
        Duration::from_secs(5),
    );
    let (reply, _) = call_once(&ep, &[Message::user("[[stall]]")]).await;
    assert_eq!(
        reply.unwrap_err(),
        ProviderError::Timeout {
            url: format!("{}/v1/messages", mock.anthropic_base()),
            after: Duration::from_secs(5),
        }
    );
}

#[tokio::test]
async fn anthropic_lists_models_with_its_headers() {
    let mock = MockLlm::start().await;
    let ep = anthropic_endpoint(&mock);
    assert_eq!(
        anthropic::list_models(&ep).await.unwrap(),
        ["mock-model", "mock-model-large"]
    );
    let sent = &mock.requests()[0];
    assert_eq!(sent.path, "/v1/models");
    assert_eq!(sent.header("anthropic-version"), Some("2023-06-01"));
    assert_eq!(sent.header("x-api-key"), Some("<redacted: 11 chars>"));
}

// ---------------------------------------------------------------- the mock itself

#[tokio::test]
async fn the_mock_accepts_what_the_claude_cli_sends() {
    let _ = rustls::crypto::ring::default_provider().install_default();
    let mock = MockLlm::start().await;
    let http = reqwest::Client::new();
    let hello = http
        .head(format!("{}/api/hello", mock.anthropic_base()))
        .send()
        .await
        .unwrap();
    assert_eq!(hello.status(), 404);

    let body = json!({
        "model": "claude-opus-5-5",
        "system": [
            {"type": "text", "text": "x-anthropic-billing-header: …"},
            {"type": "text", "text": "You are Claude Code.", "cache_control": {"type": "ephemeral"}},
        ],
        "messages": [
            {"role": "user", "content": [
                {"type": "text", "text": "<system-reminder>be nice</system-reminder>"},
                {"type": "text", "text": "[[tool:Bash {\"command\":\"echo hi\"}]]", "cache_control": {"type": "ephemeral"}},
            ]},
            {"role": "system", "content": [{"type": "text", "text": "# Environment"}]},
        ],
        "tools": [{"name": "Bash", "description": "d", "input_schema": {"type": "object"}},
                  {"name": "DeferredToolPlaceholder", "defer_loading": true}],
        "metadata": {"user_id": "{\"device_id\":\"x\"}"},
        "max_tokens": 128000,
        "thinking": {"type": "adaptive", "display": "updates"},
        "context_management": {"edits": [{"type": "clear_thinking_20251015", "keep": "all"}]},
        "output_config": {"effort": "medium"},
        "stream": true,
    });
    let text = http
        .post(format!("{}/v1/messages?beta=true", mock.anthropic_base()))
        .header("anthropic-version", "2023-06-01")
        .json(&body)
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(text.starts_with("event: message_start\n"), "{text}");
    assert!(text.contains(r#""name":"Bash""#), "{text}");
    assert!(text.contains(r#""stop_reason":"tool_use""#), "{text}");
    assert!(text.ends_with("event: message_stop\ndata: {\"type\":\"message_stop\"}\n\n"));
    assert_eq!(mock.requests()[1].path, "/v1/messages?beta=true");

    // The CLI's follow-up carries the tool result: the mock answers with it.
    let follow_up = json!({
        "model": "claude-opus-5-5",
        "messages": [
            {"role": "user", "content": "[[tool:Bash {}]]"},
            {"role": "assistant", "content": [{"type": "tool_use", "id": "toolu_1", "name": "Bash", "input": {}}]},
            {"role": "user", "content": [{"type": "tool_result", "tool_use_id": "toolu_1",
                "content": [{"type": "text", "text": "hi"}], "is_error": false, "cache_control": {"type": "ephemeral"}}]},
        ],
        "stream": false,
    });
    let message: serde_json::Value = http
        .post(format!("{}/v1/messages?beta=true", mock.anthropic_base()))
        .json(&follow_up)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(message["content"][0]["text"], "tool results: toolu_1=hi");
}

#[tokio::test]
async fn the_mock_answers_odd_requests_with_errors_not_panics() {
    let _ = rustls::crypto::ring::default_provider().install_default();
    let mock = MockLlm::start().await;
    let http = reqwest::Client::new();
    let not_json = http
        .post(format!("{}/chat/completions", mock.openai_base()))
        .body("{oops")
        .send()
        .await
        .unwrap();
    assert_eq!(not_json.status(), 400);
    let odd_shapes = http
        .post(format!("{}/chat/completions", mock.openai_base()))
        .json(&json!({"messages": [42, {"role": 7}, {"role": "user", "content": {"weird": true}}]}))
        .send()
        .await
        .unwrap();
    assert_eq!(odd_shapes.status(), 200);
    let unknown = http
        .get(format!("{}/v2/nothing", mock.anthropic_base()))
        .send()
        .await
        .unwrap();
    assert_eq!(unknown.status(), 404);
}

#[test]
fn mock_directives_carry_json_with_brackets_inside() {
    let found =
        Directives::parse(r#"run [[tool:Bash {"command":"echo [[x]]"}]] and [[tool:list_dir]]"#);
    assert_eq!(
        found.tool_calls,
        [
            MockToolCall::new("Bash", json!({"command": "echo [[x]]"})),
            MockToolCall::new("list_dir", json!({})),
        ]
    );
    assert_eq!(found.rest, "run  and");
}

#[test]
fn mock_directives_that_are_malformed_stay_text() {
    let found = Directives::parse("[[status:abc]] [[tool: {]] [[nope]] [[");
    assert!(found.is_empty());
    assert_eq!(found.rest, "[[status:abc]] [[tool: {]] [[nope]] [[");
}

#[test]
fn mock_directives_combine_status_delay_and_endings() {
    let found = Directives::parse("[[status:429]][[delay:250]] hi [[cut]]");
    assert_eq!(found.status, Some(429));
    assert_eq!(found.delay, Some(Duration::from_millis(250)));
    assert_eq!(found.ending, Some(MockEnding::Cut { after_frames: None }));
    assert_eq!(found.rest, "hi");
    assert_eq!(found.reply().unwrap().retry_after.as_deref(), Some("1"));
}

/// A step whose first call is whole and whose second `max_tokens` cut in half.
fn a_whole_and_a_cut_call() -> MockReply {
    MockReply {
        cuts_last_call: true,
        ..two_tool_calls().stop(MockStop::MaxTokens)
    }
}

#[tokio::test]
async fn a_tool_call_cut_by_max_tokens_is_set_apart_in_both_dialects() {
    let mock = MockLlm::start().await;
    let tools = tools();
    let messages = [Message::user("look around")];
    for ep in [openai_endpoint(&mock), anthropic_endpoint(&mock)] {
        mock.push(a_whole_and_a_cut_call());
        let (reply, _) = call(&ep, &ask(&messages, &tools), &CancellationToken::new()).await;
        let reply = reply.unwrap();
        assert_eq!(reply.stop, StopReason::MaxTokens, "{:?}", ep.dialect);
        assert_eq!(
            reply.tool_calls,
            expected_two_calls()[..1],
            "{:?}",
            ep.dialect
        );
        assert_eq!(reply.cut_calls.len(), 1, "{:?}", ep.dialect);
        assert_eq!(reply.cut_calls[0].id, CallId("call_bash".into()));
    }
}

#[tokio::test]
async fn a_lone_cut_tool_call_is_never_offered_to_run() {
    let mock = MockLlm::start().await;
    let tools = tools();
    let messages = [Message::user("look around")];
    let cut = || {
        MockReply::cut_tool_call(MockToolCall::new(
            "bash",
            json!({"command": "rm -rf build"}),
        ))
    };
    for ep in [openai_endpoint(&mock), anthropic_endpoint(&mock)] {
        mock.push(cut());
        let (reply, _) = call(&ep, &ask(&messages, &tools), &CancellationToken::new()).await;
        let reply = reply.unwrap();
        assert_eq!(reply.tool_calls, vec![], "{:?}", ep.dialect);
        assert_eq!(reply.cut_calls[0].tool, "bash");
    }
}

#[tokio::test]
async fn a_refused_answer_is_a_content_filter_or_a_refusal_not_done() {
    let mock = MockLlm::start().await;
    mock.push(MockReply::text(["I can't"]).stop(MockStop::Refused));
    let (reply, _) = call_once(&openai_endpoint(&mock), &[Message::user("hi")]).await;
    assert_eq!(reply.unwrap().stop, StopReason::ContentFilter);
    mock.push(MockReply::text(["I can't"]).stop(MockStop::Refused));
    let (reply, _) = call_once(&anthropic_endpoint(&mock), &[Message::user("hi")]).await;
    assert_eq!(reply.unwrap().stop, StopReason::Refusal);
}

/// One frame of 1 KB of text in the endpoint's dialect.
fn kilobyte_of_text(dialect: Dialect) -> String {
    let text = "x".repeat(1024);
    match dialect {
        Dialect::OpenAi => format!(
            "data: {}\n\n",
            json!({"choices": [{"index": 0, "delta": {"content": text}}]})
        ),
        Dialect::Anthropic => format!(
            "event: content_block_delta\ndata: {}\n\n",
            json!({"type": "content_block_delta", "index": 0,
                   "delta": {"type": "text_delta", "text": text}})
        ),
    }
}

fn streamed_bytes(items: &[StreamItem]) -> usize {
    text_deltas(items).iter().map(String::len).sum()
}

#[tokio::test]
async fn an_endless_stream_stops_at_the_reply_limit_in_both_dialects() {
    let mock = MockLlm::start().await;
    for mut ep in [openai_endpoint(&mock), anthropic_endpoint(&mock)] {
        ep.bounds.reply_bytes = 256 * 1024;
        mock.push(MockReply::echo().forever(1, kilobyte_of_text(ep.dialect)));
        let (reply, items) = call_once(&ep, &[Message::user("hi")]).await;
        let Err(ProviderError::TooLarge { url, limit }) = reply else {
            panic!("{reply:?}");
        };
        assert!(url.starts_with(&format!("http://{}/", mock.addr())));
        assert_eq!(
            limit,
            "the reply passed 256 KB of text, reasoning and tool arguments (the limit per reply)"
        );
        // Bounded by the cap, not by time: one frame past it at most.
        assert!(
            streamed_bytes(&items) <= 257 * 1024,
            "{}",
            streamed_bytes(&items)
        );
    }
}

#[tokio::test]
async fn a_server_that_ignores_max_tokens_is_stopped_at_four_times_it() {
    let mock = MockLlm::start().await;
    let ep = openai_endpoint(&mock);
    mock.push(MockReply::echo().forever(1, kilobyte_of_text(ep.dialect)));
    let messages = [Message::user("hi")];
    let req = ModelRequest {
        max_tokens: Some(1000),
        ..ask(&messages, &[])
    };
    let (reply, items) = call(&ep, &req, &CancellationToken::new()).await;
    let error = reply.unwrap_err();
    assert_eq!(
        error.to_string(),
        format!(
            "stopped reading {}/chat/completions: the reply passed about 4096 tokens, far beyond its max_tokens of 1000 (the server ignores max_tokens)",
            mock.openai_base()
        )
    );
    assert!(streamed_bytes(&items) <= 4096 * 4 + 1024);
}

#[tokio::test]
async fn one_giant_sse_line_is_refused_at_the_event_limit() {
    let mock = MockLlm::start().await;
    for mut ep in [openai_endpoint(&mock), anthropic_endpoint(&mock)] {
        ep.bounds.event_bytes = 64 * 1024;
        mock.push(MockReply::raw_frames([format!(
            "data: {}",
            "x".repeat(1024 * 1024)
        )]));
        let (reply, _) = call_once(&ep, &[Message::user("hi")]).await;
        let Err(ProviderError::TooLarge { limit, .. }) = reply else {
            panic!("{reply:?}");
        };
        assert_eq!(
            limit,
            "one server-sent event is larger than 64 KB (the limit per event)"
        );
    }
}

#[tokio::test]
async fn a_huge_json_reply_is_refused_at_the_body_limit() {
    let mock = MockLlm::start().await;
    let mut ep = openai_endpoint(&mock);
    ep.bounds.body_bytes = 1024 * 1024;
    mock.push(MockReply::text(["x".repeat(4 * 1024 * 1024)]).ignoring_stream());
    let (reply, items) = call_once(&ep, &[Message::user("hi")]).await;
    assert_eq!(
        reply,
        Err(ProviderError::TooLarge {
            url: format!("{}/chat/completions", mock.openai_base()),
            limit: "the reply body is larger than 1 MB (the limit for a body)".into(),
        })
    );
    assert_eq!(items, vec![]);
}

#[tokio::test(start_paused = true)]
async fn keep_alive_pings_forever_end_at_the_call_deadline_not_never() {
    let mock = MockLlm::start().await;
    for mut ep in [openai_endpoint(&mock), anthropic_endpoint(&mock)] {
        ep.bounds.call_deadline = Duration::from_secs(120);
        mock.push(
            MockReply::echo()
                .forever(1, ": ping\n\n")
                .chunk_delay(Duration::from_secs(1)),
        );
        let started = tokio::time::Instant::now();
        let (reply, _) = call_once(&ep, &[Message::user("hi")]).await;
        let Err(error @ ProviderError::Deadline { .. }) = reply else {
            panic!("{reply:?}");
        };
        assert!(
            error
                .to_string()
                .ends_with("did not finish the reply within 120s (settings.call_timeout)"),
            "{error}"
        );
        // The 30 s idle timeout never fired: the pings kept resetting it.
        assert_eq!(started.elapsed().as_secs(), 120);
    }
}

/// The usage items of a call: (usage, estimated).
fn usages_marked(items: &[StreamItem]) -> Vec<(TokenUsage, bool)> {
    items
        .iter()
        .filter_map(|item| match item {
            StreamItem::Usage {
                usage, estimated, ..
            } => Some((*usage, *estimated)),
            _ => None,
        })
        .collect()
}

#[tokio::test]
async fn a_stream_without_usage_is_counted_with_estimates_llama_cpp_style() {
    let mock = MockLlm::start().await;
    // llama.cpp before usage in streams: text, a finish reason, [DONE]; no usage at all.
    mock.push(MockReply::raw_frames([
        r#"data: {"choices":[{"index":0,"delta":{"content":"Hello there"}}]}"#.to_owned() + "\n\n",
        r#"data: {"choices":[{"index":0,"delta":{},"finish_reason":"stop"}]}"#.to_owned() + "\n\n",
        "data: [DONE]\n\n".to_owned(),
    ]));
    let messages = [Message::user("hi")];
    let (reply, items) = call_once(&openai_endpoint(&mock), &messages).await;
    assert_eq!(reply.unwrap().text, "Hello there");
    let input = tzzr::engine::tokens::estimate_request("You are terse.", &messages, &[]);
    assert_eq!(
        usages_marked(&items),
        [(
            TokenUsage {
                input,
                output: 3,
                cache_read: 0,
                cache_write: 0
            },
            true
        )]
    );
}

#[tokio::test]
async fn a_stream_that_breaks_after_output_still_reports_what_it_produced() {
    let mock = MockLlm::start().await;
    for ep in [openai_endpoint(&mock), anthropic_endpoint(&mock)] {
        mock.push(MockReply::text(["12345678", "tail"]).cut());
        let (reply, items) = call_once(&ep, &[Message::user("hi")]).await;
        assert!(
            matches!(reply, Err(ProviderError::Protocol { .. })),
            "{reply:?}"
        );
        assert_eq!(text_deltas(&items), ["12345678"]);
        let counted = usages_marked(&items);
        assert_eq!(counted.len(), 1, "{:?}: {items:?}", ep.dialect);
        assert_eq!(counted[0].0.output, 2);
        assert!(counted[0].1, "marked as an estimate");
    }
}

#[tokio::test]
async fn a_usage_of_u64_max_is_clamped_with_a_notice_and_wraps_nothing() {
    let mock = MockLlm::start().await;
    let huge = u64::MAX;
    mock.push(MockReply::raw_frames([
        r#"data: {"choices":[{"index":0,"delta":{"content":"hi"},"finish_reason":"stop"}]}"#
            .to_owned()
            + "\n\n",
        format!(
            "data: {}\n\n",
            json!({"choices": [], "usage": {"prompt_tokens": huge, "completion_tokens": huge,
                   "prompt_tokens_details": {"cached_tokens": huge}}})
        ),
        "data: [DONE]\n\n".to_owned(),
    ]));
    let ep = openai_endpoint(&mock);
    let messages = [Message::user("hi")];
    let mut items = Vec::new();
    let mut sink = |item| items.push(item);
    // Through the endpoint's limiter, which books the tokens: nothing may overflow.
    let reply = tzzr::engine::provider::call::call_http(
        &ep,
        &ask(&messages, &[]),
        10,
        &CancellationToken::new(),
        &mut sink,
    )
    .await;
    assert_eq!(reply.unwrap().text, "hi");
    let limit = tzzr::engine::provider::usage::SANE_TOKENS_PER_CALL;
    assert_eq!(
        usages(&items),
        [TokenUsage {
            input: 0,
            output: limit,
            cache_read: limit,
            cache_write: 0
        }]
    );
    assert!(
        items.iter().any(|item| matches!(item, StreamItem::Notice(n)
            if n.contains("reported 18446744073709551615 tokens for one call"))),
        "{items:?}"
    );
}

#[tokio::test]
async fn a_broken_anthropic_stream_counts_the_input_its_server_reported() {
    let mock = MockLlm::start().await;
    mock.push(
        MockReply::text(["12345678", "tail"])
            .usage(MockUsage {
                input: 77,
                output: 9,
                cache_read: 5,
                cache_write: 0,
            })
            .cut(),
    );
    let (reply, items) = call_once(&anthropic_endpoint(&mock), &[Message::user("hi")]).await;
    assert!(reply.is_err());
    // message_start said 77 in (5 cached) and 1 out; two tokens streamed before the break.
    assert_eq!(
        usages_marked(&items),
        [(
            TokenUsage {
                input: 77,
                output: 2,
                cache_read: 5,
                cache_write: 0
            },
            true
        )]
    );
}
