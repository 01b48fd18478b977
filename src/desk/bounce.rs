//! A delivery failure of our own mail: gathered (the mail it returns, the
//! request, whether the address is already marked), decided by
//! `core::bounce::verdict`, applied (the mark, the history, one note).

use super::staff_note::{self, NoteExtra};
use super::{DeskError, Filing};
use crate::core::booking::StaffReason;
use crate::core::bounce::{self, Report, Verdict};
use crate::mail::message::Inbound;
use crate::mail::notice::BounceView;
use crate::office::Office;
use crate::store::outbox::SentMail;
use crate::store::unreachable::Bounced;
use crate::store::{outbox, requests, unreachable, RequestRow, Tx};
use chrono::{DateTime, Duration as ChronoDuration, Utc};
use tracing::info;

/// How far back a bounce that quotes none of our Message-IDs is matched
/// by its recipient: bounces come within days.
const MATCH_BY_RECIPIENT_DAYS: i64 = 14;

pub(super) async fn on_bounce(
    office: &Office,
    tx: &mut Tx,
    inbound: &Inbound,
    now: DateTime<Utc>,
) -> Result<(Filing, &'static str, Option<i64>), DeskError> {
    let report = bounce::read(&inbound.report);
    let sent = bounced_mail(tx, &report, now).await?;
    let row = match sent.as_ref().and_then(|m| m.request_id) {
        Some(id) => requests::find_by_id(tx, id).await?,
        None => None,
    };
    let marked = match &sent {
        Some(m) => unreachable::is_marked(tx, &m.recipient).await?,
        None => false,
    };
    let request_id = row.as_ref().map(|r| r.id);
    let verdict = bounce::verdict(&report, sent.is_some(), marked);
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

/// The mail of ours a notice returns: by the Message-IDs it quotes, else
/// the latest to a recipient it names.
async fn bounced_mail(
    tx: &mut Tx,
    report: &Report,
    now: DateTime<Utc>,
) -> Result<Option<SentMail>, DeskError> {
    for id in &report.message_ids {
        if let Some(m) = outbox::by_message_id(tx, id).await? {
            if !matches!(m.kind.as_str(), "staff" | "digest") {
                return Ok(Some(m));
            }
        }
    }
    let since = now - ChronoDuration::days(MATCH_BY_RECIPIENT_DAYS);
    for address in &report.recipients {
        if let Some(m) = outbox::latest_to(tx, address, since).await? {
            return Ok(Some(m));
        }
    }
    Ok(None)
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
