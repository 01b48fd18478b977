//! What a step asks to be done (`Effect`) and the reasons it gives:
//! the data between the state machine and the desk that carries it out.

use crate::core::calendar::Slot;
use crate::core::understand::Item;

/// Why staff are asked to step in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StaffReason {
    NoFreeSlots,
    ForeignSender,
    AfterBooking,
    AfterClose,
    Question,
    /// A cancellation by mail on the day itself (only by phone, 第6条(5)).
    SameDayCancel,
    NoShow,
    /// The seeker reached the no-show limit; the bot offers nothing.
    NoShowLimit,
    /// The office refused service to this seeker (第12条(1)).
    Refused,
    /// Someone or something is needed at the session (第12条(3)).
    Needs,
    /// A mail the desk cannot read (no sender, not a message, keeps failing).
    Unreadable,
    /// A person's mail nested or split beyond what a person's mail is.
    TooComplex,
    /// Over `limits.max_message_bytes`: not read.
    TooLarge,
    /// A delivery failure not matched to our mail, or unclear.
    Bounce,
    /// Our mail to a seeker will never arrive: phone them (第6条(1)⑤).
    Unreachable,
    /// A mail we could not submit, and not for its recipient's sake.
    SendFailed,
    /// One address over its daily limit.
    FloodSender,
    /// One 求職番号 over its daily limit.
    FloodSeeker,
    /// The IMAP server refused to make a folder.
    FolderRefused,
    /// The booking's Zoom meeting cannot be made (retrying).
    MeetingFailing,
    /// The confirmation went out with a fallback room.
    MeetingFallback,
    /// A cancelled booking's Zoom meeting cannot be removed (retrying).
    MeetingDeleteFailed,
    /// Staff closed a day (臨時閉庁): the bookings it cancelled, to call.
    DayClosed,
}

impl StaffReason {
    /// Whether the mail behind the note waits for staff (要対応): all but a
    /// no-show's, which staff only take note of.
    pub fn files_for_staff(self) -> bool {
        !matches!(self, StaffReason::NoShow)
    }

    pub fn as_str(self) -> &'static str {
        match self {
            StaffReason::NoFreeSlots => "no_free_slots",
            StaffReason::ForeignSender => "foreign_sender",
            StaffReason::AfterBooking => "after_booking",
            StaffReason::AfterClose => "after_close",
            StaffReason::Question => "question",
            StaffReason::SameDayCancel => "same_day_cancel",
            StaffReason::NoShow => "no_show",
            StaffReason::NoShowLimit => "no_show_limit",
            StaffReason::Refused => "refused",
            StaffReason::Needs => "needs",
            StaffReason::Unreadable => "unreadable",
            StaffReason::TooComplex => "too_complex",
            StaffReason::TooLarge => "too_large",
            StaffReason::Bounce => "bounce",
            StaffReason::Unreachable => "unreachable",
            StaffReason::SendFailed => "send_failed",
            StaffReason::FloodSender => "flood_sender",
            StaffReason::FloodSeeker => "flood_seeker",
            StaffReason::FolderRefused => "folder_refused",
            StaffReason::MeetingFailing => "meeting_failing",
            StaffReason::MeetingFallback => "meeting_fallback",
            StaffReason::MeetingDeleteFailed => "meeting_delete_failed",
            StaffReason::DayClosed => "day_closed",
        }
    }
}

/// Who made (or cancelled) a booking: the seeker by a consent reply, or
/// staff (第6条(4) follow-ups, cancellations by phone).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum By {
    Seeker,
    Staff,
}

impl By {
    /// The stored name (`bookings.booked_by`).
    pub fn as_str(self) -> &'static str {
        match self {
            By::Seeker => "seeker",
            By::Staff => "staff",
        }
    }

    /// How a cancellation by them is stored (`bookings.cancelled_by`): a
    /// seeker cancels by mail (on the day by phone, through staff).
    pub fn cancelled_by(self) -> &'static str {
        match self {
            By::Seeker => "email",
            By::Staff => "staff",
        }
    }

    /// The stored name back (the inverse of `as_str`).
    pub fn parse(s: &str) -> Option<By> {
        [By::Seeker, By::Staff]
            .into_iter()
            .find(|b| b.as_str() == s)
    }
}

/// Why the bot answers with a holding reply instead of an offer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum HoldingReason {
    NoFreeSlots,
    /// No-show limit or refusal: staff will contact the seeker.
    StaffWillContact,
}

impl HoldingReason {
    pub fn as_str(self) -> &'static str {
        match self {
            HoldingReason::NoFreeSlots => "no_free_slots",
            HoldingReason::StaffWillContact => "staff_will_contact",
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Effect {
    AskMissing {
        missing: Vec<Item>,
    },
    /// Slots to offer, and why (the mail says so).
    Offer {
        slots: Vec<Slot>,
        reason: OfferReason,
    },
    /// Book this slot and send the confirmation; if every room is taken the
    /// daemon feeds back [`super::Event::SlotTaken`].
    Book(Slot),
    /// Book this slot for staff and mail the seeker the details; every
    /// room taken is an error for the staff member.
    StaffBook(Slot),
    /// Mark the live booking cancelled; `notify`: mail the seeker that it is.
    CancelBooking {
        by: By,
        notify: bool,
    },
    /// A slot the seeker wished for freed up: offered to them, as option
    /// `option` of their open offer, or (None) beside their later booking.
    OfferFreed {
        slot: Slot,
        option: Option<usize>,
    },
    /// The freed slot was taken by another seeker first; they keep what they had.
    FreedTaken {
        slot: Slot,
    },
    /// Same-day cancellation by mail: nothing cancelled; by phone only.
    RefuseSameDayCancel,
    /// A cancellation or change without the request's secret: the seeker
    /// is asked to confirm it by replying to this mail.
    AskConfirmByReply,
    Remind,
    RecordNoShow {
        /// The seeker made contact on the day (not counted for the limit).
        excused: bool,
    },
    RecordAttended,
    /// The recorded no-show was an excused absence.
    RecordExcused,
    AskWhich,
    FollowUp,
    Lapse,
    AcknowledgeWithdrawal,
    /// A polite holding reply: the office will answer in person.
    Holding(HoldingReason),
    /// The question was passed to staff; the offer still stands.
    Forwarded,
    /// Mail about a confirmed booking: received, staff will answer; the
    /// booking stands until the office changes it.
    AcknowledgeBooked,
    NotifyStaff(StaffReason),
}

/// Why an offer is made.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OfferReason {
    /// The answer to a request.
    Request,
    /// The chosen slot was taken meanwhile or can no longer be confirmed.
    Taken,
    /// The reply asked for other dates: the offer for those.
    NewWish,
    /// The booking was cancelled to move it: the offer for the new dates.
    Change,
    /// A choice that came without the request's secret: the chosen slot
    /// alone, to be confirmed by replying.
    Confirm,
    /// The office closed the booked day: an apology, and other slots.
    Closure,
}

impl OfferReason {
    pub fn as_str(self) -> &'static str {
        match self {
            OfferReason::Request => "request",
            OfferReason::Taken => "taken",
            OfferReason::NewWish => "new_wish",
            OfferReason::Change => "change",
            OfferReason::Confirm => "confirm",
            OfferReason::Closure => "closure",
        }
    }
}

impl Effect {
    /// The effect with no mail to the seeker (their address bounced): store
    /// work stays, a mail of its own goes.
    pub fn without_mail(self) -> Option<Effect> {
        match self {
            Effect::CancelBooking { by, .. } => Some(Effect::CancelBooking { by, notify: false }),
            Effect::Book(_)
            | Effect::StaffBook(_)
            | Effect::RecordNoShow { .. }
            | Effect::RecordAttended
            | Effect::RecordExcused
            | Effect::NotifyStaff(_) => Some(self),
            Effect::RefuseSameDayCancel
            | Effect::AskConfirmByReply
            | Effect::Remind
            | Effect::Offer { .. }
            | Effect::OfferFreed { .. }
            | Effect::FreedTaken { .. }
            | Effect::AskMissing { .. }
            | Effect::AskWhich
            | Effect::FollowUp
            | Effect::Lapse
            | Effect::AcknowledgeWithdrawal
            | Effect::AcknowledgeBooked
            | Effect::Forwarded
            | Effect::Holding(_) => None,
        }
    }
}
