//! A short Japanese gist of what a seeker wrote in another language, for
//! the note to staff (issue 27): staff read Japanese, and the seeker's own
//! words may be Portuguese or Vietnamese. It says what the reader took from
//! the mail, in the office's words, not a translation of it.

use super::{BookingRequest, Item, WishTime};
use crate::core::lang::Lang;
use chrono::{Datelike, NaiveDate};

const WEEKDAYS: [&str; 7] = ["月", "火", "水", "木", "金", "土", "日"];

fn day(d: NaiveDate) -> String {
    format!(
        "{}月{}日（{}）",
        d.month(),
        d.day(),
        WEEKDAYS[d.weekday().num_days_from_monday() as usize]
    )
}

/// The gist's lines, or none when the seeker writes Japanese.
pub fn gist(request: &BookingRequest) -> Vec<String> {
    let lang = match request.lang {
        None | Some(Lang::Ja) => return Vec::new(),
        Some(l) => l,
    };
    let mut lines = vec![if lang == Lang::Easy {
        "言語：日本語以外（判定できず）。やさしい日本語と通常の日本語で返信しています。".to_string()
    } else {
        format!(
            "言語：{}。返信は{}と日本語（正本）で送っています。",
            lang.label(),
            lang.label()
        )
    }];
    if !request.wishes.is_empty() {
        let wishes: Vec<String> = request
            .wishes
            .iter()
            .map(|w| {
                let time = match w.time {
                    Some(WishTime::At(t)) => format!(" {}", t.format("%H:%M")),
                    Some(WishTime::Morning) => " 午前".into(),
                    Some(WishTime::Afternoon) => " 午後".into(),
                    None => String::new(),
                };
                format!("{}{time}", day(w.date))
            })
            .collect();
        lines.push(format!("希望日時（読み取り）：{}", wishes.join("、")));
    }
    if !request.excluded.is_empty() {
        let days: Vec<String> = request.excluded.iter().map(|d| day(*d)).collect();
        lines.push(format!("都合が悪い日：{}", days.join("、")));
    }
    let missing: Vec<&str> = request
        .missing()
        .into_iter()
        .map(|item| match item {
            Item::Name => "氏名",
            Item::SeekerNumber => "求職番号",
            Item::Wish => "希望日時",
            Item::Phone => "電話番号",
        })
        .collect();
    if !missing.is_empty() {
        lines.push(format!("読み取れなかった項目：{}", missing.join("、")));
    }
    if !request.invalid_dates.is_empty() {
        lines.push(format!(
            "日付として読めなかった記載：{}",
            request.invalid_dates.join("、")
        ));
    }
    lines
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::core::understand::Wish;

    #[test]
    fn a_portuguese_request_is_summed_up_in_japanese() {
        let d = |m, day| NaiveDate::from_ymd_opt(2026, m, day).expect("date");
        let request = BookingRequest {
            name: Some("Ana".into()),
            wishes: vec![
                Wish {
                    date: d(12, 3),
                    time: Some(WishTime::At(
                        chrono::NaiveTime::from_hms_opt(13, 30, 0).expect("t"),
                    )),
                },
                Wish {
                    date: d(12, 4),
                    time: Some(WishTime::Morning),
                },
            ],
            excluded: vec![d(12, 18)],
            lang: Some(Lang::Pt),
            ..Default::default()
        };
        let lines = gist(&request);
        assert_eq!(
            lines[0],
            "言語：ポルトガル語。返信はポルトガル語と日本語（正本）で送っています。"
        );
        assert_eq!(
            lines[1],
            "希望日時（読み取り）：12月3日（木） 13:30、12月4日（金） 午前"
        );
        assert_eq!(lines[2], "都合が悪い日：12月18日（金）");
        assert_eq!(lines[3], "読み取れなかった項目：求職番号、電話番号");
        assert!(
            gist(&BookingRequest::default()).is_empty(),
            "Japanese: no gist"
        );
    }
}
