//! Secrets and endpoints come only from the environment, never the file.

use secrecy::SecretString;

/// Default Slack Web API base URL.
pub const DEFAULT_SLACK_API_URL: &str = "https://slack.com/api/";

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
        let mut api = nonempty("SLACK_API_URL").unwrap_or_else(|| DEFAULT_SLACK_API_URL.into());
        if !api.ends_with('/') {
            api.push('/');
        }
        Self {
            bot_token: nonempty("SLACK_BOT_TOKEN").map(SecretString::from),
            app_token: nonempty("SLACK_APP_TOKEN").map(SecretString::from),
            signing_secrets: nonempty("SLACK_SIGNING_SECRET")
                .map(|s| {
                    s.split(',')
                        .map(|p| SecretString::from(p.trim().to_string()))
                        .collect()
                })
                .unwrap_or_default(),
            database_url: nonempty("DATABASE_URL"),
            slack_api_url: api,
        }
    }
}
