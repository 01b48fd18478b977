//! Carrying out a decided step: what it reads gathered, its booking made,
//! its writes and mails planned (`desk::plan`) and written in one go
//! (`store::writes`), then the slots it freed offered to those who wait.

use super::error::{DeskError, StaffError};
use super::gather;
use super::plan;
use super::staff_note;
use crate::core::booking;
use crate::core::booking::{By, Context, Effect, Event, Request, StaffReason, State};
use crate::core::calendar::{Calendar, Slot};
use crate::core::decide;
use crate::core::route::Filing;
use crate::mail::compose::{random_token, Thread};
use crate::mail::notice::Notice;
use crate::office::Office;
use crate::store::bookings::BookingRecord;
use crate::store::{bookings, office, requests, writes, RequestRow, StoreError, Tx};
use chrono::{DateTime, Utc};
use tracing::warn;

/// Runs the state machine on `row` (a staff action, a timer, a freed
/// slot, a closed day): gathers what the step reads, steps
/// (`core::decide::step`) and carries out its effects inside `tx`.
#[allow(clippy::too_many_arguments)]
pub(crate) async fn step_and_apply(
    office: &Office,
    tx: &mut Tx,
    row: &RequestRow,
    event: Event,
    thread: Option<Thread>,
    consent: Option<&Consent>,
    subject: &str,
    now: DateTime<Utc>,
) -> Result<Filing, DeskError> {
    let (full, closed) = gather::slots_facts(office, tx, now).await?;
    let standing = match decide::seeker_number(&row.machine, &event) {
        Some(number) => {
            gather::seeker_facts(office, tx, number, now)
                .await?
                .standing
        }
        None => booking::Standing::default(),
    };
    let address = gather::address_facts(tx, &row.seeker_address, now).await?;
    let cal = closed.as_ref().unwrap_or(&office.cfg.calendar);
    let ctx = Context {
        cal,
        now,
        full: &full,
        rules: &office.cfg.rules,
        standing,
        trusted: consent.is_none_or(|c| c.trusted),
        told_today: decide::missing_told(&row.machine, &event, &address),
        reachable: address.reachable,
    };
    let by_staff = matches!(event, Event::Staff(_));
    let stepped = decide::step(&row.machine, event, &ctx);
    if let (true, Err(e)) = (by_staff, &stepped) {
        return Err(StaffError::Conflict(e.to_string()).into());
    }
    apply_step(office, tx, row, stepped, thread, consent, subject, cal, now).await
}

/// Carries out a step the core decided on `row` (whose machine is the
/// one stepped from): what it reads gathered, its booking made (the one
/// write whose outcome the store tells), the step settled on that outcome
/// (`core::decide::Step::settle`), its writes and mails planned
/// (`desk::plan`) and written, then the slots it freed offered.
/// No transition: staff are told and read the mail.
#[allow(clippy::too_many_arguments)]
pub(crate) async fn apply_step(
    office: &Office,
    tx: &mut Tx,
    row: &RequestRow,
    stepped: Result<decide::Step, booking::TransitionError>,
    thread: Option<Thread>,
    consent: Option<&Consent>,
    subject: &str,
    cal: &Calendar,
    now: DateTime<Utc>,
) -> Result<Filing, DeskError> {
    let step = match stepped {
        Ok(step) => step,
        Err(e) => {
            warn!(request = row.id, error = %e, "no transition; staff notified");
            staff_note::notify_staff(office, tx, Some(row), StaffReason::Unreadable, subject, now)
                .await?;
            return Ok(Filing::Staff);
        }
    };
    let mut known = known(tx, row).await?;
    let reserved = match step.booking() {
        Some(slot) => reserve(office, tx, row, &step, slot, consent, now).await?,
        None => None,
    };
    let (event, taken) = (step.event, step.booking().is_some() && reserved.is_none());
    let Some((next, effects)) = step.settle(taken) else {
        return Err(StoreError::Corrupt {
            table: "requests",
            problem: format!("request {}: slot taken, and no step for it", row.id),
        }
        .into());
    };
    if effects.iter().any(|e| matches!(e, Effect::NotifyStaff(_))) {
        if let Some(number) = next.data.seeker_number.as_deref() {
            known.no_shows = office::standing(tx, number).await?.1;
        }
    }
    let mut thread = thread.unwrap_or_else(|| thread_of(row));
    // Answers go out in the seeker's language (core::lang, read with the mail).
    thread.lang = next.data.lang;
    let applying = plan::Applying {
        office,
        row,
        cal,
        thread,
        subject,
        now,
        event,
        next,
        known,
        reserved,
        cancelled: None,
        plan: plan::Plan {
            writes: Vec::new(),
            freed: Vec::new(),
            filing: Filing::Handled,
        },
    };
    let planned = plan::plan(applying, effects)?;
    writes::write(tx, &planned.writes, now).await?;
    for slot in planned.freed {
        Box::pin(offer_freed_slot(office, tx, slot, row.id, now)).await?;
    }
    Ok(planned.filing)
}

/// The request's latest booking before the step, and its place among the
/// request's bookings. A request just opened has none: no need to look.
async fn known(tx: &mut Tx, row: &RequestRow) -> Result<plan::Known, DeskError> {
    if row.machine.state == State::New {
        return Ok(plan::Known::default());
    }
    let booking = bookings::latest_for_request(tx, row.id).await?;
    let ordinal = match &booking {
        Some(b) => bookings::ordinal(tx, b).await?,
        None => 0,
    };
    Ok(plan::Known {
        booking,
        ordinal,
        no_shows: 0,
    })
}

/// Books `slot` for the step, in the first free room. None: every room
/// was taken meanwhile (another consent won); for staff, an error that
/// says so.
async fn reserve(
    office: &Office,
    tx: &mut Tx,
    row: &RequestRow,
    step: &decide::Step,
    slot: Slot,
    consent: Option<&Consent>,
    now: DateTime<Utc>,
) -> Result<Option<plan::Reserved>, DeskError> {
    let cal = &office.cfg.calendar;
    let reservation = format!("{}-{}", slot.date.format("%y%m%d"), &random_ref()[..4]);
    let new = bookings::NewBooking {
        request_id: row.id,
        reservation: &reservation,
        slot_start: cal.slot_start_utc(slot),
        consent_message_id: consent.and_then(|c| c.message_id.as_deref()),
        consent_from: consent.map(|c| c.from.as_str()),
        terms_sha256: (!step.by_staff).then(|| {
            row.offer_terms_sha256
                .as_deref()
                .unwrap_or(office.composer.terms_sha256())
        }),
        booked_by: if step.by_staff { By::Staff } else { By::Seeker },
        now,
    };
    let Some(b) = bookings::try_book(tx, &new, &office.room_ids).await? else {
        if step.by_staff {
            return Err(StaffError::Conflict(format!(
                "every room is booked at {}",
                slot.start.format("%H:%M")
            ))
            .into());
        }
        return Ok(None);
    };
    let record = bookings::find_by_reservation(tx, &b.reservation)
        .await?
        .ok_or_else(|| StoreError::Corrupt {
            table: "bookings",
            problem: format!("booking {} vanished", b.id),
        })?;
    let ordinal = bookings::ordinal(tx, &record).await?;
    let seat = office
        .room_ids
        .iter()
        .position(|r| *r == b.room_id)
        .unwrap_or(0);
    Ok(Some(plan::Reserved {
        record,
        ordinal,
        seat,
    }))
}

/// Offers a freed slot to every seeker who waits for it, each in their
/// own thread (core::booking::waits_for decides who; the first reply wins).
pub(crate) async fn offer_freed_slot(
    office: &Office,
    tx: &mut Tx,
    slot: Slot,
    freed_by: i64,
    now: DateTime<Utc>,
) -> Result<(), DeskError> {
    let candidates = requests::holding(tx).await?;
    for other in candidates
        .iter()
        .filter(|r| r.id != freed_by && booking::waits_for(&r.machine, slot))
    {
        step_and_apply(
            office,
            tx,
            other,
            Event::SlotFreed(slot),
            None,
            None,
            "",
            now,
        )
        .await?;
    }
    Ok(())
}

/// The booking's invite (`plan::invite`), its place among the request's
/// bookings read from the store.
pub(super) async fn invite(
    office: &Office,
    tx: &mut Tx,
    b: &BookingRecord,
    row: &RequestRow,
    method: &str,
    now: DateTime<Utc>,
) -> Result<crate::mail::compose::Extra, DeskError> {
    let ordinal = bookings::ordinal(tx, b).await?;
    plan::invite(office, b, row, method, ordinal, now)
}

/// A new request row bound to `address`, in state `New` for the machine.
pub(crate) async fn insert_request(
    tx: &mut Tx,
    address: &str,
    subject: &str,
    now: DateTime<Utc>,
) -> Result<RequestRow, DeskError> {
    let reference = random_ref();
    let token = random_token(24);
    let row = requests::insert(
        tx,
        &requests::NewRequest {
            reference: &reference,
            token: &token,
            seeker_address: address,
            thread_subject: subject,
            created_at: now,
        },
    )
    .await?;
    Ok(RequestRow {
        machine: Request {
            state: State::New,
            ..row.machine
        },
        ..row
    })
}

/// The thread of a request, for mail the bot starts (timers).
pub(super) fn thread_of(row: &RequestRow) -> Thread {
    Thread {
        to: row.seeker_address.clone(),
        in_reply_to: row.last_inbound_id.clone(),
        references: row.thread_refs.clone(),
        subject: row.thread_subject.clone(),
        lang: row.machine.data.lang,
    }
}

/// Renders a notice into the outbox, in this transaction, with one more
/// attachment.
pub(super) async fn enqueue_with(
    office: &Office,
    tx: &mut Tx,
    request_id: i64,
    notice: Notice,
    thread: &Thread,
    extra: Option<crate::mail::compose::Extra>,
    now: DateTime<Utc>,
) -> Result<String, DeskError> {
    let queued = plan::queued(office, request_id, &notice, thread, extra)?;
    writes::queue(tx, &queued, now).await?;
    Ok(queued.message_id)
}

pub(super) fn random_ref() -> String {
    const CHARS: &[u8] = b"ABCDEFGHJKLMNPQRSTUVWXYZ23456789";
    use rand::Rng;
    let mut rng = rand::thread_rng();
    (0..6)
        .map(|_| CHARS[rng.gen_range(0..CHARS.len())] as char)
        .collect()
}

/// The inbound mail behind an event: who sent it, and whether it carries
/// the request's secret (see `Context::trusted`).
pub(crate) struct Consent {
    pub(super) message_id: Option<String>,
    pub(super) from: String,
    pub(super) trusted: bool,
}
