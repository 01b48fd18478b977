//! The office calendar: national holidays from the rules of the Public
//! Holiday Act, business days, consultation slots, the previous-day cutoff
//! (前日までに予約を確定) and the business-day deadlines of the terms.

use chrono::{DateTime, Datelike, Duration, NaiveDate, NaiveTime, TimeZone, Utc, Weekday};
use chrono_tz::Tz;
use std::collections::{BTreeMap, BTreeSet};

/// One consultation slot: a date and the start time of one configured slot.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, serde::Serialize, serde::Deserialize,
)]
pub struct Slot {
    pub date: NaiveDate,
    pub start: NaiveTime,
}

impl Slot {
    pub fn new(date: NaiveDate, start: NaiveTime) -> Self {
        Slot { date, start }
    }
}

/// 第6条(2): without an answer within this many business days of a
/// request, the seeker is asked to phone; the office answers by then.
pub const ANSWER_BUSINESS_DAYS: u32 = 3;

/// What the calendar needs from the configuration.
#[derive(Debug, Clone)]
pub struct Calendar {
    pub tz: Tz,
    /// Slot start times, in order; slot number n (as in the seed's (1)..(4))
    /// is `slot_times[n - 1]`.
    pub slot_times: Vec<NaiveTime>,
    pub slot_minutes: u32,
    pub horizon_days: u32,
    pub closed: BTreeSet<NaiveDate>,
    /// Days staff closed at short notice (臨時閉庁: snow, a typhoon), with
    /// the reason; kept in the database, merged in before each decision.
    pub closures: BTreeMap<NaiveDate, String>,
}

impl Calendar {
    /// The seed's calendar: Asia/Tokyo, slots (1) 9:30 (2) 11:00 (3) 13:30
    /// (4) 15:00 of 30 minutes, a 30-day horizon, no extra closures.
    pub fn standard() -> Calendar {
        let at = |h, m| NaiveTime::from_hms_opt(h, m, 0).unwrap_or(NaiveTime::MIN);
        Calendar {
            tz: chrono_tz::Asia::Tokyo,
            slot_times: vec![at(9, 30), at(11, 0), at(13, 30), at(15, 0)],
            slot_minutes: 30,
            horizon_days: 30,
            closed: BTreeSet::new(),
            closures: BTreeMap::new(),
        }
    }

    /// Whether the office is open for consultations on `date`.
    pub fn is_business_day(&self, date: NaiveDate) -> bool {
        !matches!(date.weekday(), Weekday::Sat | Weekday::Sun)
            && holiday_name(date).is_none()
            && !is_year_end_closure(date)
            && !self.closed.contains(&date)
            && !self.closures.contains_key(&date)
    }

    /// Why the office is closed on `date` (None on a business day): what a
    /// refusal of a booking on it says.
    pub fn closed_because(&self, date: NaiveDate) -> Option<String> {
        if let Some(name) = holiday_name(date) {
            return Some(format!("a public holiday ({name})"));
        }
        match date.weekday() {
            Weekday::Sat => return Some("a Saturday".into()),
            Weekday::Sun => return Some("a Sunday".into()),
            _ => {}
        }
        if is_year_end_closure(date) {
            return Some("in the year-end closure (Dec 29 – Jan 3)".into());
        }
        if let Some(reason) = self.closures.get(&date) {
            return Some(format!("closed by staff ({reason})"));
        }
        self.closed
            .contains(&date)
            .then(|| "a closed day of this office (schedule.closed)".into())
    }

    /// The local date of an instant.
    pub fn local_date(&self, at: DateTime<Utc>) -> NaiveDate {
        at.with_timezone(&self.tz).date_naive()
    }

    /// The UTC instant of a local date and time. Japan has no DST, but the
    /// configured zone might, so take the earliest valid mapping.
    pub fn instant(&self, date: NaiveDate, time: NaiveTime) -> DateTime<Utc> {
        let naive = date.and_time(time);
        match self.tz.from_local_datetime(&naive).earliest() {
            Some(t) => t.with_timezone(&Utc),
            None => Utc.from_utc_datetime(&naive),
        }
    }

    pub fn slot_start_utc(&self, slot: Slot) -> DateTime<Utc> {
        self.instant(slot.date, slot.start)
    }

    pub fn slot_end_time(&self, slot: Slot) -> NaiveTime {
        slot.start + Duration::minutes(i64::from(self.slot_minutes))
    }

    /// The 1-based number of a configured slot time.
    pub fn slot_number(&self, start: NaiveTime) -> Option<usize> {
        self.slot_times
            .iter()
            .position(|t| *t == start)
            .map(|p| p + 1)
    }

    /// The moment after which a slot can no longer be confirmed: the end of
    /// the previous day (local midnight starting the slot's day).
    pub fn cutoff(&self, slot: Slot) -> DateTime<Utc> {
        self.instant(slot.date, NaiveTime::MIN)
    }

    /// The last local day on which `slot` can still be confirmed (the day
    /// before it): what a mail asks the seeker to answer by.
    pub fn last_day_to_book(&self, slot: Slot) -> NaiveDate {
        self.local_date(self.cutoff(slot) - Duration::seconds(1))
    }

    /// Whether a seeker may still book `slot` by email at `now`: a business
    /// day, a configured time, not today or earlier, before the previous-day
    /// cutoff and within the horizon.
    pub fn is_bookable(&self, slot: Slot, now: DateTime<Utc>) -> bool {
        let today = self.local_date(now);
        self.is_business_day(slot.date)
            && self.slot_times.contains(&slot.start)
            && slot.date > today
            && now < self.cutoff(slot)
            && slot.date <= today + Duration::days(i64::from(self.horizon_days))
    }

    /// Every bookable slot from `now` to the end of the horizon, in order.
    pub fn bookable_slots(&self, now: DateTime<Utc>) -> Vec<Slot> {
        let today = self.local_date(now);
        let mut slots = Vec::new();
        for offset in 1..=i64::from(self.horizon_days) {
            let date = today + Duration::days(offset);
            if !self.is_business_day(date) {
                continue;
            }
            for &start in &self.slot_times {
                let slot = Slot::new(date, start);
                if self.is_bookable(slot, now) {
                    slots.push(slot);
                }
            }
        }
        slots
    }

    /// The date by which the office answers a mail that arrived at
    /// `received`: [`ANSWER_BUSINESS_DAYS`] business days after the day it
    /// came (利用規約 第6条(2)). The one home of this rule: mails to
    /// seekers, staff notes, the digest and the 要対応 page all ask here.
    pub fn answer_by(&self, received: DateTime<Utc>) -> NaiveDate {
        self.add_business_days(self.local_date(received), ANSWER_BUSINESS_DAYS)
    }

    /// The date `n` business days after `date` (not counting `date`).
    pub fn add_business_days(&self, date: NaiveDate, n: u32) -> NaiveDate {
        let mut d = date;
        let mut left = n;
        // A bounded walk: even a year of closures ends the loop.
        for _ in 0..3660 {
            if left == 0 {
                break;
            }
            d += Duration::days(1);
            if self.is_business_day(d) {
                left -= 1;
            }
        }
        d
    }

    /// The last business day before `date` (the day of a reminder).
    pub fn previous_business_day(&self, date: NaiveDate) -> NaiveDate {
        let mut d = date - Duration::days(1);
        for _ in 0..3660 {
            if self.is_business_day(d) {
                break;
            }
            d -= Duration::days(1);
        }
        d
    }

    /// The instant `n` business days after `at`: the same local time on the
    /// n-th business day after that local date.
    pub fn business_days_after(&self, at: DateTime<Utc>, n: u32) -> DateTime<Utc> {
        let local = at.with_timezone(&self.tz);
        let date = self.add_business_days(local.date_naive(), n);
        self.instant(date, local.time())
    }

    /// The end (next local midnight) of the first business day after `at`.
    pub fn end_of_next_business_day(&self, at: DateTime<Utc>) -> DateTime<Utc> {
        let date = self.add_business_days(self.local_date(at), 1);
        self.instant(date + Duration::days(1), NaiveTime::MIN)
    }
}

/// Dec 29 – Jan 3: the year-end closure of public offices.
pub fn is_year_end_closure(date: NaiveDate) -> bool {
    matches!((date.month(), date.day()), (12, 29..=31) | (1, 1..=3))
}

fn nth_monday(year: i32, month: u32, n: u32) -> Option<NaiveDate> {
    NaiveDate::from_weekday_of_month_opt(year, month, Weekday::Mon, n as u8)
}

/// Equinox days by the usual approximation, valid 1980–2099.
fn vernal_equinox(year: i32) -> u32 {
    let y = f64::from(year - 1980);
    (20.8431 + 0.242194 * y - (y / 4.0).floor()).floor() as u32
}

fn autumnal_equinox(year: i32) -> u32 {
    let y = f64::from(year - 1980);
    (23.2488 + 0.242194 * y - (y / 4.0).floor()).floor() as u32
}

/// The holidays fixed by name (before substitute and citizens' holidays),
/// under the law as it stands since 2020.
fn named_holiday(date: NaiveDate) -> Option<&'static str> {
    let (y, m, d) = (date.year(), date.month(), date.day());
    let is = |other: Option<NaiveDate>| other == Some(date);
    match (m, d) {
        (1, 1) => return Some("元日"),
        (2, 11) => return Some("建国記念の日"),
        (2, 23) => return Some("天皇誕生日"),
        (4, 29) => return Some("昭和の日"),
        (5, 3) => return Some("憲法記念日"),
        (5, 4) => return Some("みどりの日"),
        (5, 5) => return Some("こどもの日"),
        (8, 11) => return Some("山の日"),
        (11, 3) => return Some("文化の日"),
        (11, 23) => return Some("勤労感謝の日"),
        _ => {}
    }
    if m == 3 && d == vernal_equinox(y) {
        return Some("春分の日");
    }
    if m == 9 && d == autumnal_equinox(y) {
        return Some("秋分の日");
    }
    if is(nth_monday(y, 1, 2)) {
        return Some("成人の日");
    }
    if is(nth_monday(y, 7, 3)) {
        return Some("海の日");
    }
    if is(nth_monday(y, 9, 3)) {
        return Some("敬老の日");
    }
    if is(nth_monday(y, 10, 2)) {
        return Some("スポーツの日");
    }
    None
}

/// The name of the national holiday on `date`, including substitute holidays
/// (振替休日) and citizens' holidays (国民の休日).
pub fn holiday_name(date: NaiveDate) -> Option<&'static str> {
    if let Some(name) = named_holiday(date) {
        return Some(name);
    }
    // Substitute: the first non-holiday after a run of holidays that
    // includes a Sunday.
    let mut back = date - Duration::days(1);
    for _ in 0..7 {
        if named_holiday(back).is_none() {
            break;
        }
        if back.weekday() == Weekday::Sun {
            return Some("振替休日");
        }
        back -= Duration::days(1);
    }
    // Citizens' holiday: an ordinary day between two named holidays.
    if date.weekday() != Weekday::Sun
        && named_holiday(date - Duration::days(1)).is_some()
        && named_holiday(date + Duration::days(1)).is_some()
    {
        return Some("国民の休日");
    }
    None
}

#[cfg(test)]
mod tests {
    #[test]
    fn previous_business_day_skips_weekends_and_closures() {
        let c = super::Calendar::standard();
        let d = |m, day| chrono::NaiveDate::from_ymd_opt(2026, m, day).expect("date");
        // Monday 2026-11-30 -> Friday 11-27.
        assert_eq!(c.previous_business_day(d(11, 30)), d(11, 27));
        assert_eq!(c.previous_business_day(d(12, 3)), d(12, 2));
        // Tuesday 2026-11-24 -> Friday 11-20 (Mon 11-23 is 勤労感謝の日).
        assert_eq!(c.previous_business_day(d(11, 24)), d(11, 20));
    }

    use super::*;

    fn d(y: i32, m: u32, day: u32) -> NaiveDate {
        NaiveDate::from_ymd_opt(y, m, day).expect("valid test date")
    }

    fn cal() -> Calendar {
        Calendar::standard()
    }

    const HOLIDAYS: &[(i32, &[(u32, u32)])] = &[
        (
            2024,
            &[
                (1, 1),
                (1, 8),
                (2, 11),
                (2, 12),
                (2, 23),
                (3, 20),
                (4, 29),
                (5, 3),
                (5, 4),
                (5, 5),
                (5, 6),
                (7, 15),
                (8, 11),
                (8, 12),
                (9, 16),
                (9, 22),
                (9, 23),
                (10, 14),
                (11, 3),
                (11, 4),
                (11, 23),
            ],
        ),
        (
            2025,
            &[
                (1, 1),
                (1, 13),
                (2, 11),
                (2, 23),
                (2, 24),
                (3, 20),
                (4, 29),
                (5, 3),
                (5, 4),
                (5, 5),
                (5, 6),
                (7, 21),
                (8, 11),
                (9, 15),
                (9, 23),
                (10, 13),
                (11, 3),
                (11, 23),
                (11, 24),
            ],
        ),
        (
            2026,
            &[
                (1, 1),
                (1, 12),
                (2, 11),
                (2, 23),
                (3, 20),
                (4, 29),
                (5, 3),
                (5, 4),
                (5, 5),
                (5, 6),
                (7, 20),
                (8, 11),
                (9, 21),
                (9, 22),
                (9, 23),
                (10, 12),
                (11, 3),
                (11, 23),
            ],
        ),
        (
            2027,
            &[
                (1, 1),
                (1, 11),
                (2, 11),
                (2, 23),
                (3, 21),
                (3, 22),
                (4, 29),
                (5, 3),
                (5, 4),
                (5, 5),
                (7, 19),
                (8, 11),
                (9, 20),
                (9, 23),
                (10, 11),
                (11, 3),
                (11, 23),
            ],
        ),
    ];

    #[test]
    fn holidays_2024_to_2027_match_the_cabinet_office_list() {
        for (year, days) in HOLIDAYS {
            let expected: BTreeSet<NaiveDate> =
                days.iter().map(|&(m, day)| d(*year, m, day)).collect();
            let mut found = BTreeSet::new();
            let mut date = d(*year, 1, 1);
            while date.year() == *year {
                if holiday_name(date).is_some() {
                    found.insert(date);
                }
                date += Duration::days(1);
            }
            assert_eq!(found, expected, "holidays of {year}");
        }
    }

    #[test]
    fn named_kinds() {
        assert_eq!(holiday_name(d(2026, 9, 22)), Some("国民の休日"));
        assert_eq!(holiday_name(d(2026, 5, 6)), Some("振替休日"));
        assert_eq!(holiday_name(d(2027, 3, 22)), Some("振替休日"));
        assert_eq!(holiday_name(d(2026, 3, 20)), Some("春分の日"));
        assert_eq!(holiday_name(d(2026, 11, 24)), None);
    }

    #[test]
    fn year_end_closure_and_weekends() {
        let c = cal();
        for (m, day) in [(12, 29), (12, 30), (12, 31)] {
            assert!(!c.is_business_day(d(2026, m, day)));
        }
        for day in 1..=3 {
            assert!(!c.is_business_day(d(2027, 1, day)));
        }
        assert!(c.is_business_day(d(2026, 12, 28)));
        assert!(c.is_business_day(d(2027, 1, 4)));
        assert!(!c.is_business_day(d(2026, 11, 28)), "saturday");
        assert!(!c.is_business_day(d(2026, 11, 29)), "sunday");
    }

    #[test]
    fn configured_closures() {
        let mut c = cal();
        c.closed.insert(d(2026, 12, 4));
        assert!(!c.is_business_day(d(2026, 12, 4)));
        assert!(!c
            .bookable_slots(c.instant(d(2026, 12, 1), NaiveTime::MIN))
            .iter()
            .any(|s| s.date == d(2026, 12, 4)));
    }

    #[test]
    fn previous_day_cutoff() {
        let c = cal();
        let slot = Slot::new(
            d(2026, 12, 3),
            NaiveTime::from_hms_opt(9, 30, 0).expect("t"),
        );
        let late_evening = c.instant(
            d(2026, 12, 2),
            NaiveTime::from_hms_opt(23, 59, 0).expect("t"),
        );
        let midnight = c.instant(d(2026, 12, 3), NaiveTime::MIN);
        assert!(c.is_bookable(slot, late_evening));
        assert!(!c.is_bookable(slot, midnight), "the day itself is too late");
        assert_eq!(c.cutoff(slot), midnight);
    }

    #[test]
    fn not_today_not_beyond_horizon_not_odd_times() {
        let c = cal();
        let now = c.instant(
            d(2026, 11, 25),
            NaiveTime::from_hms_opt(8, 0, 0).expect("t"),
        );
        let t930 = NaiveTime::from_hms_opt(9, 30, 0).expect("t");
        assert!(!c.is_bookable(Slot::new(d(2026, 11, 25), t930), now));
        assert!(c.is_bookable(Slot::new(d(2026, 11, 26), t930), now));
        assert!(!c.is_bookable(
            Slot::new(
                d(2026, 11, 26),
                NaiveTime::from_hms_opt(10, 0, 0).expect("t")
            ),
            now
        ));
        assert!(c.is_bookable(Slot::new(d(2026, 12, 25), t930), now));
        assert!(
            !c.is_bookable(Slot::new(d(2027, 1, 4), t930), now),
            "beyond 30 days"
        );
        let slots = c.bookable_slots(now);
        assert_eq!(slots.first(), Some(&Slot::new(d(2026, 11, 26), t930)));
        assert!(slots.iter().all(|s| c.is_business_day(s.date)));
    }

    #[test]
    fn three_business_days_across_weekends_and_holidays() {
        let c = cal();
        // Wed 2026-11-18 + 3 = Mon 11-23 is a holiday, so Tue 11-24? no:
        // Thu 19, Fri 20, (Sat, Sun, Mon holiday) Tue 24.
        assert_eq!(c.add_business_days(d(2026, 11, 18), 3), d(2026, 11, 24));
        // Fri + 3 = Wed.
        assert_eq!(c.add_business_days(d(2026, 11, 27), 3), d(2026, 12, 2));
        // Across the year end: Fri 12-25 + 3 = Mon 28, Mon 1-4, Tue 1-5.
        assert_eq!(c.add_business_days(d(2026, 12, 25), 3), d(2027, 1, 5));
        // Golden week 2026: Thu 4-30 + 3 = Fri 5-1, Thu 5-7, Fri 5-8.
        assert_eq!(c.add_business_days(d(2026, 4, 30), 3), d(2026, 5, 8));
        // Silver week 2026: Fri 9-18 + 3 = Thu 9-24, Fri 9-25, Mon 9-28.
        assert_eq!(c.add_business_days(d(2026, 9, 18), 3), d(2026, 9, 28));
    }

    #[test]
    fn end_of_next_business_day() {
        let c = cal();
        let fri = c.instant(
            d(2026, 11, 27),
            NaiveTime::from_hms_opt(10, 0, 0).expect("t"),
        );
        assert_eq!(
            c.end_of_next_business_day(fri),
            c.instant(d(2026, 12, 1), NaiveTime::MIN)
        );
    }
}
