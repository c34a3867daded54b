//! Slack's Web API rate limits, per method and per workspace.
//!
//! Slack enforces tiers (requests per minute per method per workspace) and a
//! special limit for chat.postMessage (about 1 message per second per channel,
//! short bursts allowed, plus a workspace-wide cap). A bot that ignores them
//! gets HTTP 429 + `Retry-After`; the emulator reproduces that so the bot's
//! back-off and fan-out scheduler can be tested. Token buckets model "N per
//! minute with bursts": capacity N, refilled continuously at N/60 per second.

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
    /// ten times faster while keeping the same shape).
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
                keys.push(("chat.postMessage#workspace".into(), n, n / 60.0));
            }
        }
        if let Some(&n) = limits.per_method_per_min.get(method) {
            keys.push((method.to_string(), n.max(1) as f64, n as f64 / 60.0));
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
    fn tier_allows_burst_then_rejects_with_retry_after() {
        let limits = RateLimits::slack().with_method("users.list", 20);
        let mut rl = RateLimiter::default();
        let t0 = Instant::now();
        for _ in 0..20 {
            assert!(rl.check(&limits, "users.list", None, t0).is_ok());
        }
        let ra = rl.check(&limits, "users.list", None, t0).unwrap_err();
        assert_eq!(ra, 3); // 60 s / 20 = 3 s per token
        assert_eq!(rl.rejected(), 1);
        assert!(rl
            .check(&limits, "users.list", None, t0 + Duration::from_secs(3))
            .is_ok());
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
        let mut limits = RateLimits::slack();
        limits.post_message_workspace_per_min = 5;
        let mut rl = RateLimiter::default();
        let t0 = Instant::now();
        for i in 0..5 {
            assert!(rl
                .check(&limits, "chat.postMessage", Some(&format!("D{i}")), t0)
                .is_ok());
        }
        assert!(rl
            .check(&limits, "chat.postMessage", Some("D9"), t0)
            .is_err());
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
