//! The decision about one inbound mail, up to the state machine: whether
//! it is read at all, whether its sender is over the daily limit, which
//! request it belongs to (and whether it is trusted there), and what it
//! says to that request. Pure: the desk gathers [`Facts`] from the store,
//! calls [`route`], gathers the chosen request's own mails, calls [`read`],
//! and applies what comes back (`desk::decide`). The fuzzer and the
//! routing corpus call the same two functions.

use crate::core::booking::{Event, Request};
use crate::core::calendar::Calendar;
use crate::core::quote::own_text;
use crate::core::route::{self, Addresses, Candidates, Envelope, Known, Limit, Reader, Screen};
use crate::core::understand::{
    parse_booked, parse_reply, parse_request, session_needs, BookedIntent, BookingRequest,
};
use chrono::{DateTime, Utc};

/// The inbound mail as the decision reads it.
#[derive(Debug, Clone, Copy)]
pub struct Mail<'a> {
    pub envelope: Envelope<'a>,
    pub from: &'a str,
    pub reply_to: Option<&'a str>,
    pub body: &'a str,
}

/// What the store knew of the mail before any decision (`desk::gather`).
#[derive(Debug, Clone, Copy)]
pub struct Facts<'a> {
    /// Every request the mail could belong to.
    pub candidates: &'a Candidates,
    /// The sender's mails in the last 24 hours, and whether staff were
    /// told of its flood in that time.
    pub sender_recent: i64,
    pub sender_told: bool,
}

/// The office's rules that bear on routing.
#[derive(Debug, Clone, Copy)]
pub struct Rules<'a> {
    pub office: Addresses<'a>,
    pub calendar: &'a Calendar,
    pub per_sender_per_day: u32,
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
pub fn route(mail: &Mail<'_>, facts: &Facts<'_>, rules: &Rules<'_>, now: DateTime<Utc>) -> Routing {
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
    match route::known_request(mail.from, facts.candidates) {
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
    match route::by_address(facts.candidates, &fresh, asks) {
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

/// The language the seeker wrote this mail in (its own text, without
/// quotes and our lines); None when it says too little to tell.
pub fn mail_language(body: &str, ours: &[String]) -> Option<crate::core::lang::Lang> {
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
