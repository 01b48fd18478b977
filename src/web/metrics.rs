//! /metrics (Prometheus text format, version 0.0.4) and /healthz.
//!
//! The counts come from each office's database rows, so every desk serving
//! the page reports the same numbers and a restart loses none; the live
//! facts (IMAP connected, lease held, pass durations) are this process's.
//! Labels are office ids, outcomes, states and kinds: never personal data.
//! Written by hand: the format is a few lines, and a registry crate would
//! add a second copy of what the database already counts.

use super::{auth, plain, WebApp};
use crate::desk::Desk;
use crate::store::stats;
use axum::extract::State;
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use chrono::{DateTime, Duration, NaiveTime, Utc};
use std::fmt::Write as _;
use std::sync::Arc;

/// /metrics on the staff listener: only with `Authorization: Bearer
/// <metrics_token>`.
pub(super) async fn token_handler(State(app): State<Arc<WebApp>>, headers: HeaderMap) -> Response {
    let Some(expected) = app.settings.metrics_token.as_deref() else {
        return plain(
            StatusCode::NOT_FOUND,
            "metrics are served on [web] metrics_listen, or here with [web] metrics_token",
        );
    };
    let given = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
        .unwrap_or("");
    if !auth::same_secret(given, expected) {
        return plain(
            StatusCode::UNAUTHORIZED,
            "metrics need Authorization: Bearer <metrics_token>",
        );
    }
    open_handler(State(app)).await
}

/// /metrics without a token (`metrics_listen`, a separate address).
pub(super) async fn open_handler(State(app): State<Arc<WebApp>>) -> Response {
    match render(&app).await {
        Ok(text) => (
            [(
                header::CONTENT_TYPE,
                "text/plain; version=0.0.4; charset=utf-8",
            )],
            text,
        )
            .into_response(),
        Err(e) => {
            tracing::warn!(error = %e, "metrics not gathered");
            plain(
                StatusCode::SERVICE_UNAVAILABLE,
                "the database does not answer",
            )
        }
    }
}

/// 200 when the database answers and, where this process serves mail, its
/// desk presence is current.
pub(super) async fn healthz(State(app): State<Arc<WebApp>>) -> Response {
    let db = async {
        let mut conn = app.store.conn().await?;
        stats::ping(&mut conn).await
    };
    match tokio::time::timeout(std::time::Duration::from_secs(5), db).await {
        Ok(Ok(())) => {}
        _ => return plain(StatusCode::SERVICE_UNAVAILABLE, "database: not answering"),
    }
    if let Some(keeper) = &app.keeper {
        if !keeper.current() {
            return plain(
                StatusCode::SERVICE_UNAVAILABLE,
                "leases: not renewed in time",
            );
        }
    }
    plain(StatusCode::OK, "ok")
}

struct Family {
    name: &'static str,
    help: &'static str,
    kind: &'static str,
    lines: Vec<String>,
}

impl Family {
    fn new(name: &'static str, kind: &'static str, help: &'static str) -> Family {
        Family {
            name,
            help,
            kind,
            lines: Vec::new(),
        }
    }

    fn add(&mut self, labels: &[(&str, &str)], value: impl std::fmt::Display) {
        self.add_named(self.name, labels, value);
    }

    fn add_named(&mut self, name: &str, labels: &[(&str, &str)], value: impl std::fmt::Display) {
        let labels: Vec<String> = labels
            .iter()
            .map(|(k, v)| format!("{k}=\"{}\"", escape(v)))
            .collect();
        self.lines
            .push(format!("{name}{{{}}} {value}", labels.join(",")));
    }
}

fn escape(v: &str) -> String {
    v.replace('\\', "\\\\")
        .replace('"', "\\\"")
        .replace('\n', "\\n")
}

/// Every metric family the endpoint serves, each with a line per office.
struct Families {
    received: Family,
    handled: Family,
    sent: Family,
    failures: Family,
    failed: Family,
    depth: Family,
    oldest: Family,
    by_state: Family,
    today: Family,
    imap: Family,
    lease: Family,
    meeting_jobs: Family,
    folders_refused: Family,
    token_requests: Family,
    token_failures: Family,
    token_expiry: Family,
    passes: Family,
}

impl Families {
    fn new() -> Self {
        Families {
        received: Family::new(
            "yoyaku_mails_received_total",
            "counter",
            "Mails read from the office mailbox.",
        ),
        handled: Family::new(
            "yoyaku_mails_handled_total",
            "counter",
            "Mails handled, by outcome.",
        ),
        sent: Family::new(
            "yoyaku_mails_sent_total",
            "counter",
            "Mails the SMTP server accepted, by kind.",
        ),
        failures: Family::new(
            "yoyaku_send_failures_total",
            "counter",
            "Failed submission attempts.",
        ),
        failed: Family::new(
            "yoyaku_outbox_failed",
            "gauge",
            "Mails given up on (staff were told).",
        ),
        depth: Family::new(
            "yoyaku_outbox_pending",
            "gauge",
            "Mails waiting to be sent.",
        ),
        oldest: Family::new(
            "yoyaku_outbox_oldest_pending_seconds",
            "gauge",
            "Age of the oldest mail waiting to be sent.",
        ),
        by_state: Family::new("yoyaku_requests", "gauge", "Requests by state."),
        today: Family::new(
            "yoyaku_sessions_today",
            "gauge",
            "Sessions booked for today (not cancelled).",
        ),
        imap: Family::new(
            "yoyaku_imap_connected",
            "gauge",
            "Whether this process holds an IMAP session for the office.",
        ),
        lease: Family::new(
            "yoyaku_lease_held",
            "gauge",
            "Whether this process serves the office (holds its lease).",
        ),
        meeting_jobs: Family::new(
            "yoyaku_meeting_jobs_open",
            "gauge",
            "Bookings whose Zoom meeting is still to be made or removed.",
        ),
        folders_refused: Family::new(
            "yoyaku_imap_folders_refused",
            "gauge",
            "Folders the IMAP server refused to make (their mail stays in the inbox; staff were told).",
        ),
        token_requests: Family::new(
            "yoyaku_oauth2_token_requests_total",
            "counter",
            "OAuth2 tokens asked for the office's mailbox by this process.",
        ),
        token_failures: Family::new(
            "yoyaku_oauth2_token_failures_total",
            "counter",
            "OAuth2 token requests refused or unanswered.",
        ),
        token_expiry: Family::new(
            "yoyaku_oauth2_token_expiry_seconds",
            "gauge",
            "Seconds until the mailbox's current token expires (negative: expired, none renewed).",
        ),
        passes: Family::new(
            "yoyaku_pass_duration_seconds",
            "histogram",
            "Duration of the desk's passes over inbox, timers and outbox.",
        ),
        }
    }
}

async fn render(app: &WebApp) -> Result<String, crate::store::StoreError> {
    let now = Utc::now();
    let mut families = Families::new();
    for (id, desk) in &app.desks {
        add_office(&mut families, app, id, desk, now).await?;
    }
    let mut out = String::new();
    for f in [
        families.received,
        families.handled,
        families.sent,
        families.failures,
        families.failed,
        families.depth,
        families.oldest,
        families.by_state,
        families.today,
        families.imap,
        families.lease,
        families.meeting_jobs,
        families.folders_refused,
        families.token_requests,
        families.token_failures,
        families.token_expiry,
        families.passes,
    ] {
        let _ = writeln!(out, "# HELP {} {}", f.name, f.help);
        let _ = writeln!(out, "# TYPE {} {}", f.name, f.kind);
        for line in f.lines {
            let _ = writeln!(out, "{line}");
        }
    }
    Ok(out)
}

/// One office's lines in every family.
async fn add_office(
    f: &mut Families,
    app: &WebApp,
    id: &str,
    desk: &Desk,
    now: DateTime<Utc>,
) -> Result<(), crate::store::StoreError> {
    let office = [("office", id)];
    let cal = &desk.office().config().calendar;
    let date = cal.local_date(now);
    let counts = {
        let mut conn = desk.office().store().conn().await?;
        stats::office(
            &mut conn,
            now,
            cal.instant(date, NaiveTime::MIN),
            cal.instant(date + Duration::days(1), NaiveTime::MIN),
        )
        .await?
    };
    f.received
        .add(&office, counts.handled.values().sum::<i64>());
    for (outcome, n) in &counts.handled {
        f.handled.add(&[("office", id), ("outcome", outcome)], n);
    }
    for (kind, n) in &counts.sent {
        f.sent.add(&[("office", id), ("kind", kind)], n);
    }
    f.failures.add(&office, counts.failed_attempts);
    f.failed.add(&office, counts.failed);
    f.depth.add(&office, counts.pending);
    f.oldest.add(&office, counts.oldest_pending_seconds);
    for (state, n) in &counts.requests {
        f.by_state.add(&[("office", id), ("state", state)], n);
    }
    f.today.add(&office, counts.sessions_today);
    if desk.office().config().zoom.is_some() {
        let (open, _) = {
            let mut conn = desk.office().store().conn().await?;
            crate::store::meetings::counts(&mut conn).await?
        };
        f.meeting_jobs.add(&office, open);
    }
    let refused = {
        let mut conn = desk.office().store().conn().await?;
        crate::store::office::metas_with_prefix(&mut conn, crate::core::folders::TROUBLE_PREFIX)
            .await?
    };
    f.folders_refused.add(&office, refused.len());
    for login in desk.office().config().oauth2_logins() {
        let t = crate::mail::oauth::stats_of(&login.oauth2, &login.mailbox);
        let labels = [
            ("office", id),
            ("provider", t.provider),
            ("login", login.services),
        ];
        f.token_requests.add(&labels, t.requests);
        f.token_failures.add(&labels, t.failures);
        if let Some(at) = t.expires_at {
            f.token_expiry.add(&labels, (at - now).num_seconds());
        }
    }
    let live = app.live.get(id).map_or(desk, |d| d.as_ref());
    f.imap.add(&office, u8::from(live.imap_connected()));
    let held = app.keeper.as_ref().is_some_and(|k| k.serves(id));
    f.lease.add(&office, u8::from(held));
    let (buckets, count, sum) = live.pass_times().snapshot();
    for (le, n) in buckets {
        let le = if le.is_infinite() {
            "+Inf".to_string()
        } else {
            le.to_string()
        };
        f.passes.add_named(
            "yoyaku_pass_duration_seconds_bucket",
            &[("office", id), ("le", &le)],
            n,
        );
    }
    f.passes.add_named(
        "yoyaku_pass_duration_seconds_sum",
        &office,
        format!("{sum:.6}"),
    );
    f.passes
        .add_named("yoyaku_pass_duration_seconds_count", &office, count);
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn label_values_are_escaped() {
        let mut f = Family::new("x_total", "counter", "x");
        f.add(&[("office", "a\"b\\c\nd")], 3);
        assert_eq!(f.lines[0], "x_total{office=\"a\\\"b\\\\c\\nd\"} 3");
    }
}
