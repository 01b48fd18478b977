//! What staff do: the command-line verbs (`book`, `cancel`, `attended`,
//! `no-show`, `close`, `refuse`, `list`, `show`, `report`, `purge`) and the
//! daily digest mail. Each verb that changes a request goes through the same
//! state machine and outbox as mail does, in one transaction.

use crate::core::booking::{BookingOutcome, BookingStatus, Event, StaffAction, State};
use crate::core::calendar::Slot;
use crate::core::understand::{self, BookingRequest};
use crate::desk::apply;
use crate::desk::error::{DeskError, StaffError};
use crate::desk::pass::PassReport;
use crate::desk::sender;
use crate::mail::compose::{DateView, Thread};
use crate::mail::notice::{
    Digest, DigestNoShow, DigestRequest, DigestSession, DigestWaiting, Notice,
};
use crate::office::Office;
use crate::store::bookings::{self, BookingRecord};
use crate::store::report::Usage;
use crate::store::{office, outbox, parse_ts, requests, ts, unreachable, RequestRow};
use chrono::{DateTime, Datelike, Duration, NaiveDate, NaiveTime, Utc};
use tracing::info;

pub mod cli;
pub mod closures;
pub mod views;

/// One request as staff see it (`request_view`).
#[derive(Debug, Clone)]
pub struct RequestView {
    pub request: RequestRow,
    /// Why and since when the seeker is refused (第12条(1)), if so.
    pub refusal: Option<(String, DateTime<Utc>)>,
    /// Unexcused no-shows under the seeker number, when there is one.
    pub unexcused_no_shows: Option<u32>,
    pub bookings: Vec<BookingRecord>,
    pub history: Vec<requests::HistoryLine>,
    /// Freed slots offered to this request (キャンセル待ち), oldest first.
    pub freed: Vec<crate::store::waitlist::OfferRow>,
}

/// A session agreed during a consultation (第6条(4)).
#[derive(Debug, Clone)]
pub struct StaffBooking {
    pub seeker_number: String,
    pub name: String,
    pub email: String,
    pub phone: Option<String>,
    pub date: NaiveDate,
    pub time: NaiveTime,
    pub needs: Vec<String>,
}

/// Filters of `yoyaku list`.
#[derive(Debug, Clone, Default)]
pub struct ListFilter {
    /// Sessions on this local date (requests with a booking then).
    pub date: Option<NaiveDate>,
    pub state: Option<State>,
}

/// One line of `yoyaku list`.
#[derive(Debug, Clone)]
pub struct ListItem {
    pub reference: String,
    pub state: State,
    pub reservation: Option<String>,
    pub slot: Option<Slot>,
    pub name: Option<String>,
    pub needs: Vec<String>,
    pub updated_at: DateTime<Utc>,
}

/// How much `purge` removed.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Purged {
    pub requests: usize,
}

/// `180d`, `26w`, `6mo`, `1y` (a month is 30 days, a year 365).
/// The longest age `parse_duration` takes: 100 years.
const MAX_AGE_DAYS: i64 = 36_500;

pub fn parse_duration(text: &str) -> Result<Duration, String> {
    let t = text.trim().to_ascii_lowercase();
    let split = t.find(|c: char| !c.is_ascii_digit()).unwrap_or(t.len());
    let (num, unit) = t.split_at(split);
    let n: i64 = num
        .parse()
        .map_err(|_| format!("{text:?} is not a duration like 180d, 26w, 6mo or 1y"))?;
    let per_unit = match unit.trim() {
        "d" | "day" | "days" => 1,
        "w" | "week" | "weeks" => 7,
        "mo" | "month" | "months" => 30,
        "y" | "year" | "years" => 365,
        _ => {
            return Err(format!(
                "{text:?}: the unit must be d, w, mo or y (e.g. 180d)"
            ))
        }
    };
    // Records go back decades at most; anything longer is a typo (and
    // would overflow the clock).
    let days = n
        .checked_mul(per_unit)
        .filter(|d| *d <= MAX_AGE_DAYS)
        .ok_or_else(|| format!("{text:?} is longer than 100 years"))?;
    if days <= 0 {
        return Err(format!("{text:?} must be longer than zero days"));
    }
    Ok(Duration::days(days))
}

/// `2026-12` → its first day.
pub fn parse_month(text: &str) -> Result<NaiveDate, String> {
    NaiveDate::parse_from_str(&format!("{}-01", text.trim()), "%Y-%m-%d")
        .ok()
        // Month arithmetic near chrono's limits would overflow.
        .filter(|d| (2000..=2100).contains(&d.year()))
        .ok_or_else(|| format!("{text:?} is not a month like 2026-12 (2000 to 2100)"))
}

/// A request by its reservation number (予約番号) or reference (受付番号).
pub async fn find_request(
    office: &Office,
    key: &str,
) -> Result<(RequestRow, Option<BookingRecord>), DeskError> {
    let key = key.trim().to_ascii_uppercase();
    let mut conn = office.store().conn().await?;
    if let Some(b) = bookings::find_by_reservation(&mut conn, &key).await? {
        let row = requests::find_by_id(&mut conn, b.request_id)
            .await?
            .ok_or_else(|| {
                DeskError::from(StaffError::NotFound(format!(
                    "reservation {key} has no request"
                )))
            })?;
        return Ok((row, Some(b)));
    }
    match requests::find_by_ref(&mut conn, &key).await? {
        Some(row) => {
            let b = bookings::latest_for_request(&mut conn, row.id).await?;
            Ok((row, b))
        }
        None => Err(DeskError::from(StaffError::NotFound(format!(
            "no reservation or request {key:?} (a reservation looks like 261203-AB3C, a reference like K7M2QP)"
        )))),
    }
}

/// `yoyaku book`: confirmed at once and mailed (第6条(4)); no consent
/// round trip and no previous-day cutoff. Returns the reservation number.
/// `actor` is the staff member (their web login, or `cli`), named in
/// the history.
pub async fn staff_book(
    office: &Office,
    b: &StaffBooking,
    now: DateTime<Utc>,
    actor: &str,
) -> Result<String, DeskError> {
    staff_book_on(office, b, false, now, actor).await
}

/// `staff_book`; `force`: staff mean a day the office is closed (the
/// history records it), otherwise such a day is refused.
pub async fn staff_book_on(
    office: &Office,
    b: &StaffBooking,
    force: bool,
    now: DateTime<Utc>,
    actor: &str,
) -> Result<String, DeskError> {
    let number = understand::seeker_number(&b.seeker_number).ok_or_else(|| {
        DeskError::from(StaffError::Invalid(format!(
            "--seeker-number {:?} is not a 求職番号 (5 + 8 digits)",
            b.seeker_number
        )))
    })?;
    // A carrier's `taro..yamada@docomo.ne.jp` is an address too.
    let Some(email) = crate::core::address::normalize(&b.email) else {
        return Err(DeskError::from(StaffError::Invalid(format!(
            "--email {:?} is not an address",
            b.email
        ))));
    };
    if b.name.trim().is_empty() {
        return Err(DeskError::from(StaffError::Invalid(
            "--name must not be empty".into(),
        )));
    }
    let cal = &office.config().calendar;
    let closed = cal.closed_because(b.date);
    if let (Some(why), false) = (&closed, force) {
        return Err(DeskError::from(StaffError::Invalid(format!(
            "{} is {why}: the office is closed; add --force if this booking is meant",
            b.date
        ))));
    }
    let slot = Slot::new(b.date, b.time);
    if cal.slot_start_utc(slot) <= now {
        return Err(DeskError::from(StaffError::Invalid(format!(
            "{} {} has already begun",
            b.date,
            b.time.format("%H:%M")
        ))));
    }
    let data = BookingRequest {
        name: Some(b.name.trim().to_string()),
        seeker_number: Some(number),
        phone: b.phone.clone(),
        email: Some(email.clone()),
        needs: b.needs.clone(),
        ..Default::default()
    };
    let mut tx = office.store().begin().await?;
    tx.act_as(actor);
    let row = apply::insert_request(&mut tx, &email, "", now).await?;
    apply::step_and_apply(
        office,
        &mut tx,
        &row,
        Event::Staff(StaffAction::Book(slot, Box::new(data))),
        None,
        None,
        "",
        now,
    )
    .await?;
    let booking = bookings::live_for_request(&mut tx, row.id)
        .await?
        .ok_or_else(|| DeskError::from(StaffError::Conflict("the booking was not made".into())))?;
    if closed.is_some() {
        requests::add_history(
            &mut tx,
            row.id,
            Some(State::Booked),
            State::Booked,
            "booked_on_closed_day",
            now,
        )
        .await?;
    }
    tx.commit().await?;
    info!(request = row.id, booking = booking.id, "booked by staff");
    send_now(office, now).await;
    Ok(booking.reservation)
}

/// `yoyaku cancel|attended|no-show|close KEY`, by `actor`.
pub async fn staff_action(
    office: &Office,
    key: &str,
    action: StaffAction,
    now: DateTime<Utc>,
    actor: &str,
) -> Result<State, DeskError> {
    let (row, booking) = find_request(office, key).await?;
    // A reservation number names one booking: it must be the request's current one.
    if let (Some(b), true) = (&booking, key.contains('-')) {
        let outcome = match action {
            StaffAction::Cancel => Some(BookingOutcome::Cancel),
            StaffAction::NoShow => Some(BookingOutcome::NoShow),
            StaffAction::Attended => Some(BookingOutcome::Attend),
            StaffAction::Close | StaffAction::Excuse | StaffAction::Book(..) => None,
        };
        let current = match (outcome, &action) {
            (Some(o), _) => b.status.after(o).is_some(),
            (None, StaffAction::Excuse) => b.status == BookingStatus::NoShow,
            (None, action) => matches!(action, StaffAction::Close),
        };
        if !current {
            return Err(DeskError::from(StaffError::Conflict(format!(
                "reservation {} is {}",
                b.reservation, b.status
            ))));
        }
    }
    let mut tx = office.store().begin().await?;
    tx.act_as(actor);
    // Read again inside the transaction: the daemon may have moved it.
    let row = requests::find_by_id(&mut tx, row.id)
        .await?
        .ok_or_else(|| {
            DeskError::from(StaffError::NotFound(format!(
                "request {} vanished",
                row.reference
            )))
        })?;
    apply::step_and_apply(
        office,
        &mut tx,
        &row,
        Event::Staff(action),
        None,
        None,
        "",
        now,
    )
    .await?;
    let after = requests::find_by_id(&mut tx, row.id)
        .await?
        .map_or(State::Closed, |r| r.machine.state);
    tx.commit().await?;
    send_now(office, now).await;
    Ok(after)
}

/// 電話済み: staff phoned the seeker whose mail bounced. The request
/// leaves 要対応 and mail to the address goes out again (the seeker was
/// asked to allow the office's domain). Returns how many marks closed.
pub async fn phoned(
    office: &Office,
    key: &str,
    now: DateTime<Utc>,
    actor: &str,
) -> Result<u64, DeskError> {
    let (row, _) = find_request(office, key).await?;
    let mut tx = office.store().begin().await?;
    tx.act_as(actor);
    let closed = unreachable::handled(&mut tx, row.id, actor, now).await?;
    if closed == 0 {
        return Err(StaffError::Conflict(format!(
            "request {} has no undelivered mail waiting for a call",
            row.reference
        ))
        .into());
    }
    let state = row.machine.state;
    requests::add_history(&mut tx, row.id, Some(state), state, "phoned", now).await?;
    tx.commit().await?;
    info!(request = row.id, "seeker phoned after a bounce");
    Ok(closed)
}

/// `yoyaku refuse`: 第12条(1). Open requests of the seeker are closed
/// without mail; later mail gets a holding reply and goes to staff.
pub async fn refuse(
    office: &Office,
    seeker_number: &str,
    reason: &str,
    now: DateTime<Utc>,
    actor: &str,
) -> Result<usize, DeskError> {
    let number = understand::seeker_number(seeker_number).ok_or_else(|| {
        DeskError::from(StaffError::Invalid(format!(
            "{seeker_number:?} is not a 求職番号 (5 + 8 digits)"
        )))
    })?;
    if reason.trim().is_empty() {
        return Err(DeskError::from(StaffError::Invalid(
            "--reason must say why".into(),
        )));
    }
    let mut tx = office.store().begin().await?;
    tx.act_as(actor);
    office::refuse(&mut tx, &number, reason.trim(), now, actor).await?;
    let open = requests::open_by_seeker_number(&mut tx, &number).await?;
    for row in &open {
        apply::step_and_apply(
            office,
            &mut tx,
            row,
            Event::Staff(StaffAction::Close),
            None,
            None,
            "",
            now,
        )
        .await?;
    }
    tx.commit().await?;
    Ok(open.len())
}

/// Sets the language the seeker's mails are written in (staff correct
/// what the reader guessed, or set it after a phone call); recorded in
/// the history with the login. The request's reference, and false when
/// it already was that language.
pub async fn set_language(
    office: &Office,
    key: &str,
    lang: crate::core::lang::Lang,
    now: DateTime<Utc>,
    actor: &str,
) -> Result<(String, bool), DeskError> {
    let (found, _) = find_request(office, key).await?;
    let mut tx = office.store().begin().await?;
    tx.act_as(actor);
    let row = requests::find_by_id(&mut tx, found.id)
        .await?
        .ok_or_else(|| DeskError::from(StaffError::NotFound(key.to_string())))?;
    let current = row.machine.data.lang.unwrap_or(crate::core::lang::Lang::Ja);
    if current == lang {
        return Ok((row.reference, false));
    }
    let mut after = row.machine.clone();
    after.data.lang = Some(lang);
    requests::save(
        &mut tx,
        row.id,
        row.machine.state,
        &after,
        "staff_language",
        row.next_due_at,
        now,
    )
    .await?;
    tx.commit().await?;
    Ok((row.reference, true))
}

/// The latest refusals set and lifted, with the staff login of each.
pub async fn refusal_events(office: &Office) -> Result<Vec<office::RefusalEvent>, DeskError> {
    let mut conn = office.store().conn().await?;
    Ok(office::refusal_events(&mut conn, 50).await?)
}

/// The refusals in force: 求職番号, reason, since when.
pub async fn refusals(office: &Office) -> Result<Vec<(String, String, DateTime<Utc>)>, DeskError> {
    let mut conn = office.store().conn().await?;
    Ok(office::refusals(&mut conn).await?)
}

pub async fn unrefuse(
    office: &Office,
    seeker_number: &str,
    now: DateTime<Utc>,
    actor: &str,
) -> Result<bool, DeskError> {
    let number = understand::seeker_number(seeker_number).ok_or_else(|| {
        DeskError::from(StaffError::Invalid(format!(
            "{seeker_number:?} is not a 求職番号 (5 + 8 digits)"
        )))
    })?;
    let mut tx = office.store().begin().await?;
    let had = office::unrefuse(&mut tx, &number, now, actor).await?;
    tx.commit().await?;
    Ok(had)
}

/// Mail committed by a staff verb goes out now; if the server is down
/// the daemon retries it (it stays in the outbox).
async fn send_now(office: &Office, now: DateTime<Utc>) {
    if let Err(e) = sender::send_pending(office, now, &mut PassReport::default()).await {
        tracing::warn!(error = %e, "sending now failed; the daemon will retry");
    }
}

/// `yoyaku list`.
pub async fn list(office: &Office, filter: &ListFilter) -> Result<Vec<ListItem>, DeskError> {
    let cal = &office.config().calendar;
    let mut conn = office.store().conn().await?;
    let rows: Vec<RequestRow> = match filter.date {
        Some(date) => {
            let from = cal.instant(date, NaiveTime::MIN);
            let to = cal.instant(date + Duration::days(1), NaiveTime::MIN);
            let mut out = Vec::new();
            for b in bookings::starting_between(&mut conn, from, to).await? {
                if let Some(r) = requests::find_by_id(&mut conn, b.request_id).await? {
                    if !out.iter().any(|o: &RequestRow| o.id == r.id) {
                        out.push(r);
                    }
                }
            }
            out
        }
        None => requests::list(&mut conn, &[], 1000).await?,
    };
    let mut items = Vec::new();
    for r in rows {
        if filter.state.is_some_and(|s| s != r.machine.state) {
            continue;
        }
        let b = bookings::latest_for_request(&mut conn, r.id).await?;
        items.push(ListItem {
            reference: r.reference.clone(),
            state: r.machine.state,
            reservation: b.as_ref().map(|b| b.reservation.clone()),
            slot: b.as_ref().map(|b| {
                let l = b.slot_start.with_timezone(&cal.tz);
                Slot::new(l.date_naive(), l.time())
            }),
            name: r.machine.data.name.clone(),
            needs: r.machine.data.needs.clone(),
            updated_at: r.updated_at,
        });
    }
    Ok(items)
}

/// `yoyaku show`: the request, its bookings with consent records, and
/// its whole history.
pub async fn show(office: &Office, key: &str) -> Result<String, DeskError> {
    let view = request_view(office, key).await?;
    Ok(cli::request(&view, office.config().calendar.tz))
}

/// Everything staff may see of one request (by reservation number or
/// reference): its data, the seeker's standing, its bookings with their
/// consent records, and its history. `cli` renders it as text; a web
/// page can render the same view.
pub async fn request_view(office: &Office, key: &str) -> Result<RequestView, DeskError> {
    let (request, _) = find_request(office, key).await?;
    let mut conn = office.store().conn().await?;
    let (refusal, unexcused_no_shows) = match &request.machine.data.seeker_number {
        Some(n) => (
            office::refusal(&mut conn, n).await?,
            Some(office::standing(&mut conn, n).await?.1),
        ),
        None => (None, None),
    };
    let bookings = bookings::for_request(&mut conn, request.id).await?;
    let history = requests::history(&mut conn, request.id).await?;
    let freed = crate::store::waitlist::offers_of(&mut conn, request.id).await?;
    Ok(RequestView {
        request,
        refusal,
        unexcused_no_shows,
        bookings,
        history,
        freed,
    })
}

/// `yoyaku report --month`: anonymous counts (第7条).
pub async fn report(office: &Office, month: NaiveDate) -> Result<Usage, DeskError> {
    let (from, to) = month_bounds(office, month);
    let mut conn = office.store().conn().await?;
    Ok(crate::store::report::usage(&mut conn, from, to).await?)
}

/// The chart's counts (requests, bookings, attended) of `month`.
pub async fn chart_counts(
    office: &Office,
    month: NaiveDate,
) -> Result<crate::store::report::ChartCounts, DeskError> {
    let (from, to) = month_bounds(office, month);
    let mut conn = office.store().conn().await?;
    Ok(crate::store::report::chart(&mut conn, from, to).await?)
}

/// The instants the office's calendar month of `month` starts and ends.
fn month_bounds(office: &Office, month: NaiveDate) -> (DateTime<Utc>, DateTime<Utc>) {
    let cal = &office.config().calendar;
    let first = month.with_day(1).unwrap_or(month);
    let next = if first.month() == 12 {
        NaiveDate::from_ymd_opt(first.year() + 1, 1, 1)
    } else {
        NaiveDate::from_ymd_opt(first.year(), first.month() + 1, 1)
    }
    .unwrap_or(first);
    (
        cal.instant(first, NaiveTime::MIN),
        cal.instant(next, NaiveTime::MIN),
    )
}

/// `yoyaku purge --older-than`: deletes the personal data of requests
/// finished before `now - age` (第8条), keeping the anonymous counts.
pub async fn purge(
    office: &Office,
    age: Duration,
    now: DateTime<Utc>,
) -> Result<Purged, DeskError> {
    let ids = {
        let mut conn = office.store().conn().await?;
        requests::finished_before(&mut conn, now - age).await?
    };
    // Small transactions: the daemon keeps working meanwhile.
    for chunk in ids.chunks(100) {
        let mut tx = office.store().begin().await?;
        for id in chunk {
            requests::anonymize(&mut tx, *id).await?;
        }
        tx.commit().await?;
    }
    let mut tx = office.store().begin().await?;
    outbox::forget_unowned_before(&mut tx, now - age).await?;
    office::forget_refusal_history_before(&mut tx, now - age).await?;
    tx.commit().await?;
    info!(requests = ids.len(), "personal data purged");
    Ok(Purged {
        requests: ids.len(),
    })
}

/// The staff digest, once each business morning at `digest.time`.
/// Whether one was written.
pub async fn maybe_send_digest(office: &Office, now: DateTime<Utc>) -> Result<bool, DeskError> {
    let Some(at) = office.config().digest_at else {
        return Ok(false);
    };
    let cal = &office.config().calendar;
    let today = cal.local_date(now);
    if !cal.is_business_day(today) || now < cal.instant(today, at) {
        return Ok(false);
    }
    let mut tx = office.store().begin().await?;
    if office::get_meta(&mut tx, "digest_date").await?.as_deref()
        == Some(today.to_string().as_str())
    {
        tx.rollback().await?;
        return Ok(false);
    }
    let since = match office::get_meta(&mut tx, "digest_at").await? {
        Some(s) => parse_ts("meta", &s)?,
        None => now - Duration::days(1),
    };
    let next_day = cal.add_business_days(today, 1);
    let day_bounds = |d: NaiveDate| {
        (
            cal.instant(d, NaiveTime::MIN),
            cal.instant(d + Duration::days(1), NaiveTime::MIN),
        )
    };
    let mut sessions = Vec::new();
    for day in [today, next_day] {
        let (from, to) = day_bounds(day);
        let mut list = Vec::new();
        for b in bookings::starting_between(&mut tx, from, to).await? {
            if b.status != BookingStatus::Confirmed {
                continue;
            }
            let r = requests::find_by_id(&mut tx, b.request_id).await?;
            let start = b.slot_start.with_timezone(&cal.tz).time();
            let end = start + Duration::minutes(i64::from(cal.slot_minutes));
            list.push(DigestSession {
                start: start.format("%H:%M").to_string(),
                end: end.format("%H:%M").to_string(),
                reservation: b.reservation.clone(),
                room: b.room_id.clone(),
                by_staff: b.booked_by == crate::core::booking::By::Staff,
                name: r.as_ref().and_then(|r| r.machine.data.name.clone()),
                needs: r.map(|r| r.machine.data.needs).unwrap_or_default(),
            });
        }
        sessions.push(list);
    }
    let waiting: Vec<DigestWaiting> = requests::waiting_for_staff(&mut tx)
        .await?
        .into_iter()
        .map(|(r, since)| {
            let answer_by = cal.answer_by(since);
            DigestWaiting {
                reference: r.reference,
                name: r.machine.data.name,
                answer_by: DateView::from(answer_by),
                overdue: answer_by < today,
            }
        })
        .collect();
    let lapsed: Vec<DigestRequest> = requests::entered_state(&mut tx, State::Lapsed, since, now)
        .await?
        .into_iter()
        .map(|r| DigestRequest {
            reference: r.reference,
            name: r.machine.data.name,
        })
        .collect();
    let mut no_shows = Vec::new();
    for r in requests::entered_state(&mut tx, State::NoShow, since, now).await? {
        if let Some(b) = bookings::latest_for_request(&mut tx, r.id).await? {
            no_shows.push(DigestNoShow {
                reservation: b.reservation.clone(),
                name: r.machine.data.name.clone(),
                excused: b.excused,
                start: b
                    .slot_start
                    .with_timezone(&cal.tz)
                    .format("%m/%d %H:%M")
                    .to_string(),
            });
        }
    }
    let mut sessions = sessions.into_iter();
    let digest = Notice::Digest(Digest {
        today: DateView::from(today),
        next_day: DateView::from(next_day),
        today_sessions: sessions.next().unwrap_or_default(),
        next_sessions: sessions.next().unwrap_or_default(),
        waiting,
        lapsed,
        no_shows,
    });
    let thread = Thread {
        to: crate::config::bare_address(&office.config().office.staff_address),
        ..Default::default()
    };
    let out = office.composer().render(&digest, &thread, None)?;
    outbox::enqueue(
        &mut tx,
        &out.message_id,
        None,
        "digest",
        &out.to,
        &out.raw,
        now,
    )
    .await?;
    office::set_meta(&mut tx, "digest_date", &today.to_string()).await?;
    office::set_meta(&mut tx, "digest_at", &ts(now)).await?;
    tx.commit().await?;
    info!("staff digest written");
    Ok(true)
}

#[cfg(test)]
mod extreme_values {
    use super::*;

    #[test]
    fn extreme_ages_and_months_are_refused_not_panicked_on() {
        for text in [
            "200000000000d",
            "100000000d",
            "9223372036854775807y",
            "36501d",
        ] {
            assert!(parse_duration(text).is_err(), "{text}");
        }
        assert_eq!(parse_duration("180d"), Ok(Duration::days(180)));
        for text in ["-262143-01", "262142-12", "1999-12"] {
            assert!(parse_month(text).is_err(), "{text}");
        }
        assert!(parse_month("2026-12").is_ok());
    }
}
