//! The human text of a cadence for `check-config` and `schedule preview`,
//! e.g. "at 16:00 on Mon–Fri", read from the schedule's field sets.

use super::Crontab;

const DOW_TITLES: [&str; 7] = ["Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat"];
const MONTH_TITLES: [&str; 12] = [
    "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
];

/// The values each field selects, as the engine holds them.
struct Selected {
    minutes: Vec<u32>,
    hours: Vec<u32>,
    doms: Vec<u32>,
    months: Vec<u32>,
    /// Sunday = 0.
    dows: Vec<u32>,
    /// Both day fields are restricted, so either one picks a day.
    days_either: bool,
}

impl Selected {
    fn all_minutes(&self) -> bool {
        self.minutes.len() == 60
    }
    fn all_hours(&self) -> bool {
        self.hours.len() == 24
    }
    fn all_doms(&self) -> bool {
        self.doms.len() == 31
    }
    fn all_months(&self) -> bool {
        self.months.len() == 12
    }
    fn all_dows(&self) -> bool {
        self.dows.len() == 7
    }

    fn single_date(&self) -> bool {
        self.all_dows() && self.doms.len() == 1 && self.months.len() == 1
    }
}

struct TimeText {
    text: String,
    /// "at 09:00" reads better as "at 09:00 every day".
    needs_every_day: bool,
}

impl Crontab {
    /// A short human description for `check-config`, e.g. "at 16:00 on Mon–Fri".
    /// Best effort: unusual combinations fall back to quoting the expression.
    pub fn describe(&self) -> String {
        let s = Selected {
            minutes: self.engine.minutes(),
            hours: self.engine.hours(),
            doms: self.engine.doms(),
            months: self.engine.months(),
            dows: self.engine.dows(),
            days_either: self.engine.days_either(),
        };
        let Some(time) = describe_time(&s) else {
            return format!("on crontab schedule \"{}\"", self.expr);
        };
        let mut out = time.text;
        match describe_days(&s) {
            Some(days) => {
                out.push(' ');
                out.push_str(&days);
            }
            None if time.needs_every_day => out.push_str(" every day"),
            None => {}
        }
        if !s.all_months() && !s.single_date() {
            out.push_str(" in ");
            out.push_str(&join_runs(
                &s.months,
                |m| MONTH_TITLES[m as usize - 1].to_string(),
                |a, b| b == a + 1,
            ));
        }
        out
    }
}

fn describe_time(s: &Selected) -> Option<TimeText> {
    let (mins, hours) = (&s.minutes, &s.hours);
    let periodic = |text: String| {
        Some(TimeText {
            text,
            needs_every_day: false,
        })
    };
    // Regular step from :00 that divides the hour evenly.
    let step = (mins.len() > 1 && mins[0] == 0 && 60 % mins.len() == 0)
        .then(|| 60 / mins.len() as u32)
        .filter(|s| mins.iter().enumerate().all(|(i, m)| *m == i as u32 * s));
    let contiguous_hours = hours.windows(2).all(|w| w[1] == w[0] + 1);
    if s.all_minutes() && s.all_hours() {
        return periodic("every minute".into());
    }
    if s.all_hours() {
        if let Some(s) = step {
            return periodic(format!("every {s} minutes"));
        }
        if *mins == [0] {
            return periodic("every hour".into());
        }
        if mins.len() <= 4 {
            let list: Vec<String> = mins.iter().map(|m| format!(":{m:02}")).collect();
            return periodic(format!("every hour at {}", join_words(&list)));
        }
        return None;
    }
    if mins.len() * hours.len() <= 6 {
        let list: Vec<String> = hours
            .iter()
            .flat_map(|h| mins.iter().map(move |m| format!("{h:02}:{m:02}")))
            .collect();
        return Some(TimeText {
            text: format!("at {}", join_words(&list)),
            needs_every_day: true,
        });
    }
    if contiguous_hours {
        let (first, last) = (hours[0], hours[hours.len() - 1]);
        let last_min = mins[mins.len() - 1];
        let what = if s.all_minutes() {
            "every minute".to_string()
        } else if let Some(s) = step {
            format!("every {s} minutes")
        } else if *mins == [0] {
            "every hour".to_string()
        } else {
            return None;
        };
        return periodic(format!(
            "{what} from {first:02}:{:02} to {last:02}:{last_min:02}",
            mins[0]
        ));
    }
    None
}

fn describe_days(s: &Selected) -> Option<String> {
    let dom_text = || {
        let d = join_runs(&s.doms, |v| v.to_string(), |a, b| b == a + 1);
        if s.doms.len() == 1 {
            format!("day {d} of the month")
        } else {
            format!("days {d} of the month")
        }
    };
    let dow_text = || {
        // Monday-first order, Sunday = 7.
        let mut d: Vec<u32> = s
            .dows
            .iter()
            .map(|b| if *b == 0 { 7 } else { *b })
            .collect();
        d.sort_unstable();
        join_runs(
            &d,
            |v| DOW_TITLES[(v % 7) as usize].to_string(),
            |a, b| b == a + 1,
        )
    };
    if s.single_date() {
        let day = s.doms.first()?;
        let month = s.months.first()?;
        return Some(format!("on {day} {}", MONTH_TITLES[*month as usize - 1]));
    }
    match (s.all_doms(), s.all_dows()) {
        (true, true) => None,
        (true, false) => Some(format!("on {}", dow_text())),
        (false, true) => Some(format!("on {}", dom_text())),
        (false, false) if s.days_either => Some(format!("on {} and on {}", dom_text(), dow_text())),
        (false, false) => Some(format!("on {} when it is {}", dom_text(), dow_text())),
    }
}

fn join_words(items: &[String]) -> String {
    match items {
        [] => String::new(),
        [one] => one.clone(),
        [rest @ .., last] => format!("{} and {last}", rest.join(", ")),
    }
}

/// Joins sorted values, collapsing runs of 3 or more into "a–b".
fn join_runs(
    values: &[u32],
    label: impl Fn(u32) -> String,
    next: impl Fn(u32, u32) -> bool,
) -> String {
    let mut parts = Vec::new();
    let mut i = 0;
    while i < values.len() {
        let mut j = i;
        while j + 1 < values.len() && next(values[j], values[j + 1]) {
            j += 1;
        }
        if j >= i + 2 {
            parts.push(format!("{}–{}", label(values[i]), label(values[j])));
        } else {
            parts.extend(values[i..=j].iter().map(|v| label(*v)));
        }
        i = j + 1;
    }
    join_words(&parts)
}
