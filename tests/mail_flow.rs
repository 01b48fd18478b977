//! The whole booking flow through a real Postfix and Dovecot on loopback:
//! seekers send mail over SMTP, the desk reads its mailbox over IMAP, and the
//! tests read what each seeker, the staff and the desk's folders received.

mod common;

use chrono::{Datelike, NaiveDate, Weekday};
use common::*;
use std::time::Duration;
use yoyaku::core::calendar::holiday_name;

/// Wed 2026-11-25 10:00 in Japan: the decision clock of most tests.
fn wed() -> chrono::DateTime<chrono::Utc> {
    jst(2026, 11, 25, 10, 0)
}

/// The dates of the numbered options 【n】YYYY年M月D日 in an offer.
fn offered_dates(text: &str) -> Vec<(NaiveDate, String)> {
    let re = regex::Regex::new(r"【\d+】(\d{4})年(\d{1,2})月(\d{1,2})日（.）(\d{2}:\d{2})")
        .expect("regex");
    re.captures_iter(text)
        .map(|c| {
            let d = NaiveDate::from_ymd_opt(
                c[1].parse().expect("y"),
                c[2].parse().expect("m"),
                c[3].parse().expect("d"),
            )
            .expect("date");
            (d, c[4].to_string())
        })
        .collect()
}

fn attachments(raw: &[u8]) -> Vec<(String, String)> {
    use mail_parser::MimeHeaders;
    let msg = mail_parser::MessageParser::default()
        .parse(raw)
        .expect("parse");
    msg.attachments()
        .map(|a| {
            (
                a.attachment_name().unwrap_or("").to_string(),
                a.text_contents().unwrap_or("").to_string(),
            )
        })
        .collect()
}

type Encoder<'a> = Box<dyn Fn(Mail) -> Mail + 'a>;

/// Point 1: a request in each encoding people's mailers use is understood.
#[tokio::test]
async fn requests_in_every_encoding_get_an_offer_for_the_wished_slot() {
    let desk = TestDesk::with(Options {
        rooms: 5,
        ..Default::default()
    })
    .await;
    let body = request_text("山田 太郎", "12月3日（木）11:00～11:30");
    let full_width = "氏名　山田 太郎\n求職番号　３２０１０－１２３４５６７８\n希望日時　１２月３日　１１：００\n電話番号　０９０－１２３４－５６７８";
    let html = "<html><body><div>氏名：山田 太郎</div><div>求職番号：32010 12345678</div><div>希望日時：令和8年12月3日 11時00分</div><div>TEL：090-1234-5678</div></body></html>";
    let variants: Vec<(&str, Encoder)> = vec![
        ("iso2022", Box::new(|m: Mail| m.iso2022jp(&body))),
        ("sjis", Box::new(|m: Mail| m.shift_jis_qp(&body))),
        ("b64", Box::new(|m: Mail| m.utf8_base64(&body))),
        ("qpfull", Box::new(move |m: Mail| m.utf8_qp(full_width))),
        ("html", Box::new(move |m: Mail| m.html_only(html))),
    ];
    let mut seekers = Vec::new();
    for (kind, encode) in &variants {
        let seeker = Seeker::new(kind);
        let id = format!("{kind}.{}@client.test", seeker.address.len());
        let subject = "=?ISO-2022-JP?B?GyRCJSolcyVpJSQlcxsoQg==?=";
        let raw = encode(
            Mail::new(&seeker.address, &desk.address, "")
                .subject_raw(subject)
                .id(&id),
        )
        .build();
        send_raw(&seeker.address, &desk.address, &raw).await;
        seekers.push((seeker, id));
    }
    let report = desk.once_after(variants.len(), wed()).await;
    assert_eq!(report.handled, variants.len());
    for (seeker, id) in &seekers {
        let got = seeker.inbox(1).await;
        assert_eq!(got.len(), 1, "{}: exactly one answer", seeker.address);
        let offer = &got[0];
        assert_eq!(
            offer.header("In-Reply-To").as_deref(),
            Some(format!("<{id}>").as_str())
        );
        assert!(
            offer.inbound.subject.starts_with("Re: "),
            "subject {:?}",
            offer.inbound.subject
        );
        assert!(
            offer
                .text()
                .contains("【1】2026年12月3日（木）11:00～11:30"),
            "{}: {}",
            seeker.address,
            offer.text()
        );
        assert!(
            offer.text().contains("ご返信の時点で"),
            "says that a reply is agreement"
        );
        let att = attachments(&offer.raw);
        assert_eq!(att.len(), 1, "terms attached");
        assert!(att[0].0.contains("利用規約"));
        assert!(att[0].1.contains("第6条"));
        assert_eq!(
            offer.header("Auto-Submitted").as_deref(),
            Some("auto-replied")
        );
    }
    assert_eq!(desk.bookings_in(None).await, 0, "offers do not book");
}

/// Point 2: a missing 求職番号 is asked for in the thread; the answer is understood.
#[tokio::test]
async fn missing_items_are_asked_for_and_the_answer_is_understood() {
    let desk = TestDesk::new().await;
    let seeker = Seeker::new("missing");
    let id = seeker
        .send(
            &desk.address,
            "予約希望",
            "氏名：出雲 花子\n希望日時：12月3日 9:30\n電話：0853-00-1234",
        )
        .await;
    desk.once_after(1, wed()).await;
    let got = seeker.inbox(1).await;
    let ask = &got[0];
    assert_eq!(
        ask.header("In-Reply-To").as_deref(),
        Some(format!("<{id}>").as_str())
    );
    assert!(ask.text().contains("求職番号"), "{}", ask.text());
    assert!(
        !ask.text().contains("・氏名"),
        "the name was given: {}",
        ask.text()
    );
    assert!(!ask.text().contains("・希望日時"), "the wish was given");
    assert!(!ask.text().contains("【1】"), "no slots offered yet");
    assert_eq!(desk.bookings_in(None).await, 0);

    seeker
        .reply(ask, "求職番号は ３２０１０ー１２３４５６７８ です。")
        .await;
    desk.once_after(1, wed()).await;
    let got = seeker.inbox(2).await;
    let offer = &got[1];
    assert!(
        offer
            .text()
            .contains("【1】2026年12月3日（木）09:30～10:00"),
        "{}",
        offer.text()
    );
    assert_eq!(attachments(&offer.raw).len(), 1);
}

/// Points 3 and 5: a taken wish gets at least three alternatives, all on
/// business days, none today, none the taken slot.
#[tokio::test]
async fn a_taken_wish_gets_nearest_free_alternatives_on_business_days() {
    let desk = TestDesk::new().await;
    let first = Seeker::new("first");
    first
        .send(
            &desk.address,
            "予約",
            &request_text("一番 乗り", "12月3日 11:00"),
        )
        .await;
    desk.once_after(1, wed()).await;
    let offer = &first.inbox(1).await[0];
    first.reply(offer, "1でお願いします").await;
    desk.once_after(1, wed()).await;
    assert!(first.inbox(2).await[1]
        .text()
        .contains("予約が確定しました"));

    let second = Seeker::new("second");
    second
        .send(
            &desk.address,
            "予約",
            &request_text("二番 手", "12月3日 11:00"),
        )
        .await;
    desk.once_after(1, wed()).await;
    let offer = &second.inbox(1).await[0];
    let dates = offered_dates(offer.text());
    assert!(
        dates.len() >= 3,
        "at least three alternatives: {}",
        offer.text()
    );
    assert!(offer.text().contains("近い日時"), "{}", offer.text());
    for (d, t) in &dates {
        assert!(
            !(d == &NaiveDate::from_ymd_opt(2026, 12, 3).expect("d") && t == "11:00"),
            "the taken slot is not offered"
        );
        assert!(
            !matches!(d.weekday(), Weekday::Sat | Weekday::Sun),
            "{d} is a weekend"
        );
        assert!(holiday_name(*d).is_none(), "{d} is a holiday");
        assert!(
            *d > NaiveDate::from_ymd_opt(2026, 11, 25).expect("d"),
            "{d} is not after today"
        );
    }
    assert!(
        dates.iter().any(|(d, _)| d.day() == 3),
        "the same day's free slots are nearest"
    );
}

/// Point 4: consent by reply books and sends the meeting details; quoted
/// text and signatures are not read as a choice.
#[tokio::test]
async fn consent_by_reply_confirms_with_meeting_id_and_passcode() {
    let desk = TestDesk::new().await;
    let seeker = Seeker::new("consent");
    seeker
        .send(
            &desk.address,
            "オンライン相談予約",
            &request_text("山田 太郎", "12月3日"),
        )
        .await;
    desk.once_after(1, wed()).await;
    let offer = seeker.inbox(1).await.remove(0);
    assert_eq!(
        offered_dates(offer.text()).len(),
        4,
        "a whole-day wish offers that day's slots"
    );

    // Only thanks, with the offer quoted and a signature carrying digits: not a choice.
    seeker
        .reply(
            &offer,
            "ありがとうございます。\n\n--\n山田 太郎\nTEL 090-1234-5678",
        )
        .await;
    desk.once_after(1, wed()).await;
    let ask = seeker.inbox(2).await.remove(1);
    assert!(
        ask.text().contains("ご希望の番号"),
        "asks which: {}",
        ask.text()
    );
    assert_eq!(desk.bookings_in(None).await, 0);

    let consent_id = seeker.reply(&ask, "3番でお願いします。").await;
    desk.once_after(1, wed()).await;
    let confirm = seeker.inbox(3).await.remove(2);
    assert_eq!(
        confirm.header("In-Reply-To").as_deref(),
        Some(format!("<{consent_id}>").as_str())
    );
    let text = confirm.text();
    for needle in [
        "2026年12月3日（木）13:30～14:00",
        "810 0000 0000",
        "pass0word",
        "https://zoom.example/j/810",
        "予約番号",
        "0853-21-8609",
        "当日のキャンセルは、お電話のみ",
        "録画",
        "個室",
        "通信料",
        "10分",
    ] {
        assert!(
            text.contains(needle),
            "confirmation lacks {needle:?}: {text}"
        );
    }
    assert_eq!(desk.bookings_in(Some("confirmed")).await, 1);
    let consent: String = desk
        .desk
        .office()
        .store()
        .probe_value("SELECT consent_message_id FROM bookings", &[])
        .await
        .expect("consent recorded");
    assert_eq!(consent, consent_id);
}

/// Point 4: a reply from another address books nothing and reveals nothing.
#[tokio::test]
async fn a_reply_from_another_address_gets_nothing_and_staff_are_told() {
    let desk = TestDesk::new().await;
    let seeker = Seeker::new("owner");
    let intruder = Seeker::new("intruder");
    seeker
        .send(
            &desk.address,
            "予約",
            &request_text("山田 太郎", "12月3日 11:00"),
        )
        .await;
    desk.once_after(1, wed()).await;
    let offer = seeker.inbox(1).await.remove(0);
    intruder.reply(&offer, "1でお願いします").await;
    desk.once_after(1, wed()).await;
    assert!(
        settle_and_read(&intruder.address, "INBOX").await.is_empty(),
        "the intruder gets no mail"
    );
    assert_eq!(
        read_folder(&seeker.address, "INBOX").await.len(),
        1,
        "the seeker gets nothing new"
    );
    assert_eq!(desk.bookings_in(None).await, 0);
    let staff = wait_for(&desk.staff, "INBOX", 1).await;
    assert!(
        staff[0].text().contains("異なるアドレス"),
        "{}",
        staff[0].text()
    );
    assert!(staff[0].text().contains("回答期限"));
    assert_eq!(wait_for(&desk.address, "要対応", 1).await.len(), 1);
    // The real seeker can still consent.
    seeker.reply(&offer, "お願いします").await;
    desk.once_after(1, wed()).await;
    assert!(
        seeker.inbox(2).await[1].text().contains("810 0000 0000"),
        "agreeing books the wished slot"
    );
}

/// Point 5: two consents for one slot: the first wins, the second is re-offered.
#[tokio::test]
async fn first_consent_wins_and_the_second_gets_a_fresh_offer() {
    let desk = TestDesk::new().await;
    let a = Seeker::new("a");
    let b = Seeker::new("b");
    a.send(
        &desk.address,
        "予約",
        &request_text("甲 太郎", "12月3日 11:00"),
    )
    .await;
    b.send(
        &desk.address,
        "予約",
        &request_text("乙 次郎", "12月3日 11:00"),
    )
    .await;
    desk.once_after(2, wed()).await;
    let offer_a = a.inbox(1).await.remove(0);
    let offer_b = b.inbox(1).await.remove(0);
    assert!(
        offer_b.text().contains("【1】2026年12月3日（木）11:00"),
        "offers do not hold slots"
    );
    a.reply(&offer_a, "1").await;
    wait_for_mail_to(&desk.address, 1).await;
    b.reply(&offer_b, "1").await;
    desk.once_after(2, wed()).await;
    let a_got = a.inbox(2).await;
    let b_got = b.inbox(2).await;
    let confirmed = [&a_got[1], &b_got[1]]
        .iter()
        .filter(|m| m.text().contains("予約が確定しました"))
        .count();
    assert_eq!(confirmed, 1, "exactly one confirmation");
    let reoffer = if b_got[1].text().contains("予約が確定しました") {
        &a_got[1]
    } else {
        &b_got[1]
    };
    assert!(
        reoffer.text().contains("ほかの方の予約が先に確定"),
        "{}",
        reoffer.text()
    );
    assert!(!offered_dates(reoffer.text())
        .iter()
        .any(|(d, t)| d.day() == 3 && d.month() == 12 && t == "11:00"));
    assert_eq!(desk.bookings_in(Some("confirmed")).await, 1);
    // The database itself refuses a second confirmed booking of the room and slot.
    let dup = desk.desk.office().store().probe_execute("INSERT INTO bookings (reservation, request_id, room_id, slot_start, status, created_at) SELECT 'X-1', request_id, room_id, slot_start, 'confirmed', created_at FROM bookings LIMIT 1", &[])
        .await;
    assert!(dup.is_err(), "unique index forbids a double booking");
}

/// Point 6: no reply for 3 business days → one follow-up; still none by the
/// end of the next business day → the request lapses with a notice.
#[tokio::test]
async fn unanswered_offer_gets_a_follow_up_then_lapses() {
    let desk = TestDesk::new().await;
    let seeker = Seeker::new("silent");
    seeker
        .send(
            &desk.address,
            "予約",
            &request_text("無言 太郎", "12月10日 9:30"),
        )
        .await;
    desk.once_after(1, wed()).await;
    seeker.inbox(1).await;
    // Wed 10:00 + 3 business days = Mon 11-30 10:00.
    let r = desk
        .desk
        .run_once(jst(2026, 11, 30, 9, 59))
        .await
        .expect("pass");
    assert_eq!(r.timers, 0);
    let r = desk
        .desk
        .run_once(jst(2026, 11, 30, 10, 0))
        .await
        .expect("pass");
    assert_eq!(r.timers, 1);
    let got = seeker.inbox(2).await;
    assert!(
        got[1].text().contains("まだご返信をいただいていません"),
        "{}",
        got[1].text()
    );
    assert!(
        got[1].text().contains("2026年12月1日（火）までに"),
        "names the last day: {}",
        got[1].text()
    );
    assert_eq!(
        got[1].header("In-Reply-To"),
        got[0].header("In-Reply-To"),
        "in the same thread"
    );
    let r = desk
        .desk
        .run_once(jst(2026, 12, 1, 23, 59))
        .await
        .expect("pass");
    assert_eq!(r.timers, 0, "not before the end of the next business day");
    let r = desk
        .desk
        .run_once(jst(2026, 12, 2, 0, 0))
        .await
        .expect("pass");
    assert_eq!(r.timers, 1);
    let got = seeker.inbox(3).await;
    assert!(got[2].text().contains("無効"), "{}", got[2].text());
    assert_eq!(desk.requests_in(Some("lapsed")).await, 1);
    let r = desk
        .desk
        .run_once(jst(2026, 12, 10, 0, 0))
        .await
        .expect("pass");
    assert_eq!(r.timers, 0, "a lapsed request has no more timers");
    assert_eq!(
        settle_and_read(&seeker.address, "INBOX").await.len(),
        3,
        "exactly one follow-up and one lapse notice"
    );
}

/// Point 6: an offer whose only slot passes its previous-day cutoff lapses then.
#[tokio::test]
async fn offer_lapses_when_no_offered_slot_can_still_be_confirmed() {
    let desk = TestDesk::new().await;
    let seeker = Seeker::new("late");
    seeker
        .send(
            &desk.address,
            "予約",
            &request_text("遅井 太郎", "明日 9:30"),
        )
        .await;
    desk.once_after(1, wed()).await;
    let offer = seeker.inbox(1).await.remove(0);
    assert_eq!(
        offered_dates(offer.text()),
        vec![(
            NaiveDate::from_ymd_opt(2026, 11, 26).expect("d"),
            "09:30".to_string()
        )]
    );
    let r = desk
        .desk
        .run_once(jst(2026, 11, 26, 0, 0))
        .await
        .expect("pass");
    assert_eq!(r.timers, 1);
    assert!(seeker.inbox(2).await[1].text().contains("無効"));
}

/// Point 6: what the bot cannot answer goes to staff with the answer-by date.
#[tokio::test]
async fn nothing_bookable_goes_to_staff_with_the_answer_by_date() {
    let desk = TestDesk::with(Options {
        rooms: 1,
        extra: "[schedule]\nhorizon_days = 2\n".into(),
        ..Default::default()
    })
    .await;
    let seeker = Seeker::new("nothing");
    seeker
        .send(
            &desk.address,
            "予約",
            &request_text("空無 太郎", "11月30日 9:30"),
        )
        .await;
    // Fri 11-27: the next two days are a weekend, so nothing can be offered.
    desk.once_after(1, jst(2026, 11, 27, 10, 0)).await;
    let got = seeker.inbox(1).await;
    assert!(got[0].text().contains("担当者が確認"), "{}", got[0].text());
    assert!(
        got[0].text().contains("2026年12月2日（水）までに"),
        "3 business days after Fri 11-27: {}",
        got[0].text()
    );
    let staff = wait_for(&desk.staff, "INBOX", 1).await;
    assert!(
        staff[0].text().contains("回答期限：2026年12月2日（水）"),
        "{}",
        staff[0].text()
    );
    assert_eq!(wait_for(&desk.address, "要対応", 1).await.len(), 1);
}

/// Point 7: the mailbox shows everything: handled mail filed, sent mail copied.
#[tokio::test]
async fn handled_mail_is_filed_and_sent_mail_is_copied_to_the_sent_folder() {
    let desk = TestDesk::new().await;
    let seeker = Seeker::new("folders");
    seeker
        .send(
            &desk.address,
            "予約",
            &request_text("整理 太郎", "12月3日 11:00"),
        )
        .await;
    desk.once_after(1, wed()).await;
    let offer = seeker.inbox(1).await.remove(0);
    seeker.reply(&offer, "1").await;
    desk.once_after(1, wed()).await;
    seeker.inbox(2).await;
    assert!(
        read_folder(&desk.address, "INBOX").await.is_empty(),
        "the inbox is emptied"
    );
    assert_eq!(read_folder(&desk.address, "処理済").await.len(), 2);
    let sent = read_folder(&desk.address, "送信済").await;
    assert_eq!(
        sent.len(),
        2,
        "offer and confirmation are in the sent folder"
    );
    assert!(sent.iter().any(|m| m.text().contains("810 0000 0000")));
}

/// Point 8: machines get no answer; bounces are noted for staff.
#[tokio::test]
async fn machine_mail_is_never_answered_and_bounces_reach_staff() {
    let desk = TestDesk::new().await;
    let robot = Seeker::new("robot");
    let body = request_text("自動 応答", "12月3日 11:00");
    let mails = vec![
        Mail::new(&robot.address, &desk.address, "Out of office")
            .header("Auto-Submitted", "auto-replied")
            .utf8_base64(&body),
        Mail::new(&robot.address, &desk.address, "news")
            .header("List-Id", "<news.example.jp>")
            .utf8_base64(&body),
        Mail::new(&robot.address, &desk.address, "bulk")
            .header("Precedence", "bulk")
            .utf8_base64(&body),
        Mail::new(&robot.address, &desk.address, "【自動返信】不在のお知らせ").utf8_base64(&body),
    ];
    for m in mails {
        send_raw(&robot.address, &desk.address, &m.build()).await;
    }
    let dsn = format!(
        "From: Mail Delivery System <MAILER-DAEMON@mail.yoyaku.test>\r\nTo: {to}\r\nSubject: Undelivered Mail Returned to Sender\r\nAuto-Submitted: auto-replied\r\nMIME-Version: 1.0\r\nContent-Type: multipart/report; report-type=delivery-status; boundary=\"b1\"\r\n\r\n--b1\r\nContent-Type: text/plain\r\n\r\nyour message could not be delivered\r\n--b1\r\nContent-Type: message/delivery-status\r\n\r\nReporting-MTA: dns; mail.yoyaku.test\r\n\r\nFinal-Recipient: rfc822; nobody@nowhere.invalid\r\nAction: failed\r\nStatus: 5.1.1\r\n--b1--\r\n",
        to = desk.address
    );
    send_raw("", &desk.address, dsn.as_bytes()).await;
    let r = desk.once_after(5, wed()).await;
    assert_eq!(r.handled, 5);
    assert!(
        settle_and_read(&robot.address, "INBOX").await.is_empty(),
        "no reply to machines"
    );
    assert_eq!(read_folder(&desk.address, "自動送信").await.len(), 5);
    let staff = wait_for(&desk.staff, "INBOX", 1).await;
    assert_eq!(staff.len(), 1, "one note, for the bounce");
    assert!(staff[0].text().contains("届きませんでした"));
    assert_eq!(desk.requests_in(None).await, 0);
}

/// Exactly once: the same message delivered twice and passes repeated.
#[tokio::test]
async fn a_message_is_answered_once_however_often_it_arrives() {
    let desk = TestDesk::new().await;
    let seeker = Seeker::new("twice");
    let raw = Mail::new(&seeker.address, &desk.address, "予約")
        .id("same-id.1@client.test")
        .utf8_base64(&request_text("二重 太郎", "12月3日 11:00"))
        .build();
    send_raw(&seeker.address, &desk.address, &raw).await;
    send_raw(&seeker.address, &desk.address, &raw).await;
    let r = desk.once_after(2, wed()).await;
    assert_eq!((r.handled, r.duplicates), (1, 1));
    desk.desk.run_once(wed()).await.expect("pass");
    assert_eq!(settle_and_read(&seeker.address, "INBOX").await.len(), 1);
    assert_eq!(desk.requests_in(None).await, 1);
}

/// HTML-only replies from phone mailers, with the offer quoted in a blockquote.
#[tokio::test]
async fn html_only_reply_with_quoted_offer_books_the_chosen_option() {
    let desk = TestDesk::new().await;
    let seeker = Seeker::new("phone");
    seeker
        .send(&desk.address, "予約", &request_text("携帯 花子", "12月4日"))
        .await;
    desk.once_after(1, wed()).await;
    let offer = seeker.inbox(1).await.remove(0);
    let quoted: String = offer.text().lines().map(|l| format!("{l}<br>")).collect();
    let html = format!("<div>２でお願いします</div><div class=\"gmail_quote\"><blockquote>{quoted}</blockquote></div>");
    let raw = Mail::new(&seeker.address, &desk.address, "Re: 予約")
        .header(
            "In-Reply-To",
            &format!("<{}>", offer.inbound.message_id.clone().unwrap_or_default()),
        )
        .html_only(&html)
        .build();
    send_raw(&seeker.address, &desk.address, &raw).await;
    desk.once_after(1, wed()).await;
    let confirm = seeker.inbox(2).await.remove(1);
    assert!(
        confirm.text().contains("2026年12月4日（金）11:00～11:30"),
        "{}",
        confirm.text()
    );
}

/// The daemon proper: IDLE wakes it for new mail, shutdown stops it.
#[tokio::test]
async fn the_daemon_answers_while_idling_and_stops_on_shutdown() {
    let desk = TestDesk::new().await;
    let seeker = Seeker::new("idle");
    let (tx, rx) = tokio::sync::oneshot::channel::<()>();
    let cfg = yoyaku::config::Config::load(&desk.config_path).expect("config");
    let daemon = yoyaku::desk::Desk::new(cfg).await.expect("desk");
    let handle = tokio::spawn(async move {
        daemon
            .run(async {
                let _ = rx.await;
            })
            .await
    });
    tokio::time::sleep(Duration::from_millis(500)).await;
    // `run` decides on the real clock: the wish is a business day a week
    // from today, whatever today is.
    let cal = desk.desk.office().config().calendar.clone();
    let d = business_day_ahead(&cal, chrono::Utc::now(), 7);
    seeker
        .send(
            &desk.address,
            "予約",
            &request_text("常駐 太郎", &format!("{}月{}日 13:30", d.month(), d.day())),
        )
        .await;
    let got = seeker.inbox(1).await;
    assert!(got[0].text().contains("13:30～14:00"), "{}", got[0].text());
    tx.send(()).expect("signal");
    let stopped = tokio::time::timeout(Duration::from_secs(15), handle)
        .await
        .expect("stops in time")
        .expect("task");
    assert!(stopped.is_ok());
}

/// A question in reply to an offer goes to staff; the offer stays open.
#[tokio::test]
async fn a_question_in_reply_goes_to_staff_and_the_offer_stays_open() {
    let desk = TestDesk::new().await;
    let seeker = Seeker::new("question");
    seeker
        .send(
            &desk.address,
            "予約",
            &request_text("質問 太郎", "12月3日 11:00"),
        )
        .await;
    desk.once_after(1, wed()).await;
    let offer = seeker.inbox(1).await.remove(0);
    seeker
        .reply(&offer, "スマートフォンからでも参加できますか？")
        .await;
    desk.once_after(1, wed()).await;
    let answer = seeker.inbox(2).await.remove(1);
    assert!(answer.text().contains("担当者が確認"), "{}", answer.text());
    assert!(
        answer.text().contains("【1】2026年12月3日（木）11:00"),
        "the offer is repeated"
    );
    assert_eq!(
        desk.bookings_in(None).await,
        0,
        "a question is not consent to a slot"
    );
    let staff = wait_for(&desk.staff, "INBOX", 1).await;
    assert!(staff[0].text().contains("質問"), "{}", staff[0].text());
    assert!(
        staff[0].text().contains("回答期限：2026年11月30日（月）"),
        "{}",
        staff[0].text()
    );
    seeker.reply(&answer, "1でお願いします").await;
    desk.once_after(1, wed()).await;
    assert!(seeker.inbox(3).await[2]
        .text()
        .contains("予約が確定しました"));
}

/// Phone mailers may drop In-Reply-To and References: the reference in the
/// subject still finds the request, but only for the address it is bound to.
#[tokio::test]
async fn a_reply_without_threading_headers_is_found_by_the_subject_reference() {
    let desk = TestDesk::new().await;
    let seeker = Seeker::new("keitai");
    seeker
        .send(
            &desk.address,
            "予約",
            &request_text("携帯 次郎", "12月3日 11:00"),
        )
        .await;
    desk.once_after(1, wed()).await;
    let offer = seeker.inbox(1).await.remove(0);
    assert!(
        offer.inbound.subject.contains("受付番号"),
        "{}",
        offer.inbound.subject
    );
    let raw = Mail::new(&seeker.address, &desk.address, &offer.inbound.subject)
        .utf8_base64("お願いします")
        .build();
    send_raw(&seeker.address, &desk.address, &raw).await;
    desk.once_after(1, wed()).await;
    assert!(seeker.inbox(2).await[1]
        .text()
        .contains("予約が確定しました"));
}

/// A message whose handling keeps failing (here: a broken offer template)
/// is retried, then filed in the failed folder with a note to staff; it is
/// never lost and never blocks the rest of the inbox.
#[tokio::test]
async fn a_message_that_keeps_failing_goes_to_the_failed_folder_and_staff() {
    let broken = tempfile::tempdir().expect("tempdir");
    std::fs::write(
        broken.path().join("offer.txt.j2"),
        "Subject: x\n{{ slots | nosuchfilter }}\n",
    )
    .expect("write");
    let extra = format!("[templates]\ndir = \"{}\"\n", broken.path().display());
    let desk = TestDesk::with(Options {
        extra,
        ..Default::default()
    })
    .await;
    let seeker = Seeker::new("poison");
    let other = Seeker::new("healthy");
    seeker
        .send(
            &desk.address,
            "予約",
            &request_text("毒 太郎", "12月3日 11:00"),
        )
        .await;
    other
        .send(
            &desk.address,
            "予約",
            "氏名：健康 花子\n希望日時：12月3日 9:30\n電話：090-0000-0000",
        )
        .await;
    for attempt in 1..=3 {
        let r = desk.once_after(1, wed()).await;
        assert_eq!(r.message_failures, 1, "attempt {attempt}");
    }
    assert!(read_folder(&desk.address, "INBOX").await.is_empty());
    assert_eq!(read_folder(&desk.address, "処理失敗").await.len(), 1);
    let staff = wait_for(&desk.staff, "INBOX", 1).await;
    assert!(
        staff[0].text().contains("自動で処理できない"),
        "{}",
        staff[0].text()
    );
    assert_eq!(
        other.inbox(1).await.len(),
        1,
        "the other seeker was answered (asked for the 求職番号)"
    );
}

/// Mailers that quote without any marker, and replies written below the
/// quote: our own offer is never read as the seeker's choice.
#[tokio::test]
async fn unmarked_quotes_and_bottom_posting_are_read_correctly() {
    let desk = TestDesk::new().await;
    let seeker = Seeker::new("unmarked");
    seeker
        .send(&desk.address, "予約", &request_text("引用 太郎", "12月3日"))
        .await;
    desk.once_after(1, wed()).await;
    let offer = seeker.inbox(1).await.remove(0);
    // The whole offer pasted below "お願いします" with no quote marker at all.
    let pasted = format!("お願いします\n\n{}", offer.text());
    let raw = Mail::new(
        &seeker.address,
        &desk.address,
        &format!("Re: {}", offer.inbound.subject),
    )
    .header(
        "In-Reply-To",
        &format!("<{}>", offer.inbound.message_id.clone().unwrap_or_default()),
    )
    .utf8_base64(&pasted)
    .build();
    send_raw(&seeker.address, &desk.address, &raw).await;
    desk.once_after(1, wed()).await;
    let ask = seeker.inbox(2).await.remove(1);
    assert!(
        ask.text().contains("ご希望の番号"),
        "asks which, not option 1 from the paste: {}",
        ask.text()
    );
    // Bottom-posting: the choice under the quoted offer.
    let quoted: String = ask.text().lines().map(|l| format!("> {l}\n")).collect();
    let body = format!(
        "2026年11月25日(水) 10:00 ハローワーク出雲 <{}>:\n{quoted}\n4番でお願いします\n",
        desk.address
    );
    let raw = Mail::new(
        &seeker.address,
        &desk.address,
        &format!("Re: {}", ask.inbound.subject),
    )
    .header(
        "In-Reply-To",
        &format!("<{}>", ask.inbound.message_id.clone().unwrap_or_default()),
    )
    .utf8_base64(&body)
    .build();
    send_raw(&seeker.address, &desk.address, &raw).await;
    desk.once_after(1, wed()).await;
    let confirm = seeker.inbox(3).await.remove(2);
    assert!(
        confirm.text().contains("2026年12月3日（木）15:00～15:30"),
        "{}",
        confirm.text()
    );
}

/// A message over the size limit is not downloaded; staff are told.
#[tokio::test]
async fn an_oversized_message_is_left_for_staff_without_downloading() {
    let desk = TestDesk::with(Options {
        rooms: 1,
        extra: "max_message_bytes = 4096\n".into(), // inside [limits]
        ..Default::default()
    })
    .await;
    let seeker = Seeker::new("huge");
    let body = format!(
        "{}\n{}",
        request_text("大容量 太郎", "12月3日 11:00"),
        "添付の代わりの長い文章。".repeat(400)
    );
    seeker.send(&desk.address, "予約", &body).await;
    let r = desk.once_after(1, wed()).await;
    assert_eq!(r.handled, 1);
    assert_eq!(read_folder(&desk.address, "要対応").await.len(), 1);
    let staff = wait_for(&desk.staff, "INBOX", 1).await;
    assert!(staff[0].text().contains("サイズ"), "{}", staff[0].text());
    assert_eq!(desk.requests_in(None).await, 0);
}

/// SMTP down: the answer waits in the outbox (the message is still handled
/// once) and goes out when the server is back.
#[tokio::test]
async fn mail_waits_in_the_outbox_while_smtp_is_down() {
    let desk = TestDesk::new().await;
    let seeker = Seeker::new("outage");
    seeker
        .send(
            &desk.address,
            "予約",
            &request_text("停電 太郎", "12月3日 11:00"),
        )
        .await;
    wait_for_mail_to(&desk.address, 1).await;
    // The same desk and database, but SMTP pointing at a closed port.
    let text = std::fs::read_to_string(&desk.config_path)
        .expect("config")
        .replace(&format!("port = {SMTP_PORT}"), "port = 1");
    let down_path = desk.dir.path().join("down.toml");
    std::fs::write(&down_path, text).expect("write");
    let down = yoyaku::desk::Desk::new(yoyaku::config::Config::load(&down_path).expect("config"))
        .await
        .expect("desk");
    let r = down
        .run_once(wed())
        .await
        .expect("a pass survives SMTP being down");
    assert_eq!((r.handled, r.sent), (1, 0));
    assert!(r.send_failures >= 1);
    assert!(
        read_folder(&desk.address, "INBOX").await.is_empty(),
        "handled and filed all the same"
    );
    assert!(settle_and_read(&seeker.address, "INBOX").await.is_empty());
    // Back up, and past the retry backoff: the pending offer goes out, once.
    let r = desk
        .desk
        .run_once(wed() + chrono::Duration::minutes(5))
        .await
        .expect("pass");
    assert_eq!((r.handled, r.sent), (0, 1));
    assert_eq!(seeker.inbox(1).await.len(), 1);
    assert_eq!(settle_and_read(&seeker.address, "INBOX").await.len(), 1);
}

/// Phone users often write a new mail instead of replying: from the address
/// of an open request, a mail that is not itself a new request continues it.
#[tokio::test]
async fn new_mails_instead_of_replies_continue_the_open_request() {
    let desk = TestDesk::new().await;
    let seeker = Seeker::new("newmail");
    seeker
        .send(
            &desk.address,
            "予約",
            "氏名：新規 太郎\n希望日時：12月3日 11:00\n電話：090-1111-0000",
        )
        .await;
    desk.once_after(1, wed()).await;
    assert!(seeker.inbox(1).await[0].text().contains("求職番号"));
    seeker
        .send(&desk.address, "求職番号", "32010-12345678 です")
        .await;
    desk.once_after(1, wed()).await;
    let offer = seeker.inbox(2).await.remove(1);
    assert!(
        offer.text().contains("【1】2026年12月3日（木）11:00"),
        "{}",
        offer.text()
    );
    // A new mail is not a reply to ours: it carries no secret of the
    // request, so the choice is confirmed by replying before it books.
    seeker
        .send(&desk.address, "予約の件", "１でお願いします")
        .await;
    desk.once_after(1, wed()).await;
    let confirm_first = seeker.inbox(3).await.remove(2);
    assert!(
        confirm_first.text().contains("このメールへのご返信で確定")
            && confirm_first
                .text()
                .contains("【1】2026年12月3日（木）11:00"),
        "{}",
        confirm_first.text()
    );
    assert_eq!(desk.bookings_in(None).await, 0);
    seeker.reply(&confirm_first, "お願いします").await;
    desk.once_after(1, wed()).await;
    assert!(seeker.inbox(4).await[3]
        .text()
        .contains("予約が確定しました"));
    assert_eq!(desk.requests_in(None).await, 1);
}

/// TLS to both servers, with a private CA named in the config: implicit
/// TLS and STARTTLS, for IMAP and for SMTP.
#[tokio::test]
async fn the_flow_runs_over_tls_and_starttls() {
    for tls in [
        ("tls", 1993, "starttls", SMTP_PORT),
        ("starttls", IMAP_PORT, "tls", 2465),
    ] {
        let desk = TestDesk::with(Options {
            tls: Some(tls),
            ..Default::default()
        })
        .await;
        let seeker = Seeker::new("tls");
        seeker
            .send(
                &desk.address,
                "予約",
                &request_text("暗号 太郎", "12月3日 11:00"),
            )
            .await;
        let r = desk.once_after(1, wed()).await;
        assert_eq!((r.handled, r.sent), (1, 1), "{tls:?}");
        assert!(
            seeker.inbox(1).await[0]
                .text()
                .contains("【1】2026年12月3日（木）11:00"),
            "{tls:?}"
        );
    }
}

/// Without the private CA the server's certificate is refused.
#[tokio::test]
async fn an_untrusted_certificate_is_refused() {
    ensure_mailstack();
    let text = config_text(
        "desk@yoyaku.test",
        "staff@yoyaku.test",
        "sqlite:///tmp/unused.db",
        &Options {
            tls: Some(("tls", 1993, "none", SMTP_PORT)),
            ..Default::default()
        },
    );
    let text: String = text
        .lines()
        .filter(|l| !l.starts_with("ca_file"))
        .collect::<Vec<_>>()
        .join("\n");
    let cfg = yoyaku::config::Config::parse(&text, std::path::Path::new("/tmp")).expect("config");
    let err = yoyaku::mail::imap::ImapSession::connect(&cfg.imap)
        .await
        .err()
        .expect("refused");
    assert!(err.to_string().contains("tls"), "{err}");
}

/// Two rooms: two sessions per slot, each with its own room's meeting ID
/// and passcode; the third consent for the slot gets a fresh offer.
#[tokio::test]
async fn each_room_hosts_one_session_per_slot() {
    let desk = TestDesk::with(Options {
        rooms: 2,
        ..Default::default()
    })
    .await;
    let seekers: Vec<Seeker> = (0..3).map(|i| Seeker::new(&format!("room{i}"))).collect();
    for s in &seekers {
        s.send(
            &desk.address,
            "予約",
            &request_text("部屋 太郎", "12月3日 11:00"),
        )
        .await;
    }
    desk.once_after(3, wed()).await;
    for s in &seekers {
        let offer = s.inbox(1).await.remove(0);
        s.reply(&offer, "1").await;
    }
    desk.once_after(3, wed()).await;
    let mut rooms_used = Vec::new();
    let mut reoffered = 0;
    for s in &seekers {
        let last = s.inbox(2).await.remove(1);
        if last.text().contains("予約が確定しました") {
            let room = if last.text().contains("pass0word") {
                0
            } else {
                1
            };
            assert!(
                last.text().contains(&format!("81{room} 0000 000{room}")),
                "the room's own meeting ID"
            );
            rooms_used.push(room);
        } else {
            assert!(last.text().contains("ほかの方の予約が先に確定"));
            reoffered += 1;
        }
    }
    rooms_used.sort();
    assert_eq!((rooms_used, reoffered), (vec![0, 1], 1));
}

/// Mail about a confirmed booking that is neither a cancellation nor a
/// change is acknowledged (with the phone number for same-day
/// cancellation) and passed to staff; the booking stands.
#[tokio::test]
async fn mail_after_booking_is_acknowledged_and_passed_to_staff() {
    let desk = TestDesk::new().await;
    let seeker = Seeker::new("after");
    seeker
        .send(
            &desk.address,
            "予約",
            &request_text("確定 後子", "12月3日 11:00"),
        )
        .await;
    desk.once_after(1, wed()).await;
    let offer = seeker.inbox(1).await.remove(0);
    seeker.reply(&offer, "お願いします").await;
    desk.once_after(1, wed()).await;
    let confirm = seeker.inbox(2).await.remove(1);
    seeker
        .reply(&confirm, "ZOOMのアプリはスマホ版でも大丈夫でしょうか？")
        .await;
    desk.once_after(1, wed()).await;
    let ack = seeker.inbox(3).await.remove(2);
    assert!(
        ack.text().contains("担当者が確認") && ack.text().contains("0853-21-8609"),
        "{}",
        ack.text()
    );
    let staff = wait_for(&desk.staff, "INBOX", 1).await;
    assert!(
        staff[0].text().contains("予約確定後"),
        "{}",
        staff[0].text()
    );
    assert_eq!(desk.bookings_in(Some("confirmed")).await, 1);
}

/// A real mail client from Debian's packages (s-nail) sends the request
/// through the real Postfix with its subject in ISO-2022-JP, as Japanese
/// desktop and phone mailers do; the answer's subject is the seeker's own
/// text, never escape sequences.
#[tokio::test]
async fn a_real_mail_clients_japanese_subject_comes_back_readable() {
    let desk = TestDesk::new().await;
    let seeker = Seeker::new("snail");
    let subject = "オンライン職業相談の予約をお願いします（山田）";
    for (charset, n) in [("iso-2022-jp", 1), ("shift_jis", 2), ("utf-8", 3)] {
        let mut child = std::process::Command::new("s-nail")
            .args(["-#", "-S", "v15-compat", "-S", "smtp-auth=none"])
            .args(["-S", &format!("mta=smtp://127.0.0.1:{SMTP_PORT}")])
            .args(["-S", &format!("sendcharsets={charset}")])
            .args(["-S", "ttycharset=utf-8"])
            .args(["-S", &format!("from=山田 太郎 <{}>", seeker.address)])
            .args(["-s", subject])
            .arg(&desk.address)
            .env("LC_ALL", "C.UTF-8")
            .stdin(std::process::Stdio::piped())
            .spawn()
            .expect("s-nail (scripts/mailstack.sh installs it)");
        {
            use std::io::Write;
            let mut stdin = child.stdin.take().expect("stdin");
            stdin
                .write_all(request_text("山田 太郎", "12月3日 11:00").as_bytes())
                .expect("body");
        }
        assert!(child.wait().expect("s-nail ran").success(), "s-nail sent");
        desk.once_after(1, wed()).await;
        let got = seeker.inbox(n).await;
        let answer = &got[n - 1];
        assert!(
            answer
                .inbound
                .subject
                .starts_with(&format!("Re: {subject}")),
            "{charset}: {:?}",
            answer.inbound.subject
        );
        let raw_subject = answer.header("Subject").unwrap_or_default();
        assert!(
            !raw_subject.contains('\u{1b}'),
            "{charset}: {raw_subject:?}"
        );
    }
    // What s-nail sent was not plain UTF-8: its ISO-2022-JP subject comes
    // as a word labelled us-ascii that stops in kanji mode and runs on raw.
    let handled = read_folder(&desk.address, "処理済").await;
    assert!(handled.iter().any(|m| m
        .header("Subject")
        .is_some_and(|s| s.to_ascii_lowercase().contains("=?us-ascii?b?gyrc"))));
}

/// Days said to be impossible are not offered, and "any day but those" is
/// enough of a wish to offer the nearest others (issue 26).
#[tokio::test]
async fn days_said_to_be_impossible_are_not_offered() {
    let desk = TestDesk::new().await;
    let seeker = Seeker::new("notthose");
    seeker
        .send(
            &desk.address,
            "予約",
            &request_text("否定 花子", "11月26日と27日は都合がつきません"),
        )
        .await;
    desk.once_after(1, wed()).await;
    let offer = seeker.inbox(1).await.remove(0);
    let dates = offered_dates(offer.text());
    assert!(
        !dates.is_empty(),
        "an offer, not a question: {}",
        offer.text()
    );
    let (thu, fri) = (
        NaiveDate::from_ymd_opt(2026, 11, 26).expect("date"),
        NaiveDate::from_ymd_opt(2026, 11, 27).expect("date"),
    );
    assert!(
        dates.iter().all(|(d, _)| *d != thu && *d != fri),
        "{dates:?}"
    );
    assert_eq!(
        dates.first().map(|(d, _)| *d),
        NaiveDate::from_ymd_opt(2026, 11, 30),
        "the nearest other business day first"
    );
}
