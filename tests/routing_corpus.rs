//! The routing corpus (`tests/corpus/routing.toml`): raw mails and texts,
//! and the verdict the desk's own `core::route` functions must give. Pure:
//! no mail server needed.

use chrono::TimeZone;
use serde::Deserialize;
use yoyaku::core::booking::State;
use yoyaku::core::calendar::{Calendar, Slot};
use yoyaku::core::classify::MailKind;
use yoyaku::core::{decide, route};

use yoyaku::mail::message;

#[derive(Deserialize)]
struct Corpus {
    screen: Vec<ScreenCase>,
    reference: Vec<ReferenceCase>,
    reservations: Vec<ReservationCase>,
    contact: Vec<ContactCase>,
    belongs: Vec<BelongsCase>,
}

/// Which request a mail belongs to, from the candidates the desk gathers.
#[derive(Deserialize)]
struct BelongsCase {
    name: String,
    from: String,
    #[serde(default)]
    thread: Option<CandidateData>,
    #[serde(default)]
    thread_is_ours: bool,
    #[serde(default)]
    reference: Option<CandidateData>,
    #[serde(default)]
    reservations: Vec<CandidateData>,
    #[serde(default)]
    open: Option<CandidateData>,
    #[serde(default)]
    booked: Vec<CandidateData>,
    /// The mail's own text, read as a new request when nothing ties it.
    #[serde(default)]
    text: String,
    expect: String,
}

#[derive(Deserialize)]
struct CandidateData {
    id: i64,
    address: String,
    state: String,
    /// "2026-12-03 11:00"
    #[serde(default)]
    booked: Option<String>,
}

impl CandidateData {
    fn candidate(&self) -> route::Candidate {
        route::Candidate {
            id: self.id,
            address: self.address.clone(),
            state: State::parse(&self.state).expect("a state"),
            booked: self.booked.as_deref().map(|b| {
                let at = chrono::NaiveDateTime::parse_from_str(b, "%Y-%m-%d %H:%M")
                    .expect("booked as YYYY-MM-DD HH:MM");
                Slot::new(at.date(), at.time())
            }),
        }
    }
}

/// The verdict the desk's decision gives (`core::decide::decide`, which the
/// desk calls on the facts it gathered): the request the mail is for.
fn belongs(case: &BelongsCase) -> String {
    let c = route::Candidates {
        by_thread: case.thread.as_ref().map(CandidateData::candidate),
        thread_is_ours: case.thread_is_ours,
        by_reference: case.reference.as_ref().map(CandidateData::candidate),
        by_reservation: case
            .reservations
            .iter()
            .map(CandidateData::candidate)
            .collect(),
        open: case.open.as_ref().map(CandidateData::candidate),
        booked: case.booked.iter().map(CandidateData::candidate).collect(),
    };
    let cal = Calendar::standard();
    let now = chrono_tz::Asia::Tokyo
        .with_ymd_and_hms(2026, 11, 25, 10, 0, 0)
        .single()
        .expect("now")
        .with_timezone(&chrono::Utc);
    let mail = decide::Mail {
        envelope: route::Envelope {
            parsed: true,
            from: &case.from,
            kind: MailKind::Person,
            too_complex: false,
        },
        from: &case.from,
        reply_to: None,
        body: &case.text,
    };
    // Each candidate as the desk gathers it: its request (state and booked
    // slot as the case gives them), no mails of ours yet.
    let mut requests = std::collections::HashMap::new();
    for candidate in c
        .by_thread
        .iter()
        .chain(&c.by_reference)
        .chain(&c.by_reservation)
        .chain(&c.open)
        .chain(&c.booked)
    {
        let held = decide::Held {
            machine: yoyaku::core::booking::Request {
                state: candidate.state,
                booked: candidate.booked,
                ..yoyaku::core::booking::Request::new()
            },
            address: candidate.address.clone(),
            ours: Vec::new(),
        };
        requests.insert(candidate.id, held);
    }
    let facts = decide::Facts {
        candidates: c,
        requests,
        ..decide::Facts::default()
    };
    let rules = decide::Rules {
        office: OFFICE,
        calendar: &cal,
        per_sender_per_day: 20,
        per_seeker_per_day: 5,
        booking: &yoyaku::core::booking::Rules::default(),
    };
    match decide::decide(&mail, &facts, &rules, now) {
        decide::Decision::Answer(answer) => {
            let id = match answer.target {
                decide::Target::Known(id) | decide::Target::NextSession { of: id } => id,
                decide::Target::New { .. } => return "new".to_string(),
            };
            if answer.foreign {
                format!("foreign {id}")
            } else if answer.trusted {
                format!("trusted request {id}")
            } else {
                format!("request {id}")
            }
        }
        other => format!("{other:?}"),
    }
}

#[derive(Deserialize)]
struct ScreenCase {
    name: String,
    raw: String,
    screen: String,
}

#[derive(Deserialize)]
struct ReferenceCase {
    subject: String,
    expect: String,
}

#[derive(Deserialize)]
struct ReservationCase {
    text: String,
    expect: Vec<String>,
}

#[derive(Deserialize)]
struct ContactCase {
    name: String,
    stated: Option<String>,
    reply_to: Option<String>,
    from: String,
    expect: String,
}

const OFFICE: route::Addresses<'static> = route::Addresses {
    own: "desk@office.example.jp",
    staff: "staff@office.example.jp",
};

fn corpus() -> Corpus {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/corpus/routing.toml");
    let text = std::fs::read_to_string(path).expect("routing corpus");
    toml::from_str(&text).expect("routing corpus parses")
}

#[test]
fn every_routing_case_gets_its_verdict() {
    let corpus = corpus();
    let mut failures = Vec::new();
    for case in &corpus.screen {
        // As a server stores it: CRLF line ends.
        let raw = case.raw.trim_start().replace('\n', "\r\n");
        let inbound = message::parse(raw.as_bytes());
        let got = route::screen(&inbound.envelope(), &OFFICE).outcome();
        if got != case.screen {
            failures.push(format!(
                "{}: expected {}, got {got}",
                case.name, case.screen
            ));
        }
    }
    for case in &corpus.reference {
        let got = route::subject_reference(&case.subject).unwrap_or_default();
        if got != case.expect {
            failures.push(format!("reference of {:?}: got {got:?}", case.subject));
        }
    }
    for case in &corpus.reservations {
        let got = route::reservation_numbers("", &case.text);
        if got != case.expect {
            failures.push(format!("reservations in {:?}: got {got:?}", case.text));
        }
    }
    for case in &corpus.contact {
        let got = route::contact_address(
            case.stated.as_deref(),
            case.reply_to.as_deref(),
            &case.from,
            &OFFICE,
        );
        if got != case.expect {
            failures.push(format!("{}: got {got}", case.name));
        }
    }
    for case in &corpus.belongs {
        let got = belongs(case);
        if got != case.expect {
            failures.push(format!("{}: got {got}, want {}", case.name, case.expect));
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
    assert!(corpus.screen.len() >= 8);
    assert!(corpus.belongs.len() >= 12);
}
