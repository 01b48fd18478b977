//! The Zoom API client (Server-to-Server OAuth): token, create, get, list,
//! delete, users. It reports what Zoom answered; what to do about it is
//! `core::meeting`'s decision. Secrets and tokens never reach a log line.

use super::{Meeting, MeetingError, NewMeeting};
use crate::config::Zoom as ZoomSettings;
use reqwest::{Method, StatusCode};
use serde::Deserialize;
use std::time::{Duration, Instant};
use tokio::sync::Mutex;

/// A token is renewed this long before Zoom says it expires.
const RENEW_BEFORE: Duration = Duration::from_secs(60);

pub struct ZoomClient {
    http: reqwest::Client,
    settings: ZoomSettings,
    token: Mutex<Option<(String, Instant)>>,
}

#[derive(Deserialize)]
struct TokenAnswer {
    access_token: String,
    #[serde(default)]
    expires_in: Option<u64>,
}

#[derive(Deserialize)]
struct MeetingAnswer {
    id: serde_json::Value,
    #[serde(default)]
    password: Option<String>,
    #[serde(default)]
    join_url: Option<String>,
    #[serde(default)]
    topic: Option<String>,
}

#[derive(Deserialize)]
struct ListAnswer {
    #[serde(default)]
    meetings: Vec<MeetingAnswer>,
    #[serde(default)]
    next_page_token: Option<String>,
}

#[derive(Deserialize)]
struct ErrorAnswer {
    #[serde(default)]
    code: Option<i64>,
    #[serde(default)]
    message: Option<String>,
}

/// Zoom's error code for an access token it no longer accepts.
const INVALID_TOKEN: i64 = 124;

impl ZoomClient {
    pub fn new(settings: &ZoomSettings) -> Result<ZoomClient, MeetingError> {
        let http = reqwest::Client::builder()
            .use_preconfigured_tls(crate::mail::net::https_tls_config())
            .timeout(settings.timeout)
            .connect_timeout(settings.timeout)
            .user_agent(concat!("yoyaku/", env!("CARGO_PKG_VERSION")))
            .build()
            .map_err(|e| MeetingError::Config(format!("http client: {e}")))?;
        Ok(ZoomClient {
            http,
            settings: settings.clone(),
            token: Mutex::new(None),
        })
    }

    pub fn hosts(&self) -> &[String] {
        &self.settings.hosts
    }

    /// A token from the cache, or a new one (`account_credentials`).
    async fn token(&self, renew: bool) -> Result<String, MeetingError> {
        let mut cached = self.token.lock().await;
        if let Some((token, until)) = cached.as_ref() {
            if !renew && Instant::now() + RENEW_BEFORE < *until {
                return Ok(token.clone());
            }
        }
        let answer = self
            .http
            .post(&self.settings.token_url)
            .basic_auth(&self.settings.client_id, Some(&self.settings.client_secret))
            .query(&[
                ("grant_type", "account_credentials"),
                ("account_id", self.settings.account_id.as_str()),
            ])
            .send()
            .await
            .map_err(|e| MeetingError::from_transport(&e, false))?;
        let status = answer.status();
        if !status.is_success() {
            let retry_after = retry_after(answer.headers());
            let err = error_of(answer).await;
            return Err(match status {
                StatusCode::TOO_MANY_REQUESTS => MeetingError::Busy { retry_after },
                s if s.is_server_error() => MeetingError::Unavailable(format!("token: {s}")),
                s => MeetingError::Refused {
                    status: s.as_u16(),
                    message: format!("token: {}", err.message.unwrap_or_default()),
                },
            });
        }
        let t: TokenAnswer = answer
            .json()
            .await
            .map_err(|e| MeetingError::Unavailable(format!("token answer: {e}")))?;
        let life = Duration::from_secs(t.expires_in.unwrap_or(3600));
        *cached = Some((t.access_token.clone(), Instant::now() + life));
        Ok(t.access_token)
    }

    /// One API call with the token; a 401 (code 124) gets one new token
    /// and one more try. `creates`: a lost answer may mean it happened.
    async fn call(
        &self,
        method: Method,
        path: &str,
        query: &[(&str, &str)],
        body: Option<&serde_json::Value>,
        creates: bool,
    ) -> Result<reqwest::Response, MeetingError> {
        let url = format!("{}{}", self.settings.api_url, path);
        let mut renewed = false;
        loop {
            let token = self.token(false).await?;
            let mut req = self
                .http
                .request(method.clone(), &url)
                .bearer_auth(&token)
                .query(query);
            if let Some(b) = body {
                req = req.json(b);
            }
            let answer = req
                .send()
                .await
                .map_err(|e| MeetingError::from_transport(&e, creates))?;
            let status = answer.status();
            if status == StatusCode::UNAUTHORIZED && !renewed {
                let err = error_of(answer).await;
                if err.code.is_none_or(|c| c == INVALID_TOKEN) {
                    renewed = true;
                    *self.token.lock().await = None;
                    continue;
                }
                return Err(MeetingError::Refused {
                    status: 401,
                    message: err.message.unwrap_or_default(),
                });
            }
            if status.is_success() {
                return Ok(answer);
            }
            let retry_after = retry_after(answer.headers());
            let daily = answer
                .headers()
                .get("x-ratelimit-type")
                .and_then(|v| v.to_str().ok())
                .is_some_and(|v| v.eq_ignore_ascii_case("daily-limit"));
            let err = error_of(answer).await;
            let message = err.message.unwrap_or_default();
            return Err(match status {
                StatusCode::NOT_FOUND => MeetingError::NotFound,
                StatusCode::TOO_MANY_REQUESTS
                    if daily || message.to_ascii_lowercase().contains("daily") =>
                {
                    MeetingError::DailyLimit
                }
                StatusCode::TOO_MANY_REQUESTS => MeetingError::Busy { retry_after },
                s if s.is_server_error() && creates => {
                    MeetingError::Unknown(format!("{method} {path}: {s}"))
                }
                s if s.is_server_error() => MeetingError::Unavailable(format!("{method}: {s}")),
                s => MeetingError::Refused {
                    status: s.as_u16(),
                    message,
                },
            });
        }
    }

    /// `POST /users/{host}/meetings`: a scheduled meeting (type 2).
    pub async fn create(&self, host: &str, m: &NewMeeting) -> Result<Meeting, MeetingError> {
        let body = serde_json::json!({
            "topic": m.topic,
            "type": 2,
            "start_time": m.start_local.format("%Y-%m-%dT%H:%M:%S").to_string(),
            "timezone": m.timezone,
            "duration": m.minutes,
            "settings": {
                "waiting_room": self.settings.waiting_room,
                "join_before_host": false,
                "auto_recording": "none",
            },
        });
        let path = format!("/users/{}/meetings", path_segment(host));
        let answer = self
            .call(Method::POST, &path, &[], Some(&body), true)
            .await?;
        let m: MeetingAnswer = answer
            .json()
            .await
            .map_err(|e| MeetingError::Unknown(format!("create answer: {e}")))?;
        meeting_of(m, host)
    }

    /// `GET /meetings/{id}`: the meeting with its passcode.
    pub async fn get(&self, id: &str, host: &str) -> Result<Meeting, MeetingError> {
        let path = format!("/meetings/{}", path_segment(id));
        let answer = self.call(Method::GET, &path, &[], None, false).await?;
        let m: MeetingAnswer = answer
            .json()
            .await
            .map_err(|e| MeetingError::Unavailable(format!("get answer: {e}")))?;
        meeting_of(m, host)
    }

    /// The host's upcoming meetings whose topic holds `needle` (the
    /// reservation number), every page read.
    pub async fn find(&self, host: &str, needle: &str) -> Result<Vec<String>, MeetingError> {
        let path = format!("/users/{}/meetings", path_segment(host));
        let mut found = Vec::new();
        let mut page: Option<String> = None;
        for _ in 0..100 {
            let mut query = vec![("type", "upcoming"), ("page_size", "300")];
            if let Some(p) = page.as_deref() {
                query.push(("next_page_token", p));
            }
            let answer = self.call(Method::GET, &path, &query, None, false).await?;
            let list: ListAnswer = answer
                .json()
                .await
                .map_err(|e| MeetingError::Unavailable(format!("list answer: {e}")))?;
            for m in list.meetings {
                if m.topic.as_deref().is_some_and(|t| t.contains(needle)) {
                    found.push(id_text(&m.id));
                }
            }
            match list.next_page_token.filter(|t| !t.is_empty()) {
                Some(t) => page = Some(t),
                None => break,
            }
        }
        Ok(found)
    }

    /// `DELETE /meetings/{id}`; one already gone counts as deleted.
    pub async fn delete(&self, id: &str) -> Result<(), MeetingError> {
        let path = format!("/meetings/{}", path_segment(id));
        match self.call(Method::DELETE, &path, &[], None, false).await {
            Ok(_) | Err(MeetingError::NotFound) => Ok(()),
            Err(e) => Err(e),
        }
    }

    /// `GET /users/{host}`: for `yoyaku check`.
    pub async fn check_host(&self, host: &str) -> Result<(), MeetingError> {
        let path = format!("/users/{}", path_segment(host));
        self.call(Method::GET, &path, &[], None, false)
            .await
            .map(|_| ())
    }

    /// A fresh token: for `yoyaku check`.
    pub async fn check_token(&self) -> Result<(), MeetingError> {
        self.token(true).await.map(|_| ())
    }
}

/// rustls with the ring provider and the Mozilla roots (the same as the
/// mail connections); reqwest's own default would bring aws-lc-rs.
fn meeting_of(m: MeetingAnswer, host: &str) -> Result<Meeting, MeetingError> {
    let id = id_text(&m.id);
    if id.is_empty() {
        return Err(MeetingError::Unknown("a meeting without an id".into()));
    }
    Ok(Meeting {
        id,
        passcode: m.password.unwrap_or_default(),
        join_url: m.join_url.unwrap_or_default(),
        host: host.to_string(),
    })
}

/// Zoom's meeting ids are 64-bit numbers (a string in some events); kept
/// as text.
pub(crate) fn id_text(v: &serde_json::Value) -> String {
    match v {
        serde_json::Value::Number(n) => n.to_string(),
        serde_json::Value::String(s) => s.clone(),
        _ => String::new(),
    }
}

/// A host (an email or "me") or id inside a URL path.
fn path_segment(s: &str) -> String {
    s.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'.' | b'_' | b'~' | b'@' => {
                (b as char).to_string()
            }
            _ => format!("%{b:02X}"),
        })
        .collect()
}

async fn error_of(answer: reqwest::Response) -> ErrorAnswer {
    answer.json().await.unwrap_or(ErrorAnswer {
        code: None,
        message: None,
    })
}

/// `Retry-After` as seconds or as a date (Zoom writes both forms).
fn retry_after(headers: &reqwest::header::HeaderMap) -> Option<chrono::Duration> {
    let v = headers.get("retry-after")?.to_str().ok()?.trim();
    if let Ok(secs) = v.parse::<i64>() {
        return Some(chrono::Duration::seconds(secs.max(0)));
    }
    let at = chrono::DateTime::parse_from_rfc3339(v)
        .or_else(|_| chrono::DateTime::parse_from_rfc2822(v))
        .ok()?;
    Some((at.with_timezone(&chrono::Utc) - chrono::Utc::now()).max(chrono::Duration::zero()))
}
