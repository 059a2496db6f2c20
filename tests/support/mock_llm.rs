//! A mock LLM server on 127.0.0.1 speaking both dialects (OpenAI chat completions and Anthropic
//! Messages, streaming or not), for tests, benchmarks and the real Claude CLI. Replies come from
//! a FIFO queue of [`MockReply`]s, else from directives in the last user message, else a default.
//!
//! Routes: `POST /v1/chat/completions`, `POST /v1/messages` (`?beta=true` too), `GET /v1/models`
//! (Anthropic's shape when the request has `anthropic-version`), `GET /props` (llama.cpp's, when
//! `MockOptions::n_ctx` is set), `HEAD /api/hello` → 404.
//! Directives: `[[tool:NAME {json args}]]`, `[[status:N]]` (429 adds `retry-after: 1`),
//! `[[delay:MS]]`, `[[cut]]`, `[[stall]]`, `[[empty]]` (an empty 200 stream, after which the
//! connection is dropped at its next request, as llama-cpp-python does). Default reply:
//! `echo: <last user text>` in several chunks, or `tool results: <id>=<output>; …` after tool
//! results.
#![allow(
    dead_code,
    reason = "each test crate, and the standalone example, uses a different part of the mock"
)]

#[path = "mock_llm/answer.rs"]
pub mod answer;
#[path = "mock_llm/anthropic.rs"]
pub mod anthropic;
#[path = "mock_llm/body.rs"]
pub mod body;
#[path = "mock_llm/directive.rs"]
pub mod directive;
#[path = "mock_llm/incoming.rs"]
pub mod incoming;
#[path = "mock_llm/openai.rs"]
pub mod openai;
#[path = "mock_llm/reply.rs"]
pub mod reply;

use std::collections::{BTreeMap, HashSet, VecDeque};
use std::io::Write as _;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, SystemTime};

use axum::Router;
use axum::body::Body;
use axum::extract::{ConnectInfo, Request, State};
use axum::http::{HeaderMap, Method, StatusCode, header};
use axum::response::{AppendHeaders, IntoResponse, Response};
use serde_json::{Value, json};
use tokio_util::sync::CancellationToken;

use answer::Answer;
use body::{After, endless_stream, frame_stream, whole_reply};
use directive::Directives;
use incoming::{Dialect, Incoming};
#[allow(unused_imports, reason = "the standalone example uses none of these")]
pub use reply::{MockContent, MockEnding, MockReply, MockStop, MockToolCall, MockUsage};

/// Bodies larger than this are refused (the Claude CLI sends ~50 KB).
const MAX_BODY_BYTES: usize = 64 * 1024 * 1024;

/// Headers whose values are secrets: recorded as their length only.
const SECRET_HEADERS: [&str; 6] = [
    "authorization",
    "x-api-key",
    "api-key",
    "proxy-authorization",
    "cookie",
    "x-goog-api-key",
];

/// How to start a mock.
#[derive(Clone, Debug)]
pub struct MockOptions {
    /// 0: any free port.
    pub port: u16,
    /// When set, `/v1/*` requests without this key (`x-api-key` or `Authorization: Bearer`) get
    /// HTTP 401.
    pub api_key: Option<String>,
    /// Wait before every answer that does not set its own delay.
    pub default_delay: Duration,
    /// What `GET /v1/models` lists.
    pub models: Vec<String>,
    /// Append every request as a JSON line to this file.
    pub log: Option<PathBuf>,
    /// When set, `GET /props` answers as llama.cpp does, with this context size.
    pub n_ctx: Option<u64>,
}

impl Default for MockOptions {
    fn default() -> Self {
        Self {
            port: 0,
            api_key: None,
            default_delay: Duration::ZERO,
            models: vec!["mock-model".to_owned(), "mock-model-large".to_owned()],
            log: None,
            n_ctx: None,
        }
    }
}

impl MockOptions {
    pub fn api_key(mut self, key: impl Into<String>) -> Self {
        self.api_key = Some(key.into());
        self
    }

    /// Answers `GET /props` like a llama.cpp server with `--ctx-size n`.
    pub fn n_ctx(mut self, n: u64) -> Self {
        self.n_ctx = Some(n);
        self
    }

    pub fn default_delay(mut self, delay: Duration) -> Self {
        self.default_delay = delay;
        self
    }
}

/// One request as the mock received it. Secret headers are redacted to their length.
#[derive(Clone, Debug, PartialEq)]
pub struct RecordedRequest {
    pub method: String,
    /// Path and query, e.g. `/v1/messages?beta=true`.
    pub path: String,
    pub headers: BTreeMap<String, String>,
    /// `None` when the body was empty or not JSON.
    pub body: Option<Value>,
}

impl RecordedRequest {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .get(&name.to_ascii_lowercase())
            .map(String::as_str)
    }

    /// The JSON body, or `null`.
    pub fn json(&self) -> &Value {
        self.body.as_ref().unwrap_or(&Value::Null)
    }
}

/// A running mock. Stops (and ends stalled streams) when dropped.
pub struct MockLlm {
    addr: SocketAddr,
    shared: Arc<Shared>,
    server: tokio::task::JoinHandle<()>,
}

struct Shared {
    options: MockOptions,
    shutdown: CancellationToken,
    state: Mutex<MockState>,
}

#[derive(Default)]
struct MockState {
    queue: VecDeque<MockReply>,
    /// Standing answers: a request whose body contains the text gets the reply, every time,
    /// before the queue is looked at.
    rules: Vec<(String, MockReply)>,
    requests: Vec<RecordedRequest>,
    serial: u64,
    /// Clients whose connection served an empty stream: like llama-cpp-python, the mock drops
    /// that connection when it is used again.
    doomed_connections: HashSet<SocketAddr>,
}

impl Shared {
    /// The state; a test that panicked while holding the lock must not take the mock down.
    fn state(&self) -> MutexGuard<'_, MockState> {
        self.state
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }
}

impl MockLlm {
    /// A mock on a free port with default options. Panics if 127.0.0.1 cannot be bound.
    pub async fn start() -> MockLlm {
        match Self::start_with(MockOptions::default()).await {
            Ok(mock) => mock,
            Err(e) => panic!("mock LLM: cannot listen on 127.0.0.1: {e}"),
        }
    }

    pub async fn start_with(options: MockOptions) -> std::io::Result<MockLlm> {
        let listener = tokio::net::TcpListener::bind(("127.0.0.1", options.port)).await?;
        let addr = listener.local_addr()?;
        let shared = Arc::new(Shared {
            options,
            shutdown: CancellationToken::new(),
            state: Mutex::new(MockState::default()),
        });
        let app = Router::new()
            .fallback(handle)
            .with_state(Arc::clone(&shared));
        let stop = shared.shutdown.clone();
        let server = tokio::spawn(async move {
            let app = app.into_make_service_with_connect_info::<SocketAddr>();
            let serving = axum::serve(listener, app)
                .with_graceful_shutdown(async move { stop.cancelled().await });
            if let Err(e) = serving.await {
                tracing::warn!("mock LLM stopped: {e}");
            }
        });
        Ok(MockLlm {
            addr,
            shared,
            server,
        })
    }

    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// `http://127.0.0.1:PORT/v1`, an OpenAI-dialect base URL.
    pub fn openai_base(&self) -> String {
        format!("http://{}/v1", self.addr)
    }

    /// `http://127.0.0.1:PORT`, as `ANTHROPIC_BASE_URL`.
    pub fn anthropic_base(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// Queues a reply for the next chat request (either dialect).
    pub fn push(&self, reply: MockReply) {
        self.shared.state().queue.push_back(reply);
    }

    pub fn push_all(&self, replies: impl IntoIterator<Item = MockReply>) {
        self.shared.state().queue.extend(replies);
    }

    /// Answers every request whose JSON body contains `needle` with `reply`, leaving the queue
    /// for the others (a summariser's requests among an agent's, say).
    pub fn answer_matching(&self, needle: impl Into<String>, reply: MockReply) {
        self.shared.state().rules.push((needle.into(), reply));
    }

    /// Replies queued and not yet used.
    pub fn queued(&self) -> usize {
        self.shared.state().queue.len()
    }

    /// Every request received so far, in order.
    pub fn requests(&self) -> Vec<RecordedRequest> {
        self.shared.state().requests.clone()
    }

    /// The chat requests (`POST` to a chat route) received so far, in order.
    pub fn chat_requests(&self) -> Vec<RecordedRequest> {
        let is_chat = |path: &str| {
            let path = path.split('?').next().unwrap_or(path);
            path.ends_with("/chat/completions") || path.ends_with("/messages")
        };
        self.requests()
            .into_iter()
            .filter(|r| r.method == "POST" && is_chat(&r.path))
            .collect()
    }

    /// Stops serving: open streams end, new connections are refused.
    pub fn stop(&self) {
        self.shared.shutdown.cancel();
    }
}

impl Drop for MockLlm {
    fn drop(&mut self) {
        self.shared.shutdown.cancel();
        self.server.abort();
    }
}

async fn handle(
    State(shared): State<Arc<Shared>>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    request: Request,
) -> Response {
    let method = request.method().clone();
    let uri = request.uri().clone();
    let headers = request.headers().clone();
    let bytes = axum::body::to_bytes(request.into_body(), MAX_BODY_BYTES)
        .await
        .unwrap_or_default();
    let body: Option<Value> = serde_json::from_slice(&bytes).ok();
    record(
        &shared,
        RecordedRequest {
            method: method.to_string(),
            path: uri
                .path_and_query()
                .map_or_else(|| uri.path().to_owned(), |pq| pq.as_str().to_owned()),
            headers: redacted(&headers),
            body: body.clone(),
        },
    );
    if shared.state().doomed_connections.remove(&peer) {
        return body::dropped_connection();
    }
    let path = uri.path().trim_end_matches('/');
    let dialect = if path.ends_with("/messages") || headers.contains_key("anthropic-version") {
        Dialect::Anthropic
    } else {
        Dialect::OpenAi
    };
    let is_api = path.starts_with("/v1/") || path.starts_with("/chat/") || path == "/models";
    if is_api && !key_accepted(&shared.options, &headers) {
        return error_response(dialect, 401, "mockllm: invalid API key", None);
    }
    match (&method, path) {
        (&Method::POST, "/v1/chat/completions" | "/chat/completions") => {
            chat(&shared, peer, Dialect::OpenAi, body, bytes.len()).await
        }
        (&Method::POST, "/v1/messages") => {
            chat(&shared, peer, Dialect::Anthropic, body, bytes.len()).await
        }
        (&Method::GET, "/props") if shared.options.n_ctx.is_some() => axum::Json(json!({
            "default_generation_settings": { "n_ctx": shared.options.n_ctx }
        }))
        .into_response(),
        (&Method::GET, "/v1/models" | "/models") => {
            let models = &shared.options.models;
            let list = match dialect {
                Dialect::OpenAi => openai::models(models),
                Dialect::Anthropic => anthropic::models(models),
            };
            axum::Json(list).into_response()
        }
        _ => {
            let message = format!("mockllm: no route for {method} {path}");
            if method == Method::HEAD {
                StatusCode::NOT_FOUND.into_response()
            } else {
                error_response(dialect, 404, &message, None)
            }
        }
    }
}

fn record(shared: &Shared, request: RecordedRequest) {
    if let Some(path) = &shared.options.log {
        let millis = SystemTime::now()
            .duration_since(SystemTime::UNIX_EPOCH)
            .map_or(0, |d| d.as_millis());
        let line = json!({
            "ts_ms": millis, "method": request.method, "path": request.path,
            "headers": request.headers, "body": request.body,
        });
        let written = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(path)
            .and_then(|mut file| writeln!(file, "{line}"));
        if let Err(e) = written {
            tracing::warn!("mock LLM: cannot log to {}: {e}", path.display());
        }
    }
    shared.state().requests.push(request);
}

fn redacted(headers: &HeaderMap) -> BTreeMap<String, String> {
    headers
        .iter()
        .map(|(name, value)| {
            let name = name.as_str().to_ascii_lowercase();
            let text = String::from_utf8_lossy(value.as_bytes()).into_owned();
            let shown = if SECRET_HEADERS.contains(&name.as_str()) {
                match text.split_once(' ') {
                    Some((scheme, secret)) => {
                        format!("{scheme} <redacted: {} chars>", secret.len())
                    }
                    None => format!("<redacted: {} chars>", text.len()),
                }
            } else {
                text
            };
            (name, shown)
        })
        .collect()
}

fn key_accepted(options: &MockOptions, headers: &HeaderMap) -> bool {
    let Some(required) = &options.api_key else {
        return true;
    };
    let value = |name: &str| headers.get(name).and_then(|v| v.to_str().ok());
    value("x-api-key") == Some(required.as_str())
        || value("authorization").and_then(|v| v.strip_prefix("Bearer ")) == Some(required.as_str())
}

async fn chat(
    shared: &Shared,
    peer: SocketAddr,
    dialect: Dialect,
    body: Option<Value>,
    body_bytes: usize,
) -> Response {
    let Some(body) = body.filter(Value::is_object) else {
        return error_response(dialect, 400, "mockllm: the body is not a JSON object", None);
    };
    let incoming = Incoming::read(dialect, &body, body_bytes);
    let (queued, serial) = {
        let mut state = shared.state();
        state.serial += 1;
        let text = body.to_string();
        let ruled = state
            .rules
            .iter()
            .find(|(needle, _)| text.contains(needle.as_str()))
            .map(|(_, reply)| reply.clone());
        let next = ruled.or_else(|| state.queue.pop_front());
        (next, state.serial)
    };
    let reply = queued
        .or_else(|| Directives::parse(&incoming.user_text()).reply())
        .unwrap_or_default();
    let extra_headers = reply.headers.clone();
    let mut response = answer(shared, peer, dialect, &incoming, reply, serial).await;
    for (name, value) in extra_headers {
        if let (Ok(name), Ok(value)) = (
            header::HeaderName::from_bytes(name.as_bytes()),
            header::HeaderValue::from_str(&value),
        ) {
            response.headers_mut().append(name, value);
        }
    }
    response
}

/// The answer to one chat request: `reply` after its delay, as an error, a whole reply or a
/// stream.
async fn answer(
    shared: &Shared,
    peer: SocketAddr,
    dialect: Dialect,
    incoming: &Incoming,
    reply: MockReply,
    serial: u64,
) -> Response {
    let delay = reply.delay.unwrap_or(shared.options.default_delay);
    if !delay.is_zero() {
        tokio::select! {
            () = tokio::time::sleep(delay) => {}
            () = shared.shutdown.cancelled() => return StatusCode::SERVICE_UNAVAILABLE.into_response(),
        }
    }
    if let Some(status) = reply.status {
        let message = reply
            .error_message
            .clone()
            .unwrap_or_else(|| format!("mockllm status {status}"));
        return error_response(dialect, status, &message, reply.retry_after.as_deref());
    }
    let tool_prefix = match dialect {
        Dialect::OpenAi => "call_mock",
        Dialect::Anthropic => "toolu_mock",
    };
    let answer = Answer::new(&reply, incoming, serial, tool_prefix);
    let shutdown = shared.shutdown.clone();
    if !incoming.stream || reply.ignores_stream {
        let whole = match dialect {
            Dialect::OpenAi => openai::completion(&answer),
            Dialect::Anthropic => anthropic::message(&answer),
        }
        .to_string();
        return whole_reply(whole, &reply.ending, shutdown);
    }
    let mut frames = match dialect {
        Dialect::OpenAi => openai::stream_frames(&answer, incoming.include_usage),
        Dialect::Anthropic => anthropic::stream_frames(&answer),
    };
    if let Some(raw) = &reply.raw_frames {
        frames.frames.clone_from(raw);
    }
    let (sent, after) = match &reply.ending {
        MockEnding::Complete => (frames.frames, After::End),
        MockEnding::Cut { after_frames } => {
            let keep = after_frames.unwrap_or(frames.halfway);
            (first(frames.frames, keep), After::Fail)
        }
        MockEnding::Stall { after_frames } => (first(frames.frames, *after_frames), After::Stall),
        MockEnding::Forever {
            after_frames,
            frame,
        } => {
            let sent = first(frames.frames, *after_frames);
            let stream = endless_stream(sent, frame.clone(), reply.chunk_delay, shutdown);
            return sse_response(Body::from_stream(stream));
        }
        MockEnding::EndEarly { after_frames } => (first(frames.frames, *after_frames), After::End),
        MockEnding::EmptyBody => {
            shared.state().doomed_connections.insert(peer);
            (Vec::new(), After::End)
        }
        MockEnding::ErrorEvent {
            after_frames,
            kind,
            message,
        } => {
            let mut kept = first(frames.frames, *after_frames);
            kept.push(match dialect {
                Dialect::OpenAi => openai::error_frame(kind, message),
                Dialect::Anthropic => anthropic::error_frame(kind, message),
            });
            (kept, After::End)
        }
    };
    let stream = frame_stream(sent, reply.chunk_delay, after, shutdown);
    sse_response(Body::from_stream(stream))
}

fn sse_response(body: Body) -> Response {
    (
        [
            (header::CONTENT_TYPE, "text/event-stream"),
            (header::CACHE_CONTROL, "no-cache"),
        ],
        body,
    )
        .into_response()
}

fn first(mut frames: Vec<String>, n: usize) -> Vec<String> {
    frames.truncate(n);
    frames
}

/// An error in the dialect's shape, with `retry-after` when given.
fn error_response(
    dialect: Dialect,
    status: u16,
    message: &str,
    retry_after: Option<&str>,
) -> Response {
    let code = StatusCode::from_u16(status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    let body = match dialect {
        Dialect::OpenAi => openai::error_body(status, message),
        Dialect::Anthropic => anthropic::error_body(status, message),
    };
    let extra: Vec<(&str, String)> = retry_after
        .map(|value| ("retry-after", value.to_owned()))
        .into_iter()
        .collect();
    (code, AppendHeaders(extra), axum::Json(body)).into_response()
}
