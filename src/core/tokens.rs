//! The state of an office's OAuth2 tokens as a desk last saw it, kept in
//! a meta row so `yoyaku status` (another process) can say it.

use chrono::{DateTime, Utc};

/// Meta keys: this prefix and the logins the token serves ("imap+smtp").
pub const META_PREFIX: &str = "oauth2_token:";

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TokenState {
    pub provider: String,
    pub expires_at: Option<DateTime<Utc>>,
    pub requests: u64,
    pub failures: u64,
    pub last_error: Option<String>,
}

impl TokenState {
    /// One line, tab-separated (the error last: it may hold anything but
    /// a newline, which is replaced).
    pub fn to_meta(&self) -> String {
        format!(
            "{}\t{}\t{}\t{}\t{}",
            self.provider,
            self.expires_at.map(|t| t.to_rfc3339()).unwrap_or_default(),
            self.requests,
            self.failures,
            self.last_error
                .as_deref()
                .unwrap_or("")
                .replace(['\n', '\r'], " ")
        )
    }

    pub fn from_meta(value: &str) -> Option<TokenState> {
        let mut parts = value.splitn(5, '\t');
        let provider = parts.next()?.to_string();
        let expires_at = match parts.next()? {
            "" => None,
            t => Some(DateTime::parse_from_rfc3339(t).ok()?.with_timezone(&Utc)),
        };
        let requests = parts.next()?.parse().ok()?;
        let failures = parts.next()?.parse().ok()?;
        let last_error = Some(parts.next().unwrap_or("").to_string()).filter(|e| !e.is_empty());
        Some(TokenState {
            provider,
            expires_at,
            requests,
            failures,
            last_error,
        })
    }

    /// What `yoyaku status` says of it at `now`.
    pub fn describe(&self, now: DateTime<Utc>) -> String {
        let expiry = match self.expires_at {
            Some(t) if t > now => format!(
                "token valid until {} (in {} min)",
                t.format("%Y-%m-%d %H:%M UTC"),
                (t - now).num_minutes()
            ),
            Some(t) => format!(
                "token expired at {} and not renewed",
                t.format("%Y-%m-%d %H:%M UTC")
            ),
            None => "no token obtained yet".to_string(),
        };
        let error = self
            .last_error
            .as_deref()
            .map(|e| format!("; last refusal: {e}"))
            .unwrap_or_default();
        format!(
            "{} oauth2: {expiry}; {} request(s), {} failed{error}",
            self.provider, self.requests, self.failures
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    #[test]
    fn a_state_survives_its_meta_row_and_is_described() {
        let now = Utc.with_ymd_and_hms(2026, 12, 5, 6, 0, 0).unwrap();
        let state = TokenState {
            provider: "microsoft".into(),
            expires_at: Some(now + chrono::Duration::minutes(42)),
            requests: 3,
            failures: 1,
            last_error: Some("AADSTS7000215:\ninvalid secret".into()),
        };
        let back = TokenState::from_meta(&state.to_meta()).expect("parsed");
        assert_eq!(back.expires_at, state.expires_at);
        assert_eq!(
            back.last_error.as_deref(),
            Some("AADSTS7000215: invalid secret")
        );
        let said = back.describe(now);
        assert!(
            said.contains("in 42 min") && said.contains("1 failed"),
            "{said}"
        );
        assert!(back
            .describe(now + chrono::Duration::hours(1))
            .contains("expired"));
        assert_eq!(TokenState::from_meta("garbage"), None);
    }
}
