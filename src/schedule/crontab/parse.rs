//! Reading crontab text: the 5 fields, names, ranges, steps and macros, each
//! value validated, into the list of values every field selects. Errors say
//! which field and which value, for the team lead who wrote the cadence.

use std::collections::BTreeSet;

/// What is wrong with a crontab expression, worded for the person who wrote it.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CrontabError {
    #[error(
        "the schedule is empty; expected 5 fields: minute hour day-of-month month day-of-week (for example \"0 9 * * MON-FRI\")"
    )]
    Empty,
    #[error(
        "expected 5 fields (minute hour day-of-month month day-of-week) but found {found}{}",
        field_count_hint(*found)
    )]
    WrongFieldCount { found: usize },
    #[error(
        "@reboot is not supported: a scheduled prompt needs a time, not \"when the bot starts\""
    )]
    Reboot,
    #[error(
        "unknown macro \"{0}\"; supported macros are @yearly, @annually, @monthly, @weekly, @daily, @midnight and @hourly (on their own, without other fields)"
    )]
    UnknownMacro(String),
    #[error("{field} field \"{text}\" has an empty entry (check for doubled or trailing commas)")]
    EmptyEntry { field: &'static str, text: String },
    #[error("{field} value {value} is out of range {min}–{max}")]
    OutOfRange {
        field: &'static str,
        value: String,
        min: u32,
        max: u32,
    },
    #[error("{field} value \"{value}\" is not {expected}")]
    InvalidValue {
        field: &'static str,
        value: String,
        expected: &'static str,
    },
    #[error("{field} range \"{text}\" runs backwards (its start is after its end)")]
    BackwardsRange { field: &'static str, text: String },
    #[error("{field} step in \"{text}\" must be a whole number of at least 1")]
    InvalidStep { field: &'static str, text: String },
    #[error(
        "the schedule \"{0}\" can never fire: none of the selected months has that day of the month"
    )]
    NeverFires(String),
    #[error("internal error translating \"{expr}\" for the cron engine: {message}")]
    Engine { expr: String, message: String },
}

fn field_count_hint(found: usize) -> &'static str {
    if found > 5 {
        " (seconds and year fields are not supported; use standard 5-field crontab)"
    } else {
        ""
    }
}

/// The values a crontab selects, field by field: sorted, without repeats.
/// Only [`super::engine`] reads this, to build the `cron` schedules once.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct Fields {
    pub minutes: Vec<u32>,
    pub hours: Vec<u32>,
    pub doms: Vec<u32>,
    pub months: Vec<u32>,
    /// 0–6, Sunday = 0 (crontab's `7` is folded into `0`).
    pub dows: Vec<u32>,
    /// The day-of-month field starts with `*` (crontab's "unrestricted").
    pub dom_star: bool,
    /// The day-of-week field starts with `*`.
    pub dow_star: bool,
}

impl Fields {
    /// Vixie cron's rule: when both day fields are restricted, a day matches
    /// when EITHER matches; otherwise both must.
    pub fn days_either(&self) -> bool {
        !self.dom_star && !self.dow_star
    }
}

struct FieldSpec {
    name: &'static str,
    min: u32,
    max: u32,
    /// Names and the value of the first name.
    names: &'static [&'static str],
    first_name_value: u32,
    expected: &'static str,
}

/// Day names, index = crontab number (Sunday = 0). The `cron` crate reads
/// the same names, so [`super::engine`] hands it these.
pub(super) const DOW_NAMES: [&str; 7] = ["SUN", "MON", "TUE", "WED", "THU", "FRI", "SAT"];
const MONTH_NAMES: [&str; 12] = [
    "JAN", "FEB", "MAR", "APR", "MAY", "JUN", "JUL", "AUG", "SEP", "OCT", "NOV", "DEC",
];

const MINUTE: FieldSpec = FieldSpec {
    name: "minute",
    min: 0,
    max: 59,
    names: &[],
    first_name_value: 0,
    expected: "a number",
};
const HOUR: FieldSpec = FieldSpec {
    name: "hour",
    min: 0,
    max: 23,
    names: &[],
    first_name_value: 0,
    expected: "a number",
};
const DOM: FieldSpec = FieldSpec {
    name: "day-of-month",
    min: 1,
    max: 31,
    names: &[],
    first_name_value: 0,
    expected: "a number",
};
const MONTH: FieldSpec = FieldSpec {
    name: "month",
    min: 1,
    max: 12,
    names: &MONTH_NAMES,
    first_name_value: 1,
    expected: "a number or a month name (JAN–DEC)",
};
const DOW: FieldSpec = FieldSpec {
    name: "day-of-week",
    min: 0,
    max: 7,
    names: &DOW_NAMES,
    first_name_value: 0,
    expected: "a number or a day name (SUN–SAT)",
};

fn parse_value(spec: &FieldSpec, text: &str) -> Result<u32, CrontabError> {
    if !text.is_empty() && text.bytes().all(|b| b.is_ascii_digit()) {
        let out_of_range = || CrontabError::OutOfRange {
            field: spec.name,
            value: text.to_string(),
            min: spec.min,
            max: spec.max,
        };
        let v: u32 = text.parse().map_err(|_| out_of_range())?;
        if v < spec.min || v > spec.max {
            return Err(out_of_range());
        }
        return Ok(v);
    }
    if let Some(i) = spec.names.iter().position(|n| n.eq_ignore_ascii_case(text)) {
        return Ok(spec.first_name_value + i as u32);
    }
    Err(CrontabError::InvalidValue {
        field: spec.name,
        value: text.to_string(),
        expected: spec.expected,
    })
}

/// Parses one field into the values it selects.
fn parse_field(spec: &FieldSpec, text: &str) -> Result<BTreeSet<u32>, CrontabError> {
    let mut values = BTreeSet::new();
    for item in text.split(',') {
        if item.is_empty() {
            return Err(CrontabError::EmptyEntry {
                field: spec.name,
                text: text.to_string(),
            });
        }
        let (base, step) = match item.split_once('/') {
            Some((base, step)) => {
                let bad_step = || CrontabError::InvalidStep {
                    field: spec.name,
                    text: item.to_string(),
                };
                if step.is_empty() || !step.bytes().all(|b| b.is_ascii_digit()) {
                    return Err(bad_step());
                }
                let step: u32 = step.parse().map_err(|_| bad_step())?;
                if step == 0 {
                    return Err(bad_step());
                }
                (base, Some(step))
            }
            None => (item, None),
        };
        let (lo, hi) = if base == "*" {
            (spec.min, spec.max)
        } else if let Some((a, b)) = base.split_once('-') {
            if a.is_empty() || b.is_empty() {
                return Err(CrontabError::InvalidValue {
                    field: spec.name,
                    value: item.to_string(),
                    expected: spec.expected,
                });
            }
            let (lo, hi) = (parse_value(spec, a)?, parse_value(spec, b)?);
            if lo > hi {
                return Err(CrontabError::BackwardsRange {
                    field: spec.name,
                    text: item.to_string(),
                });
            }
            (lo, hi)
        } else {
            let v = parse_value(spec, base)?;
            // `5/15` means `5-max/15` (Quartz/cronie extension).
            if step.is_some() {
                (v, spec.max)
            } else {
                (v, v)
            }
        };
        values.extend((lo..=hi).step_by(step.unwrap_or(1) as usize));
    }
    Ok(values)
}

fn expand_macro(expr: &str) -> Result<&'static str, CrontabError> {
    match expr.to_ascii_lowercase().as_str() {
        "@yearly" | "@annually" => Ok("0 0 1 1 *"),
        "@monthly" => Ok("0 0 1 * *"),
        "@weekly" => Ok("0 0 * * 0"),
        "@daily" | "@midnight" => Ok("0 0 * * *"),
        "@hourly" => Ok("0 * * * *"),
        "@reboot" => Err(CrontabError::Reboot),
        _ => Err(CrontabError::UnknownMacro(expr.to_string())),
    }
}

const DAYS_IN_MONTH_MAX: [u32; 13] = [0, 31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31];

/// Parses a trimmed 5-field crontab expression or a macro (`@daily`, …).
pub(super) fn fields(expr: &str) -> Result<Fields, CrontabError> {
    if expr.is_empty() {
        return Err(CrontabError::Empty);
    }
    let body = if expr.starts_with('@') {
        expand_macro(expr)?
    } else {
        expr
    };
    let text: Vec<&str> = body.split_whitespace().collect();
    if text.len() != 5 {
        return Err(CrontabError::WrongFieldCount { found: text.len() });
    }
    let list = |set: BTreeSet<u32>| set.into_iter().collect::<Vec<_>>();
    let mut dows = parse_field(&DOW, text[4])?;
    if dows.remove(&7) {
        dows.insert(0);
    }
    let fields = Fields {
        minutes: list(parse_field(&MINUTE, text[0])?),
        hours: list(parse_field(&HOUR, text[1])?),
        doms: list(parse_field(&DOM, text[2])?),
        months: list(parse_field(&MONTH, text[3])?),
        dows: list(dows),
        dom_star: text[2].starts_with('*'),
        dow_star: text[4].starts_with('*'),
    };

    // Reject day-of-month/month combinations that can never happen (30 FEB)
    // when day-of-month alone decides the day; the engine would otherwise
    // search until 2100 and find nothing.
    let dom_decides = fields.dow_star || fields.dows.is_empty();
    let some_month_has_a_day = fields.months.iter().any(|m| {
        fields
            .doms
            .iter()
            .any(|d| *d <= DAYS_IN_MONTH_MAX[*m as usize])
    });
    if dom_decides && !some_month_has_a_day {
        return Err(CrontabError::NeverFires(expr.to_string()));
    }
    Ok(fields)
}
