//! Wished dates and times: tokens (dates, weekdays, relative days,
//! times, periods) read from free text and paired into wishes.

use super::*;

pub(super) struct FoundWishes {
    pub(super) wishes: Vec<Wish>,
    pub(super) invalid: Vec<String>,
    pub(super) loose_times: bool,
    /// Dates said to be impossible (see `negation`).
    pub(super) excluded: Vec<NaiveDate>,
}

#[derive(Debug)]
pub(super) enum Token {
    Date(NaiveDate),
    /// Every day of a period (来月上旬), read as dates side by side.
    Days(Vec<NaiveDate>),
    InvalidDate(String),
    Time(NaiveTime),
    InvalidTime(String),
    Period(WishTime),
    /// A wish separator (第N希望, a new line, 、 between wishes).
    Break,
}

pub(super) static WISH_TOKENS: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(
        r"(?x)
        (?P<nth>(?:(?P<nthrel>今月|来月|翌月|再来月)|(?P<nthm>\d{1,2})\s*月)?\s*の?\s*(?:第\s*(?P<nthn>[1-5一二三四五])\s*(?:週目?\s*の?\s*)?|(?P<nthw>[1-5一二三四五])\s*週目\s*の?\s*|(?P<nthlast>最後の|最終|ラスト(?:の)?)\s*)(?P<nthwd>[月火水木金土日])曜日?)
      | (?P<part>(?:(?P<partrel>今月|来月|翌月|再来月)|(?P<partm>\d{1,2})\s*月)?\s*の?\s*(?P<partw>上旬|中旬|下旬|初旬|月初め|月初|初め|はじめ|半ば|なかば|前半|後半))
      | (?P<era>(?:令和|R|r)\s*(?P<ey>\d{1,2}|元)\s*[年./]\s*(?P<em>\d{1,2})\s*[月./]\s*(?P<ed>\d{1,2})\s*日?)
      | (?P<ymd>(?P<y>20\d{2})\s*[年/.\-]\s*(?P<m>\d{1,2})\s*[月/.\-]\s*(?P<d>\d{1,2})\s*日?)
      | (?P<md>(?P<m2>\d{1,2})\s*月\s*(?P<d2>\d{1,2})\s*日)
      | (?P<kmd>(?P<km>[一二三四五六七八九十]{1,3})月(?P<kd>[一二三四五六七八九十]{1,3})日)
      | (?P<yslash>(?P<y6>\d{2})/(?P<m6>\d{1,2})/(?P<d6>\d{1,2}))
      | (?P<slash>(?P<m3>\d{1,2})/(?P<d3>\d{1,2}))
      | (?P<dot>(?P<m5>\d{1,2})\.(?P<d5>\d{1,2}))
      | (?P<after>(?P<an>\d{1,3}|[一二三四五六七八九十]{1,3})\s*(?P<unit>日|週間?|か月|ヶ月|カ月|ケ月)\s*(?:後|先))
      | (?P<mrel>(?P<mw>今月|来月|翌月|再来月|翌々月)\s*の?\s*(?:(?P<md7>\d{1,2})\s*日|(?P<mend>末)))
      | (?P<monthend>月末)
      | (?P<wkstart>(?:来週|翌週)?週明け)
      | (?P<dayonly>(?P<d4>\d{1,2})\s*日)
      | (?P<rel>明々後日|明明後日|しあさって|本日|今日|きょう|明日|あした|あす|明後日|あさって)
      | (?P<wd>(?P<wk>今週|来週|翌週|再来週|翌々週)?の?\s*(?P<wday>[月火水木金土日])曜日?)
      | (?P<ampm>午前|午後|AM|PM|am|pm|a\.m\.|p\.m\.)?\s*
        (?:
            (?P<hm>(?P<h>\d{1,2})\s*:\s*(?P<mi>\d{2}))
          | (?P<hj>(?P<h2>\d{1,2})\s*時\s*(?:(?P<half>半)|(?P<mi2>\d{1,2})\s*分)?)
        )
      | (?P<period>午前中?|午後)
      | (?P<slotno>[(](?P<n1>\d)[)]|(?P<n2>[\u{2460}-\u{2473}])|(?P<n3>\d)\s*番(?:目)?(?:の(?:枠|時間))?|枠\s*(?P<n4>\d)|(?P<n5>\d)\s*枠)
      | (?P<brk>第\s*[\d一二三四五]\s*希望)
        ",
    )
    .expect("wish regex")
});

pub(super) static KANA_DATE: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"(\d)\s*(がつ|にちご|にち|しゅうかんご|しゅうかん|じはん|じ|ふん|ぷん)|ごご|ごぜん|さらいしゅう|らいしゅう|こんしゅう|よくしゅう|さらいげつ|らいげつ|こんげつ|げつまつ|しゅうあけ|(げつ|か|すい|もく|きん)ようび")
        .expect("kana date regex")
});

/// Dates and times written in kana (12がつ3にち ごご3じはん) in kanji form.
pub(super) fn kana_dates(text: &str) -> std::borrow::Cow<'_, str> {
    KANA_DATE.replace_all(text, |c: &regex::Captures<'_>| {
        let digit = c.get(1).map_or("", |m| m.as_str());
        let mark = match c.get(2).map(|m| m.as_str()) {
            Some("がつ") => "月",
            Some("にちご") => "日後",
            Some("にち") => "日",
            Some("しゅうかんご") => "週間後",
            Some("しゅうかん") => "週間",
            Some("じはん") => "時半",
            Some("じ") => "時",
            Some(_) => "分",
            None => match &c[0] {
                "ごご" => "午後",
                "ごぜん" => "午前",
                "さらいしゅう" => "再来週",
                "らいしゅう" => "来週",
                "こんしゅう" => "今週",
                "よくしゅう" => "翌週",
                "さらいげつ" => "再来月",
                "らいげつ" => "来月",
                "こんげつ" => "今月",
                "げつまつ" => "月末",
                "しゅうあけ" => "週明け",
                _ => match c.get(3).map(|m| m.as_str()) {
                    Some("げつ") => "月曜日",
                    Some("か") => "火曜日",
                    Some("すい") => "水曜日",
                    Some("もく") => "木曜日",
                    _ => "金曜日",
                },
            },
        };
        format!("{digit}{mark}")
    })
}

pub(super) static KANJI_DATE: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"(?P<m>[一二三四五六七八九十]{1,3})月(?:(?P<d>[一二三四五六七八九十]{1,3})日)?|(?P<pre>[\s(の]|午前|午後)(?P<h>[一二三四五六七八九十]{1,3})時(?P<post>半|(?P<mi>[一二三四五六七八九十]{1,3})分|から|~|-)?")
        .expect("kanji date regex")
});

/// Kanji numerals in dates and times (十二月三日 午後三時半) as digits. A
/// time needs 午前/午後, a following 半/分/から, or a space or の before it,
/// so that 一時的 stays a word.
pub(super) fn kanji_dates(text: &str) -> std::borrow::Cow<'_, str> {
    KANJI_DATE.replace_all(text, |c: &regex::Captures<'_>| {
        let num = |name: &str| c.name(name).and_then(|m| kanji_number(m.as_str()));
        if let Some(m) = num("m") {
            return match num("d") {
                Some(d) => format!("{m}月{d}日"),
                None => format!("{m}月"),
            };
        }
        let pre = c.name("pre").map_or("", |m| m.as_str());
        let post = c.name("post").map(|m| m.as_str());
        let spaced_or_ampm = matches!(pre, "午前" | "午後") || post.is_some();
        match num("h") {
            Some(h) if spaced_or_ampm || !pre.is_empty() => {
                let tail = match (post, num("mi")) {
                    (_, Some(mi)) => format!("{mi}分"),
                    (Some(p), None) => p.to_string(),
                    (None, None) => String::new(),
                };
                format!("{pre}{h}時{tail}")
            }
            _ => c[0].to_string(),
        }
    })
}

/// A list number glued to the date after it ("1.12月14日", "2)12/15",
/// "①12月14日"): the number is not part of the date.
static LIST_MARKER: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"(?m)(?P<pre>^|[\s:、,])(?:\d{1,2}\s*[.)):、]|[(]\d{1,2}[)]|[\u{2460}-\u{2473}])\s*(?P<date>\d{1,2}\s*[月/]\s*\d)")
        .expect("list marker regex")
});

pub(super) fn parse_wishes(text: &str, today: NaiveDate, cal: &Calendar) -> FoundWishes {
    let kana = kana_dates(text);
    let kanji = kanji_dates(&kana);
    let text = &*LIST_MARKER.replace_all(&kanji, "${pre} ${date}");
    let tokens = wish_tokens(text, today, cal);
    let (tokens, excluded) = super::negation::drop_negated(tokens, text);
    let mut found = pair_wishes(expand_ranges(tokens, text));
    found.excluded = excluded
        .into_iter()
        .filter(|d| !found.wishes.iter().any(|w| w.date == *d))
        .collect();
    found
}

/// Where a token was found: its captures and what stands around it.
#[derive(Clone, Copy)]
struct At<'c, 't> {
    caps: &'c regex::Captures<'t>,
    text: &'t str,
    start: usize,
    whole: regex::Match<'t>,
    prev_char: Option<char>,
    next_char: Option<char>,
    prev_is_digit: bool,
}

/// The dates, times and separators of `text`, in order, with their spans.
fn wish_tokens(text: &str, today: NaiveDate, cal: &Calendar) -> Vec<(usize, usize, Token)> {
    let mut tokens: Vec<(usize, usize, Token)> = Vec::new();
    for caps in WISH_TOKENS.captures_iter(text) {
        let Some(whole) = caps.get(0) else { continue };
        let (start, end) = (whole.start(), whole.end());
        let prev_char = text[..start].chars().next_back();
        let at = At {
            caps: &caps,
            text,
            start,
            whole,
            prev_char,
            next_char: text[end..].chars().next(),
            prev_is_digit: prev_char.is_some_and(|c| c.is_ascii_digit()),
        };
        // The regex's alternatives exclude each other: one of these reads it.
        let token = if caps.name("nth").is_some() {
            super::months::nth_weekday_token(&caps, today)
        } else if caps.name("part").is_some() {
            super::months::month_part_token(&caps, today, cal)
        } else {
            calendar_date(&at, today)
                .or_else(|| relative_date(&at, today, cal, tokens.last()))
                .or_else(|| time_or_mark(&at, cal))
        };
        match token {
            Some(Token::Days(days)) => {
                tokens.extend(days.into_iter().map(|d| (start, end, Token::Date(d))));
            }
            Some(token) => tokens.push((start, end, token)),
            None => {}
        }
    }
    tokens
}

/// A short date range (12月3日～5日) means each day of it.
fn expand_ranges(tokens: Vec<(usize, usize, Token)>, text: &str) -> Vec<(usize, usize, Token)> {
    let mut expanded: Vec<(usize, usize, Token)> = Vec::with_capacity(tokens.len());
    let mut iter = tokens.into_iter().peekable();
    while let Some((start, end, token)) = iter.next() {
        if let (Token::Date(from), Some((next_start, _, Token::Date(to)))) = (&token, iter.peek()) {
            let between = text.get(end..*next_start).unwrap_or("").trim();
            let span = (*to - *from).num_days();
            if matches!(between, "~" | "-" | "から") && (2..=6).contains(&span) {
                let from = *from;
                expanded.push((start, end, token));
                for d in 1..span {
                    expanded.push((end, end, Token::Date(from + Duration::days(d))));
                }
                continue;
            }
        }
        expanded.push((start, end, token));
    }
    expanded
}

/// Pairs dates with the times after (or just before) them into wishes.
fn pair_wishes(tokens: Vec<(usize, usize, Token)>) -> FoundWishes {
    let mut wishes: Vec<Wish> = Vec::new();
    let mut invalid = Vec::new();
    let mut current: Option<NaiveDate> = None;
    let mut current_used = false;
    let mut pending_times: Vec<WishTime> = Vec::new();
    let mut loose_times = false;
    let push = |wishes: &mut Vec<Wish>, w: Wish| {
        if !wishes.contains(&w) {
            wishes.push(w);
        }
    };
    for (_, _, token) in tokens {
        match token {
            Token::Date(d) => {
                if let Some(prev) = current.filter(|_| !current_used) {
                    push(
                        &mut wishes,
                        Wish {
                            date: prev,
                            time: None,
                        },
                    );
                }
                current = Some(d);
                current_used = false;
                // A time written before its date (11時から、12月3日に).
                for t in pending_times.drain(..) {
                    push(
                        &mut wishes,
                        Wish {
                            date: d,
                            time: Some(t),
                        },
                    );
                    current_used = true;
                }
            }
            Token::Time(t) | Token::Period(WishTime::At(t)) => match current {
                Some(d) => {
                    push(
                        &mut wishes,
                        Wish {
                            date: d,
                            time: Some(WishTime::At(t)),
                        },
                    );
                    current_used = true;
                }
                None => pending_times.push(WishTime::At(t)),
            },
            Token::Period(p) => match current {
                Some(d) if !current_used => {
                    push(
                        &mut wishes,
                        Wish {
                            date: d,
                            time: Some(p),
                        },
                    );
                    current_used = true;
                }
                Some(_) => {}
                None => pending_times.push(p),
            },
            Token::InvalidDate(s) | Token::InvalidTime(s) => invalid.push(s),
            Token::Days(_) => {}
            Token::Break => {
                // 第N希望 starts a new wish: times written before it had no date.
                if !pending_times.is_empty() {
                    loose_times = true;
                    pending_times.clear();
                }
            }
        }
    }
    if let Some(prev) = current.filter(|_| !current_used) {
        push(
            &mut wishes,
            Wish {
                date: prev,
                time: None,
            },
        );
    }
    if !pending_times.is_empty() {
        loose_times = true;
    }
    // 午前中 and 9:30 on the same day: the exact time says it.
    let exact: Vec<Wish> = wishes
        .iter()
        .filter(|w| matches!(w.time, Some(WishTime::At(_))))
        .cloned()
        .collect();
    wishes.retain(|w| match w.time {
        Some(WishTime::Morning | WishTime::Afternoon) => !exact.iter().any(|e| {
            e.date == w.date
                && match e.time {
                    Some(WishTime::At(t)) => w.admits(&crate::core::calendar::Slot::new(e.date, t)),
                    _ => false,
                }
        }),
        _ => true,
    });
    FoundWishes {
        wishes,
        invalid,
        loose_times,
        excluded: Vec::new(),
    }
}

/// A date written out: 令和8年12月3日, 2026/12/3, 12月3日, 十二月三日, 26/12/3, 12/3, 12.3.
fn calendar_date(at: &At<'_, '_>, today: NaiveDate) -> Option<Token> {
    let At {
        caps,
        whole,
        prev_char,
        next_char,
        prev_is_digit,
        ..
    } = *at;
    let token = if caps.name("era").is_some() {
        let year = match caps.name("ey").map(|m| m.as_str()) {
            Some("元") => Some(1),
            Some(y) => y.parse::<i32>().ok(),
            None => None,
        };
        date_from(
            year.map(|y| 2018 + y),
            &caps["em"],
            &caps["ed"],
            today,
            whole.as_str(),
        )
    } else if caps.name("ymd").is_some() {
        if prev_is_digit {
            return None;
        }
        date_from(
            caps["y"].parse().ok(),
            &caps["m"],
            &caps["d"],
            today,
            whole.as_str(),
        )
    } else if caps.name("md").is_some() {
        if prev_is_digit {
            return None;
        }
        date_from(None, &caps["m2"], &caps["d2"], today, whole.as_str())
    } else if caps.name("kmd").is_some() {
        match (kanji_number(&caps["km"]), kanji_number(&caps["kd"])) {
            (Some(m), Some(d)) => {
                date_from(None, &m.to_string(), &d.to_string(), today, whole.as_str())
            }
            _ => return None,
        }
    } else if caps.name("yslash").is_some() {
        // 26/12/3: a two-digit year of this century.
        if prev_is_digit || next_char.is_some_and(|c| c.is_ascii_digit() || c == '/') {
            return None;
        }
        let year = caps["y6"].parse::<i32>().ok().map(|y| 2000 + y);
        date_from(year, &caps["m6"], &caps["d6"], today, whole.as_str())
    } else if caps.name("slash").is_some() {
        // 12/3 but not 1/2/3 fractions of a longer number or a phone.
        if prev_is_digit
            || prev_char == Some('/')
            || next_char.is_some_and(|c| c.is_ascii_digit() || c == '/')
        {
            return None;
        }
        date_from(None, &caps["m3"], &caps["d3"], today, whole.as_str())
    } else if caps.name("dot").is_some() {
        // 12.3 only as a date on its own: not 1.5 of a longer number.
        let next_ok = next_char
            .is_none_or(|c| c.is_whitespace() || c == '(' || c == '~' || c == '、' || c == 'の');
        if prev_is_digit || prev_char == Some('.') || !next_ok {
            return None;
        }
        date_from(None, &caps["m5"], &caps["d5"], today, whole.as_str())
    } else {
        return None;
    };
    Some(token)
}

/// A date said relative to today: 3日後, 来月10日, 月末, 週明け, 3日, 明日, 来週の水曜.
fn relative_date(
    at: &At<'_, '_>,
    today: NaiveDate,
    cal: &Calendar,
    last: Option<&(usize, usize, Token)>,
) -> Option<Token> {
    let At {
        caps,
        text,
        start,
        whole,
        prev_char,
        prev_is_digit,
        ..
    } = *at;
    let token = if caps.name("after").is_some() {
        // 3日後, 1週間後, 二週間後, 1か月後: counted from the day the
        // mail is read.
        let n = caps["an"]
            .parse::<u32>()
            .ok()
            .or_else(|| kanji_number(&caps["an"]));
        let date = n.and_then(|n| match &caps["unit"] {
            "日" => today.checked_add_days(Days::new(u64::from(n))),
            u if u.starts_with('週') => today.checked_add_days(Days::new(7 * u64::from(n))),
            _ => months_later(today, n),
        });
        match date {
            Some(d) if n.is_some_and(|n| n <= 400) => Token::Date(d),
            _ => Token::InvalidDate(whole.as_str().to_string()),
        }
    } else if caps.name("mrel").is_some() {
        let months = match &caps["mw"] {
            "今月" => 0,
            "来月" | "翌月" => 1,
            _ => 2,
        };
        let first = first_of_month(today, months);
        match (first, caps.name("md7")) {
            (Some(first), Some(day)) => {
                match day
                    .as_str()
                    .parse::<u32>()
                    .ok()
                    .and_then(|d| first.with_day(d))
                {
                    Some(d) => Token::Date(d),
                    None => Token::InvalidDate(whole.as_str().to_string()),
                }
            }
            (Some(first), None) => Token::Date(last_business_day(first, cal)),
            (None, _) => Token::InvalidDate(whole.as_str().to_string()),
        }
    } else if caps.name("monthend").is_some() {
        // 月末: the month's last business day; once it has passed,
        // next month's.
        let this = first_of_month(today, 0).map(|f| last_business_day(f, cal));
        match this {
            Some(d) if d >= today => Token::Date(d),
            _ => match first_of_month(today, 1) {
                Some(f) => Token::Date(last_business_day(f, cal)),
                None => return None,
            },
        }
    } else if caps.name("wkstart").is_some() {
        // 週明け: the first business day of next week.
        let mut d = weekday_date(today, Weekday::Mon, 1, true);
        for _ in 0..14 {
            if cal.is_business_day(d) {
                break;
            }
            d += Duration::days(1);
        }
        Token::Date(d)
    } else if caps.name("dayonly").is_some() {
        if prev_is_digit || prev_char == Some('月') {
            return None;
        }
        let Ok(day) = caps["d4"].parse::<u32>() else {
            return None;
        };
        match day_only(day, today) {
            Some(d) => Token::Date(d),
            None => Token::InvalidDate(whole.as_str().to_string()),
        }
    } else if let Some(rel) = caps.name("rel") {
        let offset = match rel.as_str() {
            "本日" | "今日" | "きょう" => 0,
            "明日" | "あした" | "あす" => 1,
            "明々後日" | "明明後日" | "しあさって" => 3,
            _ => 2,
        };
        Token::Date(today + Duration::days(offset))
    } else if caps.name("wd").is_some() {
        let wday = caps.name("wday").and_then(|m| weekday(m.as_str()))?;
        // 12月3日(木) already named the day: the weekday only confirms it.
        if matches!(last, Some((_, e, Token::Date(_)))
            if start >= *e && start - e <= 3
                && text.get(*e..start).is_some_and(|b| b.chars().all(|c| c == '(' || c.is_whitespace())))
        {
            return None;
        }
        let weeks = match caps.name("wk").map(|m| m.as_str()) {
            Some("来週" | "翌週") => 1,
            Some("再来週" | "翌々週") => 2,
            _ => 0,
        };
        Token::Date(weekday_date(today, wday, weeks, caps.name("wk").is_some()))
    } else {
        return None;
    };
    Some(token)
}

/// A time (15:00, 3時半), a period (午前中), a slot number (②) or a wish separator (第2希望).
fn time_or_mark(at: &At<'_, '_>, cal: &Calendar) -> Option<Token> {
    let At {
        caps,
        text,
        start,
        whole,
        ..
    } = *at;
    let token = if caps.name("hm").is_some() || caps.name("hj").is_some() {
        let hour_start = caps
            .name("h")
            .or(caps.name("h2"))
            .map_or(start, |m| m.start());
        if caps.name("ampm").is_none()
            && text[..hour_start]
                .chars()
                .next_back()
                .is_some_and(|c| c.is_ascii_digit())
        {
            return None;
        }
        // The end of a range (11:00~11:30, 9時から10時まで) is not a wish.
        let before = text[..start].trim_end();
        if before.ends_with('~') || before.ends_with('-') || before.ends_with("から") {
            return None;
        }
        let hour: u32 = caps
            .name("h")
            .or(caps.name("h2"))
            .and_then(|m| m.as_str().parse().ok())
            .unwrap_or(99);
        let minute: u32 = if caps.name("half").is_some() {
            30
        } else {
            caps.name("mi")
                .or(caps.name("mi2"))
                .and_then(|m| m.as_str().parse().ok())
                .unwrap_or(0)
        };
        let pm = caps
            .name("ampm")
            .is_some_and(|m| matches!(m.as_str(), "午後" | "PM" | "pm" | "p.m."));
        // Office hours: "3時" without 午前/午後 means 15:00.
        let hour = if (pm && hour < 12) || (caps.name("ampm").is_none() && (1..=6).contains(&hour))
        {
            hour + 12
        } else {
            hour
        };
        // "17時まで仕事です": a bound, not a wish.
        let after = text[whole.end()..].trim_start();
        if ["まで", "迄", "以前", "より前"]
            .iter()
            .any(|w| after.starts_with(w))
        {
            return None;
        }
        match NaiveTime::from_hms_opt(hour, minute, 0) {
            Some(t) => Token::Time(t),
            None => Token::InvalidTime(whole.as_str().trim().to_string()),
        }
    } else if let Some(p) = caps.name("period") {
        if p.as_str() == "午後" {
            Token::Period(WishTime::Afternoon)
        } else {
            Token::Period(WishTime::Morning)
        }
    } else if caps.name("slotno").is_some() {
        let n = caps
            .name("n1")
            .or(caps.name("n3"))
            .or(caps.name("n4"))
            .or(caps.name("n5"))
            .and_then(|m| m.as_str().parse::<usize>().ok())
            .or_else(|| {
                caps.name("n2")
                    .and_then(|m| m.as_str().chars().next())
                    .and_then(circled_digit)
                    .map(|v| v as usize)
            });
        match n
            .and_then(|n| n.checked_sub(1))
            .and_then(|i| cal.slot_times.get(i))
        {
            Some(t) => Token::Time(*t),
            None => return None,
        }
    } else if caps.name("brk").is_some() {
        Token::Break
    } else {
        return None;
    };
    Some(token)
}

pub(super) fn date_from(
    year: Option<i32>,
    month: &str,
    day: &str,
    today: NaiveDate,
    raw: &str,
) -> Token {
    let (Ok(m), Ok(d)) = (month.parse::<u32>(), day.parse::<u32>()) else {
        return Token::InvalidDate(raw.to_string());
    };
    match year {
        Some(y) => match NaiveDate::from_ymd_opt(y, m, d) {
            Some(date) => Token::Date(date),
            None => Token::InvalidDate(raw.trim().to_string()),
        },
        None => {
            // No year: the next such date from today (December asking for
            // January means next year).
            let this_year = NaiveDate::from_ymd_opt(today.year(), m, d);
            let next_year = NaiveDate::from_ymd_opt(today.year() + 1, m, d);
            match (this_year, next_year) {
                (Some(t), _) if t >= today - Duration::days(7) => Token::Date(t),
                (_, Some(n)) => Token::Date(n),
                (Some(t), None) => Token::Date(t),
                (None, None) => Token::InvalidDate(raw.trim().to_string()),
            }
        }
    }
}

pub(super) fn day_only(day: u32, today: NaiveDate) -> Option<NaiveDate> {
    let this_month =
        NaiveDate::from_ymd_opt(today.year(), today.month(), day).filter(|d| *d >= today);
    this_month.or_else(|| {
        let (y, m) = if today.month() == 12 {
            (today.year() + 1, 1)
        } else {
            (today.year(), today.month() + 1)
        };
        NaiveDate::from_ymd_opt(y, m, day)
    })
}

/// The first day of the month `months` after today's.
pub(super) fn first_of_month(today: NaiveDate, months: u32) -> Option<NaiveDate> {
    today.with_day(1)?.checked_add_months(Months::new(months))
}

/// The same day `n` months on (the month's last day when it is shorter).
pub(super) fn months_later(today: NaiveDate, n: u32) -> Option<NaiveDate> {
    today.checked_add_months(Months::new(n))
}

/// The last business day of the month that starts on `first`.
pub(super) fn last_business_day(first: NaiveDate, cal: &Calendar) -> NaiveDate {
    let mut d = first
        .checked_add_months(Months::new(1))
        .map_or(first, |next| next - Duration::days(1));
    while d > first && !cal.is_business_day(d) {
        d -= Duration::days(1);
    }
    d
}

pub(super) fn weekday(s: &str) -> Option<Weekday> {
    Some(match s {
        "月" => Weekday::Mon,
        "火" => Weekday::Tue,
        "水" => Weekday::Wed,
        "木" => Weekday::Thu,
        "金" => Weekday::Fri,
        "土" => Weekday::Sat,
        "日" => Weekday::Sun,
        _ => return None,
    })
}

/// 水曜 = the next Wednesday after today; 来週水曜 = Wednesday of next week.
pub(super) fn weekday_date(
    today: NaiveDate,
    wday: Weekday,
    weeks: i64,
    explicit_week: bool,
) -> NaiveDate {
    if explicit_week {
        let monday = today - Duration::days(i64::from(today.weekday().num_days_from_monday()));
        monday + Duration::weeks(weeks) + Duration::days(i64::from(wday.num_days_from_monday()))
    } else {
        let ahead = (7 + i64::from(wday.num_days_from_monday())
            - i64::from(today.weekday().num_days_from_monday()))
            % 7;
        today + Duration::days(if ahead == 0 { 7 } else { ahead })
    }
}
