//! The plan of one decided step: each effect turned, in order, into the
//! store's writes and the mails it sends, rendered from their templates.
//! Nothing here reads the store or chooses between outcomes: what the step
//! reads was gathered before it (`Known`), whether its slot was still free
//! came from the store (`Reserved`), and each rule is the core's.

use super::error::DeskError;
use super::staff_note::{self, NoteExtra};
use super::views::{booking_slot, booking_view, join_view, slot_views};
use crate::config::MeetingProvider;
use crate::core::booking::{self, BookingOutcome, BookingStatus, By, Effect, Request, State};
use crate::core::calendar::{Calendar, Slot};
use crate::core::route::Filing;
use crate::mail::compose::{DateView, Extra, SlotView, Thread};
use crate::mail::notice::{Addressee, BookingView, CancelledBy, Invite, Notice, RoomView};
use crate::office::Office;
use crate::store::bookings::BookingRecord;
use crate::store::writes::{Queued, Write};
use crate::store::RequestRow;
use chrono::{DateTime, Duration as ChronoDuration, Utc};
use tracing::{info, warn};

/// What the store held before the step wrote anything.
#[derive(Debug, Default)]
pub(super) struct Known {
    /// The request's latest booking.
    pub(super) booking: Option<BookingRecord>,
    /// Its place among the request's bookings (the calendar's SEQUENCE).
    pub(super) ordinal: u32,
    /// The seeker's unexcused no-shows, when a note to staff shows them.
    pub(super) no_shows: u32,
}

/// The booking this step made.
#[derive(Debug)]
pub(super) struct Reserved {
    pub(super) record: BookingRecord,
    pub(super) ordinal: u32,
    /// Sessions held at once go to different hosts: the room's index.
    pub(super) seat: usize,
}

/// What a step writes, the slots it freed (offered next to those who wait
/// for them) and where the mail behind it is filed.
#[derive(Debug)]
pub(super) struct Plan {
    pub(super) writes: Vec<Write>,
    pub(super) freed: Vec<Slot>,
    pub(super) filing: Filing,
}

/// The step being planned, with what it has planned so far.
pub(super) struct Applying<'r> {
    pub(super) office: &'r Office,
    /// The request as the step starts from it.
    pub(super) row: &'r RequestRow,
    /// The office's calendar with the days staff closed.
    pub(super) cal: &'r Calendar,
    pub(super) thread: Thread,
    pub(super) subject: &'r str,
    pub(super) now: DateTime<Utc>,
    pub(super) event: &'static str,
    pub(super) next: Request,
    pub(super) known: Known,
    pub(super) reserved: Option<Reserved>,
    /// The booking a cancellation freed, for the offer that follows it.
    pub(super) cancelled: Option<BookingRecord>,
    pub(super) plan: Plan,
}

impl Applying<'_> {
    /// Every mail to the seeker shows their name and the request's reference.
    fn to(&self) -> Addressee {
        Addressee {
            name: self.next.data.name.clone(),
            reference: self.row.reference.clone(),
        }
    }

    fn zoom(&self) -> bool {
        self.office.cfg.meeting_provider == MeetingProvider::Zoom
    }

    /// A mail to the seeker in the request's thread.
    fn mail(
        &mut self,
        notice: Notice,
        extra: Option<Extra>,
        variant: Option<String>,
    ) -> Result<(), DeskError> {
        let mut queued = queued(self.office, self.row.id, &notice, &self.thread, extra)?;
        queued.variant = variant;
        self.plan.writes.push(Write::Mail(queued));
        Ok(())
    }
}

/// Plans `effects` in order, then the request saved with its next timer and
/// its waiting-list entry settled.
pub(super) fn plan(mut st: Applying<'_>, effects: Vec<Effect>) -> Result<Plan, DeskError> {
    for effect in effects {
        plan_effect(&mut st, effect)?;
    }
    let (row, next) = (st.row, &st.next);
    let rules = &st.office.cfg.rules;
    let due = booking::next_timer(next, st.cal, rules).map(|(t, _)| t);
    st.plan.writes.push(Write::Request {
        id: row.id,
        before: row.machine.state,
        after: Box::new(next.clone()),
        event: st.event,
        due,
    });
    if let Some((slot, outcome)) = booking::waitlist_left(&row.machine, next) {
        st.plan.writes.push(Write::WaitlistResolved {
            request: row.id,
            slot_start: st.office.cfg.calendar.slot_start_utc(slot),
            outcome,
        });
    }
    Ok(st.plan)
}

fn plan_effect(st: &mut Applying<'_>, effect: Effect) -> Result<(), DeskError> {
    let (office, row, now) = (st.office, st.row, st.now);
    // The request's booking as it was before the step.
    let before = st.known.booking.as_ref();
    match effect {
        Effect::Book(slot) | Effect::StaffBook(slot) => plan_booked(st, slot),
        Effect::CancelBooking { by, notify } => plan_cancel(st, by, notify),
        Effect::RecordNoShow { excused } => {
            let Some((id, was, status)) = before
                .and_then(|b| Some((b.id, b.status, b.status.after(BookingOutcome::NoShow)?)))
            else {
                return Ok(());
            };
            st.plan.writes.push(Write::BookingOutcome {
                booking: id,
                status,
                cancelled_by: None,
                excused,
            });
            if status.adds_no_show(was, excused) {
                st.known.no_shows += 1;
            }
            if st.zoom() {
                st.plan.writes.push(Write::Meeting {
                    booking: id,
                    wanted: false,
                    seat: 0,
                });
            }
            info!(request = row.id, booking = id, excused, "no-show recorded");
            Ok(())
        }
        Effect::RecordAttended => {
            if let Some((b, status)) =
                before.and_then(|b| Some((b.id, b.status.after(BookingOutcome::Attend)?)))
            {
                st.plan.writes.push(Write::BookingOutcome {
                    booking: b,
                    status,
                    cancelled_by: None,
                    excused: false,
                });
            }
            Ok(())
        }
        Effect::RecordExcused => {
            if let Some(b) = before.filter(|b| b.status == BookingStatus::NoShow) {
                st.plan.writes.push(Write::BookingOutcome {
                    booking: b.id,
                    status: BookingStatus::NoShow,
                    cancelled_by: None,
                    excused: true,
                });
            }
            Ok(())
        }
        Effect::NotifyStaff(reason) => {
            if reason.files_for_staff() {
                st.plan.filing = Filing::Staff;
            }
            let shown = RequestRow {
                machine: st.next.clone(),
                ..row.clone()
            };
            // The request's latest booking: the one this step made, if any.
            let latest = st.reserved.as_ref().map(|r| &r.record);
            let note = staff_note::note(
                office,
                Some(&shown),
                reason,
                st.subject,
                NoteExtra::default(),
                latest.or(st.known.booking.as_ref()),
                st.known.no_shows,
                now,
            )?;
            st.plan.writes.push(Write::Mail(note));
            Ok(())
        }
        Effect::Offer { .. } => {
            st.plan.writes.push(Write::OfferTerms {
                request: row.id,
                sha256: office.composer.terms_sha256().to_string(),
            });
            // The booking this step cancelled (a change, a closed day):
            // the offer carries its CANCEL for the seeker's calendar.
            let cancel = match &st.cancelled {
                Some(b) => Some(invite(office, b, row, "CANCEL", st.known.ordinal, now)?),
                None => None,
            };
            match notice_for(st, effect) {
                Some(notice) => st.mail(notice, cancel, None),
                None => Ok(()),
            }
        }
        Effect::AskMissing { ref missing } => {
            let variant = booking::missing_notice_variant(missing, &st.next.data);
            plan_notice(st, effect, Some(variant))
        }
        Effect::OfferFreed { slot, .. } => {
            st.plan.writes.push(Write::WaitlistOffered {
                request: row.id,
                slot_start: office.cfg.calendar.slot_start_utc(slot),
            });
            info!(request = row.id, "freed slot offered");
            plan_notice(st, effect, None)
        }
        Effect::FreedTaken { slot } => {
            st.plan.writes.push(Write::WaitlistResolved {
                request: row.id,
                slot_start: office.cfg.calendar.slot_start_utc(slot),
                outcome: booking::WaitOutcome::Taken,
            });
            plan_notice(st, effect, None)
        }
        other => plan_notice(st, other, None),
    }
}

/// The seeker's mail an effect asks for, if any.
fn plan_notice(
    st: &mut Applying<'_>,
    effect: Effect,
    variant: Option<String>,
) -> Result<(), DeskError> {
    match notice_for(st, effect) {
        Some(notice) => st.mail(notice, None, variant),
        None => Ok(()),
    }
}

/// The booking the store made for the step: the freed slot's offer
/// closed, then its meeting wanted (the confirmation waits for it,
/// `desk::meetings`) or, with fixed rooms, the confirmation.
fn plan_booked(st: &mut Applying<'_>, slot: Slot) -> Result<(), DeskError> {
    let (office, row, now) = (st.office, st.row, st.now);
    let Some(reserved) = st.reserved.as_ref() else {
        return Err(crate::store::StoreError::Corrupt {
            table: "bookings",
            problem: format!("request {}: a booking planned but not made", row.id),
        }
        .into());
    };
    let (record, ordinal, seat) = (reserved.record.clone(), reserved.ordinal, reserved.seat);
    info!(request = row.id, booking = record.id, "booked");
    if row.machine.waitlist == Some(slot) {
        st.plan.writes.push(Write::WaitlistResolved {
            request: row.id,
            slot_start: office.cfg.calendar.slot_start_utc(slot),
            outcome: booking::WaitOutcome::Booked,
        });
    }
    if st.zoom() {
        st.plan.writes.push(Write::Meeting {
            booking: record.id,
            wanted: true,
            seat,
        });
        return Ok(());
    }
    let booking = BookingView {
        reservation: record.reservation.clone(),
        slot: Some(SlotView::new(slot, office.cfg.calendar.slot_minutes)),
    };
    let room = join_view(office, &record);
    let notice = Notice::confirmation(record.booked_by, st.to(), booking, room);
    let invite = invite(office, &record, row, "REQUEST", ordinal, now)?;
    st.mail(notice, Some(invite), None)
}

/// The request's live booking cancelled (and its meeting), the seeker
/// told when the effect asks to.
fn plan_cancel(st: &mut Applying<'_>, by: By, notify: bool) -> Result<(), DeskError> {
    let (office, row, now) = (st.office, st.row, st.now);
    let Some((b, status)) = st
        .known
        .booking
        .clone()
        .and_then(|b| Some((b.clone(), b.status.after(BookingOutcome::Cancel)?)))
    else {
        warn!(request = row.id, "no live booking to cancel");
        return Ok(());
    };
    let by_name = by.cancelled_by();
    st.plan.writes.push(Write::BookingOutcome {
        booking: b.id,
        status,
        cancelled_by: Some(by_name),
        excused: false,
    });
    if b.status.frees_on_cancel(b.slot_start, now) {
        st.plan.freed.push(booking_slot(office, &b));
    }
    if st.zoom() {
        st.plan.writes.push(Write::Meeting {
            booking: b.id,
            wanted: false,
            seat: 0,
        });
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
            booking: booking_view(office, Some(&b)),
            by: match by {
                By::Staff => CancelledBy::Staff,
                By::Seeker => CancelledBy::Seeker,
            },
        };
        let invite = invite(office, &b, row, "CANCEL", st.known.ordinal, now)?;
        st.mail(notice, Some(invite), None)?;
    }
    st.cancelled = Some(b);
    Ok(())
}

/// The mail to the seeker that an effect asks for (none for store-only effects).
fn notice_for(st: &Applying<'_>, effect: Effect) -> Option<Notice> {
    let office = st.office;
    let cal = &office.cfg.calendar;
    let to = st.to();
    let booking = st.known.booking.as_ref();
    let offered = || slot_views(&st.next.offered, cal.slot_minutes);
    let answer_by = || DateView::from(cal.answer_by(st.now));
    let notice = match effect {
        Effect::RefuseSameDayCancel => Notice::SameDayCancel {
            to,
            booking: booking_view(office, booking),
        },
        Effect::AskConfirmByReply => Notice::ConfirmByReply {
            to,
            booking: booking_view(office, booking),
            change: st.event == "change",
        },
        Effect::Remind => {
            let b = booking.filter(|b| b.status == BookingStatus::Confirmed)?;
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
            booking: (option.is_none()).then(|| booking_view(office, booking)),
            answer_by: DateView::from(cal.last_day_to_book(slot)),
        },
        Effect::FreedTaken { slot } => Notice::FreedTaken {
            to,
            slot: SlotView::new(slot, cal.slot_minutes),
            booking: (st.next.state == State::Booked).then(|| booking_view(office, booking)),
            slots: offered(),
        },
        Effect::AskWhich => Notice::AskWhich {
            to,
            slots: offered(),
        },
        Effect::FollowUp => {
            let lapse = booking::next_timer(&st.next, st.cal, &office.cfg.rules)
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

/// A notice rendered for the outbox, in the request's thread.
pub(super) fn queued(
    office: &Office,
    request_id: i64,
    notice: &Notice,
    thread: &Thread,
    extra: Option<Extra>,
) -> Result<Queued, DeskError> {
    let out = office.composer.render(notice, thread, extra)?;
    Ok(Queued {
        message_id: out.message_id,
        request: Some(request_id),
        kind: notice.kind(),
        to: out.to,
        raw: out.raw,
        variant: None,
        in_thread: true,
    })
}

/// The `.ics` for a booking: an iTIP REQUEST from the office (ORGANIZER)
/// to the seeker (ATTENDEE, accepted: the reply was the consent; no RSVP
/// asked), or its CANCEL. One event per request (UID of its reference):
/// a later booking of the same request (a change, a freed slot, a new
/// date after a closure) moves the event the calendar already has, each
/// version with a higher SEQUENCE (REQUEST of the n-th booking 2n, its
/// CANCEL 2n+1; `ordinal`: the bookings of the request before it).
pub(super) fn invite(
    office: &Office,
    b: &BookingRecord,
    row: &RequestRow,
    method: &str,
    ordinal: u32,
    now: DateTime<Utc>,
) -> Result<Extra, DeskError> {
    let stamp = |t: DateTime<Utc>| t.format("%Y%m%dT%H%M%SZ").to_string();
    let end = b.slot_start + ChronoDuration::minutes(i64::from(office.cfg.calendar.slot_minutes));
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
