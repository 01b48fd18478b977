//! Gather: everything the routing of one inbound mail needs, loaded from
//! the store in one place and before any decision: the requests it could
//! belong to (`route::Candidates`), with their rows for what comes after,
//! and the sender's count for the daily limit.

use super::DeskError;
use crate::core::route::{self, Candidate, Candidates};
use crate::mail::message::Inbound;
use crate::office::Office;
use crate::store::{bookings, outbox, processed, requests, RequestRow, StoreError, Tx};
use chrono::{DateTime, Duration as ChronoDuration, Utc};
use std::collections::HashMap;

/// What the store knows that bears on one inbound mail.
pub(super) struct Gathered {
    pub(super) candidates: Candidates,
    /// The candidates' rows, by id.
    pub(super) rows: HashMap<i64, RequestRow>,
    /// Mails handled from the sender in the last day, and whether one of
    /// them was already over the limit.
    pub(super) sender_recent: (i64, bool),
}

impl Gathered {
    /// The row of a candidate `route` chose.
    pub(super) fn take(&mut self, id: i64) -> Result<RequestRow, StoreError> {
        self.rows.remove(&id).ok_or_else(|| StoreError::Corrupt {
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

impl Office {
    pub(super) async fn gather(
        &self,
        tx: &mut Tx,
        inbound: &Inbound,
        now: DateTime<Utc>,
    ) -> Result<Gathered, DeskError> {
        let mut rows = HashMap::new();
        let sender_recent =
            processed::recent_from(tx, &inbound.from, now - ChronoDuration::hours(24)).await?;
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
        Ok(Gathered {
            candidates,
            rows,
            sender_recent,
        })
    }
}
