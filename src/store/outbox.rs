//! The `outbox` table: mail written with the state change that caused it,
//! sent afterwards, retried with backoff; its own copy, come back to the
//! office mailbox, is filed in the sent folder and proves it was sent.

use super::{on_db, parse_ts, placeholders, ts, Cols, Exec, StoreError, Tx};
use chrono::{DateTime, Utc};
use sqlx::AssertSqlSafe;

#[derive(Debug, Clone)]
pub struct OutboxRow {
    pub id: i64,
    pub message_id: String,
    pub kind: String,
    pub recipient: String,
    pub raw: Vec<u8>,
    pub attempts: i64,
}

pub async fn enqueue(
    tx: &mut Tx,
    message_id: &str,
    request_id: Option<i64>,
    kind: &str,
    recipient: &str,
    raw: &[u8],
    now: DateTime<Utc>,
) -> Result<(), StoreError> {
    let office = tx.office();
    on_db!(tx, c => {
        sqlx::query("INSERT INTO outbox (message_id, request_id, kind, recipient, raw, next_attempt_at, created_at, office) VALUES ($1, $2, $3, $4, $5, $6, $7, $8)")
            .bind(message_id)
            .bind(request_id)
            .bind(kind)
            .bind(recipient)
            .bind(raw)
            .bind(ts(now))
            .bind(ts(now))
            .bind(&*office)
            .execute(&mut *c)
            .await?;
        Ok(())
    })
}

fn rows_to_outbox(rows: Vec<impl Cols>) -> Result<Vec<OutboxRow>, StoreError> {
    rows.iter()
        .map(|r| {
            Ok(OutboxRow {
                id: r.col("id")?,
                message_id: r.col("message_id")?,
                kind: r.col("kind")?,
                recipient: r.col("recipient")?,
                raw: r.col("raw")?,
                attempts: r.col("attempts")?,
            })
        })
        .collect()
}

/// Mail due to be sent and not leased to a sender, oldest first. `until`
/// is the send clock (pending mail is sent as soon as it is written,
/// whatever the injected time); leases run on the real clock `now`.
pub async fn pending(
    conn: &mut dyn Exec,
    until: DateTime<Utc>,
    now: DateTime<Utc>,
    limit: i64,
) -> Result<Vec<OutboxRow>, StoreError> {
    let office = conn.office();
    on_db!(conn, c => {
        let rows = sqlx::query("SELECT id, message_id, kind, recipient, raw, attempts FROM outbox WHERE status = 'pending' AND next_attempt_at <= $1 AND (lease_until IS NULL OR lease_until <= $2) AND office = $4 ORDER BY id LIMIT $3")
            .bind(ts(until))
            .bind(ts(now))
            .bind(limit)
            .bind(&*office)
            .fetch_all(&mut *c)
            .await?;
        rows_to_outbox(rows)
    })
}

/// When the next pending mail is due for a (re)try.
pub async fn next_attempt(conn: &mut dyn Exec) -> Result<Option<DateTime<Utc>>, StoreError> {
    let office = conn.office();
    on_db!(conn, c => {
        let at: Option<String> =
            sqlx::query_scalar("SELECT MIN(next_attempt_at) FROM outbox WHERE status = 'pending' AND office = $1")
                .bind(&*office)
                .fetch_one(&mut *c)
                .await?;
        at.map(|s| super::parse_ts("outbox", &s)).transpose()
    })
}

/// One step of a connection's journal, in one transaction: `sent` (the
/// mail the server just accepted) is marked and leaves the in-flight set;
/// `next` (the mail whose end of data comes next) enters it. Runs while the
/// next envelope is accepted and must succeed before its end of data.
pub async fn journal_step(
    journal: &mut dyn Exec,
    sent: Option<&str>,
    next: Option<&str>,
    now: DateTime<Utc>,
) -> Result<(), StoreError> {
    on_db!(journal, c => {
        use sqlx::Connection;
        let mut tx = c.begin().await?;
        if let Some(id) = sent {
            sqlx::query("INSERT INTO sent_marks (message_id, sent_at) VALUES ($1, $2) ON CONFLICT DO NOTHING")
                .bind(id)
                .bind(ts(now))
                .execute(&mut *tx)
                .await?;
            sqlx::query("DELETE FROM in_flight WHERE message_id = $1")
                .bind(id)
                .execute(&mut *tx)
                .await?;
        }
        if let Some(id) = next {
            sqlx::query("INSERT INTO in_flight (message_id, since) VALUES ($1, $2) ON CONFLICT (message_id) DO UPDATE SET since = excluded.since")
                .bind(id)
                .bind(ts(now))
                .execute(&mut *tx)
                .await?;
        }
        tx.commit().await?;
        Ok(())
    })
}

/// Takes a mail out of the in-flight set: the server refused it, or its
/// doubt is settled.
pub async fn journal_forget_in_flight(
    journal: &mut dyn Exec,
    message_id: &str,
) -> Result<(), StoreError> {
    on_db!(journal, c => {
        sqlx::query("DELETE FROM in_flight WHERE message_id = $1")
            .bind(message_id)
            .execute(&mut *c)
            .await?;
        Ok(())
    })
}

/// The mail in flight: (Message-ID, since when), oldest first.
pub async fn journal_in_flight(
    journal: &mut dyn Exec,
    limit: i64,
) -> Result<Vec<(String, DateTime<Utc>)>, StoreError> {
    on_db!(journal, c => {
        let rows: Vec<(String, String)> =
            sqlx::query_as("SELECT message_id, since FROM in_flight ORDER BY since LIMIT $1")
                .bind(limit)
                .fetch_all(&mut *c)
                .await?;
        rows.into_iter()
            .map(|(id, at)| Ok((id, super::parse_ts("in_flight", &at)?)))
            .collect()
    })
}

/// Of `message_ids`, those still waiting to be sent, each with whether a
/// sender's lease on it runs at real time `now` (one query).
pub async fn pending_among(
    conn: &mut dyn Exec,
    message_ids: &[String],
    now: DateTime<Utc>,
) -> Result<Vec<(String, InFlightRow)>, StoreError> {
    let office = conn.office();
    on_db!(conn, c => {
        if message_ids.is_empty() {
            return Ok(Vec::new());
        }
        // Every office's rows: the journal of mail in flight is the
        // database's, and an id of another office is that office's to settle.
        let sql = format!(
            "SELECT message_id, office = $2, status = 'pending', (lease_until IS NOT NULL AND lease_until > $1) FROM outbox WHERE message_id IN ({})",
            placeholders(3, message_ids.len())
        );
        let mut query = sqlx::query_as(AssertSqlSafe(sql))
            .bind(ts(now))
            .bind(&*office);
        for id in message_ids {
            query = query.bind(id);
        }
        let rows: Vec<(String, bool, bool, bool)> = query.fetch_all(&mut *c).await?;
        Ok(rows
            .into_iter()
            .map(|(id, ours, pending, leased)| (id, InFlightRow { ours, pending, leased }))
            .collect())
    })
}

/// What the outbox says of a mail the journal has in flight.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct InFlightRow {
    /// The connection's office's mail (else another office settles it).
    pub ours: bool,
    pub pending: bool,
    /// Claimed by a sender whose lease has not run out.
    pub leased: bool,
}

/// Our own copy of a mail arrived in the office mailbox: the server took
/// it, so it is sent (whatever the journal knows) and its sent-folder copy
/// exists. Returns whether the mail is ours.
pub async fn settle_copy(
    tx: &mut Tx,
    message_id: &str,
    now: DateTime<Utc>,
) -> Result<bool, StoreError> {
    let office = tx.office();
    on_db!(tx, c => {
        sqlx::query("UPDATE outbox SET status = 'sent', sent_at = $1, attempts = attempts + 1, last_error = NULL, lease_owner = NULL, lease_until = NULL WHERE message_id = $2 AND status = 'pending' AND office = $3")
            .bind(ts(now))
            .bind(message_id)
            .bind(&*office)
            .execute(&mut *c)
            .await?;
        let ours: Option<i64> =
            sqlx::query_scalar("UPDATE outbox SET appended = 1 WHERE message_id = $1 AND office = $2 RETURNING id")
                .bind(message_id)
                .bind(&*office)
                .fetch_optional(&mut *c)
                .await?;
        Ok(ours.is_some())
    })
}

/// How many mails sent since `since` have no copy filed yet.
pub async fn copies_awaited(conn: &mut dyn Exec, since: DateTime<Utc>) -> Result<i64, StoreError> {
    let office = conn.office();
    on_db!(conn, c => {
        Ok(sqlx::query_scalar(
            "SELECT COUNT(*) FROM outbox WHERE status = 'sent' AND appended = 0 AND sent_at >= $1 AND office = $2",
        )
        .bind(ts(since))
        .bind(&*office)
        .fetch_one(&mut *c)
        .await?)
    })
}

/// The sent journal's marks: (Message-ID, sent at). Keyed by Message-ID,
/// which is random and unique, so a journal left beside another database
/// marks nothing there.
pub async fn journal_marks(
    journal: &mut dyn Exec,
    limit: i64,
) -> Result<Vec<(String, String)>, StoreError> {
    on_db!(journal, c => {
        Ok(
            sqlx::query_as("SELECT message_id, sent_at FROM sent_marks ORDER BY sent_at LIMIT $1")
                .bind(limit)
                .fetch_all(&mut *c)
                .await?,
        )
    })
}

/// Writes journal marks into `outbox` (sent, lease ended), in one
/// statement. Not limited to one office: the journal is shared by every
/// office of the database and its marks are dropped once folded, so a fold
/// writes every mark it read (Message-IDs are ours, random and unique). Idempotent: a fold repeated after a crash changes nothing.
pub async fn fold_sent(conn: &mut dyn Exec, marks: &[(String, String)]) -> Result<(), StoreError> {
    on_db!(conn, c => {
        if marks.is_empty() {
            return Ok(());
        }
        let cases = (0..marks.len())
            .map(|i| format!("WHEN ${} THEN ${}", 2 * i + 1, 2 * i + 2))
            .collect::<Vec<_>>()
            .join(" ");
        let sql = format!(
            "UPDATE outbox SET status = 'sent', sent_at = CASE message_id {cases} END, attempts = attempts + 1, last_error = NULL, lease_owner = NULL, lease_until = NULL WHERE status = 'pending' AND message_id IN ({})",
            placeholders(2 * marks.len() + 1, marks.len())
        );
        let mut query = sqlx::query(AssertSqlSafe(sql));
        for (id, at) in marks {
            query = query.bind(id).bind(at);
        }
        for (id, _) in marks {
            query = query.bind(id);
        }
        query.execute(&mut *c).await?;
        Ok(())
    })
}

/// Drops journal marks once `fold_sent` has committed them.
pub async fn forget_journal_marks(
    journal: &mut dyn Exec,
    marks: &[(String, String)],
) -> Result<(), StoreError> {
    on_db!(journal, c => {
        if marks.is_empty() {
            return Ok(());
        }
        let sql = format!(
            "DELETE FROM sent_marks WHERE message_id IN ({})",
            placeholders(1, marks.len())
        );
        let mut query = sqlx::query(AssertSqlSafe(sql));
        for (id, _) in marks {
            query = query.bind(id);
        }
        query.execute(&mut *c).await?;
        Ok(())
    })
}

/// Message-IDs of mail marked sent, in `outbox` or still in the journal
/// (for tests and checks that must not wait for a fold).
pub async fn sent_message_ids(
    conn: &mut dyn Exec,
    journal: &mut dyn Exec,
) -> Result<Vec<String>, StoreError> {
    let office = conn.office();
    let mut ids: Vec<String> = on_db!(conn, c => sqlx::query_scalar(
        "SELECT message_id FROM outbox WHERE status = 'sent' AND office = $1"
    )
    .bind(&*office)
    .fetch_all(&mut *c)
    .await)?;
    ids.extend(
        journal_marks(journal, i64::MAX)
            .await?
            .into_iter()
            .map(|(id, _)| id),
    );
    Ok(ids)
}

/// Records a failed attempt; `next` is None for a permanent failure.
pub async fn mark_attempt_failed(
    conn: &mut dyn Exec,
    id: i64,
    error: &str,
    next: Option<DateTime<Utc>>,
) -> Result<(), StoreError> {
    let office = conn.office();
    on_db!(conn, c => {
        let error: String = error.chars().take(500).collect();
        match next {
            Some(at) => {
                sqlx::query("UPDATE outbox SET attempts = attempts + 1, last_error = $1, next_attempt_at = $2, lease_owner = NULL, lease_until = NULL WHERE id = $3 AND office = $4").bind(error).bind(ts(at)).bind(id).bind(&*office).execute(&mut *c).await?;
            }
            None => {
                sqlx::query("UPDATE outbox SET attempts = attempts + 1, last_error = $1, status = 'failed', lease_owner = NULL, lease_until = NULL WHERE id = $2 AND office = $3").bind(error).bind(id).bind(&*office).execute(&mut *c).await?;
            }
        }
        Ok(())
    })
}

/// The raw mails sent (or to be sent) for a request, oldest first.
pub async fn raws_for_request(
    conn: &mut dyn Exec,
    request_id: i64,
) -> Result<Vec<Vec<u8>>, StoreError> {
    let office = conn.office();
    on_db!(conn, c => {
        let rows =
            sqlx::query("SELECT raw FROM outbox WHERE request_id = $1 AND kind <> 'staff' AND office = $2 ORDER BY id")
                .bind(request_id)
                .bind(&*office)
                .fetch_all(&mut *c)
                .await?;
        rows.iter()
            .map(|r| r.col::<Vec<u8>>("raw"))
            .collect()
    })
}

/// Empties mail older than `before` that belongs to no request (staff
/// notes, digests): it names seekers too. Returns how many.
pub async fn forget_unowned_before(tx: &mut Tx, before: DateTime<Utc>) -> Result<u64, StoreError> {
    let office = tx.office();
    on_db!(tx, c => {
        let done = sqlx::query("UPDATE outbox SET recipient = '', raw = $1, appended = 1 WHERE request_id IS NULL AND status <> 'pending' AND created_at < $2 AND length(raw) > 0 AND office = $3")
            .bind(Vec::<u8>::new())
            .bind(ts(before))
            .bind(&*office)
            .execute(&mut *c)
            .await?;
        Ok(done.rows_affected())
    })
}

/// Whether any of `ids` is a mail we sent for this request.
pub async fn sent_any_of(
    conn: &mut dyn Exec,
    request_id: i64,
    ids: &[String],
) -> Result<bool, StoreError> {
    let office = conn.office();
    on_db!(conn, c => {
        for id in ids.iter().take(50) {
            let found: Option<i64> =
                sqlx::query_scalar("SELECT id FROM outbox WHERE message_id = $1 AND request_id = $2 AND office = $3")
                    .bind(id)
                    .bind(request_id)
                    .bind(&*office)
                    .fetch_optional(&mut *c)
                    .await?;
            if found.is_some() {
                return Ok(true);
            }
        }
        Ok(false)
    })
}

/// A claim on outbox rows: who takes them, until when (real time), and the
/// real time now, at which older leases count as run out.
#[derive(Debug, Clone, Copy)]
pub struct Lease<'a> {
    pub owner: &'a str,
    pub until: DateTime<Utc>,
    pub now: DateTime<Utc>,
}

/// Takes due pending mail for sending under `lease`, so another desk on the
/// same database does not send it too; returns the ids we got (one
/// statement for the batch). A sender that dies holding mail frees it when
/// its lease runs out.
pub async fn claim_many(
    conn: &mut dyn Exec,
    ids: &[i64],
    due_by: DateTime<Utc>,
    lease: Lease<'_>,
) -> Result<Vec<i64>, StoreError> {
    let office = conn.office();
    if ids.is_empty() {
        return Ok(Vec::new());
    }
    let due = format!(
        "status = 'pending' AND next_attempt_at <= $3 AND (lease_until IS NULL OR lease_until <= $4) AND office = $5 AND id IN ({})",
        placeholders(6, ids.len())
    );
    // PostgreSQL: rows another desk is claiming right now are skipped, not
    // waited for (FOR UPDATE SKIP LOCKED); SQLite has one writer at a time.
    let sql = match conn.db() {
        super::Db::Postgres(_) => format!(
            "UPDATE outbox SET lease_owner = $1, lease_until = $2 WHERE id IN (SELECT id FROM outbox WHERE {due} FOR UPDATE SKIP LOCKED) AND {due} RETURNING id"
        ),
        super::Db::Sqlite(_) => {
            format!("UPDATE outbox SET lease_owner = $1, lease_until = $2 WHERE {due} RETURNING id")
        }
    };
    on_db!(conn, c => {
        let mut query = sqlx::query_scalar(AssertSqlSafe(sql))
            .bind(lease.owner)
            .bind(ts(lease.until))
            .bind(ts(due_by))
            .bind(ts(lease.now))
            .bind(&*office);
        for id in ids {
            query = query.bind(id);
        }
        Ok(query.fetch_all(&mut *c).await?)
    })
}

/// The variants of notices of `kind` sent to `recipient` since `since`.
pub async fn variants_since(
    conn: &mut dyn Exec,
    recipient: &str,
    kind: &str,
    since: DateTime<Utc>,
) -> Result<Vec<String>, StoreError> {
    let office = conn.office();
    on_db!(conn, c => {
        Ok(sqlx::query_scalar(
            "SELECT DISTINCT variant FROM outbox WHERE recipient = $1 AND kind = $2 AND variant IS NOT NULL AND created_at >= $3 AND office = $4",
        )
        .bind(recipient)
        .bind(kind)
        .bind(ts(since))
        .bind(&*office)
        .fetch_all(&mut *c)
        .await?)
    })
}

pub async fn set_variant(tx: &mut Tx, message_id: &str, variant: &str) -> Result<(), StoreError> {
    let office = tx.office();
    on_db!(tx, c => {
        sqlx::query("UPDATE outbox SET variant = $1 WHERE message_id = $2 AND office = $3")
            .bind(variant)
            .bind(message_id)
            .bind(&*office)
            .execute(&mut *c)
            .await?;
        Ok(())
    })
}

/// A mail of a request's thread as staff see it.
#[derive(Debug, Clone)]
pub struct ThreadRow {
    pub created_at: DateTime<Utc>,
    pub kind: String,
    pub status: String,
    pub raw: Vec<u8>,
    /// A staff note's reason; a "what is missing" notice's variant.
    pub variant: Option<String>,
}

/// Every mail sent (or to be sent) for a request, staff notes included,
/// oldest first.
pub async fn for_request(
    conn: &mut dyn Exec,
    request_id: i64,
) -> Result<Vec<ThreadRow>, StoreError> {
    let office = conn.office();
    on_db!(conn, c => {
        let rows = sqlx::query(
            "SELECT created_at, kind, status, raw, variant FROM outbox WHERE request_id = $1 AND office = $2 ORDER BY id",
        )
        .bind(request_id)
        .bind(&*office)
        .fetch_all(&mut *c)
        .await?;
        rows.iter()
            .map(|r| {
                Ok(ThreadRow {
                    created_at: parse_ts("outbox", &r.col::<String>("created_at")?)?,
                    kind: r.col("kind")?,
                    status: r.col("status")?,
                    raw: r.col("raw")?,
                    variant: r.col("variant")?,
                })
            })
            .collect()
    })
}

/// A mail of ours a bounce points at: whom it was for and what it was.
#[derive(Debug, Clone)]
pub struct SentMail {
    pub request_id: Option<i64>,
    pub kind: String,
    pub recipient: String,
}

/// The mail we sent with this Message-ID.
pub async fn by_message_id(
    conn: &mut dyn Exec,
    message_id: &str,
) -> Result<Option<SentMail>, StoreError> {
    let office = conn.office();
    on_db!(conn, c => {
        let row = sqlx::query(
            "SELECT request_id, kind, recipient FROM outbox WHERE message_id = $1 AND office = $2",
        )
        .bind(message_id)
        .bind(&*office)
        .fetch_optional(&mut *c)
        .await?;
        row.as_ref().map(sent_mail).transpose()
    })
}

/// The latest mail to a seeker at `recipient` since `since` (for a bounce
/// that names the address but quotes none of our Message-IDs).
pub async fn latest_to(
    conn: &mut dyn Exec,
    recipient: &str,
    since: DateTime<Utc>,
) -> Result<Option<SentMail>, StoreError> {
    let office = conn.office();
    on_db!(conn, c => {
        let row = sqlx::query(
            "SELECT request_id, kind, recipient FROM outbox WHERE office = $1 AND recipient = $2 AND kind <> 'staff' AND kind <> 'digest' AND created_at >= $3 ORDER BY created_at DESC, id DESC LIMIT 1",
        )
        .bind(&*office)
        .bind(recipient)
        .bind(ts(since))
        .fetch_optional(&mut *c)
        .await?;
        row.as_ref().map(sent_mail).transpose()
    })
}

fn sent_mail(r: &impl Cols) -> Result<SentMail, StoreError> {
    Ok(SentMail {
        request_id: r.col("request_id")?,
        kind: r.col("kind")?,
        recipient: r.col("recipient")?,
    })
}
