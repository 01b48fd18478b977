//! Logs at info level and above carry ids, never personal data: a full flow
//! (request, offer, consent, confirmation, a forged reply, staff notes) runs
//! with every log line captured, and the test seeker's name, 求職番号,
//! phone, address and the room passcode are searched for.

mod common;

use common::*;
use std::io::Write;
use std::sync::{Arc, Mutex};

#[derive(Clone, Default)]
struct Captured(Arc<Mutex<Vec<u8>>>);

impl Write for Captured {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

impl<'a> tracing_subscriber::fmt::MakeWriter<'a> for Captured {
    type Writer = Captured;
    fn make_writer(&'a self) -> Self::Writer {
        self.clone()
    }
}

#[tokio::test]
async fn a_full_flow_logs_no_personal_data() {
    let captured = Captured::default();
    tracing_subscriber::fmt()
        .with_writer(captured.clone())
        .with_ansi(false)
        .with_env_filter("info")
        .init();

    let desk = TestDesk::new().await;
    let seeker = Seeker::new("privacy");
    let intruder = Seeker::new("forger");
    let name = "秘密 花子";
    let body = format!("氏名：{name}\n求職番号：32010-98765432\n希望日時：12月3日 11:00\n電話番号：090-9876-5432\nメール：{}", seeker.address);
    seeker.send(&desk.address, "予約", &body).await;
    let now = jst(2026, 11, 25, 10, 0);
    desk.once_after(1, now).await;
    let offer = seeker.inbox(1).await.remove(0);
    intruder.reply(&offer, "1").await;
    desk.once_after(1, now).await;
    seeker.reply(&offer, "1でお願いします").await;
    desk.once_after(1, now).await;
    let confirm = seeker.inbox(2).await.remove(1);
    assert!(confirm.text().contains("pass0word"), "the flow really ran");
    // After booking: a need, a reminder, a cancellation, a staff booking
    // with its reminder and no-show, the digest, a report and a purge.
    seeker
        .reply(
            &confirm,
            "手話通訳をお願いできますか。やはりキャンセルします。",
        )
        .await;
    desk.once_after(1, jst(2026, 12, 2, 9, 0)).await;
    let reservation = yoyaku::staff::staff_book(
        desk.desk.office(),
        &yoyaku::staff::StaffBooking {
            seeker_number: "32010-98765432".into(),
            name: name.into(),
            email: seeker.address.clone(),
            phone: Some("090-9876-5432".into()),
            date: chrono::NaiveDate::from_ymd_opt(2026, 12, 8).expect("date"),
            time: chrono::NaiveTime::from_hms_opt(13, 30, 0).expect("time"),
            needs: vec!["interpreter".into()],
        },
        jst(2026, 12, 2, 9, 5),
        "staff-test",
    )
    .await
    .expect("staff booking");
    desk.desk
        .run_once(jst(2026, 12, 7, 9, 0))
        .await
        .expect("reminder pass");
    desk.desk
        .run_once(jst(2026, 12, 8, 13, 45))
        .await
        .expect("no-show pass");
    let _ = yoyaku::staff::show(desk.desk.office(), &reservation)
        .await
        .expect("show");
    let _ = yoyaku::staff::report(
        desk.desk.office(),
        chrono::NaiveDate::from_ymd_opt(2026, 12, 1).expect("month"),
    )
    .await
    .expect("report");
    let _ = yoyaku::staff::purge(
        desk.desk.office(),
        chrono::Duration::days(1),
        jst(2027, 1, 1, 0, 0),
    )
    .await
    .expect("purge");
    assert_eq!(
        seeker.inbox(5).await.len(),
        5,
        "offer, confirmation, cancellation, staff booking, reminder"
    );

    let logs =
        String::from_utf8_lossy(&captured.0.lock().unwrap_or_else(|p| p.into_inner())).to_string();
    assert!(
        logs.contains("message handled"),
        "logs were captured: {logs}"
    );
    let local_part = seeker
        .address
        .split('@')
        .next()
        .unwrap_or_default()
        .to_string();
    for secret in [
        name,
        "秘密",
        "32010-98765432",
        "3201098765432",
        "98765432",
        "090-9876-5432",
        "09098765432",
        &seeker.address,
        &local_part,
        &intruder.address,
        "pass0word",
    ] {
        assert!(!logs.contains(secret), "logs reveal {secret:?}:\n{logs}");
    }
}
