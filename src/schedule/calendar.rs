//! The work calendar: which days are work days, which are holidays (for
//! everyone, or per region), and which region each person is in. Pure: the
//! planner asks it about a person's local date.

use chrono::{Datelike, NaiveDate, Weekday};
use std::collections::{BTreeMap, HashMap};

/// Work days as a Monday-first mask.
pub type Workdays = [bool; 7];

/// Monday to Friday.
pub const MON_FRI: Workdays = [true, true, true, true, true, false, false];

/// One region's own rules, on top of the global holidays.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Region {
    /// Overrides the global work days when set.
    pub workdays: Option<Workdays>,
    /// Holidays of this region only (date → name).
    pub holidays: BTreeMap<NaiveDate, String>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WorkCalendar {
    pub workdays: Workdays,
    /// Holidays for everyone (date → name).
    pub holidays: BTreeMap<NaiveDate, String>,
    pub regions: BTreeMap<String, Region>,
    /// Person → region.
    pub people: HashMap<String, String>,
    /// The region of people not listed in any region.
    pub default_region: Option<String>,
}

impl Default for WorkCalendar {
    fn default() -> Self {
        Self {
            workdays: MON_FRI,
            holidays: BTreeMap::new(),
            regions: BTreeMap::new(),
            people: HashMap::new(),
            default_region: None,
        }
    }
}

/// Why a day is not a work day for someone.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DayOff {
    /// Not one of the work days (a weekend).
    NotWorkday(Weekday),
    /// A holiday: its name, and the region it belongs to (`None` = everyone).
    Holiday {
        name: String,
        region: Option<String>,
    },
}

impl std::fmt::Display for DayOff {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            DayOff::NotWorkday(d) => write!(f, "{d} is not a work day"),
            DayOff::Holiday { name, region: None } => write!(f, "holiday: {name}"),
            DayOff::Holiday {
                name,
                region: Some(r),
            } => write!(f, "holiday in {r}: {name}"),
        }
    }
}

impl WorkCalendar {
    /// The region a person belongs to, if any.
    pub fn region_of(&self, user: &str) -> Option<&str> {
        self.people
            .get(user)
            .map(String::as_str)
            .or(self.default_region.as_deref())
    }

    /// `None` when `date` is a work day for `user`, else why not.
    pub fn day_off(&self, user: &str, date: NaiveDate) -> Option<DayOff> {
        let region_name = self.region_of(user);
        let region = region_name.and_then(|r| self.regions.get(r));
        if let Some(name) = region.and_then(|r| r.holidays.get(&date)) {
            return Some(DayOff::Holiday {
                name: name.clone(),
                region: region_name.map(str::to_string),
            });
        }
        if let Some(name) = self.holidays.get(&date) {
            return Some(DayOff::Holiday {
                name: name.clone(),
                region: None,
            });
        }
        let workdays = region.and_then(|r| r.workdays).unwrap_or(self.workdays);
        let wd = date.weekday();
        if !workdays[wd.num_days_from_monday() as usize] {
            return Some(DayOff::NotWorkday(wd));
        }
        None
    }

    /// The first work day after `date` for `user`, looking up to a year
    /// ahead (`None` if a calendar has no work days at all).
    pub fn next_workday(&self, user: &str, date: NaiveDate) -> Option<NaiveDate> {
        let mut d = date;
        for _ in 0..366 {
            d = d.succ_opt()?;
            if self.day_off(user, d).is_none() {
                return Some(d);
            }
        }
        None
    }
}

/// Parses `MON`, `Tue`, `sunday`… into a weekday.
pub fn parse_weekday(s: &str) -> Option<Weekday> {
    let l = s.trim().to_ascii_lowercase();
    let short = l.get(..3)?;
    let wd = match short {
        "mon" => Weekday::Mon,
        "tue" => Weekday::Tue,
        "wed" => Weekday::Wed,
        "thu" => Weekday::Thu,
        "fri" => Weekday::Fri,
        "sat" => Weekday::Sat,
        "sun" => Weekday::Sun,
        _ => return None,
    };
    let full = wd.to_string().to_ascii_lowercase(); // "mon"
    let long = match wd {
        Weekday::Mon => "monday",
        Weekday::Tue => "tuesday",
        Weekday::Wed => "wednesday",
        Weekday::Thu => "thursday",
        Weekday::Fri => "friday",
        Weekday::Sat => "saturday",
        Weekday::Sun => "sunday",
    };
    (l == full || l == long).then_some(wd)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn d(s: &str) -> NaiveDate {
        s.parse().unwrap()
    }

    fn cal() -> WorkCalendar {
        let mut c = WorkCalendar::default();
        c.holidays.insert(d("2026-12-25"), "Christmas Day".into());
        let mut uk = Region::default();
        uk.holidays
            .insert(d("2026-12-28"), "Boxing Day (substitute)".into());
        c.regions.insert("uk".into(), uk);
        let me = Region {
            workdays: Some([true, true, true, true, false, false, true]), // Sun-Thu
            ..Default::default()
        };
        c.regions.insert("dubai".into(), me);
        c.people.insert("ULONDON".into(), "uk".into());
        c.people.insert("UDUBAI".into(), "dubai".into());
        c
    }

    #[test]
    fn weekends_and_global_holidays() {
        let c = cal();
        assert_eq!(c.day_off("UNY", d("2026-12-24")), None); // Thursday
        assert_eq!(
            c.day_off("UNY", d("2026-12-25")),
            Some(DayOff::Holiday {
                name: "Christmas Day".into(),
                region: None
            })
        );
        assert_eq!(
            c.day_off("UNY", d("2026-12-26")),
            Some(DayOff::NotWorkday(Weekday::Sat))
        );
        // Friday 25th is a holiday, the weekend follows: next is Monday 28th.
        assert_eq!(
            c.next_workday("UNY", d("2026-12-24")),
            Some(d("2026-12-28"))
        );
    }

    #[test]
    fn regional_holidays_apply_only_to_that_region() {
        let c = cal();
        assert_eq!(c.day_off("UNY", d("2026-12-28")), None);
        assert!(matches!(
            c.day_off("ULONDON", d("2026-12-28")),
            Some(DayOff::Holiday { region: Some(ref r), .. }) if r == "uk"
        ));
        assert_eq!(
            c.next_workday("ULONDON", d("2026-12-24")),
            Some(d("2026-12-29"))
        );
    }

    #[test]
    fn regional_work_days_and_default_region() {
        let mut c = cal();
        // Friday off, Sunday on in Dubai.
        assert!(c.day_off("UDUBAI", d("2027-01-08")).is_some());
        assert_eq!(c.day_off("UDUBAI", d("2027-01-10")), None);
        c.default_region = Some("uk".into());
        assert!(c.day_off("USOMEONE", d("2026-12-28")).is_some());
    }

    #[test]
    fn no_work_days_means_no_next_workday() {
        let c = WorkCalendar {
            workdays: [false; 7],
            ..Default::default()
        };
        assert_eq!(c.next_workday("U1", d("2026-01-01")), None);
    }

    #[test]
    fn weekday_names() {
        assert_eq!(parse_weekday("MON"), Some(Weekday::Mon));
        assert_eq!(parse_weekday("thursday"), Some(Weekday::Thu));
        assert_eq!(parse_weekday("Sun"), Some(Weekday::Sun));
        assert_eq!(parse_weekday("mo"), None);
        assert_eq!(parse_weekday("monx"), None);
    }
}
