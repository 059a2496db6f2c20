//! Recognises a server's "the prompt is too long for this model" answer, whatever its dialect:
//! OpenAI's `context_length_exceeded`, "maximum context length", Anthropic's "prompt is too
//! long", llama.cpp's "exceeds the available context size", Ollama's "input length exceeds the
//! context length".

/// Phrases (lower case) that only a context overflow produces.
const PHRASES: [&str; 8] = [
    "context_length_exceeded",
    "maximum context length",
    "prompt is too long",
    "exceeds the available context size",
    "exceed_context_size",
    "exceeds the context length",
    "exceeds the context window",
    "context window exceeded",
];

/// Whether an HTTP error with this status and body says the prompt does not fit.
pub fn is_context_too_long(status: u16, body: &str) -> bool {
    // Auth failures and rate limits can quote a prompt; they are never this.
    if matches!(status, 401 | 403 | 429) || !(400..=599).contains(&status) {
        return false;
    }
    // Only the start of a body is read: a hostile server may send megabytes.
    let mut end = body.len().min(8 * 1024);
    while !body.is_char_boundary(end) {
        end -= 1;
    }
    let head = body[..end].to_ascii_lowercase();
    PHRASES.iter().any(|phrase| head.contains(phrase))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_servers_way_of_saying_too_long_is_recognised() {
        let bodies = [
            r#"{"error":{"message":"This model's maximum context length is 8192 tokens. However, your messages resulted in 9000 tokens.","type":"invalid_request_error","code":"context_length_exceeded"}}"#,
            r#"{"type":"error","error":{"type":"invalid_request_error","message":"prompt is too long: 210000 tokens > 200000 maximum"}}"#,
            r#"{"error":{"code":400,"message":"the request exceeds the available context size, try increasing it","type":"exceed_context_size_error"}}"#,
            r#"{"error":"the input length exceeds the context length"}"#,
        ];
        for body in bodies {
            assert!(is_context_too_long(400, body), "{body}");
        }
    }

    #[test]
    fn other_errors_are_not_taken_for_too_long() {
        assert!(!is_context_too_long(
            400,
            r#"{"error":{"message":"model not found"}}"#
        ));
        assert!(!is_context_too_long(429, "maximum context length"));
        assert!(!is_context_too_long(200, "maximum context length"));
    }
}
