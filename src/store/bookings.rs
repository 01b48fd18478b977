//! The `bookings` table. One confirmed booking per room and slot is a
//! unique index, so a double booking fails in the database itself.

use super::{parse_ts, ts, StoreError, Tx};
use crate::core::calendar::{Calendar, Slot};
use chrono::{DateTime, Utc};
use sqlx::{Row, SqliteConnection};
use std::collections::{HashMap, HashSet};

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
    pub consent_from: &'a str,
    pub terms_sha256: &'a str,
    pub now: DateTime<Utc>,
}

/// Slots between `from` and `to` where every one of `rooms` is booked.
pub async fn full_slots(
    conn: &mut SqliteConnection,
    cal: &Calendar,
    from: DateTime<Utc>,
    to: DateTime<Utc>,
    rooms: &[String],
) -> Result<HashSet<Slot>, StoreError> {
    let rows = sqlx::query("SELECT slot_start, room_id FROM bookings WHERE status = 'confirmed' AND slot_start >= ? AND slot_start < ?")
        .bind(ts(from))
        .bind(ts(to))
        .fetch_all(&mut *conn)
        .await?;
    let mut taken: HashMap<String, HashSet<String>> = HashMap::new();
    for row in &rows {
        let room: String = row.try_get("room_id")?;
        if rooms.contains(&room) {
            taken
                .entry(row.try_get("slot_start")?)
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
}

/// Books the first free room of `rooms` for the slot; `None` when every
/// room is taken (the unique index decides, not a prior read).
pub async fn try_book(
    tx: &mut Tx,
    new: &NewBooking<'_>,
    rooms: &[String],
) -> Result<Option<Booking>, StoreError> {
    for room in rooms {
        let result = sqlx::query(
            "INSERT INTO bookings (reservation, request_id, room_id, slot_start, status, consent_message_id, consent_from, consent_at, terms_sha256, created_at)
             VALUES (?, ?, ?, ?, 'confirmed', ?, ?, ?, ?, ?) ON CONFLICT (room_id, slot_start) WHERE status = 'confirmed' DO NOTHING",
        )
        .bind(new.reservation)
        .bind(new.request_id)
        .bind(room)
        .bind(ts(new.slot_start))
        .bind(new.consent_message_id)
        .bind(new.consent_from)
        .bind(ts(new.now))
        .bind(new.terms_sha256)
        .bind(ts(new.now))
        .execute(&mut **tx)
        .await?;
        if result.rows_affected() == 1 {
            return Ok(Some(Booking {
                id: result.last_insert_rowid(),
                reservation: new.reservation.to_string(),
                room_id: room.clone(),
                slot_start: new.slot_start,
            }));
        }
    }
    Ok(None)
}
