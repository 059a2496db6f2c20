//! Server-sent events cut out of a byte stream in one pass: each byte is looked at once whatever
//! the chunking, and an event that grows past its cap is refused before it grows further.

use std::collections::VecDeque;

use super::SseEvent;

/// Why the bytes are not events tzzr accepts.
#[derive(Debug, PartialEq, Eq)]
pub enum ParseError {
    /// One event (its data, or a line still open) passed the cap.
    TooLarge,
    NotUtf8,
}

/// The fields of the event being read.
#[derive(Debug, Default)]
struct Draft {
    event: String,
    data: String,
    has_data: bool,
}

/// Turns chunks of a `text/event-stream` body into [`SseEvent`]s. Lines end in `\n` or `\r\n`;
/// comments (`: ping`) and fields other than `event` and `data` are skipped; an event without
/// data is not reported.
#[derive(Debug)]
pub struct SseParser {
    max_event: usize,
    /// Bytes of the line not yet ended.
    open_line: Vec<u8>,
    draft: Draft,
}

impl SseParser {
    pub fn new(max_event: usize) -> Self {
        Self {
            max_event,
            open_line: Vec::new(),
            draft: Draft::default(),
        }
    }

    pub fn max_event(&self) -> usize {
        self.max_event
    }

    /// Takes the next chunk, queueing each event it completes.
    pub fn push(&mut self, chunk: &[u8], out: &mut VecDeque<SseEvent>) -> Result<(), ParseError> {
        let mut rest = chunk;
        while let Some(end) = rest.iter().position(|&b| b == b'\n') {
            let (piece, after) = rest.split_at(end);
            if self.open_line.is_empty() {
                self.draft.line(piece, out)?;
            } else {
                self.open_line.extend_from_slice(piece);
                let line = std::mem::take(&mut self.open_line);
                self.draft.line(&line, out)?;
            }
            self.check_size()?;
            rest = &after[1..];
        }
        self.open_line.extend_from_slice(rest);
        self.check_size()
    }

    /// The end of the body: a last line and event the server did not close still count.
    pub fn finish(&mut self, out: &mut VecDeque<SseEvent>) -> Result<(), ParseError> {
        if !self.open_line.is_empty() {
            let line = std::mem::take(&mut self.open_line);
            self.draft.line(&line, out)?;
        }
        self.draft.line(b"", out)
    }

    fn check_size(&self) -> Result<(), ParseError> {
        if self.open_line.len() + self.draft.data.len() + self.draft.event.len() > self.max_event {
            return Err(ParseError::TooLarge);
        }
        Ok(())
    }
}

impl Draft {
    fn line(&mut self, line: &[u8], out: &mut VecDeque<SseEvent>) -> Result<(), ParseError> {
        let line = line.strip_suffix(b"\r").unwrap_or(line);
        if line.is_empty() {
            self.dispatch(out);
            return Ok(());
        }
        if line.starts_with(b":") {
            return Ok(());
        }
        let line = std::str::from_utf8(line).map_err(|_| ParseError::NotUtf8)?;
        let (field, value) = line.split_once(':').unwrap_or((line, ""));
        let value = value.strip_prefix(' ').unwrap_or(value);
        match field {
            "data" => {
                if self.has_data {
                    self.data.push('\n');
                }
                self.data.push_str(value);
                self.has_data = true;
            }
            "event" => value.clone_into(&mut self.event),
            // `id`, `retry` and anything else.
            _ => {}
        }
        Ok(())
    }

    fn dispatch(&mut self, out: &mut VecDeque<SseEvent>) {
        let draft = std::mem::take(self);
        if draft.data.is_empty() {
            return;
        }
        out.push_back(SseEvent {
            event: if draft.event.is_empty() {
                "message".to_owned()
            } else {
                draft.event
            },
            data: draft.data,
        });
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn events(chunks: &[&[u8]], max_event: usize) -> Result<Vec<SseEvent>, ParseError> {
        let mut parser = SseParser::new(max_event);
        let mut out = VecDeque::new();
        for chunk in chunks {
            parser.push(chunk, &mut out)?;
        }
        parser.finish(&mut out)?;
        Ok(out.into())
    }

    fn event(name: &str, data: &str) -> SseEvent {
        SseEvent {
            event: name.into(),
            data: data.into(),
        }
    }

    #[test]
    fn events_come_out_whole_however_the_bytes_are_cut() {
        let text =
            b"event: a\r\ndata: {\"x\":\ndata:1}\r\n\r\n: ping\n\nid: 7\ndata: two\n\ndata: last";
        let whole = events(&[text], 1024);
        let bytewise: Vec<&[u8]> = text.chunks(1).collect();
        assert_eq!(
            whole,
            Ok(vec![
                event("a", "{\"x\":\n1}"),
                event("message", "two"),
                event("message", "last")
            ])
        );
        assert_eq!(events(&bytewise, 1024), whole);
    }

    #[test]
    fn comments_and_empty_data_make_no_event() {
        assert_eq!(
            events(&[b": ping\n\ndata:\n\nevent: x\n\n"], 64),
            Ok(vec![])
        );
    }

    #[test]
    fn an_event_or_a_line_past_the_cap_is_refused() {
        let long_line = vec![b'a'; 100];
        assert_eq!(events(&[&long_line], 64), Err(ParseError::TooLarge));
        let many_lines = b"data: 0123456789\n".repeat(10);
        assert_eq!(events(&[&many_lines], 64), Err(ParseError::TooLarge));
        assert_eq!(events(&[b"data: \xff\n\n"], 64), Err(ParseError::NotUtf8));
    }

    #[test]
    fn a_giant_line_in_small_chunks_costs_linear_time() {
        // 16 MB in 4 KB chunks: quadratic re-scanning would take minutes; one pass, well under
        // a second even in a debug build. Checked by the result, not the clock.
        let chunk = vec![b'x'; 4096];
        let mut parser = SseParser::new(32 * 1024 * 1024);
        let mut out = VecDeque::new();
        assert_eq!(parser.push(b"data: ", &mut out), Ok(()));
        for _ in 0..4096 {
            assert_eq!(parser.push(&chunk, &mut out), Ok(()));
        }
        assert_eq!(parser.push(b"\n\n", &mut out), Ok(()));
        assert_eq!(out.len(), 1);
        assert_eq!(out[0].data.len(), 16 * 1024 * 1024);
    }
}
