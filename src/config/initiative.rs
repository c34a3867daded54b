//! Initiatives (issue 13): a campaign, asset or experiment marketing wants
//! judged by the reps over weeks. Declared as `[[initiative]]` in the file
//! or added with `/fieldnotes initiative add`; the database holds them all
//! (the file's are synced into it), and every snapshot of the config
//! carries the effective set, so a check-in form and the tagger see the
//! same initiatives. While one is active, the check-ins it names ask about
//! it as one of their k questions; its tag (`initiative:ID`, keywords
//! included) links the notes that mention it.

use super::{Question, QuestionKind, TagDef};
use chrono::NaiveDate;

/// The tag category, and the prefix of an initiative's tag and question.
pub const INITIATIVE: &str = "initiative";
/// The field a rating is stored in: `ID:worked|didnt|not_used`.
pub const INITIATIVE_RATING: &str = "initiative_rating";
/// Most characters in an initiative's name.
pub const MAX_NAME: usize = 80;
/// Most ratings a verdict may ask for, and the default.
pub const MAX_MIN_RATINGS: u32 = 1000;
pub const DEFAULT_MIN_RATINGS: u32 = 8;

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum InitiativeKind {
    Campaign,
    Asset,
    Experiment,
}

impl InitiativeKind {
    pub const ALL: [InitiativeKind; 3] = [
        InitiativeKind::Campaign,
        InitiativeKind::Asset,
        InitiativeKind::Experiment,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            InitiativeKind::Campaign => "campaign",
            InitiativeKind::Asset => "asset",
            InitiativeKind::Experiment => "experiment",
        }
    }

    pub fn parse(s: &str) -> Option<InitiativeKind> {
        Self::ALL.into_iter().find(|k| k.as_str() == s)
    }
}

/// A rep's answer to an initiative's question.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Rating {
    Worked,
    Didnt,
    NotUsed,
}

impl Rating {
    pub const ALL: [Rating; 3] = [Rating::Worked, Rating::Didnt, Rating::NotUsed];

    pub fn as_str(self) -> &'static str {
        match self {
            Rating::Worked => "worked",
            Rating::Didnt => "didnt",
            Rating::NotUsed => "not_used",
        }
    }

    pub fn parse(s: &str) -> Option<Rating> {
        Self::ALL.into_iter().find(|r| r.as_str() == s)
    }

    /// How the form and the reports say it.
    pub fn label(self) -> &'static str {
        match self {
            Rating::Worked => "It worked",
            Rating::Didnt => "It didn't work",
            Rating::NotUsed => "Didn't use it",
        }
    }

    /// A rating as stored in the `initiative_rating` field.
    pub fn field_value(self, initiative: &str) -> String {
        format!("{initiative}:{}", self.as_str())
    }

    /// (initiative, rating) from a stored field value.
    pub fn from_field_value(v: &str) -> Option<(&str, Rating)> {
        let (id, r) = v.rsplit_once(':')?;
        Some((id, Rating::parse(r)?))
    }
}

/// Whether `s` is a usable initiative id: lowercase letters, digits, `-`
/// and `_`, 1 to 40 characters, starting with a letter or digit.
pub fn valid_id(s: &str) -> bool {
    !s.is_empty()
        && s.len() <= 40
        && s.chars().next().is_some_and(|c| c.is_ascii_alphanumeric())
        && s.chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || matches!(c, '-' | '_'))
}

/// An initiative as the app runs on it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Initiative {
    pub id: String,
    pub name: String,
    pub kind: InitiativeKind,
    /// First and last day it runs, in the team's timezone; no end runs
    /// until someone ends it.
    pub start: NaiveDate,
    pub end: Option<NaiveDate>,
    /// The check-ins that ask about it.
    pub checkins: Vec<String>,
    /// Words that link a note to it (besides its name).
    pub keywords: Vec<String>,
    /// Declared in the config file (else added in Slack).
    pub from_config: bool,
    /// When someone ended it early (ms); its `end` is then that day.
    pub ended_at: Option<i64>,
}

impl Initiative {
    /// Its tag: `initiative:ID`.
    pub fn tag(&self) -> String {
        format!("{INITIATIVE}:{}", self.id)
    }

    /// The id of its question in a check-in (the same as its tag).
    pub fn question_id(&self) -> String {
        self.tag()
    }

    /// Whether it runs on `day` (team time).
    pub fn active_on(&self, day: NaiveDate) -> bool {
        day >= self.start && self.end.is_none_or(|e| day <= e) && self.ended_at.is_none()
    }

    /// Whether it is over on `day`: past its end, or ended.
    pub fn over_on(&self, day: NaiveDate) -> bool {
        self.ended_at.is_some() || self.end.is_some_and(|e| day > e)
    }

    /// Whether digest `d` covers it: the digest covers every note, or one
    /// of the check-ins that ask about it.
    pub fn in_digest(&self, d: &super::DigestDef) -> bool {
        d.checkins.is_empty() || d.checkins.iter().any(|c| self.checkins.contains(c))
    }

    /// `upcoming`, `active` or `ended` on `day`.
    pub fn status(&self, day: NaiveDate) -> &'static str {
        if self.over_on(day) {
            "ended"
        } else if day < self.start {
            "upcoming"
        } else {
            "active"
        }
    }

    /// The question its check-ins ask: worked / didn't / not used, and why.
    pub fn question(&self) -> Question {
        let mut q = Question::text(
            &self.question_id(),
            &format!("{}: how did it go?", self.name),
            false,
        );
        q.kind = QuestionKind::Initiative;
        q.hint = Some(format!(
            "Marketing's {} — did it help with your buyers? One tap, and a few words on why.",
            self.kind.as_str()
        ));
        q
    }

    /// Its tag in the taxonomy: the name and keywords auto-link notes while
    /// it runs; once over, the tag stays (search and old notes keep their
    /// label) but links nothing new.
    pub fn tag_def(&self, running: bool) -> TagDef {
        TagDef {
            id: self.tag(),
            label: self.name.clone(),
            category: Some(INITIATIVE.into()),
            keywords: if running {
                self.keywords.clone()
            } else {
                vec![]
            },
            aliases: if running && self.name.chars().count() >= 4 {
                vec![self.name.clone()]
            } else {
                vec![]
            },
        }
    }
}

/// `[initiatives]`: when a debrief may give a verdict.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct InitiativeSettings {
    /// Ratings (worked or didn't) needed before a verdict.
    pub min_ratings: u32,
}

impl Default for InitiativeSettings {
    fn default() -> Self {
        InitiativeSettings {
            min_ratings: DEFAULT_MIN_RATINGS,
        }
    }
}
