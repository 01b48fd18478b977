//! Carrying out the core's effects: store writes and outbox rows, each
//! mail rendered from its template.

use super::decide::Consent;
use super::gather;
use super::staff_note;
use super::{DeskError, Filing, StaffError};
use crate::config::MeetingProvider;
use crate::core::booking;
use crate::core::booking::{BookingOutcome, BookingStatus};
use crate::core::booking::{By, Context, Effect, Event, Request, StaffReason, State};
use crate::core::calendar::{Calendar, Slot};
use crate::core::decide;
use crate::mail::compose::{random_token, DateView, SlotView, Thread};
use crate::mail::notice::{Addressee, BookingView, CancelledBy, Invite, Notice, RoomView};
use crate::office::Office;
use crate::store::bookings::BookingRecord;
use crate::store::{bookings, meetings, outbox, requests, waitlist, RequestRow, StoreError, Tx};
use chrono::{DateTime, Duration as ChronoDuration, Utc};
use tracing::{info, warn};

/// The state carried while one step's effects are applied in order.
struct Applying<'r> {
    row: &'r RequestRow,
    /// The office's calendar with the days staff closed.
    cal: &'r Calendar,
    thread: Thread,
    consent: Option<&'r Consent>,
    subject: &'r str,
    now: DateTime<Utc>,
    change: bool,
    by_staff: bool,
    next: Request,
    queue: Vec<Effect>,
    /// What the step becomes when the slot it books is taken meanwhile.
    if_taken: Option<Box<(Request, Vec<Effect>)>>,
    /// The request's latest booking, as it was before this step.
    booking: Option<BookingRecord>,
    /// The booking a cancellation freed, for the offer that follows it.
    cancelled: Option<BookingRecord>,
    /// Future slots this step freed: offered to those who wait for them.
    freed: Vec<Slot>,
    filing: Filing,
}

impl Applying<'_> {
    /// Every mail to the seeker shows their name and the request's reference.
    fn to(&self) -> Addressee {
        Addressee {
            name: self.next.data.name.clone(),
            reference: self.row.reference.clone(),
        }
    }
}

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
/// one stepped from): its effects in order, the request saved with its
/// next timer, its waitlist entry settled, the slots it freed offered.
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
    let before = row.machine.state;
    // A request just opened has no booking yet: no need to look.
    let booking = if before == State::New {
        None
    } else {
        bookings::latest_for_request(tx, row.id).await?
    };
    let mut thread = thread.unwrap_or_else(|| thread_of(row));
    // Answers go out in the seeker's language (core::lang, read with the mail).
    thread.lang = step.next.data.lang;
    let mut st = Applying {
        row,
        cal,
        thread,
        consent,
        subject,
        now,
        change: step.event == "change",
        by_staff: step.by_staff,
        next: step.next,
        queue: step.effects,
        if_taken: step.if_taken,
        booking,
        cancelled: None,
        freed: Vec::new(),
        filing: Filing::Handled,
    };
    while !st.queue.is_empty() {
        let effect = st.queue.remove(0);
        apply_effect(office, tx, &mut st, effect).await?;
    }
    let due = booking::next_timer(&st.next, cal, &office.cfg.rules).map(|(t, _)| t);
    requests::save(tx, row.id, before, &st.next, step.event, due, now).await?;
    if let Some(slot) = row
        .machine
        .waitlist
        .filter(|s| st.next.waitlist != Some(*s))
    {
        let outcome = if st.next.state == State::Booked && st.next.booked != Some(slot) {
            waitlist::Outcome::Declined
        } else {
            waitlist::Outcome::Dropped
        };
        // A no-op when the booking or the loss already closed it.
        waitlist::resolve(tx, row.id, cal.slot_start_utc(slot), outcome, now).await?;
    }
    let freed = std::mem::take(&mut st.freed);
    let filing = st.filing;
    for slot in freed {
        Box::pin(offer_freed_slot(office, tx, slot, row.id, now)).await?;
    }
    Ok(filing)
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

/// Carries out one effect: a store write, a queued mail, or both.
async fn apply_effect(
    office: &Office,
    tx: &mut Tx,
    st: &mut Applying<'_>,
    effect: Effect,
) -> Result<(), DeskError> {
    let (row, now) = (st.row, st.now);
    match effect {
        Effect::Book(slot) | Effect::StaffBook(slot) => apply_book(office, tx, st, slot).await,
        Effect::CancelBooking { by, notify } => apply_cancel(office, tx, st, by, notify).await,
        Effect::RecordNoShow { excused } => {
            let Some((b, status)) = st
                .booking
                .as_ref()
                .and_then(|b| Some((b, b.status.after(BookingOutcome::NoShow)?)))
            else {
                return Ok(());
            };
            bookings::set_outcome(tx, b.id, status, None, excused, now).await?;
            if office.cfg.meeting_provider == MeetingProvider::Zoom {
                meetings::want(tx, b.id, false, 0, now).await?;
            }
            info!(
                request = row.id,
                booking = b.id,
                excused,
                "no-show recorded"
            );
            Ok(())
        }
        Effect::RecordAttended => {
            if let Some((b, status)) = st
                .booking
                .as_ref()
                .and_then(|b| Some((b, b.status.after(BookingOutcome::Attend)?)))
            {
                bookings::set_outcome(tx, b.id, status, None, false, now).await?;
            }
            Ok(())
        }
        Effect::RecordExcused => {
            if let Some(b) = st
                .booking
                .as_ref()
                .filter(|b| b.status == BookingStatus::NoShow)
            {
                bookings::set_outcome(tx, b.id, BookingStatus::NoShow, None, true, now).await?;
            }
            Ok(())
        }
        Effect::NotifyStaff(reason) => {
            if !matches!(reason, StaffReason::NoShow) {
                st.filing = Filing::Staff;
            }
            let shown = RequestRow {
                machine: st.next.clone(),
                ..row.clone()
            };
            staff_note::notify_staff(office, tx, Some(&shown), reason, st.subject, now).await?;
            Ok(())
        }
        Effect::Offer { .. } => {
            requests::set_offer_terms(tx, row.id, office.composer.terms_sha256()).await?;
            // The booking this step cancelled (a change, a closed day):
            // the offer carries its CANCEL for the seeker's calendar.
            let cancel = match st.cancelled.clone() {
                Some(b) => Some(invite(office, tx, &b, row, "CANCEL", now).await?),
                None => None,
            };
            let Some(notice) = notice_for(office, st, effect) else {
                return Ok(());
            };
            enqueue_with(office, tx, row.id, notice, &st.thread, cancel, now)
                .await
                .map(|_| ())
        }
        Effect::AskMissing { ref missing } => {
            let variant = booking::missing_notice_variant(missing, &st.next.data);
            let id = enqueue_notice(office, tx, st, effect).await?;
            if let Some(id) = id {
                outbox::set_variant(tx, &id, &variant).await?;
            }
            Ok(())
        }
        Effect::OfferFreed { slot, .. } => {
            let start = office.cfg.calendar.slot_start_utc(slot);
            waitlist::offered(tx, row.id, start, now).await?;
            info!(request = row.id, "freed slot offered");
            enqueue_notice(office, tx, st, effect).await.map(|_| ())
        }
        Effect::FreedTaken { slot } => {
            let start = office.cfg.calendar.slot_start_utc(slot);
            waitlist::resolve(tx, row.id, start, waitlist::Outcome::Taken, now).await?;
            enqueue_notice(office, tx, st, effect).await.map(|_| ())
        }
        other => enqueue_notice(office, tx, st, other).await.map(|_| ()),
    }
}

/// Queues the seeker's mail an effect asks for, if any; returns its outbox id.
async fn enqueue_notice(
    office: &Office,
    tx: &mut Tx,
    st: &Applying<'_>,
    effect: Effect,
) -> Result<Option<String>, DeskError> {
    let Some(notice) = notice_for(office, st, effect) else {
        return Ok(None);
    };
    let id = enqueue(office, tx, st.row.id, notice, &st.thread, st.now).await?;
    Ok(Some(id))
}

/// The mail to the seeker that an effect asks for (none for store-only effects).
fn notice_for(office: &Office, st: &Applying<'_>, effect: Effect) -> Option<Notice> {
    let cal = &office.cfg.calendar;
    let to = st.to();
    let offered = || slot_views(&st.next.offered, cal.slot_minutes);
    let answer_by = || DateView::from(cal.answer_by(st.now));
    let notice = match effect {
        Effect::RefuseSameDayCancel => Notice::SameDayCancel {
            to,
            booking: booking_view(office, st.booking.as_ref()),
        },
        Effect::AskConfirmByReply => Notice::ConfirmByReply {
            to,
            booking: booking_view(office, st.booking.as_ref()),
            change: st.change,
        },
        Effect::Remind => {
            let b = st
                .booking
                .as_ref()
                .filter(|b| b.status == BookingStatus::Confirmed)?;
            Notice::Reminder {
                to,
                booking: booking_view(office, Some(b)),
                room: join_view(office, b),
            }
        }
        Effect::Offer { slots, reason } => {
            let (wished_available, all_wishes_met) =
                booking::wish_coverage(&st.next.data.wishes, &slots);
            Notice::Offer {
                to,
                reason: reason.as_str(),
                wished_available,
                all_wishes_met,
                slots: slot_views(&slots, cal.slot_minutes),
                cancelled: st.cancelled.as_ref().map(|b| booking_view(office, Some(b))),
                closure: st.cancelled.as_ref().and_then(|b| {
                    let day = booking_slot(office, b).date;
                    st.cal.closures.get(&day).cloned()
                }),
            }
        }
        Effect::AskMissing { missing } => Notice::Missing {
            to,
            missing: booking::missing_notice_keys(&missing, &st.next.data),
            invalid_seeker_number: st.next.data.invalid_seeker_number.clone(),
            invalid_dates: st.next.data.invalid_dates.clone(),
            time_without_date: st.next.data.time_without_date,
        },
        Effect::OfferFreed { slot, option } => Notice::Freed {
            to,
            slot: SlotView::new(slot, cal.slot_minutes),
            option,
            booking: (option.is_none()).then(|| booking_view(office, st.booking.as_ref())),
            answer_by: DateView::from(cal.last_day_to_book(slot)),
        },
        Effect::FreedTaken { slot } => Notice::FreedTaken {
            to,
            slot: SlotView::new(slot, cal.slot_minutes),
            booking: (st.next.state == State::Booked)
                .then(|| booking_view(office, st.booking.as_ref())),
            slots: offered(),
        },
        Effect::AskWhich => Notice::AskWhich {
            to,
            slots: offered(),
        },
        Effect::FollowUp => {
            let lapse = booking::next_timer(&st.next, cal, &office.cfg.rules)
                .map(|(t, _)| t)
                .unwrap_or(st.now);
            // The notice names the last day to reply: the day before the lapse instant.
            let lapse_date = DateView::from(cal.local_date(lapse - ChronoDuration::seconds(1)));
            Notice::FollowUp {
                to,
                lapse_date,
                slots: offered(),
            }
        }
        Effect::Lapse => Notice::Lapsed { to },
        Effect::AcknowledgeWithdrawal => Notice::Withdrawn { to },
        Effect::AcknowledgeBooked => Notice::AfterBooking {
            to,
            answer_by: answer_by(),
        },
        Effect::Forwarded => Notice::Forwarded {
            to,
            answer_by: answer_by(),
            slots: offered(),
        },
        Effect::Holding(reason) => Notice::Holding {
            to,
            answer_by: answer_by(),
            reason: reason.as_str(),
        },
        Effect::Book(_)
        | Effect::StaffBook(_)
        | Effect::CancelBooking { .. }
        | Effect::RecordNoShow { .. }
        | Effect::RecordAttended
        | Effect::RecordExcused
        | Effect::NotifyStaff(_) => return None,
    };
    Some(notice)
}

/// Books the slot; when another consent took it meanwhile, steps again
/// with the slot full so the seeker gets a fresh offer.
async fn apply_book(
    office: &Office,
    tx: &mut Tx,
    st: &mut Applying<'_>,
    slot: Slot,
) -> Result<(), DeskError> {
    let (row, now, cal) = (st.row, st.now, &office.cfg.calendar);
    let reservation = format!("{}-{}", slot.date.format("%y%m%d"), &random_ref()[..4]);
    let consent = st.consent;
    let new = bookings::NewBooking {
        request_id: row.id,
        reservation: &reservation,
        slot_start: cal.slot_start_utc(slot),
        consent_message_id: consent.and_then(|c| c.message_id.as_deref()),
        consent_from: consent.map(|c| c.from.as_str()),
        terms_sha256: (!st.by_staff).then(|| {
            row.offer_terms_sha256
                .as_deref()
                .unwrap_or(office.composer.terms_sha256())
        }),
        booked_by: if st.by_staff { By::Staff } else { By::Seeker },
        now,
    };
    let Some(b) = bookings::try_book(tx, &new, &office.room_ids).await? else {
        if st.by_staff {
            return Err(StaffError::Conflict(format!(
                "every room is booked at {}",
                slot.start.format("%H:%M")
            ))
            .into());
        }
        // Taken meanwhile (another consent won): what the core decided
        // for that case (core::decide::step); a move's cancellation of
        // the later booking is dropped with it.
        let (next, more) = *st.if_taken.take().ok_or_else(|| StoreError::Corrupt {
            table: "requests",
            problem: format!("request {}: slot taken, and no step for it", row.id),
        })?;
        st.queue
            .retain(|e| !matches!(e, Effect::CancelBooking { .. }));
        st.next = next;
        st.queue.extend(more);
        return Ok(());
    };
    info!(request = row.id, booking = b.id, "booked");
    if row.machine.waitlist == Some(slot) {
        let start = cal.slot_start_utc(slot);
        waitlist::resolve(tx, row.id, start, waitlist::Outcome::Booked, now).await?;
    }
    let record = bookings::find_by_reservation(tx, &b.reservation)
        .await?
        .ok_or_else(|| StoreError::Corrupt {
            table: "bookings",
            problem: format!("booking {} vanished", b.id),
        })?;
    if office.cfg.meeting_provider == MeetingProvider::Zoom {
        // The confirmation waits for the meeting (`desk::meetings`): it must carry it.
        // Sessions held at once go to different hosts: the seat's index.
        let seat = office
            .room_ids
            .iter()
            .position(|r| *r == b.room_id)
            .unwrap_or(0);
        meetings::want(tx, b.id, true, seat, now).await?;
        return Ok(());
    }
    let booking = BookingView {
        reservation: b.reservation,
        slot: Some(SlotView::new(slot, cal.slot_minutes)),
    };
    let room = join_view(office, &record);
    let notice = Notice::confirmation(record.booked_by, st.to(), booking, room);
    let invite = invite(office, tx, &record, row, "REQUEST", now).await?;
    enqueue_with(office, tx, row.id, notice, &st.thread, Some(invite), now).await?;
    Ok(())
}

/// Cancels the request's live booking (and its meeting), telling the
/// seeker when the effect asks to.
async fn apply_cancel(
    office: &Office,
    tx: &mut Tx,
    st: &mut Applying<'_>,
    by: By,
    notify: bool,
) -> Result<(), DeskError> {
    let (row, now) = (st.row, st.now);
    let Some((b, status)) = st
        .booking
        .as_ref()
        .and_then(|b| Some((b, b.status.after(BookingOutcome::Cancel)?)))
    else {
        warn!(request = row.id, "no live booking to cancel");
        return Ok(());
    };
    let by_name = by.cancelled_by();
    bookings::set_outcome(tx, b.id, status, Some(by_name), false, now).await?;
    if b.status == BookingStatus::Confirmed && b.slot_start > now {
        st.freed.push(booking_slot(office, b));
    }
    if office.cfg.meeting_provider == MeetingProvider::Zoom {
        meetings::want(tx, b.id, false, 0, now).await?;
    }
    info!(
        request = row.id,
        booking = b.id,
        by = by_name,
        "booking cancelled"
    );
    if notify {
        let notice = Notice::Cancelled {
            to: st.to(),
            booking: booking_view(office, Some(b)),
            by: if by == By::Staff {
                CancelledBy::Staff
            } else {
                CancelledBy::Seeker
            },
        };
        let invite = invite(office, tx, b, row, "CANCEL", now).await?;
        enqueue_with(office, tx, row.id, notice, &st.thread, Some(invite), now).await?;
    }
    st.cancelled = Some(b.clone());
    Ok(())
}

/// How the seeker joins the booking's session: its own Zoom meeting
/// when it has one, the room sent in its place when Zoom failed, else
/// (provider "rooms") its room from the config. None: with Zoom, while
/// the meeting is still to be made.
pub(super) fn join_view(office: &Office, b: &BookingRecord) -> Option<RoomView> {
    match (&b.meeting, &b.fallback_room, office.cfg.meeting_provider) {
        (Some(m), _, _) => Some(RoomView {
            id: m.id.clone(),
            passcode: Some(m.passcode.clone()),
            url: (!m.join_url.is_empty()).then(|| m.join_url.clone()),
        }),
        (None, Some(room), _) => room_view(office, room),
        (None, None, MeetingProvider::Rooms) => room_view(office, &b.room_id),
        (None, None, MeetingProvider::Zoom) => None,
    }
}

/// The meeting room as templates show it.
pub(super) fn room_view(office: &Office, room_id: &str) -> Option<RoomView> {
    office
        .cfg
        .rooms
        .iter()
        .find(|r| r.id == room_id)
        .map(|r| RoomView {
            id: r.id.clone(),
            passcode: r.passcode.clone(),
            url: r.url.clone(),
        })
}

pub(super) fn booking_slot(office: &Office, b: &BookingRecord) -> Slot {
    let local = b.slot_start.with_timezone(&office.cfg.calendar.tz);
    Slot::new(local.date_naive(), local.time())
}

/// The reservation number and slot of a booking as templates show them.
pub(super) fn booking_view(office: &Office, b: Option<&BookingRecord>) -> BookingView {
    match b {
        Some(b) => BookingView {
            reservation: b.reservation.clone(),
            slot: Some(booking_slot_view(office, b)),
        },
        None => BookingView {
            reservation: "-".to_string(),
            slot: None,
        },
    }
}

pub(crate) fn booking_slot_view(office: &Office, b: &BookingRecord) -> SlotView {
    SlotView::new(booking_slot(office, b), office.cfg.calendar.slot_minutes)
}

/// The `.ics` for a booking: an iTIP REQUEST from the office (ORGANIZER)
/// to the seeker (ATTENDEE, accepted: the reply was the consent; no RSVP
/// asked), or its CANCEL. One event per request (UID of its reference):
/// a later booking of the same request (a change, a freed slot, a new
/// date after a closure) moves the event the calendar already has, each
/// version with a higher SEQUENCE (REQUEST of the n-th booking 2n, its
/// CANCEL 2n+1).
pub(super) async fn invite(
    office: &Office,
    tx: &mut Tx,
    b: &BookingRecord,
    row: &RequestRow,
    method: &str,
    now: DateTime<Utc>,
) -> Result<crate::mail::compose::Extra, DeskError> {
    let stamp = |t: DateTime<Utc>| t.format("%Y%m%dT%H%M%SZ").to_string();
    let end = b.slot_start + ChronoDuration::minutes(i64::from(office.cfg.calendar.slot_minutes));
    let ordinal = bookings::ordinal(tx, b).await?;
    let invite = Invite {
        uid: format!("{}@{}", row.reference, office.cfg.mail_domain()),
        sequence: ordinal * 2 + u32::from(method == "CANCEL"),
        attendee: row.seeker_address.clone(),
        stamp: stamp(now),
        start: stamp(b.slot_start),
        end: stamp(end),
        reservation: b.reservation.clone(),
        room: join_view(office, b).unwrap_or_else(|| RoomView {
            id: b.room_id.clone(),
            passcode: None,
            url: None,
        }),
    };
    Ok(office.composer.calendar(&invite, method)?)
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
    let id = requests::insert(
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
    let row = requests::find_by_id(tx, id)
        .await?
        .ok_or_else(|| StoreError::Corrupt {
            table: "requests",
            problem: format!("request {id} vanished"),
        })?;
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

/// Renders a notice into the outbox, in this transaction.
pub(super) async fn enqueue(
    office: &Office,
    tx: &mut Tx,
    request_id: i64,
    notice: Notice,
    thread: &Thread,
    now: DateTime<Utc>,
) -> Result<String, DeskError> {
    enqueue_with(office, tx, request_id, notice, thread, None, now).await
}

/// [`enqueue`] with one more attachment.
pub(super) async fn enqueue_with(
    office: &Office,
    tx: &mut Tx,
    request_id: i64,
    notice: Notice,
    thread: &Thread,
    extra: Option<crate::mail::compose::Extra>,
    now: DateTime<Utc>,
) -> Result<String, DeskError> {
    let kind = notice.kind();
    let out = office.composer.render(&notice, thread, extra)?;
    requests::add_thread_id(tx, request_id, &out.message_id).await?;
    outbox::enqueue(
        tx,
        &out.message_id,
        Some(request_id),
        kind,
        &out.to,
        &out.raw,
        now,
    )
    .await?;
    Ok(out.message_id)
}

pub(super) fn slot_views(slots: &[crate::core::calendar::Slot], minutes: u32) -> Vec<SlotView> {
    slots.iter().map(|s| SlotView::new(*s, minutes)).collect()
}

pub(super) fn random_ref() -> String {
    const CHARS: &[u8] = b"ABCDEFGHJKLMNPQRSTUVWXYZ23456789";
    use rand::Rng;
    let mut rng = rand::thread_rng();
    (0..6)
        .map(|_| CHARS[rng.gen_range(0..CHARS.len())] as char)
        .collect()
}
