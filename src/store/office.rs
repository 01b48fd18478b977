//! The `refusals` and `meta` tables: the office's own decisions and facts.

use super::{on_db, parse_ts, ts, Cols, Exec, StoreError, Tx};
use chrono::{DateTime, Utc};

/// 第12条(1): stop offering service to this job-seeker number.
pub async fn refuse(
    tx: &mut Tx,
    seeker_number: &str,
    reason: &str,
    now: DateTime<Utc>,
    actor: &str,
) -> Result<(), StoreError> {
    let office = tx.office();
    on_db!(tx, c => {
        sqlx::query("INSERT INTO refusals (seeker_number, reason, created_at, office) VALUES ($1, $2, $3, $4) ON CONFLICT (office, seeker_number) DO UPDATE SET reason = excluded.reason")
            .bind(seeker_number)
            .bind(reason)
            .bind(ts(now))
            .bind(&*office)
            .execute(&mut *c)
            .await?;
        Ok::<_, StoreError>(())
    })?;
    refusal_history(tx, seeker_number, "refused", Some(reason), actor, now).await
}

/// Lifts a refusal; whether there was one. Only a lifted one is in the
/// history.
pub async fn unrefuse(
    tx: &mut Tx,
    seeker_number: &str,
    now: DateTime<Utc>,
    actor: &str,
) -> Result<bool, StoreError> {
    let office = tx.office();
    let lifted = on_db!(tx, c => {
        let done = sqlx::query("DELETE FROM refusals WHERE seeker_number = $1 AND office = $2")
            .bind(seeker_number)
            .bind(&*office)
            .execute(&mut *c)
            .await?;
        Ok::<_, StoreError>(done.rows_affected() > 0)
    })?;
    if lifted {
        refusal_history(tx, seeker_number, "lifted", None, actor, now).await?;
    }
    Ok(lifted)
}

async fn refusal_history(
    tx: &mut Tx,
    seeker_number: &str,
    action: &str,
    reason: Option<&str>,
    actor: &str,
    now: DateTime<Utc>,
) -> Result<(), StoreError> {
    let office = tx.office();
    on_db!(tx, c => {
        sqlx::query("INSERT INTO refusal_history (office, seeker_number, action, reason, actor, at) VALUES ($1, $2, $3, $4, $5, $6)")
            .bind(&*office)
            .bind(seeker_number)
            .bind(action)
            .bind(reason)
            .bind(actor)
            .bind(ts(now))
            .execute(&mut *c)
            .await?;
        Ok(())
    })
}

/// Forgets the history of refusals lifted before `before` (第8条): the
/// 求職番号 of someone no longer refused is personal data like any other.
pub async fn forget_refusal_history_before(
    tx: &mut Tx,
    before: DateTime<Utc>,
) -> Result<u64, StoreError> {
    let office = tx.office();
    on_db!(tx, c => {
        let done = sqlx::query(
            "DELETE FROM refusal_history WHERE office = $1 AND at < $2 AND NOT EXISTS \
             (SELECT 1 FROM refusals r WHERE r.office = refusal_history.office AND r.seeker_number = refusal_history.seeker_number)",
        )
        .bind(&*office)
        .bind(ts(before))
        .execute(&mut *c)
        .await?;
        Ok(done.rows_affected())
    })
}

/// One refusal set or lifted, by whom.
#[derive(Debug, Clone)]
pub struct RefusalEvent {
    pub seeker_number: String,
    pub lifted: bool,
    pub reason: Option<String>,
    pub actor: String,
    pub at: DateTime<Utc>,
}

/// The office's latest refusals set and lifted, newest first.
pub async fn refusal_events(
    conn: &mut dyn Exec,
    limit: i64,
) -> Result<Vec<RefusalEvent>, StoreError> {
    let office = conn.office();
    on_db!(conn, c => {
        let rows = sqlx::query("SELECT seeker_number, action, reason, actor, at FROM refusal_history WHERE office = $1 ORDER BY id DESC LIMIT $2")
            .bind(&*office)
            .bind(limit)
            .fetch_all(&mut *c)
            .await?;
        rows.iter()
            .map(|r| {
                Ok(RefusalEvent {
                    seeker_number: r.col("seeker_number")?,
                    lifted: r.col::<String>("action")? == "lifted",
                    reason: r.col("reason")?,
                    actor: r.col("actor")?,
                    at: parse_ts("refusal_history", &r.col::<String>("at")?)?,
                })
            })
            .collect()
    })
}

/// The refusal of a seeker: its reason and date.
pub async fn refusal(
    conn: &mut dyn Exec,
    seeker_number: &str,
) -> Result<Option<(String, DateTime<Utc>)>, StoreError> {
    let office = conn.office();
    on_db!(conn, c => {
        let row = sqlx::query("SELECT reason, created_at FROM refusals WHERE seeker_number = $1 AND office = $2")
            .bind(seeker_number)
            .bind(&*office)
            .fetch_optional(&mut *c)
            .await?;
        match row {
            Some(r) => Ok(Some((
                r.col("reason")?,
                parse_ts("refusals", &r.col::<String>("created_at")?)?,
            ))),
            None => Ok(None),
        }
    })
}

/// Whether staff refused the seeker, and their unexcused no-shows (any
/// address), in one query.
pub async fn standing(conn: &mut dyn Exec, seeker_number: &str) -> Result<(bool, u32), StoreError> {
    let office = conn.office();
    on_db!(conn, c => {
        let (refused, no_shows): (bool, i64) = sqlx::query_as(
            "SELECT EXISTS (SELECT 1 FROM refusals WHERE seeker_number = $1 AND office = $3),
                (SELECT COUNT(*) FROM bookings b
                 WHERE b.office = $3 AND b.status = 'no_show' AND b.excused = 0
                   AND b.request_id IN (SELECT id FROM requests WHERE office = $3 AND seeker_number = $2))",
        )
        .bind(seeker_number)
        .bind(seeker_number)
        .bind(&*office)
        .fetch_one(&mut *c)
        .await?;
        Ok((refused, u32::try_from(no_shows).unwrap_or(u32::MAX)))
    })
}

pub async fn get_meta(conn: &mut dyn Exec, key: &str) -> Result<Option<String>, StoreError> {
    let office = conn.office();
    on_db!(conn, c => {
        Ok(sqlx::query_scalar("SELECT value FROM meta WHERE key = $1 AND office = $2")
            .bind(key)
            .bind(&*office)
            .fetch_optional(&mut *c)
            .await?)
    })
}

pub async fn set_meta(tx: &mut Tx, key: &str, value: &str) -> Result<(), StoreError> {
    let office = tx.office();
    on_db!(tx, c => {
        sqlx::query("INSERT INTO meta (key, value, office) VALUES ($1, $2, $3) ON CONFLICT (office, key) DO UPDATE SET value = excluded.value")
            .bind(key)
            .bind(value)
            .bind(&*office)
            .execute(&mut *c)
            .await?;
        Ok(())
    })
}

/// Deletes a meta key; whether it was there.
pub async fn delete_meta(tx: &mut Tx, key: &str) -> Result<bool, StoreError> {
    let office = tx.office();
    on_db!(tx, c => {
        let done = sqlx::query("DELETE FROM meta WHERE key = $1 AND office = $2")
            .bind(key)
            .bind(&*office)
            .execute(&mut *c)
            .await?;
        Ok(done.rows_affected() > 0)
    })
}

/// The office's meta keys starting with `prefix`, with their values.
pub async fn metas_with_prefix(
    conn: &mut dyn Exec,
    prefix: &str,
) -> Result<Vec<(String, String)>, StoreError> {
    let office = conn.office();
    let low = prefix.to_string();
    // Every key with the prefix sorts between it and it + U+10FFFF.
    let high = format!("{prefix}\u{10FFFF}");
    on_db!(conn, c => {
        let rows: Vec<(String, String)> = sqlx::query_as(
            "SELECT key, value FROM meta WHERE office = $1 AND key >= $2 AND key < $3 ORDER BY key",
        )
        .bind(&*office)
        .bind(&low)
        .bind(&high)
        .fetch_all(&mut *c)
        .await?;
        Ok(rows)
    })
}

/// Every refusal of the office: 求職番号, reason, since when; newest first.
pub async fn refusals(
    conn: &mut dyn Exec,
) -> Result<Vec<(String, String, DateTime<Utc>)>, StoreError> {
    let office = conn.office();
    on_db!(conn, c => {
        let rows = sqlx::query(
            "SELECT seeker_number, reason, created_at FROM refusals WHERE office = $1 ORDER BY created_at DESC",
        )
        .bind(&*office)
        .fetch_all(&mut *c)
        .await?;
        rows.iter()
            .map(|r| {
                Ok((
                    r.col("seeker_number")?,
                    r.col("reason")?,
                    parse_ts("refusals", &r.col::<String>("created_at")?)?,
                ))
            })
            .collect()
    })
}
