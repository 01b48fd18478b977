//! The note to staff: one home for what it carries and where the mail that
//! caused it was filed.

use super::error::DeskError;
use super::views;
use crate::core::booking::StaffReason;
use crate::mail::compose::{DateView, Thread};
use crate::mail::notice::{BounceView, ClosureView, Notice, StaffNote};
use crate::office::Office;
use crate::store::bookings::BookingRecord;
use crate::store::writes::{self, Queued};
use crate::store::{bookings, office, RequestRow, Tx};
use chrono::{DateTime, Utc};
use tracing::info;

pub(super) async fn notify_staff(
    office: &Office,
    tx: &mut Tx,
    row: Option<&RequestRow>,
    reason: StaffReason,
    subject: &str,
    now: DateTime<Utc>,
) -> Result<(), DeskError> {
    notify_staff_with(office, tx, row, reason, subject, NoteExtra::default(), now).await
}

/// A staff note with what arrived beyond the subject: the raw sender of
/// an unreadable mail, the details of a bounce. Reads the request's
/// latest booking and the seeker's no-shows for it.
pub(crate) async fn notify_staff_with(
    office: &Office,
    tx: &mut Tx,
    row: Option<&RequestRow>,
    reason: StaffReason,
    subject: &str,
    extra: NoteExtra,
    now: DateTime<Utc>,
) -> Result<(), DeskError> {
    let (booking, no_shows) = match row {
        Some(r) => {
            let b = bookings::latest_for_request(tx, r.id).await?;
            let n = match r.machine.data.seeker_number.as_deref() {
                Some(num) => office::standing(tx, num).await?.1,
                None => 0,
            };
            (b, n)
        }
        None => (None, 0),
    };
    let note = note(
        office,
        row,
        reason,
        subject,
        extra,
        booking.as_ref(),
        no_shows,
        now,
    )?;
    writes::queue(tx, &note, now).await?;
    Ok(())
}

/// The note rendered for the outbox, its reason kept with it: the page
/// shows it without reading the mail back.
#[allow(clippy::too_many_arguments)]
pub(super) fn note(
    office: &Office,
    row: Option<&RequestRow>,
    reason: StaffReason,
    subject: &str,
    extra: NoteExtra,
    booking: Option<&BookingRecord>,
    no_shows: u32,
    now: DateTime<Utc>,
) -> Result<Queued, DeskError> {
    let reason_key = reason.as_str();
    let cal = &office.cfg.calendar;
    let received_local = now.with_timezone(&cal.tz);
    let answer_by = office.cfg.calendar.answer_by(now);
    let note = Notice::Staff(Box::new(StaffNote {
        reservation: booking.map(|b| b.reservation.clone()),
        slot: booking.map(|b| views::booking_slot_view(office, b)),
        needs: row
            .map(|r| r.machine.data.needs.clone())
            .unwrap_or_default(),
        no_shows,
        reason: reason_key.to_string(),
        reference: row.map_or_else(|| "-".into(), |r| r.reference.clone()),
        state: row.map_or("-", |r| r.machine.state.as_str()).to_string(),
        received_at: received_local.format("%Y-%m-%d %H:%M").to_string(),
        answer_by: DateView::from(answer_by),
        subject: crate::core::text::single_line(subject, 120),
        // Where the mail that caused the note was filed.
        folder: match reason {
            StaffReason::Unreadable if row.is_none() => office.cfg.folders.failed.clone(),
            StaffReason::Bounce | StaffReason::Unreachable => office.cfg.folders.machine.clone(),
            _ => office.cfg.folders.staff.clone(),
        },
        from: extra.from,
        bounce: extra.bounce,
        closure: extra.closure,
        gist: row
            .map(|r| crate::core::understand::gist::gist(&r.machine.data))
            .unwrap_or_default(),
    }));
    let thread = Thread {
        to: crate::config::bare_address(&office.cfg.office.staff_address),
        ..Default::default()
    };
    let out = office.composer.render(&note, &thread, None)?;
    info!(
        request = row.map(|r| r.id),
        reason = reason_key,
        "staff notified"
    );
    Ok(Queued {
        message_id: out.message_id,
        request: row.map(|r| r.id),
        kind: "staff",
        to: out.to,
        raw: out.raw,
        variant: Some(reason_key.to_string()),
        in_thread: false,
    })
}

/// What a staff note carries beyond the request and the subject.
#[derive(Debug, Default)]
pub(crate) struct NoteExtra {
    pub(crate) from: Option<String>,
    pub(crate) bounce: Option<BounceView>,
    pub(crate) closure: Option<ClosureView>,
}
