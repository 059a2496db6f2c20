//! `http_request` against an in-process server on 127.0.0.1: the round trips a model makes,
//! and the ways out it must not find (loopback in any spelling, DNS rebinding, redirects,
//! other schemes, huge and stalled answers).

use std::collections::HashMap;
use std::convert::Infallible;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::Router;
use axum::body::Body;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, Method, StatusCode, Uri, header};
use axum::response::{IntoResponse, Response};
use axum::routing::any;
use pretty_assertions::assert_eq;
use serde_json::{Value, json};
use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;

use super::address::{Guard, HINT};
use super::resolver::{FixedResolver, SystemResolver};
use super::{HttpClient, Request};
use crate::engine::conversation::ToolCall;
use crate::engine::protocol::CallId;
use crate::engine::tools::args::Args;
use crate::engine::tools::error::ToolError;
use crate::engine::tools::limits::bounded;
use crate::engine::tools::{ToolContext, ToolOutput, Toolbox};

const FIFTY_MB: usize = 50 * 1024 * 1024;
static CHUNK: [u8; 64 * 1024] = [b'x'; 64 * 1024];

/// What the test server saw and did.
#[derive(Clone, Default)]
struct Seen {
    /// `METHOD /path` of every request, in order.
    requests: Arc<Mutex<Vec<String>>>,
    /// Bytes of the 50 MB body handed to the connection so far.
    big_bytes_sent: Arc<AtomicUsize>,
    /// Told when a request reaches `/stall`.
    stalled: Option<mpsc::UnboundedSender<()>>,
}

struct Server {
    addr: SocketAddr,
    seen: Seen,
    stalled: mpsc::UnboundedReceiver<()>,
}

impl Server {
    async fn start() -> Self {
        let (stall_tx, stalled) = mpsc::unbounded_channel();
        let seen = Seen {
            stalled: Some(stall_tx),
            ..Seen::default()
        };
        let app = Router::new()
            .route("/echo", any(echo))
            .route("/status/{code}", any(status))
            .route("/redirect", any(redirect))
            .route("/loop", any(|| async { redirect_to("/loop") }))
            .route("/big", any(big))
            .route("/big-unsized", any(big_unsized))
            .route("/png", any(png))
            .route("/stall", any(stall))
            .fallback(any(echo))
            .with_state(seen.clone());
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        tokio::spawn(async move { axum::serve(listener, app).await });
        Self {
            addr,
            seen,
            stalled,
        }
    }

    fn url(&self, path: &str) -> String {
        format!("http://{}{path}", self.addr)
    }

    fn requests(&self) -> Vec<String> {
        self.seen.requests.lock().unwrap().clone()
    }
}

fn record(seen: &Seen, method: &Method, uri: &Uri) {
    seen.requests
        .lock()
        .unwrap()
        .push(format!("{method} {}", uri.path()));
}

/// Answers with what it received: method, path, the `x-` headers, content-type, and the body.
async fn echo(
    State(seen): State<Seen>,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
    body: String,
) -> Response {
    record(&seen, &method, &uri);
    let mut text = format!("{method} {}\n", uri.path());
    for (name, value) in &headers {
        if name.as_str().starts_with("x-") || name == header::CONTENT_TYPE {
            text.push_str(&format!("{name}: {}\n", value.to_str().unwrap()));
        }
    }
    text.push_str(&format!("\n{body}"));
    (
        [
            (header::CONTENT_TYPE.as_str(), "text/plain; charset=utf-8"),
            ("x-ratelimit-remaining", "7"),
            (header::SET_COOKIE.as_str(), "session=not-for-the-model"),
        ],
        text,
    )
        .into_response()
}

async fn status(
    State(seen): State<Seen>,
    method: Method,
    uri: Uri,
    Path(code): Path<u16>,
) -> Response {
    record(&seen, &method, &uri);
    let status = StatusCode::from_u16(code).unwrap();
    (
        status,
        [(header::RETRY_AFTER, "30")],
        format!("status {code} body"),
    )
        .into_response()
}

fn redirect_to(target: &str) -> Response {
    (StatusCode::FOUND, [(header::LOCATION, target.to_owned())]).into_response()
}

async fn redirect(
    State(seen): State<Seen>,
    method: Method,
    uri: Uri,
    Query(query): Query<HashMap<String, String>>,
) -> Response {
    record(&seen, &method, &uri);
    redirect_to(&query["to"])
}

/// 50 MB, made as it is sent, counting what the connection took.
fn fifty_mb(seen: &Seen) -> Body {
    let sent = seen.big_bytes_sent.clone();
    let chunks = futures::stream::iter(0..FIFTY_MB / CHUNK.len()).map(move |_| {
        sent.fetch_add(CHUNK.len(), Ordering::SeqCst);
        Ok::<_, Infallible>(&CHUNK[..])
    });
    Body::from_stream(chunks)
}

use futures::StreamExt;

async fn big(State(seen): State<Seen>) -> Response {
    (
        [
            (header::CONTENT_TYPE, "text/plain".to_owned()),
            (header::CONTENT_LENGTH, FIFTY_MB.to_string()),
        ],
        fifty_mb(&seen),
    )
        .into_response()
}

async fn big_unsized(State(seen): State<Seen>) -> Response {
    (
        [(header::CONTENT_TYPE, "application/octet-stream")],
        fifty_mb(&seen),
    )
        .into_response()
}

async fn png() -> Response {
    (
        [(header::CONTENT_TYPE, "image/png")],
        b"\x89PNG\r\n\x1a\n\0\0\0\rIHDR".to_vec(),
    )
        .into_response()
}

async fn stall(State(seen): State<Seen>) -> Response {
    if let Some(stalled) = &seen.stalled {
        let _ = stalled.send(());
    }
    std::future::pending().await
}

// --- Calling the tool -------------------------------------------------------------------

fn toolbox(allow_private: bool, timeout: Duration) -> Toolbox {
    let ctx = ToolContext {
        http_allow_private: allow_private,
        timeout,
        ..ToolContext::new(std::env::temp_dir())
    };
    Toolbox::new(&["http_request".to_owned()], ctx)
}

fn call(args: Value) -> ToolCall {
    ToolCall {
        id: CallId("call-1".into()),
        tool: "http_request".into(),
        args,
    }
}

/// The call as a model makes it, through the toolbox.
async fn run(toolbox: &Toolbox, args: Value) -> ToolOutput {
    toolbox.run(&call(args), &CancellationToken::new()).await
}

/// The call through a client with its own guard and resolver, bounded as the toolbox does.
async fn run_with(client: &HttpClient, args: Value) -> Result<String, String> {
    let request =
        Request::from_args(&Args::of("http_request", &args).unwrap()).map_err(|e| e.to_string())?;
    let limit = request.time_limit(Duration::from_secs(30));
    bounded(request.run(client), limit, &CancellationToken::new())
        .await
        .map_err(|e: ToolError| e.to_string())
}

fn open() -> Toolbox {
    toolbox(true, Duration::from_secs(30))
}

fn guarded() -> Toolbox {
    toolbox(false, Duration::from_secs(30))
}

fn echoed(status: &str, extra_headers: &str, body: &str) -> String {
    format!(
        "HTTP/1.1 {status}\ncontent-type: text/plain; charset=utf-8\ncontent-length: {}\n\
         x-ratelimit-remaining: 7{extra_headers}\n\n{body}",
        body.len()
    )
}

// --- Round trips ------------------------------------------------------------------------

#[tokio::test]
async fn a_get_shows_status_useful_headers_and_body() {
    let server = Server::start().await;
    let out = run(
        &open(),
        json!({"url": server.url("/echo"), "headers": {"X-Token": "abc", "X-Count": 3}}),
    )
    .await;
    let body = "GET /echo\nx-count: 3\nx-token: abc\n\n";
    assert_eq!(out, ToolOutput::succeeded(echoed("200 OK", "", body)));
}

#[tokio::test]
async fn every_method_with_a_body_reaches_the_server() {
    let server = Server::start().await;
    let toolbox = open();
    for method in ["POST", "PUT", "PATCH", "DELETE", "post"] {
        let out = run(
            &toolbox,
            json!({
                "url": server.url("/echo"),
                "method": method,
                "headers": {"Content-Type": "application/json"},
                "body": "{\"name\": \"tzzr\"}",
            }),
        )
        .await;
        let upper = method.to_ascii_uppercase();
        let body =
            format!("{upper} /echo\ncontent-type: application/json\n\n{{\"name\": \"tzzr\"}}");
        assert_eq!(
            out,
            ToolOutput::succeeded(echoed("200 OK", "", &body)),
            "{method}"
        );
    }
    assert_eq!(
        server.requests(),
        [
            "POST /echo",
            "PUT /echo",
            "PATCH /echo",
            "DELETE /echo",
            "POST /echo"
        ]
    );
}

#[tokio::test]
async fn head_shows_the_headers_and_no_body() {
    let server = Server::start().await;
    let out = run(
        &open(),
        json!({"url": server.url("/echo"), "method": "HEAD"}),
    )
    .await;
    assert!(out.ok, "{}", out.output);
    assert_eq!(
        out.output,
        "HTTP/1.1 200 OK\ncontent-type: text/plain; charset=utf-8\ncontent-length: 12\n\
         x-ratelimit-remaining: 7"
    );
    assert_eq!(server.requests(), ["HEAD /echo"]);
}

#[tokio::test]
async fn an_error_status_fails_the_call_and_still_shows_the_body() {
    let server = Server::start().await;
    for (code, line) in [(404, "404 Not Found"), (503, "503 Service Unavailable")] {
        let out = run(
            &open(),
            json!({"url": server.url(&format!("/status/{code}"))}),
        )
        .await;
        let expected = format!(
            "HTTP/1.1 {line}\ncontent-type: text/plain; charset=utf-8\ncontent-length: 15\n\
             retry-after: 30\n\nstatus {code} body"
        );
        assert_eq!(out, ToolOutput::failed(expected));
    }
    let out = run(&open(), json!({"url": server.url("/status/299")})).await;
    assert!(
        out.ok && out.output.starts_with("HTTP/1.1 299\n"),
        "{}",
        out.output
    );
}

#[tokio::test]
async fn a_binary_body_is_summarised() {
    let server = Server::start().await;
    let out = run(&open(), json!({"url": server.url("/png")})).await;
    assert_eq!(
        out,
        ToolOutput::succeeded(
            "HTTP/1.1 200 OK\ncontent-type: image/png\ncontent-length: 16\n\n\
             [binary body: 16 bytes of image/png, not shown]"
        )
    );
}

#[tokio::test]
async fn an_allowed_redirect_is_followed_and_named() {
    let server = Server::start().await;
    let out = run(&open(), json!({"url": server.url("/redirect?to=/echo")})).await;
    let final_url = format!("\nfinal url: {}", server.url("/echo"));
    assert!(out.ok, "{}", out.output);
    assert!(
        out.output
            .starts_with(&format!("HTTP/1.1 200 OK{final_url}\n")),
        "{}",
        out.output
    );
    assert_eq!(server.requests(), ["GET /redirect", "GET /echo"]);
}

// --- Ways out ---------------------------------------------------------------------------

fn refused(url: &str, address: &str, why: &str) -> String {
    format!("refused {url}: {address} is {why} ({HINT})")
}

#[tokio::test]
async fn by_default_the_local_server_is_refused_in_every_spelling() {
    let server = Server::start().await;
    let port = server.addr.port();
    let toolbox = guarded();
    for (url, address, why) in [
        (
            format!("http://127.0.0.1:{port}/echo"),
            "127.0.0.1",
            "a loopback address",
        ),
        (
            format!("http://2130706433:{port}/echo"),
            "127.0.0.1",
            "a loopback address",
        ),
        (
            format!("http://0x7f.1:{port}/echo"),
            "127.0.0.1",
            "a loopback address",
        ),
        (
            format!("http://0177.0.0.1:{port}/echo"),
            "127.0.0.1",
            "a loopback address",
        ),
        (
            format!("http://127.1:{port}/echo"),
            "127.0.0.1",
            "a loopback address",
        ),
        (
            format!("http://[::ffff:127.0.0.1]:{port}/echo"),
            "::ffff:127.0.0.1",
            "an IPv4-mapped address of 127.0.0.1",
        ),
        (
            format!("http://[::1]:{port}/echo"),
            "::1",
            "the loopback address",
        ),
        (
            format!("http://0.0.0.0:{port}/echo"),
            "0.0.0.0",
            "the unspecified address",
        ),
        (
            "http://169.254.169.254/latest/meta-data/".to_owned(),
            "169.254.169.254",
            "the cloud metadata address",
        ),
    ] {
        let out = run(&toolbox, json!({"url": url})).await;
        let normalised = url::Url::parse(&url).unwrap();
        assert_eq!(
            out,
            ToolOutput::failed(refused(normalised.as_str(), address, why)),
            "{url}"
        );
    }
    let out = run(
        &toolbox,
        json!({"url": format!("http://localhost:{port}/echo")}),
    )
    .await;
    assert!(!out.ok);
    assert!(
        out.output.starts_with(&format!(
            "refused http://localhost:{port}/echo: localhost resolves only to refused addresses: "
        )),
        "{}",
        out.output
    );
    assert_eq!(
        server.requests(),
        Vec::<String>::new(),
        "nothing reached the server"
    );
}

#[tokio::test]
async fn other_schemes_are_refused_even_with_allow_private() {
    for toolbox in [guarded(), open()] {
        for (url, scheme) in [
            ("file:///etc/passwd", "file"),
            ("ftp://ftp.example.com/pub/", "ftp"),
            ("gopher://127.0.0.1:70/", "gopher"),
        ] {
            assert_eq!(
                run(&toolbox, json!({"url": url})).await,
                ToolOutput::failed(format!(
                    "refused {url}: only http and https URLs are allowed, not `{scheme}:`"
                ))
            );
        }
    }
}

#[tokio::test]
async fn a_name_rebound_to_loopback_is_refused_at_connect() {
    let server = Server::start().await;
    let names = FixedResolver {
        answers: vec![("rebind.test", vec!["127.0.0.1".parse().unwrap()])],
    };
    let client = HttpClient::with(Guard::new(false), Arc::new(names));
    let url = format!("http://rebind.test:{}/echo", server.addr.port());
    let out = run_with(&client, json!({"url": url})).await;
    assert_eq!(
        out,
        Err(format!(
            "refused {url}: rebind.test resolves only to refused addresses: 127.0.0.1 is a \
             loopback address ({HINT})"
        ))
    );
    assert_eq!(server.requests(), Vec::<String>::new());
}

#[tokio::test]
async fn a_redirect_to_loopback_from_an_allowed_hop_is_refused() {
    let allowed = Server::start().await;
    let target = Server::start().await;
    let port = target.addr.port();
    let client = HttpClient::with(
        Guard::allowing_only(vec![allowed.addr]),
        Arc::new(SystemResolver),
    );
    let echo = allowed.url("/echo");
    assert!(
        run_with(&client, json!({"url": echo})).await.is_ok(),
        "the first hop is allowed"
    );
    for (to, refusal) in [
        (
            format!("http://127.0.0.1:{port}/"),
            format!("127.0.0.1 is a loopback address ({HINT})"),
        ),
        (
            format!("http://2130706433:{port}/"),
            format!("127.0.0.1 is a loopback address ({HINT})"),
        ),
        (
            format!("http://[::ffff:127.0.0.1]:{port}/"),
            format!("::ffff:127.0.0.1 is an IPv4-mapped address of 127.0.0.1 ({HINT})"),
        ),
        (
            "http://169.254.169.254/latest/meta-data/".to_owned(),
            format!("169.254.169.254 is the cloud metadata address ({HINT})"),
        ),
    ] {
        let mut from = url::Url::parse(&allowed.url("/redirect")).unwrap();
        from.query_pairs_mut().append_pair("to", &to);
        let out = run_with(&client, json!({"url": from.as_str()})).await;
        let normalised = url::Url::parse(&to).unwrap();
        assert_eq!(
            out,
            Err(format!(
                "refused the redirect to {normalised}: {refusal} (redirected from {from})"
            )),
            "{to}"
        );
    }
    let mut from = url::Url::parse(&allowed.url("/redirect")).unwrap();
    from.query_pairs_mut()
        .append_pair("to", &format!("http://localhost:{port}/"));
    let out = run_with(&client, json!({"url": from.as_str()}))
        .await
        .unwrap_err();
    assert!(
        out.starts_with(&format!(
            "refused a redirect from {from}: localhost resolves only to refused addresses: "
        )),
        "{out}"
    );
    assert_eq!(
        target.requests(),
        Vec::<String>::new(),
        "no hop reached the target"
    );

    // A redirect to another scheme is not followed at all: the model sees where it pointed.
    let mut from = url::Url::parse(&allowed.url("/redirect")).unwrap();
    from.query_pairs_mut()
        .append_pair("to", "file:///etc/passwd");
    let out = run_with(&client, json!({"url": from.as_str()})).await;
    assert_eq!(
        out,
        Ok(
            "HTTP/1.1 302 Found\ncontent-length: 0\nlocation: file:///etc/passwd\n\n[empty body]"
                .to_owned()
        )
    );
}

#[tokio::test]
async fn a_redirect_loop_stops_after_ten_hops() {
    let server = Server::start().await;
    let out = run(&open(), json!({"url": server.url("/loop")})).await;
    assert_eq!(
        out,
        ToolOutput::failed(format!(
            "stopped after 10 redirects (the next was to {}) (starting at {})",
            server.url("/loop"),
            server.url("/loop")
        ))
    );
}

// --- Size, time and cancel --------------------------------------------------------------

#[tokio::test]
async fn a_50_mb_body_is_cut_quickly_without_reading_the_rest() {
    let server = Server::start().await;
    let started = Instant::now();
    let out = run(&open(), json!({"url": server.url("/big")})).await;
    let elapsed = started.elapsed();
    assert!(out.ok);
    let (head, note) = out.output.rsplit_once('\n').unwrap();
    assert_eq!(
        note,
        "[… body cut after 80000 bytes of 52428800; the rest was not read]"
    );
    assert!(head.ends_with(&format!("\n\n{}", "x".repeat(80_000))));
    assert!(elapsed < Duration::from_secs(10), "took {elapsed:?}");
    // Socket buffers hold a few megabytes at most; the rest was never made.
    let sent = server.seen.big_bytes_sent.load(Ordering::SeqCst);
    assert!(sent < FIFTY_MB / 2, "the server got {sent} bytes out");
}

#[tokio::test]
async fn a_50_mb_binary_body_of_unknown_length_is_summarised() {
    let server = Server::start().await;
    let out = run(&open(), json!({"url": server.url("/big-unsized")})).await;
    assert_eq!(
        out,
        ToolOutput::succeeded(
            "HTTP/1.1 200 OK\ncontent-type: application/octet-stream\n\n\
             [binary body: more than 80000 bytes of application/octet-stream, not shown]"
        )
    );
}

#[tokio::test]
async fn a_stalled_server_hits_the_models_timeout() {
    let server = Server::start().await;
    let started = Instant::now();
    let out = run(
        &open(),
        json!({"url": server.url("/stall"), "timeout": 0.3}),
    )
    .await;
    assert_eq!(out, ToolOutput::failed("timed out after 0.3s"));
    assert!(started.elapsed() < Duration::from_secs(10));
}

#[tokio::test]
async fn the_models_timeout_cannot_exceed_the_agents() {
    let server = Server::start().await;
    let toolbox = toolbox(true, Duration::from_millis(200));
    for timeout in [json!("3600"), json!(1e300)] {
        let out = run(
            &toolbox,
            json!({"url": server.url("/stall"), "timeout": timeout}),
        )
        .await;
        assert_eq!(out, ToolOutput::failed("timed out after 0.2s"));
    }
}

#[tokio::test]
async fn cancelling_ends_a_call_in_flight() {
    let mut server = Server::start().await;
    let toolbox = open();
    let cancel = CancellationToken::new();
    let stall = call(json!({"url": server.url("/stall")}));
    let (out, ()) = tokio::join!(toolbox.run(&stall, &cancel), async {
        server.stalled.recv().await;
        cancel.cancel();
    });
    assert_eq!(out, ToolOutput::failed("cancelled"));
}

// --- What the model gets wrong ----------------------------------------------------------

#[tokio::test]
async fn a_closed_port_is_one_clear_line() {
    // A port held without listening: connections to it are refused, and no other test's
    // server can take it meanwhile.
    let socket = tokio::net::TcpSocket::new_v4().unwrap();
    socket.bind("127.0.0.1:0".parse().unwrap()).unwrap();
    let url = format!("http://{}/", socket.local_addr().unwrap());
    let out = run(&open(), json!({"url": url})).await;
    assert_eq!(
        out,
        ToolOutput::failed(format!("cannot connect to {url}: connection refused"))
    );
}

#[tokio::test]
async fn bad_arguments_are_explained() {
    let toolbox = open();
    for (args, expected) in [
        (json!({}), "missing required parameter `url`"),
        (json!({"url": " "}), "parameter `url` is empty"),
        (
            json!({"url": "example.com/x"}),
            "parameter `url` is not a valid URL (relative URL without a base): example.com/x; \
             write it in full, like https://example.com/path",
        ),
        (
            json!({"url": "http://example.com/", "method": "TRACE"}),
            "method `TRACE` is not supported (use one of GET, POST, PUT, PATCH, DELETE, HEAD)",
        ),
        (
            json!({"url": "http://example.com/", "headers": "X-A: 1"}),
            "parameter `headers` must be an object of header names to string values",
        ),
        (
            json!({"url": "http://example.com/", "headers": {"X-A": "1\r\nHost: evil"}}),
            "the value of header `X-A` is not valid (no line breaks or control characters)",
        ),
        (
            json!({"url": "http://example.com/", "headers": {"Bad Name": "1"}}),
            "`Bad Name` is not a valid header name",
        ),
        (
            json!({"url": "http://example.com/", "headers": {"X-A": ["1"]}}),
            "header `X-A` must have a string value",
        ),
        (
            json!({"url": "http://example.com/", "timeout": -1}),
            "parameter `timeout` must be a positive number of seconds",
        ),
        (
            json!({"url": "http://example.com/", "timeout": "soon"}),
            "parameter `timeout` must be a positive number of seconds",
        ),
    ] {
        assert_eq!(
            run(&toolbox, args.clone()).await,
            ToolOutput::failed(expected),
            "{args}"
        );
    }
}
