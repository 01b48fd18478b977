//! A delivery failure of our own mail, carried out: gathered with every
//! inbound mail (`desk::gather`: the mail it returns, the request, whether
//! the address is already marked), decided there too (`core::decide`, by
//! `core::bounce::verdict`), applied here (the mark, the history, one note).

use super::error::DeskError;
use super::gather::Returned;
use super::staff_note::{self, NoteExtra};
use crate::core::booking::StaffReason;
use crate::core::bounce::{self, Report, Verdict};
use crate::core::route::Filing;
use crate::mail::message::Inbound;
use crate::mail::notice::BounceView;
use crate::office::Office;
use crate::store::outbox::SentMail;
use crate::store::unreachable::Bounced;
use crate::store::{requests, unreachable, RequestRow, StoreError, Tx};
use chrono::{DateTime, Utc};
use tracing::info;

/// Carries out what `core::decide` decided about a delivery failure,
/// on the mail of ours it returns (`desk::gather`).
pub(super) async fn on_bounce(
    office: &Office,
    tx: &mut Tx,
    inbound: &Inbound,
    verdict: Verdict,
    returned: Option<Returned>,
    now: DateTime<Utc>,
) -> Result<(Filing, &'static str, Option<i64>), DeskError> {
    let Some(Returned { report, sent, row }) = returned else {
        return Err(StoreError::Corrupt {
            table: "outbox",
            problem: "a delivery failure decided but not gathered".into(),
        }
        .into());
    };
    let request_id = row.as_ref().map(|r| r.id);
    info!(request = request_id, verdict = ?verdict, "delivery failure read");
    match (verdict, sent) {
        (Verdict::Unreachable, Some(m)) => {
            let extra = bounce_note(row.as_ref(), &m, &report, &inbound.raw_from);
            mark_unreachable(office, tx, row.as_ref(), &m, extra, &inbound.subject, now).await?;
            Ok((Filing::Machine, "bounce", request_id))
        }
        (Verdict::Delay, _) => {
            if let Some(r) = &row {
                let state = r.machine.state;
                requests::add_history(tx, r.id, Some(state), state, "bounce_delayed", now).await?;
            }
            Ok((Filing::Machine, "bounce_delayed", request_id))
        }
        (Verdict::AlreadyKnown, _) => Ok((Filing::Machine, "bounce", request_id)),
        (_, sent) => {
            let extra = match &sent {
                Some(m) => bounce_note(row.as_ref(), m, &report, &inbound.raw_from),
                None => NoteExtra {
                    from: Some(inbound.raw_from.clone()),
                    bounce: Some(BounceView {
                        address: report.recipients.join(", "),
                        status: report.status.clone().unwrap_or_default(),
                        diagnostic: report.diagnostic.clone().unwrap_or_default(),
                        ..BounceView::default()
                    }),
                    ..NoteExtra::default()
                },
            };
            staff_note::notify_staff_with(
                office,
                tx,
                row.as_ref(),
                StaffReason::Bounce,
                &inbound.subject,
                extra,
                now,
            )
            .await?;
            Ok((Filing::Machine, "bounce", request_id))
        }
    }
}

/// Marks the address of a mail of ours that will never arrive: no more
/// mail goes to it, and staff get one note (none when already marked).
pub(super) async fn mark_unreachable(
    office: &Office,
    tx: &mut Tx,
    row: Option<&RequestRow>,
    sent: &SentMail,
    extra: NoteExtra,
    subject: &str,
    now: DateTime<Utc>,
) -> Result<(), DeskError> {
    let bounce = extra.bounce.clone().unwrap_or_default();
    let bounced = Bounced {
        address: &sent.recipient,
        request_id: row.map(|r| r.id),
        kind: &sent.kind,
        status: Some(bounce.status.as_str()).filter(|s| !s.is_empty()),
        diagnostic: Some(bounce.diagnostic.as_str()).filter(|s| !s.is_empty()),
    };
    if !unreachable::mark(tx, &bounced, now).await? {
        return Ok(());
    }
    if let Some(r) = row {
        let state = r.machine.state;
        requests::add_history(tx, r.id, Some(state), state, "bounce_unreachable", now).await?;
    }
    staff_note::notify_staff_with(
        office,
        tx,
        row,
        StaffReason::Unreachable,
        subject,
        extra,
        now,
    )
    .await
}

/// A submission the recipient's server refused for good (5.1.x, 5.2.x
/// at RCPT): as a bounce would, the address is marked and staff phone.
pub(super) async fn refused_at_submission(
    office: &Office,
    tx: &mut Tx,
    sent: &SentMail,
    status: String,
    server_words: &str,
    now: DateTime<Utc>,
) -> Result<(), DeskError> {
    let row = match sent.request_id {
        Some(id) => requests::find_by_id(tx, id).await?,
        None => None,
    };
    let report = Report {
        severity: bounce::Severity::Permanent,
        recipients: vec![sent.recipient.clone()],
        status: Some(status),
        diagnostic: Some(crate::core::text::single_line(server_words, 200)),
        message_ids: Vec::new(),
    };
    let extra = bounce_note(row.as_ref(), sent, &report, "");
    mark_unreachable(office, tx, row.as_ref(), sent, extra, "", now).await
}

fn bounce_note(
    row: Option<&RequestRow>,
    sent: &SentMail,
    report: &Report,
    raw_from: &str,
) -> NoteExtra {
    let data = row.map(|r| &r.machine.data);
    NoteExtra {
        from: Some(raw_from.to_string()).filter(|f| !f.is_empty()),
        bounce: Some(BounceView {
            kind: sent.kind.clone(),
            address: sent.recipient.clone(),
            status: report.status.clone().unwrap_or_default(),
            diagnostic: report.diagnostic.clone().unwrap_or_default(),
            phone: data.and_then(|d| d.phone.clone()).unwrap_or_default(),
            name: data.and_then(|d| d.name.clone()).unwrap_or_default(),
        }),
        ..NoteExtra::default()
    }
}
