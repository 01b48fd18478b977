//! A delivery failure of our own mail: gathered (the mail it returns, the
//! request, whether the address is already marked), decided by
//! `core::bounce::verdict`, applied (the mark, the history, one note).

use super::apply::NoteExtra;
use super::{DeskError, Filing};
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

impl Office {
    pub(super) async fn on_bounce(
        &self,
        tx: &mut Tx,
        inbound: &Inbound,
        now: DateTime<Utc>,
    ) -> Result<(Filing, &'static str, Option<i64>), DeskError> {
        let report = bounce::read(&inbound.report);
        let sent = self.bounced_mail(tx, &report, now).await?;
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
                let status = report.status.as_deref();
                let bounced = Bounced {
                    address: &m.recipient,
                    request_id,
                    kind: &m.kind,
                    status,
                    diagnostic: report.diagnostic.as_deref(),
                };
                if unreachable::mark(tx, &bounced, now).await? {
                    if let Some(r) = &row {
                        let state = r.machine.state;
                        requests::add_history(
                            tx,
                            r.id,
                            Some(state),
                            state,
                            "bounce_unreachable",
                            now,
                        )
                        .await?;
                    }
                    let extra = self.bounce_note(row.as_ref(), &m, &report, inbound);
                    self.notify_staff_with(
                        tx,
                        row.as_ref(),
                        "unreachable",
                        &inbound.subject,
                        extra,
                        now,
                    )
                    .await?;
                }
                Ok((Filing::Machine, "bounce", request_id))
            }
            (Verdict::Delay, _) => {
                if let Some(r) = &row {
                    let state = r.machine.state;
                    requests::add_history(tx, r.id, Some(state), state, "bounce_delayed", now)
                        .await?;
                }
                Ok((Filing::Machine, "bounce_delayed", request_id))
            }
            (Verdict::AlreadyKnown, _) => Ok((Filing::Machine, "bounce", request_id)),
            (_, sent) => {
                let extra = match &sent {
                    Some(m) => self.bounce_note(row.as_ref(), m, &report, inbound),
                    None => NoteExtra {
                        from: Some(inbound.raw_from.clone()),
                        bounce: Some(BounceView {
                            address: report.recipients.join(", "),
                            status: report.status.clone().unwrap_or_default(),
                            diagnostic: report.diagnostic.clone().unwrap_or_default(),
                            ..BounceView::default()
                        }),
                    },
                };
                self.notify_staff_with(tx, row.as_ref(), "bounce", &inbound.subject, extra, now)
                    .await?;
                Ok((Filing::Staff, "bounce", request_id))
            }
        }
    }

    /// The mail of ours a notice returns: by the Message-IDs it quotes, else
    /// the latest to a recipient it names.
    async fn bounced_mail(
        &self,
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

    fn bounce_note(
        &self,
        row: Option<&RequestRow>,
        sent: &SentMail,
        report: &Report,
        inbound: &Inbound,
    ) -> NoteExtra {
        let data = row.map(|r| &r.machine.data);
        NoteExtra {
            from: Some(inbound.raw_from.clone()),
            bounce: Some(BounceView {
                kind: sent.kind.clone(),
                address: sent.recipient.clone(),
                status: report.status.clone().unwrap_or_default(),
                diagnostic: report.diagnostic.clone().unwrap_or_default(),
                phone: data.and_then(|d| d.phone.clone()).unwrap_or_default(),
                name: data.and_then(|d| d.name.clone()).unwrap_or_default(),
            }),
        }
    }
}
