//! The digest as one self-contained HTML5 file: no external CSS, script,
//! font or image, so it can be mailed, attached or opened offline. Reads
//! on a phone (viewport meta, fluid layout, tables that scroll sideways,
//! the system font stack) and prints cleanly. Same sections, order and
//! wording as the Markdown rendering (the helpers in `digest::render`),
//! with `chart`'s SVGs inlined and every figure linked to its notes.
//!
//! Templating: `maud`, whose `html!` macro escapes every interpolated
//! string by default (text and attribute values alike), so quotes from
//! reps cannot inject markup; the only unescaped inserts are our own CSS
//! and the SVG drawn by `chart` (plotters escapes the text it draws,
//! `chart` escapes the labels it adds). Compile-time checked, no template
//! files to ship. Alternatives weighed: `askama` (template files, escaping
//! also on by default) and hand-written `format!` with an escaping helper
//! (easy to forget one call).

use super::chart;
use super::model::*;
use crate::digest::render::{
    closure_verb, count, direction_word, empty_line, has_content, heard_back_line, last_period,
    num, pct, points, signed, test_line, this_period, who,
};
use maud::{html, Markup, PreEscaped, DOCTYPE};

/// Evidence ids shown inline before "and N more" (as in the Markdown).
const INLINE_IDS: usize = 8;

const CSS: &str = r#"
:root {
  color-scheme: light;
  --fg: #1d1d1f; --muted: #5b5f66; --line: #d9dce1; --soft: #f4f5f7; --accent: #0a5fb4;
}
* { box-sizing: border-box }
html { -webkit-text-size-adjust: 100%; text-size-adjust: 100% }
body {
  margin: 0; background: #fff; color: var(--fg);
  font: 16px/1.5 system-ui, -apple-system, "Segoe UI", Roboto, "Helvetica Neue", Arial,
    "Noto Sans", sans-serif;
}
main { max-width: 52rem; margin: 0 auto; padding: 1rem 1rem 3rem }
header { border-bottom: 2px solid var(--fg); padding-bottom: .75rem }
h1 { font-size: 1.55rem; line-height: 1.2; margin: .25rem 0 .35rem }
h2 { font-size: 1.2rem; line-height: 1.3; margin: 2.25rem 0 .75rem }
h3 { font-size: 1rem; margin: 0 0 .3rem }
p { margin: .4rem 0 }
.period { font-size: 1.1rem; font-weight: 600; margin: 0 }
.meta, .note, .evidence, figcaption { color: var(--muted); font-size: .875rem }
.note { font-style: italic }
a { color: var(--accent); text-underline-offset: 2px }
.scroll { overflow-x: auto; -webkit-overflow-scrolling: touch; margin: .5rem 0 1rem }
table { border-collapse: collapse; width: 100%; font-size: .9375rem }
th, td {
  padding: .45rem .6rem; border-bottom: 1px solid var(--line); text-align: left;
  vertical-align: top;
}
thead th {
  color: var(--muted); font-weight: 600; border-bottom-width: 2px; vertical-align: bottom;
}
tbody th { font-weight: 600; min-width: 6.5rem }
.n { text-align: right; font-variant-numeric: tabular-nums }
td.n { white-space: nowrap }
figure { margin: 1rem 0 }
figure.chart { margin: 1rem 0 1.25rem }
svg.chart { display: block; width: 100%; max-width: 100%; height: auto }
figure.chart svg.chart { max-width: 30rem }
ul.cards {
  list-style: none; margin: 0; padding: 0; display: grid; gap: .9rem;
  grid-template-columns: repeat(auto-fill, minmax(17rem, 1fr));
}
.card { border: 1px solid var(--line); border-radius: .5rem; padding: .75rem .85rem }
.card svg.chart { margin: .4rem 0 }
.badge {
  display: inline-block; font-size: .72rem; font-weight: 700; letter-spacing: .04em;
  text-transform: uppercase; padding: .1rem .4rem; border-radius: .25rem;
  margin-right: .4rem; vertical-align: .1em;
}
.b-rising { background: #fbe3d3; color: #7a2c00 }
.b-new { background: #d5efe4; color: #0b5137 }
.b-falling { background: #dde8f6; color: #1b4a80 }
.item { margin: 1rem 0 1.25rem }
blockquote {
  margin: 0; padding: .55rem .9rem; border-left: 4px solid var(--accent);
  background: var(--soft); white-space: pre-line; overflow-wrap: anywhere;
}
blockquote p { margin: 0 }
figure.quote figcaption { margin-top: .3rem }
ul.reasons { margin: .3rem 0; padding-left: 1.2rem }
ul.plain { padding-left: 1.2rem }
.empty { color: var(--muted) }
.sr {
  position: absolute; width: 1px; height: 1px; overflow: hidden; clip: rect(0 0 0 0);
  white-space: nowrap;
}
footer { margin-top: 3rem; border-top: 1px solid var(--line); padding-top: .75rem }
@media (max-width: 30rem) {
  body { font-size: 15px }
  main { padding: .75rem .75rem 2rem }
  h1 { font-size: 1.35rem }
  th, td { padding: .4rem .45rem }
}
@media print {
  body { font-size: 10.5pt }
  main { max-width: none; padding: 0 }
  .scroll { overflow: visible }
  a { color: inherit; text-decoration: none }
  h2, h3 { break-after: avoid }
  tr, figure, .card, .item { break-inside: avoid }
  ul.cards { grid-template-columns: 1fr 1fr }
}
"#;

/// The whole report.
pub fn render(d: &Digest) -> String {
    let body = html! {
                    (header(d))
                    @if d.is_empty() {
                        p.empty { "No notes " (this_period(d)) "." }
                    } @else {
                        @for &s in &d.sections {
                            section id=(s.as_str()) aria-labelledby={ "h-" (s.as_str()) } {
                                h2 id={ "h-" (s.as_str()) } { (s.title()) }
                                @if has_content(d, s) {
                                    (section(d, s))
                                } @else {
                                    p.empty { (empty_line(d, s)) }
                                }
                            }
                        }
                    }
                    footer.meta {
                        p {
                            "Every figure links to the notes behind it: #id opens the note in \
                             Slack where it has a link. "
                            "Made by Fieldnotes from the reps' field notes."
                        }
                    }
    };
    page(&format!("{}: {}", d.title, d.period.label), body)
}

/// A self-contained page around `body`: the stylesheet inline, readable
/// on a phone. The digest's report and an initiative's debrief share it.
pub(crate) fn page(title: &str, body: Markup) -> String {
    html! {
        (DOCTYPE)
        html lang="en" {
            head {
                meta charset="utf-8";
                meta name="viewport" content="width=device-width, initial-scale=1";
                meta name="generator" content="Fieldnotes";
                title { (title) }
                style { (PreEscaped(CSS)) }
            }
            body { main { (body) } }
        }
    }
    .into_string()
}

fn header(d: &Digest) -> Markup {
    let attribution = match d.attribution {
        Attribution::Named => "Quotes name the rep who shared them.",
        Attribution::Anonymous => "Quotes are anonymous: they do not say which rep shared them.",
    };
    html! {
        header {
            h1 { (d.title) }
            p.period { (d.period.label) }
            p.meta {
                time datetime=(d.period.starts) { (d.period.starts) }
                " to "
                time datetime=(d.period.ends) { (d.period.ends) }
                " (" (d.period.timezone) ") · compared with " (last_period(d))
                " and the " (d.period.baseline_periods) " "
                (d.period.kind.replace("days", "period")) "s before"
            }
            p.meta {
                (attribution)
                @if d.redacted { " Emails and phone numbers in quotes are masked." }
            }
        }
    }
}

fn section(d: &Digest, s: SectionKind) -> Markup {
    match s {
        SectionKind::Participation => participation(d),
        SectionKind::YouSaidWeDid => you_said_we_did(d),
        SectionKind::Initiatives => initiatives(d),
        SectionKind::Trends => trends(d),
        SectionKind::Competitors => mentions(d, &d.competitors),
        SectionKind::Objections => mentions(d, &d.objections),
        SectionKind::Committee => mentions(d, &d.committee),
        SectionKind::Funnel => funnel(d),
        SectionKind::Assets => assets(d),
        SectionKind::LeadQuality => lead_quality(d),
        SectionKind::Ideas => quotes(d, &d.ideas),
        SectionKind::MarketShifts => quotes(d, &d.market_shifts),
        SectionKind::Quotes => quotes(d, &d.quotes),
    }
}

fn participation(d: &Digest) -> Markup {
    let p = &d.participation;
    let rows = [("Reps sharing", &p.reps_sharing), ("Notes", &p.notes)];
    let sources: Vec<String> = p
        .by_source
        .iter()
        .map(|(k, v)| format!("{k} {v}"))
        .collect();
    html! {
        div.scroll {
            table {
                thead {
                    tr {
                        th scope="col" { span.sr { "Figure" } }
                        th.n scope="col" { (this_period(d)) }
                        th.n scope="col" { (last_period(d)) }
                        th.n scope="col" { "change" }
                    }
                }
                tbody {
                    tr {
                        th scope="row" { "Prompts sent" }
                        td.n { (num(p.prompts_sent.now)) }
                        td.n { (num(p.prompts_sent.previous)) }
                        td.n { (signed(p.prompts_sent.change)) }
                    }
                    tr {
                        th scope="row" { "Prompts answered" }
                        td.n { (num(p.prompts_answered.now)) " (" (pct(p.response_rate)) ")" }
                        td.n {
                            (num(p.prompts_answered.previous))
                            " (" (pct(p.previous_response_rate)) ")"
                        }
                        td.n { (points(p.response_rate, p.previous_response_rate)) }
                    }
                    @for (label, f) in rows {
                        tr {
                            th scope="row" { (label) }
                            td.n { (num(f.now)) }
                            td.n { (num(f.previous)) }
                            td.n { (signed(f.change)) }
                        }
                    }
                }
            }
        }
        @if !sources.is_empty() {
            p { "Notes by how they were shared: " (sources.join(", ")) "." }
        }
        @if let Some(h) = heard_back_line(d) {
            p { (h) }
        }
        figure.chart {
            (PreEscaped(chart::participation_svg(d)))
        }
        (evidence_line(d, &p.evidence))
    }
}

/// Each initiative: its verdict so far, counts, rated weeks and a quote
/// for and against.
fn initiatives(d: &Digest) -> Markup {
    use crate::digest::debrief::render as ir;
    html! {
        @for i in &d.initiatives {
            div.closure {
                p { strong { (ir::headline(i)) } ": " (i.verdict.text) }
                p { (ir::counts(&i.total)) " — " (ir::share(&i.total)) }
                ul { @for p in i.periods.iter().filter(|p| p.tally.all() > 0) { li { (ir::week_line(p)) } } }
                @for q in i.quotes_for.iter().chain(&i.quotes_against).take(2) {
                    blockquote { p { (q.text) } footer { "— " (ir::rating_word(q.rating)) " · note #" (q.note_id) } }
                }
            }
        }
    }
}

/// What marketing did with the reps' notes, each with the note.
fn you_said_we_did(d: &Digest) -> Markup {
    html! {
        @for c in &d.you_said_we_did {
            div.closure {
                p {
                    strong { (c.marketer) } " " (closure_verb(&c.kind)) " (" (c.date) ")"
                    @if !c.text.is_empty() { ": “" (c.text) "”" }
                    @if c.follow_ups > 0 { "; " (count(c.follow_ups, "answer", "answers")) " from the rep" }
                }
                (quote(d, &c.note))
            }
        }
    }
}

fn trends(d: &Digest) -> Markup {
    html! {
        ul.cards {
            @for t in &d.trends {
                li.card {
                    h3 {
                        span class={ "badge b-" (direction_class(t.direction)) } {
                            (direction_word(t.direction))
                        }
                        (t.label)
                    }
                    p { (t.summary) }
                    p.meta { (test_line(d, t)) }
                    (PreEscaped(chart::trend_svg(d, t)))
                    (evidence_line(d, &t.evidence))
                }
            }
        }
        p.note {
            "Rising or falling means an exact Poisson test across the "
            (d.period.baseline_periods + 1)
            " periods, Benjamini–Hochberg adjusted (q ≤ 0.05), at least 2× the usual rate, and at \
             least 3 mentions from 2 reps. New means the same support with no mentions before."
        }
    }
}

fn direction_class(d: Direction) -> &'static str {
    match d {
        Direction::New => "new",
        Direction::Rising => "rising",
        Direction::Falling => "falling",
    }
}

/// Competitors, objections, buying committee: a table, then each with its
/// notes and best quote.
fn mentions(d: &Digest, rows: &[Mention]) -> Markup {
    html! {
        div.scroll {
            table {
                thead {
                    tr {
                        th scope="col" { span.sr { "Name" } }
                        th.n scope="col" { "mentions" }
                        th.n scope="col" { (last_period(d)) }
                        th.n scope="col" { "reps" }
                        th.n scope="col" { "accounts" }
                    }
                }
                tbody {
                    @for m in rows {
                        tr {
                            th scope="row" { (m.label) }
                            td.n { (m.mentions) }
                            td.n { (m.previous) }
                            td.n { (m.reps) }
                            td.n { (m.accounts) }
                        }
                    }
                }
            }
        }
        @for m in rows {
            div.item {
                h3 { (m.label) }
                (evidence_line(d, &m.evidence))
                @if let Some(q) = &m.best_quote {
                    (quote(d, q))
                }
            }
        }
    }
}

fn funnel(d: &Digest) -> Markup {
    html! {
        div.scroll {
            table {
                thead {
                    tr {
                        th scope="col" { "stage" }
                        th.n scope="col" { "notes" }
                        th.n scope="col" { "reps" }
                        th scope="col" { "what stalls there" }
                    }
                }
                tbody {
                    @for f in &d.funnel {
                        tr {
                            th scope="row" { (f.label) }
                            td.n { (f.notes) }
                            td.n { (f.reps) }
                            td {
                                @if f.stalls.is_empty() {
                                    "no objection named"
                                } @else {
                                    @for (i, c) in f.stalls.iter().take(3).enumerate() {
                                        @if i > 0 { ", " }
                                        (c.label) " (" (c.count) ")"
                                    }
                                }
                            }
                        }
                    }
                }
            }
        }
        ul.plain {
            @for f in &d.funnel {
                li { (f.label) ": " (evidence(d, &f.evidence)) "." }
            }
        }
    }
}

fn assets(d: &Digest) -> Markup {
    html! {
        div.scroll {
            table {
                thead {
                    tr {
                        th scope="col" { "asset" }
                        th.n scope="col" { "worked" }
                        th.n scope="col" { "didn't" }
                        th.n scope="col" { "used, no verdict" }
                    }
                }
                tbody {
                    @for a in &d.assets {
                        tr {
                            th scope="row" { (a.label) }
                            td.n { (a.worked) }
                            td.n { (a.flopped) }
                            td.n { (a.used) }
                        }
                    }
                }
            }
        }
        figure.chart {
            (PreEscaped(chart::assets_svg(d)))
        }
        @for a in &d.assets {
            div.item {
                h3 { (a.label) }
                (evidence_line(d, &a.evidence))
                @if !a.reasons.is_empty() {
                    ul.reasons {
                        @for r in &a.reasons {
                            li {
                                strong { @if r.worked { "Worked:" } @else { "Didn't:" } }
                                " “" (r.text) "” (" (note_link(d, r.note_id)) ")"
                            }
                        }
                    }
                }
            }
        }
    }
}

fn lead_quality(d: &Digest) -> Markup {
    html! {
        div.scroll {
            table {
                thead {
                    tr {
                        th scope="col" { "lead source" }
                        th.n scope="col" { "average (1–5)" }
                        th.n scope="col" { "ratings" }
                        th.n scope="col" { (last_period(d)) }
                        th.n scope="col" { "trend" }
                    }
                }
                tbody {
                    @for l in &d.lead_quality {
                        tr {
                            th scope="row" { (l.label) }
                            td.n { (format!("{:.1}", l.average)) }
                            td.n { (l.ratings) }
                            td.n {
                                @match l.previous_average {
                                    Some(p) => { (format!("{p:.1}")) " (" (l.previous_ratings) ")" }
                                    None => "–",
                                }
                            }
                            td.n { (l.trend.map(signed).unwrap_or_else(|| "–".into())) }
                        }
                    }
                }
            }
        }
        ul.plain {
            @for l in &d.lead_quality {
                li { (l.label) ": " (evidence(d, &l.evidence)) "." }
            }
        }
    }
}

fn quotes(d: &Digest, qs: &[Quote]) -> Markup {
    html! {
        @for q in qs { (quote(d, q)) }
    }
}

/// A note in the rep's words, with who (as the attribution allows), the
/// account, the date and a link to the note.
fn quote(d: &Digest, q: &Quote) -> Markup {
    html! {
        figure.quote {
            blockquote { p { (q.text) } }
            figcaption {
                "— " (who(q))
                @if let Some(a) = &q.account { ", " (a) }
                ", " (q.date) " (" (note_link(d, q.note_id)) ")"
            }
        }
    }
}

fn evidence_line(d: &Digest, e: &Evidence) -> Markup {
    html! {
        @if !e.note_ids.is_empty() {
            p.evidence { "Evidence: " (evidence(d, e)) "." }
        }
    }
}

/// "notes #12, #15 and 3 more", each id linked to its note.
fn evidence(d: &Digest, e: &Evidence) -> Markup {
    let shown: Vec<i64> = e.note_ids.iter().take(INLINE_IDS).copied().collect();
    let more = e.count.saturating_sub(shown.len() as u64);
    let word = if e.count == 1 { "note" } else { "notes" };
    html! {
        @if !shown.is_empty() {
            (word) " "
            @for (i, id) in shown.iter().enumerate() {
                @if i > 0 { ", " }
                (note_link(d, *id))
            }
            @if more > 0 { " and " (more) " more" }
        }
    }
}

/// `#id`, linked to the note's permalink when it has one (web links only).
fn note_link(d: &Digest, id: i64) -> Markup {
    let url = d
        .notes
        .get(&id)
        .and_then(|n| n.permalink.as_deref())
        .filter(|u| u.starts_with("https://") || u.starts_with("http://"));
    html! {
        @match url {
            Some(u) => a href=(u) { "#" (id) },
            None => { "#" (id) },
        }
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use scraper::{ElementRef, Html, Selector};

    const SCRIPT_QUOTE: &str = "Their SE pasted <script>alert(1)</script> into our chat \
        widget & said \"see, it's unsafe\"; the CTO was not amused.";

    fn ev(count: u64, ids: &[i64]) -> Evidence {
        Evidence {
            count,
            note_ids: ids.to_vec(),
        }
    }

    fn permalink(id: i64) -> String {
        format!("https://acme-sales.slack.com/archives/C04FIELD/p17643{id:03}00120")
    }

    fn date(id: i64) -> String {
        format!("2026-11-{}", 23 + (id % 7))
    }

    fn q(id: i64, rep: &str, text: &str, account: Option<&str>) -> Quote {
        Quote {
            note_id: id,
            rep: Some(rep.to_string()),
            text: text.to_string(),
            tags: vec![],
            account: account.map(str::to_string),
            permalink: Some(permalink(id)),
            date: date(id),
        }
    }

    /// A trend item: mentions this period are the history's last value.
    fn trend(
        label: &str,
        direction: Direction,
        reps: u64,
        history: &[u64],
        ratio: Option<f64>,
        (p, q): (f64, f64),
        ids: &[i64],
    ) -> TrendItem {
        let (baseline, now) = history.split_at(history.len() - 1);
        let (sum, mentions) = (baseline.iter().sum::<u64>(), now[0]);
        let avg = sum as f64 / baseline.len() as f64;
        TrendItem {
            key: format!("tag:{}", label.to_lowercase().replace(' ', "-")),
            label: label.into(),
            direction,
            mentions,
            reps,
            baseline_mentions: sum,
            baseline_avg: avg,
            ratio,
            p: Some(p),
            q: Some(q),
            summary: if sum == 0 {
                format!("{mentions} mentions (none before), {reps} reps")
            } else {
                format!("{mentions} mentions (avg {avg:.1}/wk), {reps} reps")
            },
            history: history.to_vec(),
            evidence: ev(mentions, ids),
        }
    }

    /// Mentions: (now, before, reps, accounts).
    fn mention(label: &str, n: [u64; 4], quote: Option<Quote>, ids: &[i64]) -> Mention {
        Mention {
            tag: label.to_lowercase().replace(' ', "-"),
            label: label.into(),
            mentions: n[0],
            previous: n[1],
            reps: n[2],
            accounts: n[3],
            best_quote: quote,
            evidence: ev(n[0], ids),
        }
    }

    fn stage(
        label: &str,
        notes: u64,
        reps: u64,
        stalls: &[(&str, u64)],
        ids: &[i64],
    ) -> StageFriction {
        StageFriction {
            stage: format!("stage:{}", label.to_lowercase()),
            label: label.into(),
            notes,
            reps,
            stalls: stalls
                .iter()
                .map(|(l, c)| Count {
                    key: format!("objection:{}", l.to_lowercase().replace(' ', "-")),
                    label: l.to_string(),
                    count: *c,
                })
                .collect(),
            evidence: ev(notes, ids),
        }
    }

    /// An asset: (worked, didn't, used), reasons as (worked, text, note).
    fn asset(label: &str, n: [u64; 3], reasons: &[(bool, &str, i64)], ids: &[i64]) -> AssetRollup {
        AssetRollup {
            asset: format!("asset:{}", label.to_lowercase().replace(' ', "-")),
            label: label.into(),
            worked: n[0],
            flopped: n[1],
            used: n[2],
            reasons: reasons
                .iter()
                .map(|(worked, text, note_id)| Reason {
                    worked: *worked,
                    text: text.to_string(),
                    note_id: *note_id,
                })
                .collect(),
            evidence: ev(n.iter().sum(), ids),
        }
    }

    /// Lead quality: (ratings, average) now and before.
    fn lead(
        label: &str,
        now: (u64, f64),
        before: (u64, Option<f64>),
        ids: &[i64],
    ) -> LeadSourceQuality {
        LeadSourceQuality {
            source: format!("source:{}", label.to_lowercase().replace(' ', "-")),
            label: label.into(),
            ratings: now.0,
            average: now.1,
            previous_ratings: before.0,
            previous_average: before.1,
            trend: before.1.map(|b| ((now.1 - b) * 10.0).round() / 10.0),
            evidence: ev(now.0, ids),
        }
    }

    /// A realistic week: every section filled, a hostile quote, two notes
    /// without a permalink (#103, #117).
    pub(crate) fn sample() -> Digest {
        let notes = (101..=140)
            .map(|id| {
                let permalink = (id != 103 && id != 117).then(|| permalink(id));
                (
                    id,
                    NoteRef {
                        permalink,
                        date: date(id),
                    },
                )
            })
            .collect();
        let history = [(22, 7), (19, 6), (25, 8), (26, 8), (31, 9)]
            .into_iter()
            .enumerate()
            .map(|(i, (notes, reps))| PeriodPoint {
                period: format!("2026-W{}", 44 + i),
                label: format!("W{}", 44 + i),
                notes,
                reps,
            })
            .collect();
        let price = "Procurement said we're 30% above the other two bids and they won't even \
                     open the ROI deck.";
        let globex = "The Globex case study did the selling for me — the VP forwarded it to the \
                      CFO within the hour.";
        Digest {
            name: "weekly".into(),
            title: "Weekly field digest".into(),
            period: PeriodInfo {
                key: "2026-W48".into(),
                kind: "week".into(),
                label: "week 48, 23–29 Nov 2026".into(),
                starts: "2026-11-23".into(),
                ends: "2026-11-29".into(),
                timezone: "Europe/Berlin".into(),
                baseline_periods: 4,
                unit: "wk".into(),
            },
            attribution: Attribution::Named,
            redacted: true,
            sections: SectionKind::ALL.to_vec(),
            participation: Participation {
                prompts_sent: Figure::new(24.0, 22.0),
                prompts_answered: Figure::new(18.0, 15.0),
                response_rate: Some(0.75),
                previous_response_rate: Some(15.0 / 22.0),
                reps_sharing: Figure::new(9.0, 8.0),
                notes: Figure::new(31.0, 26.0),
                by_source: [("command", 4), ("form", 12), ("reply", 13), ("shortcut", 2)]
                    .into_iter()
                    .map(|(k, v)| (k.to_string(), v))
                    .collect(),
                history,
                evidence: ev(31, &(116..=140).rev().collect::<Vec<_>>()),
                heard_back: Default::default(),
            },
            you_said_we_did: vec![],
            initiatives: vec![],
            trends: vec![
                trend(
                    "Price too high",
                    Direction::Rising,
                    5,
                    &[2, 1, 2, 2, 9],
                    Some(4.6),
                    (0.0004, 0.006),
                    &[140, 138, 131, 127, 122, 119, 117, 112, 108],
                ),
                trend(
                    "Northwind Analytics",
                    Direction::New,
                    3,
                    &[0, 0, 0, 0, 5],
                    None,
                    (0.003, 0.021),
                    &[139, 133, 126, 118, 103],
                ),
                trend(
                    "ROI calculator flopped",
                    Direction::Rising,
                    3,
                    &[0, 1, 0, 1, 4],
                    Some(7.2),
                    (0.004, 0.024),
                    &[137, 129, 121, 111],
                ),
                trend(
                    "Security review",
                    Direction::Falling,
                    1,
                    &[3, 4, 2, 3, 1],
                    Some(0.2),
                    (0.006, 0.03),
                    &[124],
                ),
            ],
            competitors: vec![
                mention(
                    "Contoso BI",
                    [7, 6, 4, 6],
                    Some(q(
                        136,
                        "Dana Whitfield",
                        SCRIPT_QUOTE,
                        Some("Globex & Sons"),
                    )),
                    &[136, 132, 128, 120, 116, 113, 105],
                ),
                mention(
                    "Northwind Analytics",
                    [5, 0, 3, 4],
                    Some(q(
                        139,
                        "Priya Raman",
                        "Northwind offered them a free year if they sign before Christmas. \
                         Hard to compete with free.",
                        Some("Initech"),
                    )),
                    &[139, 133, 126, 118, 103],
                ),
            ],
            objections: vec![
                mention(
                    "Price too high",
                    [9, 2, 5, 7],
                    Some(q(140, "Marco Silva", price, Some("Umbrella Health"))),
                    &[140, 138, 131, 127, 122, 119, 117, 112, 108],
                ),
                mention(
                    "Integration effort",
                    [4, 3, 3, 3],
                    None,
                    &[134, 125, 115, 107],
                ),
            ],
            funnel: vec![
                stage(
                    "Discovery",
                    8,
                    5,
                    &[("Price too high", 3), ("No budget this year", 2)],
                    &[138, 131, 129, 121, 114, 110, 106, 102],
                ),
                stage(
                    "Demo",
                    10,
                    6,
                    &[
                        ("Integration effort", 3),
                        ("Price too high", 2),
                        ("Security review", 1),
                        ("Timing", 1),
                    ],
                    &[137, 134, 130, 125, 123, 120, 115, 111],
                ),
                stage("Negotiation", 5, 3, &[], &[140, 135, 127, 119, 104]),
            ],
            assets: vec![
                asset(
                    "ROI calculator",
                    [1, 4, 2],
                    &[
                        (
                            false,
                            "Finance didn't trust the default assumptions, asked where 40% \
                             came from",
                            137,
                        ),
                        (false, "Too many inputs for a first call", 129),
                        (
                            true,
                            "Worked once we filled it in with their numbers live",
                            117,
                        ),
                    ],
                    &[137, 129, 121, 117, 111, 109, 101],
                ),
                asset(
                    "Case study: Globex rollout",
                    [5, 0, 1],
                    &[(
                        true,
                        "Same industry, same size: the VP forwarded it to the CFO",
                        132,
                    )],
                    &[132, 128, 124, 118, 113, 106],
                ),
                asset("Security whitepaper", [2, 1, 0], &[], &[130, 122, 110]),
                asset("Webinar replay", [0, 0, 3], &[], &[126, 116, 105]),
            ],
            lead_quality: vec![
                lead(
                    "Partner referrals",
                    (5, 4.4),
                    (7, Some(4.1)),
                    &[135, 128, 119, 112, 104],
                ),
                lead(
                    "Webinar leads",
                    (12, 3.2),
                    (10, Some(3.8)),
                    &[139, 136, 133, 131, 127, 125, 121, 118, 114, 109],
                ),
                lead(
                    "Paid search",
                    (9, 2.1),
                    (0, None),
                    &[138, 134, 129, 124, 120, 115, 111, 107, 102],
                ),
                lead("(none)", (2, 3.0), (1, Some(3.0)), &[123, 103]),
            ],
            committee: vec![
                mention(
                    "CFO",
                    [6, 2, 4, 5],
                    Some(q(
                        131,
                        "Marco Silva",
                        "The CFO joined the second call uninvited and only asked about payback \
                         period.",
                        Some("Umbrella Health"),
                    )),
                    &[131, 127, 122, 114, 108, 103],
                ),
                mention("IT security", [4, 5, 3, 4], None, &[130, 124, 116, 110]),
            ],
            ideas: vec![
                q(
                    133,
                    "Priya Raman",
                    "A one-page comparison with Northwind would save us a call per deal.\n\
                     Even a rough one.",
                    None,
                ),
                q(
                    120,
                    "Jonas Berg",
                    "Could marketing record a 3-minute security walkthrough? IT teams keep \
                     asking for the same thing.",
                    Some("Hooli"),
                ),
            ],
            market_shifts: vec![q(
                127,
                "Dana Whitfield",
                "Three prospects this week said budgets moved from 'innovation' to 'cost \
                 savings' for 2027.",
                None,
            )],
            quotes: vec![
                q(136, "Dana Whitfield", SCRIPT_QUOTE, Some("Globex & Sons")),
                q(140, "Marco Silva", price, Some("Umbrella Health")),
                q(132, "Jonas Berg", globex, Some("Hooli")),
                q(
                    103,
                    "Sam Okafor",
                    "Customer wants SSO before they'll even pilot. Call me at the usual number.",
                    Some("Vandelay Industries"),
                ),
            ],
            notes,
        }
    }

    /// The same week with quotes that do not say who.
    pub(crate) fn anonymous() -> Digest {
        let mut d = sample();
        d.attribution = Attribution::Anonymous;
        let strip = |q: &mut Quote| q.rep = None;
        d.ideas.iter_mut().for_each(strip);
        d.market_shifts.iter_mut().for_each(strip);
        d.quotes.iter_mut().for_each(strip);
        for m in d
            .competitors
            .iter_mut()
            .chain(&mut d.objections)
            .chain(&mut d.committee)
        {
            if let Some(q) = &mut m.best_quote {
                q.rep = None;
            }
        }
        d
    }

    /// A week with no notes at all.
    pub(crate) fn empty() -> Digest {
        let mut d = sample();
        d.participation.notes = Figure::new(0.0, 26.0);
        d.participation.reps_sharing = Figure::new(0.0, 8.0);
        d.participation.prompts_answered = Figure::new(0.0, 15.0);
        d.participation.response_rate = Some(0.0);
        d.participation.by_source.clear();
        d.participation.evidence = Evidence::default();
        if let Some(last) = d.participation.history.last_mut() {
            last.notes = 0;
            last.reps = 0;
        }
        d.trends.clear();
        d.competitors.clear();
        d.objections.clear();
        d.funnel.clear();
        d.assets.clear();
        d.lead_quality.clear();
        d.committee.clear();
        d.ideas.clear();
        d.market_shifts.clear();
        d.quotes.clear();
        d.notes.clear();
        d
    }

    /// One period only, empty histories, zeros, huge numbers, long labels.
    pub(crate) fn odd() -> Digest {
        let mut d = sample();
        let long = "An extremely long label that a taxonomy editor typed without a thought \
                    for charts "
            .repeat(3);
        d.title = long.clone();
        d.participation.history.truncate(1);
        d.participation.history[0].label = long.clone();
        d.participation.history[0].notes = u64::MAX;
        d.participation.notes = Figure::new(1e18, 0.0);
        d.trends[0].history = vec![7];
        d.trends[1].history.clear();
        d.trends[2].history = vec![0; 40];
        d.trends[3].history = vec![u64::MAX, 0, u64::MAX / 2];
        d.trends[3].label = long.clone();
        d.assets[0].worked = u64::MAX;
        d.assets[0].flopped = u64::MAX;
        d.assets[1].label = long.clone();
        d.assets[2] = AssetRollup {
            worked: 0,
            flopped: 0,
            used: 0,
            ..d.assets[2].clone()
        };
        d
    }

    fn sel(s: &str) -> Selector {
        Selector::parse(s).unwrap()
    }

    fn text(e: ElementRef) -> String {
        e.text().collect::<String>()
    }

    #[test]
    fn parses_as_html5_without_errors() {
        for d in [sample(), anonymous(), empty(), odd()] {
            let out = render(&d);
            assert!(out.starts_with("<!DOCTYPE html>"));
            let doc = Html::parse_document(&out);
            assert!(
                doc.errors.is_empty(),
                "HTML5 parse errors: {:?}",
                doc.errors
            );
            assert_eq!(doc.select(&sel("html[lang=en]")).count(), 1);
            assert_eq!(doc.select(&sel("meta[name=viewport]")).count(), 1);
            // Self-contained: nothing loaded from elsewhere.
            assert_eq!(
                doc.select(&sel("link, script, img, iframe, [src]")).count(),
                0
            );
            assert!(!out.contains("@import") && !out.contains("url("));
        }
    }

    #[test]
    fn one_labelled_chart_per_trend_plus_participation_and_assets() {
        let d = sample();
        let doc = Html::parse_document(&render(&d));
        let svgs: Vec<ElementRef> = doc.select(&sel("svg")).collect();
        assert_eq!(svgs.len(), d.trends.len() + 2);
        for svg in &svgs {
            assert_eq!(svg.value().attr("role"), Some("img"));
            let label = svg.value().attr("aria-label").unwrap_or_default();
            assert!(label.starts_with("Chart: "), "{label}");
            let title = svg.select(&sel("title")).next().expect("a <title>");
            assert_eq!(text(title), label);
        }
        let cards: Vec<ElementRef> = doc.select(&sel("#trends li.card")).collect();
        assert_eq!(cards.len(), d.trends.len());
        for (card, t) in cards.iter().zip(&d.trends) {
            let svg = card
                .select(&sel("svg[role=img]"))
                .next()
                .expect("a chart per item");
            assert!(svg.value().attr("aria-label").unwrap().contains(&t.label));
            let h3 = text(card.select(&sel("h3")).next().unwrap());
            assert_eq!(h3, format!("{}{}", direction_word(t.direction), t.label));
            assert!(text(*card).contains(&t.summary));
            assert!(text(*card).contains(&test_line(&d, t)));
        }
        let part = doc.select(&sel("#participation svg")).next().unwrap();
        assert!(part
            .value()
            .attr("aria-label")
            .unwrap()
            .contains("W48 31 notes, 9 reps"));
        let assets = doc.select(&sel("#assets svg")).next().unwrap();
        assert!(assets
            .value()
            .attr("aria-label")
            .unwrap()
            .contains("ROI calculator: worked 1, didn't 4"));
    }

    #[test]
    fn user_text_is_escaped() {
        let out = render(&sample());
        let doc = Html::parse_document(&out);
        assert_eq!(doc.select(&sel("script")).count(), 0);
        assert!(out.contains("&lt;script&gt;alert(1)&lt;/script&gt;"));
        assert!(!out.contains("<script>"));
        let quotes: Vec<String> = doc.select(&sel("blockquote")).map(text).collect();
        assert!(quotes.iter().any(|t| t == SCRIPT_QUOTE), "{quotes:?}");
        // `&` in an account name is text, not an entity.
        let captions: Vec<String> = doc.select(&sel("figcaption")).map(text).collect();
        assert!(captions.iter().any(|c| c.contains("Globex & Sons")));
        assert!(out.contains("Globex &amp; Sons"));
    }

    #[test]
    fn sections_in_configured_order() {
        let mut d = sample();
        let doc = Html::parse_document(&render(&d));
        let h2: Vec<String> = doc.select(&sel("h2")).map(text).collect();
        let want: Vec<&str> = d.sections.iter().map(|s| s.title()).collect();
        assert_eq!(h2, want);
        assert_eq!(text(doc.select(&sel("h1")).next().unwrap()), d.title);
        let head = text(doc.select(&sel("header")).next().unwrap());
        for s in [
            "week 48, 23–29 Nov 2026",
            "2026-11-23",
            "2026-11-29",
            "Europe/Berlin",
            "Quotes name the rep",
        ] {
            assert!(head.contains(s), "{s} in {head}");
        }

        d.sections = vec![
            SectionKind::Quotes,
            SectionKind::Assets,
            SectionKind::Participation,
        ];
        let doc = Html::parse_document(&render(&d));
        let h2: Vec<String> = doc.select(&sel("h2")).map(text).collect();
        assert_eq!(
            h2,
            [
                "In the reps' own words",
                "Marketing assets: what worked and what didn't",
                "Participation"
            ]
        );
        // Charts of sections not shown are not drawn.
        assert_eq!(doc.select(&sel("svg")).count(), 2);
    }

    #[test]
    fn same_figures_as_markdown() {
        let d = sample();
        let doc = Html::parse_document(&render(&d));
        let rows: Vec<Vec<String>> = doc
            .select(&sel("#participation tbody tr"))
            .map(|tr| tr.child_elements().map(text).collect())
            .collect();
        assert_eq!(rows[0], ["Prompts sent", "24", "22", "+2"]);
        assert_eq!(
            rows[1],
            ["Prompts answered", "18 (75%)", "15 (68%)", "+7 pts"]
        );
        assert_eq!(rows[3], ["Notes", "31", "26", "+5"]);
        let page = text(doc.root_element());
        assert!(page
            .contains("Notes by how they were shared: command 4, form 12, reply 13, shortcut 2."));
        let stalls: Vec<String> = doc
            .select(&sel("#funnel tbody td:last-child"))
            .map(text)
            .collect();
        assert_eq!(
            stalls,
            [
                "Price too high (3), No budget this year (2)",
                "Integration effort (3), Price too high (2), Security review (1)",
                "no objection named"
            ]
        );
        let lead: Vec<Vec<String>> = doc
            .select(&sel("#lead_quality tbody tr"))
            .map(|tr| tr.child_elements().map(text).collect())
            .collect();
        assert_eq!(lead[1], ["Webinar leads", "3.2", "12", "3.8 (10)", "−0.6"]);
        assert_eq!(lead[2], ["Paid search", "2.1", "9", "–", "–"]);
        assert!(page.contains("Didn't: “Too many inputs for a first call” (#129)"));
        let md = crate::digest::render::markdown::render(&d);
        for t in &d.trends {
            assert!(md.contains(&t.summary) && page.contains(&t.summary));
        }
    }

    #[test]
    fn evidence_links_point_at_permalinks() {
        let d = sample();
        let doc = Html::parse_document(&render(&d));
        let links: Vec<ElementRef> = doc.select(&sel("a")).collect();
        assert!(links.len() > 50, "{}", links.len());
        for a in &links {
            let t = text(*a);
            let id: i64 = t
                .strip_prefix('#')
                .expect("only note links")
                .parse()
                .unwrap();
            let want = d.notes[&id]
                .permalink
                .as_deref()
                .expect("linked only with a permalink");
            assert_eq!(a.value().attr("href"), Some(want));
        }
        // Notes with no permalink are named, not linked.
        let page = text(doc.root_element());
        assert!(page.contains("#103") && page.contains("#117"));
        assert!(!links
            .iter()
            .any(|a| text(*a) == "#103" || text(*a) == "#117"));
        // "and N more" past the inline ids, as in the Markdown.
        let ev = text(
            doc.select(&sel("#participation p.evidence"))
                .next()
                .unwrap(),
        );
        assert!(ev.starts_with("Evidence: notes #140, #139"), "{ev}");
        assert!(ev.ends_with("and 23 more."), "{ev}");
        // Every figure has its evidence.
        for s in [
            "#trends li.card",
            "#competitors div.item",
            "#objections div.item",
            "#assets div.item",
            "#committee div.item",
        ] {
            for item in doc.select(&sel(s)) {
                assert!(item.select(&sel("p.evidence a")).next().is_some(), "{s}");
            }
        }
        assert!(doc.select(&sel("#funnel ul li a")).count() > 0);
        assert_eq!(
            doc.select(&sel("#lead_quality ul li")).count(),
            d.lead_quality.len()
        );
    }

    #[test]
    fn unsafe_permalinks_are_not_linked() {
        let mut d = sample();
        d.notes.get_mut(&140).unwrap().permalink = Some("javascript:alert(1)".into());
        let doc = Html::parse_document(&render(&d));
        assert!(doc.select(&sel("a")).all(|a| a
            .value()
            .attr("href")
            .unwrap()
            .starts_with("https://")));
    }

    #[test]
    fn anonymous_digest_names_no_one() {
        let d = anonymous();
        let out = render(&d);
        let doc = Html::parse_document(&out);
        let page = text(doc.root_element());
        for name in [
            "Dana Whitfield",
            "Priya Raman",
            "Marco Silva",
            "Jonas Berg",
            "Sam Okafor",
        ] {
            assert!(!out.contains(name), "{name}");
        }
        assert!(page.contains("— a rep, Globex & Sons"));
        assert!(page.contains("Quotes are anonymous"));
        assert!(render(&sample()).contains("Dana Whitfield"));
    }

    #[test]
    fn empty_digest_says_no_notes() {
        let d = empty();
        let out = render(&d);
        let doc = Html::parse_document(&out);
        assert_eq!(
            text(doc.select(&sel("main > p.empty")).next().unwrap()),
            "No notes this week."
        );
        assert_eq!(doc.select(&sel("h2")).count(), 0);
        assert_eq!(doc.select(&sel("svg")).count(), 0);
        assert!(text(doc.select(&sel("header")).next().unwrap()).contains("week 48"));
    }

    #[test]
    fn empty_sections_say_so() {
        let mut d = empty();
        d.participation.notes = Figure::new(2.0, 26.0);
        let doc = Html::parse_document(&render(&d));
        let sections: Vec<ElementRef> = doc.select(&sel("section")).collect();
        assert_eq!(sections.len(), d.sections.len());
        for (sec, &s) in sections.iter().zip(&d.sections) {
            if s == SectionKind::Participation {
                assert!(sec.select(&sel("table")).next().is_some());
                continue;
            }
            let p = text(sec.select(&sel("p.empty")).next().expect("empty line"));
            assert_eq!(p, empty_line(&d, s));
        }
    }

    #[test]
    fn odd_inputs_do_not_panic() {
        let d = odd();
        let out = render(&d);
        let doc = Html::parse_document(&out);
        assert!(doc.errors.is_empty(), "{:?}", doc.errors);
        assert_eq!(
            doc.select(&sel("svg[role=img]")).count(),
            d.trends.len() + 2
        );
        let mut d = sample();
        d.participation.history.clear();
        for t in &mut d.trends {
            t.history.clear();
        }
        d.period.kind = "days".into();
        let doc = Html::parse_document(&render(&d));
        assert_eq!(
            doc.select(&sel("svg[role=img]")).count(),
            d.trends.len() + 2
        );
    }

    /// `docs/digest-example.html` (linked from the README) is what this
    /// fixture renders today; `UPDATE_GOLDEN=1` rewrites it and the Slack
    /// chart example beside it.
    #[test]
    fn docs_example_is_current() {
        let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("docs");
        let html = render(&sample());
        if std::env::var("UPDATE_GOLDEN").is_ok() {
            std::fs::write(dir.join("digest-example.html"), &html).unwrap();
            if let Some(png) = chart::png(&sample()) {
                std::fs::write(dir.join("digest-chart-example.png"), png).unwrap();
            }
        }
        let on_disk = std::fs::read_to_string(dir.join("digest-example.html")).unwrap();
        assert!(
            on_disk == html,
            "docs/digest-example.html is stale: run with UPDATE_GOLDEN=1"
        );
    }
}
