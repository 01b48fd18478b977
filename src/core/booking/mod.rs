//! The booking state machine. One `match (state, event)` in [`step`] decides
//! every transition; what must happen in the world comes back as
//! [`Effect`]s for the daemon to carry out (in one transaction with the
//! state change). An event that makes no sense in a state is a typed error.

use crate::core::calendar::{Calendar, Slot};
use crate::core::understand::{BookingRequest, Item, ReplyIntent, Wish, WishTime};
use chrono::{DateTime, NaiveTime, Utc};
use std::collections::HashSet;
use std::fmt;

mod effects;
mod freed;
mod schedule;
mod status;

pub use effects::{By, Effect, HoldingReason, OfferReason, StaffReason};

use freed::{answer_freed, day_closed, freed_taken, offer_freed};
pub use freed::{waitlist_left, waits_for, WaitOutcome};
pub use schedule::*;
pub use status::*;

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
    /// The booking was cancelled (by the seeker's mail or by staff).
    Cancelled,
    /// Staff recorded that the seeker attended.
    Attended,
    /// No attendance and no cancellation 10 minutes after the start (第6条(5)).
    NoShow,
    /// Staff dealt with it outside the bot.
    Closed,
}

impl State {
    /// Every state, in the order of the flow.
    pub const ALL: [State; 12] = [
        State::New,
        State::AwaitingInfo,
        State::Offered,
        State::FollowedUp,
        State::Booked,
        State::Lapsed,
        State::Withdrawn,
        State::NeedsStaff,
        State::Cancelled,
        State::Attended,
        State::NoShow,
        State::Closed,
    ];

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
            State::Cancelled => "cancelled",
            State::Attended => "attended",
            State::NoShow => "no_show",
            State::Closed => "closed",
        }
    }

    /// The states in which a request waits for the seeker's answer: the
    /// one home of "open" for a seeker's next mail (a new request while one
    /// of these stands is read against it).
    pub const WAITING_FOR_SEEKER: [State; 3] =
        [State::AwaitingInfo, State::Offered, State::FollowedUp];

    /// Whether the request waits for the seeker.
    pub fn waits_for_seeker(self) -> bool {
        State::WAITING_FOR_SEEKER.contains(&self)
    }

    /// Whether the request is still open: waiting for the seeker or for
    /// staff, nothing booked and nothing ended (the page offers 対応済み).
    pub fn is_open(self) -> bool {
        self.waits_for_seeker() || self == State::NeedsStaff
    }

    /// Whether staff may close it by hand (yoyaku close): anything but a
    /// booking, which is cancelled instead.
    pub fn staff_may_close(self) -> bool {
        self != State::Booked
    }

    /// The stored name back to the state (the inverse of `as_str`).
    pub fn parse(s: &str) -> Option<State> {
        State::ALL.into_iter().find(|state| state.as_str() == s)
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
    pub booked_at: Option<DateTime<Utc>>,
    pub reminded_at: Option<DateTime<Utc>>,
    /// The last mail from the seeker while booked: contact, for the no-show rule.
    pub contact_at: Option<DateTime<Utc>>,
    /// A slot they wished for that freed up and was offered to them while
    /// they held an offer of others or a later booking (キャンセル待ち).
    pub waitlist: Option<Slot>,
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
            booked_at: None,
            reminded_at: None,
            contact_at: None,
            waitlist: None,
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
    SlotTaken(Slot),
    /// The office closed the booked day (臨時閉庁): the booking is cancelled
    /// with an apology that offers the nearest free slots.
    DayClosed,
    /// A booked slot was freed (a cancellation): offered to those who
    /// wished for it and could not have it.
    SlotFreed(Slot),
    FollowUpDue,
    LapseDue,
    /// The seeker asks by mail to cancel the booking.
    Cancel,
    /// The seeker asks by mail to move the booking to these wishes.
    Change(Vec<Wish>),
    /// The seeker mentioned someone or something needed at the session
    /// (通訳, 手話, 介助 …; 第12条(3)), by key.
    Needs(Vec<String>),
    /// The business day before the session.
    ReminderDue,
    /// The grace minutes after the start have passed.
    NoShowDue,
    /// What staff did on the command line.
    Staff(StaffAction),
}

/// Staff verbs that change a request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum StaffAction {
    /// A session agreed during a consultation (第6条(4)): booked at once,
    /// without consent round trip or previous-day cutoff.
    Book(Slot, Box<BookingRequest>),
    Cancel,
    Attended,
    NoShow,
    /// A no-show corrected to an excused absence (not counted for the limit).
    Excuse,
    /// Handled outside the bot; nothing more to do.
    Close,
}

impl Event {
    pub fn name(&self) -> &'static str {
        match self {
            Event::Request(_) => "request",
            Event::Reply(_) => "reply",
            Event::ForeignReply => "foreign_reply",
            Event::SlotTaken(_) => "slot_taken",
            Event::SlotFreed(_) => "slot_freed",
            Event::DayClosed => "day_closed",
            Event::FollowUpDue => "follow_up_due",
            Event::LapseDue => "lapse_due",
            Event::Cancel => "cancel",
            Event::Change(_) => "change",
            Event::Needs(_) => "needs",
            Event::ReminderDue => "reminder_due",
            Event::NoShowDue => "no_show_due",
            Event::Staff(StaffAction::Book(..)) => "staff_book",
            Event::Staff(StaffAction::Cancel) => "staff_cancel",
            Event::Staff(StaffAction::Attended) => "staff_attended",
            Event::Staff(StaffAction::NoShow) => "staff_no_show",
            Event::Staff(StaffAction::Excuse) => "staff_excused",
            Event::Staff(StaffAction::Close) => "staff_close",
        }
    }

    /// Mail written by the seeker (as opposed to timers and staff).
    fn is_seekers_mail(&self) -> bool {
        matches!(
            self,
            Event::Request(_) | Event::Reply(_) | Event::Cancel | Event::Change(_)
        )
    }
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("no transition from state {state} on event {event}")]
pub struct TransitionError {
    pub state: State,
    pub event: &'static str,
}

/// The office's rules that are settings, not law.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Rules {
    /// Local time of the reminder on the business day before a session;
    /// `None` turns reminders off.
    pub reminder_at: Option<NaiveTime>,
    /// Minutes after the start without attendance that make a no-show (第6条(5)).
    pub no_show_after_minutes: i64,
    /// Unexcused no-shows after which new requests go to staff.
    pub no_show_limit: u32,
}

impl Default for Rules {
    fn default() -> Self {
        Rules {
            reminder_at: NaiveTime::from_hms_opt(8, 0, 0),
            no_show_after_minutes: 10,
            no_show_limit: 2,
        }
    }
}

/// What the office's records say about the seeker of a request.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Standing {
    pub refused: bool,
    pub unexcused_no_shows: u32,
}

/// Everything outside the request that a decision depends on.
pub struct Context<'a> {
    pub cal: &'a Calendar,
    pub now: DateTime<Utc>,
    /// Slots with every room booked.
    pub full: &'a HashSet<Slot>,
    pub rules: &'a Rules,
    pub standing: Standing,
    /// The mail carries the request's secret (a reply to one of our mails,
    /// the reference in the subject, the reservation number). Without it,
    /// mail from the bound address may still be forged: consent and
    /// cancellation are then asked to be confirmed by reply.
    pub trusted: bool,
    /// The "what is missing" notices (`missing_notice_variant`) sent to the
    /// request's address within `NOTICE_WINDOW_HOURS`: the same one is not
    /// sent again, so a seeker (or a loop) repeating an incomplete mail
    /// gets it once a day.
    pub told_today: &'a [String],
    /// Mail to the seeker's address arrives: false after a permanent
    /// delivery failure, until staff have phoned (`core::bounce`).
    pub reachable: bool,
}

/// How long the same "what is missing" notice is not repeated to an address.
pub const NOTICE_WINDOW_HOURS: i64 = 24;

/// The items a "what is missing" notice asks for, by key: the missing ones,
/// and the 求職番号 again when the one given was malformed.
pub fn missing_notice_keys(missing: &[Item], data: &BookingRequest) -> Vec<&'static str> {
    let mut keys: Vec<&'static str> = missing.iter().map(|m| m.key()).collect();
    if data.invalid_seeker_number.is_some() && !keys.contains(&"seeker_number") {
        keys.push("seeker_number");
    }
    keys
}

/// Which "what is missing" notice this is, for the once-a-day rule.
pub fn missing_notice_variant(missing: &[Item], data: &BookingRequest) -> String {
    missing_notice_keys(missing, data).join(",")
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
    let name = event.name();
    let mut next = req.clone();
    if event.is_seekers_mail() && req.state == Booked {
        next.contact_at = Some(ctx.now);
    }
    // 第12条(1): a refused seeker's mail goes to staff, whatever it says.
    if ctx.standing.refused && event.is_seekers_mail() {
        if req.state != Booked {
            next.state = NeedsStaff;
        }
        return Ok((
            next,
            vec![
                Effect::Holding(HoldingReason::StaffWillContact),
                Effect::NotifyStaff(StaffReason::Refused),
            ],
        ));
    }
    let effects = match (req.state, event) {
        (_, Event::Needs(needs)) => add_needs(req, &mut next, needs),
        (New | AwaitingInfo, Event::Request(data)) => gather_items(&mut next, data, ctx),
        (Offered | FollowedUp, Event::Reply(intent)) => answer_offer(req, &mut next, intent, ctx),
        (Offered | FollowedUp, Event::Cancel) => {
            next.state = Withdrawn;
            vec![Effect::AcknowledgeWithdrawal]
        }
        (Offered | FollowedUp, Event::Change(wishes)) => {
            if !wishes.is_empty() {
                next.data.wishes = wishes;
            }
            offer(&mut next, ctx, OfferReason::NewWish)
        }
        (Offered | FollowedUp | Booked, Event::SlotTaken(slot)) if req.waitlist == Some(slot) => {
            freed_taken(&mut next, slot)
        }
        (Offered | FollowedUp, Event::SlotTaken(_)) => offer(&mut next, ctx, OfferReason::Taken),
        (_, Event::SlotFreed(slot)) => offer_freed(req, &mut next, slot, ctx),
        (Booked, Event::DayClosed) => day_closed(req, &mut next, ctx),
        (_, Event::DayClosed) => vec![],
        (Booked, Event::Reply(intent)) if req.waitlist.is_some() && ctx.trusted => {
            answer_freed(req, &mut next, intent, ctx)
        }
        (Offered, Event::FollowUpDue) => {
            next.state = FollowedUp;
            next.followed_up_at = Some(ctx.now);
            vec![Effect::FollowUp]
        }
        (Offered | FollowedUp, Event::LapseDue) => {
            next.state = Lapsed;
            vec![Effect::Lapse]
        }
        (Booked, Event::Cancel | Event::Change(_)) if on_or_after_day(req, ctx) => {
            vec![
                Effect::RefuseSameDayCancel,
                Effect::NotifyStaff(StaffReason::SameDayCancel),
            ]
        }
        (Booked, Event::Cancel | Event::Change(_)) if !ctx.trusted => {
            vec![Effect::AskConfirmByReply]
        }
        (Booked, Event::Cancel) => {
            cancelled(&mut next);
            vec![Effect::CancelBooking {
                by: By::Seeker,
                notify: true,
            }]
        }
        (Booked, Event::Change(wishes)) => move_booking(req, &mut next, wishes, ctx),
        (Booked, Event::ReminderDue) => {
            next.reminded_at = Some(ctx.now);
            vec![Effect::Remind]
        }
        (Booked, Event::NoShowDue) => no_show(req, &mut next, ctx),
        (state, Event::Staff(action)) => match staff_step(state, &mut next, action, ctx) {
            Some(effects) => effects,
            None => return Err(TransitionError { state, event: name }),
        },
        // A reply after the request lapsed is a new attempt with what we know.
        (Lapsed, Event::Reply(intent)) => {
            if let ReplyIntent::Other(wishes) = intent {
                next.data.wishes = wishes;
            }
            offer_or_hold(&mut next, ctx, OfferReason::Request)
        }
        // After a finished booking, new dates in the thread are the next session.
        (Cancelled | Attended | NoShow, Event::Reply(ReplyIntent::Other(wishes))) => {
            next.data.wishes = wishes;
            next.booked = None;
            offer_or_hold(&mut next, ctx, OfferReason::Request)
        }
        (Lapsed | Withdrawn | Cancelled | Attended | NoShow, Event::Request(data)) => {
            next.data.merge(data);
            next.booked = None;
            offer_or_hold(&mut next, ctx, OfferReason::Request)
        }
        (Booked, Event::Reply(_) | Event::Request(_)) => {
            vec![
                Effect::AcknowledgeBooked,
                Effect::NotifyStaff(StaffReason::AfterBooking),
            ]
        }
        (
            Withdrawn | NeedsStaff | Closed | Cancelled | Attended | NoShow,
            Event::Reply(_) | Event::Request(_) | Event::Cancel | Event::Change(_),
        ) => {
            next.state = NeedsStaff;
            vec![Effect::NotifyStaff(StaffReason::AfterClose)]
        }
        (_, Event::ForeignReply) => vec![Effect::NotifyStaff(StaffReason::ForeignSender)],
        (state, _) => return Err(TransitionError { state, event: name }),
    };
    let mut effects = effects;
    let needs_told = effects.contains(&Effect::NotifyStaff(StaffReason::Needs));
    if next.data.needs.len() > req.data.needs.len() && !needs_told {
        effects.push(Effect::NotifyStaff(StaffReason::Needs));
    }
    if !ctx.reachable {
        effects = effects
            .into_iter()
            .filter_map(Effect::without_mail)
            .collect();
    }
    Ok((next, effects))
}

/// What staff do to a request (the command line, the page); `None` when the
/// action does not apply in `state`.
fn staff_step(
    state: State,
    next: &mut Request,
    action: StaffAction,
    ctx: &Context<'_>,
) -> Option<Vec<Effect>> {
    use State::*;
    Some(match (state, action) {
        (Booked, StaffAction::Cancel) => {
            cancelled(next);
            vec![Effect::CancelBooking {
                by: By::Staff,
                notify: true,
            }]
        }
        (Booked | NoShow, StaffAction::Attended) => {
            next.state = Attended;
            vec![Effect::RecordAttended]
        }
        (NoShow, StaffAction::Excuse) => vec![Effect::RecordExcused],
        (Booked, StaffAction::NoShow) => {
            next.state = NoShow;
            vec![Effect::RecordNoShow { excused: false }]
        }
        (New, StaffAction::Book(slot, data)) => {
            next.data = *data;
            next.state = Booked;
            next.booked = Some(slot);
            next.booked_at = Some(ctx.now);
            vec![Effect::StaffBook(slot)]
        }
        (state, StaffAction::Close) if state.staff_may_close() => {
            next.state = Closed;
            next.offered.clear();
            next.waitlist = None;
            vec![]
        }
        _ => return None,
    })
}

/// Staff needs (配慮事項) not yet known are added and told to staff.
fn add_needs(req: &Request, next: &mut Request, needs: Vec<String>) -> Vec<Effect> {
    let new: Vec<String> = needs
        .into_iter()
        .filter(|n| !req.data.needs.contains(n))
        .collect();
    if new.is_empty() {
        return vec![];
    }
    next.data.needs.extend(new);
    vec![Effect::NotifyStaff(StaffReason::Needs)]
}

/// A request still gathering its items: ask for what is missing (once a
/// day per kind of notice), else offer.
fn gather_items(next: &mut Request, data: BookingRequest, ctx: &Context<'_>) -> Vec<Effect> {
    next.data.merge(data);
    let missing = next.data.missing();
    if missing.is_empty() && next.data.invalid_seeker_number.is_none() {
        return offer_or_hold(next, ctx, OfferReason::Request);
    }
    next.state = State::AwaitingInfo;
    let variant = missing_notice_variant(&missing, &next.data);
    if ctx.told_today.contains(&variant) {
        vec![]
    } else {
        vec![Effect::AskMissing { missing }]
    }
}

/// The seeker's answer to an open offer: consent to a slot, new dates, a
/// decline, or something a person must read.
fn answer_offer(
    req: &Request,
    next: &mut Request,
    intent: ReplyIntent,
    ctx: &Context<'_>,
) -> Vec<Effect> {
    match intent {
        ReplyIntent::Choose(n) => match req.offered.get(n.wrapping_sub(1)) {
            Some(&slot) if ctx.free(slot) && !ctx.trusted => confirm_first(next, slot),
            Some(&slot) if ctx.free(slot) => book(next, slot, ctx.now),
            Some(&slot) if req.waitlist == Some(slot) => freed_taken(next, slot),
            _ => offer(next, ctx, OfferReason::Taken),
        },
        ReplyIntent::Agree => {
            let wished = req.offered.iter().copied().find(|s| {
                req.data
                    .wishes
                    .iter()
                    .any(|w| w.date == s.date && w.time == Some(WishTime::At(s.start)))
            });
            let only = if req.offered.len() == 1 {
                req.offered.first().copied()
            } else {
                None
            };
            // A yes to the mail about a freed slot (the latest) means that slot.
            let freed = req.waitlist.filter(|s| req.offered.contains(s));
            match freed.or(wished).or(only) {
                Some(slot) if ctx.free(slot) && !ctx.trusted => confirm_first(next, slot),
                Some(slot) if ctx.free(slot) => book(next, slot, ctx.now),
                Some(slot) if req.waitlist == Some(slot) => freed_taken(next, slot),
                Some(_) => offer(next, ctx, OfferReason::Taken),
                None => vec![Effect::AskWhich],
            }
        }
        // Dates that were not offered: an offer for them. Booking a slot
        // the seeker has not seen offered risks booking a misreading.
        ReplyIntent::Other(wishes) => {
            next.data.wishes = wishes;
            offer(next, ctx, OfferReason::NewWish)
        }
        ReplyIntent::Decline => {
            next.state = State::Withdrawn;
            vec![Effect::AcknowledgeWithdrawal]
        }
        // The offer stays open (and its timers run); a person answers.
        ReplyIntent::Unclear => vec![
            Effect::Forwarded,
            Effect::NotifyStaff(StaffReason::Question),
        ],
    }
}

/// A change of a booking by mail (before its day, trusted): the booking is
/// cancelled and other slots offered, unless there are none to offer.
fn move_booking(
    req: &Request,
    next: &mut Request,
    wishes: Vec<Wish>,
    ctx: &Context<'_>,
) -> Vec<Effect> {
    let wishes = if wishes.is_empty() {
        req.data.wishes.clone()
    } else {
        wishes
    };
    // The seeker's own slot counts as free: it is theirs to move from.
    let freed: HashSet<Slot> = ctx
        .full
        .iter()
        .copied()
        .filter(|s| Some(*s) != req.booked)
        .collect();
    let widened = Context {
        full: &freed,
        ..*ctx
    };
    let alternatives: Vec<Slot> = offer_slots(&wishes, &req.data.excluded, &widened)
        .into_iter()
        .filter(|s| Some(*s) != req.booked)
        .collect();
    if alternatives.is_empty() {
        // Moving to nothing would leave the seeker with nothing:
        // the booking stands and a person answers.
        return vec![
            Effect::AcknowledgeBooked,
            Effect::NotifyStaff(StaffReason::AfterBooking),
        ];
    }
    next.data.wishes = wishes;
    cancelled(next);
    next.state = State::Offered;
    next.offered = alternatives.clone();
    next.offered_at = Some(ctx.now);
    next.followed_up_at = None;
    vec![
        Effect::CancelBooking {
            by: By::Seeker,
            notify: false,
        },
        Effect::Offer {
            slots: alternatives,
            reason: OfferReason::Change,
        },
    ]
}

/// 10 minutes past the start with no attendance recorded (第6条(5)): a no-show,
/// excused when the seeker wrote on the day.
fn no_show(req: &Request, next: &mut Request, ctx: &Context<'_>) -> Vec<Effect> {
    next.state = State::NoShow;
    let day = req.booked.map(|s| s.date);
    let excused = req
        .contact_at
        .is_some_and(|c| Some(ctx.cal.local_date(c)) == day);
    vec![
        Effect::RecordNoShow { excused },
        Effect::NotifyStaff(StaffReason::NoShow),
    ]
}

/// Whether the booked session is today or already begun: a cancellation by
/// mail no longer counts (当日キャンセルは電話のみ).
fn on_or_after_day(req: &Request, ctx: &Context<'_>) -> bool {
    req.booked
        .is_some_and(|s| ctx.cal.local_date(ctx.now) >= s.date)
}

fn cancelled(next: &mut Request) {
    next.state = State::Cancelled;
    next.waitlist = None;
    next.booked = None;
    next.offered.clear();
}

/// The chosen slot offered alone: the reply to this mail books it. The
/// offer's timers keep running from the first offer.
fn confirm_first(next: &mut Request, slot: Slot) -> Vec<Effect> {
    next.state = State::Offered;
    next.offered = vec![slot];
    vec![Effect::Offer {
        slots: vec![slot],
        reason: OfferReason::Confirm,
    }]
}

fn book(next: &mut Request, slot: Slot, now: DateTime<Utc>) -> Vec<Effect> {
    next.state = State::Booked;
    next.waitlist = None;
    next.booked = Some(slot);
    next.booked_at = Some(now);
    next.reminded_at = None;
    next.contact_at = None;
    vec![Effect::Book(slot)]
}

/// An offer for a new request, unless the seeker reached the no-show limit.
fn offer_or_hold(next: &mut Request, ctx: &Context<'_>, reason: OfferReason) -> Vec<Effect> {
    if ctx.standing.unexcused_no_shows >= ctx.rules.no_show_limit {
        next.state = State::NeedsStaff;
        next.offered.clear();
        return vec![
            Effect::Holding(HoldingReason::StaffWillContact),
            Effect::NotifyStaff(StaffReason::NoShowLimit),
        ];
    }
    offer(next, ctx, reason)
}

fn offer(next: &mut Request, ctx: &Context<'_>, reason: OfferReason) -> Vec<Effect> {
    let wishes = next.data.wishes.clone();
    offer_near(next, &wishes, ctx, reason)
}

/// The free slots nearest `wishes` offered, or staff told there are none.
fn offer_near(
    next: &mut Request,
    wishes: &[Wish],
    ctx: &Context<'_>,
    reason: OfferReason,
) -> Vec<Effect> {
    next.waitlist = None;
    let slots = offer_slots(wishes, &next.data.excluded, ctx);
    if slots.is_empty() {
        next.state = State::NeedsStaff;
        next.offered.clear();
        return vec![
            Effect::Holding(HoldingReason::NoFreeSlots),
            Effect::NotifyStaff(StaffReason::NoFreeSlots),
        ];
    }
    next.state = State::Offered;
    next.offered = slots.clone();
    next.offered_at = Some(ctx.now);
    next.followed_up_at = None;
    vec![Effect::Offer { slots, reason }]
}

#[cfg(test)]
mod tests {
    #[test]
    fn a_booking_status_changes_only_by_its_transitions() {
        use BookingOutcome as O;
        use BookingStatus as B;
        for st in B::ALL {
            assert_eq!(B::parse(st.as_str()), Some(st));
        }
        assert_eq!(B::parse("booked"), None);
        assert_eq!(B::Confirmed.after(O::Cancel), Some(B::Cancelled));
        assert_eq!(B::Confirmed.after(O::NoShow), Some(B::NoShow));
        assert_eq!(B::NoShow.after(O::Attend), Some(B::Attended));
        assert_eq!(B::NoShow.after(O::Cancel), None);
        assert_eq!(B::Cancelled.after(O::Attend), None);
        assert_eq!(B::Attended.after(O::NoShow), None);
    }

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
            rules: &Rules::default(),
            standing: Standing::default(),
            trusted: true,
            told_today: &[],
            reachable: true,
        };
        step(req, ev, &ctx).expect("legal transition")
    }

    /// The same "what is missing" notice goes to an address once a day; a
    /// different one (other items missing) still goes.
    #[test]
    fn a_missing_notice_is_not_repeated_the_same_day() {
        let mut data = complete();
        data.seeker_number = None;
        let variant = missing_notice_variant(&data.missing(), &data);
        assert_eq!(variant, "seeker_number");
        let c = cal();
        let told = vec![variant];
        let ctx = Context {
            cal: &c,
            now: now(),
            full: &HashSet::new(),
            rules: &Rules::default(),
            standing: Standing::default(),
            trusted: true,
            told_today: &told,
            reachable: true,
        };
        let (r, fx) = step(&Request::new(), Event::Request(data.clone()), &ctx).expect("step");
        assert_eq!((r.state, fx), (State::AwaitingInfo, vec![]));
        data.name = None;
        let (_, fx) = step(&Request::new(), Event::Request(data), &ctx).expect("step");
        assert_eq!(
            fx,
            vec![Effect::AskMissing {
                missing: vec![Item::Name, Item::SeekerNumber]
            }]
        );
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

    /// キャンセル待ち: a seeker whose wished slot was full is offered it when
    /// it frees (as one more option, or beside a later booking); the first
    /// reply takes it, a later one keeps what it had.
    #[test]
    fn a_freed_slot_goes_to_those_who_wished_for_it() {
        let wished = Slot::new(d(12, 3), t(11, 0));
        let full: HashSet<Slot> = [wished].into();
        let (offered, _) = run(&Request::new(), Event::Request(complete()), &full);
        assert!(waits_for(&offered, wished));
        let n = offered.offered.len();
        // Still full: nothing is offered.
        let (same, fx) = run(&offered, Event::SlotFreed(wished), &full);
        assert_eq!((same.clone(), fx), (offered.clone(), vec![]));
        let (told, fx) = run(&offered, Event::SlotFreed(wished), &HashSet::new());
        assert_eq!(
            fx,
            vec![Effect::OfferFreed {
                slot: wished,
                option: Some(n + 1)
            }]
        );
        assert_eq!(told.offered.len(), n + 1);
        assert!(!waits_for(&told, wished), "offered once");
        // A yes books the freed slot; taken meanwhile, the rest of the offer stands.
        let (booked, fx) = run(&told, Event::Reply(ReplyIntent::Agree), &HashSet::new());
        assert_eq!(
            (booked.state, fx),
            (State::Booked, vec![Effect::Book(wished)])
        );
        let (kept, fx) = run(&told, Event::Reply(ReplyIntent::Choose(n + 1)), &full);
        assert_eq!(fx, vec![Effect::FreedTaken { slot: wished }]);
        assert_eq!(
            (kept.state, kept.offered.clone()),
            (State::Offered, offered.offered.clone())
        );
        let (kept2, fx) = run(&told, Event::SlotTaken(wished), &full);
        assert_eq!(
            (kept2.offered, fx),
            (
                offered.offered.clone(),
                vec![Effect::FreedTaken { slot: wished }]
            )
        );

        // Booked later than the wish: offered beside the booking; yes moves it.
        let later = Slot::new(d(12, 4), t(11, 0));
        let booked_later = Request {
            state: State::Booked,
            booked: Some(later),
            booked_at: Some(now()),
            ..offered.clone()
        };
        assert!(waits_for(&booked_later, wished));
        let (beside, fx) = run(&booked_later, Event::SlotFreed(wished), &HashSet::new());
        assert_eq!(
            fx,
            vec![Effect::OfferFreed {
                slot: wished,
                option: None
            }]
        );
        assert_eq!(beside.booked, Some(later));
        let (moved, fx) = run(&beside, Event::Reply(ReplyIntent::Agree), &HashSet::new());
        assert_eq!(moved.booked, Some(wished));
        assert_eq!(
            fx,
            vec![
                Effect::Book(wished),
                Effect::CancelBooking {
                    by: By::Seeker,
                    notify: false
                }
            ]
        );
        let (stays, fx) = run(&beside, Event::Reply(ReplyIntent::Agree), &full);
        assert_eq!(
            (stays.booked, stays.waitlist, fx),
            (Some(later), None, vec![Effect::FreedTaken { slot: wished }])
        );
        let (no, fx) = run(&beside, Event::Reply(ReplyIntent::Decline), &HashSet::new());
        assert_eq!(
            (no.state, no.booked, no.waitlist, fx),
            (State::Booked, Some(later), None, vec![])
        );
        // Booked on the wished day or earlier: not waiting.
        let (on_wish, _) = run(&offered, Event::Reply(ReplyIntent::Choose(1)), &full);
        if on_wish.booked.is_some_and(|b| b.date <= wished.date) {
            assert!(!waits_for(&on_wish, wished));
        }
    }

    /// Past its previous-day cutoff a freed slot is not offered.
    #[test]
    fn a_freed_slot_past_its_cutoff_is_not_offered() {
        let wished = Slot::new(d(12, 3), t(11, 0));
        let (offered, _) = run(
            &Request::new(),
            Event::Request(complete()),
            &[wished].into(),
        );
        let late = jst(12, 3, 8, 0);
        let (same, fx) = step(
            &offered,
            Event::SlotFreed(wished),
            &at_time(late, &HashSet::new(), Standing::default()),
        )
        .expect("step");
        assert_eq!((same, fx), (offered, vec![]));
    }

    /// A closed day: the booking cancelled by the office, the nearest free
    /// slots offered, none on the closed day.
    #[test]
    fn a_closed_day_cancels_and_offers_the_nearest_slots() {
        let booked = booked_on_dec_3();
        let mut c = cal();
        c.closures.insert(d(12, 3), "大雪のため".into());
        let rules = Rules::default();
        let ctx = Context {
            cal: &c,
            now: now(),
            full: &HashSet::new(),
            rules: &rules,
            standing: Standing::default(),
            trusted: true,
            told_today: &[],
            reachable: true,
        };
        let (next, fx) = step(&booked, Event::DayClosed, &ctx).expect("step");
        assert_eq!(next.state, State::Offered);
        assert_eq!(
            fx[0],
            Effect::CancelBooking {
                by: By::Staff,
                notify: false
            }
        );
        let Effect::Offer {
            slots,
            reason: OfferReason::Closure,
        } = &fx[1]
        else {
            panic!("expected an offer: {fx:?}")
        };
        assert!(!slots.is_empty() && slots.iter().all(|s| s.date != d(12, 3)));
        assert!(slots
            .iter()
            .any(|s| s.date == d(12, 2) || s.date == d(12, 4)));
        assert_eq!(next.data.wishes, booked.data.wishes);
        // Nothing booked there: nothing to do.
        let (same, fx) = step(&next, Event::DayClosed, &ctx).expect("step");
        assert_eq!((same, fx), (next, vec![]));
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
            Event::SlotTaken(Slot::new(d(12, 3), t(11, 0))),
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
        let (due, ev) = next_timer(&offered, &c, &Rules::default()).expect("timer");
        assert_eq!(ev, Event::FollowUpDue);
        // Wed 11-25 10:00 + 3 business days = Mon 11-30 10:00.
        assert_eq!(due, c.instant(d(11, 30), t(10, 0)));
        let (followed, fx) = run(&offered, Event::FollowUpDue, &HashSet::new());
        assert_eq!(fx, vec![Effect::FollowUp]);
        let (due, ev) = next_timer(&followed, &c, &Rules::default()).expect("timer");
        assert_eq!(ev, Event::LapseDue);
        // followed up "now" (Wed) -> end of Thu.
        assert_eq!(due, c.instant(d(11, 27), NaiveTime::MIN));
        let (lapsed, fx) = run(&followed, Event::LapseDue, &HashSet::new());
        assert_eq!(lapsed.state, State::Lapsed);
        assert_eq!(fx, vec![Effect::Lapse]);
        assert_eq!(next_timer(&lapsed, &c, &Rules::default()), None);
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
            next_timer(&offered, &c, &Rules::default()),
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
                Effect::Holding(HoldingReason::NoFreeSlots),
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
            rules: &Rules::default(),
            standing: Standing::default(),
            trusted: true,
            told_today: &[],
            reachable: true,
        };
        assert!(step(&Request::new(), Event::FollowUpDue, &ctx).is_err());
        assert!(step(&Request::new(), Event::Reply(ReplyIntent::Agree), &ctx).is_err());
        let booked = Request {
            state: State::Booked,
            ..Request::new()
        };
        assert!(step(&booked, Event::LapseDue, &ctx).is_err());
        assert!(step(
            &booked,
            Event::SlotTaken(Slot::new(d(12, 3), t(11, 0))),
            &ctx
        )
        .is_err());
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
            rules: &Rules::default(),
            standing: Standing::default(),
            trusted: true,
            told_today: &[],
            reachable: true,
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

    fn at_time(now: DateTime<Utc>, full: &HashSet<Slot>, standing: Standing) -> Context<'_> {
        // Leaked so the context can borrow them in tests.
        let cal: &'static Calendar = Box::leak(Box::new(cal()));
        let rules: &'static Rules = Box::leak(Box::new(Rules::default()));
        Context {
            cal,
            now,
            full,
            rules,
            standing,
            trusted: true,
            told_today: &[],
            reachable: true,
        }
    }

    fn jst(m: u32, day: u32, h: u32, min: u32) -> DateTime<Utc> {
        cal().instant(d(m, day), t(h, min))
    }

    fn booked_on_dec_3() -> Request {
        let (offered, _) = run(&Request::new(), Event::Request(complete()), &HashSet::new());
        let (booked, _) = run(
            &offered,
            Event::Reply(ReplyIntent::Choose(1)),
            &HashSet::new(),
        );
        assert_eq!(booked.booked, Some(Slot::new(d(12, 3), t(11, 0))));
        booked
    }

    #[test]
    fn cancel_before_the_day_and_refusal_on_the_day() {
        let booked = booked_on_dec_3();
        let none = HashSet::new();
        let before = at_time(jst(12, 2, 18, 0), &none, Standing::default());
        let (r, fx) = step(&booked, Event::Cancel, &before).expect("cancel");
        assert_eq!(r.state, State::Cancelled);
        assert_eq!(r.booked, None);
        assert_eq!(
            fx,
            vec![Effect::CancelBooking {
                by: By::Seeker,
                notify: true
            }]
        );
        let on_the_day = at_time(jst(12, 3, 8, 0), &none, Standing::default());
        let (r, fx) = step(&booked, Event::Cancel, &on_the_day).expect("same day");
        assert_eq!(r.state, State::Booked);
        assert!(r.contact_at.is_some());
        assert_eq!(
            fx,
            vec![
                Effect::RefuseSameDayCancel,
                Effect::NotifyStaff(StaffReason::SameDayCancel)
            ]
        );
        // A change is a cancellation: on the day, refused the same way.
        let (_, fx) = step(&booked, Event::Change(vec![]), &on_the_day).expect("change");
        assert_eq!(fx[0], Effect::RefuseSameDayCancel);
        // Staff may cancel on the day (the seeker phoned).
        let (r, fx) = step(&booked, Event::Staff(StaffAction::Cancel), &on_the_day).expect("staff");
        assert_eq!(r.state, State::Cancelled);
        assert_eq!(
            fx,
            vec![Effect::CancelBooking {
                by: By::Staff,
                notify: true
            }]
        );
    }

    #[test]
    fn change_cancels_and_offers_or_keeps_the_booking() {
        let booked = booked_on_dec_3();
        let wish = Wish {
            date: d(12, 4),
            time: Some(WishTime::At(t(13, 30))),
        };
        let full: HashSet<Slot> = [Slot::new(d(12, 3), t(11, 0))].into();
        let ctx = at_time(now(), &full, Standing::default());
        let (r, fx) = step(&booked, Event::Change(vec![wish.clone()]), &ctx).expect("change");
        assert_eq!(r.state, State::Offered);
        assert_eq!(
            fx,
            vec![
                Effect::CancelBooking {
                    by: By::Seeker,
                    notify: false
                },
                Effect::Offer {
                    slots: vec![Slot::new(d(12, 4), t(13, 30))],
                    reason: OfferReason::Change
                }
            ]
        );
        // Nothing free to move to: the booking stands, staff answer.
        let everything: HashSet<Slot> = cal().bookable_slots(now()).into_iter().collect();
        let ctx = at_time(now(), &everything, Standing::default());
        let (r, fx) = step(&booked, Event::Change(vec![wish]), &ctx).expect("change");
        assert_eq!(r.state, State::Booked);
        assert_eq!(fx[0], Effect::AcknowledgeBooked);
    }

    #[test]
    fn reminder_then_no_show_timer() {
        let c = cal();
        let rules = Rules::default();
        let booked = booked_on_dec_3();
        // Booked Wed 11-25 for Thu 12-3: the reminder on Wed 12-2 at 08:00.
        assert_eq!(
            next_timer(&booked, &c, &rules),
            Some((jst(12, 2, 8, 0), Event::ReminderDue))
        );
        let none = HashSet::new();
        let ctx = at_time(jst(12, 2, 10, 0), &none, Standing::default());
        let (reminded, fx) = step(&booked, Event::ReminderDue, &ctx).expect("remind");
        assert_eq!(fx, vec![Effect::Remind]);
        // Then the no-show check 10 minutes after the start.
        assert_eq!(
            next_timer(&reminded, &c, &rules),
            Some((jst(12, 3, 11, 10), Event::NoShowDue))
        );
        let ctx = at_time(jst(12, 3, 11, 10), &none, Standing::default());
        let (r, fx) = step(&reminded, Event::NoShowDue, &ctx).expect("no-show");
        assert_eq!(r.state, State::NoShow);
        assert_eq!(
            fx,
            vec![
                Effect::RecordNoShow { excused: false },
                Effect::NotifyStaff(StaffReason::NoShow)
            ]
        );
        // Contact on the day excuses it; attendance recorded stops the timer.
        let mut contacted = reminded.clone();
        contacted.contact_at = Some(jst(12, 3, 9, 0));
        let (_, fx) = step(&contacted, Event::NoShowDue, &ctx).expect("no-show");
        assert_eq!(fx[0], Effect::RecordNoShow { excused: true });
        let (attended, _) =
            step(&reminded, Event::Staff(StaffAction::Attended), &ctx).expect("attended");
        assert_eq!(attended.state, State::Attended);
        assert_eq!(next_timer(&attended, &c, &rules), None);
        // Reminders off, or booked on the reminder day: straight to the no-show check.
        let off = Rules {
            reminder_at: None,
            ..Rules::default()
        };
        assert_eq!(
            next_timer(&booked, &c, &off).map(|(_, e)| e),
            Some(Event::NoShowDue)
        );
        let mut late = booked.clone();
        late.booked_at = Some(jst(12, 2, 15, 0));
        assert_eq!(
            next_timer(&late, &c, &rules).map(|(_, e)| e),
            Some(Event::NoShowDue)
        );
    }

    #[test]
    fn no_show_limit_and_refusal_hold_new_requests() {
        let none = HashSet::new();
        let two = Standing {
            refused: false,
            unexcused_no_shows: 2,
        };
        let one = Standing {
            refused: false,
            unexcused_no_shows: 1,
        };
        let (r, _) = step(
            &Request::new(),
            Event::Request(complete()),
            &at_time(now(), &none, one),
        )
        .expect("request");
        assert_eq!(r.state, State::Offered);
        let (r, fx) = step(
            &Request::new(),
            Event::Request(complete()),
            &at_time(now(), &none, two),
        )
        .expect("request");
        assert_eq!(r.state, State::NeedsStaff);
        assert_eq!(
            fx,
            vec![
                Effect::Holding(HoldingReason::StaffWillContact),
                Effect::NotifyStaff(StaffReason::NoShowLimit)
            ]
        );
        let refused = Standing {
            refused: true,
            unexcused_no_shows: 0,
        };
        let (offered, _) = run(&Request::new(), Event::Request(complete()), &none);
        let (r, fx) = step(
            &offered,
            Event::Reply(ReplyIntent::Choose(1)),
            &at_time(now(), &none, refused),
        )
        .expect("reply");
        assert_eq!(r.state, State::NeedsStaff);
        assert_eq!(
            fx,
            vec![
                Effect::Holding(HoldingReason::StaffWillContact),
                Effect::NotifyStaff(StaffReason::Refused)
            ]
        );
    }

    #[test]
    fn needs_are_recorded_once_and_staff_told() {
        let (offered, _) = run(&Request::new(), Event::Request(complete()), &HashSet::new());
        let (r, fx) = run(
            &offered,
            Event::Needs(vec!["interpreter".into()]),
            &HashSet::new(),
        );
        assert_eq!(r.state, State::Offered);
        assert_eq!(r.data.needs, vec!["interpreter".to_string()]);
        assert_eq!(fx, vec![Effect::NotifyStaff(StaffReason::Needs)]);
        let (_, fx) = run(
            &r,
            Event::Needs(vec!["interpreter".into()]),
            &HashSet::new(),
        );
        assert!(fx.is_empty());
        // In a request, the need rides along with the offer.
        let mut data = complete();
        data.needs = vec!["sign_language".into()];
        let (r, fx) = run(&Request::new(), Event::Request(data), &HashSet::new());
        assert_eq!(r.state, State::Offered);
        assert!(fx.contains(&Effect::NotifyStaff(StaffReason::Needs)));
    }

    #[test]
    fn staff_booking_skips_consent_and_cutoff() {
        // Booked at 10:00 for 15:00 the same day: no cutoff for staff.
        let slot = Slot::new(d(11, 25), t(15, 0));
        let (r, fx) = run(
            &Request::new(),
            Event::Staff(StaffAction::Book(slot, Box::new(complete()))),
            &HashSet::new(),
        );
        assert_eq!(r.state, State::Booked);
        assert_eq!(fx, vec![Effect::StaffBook(slot)]);
        // A second session after attendance, by mail in the same thread.
        let (attended, _) = run(&r, Event::Staff(StaffAction::Attended), &HashSet::new());
        let wish = vec![Wish {
            date: d(12, 10),
            time: Some(WishTime::At(t(9, 30))),
        }];
        let (again, fx) = run(
            &attended,
            Event::Reply(ReplyIntent::Other(wish)),
            &HashSet::new(),
        );
        assert_eq!(again.state, State::Offered);
        assert!(matches!(fx[0], Effect::Offer { .. }));
        // Close is for what is not booked.
        let c = cal();
        let none = HashSet::new();
        let ctx = Context {
            cal: &c,
            now: now(),
            full: &none,
            rules: &Rules::default(),
            standing: Standing::default(),
            trusted: true,
            told_today: &[],
            reachable: true,
        };
        assert!(step(&r, Event::Staff(StaffAction::Close), &ctx).is_err());
        let (closed, _) = step(&again, Event::Staff(StaffAction::Close), &ctx).expect("close");
        assert_eq!(closed.state, State::Closed);
    }

    #[test]
    fn without_the_secret_consent_and_cancel_are_confirmed_by_reply() {
        let none = HashSet::new();
        let mut ctx = at_time(now(), &none, Standing::default());
        ctx.trusted = false;
        let mut whole_day = complete();
        whole_day.wishes = vec![Wish {
            date: d(12, 3),
            time: None,
        }];
        let (offered, _) = run(&Request::new(), Event::Request(whole_day), &none);
        assert_eq!(offered.offered.len(), 4);
        let (r, fx) = step(&offered, Event::Reply(ReplyIntent::Choose(2)), &ctx).expect("choose");
        assert_eq!(r.state, State::Offered);
        assert_eq!(r.offered, vec![Slot::new(d(12, 3), t(11, 0))]);
        assert_eq!(
            fx,
            vec![Effect::Offer {
                slots: vec![Slot::new(d(12, 3), t(11, 0))],
                reason: OfferReason::Confirm
            }]
        );
        // The reply to that mail carries the secret and books the one slot.
        let (booked, fx) = run(&r, Event::Reply(ReplyIntent::Agree), &none);
        assert_eq!(booked.state, State::Booked);
        assert_eq!(fx, vec![Effect::Book(Slot::new(d(12, 3), t(11, 0)))]);
        let (r, fx) = step(&booked, Event::Cancel, &ctx).expect("cancel");
        assert_eq!(r.state, State::Booked);
        assert_eq!(fx, vec![Effect::AskConfirmByReply]);
        let (r, fx) = step(&booked, Event::Change(vec![]), &ctx).expect("change");
        assert_eq!(r.state, State::Booked);
        assert_eq!(fx, vec![Effect::AskConfirmByReply]);
    }

    #[test]
    fn state_names_round_trip() {
        for s in State::ALL {
            assert_eq!(State::parse(s.as_str()), Some(s));
        }
    }
}
