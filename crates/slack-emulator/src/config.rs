//! Configuration and fixture types of the emulator.
//!
//! Kept apart from the server so a test can build a config (and the bot's
//! benchmark can tune Slack's rate limits) without touching any runtime state.

use std::time::Duration;

use crate::ratelimit::RateLimits;

/// Everything that identifies the emulated workspace and app, plus the timing
/// rules Slack applies. `Default` gives Slack's real timings.
#[derive(Clone, Debug)]
pub struct EmulatorConfig {
    pub team_id: String,
    pub team_domain: String,
    pub app_id: String,
    pub bot_user_id: String,
    pub bot_id: String,
    pub bot_token: String,
    pub app_token: String,
    pub signing_secret: String,
    pub rate_limits: RateLimits,
    /// Slack's trigger_id expiry (3 s).
    pub trigger_ttl: Duration,
    /// How long Slack waits for an ack (3 s), in HTTP and in Socket Mode.
    pub ack_timeout: Duration,
    /// Delay before each retry of an unacknowledged Events API delivery.
    /// Slack retries 3 times: at once, after about 1 min, after about 5 min.
    pub http_retry_delays: Vec<Duration>,
}

impl Default for EmulatorConfig {
    fn default() -> Self {
        Self {
            team_id: "T0FIELDNT".into(),
            team_domain: "fieldnotes-demo".into(),
            app_id: "A0FIELDNT".into(),
            bot_user_id: "U0BOT00001".into(),
            bot_id: "B0BOT00001".into(),
            bot_token: "xoxb-emulator-token".into(),
            app_token: "xapp-emulator-token".into(),
            signing_secret: "emulator-signing-secret".into(),
            rate_limits: RateLimits::slack(),
            trigger_ttl: Duration::from_secs(3),
            ack_timeout: Duration::from_secs(3),
            http_retry_delays: vec![
                Duration::from_secs(0),
                Duration::from_secs(60),
                Duration::from_secs(300),
            ],
        }
    }
}

impl EmulatorConfig {
    /// A config for fast tests: short retry delays, a 1 s ack timeout and no
    /// rate limits. Slack's real rules otherwise.
    pub fn for_tests() -> Self {
        Self {
            rate_limits: RateLimits::disabled(),
            ack_timeout: Duration::from_secs(1),
            http_retry_delays: vec![
                Duration::from_millis(10),
                Duration::from_millis(20),
                Duration::from_millis(30),
            ],
            ..Self::default()
        }
    }
}

/// A workspace member.
#[derive(Clone, Debug, PartialEq)]
pub struct User {
    pub id: String,
    pub name: String,
    pub real_name: String,
    /// IANA time zone, e.g. "America/New_York".
    pub tz: String,
    pub is_bot: bool,
    pub deleted: bool,
    pub is_admin: bool,
}

impl User {
    /// An active human user whose real name is derived from `name`.
    pub fn new(id: &str, name: &str, tz: &str) -> Self {
        let real_name = name
            .split(['.', '_', '-'])
            .filter(|p| !p.is_empty())
            .map(|p| {
                let mut c = p.chars();
                match c.next() {
                    Some(f) => f.to_uppercase().collect::<String>() + c.as_str(),
                    None => String::new(),
                }
            })
            .collect::<Vec<_>>()
            .join(" ");
        Self {
            id: id.into(),
            name: name.into(),
            real_name,
            tz: tz.into(),
            is_bot: false,
            deleted: false,
            is_admin: false,
        }
    }
}

/// Fault injection for one Web API method (see `Emulator::fail_next`).
#[derive(Clone, Debug, PartialEq)]
pub enum Failure {
    /// Answer with this HTTP status and `{"ok":false,"error":"internal_error"}`.
    Status(u16),
    /// Answer HTTP 200 with `{"ok":false,"error":<code>}`.
    SlackError(String),
    /// Wait this long, then answer normally.
    Delay(Duration),
    /// Do what the call asks (post the message, ...), then answer with this
    /// HTTP status: Slack acted but the caller never heard (a timeout or a
    /// dropped connection after the fact).
    ApplyThenStatus(u16),
    /// Do what the call asks, record it, then wait this long before
    /// answering normally: a client whose timeout is shorter gives up
    /// although Slack acted.
    ApplyThenDelay(Duration),
}

impl Failure {
    pub fn slack_error(code: &str) -> Self {
        Failure::SlackError(code.into())
    }
}

/// One answer for `Emulator::fill_modal_values`, keyed by block_id.
#[derive(Clone, Debug, PartialEq)]
pub enum FieldAnswer {
    Text(String),
    Select(String),
    Multi(Vec<String>),
}
