//! Use cases, apart from the Slack transport: each takes the `Context` (or
//! the store and config it needs) and typed input, and returns a typed
//! outcome or its own `UserError`; none knows slack-morphism. The Slack
//! router (`slack::router`) parses a payload once into a typed action,
//! calls one of these, and renders the outcome as Block Kit or text.

pub mod ask;
pub mod digest;
pub mod error;
pub mod home;
pub mod initiatives;
pub mod loops;
pub mod notes;
pub mod pause;
pub mod retag;
pub mod runs;
pub mod search;

pub use error::UserError;
