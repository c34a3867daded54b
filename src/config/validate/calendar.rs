//! `[calendar]`: work days, holidays for everyone, regions with their own
//! days, holidays and people (one region a person), and the default region.
//! The result is a `WorkCalendar`.

use super::valid_user_id;
use crate::config::error::SourceMap;
use crate::config::parse_date;
use crate::config::raw::{RawCalendar, RawHoliday};
use crate::config::ConfigError;
use crate::schedule::calendar::{self, Region, WorkCalendar, Workdays};
use chrono::NaiveDate;
use std::collections::BTreeMap;
use toml::Spanned;

pub(super) fn validate(
    src: &SourceMap<'_>,
    raw: &RawCalendar,
    errs: &mut Vec<ConfigError>,
) -> WorkCalendar {
    let mut cal = WorkCalendar::default();
    if let Some(w) = &raw.workdays {
        cal.workdays = workdays(src, w, "calendar.workdays", errs);
    }
    cal.holidays = holidays(src, &raw.holidays, "calendar.holidays", errs);
    for (name, r) in &raw.regions {
        let key = |f: &str| format!("calendar.regions.{name}.{f}");
        let region = Region {
            workdays: r
                .workdays
                .as_ref()
                .map(|w| workdays(src, w, &key("workdays"), errs)),
            holidays: holidays(src, &r.holidays, &key("holidays"), errs),
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

/// A list of day names (at least one) as a Monday-first mask.
fn workdays(
    src: &SourceMap<'_>,
    list: &Spanned<Vec<Spanned<String>>>,
    key: &str,
    errs: &mut Vec<ConfigError>,
) -> Workdays {
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
}

/// Holidays by date, each named (`holiday` when the file gives no name).
fn holidays(
    src: &SourceMap<'_>,
    list: &[Spanned<RawHoliday>],
    key: &str,
    errs: &mut Vec<ConfigError>,
) -> BTreeMap<NaiveDate, String> {
    let mut out = BTreeMap::new();
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
}
