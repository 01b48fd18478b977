//! A mutation fuzzer over the parse → route → understand → decide path
//! (the desk's own `core::route` functions), on stable
//! Rust (cargo-fuzz needs nightly). Seeds are real requests and replies in
//! the encodings seekers use; each round mutates one (bit flips, inserted
//! MIME and Japanese tokens, cut and spliced ranges) and runs it through
//! every reader and the state machine. A panic saves the input under
//! `tests/fuzz-crashes/` and fails; every saved input is replayed by
//! `saved_crashes_stay_fixed` as a regression test.
//!
//! CI fuzzes for 20 seconds; `bash scripts/harness.sh fuzz 10` for ten
//! minutes (`YOYAKU_FUZZ_SECONDS`).

mod common;

use chrono::{NaiveDate, TimeZone, Utc};
use common::*;
use std::collections::HashSet;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::path::PathBuf;
use std::time::{Duration, Instant};
use yoyaku::core::booking::{step, Context, Event, Request, Rules, StaffAction, Standing, State};
use yoyaku::core::calendar::{Calendar, Slot};
use yoyaku::core::quote::own_text;
use yoyaku::core::understand::{parse_booked, parse_reply, parse_request, session_needs};
use yoyaku::core::{decide, route};
use yoyaku::mail::message;

const TOKENS: &[&str] = &[
    "\r\n",
    "\r\n\r\n",
    "\0",
    "--",
    "=?UTF-8?B?",
    "=?ISO-2022-JP?Q?",
    "?=",
    "Content-Type: multipart/mixed; boundary=\"b\"\r\n",
    "--b\r\n",
    "--b--",
    "charset=",
    "Content-Transfer-Encoding: base64\r\n",
    "Content-Transfer-Encoding: quoted-printable\r\n",
    "=\r\n",
    "=E3=81",
    "\x1b$B",
    "\x1b(B",
    "<html><body>",
    "<script>",
    "</",
    "&#",
    "希望日時：",
    "12月3日",
    "２月３０日",
    "令和8年",
    "25:00",
    "午後",
    "第1希望",
    "①",
    "求職番号：",
    "32010-12345678",
    "キャンセル",
    "変更",
    "次回",
    "通訳",
    "> ",
    "-----Original Message-----",
    "差出人:",
    "\u{202E}",
    "\u{200B}",
    "\u{FEFF}",
    "{{",
    "{%",
];

fn seeds() -> Vec<Vec<u8>> {
    let req = request_text("乱数 太郎", "12月3日 11:00");
    let to = "desk@yoyaku.test";
    let from = "seeker@yoyaku.test";
    vec![
        Mail::new(from, to, "予約").utf8_base64(&req).build(),
        Mail::new(from, to, "予約").iso2022jp(&req).build(),
        Mail::new(from, to, "予約").shift_jis_qp(&req).build(),
        Mail::new(from, to, "予約").utf8_qp(&req).build(),
        Mail::new(from, to, "予約")
            .html_only(&format!("<p>{}</p>", req.replace('\n', "<br>")))
            .build(),
        Mail::new(from, to, "Re: 予約")
            .header("In-Reply-To", "<yoyaku.abc@yoyaku.test>")
            .utf8_base64("2番でお願いします\n\n> 【1】2026年12月3日（木）09:30\n> 【2】2026年12月3日（木）11:00")
            .build(),
        Mail::new(from, to, "Re: 予約")
            .utf8_base64("都合が悪くなったので12月10日に変更できますか。通訳が必要です。")
            .build(),
        format!(
            "From: {from}\r\nTo: {to}\r\nSubject: x\r\nContent-Type: multipart/mixed; boundary=\"b\"\r\n\r\n--b\r\nContent-Type: text/plain; charset=UTF-8\r\n\r\n{req}\r\n--b\r\nContent-Type: text/html\r\n\r\n<p>x</p>\r\n--b--\r\n"
        )
        .into_bytes(),
    ]
}

fn mutate(rng: &mut Rng, seeds: &[Vec<u8>]) -> Vec<u8> {
    let mut data = seeds[rng.below(seeds.len())].clone();
    for _ in 0..1 + rng.below(8) {
        let len = data.len();
        match rng.below(7) {
            0 if len > 0 => {
                let i = rng.below(len);
                data[i] ^= 1 << rng.below(8);
            }
            1 => {
                let i = rng.below(len + 1);
                let t = TOKENS[rng.below(TOKENS.len())].as_bytes();
                data.splice(i..i, t.iter().copied());
            }
            2 if len > 0 => {
                let a = rng.below(len);
                let b = (a + rng.below(64)).min(len);
                data.drain(a..b);
            }
            3 if len > 0 => {
                let a = rng.below(len);
                let b = (a + rng.below(256)).min(len);
                let copy = data[a..b].to_vec();
                let at = rng.below(data.len() + 1);
                data.splice(
                    at..at,
                    copy.into_iter().cycle().take((b - a) * (1 + rng.below(4))),
                );
            }
            4 => {
                let other = &seeds[rng.below(seeds.len())];
                let cut = rng.below(other.len() + 1);
                let at = rng.below(len + 1);
                data.truncate(at);
                data.extend_from_slice(&other[cut..]);
            }
            5 => {
                let i = rng.below(len + 1);
                let bytes: Vec<u8> = (0..rng.below(16)).map(|_| rng.next() as u8).collect();
                data.splice(i..i, bytes);
            }
            _ if len > 0 => data.truncate(rng.below(len)),
            _ => {}
        }
    }
    data.truncate(256 * 1024);
    data
}

/// Everything the desk does with a message before any I/O.
fn exercise(raw: &[u8], state_pick: usize) {
    let cal = Calendar::standard();
    let today = NaiveDate::from_ymd_opt(2026, 11, 25).expect("date");
    let now = chrono_tz::Asia::Tokyo
        .with_ymd_and_hms(2026, 11, 25, 10, 0, 0)
        .single()
        .expect("now")
        .with_timezone(&Utc);
    let inbound = message::parse(raw);
    // The desk's own routing of the mail, as it runs it.
    let office = route::Addresses {
        own: "desk@office.example.jp",
        staff: "staff@office.example.jp",
    };
    let screened = route::screen(&inbound.envelope(), &office);
    let _ = (
        screened.filing(),
        screened.outcome(),
        screened.tells_staff(),
    );
    let _ = route::subject_reference(&inbound.subject);
    let _ = route::reservation_numbers(&inbound.subject, &inbound.body);
    let offered: Vec<Slot> = cal.bookable_slots(now).into_iter().take(4).collect();
    let own = own_text(&inbound.body, true);
    let req = parse_request(&own_text(&inbound.body, false), today, &cal);
    let _ = route::contact_address(
        req.email.as_deref(),
        inbound.reply_to.as_deref(),
        &inbound.from,
        &office,
    );
    let intent = parse_reply(&own, &offered, today, &cal);
    let booked = parse_booked(&own, offered.first().copied(), today, &cal);
    let needs = session_needs(&own);
    let full = HashSet::new();
    let rules = Rules::default();
    let ctx = Context {
        cal: &cal,
        now,
        full: &full,
        rules: &rules,
        standing: Standing {
            refused: state_pick.is_multiple_of(7),
            unexcused_no_shows: (state_pick % 4) as u32,
        },
        trusted: state_pick.is_multiple_of(2),
        told_today: &[],
        reachable: true,
    };
    let states = State::ALL;
    let current = Request {
        state: states[state_pick % states.len()],
        offered: offered.clone(),
        offered_at: Some(now),
        booked: offered.first().copied(),
        booked_at: Some(now),
        ..Request::new()
    };
    // Which request it belongs to, with candidates made from the mail
    // itself: a thread request bound to its sender or to another, an open
    // and a booked request of the sender.
    let candidate = |id: i64, address: &str| route::Candidate {
        id,
        address: address.to_string(),
        state: current.state,
        booked: current.booked,
    };
    let candidates = route::Candidates {
        by_thread: (!inbound.thread_ids.is_empty()).then(|| {
            candidate(
                1,
                if state_pick.is_multiple_of(3) {
                    "other@example.com"
                } else {
                    &inbound.from
                },
            )
        }),
        thread_is_ours: state_pick.is_multiple_of(2),
        by_reference: route::subject_reference(&inbound.subject)
            .map(|_| candidate(2, &inbound.from)),
        by_reservation: route::reservation_numbers(&inbound.subject, &inbound.body)
            .iter()
            .map(|_| candidate(3, &inbound.from))
            .collect(),
        open: Some(candidate(4, &inbound.from)),
        booked: vec![candidate(5, &inbound.from)],
    };
    // The desk's decision about the mail, end to end (core::decide::decide),
    // on facts as the desk gathers them: each candidate with our offer as
    // its thread's mail, the seeker's standing and counts, the address's
    // notices and reachability, a full slot; first the lookups the desk
    // would make, then the decision and, when it books, the step for the
    // slot taken meanwhile.
    let mail = decide::Mail {
        envelope: inbound.envelope(),
        from: &inbound.from,
        reply_to: inbound.reply_to.as_deref(),
        body: &inbound.body,
    };
    let ours = vec![
        "【1】2026年12月3日（木）09:30～10:00\n【2】2026年12月3日（木）11:00～11:30".to_string(),
    ];
    let mut requests = std::collections::HashMap::new();
    for c in candidates
        .by_thread
        .iter()
        .chain(&candidates.by_reference)
        .chain(&candidates.by_reservation)
        .chain(&candidates.open)
        .chain(&candidates.booked)
    {
        let held = decide::Held {
            machine: current.clone(),
            address: c.address.clone(),
            ours: ours.clone(),
        };
        requests.insert(c.id, held);
    }
    let mut facts = decide::Facts {
        candidates,
        sender_recent: (state_pick % 30) as i64,
        sender_told: state_pick.is_multiple_of(5),
        requests,
        full: offered.iter().skip(1).take(1).copied().collect(),
        ..decide::Facts::default()
    };
    let decide_rules = decide::Rules {
        office,
        calendar: &cal,
        per_sender_per_day: 20,
        per_seeker_per_day: 5,
        booking: &rules,
    };
    if let Some(lookups) = decide::lookups(&mail, &facts, &decide_rules, now) {
        for number in lookups.seeker_numbers {
            let seeker = decide::SeekerFacts {
                recent_requests: (state_pick % 8) as i64,
                told_today: state_pick.is_multiple_of(3),
                standing: ctx.standing,
            };
            facts.seekers.insert(number, seeker);
        }
        let address = decide::AddressFacts {
            missing_told: vec!["missing:name".to_string()],
            reachable: !state_pick.is_multiple_of(11),
        };
        facts.addresses.insert(lookups.address, address);
    }
    if let decide::Decision::Answer(answer) = decide::decide(&mail, &facts, &decide_rules, now) {
        for step in answer.needs.iter().chain([&answer.main]).flatten() {
            let after = step.if_taken.as_ref().map_or(&step.next, |t| &t.0);
            let _ = yoyaku::core::booking::next_timer(after, &cal, &rules);
        }
    }
    let _ = route::reader(current.state);
    let events = [
        Event::Request(req),
        Event::Reply(intent),
        Event::Needs(needs),
        match booked {
            yoyaku::core::understand::BookedIntent::Cancel => Event::Cancel,
            yoyaku::core::understand::BookedIntent::Change(w) => Event::Change(w),
            _ => Event::ReminderDue,
        },
        Event::NoShowDue,
        Event::Staff(StaffAction::Close),
    ];
    for event in events {
        // Illegal transitions are errors, never panics.
        if let Ok((next, _)) = step(&current, event, &ctx) {
            let _ = yoyaku::core::booking::next_timer(&next, &cal, &rules);
        }
    }
}

fn crash_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/fuzz-crashes")
}

#[test]
fn fuzz_parse_understand_decide() {
    let seconds: u64 = std::env::var("YOYAKU_FUZZ_SECONDS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(20);
    let seeds = seeds();
    let mut rng = Rng(0x5DEE_CE66_D1CE_4E5B ^ u64::from(std::process::id()));
    let deadline = Instant::now() + Duration::from_secs(seconds);
    let started = Instant::now();
    let mut runs = 0u64;
    let mut seen_lengths = HashSet::new();
    std::panic::set_hook(Box::new(|_| {}));
    while Instant::now() < deadline {
        let input = mutate(&mut rng, &seeds);
        let pick = rng.below(1000);
        seen_lengths.insert(input.len() / 64);
        if catch_unwind(AssertUnwindSafe(|| exercise(&input, pick))).is_err() {
            let _ = std::panic::take_hook();
            let dir = crash_dir();
            let _ = std::fs::create_dir_all(&dir);
            let path = dir.join(format!("crash-{runs}-{pick}.eml"));
            let _ = std::fs::write(&path, &input);
            panic!("input {} panicked (saved)", path.display());
        }
        runs += 1;
    }
    let _ = std::panic::take_hook();
    let secs = started.elapsed().as_secs_f64();
    println!(
        "fuzz: {runs} inputs in {secs:.0} s ({:.0}/s), 0 crashes",
        runs as f64 / secs
    );
    assert!(runs > 0);
}

/// Every input the fuzzer ever saved still runs without a panic.
#[test]
fn saved_crashes_stay_fixed() {
    let Ok(entries) = std::fs::read_dir(crash_dir()) else {
        return;
    };
    for entry in entries.flatten() {
        let raw = std::fs::read(entry.path()).expect("read");
        for pick in 0..24 {
            exercise(&raw, pick);
        }
    }
}
