//! The digest's section tables as one CSV, in long form: one row per
//! figure (`section, item, label, measure, value, notes`), so a
//! spreadsheet can pivot it any way. Cells that a spreadsheet would run
//! as a formula are defused (`text::csv_cell`).

use super::*;
use crate::text::csv_cell;

struct Rows {
    w: ::csv::Writer<Vec<u8>>,
}

impl Rows {
    fn row(
        &mut self,
        section: &str,
        item: &str,
        label: &str,
        measure: &str,
        value: String,
        e: Option<&Evidence>,
    ) {
        let notes = e
            .map(|e| {
                e.note_ids
                    .iter()
                    .map(|i| i.to_string())
                    .collect::<Vec<_>>()
                    .join(" ")
            })
            .unwrap_or_default();
        let _ = self.w.write_record([
            section,
            &csv_cell(item),
            &csv_cell(label),
            measure,
            &value,
            &notes,
        ]);
    }
}

fn opt(x: Option<f64>) -> String {
    x.map(|v| format!("{v:.4}")).unwrap_or_default()
}

pub fn render(d: &Digest) -> String {
    let mut r = Rows {
        w: ::csv::Writer::from_writer(Vec::new()),
    };
    let _ =
        r.w.write_record(["section", "item", "label", "measure", "value", "notes"]);
    let p = &d.participation;
    let part = SectionKind::Participation.as_str();
    for (item, f) in [
        ("prompts_sent", &p.prompts_sent),
        ("prompts_answered", &p.prompts_answered),
        ("reps_sharing", &p.reps_sharing),
        ("notes", &p.notes),
    ] {
        r.row(part, item, item, "now", num(f.now), None);
        r.row(part, item, item, "previous", num(f.previous), None);
    }
    r.row(
        part,
        "response_rate",
        "response rate",
        "now",
        opt(p.response_rate),
        None,
    );
    r.row(
        part,
        "response_rate",
        "response rate",
        "previous",
        opt(p.previous_response_rate),
        None,
    );
    for h in &p.history {
        r.row(
            part,
            &h.period,
            &h.label,
            "notes",
            h.notes.to_string(),
            None,
        );
        r.row(part, &h.period, &h.label, "reps", h.reps.to_string(), None);
    }
    let trends = SectionKind::Trends.as_str();
    for t in &d.trends {
        let dir = match t.direction {
            Direction::New => "new",
            Direction::Rising => "rising",
            Direction::Falling => "falling",
        };
        r.row(
            trends,
            &t.key,
            &t.label,
            "direction",
            dir.into(),
            Some(&t.evidence),
        );
        r.row(
            trends,
            &t.key,
            &t.label,
            "mentions",
            t.mentions.to_string(),
            None,
        );
        r.row(trends, &t.key, &t.label, "reps", t.reps.to_string(), None);
        r.row(
            trends,
            &t.key,
            &t.label,
            "baseline_avg",
            format!("{:.4}", t.baseline_avg),
            None,
        );
        r.row(trends, &t.key, &t.label, "ratio", opt(t.ratio), None);
        r.row(trends, &t.key, &t.label, "p", opt(t.p), None);
        r.row(trends, &t.key, &t.label, "q", opt(t.q), None);
    }
    for (kind, rows) in [
        (SectionKind::Competitors, &d.competitors),
        (SectionKind::Objections, &d.objections),
        (SectionKind::Committee, &d.committee),
    ] {
        for m in rows {
            let s = kind.as_str();
            r.row(
                s,
                &m.tag,
                &m.label,
                "mentions",
                m.mentions.to_string(),
                Some(&m.evidence),
            );
            r.row(
                s,
                &m.tag,
                &m.label,
                "previous",
                m.previous.to_string(),
                None,
            );
            r.row(s, &m.tag, &m.label, "reps", m.reps.to_string(), None);
            r.row(
                s,
                &m.tag,
                &m.label,
                "accounts",
                m.accounts.to_string(),
                None,
            );
        }
    }
    for f in &d.funnel {
        let s = SectionKind::Funnel.as_str();
        r.row(
            s,
            &f.stage,
            &f.label,
            "notes",
            f.notes.to_string(),
            Some(&f.evidence),
        );
        r.row(s, &f.stage, &f.label, "reps", f.reps.to_string(), None);
        for c in &f.stalls {
            r.row(
                s,
                &f.stage,
                &f.label,
                &format!("stall:{}", c.key),
                c.count.to_string(),
                None,
            );
        }
    }
    for a in &d.assets {
        let s = SectionKind::Assets.as_str();
        r.row(
            s,
            &a.asset,
            &a.label,
            "worked",
            a.worked.to_string(),
            Some(&a.evidence),
        );
        r.row(
            s,
            &a.asset,
            &a.label,
            "didnt_work",
            a.flopped.to_string(),
            None,
        );
        r.row(
            s,
            &a.asset,
            &a.label,
            "used_no_verdict",
            a.used.to_string(),
            None,
        );
    }
    for l in &d.lead_quality {
        let s = SectionKind::LeadQuality.as_str();
        r.row(
            s,
            &l.source,
            &l.label,
            "average",
            format!("{:.4}", l.average),
            Some(&l.evidence),
        );
        r.row(
            s,
            &l.source,
            &l.label,
            "ratings",
            l.ratings.to_string(),
            None,
        );
        r.row(
            s,
            &l.source,
            &l.label,
            "previous_average",
            opt(l.previous_average),
            None,
        );
        r.row(
            s,
            &l.source,
            &l.label,
            "previous_ratings",
            l.previous_ratings.to_string(),
            None,
        );
    }
    let h = &d.participation.heard_back;
    for (measure, n) in [
        ("heard_back", h.heard_back),
        ("heard_back_shared", h.heard_back_shared),
        ("not_heard", h.not_heard),
        ("not_heard_shared", h.not_heard_shared),
    ] {
        r.row(
            "participation",
            "loop",
            "Loop closures",
            measure,
            n.to_string(),
            None,
        );
    }
    for i in &d.initiatives {
        for (measure, n) in [
            ("worked", i.total.worked),
            ("didnt", i.total.didnt),
            ("not_used", i.total.not_used),
        ] {
            r.row(
                SectionKind::Initiatives.as_str(),
                &i.id,
                &i.name,
                measure,
                n.to_string(),
                None,
            );
        }
    }
    for c in &d.you_said_we_did {
        let e = Evidence {
            count: 1,
            note_ids: vec![c.note.note_id],
        };
        r.row(
            SectionKind::YouSaidWeDid.as_str(),
            &c.note.note_id.to_string(),
            &c.marketer,
            &c.kind,
            csv_cell(&c.text).into_owned(),
            Some(&e),
        );
    }
    for (kind, qs) in [
        (SectionKind::Ideas, &d.ideas),
        (SectionKind::MarketShifts, &d.market_shifts),
        (SectionKind::Quotes, &d.quotes),
    ] {
        for q in qs {
            let e = Evidence {
                count: 1,
                note_ids: vec![q.note_id],
            };
            r.row(
                kind.as_str(),
                &q.note_id.to_string(),
                &who(q),
                "quote",
                csv_cell(&q.text).into_owned(),
                Some(&e),
            );
        }
    }
    String::from_utf8(r.w.into_inner().unwrap_or_default()).unwrap_or_default()
}
