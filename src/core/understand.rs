//! Understanding what a seeker wrote: a booking request (name, 求職番号,
//! wished dates and times, email, phone) or a reply to an offer (a choice, a
//! plain agreement, or a refusal). Input is plain text already freed of
//! quoted parts; output is data. Nothing here fails: what cannot be read is
//! simply absent and the decision layer asks for it.

use crate::core::calendar::Calendar;
use crate::core::text::{circled_digit, kanji_number, normalize};
use chrono::{Datelike, Days, Duration, Months, NaiveDate, NaiveTime, Weekday};
use regex::Regex;
use std::sync::LazyLock;

/// One wish of the seeker, in the order written (第1希望 first).
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Wish {
    pub date: NaiveDate,
    pub time: Option<WishTime>,
}

/// What the seeker said about the time of day.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub enum WishTime {
    At(NaiveTime),
    Morning,
    Afternoon,
}

/// The items of 第6条(1), as far as they could be read.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(default)]
pub struct BookingRequest {
    pub name: Option<String>,
    /// Normalised to `NNNNN-NNNNNNNN`.
    pub seeker_number: Option<String>,
    /// A labelled 求職番号 that is not 13 digits, kept to tell the seeker.
    pub invalid_seeker_number: Option<String>,
    pub phone: Option<String>,
    pub email: Option<String>,
    pub wishes: Vec<Wish>,
    /// Something that looked like a date but is not one (2月30日, 25:00).
    pub invalid_dates: Vec<String>,
    /// A time or slot number was given, but no date to go with it.
    pub time_without_date: bool,
    /// Someone or something needed at the session, by key (see [`session_needs`]).
    pub needs: Vec<String>,
}

/// One of the items a request must carry; used to name what is missing.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Item {
    Name,
    SeekerNumber,
    Wish,
    Phone,
}

impl Item {
    pub fn key(self) -> &'static str {
        match self {
            Item::Name => "name",
            Item::SeekerNumber => "seeker_number",
            Item::Wish => "wish",
            Item::Phone => "phone",
        }
    }
}

impl BookingRequest {
    /// The required items still missing (the email falls back to the sender).
    pub fn missing(&self) -> Vec<Item> {
        let mut missing = Vec::new();
        if self.name.is_none() {
            missing.push(Item::Name);
        }
        if self.seeker_number.is_none() {
            missing.push(Item::SeekerNumber);
        }
        if self.wishes.is_empty() {
            missing.push(Item::Wish);
        }
        if self.phone.is_none() {
            missing.push(Item::Phone);
        }
        missing
    }

    /// Fills what `self` lacks from `newer`; a newer value wins when given.
    pub fn merge(&mut self, newer: BookingRequest) {
        for need in newer.needs {
            if !self.needs.contains(&need) {
                self.needs.push(need);
            }
        }
        if newer.name.is_some() {
            self.name = newer.name;
        }
        if newer.seeker_number.is_some() {
            self.seeker_number = newer.seeker_number;
            self.invalid_seeker_number = None;
        } else if newer.invalid_seeker_number.is_some() {
            self.invalid_seeker_number = newer.invalid_seeker_number;
        }
        if newer.phone.is_some() {
            self.phone = newer.phone;
        }
        if newer.email.is_some() {
            self.email = newer.email;
        }
        if !newer.wishes.is_empty() {
            self.wishes = newer.wishes;
            self.invalid_dates.clear();
            self.time_without_date = false;
        } else if self.wishes.is_empty() {
            self.invalid_dates = newer.invalid_dates;
            self.time_without_date = newer.time_without_date;
        }
    }

    /// Whether the text carried anything of a request at all.
    pub fn is_empty(&self) -> bool {
        self.name.is_none()
            && self.seeker_number.is_none()
            && self.invalid_seeker_number.is_none()
            && self.phone.is_none()
            && self.email.is_none()
            && self.wishes.is_empty()
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Label {
    /// 連絡先: an email address or a phone number, whichever it holds.
    Contact,
    Name,
    Number,
    Phone,
    Email,
    Wish,
}

static LABEL: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(
        r"(?x)^\s*
        (?:[\u{2460}-\u{2473}]|\d{1,2}[.)]|[(]\d{1,2}[)]|[【\[■◆●◇○・*\-]|\s)*\s*
        (?P<label>
            ご?氏\s*名(?:\s*[(][^)]*[)])?|お?名\s*前(?:\s*[(][^)]*[)])?|フルネーム|[Nn]ame|NAME|お?なまえ
          | (?:ハローワーク)?求職(?:者|票|登録)*(?:番号|No\.?|ナンバー|ID)(?:\s*[(][^)]*[)])?|ハローワーク(?:の)?(?:受付)?番号|受付票(?:の)?番号|きゅうしょく(?:しゃ)?ばんごう
          | (?:連絡先|ご?登録(?:の|した)?|求職情報として登録(?:した|の)|ご?連絡用の?)?(?:携帯)?電話(?:番号)?(?:\s*[(][^)]*[)])?|携帯(?:番号)?|TEL|Tel|tel|[Pp]hone|電番|でんわ(?:ばんごう)?
          | (?:連絡先|ご?連絡用の?)?(?:メール(?:アドレス)?|E-?[Mm]ail|e-?mail|[Mm]ail|アドレス|メアド)(?:\s*[(][^)]*[)])?
          | 連絡先
          | (?:相談|予約|面談|ご)?希望(?:の)?(?:日時|日程|日|時間帯|時間|時刻)?|第\s*[\d一二三四五]\s*希望|候補(?:日時|日)?|日\s*時|時間帯?
        )
        \s*[】\]]?\s*(?:は|[:=]|\s)?\s*
        (?P<value>.*)$",
    )
    .expect("label regex")
});

fn label_kind(label: &str) -> Label {
    let l = label.replace(char::is_whitespace, "");
    let lower = l.to_ascii_lowercase();
    let has = |words: &[&str]| words.iter().any(|w| l.contains(w));
    if has(&["電話", "携帯", "電番", "でんわ"]) || lower == "tel" || lower == "phone" {
        Label::Phone
    } else if has(&["求職", "ハローワーク", "受付票", "きゅうしょく"]) {
        Label::Number
    } else if has(&["メール", "アドレス", "メアド"]) || lower.contains("mail") {
        Label::Email
    } else if l == "連絡先" {
        Label::Contact
    } else if has(&["名", "なまえ", "フルネーム"]) || lower == "name" {
        Label::Name
    } else {
        Label::Wish
    }
}

static SEEKER_NUMBER: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"(?:^|[^\d])(\d{5})\s*[-\s]?\s*(\d{8})(?:[^\d]|$)").expect("number regex")
});
static PHONE: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(
        r"(?:^|[^\d-])(\+81[\s-]?|0)(\d{1,4})[\s-]?[(]?(\d{1,4})[)]?[\s-]?(\d{3,4})(?:[^\d]|$)",
    )
    .expect("phone regex")
});
static EMAIL: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"[A-Za-z0-9._%+\-]+@[A-Za-z0-9.\-]+\.[A-Za-z]{2,}").expect("email regex")
});
static NAME_INTRO: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(
        r"^\s*(?:私[はも、,]?|わたし[はも、,]?|わたくし[はも、,]?|[^\s。、]{1,10}?の)?\s*(?:(?P<a>[\p{Han}\p{Hiragana}\p{Katakana}ー々]{1,6}(?:\s[\p{Han}\p{Hiragana}\p{Katakana}ー々]{1,6})?)\s*(?:[(][^)]{1,30}[)])?\s*と申します|(?P<b>[\p{Han}\p{Katakana}ー々]{1,5}(?:\s[\p{Han}\p{Katakana}ー々]{1,5})?)\s*(?:[(][^)]{1,30}[)])?\s*(?:です|でございます))",
    )
    .expect("intro regex")
});

/// Words that end in です but are not names.
const NOT_NAMES: &[&str] = &[
    "件",
    "者",
    "予定",
    "申込",
    "申し込",
    "問い合わせ",
    "確認",
    "メール",
    "お願い",
    "予約",
    "相談",
    "希望",
    "求職",
    "以上",
    "宜",
    "世話",
    "失礼",
    "面談",
    "電話",
    "番号",
    "日時",
    "大丈夫",
    "了解",
    "承知",
    "可能",
    "都合",
    "必要",
    "不要",
    "同意",
    "利用",
    "連絡",
];

fn name_from_intro(text: &str) -> Option<String> {
    text.split(['\n', '。']).find_map(|sentence| {
        let caps = NAME_INTRO.captures(sentence)?;
        let name = caps.name("a").or(caps.name("b"))?.as_str();
        if NOT_NAMES.iter().any(|w| name.contains(w)) {
            None
        } else {
            clean_name(name)
        }
    })
}

/// Reads a booking request out of plain text. `today` is the local date of
/// the moment the mail is handled, for 本日/明日 and years left unsaid.
pub fn parse_request(text: &str, today: NaiveDate, cal: &Calendar) -> BookingRequest {
    let text = normalize(text);
    let mut req = BookingRequest::default();
    let mut wish_text = String::new();
    let mut unlabelled = String::new();
    let lines: Vec<&str> = text.lines().collect();
    let mut i = 0;
    while i < lines.len() {
        let line = lines[i];
        let Some(caps) = LABEL.captures(line) else {
            unlabelled.push_str(line);
            unlabelled.push('\n');
            i += 1;
            continue;
        };
        let kind = label_kind(caps.name("label").map_or("", |m| m.as_str()));
        let mut value = caps
            .name("value")
            .map_or("", |m| m.as_str())
            .trim()
            .to_string();
        // A label alone on its line: the value is on the next line.
        if value.is_empty() {
            // Skip the blank line HTML mail often leaves between the two.
            let next = (i + 1..lines.len().min(i + 3)).find(|&j| !lines[j].trim().is_empty());
            if let Some(j) = next {
                if !LABEL.is_match(lines[j]) {
                    value = lines[j].trim().to_string();
                    i = j;
                }
            }
        }
        match kind {
            Label::Name => {
                if req.name.is_none() {
                    req.name = clean_name(&value);
                }
            }
            Label::Number => {
                if req.seeker_number.is_none() {
                    match seeker_number(&value).or_else(|| {
                        labelled_digits(&value, 13, 13).map(|d| format!("{}-{}", &d[..5], &d[5..]))
                    }) {
                        Some(n) => req.seeker_number = Some(n),
                        None if value.chars().any(|c| c.is_ascii_digit()) => {
                            req.invalid_seeker_number = Some(value.chars().take(40).collect())
                        }
                        None => {}
                    }
                }
            }
            Label::Phone => {
                if req.phone.is_none() {
                    // A labelled value may be spaced or bracketed oddly: its
                    // digits decide ("(090)1234 5678").
                    req.phone = phone(&value).or_else(|| {
                        labelled_digits(&value, 10, 11)
                            .filter(|d| d.starts_with('0'))
                            .map(|_| value.trim().to_string())
                    });
                }
            }
            Label::Contact => {
                if let Some(m) = EMAIL.find(&value) {
                    req.email.get_or_insert_with(|| m.as_str().to_string());
                } else if req.phone.is_none() {
                    req.phone = phone(&value);
                }
            }
            Label::Email => {
                if req.email.is_none() {
                    req.email = EMAIL.find(&value).map(|m| m.as_str().to_string());
                }
            }
            Label::Wish => {
                // Keep the label (第2希望 orders the wishes) but not a list
                // marker before it: ③ there is not slot (3).
                let from = caps.name("label").map_or(0, |m| m.start());
                wish_text.push_str(&line[from..]);
                if caps
                    .name("value")
                    .is_some_and(|m| m.as_str().trim().is_empty())
                {
                    wish_text.push(' ');
                    wish_text.push_str(&value);
                }
                wish_text.push('\n');
            }
        }
        i += 1;
    }
    // Unlabelled fallbacks, as people often write in prose.
    if req.seeker_number.is_none() && req.invalid_seeker_number.is_none() {
        req.seeker_number = seeker_number(&unlabelled);
    }
    if req.phone.is_none() {
        let without_number = SEEKER_NUMBER.replace_all(&unlabelled, " ");
        req.phone = phone(&without_number);
    }
    if req.email.is_none() {
        req.email = EMAIL.find(&unlabelled).map(|m| m.as_str().to_string());
    }
    if req.name.is_none() {
        req.name = name_from_intro(&unlabelled);
    }
    let source = if wish_text.trim().is_empty() {
        &unlabelled
    } else {
        &wish_text
    };
    let found = parse_wishes(source, today, cal);
    req.wishes = found.wishes;
    req.invalid_dates = found.invalid;
    req.time_without_date = req.wishes.is_empty() && found.loose_times;
    req.needs = session_needs(&text);
    req
}

/// The digits of a labelled value, if it holds between `min` and `max` of
/// them and nothing but digits, spaces, dashes and brackets.
fn labelled_digits(value: &str, min: usize, max: usize) -> Option<String> {
    let v = normalize(value);
    let v = v.trim().trim_end_matches(['。', '.']);
    let plain = v
        .chars()
        .all(|c| c.is_ascii_digit() || c.is_whitespace() || matches!(c, '-' | '(' | ')' | '+'));
    let digits: String = v.chars().filter(|c| c.is_ascii_digit()).collect();
    (plain && (min..=max).contains(&digits.len())).then_some(digits)
}

fn clean_name(value: &str) -> Option<String> {
    let v = value
        .trim()
        .trim_end_matches(['。', '、', '.', ','])
        .trim_end_matches("です")
        .trim_end_matches("と申します")
        .trim()
        .trim_end_matches("様")
        .trim_end_matches("さま")
        .trim();
    // Drop a trailing reading in parentheses: 山田 太郎（ヤマダ タロウ）.
    let v = match v.find('(') {
        Some(p) if p > 0 => v[..p].trim(),
        _ => v,
    };
    let v: String = v.chars().filter(|c| !c.is_control()).take(60).collect();
    if v.is_empty()
        || v.chars()
            .all(|c| c.is_ascii_punctuation() || c.is_whitespace())
    {
        None
    } else {
        Some(v)
    }
}

/// A 求職番号 in any spacing or dash style, as `NNNNN-NNNNNNNN`.
pub fn seeker_number(text: &str) -> Option<String> {
    let normalized = normalize(text);
    let caps = SEEKER_NUMBER.captures(&normalized)?;
    Some(format!(
        "{}-{}",
        caps.get(1)?.as_str(),
        caps.get(2)?.as_str()
    ))
}

/// A Japanese phone number (10 or 11 digits, or +81), as written digits with
/// dashes kept where the seeker put them.
pub fn phone(text: &str) -> Option<String> {
    let normalized = normalize(text);
    for caps in PHONE.captures_iter(&normalized) {
        let whole = caps.get(0)?.as_str();
        let digits: String = whole.chars().filter(|c| c.is_ascii_digit()).collect();
        let national = if let Some(rest) = digits.strip_prefix("81").filter(|_| whole.contains('+'))
        {
            format!("0{rest}")
        } else {
            digits
        };
        if (10..=11).contains(&national.len()) && national.starts_with('0') {
            let trimmed = whole
                .trim_matches(|c: char| !c.is_ascii_digit() && c != '+' && c != '(' && c != ')')
                .trim();
            return Some(trimmed.to_string());
        }
    }
    None
}

struct FoundWishes {
    wishes: Vec<Wish>,
    invalid: Vec<String>,
    loose_times: bool,
}

#[derive(Debug)]
enum Token {
    Date(NaiveDate),
    InvalidDate(String),
    Time(NaiveTime),
    InvalidTime(String),
    Period(WishTime),
    /// A wish separator (第N希望, a new line, 、 between wishes).
    Break,
}

static WISH_TOKENS: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(
        r"(?x)
        (?P<era>(?:令和|R|r)\s*(?P<ey>\d{1,2}|元)\s*[年./]\s*(?P<em>\d{1,2})\s*[月./]\s*(?P<ed>\d{1,2})\s*日?)
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

static KANA_DATE: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"(\d)\s*(がつ|にちご|にち|しゅうかんご|しゅうかん|じはん|じ|ふん|ぷん)|ごご|ごぜん|さらいしゅう|らいしゅう|こんしゅう|よくしゅう|さらいげつ|らいげつ|こんげつ|げつまつ|しゅうあけ|(げつ|か|すい|もく|きん)ようび")
        .expect("kana date regex")
});

/// Dates and times written in kana (12がつ3にち ごご3じはん) in kanji form.
fn kana_dates(text: &str) -> std::borrow::Cow<'_, str> {
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

static KANJI_DATE: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"(?P<m>[一二三四五六七八九十]{1,3})月(?:(?P<d>[一二三四五六七八九十]{1,3})日)?|(?P<pre>[\s(の]|午前|午後)(?P<h>[一二三四五六七八九十]{1,3})時(?P<post>半|(?P<mi>[一二三四五六七八九十]{1,3})分|から|~|-)?")
        .expect("kanji date regex")
});

/// Kanji numerals in dates and times (十二月三日 午後三時半) as digits. A
/// time needs 午前/午後, a following 半/分/から, or a space or の before it,
/// so that 一時的 stays a word.
fn kanji_dates(text: &str) -> std::borrow::Cow<'_, str> {
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

fn parse_wishes(text: &str, today: NaiveDate, cal: &Calendar) -> FoundWishes {
    let kana = kana_dates(text);
    let text = &*kanji_dates(&kana);
    let mut tokens: Vec<(usize, usize, Token)> = Vec::new();
    for caps in WISH_TOKENS.captures_iter(text) {
        let Some(whole) = caps.get(0) else { continue };
        let (start, end) = (whole.start(), whole.end());
        let prev_char = text[..start].chars().next_back();
        let next_char = text[end..].chars().next();
        let prev_is_digit = prev_char.is_some_and(|c| c.is_ascii_digit());
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
                continue;
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
                continue;
            }
            date_from(None, &caps["m2"], &caps["d2"], today, whole.as_str())
        } else if caps.name("kmd").is_some() {
            match (kanji_number(&caps["km"]), kanji_number(&caps["kd"])) {
                (Some(m), Some(d)) => {
                    date_from(None, &m.to_string(), &d.to_string(), today, whole.as_str())
                }
                _ => continue,
            }
        } else if caps.name("yslash").is_some() {
            // 26/12/3: a two-digit year of this century.
            if prev_is_digit || next_char.is_some_and(|c| c.is_ascii_digit() || c == '/') {
                continue;
            }
            let year = caps["y6"].parse::<i32>().ok().map(|y| 2000 + y);
            date_from(year, &caps["m6"], &caps["d6"], today, whole.as_str())
        } else if caps.name("slash").is_some() {
            // 12/3 but not 1/2/3 fractions of a longer number or a phone.
            if prev_is_digit
                || prev_char == Some('/')
                || next_char.is_some_and(|c| c.is_ascii_digit() || c == '/')
            {
                continue;
            }
            date_from(None, &caps["m3"], &caps["d3"], today, whole.as_str())
        } else if caps.name("dot").is_some() {
            // 12.3 only as a date on its own: not 1.5 of a longer number.
            let next_ok = next_char.is_none_or(|c| {
                c.is_whitespace() || c == '(' || c == '~' || c == '、' || c == 'の'
            });
            if prev_is_digit || prev_char == Some('.') || !next_ok {
                continue;
            }
            date_from(None, &caps["m5"], &caps["d5"], today, whole.as_str())
        } else if caps.name("after").is_some() {
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
                    None => continue,
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
                continue;
            }
            let Ok(day) = caps["d4"].parse::<u32>() else {
                continue;
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
            let Some(wday) = caps.name("wday").and_then(|m| weekday(m.as_str())) else {
                continue;
            };
            // 12月3日(木) already named the day: the weekday only confirms it.
            if matches!(tokens.last(), Some((_, e, Token::Date(_))) if start - e <= 3) {
                continue;
            }
            let weeks = match caps.name("wk").map(|m| m.as_str()) {
                Some("来週" | "翌週") => 1,
                Some("再来週" | "翌々週") => 2,
                _ => 0,
            };
            Token::Date(weekday_date(today, wday, weeks, caps.name("wk").is_some()))
        } else if caps.name("hm").is_some() || caps.name("hj").is_some() {
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
                continue;
            }
            // The end of a range (11:00~11:30, 9時から10時まで) is not a wish.
            let before = text[..start].trim_end();
            if before.ends_with('~') || before.ends_with('-') || before.ends_with("から") {
                continue;
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
            let hour =
                if (pm && hour < 12) || (caps.name("ampm").is_none() && (1..=6).contains(&hour)) {
                    hour + 12
                } else {
                    hour
                };
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
                None => continue,
            }
        } else if caps.name("brk").is_some() {
            Token::Break
        } else {
            continue;
        };
        tokens.push((start, end, token));
    }

    // A short date range (12月3日～5日) means each day of it.
    let mut expanded: Vec<(usize, usize, Token)> = Vec::with_capacity(tokens.len());
    let mut iter = tokens.into_iter().peekable();
    while let Some((start, end, token)) = iter.next() {
        if let (Token::Date(from), Some((next_start, _, Token::Date(to)))) = (&token, iter.peek()) {
            let between = text[end..*next_start].trim();
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
    let tokens = expanded;
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
    FoundWishes {
        wishes,
        invalid,
        loose_times,
    }
}

fn date_from(year: Option<i32>, month: &str, day: &str, today: NaiveDate, raw: &str) -> Token {
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

fn day_only(day: u32, today: NaiveDate) -> Option<NaiveDate> {
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
fn first_of_month(today: NaiveDate, months: u32) -> Option<NaiveDate> {
    today.with_day(1)?.checked_add_months(Months::new(months))
}

/// The same day `n` months on (the month's last day when it is shorter).
fn months_later(today: NaiveDate, n: u32) -> Option<NaiveDate> {
    today.checked_add_months(Months::new(n))
}

/// The last business day of the month that starts on `first`.
fn last_business_day(first: NaiveDate, cal: &Calendar) -> NaiveDate {
    let mut d = first
        .checked_add_months(Months::new(1))
        .map_or(first, |next| next - Duration::days(1));
    while d > first && !cal.is_business_day(d) {
        d -= Duration::days(1);
    }
    d
}

fn weekday(s: &str) -> Option<Weekday> {
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
fn weekday_date(today: NaiveDate, wday: Weekday, weeks: i64, explicit_week: bool) -> NaiveDate {
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

/// What a reply to an offer says.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ReplyIntent {
    /// The seeker picked offered option `n` (1-based) or wrote its date/time.
    Choose(usize),
    /// A date/time that is not among the options.
    Other(Vec<Wish>),
    /// Agreement without a choice (了解しました, お願いします, or nothing).
    Agree,
    /// The seeker withdraws (キャンセル, 辞退, 都合が悪く…).
    Decline,
    /// A question or something else a person must answer.
    Unclear,
}

static OPTION_NUMBER: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(
        r"(?x)
        候補\s*(?:No\.?\s*)?[(]?(?P<a>\d{1,2})
      | (?:No|NO|no)\.?\s*(?P<b>\d{1,2})
      | [(](?P<c>\d{1,2})[)]
      | (?P<d>[\u{2460}-\u{2473}])
      | (?:^|[^\d/:.])(?P<e>\d{1,2})\s*(?:番|の候補|つ目|でお願い|で(?:\s|$|、|。|!)|を希望|にします)
      | ^\s*(?P<f>\d{1,2})\s*[.。]?\s*$
      | [【\[](?P<g>\d{1,2})[】\]]
      | (?P<h>[一二三四五六七八九])\s*(?:番|つ目)
      | (?P<first>最初の)
        ",
    )
    .expect("option regex")
});

static DECLINE: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"キャンセル|取り?消|辞退|やめ(?:ます|たい|て)|止めます|行けなく|いけなく|伺えなく|都合が(?:悪|つかな|合わな)|不要です|必要なくな|結構です")
        .expect("decline regex")
});

/// Reads a reply to an offer. `offered` are the options in the order they
/// were numbered in the offer mail; `text` has its quotes already removed.
pub fn parse_reply(
    text: &str,
    offered: &[crate::core::calendar::Slot],
    today: NaiveDate,
    cal: &Calendar,
) -> ReplyIntent {
    // A line that is only a date (a dated letter, a signature) is not a choice.
    let normalized: String = normalize(text)
        .lines()
        .filter(|l| !DATE_ONLY_LINE.is_match(l))
        .collect::<Vec<_>>()
        .join("\n");
    // A weekday alone ("木曜日の11時") names the offered slots on that day
    // of the week, not the next such day from today.
    let weekdays = free_weekdays(&normalized);
    let times = reply_times(&normalized, today, cal);
    if !weekdays.is_empty() {
        let matching: Vec<usize> = offered
            .iter()
            .enumerate()
            .filter(|(_, s)| {
                weekdays.contains(&s.date.weekday())
                    && (times.is_empty() || times.contains(&s.start))
            })
            .map(|(i, _)| i + 1)
            .collect();
        if matching.len() == 1 {
            return ReplyIntent::Choose(matching[0]);
        }
    }
    if LAST_OPTION.is_match(&normalized) && !offered.is_empty() {
        return ReplyIntent::Choose(offered.len());
    }
    // "早い方" / "遅い方": the earliest or the latest option.
    if let Some(m) = EARLY_LATE.find(&normalized) {
        let order = offered.iter().enumerate().map(|(i, s)| (s, i + 1));
        let pick = if m.as_str().starts_with('早') || m.as_str().starts_with("一番早") {
            order.min()
        } else {
            order.max()
        };
        if let Some((_, n)) = pick {
            return ReplyIntent::Choose(n);
        }
    }
    // "午後の方で": the only offered slot in that half of the day.
    if !EXPLICIT_DATE.is_match(&normalized) {
        if let Some(p) = PERIOD_CHOICE.captures(&normalized) {
            let noon = NaiveTime::from_hms_opt(12, 0, 0).unwrap_or(NaiveTime::MIN);
            let morning = p[1].starts_with("午前");
            let matching: Vec<usize> = offered
                .iter()
                .enumerate()
                .filter(|(_, s)| (s.start < noon) == morning)
                .map(|(i, _)| i + 1)
                .collect();
            if matching.len() == 1 {
                return ReplyIntent::Choose(matching[0]);
            }
        }
    }
    // Dates first: "12月3日の(2)" names a date and a slot time, not option 2.
    let mut found = parse_wishes(&normalized, today, cal);
    if !weekdays.is_empty() && !EXPLICIT_DATE.is_match(&normalized) {
        // The weekday already had its say above.
        found.wishes.clear();
    }
    if !found.wishes.is_empty() {
        for wish in &found.wishes {
            let matching: Vec<usize> = offered
                .iter()
                .enumerate()
                .filter(|(_, s)| {
                    s.date == wish.date
                        && match wish.time {
                            None => true,
                            Some(WishTime::At(t)) => s.start == t,
                            Some(WishTime::Morning) => {
                                s.start
                                    < NaiveTime::from_hms_opt(12, 0, 0).unwrap_or(NaiveTime::MIN)
                            }
                            Some(WishTime::Afternoon) => {
                                s.start
                                    >= NaiveTime::from_hms_opt(12, 0, 0).unwrap_or(NaiveTime::MIN)
                            }
                        }
                })
                .map(|(i, _)| i + 1)
                .collect();
            if matching.len() == 1 {
                return ReplyIntent::Choose(matching[0]);
            }
        }
    }
    // An option number ("2番で"), even beside a date that is not an
    // option ("25日のメールの件、2番で").
    if let Some(n) = option_number(&normalized, offered.len()) {
        return ReplyIntent::Choose(n);
    }
    if !found.wishes.is_empty() {
        if QUESTION.is_match(&normalized) {
            return ReplyIntent::Unclear;
        }
        if DECLINE.is_match(&normalized) {
            return ReplyIntent::Decline;
        }
        return ReplyIntent::Other(found.wishes);
    }
    // A time alone ("11時でお願いします") picks the only option at that time.
    for &t in &times {
        let matching: Vec<usize> = offered
            .iter()
            .enumerate()
            .filter(|(_, s)| s.start == t)
            .map(|(i, _)| i + 1)
            .collect();
        if matching.len() == 1 {
            return ReplyIntent::Choose(matching[0]);
        }
    }
    if DECLINE.is_match(&normalized) {
        return ReplyIntent::Decline;
    }
    if QUESTION.is_match(&normalized) {
        return ReplyIntent::Unclear;
    }
    ReplyIntent::Agree
}

/// Who or what may be needed at a session (第12条(3)), as stable keys.
const NEEDS: &[(&str, &str)] = &[
    ("sign_language", r"手話"),
    ("interpreter", r"通訳|つうやく"),
    ("written", r"筆談"),
    ("assistant", r"介助|介護者|付き?添い|ヘルパー|支援者"),
    ("companion", r"同席|同伴"),
];

static NEEDS_RE: LazyLock<Vec<(&'static str, Regex)>> = LazyLock::new(|| {
    NEEDS
        .iter()
        .map(|(k, p)| (*k, Regex::new(p).expect("needs regex")))
        .collect()
});

/// A sentence that says the thing is not needed.
static NOT_NEEDED: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"不要|必要(?:は|も)?(?:ありません|ない|なし|ございません)|いりません|要りません|なしで|無しで|一人で|ひとりで")
        .expect("not needed regex")
});

/// The needs a text mentions (通訳, 手話, 介助, 同席 …), skipping
/// sentences that say they are not needed.
pub fn session_needs(text: &str) -> Vec<String> {
    let text = normalize(text);
    let mut found: Vec<String> = Vec::new();
    for sentence in text.split(['。', '\n', '!', '?']) {
        if NOT_NEEDED.is_match(sentence) {
            continue;
        }
        for (key, re) in NEEDS_RE.iter() {
            if re.is_match(sentence) && !found.iter().any(|f| f == key) {
                found.push((*key).to_string());
            }
        }
    }
    found
}

/// What a mail about a confirmed booking asks for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum BookedIntent {
    /// Cancel the booking (キャンセル, 取り消し, 行けなくなった …).
    Cancel,
    /// Move it; the new wishes if any were given.
    Change(Vec<Wish>),
    /// Another session besides this one (次回, 2回目 …).
    Another(Vec<Wish>),
    /// Anything else (thanks, a question): a person reads it.
    Other,
}

static CHANGE: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"変更|変え(?:て|たい|られ)|振り?替|別の日|ずらし|ずらせ|延期|日程(?:を|の)?(?:調整|再調整)|日を改め")
        .expect("change regex")
});
static ANOTHER: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(
        r"次回|次の(?:相談|予約)|[2２二]回目|もう(?:一|1|１)(?:度|回)|追加で|別途|引き続き|続けて",
    )
    .expect("another regex")
});

/// Reads a mail about the booking of `booked` (quotes already removed).
pub fn parse_booked(
    text: &str,
    booked: Option<crate::core::calendar::Slot>,
    today: NaiveDate,
    cal: &Calendar,
) -> BookedIntent {
    let normalized: String = normalize(text)
        .lines()
        .filter(|l| !DATE_ONLY_LINE.is_match(l))
        .collect::<Vec<_>>()
        .join("\n");
    // Naming the booked slot (or only its day) is naming the booking, not a new wish.
    let wishes: Vec<Wish> = parse_wishes(&normalized, today, cal)
        .wishes
        .into_iter()
        .filter(|w| {
            booked.is_none_or(|b| {
                w.date != b.date || !(w.time.is_none() || w.time == Some(WishTime::At(b.start)))
            })
        })
        .collect();
    // "キャンセルはしません", "キャンセルする場合は?": about cancelling, not a request to.
    let hypothetical = NOT_CANCELLING.is_match(&normalized) || CONDITIONAL.is_match(&normalized);
    // "電話番号を変更しました" is not a move: a change names a date or the schedule.
    if CHANGE.is_match(&normalized)
        && !hypothetical
        && (!wishes.is_empty() || SCHEDULE.is_match(&normalized))
    {
        return BookedIntent::Change(wishes);
    }
    if CANCEL_BOOKING.is_match(&normalized) && !hypothetical {
        // "3日はキャンセルして10日に": a move.
        return if wishes.is_empty() {
            BookedIntent::Cancel
        } else {
            BookedIntent::Change(wishes)
        };
    }
    if ANOTHER.is_match(&normalized) && !wishes.is_empty() {
        return BookedIntent::Another(wishes);
    }
    BookedIntent::Other
}

static SCHEDULE: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"日程|日時|予約|時間|日にち|時刻|別の日|他の日|ほかの日|曜日|相談日|振り?替")
        .expect("schedule regex")
});

/// Ways to say one will not come. Narrower than [`DECLINE`]: "折り返しは
/// 不要です" about a booking must not cancel it.
static CANCEL_BOOKING: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"キャンセル|取り?消|辞退|行けなく|いけなく|伺えなく|うかがえなく|都合が(?:悪|つかな|合わな)|必要(?:が)?なくな|不要にな|やめます|やめたい|欠席|参加(?:が)?でき(?:ません|なく|ない)|出席(?:が)?でき(?:ません|なく|ない)|行けません|伺えません|うかがえません|来られなく|見送(?:り|ら|ります)|取りやめ|取り止め|中止(?:して|させて|に|します|したい|をお願い)")
        .expect("cancel regex")
});
static NOT_CANCELLING: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"(?:キャンセル|取り消し|取消|変更)(?:は|を|も)?(?:しません|せず|しない|ではなく|じゃなく|不要|なしで|しないで)")
        .expect("not cancelling regex")
});
static CONDITIONAL: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"(?:キャンセル|取り消|取消|変更|欠席)[^。\n]{0,12}(?:場合|時は|ときは|とき、|たら|なら|方法|には|にはどう|どうすれば|どのように)|(?:万が一|もし)[^。\n]{0,20}(?:キャンセル|取り消|変更|欠席)")
        .expect("conditional regex")
});

static EARLY_LATE: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"(?:一番)?(?:早い|遅い)(?:方|ほう|日|日時|もの)").expect("early regex")
});
static PERIOD_CHOICE: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r"(午前|午後)(?:中)?の(?:方|ほう|枠|日時)").expect("period regex"));
static LAST_OPTION: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r"最後|一番下|一番遅い|一番後").expect("last regex"));
static EXPLICIT_DATE: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"\d\s*[月日/]|本日|今日|明日|明後日|あした|あさって").expect("explicit date regex")
});
static WEEKDAY_WORD: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r"([月火水木金土日])曜").expect("weekday regex"));

/// Weekdays named on their own (木曜日), not as the label of a date (12月3日(木曜)).
fn free_weekdays(text: &str) -> Vec<Weekday> {
    WEEKDAY_WORD
        .captures_iter(text)
        .filter(|c| {
            let start = c.get(0).map_or(0, |m| m.start());
            let before = text[..start].trim_end_matches(|ch: char| ch == '(' || ch.is_whitespace());
            !(before.ends_with('日') || before.ends_with(|ch: char| ch.is_ascii_digit()))
        })
        .filter_map(|c| weekday(&c[1]))
        .collect()
}

/// The times of day a reply names ("11時", "13:30").
fn reply_times(text: &str, today: NaiveDate, cal: &Calendar) -> Vec<NaiveTime> {
    WISH_TOKENS
        .captures_iter(text)
        .filter(|c| c.name("hm").is_some() || c.name("hj").is_some())
        .filter_map(|c| {
            parse_wishes(&format!("本日{}", &c[0]), today, cal)
                .wishes
                .first()
                .and_then(|w| match w.time {
                    Some(WishTime::At(t)) => Some(t),
                    _ => None,
                })
        })
        .collect()
}

/// The option number a reply names, if it is one of 1..=`options`.
fn option_number(normalized: &str, options: usize) -> Option<usize> {
    for line in normalized.lines() {
        for caps in OPTION_NUMBER.captures_iter(line) {
            let n = ["a", "b", "c", "e", "f", "g"]
                .iter()
                .find_map(|k| caps.name(k).and_then(|m| m.as_str().parse::<usize>().ok()))
                .or_else(|| {
                    caps.name("d")
                        .and_then(|m| m.as_str().chars().next())
                        .and_then(circled_digit)
                        .map(|v| v as usize)
                })
                .or_else(|| {
                    caps.name("h")
                        .and_then(|m| kanji_number(m.as_str()))
                        .map(|v| v as usize)
                })
                .or_else(|| caps.name("first").map(|_| 1));
            if let Some(n) = n {
                if (1..=options).contains(&n) {
                    return Some(n);
                }
            }
        }
    }
    None
}

static DATE_ONLY_LINE: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"^\s*(?:(?:令和|R)\s*\d{1,2}\s*年|\d{4}\s*[年/.\-])?\s*\d{1,2}\s*[月/.\-]\s*\d{1,2}\s*日?\s*(?:[(][月火水木金土日][)])?\s*$")
        .expect("date line regex")
});

/// A question for the office: a person answers it, the bot does not guess.
static QUESTION: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"[?？]|でしょうか|ですか|ますか|教えて(?:ください|下さい)|質問|問い合わせ|問合せ|相談したいのですが|変更(?:したい|できます|は可能)")
        .expect("question regex")
});

#[cfg(test)]
mod tests {
    use super::*;
    use crate::core::calendar::Slot;

    fn cal() -> Calendar {
        Calendar::standard()
    }

    /// Wed 2026-11-25, the day these phrasings are read.
    fn today() -> NaiveDate {
        NaiveDate::from_ymd_opt(2026, 11, 25).expect("date")
    }

    fn at(m: u32, d: u32, h: u32, mi: u32) -> Wish {
        let year = if m < 6 { 2027 } else { 2026 };
        Wish {
            date: NaiveDate::from_ymd_opt(year, m, d).expect("date"),
            time: Some(WishTime::At(
                NaiveTime::from_hms_opt(h, mi, 0).expect("time"),
            )),
        }
    }

    fn day(m: u32, d: u32) -> Wish {
        Wish {
            date: NaiveDate::from_ymd_opt(2026, m, d).expect("date"),
            time: None,
        }
    }

    fn wishes(text: &str) -> Vec<Wish> {
        parse_request(text, today(), &cal()).wishes
    }

    #[test]
    fn needs_at_the_session() {
        let cases: &[(&str, &[&str])] = &[
            (
                "当日は手話通訳者の同席をお願いしたいです。",
                &["sign_language", "interpreter", "companion"],
            ),
            ("ベトナム語の通訳が必要です", &["interpreter"]),
            ("介助者が付き添います。", &["assistant"]),
            ("母が同席してもよいでしょうか", &["companion"]),
            ("筆談でお願いできますか", &["written"]),
            ("通訳は不要です。", &[]),
            ("同席者はいません、一人で参加します", &[]),
            ("12月3日の11時を希望します", &[]),
        ];
        for (text, expected) in cases {
            assert_eq!(session_needs(text), *expected, "{text}");
        }
        let req = parse_request("氏名：山田太郎\n通訳が必要です", today(), &cal());
        assert_eq!(req.needs, vec!["interpreter".to_string()]);
    }

    #[test]
    fn mail_about_a_booking() {
        let booked = Some(Slot::new(
            NaiveDate::from_ymd_opt(2026, 12, 3).expect("date"),
            NaiveTime::from_hms_opt(11, 0, 0).expect("time"),
        ));
        let read = |t: &str| parse_booked(t, booked, today(), &cal());
        for t in [
            "キャンセルをお願いします",
            "12月3日の予約を取り消してください",
            "急用で行けなくなりました。申し訳ありません。",
            "都合が悪くなってしまいました",
            "予約をキャンセルしたいです",
        ] {
            assert_eq!(read(t), BookedIntent::Cancel, "{t}");
        }
        assert_eq!(
            read("12月4日の13時30分に変更できますか"),
            BookedIntent::Change(vec![at(12, 4, 13, 30)])
        );
        assert_eq!(read("日程を変更したいです"), BookedIntent::Change(vec![]));
        assert_eq!(
            read("3日はキャンセルして、12月10日の午前にしてください"),
            BookedIntent::Change(vec![Wish {
                date: NaiveDate::from_ymd_opt(2026, 12, 10).expect("date"),
                time: Some(WishTime::Morning)
            }])
        );
        assert_eq!(
            read("次回の相談も予約したいです。12月17日 15:00 希望です"),
            BookedIntent::Another(vec![at(12, 17, 15, 0)])
        );
        for t in [
            "ありがとうございます。当日よろしくお願いします。",
            "ZOOMのアプリは入れておけばいいですか？",
            "12月10日も空いていますか",
            "キャンセルする場合はどうすればよいですか？",
            "万が一キャンセルしたいときは電話ですか",
            "キャンセルはしません。予定どおり参加します。",
            "変更の方法を教えてください",
            "登録している電話番号が変更になりました。",
            "メールアドレスを変更しました",
            "折り返しのお電話は不要です。",
            "それで結構です。よろしくお願いします。",
        ] {
            assert_eq!(read(t), BookedIntent::Other, "{t}");
        }
        for t in [
            "申し訳ありませんが、当日は欠席します",
            "仕事が入り参加できなくなりました",
            "今回は見送らせてください",
            "予約の取りやめをお願いします",
            "就職が決まったので、相談は必要なくなりました",
        ] {
            assert_eq!(read(t), BookedIntent::Cancel, "{t}");
        }
        // The same day at another time is a move, not the booking itself.
        assert_eq!(
            read("12月3日の15時に変更をお願いします"),
            BookedIntent::Change(vec![at(12, 3, 15, 0)])
        );
    }

    /// (text, expected wishes): the date and time phrasings seekers use.
    #[test]
    fn wish_phrasings() {
        let cases: Vec<(&str, Vec<Wish>)> = vec![
            (
                "希望日時：12月3日（木）11:00～11:30",
                vec![at(12, 3, 11, 0)],
            ),
            ("希望日時：１２月３日 ９：３０", vec![at(12, 3, 9, 30)]),
            ("希望日時 12/3 11:00", vec![at(12, 3, 11, 0)]),
            ("希望日時：令和8年12月3日 9時30分", vec![at(12, 3, 9, 30)]),
            (
                "希望日時：令和８年１２月３日　９時３０分",
                vec![at(12, 3, 9, 30)],
            ),
            ("12月3日の午後3時からでお願いします", vec![at(12, 3, 15, 0)]),
            ("12月3日 (2)", vec![at(12, 3, 11, 0)]),
            ("12月3日 ②", vec![at(12, 3, 11, 0)]),
            ("12月3日の2番", vec![at(12, 3, 11, 0)]),
            (
                "第1希望 12月3日 11:00\n第2希望 12月4日 13:30",
                vec![at(12, 3, 11, 0), at(12, 4, 13, 30)],
            ),
            (
                "第１希望：１２月３日（木）（２）\n第２希望：１２月４日（金）（４）",
                vec![at(12, 3, 11, 0), at(12, 4, 15, 0)],
            ),
            ("明日の9:30", vec![at(11, 26, 9, 30)]),
            ("本日の15:00", vec![at(11, 25, 15, 0)]),
            ("希望日時:2026/12/03 13:30", vec![at(12, 3, 13, 30)]),
            ("希望日時:2026-12-03 13:30", vec![at(12, 3, 13, 30)]),
            ("希望日時　2026年12月3日 午前9時半", vec![at(12, 3, 9, 30)]),
            ("12月3日 午前11時", vec![at(12, 3, 11, 0)]),
            ("12月3日 13時半", vec![at(12, 3, 13, 30)]),
            ("12月3日 1時半から", vec![at(12, 3, 13, 30)]),
            ("希望日12月3日", vec![day(12, 3)]),
            (
                "12月3日（木）の午前中",
                vec![Wish {
                    date: day(12, 3).date,
                    time: Some(WishTime::Morning),
                }],
            ),
            (
                "12月4日午後",
                vec![Wish {
                    date: day(12, 4).date,
                    time: Some(WishTime::Afternoon),
                }],
            ),
            ("十二月三日 十一時", vec![at(12, 3, 11, 0)]),
            ("26/12/3 11:00", vec![at(12, 3, 11, 0)]),
            ("12月7日～9日", vec![day(12, 7), day(12, 8), day(12, 9)]),
            ("十二月三日の午後三時半", vec![at(12, 3, 15, 30)]),
            ("十二月四日、一時的に都合が悪い", vec![day(12, 4)]),
            (
                "12月3日11:00か12月4日9:30",
                vec![at(12, 3, 11, 0), at(12, 4, 9, 30)],
            ),
            ("1月6日 9:30", vec![at(1, 6, 9, 30)]),
            ("R8.12.3 11:00", vec![at(12, 3, 11, 0)]),
            ("11時から、12月3日にお願いします", vec![at(12, 3, 11, 0)]),
            ("来週水曜日の11時", vec![at(12, 2, 11, 0)]),
            ("希望日時\n12月3日 15:00", vec![at(12, 3, 15, 0)]),
            ("【希望日時】12月3日 15:00-15:30", vec![at(12, 3, 15, 0)]),
            ("③ 希望日時：12月3日(木) ⑶", vec![at(12, 3, 13, 30)]),
        ];
        for (text, expected) in cases {
            assert_eq!(wishes(text), expected, "phrasing: {text}");
        }
    }

    #[test]
    fn invalid_dates_are_reported() {
        let r = parse_request("希望日時：2月30日 25:00", today(), &cal());
        assert!(r.wishes.is_empty());
        assert!(!r.invalid_dates.is_empty());
        let r = parse_request("希望日時：11:00", today(), &cal());
        assert!(r.wishes.is_empty());
        assert!(r.time_without_date);
    }

    #[test]
    fn seeker_numbers_in_any_style() {
        for s in [
            "32010-12345678",
            "３２０１０－１２３４５６７８",
            "32010 12345678",
            "3201012345678",
            "32010ー12345678",
            "32010−12345678",
            "32010 - 12345678",
        ] {
            assert_eq!(seeker_number(s).as_deref(), Some("32010-12345678"), "{s}");
        }
        for s in [
            "3201-12345678",
            "32010-1234567",
            "0853-21-8609",
            "090-1234-5678",
        ] {
            assert_eq!(seeker_number(s), None, "{s}");
        }
    }

    #[test]
    fn phones() {
        for (s, want) in [
            ("090-1234-5678", "090-1234-5678"),
            ("０９０－１２３４－５６７８", "090-1234-5678"),
            ("09012345678", "09012345678"),
            ("0853-21-8609", "0853-21-8609"),
            ("0853(21)8609", "0853(21)8609"),
            ("+81 90 1234 5678", "+81 90 1234 5678"),
        ] {
            assert_eq!(phone(s).as_deref(), Some(want), "{s}");
        }
        assert_eq!(phone("12345"), None);
    }

    fn full(text: &str) -> BookingRequest {
        parse_request(text, today(), &cal())
    }

    /// Whole requests as people write them: labels with ：, :, a space or none.
    #[test]
    fn whole_requests() {
        let forms = [
            "氏名：山田 太郎\n求職番号：32010-12345678\n希望日時：12月3日（木）11:00～11:30\nメールアドレス：taro@example.jp\n電話番号：090-1234-5678",
            "氏名:山田 太郎\n求職番号:32010-12345678\n希望日時:12月3日 11:00\nメール:taro@example.jp\n電話:090-1234-5678",
            "氏名 山田 太郎\n求職番号 32010-12345678\n希望日時 12月3日 11:00\nメールアドレス taro@example.jp\n電話番号 090-1234-5678",
            "お名前　山田 太郎\n求職番号　３２０１０－１２３４５６７８\n希望日時　１２月３日　１１：００\nＴＥＬ　０９０－１２３４－５６７８",
            "【氏名】山田 太郎\n【求職番号】32010-12345678\n【希望日時】12月3日 11:00\n【電話番号】090-1234-5678",
            "① 氏名：山田 太郎\n② 求職番号：32010-12345678\n③ 希望日時：12月3日 (2)\n④ 連絡先メールアドレス：taro@example.jp\n⑤ 求職情報として登録した電話番号：090-1234-5678",
            "■氏名\n山田 太郎\n■求職番号\n32010-12345678\n■希望日時\n12月3日 11:00\n■電話番号\n090-1234-5678",
            "名前は山田 太郎\n求職者番号は32010-12345678\n希望は12月3日の11時\n携帯は090-1234-5678",
            "お世話になります。山田 太郎です。\nオンライン相談の予約をお願いします。\n求職番号は32010-12345678、\n12月3日の11時を希望します。\n電話は090-1234-5678です。",
            "氏名：山田 太郎（ヤマダ タロウ）\n求職番号：32010－12345678\n希望日時：12月3日(木)2番\n登録電話番号：090-1234-5678",
        ];
        for text in forms {
            let r = full(text);
            assert_eq!(r.name.as_deref(), Some("山田 太郎"), "name in: {text}");
            assert_eq!(
                r.seeker_number.as_deref(),
                Some("32010-12345678"),
                "number in: {text}"
            );
            assert_eq!(
                r.phone.as_deref(),
                Some("090-1234-5678"),
                "phone in: {text}"
            );
            assert_eq!(r.wishes, vec![at(12, 3, 11, 0)], "wish in: {text}");
            assert!(r.missing().is_empty(), "{text}");
        }
        assert_eq!(full(forms[0]).email.as_deref(), Some("taro@example.jp"));
    }

    #[test]
    fn labelled_values_read_by_their_digits() {
        let r = full("氏名：山田 太郎 様\n求職番号：3201 0123 4567 8\n希望日時：12月3日 11:00\n電話番号：(090)1234 5678");
        assert_eq!(r.name.as_deref(), Some("山田 太郎"));
        assert_eq!(r.seeker_number.as_deref(), Some("32010-12345678"));
        assert_eq!(r.phone.as_deref(), Some("(090)1234 5678"));
        let r = full("求職番号：32010-1234-5678");
        assert_eq!(r.seeker_number.as_deref(), Some("32010-12345678"));
        let r = full("求職番号：32010-1234567");
        assert_eq!(r.seeker_number, None);
        assert!(r.invalid_seeker_number.is_some());
    }

    #[test]
    fn missing_items_are_named() {
        let r = full("氏名：山田 太郎\n希望日時：12月3日 11:00\n電話番号：090-1234-5678");
        assert_eq!(r.missing(), vec![Item::SeekerNumber]);
        let r = full("求職番号：1234-5678");
        assert_eq!(r.invalid_seeker_number.as_deref(), Some("1234-5678"));
        assert_eq!(
            r.missing(),
            vec![Item::Name, Item::SeekerNumber, Item::Wish, Item::Phone]
        );
        let r = full("予約したいです");
        assert!(r.is_empty());
    }

    #[test]
    fn merge_fills_gaps() {
        let mut a = full("氏名：山田 太郎\n希望日時：12月3日 11:00\n電話番号：090-1234-5678");
        a.merge(full("求職番号は32010-12345678です"));
        assert!(a.missing().is_empty());
        assert_eq!(a.name.as_deref(), Some("山田 太郎"));
    }

    fn slots() -> Vec<Slot> {
        let d = |m, day| NaiveDate::from_ymd_opt(2026, m, day).expect("date");
        let t = |h, mi| NaiveTime::from_hms_opt(h, mi, 0).expect("time");
        vec![
            Slot::new(d(12, 3), t(11, 0)),
            Slot::new(d(12, 3), t(13, 30)),
            Slot::new(d(12, 4), t(9, 30)),
        ]
    }

    #[test]
    fn reply_phrasings() {
        let cases = [
            ("1でお願いします", ReplyIntent::Choose(1)),
            ("１番でお願いします。", ReplyIntent::Choose(1)),
            ("2番を希望します", ReplyIntent::Choose(2)),
            ("②でお願いします", ReplyIntent::Choose(2)),
            ("(3)", ReplyIntent::Choose(3)),
            ("候補3でお願いします", ReplyIntent::Choose(3)),
            ("3", ReplyIntent::Choose(3)),
            ("【2】にします", ReplyIntent::Choose(2)),
            ("12月4日でお願いします", ReplyIntent::Choose(3)),
            ("12月3日13時30分からでお願いします", ReplyIntent::Choose(2)),
            (
                "１２月３日　１１：００でお願いします",
                ReplyIntent::Choose(1),
            ),
            ("13:30でお願いします", ReplyIntent::Choose(2)),
            ("承知しました。よろしくお願いします。", ReplyIntent::Agree),
            ("同意します", ReplyIntent::Agree),
            ("", ReplyIntent::Agree),
            ("都合が悪くなったのでキャンセルします", ReplyIntent::Decline),
            ("辞退します", ReplyIntent::Decline),
            ("一番でお願いします", ReplyIntent::Choose(1)),
            ("最初の日時でお願いします", ReplyIntent::Choose(1)),
            ("駐車場はありますか？", ReplyIntent::Unclear),
            ("スマホでも参加できますでしょうか", ReplyIntent::Unclear),
            ("はい、お願いします。", ReplyIntent::Agree),
            ("木曜日の11時で", ReplyIntent::Choose(1)),
            ("金曜でお願いします", ReplyIntent::Choose(3)),
            ("一番最後の日時でお願いします", ReplyIntent::Choose(3)),
            ("早い方でお願いします", ReplyIntent::Choose(1)),
            ("遅いほうで", ReplyIntent::Choose(3)),
            ("午後の方でお願いします", ReplyIntent::Choose(2)),
            (
                "承知しました。\n山田太郎\n2026年11月26日",
                ReplyIntent::Agree,
            ),
        ];
        for (text, want) in cases {
            assert_eq!(
                parse_reply(text, &slots(), today(), &cal()),
                want,
                "reply: {text}"
            );
        }
        assert_eq!(
            parse_reply("12月10日の11時は空いていますか", &slots(), today(), &cal()),
            ReplyIntent::Unclear
        );
        assert_eq!(
            parse_reply(
                "11月25日のメールの件、2番でお願いします",
                &slots(),
                today(),
                &cal()
            ),
            ReplyIntent::Choose(2)
        );
        match parse_reply("12月10日の11時でお願いします", &slots(), today(), &cal()) {
            ReplyIntent::Other(w) => assert_eq!(w, vec![at(12, 10, 11, 0)]),
            other => panic!("expected Other, got {other:?}"),
        }
        assert_eq!(
            parse_reply("5番で", &slots(), today(), &cal()),
            ReplyIntent::Agree,
            "out of range"
        );
    }
}
