//! A local Zoom: the parts of Zoom's documented API the desk uses
//! (Server-to-Server OAuth token; meetings create, get, list, patch,
//! delete; users get), answering as Zoom does, with its error bodies
//! (`{"code": …, "message": …}`), and faults a test can ask for: 429 with
//! or without Retry-After, 500, an answer lost after the meeting was made,
//! an expired token, a host's daily limit, an outage.

#![allow(dead_code)]
// The `Err` of `gate` is the answer itself.
#![allow(clippy::result_large_err)]

use axum::body::Bytes;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::Router;
use serde_json::{json, Value};
use std::collections::{BTreeMap, HashMap, VecDeque};
use std::sync::{Arc, Mutex};
use std::time::Duration;

pub const ACCOUNT: &str = "acct-test";
pub const CLIENT_ID: &str = "client-test";
pub const CLIENT_SECRET: &str = "client-secret-test";
pub const WEBHOOK_SECRET: &str = "webhook-secret-test";

/// A fault for the next API call (not the token endpoint).
#[derive(Debug, Clone)]
pub enum Fault {
    TooMany {
        retry_after: Option<u64>,
    },
    ServerError,
    /// The create happens, the answer comes only after the client gave up.
    LoseAnswer,
    /// Every token issued so far stops working (401, code 124).
    ExpireTokens,
}

#[derive(Debug, Clone)]
pub struct FakeMeeting {
    pub id: u64,
    pub host: String,
    pub topic: String,
    pub start_time: String,
    pub timezone: String,
    pub duration: u64,
    pub password: String,
    pub join_url: String,
    pub waiting_room: bool,
}

#[derive(Default)]
pub struct Zoomland {
    pub meetings: BTreeMap<u64, FakeMeeting>,
    pub tokens: Vec<String>,
    pub tokens_issued: usize,
    pub faults: VecDeque<Fault>,
    /// Every API call answers 500 while set.
    pub down: bool,
    /// Creates per host before the daily limit answers.
    pub daily_limit: HashMap<String, usize>,
    pub creates_by_host: HashMap<String, usize>,
    pub creates: usize,
    /// Every create is answered this late (the meeting exists meanwhile).
    pub slow_create: Option<Duration>,
    pub deletes: usize,
    pub lists: usize,
    next_id: u64,
}

#[derive(Clone)]
pub struct FakeZoom {
    pub state: Arc<Mutex<Zoomland>>,
    pub base: String,
    /// How long a lost answer is held back (longer than the client waits).
    pub hold: Duration,
}

impl FakeZoom {
    pub async fn start() -> FakeZoom {
        let state = Arc::new(Mutex::new(Zoomland {
            next_id: 81_000_000_000 + (std::process::id() as u64 % 1000) * 1_000_000,
            ..Default::default()
        }));
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind fake zoom");
        let base = format!("http://{}", listener.local_addr().expect("addr"));
        let zoom = FakeZoom {
            state: state.clone(),
            base,
            hold: Duration::from_secs(4),
        };
        let app = Router::new()
            .route("/oauth/token", post(token))
            .route("/v2/users/{user}", get(user))
            .route("/v2/users/{user}/meetings", post(create).get(list))
            .route(
                "/v2/meetings/{id}",
                get(get_meeting).patch(patch).delete(delete),
            )
            .with_state(zoom.clone());
        tokio::spawn(async move {
            let _ = axum::serve(listener, app).await;
        });
        zoom
    }

    /// The `[meeting]` config of an office on this Zoom.
    pub fn config(&self, hosts: &[&str], fallback_minutes: f64) -> String {
        let hosts: Vec<String> = hosts.iter().map(|h| format!("{h:?}")).collect();
        format!(
            r#"
[meeting]
provider = "zoom"

[meeting.zoom]
account_id = "{ACCOUNT}"
client_id = "{CLIENT_ID}"
client_secret = "{CLIENT_SECRET}"
hosts = [{hosts}]
api_url = "{base}/v2"
token_url = "{base}/oauth/token"
webhook_secret = "{WEBHOOK_SECRET}"
timeout_seconds = 1.5
fallback_after_minutes = {fallback_minutes}
"#,
            hosts = hosts.join(", "),
            base = self.base,
        )
    }

    pub fn fail_next(&self, fault: Fault) {
        self.lock().faults.push_back(fault);
    }

    pub fn set_down(&self, down: bool) {
        self.lock().down = down;
    }

    pub fn lock(&self) -> std::sync::MutexGuard<'_, Zoomland> {
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// The meetings whose topic holds `reservation`.
    pub fn meetings_for(&self, reservation: &str) -> Vec<FakeMeeting> {
        self.lock()
            .meetings
            .values()
            .filter(|m| m.topic.contains(reservation))
            .cloned()
            .collect()
    }

    pub fn meeting_count(&self) -> usize {
        self.lock().meetings.len()
    }
}

fn zoom_error(status: StatusCode, code: i64, message: &str) -> Response {
    answer(status, json!({"code": code, "message": message}))
}

fn answer(status: StatusCode, body: Value) -> Response {
    (
        status,
        [(axum::http::header::CONTENT_TYPE, "application/json")],
        body.to_string(),
    )
        .into_response()
}

fn basic_ok(headers: &HeaderMap) -> bool {
    use base64::Engine;
    let Some(v) = headers.get("authorization").and_then(|v| v.to_str().ok()) else {
        return false;
    };
    let Some(b64) = v.strip_prefix("Basic ") else {
        return false;
    };
    let Ok(raw) = base64::engine::general_purpose::STANDARD.decode(b64.trim()) else {
        return false;
    };
    raw == format!("{CLIENT_ID}:{CLIENT_SECRET}").as_bytes()
}

async fn token(
    State(z): State<FakeZoom>,
    headers: HeaderMap,
    Query(q): Query<HashMap<String, String>>,
) -> Response {
    if !basic_ok(&headers) {
        return answer(
            StatusCode::UNAUTHORIZED,
            json!({"reason": "Invalid client_id or client_secret", "error": "invalid_client"}),
        );
    }
    if q.get("grant_type").map(String::as_str) != Some("account_credentials")
        || q.get("account_id").map(String::as_str) != Some(ACCOUNT)
    {
        return answer(
            StatusCode::BAD_REQUEST,
            json!({"reason": "Invalid request", "error": "invalid_request"}),
        );
    }
    let mut s = z.lock();
    s.tokens_issued += 1;
    let t = format!("tok-{}-{}", s.tokens_issued, std::process::id());
    s.tokens.push(t.clone());
    answer(
        StatusCode::OK,
        json!({
            "access_token": t,
            "token_type": "bearer",
            "expires_in": 3599,
            "scope": "meeting:write:meeting meeting:read:meeting meeting:delete:meeting user:read:user",
        }),
    )
}

/// Checks the bearer token and takes the next fault; Err is the answer.
fn gate(z: &FakeZoom, headers: &HeaderMap) -> Result<Option<Fault>, Response> {
    let mut s = z.lock();
    let bearer = headers
        .get("authorization")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
        .unwrap_or("");
    if !s.tokens.iter().any(|t| t == bearer) {
        return Err(zoom_error(
            StatusCode::UNAUTHORIZED,
            124,
            "Invalid access token.",
        ));
    }
    if s.down {
        return Err(zoom_error(
            StatusCode::INTERNAL_SERVER_ERROR,
            500,
            "Internal Error",
        ));
    }
    match s.faults.pop_front() {
        Some(Fault::ExpireTokens) => {
            s.tokens.clear();
            Err(zoom_error(
                StatusCode::UNAUTHORIZED,
                124,
                "Access token is expired.",
            ))
        }
        Some(Fault::TooMany { retry_after }) => {
            let mut r = zoom_error(
                StatusCode::TOO_MANY_REQUESTS,
                429,
                "You have reached the maximum per-second rate limit for this API. Try again later.",
            );
            if let Some(secs) = retry_after {
                if let Ok(v) = secs.to_string().parse() {
                    r.headers_mut().insert("retry-after", v);
                }
            }
            Err(r)
        }
        Some(Fault::ServerError) => Err(zoom_error(
            StatusCode::INTERNAL_SERVER_ERROR,
            500,
            "Internal Error",
        )),
        other => Ok(other),
    }
}

async fn user(State(z): State<FakeZoom>, headers: HeaderMap, Path(user): Path<String>) -> Response {
    if let Err(r) = gate(&z, &headers) {
        return r;
    }
    if user == "nobody@example.jp" {
        return zoom_error(
            StatusCode::NOT_FOUND,
            1001,
            "User does not exist: nobody@example.jp.",
        );
    }
    answer(
        StatusCode::OK,
        json!({"id": format!("id-{user}"), "email": user, "type": 2}),
    )
}

async fn create(
    State(z): State<FakeZoom>,
    headers: HeaderMap,
    Path(user): Path<String>,
    body: Bytes,
) -> Response {
    let fault = match gate(&z, &headers) {
        Ok(f) => f,
        Err(r) => return r,
    };
    let Ok(b) = serde_json::from_slice::<Value>(&body) else {
        return zoom_error(StatusCode::BAD_REQUEST, 300, "Invalid request body.");
    };
    if b.get("type").and_then(Value::as_i64) != Some(2) || b.get("start_time").is_none() {
        return zoom_error(
            StatusCode::BAD_REQUEST,
            300,
            "Scheduled meetings need type 2 and start_time.",
        );
    }
    let meeting = {
        let mut s = z.lock();
        let made = s.creates_by_host.get(&user).copied().unwrap_or(0);
        if let Some(limit) = s.daily_limit.get(&user) {
            if made >= *limit {
                drop(s);
                return zoom_error(
                    StatusCode::TOO_MANY_REQUESTS,
                    429,
                    "You have exceeded the daily rate limit (100) of Meeting Create/Update API requests permitted for this particular user. You may resume these requests at GMT 00:00:00.",
                );
            }
        }
        *s.creates_by_host.entry(user.clone()).or_insert(0) += 1;
        s.creates += 1;
        s.next_id += 1 + (s.creates as u64 * 7919) % 1000;
        let id = s.next_id;
        // Zoom's own passcode, whatever the request asked.
        let password = format!("Zq{:06}", id.wrapping_mul(2_654_435_761) % 1_000_000);
        let m = FakeMeeting {
            id,
            host: user.clone(),
            topic: b
                .get("topic")
                .and_then(Value::as_str)
                .unwrap_or("")
                .to_string(),
            start_time: b
                .get("start_time")
                .and_then(Value::as_str)
                .unwrap_or("")
                .to_string(),
            timezone: b
                .get("timezone")
                .and_then(Value::as_str)
                .unwrap_or("")
                .to_string(),
            duration: b.get("duration").and_then(Value::as_u64).unwrap_or(60),
            join_url: format!("https://us06web.zoom.us/j/{id}?pwd=fake{id}"),
            password,
            waiting_room: b
                .pointer("/settings/waiting_room")
                .and_then(Value::as_bool)
                .unwrap_or(false),
        };
        s.meetings.insert(id, m.clone());
        m
    };
    if matches!(fault, Some(Fault::LoseAnswer)) {
        tokio::time::sleep(z.hold).await;
    }
    let slow = z.lock().slow_create;
    if let Some(d) = slow {
        tokio::time::sleep(d).await;
    }
    answer(StatusCode::CREATED, meeting_json(&meeting))
}

fn meeting_json(m: &FakeMeeting) -> Value {
    json!({
        "id": m.id,
        "uuid": format!("uuid-{}", m.id),
        "host_id": format!("id-{}", m.host),
        "topic": m.topic,
        "type": 2,
        "start_time": m.start_time,
        "timezone": m.timezone,
        "duration": m.duration,
        "password": m.password,
        "join_url": m.join_url,
        "settings": {"waiting_room": m.waiting_room},
    })
}

async fn get_meeting(
    State(z): State<FakeZoom>,
    headers: HeaderMap,
    Path(id): Path<String>,
) -> Response {
    if let Err(r) = gate(&z, &headers) {
        return r;
    }
    let found = id
        .parse::<u64>()
        .ok()
        .and_then(|i| z.lock().meetings.get(&i).cloned());
    match found {
        Some(m) => answer(StatusCode::OK, meeting_json(&m)),
        None => zoom_error(
            StatusCode::NOT_FOUND,
            3001,
            &format!("Meeting does not exist: {id}."),
        ),
    }
}

async fn list(
    State(z): State<FakeZoom>,
    headers: HeaderMap,
    Path(user): Path<String>,
    Query(q): Query<HashMap<String, String>>,
) -> Response {
    if let Err(r) = gate(&z, &headers) {
        return r;
    }
    let size: usize = q
        .get("page_size")
        .and_then(|s| s.parse().ok())
        .unwrap_or(30)
        .clamp(1, 300);
    let start: usize = q
        .get("next_page_token")
        .and_then(|s| s.strip_prefix("p"))
        .and_then(|s| s.parse().ok())
        .unwrap_or(0);
    let mut s = z.lock();
    s.lists += 1;
    let mine: Vec<&FakeMeeting> = s.meetings.values().filter(|m| m.host == user).collect();
    let page: Vec<Value> = mine
        .iter()
        .skip(start)
        .take(size)
        .map(|m| {
            json!({"id": m.id, "topic": m.topic, "type": 2, "start_time": m.start_time,
                   "duration": m.duration, "timezone": m.timezone, "join_url": m.join_url})
        })
        .collect();
    let next = if start + size < mine.len() {
        format!("p{}", start + size)
    } else {
        String::new()
    };
    answer(
        StatusCode::OK,
        json!({
            "page_size": size,
            "total_records": mine.len(),
            "next_page_token": next,
            "meetings": page,
        }),
    )
}

async fn patch(State(z): State<FakeZoom>, headers: HeaderMap, Path(id): Path<String>) -> Response {
    if let Err(r) = gate(&z, &headers) {
        return r;
    }
    let exists = id
        .parse::<u64>()
        .ok()
        .is_some_and(|i| z.lock().meetings.contains_key(&i));
    if exists {
        StatusCode::NO_CONTENT.into_response()
    } else {
        zoom_error(
            StatusCode::NOT_FOUND,
            3001,
            &format!("Meeting does not exist: {id}."),
        )
    }
}

async fn delete(State(z): State<FakeZoom>, headers: HeaderMap, Path(id): Path<String>) -> Response {
    if let Err(r) = gate(&z, &headers) {
        return r;
    }
    let mut s = z.lock();
    match id.parse::<u64>().ok().and_then(|i| s.meetings.remove(&i)) {
        Some(_) => {
            s.deletes += 1;
            StatusCode::NO_CONTENT.into_response()
        }
        None => zoom_error(
            StatusCode::NOT_FOUND,
            3001,
            &format!("Meeting does not exist: {id}."),
        ),
    }
}
