//! A token bucket that keeps calls inside a rate on their own, instead of
//! leaning on Slack's 429s. The rate can change while running (a config
//! reload, or another worker joining and taking its share).

use std::sync::Mutex;
use std::time::{Duration, Instant};

#[derive(Debug)]
pub struct Pacer {
    inner: Mutex<Bucket>,
}

#[derive(Debug)]
struct Bucket {
    tokens: f64,
    at: Instant,
    per_sec: f64,
    burst: f64,
}

impl Bucket {
    fn refill(&mut self, now: Instant) {
        let elapsed = now.saturating_duration_since(self.at).as_secs_f64();
        self.tokens = (self.tokens + elapsed * self.per_sec).min(self.burst);
        self.at = now;
    }

    /// Takes up to `max` whole tokens at `now`, or says how long until one is free.
    fn take(&mut self, now: Instant, max: usize) -> Result<usize, Duration> {
        self.refill(now);
        if self.tokens >= 1.0 {
            let n = (self.tokens.floor() as usize).min(max.max(1));
            self.tokens -= n as f64;
            Ok(n)
        } else {
            Err(Duration::from_secs_f64((1.0 - self.tokens) / self.per_sec))
        }
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
                burst,
            }),
        }
    }

    /// Changes the sustained rate and burst; tokens already saved are kept
    /// (up to the new burst).
    pub fn set_rate(&self, per_minute: f64, burst: u32) {
        let mut b = self.inner.lock().expect("pacer lock");
        b.refill(Instant::now());
        b.per_sec = per_minute.max(0.01) / 60.0;
        b.burst = burst.max(1) as f64;
        b.tokens = b.tokens.min(b.burst);
    }

    /// The sustained rate per minute.
    pub fn per_minute(&self) -> f64 {
        self.inner.lock().expect("pacer lock").per_sec * 60.0
    }

    /// Waits until one call is allowed.
    pub async fn acquire(&self) {
        self.acquire_up_to(1).await;
    }

    /// Waits until at least one call is allowed, then takes as many as are
    /// free, up to `max`.
    pub async fn acquire_up_to(&self, max: usize) -> usize {
        loop {
            let wait = {
                let mut b = self.inner.lock().expect("pacer lock");
                match b.take(Instant::now(), max) {
                    Ok(n) => return n,
                    Err(w) => w,
                }
            };
            tokio::time::sleep(wait).await;
        }
    }

    /// Returns tokens that were taken but not used.
    pub fn give_back(&self, n: usize) {
        let mut b = self.inner.lock().expect("pacer lock");
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
            burst,
        }
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
    fn rate_changes_apply_at_once() {
        let p = Pacer::new(600.0, 5);
        p.set_rate(60.0, 1);
        assert!((p.per_minute() - 60.0).abs() < 1e-9);
        let b = p.inner.lock().unwrap();
        assert!(b.tokens <= 1.0);
    }

    #[tokio::test]
    async fn give_back_returns_unused_tokens() {
        let p = Pacer::new(60.0, 4);
        assert_eq!(p.acquire_up_to(4).await, 4);
        p.give_back(3);
        assert_eq!(p.acquire_up_to(4).await, 3);
    }
}
