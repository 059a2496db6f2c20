//! The rate limiter of one endpoint, shared by every agent on it: the provider entry's requests
//! and tokens per minute (sliding window) and calls in flight, and, where the entry sets no
//! number, what the server's own headers say (remaining calls and tokens until a reset). A 429
//! pauses the endpoint. Callers queue first come, first served, so every wait is known when it
//! starts. Waiting happens outside the lock.

use std::collections::VecDeque;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::Duration;

use reqwest::header::HeaderMap;
use tokio::sync::{OwnedSemaphorePermit, Semaphore, TryAcquireError};
use tokio::time::{Instant, sleep_until};

use super::quota::{MAX_RESET, Quota, ServerReport};
use crate::engine::protocol::{LimiterSnapshot, ServerQuota};

/// How far back the per-minute limits look.
const WINDOW: Duration = Duration::from_secs(60);

/// One per endpoint, shared (behind the `Endpoint`) by every agent that calls it, so N agents on
/// one key together stay under the key's limits. Also one per agent for
/// `settings.rate_limit_per_minute` (v6: each agent its own window).
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

/// The last minute of calls (and the calls booked to start soon), what the server said, and
/// counters for the pane.
#[derive(Debug, Default)]
struct Window {
    /// Each call started in the last minute or booked to start, in booking order (which is
    /// start order, and id order).
    calls: VecDeque<Call>,
    next_call: u64,
    /// What the server last said, with its resets as instants.
    requests: Option<Held>,
    tokens: Option<Held>,
    /// No call starts before this (a 429 asked for a pause).
    paused_until: Option<Instant>,
    queued: u32,
    retries: u32,
}

#[derive(Clone, Copy, Debug)]
struct Call {
    id: u64,
    starts: Instant,
    tokens: u64,
}

/// A server quota as the limiter keeps it: `remaining` counts down as calls start.
#[derive(Clone, Copy, Debug)]
struct Held {
    limit: Option<u64>,
    remaining: Option<u64>,
    reset_at: Option<Instant>,
}

/// Held for the duration of a call; frees the concurrency slot when dropped.
#[derive(Debug)]
pub struct LimiterPermit {
    call: u64,
    _slot: Option<OwnedSemaphorePermit>,
}

impl LimiterPermit {
    /// Names the call for [`Limiter::record_tokens`].
    pub fn call(&self) -> u64 {
        self.call
    }
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
    /// wait will be each time the limiter makes the caller wait: the call's place in the queue
    /// is booked before it waits, so the time told is the time it starts (unless a 429 or the
    /// server's headers tighten the limit meanwhile; then it is told again). A wait for a
    /// concurrency slot has no time to tell: it is told `None`.
    ///
    /// The call is counted in the window as soon as the rate allows it, before it waits for a
    /// concurrency slot. Dropping the future while it waits leaves no trace.
    pub async fn acquire(
        &self,
        tokens: u64,
        on_wait: &mut (dyn FnMut(Option<Duration>) + Send),
    ) -> LimiterPermit {
        let now = Instant::now();
        let (call, starts) = lock(&self.state).book(now, tokens, self.rpm, self.tpm);
        let mut booked = Booked {
            state: &self.state,
            call,
            queued: false,
            started: false,
        };
        let mut at = starts;
        loop {
            let now = Instant::now();
            if at > now {
                booked.queue();
                on_wait(Some(at - now));
                sleep_until(at).await;
                continue;
            }
            match lock(&self.state).start(call, now, tokens, self.rpm, self.tpm) {
                None => break,
                Some(later) => at = later,
            }
        }
        booked.started = true;
        drop(booked);
        let slot = match &self.slots {
            None => None,
            Some(slots) => match Arc::clone(slots).try_acquire_owned() {
                Ok(slot) => Some(slot),
                Err(TryAcquireError::NoPermits) => {
                    let _queued = Queued::enter(&self.state);
                    on_wait(None);
                    Arc::clone(slots).acquire_owned().await.ok()
                }
                // The semaphore is never closed; were it, the cap would simply not apply.
                Err(TryAcquireError::Closed) => None,
            },
        };
        LimiterPermit { call, _slot: slot }
    }

    /// Corrects the window with the tokens `call` really used; if it has left the window
    /// already, the correction no longer matters and is dropped.
    pub fn record_tokens(&self, call: u64, actual: u64) {
        let mut window = lock(&self.state);
        if let Some(entry) = window.call_mut(call) {
            entry.tokens = actual;
        }
    }

    /// Takes in what an answer's headers say about the server's limits.
    pub fn observe(&self, headers: &HeaderMap) {
        let report = ServerReport::read(headers, jiff::Timestamp::now());
        if report.is_empty() {
            return;
        }
        let now = Instant::now();
        let mut window = lock(&self.state);
        if let Some(quota) = report.requests {
            window.requests = Some(Held::from_report(quota, now));
        }
        if let Some(quota) = report.tokens {
            window.tokens = Some(Held::from_report(quota, now));
        }
    }

    /// The server answered 429: no call on this endpoint starts for `pause` (capped).
    pub fn pause(&self, pause: Duration) {
        let until = Instant::now() + pause.min(MAX_RESET);
        let mut window = lock(&self.state);
        window.paused_until = Some(window.paused_until.map_or(until, |p| p.max(until)));
    }

    pub fn note_retry(&self) {
        let mut window = lock(&self.state);
        window.retries = window.retries.saturating_add(1);
    }

    pub fn snapshot(&self) -> LimiterSnapshot {
        let now = Instant::now();
        let mut window = lock(&self.state);
        window.forget_expired(now);
        let started = window.calls.iter().filter(|c| c.starts <= now);
        let (count, tokens) = started.fold((0u32, 0u64), |(n, sum), c| {
            (n.saturating_add(1), sum.saturating_add(c.tokens))
        });
        LimiterSnapshot {
            rpm_limit: self.rpm,
            rpm_used: count,
            tpm_limit: self.tpm,
            tpm_used: tokens,
            queued: window.queued,
            retries: window.retries,
            server_requests: window.requests.map(|held| held.shown(now)),
            server_tokens: window.tokens.map(|held| held.shown(now)),
            paused_for: window
                .paused_until
                .filter(|&until| until > now)
                .map(|until| until - now),
        }
    }
}

impl Window {
    fn forget_expired(&mut self, now: Instant) {
        while self
            .calls
            .front()
            .is_some_and(|call| call.starts + WINDOW <= now)
        {
            self.calls.pop_front();
        }
        for held in [&mut self.requests, &mut self.tokens].into_iter().flatten() {
            held.release_if_reset(now);
        }
    }

    /// Books a call of `tokens` at the earliest time the per-minute limits and a pause allow,
    /// after every call booked before it (first come, first served), and says when that is.
    fn book(
        &mut self,
        now: Instant,
        tokens: u64,
        rpm: Option<u32>,
        tpm: Option<u64>,
    ) -> (u64, Instant) {
        self.forget_expired(now);
        let mut starts = now;
        if let Some(last) = self.calls.back() {
            starts = starts.max(last.starts);
        }
        let len = self.calls.len();
        if let Some(rpm) = rpm
            && let Some(first_to_leave) = len.checked_sub(rpm as usize)
        {
            // With this call, `rpm` calls would start within a minute of the one at `first_to_leave`.
            starts = starts.max(self.calls[first_to_leave].starts + WINDOW);
        }
        if let Some(tpm) = tpm {
            // A call larger than the whole `tpm` fits an empty window, or it would wait forever.
            let mut used = self
                .calls
                .iter()
                .fold(0u64, |sum, c| sum.saturating_add(c.tokens));
            let mut leaving = 0;
            while leaving < len && used.saturating_add(tokens) > tpm {
                used = used.saturating_sub(self.calls[leaving].tokens);
                leaving += 1;
            }
            if let Some(last_to_leave) = leaving.checked_sub(1) {
                starts = starts.max(self.calls[last_to_leave].starts + WINDOW);
            }
        }
        if let Some(paused) = self.paused_until {
            starts = starts.max(paused);
        }
        let id = self.next_call;
        self.next_call = self.next_call.wrapping_add(1);
        self.calls.push_back(Call { id, starts, tokens });
        (id, starts)
    }

    /// The booked `call` is due: it starts now (`None`), unless a pause or the server's quotas
    /// (where no per-minute limit is configured) say to wait until a later instant.
    fn start(
        &mut self,
        call: u64,
        now: Instant,
        tokens: u64,
        rpm: Option<u32>,
        tpm: Option<u64>,
    ) -> Option<Instant> {
        self.forget_expired(now);
        if let Some(paused) = self.paused_until.filter(|&p| p > now) {
            return Some(paused);
        }
        let requests = self.requests.as_mut().filter(|_| rpm.is_none());
        if let Some(reset) = requests.as_ref().and_then(|held| held.blocks(1)) {
            return Some(reset);
        }
        let tokens_held = self.tokens.as_mut().filter(|_| tpm.is_none());
        if let Some(reset) = tokens_held.as_ref().and_then(|held| held.blocks(tokens)) {
            return Some(reset);
        }
        for (held, spent) in [(&mut self.requests, 1), (&mut self.tokens, tokens)] {
            if let Some(held) = held {
                held.spend(spent);
            }
        }
        // The call really starts now; a pause may have moved it past its booked time.
        if let Some(entry) = self.call_mut(call) {
            entry.starts = entry.starts.max(now);
        }
        None
    }

    /// Calls are kept in the order of their ids, so a busy window (thousands of agents) finds
    /// one in a few steps.
    fn call_mut(&mut self, call: u64) -> Option<&mut Call> {
        let index = self.calls.binary_search_by_key(&call, |c| c.id).ok()?;
        self.calls.get_mut(index)
    }
}

impl Held {
    fn from_report(quota: Quota, now: Instant) -> Self {
        Self {
            limit: quota.limit,
            remaining: quota.remaining,
            reset_at: quota.reset_in.map(|wait| now + wait),
        }
    }

    /// When the quota cannot pay for `cost` before its reset, that reset. A quota with no known
    /// reset never blocks: nothing says when waiting would end.
    fn blocks(&self, cost: u64) -> Option<Instant> {
        let remaining = self.remaining?;
        let reset = self.reset_at?;
        (remaining < cost).then_some(reset)
    }

    fn spend(&mut self, cost: u64) {
        if let Some(remaining) = &mut self.remaining {
            *remaining = remaining.saturating_sub(cost);
        }
    }

    /// At its reset the server restores the whole limit (or, unknown, lifts the quota).
    fn release_if_reset(&mut self, now: Instant) {
        if self.reset_at.is_some_and(|reset| reset <= now) {
            self.remaining = self.limit;
            self.reset_at = None;
        }
    }

    fn shown(&self, now: Instant) -> ServerQuota {
        let shown = |count: Option<u64>| count.map(|n| u32::try_from(n).unwrap_or(u32::MAX));
        ServerQuota {
            limit: shown(self.limit),
            remaining: shown(self.remaining),
            reset_in: self
                .reset_at
                .map(|reset| reset.saturating_duration_since(now)),
        }
    }
}

/// A call's place in the window while it waits to start: counted in `queued` once it waits,
/// and given back if the wait is dropped before it starts.
struct Booked<'a> {
    state: &'a Mutex<Window>,
    call: u64,
    queued: bool,
    started: bool,
}

impl Booked<'_> {
    fn queue(&mut self) {
        if !self.queued {
            self.queued = true;
            let mut window = lock(self.state);
            window.queued = window.queued.saturating_add(1);
        }
    }
}

impl Drop for Booked<'_> {
    fn drop(&mut self) {
        let mut window = lock(self.state);
        if self.queued {
            window.queued = window.queued.saturating_sub(1);
        }
        if !self.started {
            window.calls.retain(|c| c.id != self.call);
        }
    }
}

/// Counts a caller in `queued` while it waits for a concurrency slot, including when its wait
/// is cancelled.
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

    /// A permit and the timed waits announced on the way to it.
    async fn start(limiter: &Limiter, tokens: u64) -> (LimiterPermit, Vec<Duration>) {
        let (permit, waits) = start_told(limiter, tokens).await;
        (permit, waits.into_iter().flatten().collect())
    }

    /// A permit and every wait announced on the way to it (`None`: for a slot).
    async fn start_told(limiter: &Limiter, tokens: u64) -> (LimiterPermit, Vec<Option<Duration>>) {
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

    fn headers(pairs: &[(&'static str, &str)]) -> HeaderMap {
        let mut headers = HeaderMap::new();
        for (name, value) in pairs {
            headers.insert(*name, value.parse().unwrap());
        }
        headers
    }

    #[tokio::test(start_paused = true)]
    async fn callers_in_a_crowd_are_each_told_their_true_wait() {
        let limiter = Arc::new(Limiter::new(Some(2), None, None));
        let t0 = Instant::now();
        let mut crowd = JoinSet::new();
        for _ in 0..6 {
            let limiter = Arc::clone(&limiter);
            crowd.spawn(async move {
                let (_, waits) = start(&limiter, 0).await;
                (waits, t0.elapsed())
            });
        }
        let mut seen = crowd.join_all().await;
        seen.sort();
        let minute = |n: u32| WINDOW * n;
        assert_eq!(
            seen,
            [
                (vec![], minute(0)),
                (vec![], minute(0)),
                (vec![minute(1)], minute(1)),
                (vec![minute(1)], minute(1)),
                (vec![minute(2)], minute(2)),
                (vec![minute(2)], minute(2)),
            ],
            "one wait each, told once and kept, first come first served"
        );
    }

    #[tokio::test(start_paused = true)]
    async fn a_cancelled_wait_gives_its_place_back() {
        let limiter = Arc::new(Limiter::new(Some(1), None, None));
        start(&limiter, 0).await;
        let waiter = tokio::spawn({
            let limiter = Arc::clone(&limiter);
            async move { start(&limiter, 0).await }
        });
        yield_now().await;
        waiter.abort();
        assert!(waiter.await.is_err_and(|error| error.is_cancelled()));
        let (_, waits) = start(&limiter, 0).await;
        assert_eq!(
            waits,
            [WINDOW],
            "not two minutes: the cancelled call left the queue"
        );
    }

    #[tokio::test(start_paused = true)]
    async fn no_requests_remaining_waits_until_the_servers_reset_then_releases() {
        let limiter = Limiter::new(None, None, None);
        limiter.observe(&headers(&[
            ("x-ratelimit-limit-requests", "2"),
            ("x-ratelimit-remaining-requests", "1"),
            ("x-ratelimit-reset-requests", "2s"),
        ]));
        let (_, waits) = start(&limiter, 0).await;
        assert!(waits.is_empty(), "one call was left");
        let shown = limiter.snapshot().server_requests.unwrap();
        assert_eq!(
            shown,
            ServerQuota {
                limit: Some(2),
                remaining: Some(0),
                reset_in: Some(Duration::from_secs(2)),
            }
        );

        let t0 = Instant::now();
        let (_, waits) = start(&limiter, 0).await;
        assert_eq!(waits, [Duration::from_secs(2)]);
        assert_eq!(t0.elapsed(), Duration::from_secs(2));
        assert_eq!(
            limiter.snapshot().server_requests.unwrap(),
            ServerQuota {
                limit: Some(2),
                remaining: Some(1),
                reset_in: None,
            },
            "the reset restored the limit, and this call spent one"
        );
    }

    #[tokio::test(start_paused = true)]
    async fn too_few_tokens_remaining_waits_for_the_token_reset() {
        let limiter = Limiter::new(None, None, None);
        limiter.observe(&headers(&[
            ("anthropic-ratelimit-tokens-remaining", "500"),
            ("anthropic-ratelimit-tokens-reset", "2999-01-01T00:00:00Z"),
        ]));
        let (_, waits) = start(&limiter, 400).await;
        assert!(waits.is_empty());
        let (_, waits) = start(&limiter, 400).await;
        assert_eq!(waits, [MAX_RESET], "a far-future reset is capped");
    }

    #[tokio::test(start_paused = true)]
    async fn a_configured_limit_wins_over_the_servers_headers() {
        let limiter = Limiter::new(Some(100), None, None);
        limiter.observe(&headers(&[
            ("x-ratelimit-remaining-requests", "0"),
            ("x-ratelimit-reset-requests", "30s"),
        ]));
        let (_, waits) = start(&limiter, 0).await;
        assert!(waits.is_empty(), "rpm: 100 in the provider entry decides");
        assert_eq!(
            limiter.snapshot().server_requests.unwrap().remaining,
            Some(0),
            "what the server said is still shown"
        );
    }

    #[tokio::test(start_paused = true)]
    async fn a_quota_without_a_reset_never_blocks() {
        let limiter = Limiter::new(None, None, None);
        limiter.observe(&headers(&[
            ("x-ratelimit-remaining-requests", "0"),
            ("x-ratelimit-reset-requests", "whenever"),
            ("x-ratelimit-remaining-tokens", "18446744073709551615"),
        ]));
        for _ in 0..3 {
            let (_, waits) = start(&limiter, u64::MAX).await;
            assert!(waits.is_empty(), "nothing says when a wait would end");
        }
    }

    #[tokio::test(start_paused = true)]
    async fn a_429_pauses_every_caller_then_lets_them_all_go() {
        let limiter = Arc::new(Limiter::new(None, None, None));
        limiter.pause(Duration::from_secs(5));
        assert_eq!(limiter.snapshot().paused_for, Some(Duration::from_secs(5)));
        let mut callers = JoinSet::new();
        for _ in 0..3 {
            let limiter = Arc::clone(&limiter);
            callers.spawn(async move { start(&limiter, 0).await.1 });
        }
        for waits in callers.join_all().await {
            assert_eq!(waits, [Duration::from_secs(5)]);
        }
        assert_eq!(limiter.snapshot().paused_for, None);

        limiter.pause(Duration::from_secs(86_400));
        assert_eq!(limiter.snapshot().paused_for, Some(MAX_RESET), "capped");
    }

    #[tokio::test(start_paused = true)]
    async fn a_pause_that_comes_while_a_caller_waits_is_told_too() {
        let limiter = Arc::new(Limiter::new(Some(1), None, None));
        start(&limiter, 0).await;
        let waiter = tokio::spawn({
            let limiter = Arc::clone(&limiter);
            async move { start(&limiter, 0).await.1 }
        });
        yield_now().await;
        advance(WINDOW - Duration::from_secs(1)).await;
        limiter.pause(Duration::from_secs(10));
        let waits = waiter.await.unwrap();
        assert_eq!(waits, [WINDOW, Duration::from_secs(9)]);
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
        let (first, _) = start(&limiter, 900).await;
        limiter.record_tokens(first.call(), 100);
        let (second, waits) = start(&limiter, 800).await;
        assert!(waits.is_empty(), "the smaller actual count left room");

        limiter.record_tokens(second.call(), 950);
        assert_eq!(limiter.snapshot().tpm_used, 1050);
    }

    #[tokio::test(start_paused = true)]
    async fn concurrency_cap_holds_the_third_call_until_a_permit_drops() {
        let limiter = Arc::new(Limiter::new(None, None, Some(2)));
        let (first, _) = start(&limiter, 0).await;
        let (_second, _) = start(&limiter, 0).await;

        let third = tokio::spawn({
            let limiter = Arc::clone(&limiter);
            async move { start_told(&limiter, 0).await }
        });
        advance(Duration::from_secs(600)).await;
        yield_now().await;
        assert!(!third.is_finished(), "the third call must wait for a slot");
        assert_eq!(limiter.snapshot().queued, 1);

        drop(first);
        let Ok((_third_permit, waits)) = third.await else {
            panic!("the third acquire panicked");
        };
        assert_eq!(waits, [None], "a slot wait is told, with no time");
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
        let mut last = None;
        for _ in 0..3 {
            last = Some(start(&limiter, 100).await.0.call());
        }
        limiter.record_tokens(last.unwrap(), 250);
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
                ..LimiterSnapshot::default()
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
