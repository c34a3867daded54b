//! Typed configuration: `config/fieldnotes.toml` for what team leads tune,
//! the environment for secrets. Unknown keys are errors, and every error
//! names the file, line and key, so a typo in a cadence is caught at start.

mod error;
pub(crate) mod secrets;

pub use error::{ConfigError, ConfigErrors};
pub use secrets::Secrets;

use crate::schedule::Crontab;
use chrono_tz::Tz;
use error::SourceMap;
use serde::Deserialize;
use std::collections::{BTreeSet, HashSet};
use std::path::{Path, PathBuf};
use std::time::Duration;
use toml::Spanned;

/// Default config path, relative to the working directory.
pub const DEFAULT_CONFIG_PATH: &str = "config/fieldnotes.toml";

// ---------------------------------------------------------------- raw file

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawConfig {
    #[serde(default)]
    bot: RawBot,
    #[serde(default)]
    storage: RawStorage,
    #[serde(default)]
    roles: RawRoles,
    digest: RawDigest,
    #[serde(default, rename = "tag")]
    tags: Vec<RawTag>,
    #[serde(default, rename = "checkin")]
    checkins: Vec<RawCheckin>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawBot {
    #[serde(default = "default_bot_name")]
    name: String,
    #[serde(default = "default_tick")]
    tick: Spanned<String>,
    #[serde(default = "default_workspace_rate")]
    workspace_messages_per_minute: u32,
    #[serde(default = "default_attempts")]
    max_send_attempts: u32,
}

impl Default for RawBot {
    fn default() -> Self {
        Self {
            name: default_bot_name(),
            tick: default_tick(),
            workspace_messages_per_minute: default_workspace_rate(),
            max_send_attempts: default_attempts(),
        }
    }
}

fn default_bot_name() -> String {
    "Fieldnotes".into()
}
fn default_tick() -> Spanned<String> {
    Spanned::new(0..0, "2s".into())
}
fn default_workspace_rate() -> u32 {
    300
}
fn default_attempts() -> u32 {
    5
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawStorage {
    sqlite_path: Option<String>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawRoles {
    #[serde(default)]
    marketers: Vec<String>,
    #[serde(default)]
    leads: Vec<String>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawDigest {
    timezone: Spanned<String>,
    #[serde(default)]
    channel: Option<String>,
    #[serde(default)]
    cadence: Option<Spanned<String>>,
    #[serde(default = "default_quotes")]
    max_quotes: usize,
}

fn default_quotes() -> usize {
    6
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawTag {
    id: Spanned<String>,
    label: String,
    #[serde(default)]
    category: Option<String>,
    #[serde(default)]
    keywords: Vec<String>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawCheckin {
    name: Spanned<String>,
    cadence: Spanned<String>,
    timezone: Spanned<String>,
    prompt: String,
    audience: Spanned<RawAudience>,
    #[serde(default)]
    tags: Vec<Spanned<String>>,
    questions: Spanned<Vec<RawQuestion>>,
    #[serde(default)]
    paused: bool,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawAudience {
    #[serde(default)]
    users: Vec<Spanned<String>>,
    #[serde(default)]
    channels: Vec<Spanned<String>>,
    #[serde(default)]
    usergroups: Vec<Spanned<String>>,
    #[serde(default)]
    exclude: Vec<Spanned<String>>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawQuestion {
    id: Spanned<String>,
    label: Spanned<String>,
    #[serde(default)]
    hint: Option<String>,
    #[serde(default = "yes")]
    required: bool,
    #[serde(default = "yes")]
    multiline: bool,
    #[serde(default)]
    tags: Vec<Spanned<String>>,
}

fn yes() -> bool {
    true
}

// ---------------------------------------------------------------- validated

/// The validated configuration the app runs on.
#[derive(Debug, Clone)]
pub struct Config {
    pub path: PathBuf,
    pub bot: BotSettings,
    pub sqlite_path: PathBuf,
    pub roles: Roles,
    pub digest: DigestSettings,
    pub tags: Vec<TagDef>,
    pub checkins: Vec<CheckIn>,
}

#[derive(Debug, Clone)]
pub struct BotSettings {
    pub name: String,
    /// How often the planner and dispatcher poll the database.
    pub tick: Duration,
    /// Workspace-wide cap on chat.postMessage, on top of Slack's 1/s per channel.
    pub workspace_messages_per_minute: u32,
    pub max_send_attempts: u32,
}

#[derive(Debug, Clone, Default)]
pub struct Roles {
    pub marketers: Vec<String>,
    pub leads: Vec<String>,
}

#[derive(Debug, Clone)]
pub struct DigestSettings {
    pub timezone: Tz,
    pub channel: Option<String>,
    pub cadence: Option<Crontab>,
    pub max_quotes: usize,
}

/// One tag of the taxonomy, with the keywords that auto-tag a note.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TagDef {
    pub id: String,
    pub label: String,
    pub category: Option<String>,
    pub keywords: Vec<String>,
}

/// Who receives a check-in.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Audience {
    pub users: Vec<String>,
    pub channels: Vec<String>,
    pub usergroups: Vec<String>,
    pub exclude: Vec<String>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Question {
    pub id: String,
    pub label: String,
    pub hint: Option<String>,
    pub required: bool,
    pub multiline: bool,
    /// Tags implied by answering this question (applied as automatic tags).
    pub tags: Vec<String>,
}

/// A recurring check-in.
#[derive(Debug, Clone)]
pub struct CheckIn {
    pub name: String,
    pub cadence: Crontab,
    pub timezone: Tz,
    pub prompt: String,
    pub audience: Audience,
    /// Tags offered in the modal's multi-select (all tags when empty in the file).
    pub tags: Vec<String>,
    pub questions: Vec<Question>,
    pub paused: bool,
}

impl Config {
    /// Reads and validates a config file.
    pub fn load(path: &Path) -> Result<Config, ConfigErrors> {
        let text = std::fs::read_to_string(path).map_err(|e| {
            ConfigErrors(vec![ConfigError {
                file: path.to_path_buf(),
                line: 0,
                key: "(file)".into(),
                message: format!("cannot read the config file: {e}"),
            }])
        })?;
        Self::parse(path, &text)
    }

    /// Parses and validates config text; `path` is only used in messages.
    pub fn parse(path: &Path, text: &str) -> Result<Config, ConfigErrors> {
        let src = SourceMap { file: path, text };
        let raw: RawConfig =
            toml::from_str(text).map_err(|e| ConfigErrors(vec![src.toml_error(&e)]))?;
        validate(&src, raw)
    }

    pub fn checkin(&self, name: &str) -> Option<&CheckIn> {
        self.checkins.iter().find(|c| c.name == name)
    }

    pub fn tag(&self, id: &str) -> Option<&TagDef> {
        self.tags.iter().find(|t| t.id == id)
    }
}

fn validate(src: &SourceMap<'_>, raw: RawConfig) -> Result<Config, ConfigErrors> {
    let mut errs = Vec::new();

    let tick = match parse_duration(raw.bot.tick.get_ref()) {
        Ok(d) if d >= Duration::from_millis(50) => d,
        Ok(_) => {
            errs.push(src.error(raw.bot.tick.span(), "bot.tick", "must be at least 50ms"));
            Duration::from_secs(2)
        }
        Err(m) => {
            errs.push(src.error(raw.bot.tick.span(), "bot.tick", m));
            Duration::from_secs(2)
        }
    };
    if raw.bot.workspace_messages_per_minute == 0 {
        errs.push(src.error(
            0..0,
            "bot.workspace_messages_per_minute",
            "must be at least 1",
        ));
    }

    let digest_tz = parse_tz(src, &raw.digest.timezone, "digest.timezone", &mut errs);
    let digest_cadence = raw.digest.cadence.as_ref().and_then(|c| {
        Crontab::parse(c.get_ref())
            .map_err(|e| {
                errs.push(src.error(
                    c.span(),
                    "digest.cadence",
                    format!("invalid cron expression `{}`: {e}", c.get_ref()),
                ))
            })
            .ok()
    });

    let mut tag_ids = HashSet::new();
    let mut tags = Vec::new();
    for t in &raw.tags {
        let id = t.id.get_ref();
        let key = format!("tag.{id}.id");
        if !valid_slug(id) {
            errs.push(src.error(
                t.id.span(),
                key,
                format!("tag id `{id}` must be lowercase letters, digits, `-`, `_` or `:`"),
            ));
        } else if !tag_ids.insert(id.clone()) {
            errs.push(src.error(t.id.span(), key, format!("tag `{id}` is defined twice")));
        }
        tags.push(TagDef {
            id: id.clone(),
            label: t.label.clone(),
            category: t.category.clone(),
            keywords: t.keywords.clone(),
        });
    }

    let mut names = HashSet::new();
    let mut checkins = Vec::new();
    for c in raw.checkins {
        let name = c.name.get_ref().clone();
        let k = |field: &str| format!("checkin.{name}.{field}");
        if !valid_slug(&name) {
            errs.push(src.error(
                c.name.span(),
                k("name"),
                "check-in names must be lowercase letters, digits, `-` or `_`",
            ));
        } else if !names.insert(name.clone()) {
            errs.push(src.error(
                c.name.span(),
                k("name"),
                format!("check-in `{name}` is defined twice"),
            ));
        }
        let cadence = Crontab::parse(c.cadence.get_ref())
            .map_err(|e| {
                errs.push(src.error(
                    c.cadence.span(),
                    k("cadence"),
                    format!("invalid cron expression `{}`: {e}", c.cadence.get_ref()),
                ))
            })
            .ok();
        let tz = parse_tz(src, &c.timezone, &k("timezone"), &mut errs);
        let check_tag = |t: &Spanned<String>, key: String, errs: &mut Vec<ConfigError>| {
            if !tag_ids.contains(t.get_ref()) {
                errs.push(src.error(
                    t.span(),
                    key,
                    format!(
                        "unknown tag `{}`: define it in a [[tag]] table first",
                        t.get_ref()
                    ),
                ));
            }
        };
        for t in &c.tags {
            check_tag(t, k("tags"), &mut errs);
        }
        let a = c.audience.get_ref();
        for (list, field, prefix) in [
            (&a.users, "users", 'U'),
            (&a.exclude, "exclude", 'U'),
            (&a.channels, "channels", 'C'),
            (&a.usergroups, "usergroups", 'S'),
        ] {
            for id in list {
                let ok = id.get_ref().starts_with(prefix)
                    || (prefix == 'U' && id.get_ref().starts_with('W'))
                    || (prefix == 'C' && id.get_ref().starts_with('G'));
                if !ok
                    || id.get_ref().len() < 3
                    || !id.get_ref().chars().all(|ch| ch.is_ascii_alphanumeric())
                {
                    errs.push(src.error(
                        id.span(),
                        k(&format!("audience.{field}")),
                        format!(
                            "`{}` is not a Slack {} ID (they start with `{prefix}`)",
                            id.get_ref(),
                            field.trim_end_matches('s')
                        ),
                    ));
                }
            }
        }
        if a.users.is_empty() && a.channels.is_empty() && a.usergroups.is_empty() {
            errs.push(src.error(
                c.audience.span(),
                k("audience"),
                "the audience is empty: list users, channels or usergroups",
            ));
        }
        let mut qids = HashSet::new();
        let mut questions = Vec::new();
        if c.questions.get_ref().is_empty() {
            errs.push(src.error(
                c.questions.span(),
                k("questions"),
                "a check-in needs at least one question",
            ));
        }
        if c.questions.get_ref().len() > 10 {
            errs.push(src.error(
                c.questions.span(),
                k("questions"),
                "at most 10 questions fit one short check-in",
            ));
        }
        for q in c.questions.get_ref() {
            let qid = q.id.get_ref();
            let qk = format!("checkin.{name}.questions.{qid}");
            if !valid_slug(qid) {
                errs.push(src.error(
                    q.id.span(),
                    format!("{qk}.id"),
                    "question ids must be lowercase letters, digits, `-` or `_`",
                ));
            } else if !qids.insert(qid.clone()) {
                errs.push(src.error(
                    q.id.span(),
                    format!("{qk}.id"),
                    format!("question `{qid}` appears twice"),
                ));
            }
            let len = q.label.get_ref().chars().count();
            if len == 0 || len > 2000 {
                errs.push(src.error(
                    q.label.span(),
                    format!("{qk}.label"),
                    "a label must have 1 to 2000 characters (Slack's limit)",
                ));
            }
            for t in &q.tags {
                check_tag(t, format!("{qk}.tags"), &mut errs);
            }
            questions.push(Question {
                id: qid.clone(),
                label: q.label.get_ref().clone(),
                hint: q.hint.clone(),
                required: q.required,
                multiline: q.multiline,
                tags: q.tags.iter().map(|t| t.get_ref().clone()).collect(),
            });
        }
        let offered: Vec<String> = if c.tags.is_empty() {
            tags.iter().map(|t| t.id.clone()).collect()
        } else {
            c.tags.iter().map(|t| t.get_ref().clone()).collect()
        };
        if offered.len() > 100 {
            errs.push(src.error(c.name.span(), k("tags"), "a modal's tag picker holds at most 100 options (Slack's limit): list the tags this check-in offers"));
        }
        let ids = |v: &Vec<Spanned<String>>| v.iter().map(|s| s.get_ref().clone()).collect();
        if let (Some(cadence), Some(timezone)) = (cadence, tz) {
            checkins.push(CheckIn {
                name,
                cadence,
                timezone,
                prompt: c.prompt,
                audience: Audience {
                    users: ids(&a.users),
                    channels: ids(&a.channels),
                    usergroups: ids(&a.usergroups),
                    exclude: ids(&a.exclude),
                },
                tags: offered,
                questions,
                paused: c.paused,
            });
        }
    }

    if !errs.is_empty() {
        return Err(ConfigErrors(errs));
    }
    Ok(Config {
        path: src.file.to_path_buf(),
        bot: BotSettings {
            name: raw.bot.name,
            tick,
            workspace_messages_per_minute: raw.bot.workspace_messages_per_minute,
            max_send_attempts: raw.bot.max_send_attempts.max(1),
        },
        sqlite_path: PathBuf::from(
            raw.storage
                .sqlite_path
                .unwrap_or_else(|| "fieldnotes.db".into()),
        ),
        roles: Roles {
            marketers: raw.roles.marketers,
            leads: raw.roles.leads,
        },
        digest: DigestSettings {
            timezone: digest_tz.unwrap_or(chrono_tz::UTC),
            channel: raw.digest.channel,
            cadence: digest_cadence,
            max_quotes: raw.digest.max_quotes,
        },
        tags,
        checkins,
    })
}

fn parse_tz(
    src: &SourceMap<'_>,
    s: &Spanned<String>,
    key: &str,
    errs: &mut Vec<ConfigError>,
) -> Option<Tz> {
    s.get_ref()
        .parse::<Tz>()
        .map_err(|_| {
            errs.push(src.error(
                s.span(),
                key,
                format!(
                    "unknown timezone `{}`: use an IANA name such as `America/New_York`",
                    s.get_ref()
                ),
            ))
        })
        .ok()
}

fn valid_slug(s: &str) -> bool {
    !s.is_empty()
        && s.len() <= 64
        && s.chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || matches!(c, '-' | '_' | ':'))
}

/// Parses `500ms`, `2s`, `5m`, `1h`, `2d`.
pub fn parse_duration(s: &str) -> Result<Duration, String> {
    let s = s.trim();
    let split = s.find(|c: char| !c.is_ascii_digit()).unwrap_or(s.len());
    let (num, unit) = s.split_at(split);
    let n: u64 = num
        .parse()
        .map_err(|_| format!("`{s}` is not a duration like `2s`, `5m` or `2d`"))?;
    let secs = match unit {
        "ms" => return Ok(Duration::from_millis(n)),
        "s" => n,
        "m" => n * 60,
        "h" => n * 3600,
        "d" => n * 86400,
        "w" => n * 7 * 86400,
        _ => {
            return Err(format!(
                "`{s}` has an unknown unit: use ms, s, m, h, d or w"
            ))
        }
    };
    Ok(Duration::from_secs(secs))
}

/// A human summary of what the config will do, for `fieldnotes check-config`.
/// `now` anchors the "next sends" it lists.
pub fn describe(cfg: &Config, now: chrono::DateTime<chrono::Utc>) -> String {
    use std::fmt::Write;
    let mut out = String::new();
    let _ = writeln!(out, "Config {} is valid.", cfg.path.display());
    let _ = writeln!(
        out,
        "Bot: {} (polls every {:?}; at most {} messages/minute workspace-wide)",
        cfg.bot.name, cfg.bot.tick, cfg.bot.workspace_messages_per_minute
    );
    let _ = writeln!(
        out,
        "Roles: {} marketer(s), {} lead(s)",
        cfg.roles.marketers.len(),
        cfg.roles.leads.len()
    );
    let cats: BTreeSet<&str> = cfg
        .tags
        .iter()
        .filter_map(|t| t.category.as_deref())
        .collect();
    let kw: usize = cfg.tags.iter().map(|t| t.keywords.len()).sum();
    let _ = writeln!(
        out,
        "Taxonomy: {} tags in {} categories ({}), {} keywords",
        cfg.tags.len(),
        cats.len(),
        cats.into_iter().collect::<Vec<_>>().join(", "),
        kw
    );
    let _ = writeln!(
        out,
        "Digest: weeks in {}{}{}",
        cfg.digest.timezone,
        cfg.digest
            .cadence
            .as_ref()
            .map(|c| format!(
                ", digest cadence {} (posting to Slack is not built yet; use `fieldnotes digest`)",
                c.describe()
            ))
            .unwrap_or_default(),
        cfg.digest
            .channel
            .as_ref()
            .map(|c| format!(" to {c}"))
            .unwrap_or_default()
    );
    for c in &cfg.checkins {
        let _ = writeln!(
            out,
            "\nCheck-in `{}`{}",
            c.name,
            if c.paused {
                " (PAUSED: nothing will be sent)"
            } else {
                ""
            }
        );
        let _ = writeln!(
            out,
            "  cadence: `{}` = {} ({})",
            c.cadence.expr(),
            c.cadence.describe(),
            c.timezone
        );
        let a = &c.audience;
        let _ = writeln!(
            out,
            "  audience: {} user(s), members of {} channel(s), {} user group(s), {} excluded",
            a.users.len(),
            a.channels.len(),
            a.usergroups.len(),
            a.exclude.len()
        );
        let _ = writeln!(out, "  prompt: \"{}\"", c.prompt);
        for q in &c.questions {
            let _ = writeln!(
                out,
                "  question `{}`{}: {}",
                q.id,
                if q.required { "" } else { " (optional)" },
                q.label
            );
        }
        let _ = writeln!(out, "  tag picker: {} tag(s)", c.tags.len());
        if !c.paused {
            for o in c.cadence.upcoming(c.timezone, now, 3) {
                let _ = writeln!(
                    out,
                    "  next: {} {} ({} UTC)",
                    o.local.format("%a %Y-%m-%d %H:%M"),
                    c.timezone,
                    o.at.format("%Y-%m-%d %H:%M")
                );
            }
        }
    }
    out
}

#[cfg(test)]
mod tests;
