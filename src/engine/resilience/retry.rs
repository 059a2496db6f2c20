//! When to try a failed call again, and after how long: exponential backoff with jitter, and the
//! server's `Retry-After` when it sent one.

use std::collections::hash_map::RandomState;
use std::hash::{BuildHasher, Hasher};
use std::sync::OnceLock;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

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
        self.delay_with_jitter(retry, retry_after, random_spread())
    }

    /// [`delay`](Self::delay) with the jitter given: `spread` in `[-1, 1]` moves the backoff
    /// from 25 % shorter to 25 % longer (0: the nominal backoff). Pure, so tests can pin it.
    pub fn delay_with_jitter(
        &self,
        retry: u32,
        retry_after: Option<Duration>,
        spread: f64,
    ) -> Option<Duration> {
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
        let factor = 1.0 + JITTER * spread.clamp(-1.0, 1.0);
        let jittered =
            Duration::try_from_secs_f64(backoff.as_secs_f64() * factor).unwrap_or(backoff);
        Some(jittered.min(self.max_delay))
    }
}

/// A spread in `[-1, 1)`. Not cryptographic: a splitmix64 step over a per-process random seed
/// (std's hasher keys) and a call counter is plenty to spread retries, and needs no crate.
fn random_spread() -> f64 {
    const GOLDEN: u64 = 0x9E37_79B9_7F4A_7C15;
    static SEED: OnceLock<u64> = OnceLock::new();
    static CALLS: AtomicU64 = AtomicU64::new(0);
    let seed = *SEED.get_or_init(|| RandomState::new().build_hasher().finish());
    let mut z = seed
        ^ CALLS
            .fetch_add(GOLDEN, Ordering::Relaxed)
            .wrapping_add(GOLDEN);
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^= z >> 31;
    let unit = (z >> 11) as f64 / (1u64 << 53) as f64; // uniform in [0, 1)
    unit * 2.0 - 1.0
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
    fn jitter_can_be_pinned() {
        let p = policy();
        assert_eq!(
            p.delay_with_jitter(2, None, 0.0),
            Some(Duration::from_secs(2))
        );
        assert_eq!(
            p.delay_with_jitter(2, None, -1.0),
            Some(Duration::from_millis(1500))
        );
        assert_eq!(
            p.delay_with_jitter(2, None, 1.0),
            Some(Duration::from_millis(2500))
        );
        assert_eq!(
            p.delay_with_jitter(2, None, 7.0),
            Some(Duration::from_millis(2500)),
            "a spread past 1 is clamped"
        );
        assert_eq!(
            p.delay_with_jitter(1, Some(Duration::from_secs(3)), 1.0),
            Some(Duration::from_secs(3)),
            "Retry-After is never jittered"
        );
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
