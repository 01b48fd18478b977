//! Which request an inbound mail belongs to and what it means: the
//! routing of one message, then the step of the core's state machine.

use super::{Desk, DeskError, Filing};
use crate::core::booking::{Event, Standing, State};
use crate::core::quote::own_text;
use crate::core::route;
use crate::core::understand::{
    parse_booked, parse_reply, parse_request, session_needs, BookedIntent,
};
use crate::mail::compose::Thread;
use crate::mail::message;
use crate::mail::message::Inbound;
use crate::store::{office, outbox, requests, StoreError, Tx};
use chrono::{DateTime, Duration as ChronoDuration, Utc};
use tracing::warn;

impl Desk {
    pub(super) async fn decide_and_apply(
        &self,
        tx: &mut Tx,
        inbound: &Inbound,
        now: DateTime<Utc>,
    ) -> Result<(Filing, &'static str, Option<i64>), DeskError> {
        let own = self.cfg.from_address();
        let staff = crate::config::bare_address(&self.cfg.office.staff_address);
        let office = route::Addresses {
            own: &own,
            staff: &staff,
        };
        let screened = route::screen(&inbound.envelope(), &office);
        if screened != route::Screen::Read {
            if let Some(reason) = screened.tells_staff() {
                self.notify_staff(tx, None, reason, &inbound.subject, now)
                    .await?;
            }
            return Ok((screened.filing(), screened.outcome(), None));
        }
        let mut gathered = self.gather(tx, inbound, now).await?;
        // A flood from one address goes to staff (told once a day) and gets
        // no answers: it cannot fill the outbox or crowd out other seekers.
        let (recent, told) = gathered.sender_recent;
        if let route::Limit::Over { tell_staff } =
            route::limit(recent, self.cfg.per_sender_per_day, told)
        {
            if tell_staff {
                self.notify_staff(tx, None, "flood_sender", &inbound.subject, now)
                    .await?;
            }
            warn!(recent, "sender over the daily limit; filed for staff");
            return Ok((Filing::Staff, "rate_limited", None));
        }
        let cal = &self.cfg.calendar;
        let today = cal.local_date(now);
        let (existing, trusted, foreign) =
            match route::known_request(&inbound.from, &gathered.candidates) {
                route::Known::Request { id, trusted } => (Some(gathered.take(id)?), trusted, false),
                route::Known::Foreign { id } => (Some(gathered.take(id)?), false, true),
                route::Known::None => (None, false, false),
            };
        // Outside a thread the mail is read as a request (once).
        let as_request = existing
            .is_none()
            .then(|| parse_request(&own_text(&inbound.body, false), today, cal));
        let existing = match (existing, &as_request) {
            (None, Some(fresh)) => {
                let text = own_text(&inbound.body, false);
                let asks = |id: i64| {
                    gathered.rows.get(&id).is_some_and(|r| {
                        matches!(
                            parse_booked(&text, r.machine.booked, today, cal),
                            BookedIntent::Cancel | BookedIntent::Change(_)
                        )
                    })
                };
                match route::by_address(&gathered.candidates, fresh, asks) {
                    Some(id) => Some(gathered.take(id)?),
                    None => None,
                }
            }
            (existing, _) => existing,
        };
        let mut needs: Vec<String> = Vec::new();
        let (row, event) = match existing {
            Some(row) if foreign => (row, Event::ForeignReply),
            Some(row) => {
                let ours = outbox::raws_for_request(tx, row.id).await?;
                let fresh_mail = as_request.is_some();
                match route::reader(row.machine.state) {
                    route::Reader::Request => {
                        let text = without_our_lines(&own_text(&inbound.body, false), &ours);
                        (row, Event::Request(parse_request(&text, today, cal)))
                    }
                    route::Reader::Booked => {
                        let text = without_our_lines(&own_text(&inbound.body, !fresh_mail), &ours);
                        needs = session_needs(&text);
                        match parse_booked(&text, row.machine.booked, today, cal) {
                            BookedIntent::Cancel => (row, Event::Cancel),
                            BookedIntent::Change(w) => (row, Event::Change(w)),
                            BookedIntent::Another(wishes) => {
                                let data = route::next_session(&row.machine.data, wishes);
                                let new_row = self
                                    .insert_request(tx, &row.seeker_address, &inbound.subject, now)
                                    .await?;
                                needs.clear();
                                (new_row, Event::Request(data))
                            }
                            BookedIntent::Other => {
                                (row, Event::Reply(parse_reply(&text, &[], today, cal)))
                            }
                        }
                    }
                    route::Reader::Reply => {
                        let text = without_our_lines(&own_text(&inbound.body, true), &ours);
                        needs = session_needs(&text);
                        let intent = parse_reply(&text, &row.machine.offered, today, cal);
                        (row, Event::Reply(intent))
                    }
                }
            }
            None => {
                let parsed = as_request
                    .unwrap_or_else(|| parse_request(&own_text(&inbound.body, false), today, cal));
                let to = route::contact_address(
                    parsed.email.as_deref(),
                    inbound.reply_to.as_deref(),
                    &inbound.from,
                    &office,
                );
                // Many new requests under one 求職番号 in a day (from any
                // addresses): staff look at them; no more automatic answers.
                if let Some(number) = parsed.seeker_number.as_deref() {
                    let day_ago = now - ChronoDuration::hours(24);
                    let recent = requests::recent_by_seeker_number(tx, number, day_ago).await?;
                    let told_key = format!("flood_seeker:{number}:{today}");
                    let told = office::get_meta(tx, &told_key).await?.is_some();
                    if let route::Limit::Over { tell_staff } =
                        route::limit(recent, self.cfg.per_seeker_per_day, told)
                    {
                        if tell_staff {
                            self.notify_staff(tx, None, "flood_seeker", &inbound.subject, now)
                                .await?;
                            office::set_meta(tx, &told_key, "1").await?;
                        }
                        warn!(
                            recent,
                            "job-seeker number over the daily limit; filed for staff"
                        );
                        return Ok((Filing::Staff, "rate_limited", None));
                    }
                }
                let row = self.insert_request(tx, &to, &inbound.subject, now).await?;
                (row, Event::Request(parsed))
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

/// Drops the lines of a reply that repeat our own mails of the thread: a
/// mailer that quotes without any marker must not have our offer read as
/// the seeker's choice.
pub(super) fn without_our_lines(text: &str, ours: &[Vec<u8>]) -> String {
    let key = |l: &str| {
        crate::core::text::normalize(l)
            .split_whitespace()
            .collect::<String>()
    };
    let known: std::collections::HashSet<String> = ours
        .iter()
        .flat_map(|raw| {
            message::parse(raw)
                .body
                .lines()
                .map(key)
                .collect::<Vec<_>>()
        })
        .filter(|l| l.chars().count() >= 4)
        .collect();
    text.lines()
        .filter(|l| !known.contains(&key(l)))
        .collect::<Vec<_>>()
        .join("\n")
}
