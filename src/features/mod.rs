//! Use cases, apart from the Slack transport: each takes what it needs
//! (the store, the time, typed input) and returns a typed outcome, and
//! knows nothing of slack-morphism. `slack::handlers` parses a payload,
//! calls one of these, and renders the outcome as Block Kit or text.
//!
//! Issue 11 moves the rest here over time (notes, home, digest preview,
//! retag); `pause`, `ask` and `runs` (one-off check-in runs) are first.

pub mod ask;
pub mod home;
pub mod pause;
pub mod runs;
