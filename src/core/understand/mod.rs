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

mod booked;
pub mod foreign;
pub mod gist;
mod months;
mod needs;
mod negation;
mod reply;
mod wishes;

pub use booked::*;
pub use needs::*;
pub use reply::*;
use wishes::*;

/// One wish of the seeker, in the order written (第1希望 first).
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Wish {
    pub date: NaiveDate,
    pub time: Option<WishTime>,
}

impl Wish {
    /// Whether `slot` is what this wish asks for: its date, and the time
    /// named (午前 before noon, 午後 from noon; any time when none).
    pub fn admits(&self, slot: &crate::core::calendar::Slot) -> bool {
        let noon = NaiveTime::from_hms_opt(12, 0, 0).unwrap_or(NaiveTime::MIN);
        slot.date == self.date
            && match self.time {
                None => true,
                Some(WishTime::At(t)) => slot.start == t,
                Some(WishTime::Morning) => slot.start < noon,
                Some(WishTime::Afternoon) => slot.start >= noon,
            }
    }
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
    /// Dates the seeker said are impossible (18日は都合がつきません): not
    /// wishes, and not offered.
    pub excluded: Vec<NaiveDate>,
    /// Something that looked like a date but is not one (2月30日, 25:00).
    pub invalid_dates: Vec<String>,
    /// A time or slot number was given, but no date to go with it.
    pub time_without_date: bool,
    /// Someone or something needed at the session, by key (see [`session_needs`]).
    pub needs: Vec<String>,
    /// The language the seeker wrote in (the latest mail that told): the
    /// language of the answers. None: not known (Japanese answers).
    pub lang: Option<crate::core::lang::Lang>,
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
        // "18日以外で": any day but those will do.
        if self.wishes.is_empty() && self.excluded.is_empty() {
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
        if newer.lang.is_some() {
            self.lang = newer.lang;
        }
        if newer.email.is_some() {
            self.email = newer.email;
        }
        if !newer.wishes.is_empty() || !newer.excluded.is_empty() {
            self.excluded = newer.excluded;
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
            && self.excluded.is_empty()
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
    let lang = crate::core::lang::detect(text);
    let text = normalize(&foreign::reader_form(text));
    let mut req = BookingRequest {
        lang,
        ..BookingRequest::default()
    };
    let mut wish_text = String::new();
    let mut unlabelled = String::new();
    let mut lines: Vec<&str> = text.lines().collect();
    // HTML mail read as text has a blank line after every block and none
    // where the writer left one: there a blank line ends nothing.
    if !lines
        .windows(2)
        .any(|w| !w[0].trim().is_empty() && !w[1].trim().is_empty())
    {
        lines.retain(|l| !l.trim().is_empty());
    }
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
        let prose_only = kind == Label::Wish && !value.chars().any(|c| c.is_ascii_digit());
        i = read_on(&lines, i, kind, prose_only, &mut value);
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
                if prose_only
                    || caps
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
    req.excluded = found.excluded;
    req.invalid_dates = found.invalid;
    req.time_without_date = req.wishes.is_empty() && found.loose_times;
    req.needs = session_needs(&text);
    req
}

/// Where a label's value goes on below its line (at `i`): a label alone
/// takes the next line, and a wish, or a wish label followed only by
/// words ("希望日時については、"), runs on until the next label or a blank
/// line. Appends to `value`; returns the last line read.
fn read_on(
    lines: &[&str],
    mut i: usize,
    kind: Label,
    prose_only: bool,
    value: &mut String,
) -> usize {
    let runs_on = |i: usize| {
        i + 1 < lines.len() && !lines[i + 1].trim().is_empty() && !LABEL.is_match(lines[i + 1])
    };
    if prose_only && !value.is_empty() {
        while runs_on(i) {
            i += 1;
            value.push('\n');
            value.push_str(lines[i].trim());
        }
        return i;
    }
    if !value.is_empty() {
        return i;
    }
    // Skip the blank line HTML mail often leaves between the two.
    let next = (i + 1..lines.len().min(i + 3)).find(|&j| !lines[j].trim().is_empty());
    if let Some(j) = next.filter(|&j| !LABEL.is_match(lines[j])) {
        *value = lines[j].trim().to_string();
        i = j;
        while kind == Label::Wish && runs_on(i) {
            i += 1;
            value.push('\n');
            value.push_str(lines[i].trim());
        }
    }
    i
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
            ("十二月四日で。一時的に留守にします", vec![day(12, 4)]),
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
