//! Staff bookings against the office's calendar: a day the office is
//! closed is refused unless staff say it is meant (recorded), and a
//! carrier's address is accepted. Dates come from the real clock.

mod common;

use chrono::{Datelike, Duration, NaiveTime, Utc, Weekday};
use common::*;
use yoyaku::staff::StaffBooking;

fn booking(email: &str, date: chrono::NaiveDate) -> StaffBooking {
    StaffBooking {
        seeker_number: "32010-12345678".into(),
        name: "職員 予約子".into(),
        email: email.into(),
        phone: Some("090-1234-5678".into()),
        date,
        time: NaiveTime::from_hms_opt(11, 0, 0).expect("time"),
        needs: vec![],
    }
}

#[tokio::test]
async fn a_closed_day_is_refused_unless_staff_mean_it() {
    let desk = TestDesk::new().await;
    let seeker = Seeker::new("saturday");
    let now = Utc::now();
    // A plain Saturday: one that is also a public holiday (2028-01-01) is
    // refused as the holiday.
    let cal = yoyaku::core::calendar::Calendar::standard();
    let mut saturday = now.date_naive() + Duration::days(7);
    while saturday.weekday() != Weekday::Sat
        || cal.closed_because(saturday).as_deref() != Some("a Saturday")
    {
        saturday += Duration::days(1);
    }
    let office = desk.desk.office();
    let refused =
        yoyaku::staff::staff_book(office, &booking(&seeker.address, saturday), now, "tanaka")
            .await
            .expect_err("a Saturday is refused");
    let text = refused.to_string();
    assert!(
        text.contains("Saturday") && text.contains("--force"),
        "{text}"
    );
    assert_eq!(desk.bookings_in(None).await, 0);
    let reservation = yoyaku::staff::staff_book_on(
        office,
        &booking(&seeker.address, saturday),
        true,
        now,
        "tanaka",
    )
    .await
    .expect("booked when meant");
    assert!(!reservation.is_empty());
    assert_eq!(
        desk.db_scalar("SELECT COUNT(*) FROM history WHERE event = 'booked_on_closed_day' AND actor = 'tanaka'")
            .await,
        1
    );
}

#[tokio::test]
async fn staff_can_book_a_seeker_with_a_carrier_address() {
    let desk = TestDesk::new().await;
    let address = format!("taro..yamada{:x}@docomo.test", rand_u64() % 0xffff_ffff);
    add_user(&address);
    let day = business_day_ahead(&desk.desk.office().config().calendar, Utc::now(), 3);
    yoyaku::staff::staff_book(
        desk.desk.office(),
        &booking(&address, day),
        Utc::now(),
        "tanaka",
    )
    .await
    .expect("a carrier's address is an address");
    let got = Seeker { address }.inbox(1).await;
    assert!(
        got[0].inbound.subject.contains("ご予約（予約番号"),
        "{}",
        got[0].inbound.subject
    );
}

/// `yoyaku close-day` and `reopen-day` from the command line: a reason is
/// required, a past day and a second closure are refused in words, and
/// the closure is kept with who closed it.
#[tokio::test]
async fn close_day_and_reopen_day_on_the_command_line() {
    let desk = TestDesk::new().await;
    let now = Utc::now();
    let day = business_day_ahead(&desk.desk.office().config().calendar, now, 4).to_string();
    let cfg = &desk.config_path;
    let (code, out) = yoyaku_cli(cfg, &["close-day", &day, "--reason", " "]);
    assert_ne!(code, Some(0), "{out}");
    assert!(out.contains("--reason"), "{out}");
    let (code, out) = yoyaku_cli(cfg, &["close-day", &day, "--reason", "台風のため"]);
    assert_eq!(code, Some(0), "{out}");
    assert!(
        out.contains(&format!("{day} closed; 0 booking(s)")),
        "{out}"
    );
    let (code, out) = yoyaku_cli(cfg, &["close-day", &day, "--reason", "台風のため"]);
    assert_ne!(code, Some(0), "{out}");
    assert!(out.contains("closed already"), "{out}");
    let yesterday = (now - Duration::days(1)).date_naive().to_string();
    let (code, out) = yoyaku_cli(cfg, &["close-day", &yesterday, "--reason", "停電"]);
    assert_ne!(code, Some(0), "{out}");
    assert!(out.contains("already past"), "{out}");
    let (code, out) = yoyaku_cli(cfg, &["reopen-day", &day]);
    assert_eq!(code, Some(0), "{out}");
    let (code, out) = yoyaku_cli(cfg, &["reopen-day", &day]);
    assert_ne!(code, Some(0), "{out}");
    assert!(out.contains("not a closed day"), "{out}");
    assert_eq!(
        desk.db_scalar(
            "SELECT COUNT(*) FROM closures WHERE reason = '台風のため' AND reopened_at IS NOT NULL"
        )
        .await,
        1
    );
}
