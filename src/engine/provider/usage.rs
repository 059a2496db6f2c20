//! Token counts tzzr can trust: a server's figures clamped to a sanity limit, and its own
//! estimates where a server reports none (llama.cpp) or the stream broke before it could.

use crate::engine::protocol::TokenUsage;
use crate::engine::tokens;

use super::{ModelRequest, StreamItem};

/// More tokens than this in one count of one call is a broken or hostile server.
pub const SANE_TOKENS_PER_CALL: u64 = 10_000_000;

/// `usage` with each count clamped to [`SANE_TOKENS_PER_CALL`], and a notice when one was.
pub fn sane(url: &str, usage: TokenUsage) -> (TokenUsage, Option<String>) {
    let clamp = |n: u64| n.min(SANE_TOKENS_PER_CALL);
    let clamped = TokenUsage {
        input: clamp(usage.input),
        output: clamp(usage.output),
        cache_read: clamp(usage.cache_read),
        cache_write: clamp(usage.cache_write),
    };
    if clamped == usage {
        return (usage, None);
    }
    let largest = [
        usage.input,
        usage.output,
        usage.cache_read,
        usage.cache_write,
    ]
    .into_iter()
    .max()
    .unwrap_or(0);
    let notice = format!(
        "{url} reported {largest} tokens for one call; counted as at most {SANE_TOKENS_PER_CALL} each (a sanity limit)"
    );
    (clamped, Some(notice))
}

/// tzzr's estimate of a call whose server reported no usage: the request's tokens in, the
/// `output_bytes` that streamed (text, reasoning, tool calls) out.
pub fn estimate(req: &ModelRequest<'_>, output_bytes: usize) -> TokenUsage {
    TokenUsage {
        input: tokens::estimate_request(req.system, req.messages, req.tools),
        // Four bytes a token, as `engine::tokens` estimates text.
        output: u64::try_from(output_bytes.div_ceil(4)).unwrap_or(u64::MAX),
        cache_read: 0,
        cache_write: 0,
    }
}

/// `usage` of `req`'s model, marked as tzzr's estimate.
pub fn estimated(req: &ModelRequest<'_>, usage: TokenUsage) -> StreamItem {
    StreamItem::Usage {
        model: req.model.to_owned(),
        usage,
        reported_cost_usd: None,
        estimated: true,
    }
}

/// Passes `item` on to `sink`, a reported usage clamped (with its notice first).
pub fn pass_on(url: &str, item: StreamItem, sink: &mut (dyn FnMut(StreamItem) + Send)) {
    let StreamItem::Usage {
        model,
        usage,
        reported_cost_usd,
        estimated,
    } = item
    else {
        sink(item);
        return;
    };
    let (usage, notice) = sane(url, usage);
    if let Some(notice) = notice {
        sink(StreamItem::Notice(notice));
    }
    sink(StreamItem::Usage {
        model,
        usage,
        reported_cost_usd,
        estimated,
    });
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::engine::conversation::Message;

    #[test]
    fn counts_past_the_sanity_limit_are_clamped_with_a_notice() {
        let wild = TokenUsage {
            input: 12,
            output: u64::MAX,
            cache_read: 0,
            cache_write: 0,
        };
        let (usage, notice) = sane("http://x/v1", wild);
        assert_eq!(
            usage,
            TokenUsage {
                input: 12,
                output: SANE_TOKENS_PER_CALL,
                cache_read: 0,
                cache_write: 0
            }
        );
        assert_eq!(
            notice.as_deref(),
            Some(
                "http://x/v1 reported 18446744073709551615 tokens for one call; counted as at most 10000000 each (a sanity limit)"
            )
        );
        let fine = TokenUsage {
            input: 5,
            ..TokenUsage::default()
        };
        assert_eq!(sane("u", fine), (fine, None));
    }

    #[test]
    fn usage_totals_saturate_instead_of_wrapping() {
        let mut total = TokenUsage {
            input: 1,
            output: u64::MAX,
            cache_read: 0,
            cache_write: 0,
        };
        total.add(total);
        assert_eq!(total.output, u64::MAX);
        assert_eq!(total.input, 2);
    }

    #[test]
    fn an_estimate_counts_the_request_in_and_the_streamed_bytes_out() {
        let messages = [Message::user("x".repeat(40))];
        let req = ModelRequest {
            model: "m",
            system: "",
            messages: &messages,
            tools: &[],
            temperature: None,
            max_tokens: None,
        };
        let usage = estimate(&req, 9);
        assert_eq!(usage.output, 3);
        assert_eq!(usage.input, tokens::estimate_request("", &messages, &[]));
    }
}
