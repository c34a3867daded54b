//! Slack's Web API rate limits, per method and per workspace.
//!
//! Slack enforces tiers (requests per minute per method per workspace) and a
//! special limit for chat.postMessage (about 1 message per second per channel,
//! short bursts allowed, plus a workspace-wide cap). A bot that ignores them
//! gets HTTP 429 + `Retry-After`; the emulator reproduces that so the bot's
//! back-off and fan-out scheduler can be tested.
//!
//! Token buckets model "N per minute": refilled continuously at N/60 per
//! second. Slack does not document its bursts; like Slack's own guidance
//! ("assume a small one"), a bucket holds about [`RateLimits::burst_seconds`]
//! worth of its rate (1 s by default): capacity `max(1, ceil(rate_per_sec ×
//! burst_seconds))`. So by default a Tier 2 method (20/min) takes 1 call at
//! once, then one every 3 s, and chat.postMessage's workspace cap (600/min)
//! takes 10 at once. The per-channel chat.postMessage bucket keeps its own
//! documented "short bursts allowed" size, [`RateLimits::post_message_burst`].
//! `Retry-After` is the whole seconds until the bucket that refused has a
//! token again (rounded up, at least 1).

use std::collections::HashMap;
use std::time::{Duration, Instant};

/// Tier 1: 1+ per minute.
pub const TIER_1: u32 = 1;
/// Tier 2: 20+ per minute.
pub const TIER_2: u32 = 20;
/// Tier 3: 50+ per minute.
pub const TIER_3: u32 = 50;
/// Tier 4: 100+ per minute.
pub const TIER_4: u32 = 100;

/// chat.getPermalink has a special limit, roughly 100 per second.
pub const CHAT_GET_PERMALINK_PER_MIN: u32 = 6000;

/// Tunable limits. All fields are public so a benchmark can use Slack's
/// documented numbers or scale them.
#[derive(Clone, Debug, PartialEq)]
pub struct RateLimits {
    /// Master switch; `false` accepts everything.
    pub enabled: bool,
    /// Requests per minute per method (the tier). Methods absent here are
    /// unlimited (except chat.postMessage, see below).
    pub per_method_per_min: HashMap<String, u32>,
    /// chat.postMessage: sustained messages per second per channel.
    pub post_message_per_channel_per_sec: f64,
    /// chat.postMessage: burst allowance per channel.
    pub post_message_burst: u32,
    /// chat.postMessage: workspace-wide cap per minute (0 = none).
    pub post_message_workspace_per_min: u32,
    /// How many seconds' worth of its rate each tier bucket and the
    /// chat.postMessage workspace bucket hold (their burst): capacity
    /// `max(1, ceil(per_min / 60 × burst_seconds))`. Slack's bursts are
    /// undocumented; 1.0 (one second's worth) by default. 60.0 gives the
    /// whole minute's allowance at once.
    pub burst_seconds: f64,
}

impl RateLimits {
    /// Slack's documented tiers (each method's reference page, "Rate
    /// limits"). conversations.history is Tier 3 for internal and
    /// Marketplace apps (Slack cut it to 1/min and 15 messages a page for
    /// commercially distributed non-Marketplace apps in 2025).
    pub fn slack() -> Self {
        let mut m = HashMap::new();
        for (method, tier) in [
            ("apps.connections.open", TIER_1),
            ("users.list", TIER_2),
            ("conversations.open", TIER_3),
            ("conversations.info", TIER_3),
            ("conversations.history", TIER_3),
            ("conversations.replies", TIER_3),
            ("chat.update", TIER_3),
            ("chat.delete", TIER_3),
            ("users.info", TIER_4),
            ("conversations.members", TIER_4),
            ("views.open", TIER_4),
            ("views.update", TIER_4),
            ("views.push", TIER_4),
            ("views.publish", TIER_4),
            ("chat.postEphemeral", TIER_4),
            // "Special rate limits apply": about 100 per second.
            ("chat.getPermalink", CHAT_GET_PERMALINK_PER_MIN),
            ("usergroups.users.list", TIER_2),
            ("files.getUploadURLExternal", TIER_4),
            ("files.completeUploadExternal", TIER_4),
        ] {
            m.insert(method.to_string(), tier);
        }
        Self {
            enabled: true,
            per_method_per_min: m,
            post_message_per_channel_per_sec: 1.0,
            post_message_burst: 3,
            post_message_workspace_per_min: 600,
            burst_seconds: 1.0,
        }
    }

    /// No limits at all.
    pub fn disabled() -> Self {
        Self {
            enabled: false,
            ..Self::slack()
        }
    }

    /// Slack's limits multiplied by `factor` (e.g. 10.0 to run a benchmark
    /// ten times faster while keeping the same shape). Rates (and the
    /// per-channel burst) scale; `burst_seconds` does not, so each bucket
    /// still holds that many seconds of its (scaled) rate.
    pub fn scaled(factor: f64) -> Self {
        let mut s = Self::slack();
        for v in s.per_method_per_min.values_mut() {
            *v = ((*v as f64) * factor).ceil().max(1.0) as u32;
        }
        s.post_message_per_channel_per_sec *= factor;
        s.post_message_burst = ((s.post_message_burst as f64) * factor).ceil().max(1.0) as u32;
        s.post_message_workspace_per_min =
            ((s.post_message_workspace_per_min as f64) * factor).ceil() as u32;
        s
    }

    /// Builder-style override of one method's per-minute limit.
    pub fn with_method(mut self, method: &str, per_min: u32) -> Self {
        self.per_method_per_min.insert(method.to_string(), per_min);
        self
    }

    /// Builder-style override of [`RateLimits::burst_seconds`].
    pub fn with_burst_seconds(mut self, seconds: f64) -> Self {
        self.burst_seconds = seconds;
        self
    }

    /// The capacity of a bucket refilled at `per_min` per minute:
    /// `max(1, ceil(per_min / 60 × burst_seconds))`.
    pub fn burst_for(&self, per_min: f64) -> u32 {
        let burst = if self.burst_seconds.is_finite() {
            self.burst_seconds.max(0.0)
        } else {
            0.0
        };
        // Computed as per_min × s / 60 (exact for whole numbers), with a
        // hair of tolerance so float noise never adds a token.
        let n = (per_min * burst / 60.0 - 1e-9).ceil();
        if n.is_finite() {
            n.clamp(1.0, u32::MAX as f64) as u32
        } else {
            1
        }
    }
}

impl Default for RateLimits {
    fn default() -> Self {
        Self::slack()
    }
}

#[derive(Debug)]
struct Bucket {
    capacity: f64,
    per_sec: f64,
    tokens: f64,
    last: Instant,
}

impl Bucket {
    fn new(capacity: f64, per_sec: f64, now: Instant) -> Self {
        Self {
            capacity,
            per_sec,
            tokens: capacity,
            last: now,
        }
    }

    fn refill(&mut self, now: Instant) {
        let dt = now.saturating_duration_since(self.last).as_secs_f64();
        self.tokens = (self.tokens + dt * self.per_sec).min(self.capacity);
        self.last = now;
    }

    /// Time until one token is available (zero when one is).
    fn wait(&self) -> Duration {
        if self.tokens >= 1.0 {
            Duration::ZERO
        } else if self.per_sec <= 0.0 {
            Duration::from_secs(60)
        } else {
            Duration::from_secs_f64((1.0 - self.tokens) / self.per_sec)
        }
    }
}

/// The state of every bucket. Not thread-safe by itself; the emulator keeps
/// it behind its state lock.
#[derive(Debug, Default)]
pub struct RateLimiter {
    buckets: HashMap<String, Bucket>,
    rejected: u64,
}

impl RateLimiter {
    /// Takes a token for `method` (and `channel` for chat.postMessage).
    /// `Err(retry_after_secs)` (always >= 1) when over the limit.
    pub fn check(
        &mut self,
        limits: &RateLimits,
        method: &str,
        channel: Option<&str>,
        now: Instant,
    ) -> Result<(), u64> {
        if !limits.enabled {
            return Ok(());
        }
        let mut keys: Vec<(String, f64, f64)> = Vec::new();
        if method == "chat.postMessage" {
            if let Some(ch) = channel {
                keys.push((
                    format!("chat.postMessage#{ch}"),
                    limits.post_message_burst.max(1) as f64,
                    limits.post_message_per_channel_per_sec,
                ));
            }
            if limits.post_message_workspace_per_min > 0 {
                let n = limits.post_message_workspace_per_min as f64;
                keys.push((
                    "chat.postMessage#workspace".into(),
                    limits.burst_for(n) as f64,
                    n / 60.0,
                ));
            }
        }
        if let Some(&n) = limits.per_method_per_min.get(method) {
            let n = n as f64;
            keys.push((method.to_string(), limits.burst_for(n) as f64, n / 60.0));
        }
        let mut wait = Duration::ZERO;
        for (key, cap, rate) in &keys {
            let b = self
                .buckets
                .entry(key.clone())
                .or_insert_with(|| Bucket::new(*cap, *rate, now));
            b.capacity = *cap;
            b.per_sec = *rate;
            b.refill(now);
            wait = wait.max(b.wait());
        }
        if wait > Duration::ZERO {
            self.rejected += 1;
            return Err(wait.as_secs_f64().ceil().max(1.0) as u64);
        }
        for (key, _, _) in &keys {
            if let Some(b) = self.buckets.get_mut(key) {
                b.tokens -= 1.0;
            }
        }
        Ok(())
    }

    /// How many calls were answered 429.
    pub fn rejected(&self) -> u64 {
        self.rejected
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tier_burst_is_one_seconds_worth_by_default() {
        // users.list is Tier 2: 20/min, one token every 3 s, a burst of 1.
        let limits = RateLimits::slack();
        assert_eq!(limits.burst_seconds, 1.0);
        let mut rl = RateLimiter::default();
        let t0 = Instant::now();
        assert!(rl.check(&limits, "users.list", None, t0).is_ok());
        let ra = rl.check(&limits, "users.list", None, t0).unwrap_err();
        assert_eq!(ra, 3); // 60 s / 20 = 3 s per token
        assert_eq!(rl.rejected(), 1);
        // Half-way there: still 2 s to go (1.5 rounded up).
        assert_eq!(
            rl.check(
                &limits,
                "users.list",
                None,
                t0 + Duration::from_millis(1500)
            ),
            Err(2)
        );
        assert!(rl
            .check(&limits, "users.list", None, t0 + Duration::from_secs(3))
            .is_ok());
        // The bucket never holds more than its burst, however long idle.
        let later = t0 + Duration::from_secs(3600);
        assert!(rl.check(&limits, "users.list", None, later).is_ok());
        assert_eq!(rl.check(&limits, "users.list", None, later), Err(3));
    }

    #[test]
    fn burst_seconds_sets_every_bucket() {
        let limits = RateLimits::slack().with_burst_seconds(60.0);
        let mut rl = RateLimiter::default();
        let t0 = Instant::now();
        for _ in 0..20 {
            assert!(rl.check(&limits, "users.list", None, t0).is_ok());
        }
        assert_eq!(rl.check(&limits, "users.list", None, t0), Err(3));

        let d = RateLimits::slack();
        assert_eq!(d.burst_for(20.0), 1); // Tier 2
        assert_eq!(d.burst_for(50.0), 1); // Tier 3
        assert_eq!(d.burst_for(100.0), 2); // Tier 4
        assert_eq!(d.burst_for(600.0), 10); // chat.postMessage, workspace
        assert_eq!(d.burst_for(6000.0), 100); // chat.getPermalink
        assert_eq!(d.burst_for(1.0), 1); // Tier 1: never below 1
        assert_eq!(d.clone().with_burst_seconds(0.0).burst_for(600.0), 1);
        assert_eq!(d.clone().with_burst_seconds(f64::NAN).burst_for(600.0), 1);
        assert_eq!(d.clone().with_burst_seconds(15.0).burst_for(20.0), 5);
        assert_eq!(d.clone().with_burst_seconds(2.0).burst_for(600.0), 20);
        assert_eq!(d.with_burst_seconds(60.0).burst_for(50.0), 50);
    }

    #[test]
    fn scaled_limits_keep_burst_seconds() {
        let s = RateLimits::scaled(10.0);
        assert_eq!(s.burst_seconds, 1.0);
        assert_eq!(s.per_method_per_min["users.list"], 200);
        assert_eq!(s.post_message_workspace_per_min, 6000);
        let mut rl = RateLimiter::default();
        let t0 = Instant::now();
        // 200/min: a burst of ceil(200 / 60) = 4, then one every 0.3 s.
        for _ in 0..4 {
            assert!(rl.check(&s, "users.list", None, t0).is_ok());
        }
        assert_eq!(rl.check(&s, "users.list", None, t0), Err(1));
        let b = RateLimits::scaled(10.0).with_burst_seconds(3.0);
        assert_eq!(b.burst_for(200.0), 10);
    }

    #[test]
    fn post_message_is_per_channel_with_burst() {
        let limits = RateLimits::slack();
        let mut rl = RateLimiter::default();
        let t0 = Instant::now();
        for _ in 0..3 {
            assert!(rl
                .check(&limits, "chat.postMessage", Some("C1"), t0)
                .is_ok());
        }
        assert_eq!(
            rl.check(&limits, "chat.postMessage", Some("C1"), t0),
            Err(1)
        );
        // another channel is independent
        assert!(rl
            .check(&limits, "chat.postMessage", Some("C2"), t0)
            .is_ok());
        assert!(rl
            .check(
                &limits,
                "chat.postMessage",
                Some("C1"),
                t0 + Duration::from_secs(1)
            )
            .is_ok());
    }

    #[test]
    fn post_message_workspace_cap() {
        // 600/min with a one-second burst: 10 posts to distinct channels at
        // once, then 429 until a token is back (0.1 s, so Retry-After 1).
        let limits = RateLimits::slack();
        let mut rl = RateLimiter::default();
        let t0 = Instant::now();
        for i in 0..10 {
            assert!(rl
                .check(&limits, "chat.postMessage", Some(&format!("D{i}")), t0)
                .is_ok());
        }
        assert_eq!(
            rl.check(&limits, "chat.postMessage", Some("D10"), t0),
            Err(1)
        );
        assert!(rl
            .check(
                &limits,
                "chat.postMessage",
                Some("D10"),
                t0 + Duration::from_millis(100)
            )
            .is_ok());

        let mut small = RateLimits::slack();
        small.post_message_workspace_per_min = 5;
        let mut rl = RateLimiter::default();
        assert!(rl.check(&small, "chat.postMessage", Some("D1"), t0).is_ok());
        // 5/min: the next token comes in 12 s.
        assert_eq!(
            rl.check(&small, "chat.postMessage", Some("D2"), t0),
            Err(12)
        );
    }

    #[test]
    fn disabled_never_limits() {
        let limits = RateLimits::disabled();
        let mut rl = RateLimiter::default();
        let t0 = Instant::now();
        for _ in 0..1000 {
            assert!(rl.check(&limits, "users.list", None, t0).is_ok());
        }
    }

    #[test]
    fn unlisted_methods_are_unlimited() {
        let limits = RateLimits::slack();
        let mut rl = RateLimiter::default();
        let t0 = Instant::now();
        for _ in 0..500 {
            assert!(rl.check(&limits, "auth.test", None, t0).is_ok());
        }
    }
}
