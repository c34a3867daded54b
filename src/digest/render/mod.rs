//! The digest's renderers, all from one [`Digest`]: Slack Block Kit
//! (`blocks`), Markdown, self-contained HTML with SVG charts, JSON, CSV of
//! the section tables, and a PNG chart for Slack (`chart`). Pure: text in
//! memory, no I/O.

pub mod blocks;
pub mod csv;
pub mod markdown;

use super::model::*;

/// The output formats of `fieldnotes digest --format`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    Markdown,
    Json,
    Html,
    Csv,
}

impl Format {
    pub fn parse(s: &str) -> Option<Format> {
        Some(match s {
            "markdown" | "md" => Format::Markdown,
            "json" => Format::Json,
            "html" => Format::Html,
            "csv" => Format::Csv,
            _ => return None,
        })
    }

    pub fn extension(self) -> &'static str {
        match self {
            Format::Markdown => "md",
            Format::Json => "json",
            Format::Html => "html",
            Format::Csv => "csv",
        }
    }
}

/// Renders `d` as `format`.
pub fn render(d: &Digest, format: Format) -> String {
    match format {
        Format::Markdown => markdown::render(d),
        Format::Json => to_json(d),
        Format::Html => super::html::render(d),
        Format::Csv => csv::render(d),
    }
}

pub fn to_json(d: &Digest) -> String {
    let mut s = serde_json::to_string_pretty(d).expect("the digest model serialises");
    s.push('\n');
    s
}

/// "this week", "last month", "the period before".
pub(crate) fn this_period(d: &Digest) -> &'static str {
    match d.period.kind.as_str() {
        "week" => "this week",
        "month" => "this month",
        _ => "this period",
    }
}

pub(crate) fn last_period(d: &Digest) -> &'static str {
    match d.period.kind.as_str() {
        "week" => "last week",
        "month" => "last month",
        _ => "the period before",
    }
}

/// A count as a whole number, anything else to one decimal.
pub(crate) fn num(x: f64) -> String {
    if x.fract() == 0.0 && x.abs() < 1e15 {
        format!("{}", x as i64)
    } else {
        format!("{x:.1}")
    }
}

/// "+3", "−2" or "±0".
pub(crate) fn signed(x: f64) -> String {
    if x > 0.0 {
        format!("+{}", num(x))
    } else if x < 0.0 {
        format!("−{}", num(-x))
    } else {
        "±0".into()
    }
}

pub(crate) fn pct(r: Option<f64>) -> String {
    r.map(|r| format!("{:.0}%", r * 100.0))
        .unwrap_or_else(|| "n/a".into())
}

/// The change in response rate in percentage points.
pub(crate) fn points(now: Option<f64>, before: Option<f64>) -> String {
    match (now, before) {
        (Some(a), Some(b)) => {
            let d = ((a - b) * 100.0).round();
            if d == 0.0 {
                "±0 pts".into()
            } else {
                format!("{} pts", signed(d))
            }
        }
        _ => "".into(),
    }
}

pub(crate) fn direction_word(d: Direction) -> &'static str {
    match d {
        Direction::New => "New",
        Direction::Rising => "Rising",
        Direction::Falling => "Falling",
    }
}

/// "3.6× the usual rate, p = 0.023, q = 0.046", or for a new item "none
/// in the 8 weeks before".
pub(crate) fn test_line(d: &Digest, t: &TrendItem) -> String {
    let mut parts = Vec::new();
    match t.ratio {
        Some(r) => parts.push(format!("{r:.1}× the usual rate")),
        None => parts.push(format!(
            "none in the {} {}s before",
            d.period.baseline_periods,
            period_word(d)
        )),
    }
    let prob = |name: &str, x: f64| {
        if x < 0.001 {
            format!("{name} < 0.001")
        } else {
            format!("{name} = {x:.3}")
        }
    };
    if let Some(p) = t.p {
        parts.push(prob("p", p));
    }
    if let Some(q) = t.q {
        parts.push(prob("q", q));
    }
    parts.join(", ")
}

/// A figure's first `max` evidence ids, each as `link` makes it, and how
/// many of its notes are left unnamed.
pub(crate) fn evidence_links(
    e: &Evidence,
    max: usize,
    link: impl Fn(i64) -> String,
) -> (Vec<String>, u64) {
    let shown: Vec<String> = e.note_ids.iter().take(max).map(|id| link(*id)).collect();
    let more = e.count.saturating_sub(shown.len() as u64);
    (shown, more)
}

/// "1 mention", "3 mentions".
pub(crate) fn count(n: u64, one: &str, many: &str) -> String {
    format!("{n} {}", if n == 1 { one } else { many })
}

/// "week", "month" or "period".
pub(crate) fn period_word(d: &Digest) -> &'static str {
    match d.period.kind.as_str() {
        "week" => "week",
        "month" => "month",
        _ => "period",
    }
}

/// Who said it, as the digest's attribution allows.
pub(crate) fn who(q: &Quote) -> String {
    match &q.rep {
        Some(r) => r.clone(),
        None => "a rep".into(),
    }
}

/// What a marketer did, as a phrase: "is acting on it".
pub(crate) fn closure_verb(kind: &str) -> &'static str {
    match kind {
        "acting" => "is acting on it",
        "thanks" => "said thanks",
        "ask" => "asked a follow-up",
        _ => "responded",
    }
}

/// Participation against loop closures, as a sentence; `None` when
/// nobody shared last period.
pub(crate) fn heard_back_line(d: &Digest) -> Option<String> {
    let h = &d.participation.heard_back;
    if h.heard_back + h.not_heard == 0 {
        return None;
    }
    let share = |n: u64, of: u64| {
        if of == 0 {
            "n/a".to_string()
        } else {
            format!("{:.0}%", 100.0 * n as f64 / of as f64)
        }
    };
    let before = last_period(d);
    Some(format!(
        "Loop closures: of the reps who shared {before}, {} heard back from marketing and {} of them ({}) shared again {}; of the {} who didn't hear back, {} ({}) shared again.",
        h.heard_back,
        h.heard_back_shared,
        share(h.heard_back_shared, h.heard_back),
        this_period(d),
        h.not_heard,
        h.not_heard_shared,
        share(h.not_heard_shared, h.not_heard),
    ))
}

/// The sections with something to show, in the configured order; the
/// renderers say "nothing this week" for the others in their own way.
pub(crate) fn has_content(d: &Digest, s: SectionKind) -> bool {
    match s {
        SectionKind::Participation => true,
        SectionKind::YouSaidWeDid => !d.you_said_we_did.is_empty(),
        SectionKind::Initiatives => !d.initiatives.is_empty(),
        SectionKind::Trends => !d.trends.is_empty(),
        SectionKind::Competitors => !d.competitors.is_empty(),
        SectionKind::Objections => !d.objections.is_empty(),
        SectionKind::Funnel => !d.funnel.is_empty(),
        SectionKind::Assets => !d.assets.is_empty(),
        SectionKind::LeadQuality => !d.lead_quality.is_empty(),
        SectionKind::Committee => !d.committee.is_empty(),
        SectionKind::Ideas => !d.ideas.is_empty(),
        SectionKind::MarketShifts => !d.market_shifts.is_empty(),
        SectionKind::Quotes => !d.quotes.is_empty(),
    }
}

/// What a section says when it has nothing.
pub(crate) fn empty_line(d: &Digest, s: SectionKind) -> String {
    let when = this_period(d);
    match s {
        SectionKind::Participation => String::new(),
        SectionKind::YouSaidWeDid => format!(
            "Marketing didn't act on, thank or ask about a note {when}: the buttons under each quote and figure in Slack do that, and the rep hears back."
        ),
        SectionKind::Initiatives => format!(
            "No initiative ran {when}: register one as [[initiative]] in the config or with `/fieldnotes initiative add`, and the check-ins ask reps how it went."
        ),
        SectionKind::Trends => format!(
            "Nothing rose, fell or appeared beyond chance {when}: every tag is within what the last {} {}s predict.",
            d.period.baseline_periods,
            d.period.kind.replace("days", "period")
        ),
        SectionKind::Competitors => format!("No competitor came up {when}."),
        SectionKind::Objections => format!("No objection was noted {when}."),
        SectionKind::Funnel => format!("No note named a funnel stage {when}."),
        SectionKind::Assets => format!("No rep rated a marketing asset {when}."),
        SectionKind::LeadQuality => format!("No rep rated lead quality {when}."),
        SectionKind::Committee => format!("No note named a buyer persona {when}."),
        SectionKind::Ideas => format!("No ideas for marketing {when}."),
        SectionKind::MarketShifts => format!("No market shifts noted {when}."),
        SectionKind::Quotes => format!("No notes long enough to quote {when}."),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbers() {
        assert_eq!(num(3.0), "3");
        assert_eq!(num(3.25), "3.2");
        assert_eq!(signed(2.0), "+2");
        assert_eq!(signed(-0.5), "−0.5");
        assert_eq!(signed(0.0), "±0");
        assert_eq!(points(Some(0.75), Some(0.5)), "+25 pts");
        assert_eq!(pct(None), "n/a");
    }
}
