//! Days named by their place in a month: 第3水曜日 (the nth weekday, also
//! 第3週の水曜日), and the parts 上旬 / 中旬 / 下旬 / 月初め, which stand for
//! every business day in them (the offer then shows the nearest free
//! slots of that period).

use super::wishes::{first_of_month, weekday, Token};
use super::*;

/// The month a phrase names: 今月 / 来月 / 再来月, a month number (this
/// year's, or next year's once it has passed), or none.
fn named_month(rel: Option<&str>, number: Option<&str>, today: NaiveDate) -> Option<NaiveDate> {
    if let Some(rel) = rel {
        let months = match rel {
            "今月" => 0,
            "来月" | "翌月" => 1,
            _ => 2,
        };
        return first_of_month(today, months);
    }
    let month: u32 = number?.parse().ok().filter(|m| (1..=12).contains(m))?;
    let this_year = NaiveDate::from_ymd_opt(today.year(), month, 1)?;
    if month >= today.month() {
        Some(this_year)
    } else {
        this_year.checked_add_months(Months::new(12))
    }
}

/// `n` for the last such weekday of the month.
const LAST: u32 = 0;

/// The `n`-th `wday` of the month starting at `first` (`LAST`: the last).
fn nth_weekday(first: NaiveDate, wday: Weekday, n: u32) -> Option<NaiveDate> {
    if n == LAST {
        return nth_weekday(first, wday, 5).or_else(|| nth_weekday(first, wday, 4));
    }
    let ahead = (7 + i64::from(wday.num_days_from_monday())
        - i64::from(first.weekday().num_days_from_monday()))
        % 7;
    let date = first + Duration::days(ahead + 7 * i64::from(n.saturating_sub(1)));
    (date.month() == first.month()).then_some(date)
}

/// 第N曜日 with or without its month: without one, this month's unless it
/// has passed, then next month's.
pub(super) fn nth_weekday_token(caps: &regex::Captures<'_>, today: NaiveDate) -> Option<Token> {
    let whole = caps.get(0)?.as_str().to_string();
    // 最後の金曜日: the last one (5 when there are five, else 4).
    let n = match caps.name("nthn").or(caps.name("nthw")) {
        Some(m) => m
            .as_str()
            .parse()
            .ok()
            .or_else(|| kanji_number(m.as_str()))?,
        None if caps.name("nthlast").is_some() => LAST,
        None => return None,
    };
    let wday = caps.name("nthwd").and_then(|m| weekday(m.as_str()))?;
    let named = named_month(
        caps.name("nthrel").map(|m| m.as_str()),
        caps.name("nthm").map(|m| m.as_str()),
        today,
    );
    let explicit = caps.name("nthrel").is_some() || caps.name("nthm").is_some();
    let date = match named {
        Some(first) => nth_weekday(first, wday, n),
        None if explicit => None,
        None => first_of_month(today, 0)
            .and_then(|f| nth_weekday(f, wday, n))
            .filter(|d| *d >= today)
            .or_else(|| first_of_month(today, 1).and_then(|f| nth_weekday(f, wday, n))),
    };
    Some(match date {
        Some(d) => Token::Date(d),
        None => Token::InvalidDate(whole),
    })
}

/// The days (first, last) of a part of the month starting at `first`.
fn part_days(first: NaiveDate, part: &str) -> Option<(u32, u32)> {
    let last = first
        .checked_add_months(Months::new(1))
        .map(|next| (next - Duration::days(1)).day())?;
    Some(match part {
        "中旬" | "半ば" | "なかば" => (11, 20),
        "下旬" => (21, last),
        "前半" => (1, 15),
        "後半" => (16, last),
        "上旬" | "初旬" => (1, 10),
        _ => (1, 7),
    })
}

/// 上旬 / 中旬 / 下旬 / 月初め: the business days in it from today on (all
/// its days if none is open); without a month, this month's part unless
/// it is over, then next month's.
pub(super) fn month_part_token(
    caps: &regex::Captures<'_>,
    today: NaiveDate,
    cal: &Calendar,
) -> Option<Token> {
    let part = caps.name("partw")?.as_str();
    let rel = caps.name("partrel").map(|m| m.as_str());
    let number = caps.name("partm").map(|m| m.as_str());
    // はじめ / 初め / 前半 alone are words ("はじめまして", "30代前半"),
    // not dates.
    if matches!(
        part,
        "初め" | "はじめ" | "半ば" | "なかば" | "前半" | "後半"
    ) && rel.is_none()
        && number.is_none()
    {
        return None;
    }
    let days_of = |first: NaiveDate| -> Option<Vec<NaiveDate>> {
        let (from, to) = part_days(first, part)?;
        Some(
            (from..=to)
                .filter_map(|d| first.with_day(d))
                .filter(|d| *d >= today)
                .collect(),
        )
    };
    let days = match named_month(rel, number, today) {
        Some(first) => days_of(first)?,
        None if rel.is_some() || number.is_some() => return None,
        None => {
            let this = days_of(first_of_month(today, 0)?)?;
            if this.is_empty() {
                days_of(first_of_month(today, 1)?)?
            } else {
                this
            }
        }
    };
    let open: Vec<NaiveDate> = days
        .iter()
        .copied()
        .filter(|d| cal.is_business_day(*d))
        .collect();
    Some(Token::Days(if open.is_empty() { days } else { open }))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn d(y: i32, m: u32, day: u32) -> NaiveDate {
        NaiveDate::from_ymd_opt(y, m, day).expect("date")
    }

    #[test]
    fn the_nth_weekday_stays_in_its_month() {
        assert_eq!(
            nth_weekday(d(2027, 1, 1), Weekday::Wed, 3),
            Some(d(2027, 1, 20))
        );
        assert_eq!(
            nth_weekday(d(2026, 12, 1), Weekday::Tue, 1),
            Some(d(2026, 12, 1))
        );
        assert_eq!(nth_weekday(d(2026, 12, 1), Weekday::Mon, 5), None);
    }

    #[test]
    fn a_month_number_that_has_passed_is_next_years() {
        let today = d(2026, 12, 4);
        assert_eq!(named_month(None, Some("1"), today), Some(d(2027, 1, 1)));
        assert_eq!(named_month(None, Some("12"), today), Some(d(2026, 12, 1)));
        assert_eq!(named_month(None, Some("13"), today), None);
    }
}
