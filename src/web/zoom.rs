//! `POST /zoom/webhook`: Zoom's events for the offices whose provider is
//! "zoom". The URL validation is answered; every other event must carry a
//! signature made with an office's `webhook_secret` and a timestamp within
//! five minutes, else 401 (logged without its body); the same event sent
//! again within that window is refused (409). A participant joining
//! a booking's meeting records the attendance, as staff marking 出席 would,
//! so the 10-minute no-show rule does not fire; a replay changes nothing.

use super::{plain, WebApp};
use crate::core::booking::StaffAction;
use crate::desk::error::{DeskError, StaffError};
use crate::desk::Desk;
use crate::meeting::webhook::{self, Verdict};
use crate::meeting::zoom::id_text;
use crate::staff;
use crate::store::meetings;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use std::sync::Arc;
use tracing::{info, warn};

/// Who the attendance is recorded by in the history.
const ACTOR: &str = "zoom";

pub(super) async fn webhook(
    State(app): State<Arc<WebApp>>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    // Owned: the signatures are checked on a blocking thread.
    let header = |name: &str| {
        headers
            .get(name)
            .and_then(|v| v.to_str().ok())
            .map(str::to_string)
    };
    let timestamp = header("x-zm-request-timestamp");
    let signature = header("x-zm-signature");
    let now = chrono::Utc::now();
    // The offices that take Zoom events, by the secret that signed this one:
    // an HMAC over the whole body per office, off the page's threads.
    let secrets: Vec<(String, String)> = app
        .desks
        .iter()
        .filter_map(|(id, desk)| {
            let z = desk.office().config().zoom.as_ref()?;
            Some((id.clone(), z.webhook_secret.clone()?))
        })
        .collect();
    let (checked_body, ts, sig) = (body.clone(), timestamp.clone(), signature.clone());
    let verdicts = tokio::task::spawn_blocking(move || {
        secrets
            .into_iter()
            .map(|(id, secret)| {
                let verdict = webhook::verify(
                    &secret,
                    ts.as_deref(),
                    sig.as_deref(),
                    &checked_body,
                    now.timestamp(),
                );
                (id, secret, verdict)
            })
            .collect::<Vec<_>>()
    })
    .await
    .unwrap_or_default();
    let mut stale = false;
    let mut signed_for: Vec<(String, &Arc<Desk>)> = Vec::new();
    for (id, secret, verdict) in verdicts {
        match (verdict, app.desks.get(&id)) {
            (Verdict::Genuine, Some(desk)) => signed_for.push((secret, desk)),
            (Verdict::Stale, _) => stale = true,
            _ => {}
        }
    }
    if signed_for.is_empty() {
        warn!(
            stale,
            bytes = body.len(),
            "zoom webhook refused: no valid signature"
        );
        return plain(
            StatusCode::UNAUTHORIZED,
            if stale {
                "the event's timestamp is more than five minutes from now"
            } else {
                "the event is not signed with the webhook secret"
            },
        );
    }
    // A genuine event sent again within its window is refused: its
    // signature (over timestamp and body) is its identity.
    let key = crate::web::auth::token_sha256(signature.as_deref().unwrap_or(""));
    let first = match app.store.conn().await {
        Ok(mut conn) => {
            meetings::first_sight_of_event(
                &mut conn,
                &key,
                now,
                now - chrono::Duration::seconds(webhook::MAX_SKEW_SECS * 2),
            )
            .await
        }
        Err(e) => Err(e),
    };
    match first {
        Ok(true) => {}
        Ok(false) => {
            warn!("zoom webhook refused: replay of an event already received");
            return plain(StatusCode::CONFLICT, "this event was already received");
        }
        Err(e) => {
            warn!(error = %e, "zoom webhook not checked for replay");
            return plain(StatusCode::SERVICE_UNAVAILABLE, "try again later");
        }
    }
    let event: serde_json::Value = match serde_json::from_slice(&body) {
        Ok(v) => v,
        Err(_) => return plain(StatusCode::BAD_REQUEST, "the body is not JSON"),
    };
    let kind = event.get("event").and_then(|e| e.as_str()).unwrap_or("");
    let object = event.pointer("/payload/object");
    match kind {
        "endpoint.url_validation" => {
            let Some(token) = event
                .pointer("/payload/plainToken")
                .and_then(|t| t.as_str())
            else {
                return plain(StatusCode::BAD_REQUEST, "payload.plainToken is missing");
            };
            let (secret, _) = &signed_for[0];
            let answer = serde_json::json!({
                "plainToken": token,
                "encryptedToken": webhook::encrypt_token(secret, token),
            });
            (
                [(axum::http::header::CONTENT_TYPE, "application/json")],
                answer.to_string(),
            )
                .into_response()
        }
        "meeting.participant_joined" => {
            let Some(meeting) = object.and_then(|o| o.get("id")).map(id_text) else {
                return plain(StatusCode::BAD_REQUEST, "payload.object.id is missing");
            };
            let host = object.and_then(|o| o.get("host_id")).map(id_text);
            let joined = object
                .and_then(|o| o.pointer("/participant/id"))
                .map(id_text);
            if !crate::core::meeting::seeker_joined(host.as_deref(), joined.as_deref()) {
                return StatusCode::OK.into_response();
            }
            for (_, desk) in &signed_for {
                match attended(desk, &meeting, now).await {
                    Ok(true) => return StatusCode::OK.into_response(),
                    Ok(false) => {}
                    Err(e) => {
                        warn!(office = %desk.office().config().office_id, error = %e, "zoom attendance not recorded");
                        // Zoom retries an event that was not answered 2xx.
                        return plain(StatusCode::SERVICE_UNAVAILABLE, "try again later");
                    }
                }
            }
            info!("zoom event for a meeting of no booking ignored");
            StatusCode::OK.into_response()
        }
        _ => StatusCode::OK.into_response(),
    }
}

/// Records attendance for the booking of `meeting` at `desk`'s office:
/// false when the meeting is none of its bookings'.
async fn attended(
    desk: &Desk,
    meeting: &str,
    now: chrono::DateTime<chrono::Utc>,
) -> Result<bool, DeskError> {
    let reservation = {
        let mut conn = desk.office().store().conn().await?;
        meetings::reservation_of_meeting(&mut conn, meeting).await?
    };
    let Some(reservation) = reservation else {
        return Ok(false);
    };
    match staff::staff_action(
        desk.office(),
        &reservation,
        StaffAction::Attended,
        now,
        ACTOR,
    )
    .await
    {
        Ok(_) => {
            info!(office = %desk.office().config().office_id, "attendance recorded from zoom");
            Ok(true)
        }
        // Already attended (a replay), or cancelled: nothing to change.
        Err(DeskError::Staff(StaffError::Conflict(_) | StaffError::NotFound(_))) => Ok(true),
        Err(e) => Err(e),
    }
}
