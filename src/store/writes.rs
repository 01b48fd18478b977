//! The writes of one decided step, carried out in the order given. The
//! desk plans them (the step's effects, each mail already rendered); the
//! store only writes, all inside the caller's transaction, so a state
//! change and the mails it causes commit together.

use super::{bookings, meetings, outbox, requests, waitlist, StoreError, Tx};
use crate::core::booking::{BookingStatus, Request, State, WaitOutcome};
use chrono::{DateTime, Utc};

/// One write.
#[derive(Debug)]
pub enum Write {
    /// A booking's status after an outcome (cancelled, no-show, attended).
    BookingOutcome {
        booking: i64,
        status: BookingStatus,
        cancelled_by: Option<&'static str>,
        excused: bool,
    },
    /// A booking's Zoom meeting wanted (made, on the given host seat) or
    /// not (deleted).
    Meeting {
        booking: i64,
        wanted: bool,
        seat: usize,
    },
    /// The terms the offer was sent with (its consent binds to them).
    OfferTerms { request: i64, sha256: String },
    /// A freed slot offered to a request that waits for it.
    WaitlistOffered {
        request: i64,
        slot_start: DateTime<Utc>,
    },
    /// How a freed-slot offer ended.
    WaitlistResolved {
        request: i64,
        slot_start: DateTime<Utc>,
        outcome: WaitOutcome,
    },
    /// A rendered mail into the outbox.
    Mail(Queued),
    /// The request's machine after its step, with its next timer.
    Request {
        id: i64,
        before: State,
        after: Box<Request>,
        event: &'static str,
        due: Option<DateTime<Utc>>,
    },
}

/// A rendered mail for the outbox.
#[derive(Debug)]
pub struct Queued {
    pub message_id: String,
    pub request: Option<i64>,
    pub kind: &'static str,
    pub to: String,
    pub raw: Vec<u8>,
    /// Which variant of its kind (a staff note's reason, the missing items).
    pub variant: Option<String>,
    /// A mail in the request's thread: a reply to it is routed to the request.
    pub in_thread: bool,
}

/// Carries out `writes` in order inside `tx`.
pub async fn write(tx: &mut Tx, writes: &[Write], now: DateTime<Utc>) -> Result<(), StoreError> {
    for w in writes {
        match w {
            Write::BookingOutcome {
                booking,
                status,
                cancelled_by,
                excused,
            } => bookings::set_outcome(tx, *booking, *status, *cancelled_by, *excused, now).await?,
            Write::Meeting {
                booking,
                wanted,
                seat,
            } => meetings::want(tx, *booking, *wanted, *seat, now).await?,
            Write::OfferTerms { request, sha256 } => {
                requests::set_offer_terms(tx, *request, sha256).await?
            }
            Write::WaitlistOffered {
                request,
                slot_start,
            } => waitlist::offered(tx, *request, *slot_start, now).await?,
            Write::WaitlistResolved {
                request,
                slot_start,
                outcome,
            } => waitlist::resolve(tx, *request, *slot_start, *outcome, now).await?,
            Write::Mail(mail) => queue(tx, mail, now).await?,
            Write::Request {
                id,
                before,
                after,
                event,
                due,
            } => requests::save(tx, *id, *before, after, event, *due, now).await?,
        }
    }
    Ok(())
}

/// One mail into the outbox, with its thread id and variant.
pub async fn queue(tx: &mut Tx, mail: &Queued, now: DateTime<Utc>) -> Result<(), StoreError> {
    if let (true, Some(request)) = (mail.in_thread, mail.request) {
        requests::add_thread_id(tx, request, &mail.message_id).await?;
    }
    outbox::enqueue(
        tx,
        &mail.message_id,
        mail.request,
        mail.kind,
        &mail.to,
        &mail.raw,
        now,
    )
    .await?;
    if let Some(variant) = &mail.variant {
        outbox::set_variant(tx, &mail.message_id, variant).await?;
    }
    Ok(())
}
