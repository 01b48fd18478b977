//! Routing an inbound mail: whether it is read at all (unreadable, our own,
//! too complex, machine mail, from staff), where it is filed, the daily
//! limits' verdicts, the references it quotes, the address an answer goes
//! to, which request it belongs to (by thread, reference, reservation
//! number, open or booked request of the sender), whether it is trusted,
//! and how it is read by the request's state. Pure: facts in, verdict out;
//! the desk gathers the facts (`desk::gather`) and carries out the verdict,
//! and the fuzzer and the routing corpus call the same functions.

use crate::core::booking::StaffReason;
use crate::core::booking::State;
use crate::core::calendar::Slot;
use crate::core::classify::MailKind;
use crate::core::understand::{BookingRequest, Wish};
use regex::Regex;
use std::sync::LazyLock;

/// Where a handled message is filed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Filing {
    Handled,
    Staff,
    Machine,
    /// Our own copy of a mail we sent (see `mail::smtp`).
    Sent,
}

/// What routing needs to know of a mail before any request is looked at.
#[derive(Debug, Clone, Copy)]
pub struct Envelope<'a> {
    /// Whether the bytes parsed as a message at all.
    pub parsed: bool,
    /// The sender's bare address, lower-cased (empty when none).
    pub from: &'a str,
    pub kind: MailKind,
    /// More parts or nesting than a person writes: staff read it.
    pub too_complex: bool,
}

/// The office's own addresses.
#[derive(Debug, Clone, Copy)]
pub struct Addresses<'a> {
    /// `smtp.from`: the desk's mailbox.
    pub own: &'a str,
    /// `office.staff_address`.
    pub staff: &'a str,
}

/// The first verdict on a mail.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Screen {
    /// A person's mail: read it (the sender's daily limit comes next).
    Read,
    /// Not a message, or no sender: staff are told.
    Unreadable,
    /// From our own address but not one of our copies (a loop, a forgery).
    OwnMail,
    /// A person's mail too complex to read safely: staff are told.
    TooComplex,
    /// A delivery failure of our mail: staff are told.
    Bounce,
    /// Auto-replies, lists, bulk: never answered.
    Machine,
    /// Staff writing to the desk's mailbox: theirs to read.
    FromStaff,
}

impl Screen {
    /// Where the mail is filed, when it is not read.
    pub fn filing(self) -> Filing {
        match self {
            Screen::Read => Filing::Handled,
            Screen::Unreadable | Screen::TooComplex | Screen::FromStaff => Filing::Staff,
            Screen::OwnMail | Screen::Bounce | Screen::Machine => Filing::Machine,
        }
    }

    /// The outcome recorded with the processed mark.
    pub fn outcome(self) -> &'static str {
        match self {
            Screen::Read => "handled",
            Screen::Unreadable => "unreadable",
            Screen::OwnMail => "own_mail",
            Screen::TooComplex => "too_complex",
            Screen::Bounce => "bounce",
            Screen::Machine => "machine",
            Screen::FromStaff => "from_staff",
        }
    }

    /// The reason of the note staff get, if any.
    pub fn tells_staff(self) -> Option<StaffReason> {
        match self {
            Screen::Unreadable => Some(StaffReason::Unreadable),
            Screen::TooComplex => Some(StaffReason::TooComplex),
            Screen::Bounce => Some(StaffReason::Bounce),
            _ => None,
        }
    }
}

/// The first verdict: in this order, since a bounce may be too complex and
/// staff may write from an address that is also a seeker's.
pub fn screen(mail: &Envelope<'_>, office: &Addresses<'_>) -> Screen {
    if !mail.parsed || mail.from.is_empty() {
        return Screen::Unreadable;
    }
    if mail.from == office.own {
        return Screen::OwnMail;
    }
    if mail.too_complex && mail.kind == MailKind::Person {
        return Screen::TooComplex;
    }
    match mail.kind {
        MailKind::Bounce => return Screen::Bounce,
        MailKind::AutoReply | MailKind::Bulk => return Screen::Machine,
        MailKind::Person => {}
    }
    if mail.from == office.staff {
        return Screen::FromStaff;
    }
    Screen::Read
}

/// A daily limit's verdict: under it, or over it (staff told once a day).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Limit {
    Under,
    Over { tell_staff: bool },
}

/// `recent` mails (or requests) in the last 24 hours against `per_day`;
/// `told` says whether staff were told already today.
pub fn limit(recent: i64, per_day: u32, told: bool) -> Limit {
    if recent >= i64::from(per_day) {
        Limit::Over { tell_staff: !told }
    } else {
        Limit::Under
    }
}

static SUBJECT_REF: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r"受付番号\s*[:：]?\s*([A-Z0-9]{6})").expect("ref regex"));

static RESERVATION: LazyLock<Regex> =
    // Not \b: between 予約番号 and the digits there is no word boundary.
    LazyLock::new(|| {
        Regex::new(r"(?:^|[^0-9A-Za-z])(\d{6}-[A-Za-z0-9]{4})(?:$|[^0-9A-Za-z])")
            .expect("reservation regex")
    });

/// The request reference our subjects carry (受付番号 K7M2QP), if any.
pub fn subject_reference(subject: &str) -> Option<String> {
    SUBJECT_REF.captures(subject).map(|c| c[1].to_string())
}

/// Reservation numbers (261203-AB3C) quoted in the subject or body, in
/// order, upper-cased.
pub fn reservation_numbers(subject: &str, body: &str) -> Vec<String> {
    let text = crate::core::text::normalize(&format!("{subject}\n{body}"));
    RESERVATION
        .captures_iter(&text)
        .map(|c| c[1].to_ascii_uppercase())
        .collect()
}

/// Where the answer to a new request goes: the contact address stated in
/// the body, else Reply-To, else the sender; never one of the office's own.
pub fn contact_address(
    stated: Option<&str>,
    reply_to: Option<&str>,
    from: &str,
    office: &Addresses<'_>,
) -> String {
    let usable = |a: &String| a != office.own && a != office.staff;
    stated
        .map(str::to_ascii_lowercase)
        .filter(usable)
        .or_else(|| reply_to.map(str::to_string).filter(usable))
        .unwrap_or_else(|| from.to_string())
}

/// What the subject's reference adds to the thread's request: the request
/// (when the thread found none) and whether the mail is trusted (it names
/// the request's reference, a secret only the seeker has seen). `by_ref` is
/// the request of that reference bound to the sender's address.
pub fn with_reference(thread: Option<i64>, by_ref: Option<i64>) -> (Option<i64>, bool) {
    match (thread, by_ref) {
        (None, Some(r)) => (Some(r), true),
        (Some(t), Some(r)) if t == r => (Some(t), true),
        (t, _) => (t, false),
    }
}

/// Whether a new mail (outside any thread) from the address of a request
/// still open continues it: always while we wait for missing items, else
/// unless it is itself a new request (it names a person or a 求職番号).
/// Phone mailers above all write a new mail instead of replying.
pub fn continues_open_request(open: State, fresh: &BookingRequest) -> bool {
    let looks_new = fresh.seeker_number.is_some() || fresh.name.is_some();
    open == State::AwaitingInfo || !looks_new
}

/// Which of the sender's booked requests a new mail that asks to cancel or
/// move is about: the one on a date the mail names, else the only one.
/// `booked` is each request's id and booked slot; `asks` says whether the
/// mail asks to cancel or change that request's booking.
pub fn booked_request(
    booked: &[(i64, Option<Slot>)],
    wishes: &[Wish],
    asks: impl Fn(i64) -> bool,
) -> Option<i64> {
    let named: Vec<i64> = booked
        .iter()
        .filter(|(_, slot)| slot.is_some_and(|b| wishes.iter().any(|w| w.date == b.date)))
        .map(|(id, _)| *id)
        .collect();
    let candidate = match (named.as_slice(), booked) {
        ([one], _) => Some(*one),
        ([], [(only, _)]) => Some(*only),
        _ => None,
    };
    candidate.filter(|id| asks(*id))
}

/// A request that could own an inbound mail, as routing sees it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Candidate {
    pub id: i64,
    /// The address the request is bound to (offers go there; consent must
    /// come from there).
    pub address: String,
    pub state: State,
    /// The slot of its live booking, when booked.
    pub booked: Option<Slot>,
}

/// Every request an inbound mail could belong to, gathered from the store
/// in one place before any decision (`desk::gather`).
#[derive(Debug, Clone, Default)]
pub struct Candidates {
    /// The request whose thread holds a Message-ID the mail refers to.
    pub by_thread: Option<Candidate>,
    /// Whether one of those Message-IDs is a mail we sent for that request
    /// (random, and only the seeker has seen them).
    pub thread_is_ours: bool,
    /// The request of the reference in the subject (受付番号 K7M2QP).
    pub by_reference: Option<Candidate>,
    /// The requests of the reservation numbers the mail quotes, in order.
    pub by_reservation: Vec<Candidate>,
    /// The sender's newest request still waiting for the seeker, created
    /// within `CONTINUATION_DAYS`.
    pub open: Option<Candidate>,
    /// The sender's booked requests, soonest first.
    pub booked: Vec<Candidate>,
}

/// How long a new mail from the address of an open request continues it.
pub const CONTINUATION_DAYS: i64 = 14;

/// Which request a mail belongs to, before its text is read as a new
/// request: by its thread, by the reference in its subject, or by a
/// reservation number it quotes (these two only from the bound address).
/// Trusted when it carries one of the request's secrets: a reply to one of
/// our own mails, the reference, or the reservation number.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Known {
    Request {
        id: i64,
        trusted: bool,
    },
    /// A reply in a request's thread from another address: staff look.
    Foreign {
        id: i64,
    },
    /// None: the mail is read as a new request next (see `by_address`).
    None,
}

pub fn known_request(from: &str, c: &Candidates) -> Known {
    let bound = |r: &&Candidate| r.address == from;
    let mut chosen = c.by_thread.as_ref().map(|r| r.id);
    let mut trusted = chosen.is_some() && c.thread_is_ours;
    let (with_ref, named) =
        with_reference(chosen, c.by_reference.as_ref().filter(bound).map(|r| r.id));
    if named {
        trusted = true;
        chosen = with_ref;
    }
    if chosen.is_none() {
        if let Some(r) = c.by_reservation.iter().find(bound) {
            chosen = Some(r.id);
            trusted = true;
        }
    }
    let Some(id) = chosen else {
        return Known::None;
    };
    let foreign = c
        .by_thread
        .as_ref()
        .is_some_and(|t| t.id == id && t.address != from);
    if foreign {
        Known::Foreign { id }
    } else {
        Known::Request { id, trusted }
    }
}

/// Which request a mail that no thread, reference or reservation number
/// ties to continues, read as `fresh` (a new request): the sender's open
/// request (`continues_open_request`), else the booking it asks to cancel
/// or move (`booked_request`; `asks` reads the mail against a booking).
/// `None`: it is a new request.
pub fn by_address(
    c: &Candidates,
    fresh: &BookingRequest,
    asks: impl Fn(i64) -> bool,
) -> Option<i64> {
    if let Some(open) = &c.open {
        if continues_open_request(open.state, fresh) {
            return Some(open.id);
        }
    }
    let booked: Vec<(i64, Option<Slot>)> = c.booked.iter().map(|r| (r.id, r.booked)).collect();
    booked_request(&booked, &fresh.wishes, asks)
}

/// A booked seeker asking for another session (次回): a request of its
/// own, in the same thread, with what the seeker told us and the new wishes.
pub fn next_session(data: &BookingRequest, wishes: Vec<Wish>) -> BookingRequest {
    let mut next = data.clone();
    next.wishes = wishes;
    next.invalid_dates.clear();
    next
}

/// How a mail to a request is read, by the request's state.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Reader {
    /// Still gathering the request's items: read as a request.
    Request,
    /// Booked: cancel, change, another session, or something for staff.
    Booked,
    /// An offer is out (or the request is over): read as a reply to it.
    Reply,
}

pub fn reader(state: State) -> Reader {
    match state {
        State::AwaitingInfo | State::New => Reader::Request,
        State::Booked => Reader::Booked,
        _ => Reader::Reply,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const OFFICE: Addresses<'static> = Addresses {
        own: "desk@office.jp",
        staff: "staff@office.jp",
    };

    fn person(from: &str) -> Envelope<'_> {
        Envelope {
            parsed: true,
            from,
            kind: MailKind::Person,
            too_complex: false,
        }
    }

    #[test]
    fn the_screen_keeps_its_order() {
        assert_eq!(screen(&person("a@b.jp"), &OFFICE), Screen::Read);
        assert_eq!(screen(&person(""), &OFFICE), Screen::Unreadable);
        assert_eq!(screen(&person("desk@office.jp"), &OFFICE), Screen::OwnMail);
        assert_eq!(
            screen(&person("staff@office.jp"), &OFFICE),
            Screen::FromStaff
        );
        let bounce = Envelope {
            kind: MailKind::Bounce,
            too_complex: true,
            ..person("mailer-daemon@b.jp")
        };
        assert_eq!(screen(&bounce, &OFFICE), Screen::Bounce);
        let complex = Envelope {
            too_complex: true,
            ..person("a@b.jp")
        };
        assert_eq!(screen(&complex, &OFFICE), Screen::TooComplex);
        let auto = Envelope {
            kind: MailKind::AutoReply,
            ..person("staff@office.jp")
        };
        assert_eq!(screen(&auto, &OFFICE), Screen::Machine);
        assert_eq!(Screen::Machine.filing(), Filing::Machine);
        assert_eq!(
            Screen::TooComplex.tells_staff(),
            Some(StaffReason::TooComplex)
        );
    }

    #[test]
    fn which_request_a_mail_belongs_to() {
        assert_eq!(with_reference(None, Some(7)), (Some(7), true));
        assert_eq!(with_reference(Some(7), Some(7)), (Some(7), true));
        assert_eq!(with_reference(Some(3), Some(7)), (Some(3), false));
        assert_eq!(with_reference(Some(3), None), (Some(3), false));
        let named = BookingRequest {
            name: Some("山田".into()),
            ..Default::default()
        };
        assert!(continues_open_request(State::AwaitingInfo, &named));
        assert!(!continues_open_request(State::Offered, &named));
        assert!(continues_open_request(
            State::Offered,
            &BookingRequest::default()
        ));
        let day = |d| chrono::NaiveDate::from_ymd_opt(2026, 12, d).expect("date");
        let at = |d| {
            Some(Slot::new(
                day(d),
                chrono::NaiveTime::from_hms_opt(11, 0, 0).expect("time"),
            ))
        };
        let wish = |d| Wish {
            date: day(d),
            time: None,
        };
        let booked = [(1, at(3)), (2, at(10))];
        assert_eq!(booked_request(&booked, &[wish(10)], |_| true), Some(2));
        assert_eq!(
            booked_request(&booked, &[], |_| true),
            None,
            "two, none named"
        );
        assert_eq!(booked_request(&booked[..1], &[], |_| true), Some(1));
        assert_eq!(booked_request(&booked[..1], &[], |_| false), None);
        assert_eq!(reader(State::AwaitingInfo), Reader::Request);
        assert_eq!(reader(State::Booked), Reader::Booked);
        assert_eq!(reader(State::FollowedUp), Reader::Reply);
    }

    #[test]
    fn limits_tell_staff_once() {
        assert_eq!(limit(9, 10, false), Limit::Under);
        assert_eq!(limit(10, 10, false), Limit::Over { tell_staff: true });
        assert_eq!(limit(11, 10, true), Limit::Over { tell_staff: false });
    }

    #[test]
    fn references_and_the_contact_address() {
        assert_eq!(
            subject_reference("Re: 予約 受付番号：K7M2QP").as_deref(),
            Some("K7M2QP")
        );
        assert_eq!(subject_reference("Re: 予約"), None);
        assert_eq!(
            reservation_numbers("", "予約番号２６１２０３－ab3cの件"),
            vec!["261203-AB3C".to_string()]
        );
        assert_eq!(
            contact_address(Some("Me@Home.jp"), Some("r@b.jp"), "a@b.jp", &OFFICE),
            "me@home.jp"
        );
        assert_eq!(
            contact_address(Some("desk@office.jp"), Some("r@b.jp"), "a@b.jp", &OFFICE),
            "r@b.jp"
        );
        assert_eq!(
            contact_address(None, Some("staff@office.jp"), "a@b.jp", &OFFICE),
            "a@b.jp"
        );
    }
}
