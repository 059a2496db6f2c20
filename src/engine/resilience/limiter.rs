//! The rate limiter of one endpoint: requests and tokens per minute (sliding window) and calls in
//! flight, shared by every agent on it. Waiting happens outside the lock.

use std::collections::VecDeque;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::Duration;

use tokio::sync::{OwnedSemaphorePermit, Semaphore, TryAcquireError};
use tokio::time::{Instant, sleep};

use crate::engine::protocol::LimiterSnapshot;

/// How far back the per-minute limits look.
const WINDOW: Duration = Duration::from_secs(60);

/// One per endpoint, shared (behind the `Endpoint`) by every agent that calls it, so N agents on
/// one key together stay under the key's limits.
#[derive(Debug)]
pub struct Limiter {
    /// `None` for no limit (a configured 0 too).
    rpm: Option<u32>,
    /// `None` for no limit (a configured 0 too).
    tpm: Option<u64>,
    /// Calls in flight; `None` when concurrency is unlimited.
    slots: Option<Arc<Semaphore>>,
    state: Mutex<Window>,
}

/// The last minute of calls, and counters for the pane.
#[derive(Debug, Default)]
struct Window {
    /// Start time and estimated tokens of each call started in the last minute, oldest first.
    calls: VecDeque<(Instant, u64)>,
    queued: u32,
    retries: u32,
}

/// Held for the duration of a call; frees the concurrency slot when dropped.
#[derive(Debug)]
pub struct LimiterPermit {
    _slot: Option<OwnedSemaphorePermit>,
}

impl Limiter {
    /// `None` for any limit means no limit; so does an `rpm` or `tpm` of 0 (v6's
    /// `rate_limit_per_minute: 0`).
    pub fn new(rpm: Option<u32>, tpm: Option<u64>, concurrency: Option<u32>) -> Self {
        Self {
            rpm: rpm.filter(|&n| n > 0),
            tpm: tpm.filter(|&n| n > 0),
            slots: concurrency.map(|n| Arc::new(Semaphore::new(n.max(1) as usize))),
            state: Mutex::new(Window::default()),
        }
    }

    /// Waits until a call estimated at `tokens` tokens may start. `on_wait` is told how long the
    /// wait will be each time the limiter makes the caller wait.
    ///
    /// The call is counted in the window as soon as the rate allows it, before it waits for a
    /// concurrency slot. Dropping the future while it waits leaves no trace in `queued`.
    pub async fn acquire(
        &self,
        tokens: u64,
        on_wait: &mut (dyn FnMut(Duration) + Send),
    ) -> LimiterPermit {
        let mut queued = None;
        while let Some(wait) = self.try_start(tokens) {
            queued.get_or_insert_with(|| Queued::enter(&self.state));
            on_wait(wait);
            sleep(wait).await;
        }
        let slot = match &self.slots {
            None => None,
            Some(slots) => match Arc::clone(slots).try_acquire_owned() {
                Ok(slot) => Some(slot),
                Err(TryAcquireError::NoPermits) => {
                    queued.get_or_insert_with(|| Queued::enter(&self.state));
                    Arc::clone(slots).acquire_owned().await.ok()
                }
                // The semaphore is never closed; were it, the cap would simply not apply.
                Err(TryAcquireError::Closed) => None,
            },
        };
        LimiterPermit { _slot: slot }
    }

    /// Corrects the window with the tokens a call really used. The newest call in the window
    /// estimated at `estimated` takes the actual count; if it has left the window already, the
    /// correction no longer matters and is dropped.
    pub fn record_tokens(&self, estimated: u64, actual: u64) {
        let mut window = lock(&self.state);
        if let Some(call) = window
            .calls
            .iter_mut()
            .rev()
            .find(|(_, tokens)| *tokens == estimated)
        {
            call.1 = actual;
        }
    }

    pub fn note_retry(&self) {
        let mut window = lock(&self.state);
        window.retries = window.retries.saturating_add(1);
    }

    pub fn snapshot(&self) -> LimiterSnapshot {
        let mut window = lock(&self.state);
        window.forget_expired(Instant::now());
        LimiterSnapshot {
            rpm_limit: self.rpm,
            rpm_used: u32::try_from(window.calls.len()).unwrap_or(u32::MAX),
            tpm_limit: self.tpm,
            tpm_used: window.tokens(),
            queued: window.queued,
            retries: window.retries,
        }
    }

    /// Starts the call in the window if the rate allows it now (`None`), else says how long
    /// until enough of the window has expired.
    fn try_start(&self, tokens: u64) -> Option<Duration> {
        let now = Instant::now();
        let mut window = lock(&self.state);
        window.forget_expired(now);
        let wait = window.wait_for(now, tokens, self.rpm, self.tpm);
        if wait.is_none() {
            window.calls.push_back((now, tokens));
        }
        wait
    }
}

impl Window {
    fn forget_expired(&mut self, now: Instant) {
        while self
            .calls
            .front()
            .is_some_and(|&(started, _)| started + WINDOW <= now)
        {
            self.calls.pop_front();
        }
    }

    fn tokens(&self) -> u64 {
        self.calls
            .iter()
            .fold(0, |sum, &(_, tokens)| sum.saturating_add(tokens))
    }

    /// `None` if a call of `tokens` fits in the window now; else the time until the calls that
    /// must leave for it to fit have left. A call larger than the whole `tpm` fits an empty
    /// window, or it would wait forever.
    fn wait_for(
        &self,
        now: Instant,
        tokens: u64,
        rpm: Option<u32>,
        tpm: Option<u64>,
    ) -> Option<Duration> {
        let len = self.calls.len();
        let over_rpm = rpm.map_or(0, |rpm| (len + 1).saturating_sub(rpm as usize));
        let over_tpm = tpm.map_or(0, |tpm| {
            let mut used = self.tokens();
            let mut leaving = 0;
            while leaving < len && used.saturating_add(tokens) > tpm {
                used = used.saturating_sub(self.calls[leaving].1);
                leaving += 1;
            }
            leaving
        });
        let leaving = over_rpm.max(over_tpm);
        let &(last_to_leave, _) = self.calls.get(leaving.checked_sub(1)?)?;
        Some(last_to_leave + WINDOW - now)
    }
}

/// Counts a caller in `queued` for as long as it waits, including when its wait is cancelled.
struct Queued<'a> {
    state: &'a Mutex<Window>,
}

impl<'a> Queued<'a> {
    fn enter(state: &'a Mutex<Window>) -> Self {
        let mut window = lock(state);
        window.queued = window.queued.saturating_add(1);
        Self { state }
    }
}

impl Drop for Queued<'_> {
    fn drop(&mut self) {
        let mut window = lock(self.state);
        window.queued = window.queued.saturating_sub(1);
    }
}

/// Every step leaves the window consistent, so a poisoned lock is still safe to use.
fn lock(state: &Mutex<Window>) -> MutexGuard<'_, Window> {
    state.lock().unwrap_or_else(PoisonError::into_inner)
}

#[cfg(test)]
mod tests {
    use super::*;

    use tokio::task::{JoinSet, yield_now};
    use tokio::time::advance;

    async fn start(limiter: &Limiter, tokens: u64) -> (LimiterPermit, Vec<Duration>) {
        let mut waits = Vec::new();
        let permit = limiter.acquire(tokens, &mut |wait| waits.push(wait)).await;
        (permit, waits)
    }

    #[tokio::test(start_paused = true)]
    async fn limiter_makes_the_61st_call_in_a_minute_wait_until_the_window_frees() {
        let limiter = Limiter::new(Some(60), None, None);
        let t0 = Instant::now();
        let (_, waits) = start(&limiter, 0).await;
        assert!(waits.is_empty());
        advance(Duration::from_secs(10)).await;
        for _ in 0..59 {
            let (_, waits) = start(&limiter, 0).await;
            assert!(waits.is_empty(), "call within the limit waited: {waits:?}");
        }

        let (_, waits) = start(&limiter, 0).await;
        assert_eq!(waits, [Duration::from_secs(50)], "on_wait reports the wait");
        assert_eq!(t0.elapsed(), WINDOW, "the 61st starts as the first leaves");
        assert_eq!(limiter.snapshot().rpm_used, 60);
    }

    #[tokio::test(start_paused = true)]
    async fn tpm_limit_waits_for_tokens() {
        let limiter = Limiter::new(None, Some(1000), None);
        let t0 = Instant::now();
        start(&limiter, 600).await;
        advance(Duration::from_secs(20)).await;
        start(&limiter, 300).await;

        let (_, waits) = start(&limiter, 500).await;
        assert_eq!(waits, [Duration::from_secs(40)], "until the 600 leave");
        assert_eq!(t0.elapsed(), WINDOW);
        assert_eq!(limiter.snapshot().tpm_used, 800);
    }

    #[tokio::test(start_paused = true)]
    async fn oversized_call_passes_on_an_empty_window() {
        let limiter = Limiter::new(None, Some(1000), None);
        let (_, waits) = start(&limiter, 5000).await;
        assert!(waits.is_empty());

        let (_, waits) = start(&limiter, 10).await;
        assert_eq!(
            waits,
            [WINDOW],
            "the next call waits for the big one to leave"
        );
    }

    #[tokio::test(start_paused = true)]
    async fn oversized_call_waits_for_the_window_to_empty() {
        let limiter = Limiter::new(None, Some(1000), None);
        start(&limiter, 10).await;
        advance(Duration::from_secs(5)).await;
        start(&limiter, 10).await;
        let (_, waits) = start(&limiter, 5000).await;
        assert_eq!(waits, [WINDOW], "until the later small call leaves too");
    }

    #[tokio::test(start_paused = true)]
    async fn actual_tokens_replace_the_estimate() {
        let limiter = Limiter::new(None, Some(1000), None);
        start(&limiter, 900).await;
        limiter.record_tokens(900, 100);
        let (_, waits) = start(&limiter, 800).await;
        assert!(waits.is_empty(), "the smaller actual count left room");

        limiter.record_tokens(800, 950);
        assert_eq!(limiter.snapshot().tpm_used, 1050);
    }

    #[tokio::test(start_paused = true)]
    async fn concurrency_cap_holds_the_third_call_until_a_permit_drops() {
        let limiter = Arc::new(Limiter::new(None, None, Some(2)));
        let (first, _) = start(&limiter, 0).await;
        let (_second, _) = start(&limiter, 0).await;

        let third = tokio::spawn({
            let limiter = Arc::clone(&limiter);
            async move { start(&limiter, 0).await }
        });
        advance(Duration::from_secs(600)).await;
        yield_now().await;
        assert!(!third.is_finished(), "the third call must wait for a slot");
        assert_eq!(limiter.snapshot().queued, 1);

        drop(first);
        let Ok((_third_permit, waits)) = third.await else {
            panic!("the third acquire panicked");
        };
        assert!(waits.is_empty(), "a slot wait is not a rate wait");
        assert_eq!(limiter.snapshot().queued, 0);
    }

    #[tokio::test(start_paused = true)]
    async fn queued_count_drops_when_a_waiting_acquire_is_cancelled() {
        let limiter = Arc::new(Limiter::new(Some(1), None, Some(1)));
        let (_permit, _) = start(&limiter, 0).await;

        let rate_waiter = tokio::spawn({
            let limiter = Arc::clone(&limiter);
            async move { start(&limiter, 0).await }
        });
        yield_now().await;
        assert_eq!(limiter.snapshot().queued, 1);
        rate_waiter.abort();
        assert!(rate_waiter.await.is_err_and(|error| error.is_cancelled()));
        assert_eq!(limiter.snapshot().queued, 0);

        // Past the rate limit, a caller waiting for the one slot is queued too.
        advance(WINDOW).await;
        let slot_waiter = tokio::spawn({
            let limiter = Arc::clone(&limiter);
            async move { start(&limiter, 0).await }
        });
        yield_now().await;
        assert_eq!(limiter.snapshot().queued, 1);
        slot_waiter.abort();
        assert!(slot_waiter.await.is_err_and(|error| error.is_cancelled()));
        assert_eq!(limiter.snapshot().queued, 0);
    }

    #[tokio::test(start_paused = true)]
    async fn snapshot_reports_usage() {
        let limiter = Limiter::new(Some(10), Some(1000), Some(4));
        for _ in 0..3 {
            start(&limiter, 100).await;
        }
        limiter.record_tokens(100, 250);
        limiter.note_retry();
        limiter.note_retry();
        assert_eq!(
            limiter.snapshot(),
            LimiterSnapshot {
                rpm_limit: Some(10),
                rpm_used: 3,
                tpm_limit: Some(1000),
                tpm_used: 450,
                queued: 0,
                retries: 2,
            }
        );

        advance(WINDOW).await;
        let later = limiter.snapshot();
        assert_eq!((later.rpm_used, later.tpm_used), (0, 0), "the window slid");
        assert_eq!(later.retries, 2, "retries count for the whole run");
    }

    #[tokio::test(start_paused = true)]
    async fn zero_limits_mean_no_limit() {
        let limiter = Limiter::new(Some(0), Some(0), None);
        for _ in 0..500 {
            let (_, waits) = start(&limiter, 10_000).await;
            assert!(waits.is_empty());
        }
        let snapshot = limiter.snapshot();
        assert_eq!((snapshot.rpm_limit, snapshot.tpm_limit), (None, None));
        assert_eq!(snapshot.rpm_used, 500);
    }

    #[tokio::test(start_paused = true)]
    async fn agents_sharing_one_limiter_together_keep_its_rate() {
        const RPM: usize = 10;
        let limiter = Arc::new(Limiter::new(Some(RPM as u32), None, None));
        let t0 = Instant::now();
        let mut agents = JoinSet::new();
        for _ in 0..8 {
            let limiter = Arc::clone(&limiter);
            agents.spawn(async move {
                let mut starts = Vec::new();
                for _ in 0..5 {
                    start(&limiter, 0).await;
                    starts.push(Instant::now());
                }
                starts
            });
        }
        let mut starts: Vec<Instant> = agents.join_all().await.into_iter().flatten().collect();
        starts.sort();

        assert_eq!(starts.len(), 40);
        for (earlier, later) in starts.iter().zip(&starts[RPM..]) {
            assert!(
                *later - *earlier >= WINDOW,
                "{} calls started within {:?}",
                RPM + 1,
                *later - *earlier
            );
        }
        assert_eq!(starts[RPM - 1], t0, "the first minute's calls did not wait");
        assert_eq!(
            *starts.last().unwrap_or(&t0) - t0,
            3 * WINDOW,
            "no wait longer than needed"
        );
    }
}
