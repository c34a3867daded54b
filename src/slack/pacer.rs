//! A token bucket that keeps calls inside a rate on their own, instead of
//! leaning on Slack's 429s. The rate can change while running (a config
//! reload, or another worker joining and taking its share).

use std::sync::Mutex;
use std::time::{Duration, Instant};

/// The share of a Slack limit the bot uses when its bucket holds one call.
/// Slack's bucket and ours refill alike, so pacing at exactly the limit
/// collides with it whenever one call's network delay is a little shorter
/// than the last one's; 3% under it, each call leaves Slack a little slack
/// and the jitter never finds its bucket empty.
pub const HEADROOM: f64 = 0.97;
/// The share used when the bot's burst is two calls or more: Slack's burst
/// (about twice ours) then starts with spare calls that absorb the jitter,
/// and 1% under is enough for the slack to keep growing.
pub const HEADROOM_WITH_SPARE: f64 = 0.99;
/// The bot's burst, in seconds of its rate (at least one call). Slack's
/// bursts are undocumented and small, about a second's worth; ours is half
/// of that, so Slack's bucket still holds spare calls when ours is spent.
pub const BURST_SECONDS: f64 = 0.5;

/// The rate (per minute) and burst the bot uses for a Slack limit of
/// `per_minute`.
pub fn shape(per_minute: f64) -> (f64, u32) {
    let burst = |rate: f64| (rate / 60.0 * BURST_SECONDS).floor().max(1.0) as u32;
    let wide = per_minute * HEADROOM_WITH_SPARE;
    if burst(wide) >= 2 {
        return (wide, burst(wide));
    }
    let rate = per_minute * HEADROOM;
    (rate, burst(rate))
}

/// Wall-clock epoch ms: Slack's Retry-After is real time, whatever the
/// injected clock says, so shared pauses are stamped with it.
pub fn epoch_ms() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_millis() as i64)
        .unwrap_or_default()
}

/// After a 429 the rate drops to this share of the configured rate...
const DECREASE: f64 = 0.5;
/// ...never below this share...
const MIN_FACTOR: f64 = 0.1;
/// ...and climbs back by this share of the configured rate per second of
/// calls without a 429 (additive increase: from half to full in 10 s).
const RECOVER_PER_SEC: f64 = 0.05;

#[derive(Debug)]
pub struct Pacer {
    inner: Mutex<Bucket>,
    /// Wakes callers waiting for a token when the rate changes: a wait
    /// computed at a low share (many workers) would otherwise run its full
    /// course after the share grows (the dead workers aged out), e.g. 24 s
    /// for a Tier 3 call shared by 20, after a crash loop.
    rate_changed: tokio::sync::Notify,
}

#[derive(Debug)]
struct Bucket {
    tokens: f64,
    at: Instant,
    /// The configured rate; the bucket refills at `per_sec * factor`.
    per_sec: f64,
    /// AIMD share of the configured rate, in [MIN_FACTOR, 1].
    factor: f64,
    burst: f64,
    /// Slack said "wait" (429 Retry-After): nothing goes out before this.
    paused_until: Option<Instant>,
}

impl Bucket {
    fn refill(&mut self, now: Instant) {
        if let Some(p) = self.paused_until {
            if now < p {
                // Nothing accrues while paused.
                self.at = now;
                return;
            }
            self.paused_until = None;
            self.at = self.at.max(p);
        }
        let elapsed = now.saturating_duration_since(self.at).as_secs_f64();
        self.tokens = (self.tokens + elapsed * self.per_sec * self.factor).min(self.burst);
        self.factor = (self.factor + elapsed * RECOVER_PER_SEC).min(1.0);
        self.at = now;
    }

    /// Takes up to `max` whole tokens at `now`, or says how long until one is free.
    fn take(&mut self, now: Instant, max: usize) -> Result<usize, Duration> {
        self.refill(now);
        if let Some(p) = self.paused_until {
            return Err(p
                .saturating_duration_since(now)
                .max(Duration::from_millis(1)));
        }
        if self.tokens >= 1.0 {
            let n = (self.tokens.floor() as usize).min(max.max(1));
            self.tokens -= n as f64;
            Ok(n)
        } else {
            Err(Duration::from_secs_f64(
                (1.0 - self.tokens) / (self.per_sec * self.factor),
            ))
        }
    }

    /// A 429: pause until `until`, and (once per wave of 429s) halve the rate.
    fn penalize(&mut self, now: Instant, until: Instant) -> bool {
        self.refill(now);
        let fresh = self.paused_until.is_none();
        if fresh {
            self.factor = (self.factor * DECREASE).max(MIN_FACTOR);
        }
        self.tokens = 0.0;
        if until > now {
            self.paused_until = Some(self.paused_until.map_or(until, |p| p.max(until)));
        }
        fresh
    }
}

impl Pacer {
    /// `per_minute` sustained, with bursts of up to `burst` calls.
    pub fn new(per_minute: f64, burst: u32) -> Self {
        let burst = burst.max(1) as f64;
        Self {
            inner: Mutex::new(Bucket {
                tokens: burst,
                at: Instant::now(),
                per_sec: per_minute.max(0.01) / 60.0,
                factor: 1.0,
                burst,
                paused_until: None,
            }),
            rate_changed: tokio::sync::Notify::new(),
        }
    }

    /// Paces calls under a Slack limit of `per_minute` (see `shape`).
    pub fn for_limit(per_minute: f64) -> Self {
        let (rate, burst) = shape(per_minute);
        Self::new(rate, burst)
    }

    /// Changes the limit this pacer keeps under (see `shape`).
    pub fn set_limit(&self, per_minute: f64) {
        let (rate, burst) = shape(per_minute);
        self.set_rate(rate, burst);
    }

    fn bucket(&self) -> std::sync::MutexGuard<'_, Bucket> {
        self.inner.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Changes the sustained rate and burst; tokens already saved are kept
    /// (up to the new burst), and so are a pause and the AIMD share.
    pub fn set_rate(&self, per_minute: f64, burst: u32) {
        {
            let mut b = self.bucket();
            b.refill(Instant::now());
            b.per_sec = per_minute.max(0.01) / 60.0;
            b.burst = burst.max(1) as f64;
            b.tokens = b.tokens.min(b.burst);
        }
        self.rate_changed.notify_waiters();
    }

    /// The configured sustained rate per minute.
    pub fn per_minute(&self) -> f64 {
        self.bucket().per_sec * 60.0
    }

    /// The rate in force now (after any 429 slow-down), per minute.
    pub fn current_per_minute(&self) -> f64 {
        let mut b = self.bucket();
        b.refill(Instant::now());
        b.per_sec * b.factor * 60.0
    }

    /// Slack answered 429 with `Retry-After: retry_after`: every caller
    /// waits it out, and the rate comes back gradually. True for the first
    /// 429 of a wave (the one that halved the rate).
    pub fn penalize(&self, retry_after: Duration) -> bool {
        let now = Instant::now();
        self.bucket().penalize(now, now + retry_after)
    }

    /// Adopts a pause another worker saw (shared through the database),
    /// without slowing down further if this worker already knows of it.
    pub fn pause_until(&self, until: Instant) {
        let now = Instant::now();
        let mut b = self.bucket();
        b.refill(now);
        if until > now && b.paused_until.is_none_or(|p| p < until) {
            b.penalize(now, until);
        }
    }

    /// When the current pause ends, if there is one.
    pub fn paused_for(&self) -> Option<Duration> {
        let now = Instant::now();
        let mut b = self.bucket();
        b.refill(now);
        b.paused_until.map(|p| p.saturating_duration_since(now))
    }

    /// Waits out a pause without taking a token (for calls paced
    /// elsewhere that must still honour a 429).
    pub async fn wait_unpaused(&self) {
        while let Some(d) = self.paused_for() {
            tokio::time::sleep(d.max(Duration::from_millis(1))).await;
        }
    }

    /// Waits until one call is allowed.
    pub async fn acquire(&self) {
        self.acquire_up_to(1).await;
    }

    /// Waits until at least one call is allowed, then takes as many as are
    /// free, up to `max`.
    pub async fn acquire_up_to(&self, max: usize) -> usize {
        loop {
            // Registered before the bucket is read, so a rate change in
            // between still wakes this caller to recompute its wait.
            let changed = self.rate_changed.notified();
            let mut changed = std::pin::pin!(changed);
            changed.as_mut().enable();
            let wait = {
                let mut b = self.bucket();
                match b.take(Instant::now(), max) {
                    Ok(n) => return n,
                    Err(w) => w,
                }
            };
            tokio::select! {
                _ = tokio::time::sleep(wait) => {}
                _ = changed => {}
            }
        }
    }

    /// Returns tokens that were taken but not used.
    pub fn give_back(&self, n: usize) {
        let mut b = self.bucket();
        b.tokens = (b.tokens + n as f64).min(b.burst);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn bucket(per_min: f64, burst: f64, at: Instant) -> Bucket {
        Bucket {
            tokens: burst,
            at,
            per_sec: per_min / 60.0,
            factor: 1.0,
            burst,
            paused_until: None,
        }
    }

    #[test]
    fn a_429_pauses_everyone_then_the_rate_comes_back_gradually() {
        let t0 = Instant::now();
        let mut b = bucket(60.0, 2.0, t0);
        assert_eq!(b.take(t0, 2), Ok(2));
        // The first 429 of a wave halves the rate; the rest only extend the pause.
        assert!(b.penalize(t0, t0 + Duration::from_secs(3)));
        assert!(!b.penalize(t0, t0 + Duration::from_secs(2)));
        assert!((b.factor - 0.5).abs() < 1e-9);
        // Nothing goes out during the pause, however long one waits inside it.
        let wait = b.take(t0 + Duration::from_secs(1), 1).unwrap_err();
        assert!((wait.as_secs_f64() - 2.0).abs() < 1e-6, "{wait:?}");
        // After it, half the rate: one token takes 2 s, not 1 s.
        let after = t0 + Duration::from_secs(3);
        assert!(b.take(after + Duration::from_millis(1500), 1).is_err());
        assert_eq!(b.take(after + Duration::from_millis(2100), 1), Ok(1));
        // And the share climbs back to the full rate, not past it.
        b.refill(after + Duration::from_secs(60));
        assert!((b.factor - 1.0).abs() < 1e-9);
        // A later 429 after recovery halves again.
        assert!(b.penalize(
            after + Duration::from_secs(60),
            after + Duration::from_secs(61)
        ));
        assert!((b.factor - 0.5).abs() < 1e-9);
    }

    #[test]
    fn repeated_waves_never_stop_the_rate() {
        let t0 = Instant::now();
        let mut b = bucket(60.0, 1.0, t0);
        for i in 0..20 {
            let t = t0 + Duration::from_millis(i);
            b.penalize(t, t);
            b.paused_until = None;
        }
        assert!(b.factor >= MIN_FACTOR - 1e-12);
    }

    #[test]
    fn bursts_then_paces_at_the_rate() {
        let t0 = Instant::now();
        let mut b = bucket(60.0, 3.0, t0);
        assert_eq!(b.take(t0, 10), Ok(3));
        let wait = b.take(t0, 1).unwrap_err();
        assert!((wait.as_secs_f64() - 1.0).abs() < 1e-6, "{wait:?}");
        assert!(b.take(t0 + Duration::from_millis(500), 1).is_err());
        assert_eq!(b.take(t0 + Duration::from_millis(1000), 1), Ok(1));
        // A long idle refills only up to the burst.
        let later = t0 + Duration::from_secs(3600);
        assert_eq!(b.take(later, 2), Ok(2));
        assert_eq!(b.take(later, 2), Ok(1));
        assert!(b.take(later, 1).is_err());
    }

    #[test]
    fn keeps_under_the_limit_with_a_small_burst() {
        // Slack's workspace cap: 600/min with about a second's burst (10):
        // ours starts 6 calls short of it, so 1% under is enough.
        let (rate, burst) = shape(600.0);
        assert!((rate - 594.0).abs() < 1e-9);
        assert_eq!(burst, 4);
        // Tier 4 (100/min): a one-call bucket, 3% under.
        let (rate, burst) = shape(100.0);
        assert!((rate - 97.0).abs() < 1e-9);
        assert_eq!(burst, 1);
        // Tier 2 (20/min): one call at a time, a little over 3 s apart.
        let (rate, burst) = shape(20.0);
        assert_eq!(burst, 1);
        assert!(60.0 / rate > 3.0);
        // A tiny rate still lets one call through.
        assert_eq!(shape(1.0).1, 1);
    }

    #[test]
    fn rate_changes_apply_at_once() {
        let p = Pacer::new(600.0, 5);
        p.set_rate(60.0, 1);
        assert!((p.per_minute() - 60.0).abs() < 1e-9);
        let b = p.bucket();
        assert!(b.tokens <= 1.0);
    }

    #[tokio::test]
    async fn give_back_returns_unused_tokens() {
        let p = Pacer::new(60.0, 4);
        assert_eq!(p.acquire_up_to(4).await, 4);
        p.give_back(3);
        assert_eq!(p.acquire_up_to(4).await, 3);
    }

    /// A caller waiting at a low rate is woken when the rate goes up (the
    /// live worker count fell), instead of sleeping out the old wait.
    #[tokio::test]
    async fn a_raised_rate_wakes_a_waiting_caller() {
        let p = std::sync::Arc::new(Pacer::new(1.0, 1));
        p.acquire().await;
        let waiter = {
            let p = p.clone();
            tokio::spawn(async move { p.acquire().await })
        };
        // Let the waiter start its minute-long wait.
        tokio::time::sleep(Duration::from_millis(50)).await;
        assert!(!waiter.is_finished());
        p.set_rate(6000.0, 1);
        tokio::time::timeout(Duration::from_secs(5), waiter)
            .await
            .expect("woken by the new rate, not after a minute")
            .unwrap();
    }
}
