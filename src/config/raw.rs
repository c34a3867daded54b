//! The file as written: one serde type per table, `deny_unknown_fields` so a
//! typo is an error, and `toml::Spanned` on whatever an error may point at.
//! Nothing here is checked; `validate` turns these into the model.

use serde::Deserialize;
use std::collections::BTreeMap;
use toml::Spanned;

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawConfig {
    #[serde(default)]
    pub bot: RawBot,
    #[serde(default)]
    pub storage: RawStorage,
    #[serde(default)]
    pub roles: RawRoles,
    /// `[[digest]]` entries; the old `[digest]` table is refused while
    /// deserializing (see [`RawDigests`]).
    #[serde(default)]
    pub digest: RawDigests,
    #[serde(default, rename = "tag")]
    pub tags: Vec<RawTag>,
    #[serde(default, rename = "checkin")]
    pub checkins: Vec<RawCheckin>,
    #[serde(default)]
    pub calendar: RawCalendar,
    #[serde(default)]
    pub capture: RawCapture,
    #[serde(default)]
    pub retention: RawRetention,
    #[serde(default, rename = "initiative")]
    pub initiative_entries: Vec<RawInitiative>,
    #[serde(default)]
    pub initiatives: RawInitiatives,
}

/// One `[[initiative]]`: a campaign, asset or experiment to debrief.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawInitiative {
    pub id: Spanned<String>,
    pub name: Spanned<String>,
    pub kind: Spanned<String>,
    pub start: Spanned<String>,
    #[serde(default)]
    pub end: Option<Spanned<String>>,
    #[serde(default)]
    pub checkins: Vec<Spanned<String>>,
    #[serde(default)]
    pub keywords: Vec<String>,
}

/// `[initiatives]`: debrief settings.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawInitiatives {
    /// Signed, so `0` or `-1` is a clear range error.
    #[serde(default)]
    pub min_ratings: Option<Spanned<i64>>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawBot {
    #[serde(default = "default_bot_name")]
    pub name: String,
    #[serde(default = "default_tick")]
    pub tick: Spanned<String>,
    #[serde(default = "default_workspace_rate")]
    pub workspace_messages_per_minute: Spanned<u32>,
    #[serde(default = "default_attempts")]
    pub max_send_attempts: u32,
    #[serde(default = "default_lease")]
    pub lease: Spanned<String>,
    #[serde(default = "default_event_attempts")]
    pub max_event_attempts: Spanned<u32>,
    /// The team's IANA timezone (optional).
    #[serde(default)]
    pub timezone: Option<Spanned<String>>,
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
            timezone: None,
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
pub(super) struct RawStorage {
    pub sqlite_path: Option<String>,
}

/// `[roles]`: admins, marketers and leads as Slack user IDs.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawRoles {
    #[serde(default)]
    pub admins: Vec<Spanned<String>>,
    #[serde(default)]
    pub marketers: Vec<Spanned<String>>,
    #[serde(default)]
    pub leads: Vec<Spanned<String>>,
}

/// What the file says under `digest`: `[[digest]]` entries (an array of
/// tables). The old single `[digest]` table is an error that says what
/// replaced it; TOML cannot hold both, so the shape is told apart here.
/// Not `#[serde(untagged)]`: that would lose the key path (`digest[0].name`)
/// and the line of every error inside an entry.
#[derive(Debug, Default)]
pub(super) struct RawDigests(pub Vec<RawDigest>);

/// The message for the old `[digest]` table.
pub(super) const OLD_DIGEST_TABLE: &str =
    "`[digest]` is now one or more `[[digest]]` entries: name, cadence, timezone, channels… \
     (see config/fieldnotes.toml); the team's timezone is `[bot] timezone`";

impl<'de> Deserialize<'de> for RawDigests {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct Entries;
        impl<'de> serde::de::Visitor<'de> for Entries {
            type Value = RawDigests;
            fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str("one or more [[digest]] entries")
            }
            fn visit_seq<A: serde::de::SeqAccess<'de>>(
                self,
                seq: A,
            ) -> Result<RawDigests, A::Error> {
                Vec::deserialize(serde::de::value::SeqAccessDeserializer::new(seq)).map(RawDigests)
            }
            fn visit_map<A: serde::de::MapAccess<'de>>(self, _: A) -> Result<RawDigests, A::Error> {
                Err(serde::de::Error::custom(OLD_DIGEST_TABLE))
            }
        }
        d.deserialize_any(Entries)
    }
}

/// One `[[digest]]` entry as written; every default is applied in
/// `validate/digest.rs`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawDigest {
    pub name: Spanned<String>,
    #[serde(default)]
    pub title: Option<Spanned<String>>,
    pub cadence: Spanned<String>,
    pub timezone: Spanned<String>,
    #[serde(default)]
    pub period: Option<Spanned<String>>,
    #[serde(default)]
    pub checkins: Vec<Spanned<String>>,
    #[serde(default)]
    pub tags: Vec<Spanned<String>>,
    #[serde(default)]
    pub channels: Vec<Spanned<String>>,
    #[serde(default)]
    pub users: Vec<Spanned<String>>,
    #[serde(default)]
    pub attribution: Option<Spanned<String>>,
    #[serde(default = "yes")]
    pub redact: bool,
    #[serde(default)]
    pub sections: Option<Spanned<Vec<Spanned<String>>>>,
    /// Signed, so `-1` is "must be between 1 and 20" rather than a type error.
    #[serde(default)]
    pub max_quotes: Option<Spanned<i64>>,
    #[serde(default = "yes")]
    pub chart: bool,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawTag {
    pub id: Spanned<String>,
    pub label: String,
    #[serde(default)]
    pub category: Option<String>,
    #[serde(default)]
    pub keywords: Vec<String>,
    #[serde(default)]
    pub synonyms: Vec<String>,
    #[serde(default)]
    pub aliases: Vec<String>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawCheckin {
    pub name: Spanned<String>,
    pub cadence: Spanned<String>,
    #[serde(default)]
    pub timezone: Option<Spanned<String>>,
    #[serde(default)]
    pub local_time: Option<Spanned<bool>>,
    pub prompt: String,
    pub audience: Spanned<RawAudience>,
    #[serde(default)]
    pub tags: Vec<Spanned<String>>,
    pub questions: Spanned<Vec<RawQuestion>>,
    #[serde(default)]
    pub paused: bool,
    #[serde(default)]
    pub paused_until: Option<Spanned<String>>,
    #[serde(default)]
    pub window: Option<Spanned<String>>,
    #[serde(default)]
    pub reminders: Option<Spanned<Vec<Spanned<String>>>>,
    #[serde(default)]
    pub on_holiday: Option<Spanned<String>>,
    #[serde(default)]
    pub catch_up: Option<Spanned<String>>,
    #[serde(default)]
    pub ask: Option<Spanned<usize>>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawAudience {
    #[serde(default)]
    pub users: Vec<Spanned<String>>,
    #[serde(default)]
    pub channels: Vec<Spanned<String>>,
    #[serde(default)]
    pub usergroups: Vec<Spanned<String>>,
    #[serde(default)]
    pub exclude: Vec<Spanned<String>>,
}

/// One question of a check-in's pool.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawQuestion {
    pub id: Spanned<String>,
    pub label: Spanned<String>,
    #[serde(default)]
    pub hint: Option<String>,
    #[serde(default = "yes")]
    pub required: bool,
    #[serde(default = "yes")]
    pub multiline: bool,
    #[serde(default)]
    pub tags: Vec<Spanned<String>>,
    #[serde(default, rename = "type")]
    pub kind: Option<Spanned<String>>,
    #[serde(default)]
    pub field: Option<Spanned<String>>,
    #[serde(default)]
    pub options: Option<Spanned<Vec<String>>>,
    #[serde(default)]
    pub always: bool,
}

fn yes() -> bool {
    true
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawCalendar {
    #[serde(default)]
    pub workdays: Option<Spanned<Vec<Spanned<String>>>>,
    #[serde(default)]
    pub holidays: Vec<Spanned<RawHoliday>>,
    #[serde(default)]
    pub default_region: Option<Spanned<String>>,
    #[serde(default)]
    pub regions: BTreeMap<String, RawRegion>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawRegion {
    #[serde(default)]
    pub workdays: Option<Spanned<Vec<Spanned<String>>>>,
    #[serde(default)]
    pub holidays: Vec<Spanned<RawHoliday>>,
    #[serde(default)]
    pub users: Vec<Spanned<String>>,
}

/// `"2026-12-25"` or `{ date = "2026-12-25", name = "Christmas Day" }`.
#[derive(Debug, Deserialize)]
#[serde(untagged)]
pub(super) enum RawHoliday {
    Date(String),
    Named { date: String, name: String },
}

/// The `[capture]` table: what the free-note form (a `/fieldnotes note`
/// without text, a shortcut, "Add tags", edits) asks besides the text.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawCapture {
    #[serde(default)]
    pub fields: Option<Spanned<Vec<Spanned<String>>>>,
}

/// `[retention]`: how long notes, deleted notes and delivered-event ids are kept.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawRetention {
    #[serde(default)]
    pub notes: Option<Spanned<String>>,
    #[serde(default)]
    pub deleted_notes: Option<Spanned<String>>,
    #[serde(default)]
    pub slack_events: Option<Spanned<String>>,
}
