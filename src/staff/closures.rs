//! Days the office closes at short notice (臨時閉庁: snow, a typhoon, an
//! outage): `yoyaku close-day` / `reopen-day` and the same on the staff page.

use crate::core::booking::{Event, StaffReason, State};
use crate::desk::error::{DeskError, StaffError};
use crate::desk::staff_note;
use crate::desk::{apply, views};
use crate::mail::notice::{ClosedBooking, ClosureView};
use crate::office::Office;
use crate::staff;
use crate::store::{bookings, requests, unreachable, waitlist};
use chrono::{DateTime, Duration, NaiveDate, NaiveTime, Utc};
use tracing::info;

/// What closing a day did.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ClosedDay {
    /// Reservation numbers of the bookings cancelled.
    pub cancelled: Vec<String>,
    /// Of those, the seekers who got new dates by mail.
    pub offered: usize,
}

/// Closes `day`: no offers on it from now on; every booking on it still
/// to come is cancelled with an apology in its thread that offers the
/// nearest free slots (the state machine's `DayClosed`), its meeting
/// removed; staff get one note listing them with phone numbers. The
/// closure (who, why) and each request's history record it.
pub async fn close_day(
    office: &Office,
    day: NaiveDate,
    reason: &str,
    now: DateTime<Utc>,
    actor: &str,
) -> Result<ClosedDay, DeskError> {
    let reason = crate::core::text::single_line(reason.trim(), 200);
    if reason.is_empty() {
        return Err(StaffError::Invalid("--reason must say why the office closes".into()).into());
    }
    let cal = &office.config().calendar;
    if day < cal.local_date(now) {
        return Err(StaffError::Invalid(format!("{day} is already past")).into());
    }
    let mut tx = office.store().begin().await?;
    tx.act_as(actor);
    if !waitlist::close_day(&mut tx, day, &reason, actor, now).await? {
        return Err(StaffError::Conflict(format!("{day} is closed already")).into());
    }
    let day_start = cal.instant(day, NaiveTime::MIN);
    let from = day_start.max(now);
    let to = cal.instant(day + Duration::days(1), NaiveTime::MIN);
    let mut done = ClosedDay::default();
    let mut listed = Vec::new();
    for id in requests::booked_between(&mut tx, from, to).await? {
        let Some(row) = requests::find_by_id(&mut tx, id).await? else {
            continue;
        };
        let Some(b) = bookings::live_for_request(&mut tx, id).await? else {
            continue;
        };
        apply::step_and_apply(office, &mut tx, &row, Event::DayClosed, None, None, "", now).await?;
        let after = requests::find_by_id(&mut tx, id).await?;
        let sent = if unreachable::is_marked(&mut tx, &row.seeker_address).await? {
            "unreachable"
        } else if after.is_some_and(|r| r.machine.state == State::Offered) {
            done.offered += 1;
            "offered"
        } else {
            "holding"
        };
        done.cancelled.push(b.reservation.clone());
        listed.push(ClosedBooking {
            reference: row.reference.clone(),
            reservation: b.reservation.clone(),
            slot: Some(views::booking_slot_view(office, &b)),
            name: row.machine.data.name.clone().unwrap_or_default(),
            phone: row.machine.data.phone.clone().unwrap_or_default(),
            sent: sent.to_string(),
        });
    }
    if !listed.is_empty() {
        let closure = ClosureView {
            day: Some(day.into()),
            reason: reason.clone(),
            by: actor.to_string(),
            bookings: listed,
        };
        let extra = crate::desk::staff_note::NoteExtra {
            closure: Some(closure),
            ..Default::default()
        };
        staff_note::notify_staff_with(
            office,
            &mut tx,
            None,
            StaffReason::DayClosed,
            &reason,
            extra,
            now,
        )
        .await?;
    }
    tx.commit().await?;
    info!(
        bookings = done.cancelled.len(),
        offered = done.offered,
        "day closed"
    );
    staff::send_now(office, now).await;
    Ok(done)
}

/// Reopens a closed day for offers from now on (the bookings the
/// closure cancelled stay cancelled: their seekers have new dates).
pub async fn reopen_day(
    office: &Office,
    day: NaiveDate,
    now: DateTime<Utc>,
    actor: &str,
) -> Result<(), DeskError> {
    let mut tx = office.store().begin().await?;
    tx.act_as(actor);
    if !waitlist::reopen_day(&mut tx, day, actor, now).await? {
        return Err(StaffError::Conflict(format!("{day} is not a closed day")).into());
    }
    tx.commit().await?;
    info!("day reopened");
    Ok(())
}

/// The days closed from `from` on, for the page.
pub async fn closures_from(
    office: &Office,
    from: NaiveDate,
) -> Result<Vec<waitlist::Closure>, DeskError> {
    let mut conn = office.store().conn().await?;
    Ok(waitlist::closures_from(&mut conn, from).await?)
}
