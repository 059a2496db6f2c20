//! A reply made concrete for one request: the default content filled in from the request, tool
//! call ids made up, usage estimated, stop reason chosen. The dialect modules only render it.

use serde_json::Value;

use super::incoming::Incoming;
use super::reply::{MockContent, MockReply, MockStop, MockUsage};

/// How much of each tool output the default reply quotes.
const QUOTED_OUTPUT_CHARS: usize = 80;

/// A tool call with its id decided.
#[derive(Clone, Debug, PartialEq)]
pub struct AnswerCall {
    pub id: String,
    pub name: String,
    pub args: Value,
}

/// Everything a dialect needs to render one answer.
#[derive(Clone, Debug, PartialEq)]
pub struct Answer {
    /// `msg_mock…` / `chatcmpl-mock…`, unique per request.
    pub id: String,
    pub model: String,
    pub text_chunks: Vec<String>,
    pub reasoning_chunks: Vec<String>,
    pub tool_calls: Vec<AnswerCall>,
    pub usage: MockUsage,
    pub stop: MockStop,
    /// Only the first half of the last call's arguments is sent.
    pub cuts_last_call: bool,
}

impl Answer {
    /// `serial` makes ids unique; `tool_id_prefix` is `call_mock` or `toolu_mock`.
    pub fn new(reply: &MockReply, incoming: &Incoming, serial: u64, tool_id_prefix: &str) -> Self {
        let (text_chunks, given_calls) = match &reply.content {
            MockContent::Given {
                text_chunks,
                tool_calls,
            } => (text_chunks.clone(), tool_calls.clone()),
            MockContent::Default => (default_chunks(incoming), Vec::new()),
        };
        let tool_calls: Vec<AnswerCall> = given_calls
            .into_iter()
            .enumerate()
            .map(|(n, call)| AnswerCall {
                id: call
                    .id
                    .unwrap_or_else(|| format!("{tool_id_prefix}_{serial:06}_{n}")),
                name: call.name,
                args: call.args,
            })
            .collect();
        let usage = reply.usage.unwrap_or(MockUsage {
            input: (incoming.body_bytes as u64 / 4).max(1),
            output: (text_chunks.len() + tool_calls.len()).max(1) as u64,
            cache_read: 0,
            cache_write: 0,
        });
        let stop = reply.stop.unwrap_or(if tool_calls.is_empty() {
            MockStop::EndTurn
        } else {
            MockStop::ToolUse
        });
        Self {
            id: format!("{serial:016}"),
            model: incoming.model.clone(),
            text_chunks,
            reasoning_chunks: reply.reasoning_chunks.clone(),
            tool_calls,
            usage,
            stop,
            cuts_last_call: reply.cuts_last_call,
        }
    }

    pub fn text(&self) -> String {
        self.text_chunks.concat()
    }
}

/// `tool results: id=output; …` after tool results, else `echo: <last user text>`, split into
/// chunks at spaces so a stream always has several.
fn default_chunks(incoming: &Incoming) -> Vec<String> {
    if !incoming.tool_results.is_empty() {
        let quoted: Vec<String> = incoming
            .tool_results
            .iter()
            .map(|(id, output)| {
                let head: String = output.chars().take(QUOTED_OUTPUT_CHARS).collect();
                format!("{id}={head}")
            })
            .collect();
        return split_words(&format!("tool results: {}", quoted.join("; ")));
    }
    let last_text = incoming.user_texts.last().map_or("", String::as_str);
    let said = super::directive::Directives::parse(last_text).rest;
    split_words(&format!("echo: {said}"))
}

/// Chunks that end after each space, so joining them gives the text back.
fn split_words(text: &str) -> Vec<String> {
    text.split_inclusive(' ').map(str::to_owned).collect()
}

/// Splits a tool call's JSON text in two pieces (on a character boundary) to exercise a
/// client's accumulation.
pub fn halves(text: &str) -> [&str; 2] {
    let middle = text
        .char_indices()
        .map(|(i, _)| i)
        .nth(text.chars().count() / 2)
        .unwrap_or(text.len());
    [&text[..middle], &text[middle..]]
}
