//! What reps type, made safe to show: control and bidirectional-override
//! characters are stripped from everything rendered (Slack messages, App
//! Home, digests, exports), and CSV cells are neutralised against formula
//! injection. The stored text is left as the rep wrote it.

use std::borrow::Cow;

/// Whether `c` is stripped from rendered text: C0 and C1 controls other
/// than newline and tab, DEL, and the Unicode bidi controls that can make a
/// line read differently from what it holds (the "Trojan Source" set:
/// LRE, RLE, PDF, LRO, RLO, LRI, RLI, FSI, PDI, plus LRM, RLM and ALM).
pub fn is_unsafe(c: char) -> bool {
    matches!(c,
        '\u{0}'..='\u{8}' | '\u{b}' | '\u{c}' | '\u{d}'..='\u{1f}' | '\u{7f}'..='\u{9f}'
        | '\u{200e}' | '\u{200f}' | '\u{061c}'
        | '\u{202a}'..='\u{202e}' | '\u{2066}'..='\u{2069}')
}

/// `s` without [`is_unsafe`] characters (a CR in a CRLF pair becomes a plain
/// newline). Borrows when there is nothing to strip.
pub fn clean(s: &str) -> Cow<'_, str> {
    if !s.chars().any(is_unsafe) {
        return Cow::Borrowed(s);
    }
    let s = s.replace("\r\n", "\n");
    Cow::Owned(s.chars().filter(|c| !is_unsafe(*c)).collect())
}

/// A CSV cell per OWASP's "CSV Injection" rule: cleaned, and prefixed with
/// a `'` when it begins with a character a spreadsheet reads as a formula
/// (`=`, `+`, `-`, `@`, tab or carriage return), also after leading spaces,
/// which some spreadsheets skip. Quoting is left to the CSV writer.
pub fn csv_cell(s: &str) -> Cow<'_, str> {
    let s = clean(s);
    let first = s.trim_start_matches(' ').chars().next();
    if matches!(first, Some('=' | '+' | '-' | '@' | '\t' | '\r')) {
        Cow::Owned(format!("'{s}"))
    } else {
        s
    }
}

/// Cuts text to `max` characters on a char boundary, with an ellipsis.
pub fn truncate(s: &str, max: usize) -> String {
    if s.chars().count() <= max {
        return s.to_string();
    }
    let mut out: String = s.chars().take(max.saturating_sub(1)).collect();
    out = out.trim_end().to_string();
    out.push('…');
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formulas_are_neutralised() {
        for bad in [
            "=HYPERLINK(\"http://x\")",
            "+1+1",
            "-2+3",
            "@SUM(A1)",
            "\t=1",
            "  =1",
        ] {
            let c = csv_cell(bad);
            assert!(c.starts_with('\''), "{bad:?} became {c:?}");
        }
        assert_eq!(csv_cell("Acme = cheaper"), "Acme = cheaper");
        assert_eq!(csv_cell("2026-11-23"), "2026-11-23");
        assert_eq!(csv_cell(""), "");
    }

    #[test]
    fn controls_and_bidi_are_stripped() {
        assert_eq!(clean("plain\nlines\tand tabs"), "plain\nlines\tand tabs");
        assert!(matches!(clean("nothing to do"), Cow::Borrowed(_)));
        assert_eq!(clean("a\u{202e}evil\u{202c}b"), "aevilb");
        assert_eq!(clean("x\u{0}y\u{7}z\u{1b}[31m"), "xyz[31m");
        assert_eq!(clean("one\r\ntwo\rthree"), "one\ntwothree");
        assert_eq!(clean("\u{2066}iso\u{2069}\u{200f}"), "iso");
        assert_eq!(clean("\u{85}next"), "next");
        // Ordinary non-ASCII text is kept.
        assert_eq!(clean("héllo – שלום 👋"), "héllo – שלום 👋");
    }
}
