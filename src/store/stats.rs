//! The counts /metrics reports for one office, read from its rows.

use super::{on_db, parse_ts, ts, Cols, Exec, StoreError};
use chrono::{DateTime, Utc};
use std::collections::BTreeMap;

#[derive(Debug, Clone, Default)]
pub struct OfficeCounts {
    /// Mails read, by what became of them.
    pub handled: BTreeMap<String, i64>,
    /// Mails the server accepted, by kind.
    pub sent: BTreeMap<String, i64>,
    pub failed_attempts: i64,
    pub failed: i64,
    pub pending: i64,
    pub oldest_pending_seconds: i64,
    pub requests: BTreeMap<String, i64>,
    pub sessions_today: i64,
}

/// Whether the database answers.
pub async fn ping(conn: &mut dyn Exec) -> Result<(), StoreError> {
    on_db!(conn, c => {
        sqlx::query("SELECT 1").execute(&mut *c).await?;
        Ok(())
    })
}

/// The connection's office's counts at `now`; today is `[day_from, day_to)`.
pub async fn office(
    conn: &mut dyn Exec,
    now: DateTime<Utc>,
    day_from: DateTime<Utc>,
    day_to: DateTime<Utc>,
) -> Result<OfficeCounts, StoreError> {
    let office = conn.office();
    on_db!(conn, c => {
        let mut counts = OfficeCounts::default();
        let grouped = |rows: Vec<(String, i64)>| rows.into_iter().collect::<BTreeMap<_, _>>();
        counts.handled = grouped(
            sqlx::query_as("SELECT outcome, COUNT(*) FROM processed WHERE office = $1 GROUP BY outcome")
                .bind(&*office)
                .fetch_all(&mut *c)
                .await?,
        );
        counts.sent = grouped(
            sqlx::query_as("SELECT kind, COUNT(*) FROM outbox WHERE status = 'sent' AND office = $1 GROUP BY kind")
                .bind(&*office)
                .fetch_all(&mut *c)
                .await?,
        );
        counts.requests = grouped(
            sqlx::query_as("SELECT state, COUNT(*) FROM requests WHERE office = $1 GROUP BY state")
                .bind(&*office)
                .fetch_all(&mut *c)
                .await?,
        );
        let row = sqlx::query(
            "SELECT CAST(COALESCE(SUM(attempts), 0) AS BIGINT) AS attempts,
                    COUNT(*) FILTER (WHERE status = 'failed') AS failed,
                    COUNT(*) FILTER (WHERE status = 'pending') AS pending,
                    MIN(created_at) FILTER (WHERE status = 'pending') AS oldest
             FROM outbox WHERE office = $1",
        )
        .bind(&*office)
        .fetch_one(&mut *c)
        .await?;
        counts.failed_attempts = row.col("attempts")?;
        counts.failed = row.col("failed")?;
        counts.pending = row.col("pending")?;
        counts.oldest_pending_seconds = match row.col::<Option<String>>("oldest")? {
            Some(t) => (now - parse_ts("outbox", &t)?).num_seconds().max(0),
            None => 0,
        };
        counts.sessions_today = sqlx::query_scalar(
            "SELECT COUNT(*) FROM bookings WHERE office = $1 AND slot_start >= $2 AND slot_start < $3 AND status <> 'cancelled'",
        )
        .bind(&*office)
        .bind(ts(day_from))
        .bind(ts(day_to))
        .fetch_one(&mut *c)
        .await?;
        Ok(counts)
    })
}
