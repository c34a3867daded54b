//! The digest marketers read: a pure builder from stored aggregates to a
//! [`Digest`] model (`build`), what it reads from the store (`gather`),
//! the periods it covers (`period`), the trend test (`trend`), quote
//! redaction (`redact`), and renderers (`render`: Block Kit, Markdown,
//! JSON, CSV; `html` with `chart`'s SVG; `chart`'s PNG for Slack). No
//! Slack I/O here: `slack::digest` posts what this builds.

pub mod build;
pub mod chart;
pub mod debrief;
mod gather;
pub mod html;
pub mod model;
pub mod period;
pub mod redact;
pub mod render;
pub mod trend;
mod week;

pub use build::{build, Aggregates, BASELINE_PERIODS};
pub use gather::{aggregates, gather, missing_names, scope};
pub use model::*;
pub use period::Period;
pub use render::{render, to_json, Format};
pub use week::IsoWeek;

pub use crate::text::truncate;

/// The Markdown rendering (what App Home's preview and the terminal show).
pub fn to_markdown(d: &Digest) -> String {
    render::markdown::render(d)
}

/// One line on a run, for the operator: "marketing-weekly 2026-W48: done
/// (posted), 124 notes".
pub fn run_line(run: &crate::store::DigestRunRow) -> String {
    let what = match run.status.as_str() {
        "done" => "posted".to_string(),
        "empty" => "no notes in the period, nothing posted".to_string(),
        "failed" => format!(
            "failed: {}",
            run.last_error.as_deref().unwrap_or("see the log")
        ),
        "posting" => "posting, will resume".to_string(),
        _ => "waiting to be built".to_string(),
    };
    let notes = run
        .notes
        .map(|n| format!(", {n} notes"))
        .unwrap_or_default();
    format!("{} {}: {what}{notes}", run.digest, run.period)
}
