//! `fieldnotes export`: every insight as NDJSON or CSV, for marketers'
//! spreadsheets and BI tools.

use crate::domain::Insight;
use anyhow::Result;
use serde::Serialize;
use std::io::Write;

#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum ExportFormat {
    Ndjson,
    Csv,
}

/// How `fieldnotes search` prints its results.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum SearchFormat {
    /// One block per note, for reading.
    Text,
    /// One JSON object per line.
    Ndjson,
    Csv,
}

/// Writes a page of search results.
pub fn write_search(
    r: &crate::features::search::Results,
    format: SearchFormat,
    out: &mut dyn Write,
) -> Result<()> {
    match format {
        SearchFormat::Ndjson => {
            for h in &r.hits {
                serde_json::to_writer(&mut *out, h)?;
                out.write_all(b"\n")?;
            }
        }
        SearchFormat::Csv => {
            let mut w = csv::Writer::from_writer(out);
            w.write_record([
                "id",
                "created_at",
                "rep",
                "source",
                "checkin",
                "tags",
                "snippet",
                "permalink",
                "score",
            ])?;
            for h in &r.hits {
                let score = format!("{:.4}", h.score);
                let tags = h.tags.join(" ");
                w.write_record([
                    h.id.to_string().as_str(),
                    &h.created_at,
                    &crate::text::csv_cell(h.rep.as_deref().unwrap_or("")),
                    &h.source,
                    &crate::text::csv_cell(h.checkin.as_deref().unwrap_or("")),
                    &crate::text::csv_cell(&tags),
                    &crate::text::csv_cell(&h.snippet),
                    h.permalink.as_deref().unwrap_or(""),
                    &score,
                ])?;
            }
            w.flush()?;
        }
        SearchFormat::Text => {
            if r.hits.is_empty() {
                writeln!(out, "No notes match `{}`.", r.query)?;
            }
            for h in &r.hits {
                let who = h.rep.as_deref().unwrap_or("a rep");
                writeln!(
                    out,
                    "#{} · {} · {} · {}",
                    h.id,
                    &h.created_at[..10.min(h.created_at.len())],
                    who,
                    h.source
                )?;
                if !h.tags.is_empty() {
                    writeln!(out, "  tags: {}", h.tags.join(", "))?;
                }
                writeln!(out, "  {}", h.snippet)?;
                if let Some(p) = &h.permalink {
                    writeln!(out, "  {p}")?;
                }
                writeln!(out)?;
            }
            if r.more {
                writeln!(out, "More: --page {}", r.page + 2)?;
            }
        }
    }
    Ok(())
}

#[derive(Serialize)]
struct Row<'a> {
    id: i64,
    user_id: &'a str,
    source: &'a str,
    checkin: Option<&'a str>,
    prompt_id: Option<i64>,
    text: &'a str,
    answers: &'a [crate::domain::Answer],
    tags: &'a [String],
    auto_tags: &'a [String],
    fields: &'a [crate::domain::FieldValue],
    sentiment: Option<&'static str>,
    permalink: Option<&'a str>,
    created_at: String,
    edited_at: Option<String>,
}

fn iso(ms: i64) -> String {
    chrono::DateTime::from_timestamp_millis(ms)
        .map(|t| t.to_rfc3339_opts(chrono::SecondsFormat::Millis, true))
        .unwrap_or_default()
}

/// Writes insights in the chosen format.
pub fn write(insights: &[Insight], format: ExportFormat, out: &mut dyn Write) -> Result<()> {
    match format {
        ExportFormat::Ndjson => {
            for i in insights {
                let row = Row {
                    id: i.id,
                    user_id: &i.user_id,
                    source: i.source.as_str(),
                    checkin: i.checkin.as_deref(),
                    prompt_id: i.prompt_id,
                    text: &i.text,
                    answers: &i.answers,
                    tags: &i.tags,
                    auto_tags: &i.auto_tags,
                    fields: &i.fields,
                    sentiment: i.sentiment.map(|s| s.as_str()),
                    permalink: i.message.as_ref().and_then(|m| m.permalink.as_deref()),
                    created_at: iso(i.created_at_ms),
                    edited_at: i.edited_at_ms.map(iso),
                };
                serde_json::to_writer(&mut *out, &row)?;
                out.write_all(b"\n")?;
            }
        }
        ExportFormat::Csv => {
            let mut w = csv::Writer::from_writer(out);
            w.write_record([
                "id",
                "user_id",
                "source",
                "checkin",
                "prompt_id",
                "text",
                "answers",
                "tags",
                "auto_tags",
                "fields",
                "sentiment",
                "permalink",
                "created_at",
                "edited_at",
            ])?;
            for i in insights {
                let record = [
                    i.id.to_string(),
                    i.user_id.clone(),
                    i.source.as_str().to_string(),
                    i.checkin.clone().unwrap_or_default(),
                    i.prompt_id.map(|p| p.to_string()).unwrap_or_default(),
                    i.text.clone(),
                    serde_json::to_string(&i.answers)?,
                    i.tags.join(";"),
                    i.auto_tags.join(";"),
                    i.fields
                        .iter()
                        .map(|f| format!("{}={}", f.field, f.value))
                        .collect::<Vec<_>>()
                        .join(";"),
                    i.sentiment
                        .map(|s| s.as_str())
                        .unwrap_or_default()
                        .to_string(),
                    i.message
                        .as_ref()
                        .and_then(|m| m.permalink.clone())
                        .unwrap_or_default(),
                    iso(i.created_at_ms),
                    i.edited_at_ms.map(iso).unwrap_or_default(),
                ];
                // Every cell, not only the text: tags, field values and
                // ids all come from config or Slack, and a spreadsheet
                // opens them all the same way.
                w.write_record(record.iter().map(|c| crate::text::csv_cell(c).into_owned()))?;
            }
            w.flush()?;
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::{Answer, Source};

    fn sample() -> Insight {
        Insight {
            id: 3,
            user_id: "U1".into(),
            source: Source::Checkin,
            prompt_id: Some(9),
            checkin: Some("pulse".into()),
            answers: vec![Answer {
                question_id: "heard".into(),
                question: "Heard?".into(),
                text: "Acme, \"cheaper\"\nagain".into(),
            }],
            text: "Acme, \"cheaper\"\nagain".into(),
            tags: vec!["competitor:acme".into()],
            auto_tags: vec!["objection:price".into(), "competitor:acme".into()],
            created_at_ms: 1_795_410_000_000,
            fields: vec![
                crate::domain::FieldValue::new("competitor", "competitor:acme"),
                crate::domain::FieldValue::new("lead_quality", "4"),
            ],
            sentiment: Some(crate::domain::Sentiment::Negative),
            edited_at_ms: Some(1_795_410_060_000),
            ..Default::default()
        }
    }

    #[test]
    fn ndjson_has_one_object_per_line() {
        let mut buf = Vec::new();
        write(&[sample(), sample()], ExportFormat::Ndjson, &mut buf).unwrap();
        let text = String::from_utf8(buf).unwrap();
        let lines: Vec<&str> = text.lines().collect();
        assert_eq!(lines.len(), 2);
        let v: serde_json::Value = serde_json::from_str(lines[0]).unwrap();
        assert_eq!(v["id"], 3);
        assert_eq!(v["source"], "checkin");
        assert_eq!(v["tags"][0], "competitor:acme");
        assert_eq!(v["answers"][0]["question_id"], "heard");
        assert_eq!(v["created_at"], "2026-11-23T05:00:00.000Z");
        assert_eq!(v["fields"][1]["field"], "lead_quality");
        assert_eq!(v["fields"][1]["value"], "4");
        assert_eq!(v["sentiment"], "negative");
        assert_eq!(v["edited_at"], "2026-11-23T05:01:00.000Z");
    }

    #[test]
    fn csv_quotes_text_and_round_trips() {
        let mut buf = Vec::new();
        write(&[sample()], ExportFormat::Csv, &mut buf).unwrap();
        let mut r = csv::Reader::from_reader(buf.as_slice());
        let rec = r.records().next().unwrap().unwrap();
        assert_eq!(&rec[5], "Acme, \"cheaper\"\nagain");
        assert_eq!(&rec[8], "objection:price;competitor:acme");
        assert_eq!(&rec[9], "competitor=competitor:acme;lead_quality=4");
        assert_eq!(&rec[10], "negative");
        assert_eq!(&rec[13], "2026-11-23T05:01:00.000Z");
    }

    /// D5: a note that starts like a formula, or carries controls or an
    /// RTL override, reaches a spreadsheet as inert text.
    #[test]
    fn csv_cells_are_neutralised() {
        let mut i = sample();
        i.text = "=HYPERLINK(\"http://evil\",\"click\")\u{202e}gnp.exe\u{7}".into();
        i.tags = vec!["@SUM(A1)".into()];
        let mut buf = Vec::new();
        write(&[i], ExportFormat::Csv, &mut buf).unwrap();
        let mut r = csv::Reader::from_reader(buf.as_slice());
        let rec = r.records().next().unwrap().unwrap();
        assert_eq!(&rec[5], "'=HYPERLINK(\"http://evil\",\"click\")gnp.exe");
        assert_eq!(&rec[7], "'@SUM(A1)");
        for cell in rec.iter() {
            assert!(!cell.starts_with(['=', '+', '-', '@']), "{cell}");
            assert!(!cell.chars().any(crate::text::is_unsafe), "{cell:?}");
        }
    }
}
