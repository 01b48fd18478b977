//! Gather: everything the decision about one inbound mail needs, loaded
//! from the store in one place and before any decision: the requests it
//! could belong to (`route::Candidates`) with our mails to each, the
//! sender's count for the daily limit, then what `core::decide::lookups`
//! names (the 求職番号's count and standing, the address's notices and
//! reachability) and the slots already full. The step of a staff action or
//! a timer gathers through the same functions.

use super::error::DeskError;
use crate::core::booking::{self, Standing};
use crate::core::bounce::{self, Report};
use crate::core::calendar::{Calendar, Slot};
use crate::core::decide::{
    self, AddressFacts, BounceFacts, Decision, Facts, Held, Reads, SeekerFacts, Understood,
};
use crate::core::route::{self, Candidate, Candidates};
use crate::mail::message;
use crate::mail::message::Inbound;
use crate::office::Office;
use crate::store::outbox::SentMail;
use crate::store::{
    bookings, office, outbox, processed, requests, unreachable, waitlist, RequestRow, StoreError,
    Tx,
};
use chrono::{DateTime, Duration as ChronoDuration, NaiveDate, Utc};
use std::collections::{HashMap, HashSet};

/// The rows the decision was made on, for what comes after it: the
/// candidates' by id; for a delivery failure, the mail it returns.
#[derive(Default)]
pub(super) struct Rows {
    requests: HashMap<i64, RequestRow>,
    pub(super) returned: Option<Returned>,
}

/// A delivery failure with the mail of ours it returns and that mail's request.
pub(super) struct Returned {
    pub(super) report: Report,
    pub(super) sent: Option<SentMail>,
    pub(super) row: Option<RequestRow>,
}

impl Rows {
    /// The row of a request the decision chose.
    pub(super) fn take(&mut self, id: i64) -> Result<RequestRow, StoreError> {
        self.requests
            .remove(&id)
            .ok_or_else(|| StoreError::Corrupt {
                table: "requests",
                problem: format!("request {id} chosen but not gathered"),
            })
    }
}

fn candidate(rows: &mut HashMap<i64, RequestRow>, row: RequestRow) -> Candidate {
    let c = Candidate {
        id: row.id,
        address: row.seeker_address.clone(),
        state: row.machine.state,
        booked: row.machine.booked,
    };
    rows.insert(row.id, row);
    c
}

/// The meta key that says staff were told today of a 求職番号's flood.
pub(super) fn seeker_told_key(number: &str, today: NaiveDate) -> String {
    format!("flood_seeker:{number}:{today}")
}

/// What a mail's decision is made on: the facts, the rows behind them,
/// and the mail as read on them.
pub(super) type Gathered = (Facts, Rows, Result<Understood, Decision>);

/// Everything `core::decide::decide_on` reads about `mail` (`decide::reads`
/// says what that is), and the mail read on it.
pub(super) async fn gather(
    office: &Office,
    tx: &mut Tx,
    inbound: &Inbound,
    mail: &decide::Mail<'_>,
    rules: &decide::Rules<'_>,
    now: DateTime<Utc>,
) -> Result<Gathered, DeskError> {
    let (facts, rows) = match decide::reads(mail, rules) {
        Reads::Nothing => (Facts::default(), Rows::default()),
        Reads::Bounce => returned(tx, inbound, now).await?,
        Reads::Requests => return requests_facts(office, tx, inbound, mail, rules, now).await,
    };
    let understood = decide::understand(mail, &facts, rules, now);
    Ok((facts, rows, understood))
}

/// A delivery failure read, the mail of ours it returns found (by the
/// Message-IDs it quotes, else the latest to a recipient it names), with
/// its request and whether its address is already marked.
async fn returned(
    tx: &mut Tx,
    inbound: &Inbound,
    now: DateTime<Utc>,
) -> Result<(Facts, Rows), DeskError> {
    let report = bounce::read(&inbound.report);
    let mut sent = None;
    for id in &report.message_ids {
        if let Some(m) = outbox::by_message_id(tx, id).await? {
            if !matches!(m.kind.as_str(), "staff" | "digest") {
                sent = Some(m);
                break;
            }
        }
    }
    if sent.is_none() {
        let since = now - ChronoDuration::days(bounce::MATCH_BY_RECIPIENT_DAYS);
        for address in &report.recipients {
            sent = outbox::latest_to(tx, address, since).await?;
            if sent.is_some() {
                break;
            }
        }
    }
    let row = match sent.as_ref().and_then(|m| m.request_id) {
        Some(id) => requests::find_by_id(tx, id).await?,
        None => None,
    };
    let marked = match &sent {
        Some(m) => unreachable::is_marked(tx, &m.recipient).await?,
        None => false,
    };
    let facts = Facts {
        bounce: Some(BounceFacts {
            report: report.clone(),
            matched: sent.is_some(),
            marked,
        }),
        ..Facts::default()
    };
    let rows = Rows {
        returned: Some(Returned { report, sent, row }),
        ..Rows::default()
    };
    Ok((facts, rows))
}

/// The requests a mail could belong to, the sender's count, and what the
/// decision looks up about its request.
async fn requests_facts(
    office: &Office,
    tx: &mut Tx,
    inbound: &Inbound,
    mail: &decide::Mail<'_>,
    rules: &decide::Rules<'_>,
    now: DateTime<Utc>,
) -> Result<Gathered, DeskError> {
    let (candidates, rows) = candidates(tx, inbound, now).await?;
    let (sender_recent, sender_told) =
        processed::recent_from(tx, &inbound.from, now - ChronoDuration::hours(24)).await?;
    let mut requests = HashMap::new();
    for row in rows.values() {
        let ours = outbox::raws_for_request(tx, row.id)
            .await?
            .iter()
            .map(|raw| message::parse(raw).body)
            .collect();
        let held = Held {
            machine: row.machine.clone(),
            address: row.seeker_address.clone(),
            ours,
        };
        requests.insert(row.id, held);
    }
    let mut facts = Facts {
        candidates,
        sender_recent,
        sender_told,
        requests,
        ..Facts::default()
    };
    let rows = Rows {
        requests: rows,
        returned: None,
    };
    // Read once: what it names is looked up, then decided on.
    let understood = decide::understand(mail, &facts, rules, now);
    let Ok(u) = &understood else {
        return Ok((facts, rows, understood));
    };
    let lookups = decide::lookups_of(u);
    for number in lookups.seeker_numbers {
        let seeker = seeker_facts(office, tx, &number, now).await?;
        facts.seekers.insert(number, seeker);
    }
    let address = address_facts(tx, &lookups.address, now).await?;
    facts.addresses.insert(lookups.address, address);
    (facts.full, facts.closed) = slots_facts(office, tx, now).await?;
    Ok((facts, rows, understood))
}

/// The requests the mail could belong to, with their rows.
async fn candidates(
    tx: &mut Tx,
    inbound: &Inbound,
    now: DateTime<Utc>,
) -> Result<(Candidates, HashMap<i64, RequestRow>), DeskError> {
    let mut rows = HashMap::new();
    let by_thread = requests::find_by_thread(tx, &inbound.thread_ids).await?;
    let thread_is_ours = match &by_thread {
        Some(r) => outbox::sent_any_of(tx, r.id, &inbound.thread_ids).await?,
        None => false,
    };
    let by_reference = match route::subject_reference(&inbound.subject) {
        Some(reference) => requests::find_by_ref(tx, &reference).await?,
        None => None,
    };
    let mut by_reservation = Vec::new();
    for reservation in route::reservation_numbers(&inbound.subject, &inbound.body) {
        if let Some(b) = bookings::find_by_reservation(tx, &reservation).await? {
            if let Some(r) = requests::find_by_id(tx, b.request_id).await? {
                by_reservation.push(r);
            }
        }
    }
    let since = now - ChronoDuration::days(route::CONTINUATION_DAYS);
    let open = requests::find_open_by_address(tx, &inbound.from, since).await?;
    let booked = requests::booked_by_address(tx, &inbound.from).await?;
    let candidates = Candidates {
        by_thread: by_thread.map(|r| candidate(&mut rows, r)),
        thread_is_ours,
        by_reference: by_reference.map(|r| candidate(&mut rows, r)),
        by_reservation: by_reservation
            .into_iter()
            .map(|r| candidate(&mut rows, r))
            .collect(),
        open: open.map(|r| candidate(&mut rows, r)),
        booked: booked
            .into_iter()
            .map(|r| candidate(&mut rows, r))
            .collect(),
    };
    Ok((candidates, rows))
}

/// A 求職番号's new requests of the last day, whether staff were told of
/// them today, and the office's records of the seeker.
pub(super) async fn seeker_facts(
    office: &Office,
    tx: &mut Tx,
    number: &str,
    now: DateTime<Utc>,
) -> Result<SeekerFacts, DeskError> {
    let today = office.cfg.calendar.local_date(now);
    let day_ago = now - ChronoDuration::hours(24);
    let recent_requests = requests::recent_by_seeker_number(tx, number, day_ago).await?;
    let told_today = office::get_meta(tx, &seeker_told_key(number, today))
        .await?
        .is_some();
    let (refused, unexcused_no_shows) = office::standing(tx, number).await?;
    Ok(SeekerFacts {
        recent_requests,
        told_today,
        standing: Standing {
            refused,
            unexcused_no_shows,
        },
    })
}

/// The "what is missing" notices sent to an address within the window,
/// and whether mail to it arrives.
pub(super) async fn address_facts(
    tx: &mut Tx,
    address: &str,
    now: DateTime<Utc>,
) -> Result<AddressFacts, DeskError> {
    let since = now - ChronoDuration::hours(booking::NOTICE_WINDOW_HOURS);
    Ok(AddressFacts {
        missing_told: outbox::variants_since(tx, address, "missing", since).await?,
        reachable: !unreachable::is_marked(tx, address).await?,
    })
}

/// The slots with every room booked, and the calendar with the days
/// staff closed (None when they closed none).
pub(super) async fn slots_facts(
    office: &Office,
    tx: &mut Tx,
    now: DateTime<Utc>,
) -> Result<(HashSet<Slot>, Option<Calendar>), DeskError> {
    let cal = &office.cfg.calendar;
    let horizon_end = now + ChronoDuration::days(i64::from(cal.horizon_days) + 2);
    let from = now - ChronoDuration::days(1);
    let full = bookings::full_slots(tx, cal, from, horizon_end, &office.room_ids).await?;
    let closures = waitlist::closures_from(tx, cal.local_date(from)).await?;
    let closed = (!closures.is_empty()).then(|| Calendar {
        closures: closures.into_iter().map(|c| (c.day, c.reason)).collect(),
        ..cal.clone()
    });
    Ok((full, closed))
}
