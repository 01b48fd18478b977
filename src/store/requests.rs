//! The `requests`, `thread_ids` and `history` tables.

use super::{parse_ts, ts, StoreError, Tx};
use crate::core::booking::{Request, State};
use crate::core::calendar::Slot;
use crate::core::understand::BookingRequest;
use chrono::{DateTime, Utc};
use sqlx::sqlite::SqliteRow;
use sqlx::{Row, SqliteConnection};

#[derive(Debug, Clone)]
pub struct RequestRow {
    pub id: i64,
    pub reference: String,
    pub token: String,
    pub seeker_address: String,
    pub machine: Request,
    pub next_due_at: Option<DateTime<Utc>>,
    pub thread_subject: String,
    pub last_inbound_id: Option<String>,
    pub thread_refs: Vec<String>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    /// SHA-256 of the terms attached to the latest offer (recorded with consent).
    pub offer_terms_sha256: Option<String>,
}

pub struct NewRequest<'a> {
    pub reference: &'a str,
    pub token: &'a str,
    pub seeker_address: &'a str,
    pub thread_subject: &'a str,
    pub created_at: DateTime<Utc>,
}

/// `SELECT <all request columns> FROM requests r <tail>`.
macro_rules! select_requests {
    ($tail:literal) => {
        concat!(
            "SELECT r.id, r.ref, r.token, r.state, r.seeker_address, r.data, r.offered, r.offered_at, r.followed_up_at, ",
            "r.next_due_at, r.thread_subject, r.last_inbound_id, r.thread_refs, r.created_at, r.booked_slot, r.booked_at, ",
            "r.reminded_at, r.contact_at, r.offer_terms_sha256, r.updated_at FROM requests r ",
            $tail
        )
    };
}

fn corrupt(problem: String) -> StoreError {
    StoreError::Corrupt {
        table: "requests",
        problem,
    }
}

fn from_row(row: &SqliteRow) -> Result<RequestRow, StoreError> {
    let state_text: String = row.try_get("state")?;
    let state = State::parse(&state_text)
        .ok_or_else(|| corrupt(format!("unknown state {state_text:?}")))?;
    let data: BookingRequest = serde_json::from_str(&row.try_get::<String, _>("data")?)
        .map_err(|e| corrupt(e.to_string()))?;
    let offered: Vec<Slot> = serde_json::from_str(&row.try_get::<String, _>("offered")?)
        .map_err(|e| corrupt(e.to_string()))?;
    let opt_ts = |col: &str| -> Result<Option<DateTime<Utc>>, StoreError> {
        match row.try_get::<Option<String>, _>(col)? {
            Some(s) => Ok(Some(parse_ts("requests", &s)?)),
            None => Ok(None),
        }
    };
    Ok(RequestRow {
        id: row.try_get("id")?,
        reference: row.try_get("ref")?,
        token: row.try_get("token")?,
        seeker_address: row.try_get("seeker_address")?,
        machine: Request {
            state,
            data,
            offered,
            offered_at: opt_ts("offered_at")?,
            followed_up_at: opt_ts("followed_up_at")?,
            booked: match row.try_get::<Option<String>, _>("booked_slot")? {
                Some(s) => Some(serde_json::from_str(&s).map_err(|e| corrupt(e.to_string()))?),
                None => None,
            },
            booked_at: opt_ts("booked_at")?,
            reminded_at: opt_ts("reminded_at")?,
            contact_at: opt_ts("contact_at")?,
        },
        offer_terms_sha256: row.try_get("offer_terms_sha256")?,
        updated_at: parse_ts("requests", &row.try_get::<String, _>("updated_at")?)?,
        next_due_at: opt_ts("next_due_at")?,
        thread_subject: row.try_get("thread_subject")?,
        last_inbound_id: row.try_get("last_inbound_id")?,
        thread_refs: serde_json::from_str(&row.try_get::<String, _>("thread_refs")?)
            .unwrap_or_default(),
        created_at: parse_ts("requests", &row.try_get::<String, _>("created_at")?)?,
    })
}

/// The request a message belongs to, by any Message-ID of its thread.
pub async fn find_by_thread(
    conn: &mut SqliteConnection,
    ids: &[String],
) -> Result<Option<RequestRow>, StoreError> {
    for id in ids {
        let row = sqlx::query(select_requests!(
            "JOIN thread_ids t ON r.id = t.request_id WHERE t.message_id = ?"
        ))
        .bind(id)
        .fetch_optional(&mut *conn)
        .await?;
        if let Some(row) = row {
            return Ok(Some(from_row(&row)?));
        }
    }
    Ok(None)
}

pub async fn find_by_ref(
    conn: &mut SqliteConnection,
    reference: &str,
) -> Result<Option<RequestRow>, StoreError> {
    let row = sqlx::query(select_requests!("WHERE r.ref = ?"))
        .bind(reference)
        .fetch_optional(&mut *conn)
        .await?;
    row.as_ref().map(from_row).transpose()
}

pub async fn find_by_id(
    conn: &mut SqliteConnection,
    id: i64,
) -> Result<Option<RequestRow>, StoreError> {
    let row = sqlx::query(select_requests!("WHERE r.id = ?"))
        .bind(id)
        .fetch_optional(&mut *conn)
        .await?;
    row.as_ref().map(from_row).transpose()
}

/// The newest request bound to `address` that still waits for the seeker
/// (missing items or an offer), created after `since`.
pub async fn find_open_by_address(
    conn: &mut SqliteConnection,
    address: &str,
    since: DateTime<Utc>,
) -> Result<Option<RequestRow>, StoreError> {
    let row = sqlx::query(select_requests!(
        "WHERE r.seeker_address = ? AND r.state IN ('awaiting_info', 'offered', 'followed_up') AND r.created_at >= ? ORDER BY r.id DESC LIMIT 1"
    ))
    .bind(address)
    .bind(ts(since))
    .fetch_optional(&mut *conn)
    .await?;
    row.as_ref().map(from_row).transpose()
}

/// Requests bound to `address` with a confirmed booking, soonest first.
pub async fn booked_by_address(
    conn: &mut SqliteConnection,
    address: &str,
) -> Result<Vec<RequestRow>, StoreError> {
    let rows = sqlx::query(select_requests!(
        "WHERE r.seeker_address = ? AND r.state = 'booked' ORDER BY r.booked_slot LIMIT 20"
    ))
    .bind(address)
    .fetch_all(&mut *conn)
    .await?;
    rows.iter().map(from_row).collect()
}

/// Requests of this job-seeker number still waiting for the seeker.
pub async fn open_by_seeker_number(
    conn: &mut SqliteConnection,
    seeker_number: &str,
) -> Result<Vec<RequestRow>, StoreError> {
    let rows = sqlx::query(select_requests!(
        "WHERE r.seeker_number = ? AND r.state IN ('awaiting_info', 'offered', 'followed_up')"
    ))
    .bind(seeker_number)
    .fetch_all(&mut *conn)
    .await?;
    rows.iter().map(from_row).collect()
}

/// Requests booked before schema v3 did not store their slot: take it from
/// their confirmed booking, so reminders and the no-show rule apply to them.
pub async fn backfill_booked_slots(
    conn: &mut SqliteConnection,
    tz: chrono_tz::Tz,
) -> Result<usize, StoreError> {
    let rows = sqlx::query(
        "SELECT r.id, b.slot_start, b.created_at FROM requests r JOIN bookings b ON b.request_id = r.id AND b.status = 'confirmed'
         WHERE r.state = 'booked' AND r.booked_slot IS NULL",
    )
    .fetch_all(&mut *conn)
    .await?;
    for row in &rows {
        let id: i64 = row.try_get("id")?;
        let start =
            parse_ts("bookings", &row.try_get::<String, _>("slot_start")?)?.with_timezone(&tz);
        let slot = Slot::new(start.date_naive(), start.time());
        let json = serde_json::to_string(&slot).map_err(|e| corrupt(e.to_string()))?;
        sqlx::query(
            "UPDATE requests SET booked_slot = ?, booked_at = ?, next_due_at = ? WHERE id = ?",
        )
        .bind(json)
        .bind(row.try_get::<String, _>("created_at")?)
        // Due now: the daemon's next pass stores the real timer.
        .bind(row.try_get::<String, _>("created_at")?)
        .bind(id)
        .execute(&mut *conn)
        .await?;
    }
    Ok(rows.len())
}

/// Requests under this job-seeker number created since `since`.
pub async fn recent_by_seeker_number(
    conn: &mut SqliteConnection,
    seeker_number: &str,
    since: DateTime<Utc>,
) -> Result<i64, StoreError> {
    Ok(sqlx::query_scalar(
        "SELECT COUNT(*) FROM requests WHERE seeker_number = ? AND created_at >= ?",
    )
    .bind(seeker_number)
    .bind(ts(since))
    .fetch_one(&mut *conn)
    .await?)
}

/// Ids of requests whose next timer is due at `now`.
pub async fn due(
    conn: &mut SqliteConnection,
    now: DateTime<Utc>,
    limit: i64,
) -> Result<Vec<i64>, StoreError> {
    let rows = sqlx::query("SELECT id FROM requests WHERE next_due_at IS NOT NULL AND next_due_at <= ? ORDER BY next_due_at LIMIT ?")
        .bind(ts(now))
        .bind(limit)
        .fetch_all(&mut *conn)
        .await?;
    rows.iter()
        .map(|r| r.try_get::<i64, _>("id").map_err(StoreError::from))
        .collect()
}

/// The earliest timer of any request, for the daemon to sleep until.
pub async fn next_due(conn: &mut SqliteConnection) -> Result<Option<DateTime<Utc>>, StoreError> {
    let v: Option<String> =
        sqlx::query_scalar("SELECT MIN(next_due_at) FROM requests WHERE next_due_at IS NOT NULL")
            .fetch_one(&mut *conn)
            .await?;
    v.map(|s| parse_ts("requests", &s)).transpose()
}

pub async fn insert(tx: &mut Tx, new: &NewRequest<'_>) -> Result<i64, StoreError> {
    let now = ts(new.created_at);
    let id = sqlx::query("INSERT INTO requests (ref, token, state, seeker_address, data, thread_subject, created_at, updated_at) VALUES (?, ?, 'awaiting_info', ?, '{}', ?, ?, ?)")
        .bind(new.reference)
        .bind(new.token)
        .bind(new.seeker_address)
        .bind(new.thread_subject)
        .bind(&now)
        .bind(&now)
        .execute(&mut **tx)
        .await?
        .last_insert_rowid();
    Ok(id)
}

/// Writes the machine's state and the next timer, and records the change.
pub async fn save(
    tx: &mut Tx,
    id: i64,
    before: State,
    after: &Request,
    event: &str,
    next_due_at: Option<DateTime<Utc>>,
    now: DateTime<Utc>,
) -> Result<(), StoreError> {
    let data = serde_json::to_string(&after.data).map_err(|e| corrupt(e.to_string()))?;
    let offered = serde_json::to_string(&after.offered).map_err(|e| corrupt(e.to_string()))?;
    let booked = after
        .booked
        .map(|b| serde_json::to_string(&b))
        .transpose()
        .map_err(|e| corrupt(e.to_string()))?;
    sqlx::query("UPDATE requests SET state = ?, data = ?, seeker_number = ?, offered = ?, offered_at = ?, followed_up_at = ?, booked_slot = ?, booked_at = ?, reminded_at = ?, contact_at = ?, next_due_at = ?, updated_at = ? WHERE id = ?")
        .bind(after.state.as_str())
        .bind(data)
        .bind(after.data.seeker_number.as_deref())
        .bind(offered)
        .bind(after.offered_at.map(ts))
        .bind(after.followed_up_at.map(ts))
        .bind(booked)
        .bind(after.booked_at.map(ts))
        .bind(after.reminded_at.map(ts))
        .bind(after.contact_at.map(ts))
        .bind(next_due_at.map(ts))
        .bind(ts(now))
        .bind(id)
        .execute(&mut **tx)
        .await?;
    if before != after.state || event != "request" {
        add_history(tx, id, Some(before), after.state, event, now).await?;
    }
    Ok(())
}

/// One line of the append-only history.
pub async fn add_history(
    tx: &mut Tx,
    id: i64,
    before: Option<State>,
    after: State,
    event: &str,
    now: DateTime<Utc>,
) -> Result<(), StoreError> {
    sqlx::query(
        "INSERT INTO history (request_id, at, from_state, to_state, event) VALUES (?, ?, ?, ?, ?)",
    )
    .bind(id)
    .bind(ts(now))
    .bind(before.map(State::as_str))
    .bind(after.as_str())
    .bind(event)
    .execute(&mut **tx)
    .await?;
    Ok(())
}

/// Remembers which terms text the latest offer carried.
pub async fn set_offer_terms(tx: &mut Tx, id: i64, sha256: &str) -> Result<(), StoreError> {
    sqlx::query("UPDATE requests SET offer_terms_sha256 = ? WHERE id = ?")
        .bind(sha256)
        .bind(id)
        .execute(&mut **tx)
        .await?;
    Ok(())
}

#[derive(Debug, Clone)]
pub struct HistoryLine {
    pub at: DateTime<Utc>,
    pub from_state: Option<String>,
    pub to_state: String,
    pub event: String,
}

pub async fn history(conn: &mut SqliteConnection, id: i64) -> Result<Vec<HistoryLine>, StoreError> {
    let rows = sqlx::query(
        "SELECT at, from_state, to_state, event FROM history WHERE request_id = ? ORDER BY id",
    )
    .bind(id)
    .fetch_all(&mut *conn)
    .await?;
    rows.iter()
        .map(|r| {
            Ok(HistoryLine {
                at: parse_ts("history", &r.try_get::<String, _>("at")?)?,
                from_state: r.try_get("from_state")?,
                to_state: r.try_get("to_state")?,
                event: r.try_get("event")?,
            })
        })
        .collect()
}

/// Requests in `states` (all when empty), newest first.
pub async fn list(
    conn: &mut SqliteConnection,
    states: &[State],
    limit: i64,
) -> Result<Vec<RequestRow>, StoreError> {
    let rows = sqlx::query(select_requests!("ORDER BY r.id DESC LIMIT ?"))
        .bind(limit)
        .fetch_all(&mut *conn)
        .await?;
    let mut out = Vec::new();
    for row in &rows {
        let r = from_row(row)?;
        if states.is_empty() || states.contains(&r.machine.state) {
            out.push(r);
        }
    }
    Ok(out)
}

/// When each request now waiting for staff went to staff.
pub async fn waiting_for_staff(
    conn: &mut SqliteConnection,
) -> Result<Vec<(RequestRow, DateTime<Utc>)>, StoreError> {
    let rows = sqlx::query(select_requests!(
        "WHERE r.state = 'needs_staff' ORDER BY r.id"
    ))
    .fetch_all(&mut *conn)
    .await?;
    let mut out = Vec::new();
    for row in &rows {
        let r = from_row(row)?;
        let since: Option<String> = sqlx::query_scalar(
            "SELECT MAX(at) FROM history WHERE request_id = ? AND to_state = 'needs_staff'",
        )
        .bind(r.id)
        .fetch_one(&mut *conn)
        .await?;
        let since = match since {
            Some(s) => parse_ts("history", &s)?,
            None => r.updated_at,
        };
        out.push((r, since));
    }
    Ok(out)
}

/// Requests that changed to `state` in `[from, to)`, by id.
pub async fn entered_state(
    conn: &mut SqliteConnection,
    state: State,
    from: DateTime<Utc>,
    to: DateTime<Utc>,
) -> Result<Vec<RequestRow>, StoreError> {
    let rows = sqlx::query(select_requests!(
        "WHERE r.id IN (SELECT request_id FROM history WHERE to_state = ? AND (from_state IS NULL OR from_state <> to_state) AND at >= ? AND at < ?) ORDER BY r.id"
    ))
    .bind(state.as_str())
    .bind(ts(from))
    .bind(ts(to))
    .fetch_all(&mut *conn)
    .await?;
    rows.iter().map(from_row).collect()
}

/// Ids of requests with no open business whose last change is before
/// `before`: their personal data may go.
pub async fn finished_before(
    conn: &mut SqliteConnection,
    before: DateTime<Utc>,
) -> Result<Vec<i64>, StoreError> {
    let rows = sqlx::query(
        "SELECT id FROM requests WHERE state IN ('lapsed','withdrawn','cancelled','attended','no_show','closed') AND updated_at < ? AND seeker_address <> ''",
    )
    .bind(ts(before))
    .fetch_all(&mut *conn)
    .await?;
    rows.iter()
        .map(|r| r.try_get::<i64, _>("id").map_err(StoreError::from))
        .collect()
}

/// Deletes what identifies the seeker of request `id` (第8条), keeping the
/// row, its states and times for the anonymous usage counts (第7条).
pub async fn anonymize(tx: &mut Tx, id: i64) -> Result<(), StoreError> {
    sqlx::query("UPDATE requests SET seeker_address = '', seeker_number = NULL, data = '{}', offered = '[]', thread_subject = '', last_inbound_id = NULL, thread_refs = '[]' WHERE id = ?")
        .bind(id)
        .execute(&mut **tx)
        .await?;
    sqlx::query("DELETE FROM thread_ids WHERE request_id = ?")
        .bind(id)
        .execute(&mut **tx)
        .await?;
    sqlx::query(
        "UPDATE bookings SET consent_message_id = NULL, consent_from = NULL WHERE request_id = ?",
    )
    .bind(id)
    .execute(&mut **tx)
    .await?;
    sqlx::query(
        "UPDATE outbox SET recipient = '', raw = X'', appended = 1 WHERE request_id = ? AND status <> 'pending'",
    )
    .bind(id)
    .execute(&mut **tx)
    .await?;
    sqlx::query("UPDATE processed SET message_id = NULL WHERE request_id = ?")
        .bind(id)
        .execute(&mut **tx)
        .await?;
    Ok(())
}

/// Corrects a request's stored timer.
pub async fn set_next_due(
    tx: &mut Tx,
    id: i64,
    next_due_at: Option<DateTime<Utc>>,
) -> Result<(), StoreError> {
    sqlx::query("UPDATE requests SET next_due_at = ? WHERE id = ?")
        .bind(next_due_at.map(ts))
        .bind(id)
        .execute(&mut **tx)
        .await?;
    Ok(())
}

/// Remembers the latest inbound message of the thread, to reply to it.
pub async fn set_last_inbound(
    tx: &mut Tx,
    id: i64,
    message_id: &str,
    refs: &[String],
) -> Result<(), StoreError> {
    let refs = serde_json::to_string(refs).map_err(|e| corrupt(e.to_string()))?;
    sqlx::query("UPDATE requests SET last_inbound_id = ?, thread_refs = ? WHERE id = ?")
        .bind(message_id)
        .bind(refs)
        .bind(id)
        .execute(&mut **tx)
        .await?;
    Ok(())
}

pub async fn add_thread_id(
    tx: &mut Tx,
    request_id: i64,
    message_id: &str,
) -> Result<(), StoreError> {
    sqlx::query(
        "INSERT INTO thread_ids (message_id, request_id) VALUES (?, ?) ON CONFLICT DO NOTHING",
    )
    .bind(message_id)
    .bind(request_id)
    .execute(&mut **tx)
    .await?;
    Ok(())
}
