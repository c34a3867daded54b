//! A token bucket that keeps the fan-out inside a rate on its own, instead of
//! leaning on Slack's 429s.

use std::time::{Duration, Instant};
use tokio::sync::Mutex;

#[derive(Debug)]
pub struct Pacer {
    inner: Mutex<Bucket>,
    per_sec: f64,
    burst: f64,
}

#[derive(Debug)]
struct Bucket {
    tokens: f64,
    at: Instant,
}

impl Pacer {
    /// `per_minute` sustained, with bursts of up to `burst` calls.
    pub fn new(per_minute: u32, burst: u32) -> Self {
        let burst = burst.max(1) as f64;
        Self {
            inner: Mutex::new(Bucket {
                tokens: burst,
                at: Instant::now(),
            }),
            per_sec: per_minute.max(1) as f64 / 60.0,
            burst,
        }
    }

    /// Takes one token at `now`, or says how long until one is free.
    fn try_take(&self, b: &mut Bucket, now: Instant) -> Result<(), Duration> {
        let elapsed = now.saturating_duration_since(b.at).as_secs_f64();
        b.tokens = (b.tokens + elapsed * self.per_sec).min(self.burst);
        b.at = now;
        if b.tokens >= 1.0 {
            b.tokens -= 1.0;
            Ok(())
        } else {
            Err(Duration::from_secs_f64((1.0 - b.tokens) / self.per_sec))
        }
    }

    /// Waits until one call is allowed.
    pub async fn acquire(&self) {
        loop {
            let wait = {
                let mut b = self.inner.lock().await;
                match self.try_take(&mut b, Instant::now()) {
                    Ok(()) => return,
                    Err(w) => w,
                }
            };
            tokio::time::sleep(wait).await;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bursts_then_paces_at_the_rate() {
        let p = Pacer::new(60, 3);
        let t0 = Instant::now();
        let mut b = Bucket {
            tokens: 3.0,
            at: t0,
        };
        for _ in 0..3 {
            assert_eq!(p.try_take(&mut b, t0), Ok(()));
        }
        let wait = p.try_take(&mut b, t0).unwrap_err();
        assert!((wait.as_secs_f64() - 1.0).abs() < 1e-6, "{wait:?}");
        assert!(p.try_take(&mut b, t0 + Duration::from_millis(500)).is_err());
        assert_eq!(p.try_take(&mut b, t0 + Duration::from_millis(1000)), Ok(()));
        // A long idle refills only up to the burst.
        let later = t0 + Duration::from_secs(3600);
        for _ in 0..3 {
            assert_eq!(p.try_take(&mut b, later), Ok(()));
        }
        assert!(p.try_take(&mut b, later).is_err());
    }
}
