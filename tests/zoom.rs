//! A Zoom meeting per booking (issue 14), through the real mail stack and
//! the real Zoom client code against a local server that follows Zoom's
//! documented API (`common/fake_zoom.rs`) and fails when told to.

mod common;
#[path = "common/fake_zoom.rs"]
mod fake_zoom;

use chrono::{DateTime, Duration, Utc};
use common::*;
use fake_zoom::{FakeZoom, Fault, WEBHOOK_SECRET};
use yoyaku::core::booking::StaffAction;

/// Wed 2026-11-25 10:00 in Japan: the decision clock.
fn wed() -> DateTime<Utc> {
    jst(2026, 11, 25, 10, 0)
}

async fn zoom_desk(
    zoom: &FakeZoom,
    hosts: &[&str],
    fallback_minutes: f64,
    rooms: usize,
    more: &str,
) -> TestDesk {
    TestDesk::with(Options {
        rooms,
        extra: format!("{}\n{more}", zoom.config(hosts, fallback_minutes)),
        ..Options::default()
    })
    .await
}

/// Request, offer, consent: the booking is made in the pass at `now`;
/// returns its reservation number and the seeker's mail so far.
async fn consent(desk: &TestDesk, seeker: &Seeker, now: DateTime<Utc>) -> String {
    seeker
        .send(
            &desk.address,
            "オンライン相談予約",
            &request_text("山田 太郎", "12月3日 10時"),
        )
        .await;
    desk.once_after(1, now).await;
    let offer = seeker.inbox(1).await.remove(0);
    seeker.reply(&offer, "1番でお願いします。").await;
    desk.once_after(1, now).await;
    desk.desk
        .office()
        .store()
        .probe_value("SELECT reservation FROM bookings", &[])
        .await
        .expect("a booking")
}

async fn seekers_mail_after(seeker: &Seeker, n: usize) -> Vec<Received> {
    // Whatever else arrives shows up too: settle, then read all.
    let all = seeker.inbox(n).await;
    tokio::time::sleep(std::time::Duration::from_millis(800)).await;
    let again = read_folder(&seeker.address, "INBOX").await;
    assert_eq!(again.len(), all.len(), "no more mail to the seeker");
    again
}

#[tokio::test]
async fn consent_makes_one_meeting_the_confirmation_carries_it_and_cancel_removes_it() {
    let zoom = FakeZoom::start().await;
    let desk = zoom_desk(&zoom, &["me"], 15.0, 1, "").await;
    let seeker = Seeker::new("zoomok");
    let reservation = consent(&desk, &seeker, wed()).await;

    let made = zoom.meetings_for(&reservation);
    assert_eq!(made.len(), 1, "one meeting for the booking");
    let m = &made[0];
    let slot: String = desk
        .desk
        .office()
        .store()
        .probe_value("SELECT slot_start FROM bookings", &[])
        .await
        .expect("slot");
    let local = DateTime::parse_from_rfc3339(&slot)
        .expect("time")
        .with_timezone(&chrono_tz::Asia::Tokyo);
    assert_eq!(m.start_time, local.format("%Y-%m-%dT%H:%M:%S").to_string());
    assert!(m.start_time.starts_with("2026-12-03T"));
    assert_eq!(m.timezone, "Asia/Tokyo");
    assert_eq!(m.duration, 30);
    assert!(m.waiting_room, "waiting room as configured");
    assert!(m.topic.contains("ハローワーク出雲"), "{}", m.topic);

    let mail = seekers_mail_after(&seeker, 2).await;
    let confirm = mail[1].text();
    for needle in [
        m.id.to_string(),
        m.password.clone(),
        m.join_url.clone(),
        reservation.clone(),
    ] {
        assert!(
            confirm.contains(&needle),
            "confirmation lacks {needle:?}: {confirm}"
        );
    }
    assert!(
        !confirm.contains("pass0word"),
        "the shared room is not sent with a meeting of its own"
    );
    assert_eq!(
        desk.db_scalar("SELECT COUNT(*) FROM meeting_jobs WHERE done = 1 AND confirmed = 1")
            .await,
        1
    );

    // The reminder, the business day before, carries the same meeting.
    desk.desk
        .run_once(jst(2026, 12, 2, 10, 0))
        .await
        .expect("pass");
    let reminder = seeker.inbox(3).await.remove(2);
    for needle in [m.id.to_string(), m.join_url.clone()] {
        assert!(
            reminder.text().contains(&needle),
            "reminder lacks {needle:?}: {}",
            reminder.text()
        );
    }

    // Staff cancel: the meeting is deleted on the next pass.
    yoyaku::staff::staff_action(
        desk.desk.office(),
        &reservation,
        StaffAction::Cancel,
        wed(),
        "test",
    )
    .await
    .expect("cancel");
    desk.desk.run_once(wed()).await.expect("pass");
    assert!(
        zoom.meetings_for(&reservation).is_empty(),
        "nothing left on Zoom"
    );
    assert_eq!(zoom.lock().deletes, 1);
}

#[tokio::test]
async fn a_delete_that_keeps_failing_is_retried_and_reported_to_staff_once() {
    let zoom = FakeZoom::start().await;
    let desk = zoom_desk(&zoom, &["me"], 15.0, 1, "").await;
    let seeker = Seeker::new("zoomdel");
    let reservation = consent(&desk, &seeker, wed()).await;
    assert_eq!(zoom.meetings_for(&reservation).len(), 1);
    zoom.set_down(true);
    yoyaku::staff::staff_action(
        desk.desk.office(),
        &reservation,
        StaffAction::Cancel,
        wed(),
        "test",
    )
    .await
    .expect("cancel");
    let mut t = wed();
    for _ in 0..6 {
        t += Duration::minutes(10);
        desk.desk.run_once(t).await.expect("pass");
    }
    let staff = wait_for(&desk.staff, "INBOX", 1).await;
    assert!(
        staff[0].text().contains("削除できません") && staff[0].text().contains(&reservation),
        "{}",
        staff[0].text()
    );
    assert_eq!(zoom.meetings_for(&reservation).len(), 1, "Zoom is down");
    zoom.set_down(false);
    desk.desk
        .run_once(t + Duration::minutes(10))
        .await
        .expect("pass");
    assert!(
        zoom.meetings_for(&reservation).is_empty(),
        "deleted once Zoom is back"
    );
    tokio::time::sleep(std::time::Duration::from_millis(500)).await;
    assert_eq!(
        read_folder(&desk.staff, "INBOX").await.len(),
        1,
        "staff told once"
    );
}

#[tokio::test]
async fn a_create_whose_answer_was_lost_is_adopted_not_made_twice() {
    let zoom = FakeZoom::start().await;
    let desk = zoom_desk(&zoom, &["me"], 15.0, 1, "").await;
    let seeker = Seeker::new("zoomlost");
    zoom.fail_next(Fault::LoseAnswer);
    let reservation = consent(&desk, &seeker, wed()).await;
    assert_eq!(zoom.meetings_for(&reservation).len(), 1, "Zoom made it");
    assert_eq!(
        desk.db_scalar("SELECT COUNT(*) FROM meeting_jobs WHERE maybe_created = 1 AND done = 0")
            .await,
        1,
        "the desk knows the outcome is unknown"
    );
    // No confirmation without the meeting.
    assert_eq!(read_folder(&seeker.address, "INBOX").await.len(), 1);

    desk.desk
        .run_once(wed() + Duration::seconds(30))
        .await
        .expect("pass");
    let made = zoom.meetings_for(&reservation);
    assert_eq!(made.len(), 1, "still one meeting");
    assert_eq!(
        zoom.lock().creates,
        1,
        "found by listing, not created again"
    );
    assert!(zoom.lock().lists >= 1);
    let mail = seekers_mail_after(&seeker, 2).await;
    assert!(mail[1].text().contains(&made[0].password));
}

#[tokio::test]
async fn rate_limits_errors_and_an_expired_token_are_retried_to_one_meeting() {
    let zoom = FakeZoom::start().await;
    let desk = zoom_desk(&zoom, &["me"], 15.0, 1, "").await;
    let seeker = Seeker::new("zoomretry");
    // The first create: the token has expired (one renewal, one retry),
    // then 429 with Retry-After.
    zoom.fail_next(Fault::ExpireTokens);
    zoom.fail_next(Fault::TooMany {
        retry_after: Some(7),
    });
    let reservation = consent(&desk, &seeker, wed()).await;
    assert_eq!(zoom.lock().tokens_issued, 2, "one new token after the 401");
    let due: String = desk
        .desk
        .office()
        .store()
        .probe_value("SELECT next_attempt_at FROM meeting_jobs", &[])
        .await
        .expect("job");
    let due = DateTime::parse_from_rfc3339(&due).expect("time");
    assert_eq!(
        due,
        wed() + Duration::seconds(7),
        "Retry-After is waited for"
    );

    // 429 without a time, then a 500: backed off, then made.
    zoom.fail_next(Fault::TooMany { retry_after: None });
    desk.desk
        .run_once(wed() + Duration::seconds(8))
        .await
        .expect("pass");
    zoom.fail_next(Fault::ServerError);
    desk.desk
        .run_once(wed() + Duration::seconds(60))
        .await
        .expect("pass");
    assert!(zoom.meetings_for(&reservation).is_empty());
    desk.desk
        .run_once(wed() + Duration::seconds(120))
        .await
        .expect("pass");
    assert_eq!(zoom.meetings_for(&reservation).len(), 1);
    let mail = seekers_mail_after(&seeker, 2).await;
    assert_eq!(mail.len(), 2, "one confirmation");
    // Later passes send nothing more.
    desk.desk
        .run_once(wed() + Duration::seconds(600))
        .await
        .expect("pass");
    assert_eq!(seekers_mail_after(&seeker, 2).await.len(), 2);
}

#[tokio::test]
async fn the_daily_limit_moves_to_the_next_host() {
    let zoom = FakeZoom::start().await;
    zoom.lock().daily_limit.insert("first@example.jp".into(), 0);
    let desk = zoom_desk(
        &zoom,
        &["first@example.jp", "second@example.jp"],
        15.0,
        1,
        "",
    )
    .await;
    let seeker = Seeker::new("zoomdaily");
    let reservation = consent(&desk, &seeker, wed()).await;
    desk.desk.run_once(wed()).await.expect("pass");
    let made = zoom.meetings_for(&reservation);
    assert_eq!(made.len(), 1);
    assert_eq!(made[0].host, "second@example.jp");
    assert_eq!(seekers_mail_after(&seeker, 2).await.len(), 2);
}

#[tokio::test]
async fn after_the_outage_limit_the_fallback_room_is_sent_once_and_staff_told() {
    let zoom = FakeZoom::start().await;
    let desk = zoom_desk(&zoom, &["me"], 1.0, 1, "").await;
    let seeker = Seeker::new("zoomfallback");
    zoom.set_down(true);
    let reservation = consent(&desk, &seeker, wed()).await;
    desk.desk
        .run_once(wed() + Duration::seconds(30))
        .await
        .expect("pass");
    assert_eq!(
        read_folder(&seeker.address, "INBOX").await.len(),
        1,
        "no confirmation yet"
    );
    assert!(
        read_folder(&desk.staff, "INBOX").await.is_empty(),
        "the fallback covers it for now"
    );

    desk.desk
        .run_once(wed() + Duration::seconds(61))
        .await
        .expect("pass");
    let mail = seekers_mail_after(&seeker, 2).await;
    let confirm = mail[1].text();
    assert!(
        confirm.contains("pass0word") && confirm.contains("810 0000 0000"),
        "{confirm}"
    );
    assert!(confirm.contains(&reservation));
    let staff = wait_for(&desk.staff, "INBOX", 1).await;
    assert!(
        staff[0].text().contains("予備の部屋"),
        "{}",
        staff[0].text()
    );

    // Zoom back: nothing more to the seeker, nothing left on Zoom.
    zoom.set_down(false);
    desk.desk
        .run_once(wed() + Duration::seconds(200))
        .await
        .expect("pass");
    desk.desk
        .run_once(wed() + Duration::seconds(400))
        .await
        .expect("pass");
    assert_eq!(seekers_mail_after(&seeker, 2).await.len(), 2);
    assert!(zoom.meetings_for(&reservation).is_empty());
    assert_eq!(desk.meeting_jobs_open().await, 0);
}

#[tokio::test]
async fn without_a_fallback_room_staff_are_told_at_once_and_the_job_keeps_trying() {
    let zoom = FakeZoom::start().await;
    // One session at a time, no passcode: it cannot stand in.
    let desk = zoom_desk(&zoom, &["me"], 1.0, 0, "[[meeting.rooms]]\nid = \"A\"\n").await;
    let seeker = Seeker::new("zoomnoroom");
    zoom.set_down(true);
    let reservation = consent(&desk, &seeker, wed()).await;
    let staff = wait_for(&desk.staff, "INBOX", 1).await;
    assert!(staff[0]
        .text()
        .contains("Zoom のミーティングを作成できません"));
    desk.desk
        .run_once(wed() + Duration::seconds(90))
        .await
        .expect("pass");
    assert_eq!(
        read_folder(&seeker.address, "INBOX").await.len(),
        1,
        "never a confirmation without a way to join"
    );

    zoom.set_down(false);
    desk.desk
        .run_once(wed() + Duration::seconds(900))
        .await
        .expect("pass");
    let made = zoom.meetings_for(&reservation);
    assert_eq!(made.len(), 1);
    let mail = seekers_mail_after(&seeker, 2).await;
    assert!(mail[1].text().contains(&made[0].password));
    tokio::time::sleep(std::time::Duration::from_millis(500)).await;
    assert_eq!(
        read_folder(&desk.staff, "INBOX").await.len(),
        1,
        "staff told once"
    );
}

#[tokio::test]
async fn participant_joined_records_attendance_and_forged_or_stale_events_are_refused() {
    let zoom = FakeZoom::start().await;
    let desk = zoom_desk(&zoom, &["me"], 15.0, 1, "").await;
    let seeker = Seeker::new("zoomhook");
    let reservation = consent(&desk, &seeker, wed()).await;
    let meeting = zoom.meetings_for(&reservation)[0].id;

    // The staff web server of the same office, in this process.
    let cfg = yoyaku::config::Config::load(&desk.config_path).expect("config");
    let web_desk = std::sync::Arc::new(yoyaku::desk::Desk::new(cfg).await.expect("desk"));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let base = format!("http://{}", listener.local_addr().expect("addr"));
    let settings = yoyaku::config::Web {
        listen: listener.local_addr().expect("addr"),
        secure_cookies: false,
        metrics_token: None,
        metrics_listen: None,
        session_idle: std::time::Duration::from_secs(3600),
        session_max: std::time::Duration::from_secs(7200),
    };
    let app = std::sync::Arc::new(
        yoyaku::web::WebApp::new(vec![web_desk], settings, None).expect("web app"),
    );
    tokio::spawn(yoyaku::web::serve(app, listener, std::future::pending()));
    // reqwest is built without a TLS provider (yoyaku brings its own).
    let _ = tokio_rustls::rustls::crypto::ring::default_provider().install_default();
    let client = reqwest::Client::new();
    let post = |body: String, ts: i64, secret: &str| {
        let ts = ts.to_string();
        let sig = yoyaku::meeting::webhook::sign(secret, &ts, body.as_bytes());
        client
            .post(format!("{base}/zoom/webhook"))
            .header("content-type", "application/json")
            .header("x-zm-request-timestamp", ts)
            .header("x-zm-signature", sig)
            .body(body)
            .send()
    };
    let now = Utc::now().timestamp();

    // Zoom's URL validation.
    let r = post(
        r#"{"event":"endpoint.url_validation","payload":{"plainToken":"qgg8vlvZRS6UYooatFL8Aw"},"event_ts":1}"#.into(),
        now,
        WEBHOOK_SECRET,
    )
    .await
    .expect("post");
    assert_eq!(r.status(), 200);
    let v: serde_json::Value = r.json().await.expect("json");
    assert_eq!(v["plainToken"], "qgg8vlvZRS6UYooatFL8Aw");
    assert_eq!(
        v["encryptedToken"],
        yoyaku::meeting::webhook::encrypt_token(WEBHOOK_SECRET, "qgg8vlvZRS6UYooatFL8Aw")
    );

    let joined = format!(
        r#"{{"event":"meeting.participant_joined","event_ts":{ms},"payload":{{"account_id":"acct-test","object":{{"id":"{meeting}","uuid":"u","host_id":"h","topic":"t","type":2,"start_time":"2026-12-03T01:00:00Z","timezone":"Asia/Tokyo","duration":30,"participant":{{"user_id":"1","user_name":"山田 太郎","id":"p","participant_uuid":"pu","join_time":"2026-12-03T01:01:00Z"}}}}}}}}"#,
        ms = now * 1000
    );
    // Forged (another secret) and stale (signed, 10 minutes old): refused.
    let r = post(joined.clone(), now, "not-the-secret")
        .await
        .expect("post");
    assert_eq!(r.status(), 401);
    let r = post(joined.clone(), now - 600, WEBHOOK_SECRET)
        .await
        .expect("post");
    assert_eq!(r.status(), 401);
    assert_eq!(desk.bookings_in(Some("attended")).await, 0);

    // The host joining is not the seeker attending.
    let host_joined = joined.replace(r#""id":"p""#, r#""id":"h""#);
    assert_ne!(host_joined, joined);
    let r = post(host_joined, now, WEBHOOK_SECRET).await.expect("post");
    assert_eq!(r.status(), 200);
    assert_eq!(desk.bookings_in(Some("attended")).await, 0);

    // Genuine: attended, by "zoom". The same signed request sent again is
    // refused (409, issue 28); the event delivered again with a new
    // timestamp (as Zoom retries) is accepted and changes nothing.
    let r = post(joined.clone(), now, WEBHOOK_SECRET)
        .await
        .expect("post");
    assert_eq!(r.status(), 200);
    let r = post(joined.clone(), now, WEBHOOK_SECRET)
        .await
        .expect("post");
    assert_eq!(r.status(), 409, "a replay is refused");
    let r = post(joined.clone(), now + 1, WEBHOOK_SECRET)
        .await
        .expect("post");
    assert_eq!(r.status(), 200);
    assert_eq!(desk.bookings_in(Some("attended")).await, 1);
    assert_eq!(
        desk.db_scalar(
            "SELECT COUNT(*) FROM history WHERE event = 'staff_attended' AND actor = 'zoom'"
        )
        .await,
        1
    );
    // A meeting of no booking is ignored.
    let other = joined.replace(&meeting.to_string(), "99999999999");
    let r = post(other, now, WEBHOOK_SECRET).await.expect("post");
    assert_eq!(r.status(), 200);
}

/// With Zoom and no `[[meeting.rooms]]`, a slot holds one session per
/// host, each created under its own host (a Zoom user hosts one meeting at
/// a time): two seekers book the same slot, a third is offered others.
#[tokio::test]
async fn two_hosts_without_rooms_hold_two_sessions_per_slot() {
    let zoom = FakeZoom::start().await;
    let desk = zoom_desk(&zoom, &["me", "second@example.jp"], 15.0, 0, "").await;
    let mut passcodes = Vec::new();
    for (name, number) in [("zoomcap1", "1"), ("zoomcap2", "2")] {
        let seeker = Seeker::new(name);
        seeker
            .send(
                &desk.address,
                "オンライン相談予約",
                &request_text("山田 太郎", "12月3日 11:00")
                    .replace("12345678", &format!("3333000{number}")),
            )
            .await;
        desk.once_after(1, wed()).await;
        let offer = seeker.inbox(1).await.remove(0);
        assert!(
            offer.text().contains("【1】2026年12月3日（木）11:00"),
            "{}",
            offer.text()
        );
        seeker.reply(&offer, "1番でお願いします。").await;
        desk.once_after(1, wed()).await;
        let confirm = seekers_mail_after(&seeker, 2).await.remove(1);
        assert!(
            confirm.text().contains("予約が確定しました"),
            "{}",
            confirm.text()
        );
        passcodes.push(confirm.text().to_string());
    }
    let meetings: Vec<(String, String)> = zoom
        .lock()
        .meetings
        .values()
        .map(|m| (m.host.clone(), m.password.clone()))
        .collect();
    assert_eq!(meetings.len(), 2, "{meetings:?}");
    assert_ne!(
        meetings[0].0, meetings[1].0,
        "one meeting per host at a time"
    );
    // Each seeker got its own meeting, not the other's.
    assert!(passcodes[0].contains(&meetings[0].1) != passcodes[0].contains(&meetings[1].1));
    assert!(passcodes[1].contains(&meetings[0].1) != passcodes[1].contains(&meetings[1].1));

    let third = Seeker::new("zoomcap3");
    third
        .send(
            &desk.address,
            "オンライン相談予約",
            &request_text("山田 三郎", "12月3日 11:00").replace("12345678", "33330003"),
        )
        .await;
    desk.once_after(1, wed()).await;
    let offer = third.inbox(1).await.remove(0);
    assert!(
        !offer.text().contains("【1】2026年12月3日（木）11:00"),
        "the slot is full: {}",
        offer.text()
    );
}

#[tokio::test]
async fn check_reports_the_token_and_each_host() {
    let zoom = FakeZoom::start().await;
    let desk = zoom_desk(&zoom, &["me", "nobody@example.jp"], 15.0, 1, "").await;
    // Async: the fake Zoom answers on this test's runtime.
    let out = tokio::process::Command::new(env!("CARGO_BIN_EXE_yoyaku"))
        .args(["check", "--config"])
        .arg(&desk.config_path)
        .output()
        .await
        .expect("yoyaku check");
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(text.contains("zoom: token ok"), "{text}");
    assert!(text.contains("zoom: host me ok"), "{text}");
    assert!(text.contains("zoom: host nobody@example.jp:"), "{text}");
    assert!(!out.status.success(), "a host that fails fails the check");
    assert!(!text.contains(fake_zoom::CLIENT_SECRET));
}

/// The crash test's Zoom desk: `yoyaku run` killed with SIGKILL while its
/// creates are under way (Zoom answers each after 400 ms), restarted each
/// time; afterwards every booking has exactly one meeting, every cancelled
/// one none, and every seeker one confirmation carrying its meeting.
#[tokio::test]
async fn sigkills_during_creates_leave_one_meeting_per_booking_and_none_for_cancelled() {
    let n = std::env::var("YOYAKU_ZOOM_CRASH_SEEKERS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(8usize);
    let kills = std::env::var("YOYAKU_ZOOM_CRASH_KILLS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(4usize);
    let zoom = FakeZoom::start().await;
    // No fallback within the test: every booking must get its meeting.
    let desk = zoom_desk(&zoom, &["me"], 100_000.0, 4, "").await;
    // Requests and consents in this process while Zoom is down: every job
    // waits, its first create's outcome unknown (a 500).
    zoom.set_down(true);
    // The daemon below decides on the real clock: the passes here do too,
    // and the wished day lies ahead of it, so no session begins (and no
    // no-show rule fires) while the test runs, whatever the date.
    let now = Utc::now();
    let wish = wish_ahead(&desk, 7, "");
    let seekers: Vec<Seeker> = (0..n).map(|i| Seeker::new(&format!("zcrash{i}"))).collect();
    for s in &seekers {
        s.send(
            &desk.address,
            "オンライン相談予約",
            &request_text("山田 太郎", wish.trim()),
        )
        .await;
    }
    desk.once_after(n, now).await;
    for (i, s) in seekers.iter().enumerate() {
        let offer = s.inbox(1).await.remove(0);
        s.reply(&offer, &format!("{}番でお願いします。", i % 4 + 1))
            .await;
    }
    desk.once_after(n, now).await;
    assert_eq!(desk.bookings_in(Some("confirmed")).await, n as i64);
    // Two are cancelled before Zoom is back: nothing may be left for them.
    let cancelled: Vec<String> = {
        let mut out = Vec::new();
        for seeker in seekers.iter().take(2) {
            let r: String = desk
                .desk
                .office()
                .store()
                .probe_value(
                    "SELECT b.reservation FROM bookings b JOIN requests r ON r.id = b.request_id WHERE r.seeker_address = $1",
                    &[seeker.address.as_str()],
                )
                .await
                .expect("reservation");
            yoyaku::staff::staff_action(
                desk.desk.office(),
                &r,
                StaffAction::Cancel,
                Utc::now(),
                "test",
            )
            .await
            .expect("cancel");
            out.push(r);
        }
        out
    };

    zoom.set_down(false);
    zoom.lock().slow_create = Some(std::time::Duration::from_millis(400));
    let mut rng = Rng(0x5eed_0000_0000_0001 ^ std::process::id() as u64);
    let mut killed_in_create = 0;
    for _ in 0..kills {
        let before = zoom.lock().creates;
        let daemon = Daemon::start(&desk.config_path);
        // Kill inside a create: after Zoom made the meeting, before its answer.
        let started = std::time::Instant::now();
        while zoom.lock().creates == before && started.elapsed().as_secs() < 20 {
            tokio::time::sleep(std::time::Duration::from_millis(20)).await;
        }
        tokio::time::sleep(std::time::Duration::from_millis(rng.below(300) as u64)).await;
        if zoom.lock().creates > before {
            killed_in_create += 1;
        }
        drop(daemon);
    }
    // One more cancelled after the kills, its meeting probably made by now.
    let late: String = desk
        .desk
        .office()
        .store()
        .probe_value(
            "SELECT b.reservation FROM bookings b JOIN requests r ON r.id = b.request_id WHERE r.seeker_address = $1",
            &[seekers[2.min(n - 1)].address.as_str()],
        )
        .await
        .expect("reservation");
    yoyaku::staff::staff_action(
        desk.desk.office(),
        &late,
        StaffAction::Cancel,
        Utc::now(),
        "test",
    )
    .await
    .expect("cancel");
    let daemon = Daemon::start(&desk.config_path);
    let started = std::time::Instant::now();
    loop {
        let open = desk.meeting_jobs_open().await;
        if open == 0 {
            break;
        }
        assert!(
            started.elapsed().as_secs() < 120,
            "{open} meeting jobs still open"
        );
        tokio::time::sleep(std::time::Duration::from_millis(300)).await;
    }
    // Let the last confirmations go out.
    tokio::time::sleep(std::time::Duration::from_secs(2)).await;
    drop(daemon);

    let mut confirmed = 0;
    for s in &seekers {
        let reservation: String = desk
            .desk
            .office()
            .store()
            .probe_value(
                "SELECT b.reservation FROM bookings b JOIN requests r ON r.id = b.request_id WHERE r.seeker_address = $1",
                &[s.address.as_str()],
            )
            .await
            .expect("reservation");
        let meetings = zoom.meetings_for(&reservation);
        let mail = read_folder(&s.address, "INBOX").await;
        let confirmations: std::collections::HashSet<String> = mail
            .iter()
            .filter(|m| m.text().contains("利用規約への同意を確認し"))
            .map(|m| m.inbound.message_id.clone().unwrap_or_default())
            .collect();
        if reservation == late {
            assert!(
                meetings.is_empty(),
                "{reservation}: cancelled, its meeting deleted"
            );
            assert!(confirmations.len() <= 1);
        } else if cancelled.contains(&reservation) {
            assert!(
                meetings.is_empty(),
                "{reservation}: cancelled, yet {} meeting(s)",
                meetings.len()
            );
            assert!(
                confirmations.is_empty(),
                "{reservation}: cancelled before its meeting, no confirmation"
            );
        } else {
            confirmed += 1;
            assert_eq!(meetings.len(), 1, "{reservation}: one meeting");
            assert_eq!(confirmations.len(), 1, "{reservation}: one confirmation");
            let text = mail
                .iter()
                .find(|m| m.text().contains(&meetings[0].password))
                .map(|m| m.text().to_string());
            assert!(
                text.is_some(),
                "{reservation}: the confirmation carries the meeting's passcode"
            );
        }
    }
    assert_eq!(zoom.meeting_count(), confirmed, "nothing else left on Zoom");
    let (creates, deletes, lists) = {
        let z = zoom.lock();
        (z.creates, z.deletes, z.lists)
    };
    println!(
        "zoom crash: {n} bookings ({} cancelled before Zoom came back, 1 after), {kills} kills ({killed_in_create} inside a create), {creates} creates, {deletes} deletes, {lists} lists",
        cancelled.len()
    );
}
