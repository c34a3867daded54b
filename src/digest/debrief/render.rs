//! A debrief as Markdown, HTML (one self-contained file, `maud` escaping
//! every rep's words, the digest's stylesheet), JSON (the [`Debrief`]
//! itself) and Slack blocks (inside Block Kit's limits). The same
//! wording everywhere: `headline`, `week_line`, `rating_word`.

use super::{Debrief, DebriefQuote, PeriodTally, Tally};
use crate::digest::render::blocks::esc;
use maud::html;
use serde_json::{json, Value};

fn pct(x: f64) -> String {
    format!("{:.0}%", 100.0 * x)
}

/// "7 worked · 2 didn't · 1 not used".
pub fn counts(t: &Tally) -> String {
    format!(
        "{} worked · {} didn't · {} not used",
        t.worked, t.didnt, t.not_used
    )
}

/// "78% worked (95% interval 45–94%)", or "no ratings from reps who used it".
pub fn share(t: &Tally) -> String {
    match (t.share_worked, t.low, t.high) {
        (Some(s), Some(l), Some(h)) => {
            format!("{} worked (95% interval {}–{})", pct(s), pct(l), pct(h))
        }
        _ => "no ratings from reps who used it".into(),
    }
}

/// A week's line: "2026-W49 (from 2026-11-30): 3 worked · 1 didn't · 0 not
/// used — 75% worked (95% interval 30–95%)".
pub fn week_line(p: &PeriodTally) -> String {
    format!(
        "{} (from {}): {} — {}",
        p.key,
        p.starts,
        counts(&p.tally),
        share(&p.tally)
    )
}

/// "Spring webinar (campaign, 2026-11-30 to 2026-12-20, ended)".
pub fn headline(d: &Debrief) -> String {
    let span = match &d.end {
        Some(e) => format!("{} to {e}", d.start),
        None => format!("since {}", d.start),
    };
    format!("{} ({}, {span}, {})", d.name, d.kind, d.status)
}

pub fn rating_word(r: Option<&str>) -> &'static str {
    match r {
        Some("worked") => "worked",
        Some("didnt") => "didn't work",
        Some("not_used") => "not used",
        _ => "mentioned it",
    }
}

fn who(q: &DebriefQuote) -> String {
    match &q.rep {
        Some(r) => format!("{r}, {}", q.date),
        None => q.date.clone(),
    }
}

/// The debrief in Markdown.
pub fn markdown(d: &Debrief) -> String {
    let mut s = format!("# Debrief: {}\n\n", headline(d));
    s.push_str(&format!("**Verdict:** {}\n\n", d.verdict.text));
    s.push_str(&format!(
        "**All ratings:** {} — {}. {} reps rated it; {} notes are linked to it. A verdict needs {} ratings from reps who used it.\n\n",
        counts(&d.total),
        share(&d.total),
        d.raters,
        d.linked_notes,
        d.min_ratings
    ));
    s.push_str("## Week by week\n\n");
    if d.periods.is_empty() {
        s.push_str("_It has not started yet._\n\n");
    } else {
        s.push_str("| Week | From | Worked | Didn't | Not used | Worked share | 95% interval |\n");
        s.push_str("|---|---|---:|---:|---:|---:|---|\n");
        for p in &d.periods {
            let t = &p.tally;
            let (sh, iv) = match (t.share_worked, t.low, t.high) {
                (Some(x), Some(l), Some(h)) => (pct(x), format!("{}–{}", pct(l), pct(h))),
                _ => ("–".into(), "–".into()),
            };
            s.push_str(&format!(
                "| {} | {} | {} | {} | {} | {sh} | {iv} |\n",
                p.key, p.starts, t.worked, t.didnt, t.not_used
            ));
        }
        s.push('\n');
    }
    for (title, list, none) in [
        ("For", &d.quotes_for, "No one has said it helped yet."),
        (
            "Against",
            &d.quotes_against,
            "No one has said it fell flat yet.",
        ),
        ("Reps' ideas", &d.ideas, "No ideas about it yet."),
    ] {
        s.push_str(&format!("## {title}\n\n"));
        if list.is_empty() {
            s.push_str(&format!("_{none}_\n\n"));
            continue;
        }
        for q in list {
            let text = q.text.replace('\n', " ");
            let link = q
                .permalink
                .as_ref()
                .map(|l| format!(" ([note #{}]({l}))", q.note_id))
                .unwrap_or_else(|| format!(" (note #{})", q.note_id));
            s.push_str(&format!(
                "> {text}\n\n— {} · {}{link}\n\n",
                who(q),
                rating_word(q.rating)
            ));
        }
    }
    s
}

/// The debrief as one self-contained HTML page.
pub fn html(d: &Debrief) -> String {
    let quotes = |title: &str, list: &[DebriefQuote], none: &str| {
        html! {
            section {
                h2 { (title) }
                @if list.is_empty() { p.muted { (none) } }
                @for q in list {
                    blockquote {
                        p { (q.text) }
                        footer {
                            "— " (who(q)) " · " (rating_word(q.rating)) " · "
                            @match &q.permalink {
                                Some(l) => a href=(l) { "note #" (q.note_id) },
                                None => { "note #" (q.note_id) },
                            }
                        }
                    }
                }
            }
        }
    };
    let body = html! {

                h1 { "Debrief: " (headline(d)) }
                p { strong { "Verdict: " } (d.verdict.text) }
                p {
                    "All ratings: " (counts(&d.total)) " — " (share(&d.total)) ". "
                    (d.raters) " reps rated it; " (d.linked_notes) " notes are linked to it. "
                    "A verdict needs " (d.min_ratings) " ratings from reps who used it."
                }
                section {
                    h2 { "Week by week" }
                    @if d.periods.is_empty() { p.muted { "It has not started yet." } }
                    @else {
                        div.scroll { table {
                            thead { tr { th { "Week" } th { "From" } th { "Worked" } th { "Didn't" } th { "Not used" } th { "Worked share" } th { "95% interval" } } }
                            tbody { @for p in &d.periods {
                                @let t = &p.tally;
                                tr {
                                    td { (p.key) } td { (p.starts) } td { (t.worked) } td { (t.didnt) } td { (t.not_used) }
                                    @match (t.share_worked, t.low, t.high) {
                                        (Some(x), Some(l), Some(h)) => { td { (pct(x)) } td { (pct(l)) "–" (pct(h)) } },
                                        _ => { td { "–" } td { "–" } },
                                    }
                                }
                            } }
                        } }
                    }
                }
                (quotes("For", &d.quotes_for, "No one has said it helped yet."))
                (quotes("Against", &d.quotes_against, "No one has said it fell flat yet."))
                (quotes("Reps' ideas", &d.ideas, "No ideas about it yet."))
    };
    crate::digest::html::page(&format!("Debrief: {}", d.name), body)
}

/// The debrief as JSON.
pub fn json(d: &Debrief) -> String {
    serde_json::to_string_pretty(d).expect("a debrief serialises")
}

fn section(text: &str) -> Value {
    json!({"type": "section", "text": {"type": "mrkdwn", "text": crate::text::truncate(text, 3000)}})
}

fn quote_line(q: &DebriefQuote) -> String {
    let link = match &q.permalink {
        Some(l) if !l.contains(['|', '>']) => format!("<{l}|note #{}>", q.note_id),
        _ => format!("note #{}", q.note_id),
    };
    format!(
        ">{}\n— {} · {} · {link}",
        esc(&q.text).replace('\n', "\n>"),
        esc(&who(q)),
        rating_word(q.rating)
    )
}

/// The lines a digest shows for one initiative (Slack mrkdwn).
pub fn digest_lines(d: &Debrief) -> String {
    let mut s = format!("*{}*\n{}", esc(&headline(d)), esc(&d.verdict.text));
    s.push_str(&format!("\n{} — {}", counts(&d.total), share(&d.total)));
    if let Some(p) = d.periods.iter().rev().find(|p| p.tally.all() > 0) {
        s.push_str(&format!("\nLatest rated week: {}", esc(&week_line(p))));
    }
    s
}

/// The final debrief posted to the digest's channel: at most 1 + 3 + 11
/// blocks, each inside Slack's 3,000 characters.
pub fn slack_blocks(d: &Debrief) -> (String, Vec<Value>) {
    let text = format!("Final debrief: {} — {}", d.name, d.verdict.text);
    let mut b = vec![
        json!({"type": "header", "text": {"type": "plain_text", "text": crate::text::truncate(&format!("Debrief: {}", d.name), 150)}}),
        section(&format!(
            "*{}*\n*Verdict:* {}\n{} — {}. {} reps rated it; {} notes are linked to it.",
            esc(&headline(d)),
            esc(&d.verdict.text),
            counts(&d.total),
            share(&d.total),
            d.raters,
            d.linked_notes
        )),
    ];
    let weeks: Vec<String> = d
        .periods
        .iter()
        .map(|p| format!("• {}", esc(&week_line(p))))
        .collect();
    if !weeks.is_empty() {
        b.push(section(&format!("*Week by week*\n{}", weeks.join("\n"))));
    }
    for (title, list) in [
        ("For", &d.quotes_for),
        ("Against", &d.quotes_against),
        ("Reps' ideas", &d.ideas),
    ] {
        if list.is_empty() {
            continue;
        }
        b.push(section(&format!("*{title}*")));
        for q in list.iter().take(3) {
            b.push(section(&quote_line(q)));
        }
    }
    (text, b)
}

/// The DM each rep who rated it gets: the outcome, the loop closed again.
pub fn outcome_dm(d: &Debrief) -> (String, Vec<Value>) {
    let text = format!(
        "Thanks for rating {}. Marketing's debrief: {}",
        d.name, d.verdict.text
    );
    let blocks = vec![
        section(&format!(
            ":white_check_mark: *{}* has ended. Thanks for telling us how it went.\n*What the team concluded:* {}\n{} — {}.",
            esc(&d.name),
            esc(&d.verdict.text),
            counts(&d.total),
            share(&d.total)
        )),
        json!({"type": "context", "elements": [{"type": "mrkdwn", "text": "Your ratings went into this. Marketing reads every note; the weekly check-in is the easiest place to say more."}]}),
    ];
    (text, blocks)
}
