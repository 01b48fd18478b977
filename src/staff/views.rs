//! What the staff web page shows, gathered as plain data (serialisable for
//! the templates in `templates/web/`): the day's sessions, what waits for
//! staff, search results, the mails of a request's thread, the months'
//! counts. Gathering reads the office's store; shaping (grouping by slot,
//! answer-by dates) are plain functions over it.

use super::RequestView;
use crate::core::calendar::{Calendar, Slot};
use crate::desk::error::DeskError;
use crate::office::Office;
use crate::staff;
use crate::store::bookings::{self, BookingRecord};
use crate::store::report::Usage;
use crate::store::{outbox, requests, unreachable, waitlist, RequestRow};
use chrono::{DateTime, Datelike, Duration, NaiveDate, NaiveTime, Utc};
use serde::Serialize;

/// One session of the day view.
#[derive(Debug, Clone, Serialize)]
pub struct DaySession {
    pub time: String,
    pub room: String,
    pub reservation: String,
    pub reference: String,
    pub name: Option<String>,
    pub seeker_number: Option<String>,
    pub needs: Vec<String>,
    /// confirmed, cancelled, no_show, attended.
    pub status: String,
    /// Whether 出席 / 欠席 / キャンセル still apply.
    pub open: bool,
    /// A no-show staff marked as an excused absence (or the seeker wrote that day).
    pub excused: bool,
}

/// A freed slot offered to a seeker who waited for it (キャンセル待ち).
#[derive(Debug, Clone, Serialize)]
pub struct FreedOffer {
    pub time: String,
    pub reference: String,
    /// Local date and time of the offer.
    pub offered_at: String,
    /// booked, taken, declined, dropped; none while it stands.
    pub outcome: Option<String>,
}

/// A day the office closed, as the day view shows it.
#[derive(Debug, Clone, Serialize)]
pub struct ClosureItem {
    pub reason: String,
    pub closed_by: String,
    pub closed_at: String,
}

/// The day view: the sessions by slot, the freed-slot offers, the closure.
#[derive(Debug, Clone, Serialize)]
pub struct DayView {
    pub slots: Vec<SlotSessions>,
    pub freed: Vec<FreedOffer>,
    pub closure: Option<ClosureItem>,
    /// Why the office is closed that day by the calendar (weekend, holiday, year-end).
    pub closed_because: Option<String>,
}

/// The sessions of one slot, every room.
#[derive(Debug, Clone, Serialize)]
pub struct SlotSessions {
    pub time: String,
    pub sessions: Vec<DaySession>,
}

/// Groups a day's sessions by start time (rooms in order within a slot).
pub fn by_slot(mut sessions: Vec<DaySession>) -> Vec<SlotSessions> {
    sessions.sort_by(|a, b| (&a.time, &a.room).cmp(&(&b.time, &b.room)));
    let mut out: Vec<SlotSessions> = Vec::new();
    for s in sessions {
        match out.last_mut() {
            Some(last) if last.time == s.time => last.sessions.push(s),
            _ => out.push(SlotSessions {
                time: s.time.clone(),
                sessions: vec![s],
            }),
        }
    }
    out
}

/// A request waiting for staff.
#[derive(Debug, Clone, Serialize)]
pub struct UnreachableItem {
    pub reference: String,
    pub name: Option<String>,
    /// The registered phone number to call.
    pub phone: Option<String>,
    pub address: String,
    /// The outbox kind of the mail that came back.
    pub kind: String,
    /// The kind in staff's words.
    pub kind_label: String,
    pub status: Option<String>,
    pub diagnostic: Option<String>,
    pub since: String,
}

/// A request in 要対応, with why.
#[derive(Debug, Clone, Serialize)]
pub struct WaitingItem {
    pub reference: String,
    pub name: Option<String>,
    pub since: String,
    /// Why it went to staff (the event that sent it there).
    pub reason: String,
    /// The date by which the office must answer (`Calendar::answer_by`).
    pub answer_by: String,
    pub overdue: bool,
    /// The text of the latest mail that sent it to staff.
    pub text: String,
}

/// A search hit.
#[derive(Debug, Clone, Serialize)]
pub struct Found {
    pub reference: String,
    pub state: String,
    pub name: Option<String>,
    pub seeker_number: Option<String>,
    pub address: String,
    pub reservation: Option<String>,
    pub slot: Option<String>,
    pub updated: String,
}

/// A mail of a request's thread.
#[derive(Debug, Clone, Serialize)]
pub struct ThreadMail {
    pub at: String,
    /// received, or the kind of mail sent (offer, confirm, staff …).
    pub kind: String,
    pub direction: &'static str,
    pub status: String,
    pub subject: String,
}

/// One month's counts for the bar chart.
#[derive(Debug, Clone, Serialize)]
pub struct MonthBar {
    pub month: String,
    pub requests: u64,
    pub bookings: u64,
    pub attended: u64,
}

/// The report's columns in order, as `yoyaku report --csv` writes them.
pub fn usage_columns(u: &Usage) -> Vec<(&'static str, String)> {
    vec![
        ("requests", u.requests.to_string()),
        ("offers", u.offers.to_string()),
        ("bookings_by_email", u.bookings_by_email.to_string()),
        ("bookings_by_staff", u.bookings_by_staff.to_string()),
        ("attended", u.attended.to_string()),
        ("no_shows", u.no_shows.to_string()),
        ("no_shows_excused", u.no_shows_excused.to_string()),
        ("cancelled_by_email", u.cancelled_by_email.to_string()),
        ("cancelled_by_staff", u.cancelled_by_staff.to_string()),
        ("lapsed", u.lapsed.to_string()),
        ("slots_refilled", u.slots_refilled.to_string()),
        (
            "mean_minutes_to_answer",
            u.mean_minutes_to_answer
                .map_or(String::new(), |m| format!("{m:.1}")),
        ),
    ]
}

/// The CSV of one month's report: a header line and the month's line.
pub fn usage_csv(month: &str, u: &Usage) -> String {
    let columns = usage_columns(u);
    let names: Vec<&str> = columns.iter().map(|(k, _)| *k).collect();
    let values: Vec<&str> = columns.iter().map(|(_, v)| v.as_str()).collect();
    format!("month,{}\n{month},{}\n", names.join(","), values.join(","))
}

/// The `n` months ending with `last` (its first day), oldest first.
pub fn months_back(last: NaiveDate, n: u32) -> Vec<NaiveDate> {
    let index = last.year() * 12 + last.month0() as i32;
    (0..n as i32)
        .rev()
        .filter_map(|back| {
            let i = index - back;
            NaiveDate::from_ymd_opt(i.div_euclid(12), i.rem_euclid(12) as u32 + 1, 1)
        })
        .collect()
}

/// A bar chart of the months' requests, bookings and attendances, as SVG
/// (server-rendered: the page runs no script). Only numbers and month
/// names go in, and they are escaped all the same.
pub fn bar_chart(months: &[MonthBar]) -> String {
    const W: f64 = 720.0;
    const H: f64 = 240.0;
    const TOP: f64 = 20.0;
    const BOTTOM: f64 = 40.0;
    let max = months
        .iter()
        .map(|m| m.requests.max(m.bookings).max(m.attended))
        .max()
        .unwrap_or(0)
        .max(1) as f64;
    let group = W / months.len().max(1) as f64;
    let bar = (group - 12.0) / 3.0;
    let scale = (H - TOP - BOTTOM) / max;
    let mut svg = format!(
        r#"<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {W} {H}" role="img" aria-label="過去12か月の申込み・予約・出席の件数">"#
    );
    for (i, m) in months.iter().enumerate() {
        let x0 = i as f64 * group + 6.0;
        for (j, (value, color, what)) in [
            (m.requests, "#0b4f8a", "申込み"),
            (m.bookings, "#3d8f3d", "予約"),
            (m.attended, "#c77700", "出席"),
        ]
        .into_iter()
        .enumerate()
        {
            let h = value as f64 * scale;
            let x = x0 + j as f64 * bar;
            let y = H - BOTTOM - h;
            svg.push_str(&format!(
                r#"<rect x="{x:.1}" y="{y:.1}" width="{:.1}" height="{h:.1}" fill="{color}"><title>{} {what} {value}</title></rect>"#,
                bar - 1.0,
                escape_xml(&m.month)
            ));
        }
        svg.push_str(&format!(
            r#"<text x="{:.1}" y="{:.1}" font-size="11" text-anchor="middle">{}</text>"#,
            x0 + (group - 12.0) / 2.0,
            H - BOTTOM + 16.0,
            escape_xml(m.month.get(2..).unwrap_or(&m.month))
        ));
    }
    svg.push_str(&format!(
        r##"<text x="4" y="14" font-size="11">最大 {max:.0} 件</text><g font-size="11"><rect x="{}" y="4" width="10" height="10" fill="#0b4f8a"/><text x="{}" y="13">申込み</text><rect x="{}" y="4" width="10" height="10" fill="#3d8f3d"/><text x="{}" y="13">予約</text><rect x="{}" y="4" width="10" height="10" fill="#c77700"/><text x="{}" y="13">出席</text></g></svg>"##,
        W - 220.0,
        W - 206.0,
        W - 150.0,
        W - 136.0,
        W - 90.0,
        W - 76.0
    ));
    svg
}

fn escape_xml(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

fn local(cal: &Calendar, t: DateTime<Utc>) -> String {
    t.with_timezone(&cal.tz)
        .format("%Y-%m-%d %H:%M")
        .to_string()
}

/// The sessions of a local date, every room, by slot.
pub async fn day_sessions(
    office: &Office,
    date: NaiveDate,
) -> Result<Vec<SlotSessions>, DeskError> {
    let cal = &office.config().calendar;
    let from = cal.instant(date, NaiveTime::MIN);
    let to = cal.instant(date + Duration::days(1), NaiveTime::MIN);
    let mut conn = office.store().conn().await?;
    let mut sessions = Vec::new();
    for b in bookings::starting_between(&mut conn, from, to).await? {
        let request = requests::find_by_id(&mut conn, b.request_id).await?;
        sessions.push(day_session(cal, &b, request.as_ref()));
    }
    Ok(by_slot(sessions))
}

/// The day view: sessions, the freed slots offered to waiting seekers
/// (who was offered what, and how it ended), and a closure of the day.
pub async fn day_view(office: &Office, date: NaiveDate) -> Result<DayView, DeskError> {
    let slots = day_sessions(office, date).await?;
    let cal = &office.config().calendar;
    let from = cal.instant(date, NaiveTime::MIN);
    let to = cal.instant(date + Duration::days(1), NaiveTime::MIN);
    let mut conn = office.store().conn().await?;
    let freed = waitlist::offers_between(&mut conn, from, to)
        .await?
        .into_iter()
        .map(|o| FreedOffer {
            time: o
                .slot_start
                .with_timezone(&cal.tz)
                .format("%H:%M")
                .to_string(),
            reference: o.reference,
            offered_at: local(cal, o.offered_at),
            outcome: o.outcome,
        })
        .collect();
    let closure = waitlist::closures_from(&mut conn, date)
        .await?
        .into_iter()
        .find(|c| c.day == date)
        .map(|c| ClosureItem {
            reason: c.reason,
            closed_by: c.closed_by,
            closed_at: local(cal, c.closed_at),
        });
    Ok(DayView {
        slots,
        freed,
        closure,
        closed_because: cal.closed_because(date),
    })
}

/// What waits for staff, oldest first.
pub async fn waiting(office: &Office, now: DateTime<Utc>) -> Result<Vec<WaitingItem>, DeskError> {
    let cal = &office.config().calendar;
    let today = cal.local_date(now);
    let mut conn = office.store().conn().await?;
    let mut out = Vec::new();
    for (r, since) in requests::waiting_for_staff(&mut conn).await? {
        // The reason the latest staff note gave, in the note's words.
        let notice = outbox::for_request(&mut conn, r.id)
            .await?
            .into_iter()
            .rev()
            .find(|m| m.kind == "staff")
            .and_then(|m| m.variant);
        let reason = match notice {
            Some(reason) => office.composer().staff_label(&reason),
            None => requests::history(&mut conn, r.id)
                .await?
                .iter()
                .rev()
                .find(|h| h.to_state == "needs_staff")
                .map_or_else(String::new, |h| h.event.clone()),
        };
        let by = cal.answer_by(since);
        let text = requests::latest_staff_mail(&mut conn, r.id)
            .await?
            .map_or_else(String::new, |(_, body)| body);
        out.push(WaitingItem {
            reference: r.reference.clone(),
            name: r.machine.data.name.clone(),
            since: local(cal, since),
            reason,
            answer_by: by.to_string(),
            overdue: by < today,
            text,
        });
    }
    out.sort_by(|a, b| a.since.cmp(&b.since));
    Ok(out)
}

/// Seekers our mail does not reach, oldest first: staff phone them.
pub async fn unreachable(office: &Office) -> Result<Vec<UnreachableItem>, DeskError> {
    let cal = &office.config().calendar;
    let mut conn = office.store().conn().await?;
    let mut out = Vec::new();
    for u in unreachable::open(&mut conn).await? {
        let request = match u.request_id {
            Some(id) => requests::find_by_id(&mut conn, id).await?,
            None => None,
        };
        let Some(r) = request else { continue };
        out.push(UnreachableItem {
            reference: r.reference.clone(),
            name: r.machine.data.name.clone(),
            phone: r.machine.data.phone.clone(),
            address: u.address,
            kind_label: office.composer().mail_kind_label(&u.kind),
            kind: u.kind,
            status: u.status,
            diagnostic: u.diagnostic,
            since: local(cal, u.at),
        });
    }
    Ok(out)
}

/// Requests by 求職番号, name, reservation number, reference or address.
pub async fn search(office: &Office, query: &str) -> Result<Vec<Found>, DeskError> {
    let cal = &office.config().calendar;
    let q = query.trim();
    if q.is_empty() {
        return Ok(Vec::new());
    }
    let number = crate::core::understand::seeker_number(q);
    let mut conn = office.store().conn().await?;
    let rows = requests::search(&mut conn, q, number.as_deref(), 200).await?;
    let mut out = Vec::new();
    for r in rows {
        let b = bookings::latest_for_request(&mut conn, r.id).await?;
        out.push(Found {
            reference: r.reference.clone(),
            state: r.machine.state.as_str().to_string(),
            name: r.machine.data.name.clone(),
            seeker_number: r.machine.data.seeker_number.clone(),
            address: r.seeker_address.clone(),
            reservation: b.as_ref().map(|b| b.reservation.clone()),
            slot: b.as_ref().map(|b| local(cal, b.slot_start)),
            updated: local(cal, r.updated_at),
        });
    }
    Ok(out)
}

/// The mails received and sent in a request's thread, in time order.
pub async fn thread_mails(
    office: &Office,
    view: &RequestView,
) -> Result<Vec<ThreadMail>, DeskError> {
    let cal = &office.config().calendar;
    let mut conn = office.store().conn().await?;
    let mut out: Vec<(DateTime<Utc>, ThreadMail)> = Vec::new();
    for m in outbox::for_request(&mut conn, view.request.id).await? {
        out.push((
            m.created_at,
            ThreadMail {
                at: local(cal, m.created_at),
                subject: mail_subject(&m.raw),
                kind: m.kind,
                direction: "sent",
                status: m.status,
            },
        ));
    }
    for (at, outcome) in crate::store::processed::for_request(&mut conn, view.request.id).await? {
        out.push((
            at,
            ThreadMail {
                at: local(cal, at),
                kind: "received".into(),
                direction: "received",
                status: outcome,
                subject: String::new(),
            },
        ));
    }
    out.sort_by_key(|(at, _)| *at);
    Ok(out.into_iter().map(|(_, m)| m).collect())
}

/// The counts of the 12 months ending with `last`, for the chart.
pub async fn last_months(office: &Office, last: NaiveDate) -> Result<Vec<MonthBar>, DeskError> {
    let mut out = Vec::new();
    for month in months_back(last, 12) {
        let c = staff::chart_counts(office, month).await?;
        out.push(MonthBar {
            month: month.format("%Y-%m").to_string(),
            requests: c.requests.max(0) as u64,
            bookings: c.bookings.max(0) as u64,
            attended: c.attended.max(0) as u64,
        });
    }
    Ok(out)
}

/// How many requests a purge of those finished before `now - age`
/// would clear.
pub async fn purge_preview(
    office: &Office,
    age: Duration,
    now: DateTime<Utc>,
) -> Result<usize, DeskError> {
    let mut conn = office.store().conn().await?;
    Ok(requests::finished_before(&mut conn, now - age).await?.len())
}

/// Free slots staff may book (the next weeks), for the 予約登録 form.
pub async fn free_slots(office: &Office, now: DateTime<Utc>) -> Result<Vec<Slot>, DeskError> {
    let cal = &office.config().calendar;
    let slots = cal.bookable_slots(now);
    let (Some(first), Some(last)) = (slots.first(), slots.last()) else {
        return Ok(Vec::new());
    };
    let room_ids = office.config().seats();
    let mut conn = office.store().conn().await?;
    let full = bookings::full_slots(
        &mut conn,
        cal,
        cal.slot_start_utc(*first) - Duration::minutes(1),
        cal.slot_start_utc(*last) + Duration::days(1),
        &room_ids,
    )
    .await?;
    Ok(slots.into_iter().filter(|s| !full.contains(s)).collect())
}

fn day_session(cal: &Calendar, b: &BookingRecord, r: Option<&RequestRow>) -> DaySession {
    let data = r.map(|r| &r.machine.data);
    DaySession {
        time: b
            .slot_start
            .with_timezone(&cal.tz)
            .format("%H:%M")
            .to_string(),
        room: b.room_id.clone(),
        reservation: b.reservation.clone(),
        reference: r.map(|r| r.reference.clone()).unwrap_or_default(),
        name: data.and_then(|d| d.name.clone()),
        seeker_number: data.and_then(|d| d.seeker_number.clone()),
        needs: data.map(|d| d.needs.clone()).unwrap_or_default(),
        status: b.status.as_str().to_string(),
        open: b.status == crate::core::booking::BookingStatus::Confirmed,
        excused: b.excused,
    }
}

fn mail_subject(raw: &[u8]) -> String {
    mail_parser::MessageParser::default()
        .parse_headers(raw)
        .and_then(|m| m.subject().map(str::to_string))
        .unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn session(time: &str, room: &str) -> DaySession {
        DaySession {
            time: time.into(),
            room: room.into(),
            reservation: format!("{time}-{room}"),
            reference: String::new(),
            name: None,
            seeker_number: None,
            needs: vec![],
            status: "confirmed".into(),
            open: true,
            excused: false,
        }
    }

    #[test]
    fn sessions_are_grouped_by_slot_and_ordered_by_room() {
        let grouped = by_slot(vec![
            session("13:30", "b"),
            session("10:00", "b"),
            session("10:00", "a"),
        ]);
        assert_eq!(grouped.len(), 2);
        assert_eq!(grouped[0].time, "10:00");
        let rooms: Vec<&str> = grouped[0]
            .sessions
            .iter()
            .map(|s| s.room.as_str())
            .collect();
        assert_eq!(rooms, ["a", "b"]);
        assert_eq!(grouped[1].sessions.len(), 1);
    }

    #[test]
    fn twelve_months_back_cross_the_year() {
        let months = months_back(NaiveDate::from_ymd_opt(2026, 3, 1).unwrap_or_default(), 12);
        assert_eq!(months.len(), 12);
        assert_eq!(months[0].to_string(), "2025-04-01");
        assert_eq!(months[11].to_string(), "2026-03-01");
    }

    #[test]
    fn the_chart_has_three_bars_a_month_scaled_to_the_largest() {
        let months: Vec<MonthBar> = (1..=12)
            .map(|m| MonthBar {
                month: format!("2026-{m:02}"),
                requests: m,
                bookings: m / 2,
                attended: 0,
            })
            .collect();
        let svg = bar_chart(&months);
        assert!(svg.starts_with("<svg") && svg.ends_with("</svg>"));
        assert_eq!(svg.matches("<rect").count(), 36 + 3);
        assert!(svg.contains("2026-12 申込み 12"));
        assert!(svg.contains("最大 12 件"));
        // No data: no division by zero.
        assert!(bar_chart(&[]).ends_with("</svg>"));
    }

    #[test]
    fn the_csv_has_a_header_and_the_month() {
        let csv = usage_csv("2026-11", &Usage::default());
        let lines: Vec<&str> = csv.lines().collect();
        assert_eq!(lines.len(), 2);
        assert!(lines[0].starts_with("month,requests,offers,"));
        assert!(lines[1].starts_with("2026-11,0,0,"));
        assert_eq!(lines[0].split(',').count(), lines[1].split(',').count());
    }
}
