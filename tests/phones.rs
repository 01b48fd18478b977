//! Seekers on phones, through the real Postfix and Dovecot: the carriers'
//! addresses that break RFC 5322 (`taro..yamada@`, `hanako.@`, `.jiro@`)
//! answered end to end, and our mail that bounces (a dead address) turned
//! into one staff note with the phone number, no more mail to it, and a
//! line on the 要対応 page until staff have phoned.

mod common;

use chrono::{Duration, Utc};
use common::*;

#[tokio::test]
async fn carrier_addresses_are_answered_and_booked_end_to_end() {
    let desk = TestDesk::new().await;
    let tag = format!("{:x}", rand_u64() % 0xffff_ffff);
    let seekers: Vec<Seeker> = [
        format!("taro..yamada{tag}@docomo.test"),
        format!("hanako{tag}.@ezweb.test"),
        format!(".jiro{tag}@docomo.test"),
    ]
    .into_iter()
    .map(|address| {
        add_user(&address);
        Seeker { address }
    })
    .collect();
    let now = Utc::now();
    // One business day, three slots: days ahead can fall on the same
    // Monday when the clock is moved.
    for (s, time) in seekers.iter().zip(["09:30", "11:00", "13:30"]) {
        let wish = wish_ahead(&desk, 3, time);
        s.send(&desk.address, "予約", &request_text("山田 太郎", &wish))
            .await;
    }
    let report = desk.once_after(seekers.len(), now).await;
    assert_eq!(report.handled, seekers.len(), "{report:?}");
    for s in &seekers {
        let got = s.inbox(1).await;
        assert_eq!(got.len(), 1, "{}: one answer", s.address);
        let to = got[0].header("To").unwrap_or_default();
        assert!(to.contains('"'), "{}: quoted on the wire: {to}", s.address);
        assert!(got[0].text().contains("【1】"), "{}", got[0].text());
        s.reply(&got[0], "1").await;
    }
    desk.once_after(seekers.len(), now).await;
    for s in &seekers {
        let got = s.inbox(2).await;
        assert_eq!(got.len(), 2, "{}: a confirmation", s.address);
        assert!(
            got[1].text().contains("ご予約が確定しました"),
            "{}: {}",
            s.address,
            got[1].text()
        );
    }
    assert_eq!(desk.bookings_in(None).await, seekers.len() as i64);
    assert_eq!(desk.handled("unreadable").await, 0);
}

#[tokio::test]
async fn an_offer_to_a_dead_address_reaches_staff_with_the_phone_number() {
    let desk = TestDesk::new().await;
    // Postfix refuses bounce.test (scripts/mailstack.sh) and returns a DSN to us.
    let dead = unique_in("nobody", "bounce.test");
    let now = Utc::now();
    let wish = wish_ahead(&desk, 4, "11:00");
    let raw = Mail::new(&dead, &desk.address, "予約")
        .id(&format!("dead.{:x}@client.test", rand_u64()))
        .utf8_base64(&request_text("山田 花子", &wish))
        .build();
    send_raw(&dead, &desk.address, &raw).await;
    let first = desk.once_after(1, now).await;
    assert_eq!(first.handled, 1, "{first:?}");
    assert_eq!(desk.sent_count(Some("offer")).await, 1);
    // The bounce comes back to the desk's mailbox.
    let report = desk.once_after(1, now + Duration::minutes(1)).await;
    assert_eq!(report.handled, 1);
    assert_eq!(desk.unreachable_open().await, 1);
    let notes = wait_for(&desk.staff, "INBOX", 1).await;
    assert_eq!(notes.len(), 1, "one note");
    let text = notes[0].text();
    assert!(
        notes[0].inbound.subject.contains("メールが届きません"),
        "{}",
        notes[0].inbound.subject
    );
    for want in [
        "090-1234-5678",
        "日時のご案内",
        "5.1.1",
        "山田 花子",
        "ドメイン指定受信",
    ] {
        assert!(text.contains(want), "note lacks {want}: {text}");
    }
    // It stands in 要対応 with the number.
    let items = yoyaku::staff::views::unreachable(desk.desk.office())
        .await
        .expect("unreachable");
    assert_eq!(items.len(), 1);
    assert_eq!(items[0].phone.as_deref(), Some("090-1234-5678"));
    assert_eq!(items[0].kind, "offer");
    // The follow-up is due later: no mail goes to the dead address.
    let later = now + Duration::days(14);
    desk.desk.run_once(later).await.expect("pass");
    assert_eq!(
        desk.db_scalar("SELECT COUNT(*) FROM requests WHERE state IN ('followed_up', 'lapsed')")
            .await,
        1,
        "the timer ran"
    );
    assert_eq!(
        desk.db_scalar("SELECT COUNT(*) FROM outbox WHERE kind <> 'offer' AND kind <> 'staff'")
            .await,
        0,
        "nothing more to the dead address"
    );
    // A second bounce of the same address makes no second note.
    let reference = items[0].reference.clone();
    // Staff phoned: the line leaves 要対応.
    yoyaku::staff::phoned(desk.desk.office(), &reference, later, "tanaka")
        .await
        .expect("phoned");
    assert!(yoyaku::staff::views::unreachable(desk.desk.office())
        .await
        .expect("unreachable")
        .is_empty());
}

#[tokio::test]
async fn a_delay_notice_is_noted_and_nothing_is_sent() {
    let desk = TestDesk::new().await;
    let seeker = Seeker::new("slow");
    let now = Utc::now();
    let wish = wish_ahead(&desk, 4, "11:00");
    seeker
        .send(&desk.address, "予約", &request_text("山田 次郎", &wish))
        .await;
    desk.once_after(1, now).await;
    let offer = seeker.inbox(1).await;
    let our_id = offer[0].inbound.message_id.clone().expect("message id");
    let dsn = format!(
        "From: MAILER-DAEMON@mx.yoyaku.test\r\nTo: {to}\r\nSubject: Delayed Mail (still being retried)\r\nMessage-ID: <delay.{n:x}@mx.yoyaku.test>\r\nAuto-Submitted: auto-replied\r\nMIME-Version: 1.0\r\nContent-Type: multipart/report; report-type=delivery-status; boundary=\"B\"\r\n\r\n--B\r\nContent-Type: text/plain\r\n\r\nThis is the mail system. Your message could not be delivered yet; it will be retried.\r\n\r\n--B\r\nContent-Type: message/delivery-status\r\n\r\nReporting-MTA: dns; mx.yoyaku.test\r\n\r\nFinal-Recipient: rfc822; {seeker}\r\nAction: delayed\r\nStatus: 4.4.1\r\nDiagnostic-Code: X-Postfix; connect to mx: Connection timed out\r\n\r\n--B\r\nContent-Type: text/rfc822-headers\r\n\r\nFrom: {to}\r\nTo: {seeker}\r\nMessage-ID: <{our_id}>\r\nSubject: x\r\n\r\n--B--\r\n",
        to = desk.address,
        seeker = seeker.address,
        n = rand_u64(),
    );
    send_raw("", &desk.address, dsn.as_bytes()).await;
    let report = desk.once_after(1, now + Duration::minutes(1)).await;
    assert_eq!(report.handled, 1);
    assert_eq!(desk.handled("bounce_delayed").await, 1);
    assert_eq!(desk.db_scalar("SELECT COUNT(*) FROM unreachable").await, 0);
    assert_eq!(
        desk.db_scalar("SELECT COUNT(*) FROM outbox WHERE kind = 'staff'")
            .await,
        0,
        "staff are not bothered by a delay"
    );
    assert_eq!(
        desk.db_scalar("SELECT COUNT(*) FROM history WHERE event = 'bounce_delayed'")
            .await,
        1
    );
}

#[tokio::test]
async fn a_recipient_refused_at_submission_is_treated_as_a_bounce() {
    let desk = TestDesk::new().await;
    // Postfix refuses refuse.test at RCPT (scripts/mailstack.sh): 550 5.1.1.
    let refused = unique_in("gone", "refuse.test");
    let now = Utc::now();
    let wish = wish_ahead(&desk, 4, "11:00");
    let raw = Mail::new(&refused, &desk.address, "予約")
        .id(&format!("gone.{:x}@client.test", rand_u64()))
        .utf8_base64(&request_text("山田 三郎", &wish))
        .build();
    send_raw(&refused, &desk.address, &raw).await;
    let report = desk.once_after(1, now).await;
    assert_eq!(report.handled, 1, "{report:?}");
    assert_eq!(desk.unreachable_open().await, 1);
    let notes = wait_for(&desk.staff, "INBOX", 1).await;
    assert_eq!(notes.len(), 1, "one note");
    for want in ["090-1234-5678", "5.1.1", "日時のご案内"] {
        assert!(
            notes[0].text().contains(want),
            "note lacks {want}: {}",
            notes[0].text()
        );
    }
}

#[tokio::test]
async fn a_bounced_confirmation_stops_the_reminder_and_names_the_booking() {
    let desk = TestDesk::new().await;
    let seeker = Seeker::new("full-box");
    let now = Utc::now();
    // Four business days on, so the reminder's day (the business day before)
    // is still ahead: a session whose reminder day is today gets none (booked
    // on the reminder day, the confirmation is fresh).
    let calendar = &desk.desk.office().config().calendar;
    let day = calendar.add_business_days(calendar.local_date(now), 4);
    let wish = wish_on(day, "11:00");
    seeker
        .send(&desk.address, "予約", &request_text("山田 四郎", &wish))
        .await;
    desk.once_after(1, now).await;
    let offer = seeker.inbox(1).await;
    seeker.reply(&offer[0], "1").await;
    desk.once_after(1, now).await;
    let mails = seeker.inbox(2).await;
    let confirmation = mails[1].inbound.message_id.clone().expect("message id");
    assert!(mails[1].text().contains("ご予約が確定しました"));
    // The seeker's server accepted it, then gave up (a full mailbox).
    let dsn = format!(
        "From: MAILER-DAEMON@mx.yoyaku.test\r\nTo: {to}\r\nSubject: Undelivered Mail Returned to Sender\r\nMessage-ID: <dsn.{n:x}@mx.yoyaku.test>\r\nMIME-Version: 1.0\r\nContent-Type: multipart/report; report-type=delivery-status; boundary=\"B\"\r\n\r\n--B\r\nContent-Type: text/plain\r\n\r\nYour message could not be delivered.\r\n\r\n--B\r\nContent-Type: message/delivery-status\r\n\r\nReporting-MTA: dns; mx.yoyaku.test\r\n\r\nFinal-Recipient: rfc822; {seeker}\r\nAction: failed\r\nStatus: 5.2.2\r\nDiagnostic-Code: smtp; 552 5.2.2 mailbox full\r\n\r\n--B\r\nContent-Type: text/rfc822-headers\r\n\r\nFrom: {to}\r\nTo: {seeker}\r\nMessage-ID: <{confirmation}>\r\nSubject: x\r\n\r\n--B--\r\n",
        to = desk.address,
        seeker = seeker.address,
        n = rand_u64(),
    );
    send_raw("", &desk.address, dsn.as_bytes()).await;
    desk.once_after(1, now + Duration::minutes(1)).await;
    let notes = wait_for(&desk.staff, "INBOX", 1).await;
    assert_eq!(notes.len(), 1, "one note");
    for want in ["予約確定のお知らせ", "5.2.2", "090-1234-5678", "予約番号"] {
        assert!(
            notes[0].text().contains(want),
            "note lacks {want}: {}",
            notes[0].text()
        );
    }
    // The morning of the session: the reminder was due, and is not sent.
    desk.desk.run_once(jst_on(day, 7, 0)).await.expect("pass");
    assert_eq!(
        desk.db_scalar("SELECT COUNT(*) FROM outbox WHERE kind = 'reminder'")
            .await,
        0
    );
    assert_eq!(
        desk.db_scalar("SELECT COUNT(*) FROM requests WHERE reminded_at IS NOT NULL")
            .await,
        1,
        "the reminder's timer ran"
    );
}
