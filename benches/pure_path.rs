//! The pure path of a message: MIME parse → own text → understand →
//! decide (the booking state machine), over the request corpus of
//! tests/corpus/requests.toml in five body encodings. Prints messages per
//! second on one core. Run: `cargo bench --bench pure_path`.

#[path = "../tests/common/mod.rs"]
mod common;

use chrono::{NaiveDate, TimeZone, Utc};
use common::Mail;
use std::collections::HashSet;
use std::time::Instant;
use yoyaku::core::booking::{step, Context, Event, Request, Rules, Standing};
use yoyaku::core::calendar::Calendar;
use yoyaku::core::quote::own_text;
use yoyaku::core::understand::parse_request;
use yoyaku::mail::message;

#[derive(serde::Deserialize)]
struct Corpus {
    case: Vec<Case>,
}

#[derive(serde::Deserialize)]
struct Case {
    text: String,
}

fn main() {
    let corpus: Corpus =
        toml::from_str(include_str!("../tests/corpus/requests.toml")).expect("corpus");
    let mut raws: Vec<Vec<u8>> = Vec::new();
    for case in &corpus.case {
        let m = || {
            Mail::new(
                "seeker@example.jp",
                "desk@example.jp",
                "オンライン相談の予約",
            )
        };
        raws.push(m().utf8_base64(&case.text).build());
        raws.push(m().utf8_qp(&case.text).build());
        raws.push(m().iso2022jp(&case.text).build());
        raws.push(m().shift_jis_qp(&case.text).build());
        let html: String = case
            .text
            .lines()
            .map(|l| format!("<div>{l}</div>"))
            .collect();
        raws.push(
            m().html_only(&format!("<html><body>{html}</body></html>"))
                .build(),
        );
    }
    let cal = Calendar::standard();
    let now = chrono_tz::Asia::Tokyo
        .with_ymd_and_hms(2026, 11, 25, 10, 0, 0)
        .single()
        .expect("now")
        .with_timezone(&Utc);
    let today = NaiveDate::from_ymd_opt(2026, 11, 25).expect("today");
    let full = HashSet::new();
    let rules = Rules::default();
    let ctx = Context {
        cal: &cal,
        now,
        full: &full,
        rules: &rules,
        standing: Standing::default(),
        trusted: true,
        told_today: &[],
        reachable: true,
    };
    let run = |n: usize| {
        let mut offers = 0usize;
        for i in 0..n {
            let raw = &raws[i % raws.len()];
            let inbound = message::parse(raw);
            let req = parse_request(&own_text(&inbound.body, false), today, &cal);
            if let Ok((_, effects)) = step(&Request::new(), Event::Request(req), &ctx) {
                offers += effects.len();
            }
        }
        offers
    };
    // Warm the regex caches and allocator.
    std::hint::black_box(run(raws.len()));
    // `cargo test --all-targets` runs this without --bench: a smoke run only.
    if !std::env::args().any(|a| a == "--bench") {
        println!("pure path: smoke run over {} messages ok", raws.len());
        return;
    }
    let n = 20_000;
    let mut best = f64::MAX;
    for _ in 0..5 {
        let start = Instant::now();
        std::hint::black_box(run(n));
        best = best.min(start.elapsed().as_secs_f64());
    }
    let bytes: usize = raws.iter().map(Vec::len).sum::<usize>() / raws.len();
    println!(
        "pure path: {} distinct messages ({} phrasings × 5 encodings, {bytes} bytes average)",
        raws.len(),
        corpus.case.len()
    );
    println!(
        "pure path: {n} messages in {:.3} s (best of 5) = {:.0} messages/s on one core",
        best,
        n as f64 / best
    );
}
