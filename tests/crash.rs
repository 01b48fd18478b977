//! Exactly once under crashes: the real daemon binary is killed with SIGKILL
//! at random moments while it answers requests and consents arriving through
//! the real Postfix and Dovecot, and restarted each time. Afterwards every
//! request has exactly one offer and every consent exactly one confirmation
//! (counted by Message-ID, which stays the same if a crash forces a resend),
//! and no slot is booked twice.

mod common;

use common::*;
use std::collections::{HashMap, HashSet};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

const SEEKERS: usize = 24;
const KILLS_PER_PHASE: usize = 6;

fn spawn_daemon(config: &std::path::Path) -> Child {
    Command::new(env!("CARGO_BIN_EXE_yoyaku"))
        .args(["run", "--config"])
        .arg(config)
        .env("YOYAKU_LOG", "warn")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("start yoyaku run")
}

fn kill(mut child: Child) {
    let _ = child.kill(); // SIGKILL on Unix
    let _ = child.wait();
}

/// Distinct Message-IDs per seeker mailbox.
async fn distinct_ids(seekers: &[Seeker]) -> HashMap<String, HashSet<String>> {
    let mut out = HashMap::new();
    for s in seekers {
        let ids = read_folder(&s.address, "INBOX")
            .await
            .into_iter()
            .filter_map(|m| m.inbound.message_id)
            .collect();
        out.insert(s.address.clone(), ids);
    }
    out
}

/// Kills the daemon at random moments, then lets it run until `done`.
async fn crash_and_settle(
    config: &std::path::Path,
    seed: &mut u64,
    seekers: &[Seeker],
    want_each: usize,
) {
    for _ in 0..KILLS_PER_PHASE {
        *seed ^= *seed << 13;
        *seed ^= *seed >> 7;
        *seed ^= *seed << 17;
        let child = spawn_daemon(config);
        tokio::time::sleep(Duration::from_millis(30 + *seed % 400)).await;
        kill(child);
    }
    let child = spawn_daemon(config);
    let start = Instant::now();
    loop {
        let ids = distinct_ids(seekers).await;
        if ids.values().all(|s| s.len() >= want_each) {
            break;
        }
        assert!(
            start.elapsed() < Duration::from_secs(60),
            "not settled: {ids:?}"
        );
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
    // Time for any duplicate to show up before counting.
    tokio::time::sleep(Duration::from_secs(2)).await;
    kill(child);
}

#[tokio::test]
async fn sigkill_at_random_moments_loses_nothing_and_answers_nothing_twice() {
    let desk = TestDesk::new().await;
    let cal = desk.desk.config().calendar.clone();
    let slots: Vec<_> = cal
        .bookable_slots(chrono::Utc::now())
        .into_iter()
        .skip(4)
        .take(SEEKERS)
        .collect();
    assert_eq!(slots.len(), SEEKERS);
    let seekers: Vec<Seeker> = (0..SEEKERS)
        .map(|i| Seeker::new(&format!("crash{i}")))
        .collect();
    for (s, slot) in seekers.iter().zip(&slots) {
        let wish = format!(
            "{}年{}月{}日 {}",
            slot.date.format("%Y"),
            slot.date.format("%-m"),
            slot.date.format("%-d"),
            slot.start.format("%H:%M")
        );
        s.send(&desk.address, "予約", &request_text("再起 太郎", &wish))
            .await;
    }
    wait_for(&desk.address, "INBOX", SEEKERS).await;
    let mut seed = 0x2545_F491_4F6C_DD1D_u64 ^ (std::process::id() as u64);

    crash_and_settle(&desk.config_path, &mut seed, &seekers, 1).await;
    let offers = distinct_ids(&seekers).await;
    for (who, ids) in &offers {
        assert_eq!(ids.len(), 1, "{who}: exactly one offer, got {ids:?}");
    }

    for s in &seekers {
        let offer = read_folder(&s.address, "INBOX").await.remove(0);
        s.reply(&offer, "1でお願いします").await;
    }
    crash_and_settle(&desk.config_path, &mut seed, &seekers, 2).await;
    let all = distinct_ids(&seekers).await;
    for (who, ids) in &all {
        assert_eq!(
            ids.len(),
            2,
            "{who}: one offer and one confirmation, got {ids:?}"
        );
    }
    for s in &seekers {
        let got = read_folder(&s.address, "INBOX").await;
        assert!(
            got.iter().any(|m| m.text().contains("予約が確定しました")),
            "{} has its confirmation",
            s.address
        );
    }
    assert_eq!(
        desk.db_scalar("SELECT COUNT(*) FROM requests").await,
        SEEKERS as i64
    );
    assert_eq!(
        desk.db_scalar("SELECT COUNT(*) FROM bookings WHERE status = 'confirmed'")
            .await,
        SEEKERS as i64
    );
    assert_eq!(
        desk.db_scalar("SELECT COUNT(*) FROM (SELECT room_id, slot_start FROM bookings GROUP BY room_id, slot_start HAVING COUNT(*) > 1)").await,
        0
    );
    assert!(
        read_folder(&desk.address, "INBOX").await.is_empty(),
        "every message was filed"
    );
}
