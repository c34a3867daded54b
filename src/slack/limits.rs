//! Slack's own limits, enforced on what arrives: a payload that claims more
//! than Slack can send (a 500 KB user id, a 2 MB "message", a form field
//! past its `max_length`) is not from Slack, and is refused before it costs
//! a write, a log line or a Slack call.

/// A message's `text` is truncated by Slack past 40,000 characters.
pub const MAX_MESSAGE_CHARS: usize = 40_000;

/// A `plain_text_input`'s `max_length` is at most 3,000.
pub const MAX_INPUT_CHARS: usize = 3_000;

/// Slack ids (`U…`, `W…`, `C…`, `D…`, `T…`) are short upper-case
/// alphanumerics; 32 leaves room for longer ones Slack may mint.
pub const MAX_ID_LEN: usize = 32;

/// `trigger_id`s, `ts`s, `action_id`s and `block_id`s are at most 255.
pub const MAX_TOKEN_LEN: usize = 255;

/// Whether `id` is shaped like a Slack id: 2–32 upper-case letters and digits.
pub fn is_slack_id(id: &str) -> bool {
    (2..=MAX_ID_LEN).contains(&id.len())
        && id
            .bytes()
            .all(|b| b.is_ascii_uppercase() || b.is_ascii_digit())
}

/// Whether a trigger id, ts or action id is within Slack's size and
/// printable-ASCII shape (no spaces or control characters).
pub fn is_token(s: &str) -> bool {
    !s.is_empty() && s.len() <= MAX_TOKEN_LEN && s.bytes().all(|b| b.is_ascii_graphic())
}

/// At most the first 40 bytes of an untrusted value (on a char boundary),
/// for a log line.
pub fn for_log(s: &str) -> &str {
    let mut end = s.len().min(40);
    while !s.is_char_boundary(end) {
        end -= 1;
    }
    &s[..end]
}

/// `n` with thousands separators, as people read it (`3,000`).
pub fn thousands(n: usize) -> String {
    let digits = n.to_string();
    let mut out = String::new();
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    out
}

/// Whether `text` is within `max` characters (counted without walking
/// past the limit).
pub fn within_chars(text: &str, max: usize) -> bool {
    text.len() <= max || text.chars().nth(max).is_none()
}

/// A submitted form whose values Slack's inputs could not have produced
/// (past `max_length`, more options than a select holds, more blocks than a
/// modal holds): the block to flag, and why.
pub fn over_form_limits(values: &crate::capture::FormValues) -> Option<(String, String)> {
    if values.len() > 100 {
        let block = values.keys().min().cloned().unwrap_or_default();
        return Some((block, "This form has more fields than Slack allows.".into()));
    }
    for (block, vals) in values {
        if vals.len() > 100 {
            return Some((block.clone(), "Pick at most 100 options.".into()));
        }
        if let Some(v) = vals.iter().find(|v| !within_chars(v, MAX_INPUT_CHARS)) {
            return Some((
                block.clone(),
                format!(
                    "Keep this under {} characters (it has {}).",
                    thousands(MAX_INPUT_CHARS),
                    thousands(v.chars().count())
                ),
            ));
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids() {
        assert!(is_slack_id("U0REP0020"));
        assert!(is_slack_id("W012ABCDEF"));
        assert!(!is_slack_id(""));
        assert!(!is_slack_id("U"));
        assert!(!is_slack_id("u123"));
        assert!(!is_slack_id("U123 "));
        assert!(!is_slack_id(&"U".repeat(500_000)));
        assert!(is_token(
            "398738663015.47445629121.803a0bc887a14d10d2c447fce8b6703c"
        ));
        assert!(!is_token(""));
        assert!(!is_token("a b"));
        assert!(!is_token(&"1".repeat(256)));
    }

    #[test]
    fn lengths() {
        assert!(within_chars("", 0));
        assert!(within_chars("héllo", 5));
        assert!(!within_chars("héllo", 4));
        assert!(within_chars(&"é".repeat(3000), 3000));
        assert!(!within_chars(&"é".repeat(3001), 3000));
        assert_eq!(for_log(&"é".repeat(100)).chars().count(), 20);
        assert_eq!(thousands(3000), "3,000");
        assert_eq!(thousands(40_000), "40,000");
        assert_eq!(thousands(1_048_576), "1,048,576");
        assert_eq!(thousands(999), "999");
    }
}
