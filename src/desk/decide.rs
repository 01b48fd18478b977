//! Which request an inbound mail belongs to and what it means: the
//! routing of one message, then the step of the core's state machine.

use super::staff_note::NoteExtra;
use super::{DeskError, Filing};
use crate::core::booking::{Event, StaffReason, Standing, State};
use crate::core::understand::BookingRequest;
use crate::core::{decide, route};
use crate::mail::compose::Thread;
use crate::mail::message;
use crate::mail::message::Inbound;
use crate::office::Office;
use crate::store::{office, outbox, requests, RequestRow, StoreError, Tx};
use chrono::{DateTime, Duration as ChronoDuration, Utc};
use tracing::warn;

impl Office {
    pub(super) async fn decide_and_apply(
        &self,
        tx: &mut Tx,
        inbound: &Inbound,
        now: DateTime<Utc>,
    ) -> Result<(Filing, &'static str, Option<i64>), DeskError> {
        let own = self.cfg.from_address();
        let staff = crate::config::bare_address(&self.cfg.office.staff_address);
        let rules = decide::Rules {
            office: route::Addresses {
                own: &own,
                staff: &staff,
            },
            calendar: &self.cfg.calendar,
            per_sender_per_day: self.cfg.per_sender_per_day,
        };
        let mail = decide::Mail {
            envelope: inbound.envelope(),
            from: &inbound.from,
            reply_to: inbound.reply_to.as_deref(),
            body: &inbound.body,
        };
        // Screening needs nothing from the store: decided before gathering.
        let screened = route::screen(&mail.envelope, &rules.office);
        if screened == route::Screen::Bounce {
            return self.on_bounce(tx, inbound, now).await;
        }
        if screened != route::Screen::Read {
            if let Some(reason) = screened.tells_staff() {
                let extra = NoteExtra {
                    from: Some(inbound.raw_from.clone()),
                    ..NoteExtra::default()
                };
                self.notify_staff_with(tx, None, reason, &inbound.subject, extra, now)
                    .await?;
            }
            return Ok((screened.filing(), screened.outcome(), None));
        }
        let mut gathered = self.gather(tx, inbound, now).await?;
        let facts = decide::Facts {
            candidates: &gathered.candidates,
            sender_recent: gathered.sender_recent.0,
            sender_told: gathered.sender_recent.1,
        };
        let routed = decide::route(&mail, &facts, &rules, now);
        let (row, event, trusted, needs) = match &routed {
            decide::Routing::Screened(screened) => {
                return Ok((screened.filing(), screened.outcome(), None));
            }
            decide::Routing::SenderOverLimit { tell_staff } => {
                if *tell_staff {
                    self.notify_staff(tx, None, StaffReason::FloodSender, &inbound.subject, now)
                        .await?;
                }
                warn!(
                    recent = gathered.sender_recent.0,
                    "sender over the daily limit; filed for staff"
                );
                return Ok((Filing::Staff, "rate_limited", None));
            }
            decide::Routing::Known { id, trusted, .. } => {
                let row = gathered.take(*id)?;
                let (row, event, needs) = self.read_known(tx, row, &routed, inbound, now).await?;
                (row, event, *trusted, needs)
            }
            decide::Routing::New { parsed, to } => {
                if self
                    .seeker_over_limit(tx, parsed, &inbound.subject, now)
                    .await?
                {
                    return Ok((Filing::Staff, "rate_limited", None));
                }
                let row = self.insert_request(tx, to, &inbound.subject, now).await?;
                (row, Event::Request((**parsed).clone()), false, Vec::new())
            }
        };
        if let Some(id) = &inbound.message_id {
            requests::add_thread_id(tx, row.id, id).await?;
            if !matches!(event, Event::ForeignReply) {
                requests::set_last_inbound(tx, row.id, id, &inbound.thread_ids).await?;
            }
        }
        let thread = if matches!(event, Event::ForeignReply) {
            None
        } else {
            Some(Thread {
                to: row.seeker_address.clone(),
                in_reply_to: inbound.message_id.clone(),
                references: inbound.thread_ids.clone(),
                subject: inbound.subject.clone(),
                lang: row.machine.data.lang,
            })
        };
        let mut filing = Filing::Handled;
        let row = if needs.is_empty() || row.machine.state == State::New {
            row
        } else {
            // 第12条(3): the need is recorded and staff told, whatever else the mail says.
            let f = self
                .step_and_apply(
                    tx,
                    &row,
                    Event::Needs(needs),
                    thread.clone(),
                    None,
                    &inbound.subject,
                    now,
                )
                .await?;
            if f == Filing::Staff {
                filing = f;
            }
            requests::find_by_id(tx, row.id)
                .await?
                .ok_or_else(|| StoreError::Corrupt {
                    table: "requests",
                    problem: format!("request {} vanished", row.id),
                })?
        };
        let consent = Consent {
            message_id: inbound.message_id.clone(),
            from: inbound.from.clone(),
            trusted,
        };
        let main = self
            .step_and_apply(
                tx,
                &row,
                event,
                thread,
                Some(&consent),
                &inbound.subject,
                now,
            )
            .await?;
        if main != Filing::Handled {
            filing = main;
        }
        let outcome = match filing {
            Filing::Staff => {
                // Staff read it on the 要対応 page too.
                requests::keep_staff_mail(tx, row.id, &inbound.subject, &inbound.body, now).await?;
                "needs_staff"
            }
            _ => "handled",
        };
        Ok((filing, outcome, Some(row.id)))
    }

    /// Reads the mail against the request it belongs to (`core::decide::read`
    /// on our own mails to it): the event for the request's machine, or a
    /// new request for another session; with the needs it states.
    async fn read_known(
        &self,
        tx: &mut Tx,
        mut row: RequestRow,
        routed: &decide::Routing,
        inbound: &Inbound,
        now: DateTime<Utc>,
    ) -> Result<(RequestRow, Event, Vec<String>), DeskError> {
        let ours: Vec<String> = outbox::raws_for_request(tx, row.id)
            .await?
            .iter()
            .map(|raw| message::parse(raw).body)
            .collect();
        let (reading, needs) = decide::read(
            &row.machine,
            &inbound.body,
            &ours,
            routed,
            &self.cfg.calendar,
            now,
        );
        // The next mail goes out in the language this one was written in.
        if let Some(lang) = decide::mail_language(&inbound.body, &ours) {
            row.machine.data.lang = Some(lang);
        }
        Ok(match reading {
            decide::Reading::Event(event) => (row, event, needs),
            decide::Reading::NextSession(data) => {
                let new_row = self
                    .insert_request(tx, &row.seeker_address, &inbound.subject, now)
                    .await?;
                (new_row, Event::Request(*data), needs)
            }
        })
    }

    /// Many new requests under one 求職番号 in a day (from any addresses):
    /// staff look at them (told once a day); no more automatic answers.
    async fn seeker_over_limit(
        &self,
        tx: &mut Tx,
        parsed: &BookingRequest,
        subject: &str,
        now: DateTime<Utc>,
    ) -> Result<bool, DeskError> {
        let Some(number) = parsed.seeker_number.as_deref() else {
            return Ok(false);
        };
        let today = self.cfg.calendar.local_date(now);
        let day_ago = now - ChronoDuration::hours(24);
        let recent = requests::recent_by_seeker_number(tx, number, day_ago).await?;
        let told_key = format!("flood_seeker:{number}:{today}");
        let told = office::get_meta(tx, &told_key).await?.is_some();
        let route::Limit::Over { tell_staff } =
            route::limit(recent, self.cfg.per_seeker_per_day, told)
        else {
            return Ok(false);
        };
        if tell_staff {
            self.notify_staff(tx, None, StaffReason::FloodSeeker, subject, now)
                .await?;
            office::set_meta(tx, &told_key, "1").await?;
        }
        warn!(
            recent,
            "job-seeker number over the daily limit; filed for staff"
        );
        Ok(true)
    }

    /// What the office's records say about the seeker with this number.
    pub(super) async fn standing(
        &self,
        tx: &mut Tx,
        seeker_number: Option<&str>,
    ) -> Result<Standing, DeskError> {
        let Some(number) = seeker_number else {
            return Ok(Standing::default());
        };
        let (refused, unexcused_no_shows) = office::standing(tx, number).await?;
        Ok(Standing {
            refused,
            unexcused_no_shows,
        })
    }
}

/// The inbound mail behind an event: who sent it, and whether it carries
/// the request's secret (see `Context::trusted`).
pub(crate) struct Consent {
    pub(super) message_id: Option<String>,
    pub(super) from: String,
    pub(super) trusted: bool,
}
