//! `[oauth2]`: how an office's mailbox is reached without a password
//! (Microsoft 365 app-only client credentials; Google Workspace service
//! account with domain-wide delegation). The token itself is `mail::oauth`'s.

use super::check::secret_of;
use super::raw::RawOAuth2;
use super::{key_err, ConfigError};
use std::path::Path;
use std::time::Duration;

/// Who issues the tokens.
#[derive(Clone, PartialEq, Eq)]
pub enum OAuthProvider {
    /// Entra ID, client credentials (`IMAP.AccessAsApp`, `SMTP.SendAsApp`).
    Microsoft {
        client_id: String,
        client_secret: String,
    },
    /// A service account's key: a JWT (RS256) exchanged for a token of the
    /// mailbox it names in `sub` (RFC 7523).
    Google {
        client_email: String,
        /// The key's PKCS#8 DER (checked to be an RSA key at load).
        private_key_der: Vec<u8>,
        private_key_id: Option<String>,
    },
}

/// The settings of one office's `[oauth2]`.
#[derive(Clone, PartialEq, Eq)]
pub struct OAuth2 {
    pub provider: OAuthProvider,
    pub token_url: String,
    pub scope: String,
    pub timeout: Duration,
}

impl OAuth2 {
    /// "microsoft" or "google", for messages and metrics.
    pub fn provider_name(&self) -> &'static str {
        match self.provider {
            OAuthProvider::Microsoft { .. } => "microsoft",
            OAuthProvider::Google { .. } => "google",
        }
    }

    /// The app's or service account's public name (no secret).
    pub fn client(&self) -> &str {
        match &self.provider {
            OAuthProvider::Microsoft { client_id, .. } => client_id,
            OAuthProvider::Google { client_email, .. } => client_email,
        }
    }
}

/// One mailbox an office logs in to with a token, and for what.
#[derive(Debug, Clone)]
pub struct OAuthLogin {
    /// "imap", "smtp" or "imap+smtp" (one token serves both).
    pub services: &'static str,
    pub mailbox: String,
    pub oauth2: OAuth2,
}

impl super::Config {
    /// The office's token logins: IMAP's and SMTP's, one entry when both
    /// are the same mailbox through the same app.
    pub fn oauth2_logins(&self) -> Vec<OAuthLogin> {
        let imap = self
            .imap
            .oauth2
            .as_ref()
            .map(|o| (self.imap.username.clone(), o));
        let smtp = self.smtp.oauth2.as_ref().map(|(u, o)| (u.clone(), o));
        let login = |services, (mailbox, oauth2): (String, &OAuth2)| OAuthLogin {
            services,
            mailbox,
            oauth2: oauth2.clone(),
        };
        match (imap, smtp) {
            (Some(i), Some(s)) if i.0.eq_ignore_ascii_case(&s.0) && i.1 == s.1 => {
                vec![login("imap+smtp", i)]
            }
            (i, s) => i
                .map(|i| login("imap", i))
                .into_iter()
                .chain(s.map(|s| login("smtp", s)))
                .collect(),
        }
    }
}

impl std::fmt::Debug for OAuth2 {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("OAuth2")
            .field("provider", &self.provider_name())
            .field("token_url", &self.token_url)
            .finish_non_exhaustive()
    }
}

/// `imap.auth` / `smtp.auth`: the [oauth2] settings when "oauth2".
pub(super) fn wanted(
    key: &str,
    auth: Option<&str>,
    oauth2: Option<&OAuth2>,
) -> Result<Option<OAuth2>, ConfigError> {
    match auth.map(str::trim) {
        None | Some("password") => Ok(None),
        Some("oauth2") => oauth2.cloned().map(Some).ok_or_else(|| {
            key_err(
                key,
                "is \"oauth2\" but there is no [oauth2] section (provider = \"microsoft\" or \"google\")",
            )
        }),
        Some(other) => Err(key_err(
            key,
            format!("{other:?} is not \"password\" or \"oauth2\""),
        )),
    }
}

/// The service account key file's fields we use.
#[derive(serde::Deserialize)]
struct ServiceAccountKey {
    client_email: Option<String>,
    private_key: Option<String>,
    private_key_id: Option<String>,
    token_uri: Option<String>,
}

pub(super) fn settings(raw: RawOAuth2, base: &Path) -> Result<OAuth2, ConfigError> {
    let timeout = Duration::from_secs(raw.timeout_seconds.unwrap_or(10).clamp(1, 120));
    let url = |v: String| -> Result<String, ConfigError> {
        if v.starts_with("https://") || v.starts_with("http://") {
            Ok(v)
        } else {
            Err(key_err(
                "oauth2.token_url",
                format!("{v:?} is not an http(s) URL"),
            ))
        }
    };
    match raw.provider.as_deref().map(str::trim) {
        Some("microsoft") => {
            let tenant = raw.tenant.filter(|t| !t.trim().is_empty());
            let client_id = raw
                .client_id
                .filter(|c| !c.trim().is_empty())
                .ok_or_else(|| {
                    key_err(
                        "oauth2.client_id",
                        "missing: the app's Application (client) ID",
                    )
                })?;
            let client_secret = secret_of(
                "oauth2.client_secret",
                raw.client_secret,
                raw.client_secret_env,
                raw.client_secret_file,
                base,
            )?
            .filter(|s| !s.is_empty())
            .ok_or_else(|| {
                key_err(
                    "oauth2.client_secret",
                    "missing; set client_secret, client_secret_env or client_secret_file",
                )
            })?;
            let token_url = match (raw.token_url, tenant) {
                (Some(u), _) => url(u)?,
                (None, Some(t)) => format!(
                    "https://login.microsoftonline.com/{}/oauth2/v2.0/token",
                    t.trim()
                ),
                (None, None) => {
                    return Err(key_err(
                        "oauth2.tenant",
                        "missing: the tenant id or domain (e.g. \"example.onmicrosoft.com\")",
                    ))
                }
            };
            Ok(OAuth2 {
                provider: OAuthProvider::Microsoft {
                    client_id: client_id.trim().to_string(),
                    client_secret,
                },
                token_url,
                scope: raw
                    .scope
                    .unwrap_or_else(|| "https://outlook.office365.com/.default".into()),
                timeout,
            })
        }
        Some("google") => {
            let file = raw.service_account_file.ok_or_else(|| {
                key_err(
                    "oauth2.service_account_file",
                    "missing: the service account's JSON key",
                )
            })?;
            let path = if file.is_absolute() {
                file
            } else {
                base.join(file)
            };
            let key_err_file = |m: String| key_err("oauth2.service_account_file", m);
            let text = std::fs::read_to_string(&path)
                .map_err(|e| key_err_file(format!("cannot read {}: {e}", path.display())))?;
            let key: ServiceAccountKey = serde_json::from_str(&text).map_err(|e| {
                key_err_file(format!(
                    "{} is not a service account key (JSON): {e}",
                    path.display()
                ))
            })?;
            let client_email = key
                .client_email
                .filter(|e| e.contains('@'))
                .ok_or_else(|| key_err_file("the key has no client_email".into()))?;
            let pem = key
                .private_key
                .ok_or_else(|| key_err_file("the key has no private_key".into()))?;
            let der = pkcs8_der(&pem).ok_or_else(|| {
                key_err_file("private_key is not a PEM \"PRIVATE KEY\" (PKCS#8)".into())
            })?;
            if ring::signature::RsaKeyPair::from_pkcs8(&der).is_err() {
                return Err(key_err_file(
                    "private_key is not an RSA key ring can sign with (RS256)".into(),
                ));
            }
            let token_url = match raw.token_url.or(key.token_uri) {
                Some(u) => url(u)?,
                None => "https://oauth2.googleapis.com/token".into(),
            };
            Ok(OAuth2 {
                provider: OAuthProvider::Google {
                    client_email,
                    private_key_der: der,
                    private_key_id: key.private_key_id,
                },
                token_url,
                scope: raw
                    .scope
                    .unwrap_or_else(|| "https://mail.google.com/".into()),
                timeout,
            })
        }
        Some(other) => Err(key_err(
            "oauth2.provider",
            format!("{other:?} is not \"microsoft\" or \"google\""),
        )),
        None => Err(key_err(
            "oauth2.provider",
            "missing: \"microsoft\" or \"google\"",
        )),
    }
}

/// The DER inside a PEM `PRIVATE KEY` block.
fn pkcs8_der(pem: &str) -> Option<Vec<u8>> {
    use base64::Engine;
    let body: String = pem
        .lines()
        .map(str::trim)
        .skip_while(|l| *l != "-----BEGIN PRIVATE KEY-----")
        .skip(1)
        .take_while(|l| *l != "-----END PRIVATE KEY-----")
        .collect();
    if body.is_empty() {
        return None;
    }
    base64::engine::general_purpose::STANDARD.decode(body).ok()
}
