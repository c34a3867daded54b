//! The digest as Markdown: for a terminal, a wiki or an email. Names, not
//! Slack ids; every figure points at its notes (`#id`, linked to Slack
//! where the note has a permalink).

use super::*;
use std::fmt::Write;

/// Evidence ids shown inline before "and N more".
const INLINE_IDS: usize = 8;

/// Markdown-safe text on one line: `|` would break a table, newlines a
/// list item.
fn cell(s: &str) -> String {
    s.replace('\n', " ").replace('|', "\\|")
}

/// "notes [#12](…), #15 and 3 more".
pub(crate) fn evidence(d: &Digest, e: &Evidence) -> String {
    if e.note_ids.is_empty() {
        return String::new();
    }
    let (shown, more) = evidence_links(e, INLINE_IDS, |id| note_link(d, id));
    let word = if e.count == 1 { "note" } else { "notes" };
    if more > 0 {
        format!("{word} {} and {more} more", shown.join(", "))
    } else {
        format!("{word} {}", shown.join(", "))
    }
}

fn note_link(d: &Digest, id: i64) -> String {
    match d.notes.get(&id).and_then(|n| n.permalink.as_deref()) {
        Some(url) => format!("[#{id}]({url})"),
        None => format!("#{id}"),
    }
}

fn quote(o: &mut String, d: &Digest, q: &Quote) {
    let _ = writeln!(o, "> {}", cell(&q.text));
    let mut by = format!("> — {}", who(q));
    if let Some(a) = &q.account {
        let _ = write!(by, ", {a}");
    }
    let _ = write!(by, ", {} ({})", q.date, note_link(d, q.note_id));
    let _ = writeln!(o, "{by}\n");
}

pub fn render(d: &Digest) -> String {
    let mut o = String::new();
    let _ = writeln!(o, "# {}: {}\n", d.title, d.period.label);
    let attribution = match d.attribution {
        Attribution::Named => "",
        Attribution::Anonymous => " · quotes are anonymous",
    };
    let _ = writeln!(
        o,
        "_{} to {} ({}) · compared with {} and the {} {}s before{attribution}_\n",
        d.period.starts,
        d.period.ends,
        d.period.timezone,
        last_period(d),
        d.period.baseline_periods,
        d.period.kind.replace("days", "period"),
    );
    if d.is_empty() {
        let _ = writeln!(o, "No notes {}.", this_period(d));
        return o;
    }
    for &s in &d.sections {
        let _ = writeln!(o, "## {}\n", s.title());
        if !has_content(d, s) {
            let _ = writeln!(o, "{}\n", empty_line(d, s));
            continue;
        }
        section(&mut o, d, s);
    }
    o
}

fn section(o: &mut String, d: &Digest, s: SectionKind) {
    let (now, before) = (this_period(d), last_period(d));
    match s {
        SectionKind::Participation => {
            let p = &d.participation;
            let _ = writeln!(o, "| | {now} | {before} | change |\n|---|---:|---:|---:|");
            let _ = writeln!(
                o,
                "| Prompts sent | {} | {} | {} |",
                num(p.prompts_sent.now),
                num(p.prompts_sent.previous),
                signed(p.prompts_sent.change)
            );
            let _ = writeln!(
                o,
                "| Prompts answered | {} ({}) | {} ({}) | {} |",
                num(p.prompts_answered.now),
                pct(p.response_rate),
                num(p.prompts_answered.previous),
                pct(p.previous_response_rate),
                points(p.response_rate, p.previous_response_rate)
            );
            for (label, f) in [("Reps sharing", &p.reps_sharing), ("Notes", &p.notes)] {
                let _ = writeln!(
                    o,
                    "| {label} | {} | {} | {} |",
                    num(f.now),
                    num(f.previous),
                    signed(f.change)
                );
            }
            if !p.by_source.is_empty() {
                let parts: Vec<String> = p
                    .by_source
                    .iter()
                    .map(|(k, v)| format!("{k} {v}"))
                    .collect();
                let _ = writeln!(o, "\nNotes by how they were shared: {}.", parts.join(", "));
            }
            if let Some(h) = heard_back_line(d) {
                let _ = writeln!(o, "\n{h}");
            }
            let _ = writeln!(o, "\nEvidence: {}.\n", evidence(d, &p.evidence));
        }
        SectionKind::Initiatives => {
            use crate::digest::debrief::render as ir;
            for i in &d.initiatives {
                let _ = writeln!(
                    o,
                    "- **{}**: {}",
                    cell(&ir::headline(i)),
                    cell(&i.verdict.text)
                );
                let _ = writeln!(o, "  {} — {}", ir::counts(&i.total), ir::share(&i.total));
                for p in i.periods.iter().filter(|p| p.tally.all() > 0) {
                    let _ = writeln!(o, "  - {}", ir::week_line(p));
                }
                for q in i.quotes_for.iter().chain(&i.quotes_against).take(2) {
                    let _ = writeln!(o, "  > {} ({})", cell(&q.text), ir::rating_word(q.rating));
                }
                let _ = writeln!(o);
            }
        }
        SectionKind::YouSaidWeDid => {
            for c in &d.you_said_we_did {
                let mut line = format!(
                    "- **{}** {} ({})",
                    cell(&c.marketer),
                    closure_verb(&c.kind),
                    c.date
                );
                if !c.text.is_empty() {
                    let _ = write!(line, ": “{}”", cell(&c.text));
                }
                if c.follow_ups > 0 {
                    let _ = write!(
                        line,
                        "; {} from the rep",
                        count(c.follow_ups, "answer", "answers")
                    );
                }
                let _ = writeln!(o, "{line}\n");
                quote(o, d, &c.note);
            }
        }
        SectionKind::Trends => {
            for t in &d.trends {
                let _ = writeln!(
                    o,
                    "- **{}: {}**: {} ({}). Evidence: {}.",
                    direction_word(t.direction),
                    cell(&t.label),
                    t.summary,
                    test_line(d, t),
                    evidence(d, &t.evidence)
                );
            }
            let _ = writeln!(
                o,
                "\n_Rising or falling means an exact Poisson test across the {} periods, \
                 Benjamini–Hochberg adjusted (q ≤ 0.05), at least 2× the usual rate, and at \
                 least 3 mentions from 2 reps. New means the same support with no mentions before._\n",
                d.period.baseline_periods + 1
            );
        }
        SectionKind::Competitors | SectionKind::Objections | SectionKind::Committee => {
            let rows = match s {
                SectionKind::Competitors => &d.competitors,
                SectionKind::Objections => &d.objections,
                _ => &d.committee,
            };
            let _ = writeln!(
                o,
                "| | mentions | {before} | reps | accounts |\n|---|---:|---:|---:|---:|"
            );
            for m in rows {
                let _ = writeln!(
                    o,
                    "| {} | {} | {} | {} | {} |",
                    cell(&m.label),
                    m.mentions,
                    m.previous,
                    m.reps,
                    m.accounts
                );
            }
            let _ = writeln!(o);
            for m in rows {
                let _ = writeln!(o, "**{}**: {}.\n", cell(&m.label), evidence(d, &m.evidence));
                if let Some(q) = &m.best_quote {
                    quote(o, d, q);
                }
            }
        }
        SectionKind::Funnel => {
            let _ = writeln!(
                o,
                "| stage | notes | reps | what stalls there |\n|---|---:|---:|---|"
            );
            for f in &d.funnel {
                let stalls: Vec<String> = f
                    .stalls
                    .iter()
                    .take(3)
                    .map(|c| format!("{} ({})", c.label, c.count))
                    .collect();
                let _ = writeln!(
                    o,
                    "| {} | {} | {} | {} |",
                    cell(&f.label),
                    f.notes,
                    f.reps,
                    if stalls.is_empty() {
                        "no objection named".to_string()
                    } else {
                        cell(&stalls.join(", "))
                    }
                );
            }
            let _ = writeln!(o);
            for f in &d.funnel {
                let _ = writeln!(o, "- {}: {}.", cell(&f.label), evidence(d, &f.evidence));
            }
            let _ = writeln!(o);
        }
        SectionKind::Assets => {
            let _ = writeln!(
                o,
                "| asset | worked | didn't | used, no verdict |\n|---|---:|---:|---:|"
            );
            for a in &d.assets {
                let _ = writeln!(
                    o,
                    "| {} | {} | {} | {} |",
                    cell(&a.label),
                    a.worked,
                    a.flopped,
                    a.used
                );
            }
            let _ = writeln!(o);
            for a in &d.assets {
                let _ = writeln!(o, "**{}**: {}.\n", cell(&a.label), evidence(d, &a.evidence));
                for r in &a.reasons {
                    let _ = writeln!(
                        o,
                        "- {} \"{}\" ({})",
                        if r.worked { "Worked:" } else { "Didn't:" },
                        cell(&r.text),
                        note_link(d, r.note_id)
                    );
                }
                if !a.reasons.is_empty() {
                    let _ = writeln!(o);
                }
            }
        }
        SectionKind::LeadQuality => {
            let _ = writeln!(
                o,
                "| lead source | average (1–5) | ratings | {before} | trend |\n|---|---:|---:|---:|---:|"
            );
            for l in &d.lead_quality {
                let _ = writeln!(
                    o,
                    "| {} | {:.1} | {} | {} | {} |",
                    cell(&l.label),
                    l.average,
                    l.ratings,
                    l.previous_average
                        .map(|p| format!("{p:.1} ({})", l.previous_ratings))
                        .unwrap_or_else(|| "–".into()),
                    l.trend.map(signed).unwrap_or_else(|| "–".into())
                );
            }
            let _ = writeln!(o);
        }
        SectionKind::Ideas | SectionKind::MarketShifts | SectionKind::Quotes => {
            let qs = match s {
                SectionKind::Ideas => &d.ideas,
                SectionKind::MarketShifts => &d.market_shifts,
                _ => &d.quotes,
            };
            for q in qs {
                quote(o, d, q);
            }
        }
    }
}
