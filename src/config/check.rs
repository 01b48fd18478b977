//! The checks of single values (addresses, security modes, CA files,
//! secrets) and the sections read on their own (`[web]`, `[meeting.zoom]`):
//! each error names its key.

use super::raw::{self, RawWeb};
use super::{key_err, ConfigError, Security, Web, Zoom};
use std::path::{Path, PathBuf};
use std::time::Duration;

/// `Name <a@b>` → `a@b`, lower-cased.
pub fn bare_address(s: &str) -> String {
    let s = s.trim();
    let inner = match (s.rfind('<'), s.rfind('>')) {
        (Some(a), Some(b)) if a < b => &s[a + 1..b],
        _ => s,
    };
    inner.trim().to_ascii_lowercase()
}

pub(super) fn nonempty(key: &str, v: &str) -> Result<(), ConfigError> {
    if v.trim().is_empty() {
        Err(key_err(key, "must not be empty"))
    } else {
        Ok(())
    }
}

pub(super) fn address(key: &str, v: &str) -> Result<(), ConfigError> {
    let bare = bare_address(v);
    let ok = bare
        .split_once('@')
        .is_some_and(|(l, d)| !l.is_empty() && !d.is_empty())
        && !bare.contains(char::is_whitespace);
    if ok {
        Ok(())
    } else {
        Err(key_err(key, format!("{v:?} is not an email address")))
    }
}

pub(super) fn ca_file(
    key: &str,
    path: Option<&Path>,
    base: &Path,
) -> Result<Option<Vec<u8>>, ConfigError> {
    let Some(path) = path else { return Ok(None) };
    let full = if path.is_absolute() {
        path.to_path_buf()
    } else {
        base.join(path)
    };
    let pem = std::fs::read(&full)
        .map_err(|e| key_err(key, format!("cannot read {}: {e}", full.display())))?;
    if !pem.windows(27).any(|w| w == b"-----BEGIN CERTIFICATE-----") {
        return Err(key_err(
            key,
            format!("{} holds no PEM certificate", full.display()),
        ));
    }
    Ok(Some(pem))
}

pub(super) fn security(key: &str, v: &str) -> Result<Security, ConfigError> {
    match v {
        "none" => Ok(Security::None),
        "starttls" => Ok(Security::StartTls),
        "tls" => Ok(Security::Tls),
        other => Err(key_err(
            key,
            format!("{other:?} is not one of \"none\", \"starttls\", \"tls\""),
        )),
    }
}

pub(super) fn web_settings(w: RawWeb, base: &Path) -> Result<Web, ConfigError> {
    let address = |key: &str, v: &str| {
        v.parse::<std::net::SocketAddr>().map_err(|_| {
            key_err(
                key,
                format!("{v:?} is not an address and port like 127.0.0.1:8080"),
            )
        })
    };
    let listen = address("web.listen", &w.listen)?;
    let metrics_listen = w
        .metrics_listen
        .as_deref()
        .map(|v| address("web.metrics_listen", v))
        .transpose()?;
    let metrics_token = secret_of(
        "web.metrics_token",
        w.metrics_token,
        w.metrics_token_env,
        w.metrics_token_file,
        base,
    )?;
    if metrics_token.as_ref().is_some_and(|t| t.len() < 16) {
        return Err(key_err(
            "web.metrics_token",
            "must be at least 16 characters",
        ));
    }
    let hours = w.session_idle_hours.unwrap_or(8.0);
    if !(0.05..=168.0).contains(&hours) {
        return Err(key_err(
            "web.session_idle_hours",
            "must be from 0.05 to 168",
        ));
    }
    let max_hours = w.session_max_hours.unwrap_or(12.0);
    if !(0.05..=720.0).contains(&max_hours) || max_hours < hours {
        return Err(key_err(
            "web.session_max_hours",
            "must be from 0.05 to 720 and at least web.session_idle_hours",
        ));
    }
    Ok(Web {
        listen,
        secure_cookies: w.secure_cookies,
        metrics_token,
        metrics_listen,
        session_idle: Duration::from_secs_f64(hours * 3600.0),
        session_max: Duration::from_secs_f64(max_hours * 3600.0),
    })
}

/// A secret given as `KEY`, `KEY_env` (a variable's name) or `KEY_file`.
/// `[meeting.zoom]` checked: every error names its key.
pub(super) fn zoom_settings(z: raw::RawZoom, base: &Path) -> Result<Zoom, ConfigError> {
    let required = |key: &str, v: Option<String>| -> Result<String, ConfigError> {
        match v {
            Some(v) if !v.trim().is_empty() => Ok(v.trim().to_string()),
            _ => Err(key_err(&format!("meeting.zoom.{key}"), "missing")),
        }
    };
    let account_id = required("account_id", z.account_id)?;
    let client_id = required("client_id", z.client_id)?;
    let client_secret = secret_of(
        "meeting.zoom.client_secret",
        z.client_secret,
        z.client_secret_env,
        z.client_secret_file,
        base,
    )?
    .filter(|s| !s.is_empty())
    .ok_or_else(|| {
        key_err(
            "meeting.zoom.client_secret",
            "missing; set client_secret, client_secret_env or client_secret_file",
        )
    })?;
    let hosts = z.hosts.unwrap_or_else(|| vec!["me".to_string()]);
    if hosts.is_empty() || hosts.iter().any(|h| h.trim().is_empty()) {
        return Err(key_err(
            "meeting.zoom.hosts",
            "needs at least one Zoom user (\"me\" or an email or user id), none empty",
        ));
    }
    let url = |key: &str, v: Option<String>, default: &str| -> Result<String, ConfigError> {
        let v = v.unwrap_or_else(|| default.to_string());
        if !(v.starts_with("https://") || v.starts_with("http://")) {
            return Err(key_err(
                &format!("meeting.zoom.{key}"),
                format!("{v:?} is not an http(s) URL"),
            ));
        }
        Ok(v.trim_end_matches('/').to_string())
    };
    let seconds = |key: &str, v: Option<f64>, default: f64| -> Result<Duration, ConfigError> {
        let v = v.unwrap_or(default);
        if !(v.is_finite() && v > 0.0 && v < 1e7) {
            return Err(key_err(
                &format!("meeting.zoom.{key}"),
                "must be a positive number",
            ));
        }
        Ok(Duration::from_secs_f64(v))
    };
    Ok(Zoom {
        account_id,
        client_id,
        client_secret,
        hosts: hosts.into_iter().map(|h| h.trim().to_string()).collect(),
        api_url: url("api_url", z.api_url, "https://api.zoom.us/v2")?,
        token_url: url("token_url", z.token_url, "https://zoom.us/oauth/token")?,
        waiting_room: z.waiting_room.unwrap_or(true),
        webhook_secret: secret_of(
            "meeting.zoom.webhook_secret",
            z.webhook_secret,
            z.webhook_secret_env,
            z.webhook_secret_file,
            base,
        )?
        .filter(|s| !s.is_empty()),
        timeout: seconds("timeout_seconds", z.timeout_seconds, 10.0)?,
        fallback_after: seconds(
            "fallback_after_minutes",
            z.fallback_after_minutes.map(|m| m * 60.0),
            15.0 * 60.0,
        )?,
    })
}

pub(super) fn secret_of(
    key: &str,
    plain: Option<String>,
    env: Option<String>,
    file: Option<PathBuf>,
    base: &Path,
) -> Result<Option<String>, ConfigError> {
    if let Some(p) = plain {
        return Ok(Some(p));
    }
    if let Some(var) = env {
        return std::env::var(&var).map(Some).map_err(|_| {
            key_err(
                &format!("{key}_env"),
                format!("environment variable {var} is not set"),
            )
        });
    }
    if let Some(f) = file {
        let path = if f.is_absolute() { f } else { base.join(f) };
        return std::fs::read_to_string(&path)
            .map(|s| Some(s.trim_end_matches(['\n', '\r']).to_string()))
            .map_err(|e| {
                key_err(
                    &format!("{key}_file"),
                    format!("cannot read {}: {e}", path.display()),
                )
            });
    }
    Ok(None)
}

pub(super) fn secret(
    section: &str,
    plain: Option<String>,
    env: Option<String>,
    file: Option<PathBuf>,
    base: &Path,
) -> Result<Option<String>, ConfigError> {
    secret_of(&format!("{section}.password"), plain, env, file, base)
}
