//! The one shape of a feature's failure. Each feature has its own error
//! enum whose `Display` is what the person is told: what they can fix
//! ("Only the person who shared this note can edit it."), or, when it was
//! our fault (the database, Slack), a short apology that keeps their words.
//! `internal()` hands our fault's cause to the one place that renders
//! errors for Slack (`slack::reply`), which logs it with its context; the
//! person never sees it. As triagebot's `UserError` beside its
//! `HandlerError`.

/// A feature's error, as the person should hear it.
pub trait UserError: std::fmt::Display + std::fmt::Debug {
    /// The cause, when it was our fault; `None` when it was the input.
    fn internal(&self) -> Option<&anyhow::Error> {
        None
    }

    /// The emoji the message opens with; empty when the text carries its
    /// own (a role refusal's `:no_entry:`).
    fn icon(&self) -> &'static str {
        ":warning:"
    }
}
