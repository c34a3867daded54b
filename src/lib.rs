//! Fieldnotes: a Slack bot that turns what salespeople hear into tagged field
//! notes and weekly digests for marketing.
//!
//! The crate is a library with a thin binary (`src/main.rs`). The pure core
//! (`config`, `schedule`, `tagging`, `digest`, `domain`) does no I/O; `store`
//! owns every SQL statement and `slack` owns every slack-morphism type.

pub mod app;
pub mod architecture;
pub mod audit;
pub mod capture;
pub mod cli;
pub mod clock;
pub mod commands;
pub mod config;
pub mod context;
#[cfg(feature = "demo")]
pub mod demo;
pub mod digest;
pub mod domain;
pub mod export;
pub mod features;
pub mod inbox;
pub mod jobs;
pub mod logging;
pub mod metrics;
pub mod ops;
pub mod plan;
pub mod privacy;
pub mod reload;
pub mod report;
pub mod roles;
pub mod schedule;
pub mod search;
pub mod server;
pub mod slack;
pub mod store;
pub mod tagging;
pub mod tasks;
pub mod text;
pub mod tz;
