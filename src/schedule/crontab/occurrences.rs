//! From scheduled wall-clock times to instants in an IANA zone: the DST rule,
//! in this one place.
//!
//! # The DST rule
//!
//! We walk the scheduled WALL-CLOCK times in order (from the engine), so each
//! scheduled local time is considered exactly once, and map each to an
//! instant in the zone:
//!
//! * normal time: fires at that instant;
//! * repeated time (fall-back overlap): fires ONCE, at the earlier instant
//!   (the first 01:30). Nothing fires during the repeated hour's second pass;
//! * skipped time (spring-forward gap): fires ONCE at the gap end, the first
//!   valid minute after the gap (02:30 in New York fires at 03:00 EDT). All
//!   scheduled times inside one gap collapse into a single firing at the gap
//!   end. If the wall-clock time at the gap end itself (e.g. 03:00) is
//!   scheduled, that real time is the firing and the gap times are dropped;
//!   otherwise the firing is identified by the FIRST gap time (e.g. for
//!   `15,45 * * * *` 02:15 fires at 03:00 and 02:45 is dropped).
//!
//! Hence the returned occurrences are strictly increasing in `at` and never
//! repeat a `local`, so `local` (plus the schedule) is a safe idempotency key.

use super::engine::LocalTimes;
use super::Crontab;
use crate::tz::Tz;
use chrono::{DateTime, Duration, NaiveDateTime, Offset, TimeZone, Timelike, Utc};

/// One firing of a schedule.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Occurrence {
    /// The scheduled wall-clock time; the identity of the occurrence.
    pub local: NaiveDateTime,
    /// When it actually fires. Differs from `local` in the zone only for
    /// times in a spring-forward gap (shifted to the gap end).
    pub at: DateTime<Utc>,
}

impl Crontab {
    /// The first occurrence whose firing instant is strictly after `after`,
    /// following the DST rule.
    pub fn next_after(&self, tz: Tz, after: DateTime<Utc>) -> Option<Occurrence> {
        self.occurrences_after(tz, after).next()
    }

    /// Occurrences with `from < at <= to`, in order.
    pub fn occurrences_between(
        &self,
        tz: Tz,
        from: DateTime<Utc>,
        to: DateTime<Utc>,
    ) -> Vec<Occurrence> {
        self.occurrences_after(tz, from)
            .take_while(|o| o.at <= to)
            .collect()
    }

    /// The next `n` occurrences firing strictly after `after`.
    pub fn upcoming(&self, tz: Tz, after: DateTime<Utc>, n: usize) -> Vec<Occurrence> {
        self.occurrences_after(tz, after).take(n).collect()
    }

    /// When the occurrence whose wall-clock identity is `local` fires in
    /// `tz`, following the DST rule; `None` when it does not fire on its own
    /// there (it is not a scheduled time, or it falls in a spring-forward gap
    /// and is folded into another occurrence). This is how a `local_time`
    /// check-in finds each person's send time.
    pub fn fire_instant(&self, tz: Tz, local: NaiveDateTime) -> Option<DateTime<Utc>> {
        // Start well before any instant this wall-clock time could map to.
        let start = (local - Duration::days(2)).and_utc();
        self.occurrences_after(tz, start)
            .take_while(|o| o.local <= local)
            .find(|o| o.local == local)
            .map(|o| o.at)
    }

    /// Lazy iterator over the occurrences firing strictly after `after`.
    pub fn occurrences_after(&self, tz: Tz, after: DateTime<Utc>) -> Occurrences<'_> {
        // Start the wall-clock walk early enough that no scheduled time firing
        // after `after` is missed: use the smallest UTC offset around `after`
        // (a local time L fires at roughly L - offset), plus an hour of slack.
        let offset_at = |t: DateTime<Utc>| {
            i64::from(
                tz.offset_from_utc_datetime(&t.naive_utc())
                    .fix()
                    .local_minus_utc(),
            )
        };
        let min_offset = [after - Duration::days(2), after, after + Duration::days(2)]
            .into_iter()
            .map(offset_at)
            .min()
            .unwrap_or(0);
        let start = after.naive_utc() + Duration::seconds(min_offset) - Duration::hours(1);
        Occurrences {
            local_times: self.engine.local_times_after(start),
            tz,
            after,
            peeked: None,
            last_at: None,
        }
    }
}

/// How one scheduled wall-clock time maps onto the time line.
#[derive(Debug, Clone, Copy)]
enum Resolved {
    /// Exists (if repeated: the earlier instant).
    Real(DateTime<Utc>),
    /// Falls in a spring-forward gap; the instant is the gap end.
    Gap(DateTime<Utc>),
}

fn resolve(tz: Tz, local: NaiveDateTime) -> Option<Resolved> {
    if let Some(dt) = tz.from_local_datetime(&local).earliest() {
        return Some(Resolved::Real(dt.with_timezone(&Utc)));
    }
    // Walk to the first valid minute after the gap (real gaps are at most a
    // day long; give up beyond two days).
    let start = local.with_second(0)?.with_nanosecond(0)?;
    // Checked: at the edge of chrono's range (a typed `+262142-12-31`) the
    // walk would overflow, and that must be "no such time", not a panic.
    (1..=2 * 24 * 60).find_map(|i| {
        tz.from_local_datetime(&start.checked_add_signed(Duration::minutes(i))?)
            .earliest()
            .map(|dt| Resolved::Gap(dt.with_timezone(&Utc)))
    })
}

/// The instant a wall-clock time means in `tz`: the earlier one when it
/// happens twice, the end of the gap when it does not exist.
pub fn wall_clock_instant(tz: Tz, local: NaiveDateTime) -> Option<DateTime<Utc>> {
    resolve(tz, local).map(|r| match r {
        Resolved::Real(at) | Resolved::Gap(at) => at,
    })
}

/// Iterator returned by [`Crontab::occurrences_after`].
pub struct Occurrences<'a> {
    local_times: LocalTimes<'a>,
    tz: Tz,
    after: DateTime<Utc>,
    peeked: Option<(NaiveDateTime, Resolved)>,
    last_at: Option<DateTime<Utc>>,
}

impl Occurrences<'_> {
    fn pull(&mut self) -> Option<(NaiveDateTime, Resolved)> {
        if let Some(p) = self.peeked.take() {
            return Some(p);
        }
        loop {
            let local = self.local_times.next()?;
            if let Some(r) = resolve(self.tz, local) {
                return Some((local, r));
            }
        }
    }

    fn peek(&mut self) -> Option<(NaiveDateTime, Resolved)> {
        if self.peeked.is_none() {
            self.peeked = self.pull();
        }
        self.peeked
    }
}

impl Iterator for Occurrences<'_> {
    type Item = Occurrence;

    fn next(&mut self) -> Option<Occurrence> {
        loop {
            let (local, resolved) = self.pull()?;
            let occ = match resolved {
                Resolved::Real(at) => Occurrence { local, at },
                Resolved::Gap(gap_end) => {
                    // Collapse every scheduled time in this gap into one
                    // firing; a real scheduled time at the gap end wins.
                    let mut identity = local;
                    while let Some((next_local, next)) = self.peek() {
                        match next {
                            Resolved::Gap(g) if g == gap_end => {
                                self.peeked = None;
                            }
                            Resolved::Real(at) if at == gap_end => {
                                self.peeked = None;
                                identity = next_local;
                                break;
                            }
                            _ => break,
                        }
                    }
                    Occurrence {
                        local: identity,
                        at: gap_end,
                    }
                }
            };
            // Defensive: the mapping is monotone, but never emit a firing
            // that is not strictly later than the previous one.
            if self.last_at.is_some_and(|last| occ.at <= last) {
                continue;
            }
            self.last_at = Some(occ.at);
            if occ.at > self.after {
                return Some(occ);
            }
        }
    }
}
