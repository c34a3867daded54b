//! Digest renderers. Markdown for people, JSON for machines.

use super::Digest;
use std::fmt::Write;

pub fn to_json(d: &Digest) -> String {
    serde_json::to_string_pretty(d).expect("digest serialises")
}

fn pct(r: Option<f64>) -> String {
    r.map(|r| format!("{:.0}%", r * 100.0))
        .unwrap_or_else(|| "n/a".into())
}

fn signed(n: i64) -> String {
    if n > 0 {
        format!("+{n}")
    } else {
        n.to_string()
    }
}

pub fn to_markdown(d: &Digest) -> String {
    let mut o = String::new();
    let _ = writeln!(o, "# Field insights digest, {}", d.week);
    let _ = writeln!(o, "\n_{} to {} ({})_\n", d.starts, d.ends, d.timezone);
    let _ = writeln!(o, "## At a glance\n");
    let _ = writeln!(o, "| | this week | last week |\n|---|---:|---:|");
    let _ = writeln!(o, "| Check-in prompts sent | {} | |", d.prompts_sent);
    let _ = writeln!(
        o,
        "| Prompts answered | {} ({}) | |",
        d.prompts_answered,
        pct(d.response_rate)
    );
    let _ = writeln!(
        o,
        "| Field notes | {} | {} |",
        d.insights, d.insights_previous
    );
    let _ = writeln!(o, "| Reps who shared | {} | |", d.contributors);
    if d.prompts_failed > 0 {
        let _ = writeln!(
            o,
            "| Prompts that could not be delivered | {} | |",
            d.prompts_failed
        );
    }
    if !d.by_source.is_empty() {
        let parts: Vec<String> = d
            .by_source
            .iter()
            .map(|(k, v)| format!("{k}: {v}"))
            .collect();
        let _ = writeln!(o, "\nNotes by channel: {}.", parts.join(", "));
    }

    let _ = writeln!(o, "\n## What's trending\n");
    if d.trending.is_empty() {
        let _ = writeln!(o, "Nothing rose sharply against last week.");
    }
    for t in &d.trending {
        let _ = writeln!(
            o,
            "- **{}**: {} notes ({} vs last week)",
            t.label,
            t.count,
            signed(t.change())
        );
    }

    let _ = writeln!(o, "\n## Tags this week\n");
    let current: Vec<_> = d.tags.iter().filter(|t| t.count > 0).collect();
    if current.is_empty() {
        let _ = writeln!(o, "No tagged notes this week.");
    } else {
        let _ = writeln!(
            o,
            "| tag | notes | picked by rep | last week | change |\n|---|---:|---:|---:|---:|"
        );
        for t in current {
            let _ = writeln!(
                o,
                "| {} | {} | {} | {} | {} |",
                t.label,
                t.count,
                t.manual,
                t.previous,
                signed(t.change())
            );
        }
    }
    let gone: Vec<_> = d
        .tags
        .iter()
        .filter(|t| t.count == 0 && t.previous > 0)
        .collect();
    if !gone.is_empty() {
        let names: Vec<String> = gone
            .iter()
            .map(|t| format!("{} ({} last week)", t.label, t.previous))
            .collect();
        let _ = writeln!(o, "\nQuiet this week: {}.", names.join(", "));
    }

    if d.sentiment.positive + d.sentiment.neutral + d.sentiment.negative > 0 {
        let _ = writeln!(
            o,
            "\nTone of the notes: {} positive, {} neutral, {} negative.",
            d.sentiment.positive, d.sentiment.neutral, d.sentiment.negative
        );
    }
    let lq = &d.lead_quality;
    if let Some(avg) = lq.average {
        let before = match lq.previous_average {
            Some(p) => format!(" (last week {p:.1} from {})", lq.previous_ratings),
            None => String::new(),
        };
        let _ = writeln!(
            o,
            "\nLead quality: {avg:.1} / 5 from {} rating(s){before}.",
            lq.ratings
        );
    }

    let _ = writeln!(o, "\n## What worked and what didn't\n");
    if d.assets.is_empty() {
        let _ = writeln!(o, "No rep rated a marketing asset this week.");
    } else {
        let _ = writeln!(o, "| asset | worked | didn't |\n|---|---:|---:|");
        for a in &d.assets {
            let _ = writeln!(o, "| {} | {} | {} |", a.label, a.worked, a.flopped);
        }
        for a in d.assets.iter().filter(|a| !a.reasons.is_empty()) {
            let _ = writeln!(o, "\n**{}**", a.label);
            for r in &a.reasons {
                let _ = writeln!(o, "- {}", r.replace('\n', " "));
            }
        }
    }

    let _ = writeln!(o, "\n## In the reps' own words\n");
    if d.quotes.is_empty() {
        let _ = writeln!(o, "No notes this week.");
    }
    for q in &d.quotes {
        let text = q.text.replace('\n', " ");
        let tags = if q.tags.is_empty() {
            String::new()
        } else {
            format!(" `{}`", q.tags.join("` `"))
        };
        let _ = writeln!(o, "> {text}\n>\n> — <@{}>{tags}\n", q.user_id);
    }
    o
}
