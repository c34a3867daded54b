//! The values the file writes as text: durations (`500ms`, `2s`, `5m`,
//! `1h`, `2d`, `1w`, at most ten years) and dates (`2026-12-25`), parsed
//! with checked arithmetic and shown back in the largest even unit.

use chrono::NaiveDate;
use std::time::Duration;

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
