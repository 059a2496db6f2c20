//! The `scripted` provider: replays replies written in the config (text streamed word by word,
//! tool calls, failures, replies cut by max_tokens), for demos and tests. It is no model, and is labelled so wherever shown.

use tokio_util::sync::CancellationToken;

use super::{ModelReply, ModelRequest, ProviderError, Sink, StopReason, StreamItem};
use crate::engine::config::{ScriptedReply, ScriptedStop};
use crate::engine::conversation::{Message, ToolCall, last_user_text};
use crate::engine::protocol::{CallId, TokenUsage};

#[derive(Debug)]
pub struct Scripted {
    replies: Vec<ScriptedReply>,
    next: usize,
    calls: u64,
}

impl Scripted {
    pub fn new(replies: Vec<ScriptedReply>) -> Self {
        Self {
            replies,
            next: 0,
            calls: 0,
        }
    }

    /// Plays the next reply (from the start again after the last). With no script it echoes the
    /// last user message.
    pub async fn complete(
        &mut self,
        req: &ModelRequest<'_>,
        cancel: &CancellationToken,
        sink: Sink<'_>,
    ) -> Result<ModelReply, ProviderError> {
        self.calls += 1;
        let reply = match self.replies.get(self.next) {
            Some(reply) => {
                self.next = (self.next + 1) % self.replies.len();
                reply.clone()
            }
            None => ScriptedReply {
                text: format!("(scripted) you said: {}", last_user_text(req.messages)),
                ..ScriptedReply::default()
            },
        };
        if let Some(message) = reply.error {
            return Err(ProviderError::Scripted { message });
        }
        let mut words = 0u64;
        for piece in reply.text.split_inclusive(' ') {
            if !reply.delay.is_zero() {
                tokio::select! {
                    () = tokio::time::sleep(reply.delay) => {}
                    () = cancel.cancelled() => return Err(ProviderError::Cancelled),
                }
            } else if cancel.is_cancelled() {
                return Err(ProviderError::Cancelled);
            }
            sink(StreamItem::TextDelta(piece.to_owned()));
            words += 1;
        }
        let mut tool_calls = Vec::new();
        let mut cut_calls = Vec::new();
        for (i, call) in reply.tool_calls.iter().enumerate() {
            let made = ToolCall {
                id: CallId(format!("script-{}-{}", self.calls, i + 1)),
                tool: call.tool.clone(),
                args: call.params.clone(),
            };
            if call.cut {
                cut_calls.push(made);
            } else {
                tool_calls.push(made);
            }
        }
        let input_chars: usize = req.system.len()
            + req
                .messages
                .iter()
                .map(Message::approx_chars)
                .sum::<usize>();
        sink(StreamItem::Usage {
            model: req.model.to_owned(),
            usage: TokenUsage {
                input: (input_chars as u64).div_ceil(4),
                output: words + 8 * tool_calls.len() as u64,
                ..TokenUsage::default()
            },
            reported_cost_usd: None,
            estimated: false,
        });
        let stop = match reply.stop {
            Some(ScriptedStop::MaxTokens) => StopReason::MaxTokens,
            Some(ScriptedStop::ContentFilter) => StopReason::ContentFilter,
            Some(ScriptedStop::Refusal) => StopReason::Refusal,
            None if tool_calls.is_empty() => StopReason::EndTurn,
            None => StopReason::ToolUse,
        };
        Ok(ModelReply {
            text: reply.text,
            tool_calls,
            stop,
            cut_calls,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::engine::config::ScriptedToolCall;
    use std::time::Duration;

    fn request(messages: &[Message]) -> ModelRequest<'_> {
        ModelRequest {
            model: "demo",
            system: "",
            messages,
            tools: &[],
            temperature: None,
            max_tokens: None,
        }
    }

    async fn play(
        s: &mut Scripted,
        messages: &[Message],
    ) -> (Result<ModelReply, ProviderError>, Vec<StreamItem>) {
        let mut items = Vec::new();
        let result = s
            .complete(&request(messages), &CancellationToken::new(), &mut |i| {
                items.push(i)
            })
            .await;
        (result, items)
    }

    #[tokio::test]
    async fn replies_stream_word_by_word_then_cycle() {
        let mut s = Scripted::new(vec![
            ScriptedReply {
                text: "hello there".into(),
                ..ScriptedReply::default()
            },
            ScriptedReply {
                text: "second".into(),
                ..ScriptedReply::default()
            },
        ]);
        let msgs = [Message::user("hi")];
        let (reply, items) = play(&mut s, &msgs).await;
        assert_eq!(reply.map(|r| r.text).ok().as_deref(), Some("hello there"));
        assert_eq!(
            items[..2],
            [
                StreamItem::TextDelta("hello ".into()),
                StreamItem::TextDelta("there".into())
            ]
        );
        assert!(matches!(items[2], StreamItem::Usage { .. }));
        let (second, _) = play(&mut s, &msgs).await;
        assert_eq!(second.map(|r| r.text).ok().as_deref(), Some("second"));
        let (third, _) = play(&mut s, &msgs).await;
        assert_eq!(third.map(|r| r.text).ok().as_deref(), Some("hello there"));
    }

    #[tokio::test]
    async fn tool_calls_get_ids_and_errors_fail_the_call() {
        let mut s = Scripted::new(vec![
            ScriptedReply {
                text: String::new(),
                tool_calls: vec![ScriptedToolCall {
                    tool: "read".into(),
                    params: serde_json::json!({"path": "a.txt"}),
                    cut: false,
                }],
                ..ScriptedReply::default()
            },
            ScriptedReply {
                error: Some("boom".into()),
                ..ScriptedReply::default()
            },
        ]);
        let msgs = [Message::user("go")];
        let reply = play(&mut s, &msgs)
            .await
            .0
            .ok()
            .unwrap_or_else(|| panic!("reply"));
        assert_eq!(reply.stop, StopReason::ToolUse);
        assert_eq!(reply.tool_calls[0].id, CallId("script-1-1".into()));
        assert_eq!(reply.tool_calls[0].args["path"], "a.txt");
        assert_eq!(
            play(&mut s, &msgs).await.0,
            Err(ProviderError::Scripted {
                message: "boom".into()
            })
        );
    }

    #[tokio::test]
    async fn no_script_echoes_the_prompt() {
        let mut s = Scripted::new(vec![]);
        let reply = play(&mut s, &[Message::user("ping")]).await.0;
        assert_eq!(
            reply.map(|r| r.text).ok().as_deref(),
            Some("(scripted) you said: ping")
        );
    }

    #[tokio::test(start_paused = true)]
    async fn cancel_stops_a_slow_reply() {
        let mut s = Scripted::new(vec![ScriptedReply {
            text: "a b c d e f".into(),
            delay: Duration::from_secs(1),
            ..ScriptedReply::default()
        }]);
        let cancel = CancellationToken::new();
        let trigger = cancel.clone();
        tokio::spawn(async move {
            tokio::time::sleep(Duration::from_millis(2500)).await;
            trigger.cancel();
        });
        let mut items = Vec::new();
        let msgs = [Message::user("x")];
        let result = s
            .complete(&request(&msgs), &cancel, &mut |i| items.push(i))
            .await;
        assert_eq!(result, Err(ProviderError::Cancelled));
        assert_eq!(
            items.len(),
            2,
            "two words streamed before the cancel: {items:?}"
        );
    }
}
