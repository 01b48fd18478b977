//! Sending the outbox under leases, marking each mail right after the
//! server took it, and settling the mail a crash left in flight.

use super::error::DeskError;
use super::inbox;
use super::pass::PassReport;
use super::staff_note;
use crate::core::booking::StaffReason;
use crate::core::bounce;
use crate::mail::imap::ImapSession;
use crate::office::Office;
use crate::store::{outbox, OutboxRow, StoreError};
use chrono::{DateTime, Duration as ChronoDuration, Utc};
use std::collections::{HashMap, HashSet};
use std::time::Duration;
use tokio::sync::Notify;
use tracing::{debug, info, warn};

/// Mails a round must hold per SMTP connection it opens side by side.
pub(super) const MAILS_PER_LANE: usize = 32;

/// How long `once` waits for the copies of the mail it sent.
pub(super) const COPY_WAIT_IN_ONCE: Duration = Duration::from_secs(5);

/// Waits (a few seconds at most) for the copies of the mail sent since
/// `since` to arrive and files them, so that a single pass leaves the
/// mailbox as staff expect: everything sent is in the sent folder. The
/// daemon needs no wait: the copies wake it.
pub(super) async fn file_copies_since(
    office: &Office,
    session: &mut ImapSession,
    since: DateTime<Utc>,
    now: DateTime<Utc>,
    report: &mut PassReport,
) -> Result<(), DeskError> {
    let own = office.cfg.from_address();
    if !is_plain_search_value(&own) {
        return Ok(());
    }
    let deadline = tokio::time::Instant::now() + COPY_WAIT_IN_ONCE;
    let mut selected = false;
    let copies = loop {
        // Another desk on the mailbox may file some of them meanwhile.
        let awaited = {
            let mut conn = office.store.conn().await?;
            outbox::copies_awaited(&mut conn, since).await?
        };
        if awaited == 0 {
            return Ok(());
        }
        if selected {
            session.noop().await?;
        } else {
            session.select(&office.cfg.imap.mailbox).await?;
            selected = true;
        }
        let arrived = session.search(&format!("FROM \"{own}\"")).await?;
        if arrived.len() as i64 >= awaited || tokio::time::Instant::now() >= deadline {
            break arrived;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    };
    // Only these: the rest of the inbox waits for the next pass.
    let mut filing = PassReport::default();
    inbox::process_inbox(
        office,
        session,
        now,
        &mut filing,
        &Notify::new(),
        Some(&copies),
    )
    .await?;
    report.copies += filing.copies;
    Ok(())
}

/// Settles the mail a crash or a time-out left in flight: written up to
/// its end of data, with no answer from the server recorded. Its own
/// copy in the office mailbox proves the server took it (then it is
/// marked sent); a copy that has not come within `smtp.copy_wait`
/// never will, and the mail is sent again. Mail in flight is never sent
/// before this, and mail another desk still holds is left to it.
pub(super) async fn resolve_doubts(
    office: &Office,
    session: &mut ImapSession,
) -> Result<(), DeskError> {
    let in_flight = {
        let mut journal = office.store.journal_conn().await?;
        outbox::journal_in_flight(&mut journal, 1000).await?
    };
    if in_flight.is_empty() {
        return Ok(());
    }
    let ids: Vec<String> = in_flight.iter().map(|(id, _)| id.clone()).collect();
    // The outbox rows of those mails, this office's or another's.
    let rows: HashMap<String, outbox::InFlightRow> = {
        let mut conn = office.store.conn().await?;
        outbox::pending_among(&mut conn, &ids, Utc::now())
            .await?
            .into_iter()
            .collect()
    };
    let waited_since = Utc::now()
        - ChronoDuration::from_std(office.cfg.smtp.copy_wait)
            .unwrap_or(ChronoDuration::seconds(30));
    let mut selected = false;
    for (id, since) in in_flight {
        let settled = match rows.get(&id) {
            // Gone (its request purged).
            None => true,
            // Another office's mail: its own desk settles it.
            Some(row) if !row.ours => false,
            // Marked sent meanwhile (its mark or its copy).
            Some(row) if !row.pending => true,
            Some(row) if row.leased || since > waited_since => false,
            Some(_) => {
                if !selected {
                    session.select(&office.cfg.imap.mailbox).await?;
                    selected = true;
                }
                let copy = if is_plain_search_value(&id) {
                    !session
                        .search(&format!("HEADER Message-ID \"{id}\""))
                        .await?
                        .is_empty()
                } else {
                    false
                };
                let mut journal = office.store.journal_conn().await?;
                if copy {
                    info!("a mail in doubt was delivered; marked sent");
                    outbox::journal_step(&mut journal, Some(&id), None, Utc::now()).await?;
                } else {
                    info!("a mail in doubt never reached the server; it is sent again");
                }
                true
            }
        };
        if settled {
            let mut journal = office.store.journal_conn().await?;
            outbox::journal_forget_in_flight(&mut journal, &id).await?;
        }
    }
    Ok(())
}

/// Sends what the outbox holds, then closes the SMTP connections.
pub async fn send_pending(
    office: &Office,
    now: DateTime<Utc>,
    report: &mut PassReport,
) -> Result<(), DeskError> {
    let result = send_due(office, now, report).await;
    office.smtp.close().await;
    result.map(|_| ())
}

/// Sends what the outbox holds, leaving the connections open for the
/// next round. Each mail is claimed under a lease and marked sent right
/// after the server accepts it, before the next submission on that
/// connection. Transient failures back off (30 s doubling to 1 h);
/// permanent ones are marked failed and staff told. Returns whether
/// sending stopped at a transient failure.
pub(super) async fn send_due(
    office: &Office,
    now: DateTime<Utc>,
    report: &mut PassReport,
) -> Result<bool, DeskError> {
    let until = now.max(Utc::now());
    // Leased for twice the SMTP time-out: long enough to finish a
    // submission, short enough that a crashed sender's mail is soon
    // retried. A lane stops before a submission that could outlast it.
    let lease = ChronoDuration::from_std(office.cfg.smtp.timeout * 2)
        .unwrap_or(ChronoDuration::seconds(60));
    let margin =
        ChronoDuration::from_std(office.cfg.smtp.timeout).unwrap_or(ChronoDuration::seconds(30));
    loop {
        // Rows marked in the journal but not folded yet are still leased
        // (ours) or are folded before the claim below (a dead desk's), so
        // nothing marked is claimed again.
        let rows = {
            let mut conn = office.store.conn().await?;
            outbox::pending(&mut conn, until, Utc::now(), 100).await?
        };
        // Mail in flight waits for `resolve_doubts`: sent again only
        // once it is known that the server never took it.
        let in_flight: HashSet<String> = {
            let mut journal = office.store.journal_conn().await?;
            outbox::journal_in_flight(&mut journal, 1000)
                .await?
                .into_iter()
                .map(|(id, _)| id)
                .collect()
        };
        let rows: Vec<OutboxRow> = rows
            .into_iter()
            .filter(|r| !in_flight.contains(&r.message_id))
            .collect();
        if rows.is_empty() {
            fold_sent_marks(office, None).await?;
            return Ok(false);
        }
        let lease_until = Utc::now() + lease;
        let ids: Vec<i64> = rows.iter().map(|r| r.id).collect();
        // The whole batch is claimed in one statement: one disk sync,
        // not one per mail.
        let lease = outbox::Lease {
            owner: &office.owner,
            until: lease_until,
            now: Utc::now(),
        };
        let claimed: std::collections::HashSet<i64> =
            fold_sent_marks(office, Some((&ids, until, lease)))
                .await?
                .into_iter()
                .collect();
        // Rows another desk claimed are its to send. Ours are dealt
        // round-robin to the SMTP lanes; each lane sends its share in
        // order and stops at a transient failure (the server is likely
        // down: the rest is retried when its lease ends).
        let mine: Vec<&OutboxRow> = rows.iter().filter(|r| claimed.contains(&r.id)).collect();
        if mine.is_empty() {
            fold_sent_marks(office, None).await?;
            return Ok(false);
        }
        // A second connection pays for itself only in a burst; each
        // connection also has one submission in flight that a crash
        // could leave in doubt, so a quiet round uses one.
        let lanes = office
            .smtp
            .lanes()
            .min(mine.len().div_ceil(MAILS_PER_LANE))
            .max(1);
        let outcomes = futures::future::join_all((0..lanes).map(|lane| {
            let share: Vec<&OutboxRow> = mine.iter().skip(lane).step_by(lanes).copied().collect();
            send_lane(office, lane, share, lease_until - margin)
        }))
        .await;
        let mut progressed = false;
        let mut stop = false;
        for outcome in outcomes {
            report.sent += outcome.sent;
            progressed |= outcome.sent > 0;
            stop |= outcome.lease_ran_out;
            if let Some(e) = outcome.store_error {
                return Err(e.into());
            }
            let Some((row, failure)) = outcome.failed else {
                continue;
            };
            let e = failure.error;
            report.send_failures += 1;
            let mut conn = office.store.conn().await?;
            if e.is_transient() {
                let delay = 30i64
                    .saturating_mul(1 << row.attempts.clamp(0, 7))
                    .min(3600);
                warn!(outbox = row.id, attempts = row.attempts + 1, error = %e, "send failed; will retry");
                // The back-off runs on the decision clock, so a replayed
                // pass (`once --now`) retries consistently with it.
                outbox::mark_attempt_failed(
                    &mut conn,
                    row.id,
                    &e.to_string(),
                    Some(now + ChronoDuration::seconds(delay)),
                )
                .await?;
                stop = true;
            } else {
                warn!(outbox = row.id, error = %e, "send failed permanently");
                let words = e.server_words();
                outbox::mark_attempt_failed(&mut conn, row.id, &e.to_string(), None).await?;
                let sent = outbox::by_message_id(&mut conn, &row.message_id).await?;
                drop(conn);
                if row.kind != "staff" {
                    let mut tx = office.store.begin().await?;
                    match (sent, bounce::refuses_recipient(&words)) {
                        (Some(sent), Some(status)) if sent.request_id.is_some() => {
                            super::bounce::refused_at_submission(
                                office, &mut tx, &sent, status, &words, now,
                            )
                            .await?;
                        }
                        _ => {
                            staff_note::notify_staff(
                                office,
                                &mut tx,
                                None,
                                StaffReason::SendFailed,
                                "",
                                now,
                            )
                            .await?;
                        }
                    }
                    tx.commit().await?;
                }
                progressed = true;
            }
        }
        if stop || !progressed {
            fold_sent_marks(office, None).await?;
            return Ok(stop);
        }
    }
}

/// Folds the sent journal into the outbox in one transaction (one disk
/// sync), claiming `claim` (ids, due-by, lease) in the same one;
/// returns the ids claimed.
pub(super) async fn fold_sent_marks(
    office: &Office,
    claim: Option<(&[i64], DateTime<Utc>, outbox::Lease<'_>)>,
) -> Result<Vec<i64>, DeskError> {
    let marks = {
        let mut journal = office.store.journal_conn().await?;
        outbox::journal_marks(&mut journal, 1000).await?
    };
    if marks.is_empty() && claim.is_none() {
        return Ok(Vec::new());
    }
    let claimed = {
        let _turn = office.store.turn().await;
        let mut tx = office.store.begin().await?;
        outbox::fold_sent(&mut tx, &marks).await?;
        let claimed = match claim {
            Some((ids, due_by, lease)) => outbox::claim_many(&mut tx, ids, due_by, lease).await?,
            None => Vec::new(),
        };
        tx.commit().await?;
        claimed
    };
    let mut journal = office.store.journal_conn().await?;
    outbox::forget_journal_marks(&mut journal, &marks).await?;
    Ok(claimed)
}

/// Sends one lane's share in order on SMTP connection `lane`. Each
/// mail is marked sent in the journal while the next one's envelope is
/// accepted, and always before the next one's end of data: at any
/// moment at most one accepted mail of this connection is unmarked.
/// Stops at the first failure, and before a submission that could end
/// after `send_by` (the claim's lease minus one time-out): another desk
/// may take the rest.
pub(super) async fn send_lane<'r>(
    office: &Office,
    lane: usize,
    share: Vec<&'r OutboxRow>,
    send_by: DateTime<Utc>,
) -> LaneOutcome<'r> {
    let mut outcome = LaneOutcome::default();
    // The mail the server accepted last, not yet marked.
    let mut unmarked: Option<&OutboxRow> = None;
    for row in share {
        if Utc::now() >= send_by {
            outcome.lease_ran_out = true;
            break;
        }
        let (marked, sent) = office
            .smtp
            .send_on(
                lane,
                row.id,
                &row.recipient,
                &row.raw,
                journal_step(office, unmarked.take(), Some(row)),
            )
            .await;
        if let Err(e) = marked {
            outcome.store_error = Some(e);
            break;
        }
        if let Err(failure) = sent {
            if !failure.in_doubt {
                if let Err(e) = forget_in_flight(office, row).await {
                    outcome.store_error = Some(e);
                }
            }
            outcome.failed = Some((row, failure));
            break;
        }
        debug!(outbox = row.id, kind = %row.kind, "sent");
        outcome.sent += 1;
        unmarked = Some(row);
    }
    if unmarked.is_some() {
        if let Err(e) = journal_step(office, unmarked, None).await {
            outcome.store_error.get_or_insert(e);
        }
    }
    outcome
}

/// Marks `sent` sent in the sent journal and puts `next` in flight, in
/// one write. Sent but not marked, a mail stays in flight until
/// `resolve_doubts` finds its copy (or sends it again).
pub(super) async fn journal_step(
    office: &Office,
    sent: Option<&OutboxRow>,
    next: Option<&OutboxRow>,
) -> Result<(), StoreError> {
    let marked = async {
        let mut journal = office.store.journal_conn().await?;
        outbox::journal_step(
            &mut journal,
            sent.map(|r| r.message_id.as_str()),
            next.map(|r| r.message_id.as_str()),
            Utc::now(),
        )
        .await
    }
    .await;
    if let Err(e) = &marked {
        let id = sent.or(next).map(|r| r.id);
        warn!(outbox = id, error = %e, "sent journal could not be written");
    }
    marked
}

/// The server refused the mail: it is not in flight any more.
pub(super) async fn forget_in_flight(office: &Office, row: &OutboxRow) -> Result<(), StoreError> {
    let mut journal = office.store.journal_conn().await?;
    outbox::journal_forget_in_flight(&mut journal, &row.message_id).await
}

/// What one SMTP lane did with its share of a claimed batch.
#[derive(Default)]
pub(super) struct LaneOutcome<'r> {
    pub(super) sent: usize,
    pub(super) failed: Option<(&'r OutboxRow, crate::mail::smtp::SendFailure)>,
    pub(super) lease_ran_out: bool,
    pub(super) store_error: Option<StoreError>,
}

/// Whether `value` can go into an IMAP SEARCH string as it is: our own
/// Message-IDs and address, checked rather than escaped.
pub(super) fn is_plain_search_value(value: &str) -> bool {
    !value.is_empty()
        && value
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "._-+@".contains(c))
}
