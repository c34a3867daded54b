//! Secrets and endpoints come only from the environment, never the file.

use secrecy::SecretString;

/// Default Slack Web API base URL.
/// Slack's own base, without a trailing slash: a method is called at
/// exactly `https://slack.com/api/METHOD`.
pub const DEFAULT_SLACK_API_URL: &str = "https://slack.com/api";

/// Tokens and URLs read from the environment.
#[derive(Clone, Default)]
pub struct Secrets {
    pub bot_token: Option<SecretString>,
    /// Selects Socket Mode when set.
    pub app_token: Option<SecretString>,
    /// Used in HTTP mode to verify Slack's signatures. Several may be given,
    /// comma-separated, so a secret can be rotated without downtime.
    pub signing_secrets: Vec<SecretString>,
    pub database_url: Option<String>,
    pub slack_api_url: String,
}

impl std::fmt::Debug for Secrets {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Secrets")
            .field("bot_token", &self.bot_token.as_ref().map(|_| "[redacted]"))
            .field("app_token", &self.app_token.as_ref().map(|_| "[redacted]"))
            .field("signing_secrets", &self.signing_secrets.len())
            .field("database_url", &self.database_url.as_ref().map(|_| "[set]"))
            .field("slack_api_url", &self.slack_api_url)
            .finish()
    }
}

impl Secrets {
    /// Reads `SLACK_BOT_TOKEN`, `SLACK_APP_TOKEN`, `SLACK_SIGNING_SECRET`,
    /// `DATABASE_URL` and `SLACK_API_URL`.
    pub fn from_env() -> Self {
        Self::from_lookup(|k| std::env::var(k).ok())
    }

    pub fn from_lookup(get: impl Fn(&str) -> Option<String>) -> Self {
        let nonempty = |k: &str| {
            get(k)
                .map(|v| v.trim().to_string())
                .filter(|v| !v.is_empty())
        };
        // slack-morphism joins "{base}/{method}": the base keeps no
        // trailing slash, however the variable ends.
        let api = nonempty("SLACK_API_URL")
            .map(|u| u.trim_end_matches('/').to_string())
            .filter(|u| !u.is_empty())
            .unwrap_or_else(|| DEFAULT_SLACK_API_URL.into());
        Self {
            bot_token: nonempty("SLACK_BOT_TOKEN").map(SecretString::from),
            app_token: nonempty("SLACK_APP_TOKEN").map(SecretString::from),
            signing_secrets: nonempty("SLACK_SIGNING_SECRET")
                .map(|s| {
                    // An empty part would make HMAC("") a valid key: dropped.
                    s.split(',')
                        .map(str::trim)
                        .filter(|p| !p.is_empty())
                        .map(|p| SecretString::from(p.to_string()))
                        .collect()
                })
                .unwrap_or_default(),
            database_url: nonempty("DATABASE_URL"),
            slack_api_url: api,
        }
    }
}
