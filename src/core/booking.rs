//! The booking state machine. One `match (state, event)` in [`step`] decides
//! every transition; what must happen in the world comes back as
//! [`Effect`]s for the daemon to carry out (in one transaction with the
//! state change). An event that makes no sense in a state is a typed error.

use crate::core::calendar::{Calendar, Slot};
use crate::core::understand::{BookingRequest, Item, ReplyIntent, Wish, WishTime};
use chrono::{DateTime, NaiveTime, Utc};
use std::collections::HashSet;
use std::fmt;

/// Where a request stands. Stored as text (see `as_str`) with a CHECK.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum State {
    /// Not yet seen: the first mail of a thread.
    New,
    /// Items were missing; we asked for them.
    AwaitingInfo,
    /// Slots were offered; waiting for the seeker's reply (consent).
    Offered,
    /// The 3-business-day follow-up went out; still waiting.
    FollowedUp,
    Booked,
    /// No reply in time: the request is void (申込み無効).
    Lapsed,
    /// The seeker withdrew before booking.
    Withdrawn,
    /// The bot cannot go on; staff must answer.
    NeedsStaff,
}

impl State {
    pub fn as_str(self) -> &'static str {
        match self {
            State::New => "new",
            State::AwaitingInfo => "awaiting_info",
            State::Offered => "offered",
            State::FollowedUp => "followed_up",
            State::Booked => "booked",
            State::Lapsed => "lapsed",
            State::Withdrawn => "withdrawn",
            State::NeedsStaff => "needs_staff",
        }
    }

    pub fn parse(s: &str) -> Option<State> {
        Some(match s {
            "new" => State::New,
            "awaiting_info" => State::AwaitingInfo,
            "offered" => State::Offered,
            "followed_up" => State::FollowedUp,
            "booked" => State::Booked,
            "lapsed" => State::Lapsed,
            "withdrawn" => State::Withdrawn,
            "needs_staff" => State::NeedsStaff,
            _ => return None,
        })
    }
}

impl fmt::Display for State {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// What the machine needs to know of a request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Request {
    pub state: State,
    pub data: BookingRequest,
    /// The options of the latest offer, numbered from 1 in this order.
    pub offered: Vec<Slot>,
    pub offered_at: Option<DateTime<Utc>>,
    pub followed_up_at: Option<DateTime<Utc>>,
    pub booked: Option<Slot>,
}

impl Request {
    pub fn new() -> Self {
        Request {
            state: State::New,
            data: BookingRequest::default(),
            offered: Vec::new(),
            offered_at: None,
            followed_up_at: None,
            booked: None,
        }
    }
}

impl Default for Request {
    fn default() -> Self {
        Self::new()
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Event {
    /// A request, or a reply carrying missing items.
    Request(BookingRequest),
    /// A reply to an offer from the address the offer went to.
    Reply(ReplyIntent),
    /// A reply in the thread from some other address.
    ForeignReply,
    /// The slot chosen was taken between the offer and the consent.
    SlotTaken,
    FollowUpDue,
    LapseDue,
}

impl Event {
    pub fn name(&self) -> &'static str {
        match self {
            Event::Request(_) => "request",
            Event::Reply(_) => "reply",
            Event::ForeignReply => "foreign_reply",
            Event::SlotTaken => "slot_taken",
            Event::FollowUpDue => "follow_up_due",
            Event::LapseDue => "lapse_due",
        }
    }
}

/// Why staff are asked to step in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StaffReason {
    NoFreeSlots,
    ForeignSender,
    AfterBooking,
    AfterClose,
    Question,
}

impl StaffReason {
    pub fn as_str(self) -> &'static str {
        match self {
            StaffReason::NoFreeSlots => "no_free_slots",
            StaffReason::ForeignSender => "foreign_sender",
            StaffReason::AfterBooking => "after_booking",
            StaffReason::AfterClose => "after_close",
            StaffReason::Question => "question",
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
    /// daemon feeds back [`Event::SlotTaken`].
    Book(Slot),
    AskWhich,
    FollowUp,
    Lapse,
    AcknowledgeWithdrawal,
    /// A polite holding reply: the office will answer in person.
    Holding,
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
}

impl OfferReason {
    pub fn as_str(self) -> &'static str {
        match self {
            OfferReason::Request => "request",
            OfferReason::Taken => "taken",
            OfferReason::NewWish => "new_wish",
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("no transition from state {state} on event {event}")]
pub struct TransitionError {
    pub state: State,
    pub event: &'static str,
}

/// Everything outside the request that a decision depends on.
pub struct Context<'a> {
    pub cal: &'a Calendar,
    pub now: DateTime<Utc>,
    /// Slots with every room booked.
    pub full: &'a HashSet<Slot>,
}

impl Context<'_> {
    fn free(&self, slot: Slot) -> bool {
        self.cal.is_bookable(slot, self.now) && !self.full.contains(&slot)
    }
}

/// How many alternatives to offer when no wish can be met.
const ALTERNATIVES: usize = 5;
/// At most this many options in one offer.
const MAX_OPTIONS: usize = 8;

/// The one place that decides transitions.
pub fn step(
    req: &Request,
    event: Event,
    ctx: &Context<'_>,
) -> Result<(Request, Vec<Effect>), TransitionError> {
    use State::*;
    let mut next = req.clone();
    let effects = match (req.state, event) {
        (New | AwaitingInfo, Event::Request(data)) => {
            next.data.merge(data);
            let missing = next.data.missing();
            if !missing.is_empty() || next.data.invalid_seeker_number.is_some() {
                next.state = AwaitingInfo;
                vec![Effect::AskMissing { missing }]
            } else {
                offer(&mut next, ctx, OfferReason::Request)
            }
        }
        (Offered | FollowedUp, Event::Reply(intent)) => match intent {
            ReplyIntent::Choose(n) => match req.offered.get(n.wrapping_sub(1)) {
                Some(&slot) if ctx.free(slot) => book(&mut next, slot),
                _ => offer(&mut next, ctx, OfferReason::Taken),
            },
            ReplyIntent::Agree => {
                let wished = req.offered.iter().copied().find(|s| {
                    req.data
                        .wishes
                        .iter()
                        .any(|w| w.date == s.date && w.time == Some(WishTime::At(s.start)))
                });
                match wished.or(if req.offered.len() == 1 {
                    req.offered.first().copied()
                } else {
                    None
                }) {
                    Some(slot) if ctx.free(slot) => book(&mut next, slot),
                    Some(_) => offer(&mut next, ctx, OfferReason::Taken),
                    None => vec![Effect::AskWhich],
                }
            }
            // Dates that were not offered: an offer for them. Booking a slot
            // the seeker has not seen offered risks booking a misreading.
            ReplyIntent::Other(wishes) => {
                next.data.wishes = wishes;
                offer(&mut next, ctx, OfferReason::NewWish)
            }
            ReplyIntent::Decline => {
                next.state = Withdrawn;
                vec![Effect::AcknowledgeWithdrawal]
            }
            // The offer stays open (and its timers run); a person answers.
            ReplyIntent::Unclear => vec![
                Effect::Forwarded,
                Effect::NotifyStaff(StaffReason::Question),
            ],
        },
        (Offered | FollowedUp, Event::SlotTaken) => offer(&mut next, ctx, OfferReason::Taken),
        (Offered, Event::FollowUpDue) => {
            next.state = FollowedUp;
            next.followed_up_at = Some(ctx.now);
            vec![Effect::FollowUp]
        }
        (Offered | FollowedUp, Event::LapseDue) => {
            next.state = Lapsed;
            vec![Effect::Lapse]
        }
        // A reply after the request lapsed is a new attempt with what we know.
        (Lapsed, Event::Reply(intent)) => {
            if let ReplyIntent::Other(wishes) = intent {
                next.data.wishes = wishes;
            }
            offer(&mut next, ctx, OfferReason::Request)
        }
        (Lapsed | Withdrawn, Event::Request(data)) => {
            next.data.merge(data);
            offer(&mut next, ctx, OfferReason::Request)
        }
        (Booked, Event::Reply(_) | Event::Request(_)) => {
            next.state = Booked;
            vec![
                Effect::AcknowledgeBooked,
                Effect::NotifyStaff(StaffReason::AfterBooking),
            ]
        }
        (Withdrawn | NeedsStaff, Event::Reply(_) | Event::Request(_)) => {
            next.state = NeedsStaff;
            vec![Effect::NotifyStaff(StaffReason::AfterClose)]
        }
        (_, Event::ForeignReply) => vec![Effect::NotifyStaff(StaffReason::ForeignSender)],
        (state, event) => {
            return Err(TransitionError {
                state,
                event: event.name(),
            })
        }
    };
    Ok((next, effects))
}

fn book(next: &mut Request, slot: Slot) -> Vec<Effect> {
    next.state = State::Booked;
    next.booked = Some(slot);
    vec![Effect::Book(slot)]
}

fn offer(next: &mut Request, ctx: &Context<'_>, reason: OfferReason) -> Vec<Effect> {
    let slots = offer_slots(&next.data.wishes, ctx);
    if slots.is_empty() {
        next.state = State::NeedsStaff;
        next.offered.clear();
        return vec![
            Effect::Holding,
            Effect::NotifyStaff(StaffReason::NoFreeSlots),
        ];
    }
    next.state = State::Offered;
    next.offered = slots.clone();
    next.offered_at = Some(ctx.now);
    next.followed_up_at = None;
    vec![Effect::Offer { slots, reason }]
}

/// The slots to offer for these wishes: the wished ones that are free, else
/// the nearest free alternatives to the first wish.
pub fn offer_slots(wishes: &[Wish], ctx: &Context<'_>) -> Vec<Slot> {
    let noon = NaiveTime::from_hms_opt(12, 0, 0).unwrap_or(NaiveTime::MIN);
    let mut chosen: Vec<Slot> = Vec::new();
    for wish in wishes {
        let day: Vec<Slot> = ctx
            .cal
            .slot_times
            .iter()
            .map(|&t| Slot::new(wish.date, t))
            .filter(|s| ctx.free(*s))
            .collect();
        let picked: Vec<Slot> = match wish.time {
            Some(WishTime::At(t)) if ctx.cal.slot_times.contains(&t) => {
                day.into_iter().filter(|s| s.start == t).collect()
            }
            // A time between slots ("10時"): the slots of that day, nearest first.
            Some(WishTime::At(t)) => {
                let mut d = day;
                d.sort_by_key(|s| (s.start - t).num_minutes().abs());
                d.truncate(2);
                d
            }
            Some(WishTime::Morning) => day.into_iter().filter(|s| s.start < noon).collect(),
            Some(WishTime::Afternoon) => day.into_iter().filter(|s| s.start >= noon).collect(),
            None => day,
        };
        for s in picked {
            if !chosen.contains(&s) {
                chosen.push(s);
            }
        }
    }
    if !chosen.is_empty() {
        chosen.truncate(MAX_OPTIONS);
        return chosen;
    }
    let anchor = match wishes.first() {
        Some(w) => {
            let t = match w.time {
                Some(WishTime::At(t)) => t,
                Some(WishTime::Afternoon) => NaiveTime::from_hms_opt(13, 30, 0).unwrap_or(noon),
                _ => NaiveTime::from_hms_opt(9, 30, 0).unwrap_or(noon),
            };
            ctx.cal.instant(w.date, t)
        }
        None => ctx.now,
    };
    let mut free: Vec<Slot> = ctx
        .cal
        .bookable_slots(ctx.now)
        .into_iter()
        .filter(|s| !ctx.full.contains(s))
        .collect();
    free.sort_by_key(|s| {
        (
            (ctx.cal.slot_start_utc(*s) - anchor).num_minutes().abs(),
            *s,
        )
    });
    free.truncate(ALTERNATIVES);
    free.sort();
    free
}

/// When the next timer of a request fires, and which.
pub fn next_timer(req: &Request, cal: &Calendar) -> Option<(DateTime<Utc>, Event)> {
    let last_cutoff = req.offered.iter().map(|s| cal.cutoff(*s)).max();
    match req.state {
        State::Offered => {
            let follow_up = cal.business_days_after(req.offered_at?, 3);
            let cutoff = last_cutoff?;
            if cutoff <= follow_up {
                Some((cutoff, Event::LapseDue))
            } else {
                Some((follow_up, Event::FollowUpDue))
            }
        }
        State::FollowedUp => {
            let lapse = cal.end_of_next_business_day(req.followed_up_at?);
            Some((lapse.min(last_cutoff.unwrap_or(lapse)), Event::LapseDue))
        }
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::{NaiveDate, TimeZone};

    fn cal() -> Calendar {
        Calendar::standard()
    }

    fn d(m: u32, day: u32) -> NaiveDate {
        NaiveDate::from_ymd_opt(2026, m, day).expect("date")
    }

    fn t(h: u32, m: u32) -> NaiveTime {
        NaiveTime::from_hms_opt(h, m, 0).expect("time")
    }

    fn now() -> DateTime<Utc> {
        // Wed 2026-11-25 10:00 JST.
        chrono_tz::Asia::Tokyo
            .with_ymd_and_hms(2026, 11, 25, 10, 0, 0)
            .single()
            .expect("now")
            .with_timezone(&Utc)
    }

    fn complete() -> BookingRequest {
        BookingRequest {
            name: Some("山田 太郎".into()),
            seeker_number: Some("32010-12345678".into()),
            phone: Some("090-1234-5678".into()),
            wishes: vec![Wish {
                date: d(12, 3),
                time: Some(WishTime::At(t(11, 0))),
            }],
            ..Default::default()
        }
    }

    fn run(req: &Request, ev: Event, full: &HashSet<Slot>) -> (Request, Vec<Effect>) {
        let c = cal();
        let ctx = Context {
            cal: &c,
            now: now(),
            full,
        };
        step(req, ev, &ctx).expect("legal transition")
    }

    #[test]
    fn incomplete_request_asks_for_what_is_missing() {
        let mut data = complete();
        data.seeker_number = None;
        let (r, fx) = run(&Request::new(), Event::Request(data), &HashSet::new());
        assert_eq!(r.state, State::AwaitingInfo);
        assert_eq!(
            fx,
            vec![Effect::AskMissing {
                missing: vec![Item::SeekerNumber]
            }]
        );
        let more = BookingRequest {
            seeker_number: Some("32010-12345678".into()),
            ..Default::default()
        };
        let (r, fx) = run(&r, Event::Request(more), &HashSet::new());
        assert_eq!(r.state, State::Offered);
        assert!(
            matches!(&fx[0], Effect::Offer { slots, reason: OfferReason::Request } if slots == &vec![Slot::new(d(12, 3), t(11, 0))])
        );
    }

    #[test]
    fn full_wish_gets_alternatives() {
        let full: HashSet<Slot> = [Slot::new(d(12, 3), t(11, 0))].into();
        let (r, fx) = run(&Request::new(), Event::Request(complete()), &full);
        assert_eq!(r.state, State::Offered);
        let Effect::Offer { slots, .. } = &fx[0] else {
            panic!("expected an offer")
        };
        assert!(slots.len() >= 3);
        assert!(!slots.contains(&Slot::new(d(12, 3), t(11, 0))));
        assert!(slots.contains(&Slot::new(d(12, 3), t(9, 30))));
    }

    #[test]
    fn choose_books_and_taken_slot_reoffers() {
        let (offered, _) = run(&Request::new(), Event::Request(complete()), &HashSet::new());
        let (booked, fx) = run(
            &offered,
            Event::Reply(ReplyIntent::Choose(1)),
            &HashSet::new(),
        );
        assert_eq!(booked.state, State::Booked);
        assert_eq!(fx, vec![Effect::Book(Slot::new(d(12, 3), t(11, 0)))]);
        let (again, fx) = run(
            &offered,
            Event::SlotTaken,
            &[Slot::new(d(12, 3), t(11, 0))].into(),
        );
        assert_eq!(again.state, State::Offered);
        assert!(matches!(
            &fx[0],
            Effect::Offer {
                reason: OfferReason::Taken,
                ..
            }
        ));
        let (again, _) = run(
            &offered,
            Event::Reply(ReplyIntent::Choose(1)),
            &[Slot::new(d(12, 3), t(11, 0))].into(),
        );
        assert_eq!(again.state, State::Offered);
        let (same, fx) = run(
            &offered,
            Event::Reply(ReplyIntent::Choose(9)),
            &HashSet::new(),
        );
        assert_eq!(same.state, State::Offered);
        assert!(matches!(
            &fx[0],
            Effect::Offer {
                reason: OfferReason::Taken,
                ..
            }
        ));
    }

    #[test]
    fn agree_books_the_wished_slot_or_asks() {
        let (offered, _) = run(&Request::new(), Event::Request(complete()), &HashSet::new());
        let (booked, _) = run(&offered, Event::Reply(ReplyIntent::Agree), &HashSet::new());
        assert_eq!(booked.booked, Some(Slot::new(d(12, 3), t(11, 0))));
        let mut whole_day = complete();
        whole_day.wishes = vec![Wish {
            date: d(12, 3),
            time: None,
        }];
        let (offered, _) = run(&Request::new(), Event::Request(whole_day), &HashSet::new());
        assert_eq!(offered.offered.len(), 4);
        let (asked, fx) = run(&offered, Event::Reply(ReplyIntent::Agree), &HashSet::new());
        assert_eq!(asked.state, State::Offered);
        assert_eq!(fx, vec![Effect::AskWhich]);
    }

    #[test]
    fn decline_foreign_and_after_booking() {
        let (offered, _) = run(&Request::new(), Event::Request(complete()), &HashSet::new());
        let (w, fx) = run(
            &offered,
            Event::Reply(ReplyIntent::Decline),
            &HashSet::new(),
        );
        assert_eq!(w.state, State::Withdrawn);
        assert_eq!(fx, vec![Effect::AcknowledgeWithdrawal]);
        let (q, fx) = run(
            &offered,
            Event::Reply(ReplyIntent::Unclear),
            &HashSet::new(),
        );
        assert_eq!(q.state, State::Offered);
        assert_eq!(
            fx,
            vec![
                Effect::Forwarded,
                Effect::NotifyStaff(StaffReason::Question)
            ]
        );
        let (same, fx) = run(&offered, Event::ForeignReply, &HashSet::new());
        assert_eq!(same.state, State::Offered);
        assert_eq!(fx, vec![Effect::NotifyStaff(StaffReason::ForeignSender)]);
        let (booked, _) = run(
            &offered,
            Event::Reply(ReplyIntent::Choose(1)),
            &HashSet::new(),
        );
        let (b, fx) = run(&booked, Event::Reply(ReplyIntent::Agree), &HashSet::new());
        assert_eq!(b.state, State::Booked);
        assert_eq!(
            fx,
            vec![
                Effect::AcknowledgeBooked,
                Effect::NotifyStaff(StaffReason::AfterBooking)
            ]
        );
    }

    #[test]
    fn timers_follow_up_then_lapse() {
        let c = cal();
        let mut data = complete();
        data.wishes = vec![Wish {
            date: d(12, 10),
            time: Some(WishTime::At(t(9, 30))),
        }];
        let (offered, _) = run(&Request::new(), Event::Request(data), &HashSet::new());
        let (due, ev) = next_timer(&offered, &c).expect("timer");
        assert_eq!(ev, Event::FollowUpDue);
        // Wed 11-25 10:00 + 3 business days = Mon 11-30 10:00.
        assert_eq!(due, c.instant(d(11, 30), t(10, 0)));
        let (followed, fx) = run(&offered, Event::FollowUpDue, &HashSet::new());
        assert_eq!(fx, vec![Effect::FollowUp]);
        let (due, ev) = next_timer(&followed, &c).expect("timer");
        assert_eq!(ev, Event::LapseDue);
        // followed up "now" (Wed) -> end of Thu.
        assert_eq!(due, c.instant(d(11, 27), NaiveTime::MIN));
        let (lapsed, fx) = run(&followed, Event::LapseDue, &HashSet::new());
        assert_eq!(lapsed.state, State::Lapsed);
        assert_eq!(fx, vec![Effect::Lapse]);
        assert_eq!(next_timer(&lapsed, &c), None);
    }

    #[test]
    fn lapse_at_cutoff_when_slots_expire_first() {
        let c = cal();
        let mut data = complete();
        data.wishes = vec![Wish {
            date: d(11, 26),
            time: Some(WishTime::At(t(9, 30))),
        }];
        let (offered, _) = run(&Request::new(), Event::Request(data), &HashSet::new());
        assert_eq!(offered.offered, vec![Slot::new(d(11, 26), t(9, 30))]);
        assert_eq!(
            next_timer(&offered, &c),
            Some((c.instant(d(11, 26), NaiveTime::MIN), Event::LapseDue))
        );
    }

    #[test]
    fn nothing_free_goes_to_staff() {
        let c = cal();
        let full: HashSet<Slot> = c.bookable_slots(now()).into_iter().collect();
        let (r, fx) = run(&Request::new(), Event::Request(complete()), &full);
        assert_eq!(r.state, State::NeedsStaff);
        assert_eq!(
            fx,
            vec![
                Effect::Holding,
                Effect::NotifyStaff(StaffReason::NoFreeSlots)
            ]
        );
    }

    #[test]
    fn illegal_transitions_are_errors() {
        let c = cal();
        let full = HashSet::new();
        let ctx = Context {
            cal: &c,
            now: now(),
            full: &full,
        };
        assert!(step(&Request::new(), Event::FollowUpDue, &ctx).is_err());
        assert!(step(&Request::new(), Event::Reply(ReplyIntent::Agree), &ctx).is_err());
        let booked = Request {
            state: State::Booked,
            ..Request::new()
        };
        assert!(step(&booked, Event::LapseDue, &ctx).is_err());
        assert!(step(&booked, Event::SlotTaken, &ctx).is_err());
    }

    #[test]
    fn remaining_transitions() {
        let (offered, _) = run(&Request::new(), Event::Request(complete()), &HashSet::new());
        // A reply naming a slot that was not offered gets an offer of it.
        let other = ReplyIntent::Other(vec![Wish {
            date: d(12, 4),
            time: Some(WishTime::At(t(13, 30))),
        }]);
        let (r, fx) = run(&offered, Event::Reply(other), &HashSet::new());
        assert_eq!(r.state, State::Offered);
        assert_eq!(
            fx,
            vec![Effect::Offer {
                slots: vec![Slot::new(d(12, 4), t(13, 30))],
                reason: OfferReason::NewWish
            }]
        );
        // A reply naming only a day re-offers that day.
        let day = ReplyIntent::Other(vec![Wish {
            date: d(12, 4),
            time: None,
        }]);
        let (r, fx) = run(&offered, Event::Reply(day), &HashSet::new());
        assert_eq!(r.state, State::Offered);
        assert!(
            matches!(&fx[0], Effect::Offer { slots, reason: OfferReason::NewWish } if slots.len() == 4)
        );
        // After the follow-up a choice still books.
        let (followed, _) = run(&offered, Event::FollowUpDue, &HashSet::new());
        let (r, _) = run(
            &followed,
            Event::Reply(ReplyIntent::Choose(1)),
            &HashSet::new(),
        );
        assert_eq!(r.state, State::Booked);
        // The follow-up goes out once.
        let c = cal();
        let ctx_full = HashSet::new();
        let ctx = Context {
            cal: &c,
            now: now(),
            full: &ctx_full,
        };
        assert!(step(&followed, Event::FollowUpDue, &ctx).is_err());
        // A reply after lapsing is a new attempt.
        let (lapsed, _) = run(&followed, Event::LapseDue, &HashSet::new());
        let (r, fx) = run(&lapsed, Event::Reply(ReplyIntent::Agree), &HashSet::new());
        assert_eq!(r.state, State::Offered);
        assert!(matches!(
            &fx[0],
            Effect::Offer {
                reason: OfferReason::Request,
                ..
            }
        ));
        // A new request after withdrawing is offered again; a reply goes to staff.
        let (withdrawn, _) = run(
            &offered,
            Event::Reply(ReplyIntent::Decline),
            &HashSet::new(),
        );
        let (r, fx) = run(
            &withdrawn,
            Event::Reply(ReplyIntent::Agree),
            &HashSet::new(),
        );
        assert_eq!(
            (r.state, fx),
            (
                State::NeedsStaff,
                vec![Effect::NotifyStaff(StaffReason::AfterClose)]
            )
        );
        let (r, _) = run(&withdrawn, Event::Request(complete()), &HashSet::new());
        assert_eq!(r.state, State::Offered);
        // Staff cases stay with staff.
        let staff = Request {
            state: State::NeedsStaff,
            ..offered.clone()
        };
        let (r, fx) = run(&staff, Event::Request(complete()), &HashSet::new());
        assert_eq!(
            (r.state, fx),
            (
                State::NeedsStaff,
                vec![Effect::NotifyStaff(StaffReason::AfterClose)]
            )
        );
    }

    #[test]
    fn state_names_round_trip() {
        for s in [
            State::New,
            State::AwaitingInfo,
            State::Offered,
            State::FollowedUp,
            State::Booked,
            State::Lapsed,
            State::Withdrawn,
            State::NeedsStaff,
        ] {
            assert_eq!(State::parse(s.as_str()), Some(s));
        }
    }
}
