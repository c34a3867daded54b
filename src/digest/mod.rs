//! The digest marketers read: a pure builder from stored aggregates to a
//! [`Digest`] model (`build`), what it reads from the store (`gather`),
//! the periods it covers (`period`), the trend test (`trend`), quote
//! redaction (`redact`), and renderers (`render`: Block Kit, Markdown,
//! JSON, CSV; `html` with `chart`'s SVG; `chart`'s PNG for Slack). No
//! Slack I/O here: `slack::digest` posts what this builds.

pub mod build;
pub mod chart;
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
