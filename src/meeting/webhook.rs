//! Zoom's webhook, checked: the URL validation answer and the signature of
//! each event (`x-zm-signature: v0=` + hex HMAC-SHA256 of
//! `v0:{x-zm-request-timestamp}:{raw body}`, compared in constant time,
//! the timestamp within five minutes of now). Pure: no clock read here.

use hmac::{Hmac, Mac};
use sha2::Sha256;

type HmacSha256 = Hmac<Sha256>;

/// How far an event's timestamp may be from now.
pub const MAX_SKEW_SECS: i64 = 300;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Verdict {
    Genuine,
    /// No signature, or not one made with the secret.
    Forged,
    /// Signed, but too old or too far ahead: a replay or a wrong clock.
    Stale,
}

/// Checks an event against one secret, at `now` (seconds since the epoch).
pub fn verify(
    secret: &str,
    timestamp: Option<&str>,
    signature: Option<&str>,
    body: &[u8],
    now: i64,
) -> Verdict {
    let (Some(ts), Some(sig)) = (timestamp, signature) else {
        return Verdict::Forged;
    };
    let Some(given) = sig.strip_prefix("v0=").and_then(from_hex) else {
        return Verdict::Forged;
    };
    let Some(mac) = event_mac(secret, ts, body) else {
        return Verdict::Forged;
    };
    if mac.verify_slice(&given).is_err() {
        return Verdict::Forged;
    }
    // Zoom sends seconds; milliseconds are accepted too.
    match ts.trim().parse::<i64>() {
        Ok(t) => {
            let t = if t > 100_000_000_000 { t / 1000 } else { t };
            if (now - t).abs() <= MAX_SKEW_SECS {
                Verdict::Genuine
            } else {
                Verdict::Stale
            }
        }
        Err(_) => Verdict::Stale,
    }
}

/// The answer to `endpoint.url_validation`: hex HMAC-SHA256 of the plain token.
pub fn encrypt_token(secret: &str, plain_token: &str) -> String {
    match HmacSha256::new_from_slice(secret.as_bytes()) {
        Ok(mut mac) => {
            mac.update(plain_token.as_bytes());
            to_hex(&mac.finalize().into_bytes())
        }
        Err(_) => String::new(),
    }
}

/// `v0=` + the hex signature: what Zoom sends (and tests send).
pub fn sign(secret: &str, timestamp: &str, body: &[u8]) -> String {
    event_mac(secret, timestamp, body)
        .map(|mac| format!("v0={}", to_hex(&mac.finalize().into_bytes())))
        .unwrap_or_default()
}

/// The HMAC of `v0:{timestamp}:{body}` with the secret, not yet finished.
fn event_mac(secret: &str, timestamp: &str, body: &[u8]) -> Option<HmacSha256> {
    let mut mac = HmacSha256::new_from_slice(secret.as_bytes()).ok()?;
    mac.update(b"v0:");
    mac.update(timestamp.as_bytes());
    mac.update(b":");
    mac.update(body);
    Some(mac)
}

fn to_hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

fn from_hex(s: &str) -> Option<Vec<u8>> {
    let s = s.trim();
    if !s.len().is_multiple_of(2) || !s.is_ascii() {
        return None;
    }
    (0..s.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&s[i..i + 2], 16).ok())
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_signed_event_is_genuine_only_with_the_secret_and_in_time() {
        let body = br#"{"event":"meeting.participant_joined"}"#;
        let sig = sign("s3cret", "1700000000", body);
        assert_eq!(
            verify(
                "s3cret",
                Some("1700000000"),
                Some(&sig),
                body,
                1_700_000_100
            ),
            Verdict::Genuine
        );
        assert_eq!(
            verify("other", Some("1700000000"), Some(&sig), body, 1_700_000_100),
            Verdict::Forged
        );
        assert_eq!(
            verify(
                "s3cret",
                Some("1700000000"),
                Some(&sig),
                b"{}",
                1_700_000_100
            ),
            Verdict::Forged
        );
        assert_eq!(
            verify(
                "s3cret",
                Some("1700000000"),
                Some(&sig),
                body,
                1_700_000_301
            ),
            Verdict::Stale
        );
        assert_eq!(
            verify("s3cret", Some("1700000000"), None, body, 1_700_000_000),
            Verdict::Forged
        );
        assert_eq!(
            verify(
                "s3cret",
                Some("1700000000"),
                Some("v0=zz"),
                body,
                1_700_000_000
            ),
            Verdict::Forged
        );
    }

    #[test]
    fn the_url_validation_answer_is_the_hmac_of_the_plain_token() {
        // HMAC-SHA256("key", "The quick brown fox jumps over the lazy dog").
        assert_eq!(
            encrypt_token("key", "The quick brown fox jumps over the lazy dog"),
            "f7bc83f430538424b13298e6aa6fb143ef4d59a14946175997479dbc2d1a3cd8"
        );
    }
}
