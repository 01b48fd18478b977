//! Japanese as people really write it (issue 26, `tests/corpus/reading.toml`):
//! negations, numbered lists glued to dates, a label's value on the lines
//! below it, nth weekdays and parts of a month, "any of them", and
//! cancellations and changes of a booking without the words キャンセル and
//! 変更. Each case goes through every body encoding and the same path as
//! live mail (MIME parse → own text → the reader). Prints the accuracy per
//! class; every case must be read as a clerk would.

mod common;

use chrono::{Duration, NaiveDate, NaiveTime};
use serde::Deserialize;
use std::collections::BTreeMap;
use yoyaku::core::calendar::{Calendar, Slot};
use yoyaku::core::quote::own_text;
use yoyaku::core::understand::{
    parse_booked, parse_reply, parse_request, BookedIntent, ReplyIntent, Wish, WishTime,
};
use yoyaku::mail::message;

#[derive(Deserialize)]
struct Corpus {
    request: Vec<RequestCase>,
    reply: Vec<ReplyCase>,
    booked: Vec<BookedCase>,
}

#[derive(Deserialize)]
struct RequestCase {
    class: String,
    text: String,
    today: Option<String>,
    #[serde(default)]
    wishes: Vec<String>,
    period: Option<(String, String)>,
    #[serde(default)]
    excluded: Vec<String>,
}

#[derive(Deserialize)]
struct ReplyCase {
    class: String,
    text: String,
    today: Option<String>,
    offered: Vec<String>,
    expect: String,
}

#[derive(Deserialize)]
struct BookedCase {
    class: String,
    text: String,
    today: Option<String>,
    booked: String,
    expect: String,
}

fn date(s: &str) -> NaiveDate {
    NaiveDate::parse_from_str(s, "%Y-%m-%d").expect("date")
}

fn today(t: &Option<String>) -> NaiveDate {
    t.as_deref().map_or(date("2026-12-04"), date)
}

fn wish(s: &str) -> Wish {
    let mut parts = s.split(' ');
    let date = date(parts.next().expect("date"));
    let time = parts.next().map(|t| match t {
        "am" => WishTime::Morning,
        "pm" => WishTime::Afternoon,
        t => WishTime::At(NaiveTime::parse_from_str(t, "%H:%M").expect("time")),
    });
    Wish { date, time }
}

fn slot(s: &str) -> Slot {
    let w = wish(s);
    match w.time {
        Some(WishTime::At(t)) => Slot::new(w.date, t),
        _ => panic!("a slot needs a time: {s}"),
    }
}

/// Every encoding's own text of `text`.
fn read_back(text: &str) -> Vec<(&'static str, String)> {
    common::in_every_encoding(text)
        .into_iter()
        .map(|(encoding, raw)| (encoding, own_text(&message::parse(&raw).body, false)))
        .collect()
}

fn booked_intent(i: &BookedIntent) -> String {
    match i {
        BookedIntent::Cancel => "cancel".into(),
        BookedIntent::Change(w) => match w.first() {
            None => "change".into(),
            Some(Wish { date, time: None }) => format!("change {date}"),
            Some(Wish {
                date,
                time: Some(WishTime::At(t)),
            }) => format!("change {date} {}", t.format("%H:%M")),
            Some(w) => format!("change {w:?}"),
        },
        BookedIntent::Another(_) => "another".into(),
        BookedIntent::Other => "other".into(),
    }
}

fn reply_intent(i: &ReplyIntent) -> String {
    match i {
        ReplyIntent::Choose(n) => format!("choose {n}"),
        ReplyIntent::Agree => "agree".into(),
        ReplyIntent::Decline => "decline".into(),
        ReplyIntent::Unclear => "unclear".into(),
        ReplyIntent::Other(_) => "other".into(),
    }
}

#[test]
fn every_class_is_read_as_a_clerk_would() {
    let corpus: Corpus =
        toml::from_str(include_str!("corpus/reading.toml")).expect("corpus parses");
    let cal = Calendar::standard();
    // class → (cases read right, cases)
    let mut classes: BTreeMap<String, (usize, usize)> = BTreeMap::new();
    let mut failures = Vec::new();
    let mut tally = |class: &str, ok: bool, what: String| {
        let e = classes.entry(class.to_string()).or_default();
        e.1 += 1;
        if ok {
            e.0 += 1;
        } else {
            failures.push(what);
        }
    };
    for case in &corpus.request {
        let today = today(&case.today);
        let want: Vec<Wish> = match &case.period {
            Some((from, to)) => {
                let (from, to) = (date(from), date(to));
                (0..=(to - from).num_days())
                    .map(|d| from + Duration::days(d))
                    .filter(|d| cal.is_business_day(*d))
                    .map(|date| Wish { date, time: None })
                    .collect()
            }
            None => case.wishes.iter().map(|w| wish(w)).collect(),
        };
        let want_excluded: Vec<NaiveDate> = case.excluded.iter().map(|d| date(d)).collect();
        let mut ok = true;
        let mut got = String::new();
        for (encoding, text) in read_back(&case.text) {
            let req = parse_request(&text, today, &cal);
            if req.wishes != want || req.excluded != want_excluded {
                ok = false;
                got = format!(
                    "{encoding}: wishes {:?} excluded {:?}",
                    req.wishes, req.excluded
                );
            }
        }
        tally(
            &case.class,
            ok,
            format!(
                "[{}] {:?}: want {want:?} excluded {want_excluded:?}; {got}",
                case.class, case.text
            ),
        );
    }
    for case in &corpus.reply {
        let today = today(&case.today);
        let offered: Vec<Slot> = case.offered.iter().map(|s| slot(s)).collect();
        let mut ok = true;
        let mut got = String::new();
        for (encoding, text) in read_back(&case.text) {
            let said = reply_intent(&parse_reply(&text, &offered, today, &cal));
            if said != case.expect {
                ok = false;
                got = format!("{encoding}: {said}");
            }
        }
        tally(
            &case.class,
            ok,
            format!(
                "[{}] {:?}: want {}; {got}",
                case.class, case.text, case.expect
            ),
        );
    }
    for case in &corpus.booked {
        let today = today(&case.today);
        let booked = slot(&case.booked);
        let mut ok = true;
        let mut got = String::new();
        for (encoding, text) in read_back(&case.text) {
            let said = booked_intent(&parse_booked(&text, Some(booked), today, &cal));
            if said != case.expect {
                ok = false;
                got = format!("{encoding}: {said}");
            }
        }
        tally(
            &case.class,
            ok,
            format!(
                "[{}] {:?}: want {}; {got}",
                case.class, case.text, case.expect
            ),
        );
    }
    let mut report = String::from("reading corpus, cases read right per class:\n");
    for (class, (right, all)) in &classes {
        report.push_str(&format!("  {class}: {right}/{all}\n"));
    }
    println!("{report}");
    assert!(
        failures.is_empty(),
        "{report}{} cases misread:\n{}",
        failures.len(),
        failures.join("\n")
    );
}
