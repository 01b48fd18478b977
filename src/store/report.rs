//! Anonymous usage counts for a period (第7条): numbers only, no one named.
//! Everything read here survives `purge`.

use super::{on_db, parse_ts, ts, Cols, Exec, StoreError};
use chrono::{DateTime, Utc};

#[derive(Debug, Clone, Default, PartialEq)]
pub struct Usage {
    /// Requests received by mail.
    pub requests: i64,
    /// Offer mails sent (a request may get several).
    pub offers: i64,
    pub bookings_by_email: i64,
    pub bookings_by_staff: i64,
    /// Sessions in the period, by outcome.
    pub attended: i64,
    pub no_shows: i64,
    pub no_shows_excused: i64,
    pub cancelled_by_email: i64,
    pub cancelled_by_staff: i64,
    pub lapsed: i64,
    /// Freed slots a waiting seeker took (キャンセル待ち), by when they took it.
    pub slots_refilled: i64,
    /// Mean minutes from a request's arrival to the bot's first answer.
    pub mean_minutes_to_answer: Option<f64>,
}

const REQUESTS: &str = "SELECT COUNT(*) FROM requests r WHERE r.created_at >= $1 AND r.created_at < $2 AND NOT EXISTS (SELECT 1 FROM history h WHERE h.request_id = r.id AND h.event = 'staff_book' AND h.office = $3) AND r.office = $3";
const BOOKINGS_BY_EMAIL: &str = "SELECT COUNT(*) FROM bookings WHERE booked_by = 'seeker' AND created_at >= $1 AND created_at < $2 AND office = $3";
const BOOKINGS_BY_STAFF: &str = "SELECT COUNT(*) FROM bookings WHERE booked_by = 'staff' AND created_at >= $1 AND created_at < $2 AND office = $3";
const ATTENDED: &str = "SELECT COUNT(*) FROM bookings WHERE status = 'attended' AND slot_start >= $1 AND slot_start < $2 AND office = $3";

/// The three counts of the report's bar chart for `[from, to)`.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct ChartCounts {
    pub requests: i64,
    pub bookings: i64,
    pub attended: i64,
}

/// Only what the chart draws: four index look-ups a month, where the whole
/// report is eleven and a join.
pub async fn chart(
    conn: &mut dyn Exec,
    from: DateTime<Utc>,
    to: DateTime<Utc>,
) -> Result<ChartCounts, StoreError> {
    Ok(ChartCounts {
        requests: count(conn, REQUESTS, from, to).await?,
        bookings: count(conn, BOOKINGS_BY_EMAIL, from, to).await?
            + count(conn, BOOKINGS_BY_STAFF, from, to).await?,
        attended: count(conn, ATTENDED, from, to).await?,
    })
}

async fn count(
    conn: &mut dyn Exec,
    sql: &'static str,
    from: DateTime<Utc>,
    to: DateTime<Utc>,
) -> Result<i64, StoreError> {
    let office = conn.office();
    on_db!(conn, c => {
        Ok(sqlx::query_scalar(sql)
            .bind(ts(from))
            .bind(ts(to))
            .bind(&*office)
            .fetch_one(&mut *c)
            .await?)
    })
}

/// The counts for `[from, to)`.
pub async fn usage(
    conn: &mut dyn Exec,
    from: DateTime<Utc>,
    to: DateTime<Utc>,
) -> Result<Usage, StoreError> {
    let office = conn.office();
    let mut u = Usage {
        requests: count(conn, REQUESTS, from, to).await?,
        offers: count(conn, "SELECT COUNT(*) FROM outbox WHERE kind = 'offer' AND created_at >= $1 AND created_at < $2 AND office = $3", from, to).await?,
        bookings_by_email: count(conn, BOOKINGS_BY_EMAIL, from, to).await?,
        bookings_by_staff: count(conn, BOOKINGS_BY_STAFF, from, to).await?,
        attended: count(conn, ATTENDED, from, to).await?,
        no_shows: count(conn, "SELECT COUNT(*) FROM bookings WHERE status = 'no_show' AND slot_start >= $1 AND slot_start < $2 AND office = $3", from, to).await?,
        no_shows_excused: count(conn, "SELECT COUNT(*) FROM bookings WHERE status = 'no_show' AND excused = 1 AND slot_start >= $1 AND slot_start < $2 AND office = $3", from, to).await?,
        cancelled_by_email: count(conn, "SELECT COUNT(*) FROM bookings WHERE status = 'cancelled' AND cancelled_by = 'email' AND outcome_at >= $1 AND outcome_at < $2 AND office = $3", from, to).await?,
        cancelled_by_staff: count(conn, "SELECT COUNT(*) FROM bookings WHERE status = 'cancelled' AND cancelled_by = 'staff' AND outcome_at >= $1 AND outcome_at < $2 AND office = $3", from, to).await?,
        lapsed: count(conn, "SELECT COUNT(*) FROM history WHERE to_state = 'lapsed' AND from_state <> 'lapsed' AND at >= $1 AND at < $2 AND office = $3", from, to).await?,
        slots_refilled: super::waitlist::refilled(conn, from, to).await?,
        mean_minutes_to_answer: None,
    };
    let minutes = on_db!(conn, c => {
    let rows = sqlx::query(
        "SELECT r.created_at AS received, MIN(o.created_at) AS answered FROM requests r JOIN outbox o ON o.request_id = r.id AND o.kind <> 'staff'
         WHERE r.created_at >= $1 AND r.created_at < $2 AND r.office = $3 AND o.office = $3
           AND NOT EXISTS (SELECT 1 FROM history h WHERE h.request_id = r.id AND h.event = 'staff_book' AND h.office = $3)
         GROUP BY r.id",
    )
    .bind(ts(from))
    .bind(ts(to))
    .bind(&*office)
    .fetch_all(&mut *c)
    .await?;
    let mut minutes = Vec::with_capacity(rows.len());
    for row in &rows {
        let received = parse_ts("requests", &row.col::<String>("received")?)?;
        let answered = parse_ts("outbox", &row.col::<String>("answered")?)?;
        minutes.push((answered - received).num_seconds().max(0) as f64 / 60.0);
    }
    minutes
    });
    if !minutes.is_empty() {
        u.mean_minutes_to_answer = Some(minutes.iter().sum::<f64>() / minutes.len() as f64);
    }
    Ok(u)
}
