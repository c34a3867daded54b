//! The validated configuration the app runs on: `Config` and its parts
//! (bot settings, roles, digest, tags, check-ins with their zone, window,
//! reminders and rules, retention). Built only by `validate`.

use super::initiative::{Initiative, InitiativeSettings, INITIATIVE};
use super::{Question, DEFAULT_CONFIG_PATH};
use crate::schedule::calendar::WorkCalendar;
use crate::schedule::Crontab;
use crate::tz::Tz;
use chrono::NaiveDate;
use std::path::PathBuf;
use std::time::Duration;

/// The validated configuration the app runs on.
#[derive(Debug, Clone)]
pub struct Config {
    pub path: PathBuf,
    pub bot: BotSettings,
    pub sqlite_path: PathBuf,
    pub roles: Roles,
    /// The team's timezone: App Home's week, and the fallback for people
    /// whose Slack profile has none. `[bot] timezone`, else the first
    /// digest's, else UTC.
    pub timezone: Tz,
    /// `[[digest]]` entries, in file order.
    pub digests: Vec<DigestDef>,
    pub tags: Vec<TagDef>,
    pub checkins: Vec<CheckIn>,
    pub calendar: WorkCalendar,
    /// The free-note form: text, then one input per typed field.
    pub note_questions: Vec<Question>,
    pub retention: Retention,
    /// `[[initiative]]` entries as the file declares them.
    pub initiative_defs: Vec<Initiative>,
    /// The initiatives the app runs on: the database's (the file's synced
    /// into it, and those added in Slack), or the file's before the first
    /// sync. Their tags are in `tags`.
    pub initiatives: Vec<Initiative>,
    pub initiative_settings: InitiativeSettings,
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

/// The validated `[roles]`: admins, marketers and leads (everyone else is
/// a rep). What each role may do is the permission table in `src/roles.rs`.
#[derive(Debug, Clone, Default)]
pub struct Roles {
    pub admins: Vec<String>,
    pub marketers: Vec<String>,
    pub leads: Vec<String>,
}

/// One `[[digest]]` entry: what it covers, who gets it, when, and how it
/// reads.
#[derive(Debug, Clone, PartialEq)]
pub struct DigestDef {
    /// Unique among digests: `[a-z0-9-_]`, up to 64 characters.
    pub name: String,
    /// The heading of every rendering ("Weekly field digest").
    pub title: String,
    /// When it goes out, in `timezone`.
    pub cadence: Crontab,
    pub timezone: Tz,
    pub period: PeriodSpec,
    /// Check-ins whose notes it covers; empty = every note, free notes
    /// included. `"notes"` names notes shared outside a check-in.
    pub checkins: Vec<String>,
    /// Only notes with at least one of these tags; empty = all.
    pub tags: Vec<String>,
    /// Channels (C…/G…) and people (U…/W…, by DM) it is posted to.
    pub channels: Vec<String>,
    pub users: Vec<String>,
    pub attribution: Attribution,
    /// Mask emails and phone numbers in quotes (default true).
    pub redact: bool,
    /// Sections shown, in order (default: all, in `SectionKind::ALL`'s order).
    pub sections: Vec<SectionKind>,
    /// Quotes in the quotes section (default 6, 1..=20).
    pub max_quotes: usize,
    /// Post a PNG chart in the digest's thread (default true).
    pub chart: bool,
}

impl DigestDef {
    /// Everyone and everywhere it goes: channels first, then people.
    pub fn recipients(&self) -> impl Iterator<Item = &str> {
        self.channels
            .iter()
            .chain(self.users.iter())
            .map(|s| s.as_str())
    }
}

/// The span of time one digest covers.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PeriodSpec {
    /// ISO week, Monday to Sunday (the default).
    Week,
    /// Calendar month.
    Month,
    /// N consecutive days, tiled from Monday 1970-01-05 (1..=92).
    Days(u32),
}

/// Whether a digest's quotes name the rep.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Attribution {
    Named,
    Anonymous,
}

/// The sections a digest can show.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SectionKind {
    Participation,
    /// What marketing did with reps' notes in the period (issue 13).
    YouSaidWeDid,
    /// Each running initiative's ratings so far, with the interval and
    /// the verdict once there are enough (issue 13).
    Initiatives,
    Trends,
    Competitors,
    Objections,
    Funnel,
    Assets,
    LeadQuality,
    Committee,
    Ideas,
    MarketShifts,
    Quotes,
}

impl SectionKind {
    pub const ALL: [SectionKind; 13] = [
        SectionKind::Participation,
        SectionKind::YouSaidWeDid,
        SectionKind::Initiatives,
        SectionKind::Trends,
        SectionKind::Competitors,
        SectionKind::Objections,
        SectionKind::Funnel,
        SectionKind::Assets,
        SectionKind::LeadQuality,
        SectionKind::Committee,
        SectionKind::Ideas,
        SectionKind::MarketShifts,
        SectionKind::Quotes,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            SectionKind::Participation => "participation",
            SectionKind::YouSaidWeDid => "you_said_we_did",
            SectionKind::Initiatives => "initiatives",
            SectionKind::Trends => "trends",
            SectionKind::Competitors => "competitors",
            SectionKind::Objections => "objections",
            SectionKind::Funnel => "funnel",
            SectionKind::Assets => "assets",
            SectionKind::LeadQuality => "lead_quality",
            SectionKind::Committee => "committee",
            SectionKind::Ideas => "ideas",
            SectionKind::MarketShifts => "market_shifts",
            SectionKind::Quotes => "quotes",
        }
    }

    pub fn parse(s: &str) -> Option<SectionKind> {
        SectionKind::ALL.into_iter().find(|k| k.as_str() == s)
    }

    /// The heading every renderer uses.
    pub fn title(self) -> &'static str {
        match self {
            SectionKind::Participation => "Participation",
            SectionKind::YouSaidWeDid => "You said, we did",
            SectionKind::Initiatives => "Initiatives: how reps rate them",
            SectionKind::Trends => "Rising, new and falling",
            SectionKind::Competitors => "Competitors",
            SectionKind::Objections => "Objections",
            SectionKind::Funnel => "Funnel stage friction",
            SectionKind::Assets => "Marketing assets: what worked and what didn't",
            SectionKind::LeadQuality => "Lead quality by source",
            SectionKind::Committee => "Buying committee and personas",
            SectionKind::Ideas => "Ideas from sales",
            SectionKind::MarketShifts => "Market shifts",
            SectionKind::Quotes => "In the reps' own words",
        }
    }
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
pub const EARLIEST_ZONE: Tz = crate::tz::UTC_PLUS_14;

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
            Zone::Local => crate::tz::UTC,
        };
        self.paused_until
            .is_some_and(|d| now.with_timezone(&tz).date_naive() < d)
    }
}

impl Config {
    pub fn checkin(&self, name: &str) -> Option<&CheckIn> {
        self.checkins.iter().find(|c| c.name == name)
    }

    pub fn initiative(&self, id: &str) -> Option<&Initiative> {
        self.initiatives.iter().find(|i| i.id == id)
    }

    /// What check-in `c` may ask on `day` (team time): one question for
    /// each initiative running that day that names it, then its own. An
    /// initiative's question takes its turn in the rotation like any, but
    /// heads the pool: it runs for weeks, not for good, so it comes round
    /// from its first run rather than after the rest of the pool.
    pub fn checkin_questions(&self, c: &CheckIn, day: NaiveDate) -> Vec<Question> {
        let mut qs: Vec<Question> = self
            .initiatives
            .iter()
            .filter(|i| i.active_on(day) && i.checkins.contains(&c.name))
            .map(Initiative::question)
            .collect();
        qs.extend(c.questions.iter().cloned());
        qs
    }

    /// This config with `list` as its initiatives (their tags replacing
    /// the earlier ones'): a tag links new notes only while its initiative
    /// runs on `today`.
    pub fn with_initiatives(&self, list: Vec<Initiative>, today: NaiveDate) -> Config {
        let mut c = self.clone();
        c.tags.retain(|t| t.category.as_deref() != Some(INITIATIVE));
        c.tags
            .extend(list.iter().map(|i| i.tag_def(!i.over_on(today))));
        c.initiatives = list;
        c
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
