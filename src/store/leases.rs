//! The `office_leases` table: which desk serves which office, until when.

use super::{on_db, parse_ts, ts, Cols, Exec, StoreError};
use chrono::{DateTime, Utc};

/// Takes or renews the lease of the connection's office for `owner` until
/// `until`, when it is free, ours, or run out at `now` (real time). One
/// statement, so two desks racing for an office cannot both win. Whether
/// `owner` holds it now.
pub async fn hold(
    conn: &mut dyn Exec,
    owner: &str,
    now: DateTime<Utc>,
    until: DateTime<Utc>,
) -> Result<bool, StoreError> {
    let office = conn.office();
    on_db!(conn, c => {
        let held: Option<String> = sqlx::query_scalar(
            "INSERT INTO office_leases (office, owner, until, since) VALUES ($1, $2, $3, $4)
             ON CONFLICT (office) DO UPDATE SET owner = excluded.owner, until = excluded.until,
                 since = CASE WHEN office_leases.owner = excluded.owner THEN office_leases.since ELSE excluded.since END
             WHERE office_leases.owner = excluded.owner OR office_leases.until <= $4
             RETURNING owner",
        )
        .bind(&*office)
        .bind(owner)
        .bind(ts(until))
        .bind(ts(now))
        .fetch_optional(&mut *c)
        .await?;
        Ok(held.is_some())
    })
}

/// Gives the office up (a desk that stops, or hands it over), if `owner`
/// holds it, with the claims it still has there on mail to send and mail
/// to file: called at a safe point (no pass under way), so the next desk
/// need not wait for those claims to run out.
pub async fn release(conn: &mut dyn Exec, owner: &str) -> Result<(), StoreError> {
    let office = conn.office();
    on_db!(conn, c => {
        sqlx::query(
            "UPDATE outbox SET lease_owner = NULL, lease_until = NULL WHERE office = $1 AND lease_owner = $2 AND status = 'pending'",
        )
        .bind(&*office)
        .bind(owner)
        .execute(&mut *c)
        .await?;
        sqlx::query(
            "UPDATE processed SET filing_owner = NULL, filing_until = NULL WHERE office = $1 AND filing_owner = $2",
        )
        .bind(&*office)
        .bind(owner)
        .execute(&mut *c)
        .await?;
        sqlx::query("DELETE FROM office_leases WHERE office = $1 AND owner = $2")
            .bind(&*office)
            .bind(owner)
            .execute(&mut *c)
            .await?;
        Ok(())
    })
}

/// An office's lease, for `yoyaku status`.
#[derive(Debug, Clone)]
pub struct Lease {
    pub office: String,
    pub owner: String,
    pub until: DateTime<Utc>,
    pub since: DateTime<Utc>,
}

/// Every office's lease and what waits there, for `yoyaku status`: the one
/// view across offices (not limited to the connection's office).
#[derive(Debug, Clone, Default)]
pub struct Waiting {
    pub outbox_pending: i64,
    pub oldest_pending: Option<DateTime<Utc>>,
    pub needs_staff: i64,
}

pub async fn all(conn: &mut dyn Exec) -> Result<Vec<Lease>, StoreError> {
    on_db!(conn, c => {
        let rows = sqlx::query("SELECT office, owner, until, since FROM office_leases ORDER BY office")
            .fetch_all(&mut *c)
            .await?;
        rows.iter()
            .map(|r| {
                Ok(Lease {
                    office: r.col("office")?,
                    owner: r.col("owner")?,
                    until: parse_ts("office_leases", &r.col::<String>("until")?)?,
                    since: parse_ts("office_leases", &r.col::<String>("since")?)?,
                })
            })
            .collect()
    })
}

/// What waits in the connection's office.
pub async fn waiting(conn: &mut dyn Exec) -> Result<Waiting, StoreError> {
    let office = conn.office();
    on_db!(conn, c => {
        let (pending, oldest): (i64, Option<String>) = sqlx::query_as(
            "SELECT COUNT(*), MIN(created_at) FROM outbox WHERE status = 'pending' AND office = $1",
        )
        .bind(&*office)
        .fetch_one(&mut *c)
        .await?;
        let needs_staff: i64 = sqlx::query_scalar(
            "SELECT COUNT(*) FROM requests WHERE state = 'needs_staff' AND office = $1",
        )
        .bind(&*office)
        .fetch_one(&mut *c)
        .await?;
        Ok(Waiting {
            outbox_pending: pending,
            oldest_pending: oldest.map(|t| parse_ts("outbox", &t)).transpose()?,
            needs_staff,
        })
    })
}

/// Renews, in one statement, every lease held by one of `owners` that has
/// not run out at `now` (real time), until `until`: a process serving many
/// offices renews them all at once. Returns the offices renewed.
pub async fn renew_all(
    conn: &mut dyn Exec,
    owners: &[String],
    now: DateTime<Utc>,
    until: DateTime<Utc>,
) -> Result<Vec<String>, StoreError> {
    if owners.is_empty() {
        return Ok(Vec::new());
    }
    let sql = format!(
        "UPDATE office_leases SET until = $1 WHERE until > $2 AND owner IN ({}) RETURNING office",
        super::placeholders(3, owners.len())
    );
    on_db!(conn, c => {
        let mut query = sqlx::query_scalar(sqlx::AssertSqlSafe(sql))
            .bind(ts(until))
            .bind(ts(now));
        for owner in owners {
            query = query.bind(owner);
        }
        Ok(query.fetch_all(&mut *c).await?)
    })
}

/// Says desk process `process`, serving the offices `offices` (their
/// fingerprint), is alive until `until`, forgets the desks that are no
/// longer (at `now`), and returns how many alive desks serve the same
/// offices, this one included: those offices are shared among them.
pub async fn beat(
    conn: &mut dyn Exec,
    process: &str,
    offices: &str,
    now: DateTime<Utc>,
    until: DateTime<Utc>,
) -> Result<usize, StoreError> {
    on_db!(conn, c => {
        sqlx::query(
            "INSERT INTO desks (process, offices, until) VALUES ($1, $2, $3)
             ON CONFLICT (process) DO UPDATE SET offices = excluded.offices, until = excluded.until",
        )
        .bind(process)
        .bind(offices)
        .bind(ts(until))
        .execute(&mut *c)
        .await?;
        sqlx::query("DELETE FROM desks WHERE until <= $1")
            .bind(ts(now))
            .execute(&mut *c)
            .await?;
        let alive: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM desks WHERE offices = $1")
            .bind(offices)
            .fetch_one(&mut *c)
            .await?;
        Ok(usize::try_from(alive).unwrap_or(1).max(1))
    })
}

/// A desk process that stops: the others need not wait for it to run out.
pub async fn leave(conn: &mut dyn Exec, process: &str) -> Result<(), StoreError> {
    on_db!(conn, c => {
        sqlx::query("DELETE FROM desks WHERE process = $1")
            .bind(process)
            .execute(&mut *c)
            .await?;
        Ok(())
    })
}

/// How many offices have a live lease at `now` (any desk's).
pub async fn live(conn: &mut dyn Exec, now: DateTime<Utc>) -> Result<usize, StoreError> {
    on_db!(conn, c => {
        let n: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM office_leases WHERE until > $1")
            .bind(ts(now))
            .fetch_one(&mut *c)
            .await?;
        Ok(usize::try_from(n).unwrap_or(0))
    })
}

/// Who holds the connection's office's lease at `now`, if anyone.
pub async fn holder(conn: &mut dyn Exec, now: DateTime<Utc>) -> Result<Option<String>, StoreError> {
    let office = conn.office();
    on_db!(conn, c => {
        Ok(
            sqlx::query_scalar("SELECT owner FROM office_leases WHERE office = $1 AND until > $2")
                .bind(&*office)
                .bind(ts(now))
                .fetch_optional(&mut *c)
                .await?,
        )
    })
}
