//! Carrying out the core's effects: store writes and outbox rows, each
//! mail rendered from its template.

use super::decide::Consent;
use super::{DeskError, Filing, StaffError};
use crate::config::MeetingProvider;
use crate::core::booking;
use crate::core::booking::{BookingOutcome, BookingStatus};
use crate::core::booking::{By, Context, Effect, Event, Request, StaffAction, StaffReason, State};
use crate::core::calendar::Slot;
use crate::mail::compose::{random_token, DateView, SlotView, Thread};
use crate::mail::notice::{
    Addressee, BookingView, CancelledBy, Invite, Notice, RoomView, StaffNote,
};
use crate::office::Office;
use crate::store::bookings::BookingRecord;
use crate::store::{bookings, meetings, office, outbox, requests, RequestRow, StoreError, Tx};
use chrono::{DateTime, Duration as ChronoDuration, Utc};
use tracing::{info, warn};

impl Office {
    /// Runs the state machine on `row` and carries out its effects inside `tx`.
    #[allow(clippy::too_many_arguments)]
    pub(crate) async fn step_and_apply(
        &self,
        tx: &mut Tx,
        row: &RequestRow,
        event: Event,
        thread: Option<Thread>,
        consent: Option<&Consent>,
        subject: &str,
        now: DateTime<Utc>,
    ) -> Result<Filing, DeskError> {
        let cal = &self.cfg.calendar;
        let horizon_end = now + ChronoDuration::days(i64::from(cal.horizon_days) + 2);
        let full = bookings::full_slots(
            tx,
            cal,
            now - ChronoDuration::days(1),
            horizon_end,
            &self.room_ids,
        )
        .await?;
        let number = match &event {
            Event::Request(d) => d.seeker_number.clone(),
            Event::Staff(StaffAction::Book(_, d)) => d.seeker_number.clone(),
            _ => None,
        }
        .or_else(|| row.machine.data.seeker_number.clone());
        let standing = self.standing(tx, number.as_deref()).await?;
        let event_name = event.name();
        let by_staff = matches!(event, Event::Staff(_));
        let before = row.machine.state;
        let rules = &self.cfg.rules;
        // Only a request still gathering its items can be sent a "what is
        // missing" notice: only then are the ones sent today needed.
        let told_today = if matches!(event, Event::Request(_))
            && matches!(before, State::New | State::AwaitingInfo)
        {
            let since = now - ChronoDuration::hours(booking::NOTICE_WINDOW_HOURS);
            outbox::variants_since(tx, &row.seeker_address, "missing", since).await?
        } else {
            Vec::new()
        };
        let mut ctx = Context {
            cal,
            now,
            full: &full,
            rules,
            standing,
            trusted: consent.is_none_or(|c| c.trusted),
            told_today: &told_today,
        };
        let (mut next, effects) = match booking::step(&row.machine, event.clone(), &ctx) {
            Ok(r) => r,
            Err(e) if by_staff => return Err(StaffError::Conflict(e.to_string()).into()),
            Err(e) => {
                warn!(request = row.id, error = %e, "no transition; staff notified");
                self.notify_staff(tx, Some(row), "unreadable", subject, now)
                    .await?;
                return Ok(Filing::Staff);
            }
        };
        let thread = thread.unwrap_or_else(|| self.thread_of(row));
        let mut filing = Filing::Handled;
        let mut queue = effects;
        let mut full_now = full.clone();
        // A request just opened has no booking yet: no need to look.
        let booking = if before == State::New {
            None
        } else {
            bookings::latest_for_request(tx, row.id).await?
        };
        // The booking a cancellation freed, for the offer that follows it.
        let mut cancelled: Option<BookingRecord> = None;
        while !queue.is_empty() {
            let effect = queue.remove(0);
            // Every mail to the seeker shows their name and the request's reference.
            let to = Addressee {
                name: next.data.name.clone(),
                reference: row.reference.clone(),
            };
            let offered = slot_views(&next.offered, cal.slot_minutes);
            match effect {
                Effect::Book(slot) | Effect::StaffBook(slot) => {
                    let staff = by_staff;
                    let reservation =
                        format!("{}-{}", slot.date.format("%y%m%d"), &random_ref()[..4]);
                    let new = bookings::NewBooking {
                        request_id: row.id,
                        reservation: &reservation,
                        slot_start: cal.slot_start_utc(slot),
                        consent_message_id: consent.and_then(|c| c.message_id.as_deref()),
                        consent_from: consent.map(|c| c.from.as_str()),
                        terms_sha256: (!staff).then(|| {
                            row.offer_terms_sha256
                                .as_deref()
                                .unwrap_or(self.composer.terms_sha256())
                        }),
                        booked_by: if staff { By::Staff } else { By::Seeker },
                        now,
                    };
                    match bookings::try_book(tx, &new, &self.room_ids).await? {
                        Some(b) => {
                            info!(request = row.id, booking = b.id, "booked");
                            let record = bookings::find_by_reservation(tx, &b.reservation)
                                .await?
                                .ok_or_else(|| StoreError::Corrupt {
                                table: "bookings",
                                problem: format!("booking {} vanished", b.id),
                            })?;
                            let booking = BookingView {
                                reservation: b.reservation,
                                slot: Some(SlotView::new(slot, cal.slot_minutes)),
                            };
                            if self.cfg.meeting_provider == MeetingProvider::Zoom {
                                // The confirmation waits for the meeting
                                // (`desk::meetings`): it must carry it.
                                meetings::want(tx, b.id, true, now).await?;
                                continue;
                            }
                            let room = self.join_view(&record);
                            let notice = Notice::confirmation(record.booked_by, to, booking, room);
                            let invite = self.invite(&record, "PUBLISH", now)?;
                            self.enqueue_with(tx, row.id, notice, &thread, Some(invite), now)
                                .await?;
                        }
                        None if staff => {
                            return Err(StaffError::Conflict(format!(
                                "every room is booked at {}",
                                slot.start.format("%H:%M")
                            ))
                            .into())
                        }
                        None => {
                            // Taken meanwhile (another consent won): a fresh offer.
                            full_now.insert(slot);
                            ctx = Context {
                                cal,
                                now,
                                full: &full_now,
                                rules,
                                standing,
                                trusted: true,
                                told_today: &told_today,
                            };
                            let (n2, fx2) = booking::step(&row.machine, Event::SlotTaken, &ctx)
                                .map_err(|e| StoreError::Corrupt {
                                    table: "requests",
                                    problem: e.to_string(),
                                })?;
                            next = n2;
                            queue.extend(fx2);
                        }
                    }
                }
                Effect::CancelBooking { by, notify } => {
                    let Some((b, status)) = booking
                        .as_ref()
                        .and_then(|b| Some((b, b.status.after(BookingOutcome::Cancel)?)))
                    else {
                        warn!(request = row.id, "no live booking to cancel");
                        continue;
                    };
                    let by_name = match by {
                        By::Seeker => "email",
                        By::Staff => "staff",
                    };
                    bookings::set_outcome(tx, b.id, status, Some(by_name), false, now).await?;
                    if self.cfg.meeting_provider == MeetingProvider::Zoom {
                        meetings::want(tx, b.id, false, now).await?;
                    }
                    info!(
                        request = row.id,
                        booking = b.id,
                        by = by_name,
                        "booking cancelled"
                    );
                    if notify {
                        let notice = Notice::Cancelled {
                            to,
                            booking: self.booking_view(Some(b)),
                            by: if by == By::Staff {
                                CancelledBy::Staff
                            } else {
                                CancelledBy::Seeker
                            },
                        };
                        let invite = self.invite(b, "CANCEL", now)?;
                        self.enqueue_with(tx, row.id, notice, &thread, Some(invite), now)
                            .await?;
                    }
                    cancelled = Some(b.clone());
                }
                Effect::RefuseSameDayCancel => {
                    let notice = Notice::SameDayCancel {
                        to,
                        booking: self.booking_view(booking.as_ref()),
                    };
                    self.enqueue(tx, row.id, notice, &thread, now).await?;
                }
                Effect::AskConfirmByReply => {
                    let notice = Notice::ConfirmByReply {
                        to,
                        booking: self.booking_view(booking.as_ref()),
                        change: event_name == "change",
                    };
                    self.enqueue(tx, row.id, notice, &thread, now).await?;
                }
                Effect::Remind => {
                    let Some(b) = booking
                        .as_ref()
                        .filter(|b| b.status == BookingStatus::Confirmed)
                    else {
                        continue;
                    };
                    let notice = Notice::Reminder {
                        to,
                        booking: self.booking_view(Some(b)),
                        room: self.join_view(b),
                    };
                    self.enqueue(tx, row.id, notice, &thread, now).await?;
                }
                Effect::RecordNoShow { excused } => {
                    if let Some((b, status)) = booking
                        .as_ref()
                        .and_then(|b| Some((b, b.status.after(BookingOutcome::NoShow)?)))
                    {
                        bookings::set_outcome(tx, b.id, status, None, excused, now).await?;
                        if self.cfg.meeting_provider == MeetingProvider::Zoom {
                            meetings::want(tx, b.id, false, now).await?;
                        }
                        info!(
                            request = row.id,
                            booking = b.id,
                            excused,
                            "no-show recorded"
                        );
                    }
                }
                Effect::RecordAttended => {
                    if let Some((b, status)) = booking
                        .as_ref()
                        .and_then(|b| Some((b, b.status.after(BookingOutcome::Attend)?)))
                    {
                        bookings::set_outcome(tx, b.id, status, None, false, now).await?;
                    }
                }
                Effect::Offer { slots, reason } => {
                    let (wished_available, all_wishes_met) =
                        booking::wish_coverage(&next.data.wishes, &slots);
                    let notice = Notice::Offer {
                        to,
                        reason: reason.as_str(),
                        wished_available,
                        all_wishes_met,
                        slots: slot_views(&slots, cal.slot_minutes),
                        cancelled: cancelled.as_ref().map(|b| self.booking_view(Some(b))),
                    };
                    requests::set_offer_terms(tx, row.id, self.composer.terms_sha256()).await?;
                    self.enqueue(tx, row.id, notice, &thread, now).await?;
                }
                Effect::AskMissing { missing } => {
                    let keys = booking::missing_notice_keys(&missing, &next.data);
                    let variant = keys.join(",");
                    let notice = Notice::Missing {
                        to,
                        missing: keys,
                        invalid_seeker_number: next.data.invalid_seeker_number.clone(),
                        invalid_dates: next.data.invalid_dates.clone(),
                        time_without_date: next.data.time_without_date,
                    };
                    let id = self.enqueue(tx, row.id, notice, &thread, now).await?;
                    outbox::set_variant(tx, &id, &variant).await?;
                }
                Effect::AskWhich => {
                    let notice = Notice::AskWhich { to, slots: offered };
                    self.enqueue(tx, row.id, notice, &thread, now).await?;
                }
                Effect::FollowUp => {
                    let lapse = booking::next_timer(&next, cal, rules)
                        .map(|(t, _)| t)
                        .unwrap_or(now);
                    // The notice names the last day to reply: the day before the lapse instant.
                    let lapse_date =
                        DateView::from(cal.local_date(lapse - ChronoDuration::seconds(1)));
                    let notice = Notice::FollowUp {
                        to,
                        lapse_date,
                        slots: offered,
                    };
                    self.enqueue(tx, row.id, notice, &thread, now).await?;
                }
                Effect::Lapse => {
                    self.enqueue(tx, row.id, Notice::Lapsed { to }, &thread, now)
                        .await?;
                }
                Effect::AcknowledgeWithdrawal => {
                    self.enqueue(tx, row.id, Notice::Withdrawn { to }, &thread, now)
                        .await?;
                }
                Effect::AcknowledgeBooked => {
                    let notice = Notice::AfterBooking {
                        to,
                        answer_by: DateView::from(self.cfg.calendar.answer_by(now)),
                    };
                    self.enqueue(tx, row.id, notice, &thread, now).await?;
                }
                Effect::Forwarded => {
                    let notice = Notice::Forwarded {
                        to,
                        answer_by: DateView::from(self.cfg.calendar.answer_by(now)),
                        slots: offered,
                    };
                    self.enqueue(tx, row.id, notice, &thread, now).await?;
                }
                Effect::Holding(reason) => {
                    let notice = Notice::Holding {
                        to,
                        answer_by: DateView::from(self.cfg.calendar.answer_by(now)),
                        reason: reason.as_str(),
                    };
                    self.enqueue(tx, row.id, notice, &thread, now).await?;
                }
                Effect::NotifyStaff(reason) => {
                    if !matches!(reason, StaffReason::NoShow) {
                        filing = Filing::Staff;
                    }
                    let shown = RequestRow {
                        machine: next.clone(),
                        ..row.clone()
                    };
                    self.notify_staff(tx, Some(&shown), reason.as_str(), subject, now)
                        .await?;
                }
            }
        }
        let due = booking::next_timer(&next, cal, rules).map(|(t, _)| t);
        requests::save(tx, row.id, before, &next, event_name, due, now).await?;
        Ok(filing)
    }

    /// How the seeker joins the booking's session: its own Zoom meeting
    /// when it has one, the room sent in its place when Zoom failed, else
    /// (provider "rooms") its room from the config. None: with Zoom, while
    /// the meeting is still to be made.
    pub(super) fn join_view(&self, b: &BookingRecord) -> Option<RoomView> {
        match (&b.meeting, &b.fallback_room, self.cfg.meeting_provider) {
            (Some(m), _, _) => Some(RoomView {
                id: m.id.clone(),
                passcode: Some(m.passcode.clone()),
                url: (!m.join_url.is_empty()).then(|| m.join_url.clone()),
            }),
            (None, Some(room), _) => self.room_view(room),
            (None, None, MeetingProvider::Rooms) => self.room_view(&b.room_id),
            (None, None, MeetingProvider::Zoom) => None,
        }
    }

    /// The meeting room as templates show it.
    pub(super) fn room_view(&self, room_id: &str) -> Option<RoomView> {
        self.cfg
            .rooms
            .iter()
            .find(|r| r.id == room_id)
            .map(|r| RoomView {
                id: r.id.clone(),
                passcode: r.passcode.clone(),
                url: r.url.clone(),
            })
    }

    pub(super) fn booking_slot(&self, b: &BookingRecord) -> Slot {
        let local = b.slot_start.with_timezone(&self.cfg.calendar.tz);
        Slot::new(local.date_naive(), local.time())
    }

    /// The reservation number and slot of a booking as templates show them.
    pub(super) fn booking_view(&self, b: Option<&BookingRecord>) -> BookingView {
        match b {
            Some(b) => BookingView {
                reservation: b.reservation.clone(),
                slot: Some(self.booking_slot_view(b)),
            },
            None => BookingView {
                reservation: "-".to_string(),
                slot: None,
            },
        }
    }

    pub(super) fn booking_slot_view(&self, b: &BookingRecord) -> SlotView {
        SlotView::new(self.booking_slot(b), self.cfg.calendar.slot_minutes)
    }

    /// The `.ics` for a booking: PUBLISH (no RSVP mail comes back to the
    /// desk) or CANCEL, with a UID stable across both.
    pub(super) fn invite(
        &self,
        b: &BookingRecord,
        method: &str,
        now: DateTime<Utc>,
    ) -> Result<crate::mail::compose::Extra, DeskError> {
        let stamp = |t: DateTime<Utc>| t.format("%Y%m%dT%H%M%SZ").to_string();
        let end = b.slot_start + ChronoDuration::minutes(i64::from(self.cfg.calendar.slot_minutes));
        let invite = Invite {
            uid: format!("{}@{}", b.reservation, self.cfg.mail_domain()),
            sequence: u32::from(method == "CANCEL"),
            stamp: stamp(now),
            start: stamp(b.slot_start),
            end: stamp(end),
            reservation: b.reservation.clone(),
            room: self.join_view(b).unwrap_or_else(|| RoomView {
                id: b.room_id.clone(),
                passcode: None,
                url: None,
            }),
        };
        Ok(self.composer.calendar(&invite, method)?)
    }

    /// A new request row bound to `address`, in state `New` for the machine.
    pub(crate) async fn insert_request(
        &self,
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
    pub(super) fn thread_of(&self, row: &RequestRow) -> Thread {
        Thread {
            to: row.seeker_address.clone(),
            in_reply_to: row.last_inbound_id.clone(),
            references: row.thread_refs.clone(),
            subject: row.thread_subject.clone(),
        }
    }

    /// Renders a notice into the outbox, in this transaction.
    pub(super) async fn enqueue(
        &self,
        tx: &mut Tx,
        request_id: i64,
        notice: Notice,
        thread: &Thread,
        now: DateTime<Utc>,
    ) -> Result<String, DeskError> {
        self.enqueue_with(tx, request_id, notice, thread, None, now)
            .await
    }

    /// [`Desk::enqueue`] with one more attachment.
    pub(super) async fn enqueue_with(
        &self,
        tx: &mut Tx,
        request_id: i64,
        notice: Notice,
        thread: &Thread,
        extra: Option<crate::mail::compose::Extra>,
        now: DateTime<Utc>,
    ) -> Result<String, DeskError> {
        let kind = notice.kind();
        let out = self.composer.render(&notice, thread, extra)?;
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

    pub(super) async fn notify_staff(
        &self,
        tx: &mut Tx,
        row: Option<&RequestRow>,
        reason: &str,
        subject: &str,
        now: DateTime<Utc>,
    ) -> Result<(), DeskError> {
        let cal = &self.cfg.calendar;
        let received_local = now.with_timezone(&cal.tz);
        let answer_by = self.cfg.calendar.answer_by(now);
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
        let note = Notice::Staff(StaffNote {
            reservation: booking.as_ref().map(|b| b.reservation.clone()),
            slot: booking.as_ref().map(|b| self.booking_slot_view(b)),
            needs: row
                .map(|r| r.machine.data.needs.clone())
                .unwrap_or_default(),
            no_shows,
            reason: reason.to_string(),
            reference: row.map_or_else(|| "-".into(), |r| r.reference.clone()),
            state: row.map_or("-", |r| r.machine.state.as_str()).to_string(),
            received_at: received_local.format("%Y-%m-%d %H:%M").to_string(),
            answer_by: DateView::from(answer_by),
            subject: crate::core::text::single_line(subject, 120),
            folder: if reason == "unreadable" && row.is_none() {
                self.cfg.folders.failed.clone()
            } else {
                self.cfg.folders.staff.clone()
            },
        });
        let thread = Thread {
            to: crate::config::bare_address(&self.cfg.office.staff_address),
            ..Default::default()
        };
        let out = self.composer.render(&note, &thread, None)?;
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
        info!(request = row.map(|r| r.id), reason, "staff notified");
        Ok(())
    }
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
