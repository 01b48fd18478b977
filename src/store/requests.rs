//! The `requests`, `thread_ids` and `history` tables.

use super::{on_db, parse_ts, ts, Cols, Exec, StoreError, Tx};
use crate::core::booking::{Request, State};
use crate::core::calendar::Slot;
use crate::core::understand::BookingRequest;
use chrono::{DateTime, Utc};

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
/// The states of a request still waiting for the seeker (core's one home
/// of the rule), bound into the queries that look for one.
const WAITING: [crate::core::booking::State; 3] = crate::core::booking::State::WAITING_FOR_SEEKER;

macro_rules! select_requests {
    ($tail:literal) => {
        concat!(
            "SELECT r.id, r.ref, r.token, r.state, r.seeker_address, r.data, r.offered, r.offered_at, r.followed_up_at, ",
            "r.next_due_at, r.thread_subject, r.last_inbound_id, r.thread_refs, r.created_at, r.booked_slot, r.booked_at, ",
            "r.reminded_at, r.contact_at, r.offer_terms_sha256, r.updated_at, r.waitlist_slot FROM requests r ",
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

fn from_row(row: &impl Cols) -> Result<RequestRow, StoreError> {
    let state_text: String = row.col("state")?;
    let state = State::parse(&state_text)
        .ok_or_else(|| corrupt(format!("unknown state {state_text:?}")))?;
    let data: BookingRequest =
        serde_json::from_str(&row.col::<String>("data")?).map_err(|e| corrupt(e.to_string()))?;
    let offered: Vec<Slot> =
        serde_json::from_str(&row.col::<String>("offered")?).map_err(|e| corrupt(e.to_string()))?;
    let opt_ts = |col: &str| -> Result<Option<DateTime<Utc>>, StoreError> {
        match row.col::<Option<String>>(col)? {
            Some(s) => Ok(Some(parse_ts("requests", &s)?)),
            None => Ok(None),
        }
    };
    Ok(RequestRow {
        id: row.col("id")?,
        reference: row.col("ref")?,
        token: row.col("token")?,
        seeker_address: row.col("seeker_address")?,
        machine: Request {
            state,
            data,
            offered,
            offered_at: opt_ts("offered_at")?,
            followed_up_at: opt_ts("followed_up_at")?,
            booked: match row.col::<Option<String>>("booked_slot")? {
                Some(s) => Some(serde_json::from_str(&s).map_err(|e| corrupt(e.to_string()))?),
                None => None,
            },
            booked_at: opt_ts("booked_at")?,
            reminded_at: opt_ts("reminded_at")?,
            contact_at: opt_ts("contact_at")?,
            waitlist: match row.col::<Option<String>>("waitlist_slot")? {
                Some(s) => Some(serde_json::from_str(&s).map_err(|e| corrupt(e.to_string()))?),
                None => None,
            },
        },
        offer_terms_sha256: row.col("offer_terms_sha256")?,
        updated_at: parse_ts("requests", &row.col::<String>("updated_at")?)?,
        next_due_at: opt_ts("next_due_at")?,
        thread_subject: row.col("thread_subject")?,
        last_inbound_id: row.col("last_inbound_id")?,
        thread_refs: serde_json::from_str(&row.col::<String>("thread_refs")?).unwrap_or_default(),
        created_at: parse_ts("requests", &row.col::<String>("created_at")?)?,
    })
}

/// The request a message belongs to, by any Message-ID of its thread.
pub async fn find_by_thread(
    conn: &mut dyn Exec,
    ids: &[String],
) -> Result<Option<RequestRow>, StoreError> {
    let office = conn.office();
    on_db!(conn, c => {
        for id in ids {
            let row = sqlx::query(select_requests!(
                "JOIN thread_ids t ON r.id = t.request_id AND t.office = r.office WHERE t.message_id = $1 AND r.office = $2"
            ))
            .bind(id)
            .bind(&*office)
            .fetch_optional(&mut *c)
            .await?;
            if let Some(row) = row {
                return Ok(Some(from_row(&row)?));
            }
        }
        Ok(None)
    })
}

pub async fn find_by_ref(
    conn: &mut dyn Exec,
    reference: &str,
) -> Result<Option<RequestRow>, StoreError> {
    let office = conn.office();
    on_db!(conn, c => {
        let row = sqlx::query(select_requests!("WHERE r.ref = $1 AND r.office = $2"))
            .bind(reference)
            .bind(&*office)
            .fetch_optional(&mut *c)
            .await?;
        row.as_ref().map(from_row).transpose()
    })
}

pub async fn find_by_id(conn: &mut dyn Exec, id: i64) -> Result<Option<RequestRow>, StoreError> {
    let office = conn.office();
    on_db!(conn, c => {
        let row = sqlx::query(select_requests!("WHERE r.id = $1 AND r.office = $2"))
            .bind(id)
            .bind(&*office)
            .fetch_optional(&mut *c)
            .await?;
        row.as_ref().map(from_row).transpose()
    })
}

/// The newest request bound to `address` that still waits for the seeker
/// (missing items or an offer), created after `since`.
pub async fn find_open_by_address(
    conn: &mut dyn Exec,
    address: &str,
    since: DateTime<Utc>,
) -> Result<Option<RequestRow>, StoreError> {
    let office = conn.office();
    on_db!(conn, c => {
        let row = sqlx::query(select_requests!(
            "WHERE r.seeker_address = $1 AND r.state IN ($4, $5, $6) AND r.created_at >= $2 AND r.office = $3 ORDER BY r.id DESC LIMIT 1"
        ))
        .bind(address)
        .bind(ts(since))
        .bind(&*office)
        .bind(WAITING[0].as_str())
        .bind(WAITING[1].as_str())
        .bind(WAITING[2].as_str())
        .fetch_optional(&mut *c)
        .await?;
        row.as_ref().map(from_row).transpose()
    })
}

/// Requests bound to `address` with a confirmed booking, soonest first.
pub async fn booked_by_address(
    conn: &mut dyn Exec,
    address: &str,
) -> Result<Vec<RequestRow>, StoreError> {
    let office = conn.office();
    on_db!(conn, c => {
        let rows = sqlx::query(select_requests!(
            "WHERE r.seeker_address = $1 AND r.state = 'booked' AND r.office = $2 ORDER BY r.booked_slot LIMIT 20"
        ))
        .bind(address)
        .bind(&*office)
        .fetch_all(&mut *c)
        .await?;
        rows.iter().map(from_row).collect()
    })
}

/// Requests that hold an open offer or a booking, oldest first: those who
/// may wait for a freed slot (core::booking::waits_for picks them).
pub async fn holding(conn: &mut dyn Exec) -> Result<Vec<RequestRow>, StoreError> {
    let office = conn.office();
    on_db!(conn, c => {
        let rows = sqlx::query(select_requests!(
            "WHERE r.state IN ('offered', 'followed_up', 'booked') AND r.office = $1 ORDER BY r.id"
        ))
        .bind(&*office)
        .fetch_all(&mut *c)
        .await?;
        rows.iter().map(from_row).collect()
    })
}

/// Requests with a confirmed booking on the local day [from, to), for a closure.
pub async fn booked_between(
    conn: &mut dyn Exec,
    from: DateTime<Utc>,
    to: DateTime<Utc>,
) -> Result<Vec<i64>, StoreError> {
    let office = conn.office();
    on_db!(conn, c => {
        let rows = sqlx::query(
            "SELECT DISTINCT request_id FROM bookings WHERE status = 'confirmed' AND slot_start >= $1 AND slot_start < $2 AND office = $3 ORDER BY request_id",
        )
        .bind(ts(from))
        .bind(ts(to))
        .bind(&*office)
        .fetch_all(&mut *c)
        .await?;
        rows.iter().map(|r| r.col::<i64>("request_id")).collect()
    })
}

/// Requests of this job-seeker number still waiting for the seeker.
pub async fn open_by_seeker_number(
    conn: &mut dyn Exec,
    seeker_number: &str,
) -> Result<Vec<RequestRow>, StoreError> {
    let office = conn.office();
    on_db!(conn, c => {
        let rows = sqlx::query(select_requests!(
            "WHERE r.seeker_number = $1 AND r.state IN ($3, $4, $5) AND r.office = $2"
        ))
        .bind(seeker_number)
        .bind(&*office)
        .bind(WAITING[0].as_str())
        .bind(WAITING[1].as_str())
        .bind(WAITING[2].as_str())
        .fetch_all(&mut *c)
        .await?;
        rows.iter().map(from_row).collect()
    })
}

/// Requests booked before schema v3 did not store their slot: take it from
/// their confirmed booking, so reminders and the no-show rule apply to them.
pub async fn backfill_booked_slots(
    conn: &mut dyn Exec,
    tz: chrono_tz::Tz,
) -> Result<usize, StoreError> {
    on_db!(conn, c => {
        let rows = sqlx::query(
            "SELECT r.id, b.slot_start, b.created_at FROM requests r JOIN bookings b ON b.request_id = r.id AND b.status = 'confirmed'
             WHERE r.state = 'booked' AND r.booked_slot IS NULL",
        )
        .fetch_all(&mut *c)
        .await?;
        for row in &rows {
            let id: i64 = row.col("id")?;
            let start =
                parse_ts("bookings", &row.col::<String>("slot_start")?)?.with_timezone(&tz);
            let slot = Slot::new(start.date_naive(), start.time());
            let json = serde_json::to_string(&slot).map_err(|e| corrupt(e.to_string()))?;
            sqlx::query(
                "UPDATE requests SET booked_slot = $1, booked_at = $2, next_due_at = $3 WHERE id = $4",
            )
            .bind(json)
            .bind(row.col::<String>("created_at")?)
            // Due now: the daemon's next pass stores the real timer.
            .bind(row.col::<String>("created_at")?)
            .bind(id)
            .execute(&mut *c)
            .await?;
        }
        Ok(rows.len())
    })
}

/// Requests under this job-seeker number created since `since`.
pub async fn recent_by_seeker_number(
    conn: &mut dyn Exec,
    seeker_number: &str,
    since: DateTime<Utc>,
) -> Result<i64, StoreError> {
    let office = conn.office();
    on_db!(conn, c => {
        Ok(sqlx::query_scalar(
            "SELECT COUNT(*) FROM requests WHERE seeker_number = $1 AND created_at >= $2 AND office = $3",
        )
        .bind(seeker_number)
        .bind(ts(since))
        .bind(&*office)
        .fetch_one(&mut *c)
        .await?)
    })
}

/// Ids of requests whose next timer is due at `now`.
pub async fn due(
    conn: &mut dyn Exec,
    now: DateTime<Utc>,
    limit: i64,
) -> Result<Vec<i64>, StoreError> {
    let office = conn.office();
    on_db!(conn, c => {
        let rows = sqlx::query("SELECT id FROM requests WHERE next_due_at IS NOT NULL AND next_due_at <= $1 AND office = $3 ORDER BY next_due_at LIMIT $2")
            .bind(ts(now))
            .bind(limit)
            .bind(&*office)
            .fetch_all(&mut *c)
            .await?;
        rows.iter()
            .map(|r| r.col::<i64>("id"))
            .collect()
    })
}

/// The earliest timer of any request, for the daemon to sleep until.
pub async fn next_due(conn: &mut dyn Exec) -> Result<Option<DateTime<Utc>>, StoreError> {
    let office = conn.office();
    on_db!(conn, c => {
        let v: Option<String> =
            sqlx::query_scalar("SELECT MIN(next_due_at) FROM requests WHERE next_due_at IS NOT NULL AND office = $1")
                .bind(&*office)
                .fetch_one(&mut *c)
                .await?;
        v.map(|s| parse_ts("requests", &s)).transpose()
    })
}

/// A new request row (stored as awaiting its items), as the store has it.
pub async fn insert(tx: &mut Tx, new: &NewRequest<'_>) -> Result<RequestRow, StoreError> {
    let office = tx.office();
    let id: i64 = on_db!(tx, c => {
        let id: i64 = sqlx::query_scalar("INSERT INTO requests (ref, token, state, seeker_address, data, thread_subject, created_at, updated_at, office) VALUES ($1, $2, 'awaiting_info', $3, '{}', $4, $5, $6, $7) RETURNING id")
            .bind(new.reference)
            .bind(new.token)
            .bind(new.seeker_address)
            .bind(new.thread_subject)
            .bind(ts(new.created_at))
            .bind(ts(new.created_at))
            .bind(&*office)
            .fetch_one(&mut *c)
            .await?;
        Ok::<i64, StoreError>(id)
    })?;
    find_by_id(tx, id)
        .await?
        .ok_or_else(|| StoreError::Corrupt {
            table: "requests",
            problem: format!("request {id} vanished"),
        })
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
    let office = tx.office();
    let data = serde_json::to_string(&after.data).map_err(|e| corrupt(e.to_string()))?;
    let offered = serde_json::to_string(&after.offered).map_err(|e| corrupt(e.to_string()))?;
    let booked = after
        .booked
        .map(|b| serde_json::to_string(&b))
        .transpose()
        .map_err(|e| corrupt(e.to_string()))?;
    let waitlist = after
        .waitlist
        .map(|b| serde_json::to_string(&b))
        .transpose()
        .map_err(|e| corrupt(e.to_string()))?;
    on_db!(tx, c => sqlx::query("UPDATE requests SET state = $1, data = $2, seeker_number = $3, offered = $4, offered_at = $5, followed_up_at = $6, booked_slot = $7, booked_at = $8, reminded_at = $9, contact_at = $10, next_due_at = $11, updated_at = $12, name_key = $15, waitlist_slot = $16 WHERE id = $13 AND office = $14")
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
        .bind(&*office)
        .bind(after.data.name.as_deref().map(name_key))
        .bind(waitlist)
        .execute(&mut *c)
        .await
        .map(|_| ()))?;
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
    let office = tx.office();
    let actor = tx.actor().map(str::to_string);
    on_db!(tx, c => {
        sqlx::query(
            "INSERT INTO history (request_id, at, from_state, to_state, event, office, actor) VALUES ($1, $2, $3, $4, $5, $6, $7)",
        )
        .bind(id)
        .bind(ts(now))
        .bind(before.map(State::as_str))
        .bind(after.as_str())
        .bind(event)
        .bind(&*office)
        .bind(actor)
        .execute(&mut *c)
        .await?;
        Ok(())
    })
}

/// Remembers which terms text the latest offer carried.
pub async fn set_offer_terms(tx: &mut Tx, id: i64, sha256: &str) -> Result<(), StoreError> {
    let office = tx.office();
    on_db!(tx, c => {
        sqlx::query("UPDATE requests SET offer_terms_sha256 = $1 WHERE id = $2 AND office = $3")
            .bind(sha256)
            .bind(id)
            .bind(&*office)
            .execute(&mut *c)
            .await?;
        Ok(())
    })
}

#[derive(Debug, Clone)]
pub struct HistoryLine {
    pub at: DateTime<Utc>,
    pub from_state: Option<String>,
    pub to_state: String,
    pub event: String,
    /// The staff member who did it, when one did (web or command line).
    pub actor: Option<String>,
}

pub async fn history(conn: &mut dyn Exec, id: i64) -> Result<Vec<HistoryLine>, StoreError> {
    let office = conn.office();
    on_db!(conn, c => {
        let rows = sqlx::query(
            "SELECT at, from_state, to_state, event, actor FROM history WHERE request_id = $1 AND office = $2 ORDER BY id",
        )
        .bind(id)
        .bind(&*office)
        .fetch_all(&mut *c)
        .await?;
        rows.iter()
            .map(|r| {
                Ok(HistoryLine {
                    at: parse_ts("history", &r.col::<String>("at")?)?,
                    from_state: r.col("from_state")?,
                    to_state: r.col("to_state")?,
                    event: r.col("event")?,
                    actor: r.col("actor")?,
                })
            })
            .collect()
    })
}

/// Requests found by staff: by reference or reservation number, 求職番号
/// (`number`, normalised), address, or any text the seeker gave (a name,
/// spaces ignored); newest first.
pub async fn search(
    conn: &mut dyn Exec,
    query: &str,
    number: Option<&str>,
    limit: i64,
) -> Result<Vec<RequestRow>, StoreError> {
    let office = conn.office();
    let q = query.trim();
    // Exact keys first: each is one index look-up. (`r.office || ''`: the
    // office is checked on the rows found, not used to pick an index;
    // SQLite would otherwise read every request of the office.)
    let exact = on_db!(conn, c => {
        let rows = sqlx::query(select_requests!(
            "WHERE r.office || '' = $1 AND r.id IN (
                 SELECT id FROM requests WHERE ref = $2 AND office = $1
                 UNION SELECT id FROM requests WHERE office = $1 AND seeker_number = $3
                 UNION SELECT id FROM requests WHERE office = $1 AND lower(seeker_address) = lower($4)
                 UNION SELECT request_id FROM bookings WHERE office = $1 AND reservation = $2)
             ORDER BY r.id DESC LIMIT $5"
        ))
        .bind(&*office)
        .bind(q.to_ascii_uppercase())
        .bind(number.unwrap_or(""))
        .bind(q)
        .bind(limit)
        .fetch_all(&mut *c)
        .await?;
        rows.iter().map(from_row).collect::<Result<Vec<_>, StoreError>>()
    })?;
    if !exact.is_empty() {
        return Ok(exact);
    }
    // Then a part of a name, spaces ignored: a scan of the (office,
    // name_key) index only.
    let escaped = name_key(q)
        .replace('\\', "\\\\")
        .replace('%', "\\%")
        .replace('_', "\\_");
    let like = format!("%{escaped}%");
    on_db!(conn, c => {
        let rows = sqlx::query(select_requests!(
            "WHERE r.office || '' = $1 AND r.id IN (
                 SELECT id FROM requests WHERE office = $1 AND name_key LIKE $2 ESCAPE '\\'
                 ORDER BY id DESC LIMIT $3)
             ORDER BY r.id DESC"
        ))
        .bind(&*office)
        .bind(&like)
        .bind(limit)
        .fetch_all(&mut *c)
        .await?;
        rows.iter().map(from_row).collect()
    })
}

/// A name as searched: without spaces, half or full width.
fn name_key(name: &str) -> String {
    name.chars().filter(|c| !c.is_whitespace()).collect()
}

/// Requests in `states` (all when empty), newest first.
pub async fn list(
    conn: &mut dyn Exec,
    states: &[State],
    limit: i64,
) -> Result<Vec<RequestRow>, StoreError> {
    let office = conn.office();
    on_db!(conn, c => {
        let rows = sqlx::query(select_requests!("WHERE r.office || '' = $2 ORDER BY r.id DESC LIMIT $1"))
            .bind(limit)
            .bind(&*office)
            .fetch_all(&mut *c)
            .await?;
        let mut out = Vec::new();
        for row in &rows {
            let r = from_row(row)?;
            if states.is_empty() || states.contains(&r.machine.state) {
                out.push(r);
            }
        }
        Ok(out)
    })
}

/// When each request now waiting for staff went to staff.
pub async fn waiting_for_staff(
    conn: &mut dyn Exec,
) -> Result<Vec<(RequestRow, DateTime<Utc>)>, StoreError> {
    let office = conn.office();
    on_db!(conn, c => {
        let rows = sqlx::query(select_requests!(
            "WHERE r.state = 'needs_staff' AND r.office = $1 ORDER BY r.id"
        ))
        .bind(&*office)
        .fetch_all(&mut *c)
        .await?;
        let mut out = Vec::new();
        for row in &rows {
            let r = from_row(row)?;
            let since: Option<String> = sqlx::query_scalar(
                "SELECT MAX(at) FROM history WHERE request_id = $1 AND to_state = 'needs_staff' AND office = $2",
            )
            .bind(r.id)
            .bind(&*office)
            .fetch_one(&mut *c)
            .await?;
            let since = match since {
                Some(s) => parse_ts("history", &s)?,
                None => r.updated_at,
            };
            out.push((r, since));
        }
        Ok(out)
    })
}

/// Requests that changed to `state` in `[from, to)`, by id.
pub async fn entered_state(
    conn: &mut dyn Exec,
    state: State,
    from: DateTime<Utc>,
    to: DateTime<Utc>,
) -> Result<Vec<RequestRow>, StoreError> {
    let office = conn.office();
    on_db!(conn, c => {
        let rows = sqlx::query(select_requests!(
            "WHERE r.id IN (SELECT request_id FROM history WHERE to_state = $1 AND (from_state IS NULL OR from_state <> to_state) AND at >= $2 AND at < $3 AND office = $4) AND r.office || '' = $4 ORDER BY r.id"
        ))
        .bind(state.as_str())
        .bind(ts(from))
        .bind(ts(to))
        .bind(&*office)
        .fetch_all(&mut *c)
        .await?;
        rows.iter().map(from_row).collect()
    })
}

/// Ids of requests with no open business whose last change is before
/// `before`: their personal data may go.
pub async fn finished_before(
    conn: &mut dyn Exec,
    before: DateTime<Utc>,
) -> Result<Vec<i64>, StoreError> {
    let office = conn.office();
    on_db!(conn, c => {
        let rows = sqlx::query(
            "SELECT id FROM requests WHERE state IN ('lapsed','withdrawn','cancelled','attended','no_show','closed') AND updated_at < $1 AND seeker_address <> '' AND office = $2",
        )
        .bind(ts(before))
        .bind(&*office)
        .fetch_all(&mut *c)
        .await?;
        rows.iter()
            .map(|r| r.col::<i64>("id"))
            .collect()
    })
}

/// Deletes what identifies the seeker of request `id` (第8条), keeping the
/// row, its states and times for the anonymous usage counts (第7条).
pub async fn anonymize(tx: &mut Tx, id: i64) -> Result<(), StoreError> {
    let office = tx.office();
    on_db!(tx, c => {
        sqlx::query("UPDATE requests SET seeker_address = '', seeker_number = NULL, name_key = NULL, data = '{}', offered = '[]', thread_subject = '', last_inbound_id = NULL, thread_refs = '[]', waitlist_slot = NULL WHERE id = $1 AND office = $2")
            .bind(id)
            .bind(&*office)
            .execute(&mut *c)
            .await?;
        sqlx::query("DELETE FROM thread_ids WHERE request_id = $1 AND office = $2")
            .bind(id)
            .bind(&*office)
            .execute(&mut *c)
            .await?;
        sqlx::query(
            "UPDATE bookings SET consent_message_id = NULL, consent_from = NULL WHERE request_id = $1 AND office = $2",
        )
        .bind(id)
        .bind(&*office)
        .execute(&mut *c)
        .await?;
        sqlx::query(
            "UPDATE outbox SET recipient = '', raw = $1, appended = 1 WHERE request_id = $2 AND status <> 'pending' AND office = $3",
        )
        .bind(Vec::<u8>::new())
        .bind(id)
        .bind(&*office)
        .execute(&mut *c)
        .await?;
        sqlx::query("UPDATE processed SET message_id = NULL WHERE request_id = $1 AND office = $2")
            .bind(id)
            .bind(&*office)
            .execute(&mut *c)
            .await?;
        sqlx::query("DELETE FROM staff_mails WHERE request_id = $1 AND office = $2")
            .bind(id)
            .bind(&*office)
            .execute(&mut *c)
            .await?;
        sqlx::query("UPDATE unreachable SET address = '', diagnostic = NULL WHERE request_id = $1 AND office = $2")
            .bind(id)
            .bind(&*office)
            .execute(&mut *c)
            .await?;
        Ok(())
    })
}

/// The longest text kept of a mail for staff (a person's mail is far shorter).
const STAFF_MAIL_CHARS: usize = 20_000;

/// Keeps the text of a mail that went to staff, for the staff page.
pub async fn keep_staff_mail(
    tx: &mut Tx,
    request_id: i64,
    subject: &str,
    body: &str,
    now: DateTime<Utc>,
) -> Result<(), StoreError> {
    let office = tx.office();
    let body: String = body.chars().take(STAFF_MAIL_CHARS).collect();
    on_db!(tx, c => {
        sqlx::query(
            "INSERT INTO staff_mails (office, request_id, received_at, subject, body) VALUES ($1, $2, $3, $4, $5)",
        )
        .bind(&*office)
        .bind(request_id)
        .bind(ts(now))
        .bind(subject)
        .bind(&body)
        .execute(&mut *c)
        .await?;
        Ok(())
    })
}

/// The latest mail of a request that went to staff: subject and text.
pub async fn latest_staff_mail(
    conn: &mut dyn Exec,
    request_id: i64,
) -> Result<Option<(String, String)>, StoreError> {
    let office = conn.office();
    on_db!(conn, c => {
        let row: Option<(String, String)> = sqlx::query_as(
            "SELECT subject, body FROM staff_mails WHERE request_id = $1 AND office = $2 ORDER BY id DESC LIMIT 1",
        )
        .bind(request_id)
        .bind(&*office)
        .fetch_optional(&mut *c)
        .await?;
        Ok(row)
    })
}

/// Corrects a request's stored timer.
pub async fn set_next_due(
    tx: &mut Tx,
    id: i64,
    next_due_at: Option<DateTime<Utc>>,
) -> Result<(), StoreError> {
    let office = tx.office();
    on_db!(tx, c => {
        sqlx::query("UPDATE requests SET next_due_at = $1 WHERE id = $2 AND office = $3")
            .bind(next_due_at.map(ts))
            .bind(id)
            .bind(&*office)
            .execute(&mut *c)
            .await?;
        Ok(())
    })
}

/// Remembers the latest inbound message of the thread, to reply to it.
pub async fn set_last_inbound(
    tx: &mut Tx,
    id: i64,
    message_id: &str,
    refs: &[String],
) -> Result<(), StoreError> {
    let office = tx.office();
    on_db!(tx, c => {
        let refs = serde_json::to_string(refs).map_err(|e| corrupt(e.to_string()))?;
        sqlx::query("UPDATE requests SET last_inbound_id = $1, thread_refs = $2 WHERE id = $3 AND office = $4")
            .bind(message_id)
            .bind(refs)
            .bind(id)
            .bind(&*office)
            .execute(&mut *c)
            .await?;
        Ok(())
    })
}

pub async fn add_thread_id(
    tx: &mut Tx,
    request_id: i64,
    message_id: &str,
) -> Result<(), StoreError> {
    let office = tx.office();
    on_db!(tx, c => {
        sqlx::query(
            "INSERT INTO thread_ids (message_id, request_id, office) VALUES ($1, $2, $3) ON CONFLICT DO NOTHING",
        )
        .bind(message_id)
        .bind(request_id)
        .bind(&*office)
        .execute(&mut *c)
        .await?;
        Ok(())
    })
}
