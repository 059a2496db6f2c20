//! What the mock answers to one request: content (text chunks, reasoning, tool calls, usage),
//! or an HTTP error, with timing (delay before the answer, between chunks) and a way to end
//! (complete, cut, stall, empty body, an error event).

use std::time::Duration;

use serde_json::Value;

/// A tool call the mock makes the model ask for.
#[derive(Clone, Debug, PartialEq)]
pub struct MockToolCall {
    /// `None`: the mock makes one up (`call_mock…` / `toolu_mock…`).
    pub id: Option<String>,
    pub name: String,
    pub args: Value,
}

impl MockToolCall {
    pub fn new(name: impl Into<String>, args: Value) -> Self {
        Self {
            id: None,
            name: name.into(),
            args,
        }
    }

    pub fn with_id(mut self, id: impl Into<String>) -> Self {
        self.id = Some(id.into());
        self
    }
}

/// Token counts the mock reports. `input` excludes cached tokens, as tzzr counts them.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct MockUsage {
    pub input: u64,
    pub output: u64,
    pub cache_read: u64,
    pub cache_write: u64,
}

/// Why the mock's model stopped.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum MockStop {
    EndTurn,
    ToolUse,
    MaxTokens,
    /// Withheld: OpenAI's `content_filter`, Anthropic's `refusal`.
    Refused,
}

/// What the reply says. `Default` is the mock's own answer: `echo: <last user text>`, or
/// `tool results: …` after tool results.
#[derive(Clone, Debug, Default, PartialEq)]
pub enum MockContent {
    #[default]
    Default,
    Given {
        text_chunks: Vec<String>,
        tool_calls: Vec<MockToolCall>,
    },
}

/// How a streamed reply ends. Frames are whole SSE events (`data: …` plus the blank line).
#[derive(Clone, Debug, Default, PartialEq)]
pub enum MockEnding {
    #[default]
    Complete,
    /// The connection is dropped after this many frames (`None`: halfway to the finish).
    Cut { after_frames: Option<usize> },
    /// Nothing more is sent after this many frames (0: headers only), until the mock stops.
    Stall { after_frames: usize },
    /// The body ends properly after this many frames, whatever they were.
    EndEarly { after_frames: usize },
    /// HTTP 200 with SSE headers and no body at all (llama-cpp-python's tool-choice quirk).
    /// Applies to streaming requests only; a non-streaming request gets the content. As with
    /// llama-cpp-python, the next request on the same connection finds it closed.
    EmptyBody,
    /// After this many frames, `frame` again and again (with the chunk delay) until the client
    /// goes away: an endless answer, or `: ping` comments forever.
    Forever { after_frames: usize, frame: String },
    /// An error event after this many frames (`{"error":…}` / `event: error`), then the end.
    ErrorEvent {
        after_frames: usize,
        kind: String,
        message: String,
    },
}

/// One programmed answer. Build with the constructors and chain the modifiers:
/// `MockReply::text(["Hel", "lo"]).chunk_delay(Duration::from_millis(5))`.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct MockReply {
    pub content: MockContent,
    pub reasoning_chunks: Vec<String>,
    /// `None`: estimated (input ≈ request bytes / 4, output = number of chunks).
    pub usage: Option<MockUsage>,
    /// `None`: from the content (tool calls → tool use, else end of turn).
    pub stop: Option<MockStop>,
    /// An HTTP error status instead of an answer (with `retry_after` as the header value).
    pub status: Option<u16>,
    pub retry_after: Option<String>,
    pub error_message: Option<String>,
    /// `None`: the mock's default delay.
    pub delay: Option<Duration>,
    pub chunk_delay: Duration,
    pub ending: MockEnding,
    /// Answer with one JSON object even when the request asks for a stream.
    pub ignores_stream: bool,
    /// Stream only the first half of the last tool call's arguments, as a model cut by
    /// `max_tokens` does (Anthropic: its block is never closed).
    pub cuts_last_call: bool,
    /// Stream exactly these frames instead of the rendered answer (hostile servers).
    pub raw_frames: Option<Vec<String>>,
    /// Sent with the answer, whatever it is (rate-limit headers, …).
    pub headers: Vec<(String, String)>,
}

impl MockReply {
    /// The mock's own answer (echo or tool results), to combine with the modifiers.
    pub fn echo() -> Self {
        Self::default()
    }

    /// Text streamed in exactly these chunks.
    pub fn text<I, S>(chunks: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        Self {
            content: MockContent::Given {
                text_chunks: chunks.into_iter().map(Into::into).collect(),
                tool_calls: Vec::new(),
            },
            ..Self::default()
        }
    }

    /// Tool calls (no text), stop reason tool use.
    pub fn tool_calls(calls: impl IntoIterator<Item = MockToolCall>) -> Self {
        Self {
            content: MockContent::Given {
                text_chunks: Vec::new(),
                tool_calls: calls.into_iter().collect(),
            },
            ..Self::default()
        }
    }

    /// A tool call whose arguments `max_tokens` cut in half: the stream ends with the
    /// dialect's "length" stop reason.
    pub fn cut_tool_call(call: MockToolCall) -> Self {
        Self {
            cuts_last_call: true,
            ..Self::tool_calls([call]).stop(MockStop::MaxTokens)
        }
    }

    /// Streams exactly these frames, whatever the dialect (the ending still applies).
    pub fn raw_frames<I, S>(frames: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        Self {
            raw_frames: Some(frames.into_iter().map(Into::into).collect()),
            ..Self::default()
        }
    }

    /// The rendered answer's first `after_frames` frames, then `frame` forever.
    pub fn forever(self, after_frames: usize, frame: impl Into<String>) -> Self {
        self.ending(MockEnding::Forever {
            after_frames,
            frame: frame.into(),
        })
    }

    /// An HTTP error with the dialect's error body.
    pub fn status(status: u16) -> Self {
        Self {
            status: Some(status),
            ..Self::default()
        }
    }

    /// HTTP 200 with SSE headers and an empty body, for streaming requests.
    pub fn empty_body() -> Self {
        Self::default().ending(MockEnding::EmptyBody)
    }

    /// Headers, then nothing, until the mock stops.
    pub fn stall() -> Self {
        Self::default().ending(MockEnding::Stall { after_frames: 0 })
    }

    /// Adds tool calls after the text.
    pub fn with_tool_calls(mut self, calls: impl IntoIterator<Item = MockToolCall>) -> Self {
        let calls: Vec<MockToolCall> = calls.into_iter().collect();
        self.content = match self.content {
            MockContent::Default => MockContent::Given {
                text_chunks: Vec::new(),
                tool_calls: calls,
            },
            MockContent::Given {
                text_chunks,
                mut tool_calls,
            } => {
                tool_calls.extend(calls);
                MockContent::Given {
                    text_chunks,
                    tool_calls,
                }
            }
        };
        self
    }

    pub fn reasoning<I, S>(mut self, chunks: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        self.reasoning_chunks = chunks.into_iter().map(Into::into).collect();
        self
    }

    pub fn usage(mut self, usage: MockUsage) -> Self {
        self.usage = Some(usage);
        self
    }

    pub fn stop(mut self, stop: MockStop) -> Self {
        self.stop = Some(stop);
        self
    }

    /// The `Retry-After` header value of an error reply (`"1"`, or an HTTP-date).
    pub fn retry_after(mut self, value: impl Into<String>) -> Self {
        self.retry_after = Some(value.into());
        self
    }

    /// Adds a response header (to an answer or an error).
    pub fn header(mut self, name: impl Into<String>, value: impl Into<String>) -> Self {
        self.headers.push((name.into(), value.into()));
        self
    }

    pub fn error_message(mut self, message: impl Into<String>) -> Self {
        self.error_message = Some(message.into());
        self
    }

    /// Wait this long before answering (before the headers).
    pub fn delay(mut self, delay: Duration) -> Self {
        self.delay = Some(delay);
        self
    }

    /// Wait this long between two frames of a stream.
    pub fn chunk_delay(mut self, delay: Duration) -> Self {
        self.chunk_delay = delay;
        self
    }

    pub fn ending(mut self, ending: MockEnding) -> Self {
        self.ending = ending;
        self
    }

    /// Answer with one JSON object even when the request asks for a stream.
    pub fn ignoring_stream(mut self) -> Self {
        self.ignores_stream = true;
        self
    }

    /// Drop the connection halfway through the stream, before the model finishes.
    pub fn cut(self) -> Self {
        self.ending(MockEnding::Cut { after_frames: None })
    }

    /// Send this many frames, then nothing more.
    pub fn stall_after(self, frames: usize) -> Self {
        self.ending(MockEnding::Stall {
            after_frames: frames,
        })
    }

    /// An error event in the stream after the first frame (`overloaded_error`, …).
    pub fn error_event(self, kind: impl Into<String>, message: impl Into<String>) -> Self {
        self.ending(MockEnding::ErrorEvent {
            after_frames: 1,
            kind: kind.into(),
            message: message.into(),
        })
    }
}
