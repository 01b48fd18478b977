//! /metrics (Prometheus text format, version 0.0.4) and /healthz.
//!
//! The counts come from each office's database rows, so every desk serving
//! the page reports the same numbers and a restart loses none; the live
//! facts (IMAP connected, lease held, pass durations) are this process's.
//! Labels are office ids, outcomes, states and kinds: never personal data.
//! Encoded by prometheus-client (text format 0.0.4) from a registry built
//! per scrape: the database stays the one copy of the counts.

use super::{auth, plain, WebApp};
use crate::desk::Desk;
use crate::store::stats;
use axum::extract::State;
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use chrono::{DateTime, Duration, NaiveTime, Utc};
use prometheus_client::encoding::{prometheus_text, EncodeMetric, MetricEncoder, NoLabelSet};
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::{MetricType, TypedMetric};
use prometheus_client::registry::Registry;
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

/// Label sets: office ids, outcomes, states, kinds; never personal data.
type Labels = Vec<(&'static str, String)>;
type Counters = Family<Labels, Counter<u64>>;
type Gauges = Family<Labels, Gauge<i64>>;

/// The pass-time histograms of every office, already bucketed by the
/// desks (prometheus-client's own histogram observes values; ours arrive
/// counted).
#[derive(Debug, Default)]
struct PassHistograms(Vec<OfficePasses>);

/// One office's passes: labels, per-bucket counts by upper bound, count, sum.
type OfficePasses = (Labels, Vec<(f64, u64)>, u64, f64);

impl TypedMetric for PassHistograms {
    const TYPE: MetricType = MetricType::Histogram;
}

impl EncodeMetric for PassHistograms {
    fn encode(&self, mut encoder: MetricEncoder) -> Result<(), std::fmt::Error> {
        for (labels, buckets, count, sum) in &self.0 {
            encoder
                .encode_family(labels)?
                .encode_histogram::<NoLabelSet>(*sum, *count, buckets, None)?;
        }
        Ok(())
    }

    fn metric_type(&self) -> MetricType {
        Self::TYPE
    }
}

/// Every metric family the endpoint serves (counters are named without
/// `_total`: the encoder adds it).
#[derive(Default)]
struct Families {
    received: Counters,
    handled: Counters,
    sent: Counters,
    failures: Counters,
    failed: Gauges,
    depth: Gauges,
    oldest: Gauges,
    by_state: Gauges,
    today: Gauges,
    imap: Gauges,
    lease: Gauges,
    meeting_jobs: Gauges,
    folders_refused: Gauges,
    token_requests: Counters,
    token_failures: Counters,
    token_expiry: Gauges,
    passes: PassHistograms,
}

fn labels(pairs: &[(&'static str, &str)]) -> Labels {
    pairs.iter().map(|(k, v)| (*k, v.to_string())).collect()
}

fn count(family: &Counters, pairs: &[(&'static str, &str)], n: impl TryInto<u64>) {
    family
        .get_or_create(&labels(pairs))
        .inc_by(n.try_into().unwrap_or(0));
}

fn set(family: &Gauges, pairs: &[(&'static str, &str)], v: impl TryInto<i64>) {
    family
        .get_or_create(&labels(pairs))
        .set(v.try_into().unwrap_or(i64::MAX));
}

async fn render(app: &WebApp) -> Result<String, crate::store::StoreError> {
    let now = Utc::now();
    let mut f = Families::default();
    for (id, desk) in &app.desks {
        add_office(&mut f, app, id, desk, now).await?;
    }
    let mut registry = Registry::default();
    registry.register(
        "yoyaku_mails_received",
        "Mails read from the office mailbox",
        f.received,
    );
    registry.register(
        "yoyaku_mails_handled",
        "Mails handled, by outcome",
        f.handled,
    );
    registry.register(
        "yoyaku_mails_sent",
        "Mails the SMTP server accepted, by kind",
        f.sent,
    );
    registry.register(
        "yoyaku_send_failures",
        "Failed submission attempts",
        f.failures,
    );
    registry.register(
        "yoyaku_outbox_failed",
        "Mails given up on (staff were told)",
        f.failed,
    );
    registry.register("yoyaku_outbox_pending", "Mails waiting to be sent", f.depth);
    registry.register(
        "yoyaku_outbox_oldest_pending_seconds",
        "Age of the oldest mail waiting to be sent",
        f.oldest,
    );
    registry.register("yoyaku_requests", "Requests by state", f.by_state);
    registry.register(
        "yoyaku_sessions_today",
        "Sessions booked for today (not cancelled)",
        f.today,
    );
    registry.register(
        "yoyaku_imap_connected",
        "Whether this process holds an IMAP session for the office",
        f.imap,
    );
    registry.register(
        "yoyaku_lease_held",
        "Whether this process serves the office (holds its lease)",
        f.lease,
    );
    registry.register(
        "yoyaku_meeting_jobs_open",
        "Bookings whose Zoom meeting is still to be made or removed",
        f.meeting_jobs,
    );
    registry.register(
        "yoyaku_imap_folders_refused",
        "Folders the IMAP server refused to make (their mail stays in the inbox; staff were told)",
        f.folders_refused,
    );
    registry.register(
        "yoyaku_oauth2_token_requests",
        "OAuth2 tokens asked for the office's mailbox by this process",
        f.token_requests,
    );
    registry.register(
        "yoyaku_oauth2_token_failures",
        "OAuth2 token requests refused or unanswered",
        f.token_failures,
    );
    registry.register(
        "yoyaku_oauth2_token_expiry_seconds",
        "Seconds until the mailbox's current token expires (negative: expired, none renewed)",
        f.token_expiry,
    );
    registry.register(
        "yoyaku_pass_duration_seconds",
        "Duration of the desk's passes over inbox, timers and outbox",
        f.passes,
    );
    let mut out = String::new();
    // Writing into a String cannot fail; an error would be a bug of the encoder.
    let _ = prometheus_text::encode(&mut out, &registry);
    Ok(out)
}

/// One office's values in every family.
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
    count(&f.received, &office, counts.handled.values().sum::<i64>());
    for (outcome, n) in &counts.handled {
        count(&f.handled, &[("office", id), ("outcome", outcome)], *n);
    }
    for (kind, n) in &counts.sent {
        count(&f.sent, &[("office", id), ("kind", kind)], *n);
    }
    count(&f.failures, &office, counts.failed_attempts);
    set(&f.failed, &office, counts.failed);
    set(&f.depth, &office, counts.pending);
    set(&f.oldest, &office, counts.oldest_pending_seconds);
    for (state, n) in &counts.requests {
        set(&f.by_state, &[("office", id), ("state", state)], *n);
    }
    set(&f.today, &office, counts.sessions_today);
    if desk.office().config().zoom.is_some() {
        let (open, _) = {
            let mut conn = desk.office().store().conn().await?;
            crate::store::meetings::counts(&mut conn).await?
        };
        set(&f.meeting_jobs, &office, open);
    }
    let refused = {
        let mut conn = desk.office().store().conn().await?;
        crate::store::office::metas_with_prefix(&mut conn, crate::core::folders::TROUBLE_PREFIX)
            .await?
    };
    set(&f.folders_refused, &office, refused.len());
    for login in desk.office().config().oauth2_logins() {
        let t = crate::mail::oauth::stats_of(&login.oauth2, &login.mailbox);
        let pairs = [
            ("office", id),
            ("provider", t.provider),
            ("login", login.services),
        ];
        count(&f.token_requests, &pairs, t.requests);
        count(&f.token_failures, &pairs, t.failures);
        if let Some(at) = t.expires_at {
            set(&f.token_expiry, &pairs, (at - now).num_seconds());
        }
    }
    let live = app.live.get(id).map_or(desk, |d| d.as_ref());
    set(&f.imap, &office, u8::from(live.imap_connected()));
    let held = app.keeper.as_ref().is_some_and(|k| k.serves(id));
    set(&f.lease, &office, u8::from(held));
    let (buckets, total, sum) = live.pass_times().snapshot();
    // The snapshot is cumulative; the encoder sums per-bucket counts itself.
    let mut below = 0;
    let per_bucket: Vec<(f64, u64)> = buckets
        .into_iter()
        .map(|(le, cumulative)| {
            let n = cumulative.saturating_sub(below);
            below = cumulative;
            (le, n)
        })
        .collect();
    f.passes.0.push((labels(&office), per_bucket, total, sum));
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn label_values_are_escaped() {
        let family = Counters::default();
        count(&family, &[("office", "a\"b\\c\nd")], 3u64);
        let mut registry = Registry::default();
        registry.register("x", "x", family);
        let mut out = String::new();
        prometheus_text::encode(&mut out, &registry).expect("encode");
        assert!(
            out.contains("x_total{office=\"a\\\"b\\\\c\\nd\"} 3"),
            "{out}"
        );
    }
}
