//! The note to staff: one home for what it carries and where the mail that
//! caused it was filed.

use super::apply;
use super::DeskError;
use crate::core::booking::StaffReason;
use crate::mail::compose::{DateView, Thread};
use crate::mail::notice::{BounceView, ClosureView, Notice, StaffNote};
use crate::office::Office;
use crate::store::{bookings, office, outbox, RequestRow, Tx};
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
/// an unreadable mail, the details of a bounce.
pub(crate) async fn notify_staff_with(
    office: &Office,
    tx: &mut Tx,
    row: Option<&RequestRow>,
    reason: StaffReason,
    subject: &str,
    extra: NoteExtra,
    now: DateTime<Utc>,
) -> Result<(), DeskError> {
    let reason_key = reason.as_str();
    let cal = &office.cfg.calendar;
    let received_local = now.with_timezone(&cal.tz);
    let answer_by = office.cfg.calendar.answer_by(now);
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
    let note = Notice::Staff(Box::new(StaffNote {
        reservation: booking.as_ref().map(|b| b.reservation.clone()),
        slot: booking
            .as_ref()
            .map(|b| apply::booking_slot_view(office, b)),
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
    outbox::enqueue(
        tx,
        &out.message_id,
        row.map(|r| r.id),
        "staff",
        &out.to,
        &out.raw,
        now,
    )
    .await?;
    // The reason stays with the note: the page shows it without reading
    // the mail back.
    outbox::set_variant(tx, &out.message_id, reason_key).await?;
    info!(
        request = row.map(|r| r.id),
        reason = reason_key,
        "staff notified"
    );
    Ok(())
}

/// What a staff note carries beyond the request and the subject.
#[derive(Debug, Default)]
pub(crate) struct NoteExtra {
    pub(crate) from: Option<String>,
    pub(crate) bounce: Option<BounceView>,
    pub(crate) closure: Option<ClosureView>,
}
