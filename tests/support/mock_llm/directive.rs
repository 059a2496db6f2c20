//! Directives written in the last user message, so a test can steer a client it cannot program
//! (the real Claude CLI): `[[tool:NAME {json}]]`, `[[status:N]]`, `[[delay:MS]]`, `[[cut]]`,
//! `[[stall]]`, `[[empty]]`. Anything malformed stays plain text.

use std::time::Duration;

use serde_json::Value;

use super::reply::{MockEnding, MockReply, MockToolCall};

/// The directives found in a text, and the text without them.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Directives {
    pub tool_calls: Vec<MockToolCall>,
    pub status: Option<u16>,
    pub delay: Option<Duration>,
    pub ending: Option<MockEnding>,
    /// The text with every directive removed, trimmed.
    pub rest: String,
}

impl Directives {
    pub fn parse(text: &str) -> Self {
        let mut found = Self::default();
        let mut rest = String::new();
        let mut remaining = text;
        while let Some(start) = remaining.find("[[") {
            rest.push_str(&remaining[..start]);
            let candidate = &remaining[start + 2..];
            match found.take_one(candidate) {
                Some(consumed) => remaining = &candidate[consumed..],
                None => {
                    rest.push_str("[[");
                    remaining = candidate;
                }
            }
        }
        rest.push_str(remaining);
        found.rest = rest.trim().to_owned();
        found
    }

    pub fn is_empty(&self) -> bool {
        self.tool_calls.is_empty()
            && self.status.is_none()
            && self.delay.is_none()
            && self.ending.is_none()
    }

    /// Reads one directive at the start of `text` (just after `[[`); returns how many bytes it
    /// used, closing `]]` included, or `None` if it is not a directive.
    fn take_one(&mut self, text: &str) -> Option<usize> {
        if let Some(after) = text.strip_prefix("tool:") {
            let used = self.take_tool(after)?;
            return Some("tool:".len() + used);
        }
        let end = text.find("]]")?;
        let word = &text[..end];
        match word.split_once(':') {
            Some(("status", n)) => self.status = Some(n.trim().parse().ok()?),
            Some(("delay", ms)) => {
                self.delay = Some(Duration::from_millis(ms.trim().parse().ok()?));
            }
            None if word == "cut" => self.ending = Some(MockEnding::Cut { after_frames: None }),
            None if word == "stall" => {
                self.ending = Some(MockEnding::Stall { after_frames: 0 });
            }
            None if word == "empty" => self.ending = Some(MockEnding::EmptyBody),
            _ => return None,
        }
        Some(end + 2)
    }

    /// `NAME]]` or `NAME {json}]]`.
    fn take_tool(&mut self, text: &str) -> Option<usize> {
        let name_end = text.find(|c: char| c.is_whitespace() || c == ']')?;
        let name = &text[..name_end];
        if name.is_empty() {
            return None;
        }
        let after_name = &text[name_end..];
        let args_start = name_end + (after_name.len() - after_name.trim_start().len());
        let (args, args_end) = if text[args_start..].starts_with("]]") {
            (serde_json::json!({}), args_start)
        } else {
            let mut values =
                serde_json::Deserializer::from_str(&text[args_start..]).into_iter::<Value>();
            let args = values.next()?.ok()?;
            (args, args_start + values.byte_offset())
        };
        let tail = &text[args_end..];
        let close = args_end + (tail.len() - tail.trim_start().len());
        if !text[close..].starts_with("]]") {
            return None;
        }
        self.tool_calls.push(MockToolCall::new(name, args));
        Some(close + 2)
    }

    /// The reply these directives ask for, if they ask for anything.
    pub fn reply(&self) -> Option<MockReply> {
        if self.is_empty() {
            return None;
        }
        let mut reply = match self.status {
            Some(429) => MockReply::status(429).retry_after("1"),
            Some(status) => MockReply::status(status),
            None if self.tool_calls.is_empty() => MockReply::echo(),
            None => MockReply::tool_calls(self.tool_calls.clone()),
        };
        if let Some(status) = self.status {
            reply = reply.error_message(format!("mockllm status directive {status}"));
        }
        reply.delay = self.delay;
        if let Some(ending) = &self.ending {
            reply.ending = ending.clone();
        }
        Some(reply)
    }
}
