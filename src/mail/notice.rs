//! Every mail the desk writes to a seeker or to staff, one variant per
//! template, with typed fields: what a template may use is written here,
//! once, and the template context is built here only
//! ([`Notice::context`]). The desk decides which notice; `compose` renders
//! it.

use crate::core::calendar::Slot;
use chrono::{Datelike, NaiveDate};
use minijinja::Value;
use serde::Serialize;

/// Who a seeker's notice is for: every one shows the name and the
/// request's reference.
#[derive(Debug, Clone, Serialize)]
pub struct Addressee {
    pub name: Option<String>,
    #[serde(rename = "ref")]
    pub reference: String,
}

/// A meeting room as the seeker needs it: ID, passcode, join URL.
#[derive(Debug, Clone, Serialize)]
pub struct RoomView {
    pub id: String,
    /// None only for a room no longer in the config (its ID is all we know).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub passcode: Option<String>,
    pub url: Option<String>,
}

/// The calendar invitation (`invite.ics.j2`) attached to confirmations and
/// cancellations.
#[derive(Debug, Clone, Serialize)]
pub struct Invite {
    pub uid: String,
    /// 0 for the REQUEST, 1 for the CANCEL that replaces it (RFC 5546).
    pub sequence: u32,
    /// The seeker's address (ATTENDEE); the office's is the ORGANIZER.
    pub attendee: String,
    pub stamp: String,
    pub start: String,
    pub end: String,
    pub reservation: String,
    pub room: RoomView,
}

/// A booking named in a notice.
#[derive(Debug, Clone, Serialize)]
pub struct BookingView {
    pub reservation: String,
    pub slot: Option<SlotView>,
}

/// Who cancelled, as the cancellation notice words it.
#[derive(Debug, Clone, Copy, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum CancelledBy {
    Seeker,
    Staff,
}

/// The fields of the note to staff.
#[derive(Debug, Clone, Serialize)]
pub struct StaffNote {
    pub reservation: Option<String>,
    pub slot: Option<SlotView>,
    pub needs: Vec<String>,
    pub no_shows: u32,
    pub reason: String,
    #[serde(rename = "ref")]
    pub reference: String,
    pub state: String,
    pub received_at: String,
    pub answer_by: DateView,
    pub subject: String,
    pub folder: String,
    /// The raw From of a mail the desk could not read (so a person can act).
    pub from: Option<String>,
    /// A mail of ours that came back: what, to whom, the server's words.
    pub bounce: Option<BounceView>,
    /// A day the office closed, with the bookings it cancelled.
    pub closure: Option<ClosureView>,
    /// What a seeker writing another language asked, in Japanese.
    pub gist: Vec<String>,
}

/// A closed day as staff read it in their note: who closed it, why, and
/// each booking it cancelled with the number to call.
#[derive(Debug, Clone, Default, Serialize)]
pub struct ClosureView {
    pub day: Option<DateView>,
    pub reason: String,
    pub by: String,
    pub bookings: Vec<ClosedBooking>,
}

/// One booking a closed day cancelled.
#[derive(Debug, Clone, Default, Serialize)]
pub struct ClosedBooking {
    #[serde(rename = "ref")]
    pub reference: String,
    pub reservation: String,
    pub slot: Option<SlotView>,
    pub name: String,
    pub phone: String,
    /// What the seeker was sent: "offered" (new dates), "holding" (no free
    /// slot: staff will call), "unreachable" (their mail bounced: call them).
    pub sent: String,
}

/// A delivery failure as staff read it (note and page).
#[derive(Debug, Clone, Default, Serialize)]
pub struct BounceView {
    /// The outbox kind of the mail that came back (offer, confirm, …).
    pub kind: String,
    pub address: String,
    pub status: String,
    pub diagnostic: String,
    /// The registered phone number to call (第6条(1)⑤).
    pub phone: String,
    pub name: String,
}

/// The staff's morning digest: sessions of today and the next business
/// day, what waits for staff, lapses and no-shows since the last one.
#[derive(Debug, Clone, Serialize)]
pub struct Digest {
    pub today: DateView,
    pub next_day: DateView,
    pub today_sessions: Vec<DigestSession>,
    pub next_sessions: Vec<DigestSession>,
    pub waiting: Vec<DigestWaiting>,
    pub lapsed: Vec<DigestRequest>,
    pub no_shows: Vec<DigestNoShow>,
}

#[derive(Debug, Clone, Serialize)]
pub struct DigestSession {
    pub start: String,
    pub end: String,
    pub reservation: String,
    pub room: String,
    pub by_staff: bool,
    pub name: Option<String>,
    pub needs: Vec<String>,
}

#[derive(Debug, Clone, Serialize)]
pub struct DigestWaiting {
    #[serde(rename = "ref")]
    pub reference: String,
    pub name: Option<String>,
    pub answer_by: DateView,
    pub overdue: bool,
}

#[derive(Debug, Clone, Serialize)]
pub struct DigestRequest {
    #[serde(rename = "ref")]
    pub reference: String,
    pub name: Option<String>,
}

#[derive(Debug, Clone, Serialize)]
pub struct DigestNoShow {
    pub reservation: String,
    pub name: Option<String>,
    pub excused: bool,
    pub start: String,
}

/// One mail, by template.
#[derive(Debug, Clone)]
pub enum Notice {
    /// `confirm`: booked by the seeker's consent.
    Confirm {
        to: Addressee,
        booking: BookingView,
        room: Option<RoomView>,
    },
    /// `staff_booked`: a follow-up session staff booked (第6条(4)).
    StaffBooked {
        to: Addressee,
        booking: BookingView,
        room: Option<RoomView>,
    },
    /// `cancelled`.
    Cancelled {
        to: Addressee,
        booking: BookingView,
        by: CancelledBy,
    },
    /// `same_day_cancel`: on the day, cancel by phone.
    SameDayCancel { to: Addressee, booking: BookingView },
    /// `confirm_by_reply`: a cancel or change needs a reply in the thread.
    ConfirmByReply {
        to: Addressee,
        booking: BookingView,
        change: bool,
    },
    /// `reminder`.
    Reminder {
        to: Addressee,
        booking: BookingView,
        room: Option<RoomView>,
    },
    /// `offer`: the slots, with the terms of use attached.
    Offer {
        to: Addressee,
        reason: &'static str,
        wished_available: bool,
        all_wishes_met: bool,
        slots: Vec<SlotView>,
        cancelled: Option<BookingView>,
        /// Why the office closed the cancelled booking's day (reason `closure`).
        closure: Option<String>,
    },
    /// `freed`: a slot the seeker wished for freed up (キャンセル待ち): option
    /// `option` of their open offer, or beside their later `booking`.
    Freed {
        to: Addressee,
        slot: SlotView,
        option: Option<usize>,
        booking: Option<BookingView>,
        answer_by: DateView,
    },
    /// `freed_taken`: someone else took the freed slot first; what they
    /// had stands (their booking, or the other options of their offer).
    FreedTaken {
        to: Addressee,
        slot: SlotView,
        booking: Option<BookingView>,
        slots: Vec<SlotView>,
    },
    /// `missing`: what the request lacks.
    Missing {
        to: Addressee,
        missing: Vec<&'static str>,
        invalid_seeker_number: Option<String>,
        invalid_dates: Vec<String>,
        time_without_date: bool,
    },
    /// `ask_which`: a reply that chose no offered slot clearly.
    AskWhich { to: Addressee, slots: Vec<SlotView> },
    /// `follow_up`: 3 business days without an answer.
    FollowUp {
        to: Addressee,
        lapse_date: DateView,
        slots: Vec<SlotView>,
    },
    /// `lapsed`.
    Lapsed { to: Addressee },
    /// `withdrawn`.
    Withdrawn { to: Addressee },
    /// `after_booking`: mail about a booking, passed to staff.
    AfterBooking { to: Addressee, answer_by: DateView },
    /// `forwarded`: a question, passed to staff; the offer stays open.
    Forwarded {
        to: Addressee,
        answer_by: DateView,
        slots: Vec<SlotView>,
    },
    /// `holding`: staff will answer (refused seeker, too many no-shows).
    Holding {
        to: Addressee,
        answer_by: DateView,
        reason: &'static str,
    },
    /// `staff`: a note to the office's staff address.
    Staff(Box<StaffNote>),
    /// `digest`: the staff's morning digest.
    Digest(Digest),
}

impl Notice {
    /// The confirmation of a booking, by who made it: the seeker's
    /// (`confirm`) or staff's (`staff_booked`). The one place that choice
    /// is made.
    pub fn confirmation(
        by: crate::core::booking::By,
        to: Addressee,
        booking: BookingView,
        room: Option<RoomView>,
    ) -> Notice {
        match by {
            crate::core::booking::By::Seeker => Notice::Confirm { to, booking, room },
            crate::core::booking::By::Staff => Notice::StaffBooked { to, booking, room },
        }
    }

    /// The template's name (`templates/{kind}.txt.j2`), also the outbox kind.
    pub fn kind(&self) -> &'static str {
        match self {
            Notice::Confirm { .. } => "confirm",
            Notice::StaffBooked { .. } => "staff_booked",
            Notice::Cancelled { .. } => "cancelled",
            Notice::SameDayCancel { .. } => "same_day_cancel",
            Notice::ConfirmByReply { .. } => "confirm_by_reply",
            Notice::Reminder { .. } => "reminder",
            Notice::Offer { .. } => "offer",
            Notice::Freed { .. } => "freed",
            Notice::FreedTaken { .. } => "freed_taken",
            Notice::Missing { .. } => "missing",
            Notice::AskWhich { .. } => "ask_which",
            Notice::FollowUp { .. } => "follow_up",
            Notice::Lapsed { .. } => "lapsed",
            Notice::Withdrawn { .. } => "withdrawn",
            Notice::AfterBooking { .. } => "after_booking",
            Notice::Forwarded { .. } => "forwarded",
            Notice::Holding { .. } => "holding",
            Notice::Staff(_) => "staff",
            Notice::Digest(_) => "digest",
        }
    }

    /// Whether the terms of use go with it (offers: consent is to them).
    pub fn attaches_terms(&self) -> bool {
        matches!(self, Notice::Offer { .. })
    }

    /// The template's context: the addressee's fields and the variant's.
    pub fn context(&self) -> Value {
        let with = |to: &Addressee, rest: Value| {
            minijinja::context! { name => to.name.clone(), ref => to.reference.clone(), ..rest }
        };
        let booked = |to: &Addressee, b: &BookingView, rest: Value| {
            with(
                to,
                minijinja::context! { reservation => b.reservation.clone(), slot => b.slot.clone(), ..rest },
            )
        };
        match self {
            Notice::Confirm { to, booking, room }
            | Notice::StaffBooked { to, booking, room }
            | Notice::Reminder { to, booking, room } => {
                booked(to, booking, minijinja::context! { room => room.clone() })
            }
            Notice::Cancelled { to, booking, by } => {
                booked(to, booking, minijinja::context! { by => *by })
            }
            Notice::SameDayCancel { to, booking } => booked(to, booking, minijinja::context! {}),
            Notice::ConfirmByReply {
                to,
                booking,
                change,
            } => booked(to, booking, minijinja::context! { change => *change }),
            Notice::Offer {
                to,
                reason,
                wished_available,
                all_wishes_met,
                slots,
                cancelled,
                closure,
            } => with(
                to,
                minijinja::context! {
                    reason => *reason, wished_available => *wished_available,
                    all_wishes_met => *all_wishes_met, slots => slots.clone(),
                    cancelled => cancelled.clone(), closure => closure.clone(),
                },
            ),
            Notice::Freed {
                to,
                slot,
                option,
                booking,
                answer_by,
            } => with(
                to,
                minijinja::context! {
                    freed => slot.clone(), option => *option, booking => booking.clone(),
                    answer_by => answer_by.clone(),
                },
            ),
            Notice::FreedTaken {
                to,
                slot,
                booking,
                slots,
            } => with(
                to,
                minijinja::context! {
                    freed => slot.clone(), booking => booking.clone(), slots => slots.clone(),
                },
            ),
            Notice::Missing {
                to,
                missing,
                invalid_seeker_number,
                invalid_dates,
                time_without_date,
            } => with(
                to,
                minijinja::context! {
                    missing => missing.clone(), invalid_seeker_number => invalid_seeker_number.clone(),
                    invalid_dates => invalid_dates.clone(), time_without_date => *time_without_date,
                },
            ),
            Notice::AskWhich { to, slots } => {
                with(to, minijinja::context! { slots => slots.clone() })
            }
            Notice::FollowUp {
                to,
                lapse_date,
                slots,
            } => with(
                to,
                minijinja::context! { lapse_date => lapse_date.clone(), slots => slots.clone() },
            ),
            Notice::Lapsed { to } | Notice::Withdrawn { to } => with(to, minijinja::context! {}),
            Notice::AfterBooking { to, answer_by } => {
                with(to, minijinja::context! { answer_by => answer_by.clone() })
            }
            Notice::Forwarded {
                to,
                answer_by,
                slots,
            } => with(
                to,
                minijinja::context! { answer_by => answer_by.clone(), slots => slots.clone() },
            ),
            Notice::Holding {
                to,
                answer_by,
                reason,
            } => with(
                to,
                minijinja::context! { answer_by => answer_by.clone(), reason => *reason },
            ),
            Notice::Staff(note) => Value::from_serialize(&**note),
            Notice::Digest(digest) => Value::from_serialize(digest),
        }
    }
}

/// Template view of a slot.
#[derive(Debug, Clone, Serialize)]
pub struct SlotView {
    pub year: i32,
    pub month: u32,
    pub day: u32,
    pub wd: u32,
    pub start: String,
    pub end: String,
}

impl SlotView {
    pub fn new(slot: Slot, minutes: u32) -> Self {
        let end = slot.start + chrono::Duration::minutes(i64::from(minutes));
        SlotView {
            year: slot.date.year(),
            month: slot.date.month(),
            day: slot.date.day(),
            wd: slot.date.weekday().num_days_from_monday(),
            start: slot.start.format("%H:%M").to_string(),
            end: end.format("%H:%M").to_string(),
        }
    }
}

/// Template view of a date.
#[derive(Debug, Clone, Serialize)]
pub struct DateView {
    pub year: i32,
    pub month: u32,
    pub day: u32,
    pub wd: u32,
}

impl From<NaiveDate> for DateView {
    fn from(d: NaiveDate) -> Self {
        DateView {
            year: d.year(),
            month: d.month(),
            day: d.day(),
            wd: d.weekday().num_days_from_monday(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_context_has_the_addressee_and_the_variant_fields() {
        let to = Addressee {
            name: Some("山田 太郎".into()),
            reference: "K7M2QP".into(),
        };
        let ctx = Notice::Holding {
            to,
            answer_by: DateView {
                year: 2026,
                month: 12,
                day: 4,
                wd: 4,
            },
            reason: "refused",
        }
        .context();
        let get = |k: &str| ctx.get_attr(k).map(|v| v.to_string()).unwrap_or_default();
        assert_eq!(get("name"), "山田 太郎");
        assert_eq!(get("ref"), "K7M2QP");
        assert_eq!(get("reason"), "refused");
        assert!(ctx.get_attr("answer_by").is_ok_and(|v| !v.is_undefined()));
    }
}
