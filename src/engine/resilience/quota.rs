//! What a server says about its own rate limits, read from the headers of any answer:
//! `x-ratelimit-{limit,remaining,reset}-{requests,tokens}` (OpenAI and the servers that copy it;
//! resets like `1s`, `6m0s`, `20ms`) and `anthropic-ratelimit-{requests,tokens}-{limit,remaining,
//! reset}` (resets as RFC 3339 times). Headers are hostile input: anything unreadable is ignored.

use std::time::Duration;

use reqwest::header::HeaderMap;

/// The furthest ahead a reset is believed: a server (or a proxy) that says "in a week" must not
/// park every agent for a week. Past it, tzzr calls again and lets the server answer 429.
pub const MAX_RESET: Duration = Duration::from_secs(10 * 60);

/// One limit as the server reported it (requests or tokens).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Quota {
    pub limit: Option<u64>,
    pub remaining: Option<u64>,
    /// How long until the server restores the limit, capped at [`MAX_RESET`].
    pub reset_in: Option<Duration>,
}

/// Everything one answer said about the server's limits.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct ServerReport {
    pub requests: Option<Quota>,
    pub tokens: Option<Quota>,
}

impl ServerReport {
    /// Reads the rate-limit headers of an answer received at `now` (the wall clock, for the
    /// RFC 3339 resets of Anthropic).
    pub fn read(headers: &HeaderMap, now: jiff::Timestamp) -> Self {
        let text = |name: &str| headers.get(name).and_then(|v| v.to_str().ok());
        let openai = |kind: &str| {
            quota(
                text(&format!("x-ratelimit-limit-{kind}")),
                text(&format!("x-ratelimit-remaining-{kind}")),
                text(&format!("x-ratelimit-reset-{kind}")).and_then(relative_reset),
            )
        };
        let anthropic = |kind: &str| {
            quota(
                text(&format!("anthropic-ratelimit-{kind}-limit")),
                text(&format!("anthropic-ratelimit-{kind}-remaining")),
                text(&format!("anthropic-ratelimit-{kind}-reset"))
                    .and_then(|reset| absolute_reset(reset, now)),
            )
        };
        Self {
            requests: openai("requests").or_else(|| anthropic("requests")),
            tokens: openai("tokens").or_else(|| anthropic("tokens")),
        }
    }

    pub fn is_empty(&self) -> bool {
        self.requests.is_none() && self.tokens.is_none()
    }
}

/// A quota if the server said anything readable about it.
fn quota(
    limit: Option<&str>,
    remaining: Option<&str>,
    reset_in: Option<Duration>,
) -> Option<Quota> {
    let quota = Quota {
        limit: limit.and_then(count),
        remaining: remaining.and_then(count),
        reset_in,
    };
    (quota != Quota::default()).then_some(quota)
}

/// A whole, non-negative count; anything else (a sign, a fraction, more than u64) is unreadable.
fn count(text: &str) -> Option<u64> {
    let text = text.trim();
    if text.is_empty() || !text.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    text.parse().ok()
}

/// A Go-style duration (`1s`, `6m0s`, `20ms`, `1h2m3.5s`) or plain seconds (`7`, `0.5`).
fn relative_reset(text: &str) -> Option<Duration> {
    let text = text.trim();
    if text.is_empty() || text.len() > 64 {
        return None;
    }
    if let Ok(seconds) = text.parse::<f64>() {
        return capped(seconds);
    }
    let mut seconds = 0.0;
    let mut rest = text;
    while !rest.is_empty() {
        let digits = rest
            .find(|c: char| !(c.is_ascii_digit() || c == '.'))
            .unwrap_or(rest.len());
        let number: f64 = rest[..digits].parse().ok()?;
        rest = &rest[digits..];
        let unit_len = rest
            .find(|c: char| c.is_ascii_digit() || c == '.')
            .unwrap_or(rest.len());
        let scale = match &rest[..unit_len] {
            "h" => 3600.0,
            "m" => 60.0,
            "s" => 1.0,
            "ms" => 1e-3,
            "us" | "µs" => 1e-6,
            "ns" => 1e-9,
            _ => return None,
        };
        rest = &rest[unit_len..];
        seconds += number * scale;
    }
    capped(seconds)
}

/// An RFC 3339 time, as the wait from `now` (zero when it is past).
fn absolute_reset(text: &str, now: jiff::Timestamp) -> Option<Duration> {
    let at: jiff::Timestamp = text.trim().parse().ok()?;
    let wait = now.duration_until(at);
    if wait.is_negative() {
        return Some(Duration::ZERO);
    }
    capped(wait.as_secs_f64())
}

fn capped(seconds: f64) -> Option<Duration> {
    if !seconds.is_finite() || seconds < 0.0 {
        return None;
    }
    Some(Duration::from_secs_f64(
        seconds.min(MAX_RESET.as_secs_f64()),
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    use reqwest::header::{HeaderName, HeaderValue};

    fn now() -> jiff::Timestamp {
        "2026-11-29T12:00:00Z".parse().unwrap()
    }

    fn report(pairs: &[(&str, &str)]) -> ServerReport {
        let mut headers = HeaderMap::new();
        for (name, value) in pairs {
            headers.insert(
                HeaderName::from_bytes(name.as_bytes()).unwrap(),
                HeaderValue::from_str(value).unwrap(),
            );
        }
        ServerReport::read(&headers, now())
    }

    #[test]
    fn openai_headers_give_both_quotas() {
        let got = report(&[
            ("x-ratelimit-limit-requests", "60"),
            ("x-ratelimit-remaining-requests", "59"),
            ("x-ratelimit-reset-requests", "1s"),
            ("x-ratelimit-limit-tokens", "150000"),
            ("x-ratelimit-remaining-tokens", "149984"),
            ("x-ratelimit-reset-tokens", "6m0s"),
        ]);
        assert_eq!(
            got,
            ServerReport {
                requests: Some(Quota {
                    limit: Some(60),
                    remaining: Some(59),
                    reset_in: Some(Duration::from_secs(1)),
                }),
                tokens: Some(Quota {
                    limit: Some(150_000),
                    remaining: Some(149_984),
                    reset_in: Some(Duration::from_secs(360)),
                }),
            }
        );
    }

    #[test]
    fn anthropic_headers_reset_at_a_time() {
        let got = report(&[
            ("anthropic-ratelimit-requests-limit", "50"),
            ("anthropic-ratelimit-requests-remaining", "0"),
            ("anthropic-ratelimit-requests-reset", "2026-11-29T12:00:02Z"),
            ("anthropic-ratelimit-tokens-remaining", "1000"),
        ]);
        assert_eq!(
            got.requests,
            Some(Quota {
                limit: Some(50),
                remaining: Some(0),
                reset_in: Some(Duration::from_secs(2)),
            })
        );
        assert_eq!(
            got.tokens,
            Some(Quota {
                limit: None,
                remaining: Some(1000),
                reset_in: None,
            })
        );
    }

    #[test]
    fn go_durations_and_plain_seconds_are_read() {
        for (text, millis) in [
            ("20ms", 20),
            ("1s", 1000),
            ("6m0s", 360_000),
            ("1m30.5s", 90_500),
            ("7.66s", 7660),
            ("2", 2000),
            ("0.25", 250),
            ("1h", 600_000),
        ] {
            assert_eq!(
                relative_reset(text),
                Some(Duration::from_millis(millis)),
                "{text}"
            );
        }
    }

    #[test]
    fn hostile_values_are_ignored_or_capped_never_trusted() {
        for garbage in ["", "-1", "1.5", "+3", "18446744073709551616", "ten", "٣"] {
            assert_eq!(count(garbage), None, "{garbage:?}");
        }
        assert_eq!(count(" 18446744073709551615 "), Some(u64::MAX));
        for garbage in [
            "-1s", "1x", "s", "1s2", "NaN", "inf", "-inf", "1e400s", "..s",
        ] {
            assert_eq!(relative_reset(garbage), None, "{garbage:?}");
        }
        assert_eq!(relative_reset("1e300"), Some(MAX_RESET));
        assert_eq!(relative_reset("99999999h"), Some(MAX_RESET));
        assert_eq!(
            relative_reset(&"9".repeat(100)),
            None,
            "too long to be a reset"
        );
        assert_eq!(
            absolute_reset("3026-01-01T00:00:00Z", now()),
            Some(MAX_RESET)
        );
        assert_eq!(
            absolute_reset("2020-01-01T00:00:00Z", now()),
            Some(Duration::ZERO)
        );
        assert_eq!(absolute_reset("tomorrow", now()), None);

        let got = report(&[
            ("x-ratelimit-remaining-requests", "-5"),
            ("x-ratelimit-reset-requests", "soon"),
        ]);
        assert_eq!(got.requests, None, "nothing readable, no quota");
    }

    #[test]
    fn headers_that_are_not_text_are_ignored() {
        let mut headers = HeaderMap::new();
        headers.insert(
            "x-ratelimit-remaining-requests",
            HeaderValue::from_bytes(b"\xff\xfe").unwrap(),
        );
        assert!(ServerReport::read(&headers, now()).is_empty());
    }
}
