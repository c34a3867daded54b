//! Slack's v0 request signature, checked before any handler runs.
//! basestring = `v0:{timestamp}:{raw body}`, signature = `v0=` + hex HMAC-SHA256.

use hmac::{Hmac, Mac};
use secrecy::{ExposeSecret, SecretString};
use sha2::Sha256;

/// Slack's replay window.
pub const MAX_SKEW_SECS: i64 = 300;

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SignatureError {
    #[error("missing X-Slack-Request-Timestamp or X-Slack-Signature")]
    Missing,
    #[error("malformed timestamp")]
    BadTimestamp,
    #[error("timestamp outside the 5-minute window")]
    Stale,
    #[error("signature does not match")]
    Mismatch,
}

/// HMAC-SHA256 over Slack's basestring `v0:{timestamp}:{body}`.
fn basestring_mac(secret: &str, timestamp: &str, body: &[u8]) -> Hmac<Sha256> {
    let mut mac =
        Hmac::<Sha256>::new_from_slice(secret.as_bytes()).expect("HMAC takes any key length");
    mac.update(format!("v0:{timestamp}:").as_bytes());
    mac.update(body);
    mac
}

/// Computes `v0=<hex>` for a body (used by tests and the emulator's peers).
pub fn sign(secret: &str, timestamp: &str, body: &[u8]) -> String {
    format!(
        "v0={}",
        hex::encode(
            basestring_mac(secret, timestamp, body)
                .finalize()
                .into_bytes()
        )
    )
}

/// What can be checked from the headers alone, before any of the body is
/// read: both headers present, the timestamp inside the replay window, and
/// the signature shaped as `v0=` and 64 hex digits. Returns the decoded
/// signature.
pub fn check_headers(
    timestamp: Option<&str>,
    signature: Option<&str>,
    now_secs: i64,
) -> Result<[u8; 32], SignatureError> {
    let (Some(ts), Some(sig)) = (timestamp, signature) else {
        return Err(SignatureError::Missing);
    };
    if ts.len() > 20 {
        return Err(SignatureError::BadTimestamp);
    }
    let t: i64 = ts
        .trim()
        .parse()
        .map_err(|_| SignatureError::BadTimestamp)?;
    if now_secs
        .checked_sub(t)
        .is_none_or(|d| d.unsigned_abs() > MAX_SKEW_SECS.unsigned_abs())
    {
        return Err(SignatureError::Stale);
    }
    let mut given = [0u8; 32];
    match sig.strip_prefix("v0=") {
        Some(h) if h.len() == 64 && hex::decode_to_slice(h, &mut given).is_ok() => Ok(given),
        _ => Err(SignatureError::Mismatch),
    }
}

/// Verifies a request against any of the configured secrets (so a secret can
/// be rotated), in constant time, within the replay window around `now_secs`.
pub fn verify(
    secrets: &[SecretString],
    timestamp: Option<&str>,
    signature: Option<&str>,
    body: &[u8],
    now_secs: i64,
) -> Result<(), SignatureError> {
    let given = check_headers(timestamp, signature, now_secs)?;
    let ts = timestamp.unwrap_or_default();
    for secret in secrets {
        if basestring_mac(secret.expose_secret(), ts, body)
            .verify_slice(&given)
            .is_ok()
        {
            return Ok(());
        }
    }
    Err(SignatureError::Mismatch)
}

#[cfg(test)]
mod tests {
    use super::*;

    const SECRET: &str = "8f742231b10e8888abcd99yyyzzz85a5";
    const TS: &str = "1531420618";
    const BODY: &str = "token=xyzz0WbapA4vBCDEFasx0q6G&team_id=T1DC2JH3J&team_domain=testteamnow&channel_id=G8PSS9T3V&channel_name=foobar&user_id=U2CERLKJA&user_name=roadrunner&command=%2Fwebhook-collect&text=&response_url=https%3A%2F%2Fhooks.slack.com%2Fcommands%2FT1DC2JH3J%2F397700885554%2F96rGlfmibIGlgcZRskXaIFfN&trigger_id=398738663015.47445629121.803a0bc887a14d10d2c447fce8b6703c";
    const EXPECTED: &str = "v0=a2114d57b48eac39b9ad189dd8316235a7b4a8d21a10bd27519666489c69b503";

    fn secrets(s: &[&str]) -> Vec<SecretString> {
        s.iter()
            .map(|s| SecretString::from(s.to_string()))
            .collect()
    }

    #[test]
    fn slacks_published_test_vector() {
        assert_eq!(sign(SECRET, TS, BODY.as_bytes()), EXPECTED);
        assert_eq!(
            verify(
                &secrets(&[SECRET]),
                Some(TS),
                Some(EXPECTED),
                BODY.as_bytes(),
                1531420618 + 10
            ),
            Ok(())
        );
    }

    #[test]
    fn rotated_secrets_are_all_accepted() {
        assert_eq!(
            verify(
                &secrets(&["old", SECRET]),
                Some(TS),
                Some(EXPECTED),
                BODY.as_bytes(),
                1531420618
            ),
            Ok(())
        );
    }

    #[test]
    fn wrong_signature_is_rejected() {
        let wrong = EXPECTED.replace("a211", "b211");
        assert_eq!(
            verify(
                &secrets(&[SECRET]),
                Some(TS),
                Some(&wrong),
                BODY.as_bytes(),
                1531420618
            ),
            Err(SignatureError::Mismatch)
        );
        assert_eq!(
            verify(
                &secrets(&["other"]),
                Some(TS),
                Some(EXPECTED),
                BODY.as_bytes(),
                1531420618
            ),
            Err(SignatureError::Mismatch)
        );
        assert_eq!(
            verify(
                &secrets(&[SECRET]),
                Some(TS),
                Some("nothex"),
                BODY.as_bytes(),
                1531420618
            ),
            Err(SignatureError::Mismatch)
        );
    }

    #[test]
    fn stale_timestamp_is_rejected_even_with_a_good_signature() {
        assert_eq!(
            verify(
                &secrets(&[SECRET]),
                Some(TS),
                Some(EXPECTED),
                BODY.as_bytes(),
                1531420618 + 301
            ),
            Err(SignatureError::Stale)
        );
        assert_eq!(
            verify(
                &secrets(&[SECRET]),
                Some(TS),
                Some(EXPECTED),
                BODY.as_bytes(),
                1531420618 - 301
            ),
            Err(SignatureError::Stale)
        );
    }

    #[test]
    fn tampered_body_is_rejected() {
        let tampered = BODY.replace("text=", "text=pwned");
        assert_eq!(
            verify(
                &secrets(&[SECRET]),
                Some(TS),
                Some(EXPECTED),
                tampered.as_bytes(),
                1531420618
            ),
            Err(SignatureError::Mismatch)
        );
    }

    #[test]
    fn missing_headers_are_rejected() {
        assert_eq!(
            verify(
                &secrets(&[SECRET]),
                None,
                Some(EXPECTED),
                BODY.as_bytes(),
                0
            ),
            Err(SignatureError::Missing)
        );
        assert_eq!(
            verify(
                &secrets(&[SECRET]),
                Some("abc"),
                Some(EXPECTED),
                BODY.as_bytes(),
                0
            ),
            Err(SignatureError::BadTimestamp)
        );
    }
}
