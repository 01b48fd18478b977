//! The `meeting_jobs` table (one row per booking with a Zoom meeting to
//! make or remove) and the meeting columns of `bookings`. A job is claimed
//! under a lease (owner and expiry) before Zoom is called, outside any
//! transaction; its outcome is written afterwards with the mail it causes.

use super::{on_db, parse_ts, ts, Cols, Exec, StoreError, Tx};
use crate::core::meeting::{Job, Retry};
use crate::meeting::Meeting;
use chrono::{DateTime, Utc};

/// A claimed job with what the decision and the call need.
#[derive(Debug, Clone)]
pub struct JobRow {
    pub booking_id: i64,
    pub job: Job,
    pub meeting_id: Option<String>,
    pub reservation: String,
}

/// The booking needs a meeting (`true`) or must keep none (`false`); the
/// job is due at once. A booking's later wish overrides an earlier one.
pub async fn want(
    tx: &mut Tx,
    booking_id: i64,
    meeting: bool,
    host: usize,
    now: DateTime<Utc>,
) -> Result<(), StoreError> {
    let office = tx.office();
    let want = if meeting { "meeting" } else { "none" };
    // The host is set once: a later delete must look where the meeting was made.
    on_db!(tx, c => {
        sqlx::query("INSERT INTO meeting_jobs (booking_id, office, want, next_attempt_at, created_at, updated_at, host_index) VALUES ($1, $2, $3, $4, $4, $4, $5)
                     ON CONFLICT (booking_id) DO UPDATE SET want = $3, done = 0, attempts = 0, staff_told = 0, next_attempt_at = $4, updated_at = $4")
            .bind(booking_id)
            .bind(&*office)
            .bind(want)
            .bind(ts(now))
            .bind(host as i64)
            .execute(&mut *c)
            .await?;
        Ok(())
    })
}

/// Leases up to `limit` due jobs to `owner` until `until`.
pub async fn claim_due(
    conn: &mut dyn Exec,
    owner: &str,
    now: DateTime<Utc>,
    until: DateTime<Utc>,
    limit: i64,
) -> Result<Vec<JobRow>, StoreError> {
    let office = conn.office();
    on_db!(conn, c => {
        let ids: Vec<i64> = sqlx::query_scalar(
            "UPDATE meeting_jobs SET lease_owner = $1, lease_until = $2
             WHERE booking_id IN (SELECT booking_id FROM meeting_jobs WHERE office = $3 AND done = 0 AND next_attempt_at <= $4
                                    AND (lease_until IS NULL OR lease_until <= $4) ORDER BY next_attempt_at LIMIT $5)
               AND done = 0 AND (lease_until IS NULL OR lease_until <= $4)
             RETURNING booking_id")
            .bind(owner)
            .bind(ts(until))
            .bind(&*office)
            .bind(ts(now))
            .bind(limit)
            .fetch_all(&mut *c)
            .await?;
        let mut out = Vec::with_capacity(ids.len());
        for id in ids {
            let row = sqlx::query(
                "SELECT j.booking_id, j.want, j.confirmed, j.maybe_created, j.host_index, j.attempts, j.staff_told, j.created_at,
                        b.meeting_id, b.reservation
                 FROM meeting_jobs j JOIN bookings b ON b.id = j.booking_id
                 WHERE j.booking_id = $1 AND j.office = $2")
                .bind(id)
                .bind(&*office)
                .fetch_optional(&mut *c)
                .await?;
            if let Some(r) = row {
                let meeting_id: Option<String> = r.col("meeting_id")?;
                out.push(JobRow {
                    booking_id: r.col("booking_id")?,
                    job: Job {
                        want_meeting: r.col::<String>("want")? == "meeting",
                        confirmed: r.col::<i64>("confirmed")? != 0,
                        meeting_known: meeting_id.is_some(),
                        maybe_created: r.col::<i64>("maybe_created")? != 0,
                        host_index: r.col::<i64>("host_index")?.max(0) as usize,
                        attempts: r.col::<i64>("attempts")?.clamp(0, i64::from(u32::MAX)) as u32,
                        staff_told: r.col::<i64>("staff_told")? != 0,
                        created_at: parse_ts("meeting_jobs", &r.col::<String>("created_at")?)?,
                    },
                    meeting_id,
                    reservation: r.col("reservation")?,
                });
            }
        }
        Ok(out)
    })
}

/// Written (and committed) before a create is sent: should its answer be
/// lost, the next try looks for the meeting before making another.
pub async fn sending_create(
    conn: &mut dyn Exec,
    booking_id: i64,
    host_index: usize,
    now: DateTime<Utc>,
) -> Result<(), StoreError> {
    let office = conn.office();
    on_db!(conn, c => {
        sqlx::query("UPDATE meeting_jobs SET maybe_created = 1, host_index = $1, updated_at = $2 WHERE booking_id = $3 AND office = $4")
            .bind(host_index as i64)
            .bind(ts(now))
            .bind(booking_id)
            .bind(&*office)
            .execute(&mut *c)
            .await?;
        Ok(())
    })
}

/// A failed try: when the next one is due, on which host; `created`:
/// whether a create may have happened (None: unchanged).
pub async fn retry(
    conn: &mut dyn Exec,
    booking_id: i64,
    retry: &Retry,
    maybe_created: Option<bool>,
    error: &str,
    now: DateTime<Utc>,
) -> Result<(), StoreError> {
    let office = conn.office();
    on_db!(conn, c => {
        sqlx::query("UPDATE meeting_jobs SET attempts = attempts + 1, next_attempt_at = $1, host_index = $2, last_error = $3,
                        staff_told = CASE WHEN $4 THEN 1 ELSE staff_told END,
                        maybe_created = COALESCE($5, maybe_created),
                        lease_owner = NULL, lease_until = NULL, updated_at = $6
                     WHERE booking_id = $7 AND office = $8")
            .bind(ts(retry.at))
            .bind(retry.host_index as i64)
            .bind(error)
            .bind(retry.tell_staff)
            .bind(maybe_created.map(i64::from))
            .bind(ts(now))
            .bind(booking_id)
            .bind(&*office)
            .execute(&mut *c)
            .await?;
        Ok(())
    })
}

/// The meeting Zoom made (or that was found) for the booking.
pub async fn set_meeting(
    tx: &mut Tx,
    booking_id: i64,
    m: &Meeting,
    now: DateTime<Utc>,
) -> Result<(), StoreError> {
    let office = tx.office();
    on_db!(tx, c => {
        sqlx::query("UPDATE bookings SET meeting_id = $1, meeting_passcode = $2, meeting_url = $3, meeting_host = $4 WHERE id = $5 AND office = $6")
            .bind(&m.id)
            .bind(&m.passcode)
            .bind(&m.join_url)
            .bind(&m.host)
            .bind(booking_id)
            .bind(&*office)
            .execute(&mut *c)
            .await?;
        sqlx::query("UPDATE meeting_jobs SET maybe_created = 0, updated_at = $1 WHERE booking_id = $2 AND office = $3")
            .bind(ts(now))
            .bind(booking_id)
            .bind(&*office)
            .execute(&mut *c)
            .await?;
        Ok(())
    })
}

/// The job's end: `confirmed` when the seeker was sent a way to join,
/// `fallback_room` when that was a configured room; `clear_meeting` after
/// a delete (the booking keeps no meeting). Nothing left unless `keep`.
pub async fn finish(
    tx: &mut Tx,
    booking_id: i64,
    confirmed: bool,
    fallback_room: Option<&str>,
    clear_meeting: bool,
    now: DateTime<Utc>,
) -> Result<(), StoreError> {
    let office = tx.office();
    on_db!(tx, c => {
        sqlx::query("UPDATE meeting_jobs SET done = 1, confirmed = CASE WHEN $1 THEN 1 ELSE confirmed END,
                        fallback_room = COALESCE($2, fallback_room), maybe_created = CASE WHEN $3 THEN 0 ELSE maybe_created END,
                        lease_owner = NULL, lease_until = NULL, last_error = NULL, updated_at = $4
                     WHERE booking_id = $5 AND office = $6")
            .bind(confirmed)
            .bind(fallback_room)
            .bind(clear_meeting)
            .bind(ts(now))
            .bind(booking_id)
            .bind(&*office)
            .execute(&mut *c)
            .await?;
        if clear_meeting {
            sqlx::query("UPDATE bookings SET meeting_id = NULL, meeting_passcode = NULL, meeting_url = NULL WHERE id = $1 AND office = $2")
                .bind(booking_id)
                .bind(&*office)
                .execute(&mut *c)
                .await?;
        }
        Ok(())
    })
}

/// The seeker was sent a fallback room while a lost create may still have
/// made a meeting: the job goes on to remove it.
pub async fn fallen_back(
    tx: &mut Tx,
    booking_id: i64,
    room: &str,
    now: DateTime<Utc>,
) -> Result<(), StoreError> {
    let office = tx.office();
    on_db!(tx, c => {
        sqlx::query("UPDATE meeting_jobs SET confirmed = 1, fallback_room = $1, want = 'none', attempts = 0, next_attempt_at = $2,
                        lease_owner = NULL, lease_until = NULL, updated_at = $2
                     WHERE booking_id = $3 AND office = $4")
            .bind(room)
            .bind(ts(now))
            .bind(booking_id)
            .bind(&*office)
            .execute(&mut *c)
            .await?;
        Ok(())
    })
}

/// The earliest retry of a job not yet done (for the desk's wait).
pub async fn next_attempt(conn: &mut dyn Exec) -> Result<Option<DateTime<Utc>>, StoreError> {
    let office = conn.office();
    let at: Option<String> = on_db!(conn, c => {
        sqlx::query_scalar("SELECT MIN(next_attempt_at) FROM meeting_jobs WHERE office = $1 AND done = 0")
            .bind(&*office)
            .fetch_one(&mut *c)
            .await?
    });
    at.map(|s| parse_ts("meeting_jobs", &s)).transpose()
}

/// The reservation number of the booking a Zoom meeting was made for.
pub async fn reservation_of_meeting(
    conn: &mut dyn Exec,
    meeting_id: &str,
) -> Result<Option<String>, StoreError> {
    let office = conn.office();
    on_db!(conn, c => {
        Ok(sqlx::query_scalar("SELECT reservation FROM bookings WHERE meeting_id = $1 AND office = $2")
            .bind(meeting_id)
            .bind(&*office)
            .fetch_optional(&mut *c)
            .await?)
    })
}

/// Jobs by state for /metrics and tests: (not done, done).
pub async fn counts(conn: &mut dyn Exec) -> Result<(i64, i64), StoreError> {
    let office = conn.office();
    on_db!(conn, c => {
        let open: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM meeting_jobs WHERE office = $1 AND done = 0")
            .bind(&*office)
            .fetch_one(&mut *c)
            .await?;
        let done: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM meeting_jobs WHERE office = $1 AND done = 1")
            .bind(&*office)
            .fetch_one(&mut *c)
            .await?;
        Ok((open, done))
    })
}

/// Notes a webhook event by `key` (a hash of its signature); false when it
/// was seen already (a replay). Events seen before `forget_before`, past
/// their validity window, are forgotten first.
pub async fn first_sight_of_event(
    conn: &mut dyn Exec,
    key: &str,
    now: DateTime<Utc>,
    forget_before: DateTime<Utc>,
) -> Result<bool, StoreError> {
    on_db!(conn, c => {
        sqlx::query("DELETE FROM webhook_events WHERE seen_at < $1")
            .bind(ts(forget_before))
            .execute(&mut *c)
            .await?;
        let inserted = sqlx::query(
            "INSERT INTO webhook_events (key, seen_at) VALUES ($1, $2) ON CONFLICT (key) DO NOTHING",
        )
        .bind(key)
        .bind(ts(now))
        .execute(&mut *c)
        .await?
        .rows_affected();
        Ok(inserted == 1)
    })
}
