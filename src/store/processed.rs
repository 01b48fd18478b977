//! The `processed` table: which mailbox messages have been handled, so none
//! is answered twice: by UIDVALIDITY+UID, then Message-ID, then raw hash.

use super::{ts, StoreError, Tx};
use chrono::{DateTime, Utc};
use sqlx::{Row, SqliteConnection};

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProcessedKey {
    pub mailbox: String,
    pub uidvalidity: u32,
    pub uid: u32,
}

#[derive(Debug, Clone)]
pub struct Processed {
    pub folder: String,
    pub moved: bool,
}

pub async fn get(
    conn: &mut SqliteConnection,
    key: &ProcessedKey,
) -> Result<Option<Processed>, StoreError> {
    let row = sqlx::query(
        "SELECT folder, moved FROM processed WHERE mailbox = ? AND uidvalidity = ? AND uid = ?",
    )
    .bind(&key.mailbox)
    .bind(i64::from(key.uidvalidity))
    .bind(i64::from(key.uid))
    .fetch_optional(&mut *conn)
    .await?;
    match row {
        Some(r) => Ok(Some(Processed {
            folder: r.try_get("folder")?,
            moved: r.try_get::<i64, _>("moved")? != 0,
        })),
        None => Ok(None),
    }
}

/// Whether the same message was handled before under another UID (a
/// redelivery, a replay, or a recreated mailbox).
pub async fn seen_before(
    conn: &mut SqliteConnection,
    message_id: Option<&str>,
    raw_sha256: &str,
) -> Result<bool, StoreError> {
    if let Some(id) = message_id {
        let n: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM processed WHERE message_id = ?")
            .bind(id)
            .fetch_one(&mut *conn)
            .await?;
        if n > 0 {
            return Ok(true);
        }
    }
    let n: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM processed WHERE raw_sha256 = ?")
        .bind(raw_sha256)
        .fetch_one(&mut *conn)
        .await?;
    Ok(n > 0)
}

pub struct Record<'a> {
    pub key: &'a ProcessedKey,
    pub message_id: Option<&'a str>,
    pub raw_sha256: &'a str,
    pub request_id: Option<i64>,
    pub outcome: &'a str,
    pub folder: &'a str,
    pub now: DateTime<Utc>,
    /// The sender's bare address, for the rate limit.
    pub sender: Option<&'a str>,
}

pub async fn insert(tx: &mut Tx, r: &Record<'_>) -> Result<(), StoreError> {
    sqlx::query("INSERT INTO processed (mailbox, uidvalidity, uid, message_id, raw_sha256, request_id, outcome, folder, processed_at, sender) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)")
        .bind(&r.key.mailbox)
        .bind(i64::from(r.key.uidvalidity))
        .bind(i64::from(r.key.uid))
        .bind(r.message_id)
        .bind(r.raw_sha256)
        .bind(r.request_id)
        .bind(r.outcome)
        .bind(r.folder)
        .bind(ts(r.now))
        .bind(r.sender)
        .execute(&mut **tx)
        .await?;
    Ok(())
}

pub async fn mark_moved(conn: &mut SqliteConnection, key: &ProcessedKey) -> Result<(), StoreError> {
    sqlx::query("UPDATE processed SET moved = 1 WHERE mailbox = ? AND uidvalidity = ? AND uid = ?")
        .bind(&key.mailbox)
        .bind(i64::from(key.uidvalidity))
        .bind(i64::from(key.uid))
        .execute(&mut *conn)
        .await?;
    Ok(())
}

/// Counts one more failed attempt at handling a message; returns the total.
pub async fn record_failure(
    conn: &mut SqliteConnection,
    key: &ProcessedKey,
    error: &str,
    now: DateTime<Utc>,
) -> Result<i64, StoreError> {
    let error: String = error.chars().take(300).collect();
    sqlx::query(
        "INSERT INTO failures (mailbox, uidvalidity, uid, attempts, last_error, updated_at) VALUES (?, ?, ?, 1, ?, ?)
         ON CONFLICT (mailbox, uidvalidity, uid) DO UPDATE SET attempts = attempts + 1, last_error = excluded.last_error, updated_at = excluded.updated_at",
    )
    .bind(&key.mailbox)
    .bind(i64::from(key.uidvalidity))
    .bind(i64::from(key.uid))
    .bind(error)
    .bind(ts(now))
    .execute(&mut *conn)
    .await?;
    Ok(sqlx::query_scalar(
        "SELECT attempts FROM failures WHERE mailbox = ? AND uidvalidity = ? AND uid = ?",
    )
    .bind(&key.mailbox)
    .bind(i64::from(key.uidvalidity))
    .bind(i64::from(key.uid))
    .fetch_one(&mut *conn)
    .await?)
}

/// Messages from `sender` handled since `since` (duplicates and machine
/// mail not counted), and whether one of them was already over the limit.
pub async fn recent_from(
    conn: &mut SqliteConnection,
    sender: &str,
    since: DateTime<Utc>,
) -> Result<(i64, bool), StoreError> {
    let counted: i64 = sqlx::query_scalar(
        "SELECT COUNT(*) FROM processed WHERE sender = ? AND processed_at >= ? AND outcome IN ('handled', 'needs_staff')",
    )
    .bind(sender)
    .bind(ts(since))
    .fetch_one(&mut *conn)
    .await?;
    let limited: i64 = sqlx::query_scalar(
        "SELECT COUNT(*) FROM processed WHERE sender = ? AND processed_at >= ? AND outcome = 'rate_limited'",
    )
    .bind(sender)
    .bind(ts(since))
    .fetch_one(&mut *conn)
    .await?;
    Ok((counted, limited > 0))
}
