#![allow(clippy::unwrap_used, clippy::expect_used)]
//! `http_request` through the whole engine: a scripted agent calls a local server, and the user
//! sees the call finish with the answer when `settings.http_allow_private` is on, and refused
//! (nothing reaching the server) when it is off.

mod support;

use std::net::SocketAddr;
use std::sync::{Arc, Mutex};

use axum::Router;
use axum::http::{HeaderMap, Method};
use axum::routing::any;
use pretty_assertions::assert_eq;
use support::harness::Harness;
use tzzr::engine::protocol::{AgentEvent, EventKind, Outcome};

/// A server on 127.0.0.1 that answers `METHOD x-agent-note: BODY` and remembers each request.
async fn status_server() -> (SocketAddr, Arc<Mutex<Vec<String>>>) {
    let seen = Arc::new(Mutex::new(Vec::new()));
    let log = seen.clone();
    let app = Router::new().route(
        "/status",
        any(move |method: Method, headers: HeaderMap, body: String| {
            let log = log.clone();
            async move {
                let note = headers
                    .get("x-agent-note")
                    .map(|v| v.to_str().unwrap().to_owned())
                    .unwrap_or_default();
                let line = format!("{method} {note}: {body}");
                log.lock().unwrap().push(line.clone());
                ([("content-type", "text/plain")], line)
            }
        }),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, app).await });
    (addr, seen)
}

fn config(addr: SocketAddr, allow_private: bool) -> String {
    format!(
        r#"
settings:
  http_allow_private: {allow_private}
agents:
  fetcher:
    provider: scripted
    tools: [http_request]
    approval: {{http_request: auto}}
    script:
      - text: "Checking the service."
        tool_calls:
          - tool: http_request
            params:
              url: "http://{addr}/status"
              method: POST
              headers: {{X-Agent-Note: deploy}}
              body: ping
      - "Checked."
"#
    )
}

/// `(tool, ok, output)` of the turn's finished call.
fn finished_call(events: &[AgentEvent]) -> (String, bool, String) {
    events
        .iter()
        .find_map(|e| match &e.kind {
            EventKind::ToolCallFinished {
                tool, ok, output, ..
            } => Some((tool.clone(), *ok, output.clone())),
            _ => None,
        })
        .expect("a finished tool call")
}

#[tokio::test]
async fn an_agent_reaches_a_local_service_when_private_addresses_are_allowed() {
    let (addr, seen) = status_server().await;
    let mut h = Harness::start(&config(addr, true)).await;
    let turn = h.prompt("fetcher", "is the service up?");
    let events = h.until_finished(turn).await;
    assert_eq!(
        finished_call(&events),
        (
            "http_request".to_owned(),
            true,
            "HTTP/1.1 200 OK\ncontent-type: text/plain\ncontent-length: 17\n\nPOST deploy: ping"
                .to_owned()
        )
    );
    assert_eq!(
        h.outcome(&events),
        Outcome::Done {
            text: "Checked.".into()
        }
    );
    assert_eq!(*seen.lock().unwrap(), ["POST deploy: ping"]);
    h.shutdown().await;
}

#[tokio::test]
async fn by_default_an_agent_cannot_reach_the_machine_it_runs_on() {
    let (addr, seen) = status_server().await;
    let mut h = Harness::start(&config(addr, false)).await;
    let turn = h.prompt("fetcher", "is the service up?");
    let events = h.until_finished(turn).await;
    assert_eq!(
        finished_call(&events),
        (
            "http_request".to_owned(),
            false,
            format!(
                "refused http://{addr}/status: 127.0.0.1 is a loopback address (set \
                 `settings.http_allow_private: true` to let agents reach local and private \
                 services)"
            )
        )
    );
    assert!(
        h.outcome(&events).is_done(),
        "the agent goes on after a refusal"
    );
    assert_eq!(*seen.lock().unwrap(), Vec::<String>::new());
    h.shutdown().await;
}
