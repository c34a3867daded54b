//! The digest as Slack messages: a summary to post in the channel, then
//! one or more replies per section for its thread, each inside Slack's
//! limits (50 blocks, section text 3,000, header 150, context 10
//! elements, and about 10k characters of block text a message:
//! `../shared/SLACK_FACTS.md`). Plain `serde_json` blocks; the Slack
//! client sends them as they are.

use super::*;
use serde_json::{json, Value};

/// Blocks a message may hold.
pub const MAX_BLOCKS: usize = 50;
/// Block text a message may carry (Slack refuses around 12–13k).
pub const MAX_CHARS: usize = 9_000;
/// A section's text.
pub const MAX_SECTION: usize = 3_000;
pub const MAX_HEADER: usize = 150;
/// Evidence links shown per figure (and the notes its loop buttons act on).
const SLACK_IDS: usize = 5;

/// The loop buttons' action ids (issue 13); each button's value is
/// `digest|id,id,…`, the notes it acts on.
pub const LOOP_ACTING: &str = "loop_acting";
pub const LOOP_THANKS: &str = "loop_thanks";
pub const LOOP_ASK: &str = "loop_ask";

/// One Slack message: blocks and the notification text.
#[derive(Debug, Clone, PartialEq)]
pub struct SlackMessage {
    /// What a notification or a screen reader shows.
    pub text: String,
    pub blocks: Vec<Value>,
}

impl SlackMessage {
    /// The characters of text the blocks carry (what Slack's aggregate
    /// limit counts).
    pub fn block_chars(&self) -> usize {
        self.blocks.iter().map(text_chars).sum()
    }
}

fn text_chars(v: &Value) -> usize {
    match v {
        Value::Object(m) => m
            .iter()
            .map(|(k, v)| match (k.as_str(), v) {
                ("text", Value::String(s)) => s.chars().count(),
                _ => text_chars(v),
            })
            .sum(),
        Value::Array(a) => a.iter().map(text_chars).sum(),
        _ => 0,
    }
}

/// Escapes text for mrkdwn: Slack reads `&`, `<` and `>` as markup.
pub fn esc(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
}

/// Cuts `s` to `max` characters, with an ellipsis when cut.
fn cut(s: &str, max: usize) -> String {
    if s.chars().count() <= max {
        s.to_string()
    } else {
        let mut t: String = s.chars().take(max.saturating_sub(1)).collect();
        t.push('…');
        t
    }
}

fn header(text: &str) -> Value {
    json!({"type": "header", "text": {"type": "plain_text", "text": cut(text, MAX_HEADER), "emoji": true}})
}

fn section(text: &str) -> Value {
    json!({"type": "section", "text": {"type": "mrkdwn", "text": cut(text, MAX_SECTION)}})
}

fn context(parts: &[String]) -> Value {
    let elements: Vec<Value> = parts
        .iter()
        .take(10)
        .map(|p| json!({"type": "mrkdwn", "text": cut(p, MAX_SECTION)}))
        .collect();
    json!({"type": "context", "elements": elements})
}

fn note_link(d: &Digest, id: i64) -> String {
    match d.notes.get(&id).and_then(|n| n.permalink.as_deref()) {
        Some(url) if !url.contains(['|', '>']) => format!("<{url}|#{id}>"),
        _ => format!("#{id}"),
    }
}

/// "Notes: #12, #15 +3 more" as a context line.
fn evidence(d: &Digest, e: &Evidence) -> String {
    if e.note_ids.is_empty() {
        return String::new();
    }
    let (shown, more) = evidence_links(e, SLACK_IDS, |id| note_link(d, id));
    let mut s = format!(":mag: {}", shown.join(", "));
    if more > 0 {
        s.push_str(&format!(" +{more} more"));
    }
    s
}

/// The evidence line under a figure, when it has notes.
fn push_evidence(p: &mut Packer, d: &Digest, e: &Evidence) {
    let line = evidence(d, e);
    if !line.is_empty() {
        p.push(context(&[line]));
    }
}

/// The evidence line with the loop buttons for its first notes.
fn push_evidence_acting(p: &mut Packer, d: &Digest, e: &Evidence) {
    push_evidence(p, d, e);
    if !e.note_ids.is_empty() {
        let ids: Vec<i64> = e.note_ids.iter().take(SLACK_IDS).copied().collect();
        p.push(loop_buttons(d, &ids));
    }
}

/// **Acting on it**, **Thanks** and **Ask a follow-up** for a quote or an
/// evidence item: marketers close the loop with the reps who shared it.
fn loop_buttons(d: &Digest, ids: &[i64]) -> Value {
    let ids: Vec<String> = ids.iter().map(i64::to_string).collect();
    let value = format!("{}|{}", d.name, ids.join(","));
    let button = |action: &str, text: &str| {
        json!({"type": "button", "action_id": action, "value": value,
               "text": {"type": "plain_text", "text": text}})
    };
    json!({"type": "actions", "elements": [
        button(LOOP_ACTING, "Acting on it"),
        button(LOOP_THANKS, "Thanks"),
        button(LOOP_ASK, "Ask a follow-up"),
    ]})
}

fn quote_text(d: &Digest, q: &Quote) -> String {
    let mut by = format!("— {}", esc(&who(q)));
    if let Some(a) = &q.account {
        by.push_str(&format!(", {}", esc(a)));
    }
    by.push_str(&format!(", {} · {}", q.date, note_link(d, q.note_id)));
    let text = esc(&q.text).replace('\n', "\n>");
    format!(">{text}\n{by}")
}

/// Packs a section's blocks into thread replies under the limits; a
/// section too big for one reply is split, its later parts headed
/// "(continued)".
struct Packer {
    messages: Vec<SlackMessage>,
    current: Vec<Value>,
    titles: Vec<String>,
    chars: usize,
    /// The section being built, before it is placed.
    section: Vec<Value>,
    title: String,
}

impl Packer {
    fn new() -> Packer {
        Packer {
            messages: vec![],
            current: vec![],
            titles: vec![],
            chars: 0,
            section: vec![],
            title: String::new(),
        }
    }

    fn begin(&mut self, title: &str) {
        self.title = title.to_string();
        self.section = vec![header(title)];
    }

    fn push(&mut self, b: Value) {
        self.section.push(b);
    }

    /// Places the section built since `begin`.
    fn end(&mut self) {
        let blocks = std::mem::take(&mut self.section);
        let size: usize = blocks.iter().map(text_chars).sum();
        if self.current.len() + blocks.len() > MAX_BLOCKS || self.chars + size > MAX_CHARS {
            self.flush();
        }
        if blocks.len() <= MAX_BLOCKS && size <= MAX_CHARS {
            self.chars += size;
            self.current.extend(blocks);
            self.titles.push(self.title.clone());
            return;
        }
        // Too big for one reply: split it.
        let mut first = true;
        for b in blocks {
            let n = text_chars(&b);
            if self.current.len() + 1 > MAX_BLOCKS || self.chars + n > MAX_CHARS {
                self.flush();
                let h = header(&format!("{} (continued)", self.title));
                self.chars = text_chars(&h);
                self.current.push(h);
                self.titles.push(self.title.clone());
            }
            if first {
                self.titles.push(self.title.clone());
                first = false;
            }
            self.chars += n;
            self.current.push(b);
        }
    }

    fn flush(&mut self) {
        if !self.current.is_empty() {
            let mut titles = std::mem::take(&mut self.titles);
            titles.dedup();
            self.messages.push(SlackMessage {
                text: titles.join(" · "),
                blocks: std::mem::take(&mut self.current),
            });
        }
        self.chars = 0;
    }

    fn finish(mut self) -> Vec<SlackMessage> {
        self.flush();
        self.messages
    }
}

/// Pushes a long mrkdwn text as as many sections as it needs, split at
/// lines.
fn push_text(p: &mut Packer, text: &str) {
    let mut chunk = String::new();
    for line in text.lines() {
        if chunk.chars().count() + line.chars().count() + 1 > MAX_SECTION - 10 && !chunk.is_empty()
        {
            p.push(section(&chunk));
            chunk.clear();
        }
        if !chunk.is_empty() {
            chunk.push('\n');
        }
        chunk.push_str(&cut(line, MAX_SECTION - 10));
    }
    if !chunk.is_empty() {
        p.push(section(&chunk));
    }
}

/// The summary: what a marketer reads in the channel.
pub fn summary(d: &Digest) -> SlackMessage {
    let p = &d.participation;
    let mut blocks = vec![
        header(&format!("{}: {}", d.title, d.period.label)),
        context(&[format!(
            "{} to {} ({}) · compared with {} and the {} before{}",
            d.period.starts,
            d.period.ends,
            esc(&d.period.timezone),
            last_period(d),
            d.period.baseline_periods,
            match d.attribution {
                Attribution::Named => "",
                Attribution::Anonymous => " · quotes are anonymous",
            }
        )]),
    ];
    let field = |label: &str, value: String| json!({"type": "mrkdwn", "text": format!("*{label}*\n{value}")});
    blocks.push(json!({
        "type": "section",
        "fields": [
            field("Notes", format!("{} ({} vs {})", num(p.notes.now), signed(p.notes.change), last_period(d))),
            field("Reps sharing", format!("{} ({})", num(p.reps_sharing.now), signed(p.reps_sharing.change))),
            field("Prompts answered", format!("{} of {} ({})", num(p.prompts_answered.now), num(p.prompts_sent.now), pct(p.response_rate))),
            field("Response rate", format!("{} {}", pct(p.response_rate), points(p.response_rate, p.previous_response_rate))),
        ]
    }));
    let top: Vec<String> = d
        .trends
        .iter()
        .take(5)
        .map(|t| {
            format!(
                "• *{}: {}*: {}",
                direction_word(t.direction),
                esc(&t.label),
                esc(&t.summary)
            )
        })
        .collect();
    blocks.push(section(&if top.is_empty() {
        format!(
            "*What changed*\n{}",
            esc(&empty_line(d, SectionKind::Trends))
        )
    } else {
        format!("*What changed*\n{}", top.join("\n"))
    }));
    if let Some(c) = d.competitors.first() {
        blocks.push(section(&format!(
            "*Top competitor:* {} ({} from {})",
            esc(&c.label),
            count(c.mentions, "mention", "mentions"),
            count(c.reps, "rep", "reps")
        )));
    }
    let shown: Vec<&str> = d
        .sections
        .iter()
        .filter(|s| has_content(d, **s))
        .map(|s| s.title())
        .collect();
    blocks.push(context(&[format!(
        ":thread: In the thread: {}.",
        esc(&shown.join(", "))
    )]));
    SlackMessage {
        text: format!(
            "{}: {}: {} notes from {} reps",
            d.title,
            d.period.label,
            num(p.notes.now),
            num(p.reps_sharing.now)
        ),
        blocks,
    }
}

/// The thread: one reply per section with something to show, in order
/// (a section too big for one message continues in the next), so each
/// can be read, linked and answered on its own.
pub fn thread(d: &Digest) -> Vec<SlackMessage> {
    let mut p = Packer::new();
    for &s in &d.sections {
        if !has_content(d, s) {
            continue;
        }
        p.begin(s.title());
        section_blocks(&mut p, d, s);
        p.end();
        p.flush();
    }
    p.finish()
}

/// The summary, then the thread.
pub fn messages(d: &Digest) -> Vec<SlackMessage> {
    let mut v = vec![summary(d)];
    v.extend(thread(d));
    v
}

fn section_blocks(p: &mut Packer, d: &Digest, s: SectionKind) {
    let (now, before) = (this_period(d), last_period(d));
    match s {
        SectionKind::Participation => {
            let pa = &d.participation;
            let line = |label: &str, f: &Figure| {
                format!(
                    "*{label}:* {} {now}, {} {before} ({})",
                    num(f.now),
                    num(f.previous),
                    signed(f.change)
                )
            };
            let mut text = vec![
                line("Prompts sent", &pa.prompts_sent),
                format!(
                    "{} · response rate {} ({} {before}, {})",
                    line("Prompts answered", &pa.prompts_answered),
                    pct(pa.response_rate),
                    pct(pa.previous_response_rate),
                    points(pa.response_rate, pa.previous_response_rate)
                ),
                line("Reps sharing", &pa.reps_sharing),
                line("Notes", &pa.notes),
            ];
            if !pa.by_source.is_empty() {
                let parts: Vec<String> = pa
                    .by_source
                    .iter()
                    .map(|(k, v)| format!("{} {v}", esc(k)))
                    .collect();
                text.push(format!("By how they were shared: {}", parts.join(", ")));
            }
            if let Some(h) = heard_back_line(d) {
                text.push(h);
            }
            push_text(p, &text.join("\n"));
            push_evidence(p, d, &pa.evidence);
        }
        SectionKind::YouSaidWeDid => {
            for c in &d.you_said_we_did {
                let mut text = format!(
                    "*{}* {} ({})",
                    esc(&c.marketer),
                    closure_verb(&c.kind),
                    c.date
                );
                if !c.text.is_empty() {
                    text.push_str(&format!(": \"{}\"", esc(&c.text)));
                }
                if c.follow_ups > 0 {
                    text.push_str(&format!(
                        " · {} from the rep",
                        count(c.follow_ups, "answer", "answers")
                    ));
                }
                text.push('\n');
                text.push_str(&quote_text(d, &c.note));
                push_text(p, &text);
            }
        }
        SectionKind::Initiatives => {
            for i in &d.initiatives {
                push_text(p, &crate::digest::debrief::render::digest_lines(i));
            }
        }
        SectionKind::Trends => {
            for t in &d.trends {
                push_text(
                    p,
                    &format!(
                        "*{}: {}*\n{} · {}",
                        direction_word(t.direction),
                        esc(&t.label),
                        esc(&t.summary),
                        esc(&test_line(d, t))
                    ),
                );
                push_evidence_acting(p, d, &t.evidence);
            }
            p.push(context(&[format!(
                "Rising or falling: exact Poisson test against the {} periods before, Benjamini–Hochberg q ≤ 0.05, at least 2× the usual rate, 3+ mentions from 2+ reps.",
                d.period.baseline_periods
            )]));
        }
        SectionKind::Competitors | SectionKind::Objections | SectionKind::Committee => {
            let rows = match s {
                SectionKind::Competitors => &d.competitors,
                SectionKind::Objections => &d.objections,
                _ => &d.committee,
            };
            for m in rows {
                let mut text = format!(
                    "*{}*: {} ({} {before}), {}, {}",
                    esc(&m.label),
                    count(m.mentions, "mention", "mentions"),
                    m.previous,
                    count(m.reps, "rep", "reps"),
                    count(m.accounts, "account", "accounts")
                );
                if let Some(q) = &m.best_quote {
                    text.push('\n');
                    text.push_str(&quote_text(d, q));
                }
                push_text(p, &text);
                push_evidence_acting(p, d, &m.evidence);
            }
        }
        SectionKind::Funnel => {
            for f in &d.funnel {
                let stalls: Vec<String> = f
                    .stalls
                    .iter()
                    .take(3)
                    .map(|c| format!("{} ({})", esc(&c.label), c.count))
                    .collect();
                push_text(
                    p,
                    &format!(
                        "*{}*: {} from {} · stalls on: {}",
                        esc(&f.label),
                        count(f.notes, "note", "notes"),
                        count(f.reps, "rep", "reps"),
                        if stalls.is_empty() {
                            "no objection named".to_string()
                        } else {
                            stalls.join(", ")
                        }
                    ),
                );
                push_evidence_acting(p, d, &f.evidence);
            }
        }
        SectionKind::Assets => {
            for a in &d.assets {
                let mut text = format!(
                    "*{}*: :white_check_mark: worked {} · :x: didn't {} · used {}",
                    esc(&a.label),
                    a.worked,
                    a.flopped,
                    a.used
                );
                for r in &a.reasons {
                    text.push_str(&format!(
                        "\n{} \"{}\" ({})",
                        if r.worked { "Worked:" } else { "Didn't:" },
                        esc(&r.text),
                        note_link(d, r.note_id)
                    ));
                }
                push_text(p, &text);
                push_evidence_acting(p, d, &a.evidence);
            }
        }
        SectionKind::LeadQuality => {
            let lines: Vec<String> = d
                .lead_quality
                .iter()
                .map(|l| {
                    format!(
                        "*{}*: {:.1}/5 from {}{}",
                        esc(&l.label),
                        l.average,
                        count(l.ratings, "rating", "ratings"),
                        match (l.previous_average, l.trend) {
                            (Some(pa), Some(t)) => format!(
                                " ({pa:.1} {before}, {})",
                                signed((t * 10.0).round() / 10.0)
                            ),
                            _ => String::new(),
                        }
                    )
                })
                .collect();
            push_text(p, &lines.join("\n"));
            let mut e = Evidence::default();
            for l in &d.lead_quality {
                e.count += l.evidence.count;
                e.note_ids.extend(&l.evidence.note_ids);
            }
            if !e.note_ids.is_empty() {
                push_evidence(p, d, &e);
            }
        }
        SectionKind::Ideas | SectionKind::MarketShifts | SectionKind::Quotes => {
            let qs = match s {
                SectionKind::Ideas => &d.ideas,
                SectionKind::MarketShifts => &d.market_shifts,
                _ => &d.quotes,
            };
            for q in qs {
                push_text(p, &quote_text(d, q));
                p.push(loop_buttons(d, &[q.note_id]));
            }
        }
    }
}
