//! The `waitlist_offers` and `closures` tables: freed slots offered to the
//! seekers who waited for them, and days staff closed at short notice.

use super::{on_db, parse_ts, ts, Cols, Exec, StoreError, Tx};
use chrono::{DateTime, NaiveDate, Utc};

/// How a freed-slot offer ended (decided in `core::booking`).
pub use crate::core::booking::WaitOutcome as Outcome;

/// Records that the freed slot starting at `slot_start` was offered to request `id`.
pub async fn offered(
    tx: &mut Tx,
    request_id: i64,
    slot_start: DateTime<Utc>,
    now: DateTime<Utc>,
) -> Result<(), StoreError> {
    let office = tx.office();
    on_db!(tx, c => {
        sqlx::query("INSERT INTO waitlist_offers (office, request_id, slot_start, offered_at) VALUES ($1, $2, $3, $4)")
            .bind(&*office)
            .bind(request_id)
            .bind(ts(slot_start))
            .bind(ts(now))
            .execute(&mut *c)
            .await?;
        Ok(())
    })
}

/// Closes the request's open offer of that slot with its outcome.
pub async fn resolve(
    tx: &mut Tx,
    request_id: i64,
    slot_start: DateTime<Utc>,
    outcome: Outcome,
    now: DateTime<Utc>,
) -> Result<(), StoreError> {
    let office = tx.office();
    on_db!(tx, c => {
        sqlx::query("UPDATE waitlist_offers SET outcome = $1, outcome_at = $2 WHERE request_id = $3 AND slot_start = $4 AND outcome IS NULL AND office = $5")
            .bind(outcome.as_str())
            .bind(ts(now))
            .bind(request_id)
            .bind(ts(slot_start))
            .bind(&*office)
            .execute(&mut *c)
            .await?;
        Ok(())
    })
}

/// One freed-slot offer, for the staff page.
#[derive(Debug, Clone)]
pub struct OfferRow {
    pub request_id: i64,
    pub reference: String,
    pub slot_start: DateTime<Utc>,
    pub offered_at: DateTime<Utc>,
    pub outcome: Option<String>,
}

/// One `waitlist_offers` row joined with its request's reference.
fn offer_row(r: &impl Cols) -> Result<OfferRow, StoreError> {
    Ok(OfferRow {
        request_id: r.col("request_id")?,
        reference: r.col("ref")?,
        slot_start: parse_ts("waitlist_offers", &r.col::<String>("slot_start")?)?,
        offered_at: parse_ts("waitlist_offers", &r.col::<String>("offered_at")?)?,
        outcome: r.col("outcome")?,
    })
}

/// The freed-slot offers of slots starting in [from, to), by slot.
pub async fn offers_between(
    conn: &mut dyn Exec,
    from: DateTime<Utc>,
    to: DateTime<Utc>,
) -> Result<Vec<OfferRow>, StoreError> {
    let office = conn.office();
    on_db!(conn, c => {
        let rows = sqlx::query(
            "SELECT w.request_id, r.ref, w.slot_start, w.offered_at, w.outcome FROM waitlist_offers w JOIN requests r ON r.id = w.request_id
             WHERE w.slot_start >= $1 AND w.slot_start < $2 AND w.office = $3 ORDER BY w.slot_start, w.id",
        )
        .bind(ts(from))
        .bind(ts(to))
        .bind(&*office)
        .fetch_all(&mut *c)
        .await?;
        rows.iter().map(offer_row).collect()
    })
}

/// The freed-slot offers of one request, for its page.
pub async fn offers_of(conn: &mut dyn Exec, request_id: i64) -> Result<Vec<OfferRow>, StoreError> {
    let office = conn.office();
    on_db!(conn, c => {
        let rows = sqlx::query(
            "SELECT w.request_id, r.ref, w.slot_start, w.offered_at, w.outcome FROM waitlist_offers w JOIN requests r ON r.id = w.request_id
             WHERE w.request_id = $1 AND w.office = $2 ORDER BY w.id",
        )
        .bind(request_id)
        .bind(&*office)
        .fetch_all(&mut *c)
        .await?;
        rows.iter().map(offer_row).collect()
    })
}

/// Slots refilled in [from, to) (by the time the seeker took the freed slot).
pub async fn refilled(
    conn: &mut dyn Exec,
    from: DateTime<Utc>,
    to: DateTime<Utc>,
) -> Result<i64, StoreError> {
    let office = conn.office();
    let n: i64 = on_db!(conn, c => sqlx::query_scalar(
        "SELECT COUNT(*) FROM waitlist_offers WHERE outcome = 'booked' AND outcome_at >= $1 AND outcome_at < $2 AND office = $3"
    )
    .bind(ts(from))
    .bind(ts(to))
    .bind(&*office)
    .fetch_one(&mut *c)
    .await)?;
    Ok(n)
}

/// A day closed by staff.
#[derive(Debug, Clone)]
pub struct Closure {
    pub day: NaiveDate,
    pub reason: String,
    pub closed_by: String,
    pub closed_at: DateTime<Utc>,
}

fn parse_day(s: &str) -> Result<NaiveDate, StoreError> {
    NaiveDate::parse_from_str(s, "%Y-%m-%d").map_err(|e| StoreError::Corrupt {
        table: "closures",
        problem: format!("day {s:?}: {e}"),
    })
}

/// The days closed from `from` on (not reopened).
pub async fn closures_from(
    conn: &mut dyn Exec,
    from: NaiveDate,
) -> Result<Vec<Closure>, StoreError> {
    let office = conn.office();
    on_db!(conn, c => {
        let rows = sqlx::query(
            "SELECT day, reason, closed_by, closed_at FROM closures WHERE day >= $1 AND reopened_at IS NULL AND office = $2 ORDER BY day",
        )
        .bind(from.format("%Y-%m-%d").to_string())
        .bind(&*office)
        .fetch_all(&mut *c)
        .await?;
        rows.iter()
            .map(|r| {
                Ok(Closure {
                    day: parse_day(&r.col::<String>("day")?)?,
                    reason: r.col("reason")?,
                    closed_by: r.col("closed_by")?,
                    closed_at: parse_ts("closures", &r.col::<String>("closed_at")?)?,
                })
            })
            .collect()
    })
}

/// Closes `day`; false when it was closed already (nothing written).
pub async fn close_day(
    tx: &mut Tx,
    day: NaiveDate,
    reason: &str,
    by: &str,
    now: DateTime<Utc>,
) -> Result<bool, StoreError> {
    let office = tx.office();
    let day = day.format("%Y-%m-%d").to_string();
    on_db!(tx, c => {
        let n: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM closures WHERE day = $1 AND reopened_at IS NULL AND office = $2")
            .bind(&day)
            .bind(&*office)
            .fetch_one(&mut *c)
            .await?;
        if n > 0 {
            return Ok(false);
        }
        sqlx::query("INSERT INTO closures (office, day, reason, closed_by, closed_at) VALUES ($1, $2, $3, $4, $5)")
            .bind(&*office)
            .bind(&day)
            .bind(reason)
            .bind(by)
            .bind(ts(now))
            .execute(&mut *c)
            .await?;
        Ok(true)
    })
}

/// Reopens `day`; false when it was not closed.
pub async fn reopen_day(
    tx: &mut Tx,
    day: NaiveDate,
    by: &str,
    now: DateTime<Utc>,
) -> Result<bool, StoreError> {
    let office = tx.office();
    on_db!(tx, c => {
        let done = sqlx::query("UPDATE closures SET reopened_by = $1, reopened_at = $2 WHERE day = $3 AND reopened_at IS NULL AND office = $4")
            .bind(by)
            .bind(ts(now))
            .bind(day.format("%Y-%m-%d").to_string())
            .bind(&*office)
            .execute(&mut *c)
            .await?;
        Ok(done.rows_affected() > 0)
    })
}
