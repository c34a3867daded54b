//! What a digest's quotes hide: email addresses and phone numbers (on by
//! default, `redact = false` turns it off), and Slack's raw `<@U…>`
//! mentions, which become names (or "a colleague" in an anonymous digest).

use regex::Regex;
use std::borrow::Cow;
use std::sync::LazyLock;

/// Whether quotes are masked.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Redaction {
    On,
    Off,
}

/// An address: a local part, `@`, and a domain with a dot. Slack wraps
/// them as `<mailto:a@b.com|a@b.com>`; the whole link goes.
static EMAIL: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(
        r"(?i)<mailto:[^>|]+(?:\|[^>]*)?>|[a-z0-9._%+\-]+@[a-z0-9\-]+(?:\.[a-z0-9\-]+)*\.[a-z]{2,}",
    )
    .expect("valid regex")
});

/// A phone number: an optional `+`, then at least 7 digits with spaces,
/// dots, dashes or brackets between them (`+1 (415) 555-0134`,
/// `020 7946 0958`, `415.555.0134`). Slack wraps them as `<tel:…|…>`.
/// Years, quarters and prices don't look like this; a long order number
/// might, and is masked too, erring on the side of privacy.
static PHONE: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"<tel:[^>|]+(?:\|[^>]*)?>|(?:\+|\b)\d(?:[ .\-()]{0,2}\d){6,14}\b")
        .expect("valid regex")
});

/// A Slack user mention.
static MENTION: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r"<@([UW][A-Z0-9]{2,})(?:\|[^>]*)?>").expect("valid regex"));

pub const EMAIL_MASK: &str = "[email removed]";
pub const PHONE_MASK: &str = "[phone removed]";

impl Redaction {
    pub fn apply<'a>(self, text: &'a str) -> Cow<'a, str> {
        match self {
            Redaction::Off => Cow::Borrowed(text),
            Redaction::On => {
                let t = EMAIL.replace_all(text, EMAIL_MASK);
                match PHONE.replace_all(&t, PHONE_MASK) {
                    Cow::Borrowed(_) => Cow::Owned(t.into_owned()),
                    Cow::Owned(s) => Cow::Owned(s),
                }
            }
        }
    }
}

/// Replaces `<@U123>` (and `<@U123|name>`) with `name("U123")`.
pub fn mentions(text: &str, name: impl Fn(&str) -> String) -> String {
    MENTION
        .replace_all(text, |c: &regex::Captures<'_>| name(&c[1]))
        .into_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn on(s: &str) -> String {
        Redaction::On.apply(s).into_owned()
    }

    #[test]
    fn emails_and_phones_are_masked() {
        assert_eq!(
            on("Mail jane.doe+deals@contoso.co.uk or call +1 (415) 555-0134."),
            "Mail [email removed] or call [phone removed]."
        );
        assert_eq!(on("ring 020 7946 0958 today"), "ring [phone removed] today");
        assert_eq!(on("415.555.0134"), "[phone removed]");
        assert_eq!(
            on("<mailto:cfo@northwind.com|cfo@northwind.com> and <tel:+14155550134|415 555 0134>"),
            "[email removed] and [phone removed]"
        );
    }

    #[test]
    fn ordinary_figures_stay() {
        let s = "Q3 2026: 40% off, 12 seats, $25,000 budget, SOC 2, 3-5 weeks";
        assert_eq!(on(s), s);
        assert_eq!(
            Redaction::Off.apply("a@b.com 415 555 0134"),
            "a@b.com 415 555 0134"
        );
    }

    #[test]
    fn mentions_become_names() {
        let s = mentions("ask <@U0REP0020> or <@W123|bob>", |id| {
            if id == "U0REP0020" {
                "@Dana".into()
            } else {
                "a colleague".into()
            }
        });
        assert_eq!(s, "ask @Dana or a colleague");
    }
}
