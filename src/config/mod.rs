//! Typed configuration: `config/fieldnotes.toml` for what team leads tune,
//! the environment for secrets. Unknown keys are errors, and every error
//! names the file, line and key, so a typo in a cadence is caught at start.

mod error;
pub mod questions;
mod roles;
pub(crate) mod secrets;

pub use error::{ConfigError, ConfigErrors};
pub use questions::{field_label, Question, QuestionKind, FIELD_KINDS};
use questions::{RawCapture, RawQuestion};
use roles::RawRoles;
pub use roles::Roles;
pub use secrets::Secrets;

use crate::schedule::calendar::{self, Region, WorkCalendar, Workdays};
use crate::schedule::Crontab;
use chrono::NaiveDate;
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
    #[serde(default)]
    calendar: RawCalendar,
    #[serde(default)]
    capture: RawCapture,
    #[serde(default)]
    retention: RawRetention,
}

/// `[retention]`: how long notes, deleted notes and delivered-event ids are kept.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawRetention {
    #[serde(default)]
    notes: Option<Spanned<String>>,
    #[serde(default)]
    deleted_notes: Option<Spanned<String>>,
    #[serde(default)]
    slack_events: Option<Spanned<String>>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawCalendar {
    #[serde(default)]
    workdays: Option<Spanned<Vec<Spanned<String>>>>,
    #[serde(default)]
    holidays: Vec<Spanned<RawHoliday>>,
    #[serde(default)]
    default_region: Option<Spanned<String>>,
    #[serde(default)]
    regions: std::collections::BTreeMap<String, RawRegion>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawRegion {
    #[serde(default)]
    workdays: Option<Spanned<Vec<Spanned<String>>>>,
    #[serde(default)]
    holidays: Vec<Spanned<RawHoliday>>,
    #[serde(default)]
    users: Vec<Spanned<String>>,
}

/// `"2026-12-25"` or `{ date = "2026-12-25", name = "Christmas Day" }`.
#[derive(Debug, Deserialize)]
#[serde(untagged)]
enum RawHoliday {
    Date(String),
    Named { date: String, name: String },
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawBot {
    #[serde(default = "default_bot_name")]
    name: String,
    #[serde(default = "default_tick")]
    tick: Spanned<String>,
    #[serde(default = "default_workspace_rate")]
    workspace_messages_per_minute: Spanned<u32>,
    #[serde(default = "default_attempts")]
    max_send_attempts: u32,
    #[serde(default = "default_lease")]
    lease: Spanned<String>,
    #[serde(default = "default_event_attempts")]
    max_event_attempts: Spanned<u32>,
}

impl Default for RawBot {
    fn default() -> Self {
        Self {
            name: default_bot_name(),
            tick: default_tick(),
            workspace_messages_per_minute: default_workspace_rate(),
            max_send_attempts: default_attempts(),
            lease: default_lease(),
            max_event_attempts: default_event_attempts(),
        }
    }
}

fn default_bot_name() -> String {
    "Fieldnotes".into()
}
fn default_tick() -> Spanned<String> {
    Spanned::new(0..0, "2s".into())
}
fn default_lease() -> Spanned<String> {
    Spanned::new(0..0, "30s".into())
}
fn default_workspace_rate() -> Spanned<u32> {
    Spanned::new(0..0, 300)
}
fn default_attempts() -> u32 {
    5
}
fn default_event_attempts() -> Spanned<u32> {
    Spanned::new(0..0, 5)
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawStorage {
    sqlite_path: Option<String>,
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
    #[serde(default)]
    synonyms: Vec<String>,
    #[serde(default)]
    aliases: Vec<String>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawCheckin {
    name: Spanned<String>,
    cadence: Spanned<String>,
    #[serde(default)]
    timezone: Option<Spanned<String>>,
    #[serde(default)]
    local_time: Option<Spanned<bool>>,
    prompt: String,
    audience: Spanned<RawAudience>,
    #[serde(default)]
    tags: Vec<Spanned<String>>,
    questions: Spanned<Vec<RawQuestion>>,
    #[serde(default)]
    paused: bool,
    #[serde(default)]
    paused_until: Option<Spanned<String>>,
    #[serde(default)]
    window: Option<Spanned<String>>,
    #[serde(default)]
    reminders: Option<Spanned<Vec<Spanned<String>>>>,
    #[serde(default)]
    on_holiday: Option<Spanned<String>>,
    #[serde(default)]
    catch_up: Option<Spanned<String>>,
    #[serde(default)]
    ask: Option<Spanned<usize>>,
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
    pub calendar: WorkCalendar,
    /// The free-note form: text, then one input per typed field.
    pub note_questions: Vec<Question>,
    pub retention: Retention,
}

/// How long notes, soft-deleted notes and recorded Slack event ids are kept.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Retention {
    /// Notes older than this (by when they were shared) are purged; `None`
    /// keeps them for good.
    pub notes: Option<Duration>,
    pub deleted_notes: Duration,
    pub slack_events: Duration,
}

#[derive(Debug, Clone)]
pub struct BotSettings {
    pub name: String,
    /// How often the planner and dispatcher poll the database.
    pub tick: Duration,
    /// Workspace-wide cap on chat.postMessage, on top of Slack's 1/s per channel.
    pub workspace_messages_per_minute: u32,
    pub max_send_attempts: u32,
    /// How long a worker owns a claimed row before another may take it.
    pub lease: Duration,
    /// Attempts at handling a committed Slack event before it is parked.
    pub max_event_attempts: u32,
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
    /// Words and phrases that auto-tag a note (keywords and synonyms).
    pub keywords: Vec<String>,
    /// Other names (a competitor's product names, an account's short name);
    /// they auto-tag too, and type-ahead finds them.
    pub aliases: Vec<String>,
}

/// Who receives a check-in.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Audience {
    pub users: Vec<String>,
    pub channels: Vec<String>,
    pub usergroups: Vec<String>,
    pub exclude: Vec<String>,
}

/// Where a check-in's wall-clock cadence is read.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Zone {
    /// Everyone at the same instant: the cadence in this zone.
    Fixed(Tz),
    /// Each person at that wall-clock time in their own Slack timezone.
    Local,
}

/// What a check-in does when an occurrence falls on someone's day off.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OnHoliday {
    Skip,
    NextWorkday,
}

/// What happens to occurrences missed while the bot was down.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CatchUp {
    /// Send late, as long as the answer window is still open.
    WithinWindow,
    /// Drop them.
    Skip,
}

/// At most this many reminders per prompt.
pub const MAX_REMINDERS: usize = 3;

/// A recurring check-in.
#[derive(Debug, Clone)]
pub struct CheckIn {
    pub name: String,
    pub cadence: Crontab,
    pub zone: Zone,
    pub prompt: String,
    pub audience: Audience,
    /// Tags offered in the modal's multi-select (all tags when empty in the file).
    pub tags: Vec<String>,
    /// The question pool.
    pub questions: Vec<Question>,
    /// How many of the pool each run asks (k of n).
    pub ask: usize,
    pub paused: bool,
    /// Paused up to (not including) this date, in the check-in's zone.
    pub paused_until: Option<NaiveDate>,
    /// How long a prompt stays open for answers.
    pub window: Duration,
    /// Reminder offsets after the prompt, ascending, each inside the window.
    pub reminders: Vec<Duration>,
    pub on_holiday: OnHoliday,
    pub catch_up: CatchUp,
}

/// The zone whose clock runs first: a `local_time` occurrence is planned
/// when its wall-clock time arrives anywhere (UTC+14), and each person's
/// prompt waits for their own.
pub const EARLIEST_ZONE: Tz = chrono_tz::Etc::GMTMinus14;

impl CheckIn {
    /// The zone occurrences are enumerated in.
    pub fn planning_zone(&self) -> Tz {
        match self.zone {
            Zone::Fixed(tz) => tz,
            Zone::Local => EARLIEST_ZONE,
        }
    }

    /// Whether the whole check-in is paused at `now` (config `paused`, or
    /// `paused_until` a date still ahead in its zone).
    pub fn paused_at(&self, now: chrono::DateTime<chrono::Utc>) -> bool {
        if self.paused {
            return true;
        }
        let tz = match self.zone {
            Zone::Fixed(tz) => tz,
            Zone::Local => chrono_tz::UTC,
        };
        self.paused_until
            .is_some_and(|d| now.with_timezone(&tz).date_naive() < d)
    }
}

impl Config {
    /// Reads and validates a config file.
    pub fn load(path: &Path) -> Result<Config, ConfigErrors> {
        let bytes = std::fs::read(path).map_err(|e| {
            ConfigErrors(vec![ConfigError {
                file: path.to_path_buf(),
                line: 0,
                key: "(file)".into(),
                message: format!("cannot read the config file: {e}"),
            }])
        })?;
        let text = String::from_utf8(bytes).map_err(|e| {
            let at = e.utf8_error().valid_up_to();
            let valid = std::str::from_utf8(&e.as_bytes()[..at]).unwrap_or_default();
            let src = SourceMap {
                file: path,
                text: valid,
            };
            ConfigErrors(vec![src.error(
                at..at,
                error::key_before(valid),
                format!("the file is not UTF-8 (an invalid byte at offset {at}); save it as UTF-8"),
            )])
        })?;
        Self::parse(path, &text)
    }

    /// Parses and validates config text; `path` is only used in messages.
    pub fn parse(path: &Path, text: &str) -> Result<Config, ConfigErrors> {
        let src = SourceMap { file: path, text };
        let de = toml::Deserializer::parse(text)
            .map_err(|e| ConfigErrors(vec![src.toml_error(&e, None)]))?;
        // serde_path_to_error records where in the document a type error
        // happened (`tag[3].id`), so it names the key, not the value.
        let raw: RawConfig = serde_path_to_error::deserialize(de).map_err(|e| {
            let key = e.path().to_string();
            ConfigErrors(vec![src.toml_error(e.inner(), Some(&key))])
        })?;
        validate(&src, raw)
    }

    pub fn checkin(&self, name: &str) -> Option<&CheckIn> {
        self.checkins.iter().find(|c| c.name == name)
    }

    pub fn tag(&self, id: &str) -> Option<&TagDef> {
        self.tags.iter().find(|t| t.id == id)
    }

    /// A typed field's vocabulary: the tags of that category.
    pub fn vocabulary(&self, field: &str) -> Vec<&TagDef> {
        self.tags
            .iter()
            .filter(|t| t.category.as_deref() == Some(field))
            .collect()
    }

    /// The config file as named to a refused Slack user: as given when
    /// relative (`config/fieldnotes.toml`), else only its name, so no host
    /// path reaches Slack.
    pub fn file_label(&self) -> String {
        if self.path.is_relative() {
            self.path.display().to_string()
        } else {
            self.path
                .file_name()
                .map(|n| n.to_string_lossy().into_owned())
                .unwrap_or_else(|| DEFAULT_CONFIG_PATH.into())
        }
    }
}

fn validate(src: &SourceMap<'_>, raw: RawConfig) -> Result<Config, ConfigErrors> {
    let mut errs = Vec::new();

    let tick = match parse_duration(raw.bot.tick.get_ref()) {
        Ok(d) if d >= Duration::from_millis(50) && d <= Duration::from_secs(3600) => d,
        Ok(_) => {
            errs.push(src.error(
                raw.bot.tick.span(),
                "bot.tick",
                "must be between 50ms and 1h",
            ));
            Duration::from_secs(2)
        }
        Err(m) => {
            errs.push(src.error(raw.bot.tick.span(), "bot.tick", m));
            Duration::from_secs(2)
        }
    };
    let attempts = *raw.bot.max_event_attempts.get_ref();
    if !(1..=50).contains(&attempts) {
        errs.push(src.error(
            raw.bot.max_event_attempts.span(),
            "bot.max_event_attempts",
            "must be between 1 and 50",
        ));
    }
    let lease = match parse_duration(raw.bot.lease.get_ref()) {
        // A lease past an hour would only leave a dead worker's rows stuck.
        Ok(d) if d >= Duration::from_secs(2) && d <= Duration::from_secs(3600) => d,
        Ok(_) => {
            errs.push(src.error(
                raw.bot.lease.span(),
                "bot.lease",
                "must be between 2s and 1h",
            ));
            Duration::from_secs(30)
        }
        Err(m) => {
            errs.push(src.error(raw.bot.lease.span(), "bot.lease", m));
            Duration::from_secs(30)
        }
    };
    if *raw.bot.workspace_messages_per_minute.get_ref() == 0 {
        errs.push(src.error(
            raw.bot.workspace_messages_per_minute.span(),
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
        let mut keywords = t.keywords.clone();
        keywords.extend(t.synonyms.iter().cloned());
        tags.push(TagDef {
            id: id.clone(),
            label: t.label.clone(),
            category: t.category.clone(),
            keywords,
            aliases: t.aliases.clone(),
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
        let local_time = c.local_time.as_ref().is_some_and(|l| *l.get_ref());
        let zone = match (&c.timezone, local_time) {
            (Some(tz), false) => parse_tz(src, tz, &k("timezone"), &mut errs).map(Zone::Fixed),
            (None, true) => Some(Zone::Local),
            (Some(tz), true) => {
                errs.push(src.error(
                    tz.span(),
                    k("timezone"),
                    "set either `timezone` or `local_time = true`, not both",
                ));
                None
            }
            (None, false) => {
                errs.push(src.error(
                    c.name.span(),
                    k("timezone"),
                    "set `timezone = \"Area/City\"`, or `local_time = true` to send at each person's own local time",
                ));
                None
            }
        };
        let window = match &c.window {
            None => Duration::from_secs(2 * 86400),
            Some(w) => match parse_duration(w.get_ref()) {
                Ok(d) if d >= Duration::from_secs(60) && d <= Duration::from_secs(30 * 86400) => d,
                Ok(_) => {
                    errs.push(src.error(w.span(), k("window"), "must be between 1m and 30d"));
                    Duration::from_secs(2 * 86400)
                }
                Err(m) => {
                    errs.push(src.error(w.span(), k("window"), m));
                    Duration::from_secs(2 * 86400)
                }
            },
        };
        let mut reminders = Vec::new();
        if let Some(list) = &c.reminders {
            if list.get_ref().len() > MAX_REMINDERS {
                errs.push(src.error(
                    list.span(),
                    k("reminders"),
                    format!("at most {MAX_REMINDERS} reminders: reps are never nagged"),
                ));
            }
            for r in list.get_ref() {
                match parse_duration(r.get_ref()) {
                    Ok(d) if d.is_zero() => errs.push(src.error(
                        r.span(),
                        k("reminders"),
                        "a reminder offset must be after the prompt",
                    )),
                    Ok(d) if d >= window => errs.push(src.error(
                        r.span(),
                        k("reminders"),
                        format!(
                            "`{}` is not inside the answer window ({})",
                            r.get_ref(),
                            human_duration(window)
                        ),
                    )),
                    Ok(d) if reminders.last().is_some_and(|l| *l >= d) => errs.push(src.error(
                        r.span(),
                        k("reminders"),
                        "list reminder offsets in increasing order",
                    )),
                    Ok(d) => reminders.push(d),
                    Err(m) => errs.push(src.error(r.span(), k("reminders"), m)),
                }
            }
        }
        let on_holiday = match c.on_holiday.as_ref().map(|v| (v, v.get_ref().as_str())) {
            None | Some((_, "skip")) => OnHoliday::Skip,
            Some((_, "next_workday")) => OnHoliday::NextWorkday,
            Some((v, other)) => {
                errs.push(src.error(
                    v.span(),
                    k("on_holiday"),
                    format!("`{other}` is not one of \"skip\", \"next_workday\""),
                ));
                OnHoliday::Skip
            }
        };
        let catch_up = match c.catch_up.as_ref().map(|v| (v, v.get_ref().as_str())) {
            None | Some((_, "within_window")) => CatchUp::WithinWindow,
            Some((_, "skip")) => CatchUp::Skip,
            Some((v, other)) => {
                errs.push(src.error(
                    v.span(),
                    k("catch_up"),
                    format!("`{other}` is not one of \"within_window\", \"skip\""),
                ));
                CatchUp::WithinWindow
            }
        };
        let paused_until = c.paused_until.as_ref().and_then(|d| {
            parse_date(d.get_ref())
                .map_err(|m| errs.push(src.error(d.span(), k("paused_until"), m)))
                .ok()
        });
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
        for x in &a.exclude {
            // Exclusions may name people or whole user groups.
            if !(x.get_ref().starts_with('S') || valid_user_id(x.get_ref())) {
                errs.push(src.error(
                    x.span(),
                    k("audience.exclude"),
                    format!(
                        "`{}` is not a Slack user ID (U…/W…) or user group ID (S…)",
                        x.get_ref()
                    ),
                ));
            }
        }
        for (list, field, prefix) in [
            (&a.users, "users", 'U'),
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
        if c.questions.get_ref().len() > questions::MAX_POOL {
            errs.push(src.error(
                c.questions.span(),
                k("questions"),
                format!(
                    "a question pool holds at most {} questions",
                    questions::MAX_POOL
                ),
            ));
        }
        for q in c.questions.get_ref() {
            let qid = q.id.get_ref();
            let qk = format!("checkin.{name}.questions.{qid}");
            if !valid_slug(qid) || qid.contains(':') {
                errs.push(src.error(
                    q.id.span(),
                    format!("{qk}.id"),
                    "question ids must be lowercase letters, digits, `-` or `_`",
                ));
            } else if qid == "note"
                || qid.starts_with("asset_")
                || (field_label(qid).is_some()
                    && q.field.as_ref().map(|f| f.get_ref().as_str()) != Some(qid.as_str())
                    && !(qid == "asset"
                        && q.kind.as_ref().map(|k| k.get_ref().as_str()) == Some("asset")))
            {
                errs.push(src.error(
                    q.id.span(),
                    format!("{qk}.id"),
                    format!("`{qid}` is reserved for a typed field: give this question another id"),
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
            questions.push(questions::validate_question(src, q, &qk, &tags, &mut errs));
        }
        let always = questions.iter().filter(|q| q.always).count();
        let ask = match &c.ask {
            None => questions.len().min(questions::MAX_ASKED),
            Some(a) => {
                let n = *a.get_ref();
                if n == 0 || n > questions::MAX_ASKED || n > questions.len().max(1) {
                    errs.push(src.error(
                        a.span(),
                        k("ask"),
                        format!(
                            "ask between 1 and {} questions (the pool has {})",
                            questions::MAX_ASKED.min(questions.len().max(1)),
                            questions.len()
                        ),
                    ));
                } else if n < always {
                    errs.push(src.error(
                        a.span(),
                        k("ask"),
                        format!("{always} questions are marked `always`, so ask at least {always}"),
                    ));
                }
                n
            }
        };
        if c.ask.is_none() && questions.len() > questions::MAX_ASKED {
            errs.push(src.error(
                c.questions.span(),
                k("ask"),
                format!(
                    "the pool has {} questions: set `ask` (at most {}) so a prompt stays short",
                    questions.len(),
                    questions::MAX_ASKED
                ),
            ));
        }
        if !questions.iter().any(|q| q.kind == QuestionKind::Text) {
            errs.push(src.error(
                c.questions.span(),
                k("questions"),
                "add at least one free-text question, so reps can say it in their own words",
            ));
        }
        let offered: Vec<String> = if c.tags.is_empty() {
            tags.iter().map(|t| t.id.clone()).collect()
        } else {
            c.tags.iter().map(|t| t.get_ref().clone()).collect()
        };
        let ids = |v: &Vec<Spanned<String>>| v.iter().map(|s| s.get_ref().clone()).collect();
        if let (Some(cadence), Some(zone)) = (cadence, zone) {
            checkins.push(CheckIn {
                name,
                cadence,
                zone,
                prompt: c.prompt,
                audience: Audience {
                    users: ids(&a.users),
                    channels: ids(&a.channels),
                    usergroups: ids(&a.usergroups),
                    exclude: ids(&a.exclude),
                },
                tags: offered,
                questions,
                ask,
                paused: c.paused,
                paused_until,
                window,
                reminders,
                on_holiday,
                catch_up,
            });
        }
    }

    let calendar = validate_calendar(src, &raw.calendar, &mut errs);
    let roles = roles::validate(src, &raw.roles, &mut errs);
    let note_questions = questions::note_questions(src, &raw.capture, &tags, &mut errs);
    let note_retention = validate_note_retention(src, &raw.retention.notes, &mut errs);
    let mut retention_of = |v: &Option<Spanned<String>>, key: &str, default: u64| match v {
        None => Duration::from_secs(default * 86400),
        Some(v) => match parse_duration(v.get_ref()) {
            Ok(d) if d >= Duration::from_secs(3600) => d,
            Ok(_) => {
                errs.push(src.error(v.span(), key, "keep them at least 1h"));
                Duration::from_secs(default * 86400)
            }
            Err(m) => {
                errs.push(src.error(v.span(), key, m));
                Duration::from_secs(default * 86400)
            }
        },
    };
    let retention = Retention {
        notes: note_retention,
        deleted_notes: retention_of(&raw.retention.deleted_notes, "retention.deleted_notes", 30),
        slack_events: retention_of(&raw.retention.slack_events, "retention.slack_events", 7),
    };

    if !errs.is_empty() {
        return Err(ConfigErrors(errs));
    }
    Ok(Config {
        calendar,
        note_questions,
        retention,
        path: src.file.to_path_buf(),
        bot: BotSettings {
            name: raw.bot.name,
            tick,
            workspace_messages_per_minute: raw.bot.workspace_messages_per_minute.into_inner(),
            max_send_attempts: raw.bot.max_send_attempts.max(1),
            lease,
            max_event_attempts: *raw.bot.max_event_attempts.get_ref(),
        },
        sqlite_path: PathBuf::from(
            raw.storage
                .sqlite_path
                .unwrap_or_else(|| "fieldnotes.db".into()),
        ),
        roles,
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

fn validate_calendar(
    src: &SourceMap<'_>,
    raw: &RawCalendar,
    errs: &mut Vec<ConfigError>,
) -> WorkCalendar {
    let mut cal = WorkCalendar::default();
    let workdays =
        |list: &Spanned<Vec<Spanned<String>>>, key: &str, errs: &mut Vec<ConfigError>| {
            let mut mask: Workdays = [false; 7];
            for d in list.get_ref() {
                match calendar::parse_weekday(d.get_ref()) {
                    Some(wd) => mask[wd.num_days_from_monday() as usize] = true,
                    None => errs.push(src.error(
                        d.span(),
                        key,
                        format!("`{}` is not a day name like MON or Tuesday", d.get_ref()),
                    )),
                }
            }
            if list.get_ref().is_empty() {
                errs.push(src.error(list.span(), key, "list at least one work day"));
            }
            mask
        };
    let holidays = |list: &Vec<Spanned<RawHoliday>>,
                    key: &str,
                    errs: &mut Vec<ConfigError>|
     -> std::collections::BTreeMap<NaiveDate, String> {
        let mut out = std::collections::BTreeMap::new();
        for h in list {
            let (date, name) = match h.get_ref() {
                RawHoliday::Date(d) => (d, "holiday".to_string()),
                RawHoliday::Named { date, name } => (date, name.clone()),
            };
            match parse_date(date) {
                Ok(d) => {
                    out.insert(d, name);
                }
                Err(m) => errs.push(src.error(h.span(), key, m)),
            }
        }
        out
    };
    if let Some(w) = &raw.workdays {
        cal.workdays = workdays(w, "calendar.workdays", errs);
    }
    cal.holidays = holidays(&raw.holidays, "calendar.holidays", errs);
    for (name, r) in &raw.regions {
        let key = |f: &str| format!("calendar.regions.{name}.{f}");
        let region = Region {
            workdays: r
                .workdays
                .as_ref()
                .map(|w| workdays(w, &key("workdays"), errs)),
            holidays: holidays(&r.holidays, &key("holidays"), errs),
        };
        for u in &r.users {
            if !valid_user_id(u.get_ref()) {
                errs.push(src.error(
                    u.span(),
                    key("users"),
                    format!("`{}` is not a Slack user ID (U… or W…)", u.get_ref()),
                ));
            } else if let Some(prev) = cal.people.insert(u.get_ref().clone(), name.clone()) {
                errs.push(src.error(
                    u.span(),
                    key("users"),
                    format!(
                        "`{}` is already in region `{prev}`: a person has one region",
                        u.get_ref()
                    ),
                ));
            }
        }
        cal.regions.insert(name.clone(), region);
    }
    if let Some(d) = &raw.default_region {
        if !raw.regions.contains_key(d.get_ref()) {
            errs.push(src.error(
                d.span(),
                "calendar.default_region",
                format!("no region `{}` under [calendar.regions]", d.get_ref()),
            ));
        }
        cal.default_region = Some(d.get_ref().clone());
    }
    cal
}

/// `[retention] notes`: at least a day (`None` when unset: kept for good).
fn validate_note_retention(
    src: &SourceMap<'_>,
    v: &Option<Spanned<String>>,
    errs: &mut Vec<ConfigError>,
) -> Option<Duration> {
    let v = v.as_ref()?;
    match parse_duration(v.get_ref()) {
        Ok(d) if d >= Duration::from_secs(86400) => Some(d),
        Ok(_) => {
            errs.push(src.error(v.span(), "retention.notes", "keep notes at least 1d"));
            None
        }
        Err(m) => {
            errs.push(src.error(v.span(), "retention.notes", m));
            None
        }
    }
}

pub(crate) fn valid_user_id(s: &str) -> bool {
    (s.starts_with('U') || s.starts_with('W'))
        && s.len() >= 3
        && s.chars().all(|c| c.is_ascii_alphanumeric())
}

/// Parses `YYYY-MM-DD`.
pub fn parse_date(s: &str) -> Result<NaiveDate, String> {
    NaiveDate::parse_from_str(s.trim(), "%Y-%m-%d")
        .map_err(|_| format!("`{s}` is not a date like 2026-12-25"))
}

/// `2d`, `36h`, `90m`: the largest unit that divides evenly.
pub fn human_duration(d: Duration) -> String {
    let s = d.as_secs();
    for (unit, n) in [("w", 7 * 86400), ("d", 86400), ("h", 3600), ("m", 60)] {
        if s >= n && s.is_multiple_of(n) {
            return format!("{}{unit}", s / n);
        }
    }
    format!("{s}s")
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
    let too_long = || format!("`{s}` is too long: durations go up to {MAX_DURATION_DAYS}d");
    // A number too big for u64 is still "too long", not "not a duration".
    let n: u64 = match num.parse() {
        Ok(n) => n,
        Err(_) if !num.is_empty() && unit_seconds(unit).is_some() => return Err(too_long()),
        Err(_) => return Err(format!("`{s}` is not a duration like `2s`, `5m` or `2d`")),
    };
    let d = if unit == "ms" {
        Duration::from_millis(n)
    } else {
        let per = unit_seconds(unit)
            .ok_or_else(|| format!("`{s}` has an unknown unit: use ms, s, m, h, d or w"))?;
        Duration::from_secs(n.checked_mul(per).ok_or_else(too_long)?)
    };
    if d > MAX_DURATION {
        return Err(too_long());
    }
    Ok(d)
}

/// The longest duration anything in Fieldnotes takes (ten years): beyond
/// it, date arithmetic would only overflow, never mean anything.
pub const MAX_DURATION_DAYS: u64 = 3650;
pub const MAX_DURATION: Duration = Duration::from_secs(MAX_DURATION_DAYS * 86400);

fn unit_seconds(unit: &str) -> Option<u64> {
    Some(match unit {
        "ms" => 0,
        "s" => 1,
        "m" => 60,
        "h" => 3600,
        "d" => 86400,
        "w" => 7 * 86400,
        _ => return None,
    })
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
        "Roles: {} admin(s), {} marketer(s), {} lead(s); everyone else is a rep",
        cfg.roles.admins.len(),
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
    let fields: Vec<String> = cfg
        .note_questions
        .iter()
        .skip(1)
        .map(|q| {
            let n = cfg.vocabulary(q.field_name()).len();
            if n > questions::MAX_STATIC_OPTIONS {
                format!("{} ({n}, type-ahead)", q.field_name())
            } else if q.field_name() == questions::LEAD_QUALITY {
                format!("{} (1-5)", q.field_name())
            } else {
                format!("{} ({n})", q.field_name())
            }
        })
        .collect();
    let _ = writeln!(
        out,
        "Typed fields on the free-note form: {}; deleted notes purged after {}",
        if fields.is_empty() {
            "none".to_string()
        } else {
            fields.join(", ")
        },
        human_duration(cfg.retention.deleted_notes)
    );
    let _ = writeln!(
        out,
        "Retention: notes {}; `fieldnotes purge --user ID` erases one person",
        cfg.retention
            .notes
            .map(|d| format!("purged {} after they were shared", human_duration(d)))
            .unwrap_or_else(|| "kept until deleted (no `retention.notes`)".into())
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
    let days: Vec<String> = (0..7)
        .filter(|i| cfg.calendar.workdays[*i])
        .map(|i| {
            chrono::Weekday::try_from(i as u8)
                .map(|d| d.to_string())
                .unwrap_or_default()
        })
        .collect();
    let _ = writeln!(
        out,
        "Calendar: work days {}; {} holiday(s) for everyone; {} region(s){}",
        days.join(" "),
        cfg.calendar.holidays.len(),
        cfg.calendar.regions.len(),
        cfg.calendar
            .regions
            .iter()
            .map(|(n, r)| format!(
                " {n}: {} holiday(s), {} person(s)",
                r.holidays.len(),
                cfg.calendar.people.values().filter(|v| *v == n).count()
            ))
            .collect::<Vec<_>>()
            .join(";")
    );
    for c in &cfg.checkins {
        let _ = writeln!(
            out,
            "\nCheck-in `{}`{}",
            c.name,
            if c.paused_at(now) {
                " (PAUSED: nothing will be sent)"
            } else {
                ""
            }
        );
        let zone = match c.zone {
            Zone::Fixed(tz) => tz.to_string(),
            Zone::Local => "each person's own Slack timezone".to_string(),
        };
        let _ = writeln!(
            out,
            "  cadence: `{}` = {} ({zone})",
            c.cadence.expr(),
            c.cadence.describe(),
        );
        let always: Vec<&str> = c
            .questions
            .iter()
            .filter(|q| q.always)
            .map(|q| q.id.as_str())
            .collect();
        let _ = writeln!(
            out,
            "  questions: asks {} of {} ({}){}",
            c.ask,
            c.questions.len(),
            c.questions
                .iter()
                .map(|q| format!(
                    "{} [{}{}]",
                    q.id,
                    q.kind.as_str(),
                    q.field
                        .as_deref()
                        .map(|f| format!(": {f}"))
                        .unwrap_or_default()
                ))
                .collect::<Vec<_>>()
                .join(", "),
            if always.is_empty() {
                String::new()
            } else {
                format!("; always: {}", always.join(", "))
            }
        );
        let _ = writeln!(
            out,
            "  answer window: {}; reminders: {}; on a day off: {}; missed while down: {}",
            human_duration(c.window),
            if c.reminders.is_empty() {
                "none".to_string()
            } else {
                c.reminders
                    .iter()
                    .map(|d| format!("{} after", human_duration(*d)))
                    .collect::<Vec<_>>()
                    .join(", ")
            },
            match c.on_holiday {
                OnHoliday::Skip => "skip",
                OnHoliday::NextWorkday => "move to the next work day",
            },
            match c.catch_up {
                CatchUp::WithinWindow => "send late while the window is open",
                CatchUp::Skip => "skip",
            }
        );
        if let Some(d) = c.paused_until {
            let _ = writeln!(out, "  paused until {d}");
        }
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
        if !c.paused_at(now) {
            for o in c.cadence.upcoming(c.planning_zone(), now, 3) {
                match c.zone {
                    Zone::Fixed(tz) => {
                        let _ = writeln!(
                            out,
                            "  next: {} {tz} ({} UTC)",
                            o.local.format("%a %Y-%m-%d %H:%M"),
                            o.at.format("%Y-%m-%d %H:%M")
                        );
                    }
                    Zone::Local => {
                        let _ = writeln!(
                            out,
                            "  next: {} in each person's timezone",
                            o.local.format("%a %Y-%m-%d %H:%M"),
                        );
                    }
                }
            }
            let _ = writeln!(
                out,
                "  per person: `fieldnotes schedule preview --checkin {}`",
                c.name
            );
        }
    }
    out
}

#[cfg(test)]
mod tests;
