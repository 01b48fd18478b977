//! The request-understanding corpus (`tests/corpus/requests.toml`), each
//! phrasing sent through every body encoding a seeker's mailer may use and
//! read back through the same path as live mail: MIME parse → own text →
//! parse_request. Pure: no mail server needed.

mod common;

use chrono::{NaiveDate, NaiveTime};
use serde::Deserialize;
use yoyaku::core::calendar::Calendar;
use yoyaku::core::quote::own_text;
use yoyaku::core::understand::{parse_request, Wish, WishTime};
use yoyaku::mail::message;

#[derive(Deserialize)]
struct Corpus {
    case: Vec<Case>,
}

#[derive(Deserialize)]
struct Case {
    text: String,
    name: Option<String>,
    number: Option<String>,
    email: Option<String>,
    phone: Option<String>,
    #[serde(default)]
    wishes: Vec<String>,
    #[serde(default)]
    missing: Vec<String>,
    /// The day the mail is read (the decision clock), `YYYY-MM-DD`;
    /// default Wed 2026-11-25.
    today: Option<String>,
}

fn cal() -> Calendar {
    Calendar::standard()
}

fn wish(s: &str) -> Wish {
    let mut parts = s.split(' ');
    let date = NaiveDate::parse_from_str(parts.next().expect("date"), "%Y-%m-%d").expect("date");
    let time = parts.next().map(|t| match t {
        "am" => WishTime::Morning,
        "pm" => WishTime::Afternoon,
        t => WishTime::At(NaiveTime::parse_from_str(t, "%H:%M").expect("time")),
    });
    Wish { date, time }
}

#[test]
fn every_phrasing_in_every_encoding() {
    let corpus: Corpus =
        toml::from_str(include_str!("corpus/requests.toml")).expect("corpus parses");
    assert!(
        corpus.case.len() >= 45,
        "the corpus keeps at least 45 phrasings"
    );
    let default_today = NaiveDate::from_ymd_opt(2026, 11, 25).expect("date");
    let mut checked = 0;
    let mut failures = Vec::new();
    for (i, case) in corpus.case.iter().enumerate() {
        let today = case.today.as_deref().map_or(default_today, |t| {
            NaiveDate::parse_from_str(t, "%Y-%m-%d").expect("case date")
        });
        let encodings = common::in_every_encoding(&case.text);
        for (encoding, raw) in encodings {
            let inbound = message::parse(&raw);
            let req = parse_request(&own_text(&inbound.body, false), today, &cal());
            let want_wishes: Vec<Wish> = case.wishes.iter().map(|w| wish(w)).collect();
            let missing: Vec<&str> = req.missing().iter().map(|m| m.key()).collect();
            let want_missing: Vec<&str> = case.missing.iter().map(String::as_str).collect();
            let ok = req.name == case.name
                && req.seeker_number == case.number
                && req.email == case.email
                && req.phone == case.phone
                && req.wishes == want_wishes
                && missing == want_missing;
            if !ok {
                failures.push(format!(
                    "case {i} ({encoding}): got name={:?} number={:?} email={:?} phone={:?} wishes={:?} missing={:?}\n  text: {:?}",
                    req.name, req.seeker_number, req.email, req.phone, req.wishes, missing, case.text
                ));
            }
            checked += 1;
        }
    }
    assert!(
        failures.is_empty(),
        "{} of {checked} mismatches:\n{}",
        failures.len(),
        failures.join("\n")
    );
}
