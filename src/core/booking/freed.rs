//! Slots that free up and days that close: the waiting list (キャンセル待ち)
//! and 臨時閉庁, as transitions of one request.

use super::{
    book, cancelled, offer_near, By, Context, Effect, OfferReason, Request, StaffReason, State,
};
use crate::core::calendar::Slot;
use crate::core::understand::{ReplyIntent, Wish, WishTime};

/// The booked day closed: the booking cancelled by the office, and the
/// free slots nearest to it offered (the wishes stay as they were).
pub(super) fn day_closed(req: &Request, next: &mut Request, ctx: &Context<'_>) -> Vec<Effect> {
    let Some(booked) = req.booked else {
        return vec![];
    };
    cancelled(next);
    let near = [Wish {
        date: booked.date,
        time: Some(WishTime::At(booked.start)),
    }];
    let mut effects = vec![Effect::CancelBooking {
        by: By::Staff,
        notify: false,
    }];
    effects.extend(offer_near(next, &near, ctx, OfferReason::Closure));
    effects
}

/// Whether the seeker of `req` waits for `slot` (キャンセル待ち): they wished
/// for it, were not offered it (it was full), and hold either an open offer
/// of other slots or a booking on a later date.
pub fn waits_for(req: &Request, slot: Slot) -> bool {
    let wished = req.data.wishes.iter().any(|w| w.admits(&slot));
    let holds = match req.state {
        State::Offered | State::FollowedUp => true,
        State::Booked => req.booked.is_some_and(|b| b.date > slot.date) && req.waitlist.is_none(),
        _ => false,
    };
    wished && holds && !req.offered.contains(&slot) && req.booked != Some(slot)
}

/// A freed slot offered to a seeker who waits for it: added to an open
/// offer as one more option, or offered beside a later booking.
pub(super) fn offer_freed(
    req: &Request,
    next: &mut Request,
    slot: Slot,
    ctx: &Context<'_>,
) -> Vec<Effect> {
    if !waits_for(req, slot) || !ctx.free(slot) {
        return vec![];
    }
    next.waitlist = Some(slot);
    let option = if req.state == State::Booked {
        None
    } else {
        next.offered.push(slot);
        Some(next.offered.len())
    };
    vec![Effect::OfferFreed { slot, option }]
}

/// A booked seeker's answer to a freed slot: yes moves the booking there
/// (the later one cancelled in the same step, its slot freed in turn); no
/// keeps the booking; anything else is read as before.
pub(super) fn answer_freed(
    req: &Request,
    next: &mut Request,
    intent: ReplyIntent,
    ctx: &Context<'_>,
) -> Vec<Effect> {
    let Some(slot) = req.waitlist else {
        return vec![];
    };
    match intent {
        ReplyIntent::Agree | ReplyIntent::Choose(1) if ctx.free(slot) => {
            next.waitlist = None;
            let mut effects = book(next, slot, ctx.now);
            effects.push(Effect::CancelBooking {
                by: By::Seeker,
                notify: false,
            });
            effects
        }
        ReplyIntent::Agree | ReplyIntent::Choose(1) => freed_taken(next, slot),
        ReplyIntent::Decline => {
            next.waitlist = None;
            vec![]
        }
        _ => vec![
            Effect::AcknowledgeBooked,
            Effect::NotifyStaff(StaffReason::AfterBooking),
        ],
    }
}

/// Someone else took the freed slot first: the seeker keeps what they had
/// (the other options of their offer, or their booking).
pub(super) fn freed_taken(next: &mut Request, slot: Slot) -> Vec<Effect> {
    next.waitlist = None;
    next.offered.retain(|s| *s != slot);
    vec![Effect::FreedTaken { slot }]
}

/// How a freed-slot offer ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum WaitOutcome {
    /// The seeker took it (a slot refilled).
    Booked,
    /// Someone else took it first.
    Taken,
    Declined,
    /// The request moved on otherwise (a new offer, a cancellation).
    Dropped,
}

impl WaitOutcome {
    pub fn as_str(self) -> &'static str {
        match self {
            WaitOutcome::Booked => "booked",
            WaitOutcome::Taken => "taken",
            WaitOutcome::Declined => "declined",
            WaitOutcome::Dropped => "dropped",
        }
    }
}

/// The freed slot a step leaves behind, and how its offer ended: declined
/// when the seeker kept a booking of another slot, else dropped (a new
/// offer, a cancellation). A no-op for the store when the booking or the
/// loss already closed it.
pub fn waitlist_left(before: &Request, next: &Request) -> Option<(Slot, WaitOutcome)> {
    let slot = before.waitlist.filter(|s| next.waitlist != Some(*s))?;
    let outcome = if next.state == State::Booked && next.booked != Some(slot) {
        WaitOutcome::Declined
    } else {
        WaitOutcome::Dropped
    };
    Some((slot, outcome))
}
