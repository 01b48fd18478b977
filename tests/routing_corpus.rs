//! The routing corpus (`tests/corpus/routing.toml`): raw mails and texts,
//! and the verdict the desk's own `core::route` functions must give. Pure:
//! no mail server needed.

use serde::Deserialize;
use yoyaku::core::route;
use yoyaku::mail::message;

#[derive(Deserialize)]
struct Corpus {
    screen: Vec<ScreenCase>,
    reference: Vec<ReferenceCase>,
    reservations: Vec<ReservationCase>,
    contact: Vec<ContactCase>,
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
    assert!(failures.is_empty(), "{}", failures.join("\n"));
    assert!(corpus.screen.len() >= 8);
}
