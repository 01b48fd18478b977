//! The terms after a booking, through the real Postfix and Dovecot:
//! cancellation and change by mail (same-day only by phone), reminders,
//! staff bookings, the no-show rule and what follows it, needs at the
//! session, refusals, the staff digest, consent records, usage counts and
//! the purge of personal data. The clock is injected.

mod common;

use chrono::{DateTime, NaiveDate, NaiveTime, Utc};
use common::*;
use sha2::{Digest, Sha256};
use yoyaku::core::booking::StaffAction;
use yoyaku::staff::{ListFilter, StaffBooking};

fn wed() -> DateTime<Utc> {
    jst(2026, 11, 25, 10, 0)
}

fn reservation_in(text: &str) -> String {
    regex::Regex::new(r"予約番号[：:\s]*(\d{6}-[A-Z0-9]{4})")
        .expect("regex")
        .captures(text)
        .map(|c| c[1].to_string())
        .unwrap_or_else(|| panic!("no reservation number in: {text}"))
}

/// (filename, content-type, text) of every attachment.
fn attachments(raw: &[u8]) -> Vec<(String, String, String)> {
    use mail_parser::MimeHeaders;
    let msg = mail_parser::MessageParser::default()
        .parse(raw)
        .expect("parse");
    msg.attachments()
        .map(|a| {
            let ct = a
                .content_type()
                .map(|c| format!("{}/{}", c.ctype(), c.subtype().unwrap_or("")))
                .unwrap_or_default();
            (
                a.attachment_name().unwrap_or("").to_string(),
                ct,
                a.text_contents().unwrap_or("").to_string(),
            )
        })
        .collect()
}

fn invite(raw: &[u8]) -> String {
    let all = attachments(raw);
    let ics = all
        .iter()
        .find(|(n, ct, _)| n.ends_with(".ics") && ct == "text/calendar")
        .unwrap_or_else(|| panic!("no text/calendar attachment in {all:?}"));
    ics.2.replace("\r\n ", "")
}

/// Request, offer, consent: the seeker's confirmation mail.
async fn book_by_mail(desk: &TestDesk, seeker: &Seeker, name: &str, wish: &str) -> Received {
    let before = read_folder(&seeker.address, "INBOX").await.len();
    seeker
        .send(
            &desk.address,
            "オンライン相談の予約",
            &request_text(name, wish),
        )
        .await;
    desk.once_after(1, wed()).await;
    let offer = seeker.inbox(before + 1).await.remove(before);
    assert!(offer.text().contains("【1】"), "{}", offer.text());
    seeker.reply(&offer, "お願いします").await;
    desk.once_after(1, wed()).await;
    let confirm = seeker.inbox(before + 2).await.remove(before + 1);
    assert!(
        confirm.text().contains("予約が確定しました"),
        "{}",
        confirm.text()
    );
    confirm
}

async fn booking_status(desk: &TestDesk, reservation: &str) -> (String, Option<String>, i64) {
    let b = desk.booking(reservation).await;
    (b.status.to_string(), b.cancelled_by, i64::from(b.excused))
}

fn staff_booking(seeker: &Seeker, number: &str, date: NaiveDate, h: u32, m: u32) -> StaffBooking {
    StaffBooking {
        seeker_number: number.into(),
        name: "職員 予約子".into(),
        email: seeker.address.clone(),
        phone: None,
        date,
        time: NaiveTime::from_hms_opt(h, m, 0).expect("time"),
        needs: vec![],
    }
}

/// How phone users often type: full-width letters and digits.
fn full_width(s: &str) -> String {
    s.chars()
        .map(|c| match c {
            '!'..='~' => char::from_u32(c as u32 + 0xFEE0).unwrap_or(c),
            c => c,
        })
        .collect()
}

fn day(m: u32, d: u32) -> NaiveDate {
    NaiveDate::from_ymd_opt(2026, m, d).expect("date")
}

/// Cancel by mail before the day: cancelled, confirmed with a CANCEL
/// invitation, and the slot is free for the next seeker.
#[tokio::test]
async fn cancel_by_mail_before_the_day_frees_the_slot_and_confirms() {
    let desk = TestDesk::new().await;
    let seeker = Seeker::new("cancel");
    let confirm = book_by_mail(&desk, &seeker, "取消 花子", "12月3日 11:00").await;
    let reservation = reservation_in(confirm.text());
    let published = invite(&confirm.raw);
    assert!(published.contains("METHOD:REQUEST"), "{published}");
    assert!(published.contains("ORGANIZER;"), "{published}");
    assert!(published.contains("ATTENDEE;"), "{published}");
    assert!(published.contains("SEQUENCE:0"), "{published}");
    assert!(
        published.contains("DTSTART:20261203T020000Z"),
        "{published}"
    );

    seeker
        .reply(
            &confirm,
            "急用ができて行けなくなりました。キャンセルをお願いします。",
        )
        .await;
    desk.once_after(1, jst(2026, 12, 2, 18, 0)).await;
    let done = seeker.inbox(3).await.remove(2);
    assert!(done.text().contains("取り消しました"), "{}", done.text());
    assert!(done.text().contains(&reservation));
    let cancel = invite(&done.raw);
    assert!(cancel.contains("METHOD:CANCEL") && cancel.contains("STATUS:CANCELLED"));
    assert!(cancel.contains("SEQUENCE:1"), "{cancel}");
    let uid = |ics: &str| {
        ics.lines()
            .find(|l| l.starts_with("UID:"))
            .map(str::to_string)
    };
    assert_eq!(uid(&cancel), uid(&published), "the same event is cancelled");
    assert_eq!(
        booking_status(&desk, &reservation).await,
        ("cancelled".into(), Some("email".into()), 0)
    );

    // The freed slot is offered to the next seeker.
    let next = Seeker::new("next");
    next.send(
        &desk.address,
        "予約",
        &request_text("次の 人", "12月3日 11:00"),
    )
    .await;
    desk.once_after(1, jst(2026, 12, 2, 18, 5)).await;
    let offer = next.inbox(1).await.remove(0);
    assert!(
        offer.text().contains("【1】2026年12月3日（木）11:00"),
        "{}",
        offer.text()
    );
}

/// On the day itself a cancellation by mail cancels nothing: the seeker is
/// told to phone (with the number) and staff are told at once. The mail is
/// contact, so the no-show that follows is excused.
#[tokio::test]
async fn same_day_cancel_by_mail_is_refused_with_the_phone_number() {
    let desk = TestDesk::new().await;
    let seeker = Seeker::new("sameday");
    let confirm = book_by_mail(&desk, &seeker, "当日 次郎", "12月3日 11:00").await;
    let reservation = reservation_in(confirm.text());
    let asked = seeker
        .reply(&confirm, "体調が悪く、本日はキャンセルさせてください。")
        .await;
    desk.once_after(1, jst(2026, 12, 3, 8, 15)).await;
    // The same pass also sends the reminder due since yesterday morning; the
    // two arrive in either order (two SMTP connections): the answer is the
    // mail in reply to the seeker's.
    let mut answer = None;
    for _ in 0..200 {
        answer = seeker
            .inbox(3)
            .await
            .into_iter()
            .find(|m| m.header("In-Reply-To").is_some_and(|h| h.contains(&asked)));
        if answer.is_some() {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    let answer = answer.expect("an answer to the cancellation");
    let text = answer.text();
    assert!(text.contains("お電話でのみ"), "{text}");
    assert!(text.contains("0853-21-8609"), "{text}");
    assert!(text.contains("取り消されていません"), "{text}");
    let staff = wait_for(&desk.staff, "INBOX", 1).await;
    assert!(
        staff[0].text().contains("当日キャンセル"),
        "{}",
        staff[0].text()
    );
    assert!(staff[0].text().contains(&reservation));
    assert_eq!(
        booking_status(&desk, &reservation).await.0,
        "confirmed",
        "nothing is cancelled by mail on the day"
    );
    desk.desk
        .run_once(jst(2026, 12, 3, 11, 10))
        .await
        .expect("pass");
    assert_eq!(
        booking_status(&desk, &reservation).await,
        ("no_show".into(), None, 1)
    );
}

/// A change is a cancellation plus a new offer in the same thread; the
/// seeker's consent to it books the new slot.
#[tokio::test]
async fn change_by_mail_cancels_and_offers_in_the_same_thread() {
    let desk = TestDesk::new().await;
    let seeker = Seeker::new("change");
    let confirm = book_by_mail(&desk, &seeker, "変更 三郎", "12月3日 11:00").await;
    let old = reservation_in(confirm.text());
    let change_id = seeker
        .reply(
            &confirm,
            "申し訳ありません、12月4日の13時30分に変更できますでしょうか。",
        )
        .await;
    desk.once_after(1, wed()).await;
    let offer = seeker.inbox(3).await.remove(2);
    assert_eq!(
        offer.header("In-Reply-To").as_deref(),
        Some(format!("<{change_id}>").as_str())
    );
    let text = offer.text();
    assert!(
        text.contains(&old) && text.contains("取り消しました"),
        "{text}"
    );
    assert!(text.contains("【1】2026年12月4日（金）13:30"), "{text}");
    assert!(!text.contains("【2】"), "{text}");
    assert_eq!(booking_status(&desk, &old).await.0, "cancelled");
    seeker.reply(&offer, "お願いします").await;
    desk.once_after(1, wed()).await;
    let confirm2 = seeker.inbox(4).await.remove(3);
    assert!(
        confirm2.text().contains("2026年12月4日（金）13:30"),
        "{}",
        confirm2.text()
    );
    assert_ne!(reservation_in(confirm2.text()), old);
}

/// A new mail (not a reply) that quotes the reservation number cancels it,
/// but only from the address the booking belongs to.
#[tokio::test]
async fn a_new_mail_quoting_the_reservation_number_cancels_only_from_its_address() {
    let desk = TestDesk::new().await;
    let seeker = Seeker::new("quote");
    let confirm = book_by_mail(&desk, &seeker, "番号 四郎", "12月3日 11:00").await;
    let reservation = reservation_in(confirm.text());
    let stranger = Seeker::new("stranger");
    stranger
        .send(
            &desk.address,
            "予約のキャンセル",
            &format!("予約番号 {reservation} をキャンセルします。"),
        )
        .await;
    desk.once_after(1, wed()).await;
    assert_eq!(booking_status(&desk, &reservation).await.0, "confirmed");
    let to_stranger = stranger.inbox(1).await;
    assert!(
        !to_stranger[0].text().contains(&reservation),
        "nothing about the booking goes to another address"
    );
    seeker
        .send(
            &desk.address,
            "予約のキャンセル",
            &format!(
                "予約番号{}\n都合により取り消しをお願いします。",
                full_width(&reservation.to_ascii_lowercase())
            ),
        )
        .await;
    desk.once_after(1, wed()).await;
    let done = seeker.inbox(3).await.remove(2);
    assert!(done.text().contains("取り消しました"), "{}", done.text());
    assert_eq!(booking_status(&desk, &reservation).await.0, "cancelled");
}

/// A new mail from the booked address without the reservation number or a
/// reply's headers could be forged: the seeker confirms by replying first.
#[tokio::test]
async fn a_cancel_without_the_secret_is_confirmed_by_reply_first() {
    let desk = TestDesk::new().await;
    let seeker = Seeker::new("unsure");
    let confirm = book_by_mail(&desk, &seeker, "確認 五郎", "12月3日 11:00").await;
    let reservation = reservation_in(confirm.text());
    seeker
        .send(
            &desk.address,
            "キャンセル",
            "12月3日の予約をキャンセルします。",
        )
        .await;
    desk.once_after(1, wed()).await;
    let ask = seeker.inbox(3).await.remove(2);
    assert!(ask.text().contains("このメールに返信"), "{}", ask.text());
    assert_eq!(booking_status(&desk, &reservation).await.0, "confirmed");
    seeker.reply(&ask, "キャンセルでお願いします").await;
    desk.once_after(1, wed()).await;
    let done = seeker.inbox(4).await.remove(3);
    assert!(done.text().contains("取り消しました"), "{}", done.text());
    assert_eq!(booking_status(&desk, &reservation).await.0, "cancelled");
}

/// 第6条(4): a session agreed during a consultation is booked by staff and
/// mailed at once, with no consent round trip and no previous-day cutoff.
#[tokio::test]
async fn a_staff_booking_is_mailed_at_once() {
    let desk = TestDesk::new().await;
    let seeker = Seeker::new("staffbook");
    // Today 15:00, past the previous-day cutoff: staff may still book it.
    let reservation = yoyaku::staff::staff_book(
        desk.desk.office(),
        &staff_booking(&seeker, "32010-87654321", day(11, 25), 15, 0),
        wed(),
        "staff-test",
    )
    .await
    .expect("staff booking");
    // No pass runs: the verb itself sent the mail.
    let mail = seeker.inbox(1).await.remove(0);
    let text = mail.text();
    for needle in [
        reservation.as_str(),
        "2026年11月25日（水）15:00～15:30",
        "810 0000 0000",
        "pass0word",
        "第6条(4)",
        "0853-21-8609",
    ] {
        assert!(text.contains(needle), "lacks {needle:?}: {text}");
    }
    assert!(invite(&mail.raw).contains("DTSTART:20261125T060000Z"));
    let by = desk.booking(&reservation).await.booked_by;
    assert_eq!(by, yoyaku::core::booking::By::Staff);
    // The one room is taken then: a clear error, no mail.
    let other = Seeker::new("staffbook2");
    let err = yoyaku::staff::staff_book(
        desk.desk.office(),
        &staff_booking(&other, "32010-11111111", day(11, 25), 15, 0),
        wed(),
        "staff-test",
    )
    .await
    .expect_err("slot full");
    assert!(err.to_string().contains("every room"), "{err}");
    assert!(settle_and_read(&other.address, "INBOX").await.is_empty());
    // Staff cancel it (the seeker phoned): mailed with the cancellation.
    yoyaku::staff::staff_action(
        desk.desk.office(),
        &reservation,
        StaffAction::Cancel,
        wed(),
        "staff-test",
    )
    .await
    .expect("cancel");
    let cancelled = seeker.inbox(2).await.remove(1);
    assert!(
        cancelled.text().contains("当所で取り消し"),
        "{}",
        cancelled.text()
    );
    assert!(invite(&cancelled.raw).contains("METHOD:CANCEL"));
    assert_eq!(
        booking_status(&desk, &reservation).await,
        ("cancelled".into(), Some("staff".into()), 0)
    );
}

/// The business day before the session, one reminder with the date, time
/// and meeting ID; the Monday session's reminder goes out on Friday.
#[tokio::test]
async fn a_reminder_goes_out_the_business_day_before() {
    let desk = TestDesk::new().await;
    let seeker = Seeker::new("remind");
    let confirm = book_by_mail(&desk, &seeker, "前日 通知", "11月30日 9:30").await;
    let reservation = reservation_in(confirm.text());
    desk.desk
        .run_once(jst(2026, 11, 26, 10, 0))
        .await
        .expect("pass");
    assert_eq!(settle_and_read(&seeker.address, "INBOX").await.len(), 2);
    desk.desk
        .run_once(jst(2026, 11, 27, 10, 0))
        .await
        .expect("pass");
    let reminder = seeker.inbox(3).await.remove(2);
    let text = reminder.text();
    for needle in [
        reservation.as_str(),
        "2026年11月30日（月）09:30～10:00",
        "810 0000 0000",
        "参加方法",
        "お電話のみ",
    ] {
        assert!(text.contains(needle), "lacks {needle:?}: {text}");
    }
    assert!(!text.contains("pass0word"), "the passcode is not repeated");
    desk.desk
        .run_once(jst(2026, 11, 27, 15, 0))
        .await
        .expect("pass");
    assert_eq!(settle_and_read(&seeker.address, "INBOX").await.len(), 3);
}

/// 第6条(5): 10 minutes after the start with no attendance and no contact
/// the booking is a no-show; after the limit (2) the seeker's new requests,
/// from any address, get a holding reply and go to staff.
#[tokio::test]
async fn the_no_show_rule_fires_at_ten_minutes_and_the_limit_holds_new_requests() {
    let desk = TestDesk::new().await;
    let seeker = Seeker::new("noshow");
    let number = "32010-12345678";
    let first = yoyaku::staff::staff_book(
        desk.desk.office(),
        &staff_booking(&seeker, number, day(11, 26), 9, 30),
        wed(),
        "staff-test",
    )
    .await
    .expect("book");
    desk.desk
        .run_once(jst(2026, 11, 26, 9, 39))
        .await
        .expect("pass");
    assert_eq!(booking_status(&desk, &first).await.0, "confirmed");
    desk.desk
        .run_once(jst(2026, 11, 26, 9, 40))
        .await
        .expect("pass");
    assert_eq!(
        booking_status(&desk, &first).await,
        ("no_show".into(), None, 0)
    );
    let staff = wait_for(&desk.staff, "INBOX", 1).await;
    assert!(
        staff[0].text().contains("無断キャンセル"),
        "{}",
        staff[0].text()
    );
    assert!(staff[0]
        .text()
        .contains(&format!("yoyaku attended {first}")));

    // One no-show is below the limit: a request is still offered slots.
    let second = yoyaku::staff::staff_book(
        desk.desk.office(),
        &staff_booking(&seeker, number, day(11, 26), 11, 0),
        jst(2026, 11, 26, 9, 45),
        "staff-test",
    )
    .await
    .expect("book");
    // Attendance recorded in time stops the rule.
    yoyaku::staff::staff_action(
        desk.desk.office(),
        &second,
        StaffAction::Attended,
        jst(2026, 11, 26, 11, 5),
        "staff-test",
    )
    .await
    .expect("attended");
    desk.desk
        .run_once(jst(2026, 11, 26, 11, 20))
        .await
        .expect("pass");
    assert_eq!(booking_status(&desk, &second).await.0, "attended");
    let third = yoyaku::staff::staff_book(
        desk.desk.office(),
        &staff_booking(&seeker, number, day(11, 26), 13, 30),
        jst(2026, 11, 26, 11, 30),
        "staff-test",
    )
    .await
    .expect("book");
    desk.desk
        .run_once(jst(2026, 11, 26, 13, 45))
        .await
        .expect("pass");
    assert_eq!(booking_status(&desk, &third).await.0, "no_show");

    // Two unexcused no-shows: a new request from another address with the
    // same 求職番号 is not offered slots.
    let other_address = Seeker::new("noshow-new");
    other_address
        .send(
            &desk.address,
            "予約",
            &request_text("無断 二回", "12月8日 11:00"),
        )
        .await;
    desk.once_after(1, jst(2026, 11, 26, 14, 0)).await;
    let hold = other_address.inbox(1).await.remove(0);
    assert!(hold.text().contains("担当者が確認"), "{}", hold.text());
    assert!(!hold.text().contains("【1】"), "no slots offered");
    let staff = wait_for(&desk.staff, "INBOX", 3).await;
    assert!(
        staff.iter().any(|m| m.text().contains("規定回数")),
        "staff told of the limit"
    );
}

/// 第12条(3): an interpreter or assistant mentioned in a request is recorded,
/// shown by `show` and `list`, and passed to staff; the booking goes on.
#[tokio::test]
async fn needs_at_the_session_are_recorded_and_passed_to_staff() {
    let desk = TestDesk::new().await;
    let seeker = Seeker::new("needs");
    let body = format!(
        "{}\n\n聴覚に障害があるため、手話通訳者の同席をお願いしたいです。",
        request_text("配慮 希望", "12月3日 11:00")
    );
    seeker.send(&desk.address, "予約", &body).await;
    desk.once_after(1, wed()).await;
    let offer = seeker.inbox(1).await.remove(0);
    assert!(offer.text().contains("【1】"), "offered as usual");
    let staff = wait_for(&desk.staff, "INBOX", 1).await;
    assert!(staff[0].text().contains("手話"), "{}", staff[0].text());
    seeker.reply(&offer, "お願いします").await;
    desk.once_after(1, wed()).await;
    let confirm = seeker.inbox(2).await.remove(1);
    let reservation = reservation_in(confirm.text());
    let shown = yoyaku::staff::show(desk.desk.office(), &reservation)
        .await
        .expect("show");
    assert!(shown.contains("sign_language"), "{shown}");
    assert!(shown.contains("interpreter"), "{shown}");
    let listed = yoyaku::staff::list(desk.desk.office(), &ListFilter::default())
        .await
        .expect("list");
    assert_eq!(listed.len(), 1);
    assert!(listed[0].needs.contains(&"sign_language".to_string()));
    // A need mentioned later, in a reply about the booking, is added and told.
    seeker
        .reply(&confirm, "母が介助者として同席してもよろしいでしょうか。")
        .await;
    desk.once_after(1, wed()).await;
    let staff = wait_for(&desk.staff, "INBOX", 2).await;
    assert!(staff.iter().any(|m| m.text().contains("介助者")));
    let shown = yoyaku::staff::show(desk.desk.office(), &reservation)
        .await
        .expect("show");
    assert!(shown.contains("assistant"), "{shown}");
    assert_eq!(booking_status(&desk, &reservation).await.0, "confirmed");
}

/// 第12条(1): a refused seeker's mail gets a holding reply and goes to
/// staff; lifting the refusal restores the service.
#[tokio::test]
async fn a_refused_seeker_gets_a_holding_reply_and_staff_decide() {
    let desk = TestDesk::new().await;
    let seeker = Seeker::new("refused");
    let closed = yoyaku::staff::refuse(
        desk.desk.office(),
        "32010 12345678",
        "暴言があったため",
        wed(),
        "staff-test",
    )
    .await
    .expect("refuse");
    assert_eq!(closed, 0);
    seeker
        .send(
            &desk.address,
            "予約",
            &request_text("お断り 対象", "12月3日 11:00"),
        )
        .await;
    desk.once_after(1, wed()).await;
    let hold = seeker.inbox(1).await.remove(0);
    assert!(hold.text().contains("担当者が確認"), "{}", hold.text());
    assert!(!hold.text().contains("【1】"));
    assert!(
        !hold.text().contains("暴言"),
        "the reason stays inside the office"
    );
    let staff = wait_for(&desk.staff, "INBOX", 1).await;
    assert!(staff[0].text().contains("お断り"), "{}", staff[0].text());
    assert!(yoyaku::staff::unrefuse(
        desk.desk.office(),
        "32010-12345678",
        chrono::Utc::now(),
        "test"
    )
    .await
    .expect("unrefuse"));
    seeker
        .send(
            &desk.address,
            "予約",
            &request_text("お断り 解除", "12月4日 11:00"),
        )
        .await;
    desk.once_after(1, wed()).await;
    let offer = seeker.inbox(2).await.remove(1);
    assert!(offer.text().contains("【1】"), "{}", offer.text());
}

/// Consent is recorded (Message-ID, sender, time, SHA-256 of the terms that
/// were attached) and `show` prints it with the whole history.
#[tokio::test]
async fn consent_and_history_are_shown() {
    let desk = TestDesk::new().await;
    let seeker = Seeker::new("records");
    seeker
        .send(
            &desk.address,
            "予約",
            &request_text("記録 確認", "12月3日 11:00"),
        )
        .await;
    desk.once_after(1, wed()).await;
    let offer = seeker.inbox(1).await.remove(0);
    let terms = attachments(&offer.raw)
        .into_iter()
        .find(|(n, _, _)| n.contains("利用規約"))
        .expect("terms attached")
        .2;
    let consent_id = seeker.reply(&offer, "了解しました。お願いします。").await;
    desk.once_after(1, wed()).await;
    let confirm = seeker.inbox(2).await.remove(1);
    let reservation = reservation_in(confirm.text());
    let shown = yoyaku::staff::show(desk.desk.office(), &reservation)
        .await
        .expect("show");
    let sha: String = Sha256::digest(terms.replace("\r\n", "\n").as_bytes())
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect();
    for needle in [
        format!("<{consent_id}>"),
        seeker.address.clone(),
        sha,
        "offered -> booked  (reply)".into(),
        "記録 確認".into(),
        "32010-12345678".into(),
    ] {
        assert!(shown.contains(&needle), "show lacks {needle:?}:\n{shown}");
    }
    assert!(
        shown.contains("-> offered  (request)"),
        "history starts with the request:\n{shown}"
    );
}

/// The digest reaches staff once each business morning with today's and
/// the next business day's sessions and what waits for them.
#[tokio::test]
async fn the_staff_digest_comes_once_each_business_morning() {
    let desk = TestDesk::with(Options {
        digest: true,
        ..Options::default()
    })
    .await;
    let seeker = Seeker::new("digest");
    let today = yoyaku::staff::staff_book(
        desk.desk.office(),
        &staff_booking(&seeker, "32010-22222222", day(11, 27), 13, 30),
        jst(2026, 11, 25, 17, 0),
        "staff-test",
    )
    .await
    .expect("book");
    let monday = yoyaku::staff::staff_book(
        desk.desk.office(),
        &staff_booking(&seeker, "32010-22222222", day(11, 30), 9, 30),
        jst(2026, 11, 25, 17, 0),
        "staff-test",
    )
    .await
    .expect("book");
    desk.desk
        .run_once(jst(2026, 11, 27, 8, 0))
        .await
        .expect("pass");
    assert!(settle_and_read(&desk.staff, "INBOX").await.is_empty());
    desk.desk
        .run_once(jst(2026, 11, 27, 8, 30))
        .await
        .expect("pass");
    let digest = wait_for(&desk.staff, "INBOX", 1).await.remove(0);
    let text = digest.text();
    assert!(text.contains("11月27日"), "{text}");
    assert!(text.contains(&today) && text.contains("13:30"), "{text}");
    assert!(
        text.contains("2026年11月30日（月）"),
        "the next business day: {text}"
    );
    assert!(text.contains(&monday), "{text}");
    desk.desk
        .run_once(jst(2026, 11, 27, 9, 0))
        .await
        .expect("pass");
    // Saturday: no digest.
    desk.desk
        .run_once(jst(2026, 11, 28, 9, 0))
        .await
        .expect("pass");
    let digests: Vec<String> = settle_and_read(&desk.staff, "INBOX")
        .await
        .into_iter()
        .map(|m| m.inbound.subject)
        .filter(|s| s.contains("予定とお知らせ"))
        .collect();
    assert_eq!(digests.len(), 1, "one digest: {digests:?}");
}

/// A booked seeker asks for the next session in the booking's thread: an
/// offer of its own, and both sessions stand.
#[tokio::test]
async fn a_booked_seeker_asks_for_the_next_session_by_mail() {
    let desk = TestDesk::new().await;
    let seeker = Seeker::new("second");
    let confirm = book_by_mail(&desk, &seeker, "二回 目子", "12月3日 11:00").await;
    seeker
        .reply(
            &confirm,
            "次回の相談も予約したいです。12月10日の9時30分を希望します。",
        )
        .await;
    desk.once_after(1, wed()).await;
    let offer = seeker.inbox(3).await.remove(2);
    assert!(
        offer.text().contains("【1】2026年12月10日（木）09:30"),
        "{}",
        offer.text()
    );
    seeker.reply(&offer, "お願いします").await;
    desk.once_after(1, wed()).await;
    let confirm2 = seeker.inbox(4).await.remove(3);
    assert!(confirm2.text().contains("予約が確定しました"));
    assert_eq!(desk.bookings_in(Some("confirmed")).await, 2);
}

/// Usage counts (第7条) and the purge of personal data (第8条): after the
/// purge nothing names the seeker, and the month's counts are unchanged.
#[tokio::test]
async fn report_counts_survive_the_purge_of_personal_data() {
    let desk = TestDesk::new().await;
    let seeker = Seeker::new("report");
    let confirm = book_by_mail(&desk, &seeker, "統計 太郎", "12月3日 11:00").await;
    let reservation = reservation_in(confirm.text());
    seeker.reply(&confirm, "キャンセルします").await;
    desk.once_after(1, wed()).await;
    let staff_booked = yoyaku::staff::staff_book(
        desk.desk.office(),
        &staff_booking(&seeker, "32010-12345678", day(11, 26), 9, 30),
        wed(),
        "staff-test",
    )
    .await
    .expect("book");
    desk.desk
        .run_once(jst(2026, 11, 26, 9, 40))
        .await
        .expect("pass");
    let month = NaiveDate::from_ymd_opt(2026, 11, 1).expect("month");
    let before = yoyaku::staff::report(desk.desk.office(), month)
        .await
        .expect("report");
    assert_eq!(before.requests, 1);
    assert_eq!(before.offers, 1);
    assert_eq!(before.bookings_by_email, 1);
    assert_eq!(before.bookings_by_staff, 1);
    assert_eq!(before.cancelled_by_email, 1);
    assert_eq!(before.no_shows, 1);
    assert!(before.mean_minutes_to_answer.is_some());
    // Nothing finished long enough ago yet.
    let purged = yoyaku::staff::purge(
        desk.desk.office(),
        chrono::Duration::days(30),
        jst(2026, 12, 1, 9, 0),
    )
    .await
    .expect("purge");
    assert_eq!(purged.requests, 0);
    let purged = yoyaku::staff::purge(
        desk.desk.office(),
        chrono::Duration::days(30),
        jst(2027, 1, 15, 9, 0),
    )
    .await
    .expect("purge");
    assert_eq!(purged.requests, 2);
    let after = yoyaku::staff::report(desk.desk.office(), month)
        .await
        .expect("report");
    assert_eq!(before, after, "the counts remain");
    for key in [&reservation, &staff_booked] {
        let shown = yoyaku::staff::show(desk.desk.office(), key)
            .await
            .expect("show");
        for secret in [
            "統計 太郎",
            "職員 予約子",
            "32010-12345678",
            "090-1234-5678",
            seeker.address.as_str(),
        ] {
            assert!(
                !shown.contains(secret),
                "{secret:?} survived the purge:\n{shown}"
            );
        }
    }
    let leftovers = desk
        .db_scalar("SELECT COUNT(*) FROM outbox WHERE length(raw) > 0 AND request_id IS NOT NULL")
        .await;
    assert_eq!(leftovers, 0, "sent mail bodies are gone too");
}

/// The staff verbs on the command line, as staff type them.
#[tokio::test]
async fn the_staff_verbs_work_from_the_command_line() {
    let desk = TestDesk::new().await;
    let seeker = Seeker::new("cli");
    let bin = env!("CARGO_BIN_EXE_yoyaku");
    let config = desk.config_path.display().to_string();
    let run = |args: &[&str]| {
        let out = std::process::Command::new(bin)
            .args(args)
            .args(["--config", &config])
            .env("YOYAKU_LOG", "warn")
            .output()
            .expect("run yoyaku");
        let text = String::from_utf8_lossy(&out.stdout).to_string()
            + &String::from_utf8_lossy(&out.stderr);
        (out.status.success(), text)
    };
    let code = |args: &[&str]| {
        std::process::Command::new(bin)
            .args(args)
            .args(["--config", &config])
            .env("YOYAKU_LOG", "warn")
            .output()
            .expect("run yoyaku")
            .status
            .code()
    };
    // `book` checks its date against the real clock (or `--now`): the days
    // are business days well ahead of it, the second the next one after.
    let cal = &desk.desk.office().config().calendar;
    let first = business_day_ahead(cal, Utc::now(), 40);
    let second_day = business_day_ahead(cal, jst_on(first, 12, 0), 1);
    let first_s = first.format("%Y-%m-%d").to_string();
    let month_s = first.format("%Y-%m").to_string();
    let second_slash = second_day.format("%Y/%m/%d 09:30").to_string();
    let eve = format!("{first_s}T17:00:00+09:00");
    let before_no_show = second_day.format("%Y-%m-%dT09:39:00+09:00").to_string();
    let at_no_show = second_day.format("%Y-%m-%dT09:40:00+09:00").to_string();
    let third_s = business_day_ahead(cal, jst_on(second_day, 12, 0), 1)
        .format("%Y-%m-%d")
        .to_string();
    let (ok, out) = run(&[
        "book",
        "--seeker-number",
        "32010-55555555",
        "--name",
        "コマンド 予約",
        "--email",
        &seeker.address,
        "--date",
        &first_s,
        "--time",
        "13:30",
        "--need",
        "interpreter",
    ]);
    assert!(ok, "{out}");
    let reservation = regex::Regex::new(r"(\d{6}-[A-Z0-9]{4})")
        .expect("regex")
        .captures(&out)
        .map(|c| c[1].to_string())
        .expect("reservation printed");
    let mail = seeker.inbox(1).await.remove(0);
    assert!(mail.text().contains(&reservation));
    let (ok, out) = run(&["list", "--status", "booked"]);
    assert!(
        ok && out.contains(&reservation) && out.contains("interpreter"),
        "{out}"
    );
    let (ok, out) = run(&["list", "--date", &first_s]);
    assert!(ok && out.contains(&reservation), "{out}");
    let (ok, out) = run(&["show", &reservation]);
    assert!(ok && out.contains("booked by staff"), "{out}");
    let (ok, out) = run(&["attended", &reservation]);
    assert!(ok && out.contains("attended"), "{out}");
    let (ok, out) = run(&["cancel", &reservation]);
    assert!(!ok && out.contains("is attended"), "{out}");
    // Each kind of refusal has its exit code: conflict, not found, bad input.
    assert_eq!(code(&["cancel", &reservation]), Some(4));
    assert_eq!(code(&["cancel", "991231-ZZZZ"]), Some(3));
    assert_eq!(code(&["refuse", "12-34", "--reason", "x"]), Some(2));
    let (ok, out) = run(&["report", "--month", &month_s, "--csv"]);
    assert!(ok, "{out}");
    let lines: Vec<&str> = out.lines().collect();
    assert!(lines[0].starts_with("month,requests,offers"), "{out}");
    assert!(lines[1].starts_with(&format!("{month_s},")), "{out}");
    let (ok, out) = run(&["report", "--month", "March"]);
    assert!(!ok && out.contains("2026-12"), "a clear error: {out}");
    let (ok, out) = run(&["purge", "--older-than", "90d"]);
    assert!(ok && out.contains("0 finished"), "{out}");
    let (ok, out) = run(&["purge", "--older-than", "soon"]);
    assert!(!ok && out.contains("180d"), "{out}");
    let (ok, out) = run(&["refuse", "32010-55555555", "--reason", "第12条(1)"]);
    assert!(ok, "{out}");
    let (ok, out) = run(&["unrefuse", "32010-55555555"]);
    assert!(ok && out.contains("lifted"), "{out}");
    // A date with its time, an injected clock, then the no-show rule from
    // `once --now` ten minutes after the start.
    let (ok, out) = run(&[
        "book",
        "--seeker",
        "3201055555555",
        "--name",
        "二回目 予約",
        "--email",
        &seeker.address,
        "--date",
        &second_slash,
        "--now",
        &eve,
    ]);
    assert!(ok, "{out}");
    let second = regex::Regex::new(r"(\d{6}-[A-Z0-9]{4})")
        .expect("regex")
        .captures(&out)
        .map(|c| c[1].to_string())
        .expect("reservation printed");
    let (ok, out) = run(&["once", "--now", &before_no_show]);
    assert!(ok, "{out}");
    let (_, out) = run(&["list", "--status", "no-show"]);
    assert!(!out.contains(&second), "not yet: {out}");
    let (ok, out) = run(&["once", "--now", &at_no_show]);
    assert!(ok, "{out}");
    let (_, out) = run(&["list", "--status", "no-show"]);
    assert!(out.contains(&second), "{out}");
    let (ok, out) = run(&[
        "book",
        "--seeker",
        "3201055555555",
        "--name",
        "x",
        "--email",
        &seeker.address,
        "--date",
        &third_s,
    ]);
    assert!(!ok && out.contains("--time"), "{out}");
    let (ok, out) = run(&["show", "NOSUCH"]);
    assert!(!ok && out.contains("no reservation or request"), "{out}");
}
