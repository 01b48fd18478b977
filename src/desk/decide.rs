//! One inbound mail: gathered (`desk::gather`), decided whole by
//! `core::decide::decide`, and the decision carried out here: the filing,
//! the staff notes, the request row it creates, and each step's effects
//! (`desk::apply`). Nothing here chooses between outcomes.

use super::apply::{self, Consent};
use super::bounce;
use super::error::DeskError;
use super::gather::{self, seeker_told_key, Rows};
use super::staff_note::{self, NoteExtra};
use crate::core::booking::StaffReason;
use crate::core::decide::{self, Answer, Decision, Target};
use crate::core::route;
use crate::core::route::Filing;
use crate::mail::compose::Thread;
use crate::mail::message::Inbound;
use crate::office::Office;
use crate::store::{office, requests, RequestRow, StoreError, Tx};
use chrono::{DateTime, Utc};
use tracing::warn;

pub(super) async fn decide_and_apply(
    office: &Office,
    tx: &mut Tx,
    inbound: &Inbound,
    now: DateTime<Utc>,
) -> Result<(Filing, &'static str, Option<i64>), DeskError> {
    let own = office.cfg.from_address();
    let staff = crate::config::bare_address(&office.cfg.office.staff_address);
    let rules = decide::Rules {
        office: route::Addresses {
            own: &own,
            staff: &staff,
        },
        calendar: &office.cfg.calendar,
        per_sender_per_day: office.cfg.per_sender_per_day,
        per_seeker_per_day: office.cfg.per_seeker_per_day,
        booking: &office.cfg.rules,
    };
    let mail = decide::Mail {
        envelope: inbound.envelope(),
        from: &inbound.from,
        reply_to: inbound.reply_to.as_deref(),
        body: &inbound.body,
    };
    let (facts, mut rows, understood) =
        gather::gather(office, tx, inbound, &mail, &rules, now).await?;
    match decide::decide_on(understood, &facts, &rules, now) {
        Decision::Bounce(verdict) => {
            bounce::on_bounce(office, tx, inbound, verdict, rows.returned.take(), now).await
        }
        Decision::Screened(screened) => {
            if let Some(reason) = screened.tells_staff() {
                let extra = NoteExtra {
                    from: Some(inbound.raw_from.clone()),
                    ..NoteExtra::default()
                };
                staff_note::notify_staff_with(
                    office,
                    tx,
                    None,
                    reason,
                    &inbound.subject,
                    extra,
                    now,
                )
                .await?;
            }
            Ok((screened.filing(), screened.outcome(), None))
        }
        Decision::SenderOverLimit { tell_staff } => {
            if tell_staff {
                staff_note::notify_staff(
                    office,
                    tx,
                    None,
                    StaffReason::FloodSender,
                    &inbound.subject,
                    now,
                )
                .await?;
            }
            warn!(
                recent = facts.sender_recent,
                "sender over the daily limit; filed for staff"
            );
            Ok((Filing::Staff, "rate_limited", None))
        }
        Decision::SeekerOverLimit { number, tell_staff } => {
            if tell_staff {
                staff_note::notify_staff(
                    office,
                    tx,
                    None,
                    StaffReason::FloodSeeker,
                    &inbound.subject,
                    now,
                )
                .await?;
                let today = office.cfg.calendar.local_date(now);
                office::set_meta(tx, &seeker_told_key(&number, today), "1").await?;
            }
            warn!("job-seeker number over the daily limit; filed for staff");
            Ok((Filing::Staff, "rate_limited", None))
        }
        Decision::NotGathered { id } => Err(StoreError::Corrupt {
            table: "requests",
            problem: format!("request {id} chosen but not gathered"),
        }
        .into()),
        Decision::Answer(answer) => {
            let cal = facts.closed.as_ref().unwrap_or(&office.cfg.calendar);
            apply_answer(office, tx, inbound, *answer, rows, cal, now).await
        }
    }
}

/// Carries out the answer to a mail that belongs to a request: the row
/// (a new one for a new request), the thread's ids, the needs' step,
/// then the main step; the mail kept for staff when a step needs them.
async fn apply_answer(
    office: &Office,
    tx: &mut Tx,
    inbound: &Inbound,
    answer: Answer,
    mut rows: Rows,
    cal: &crate::core::calendar::Calendar,
    now: DateTime<Utc>,
) -> Result<(Filing, &'static str, Option<i64>), DeskError> {
    let subject = &inbound.subject;
    let row = match &answer.target {
        Target::Known(id) => rows.take(*id)?,
        Target::New { to } => apply::insert_request(tx, to, subject, now).await?,
        Target::NextSession { of } => {
            let address = rows.take(*of)?.seeker_address;
            apply::insert_request(tx, &address, subject, now).await?
        }
    };
    let mut row = RequestRow {
        machine: answer.machine,
        ..row
    };
    if let Some(id) = &inbound.message_id {
        requests::add_thread_id(tx, row.id, id).await?;
        if !answer.foreign {
            requests::set_last_inbound(tx, row.id, id, &inbound.thread_ids).await?;
        }
    }
    let thread = (!answer.foreign).then(|| Thread {
        to: row.seeker_address.clone(),
        in_reply_to: inbound.message_id.clone(),
        references: inbound.thread_ids.clone(),
        subject: subject.clone(),
        lang: row.machine.data.lang,
    });
    let mut filing = Filing::Handled;
    if let Some(needs) = answer.needs {
        // 第12条(3): the need is recorded and staff told, whatever else the mail says.
        let next = needs.as_ref().ok().map(|s| s.next.clone());
        let f = apply::apply_step(
            office,
            tx,
            &row,
            needs,
            thread.clone(),
            None,
            subject,
            cal,
            now,
        )
        .await?;
        if f == Filing::Staff {
            filing = f;
        }
        if let Some(next) = next {
            row.machine = next;
        }
    }
    let consent = Consent {
        message_id: inbound.message_id.clone(),
        from: inbound.from.clone(),
        trusted: answer.trusted,
    };
    let main = apply::apply_step(
        office,
        tx,
        &row,
        answer.main,
        thread,
        Some(&consent),
        subject,
        cal,
        now,
    )
    .await?;
    if main != Filing::Handled {
        filing = main;
    }
    let outcome = match filing {
        Filing::Staff => {
            // Staff read it on the 要対応 page too.
            requests::keep_staff_mail(tx, row.id, subject, &inbound.body, now).await?;
            "needs_staff"
        }
        _ => "handled",
    };
    Ok((filing, outcome, Some(row.id)))
}
