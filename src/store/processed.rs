//! The `processed` table: which mailbox messages have been handled, so none
//! is answered twice: by UIDVALIDITY+UID, then Message-ID, then raw hash.

use super::{on_db, parse_ts, placeholders, ts, Cols, Exec, StoreError, Tx};
use chrono::{DateTime, Utc};
use sqlx::AssertSqlSafe;
use std::collections::HashMap;

/// `head` limited to a batch of UIDs of one mailbox and UIDVALIDITY, bound
/// (in an `on_db!` arm): one statement for the batch.
macro_rules! for_uids {
    ($head:expr, $office:expr, $mailbox:expr, $uidvalidity:expr, $uids:expr) => {{
        let sql = format!(
            "{} WHERE mailbox = $1 AND uidvalidity = $2 AND office = $3 AND uid IN ({})",
            $head,
            placeholders(4, $uids.len())
        );
        let mut query = sqlx::query(AssertSqlSafe(sql))
            .bind($mailbox.to_string())
            .bind(i64::from($uidvalidity))
            .bind($office.to_string());
        for uid in $uids {
            query = query.bind(i64::from(*uid));
        }
        query
    }};
}

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
    /// Who files it (moves it out of the inbox), until when (real time).
    pub filing_owner: Option<String>,
    pub filing_until: Option<DateTime<Utc>>,
}

impl Processed {
    /// Whether another desk, still within its lease, is filing it.
    pub fn filed_by_other(&self, owner: &str, now: DateTime<Utc>) -> bool {
        self.filing_owner.as_deref().is_some_and(|o| o != owner)
            && self.filing_until.is_some_and(|until| until > now)
    }
}

/// Which of `uids` (of one mailbox and UIDVALIDITY) are already handled,
/// in one query.
pub async fn get_many(
    conn: &mut dyn Exec,
    mailbox: &str,
    uidvalidity: u32,
    uids: &[u32],
) -> Result<HashMap<u32, Processed>, StoreError> {
    let office = conn.office();
    on_db!(conn, c => {
        if uids.is_empty() {
            return Ok(HashMap::new());
        }
        let rows = for_uids!(
            "SELECT uid, folder, moved, filing_owner, filing_until FROM processed",
            office,
            mailbox,
            uidvalidity,
            uids
        )
        .fetch_all(&mut *c)
        .await?;
        rows.iter()
            .map(|r| {
                let uid: i64 = r.col("uid")?;
                let uid = u32::try_from(uid).map_err(|_| StoreError::Corrupt {
                    table: "processed",
                    problem: format!("uid {uid} out of range"),
                })?;
                let filing_until: Option<String> = r.col("filing_until")?;
                Ok((
                    uid,
                    Processed {
                        folder: r.col("folder")?,
                        moved: r.col::<i64>("moved")? != 0,
                        filing_owner: r.col("filing_owner")?,
                        filing_until: filing_until
                            .map(|t| super::parse_ts("processed", &t))
                            .transpose()?,
                    },
                ))
            })
            .collect()
    })
}

/// Whether the same message was handled before under another UID (a
/// redelivery, a replay, or a recreated mailbox): by Message-ID, else by
/// the hash of its bytes.
pub async fn seen_before(
    conn: &mut dyn Exec,
    message_id: Option<&str>,
    raw_sha256: &str,
) -> Result<bool, StoreError> {
    let office = conn.office();
    on_db!(conn, c => {
        // `message_id = NULL` matches nothing: a mail without one is found by hash.
        let seen: bool = sqlx::query_scalar(
            "SELECT EXISTS (SELECT 1 FROM processed WHERE message_id = $1 AND office = $3) OR EXISTS (SELECT 1 FROM processed WHERE raw_sha256 = $2 AND office = $3)",
        )
        .bind(message_id)
        .bind(raw_sha256)
        .bind(&*office)
        .fetch_one(&mut *c)
        .await?;
        Ok(seen)
    })
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
    let office = tx.office();
    on_db!(tx, c => {
        sqlx::query("INSERT INTO processed (mailbox, uidvalidity, uid, message_id, raw_sha256, request_id, outcome, folder, processed_at, sender, office) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)")
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
            .bind(&*office)
            .execute(&mut *c)
            .await?;
        Ok(())
    })
}

/// Records messages of one mailbox and UIDVALIDITY as filed, in one statement.
pub async fn mark_moved_many(
    conn: &mut dyn Exec,
    mailbox: &str,
    uidvalidity: u32,
    uids: &[u32],
) -> Result<(), StoreError> {
    let office = conn.office();
    on_db!(conn, c => {
        if uids.is_empty() {
            return Ok(());
        }
        for_uids!("UPDATE processed SET moved = 1", office, mailbox, uidvalidity, uids)
            .execute(&mut *c)
            .await?;
        Ok(())
    })
}

/// Takes the filing of `uids` (handled, not yet moved) for `owner` until
/// `until`, in the transaction that committed them: one statement.
pub async fn lease_filing(
    conn: &mut dyn Exec,
    mailbox: &str,
    uidvalidity: u32,
    uids: &[u32],
    owner: &str,
    until: DateTime<Utc>,
) -> Result<(), StoreError> {
    let office = conn.office();
    on_db!(conn, c => {
        if uids.is_empty() {
            return Ok(());
        }
        let sql = format!(
            "UPDATE processed SET filing_owner = $1, filing_until = $2 WHERE mailbox = $3 AND uidvalidity = $4 AND office = $5 AND uid IN ({})",
            placeholders(6, uids.len())
        );
        let mut query = sqlx::query(AssertSqlSafe(sql))
            .bind(owner)
            .bind(ts(until))
            .bind(mailbox)
            .bind(i64::from(uidvalidity))
            .bind(&*office);
        for uid in uids {
            query = query.bind(i64::from(*uid));
        }
        query.execute(&mut *c).await?;
        Ok(())
    })
}

/// Counts one more failed attempt at handling a message; returns the total.
pub async fn record_failure(
    conn: &mut dyn Exec,
    key: &ProcessedKey,
    error: &str,
    now: DateTime<Utc>,
) -> Result<i64, StoreError> {
    let office = conn.office();
    on_db!(conn, c => {
        let error: String = error.chars().take(300).collect();
        sqlx::query(
            "INSERT INTO failures (mailbox, uidvalidity, uid, attempts, last_error, updated_at, office) VALUES ($1, $2, $3, 1, $4, $5, $6)
             ON CONFLICT (office, mailbox, uidvalidity, uid) DO UPDATE SET attempts = failures.attempts + 1, last_error = excluded.last_error, updated_at = excluded.updated_at",
        )
        .bind(&key.mailbox)
        .bind(i64::from(key.uidvalidity))
        .bind(i64::from(key.uid))
        .bind(error)
        .bind(ts(now))
        .bind(&*office)
        .execute(&mut *c)
        .await?;
        Ok(sqlx::query_scalar(
            "SELECT attempts FROM failures WHERE mailbox = $1 AND uidvalidity = $2 AND uid = $3 AND office = $4",
        )
        .bind(&key.mailbox)
        .bind(i64::from(key.uidvalidity))
        .bind(i64::from(key.uid))
        .bind(&*office)
        .fetch_one(&mut *c)
        .await?)
    })
}

/// Messages from `sender` handled since `since` (duplicates and machine
/// mail not counted), and whether one of them was already over the limit.
pub async fn recent_from(
    conn: &mut dyn Exec,
    sender: &str,
    since: DateTime<Utc>,
) -> Result<(i64, bool), StoreError> {
    let office = conn.office();
    on_db!(conn, c => {
        let (counted, limited): (i64, i64) = sqlx::query_as(
            "SELECT COUNT(*) FILTER (WHERE outcome IN ('handled', 'needs_staff')), COUNT(*) FILTER (WHERE outcome = 'rate_limited')
             FROM processed WHERE sender = $1 AND processed_at >= $2 AND office = $3",
        )
        .bind(sender)
        .bind(ts(since))
        .bind(&*office)
        .fetch_one(&mut *c)
        .await?;
        Ok((counted, limited > 0))
    })
}

/// The mails received for a request: when, and what became of each.
pub async fn for_request(
    conn: &mut dyn Exec,
    request_id: i64,
) -> Result<Vec<(DateTime<Utc>, String)>, StoreError> {
    let office = conn.office();
    on_db!(conn, c => {
        let rows = sqlx::query(
            "SELECT processed_at, outcome FROM processed WHERE request_id = $1 AND office = $2 ORDER BY processed_at",
        )
        .bind(request_id)
        .bind(&*office)
        .fetch_all(&mut *c)
        .await?;
        rows.iter()
            .map(|r| {
                Ok((
                    parse_ts("processed", &r.col::<String>("processed_at")?)?,
                    r.col("outcome")?,
                ))
            })
            .collect()
    })
}
