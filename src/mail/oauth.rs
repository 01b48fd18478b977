//! OAuth 2.0 access tokens for the office's own mailbox (IMAP and SMTP by
//! SASL XOAUTH2), from Entra ID (client credentials) or Google (a service
//! account's JWT bearer grant, RFC 7523). Tokens are cached per app and
//! mailbox and renewed shortly before they expire; a refused token gets
//! one fresh one (the caller asks with `fresh`). Secrets, tokens and
//! assertions never reach a log line, an error or a metric.

use crate::config::{OAuth2, OAuthProvider};
use base64::Engine;
use chrono::{DateTime, Utc};
use serde::Deserialize;
use std::collections::HashMap;
use std::sync::{Arc, LazyLock};
use std::time::{Duration, Instant};
use tracing::{info, warn};

/// A token is renewed this long before it expires (or at half its life,
/// when it lives shorter than twice this).
const RENEW_BEFORE: Duration = Duration::from_secs(300);
/// Google's longest assertion life.
const ASSERTION_SECS: i64 = 3600;

/// Why no token came.
#[derive(Debug, thiserror::Error)]
pub enum OAuthError {
    #[error("no answer from the {provider} token endpoint {url}: {message}")]
    Unreachable {
        provider: &'static str,
        url: String,
        message: String,
    },
    #[error(
        "the {provider} token endpoint refused (HTTP {status}, {code}): {description}; {hint}"
    )]
    Refused {
        provider: &'static str,
        status: u16,
        code: String,
        description: String,
        hint: &'static str,
    },
    #[error("the {provider} token endpoint answered without a token: {source}")]
    BadAnswer {
        provider: &'static str,
        #[source]
        source: serde_json::Error,
    },
    #[error("signing the service account's assertion failed (oauth2.service_account_file)")]
    Sign,
}

impl OAuthError {
    /// Whether asking again later may help (the endpoint down or busy),
    /// as opposed to a configuration IT must fix.
    pub fn is_transient(&self) -> bool {
        match self {
            OAuthError::Unreachable { .. } => true,
            OAuthError::Refused { status, .. } => *status == 429 || *status >= 500,
            OAuthError::BadAnswer { .. } | OAuthError::Sign => false,
        }
    }
}

/// One app's token for one mailbox, and what it cost to get (apart, so
/// `/metrics` reads the counts while a request is in flight).
#[derive(Default)]
struct Entry {
    token: tokio::sync::Mutex<Option<Cached>>,
    seen: std::sync::Mutex<Seen>,
}

#[derive(Default, Clone)]
struct Seen {
    requests: u64,
    failures: u64,
    expires_at: Option<DateTime<Utc>>,
    last_error: Option<String>,
}

struct Cached {
    access_token: String,
    renew_at: Instant,
}

/// What `/metrics` and `status` show of one mailbox's token (no secret).
#[derive(Debug, Clone)]
pub struct TokenStats {
    pub mailbox: String,
    pub provider: &'static str,
    pub requests: u64,
    pub failures: u64,
    pub expires_at: Option<DateTime<Utc>>,
    /// The last refusal, in words, until a token comes again.
    pub last_error: Option<String>,
}

type Slot = Arc<Entry>;

/// (app and scope, mailbox) → its token slot and the provider's name.
type Registry = HashMap<(String, String), (Slot, &'static str)>;

static TOKENS: LazyLock<std::sync::Mutex<Registry>> = LazyLock::new(Default::default);

static HTTP: LazyLock<Option<reqwest::Client>> = LazyLock::new(|| {
    reqwest::Client::builder()
        .use_preconfigured_tls(super::net::https_tls_config())
        .user_agent(concat!("yoyaku/", env!("CARGO_PKG_VERSION")))
        .build()
        .ok()
});

fn slot(cfg: &OAuth2, mailbox: &str) -> Slot {
    // The credential's digest too: a new secret or key is a new login.
    use sha2::{Digest, Sha256};
    let credential = match &cfg.provider {
        OAuthProvider::Microsoft { client_secret, .. } => Sha256::digest(client_secret.as_bytes()),
        OAuthProvider::Google {
            private_key_der, ..
        } => Sha256::digest(private_key_der),
    };
    let key = (
        format!(
            "{}\n{}\n{}\n{:x}",
            cfg.token_url,
            cfg.client(),
            cfg.scope,
            credential
        ),
        mailbox.to_ascii_lowercase(),
    );
    let mut all = TOKENS.lock().unwrap_or_else(|p| p.into_inner());
    all.entry(key)
        .or_insert_with(|| (Slot::default(), cfg.provider_name()))
        .0
        .clone()
}

fn seen(entry: &Entry) -> std::sync::MutexGuard<'_, Seen> {
    entry.seen.lock().unwrap_or_else(|p| p.into_inner())
}

/// A token for `mailbox`: the cached one while it lives, else a new one;
/// `fresh` asks for a new one whatever the cache holds (the server refused
/// the cached one).
pub async fn token(cfg: &OAuth2, mailbox: &str, fresh: bool) -> Result<String, OAuthError> {
    let slot = slot(cfg, mailbox);
    let mut cached = slot.token.lock().await;
    if let Some(c) = cached.as_ref() {
        if !fresh && Instant::now() < c.renew_at {
            return Ok(c.access_token.clone());
        }
    }
    seen(&slot).requests += 1;
    match request(cfg, mailbox).await {
        Ok(answer) => {
            let life = Duration::from_secs(answer.expires_in.unwrap_or(3600).max(1));
            let lead = RENEW_BEFORE.min(life / 2);
            *cached = Some(Cached {
                access_token: answer.access_token.clone(),
                renew_at: Instant::now() + life - lead,
            });
            {
                let mut seen = seen(&slot);
                seen.expires_at = Some(
                    Utc::now()
                        + chrono::Duration::from_std(life).unwrap_or(chrono::Duration::hours(1)),
                );
                seen.last_error = None;
            }
            info!(
                provider = cfg.provider_name(),
                expires_in = life.as_secs(),
                "oauth2 token obtained"
            );
            Ok(answer.access_token)
        }
        Err(e) => {
            {
                let mut seen = seen(&slot);
                seen.failures += 1;
                seen.last_error = Some(e.to_string());
            }
            warn!(provider = cfg.provider_name(), error = %e, "oauth2 token refused");
            Err(e)
        }
    }
}

/// What this process knows of `mailbox`'s token from this app.
pub fn stats_of(cfg: &OAuth2, mailbox: &str) -> TokenStats {
    let slot = slot(cfg, mailbox);
    let seen = seen(&slot).clone();
    TokenStats {
        mailbox: mailbox.to_string(),
        provider: cfg.provider_name(),
        requests: seen.requests,
        failures: seen.failures,
        expires_at: seen.expires_at,
        last_error: seen.last_error,
    }
}

/// Every cached token's counts and expiry.
pub fn stats() -> Vec<TokenStats> {
    let all = TOKENS.lock().unwrap_or_else(|p| p.into_inner());
    all.iter()
        .map(|((_, mailbox), (slot, provider))| {
            let seen = seen(slot).clone();
            TokenStats {
                mailbox: mailbox.clone(),
                provider,
                requests: seen.requests,
                failures: seen.failures,
                expires_at: seen.expires_at,
                last_error: seen.last_error,
            }
        })
        .collect()
}

/// The SASL XOAUTH2 initial response (before base64).
pub fn xoauth2(user: &str, token: &str) -> String {
    format!("user={user}\x01auth=Bearer {token}\x01\x01")
}

/// What the server's XOAUTH2 error challenge (base64 JSON, e.g.
/// `{"status":"401","schemes":"Bearer","scope":"https://mail.google.com/"}`)
/// says, in words for the log and `check`.
pub fn challenge_words(decoded: &[u8]) -> String {
    #[derive(Deserialize)]
    struct Status {
        status: Option<serde_json::Value>,
        scope: Option<String>,
    }
    match serde_json::from_slice::<Status>(decoded) {
        Ok(s) => format!(
            "status {}{}",
            s.status
                .map(|v| v.to_string().replace('"', ""))
                .unwrap_or_default(),
            s.scope
                .map(|sc| format!(", scope {sc}"))
                .unwrap_or_default()
        ),
        Err(_) => crate::core::text::single_line(&String::from_utf8_lossy(decoded), 200),
    }
}

/// What to check when the mail server refuses a token it was given.
pub fn login_hint(cfg: &OAuth2, service: &str) -> &'static str {
    match (&cfg.provider, service) {
        (OAuthProvider::Microsoft { .. }, "smtp") => {
            "check that the app has SMTP.SendAsApp (Office 365 Exchange Online) with admin consent, that its service principal has FullAccess to the mailbox (Add-MailboxPermission), and that SMTP AUTH is allowed for it (Set-CASMailbox -SmtpClientAuthenticationDisabled $false)"
        }
        (OAuthProvider::Microsoft { .. }, _) => {
            "check that the app has IMAP.AccessAsApp (Office 365 Exchange Online) with admin consent, that its service principal is registered in Exchange Online (New-ServicePrincipal) and has FullAccess to the mailbox (Add-MailboxPermission)"
        }
        (OAuthProvider::Google { .. }, _) => {
            "check that domain-wide delegation allows the service account's client ID the scope https://mail.google.com/ (Admin console: Security > API controls > Domain-wide delegation) and that the user is a mailbox of the domain with IMAP enabled"
        }
    }
}

#[derive(Deserialize)]
struct TokenAnswer {
    access_token: String,
    expires_in: Option<u64>,
}

#[derive(Deserialize, Default)]
struct ErrorAnswer {
    error: Option<String>,
    error_description: Option<String>,
}

async fn request(cfg: &OAuth2, mailbox: &str) -> Result<TokenAnswer, OAuthError> {
    let provider = cfg.provider_name();
    let unreachable = |message: String| OAuthError::Unreachable {
        provider,
        url: cfg.token_url.clone(),
        message,
    };
    let http = HTTP
        .as_ref()
        .ok_or_else(|| unreachable("no HTTP client".into()))?;
    let form: Vec<(&str, String)> = match &cfg.provider {
        OAuthProvider::Microsoft {
            client_id,
            client_secret,
        } => vec![
            ("grant_type", "client_credentials".into()),
            ("client_id", client_id.clone()),
            ("client_secret", client_secret.clone()),
            ("scope", cfg.scope.clone()),
        ],
        OAuthProvider::Google {
            client_email,
            private_key_der,
            private_key_id,
        } => {
            let claims = AssertionClaims {
                iss: client_email,
                sub: mailbox,
                scope: &cfg.scope,
                aud: &cfg.token_url,
                iat: Utc::now().timestamp(),
                exp: Utc::now().timestamp() + ASSERTION_SECS,
            };
            vec![
                (
                    "grant_type",
                    "urn:ietf:params:oauth:grant-type:jwt-bearer".into(),
                ),
                (
                    "assertion",
                    assertion(&claims, private_key_der, private_key_id.as_deref())?,
                ),
            ]
        }
    };
    let answer = http
        .post(&cfg.token_url)
        .timeout(cfg.timeout)
        .form(&form)
        .send()
        .await
        .map_err(|e| unreachable(without_url(e)))?;
    let status = answer.status();
    let body = answer
        .bytes()
        .await
        .map_err(|e| unreachable(without_url(e)))?;
    if !status.is_success() {
        let err: ErrorAnswer = serde_json::from_slice(&body).unwrap_or_default();
        let code = err.error.unwrap_or_else(|| "no error code".into());
        let description = err
            .error_description
            .map(|d| first_sentences(&d))
            .unwrap_or_default();
        return Err(OAuthError::Refused {
            provider,
            status: status.as_u16(),
            hint: token_hint(&code, &description),
            code,
            description,
        });
    }
    serde_json::from_slice(&body).map_err(|source| OAuthError::BadAnswer { provider, source })
}

/// reqwest's error without the URL's query (none here) and without a body.
fn without_url(e: reqwest::Error) -> String {
    if e.is_timeout() {
        "timed out".into()
    } else if e.is_connect() {
        "cannot connect".into()
    } else {
        e.without_url().to_string()
    }
}

/// Entra's descriptions end with trace and correlation ids and a time.
fn first_sentences(d: &str) -> String {
    let cut = d.find(" Trace ID:").unwrap_or(d.len());
    crate::core::text::single_line(&d[..cut], 300)
}

/// What IT should check, by the provider's error.
fn token_hint(code: &str, description: &str) -> &'static str {
    let aadsts = |n: &str| description.contains(&format!("AADSTS{n}:"));
    if aadsts("7000215") {
        "the client secret is wrong: set oauth2.client_secret to the secret's Value (not its Secret ID) from the app's Certificates & secrets"
    } else if aadsts("7000222") {
        "the client secret has expired: create a new one under Certificates & secrets"
    } else if aadsts("700016") {
        "no app with this client_id in the tenant: check oauth2.client_id and oauth2.tenant (the app registration's overview)"
    } else if aadsts("90002") || aadsts("900023") {
        "the tenant is unknown: set oauth2.tenant to the tenant id or its domain"
    } else if aadsts("1002012") || aadsts("70011") || code == "invalid_scope" {
        "the scope is not valid: leave oauth2.scope unset (https://outlook.office365.com/.default; Google: https://mail.google.com/)"
    } else if code == "unauthorized_client" {
        "domain-wide delegation is missing: in the Admin console allow the service account's client ID the scope https://mail.google.com/"
    } else if code == "invalid_grant" {
        "the key or the assertion was refused: check that oauth2.service_account_file is a current key of the service account, that the mailbox (sub) is a user of the domain, and that this machine's clock is right"
    } else if code == "invalid_client" {
        "the app or service account is unknown or its credential is wrong: check oauth2.client_id / the key file"
    } else {
        "check the [oauth2] settings against the app registration"
    }
}

#[derive(serde::Serialize)]
struct AssertionClaims<'a> {
    iss: &'a str,
    sub: &'a str,
    scope: &'a str,
    aud: &'a str,
    iat: i64,
    exp: i64,
}

/// A JWT signed RS256 with the service account's key.
fn assertion(
    claims: &AssertionClaims<'_>,
    key_der: &[u8],
    key_id: Option<&str>,
) -> Result<String, OAuthError> {
    let b64 = |bytes: &[u8]| base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes);
    let header = match key_id {
        Some(kid) => serde_json::json!({ "alg": "RS256", "typ": "JWT", "kid": kid }),
        None => serde_json::json!({ "alg": "RS256", "typ": "JWT" }),
    };
    let header = serde_json::to_vec(&header).map_err(|_| OAuthError::Sign)?;
    let body = serde_json::to_vec(claims).map_err(|_| OAuthError::Sign)?;
    let signing_input = format!("{}.{}", b64(&header), b64(&body));
    let key = ring::signature::RsaKeyPair::from_pkcs8(key_der).map_err(|_| OAuthError::Sign)?;
    let mut signature = vec![0; key.public().modulus_len()];
    key.sign(
        &ring::signature::RSA_PKCS1_SHA256,
        &ring::rand::SystemRandom::new(),
        signing_input.as_bytes(),
        &mut signature,
    )
    .map_err(|_| OAuthError::Sign)?;
    Ok(format!("{signing_input}.{}", b64(&signature)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_xoauth2_response_is_the_documented_one() {
        assert_eq!(
            xoauth2("desk@example.jp", "ya29.x"),
            "user=desk@example.jp\x01auth=Bearer ya29.x\x01\x01"
        );
    }

    #[test]
    fn the_providers_errors_get_a_fix() {
        let wrong_secret = "AADSTS7000215: Invalid client secret provided. Ensure the secret being sent in the request is the client secret value, not the client secret ID. Trace ID: 1 Correlation ID: 2 Timestamp: 2026-12-05";
        assert!(token_hint("invalid_client", wrong_secret).contains("Value"));
        assert_eq!(
            first_sentences(wrong_secret),
            "AADSTS7000215: Invalid client secret provided. Ensure the secret being sent in the request is the client secret value, not the client secret ID."
        );
        assert!(token_hint("unauthorized_client", "").contains("delegation"));
        assert!(token_hint("invalid_grant", "Invalid JWT Signature.").contains("key"));
    }

    #[test]
    fn googles_error_challenge_is_read() {
        let words = challenge_words(
            br#"{"status":"401","schemes":"Bearer","scope":"https://mail.google.com/"}"#,
        );
        assert_eq!(words, "status 401, scope https://mail.google.com/");
    }
}
