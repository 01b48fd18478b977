//! No input panics the parse-and-decide path: random text built from the
//! characters that matter to the parsers (digits in both widths, date and
//! time marks, labels, quote markers, HTML, controls), random bytes as raw
//! mail, and truncated real messages. Deterministic (seeded), pure, fast.

mod common;

use chrono::{NaiveDate, TimeZone, Utc};
use common::Rng;
use std::collections::HashSet;
use yoyaku::core::booking::{step, Context, Event, Request, Rules, Standing};
use yoyaku::core::calendar::{Calendar, Slot};
use yoyaku::core::quote::own_text;
use yoyaku::core::text::html_to_text;
use yoyaku::core::understand::{parse_reply, parse_request};
use yoyaku::mail::message;

const PIECES: &[&str] = &[
    "0",
    "1",
    "2",
    "9",
    "12",
    "31",
    "99",
    "2026",
    "１",
    "２",
    "３",
    "０",
    "①",
    "②",
    "⑳",
    "⑴",
    "月",
    "日",
    "年",
    "時",
    "分",
    "半",
    "令和",
    "R",
    "元",
    "午前",
    "午後",
    "AM",
    "pm",
    "本日",
    "明日",
    "来週",
    "水曜",
    "(",
    ")",
    "（",
    "）",
    "【",
    "】",
    ":",
    "：",
    "/",
    ".",
    "-",
    "－",
    "ー",
    "~",
    "～",
    "〜",
    "番",
    "枠",
    "第",
    "希望",
    "氏名",
    "名前",
    "求職番号",
    "電話",
    "TEL",
    "メール",
    "連絡先",
    "@",
    "a",
    "x.jp",
    " ",
    "　",
    "\n",
    "\r\n",
    ">",
    "＞",
    "|",
    "wrote:",
    "書きました",
    "のメール:",
    "差出人:",
    "送信日時:",
    "-----Original Message-----",
    "-- ",
    "――――",
    "<div>",
    "</div>",
    "<br>",
    "<blockquote>",
    "</blockquote>",
    "<script>",
    "&amp;",
    "&#x3042;",
    "&#99999999;",
    "<",
    "&",
    "\u{200B}",
    "\u{202E}",
    "\u{0}",
    "\u{FFFD}",
    "{{",
    "}}",
    "{%",
    "%}",
    "キャンセル",
    "お願いします",
    "ですか？",
    "です",
    "と申します",
    "山田",
    "太郎",
    "様",
    "十二",
    "三",
];

fn cal() -> Calendar {
    Calendar::standard()
}

#[test]
fn random_text_never_panics_the_understanding_and_the_state_machine() {
    let mut rng = Rng(0x9E37_79B9_7F4A_7C15);
    let cal = cal();
    let today = NaiveDate::from_ymd_opt(2026, 11, 25).expect("date");
    let now = chrono_tz::Asia::Tokyo
        .with_ymd_and_hms(2026, 11, 25, 10, 0, 0)
        .single()
        .expect("now")
        .with_timezone(&Utc);
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
    let offered: Vec<Slot> = cal.bookable_slots(now).into_iter().take(4).collect();
    for _ in 0..20_000 {
        let len = rng.below(60);
        let text: String = (0..len).map(|_| PIECES[rng.below(PIECES.len())]).collect();
        let own = own_text(&text, rng.below(2) == 0);
        let req = parse_request(&own, today, &cal);
        let _ = html_to_text(&text);
        let intent = parse_reply(&own, &offered, today, &cal);
        let _ = yoyaku::core::understand::parse_booked(&own, offered.first().copied(), today, &cal);
        let _ = yoyaku::core::understand::session_needs(&own);
        if let Ok((offered_req, _)) = step(&Request::new(), Event::Request(req), &ctx) {
            let _ = step(&offered_req, Event::Reply(intent), &ctx);
        }
    }
}

#[test]
fn random_and_truncated_raw_mail_never_panics_the_parser() {
    let mut rng = Rng(0xD1B5_4A32_D192_ED03);
    let real = "From: =?ISO-2022-JP?B?GyRCOzNFRBsoQg==?= <a@b.jp>\r\nSubject: =?UTF-8?B?5LqI57SE?=\r\nMIME-Version: 1.0\r\nContent-Type: multipart/alternative; boundary=\"b\"\r\n\r\n--b\r\nContent-Type: text/plain; charset=ISO-2022-JP; format=flowed\r\nContent-Transfer-Encoding: 7bit\r\n\r\n\x1b$B;aL>\x1b(B \r\n12/3\r\n--b\r\nContent-Type: text/html; charset=Shift_JIS\r\nContent-Transfer-Encoding: quoted-printable\r\n\r\n<div>=8B=81=90E</div><blockquote>=\r\n--b--\r\n";
    for cut in 0..real.len() {
        let _ = message::parse(&real.as_bytes()[..cut]);
    }
    for _ in 0..5_000 {
        let len = rng.below(400);
        let mut raw: Vec<u8> = (0..len).map(|_| rng.next() as u8).collect();
        if rng.below(2) == 0 {
            raw.splice(
                0..0,
                b"Content-Type: multipart/mixed; boundary=x\r\n\r\n--x\r\n"
                    .iter()
                    .copied(),
            );
        }
        let m = message::parse(&raw);
        let _ = own_text(&m.body, true);
    }
}

#[test]
fn deeply_nested_and_huge_inputs_stay_bounded() {
    let cal = cal();
    let today = NaiveDate::from_ymd_opt(2026, 11, 25).expect("date");
    let nested = "<blockquote>".repeat(5_000) + "x" + &"</blockquote>".repeat(5_000);
    let _ = html_to_text(&nested);
    let long = "希望日時：12月3日 11:00\n".repeat(20_000);
    let req = parse_request(&long, today, &cal);
    assert_eq!(req.wishes.len(), 1, "duplicates collapse");
    let mut parts = String::from("Content-Type: multipart/mixed; boundary=b0\r\n\r\n");
    for i in 0..200 {
        parts.push_str(&format!(
            "--b{i}\r\nContent-Type: multipart/mixed; boundary=b{}\r\n\r\n",
            i + 1
        ));
    }
    let _ = message::parse(parts.as_bytes());
}
