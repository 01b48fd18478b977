//! The `unreachable` table: seekers' addresses our mail cannot reach
//! (a permanent delivery failure), open until staff have phoned.

use super::{on_db, parse_ts, ts, Cols, Exec, StoreError, Tx};
use chrono::{DateTime, Utc};

/// A mail of ours that came back, as the bounce names it.
#[derive(Debug, Clone)]
pub struct Bounced<'a> {
    pub address: &'a str,
    pub request_id: Option<i64>,
    /// The outbox kind of the mail that came back.
    pub kind: &'a str,
    pub status: Option<&'a str>,
    pub diagnostic: Option<&'a str>,
}

/// An open mark, for the 要対応 page.
#[derive(Debug, Clone)]
pub struct UnreachableRow {
    pub id: i64,
    pub address: String,
    pub request_id: Option<i64>,
    pub kind: String,
    pub status: Option<String>,
    pub diagnostic: Option<String>,
    pub at: DateTime<Utc>,
}

/// Whether mail to `address` is known not to arrive (an open mark).
pub async fn is_marked(conn: &mut dyn Exec, address: &str) -> Result<bool, StoreError> {
    let office = conn.office();
    let n: i64 = on_db!(conn, c => sqlx::query_scalar(
        "SELECT COUNT(*) FROM unreachable WHERE office = $1 AND address = $2 AND handled_at IS NULL"
    )
    .bind(&*office)
    .bind(address)
    .fetch_one(&mut *c)
    .await)?;
    Ok(n > 0)
}

/// Marks the address; false when an open mark was already there (then
/// nothing is written: one note per failure, not per bounce).
pub async fn mark(tx: &mut Tx, b: &Bounced<'_>, now: DateTime<Utc>) -> Result<bool, StoreError> {
    if is_marked(tx, b.address).await? {
        return Ok(false);
    }
    let office = tx.office();
    on_db!(tx, c => {
        sqlx::query("INSERT INTO unreachable (office, address, request_id, kind, status, diagnostic, at) VALUES ($1, $2, $3, $4, $5, $6, $7)")
            .bind(&*office)
            .bind(b.address)
            .bind(b.request_id)
            .bind(b.kind)
            .bind(b.status)
            .bind(b.diagnostic)
            .bind(ts(now))
            .execute(&mut *c)
            .await?;
        Ok(true)
    })
}

/// The open marks, oldest first.
pub async fn open(conn: &mut dyn Exec) -> Result<Vec<UnreachableRow>, StoreError> {
    let office = conn.office();
    on_db!(conn, c => {
        let rows = sqlx::query(
            "SELECT id, address, request_id, kind, status, diagnostic, at FROM unreachable WHERE office = $1 AND handled_at IS NULL ORDER BY at, id",
        )
        .bind(&*office)
        .fetch_all(&mut *c)
        .await?;
        rows.iter().map(open_row).collect()
    })
}

fn open_row(r: &impl Cols) -> Result<UnreachableRow, StoreError> {
    let at: String = r.col("at")?;
    Ok(UnreachableRow {
        id: r.col("id")?,
        address: r.col("address")?,
        request_id: r.col("request_id")?,
        kind: r.col("kind")?,
        status: r.col("status")?,
        diagnostic: r.col("diagnostic")?,
        at: parse_ts("unreachable", &at)?,
    })
}

/// Staff phoned the seeker of `request_id` (電話済み): its open marks
/// close and mail to the address goes out again. Returns how many closed.
pub async fn handled(
    tx: &mut Tx,
    request_id: i64,
    by: &str,
    now: DateTime<Utc>,
) -> Result<u64, StoreError> {
    let office = tx.office();
    on_db!(tx, c => {
        let done = sqlx::query("UPDATE unreachable SET handled_at = $1, handled_by = $2 WHERE office = $3 AND request_id = $4 AND handled_at IS NULL")
            .bind(ts(now))
            .bind(by)
            .bind(&*office)
            .bind(request_id)
            .execute(&mut *c)
            .await?;
        Ok(done.rows_affected())
    })
}
