//! The decision about one inbound mail, whole: whether it is read at all,
//! what a delivery failure means, whether its sender (or its 求職番号) is
//! over the daily limit, which request it belongs to (and whether it is
//! trusted there), what it says to that request, the state machine's step
//! on it, and what that step becomes when the slot it books is taken
//! meanwhile. Pure: the desk gathers [`Facts`] from the store
//! (`desk::gather`, which reads the mail once with [`understand`] and asks
//! [`lookups_of`] which seekers and addresses matter), calls [`decide_on`],
//! and carries out the [`Decision`] (`desk::decide`). The fuzzer and the
//! routing corpus call [`decide`] (both steps) on facts as the desk gathers
//! them.

use crate::core::booking::{
    self, Context, Effect, Event, Request, Standing, State, TransitionError,
};
use crate::core::bounce;
use crate::core::calendar::{Calendar, Slot};
use crate::core::lang::Lang;
use crate::core::quote::own_text;
use crate::core::route::{self, Addresses, Candidates, Envelope, Known, Limit, Reader, Screen};
use crate::core::understand::{
    parse_booked, parse_reply, parse_request, session_needs, BookedIntent, BookingRequest,
};
use chrono::{DateTime, Utc};
use std::collections::{HashMap, HashSet};

/// The inbound mail as the decision reads it.
#[derive(Debug, Clone, Copy)]
pub struct Mail<'a> {
    pub envelope: Envelope<'a>,
    pub from: &'a str,
    pub reply_to: Option<&'a str>,
    pub body: &'a str,
}

/// A request the mail could belong to, as the store has it.
#[derive(Debug, Clone)]
pub struct Held {
    pub machine: Request,
    pub address: String,
    /// The bodies of our mails to it: lines a reply repeats from them are
    /// not the seeker's words.
    pub ours: Vec<String>,
}

/// What the office's records say about one 求職番号.
#[derive(Debug, Clone, Copy, Default)]
pub struct SeekerFacts {
    /// New requests under it in the last 24 hours, and whether staff were
    /// told of their number today.
    pub recent_requests: i64,
    pub told_today: bool,
    pub standing: Standing,
}

/// What the office's records say about one seeker address.
#[derive(Debug, Clone)]
pub struct AddressFacts {
    /// The "what is missing" notices sent to it within the notice window.
    pub missing_told: Vec<String>,
    /// Mail to it arrives (no permanent failure since staff last phoned).
    pub reachable: bool,
}

impl Default for AddressFacts {
    fn default() -> Self {
        AddressFacts {
            missing_told: Vec::new(),
            reachable: true,
        }
    }
}

/// What the store knew before any decision (`desk::gather`).
#[derive(Debug, Clone, Default)]
pub struct Facts {
    /// Every request the mail could belong to.
    pub candidates: Candidates,
    /// The sender's mails in the last 24 hours, and whether staff were
    /// told of its flood in that time.
    pub sender_recent: i64,
    pub sender_told: bool,
    /// Each candidate's request, by id.
    pub requests: HashMap<i64, Held>,
    /// The 求職番号 and addresses [`lookups`] named.
    pub seekers: HashMap<String, SeekerFacts>,
    pub addresses: HashMap<String, AddressFacts>,
    /// Slots with every room booked.
    pub full: HashSet<Slot>,
    /// The office's calendar with the days staff closed, when they closed any.
    pub closed: Option<Calendar>,
    /// For a delivery failure: what it says and the mail of ours it returns.
    pub bounce: Option<BounceFacts>,
}

/// A delivery failure as the store matched it.
#[derive(Debug, Clone)]
pub struct BounceFacts {
    pub report: bounce::Report,
    /// It returns a mail of ours to a seeker.
    pub matched: bool,
    /// That mail's address is already marked unreachable.
    pub marked: bool,
}

/// The office's rules that bear on the decision.
#[derive(Debug, Clone, Copy)]
pub struct Rules<'a> {
    pub office: Addresses<'a>,
    pub calendar: &'a Calendar,
    pub per_sender_per_day: u32,
    pub per_seeker_per_day: u32,
    pub booking: &'a booking::Rules,
}

/// Where a mail goes, before its request's own mails are read.
#[derive(Debug, Clone, PartialEq)]
pub enum Routing {
    /// Not read: our own mail, staff's, machine mail, too complex.
    Screened(Screen),
    /// The sender is over the daily limit: filed for staff, no answer.
    SenderOverLimit { tell_staff: bool },
    /// A request it belongs to. `fresh_mail`: it came outside any thread
    /// (found by the sender's address), so it is read whole, quotes and all.
    Known {
        id: i64,
        trusted: bool,
        foreign: bool,
        fresh_mail: bool,
    },
    /// A new request, read once; its answers go to `to`.
    New {
        parsed: Box<BookingRequest>,
        to: String,
    },
}

/// Routes `mail` on what was gathered, at `now`.
pub fn route(mail: &Mail<'_>, facts: &Facts, rules: &Rules<'_>, now: DateTime<Utc>) -> Routing {
    let screened = route::screen(&mail.envelope, &rules.office);
    if screened != Screen::Read {
        return Routing::Screened(screened);
    }
    // A flood from one address goes to staff (told once a day) and gets no
    // answers: it cannot fill the outbox or crowd out other seekers.
    if let Limit::Over { tell_staff } = route::limit(
        facts.sender_recent,
        rules.per_sender_per_day,
        facts.sender_told,
    ) {
        return Routing::SenderOverLimit { tell_staff };
    }
    match route::known_request(mail.from, &facts.candidates) {
        Known::Request { id, trusted } => {
            return Routing::Known {
                id,
                trusted,
                foreign: false,
                fresh_mail: false,
            }
        }
        Known::Foreign { id } => {
            return Routing::Known {
                id,
                trusted: false,
                foreign: true,
                fresh_mail: false,
            }
        }
        Known::None => {}
    }
    // Outside a thread the mail is read as a request (once).
    let cal = rules.calendar;
    let today = cal.local_date(now);
    let text = own_text(mail.body, false);
    let fresh = parse_request(&text, today, cal);
    let asks = |id: i64| {
        let booked = facts
            .candidates
            .booked
            .iter()
            .find(|c| c.id == id)
            .and_then(|c| c.booked);
        matches!(
            parse_booked(&text, booked, today, cal),
            BookedIntent::Cancel | BookedIntent::Change(_)
        )
    };
    match route::by_address(&facts.candidates, &fresh, asks) {
        Some(id) => Routing::Known {
            id,
            trusted: false,
            foreign: false,
            fresh_mail: true,
        },
        None => {
            let to = route::contact_address(
                fresh.email.as_deref(),
                mail.reply_to,
                mail.from,
                &rules.office,
            );
            Routing::New {
                parsed: Box::new(fresh),
                to,
            }
        }
    }
}

/// What a mail says to the request it belongs to.
// One per mail, moved once into the step: boxing the event would cost an
// allocation on every mail to save a copy of a few hundred bytes.
#[allow(clippy::large_enum_variant)]
#[derive(Debug, Clone, PartialEq)]
pub enum Reading {
    /// An event for that request's state machine.
    Event(Event),
    /// A booked seeker asking for another session: a request of its own,
    /// with these data.
    NextSession(Box<BookingRequest>),
}

/// Reads `body` against `request` (by its state, `route::reader`), without
/// the lines of our own mails to it (`ours`: their bodies) it quotes; with the needs at the
/// session it states (第12条(3)).
pub fn read(
    request: &Request,
    body: &str,
    ours: &[String],
    routed: &Routing,
    calendar: &Calendar,
    now: DateTime<Utc>,
) -> (Reading, Vec<String>) {
    let (foreign, fresh_mail) = match routed {
        Routing::Known {
            foreign,
            fresh_mail,
            ..
        } => (*foreign, *fresh_mail),
        _ => (false, false),
    };
    if foreign {
        return (Reading::Event(Event::ForeignReply), Vec::new());
    }
    let today = calendar.local_date(now);
    match route::reader(request.state) {
        Reader::Request => {
            let text = without_our_lines(&own_text(body, false), ours);
            (
                Reading::Event(Event::Request(parse_request(&text, today, calendar))),
                Vec::new(),
            )
        }
        Reader::Booked => {
            let text = without_our_lines(&own_text(body, !fresh_mail), ours);
            let needs = session_needs(&text);
            match parse_booked(&text, request.booked, today, calendar) {
                BookedIntent::Cancel => (Reading::Event(Event::Cancel), needs),
                BookedIntent::Change(w) => (Reading::Event(Event::Change(w)), needs),
                BookedIntent::Another(wishes) => (
                    Reading::NextSession(Box::new(route::next_session(&request.data, wishes))),
                    Vec::new(),
                ),
                BookedIntent::Other => (
                    Reading::Event(Event::Reply(parse_reply(&text, &[], today, calendar))),
                    needs,
                ),
            }
        }
        Reader::Reply => {
            let text = without_our_lines(&own_text(body, true), ours);
            let needs = session_needs(&text);
            let intent = parse_reply(&text, &request.offered, today, calendar);
            (Reading::Event(Event::Reply(intent)), needs)
        }
    }
}

/// What the desk does with a mail.
#[derive(Debug, Clone, PartialEq)]
pub enum Decision {
    /// Not read: our own mail, staff's, machine mail, too complex.
    Screened(Screen),
    /// A delivery failure of our mail, and what to do about it.
    Bounce(bounce::Verdict),
    /// The sender is over the daily limit: filed for staff, no answer.
    SenderOverLimit { tell_staff: bool },
    /// A new request under a 求職番号 that already has many today (from any
    /// address): filed for staff, no answer.
    SeekerOverLimit { number: String, tell_staff: bool },
    /// The request routing chose was not among the facts: the store changed
    /// under the gathering. Nothing is decided.
    NotGathered { id: i64 },
    /// An answer to a request.
    Answer(Box<Answer>),
}

/// Which request the answer is for.
#[derive(Debug, Clone, PartialEq)]
pub enum Target {
    /// A request the store has.
    Known(i64),
    /// A new request, bound to `to`.
    New { to: String },
    /// A new request for another session of a booked one (`of`), bound to
    /// the same address.
    NextSession { of: i64 },
}

/// The decision about a mail that belongs to a request.
#[derive(Debug, Clone, PartialEq)]
pub struct Answer {
    pub target: Target,
    /// The mail carries the request's secret (see `Context::trusted`).
    pub trusted: bool,
    /// A reply in a request's thread from another address: not the
    /// seeker's; no mail answers it.
    pub foreign: bool,
    /// The request as the steps start from it (with the language of this
    /// mail when it told one).
    pub machine: Request,
    /// First the needs the mail states at a session (第12条(3)): recorded and
    /// staff told whatever else it says.
    pub needs: Option<Result<Step, TransitionError>>,
    /// Then what it says, from the request as the needs left it. An error:
    /// no transition; staff read the mail.
    pub main: Result<Step, TransitionError>,
}

/// One step of a request's machine, with what it becomes when the slot it
/// books turns out taken as it is written (another desk's consent won).
#[derive(Debug, Clone, PartialEq)]
pub struct Step {
    pub event: &'static str,
    pub by_staff: bool,
    pub next: Request,
    pub effects: Vec<Effect>,
    pub if_taken: Option<Box<(Request, Vec<Effect>)>>,
}

impl Step {
    /// The slot this step books, if any (for the seeker or by staff): the
    /// one write whose outcome only the store can tell.
    pub fn booking(&self) -> Option<Slot> {
        self.effects.iter().find_map(|e| match e {
            Effect::Book(slot) | Effect::StaffBook(slot) => Some(*slot),
            _ => None,
        })
    }

    /// The request and effects as they stand once the store has said
    /// whether the slot was still free. Taken: what was decided for that
    /// case, a move's cancellation of the later booking dropped with its
    /// booking. None: taken, and nothing was decided for it.
    pub fn settle(self, taken: bool) -> Option<(Request, Vec<Effect>)> {
        if !taken {
            return Some((self.next, self.effects));
        }
        let (next, more) = *self.if_taken?;
        let mut effects: Vec<Effect> = self
            .effects
            .into_iter()
            .filter(|e| {
                !matches!(
                    e,
                    Effect::Book(_) | Effect::StaffBook(_) | Effect::CancelBooking { .. }
                )
            })
            .collect();
        effects.extend(more);
        Some((next, effects))
    }
}

/// Steps `req` on `event`; when the step books a slot for the seeker, also
/// the step on that slot being taken meanwhile: the seeker then gets a fresh
/// offer, or for a freed slot the polite "already taken" (staff booking a
/// full slot is refused instead, by the store).
pub fn step(req: &Request, event: Event, ctx: &Context<'_>) -> Result<Step, TransitionError> {
    let name = event.name();
    let by_staff = matches!(event, Event::Staff(_));
    let (next, effects) = booking::step(req, event, ctx)?;
    let booked = effects.iter().find_map(|e| match e {
        Effect::Book(slot) => Some(*slot),
        _ => None,
    });
    let if_taken = booked.and_then(|slot| {
        let mut full = ctx.full.clone();
        full.insert(slot);
        let taken = Context {
            full: &full,
            trusted: true,
            ..*ctx
        };
        booking::step(req, Event::SlotTaken(slot), &taken)
            .ok()
            .map(Box::new)
    });
    Ok(Step {
        event: name,
        by_staff,
        next,
        effects,
        if_taken,
    })
}

/// What the mail says, before the facts of the store about its seeker:
/// read once, on the candidates and their mails ([`understand`]), then
/// decided on with the rest of the facts ([`decide_on`]).
#[derive(Debug, Clone)]
pub struct Understood {
    target: Target,
    trusted: bool,
    foreign: bool,
    machine: Request,
    event: Event,
    needs: Vec<String>,
    address: String,
}

/// Reads `mail` on the requests it could belong to; Err: the decision
/// needs no more (screened out, a bounce, over the sender's limit).
pub fn understand(
    mail: &Mail<'_>,
    facts: &Facts,
    rules: &Rules<'_>,
    now: DateTime<Utc>,
) -> Result<Understood, Decision> {
    match route(mail, facts, rules, now) {
        Routing::Screened(Screen::Bounce) => Err(Decision::Bounce(
            facts
                .bounce
                .as_ref()
                .map_or(bounce::Verdict::TellStaff, |b| {
                    bounce::verdict(&b.report, b.matched, b.marked)
                }),
        )),
        Routing::Screened(screen) => Err(Decision::Screened(screen)),
        Routing::SenderOverLimit { tell_staff } => Err(Decision::SenderOverLimit { tell_staff }),
        Routing::New { parsed, to } => Ok(Understood {
            target: Target::New { to: to.clone() },
            trusted: false,
            foreign: false,
            machine: Request::new(),
            event: Event::Request(*parsed),
            needs: Vec::new(),
            address: to,
        }),
        routed @ Routing::Known {
            id,
            trusted,
            foreign,
            ..
        } => {
            let held = facts
                .requests
                .get(&id)
                .ok_or(Decision::NotGathered { id })?;
            let (reading, needs) = read(
                &held.machine,
                mail.body,
                &held.ours,
                &routed,
                rules.calendar,
                now,
            );
            let (target, machine, event) = match reading {
                Reading::Event(event) => {
                    let mut machine = held.machine.clone();
                    // The next mail goes out in the language this one was written in.
                    if let Some(lang) = mail_language(mail.body, &held.ours) {
                        machine.data.lang = Some(lang);
                    }
                    (Target::Known(id), machine, event)
                }
                Reading::NextSession(data) => (
                    Target::NextSession { of: id },
                    Request::new(),
                    Event::Request(*data),
                ),
            };
            Ok(Understood {
                target,
                trusted,
                foreign,
                machine,
                event,
                needs,
                address: held.address.clone(),
            })
        }
    }
}

/// The 求職番号 whose standing bears on a step of `machine` on `event`.
pub fn seeker_number<'a>(machine: &'a Request, event: &'a Event) -> Option<&'a str> {
    match event {
        Event::Request(d) => d.seeker_number.as_deref(),
        Event::Staff(booking::StaffAction::Book(_, d)) => d.seeker_number.as_deref(),
        _ => None,
    }
    .or(machine.data.seeker_number.as_deref())
}

/// The "what is missing" notices already sent that bear on a step of
/// `machine` on `event`: only a request still gathering its items can be
/// sent one, so only then do the ones sent to its address count.
pub fn missing_told<'a>(
    machine: &Request,
    event: &Event,
    address: &'a AddressFacts,
) -> &'a [String] {
    if matches!(event, Event::Request(_))
        && matches!(machine.state, State::New | State::AwaitingInfo)
    {
        &address.missing_told
    } else {
        &[]
    }
}

/// What else the store must tell before [`decide`]: the 求職番号 and the
/// address the mail's request has. None: the decision needs nothing more
/// (the mail is screened out or over the sender's limit).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Lookups {
    pub seeker_numbers: Vec<String>,
    pub address: String,
}

/// The lookups [`decide`] will make into `facts` beyond the candidates.
pub fn lookups(
    mail: &Mail<'_>,
    facts: &Facts,
    rules: &Rules<'_>,
    now: DateTime<Utc>,
) -> Option<Lookups> {
    understand(mail, facts, rules, now)
        .ok()
        .map(|u| lookups_of(&u))
}

/// The lookups deciding on `u` makes into the facts beyond the candidates.
pub fn lookups_of(u: &Understood) -> Lookups {
    let mut seeker_numbers: Vec<String> = [
        seeker_number(&u.machine, &u.event),
        u.machine.data.seeker_number.as_deref(),
    ]
    .into_iter()
    .flatten()
    .map(str::to_string)
    .collect();
    seeker_numbers.dedup();
    Lookups {
        seeker_numbers,
        address: u.address.clone(),
    }
}

/// What deciding about a mail reads from the store.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Reads {
    /// Nothing: it is screened out (ours, staff's, machine mail).
    Nothing,
    /// A delivery failure: the mail of ours it returns ([`BounceFacts`]).
    Bounce,
    /// The requests it could belong to, and what [`lookups`] names.
    Requests,
}

/// What deciding about `mail` reads from the store.
pub fn reads(mail: &Mail<'_>, rules: &Rules<'_>) -> Reads {
    match route::screen(&mail.envelope, &rules.office) {
        Screen::Read => Reads::Requests,
        Screen::Bounce => Reads::Bounce,
        _ => Reads::Nothing,
    }
}

/// Decides what the desk does with `mail` on what was gathered, at `now`.
pub fn decide(mail: &Mail<'_>, facts: &Facts, rules: &Rules<'_>, now: DateTime<Utc>) -> Decision {
    decide_on(understand(mail, facts, rules, now), facts, rules, now)
}

/// [`decide`] on the mail as [`understand`] read it (the facts it was read
/// on, completed with what [`lookups_of`] named): the desk reads a mail once.
pub fn decide_on(
    understood: Result<Understood, Decision>,
    facts: &Facts,
    rules: &Rules<'_>,
    now: DateTime<Utc>,
) -> Decision {
    let u = match understood {
        Ok(u) => u,
        Err(decision) => return decision,
    };
    let seeker = |number: Option<&str>| {
        number
            .and_then(|n| facts.seekers.get(n))
            .copied()
            .unwrap_or_default()
    };
    // Many new requests under one 求職番号 in a day (from any addresses):
    // staff look at them (told once a day); no more automatic answers.
    if let (Target::New { .. }, Event::Request(data)) = (&u.target, &u.event) {
        if let Some(number) = data.seeker_number.as_deref() {
            let s = seeker(Some(number));
            if let Limit::Over { tell_staff } =
                route::limit(s.recent_requests, rules.per_seeker_per_day, s.told_today)
            {
                return Decision::SeekerOverLimit {
                    number: number.to_string(),
                    tell_staff,
                };
            }
        }
    }
    let address = facts.addresses.get(&u.address).cloned().unwrap_or_default();
    let cal = facts.closed.as_ref().unwrap_or(rules.calendar);
    let context = |machine: &Request, event: &Event, trusted: bool| Context {
        cal,
        now,
        full: &facts.full,
        rules: rules.booking,
        standing: seeker(seeker_number(machine, event)).standing,
        trusted,
        told_today: missing_told(machine, event, &address),
        reachable: address.reachable,
    };
    let mut from = u.machine.clone();
    let needs = if u.needs.is_empty() || u.machine.state == State::New {
        None
    } else {
        let event = Event::Needs(u.needs);
        let stepped = step(&from, event.clone(), &context(&from, &event, true));
        if let Ok(s) = &stepped {
            from = s.next.clone();
        }
        Some(stepped)
    };
    let main = step(&from, u.event.clone(), &context(&from, &u.event, u.trusted));
    Decision::Answer(Box::new(Answer {
        target: u.target,
        trusted: u.trusted,
        foreign: u.foreign,
        machine: u.machine,
        needs,
        main,
    }))
}

/// The language the seeker wrote this mail in (its own text, without
/// quotes and our lines); None when it says too little to tell.
pub fn mail_language(body: &str, ours: &[String]) -> Option<Lang> {
    crate::core::lang::detect(&without_our_lines(&own_text(body, true), ours))
}

/// Drops the lines of a reply that repeat our own mails of the thread
/// (`ours`: their bodies): a mailer that quotes without any marker must not
/// have our offer read as the seeker's choice.
pub fn without_our_lines(text: &str, ours: &[String]) -> String {
    let key = |l: &str| {
        crate::core::text::normalize(l)
            .split_whitespace()
            .collect::<String>()
    };
    let known: std::collections::HashSet<String> = ours
        .iter()
        .flat_map(|body| body.lines().map(key).collect::<Vec<_>>())
        .filter(|l| l.chars().count() >= 4)
        .collect();
    text.lines()
        .filter(|l| !known.contains(&key(l)))
        .collect::<Vec<_>>()
        .join("\n")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::core::classify::MailKind;
    use crate::core::route::Candidate;
    use chrono::TimeZone;

    const OWN: &str = "desk@office.example.jp";
    const STAFF: &str = "staff@office.example.jp";
    const SEEKER: &str = "seeker@example.jp";

    fn now() -> DateTime<Utc> {
        chrono_tz::Asia::Tokyo
            .with_ymd_and_hms(2026, 11, 25, 10, 0, 0)
            .single()
            .expect("now")
            .with_timezone(&Utc)
    }

    fn mail(body: &str) -> Mail<'_> {
        Mail {
            envelope: Envelope {
                parsed: true,
                from: SEEKER,
                kind: MailKind::Person,
                too_complex: false,
            },
            from: SEEKER,
            reply_to: None,
            body,
        }
    }

    /// An office's rules: 20 mails a day per sender, 3 new requests a day per 求職番号.
    fn with_rules<T>(f: impl FnOnce(&Rules<'_>) -> T) -> T {
        let cal = Calendar::standard();
        let booking = booking::Rules::default();
        let rules = Rules {
            office: Addresses {
                own: OWN,
                staff: STAFF,
            },
            calendar: &cal,
            per_sender_per_day: 20,
            per_seeker_per_day: 3,
            booking: &booking,
        };
        f(&rules)
    }

    fn decided(body: &str, facts: &Facts) -> Decision {
        with_rules(|rules| decide(&mail(body), facts, rules, now()))
    }

    /// A request in our thread that was offered the first bookable slots.
    fn offered_in_thread() -> (Facts, Vec<Slot>) {
        let offered: Vec<Slot> = Calendar::standard()
            .bookable_slots(now())
            .into_iter()
            .take(2)
            .collect();
        let machine = Request {
            state: State::Offered,
            offered: offered.clone(),
            offered_at: Some(now()),
            ..Request::new()
        };
        let candidate = Candidate {
            id: 7,
            address: SEEKER.to_string(),
            state: machine.state,
            booked: None,
        };
        let held = Held {
            machine,
            address: SEEKER.to_string(),
            ours: Vec::new(),
        };
        let facts = Facts {
            candidates: Candidates {
                by_thread: Some(candidate),
                thread_is_ours: true,
                ..Candidates::default()
            },
            requests: HashMap::from([(7, held)]),
            ..Facts::default()
        };
        (facts, offered)
    }

    #[test]
    fn a_consent_books_and_knows_what_to_do_if_the_slot_is_taken_meanwhile() {
        let (facts, offered) = offered_in_thread();
        let Decision::Answer(answer) = decided("1でお願いします。", &facts) else {
            panic!("an answer to request 7");
        };
        assert_eq!(answer.target, Target::Known(7));
        assert!(answer.trusted);
        let step = answer.main.expect("a step");
        assert!(step.effects.contains(&Effect::Book(offered[0])));
        let (taken, effects) = *step.if_taken.expect("the step for the slot taken");
        assert_ne!(taken.booked, Some(offered[0]));
        assert!(
            effects.iter().any(|e| matches!(e, Effect::Offer { .. })),
            "a fresh offer when the slot was taken: {effects:?}"
        );
    }

    #[test]
    fn a_full_slot_is_not_booked() {
        let (mut facts, offered) = offered_in_thread();
        facts.full.insert(offered[0]);
        let Decision::Answer(answer) = decided("1でお願いします。", &facts) else {
            panic!("an answer to request 7");
        };
        let step = answer.main.expect("a step");
        assert!(!step.effects.contains(&Effect::Book(offered[0])));
    }

    #[test]
    fn a_chosen_request_missing_from_the_facts_decides_nothing() {
        let (mut facts, _) = offered_in_thread();
        facts.requests.clear();
        assert_eq!(
            decided("1でお願いします。", &facts),
            Decision::NotGathered { id: 7 }
        );
    }

    #[test]
    fn a_new_request_under_a_busy_number_goes_to_staff_once() {
        let body = "氏名：山田太郎\n求職番号：12345-67890123\n希望日時：来週の月曜 10時\n電話：090-1234-5678";
        let facts = Facts::default();
        let lookups =
            with_rules(|rules| lookups(&mail(body), &facts, rules, now())).expect("lookups");
        assert_eq!(lookups.seeker_numbers, vec!["12345-67890123".to_string()]);
        assert_eq!(lookups.address, SEEKER);
        let mut busy = Facts::default();
        let seeker = SeekerFacts {
            recent_requests: 3,
            ..SeekerFacts::default()
        };
        busy.seekers.insert("12345-67890123".to_string(), seeker);
        assert_eq!(
            decided(body, &busy),
            Decision::SeekerOverLimit {
                number: "12345-67890123".to_string(),
                tell_staff: true
            }
        );
        busy.seekers
            .get_mut("12345-67890123")
            .expect("seeker")
            .told_today = true;
        assert_eq!(
            decided(body, &busy),
            Decision::SeekerOverLimit {
                number: "12345-67890123".to_string(),
                tell_staff: false
            }
        );
        assert!(matches!(
            decided(body, &Facts::default()),
            Decision::Answer(a) if matches!(a.target, Target::New { .. })
        ));
    }
}
