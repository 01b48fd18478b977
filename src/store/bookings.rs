//! The `bookings` table. One confirmed booking per room and slot is a
//! unique index, so a double booking fails in the database itself.

use super::{on_db, parse_ts, ts, Cols, Exec, StoreError, Tx};
use crate::core::booking::BookingStatus;
use crate::core::booking::By;
use crate::core::calendar::{Calendar, Slot};
use chrono::{DateTime, Utc};
use std::collections::{BTreeMap, HashMap, HashSet};

#[derive(Debug, Clone)]
pub struct Booking {
    pub id: i64,
    pub reservation: String,
    pub room_id: String,
    pub slot_start: DateTime<Utc>,
}

pub struct NewBooking<'a> {
    pub request_id: i64,
    pub reservation: &'a str,
    pub slot_start: DateTime<Utc>,
    pub consent_message_id: Option<&'a str>,
    pub consent_from: Option<&'a str>,
    pub terms_sha256: Option<&'a str>,
    /// The seeker (consent by reply) or staff (第6条(4)).
    pub booked_by: By,
    pub now: DateTime<Utc>,
}

/// A booking as staff see it.
#[derive(Debug, Clone)]
pub struct BookingRecord {
    pub id: i64,
    pub reservation: String,
    pub request_id: i64,
    pub room_id: String,
    pub slot_start: DateTime<Utc>,
    pub status: BookingStatus,
    pub booked_by: By,
    pub consent_message_id: Option<String>,
    pub consent_from: Option<String>,
    pub consent_at: Option<DateTime<Utc>>,
    pub terms_sha256: Option<String>,
    pub cancelled_by: Option<String>,
    pub excused: bool,
    pub outcome_at: Option<DateTime<Utc>>,
    pub created_at: DateTime<Utc>,
    /// The booking's own Zoom meeting, once made (provider "zoom").
    pub meeting: Option<crate::meeting::Meeting>,
    /// The room sent instead when Zoom stayed out of reach.
    pub fallback_room: Option<String>,
}

/// `SELECT <all booking columns> FROM bookings <tail>`.
macro_rules! select_bookings {
    ($tail:literal) => {
        concat!(
            "SELECT id, reservation, request_id, room_id, slot_start, status, booked_by, consent_message_id, consent_from, ",
            "consent_at, terms_sha256, cancelled_by, excused, outcome_at, created_at, meeting_id, meeting_passcode, meeting_url, meeting_host, ",
            "(SELECT j.fallback_room FROM meeting_jobs j WHERE j.booking_id = bookings.id) AS fallback_room FROM bookings ",
            $tail
        )
    };
}

fn record(row: &impl Cols) -> Result<BookingRecord, StoreError> {
    let opt_ts = |col: &str| -> Result<Option<DateTime<Utc>>, StoreError> {
        match row.col::<Option<String>>(col)? {
            Some(s) => Ok(Some(parse_ts("bookings", &s)?)),
            None => Ok(None),
        }
    };
    Ok(BookingRecord {
        id: row.col("id")?,
        reservation: row.col("reservation")?,
        request_id: row.col("request_id")?,
        room_id: row.col("room_id")?,
        slot_start: parse_ts("bookings", &row.col::<String>("slot_start")?)?,
        status: {
            let s: String = row.col("status")?;
            BookingStatus::parse(&s).ok_or_else(|| StoreError::Corrupt {
                table: "bookings",
                problem: format!("unknown status {s:?}"),
            })?
        },
        booked_by: {
            let s: String = row.col("booked_by")?;
            By::parse(&s).ok_or_else(|| StoreError::Corrupt {
                table: "bookings",
                problem: format!("unknown booked_by {s:?}"),
            })?
        },
        consent_message_id: row.col("consent_message_id")?,
        consent_from: row.col("consent_from")?,
        consent_at: opt_ts("consent_at")?,
        terms_sha256: row.col("terms_sha256")?,
        cancelled_by: row.col("cancelled_by")?,
        excused: row.col::<i64>("excused")? != 0,
        outcome_at: opt_ts("outcome_at")?,
        created_at: parse_ts("bookings", &row.col::<String>("created_at")?)?,
        meeting: match row.col::<Option<String>>("meeting_id")? {
            Some(id) => Some(crate::meeting::Meeting {
                id,
                passcode: row
                    .col::<Option<String>>("meeting_passcode")?
                    .unwrap_or_default(),
                join_url: row
                    .col::<Option<String>>("meeting_url")?
                    .unwrap_or_default(),
                host: row
                    .col::<Option<String>>("meeting_host")?
                    .unwrap_or_default(),
            }),
            None => None,
        },
        fallback_room: row.col("fallback_room")?,
    })
}

/// Every booking of a request, oldest first.
pub async fn for_request(
    conn: &mut dyn Exec,
    request_id: i64,
) -> Result<Vec<BookingRecord>, StoreError> {
    let office = conn.office();
    on_db!(conn, c => {
        let rows = sqlx::query(select_bookings!("WHERE request_id = $1 AND office = $2 ORDER BY id"))
            .bind(request_id)
            .bind(&*office)
            .fetch_all(&mut *c)
            .await?;
        rows.iter().map(record).collect()
    })
}

/// The confirmed booking of a request, if it has one.
pub async fn live_for_request(
    conn: &mut dyn Exec,
    request_id: i64,
) -> Result<Option<BookingRecord>, StoreError> {
    let office = conn.office();
    on_db!(conn, c => {
        let row = sqlx::query(select_bookings!(
            "WHERE request_id = $1 AND status = 'confirmed' AND office = $2 ORDER BY id DESC LIMIT 1"
        ))
        .bind(request_id)
        .bind(&*office)
        .fetch_optional(&mut *c)
        .await?;
        row.as_ref().map(record).transpose()
    })
}

/// The newest booking of a request whatever its status.
pub async fn latest_for_request(
    conn: &mut dyn Exec,
    request_id: i64,
) -> Result<Option<BookingRecord>, StoreError> {
    let office = conn.office();
    on_db!(conn, c => {
        let row = sqlx::query(select_bookings!(
            "WHERE request_id = $1 AND office = $2 ORDER BY id DESC LIMIT 1"
        ))
        .bind(request_id)
        .bind(&*office)
        .fetch_optional(&mut *c)
        .await?;
        row.as_ref().map(record).transpose()
    })
}

pub async fn find_by_id(conn: &mut dyn Exec, id: i64) -> Result<Option<BookingRecord>, StoreError> {
    let office = conn.office();
    on_db!(conn, c => {
        let row = sqlx::query(select_bookings!("WHERE id = $1 AND office = $2"))
            .bind(id)
            .bind(&*office)
            .fetch_optional(&mut *c)
            .await?;
        row.as_ref().map(record).transpose()
    })
}

pub async fn find_by_reservation(
    conn: &mut dyn Exec,
    reservation: &str,
) -> Result<Option<BookingRecord>, StoreError> {
    let office = conn.office();
    on_db!(conn, c => {
        let row = sqlx::query(select_bookings!("WHERE reservation = $1 AND office = $2"))
            .bind(reservation)
            .bind(&*office)
            .fetch_optional(&mut *c)
            .await?;
        row.as_ref().map(record).transpose()
    })
}

/// Bookings whose session starts in `[from, to)`, by start time.
pub async fn starting_between(
    conn: &mut dyn Exec,
    from: DateTime<Utc>,
    to: DateTime<Utc>,
) -> Result<Vec<BookingRecord>, StoreError> {
    let office = conn.office();
    on_db!(conn, c => {
        let rows = sqlx::query(select_bookings!(
            "WHERE slot_start >= $1 AND slot_start < $2 AND office = $3 ORDER BY slot_start, room_id"
        ))
        .bind(ts(from))
        .bind(ts(to))
        .bind(&*office)
        .fetch_all(&mut *c)
        .await?;
        rows.iter().map(record).collect()
    })
}

/// Bookings created, or with an outcome, in `[from, to)`: the usage records.
pub async fn touched_between(
    conn: &mut dyn Exec,
    from: DateTime<Utc>,
    to: DateTime<Utc>,
) -> Result<Vec<BookingRecord>, StoreError> {
    let office = conn.office();
    on_db!(conn, c => {
        let rows = sqlx::query(select_bookings!("WHERE ((created_at >= $1 AND created_at < $2) OR (outcome_at >= $3 AND outcome_at < $4)) AND office = $5 ORDER BY id"))
        .bind(ts(from))
        .bind(ts(to))
        .bind(ts(from))
        .bind(ts(to))
        .bind(&*office)
        .fetch_all(&mut *c)
        .await?;
        rows.iter().map(record).collect()
    })
}

/// Records a booking's new status (from `BookingStatus::after`).
pub async fn set_outcome(
    tx: &mut Tx,
    id: i64,
    status: BookingStatus,
    cancelled_by: Option<&str>,
    excused: bool,
    now: DateTime<Utc>,
) -> Result<(), StoreError> {
    let office = tx.office();
    on_db!(tx, c => {
        sqlx::query("UPDATE bookings SET status = $1, cancelled_by = $2, excused = $3, outcome_at = $4 WHERE id = $5 AND office = $6")
            .bind(status.as_str())
            .bind(cancelled_by)
            .bind(i64::from(excused))
            .bind(ts(now))
            .bind(id)
            .bind(&*office)
            .execute(&mut *c)
            .await?;
        Ok(())
    })
}

/// Slots between `from` and `to` where every one of `rooms` is booked.
pub async fn full_slots(
    conn: &mut dyn Exec,
    cal: &Calendar,
    from: DateTime<Utc>,
    to: DateTime<Utc>,
    rooms: &[String],
) -> Result<HashSet<Slot>, StoreError> {
    let office = conn.office();
    on_db!(conn, c => {
        let rows = sqlx::query("SELECT slot_start, room_id FROM bookings WHERE status = 'confirmed' AND slot_start >= $1 AND slot_start < $2 AND office = $3")
            .bind(ts(from))
            .bind(ts(to))
            .bind(&*office)
            .fetch_all(&mut *c)
            .await?;
        let mut taken: HashMap<String, HashSet<String>> = HashMap::new();
        for row in &rows {
            let room: String = row.col("room_id")?;
            if rooms.contains(&room) {
                taken
                    .entry(row.col("slot_start")?)
                    .or_default()
                    .insert(room);
            }
        }
        let mut full = HashSet::new();
        for (start, used) in taken {
            if used.len() >= rooms.len() {
                let local = parse_ts("bookings", &start)?.with_timezone(&cal.tz);
                full.insert(Slot::new(local.date_naive(), local.time()));
            }
        }
        Ok(full)
    })
}

/// The office's bookings by status.
pub async fn counts(conn: &mut dyn Exec) -> Result<BTreeMap<String, i64>, StoreError> {
    let office = conn.office();
    on_db!(conn, c => {
        let rows: Vec<(String, i64)> = sqlx::query_as(
            "SELECT status, COUNT(*) FROM bookings WHERE office = $1 GROUP BY status",
        )
        .bind(&*office)
        .fetch_all(&mut *c)
        .await?;
        Ok(rows.into_iter().collect())
    })
}

/// Books the first free room of `rooms` for the slot; `None` when every
/// room is taken (the unique index decides, not a prior read).
/// How many bookings the request had before this one: the calendar
/// event's version (one event per request, moved by each new booking).
pub async fn ordinal(conn: &mut dyn Exec, b: &BookingRecord) -> Result<u32, StoreError> {
    let office = conn.office();
    let n: i64 = on_db!(conn, c => sqlx::query_scalar(
        "SELECT COUNT(*) FROM bookings WHERE request_id = $1 AND id < $2 AND office = $3"
    )
    .bind(b.request_id)
    .bind(b.id)
    .bind(&*office)
    .fetch_one(&mut *c)
    .await)?;
    Ok(u32::try_from(n).unwrap_or(u32::MAX / 2))
}

pub async fn try_book(
    tx: &mut Tx,
    new: &NewBooking<'_>,
    rooms: &[String],
) -> Result<Option<Booking>, StoreError> {
    let office = tx.office();
    for room in rooms {
        let id: Option<i64> = on_db!(tx, c => sqlx::query_scalar(
            "INSERT INTO bookings (reservation, request_id, room_id, slot_start, status, booked_by, consent_message_id, consent_from, consent_at, terms_sha256, created_at, office)
             VALUES ($1, $2, $3, $4, 'confirmed', $5, $6, $7, $8, $9, $10, $11) ON CONFLICT (office, room_id, slot_start) WHERE status = 'confirmed' DO NOTHING RETURNING id",
        )
        .bind(new.reservation)
        .bind(new.request_id)
        .bind(room)
        .bind(ts(new.slot_start))
        .bind(new.booked_by.as_str())
        .bind(new.consent_message_id)
        .bind(new.consent_from)
        .bind(new.consent_from.map(|_| ts(new.now)))
        .bind(new.terms_sha256)
        .bind(ts(new.now))
        .bind(&*office)
        .fetch_optional(&mut *c)
        .await)?;
        if let Some(id) = id {
            return Ok(Some(Booking {
                id,
                reservation: new.reservation.to_string(),
                room_id: room.clone(),
                slot_start: new.slot_start,
            }));
        }
    }
    Ok(None)
}
