//! A local emulator of Slack for testing and demoing the Fieldnotes bot.
//!
//! Real Slack cannot be used in CI and makes timing rules (3 s acks, 3 s
//! trigger ids, retries, rate limits) hard to exercise. This crate serves the
//! Web API, Socket Mode and signed Events API delivery on 127.0.0.1 with
//! Slack's documented rules (signing, retries, Socket Mode, rate limits, Block Kit limits,
//! external file uploads: [`Emulator::uploaded_files`]), lets a test
//! act as workspace members (click, submit, type commands) and records what
//! the bot did. Every payload has the shape slack-morphism's models parse.
//!
//! It is as strict as Slack: only exact `/api/METHOD` URLs are served (HTTP
//! 404 otherwise), methods and their arguments are checked against Slack's
//! reference embedded from `api-ref/` (see [`api_ref`]), and arguments a
//! method does not take are recorded ([`Emulator::unexpected_args`]).
//!
//! ```no_run
//! # async fn demo() -> anyhow::Result<()> {
//! use slack_emulator::{Emulator, EmulatorConfig, User};
//! let emu = Emulator::start(EmulatorConfig::default()).await?;
//! emu.add_user(User::new("U0ALICE001", "alice", "America/New_York"));
//! println!("point the bot at {}", emu.api_url());
//! # Ok(()) }
//! ```

mod actions;
pub mod api_ref;
pub mod blockkit;
mod config;
mod delivery;
mod files;
mod multipart;
mod payloads;
pub mod ratelimit;
mod server;
mod socket_mode;
mod state;
mod web_api;

pub use config::{EmulatorConfig, Failure, FieldAnswer, User};
pub use delivery::{sign, verify, Delivery, DeliveryKind};
pub use ratelimit::RateLimits;
pub use server::Emulator;
pub use socket_mode::MAX_CONNECTIONS;
pub use state::{ApiCall, Message, OpenView, UploadedFile};
