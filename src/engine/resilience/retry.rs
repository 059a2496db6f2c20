//! When to try a failed call again, and after how long: exponential backoff with jitter, and the
//! server's `Retry-After` when it sent one.

use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

/// The longest `Retry-After` honoured even when `max_delay` is shorter: servers that ask for a
/// minute usually mean it, but a hostile header must not park an agent for an hour.
const RETRY_AFTER_CEILING: Duration = Duration::from_secs(60);

/// Backoff is spread by up to this fraction either way (v6: ±25 %), so agents that failed
/// together do not retry together.
const JITTER: f64 = 0.25;

#[derive(Clone, Copy, Debug, PartialEq)]
pub struct RetryPolicy {
    pub max_retries: u32,
    pub base_delay: Duration,
    pub max_delay: Duration,
}

impl RetryPolicy {
    /// The wait before retry number `retry` (1-based), or `None` when retries are used up.
    /// A `Retry-After` from the server wins over the backoff (capped at `max(max_delay, 60 s)`);
    /// otherwise `base_delay * 2^(retry-1)`, ±25 % jitter, capped at `max_delay`.
    pub fn delay(&self, retry: u32, retry_after: Option<Duration>) -> Option<Duration> {
        if retry > self.max_retries {
            return None;
        }
        if let Some(asked) = retry_after {
            return Some(asked.min(self.max_delay.max(RETRY_AFTER_CEILING)));
        }
        let doublings = retry.saturating_sub(1).min(31);
        let backoff = self
            .base_delay
            .saturating_mul(1 << doublings)
            .min(self.max_delay);
        let jittered =
            Duration::try_from_secs_f64(backoff.as_secs_f64() * jitter_factor()).unwrap_or(backoff);
        Some(jittered.min(self.max_delay))
    }
}

/// A factor in `[1 - JITTER, 1 + JITTER]`. Not cryptographic: a splitmix64 step over the wall
/// clock and a call counter is plenty to spread retries, and needs no crate.
fn jitter_factor() -> f64 {
    const GOLDEN: u64 = 0x9E37_79B9_7F4A_7C15;
    static CALLS: AtomicU64 = AtomicU64::new(0);
    let nanos = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |since| since.as_nanos() as u64);
    let mut z = nanos
        ^ CALLS
            .fetch_add(GOLDEN, Ordering::Relaxed)
            .wrapping_add(GOLDEN);
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^= z >> 31;
    let unit = (z >> 11) as f64 / (1u64 << 53) as f64; // uniform in [0, 1)
    1.0 - JITTER + unit * 2.0 * JITTER
}

#[cfg(test)]
mod tests {
    use super::*;

    fn policy() -> RetryPolicy {
        RetryPolicy {
            max_retries: 3,
            base_delay: Duration::from_secs(1),
            max_delay: Duration::from_secs(30),
        }
    }

    #[test]
    fn retry_after_wins_over_backoff() {
        let asked = Duration::from_secs(7);
        assert_eq!(policy().delay(1, Some(asked)), Some(asked));
        assert_eq!(policy().delay(3, Some(asked)), Some(asked));
    }

    #[test]
    fn retry_after_up_to_a_minute_is_honoured_even_above_max_delay() {
        let p = policy();
        assert_eq!(
            p.delay(1, Some(Duration::from_secs(45))),
            Some(Duration::from_secs(45))
        );
    }

    #[test]
    fn hostile_retry_after_is_capped() {
        let p = policy();
        assert_eq!(
            p.delay(1, Some(Duration::from_secs(3600))),
            Some(RETRY_AFTER_CEILING)
        );
        let patient = RetryPolicy {
            max_delay: Duration::from_secs(120),
            ..p
        };
        assert_eq!(
            patient.delay(1, Some(Duration::from_secs(3600))),
            Some(Duration::from_secs(120))
        );
    }

    #[test]
    fn backoff_doubles_with_jitter_within_25_percent() {
        let p = policy();
        for _ in 0..200 {
            for (retry, nominal) in [(1, 1.0), (2, 2.0), (3, 4.0)] {
                let Some(delay) = p.delay(retry, None) else {
                    panic!("retry {retry} of 3 must get a delay");
                };
                let secs = delay.as_secs_f64();
                assert!(
                    (nominal * 0.75..=nominal * 1.25).contains(&secs),
                    "retry {retry}: {secs}s is not within 25 % of {nominal}s"
                );
            }
        }
    }

    #[test]
    fn jitter_actually_varies() {
        let p = policy();
        let delays: std::collections::HashSet<_> =
            (0..20).filter_map(|_| p.delay(1, None)).collect();
        assert!(delays.len() > 1, "20 delays were all equal: {delays:?}");
    }

    #[test]
    fn backoff_is_capped_at_max_delay() {
        let p = RetryPolicy {
            max_retries: 40,
            ..policy()
        };
        for retry in [6, 10, 33, 40] {
            let Some(delay) = p.delay(retry, None) else {
                panic!("retry {retry} of 40 must get a delay");
            };
            assert!(delay <= p.max_delay, "retry {retry}: {delay:?}");
            assert!(
                delay >= p.max_delay.mul_f64(0.75),
                "retry {retry}: {delay:?}"
            );
        }
    }

    #[test]
    fn no_delay_after_max_retries() {
        let p = policy();
        assert!(p.delay(3, None).is_some());
        assert_eq!(p.delay(4, None), None);
        assert_eq!(p.delay(4, Some(Duration::from_secs(1))), None);
        let never = RetryPolicy {
            max_retries: 0,
            ..p
        };
        assert_eq!(never.delay(1, None), None);
    }
}
