//! One MCP server as agents see it: a cheap handle to a task that owns the connection. The task
//! connects at once in the background, connects again when asked after the server failed or
//! died, and kills the server when it stops. Everyone reads the server's state from one watch
//! channel; calls go straight to the server over a clone of the connection's peer.

use std::sync::Arc;
use std::time::Duration;

use rmcp::model::{CallToolRequestParams, CallToolResponse, JsonObject, Tool};
use rmcp::{Peer, RoleClient, ServiceError};
use serde_json::Value;
use tokio::sync::{mpsc, watch};
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;

use super::connect::{self, Connection, LastWords, Launch};
use super::{content, naming};
use crate::engine::tools::ToolSpec;

/// Where a server stands.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Phase {
    /// Starting, or starting again.
    Connecting,
    Ready,
    /// Not running, and why (one line).
    Down(String),
}

/// A tool of the server, as the server names it and as the model sees it.
#[derive(Clone, Debug, PartialEq)]
pub struct McpTool {
    pub name: String,
    pub spec: ToolSpec,
}

/// What a front end or a turn needs to know about a server right now.
#[derive(Clone, Debug)]
pub struct Snapshot {
    pub phase: Phase,
    /// The tools of the last successful listing (kept while the server is down, so that a call
    /// can start it again).
    pub tools: Arc<[McpTool]>,
    /// Tools the server lists that cannot be offered, each with why.
    pub skipped: Arc<[String]>,
}

#[derive(Clone)]
struct State {
    phase: Phase,
    tools: Arc<[McpTool]>,
    skipped: Arc<[String]>,
    /// The live connection, if any.
    link: Option<Link>,
    /// Connection attempts started so far; also the generation of the newest connection.
    attempts: u64,
}

#[derive(Clone)]
struct Link {
    generation: u64,
    peer: Peer<RoleClient>,
}

enum Request {
    /// Connect unless connected.
    Connect,
    /// A call found this connection dead: close it.
    Drop { generation: u64 },
}

struct Shared {
    name: String,
    state: watch::Sender<State>,
    last_words: LastWords,
}

/// A handle on one MCP server; clones share it.
#[derive(Clone)]
pub struct McpServer {
    shared: Arc<Shared>,
    requests: mpsc::UnboundedSender<Request>,
    /// How long a start may take (handshake and tool list).
    connect_limit: Duration,
}

impl std::fmt::Debug for McpServer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("McpServer")
            .field("name", &self.shared.name)
            .field("phase", &self.shared.state.borrow().phase)
            .finish_non_exhaustive()
    }
}

impl McpServer {
    /// Starts the task that owns the server's connection; it connects at once. The task ends
    /// (and kills the server) when `stop` fires.
    pub fn spawn(
        launch: Launch,
        connect_limit: Duration,
        stop: CancellationToken,
    ) -> (Self, JoinHandle<()>) {
        let (state, _) = watch::channel(State {
            phase: Phase::Connecting,
            tools: Arc::from([]),
            skipped: Arc::from([]),
            link: None,
            attempts: 0,
        });
        let shared = Arc::new(Shared {
            name: launch.name.clone(),
            state,
            last_words: LastWords::default(),
        });
        let (requests, inbox) = mpsc::unbounded_channel();
        let task = tokio::spawn(own_connection(
            shared.clone(),
            launch,
            connect_limit,
            inbox,
            stop,
        ));
        let server = Self {
            shared,
            requests,
            connect_limit,
        };
        (server, task)
    }

    pub fn name(&self) -> &str {
        &self.shared.name
    }

    pub fn snapshot(&self) -> Snapshot {
        let state = self.shared.state.borrow();
        Snapshot {
            phase: state.phase.clone(),
            tools: state.tools.clone(),
            skipped: state.skipped.clone(),
        }
    }

    /// The server's state once it is connected, or once a start (asked for here if it is
    /// down) has failed, or after `limit`, or when `cancel` fires: whichever comes first.
    pub async fn ready(&self, limit: Duration, cancel: &CancellationToken) -> Snapshot {
        let mut state = self.shared.state.subscribe();
        let seen = {
            let now = state.borrow_and_update();
            if now.link.is_some() {
                drop(now);
                return self.snapshot();
            }
            match now.phase {
                Phase::Down(_) => {
                    // A closed inbox means the hub has stopped; the snapshot says so.
                    let _ = self.requests.send(Request::Connect);
                    now.attempts
                }
                Phase::Connecting | Phase::Ready => now.attempts.saturating_sub(1),
            }
        };
        let deadline = tokio::time::sleep(limit);
        tokio::pin!(deadline);
        loop {
            {
                let now = state.borrow_and_update();
                let failed_since = matches!(now.phase, Phase::Down(_)) && now.attempts > seen;
                if now.link.is_some() || failed_since {
                    break;
                }
            }
            tokio::select! {
                changed = state.changed() => if changed.is_err() { break },
                () = &mut deadline => break,
                () = cancel.cancelled() => break,
            }
        }
        self.snapshot()
    }

    /// Calls `tool` (the server's name for it). `Err` carries what the model reads: the
    /// server's error, or why the server could not be reached. Not bounded in time: the caller
    /// races it against its timeout and cancel.
    pub async fn call(&self, tool: &str, args: &Value) -> Result<String, String> {
        let name = &self.shared.name;
        let arguments: JsonObject = match args {
            Value::Object(map) => map.clone(),
            Value::Null => JsonObject::new(),
            _ => return Err(format!("the arguments for `{tool}` must be a JSON object")),
        };
        let link = match self.link() {
            Some(link) => link,
            None => {
                let snapshot = self
                    .ready(self.connect_limit, &CancellationToken::new())
                    .await;
                match (self.link(), snapshot.phase) {
                    (Some(link), _) => link,
                    (None, Phase::Down(why)) => return Err(why),
                    (None, Phase::Connecting | Phase::Ready) => {
                        return Err(format!(
                            "MCP server `{name}` is still starting after {}s; try again later",
                            self.connect_limit.as_secs_f64()
                        ));
                    }
                }
            }
        };
        let request = CallToolRequestParams::new(tool.to_owned()).with_arguments(arguments);
        match link.peer.call_tool_once(request).await {
            Ok(CallToolResponse::Complete(result)) => content::to_text(&result),
            Ok(CallToolResponse::InputRequired(_)) => Err(format!(
                "MCP server `{name}` asked for more input to finish `{tool}`, which tzzr cannot give"
            )),
            Ok(CallToolResponse::Task(_)) => Err(format!(
                "MCP server `{name}` turned `{tool}` into a background task, which tzzr does not follow"
            )),
            // The type is open to new kinds of answer.
            Ok(_) => Err(format!(
                "MCP server `{name}` answered `{tool}` in a way tzzr does not know"
            )),
            Err(ServiceError::McpError(error)) => Err(format!(
                "MCP server `{name}` refused `{tool}`: {}",
                crate::sanitize::line_for_display(&error.message)
            )),
            Err(ServiceError::TransportClosed | ServiceError::TransportSend(_)) => {
                let why = connect::explain(
                    &format!("MCP server `{name}` stopped answering"),
                    None,
                    &self.shared.last_words,
                );
                self.mark_down(link.generation, &why);
                Err(format!(
                    "{why}; this call failed, and the next call starts the server again"
                ))
            }
            Err(other) => Err(format!("MCP server `{name}`: {other}")),
        }
    }

    fn link(&self) -> Option<Link> {
        self.shared.state.borrow().link.clone()
    }

    /// Records that the connection of `generation` is dead (unless a newer one replaced it)
    /// and has the owning task close it.
    fn mark_down(&self, generation: u64, why: &str) {
        self.shared.state.send_if_modified(|state| {
            let current = state.link.as_ref().map(|l| l.generation) == Some(generation);
            if current {
                state.link = None;
                state.phase = Phase::Down(why.to_owned());
            }
            current
        });
        // A closed inbox means the hub has stopped; nothing is left to close.
        let _ = self.requests.send(Request::Drop { generation });
    }
}

/// The task that owns the connection.
async fn own_connection(
    shared: Arc<Shared>,
    launch: Launch,
    connect_limit: Duration,
    mut inbox: mpsc::UnboundedReceiver<Request>,
    stop: CancellationToken,
) {
    let name = shared.name.clone();
    let mut connection: Option<(u64, Connection)> = None;
    let mut wants_connection = true;
    loop {
        if wants_connection && connection.is_none() {
            wants_connection = false;
            let mut generation = 0;
            shared.state.send_modify(|state| {
                state.attempts += 1;
                state.phase = Phase::Connecting;
                generation = state.attempts;
            });
            *shared
                .last_words
                .lock()
                .unwrap_or_else(std::sync::PoisonError::into_inner) = None;
            let opened = tokio::select! {
                opened = connect::open(&launch, connect_limit, &shared.last_words) => opened,
                () = stop.cancelled() => break,
            };
            match opened {
                Ok(opened) => {
                    let (tools, skipped) = offered_tools(&name, &opened.tools);
                    tracing::info!(server = %name, tools = tools.len(), "MCP server connected");
                    let link = Link {
                        generation,
                        peer: opened.peer(),
                    };
                    shared.state.send_modify(|state| {
                        state.phase = Phase::Ready;
                        state.tools = tools.into();
                        state.skipped = skipped.into();
                        state.link = Some(link);
                    });
                    connection = Some((generation, opened));
                }
                Err(why) => {
                    tracing::warn!(server = %name, error = %why, "MCP server did not start");
                    shared
                        .state
                        .send_modify(|state| state.phase = Phase::Down(why));
                }
            }
            continue;
        }
        tokio::select! {
            () = stop.cancelled() => break,
            request = inbox.recv() => match request {
                None => break,
                Some(Request::Connect) => wants_connection = true,
                Some(Request::Drop { generation }) => {
                    if connection.as_ref().is_some_and(|(g, _)| *g == generation)
                        && let Some((_, dead)) = connection.take()
                    {
                        dead.close().await;
                    }
                }
            },
            ended = exited(&mut connection), if connection.is_some() => {
                if let Some((generation, dead)) = connection.take() {
                    let why = connect::explain(
                        &format!("MCP server `{name}` stopped"),
                        ended.ok(),
                        &shared.last_words,
                    );
                    tracing::warn!(server = %name, "{why}");
                    shared.state.send_if_modified(|state| {
                        let newest = state.attempts == generation;
                        if newest {
                            state.link = None;
                            state.phase = Phase::Down(why.clone());
                        }
                        newest
                    });
                    dead.close().await;
                }
            }
        }
    }
    if let Some((_, open)) = connection {
        open.close().await;
    }
    shared.state.send_modify(|state| {
        state.link = None;
        state.phase = Phase::Down(format!("MCP server `{name}` was stopped with tzzr"));
    });
}

async fn exited(
    connection: &mut Option<(u64, Connection)>,
) -> std::io::Result<std::process::ExitStatus> {
    match connection {
        Some((_, open)) => open.exited().await,
        None => std::future::pending().await,
    }
}

/// The server's tools as the model will see them, and those that cannot be offered.
fn offered_tools(server: &str, tools: &[Tool]) -> (Vec<McpTool>, Vec<String>) {
    let mut offered: Vec<McpTool> = Vec::new();
    let mut skipped = Vec::new();
    for tool in tools {
        let raw = tool.name.as_ref();
        if let Some(why) = naming::unusable(server, raw) {
            skipped.push(format!(
                "MCP server `{server}`: tool `{}` is not offered: {why}",
                crate::sanitize::line_for_display(raw)
            ));
            continue;
        }
        if offered.iter().any(|t| t.name == raw) {
            continue;
        }
        offered.push(McpTool {
            name: raw.to_owned(),
            spec: spec_of(server, tool),
        });
    }
    (offered, skipped)
}

/// The spec the model gets: the server's description and input schema under tzzr's name.
fn spec_of(server: &str, tool: &Tool) -> ToolSpec {
    let description = tool
        .description
        .as_deref()
        .or(tool.title.as_deref())
        .unwrap_or_default();
    let mut parameters = (*tool.input_schema).clone();
    // Model APIs want an object schema; servers sometimes leave the type out.
    parameters
        .entry("type")
        .or_insert_with(|| Value::String("object".to_owned()));
    ToolSpec {
        name: naming::tool_name(server, &tool.name),
        description: crate::sanitize::for_display(description).into_owned(),
        parameters: Value::Object(parameters),
    }
}

#[cfg(test)]
mod tests {
    use pretty_assertions::assert_eq;
    use serde_json::json;

    use super::*;

    fn tool(value: Value) -> Tool {
        serde_json::from_value(value).unwrap()
    }

    #[test]
    fn a_servers_tool_is_offered_under_its_mcp_name_with_its_description_and_schema() {
        let echo = tool(json!({
            "name": "echo",
            "description": "Echoes back the input string",
            "inputSchema": {"type": "object", "properties": {"message": {"type": "string"}}, "required": ["message"]}
        }));
        let (offered, skipped) = offered_tools("everything", &[echo]);
        assert_eq!(skipped, Vec::<String>::new());
        assert_eq!(
            offered,
            vec![McpTool {
                name: "echo".into(),
                spec: ToolSpec {
                    name: "mcp__everything__echo".into(),
                    description: "Echoes back the input string".into(),
                    parameters: json!({"type": "object", "properties": {"message": {"type": "string"}}, "required": ["message"]}),
                }
            }]
        );
    }

    #[test]
    fn tools_with_unusable_names_are_skipped_with_a_reason_and_duplicates_dropped() {
        let tools = [
            tool(json!({"name": "a b", "inputSchema": {}})),
            tool(json!({"name": "ok", "title": "Titled", "inputSchema": {}})),
            tool(json!({"name": "ok", "inputSchema": {}})),
            tool(json!({"name": "evil\u{1b}]0;x\u{7}", "inputSchema": {}})),
        ];
        let (offered, skipped) = offered_tools("s", &tools);
        assert_eq!(offered.len(), 1);
        assert_eq!(offered[0].spec.description, "Titled");
        assert_eq!(offered[0].spec.parameters, json!({"type": "object"}));
        assert_eq!(skipped.len(), 2);
        assert!(skipped.iter().all(|s| !s.contains('\u{1b}')), "{skipped:?}");
    }
}
