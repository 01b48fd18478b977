//! Faults through the real mail stack (issue 4): the SMTP and IMAP servers
//! stopped and started under the desk, the database locked, the same mail
//! delivered three times and the mailbox recreated (a new UIDVALIDITY), and
//! two daemons with hundreds of consents racing for one slot.
//!
//! The tests of this file stop shared servers, so they take turns (cargo
//! runs test binaries one after another, so no other file is affected).
//! Sizes come from the environment; `scripts/harness.sh` runs the long ones.

mod common;

use chrono::{Duration as ChronoDuration, Utc};
use common::*;
use std::process::Command;
use std::time::{Duration, Instant};
use tokio::sync::Mutex;
use yoyaku::config::Config;
use yoyaku::desk::Desk;
use yoyaku::mail::imap::ImapSession;

static SERIAL: Mutex<()> = Mutex::const_new(());

fn env_or(key: &str, default: usize) -> usize {
    std::env::var(key)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

fn mailstack(cmd: &str) {
    let script = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("scripts/mailstack.sh");
    let status = Command::new("bash")
        .arg(script)
        .arg(cmd)
        .status()
        .expect("mailstack");
    assert!(status.success(), "mailstack {cmd}");
}

/// Starts a stopped server again even when the test fails half-way.
struct Restart(&'static str);

impl Drop for Restart {
    fn drop(&mut self) {
        mailstack(self.0);
    }
}

/// SMTP down for minutes: the desk keeps handling mail, the answers wait in
/// the outbox with growing pauses between attempts, and go out once the
/// server is back, each exactly once.
#[tokio::test]
async fn smtp_down_for_minutes_delays_but_loses_nothing() {
    let _turn = SERIAL.lock().await;
    let desk = TestDesk::new().await;
    let seeker = Seeker::new("smtpdown");
    seeker
        .send(
            &desk.address,
            "予約",
            &request_text("送信 停止", "12月3日 11:00"),
        )
        .await;
    wait_for_mail_to(&desk.address, 1).await;
    mailstack("stop-smtp");
    let restart = Restart("start-smtp");
    let now = wed();
    let r = desk
        .desk
        .run_once(now)
        .await
        .expect("a pass with SMTP down");
    assert_eq!((r.handled, r.sent), (1, 0));
    assert!(r.send_failures >= 1);
    // Minutes later, still down: no mail lost, no storm of attempts.
    for minutes in [1, 3, 6] {
        let r = desk
            .desk
            .run_once(now + ChronoDuration::minutes(minutes))
            .await
            .expect("pass");
        assert_eq!(r.sent, 0);
    }
    let attempts = desk
        .db_scalar("SELECT MAX(attempts) FROM outbox WHERE status = 'pending'")
        .await;
    assert!(
        (1..=4).contains(&attempts),
        "backed off, {attempts} attempts"
    );
    drop(restart);
    // Past every back-off: the pass that follows the outage delivers.
    let r = desk
        .desk
        .run_once(now + ChronoDuration::hours(2))
        .await
        .expect("pass");
    assert_eq!(r.sent, 1);
    let got = seeker.inbox(1).await;
    assert!(got[0].text().contains("【1】"), "{}", got[0].text());
    assert_eq!(settle_and_read(&seeker.address, "INBOX").await.len(), 1);
}

/// IMAP down while the daemon idles: it reconnects with back-off and
/// answers what arrives once the server is back; it never exits.
#[tokio::test]
async fn imap_down_mid_idle_reconnects_and_answers() {
    let _turn = SERIAL.lock().await;
    let desk = TestDesk::new().await;
    let mut daemon = Daemon::start(&desk.config_path);
    let first = Seeker::new("idle1");
    first
        .send(
            &desk.address,
            "予約",
            &request_text("接続 一郎", &wish_ahead(&desk, 7, "11:00")),
        )
        .await;
    first.inbox(1).await;
    mailstack("stop-imap");
    let restart = Restart("start-imap");
    tokio::time::sleep(Duration::from_secs(4)).await;
    assert!(daemon.alive(), "the daemon survives the outage");
    drop(restart);
    let second = Seeker::new("idle2");
    second
        .send(
            &desk.address,
            "予約",
            &request_text("接続 二郎", &wish_ahead(&desk, 8, "11:00")),
        )
        .await;
    let start = Instant::now();
    loop {
        if !read_folder(&second.address, "INBOX").await.is_empty() {
            break;
        }
        assert!(
            start.elapsed() < Duration::from_secs(45),
            "no answer after the IMAP outage"
        );
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
    assert!(daemon.alive());
    assert_eq!(settle_and_read(&first.address, "INBOX").await.len(), 1);
}

/// Another client holding the database (see the test below).
enum DbLock {
    Sqlite(sqlx::SqlitePool, sqlx::pool::PoolConnection<sqlx::Sqlite>),
    Postgres(sqlx::PgConnection),
}

impl DbLock {
    async fn take(url: &str) -> DbLock {
        use sqlx::Connection;
        if url.starts_with("postgres") {
            let mut conn = sqlx::PgConnection::connect(url).await.expect("connect");
            sqlx::raw_sql(
                "BEGIN; LOCK TABLE requests, processed, outbox, failures IN ACCESS EXCLUSIVE MODE",
            )
            .execute(&mut conn)
            .await
            .expect("lock");
            return DbLock::Postgres(conn);
        }
        let locker = sqlx::sqlite::SqlitePoolOptions::new()
            .max_connections(1)
            .connect(url)
            .await
            .expect("second connection");
        let mut conn = locker.acquire().await.expect("conn");
        sqlx::query("BEGIN EXCLUSIVE")
            .execute(&mut *conn)
            .await
            .expect("lock");
        DbLock::Sqlite(locker, conn)
    }

    async fn release(self) {
        match self {
            DbLock::Sqlite(pool, mut conn) => {
                sqlx::query("COMMIT")
                    .execute(&mut *conn)
                    .await
                    .expect("unlock");
                drop(conn);
                pool.close().await;
            }
            DbLock::Postgres(mut conn) => {
                sqlx::query("COMMIT")
                    .execute(&mut conn)
                    .await
                    .expect("unlock");
            }
        }
    }
}

/// The database locked by another process for longer than the busy
/// time-out: the pass fails, the daemon keeps running and retries, and the
/// request is answered once the lock is gone.
#[tokio::test]
async fn a_locked_database_delays_but_loses_nothing() {
    let _turn = SERIAL.lock().await;
    let desk = TestDesk::new().await;
    let mut daemon = Daemon::start(&desk.config_path);
    // Another client holds the database: SQLite's write lock, or on
    // PostgreSQL an exclusive lock on the tables every pass writes.
    let lock = DbLock::take(&desk.db_url).await;
    let seeker = Seeker::new("locked");
    seeker
        .send(
            &desk.address,
            "予約",
            &request_text("施錠 太郎", &wish_ahead(&desk, 7, "11:00")),
        )
        .await;
    // Longer than the 10 s busy time-out.
    tokio::time::sleep(Duration::from_secs(12)).await;
    assert!(daemon.alive());
    assert!(read_folder(&seeker.address, "INBOX").await.is_empty());
    lock.release().await;
    let start = Instant::now();
    while read_folder(&seeker.address, "INBOX").await.is_empty() {
        assert!(
            start.elapsed() < Duration::from_secs(60),
            "not answered after the lock"
        );
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
    assert!(daemon.alive());
    assert_eq!(settle_and_read(&seeker.address, "INBOX").await.len(), 1);
}

fn replay_request(i: usize, from: &str, to: &str, with_id: bool) -> Vec<u8> {
    let mut mail = Mail::new(from, to, "オンライン相談の予約");
    if with_id {
        mail = mail.id(&format!("replay-{i}-{}@yoyaku.test", std::process::id()));
    }
    mail.utf8_base64(&request_text(&format!("再送 {i}号"), "12月3日"))
        .build()
}

/// The same messages delivered three times, then the mailbox recreated (a
/// new UIDVALIDITY) and delivered again: each request is answered once,
/// found again by UIDVALIDITY+UID, then Message-ID, then the hash of the raw
/// message (a fifth of them have no Message-ID).
#[tokio::test]
async fn replay_three_times_and_a_new_uidvalidity_answer_each_request_once() {
    let _turn = SERIAL.lock().await;
    let n = env_or("YOYAKU_REPLAY_MESSAGES", 100);
    let folder = "受付";
    let desk = TestDesk::with(Options {
        mailbox: Some(folder.into()),
        ..Options::default()
    })
    .await;
    let started = Instant::now();
    let raws: Vec<Vec<u8>> = (0..n)
        .map(|i| {
            replay_request(
                i,
                &format!("replay{i}-{:x}@yoyaku.test", std::process::id()),
                &desk.address,
                i % 5 != 0,
            )
        })
        .collect();
    let mut imap = ImapSession::connect(&imap_for(&desk.address))
        .await
        .expect("imap");
    let name = imap.ensure_folder(folder).await.expect("folder");
    for _ in 0..3 {
        for raw in &raws {
            imap.append(&name, raw).await.expect("append");
        }
    }
    let r = desk.desk.run_once(wed()).await.expect("pass");
    assert_eq!(r.handled + r.duplicates, 3 * n);
    assert_eq!(r.duplicates, 2 * n);
    imap.delete_folder(folder).await.expect("delete");
    let name = imap.ensure_folder(folder).await.expect("recreate");
    for raw in &raws {
        imap.append(&name, raw).await.expect("append");
    }
    imap.logout().await;
    let r = desk.desk.run_once(wed()).await.expect("pass");
    assert_eq!((r.handled, r.duplicates), (0, n), "the new UIDVALIDITY");
    assert_eq!(desk.requests_in(None).await, n as i64);
    assert_eq!(
        desk.db_scalar("SELECT COUNT(*) FROM outbox WHERE kind = 'offer'")
            .await,
        n as i64
    );
    assert_eq!(
        desk.db_scalar("SELECT COUNT(DISTINCT uidvalidity) FROM processed")
            .await,
        2
    );
    println!(
        "replay: {n} messages x 3 + a recreated mailbox: {n} requests, {n} offers, {} duplicates caught, {:.1} s",
        3 * n,
        started.elapsed().as_secs_f64()
    );
}

fn wed() -> chrono::DateTime<Utc> {
    jst(2026, 11, 25, 10, 0)
}

/// Two daemons on one mailbox and one database, and every seeker consenting
/// to the same slot at once: one booking, every mail handled once, every
/// seeker answered once (one confirmation, the rest a fresh offer).
#[tokio::test]
async fn contention_many_consents_for_one_slot_and_two_daemons() {
    let _turn = SERIAL.lock().await;
    let m = env_or("YOYAKU_CONTENTION_CONSENTS", 200);
    let a = TestDesk::new().await;
    let b = Desk::new(Config::load(&a.config_path).expect("config"))
        .await
        .expect("second daemon");
    let seekers: Vec<Seeker> = (0..m).map(|i| Seeker::new(&format!("race{i}"))).collect();
    for (i, s) in seekers.iter().enumerate() {
        s.send(
            &a.address,
            "予約",
            &request_text(&format!("競争 {i}"), "12月3日 11:00"),
        )
        .await;
    }
    wait_for_mail_to(&a.address, m).await;
    let (ra, rb) = tokio::join!(a.desk.run_once(wed()), b.run_once(wed()));
    let handled = ra.expect("a").handled + rb.expect("b").handled;
    assert_eq!(handled, m, "each request handled by one daemon");
    for s in &seekers {
        let offer = s.inbox(1).await.remove(0);
        assert!(offer.text().contains("【1】2026年12月3日（木）11:00"));
        s.reply(&offer, "1番でお願いします").await;
    }
    wait_for_mail_to(&a.address, m).await;
    let started = Instant::now();
    let (ra, rb) = tokio::join!(a.desk.run_once(wed()), b.run_once(wed()));
    let handled = ra.expect("a").handled + rb.expect("b").handled;
    assert_eq!(handled, m, "each consent handled by one daemon");
    let mut confirmations = 0;
    for s in &seekers {
        let got = s.inbox(2).await;
        confirmations += got
            .iter()
            .filter(|g| g.text().contains("予約が確定しました"))
            .count();
    }
    let answered = started.elapsed();
    assert_eq!(confirmations, 1);
    assert_eq!(a.bookings_in(Some("confirmed")).await, 1);
    assert_eq!(
        a.db_scalar("SELECT COUNT(*) FROM processed WHERE outcome <> 'own_copy'")
            .await,
        2 * m as i64,
        "every seeker's mail handled once"
    );
    // Copies that came after both passes ended are filed by the next one.
    let filed = a.handled("own_copy").await;
    wait_for(&a.address, "INBOX", (2 * m as i64 - filed).max(0) as usize).await;
    a.desk.run_once(wed()).await.expect("a last pass");
    assert_eq!(
        a.handled("own_copy").await,
        2 * m as i64,
        "the copy of every mail sent filed once"
    );
    assert!(
        read_folder(&a.address, "INBOX").await.is_empty(),
        "every copy filed"
    );
    for s in seekers.iter().take(20) {
        assert_eq!(settle_and_read(&s.address, "INBOX").await.len(), 2);
    }
    println!(
        "contention: {m} consents for one slot, two daemons: 1 booking, {} answers, every consent answered in {:.1} s",
        m,
        answered.as_secs_f64()
    );
}

/// Copies to the sent folder are leases too: a staff verb on the command
/// line and a second desk started while the first is copying take nothing
/// the first holds, so every sent mail is in the sent folder exactly once.
#[tokio::test]
async fn a_staff_verb_and_a_second_desk_never_copy_a_mail_twice() {
    let _turn = SERIAL.lock().await;
    let n = env_or("YOYAKU_APPEND_REQUESTS", 60);
    let a = TestDesk::new().await;
    let seekers: Vec<Seeker> = (0..n).map(|i| Seeker::new(&format!("copy{i}"))).collect();
    for (i, s) in seekers.iter().enumerate() {
        s.send(
            &a.address,
            "予約",
            &request_text(&format!("複写 {i}"), "12月3日 11:00"),
        )
        .await;
    }
    wait_for_mail_to(&a.address, n).await;
    let first_done = std::sync::atomic::AtomicBool::new(false);
    let first = async {
        let r = a.desk.run_once(wed()).await;
        first_done.store(true, std::sync::atomic::Ordering::Release);
        r.expect("first desk's pass");
    };
    // What used to release the first desk's claims at start-up, again and
    // again while it works: a staff verb (it builds a desk) and a second
    // desk running a pass.
    let meddle = async {
        let mut others = 0;
        while !first_done.load(std::sync::atomic::Ordering::Acquire) {
            let verb = tokio::process::Command::new(env!("CARGO_BIN_EXE_yoyaku"))
                .args(["list", "--config"])
                .arg(&a.config_path)
                .env("YOYAKU_LOG", "warn")
                .output()
                .await
                .expect("yoyaku list");
            assert!(verb.status.success(), "yoyaku list");
            let b = Desk::new(Config::load(&a.config_path).expect("config"))
                .await
                .expect("second desk");
            b.run_once(wed()).await.expect("second desk's pass");
            others += 1;
        }
        others
    };
    let ((), others) = tokio::join!(first, meddle);
    // Whatever is left is copied by whoever comes next.
    a.desk.run_once(wed()).await.expect("a last pass");
    assert_eq!(a.requests_in(None).await, n as i64);
    let sent = read_folder(&a.address, "送信済").await;
    let mut ids: Vec<String> = sent
        .iter()
        .map(|m| m.inbound.message_id.clone().unwrap_or_default())
        .collect();
    let copies = ids.len();
    ids.sort();
    ids.dedup();
    println!(
        "sent folder: {copies} copies of {} mails, {others} staff verbs and second desks meanwhile",
        ids.len()
    );
    assert_eq!(ids.len(), n, "every offer is in the sent folder");
    assert_eq!(copies, n, "no mail is copied twice");
    assert!(others >= 1, "the second desk ran while the first was busy");
}

/// A mail a crash (or a time-out) left in flight: written up to its end of
/// data with no answer recorded. It is sent again only when no copy of it
/// came back to the desk's mailbox within `smtp.copy_wait_seconds`; with a
/// copy it is marked sent and never repeated; a fresh one waits.
#[tokio::test]
async fn a_mail_in_doubt_is_sent_again_only_when_its_copy_never_came() {
    let _turn = SERIAL.lock().await;
    let desk = TestDesk::new().await;
    let text = std::fs::read_to_string(&desk.config_path)
        .expect("config")
        .replace("[smtp]\n", "[smtp]\ncopy_wait_seconds = 2\n");
    std::fs::write(&desk.config_path, &text).expect("config");
    let seekers: Vec<Seeker> = ["taken", "lost", "fresh"]
        .iter()
        .map(|p| Seeker::new(&format!("doubt-{p}")))
        .collect();
    for (i, s) in seekers.iter().enumerate() {
        s.send(
            &desk.address,
            "予約",
            &request_text(&format!("疑問 {i}"), "12月3日 11:00"),
        )
        .await;
    }
    wait_for_mail_to(&desk.address, 3).await;
    // Handled with SMTP down: three offers wait in the outbox.
    let down_path = desk.dir.path().join("down.toml");
    std::fs::write(
        &down_path,
        text.replace(&format!("port = {SMTP_PORT}"), "port = 1"),
    )
    .expect("write");
    let down = Desk::new(Config::load(&down_path).expect("config"))
        .await
        .expect("desk");
    let r = down.run_once(wed()).await.expect("pass");
    assert_eq!((r.handled, r.sent), (3, 0));
    let rows: Vec<(String, String, Vec<u8>)> = desk
        .desk
        .office()
        .store()
        .probe_rows(
            "SELECT message_id, recipient, raw FROM outbox ORDER BY id",
            &[],
        )
        .await
        .expect("outbox");
    let row_of = |s: &Seeker| {
        rows.iter()
            .find(|r| r.1 == s.address)
            .cloned()
            .expect("an offer for each seeker")
    };
    let (taken, lost, fresh) = (
        row_of(&seekers[0]),
        row_of(&seekers[1]),
        row_of(&seekers[2]),
    );
    // As a crash leaves them: all three in flight; the server took the
    // first (the seeker and the desk have it), never saw the second; the
    // third was in flight a moment ago.
    {
        let mut journal = desk
            .desk
            .office()
            .store()
            .journal_conn()
            .await
            .expect("journal");
        let long_ago = Utc::now() - ChronoDuration::seconds(30);
        for (id, since) in [
            (&taken.0, long_ago),
            (&lost.0, long_ago),
            (&fresh.0, Utc::now()),
        ] {
            yoyaku::store::outbox::journal_step(&mut journal, None, Some(id), since)
                .await
                .expect("in flight");
        }
    }
    // The dead desk's leases have run out.
    desk.desk
        .office()
        .store()
        .probe_execute(
            "UPDATE outbox SET lease_owner = NULL, lease_until = NULL",
            &[],
        )
        .await
        .expect("leases");
    send_raw(&desk.address, &seekers[0].address, &taken.2).await;
    send_raw(&desk.address, &desk.address, &taken.2).await;
    seekers[0].inbox(1).await;
    wait_for(&desk.address, "INBOX", 1).await;

    // The desk restarted on the same database.
    let up = Desk::new(Config::load(&desk.config_path).expect("config"))
        .await
        .expect("desk");
    let r = up
        .run_once(wed() + ChronoDuration::minutes(5))
        .await
        .expect("pass");
    assert_eq!(r.sent, 1, "only the mail the server never saw: {r:?}");
    assert_eq!(
        settle_and_read(&seekers[0].address, "INBOX").await.len(),
        1,
        "the mail the server took is not sent again"
    );
    assert_eq!(seekers[1].inbox(1).await.len(), 1, "the lost mail is sent");
    assert!(
        read_folder(&seekers[2].address, "INBOX").await.is_empty(),
        "a mail in flight a moment ago waits for its copy"
    );
    tokio::time::sleep(Duration::from_secs(3)).await;
    let r = up
        .run_once(wed() + ChronoDuration::minutes(6))
        .await
        .expect("pass");
    assert_eq!(r.sent, 1, "{r:?}");
    assert_eq!(seekers[2].inbox(1).await.len(), 1);
    let sent: Vec<String> = read_folder(&desk.address, "送信済")
        .await
        .into_iter()
        .filter_map(|m| m.inbound.message_id)
        .collect();
    for id in [&taken.0, &lost.0, &fresh.0] {
        assert_eq!(
            sent.iter().filter(|s| *s == id).count(),
            1,
            "one copy of each in the sent folder"
        );
    }
    assert_eq!(desk.sent_count(None).await, 3);
}

/// PostgreSQL restarted in the middle of a burst (every connection of the
/// pool dropped at once): the daemon waits, reconnects and answers every
/// request once; it never exits. (On SQLite there is no server to restart.)
#[tokio::test]
async fn a_database_restart_mid_burst_loses_nothing() {
    let _turn = SERIAL.lock().await;
    let desk = TestDesk::new().await;
    if !desk.db_url.starts_with("postgres") {
        println!("SQLite: no database server to restart");
        return;
    }
    let mut daemon = Daemon::start(&desk.config_path);
    let seekers: Vec<Seeker> = (0..12)
        .map(|i| Seeker::new(&format!("pgdown{i}")))
        .collect();
    for (i, s) in seekers.iter().enumerate() {
        s.send(
            &desk.address,
            "予約",
            &request_text(
                &format!("再起動 {i}"),
                &wish_ahead(&desk, 7 + i as i64 % 3, "11:00"),
            ),
        )
        .await;
        if i == 4 {
            let restarted = std::process::Command::new("bash")
                .args([
                    concat!(env!("CARGO_MANIFEST_DIR"), "/scripts/pgstack.sh"),
                    "restart",
                ])
                .status()
                .expect("pgstack.sh restart");
            assert!(restarted.success(), "PostgreSQL restarted");
        }
    }
    let start = Instant::now();
    for s in &seekers {
        loop {
            if !read_folder(&s.address, "INBOX").await.is_empty() {
                break;
            }
            assert!(
                start.elapsed() < Duration::from_secs(90),
                "no answer after the database restart"
            );
            tokio::time::sleep(Duration::from_millis(250)).await;
        }
    }
    assert!(daemon.alive(), "the daemon survives the restart");
    for s in &seekers {
        assert_eq!(
            settle_and_read(&s.address, "INBOX").await.len(),
            1,
            "each request answered once"
        );
    }
}
