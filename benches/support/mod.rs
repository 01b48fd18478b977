//! What the end-to-end benches share: the seekers' maildirs (delivery is
//! seen by counting files, which costs the mail stack nothing), requests,
//! the bare relay the desk is measured against, percentiles.

#![allow(dead_code)] // each bench uses its own part

use crate::common::*;
use std::path::PathBuf;
use std::time::{Duration, Instant, SystemTime};
use yoyaku::config::Config;
use yoyaku::mail::imap::ImapSession;
use yoyaku::mail::smtp::SmtpSender;

pub const BENCH_DOMAIN: &str = "bench.test";

pub fn env_or(key: &str, default: usize) -> usize {
    std::env::var(key)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

pub fn maildir(address: &str) -> PathBuf {
    let (user, domain) = address.split_once('@').unwrap_or((address, ""));
    let root =
        std::env::var("YOYAKU_MAILSTACK_DIR").unwrap_or_else(|_| "/tmp/yoyaku-mailstack".into());
    PathBuf::from(root)
        .join("mail")
        .join(domain)
        .join(user)
        .join("Maildir")
}

pub fn delivered(address: &str) -> usize {
    let dir = maildir(address);
    ["new", "cur"]
        .iter()
        .map(|sub| std::fs::read_dir(dir.join(sub)).map_or(0, |d| d.count()))
        .sum()
}

/// When the last of `addresses` got its first message: each one's
/// earliest file in its maildir (written once, at delivery), the latest of
/// those. Read after the run, so watching costs the machine nothing while
/// it runs.
pub fn last_first_delivery(addresses: &[String]) -> SystemTime {
    addresses
        .iter()
        .filter_map(|a| {
            let dir = maildir(a);
            ["new", "cur"]
                .iter()
                .filter_map(|sub| std::fs::read_dir(dir.join(sub)).ok())
                .flatten()
                .filter_map(|e| e.ok()?.metadata().ok()?.modified().ok())
                .min()
        })
        .max()
        .unwrap_or(SystemTime::UNIX_EPOCH)
}

/// Waits until every address has at least `n` messages; the instant it happened.
pub fn wait_delivered(addresses: &[String], n: usize, limit: Duration) -> Instant {
    let start = Instant::now();
    let mut pending: Vec<&String> = addresses.iter().collect();
    loop {
        pending.retain(|a| delivered(a) < n);
        if pending.is_empty() {
            return Instant::now();
        }
        assert!(
            start.elapsed() < limit,
            "{} of {} not delivered",
            pending.len(),
            addresses.len()
        );
        std::thread::sleep(Duration::from_millis(2));
    }
}

pub fn request_raw(from: &str, to: &str, i: usize) -> Vec<u8> {
    let day = 1 + (i % 20);
    Mail::new(from, to, "オンライン相談の予約")
        .id(&format!("bench-{i}-{}@{BENCH_DOMAIN}", std::process::id()))
        .utf8_base64(
            // Each seeker has a 求職番号 of their own, as at a real office.
            &request_text(&format!("計測 {i}"), &format!("12月{day}日"))
                .replace("32010-12345678", &format!("32010-{:08}", 10_000_000 + i)),
        )
        .build()
}

pub async fn append_all(user: &str, raws: &[Vec<u8>]) {
    let mut imap = ImapSession::connect(&imap_for(user)).await.expect("imap");
    for raw in raws {
        imap.append("INBOX", raw).await.expect("append");
    }
    imap.logout().await;
}

/// The bare relay: fetch each message over IMAP, send a reply to its From
/// over SMTP. No MIME parsing, no database, the same crates. The reply has
/// the shape and size of the desk's offer (a base64 text part and the
/// terms of use attached, about 18 KB), so the mail servers carry as much
/// for the relay as for the desk.
pub async fn bare_relay(cfg: &Config) {
    let smtp = SmtpSender::new(&cfg.smtp).expect("smtp");
    let mut imap = ImapSession::connect(&cfg.imap).await.expect("imap");
    imap.select("INBOX").await.expect("select");
    let uids = imap.uids().await.expect("uids");
    for (i, uid) in uids.into_iter().enumerate() {
        let Some(raw) = imap.fetch(uid).await.expect("fetch") else {
            continue;
        };
        let head = &raw[..raw.len().min(2048)];
        let text = String::from_utf8_lossy(head);
        let Some(from) = text
            .lines()
            .find_map(|l| l.strip_prefix("From: "))
            .map(|f| f.trim().to_string())
        else {
            continue;
        };
        let reply = relay_reply(&cfg.from_address(), &from, i);
        smtp.send(i as i64, &from, &reply).await.expect("send");
    }
    smtp.close().await;
    imap.logout().await;
}

/// A reply like the desk's offer: a text part as long as an offer's and the
/// terms of use attached, as the desk attaches them.
pub fn relay_reply(own: &str, to: &str, i: usize) -> Vec<u8> {
    use lettre::message::header::{ContentTransferEncoding, ContentType};
    use lettre::message::{Attachment, MultiPart, SinglePart};
    const TERMS: &str = include_str!("../../templates/terms.txt");
    let text =
        "オンライン職業相談のお申込みを受け付けました。ご案内できる日時は次のとおりです。\r\n"
            .repeat(12);
    let to: lettre::message::Mailbox = to
        .trim_matches(|c| c == '<' || c == '>')
        .parse()
        .expect("relay recipient");
    let message = lettre::Message::builder()
        .from(own.parse().expect("relay from"))
        .to(to)
        .subject("Re: オンライン職業相談の予約")
        .message_id(Some(format!("<relay-{i}@{BENCH_DOMAIN}>")))
        .multipart(
            MultiPart::mixed()
                .singlepart(
                    SinglePart::builder()
                        .header(ContentType::TEXT_PLAIN)
                        .header(ContentTransferEncoding::Base64)
                        .body(text),
                )
                .singlepart(Attachment::new("利用規約.txt".into()).body(
                    TERMS.replace('\n', "\r\n"),
                    ContentType::parse("text/plain; charset=utf-8").expect("content type"),
                )),
        )
        .expect("relay reply");
    message.formatted()
}

pub fn percentile(sorted: &[f64], p: f64) -> f64 {
    if sorted.is_empty() {
        return 0.0;
    }
    let idx = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[idx.min(sorted.len() - 1)]
}

pub fn rand_tag() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_nanos() as u64)
}

/// A config of `n` offices (`o0`, `o1` …) on the loopback mail stack, one
/// mailbox each (`office{i}-{tag}@{domain}`), shared IMAP and SMTP settings.
pub fn offices_config(
    n: usize,
    tag: &str,
    domain: &str,
    db_url: &str,
    lease_seconds: u64,
) -> String {
    // The shared relay's connections (YOYAKU_BENCH_SMTP_CONNECTIONS, default 2: the config's default).
    let lanes = env_or("YOYAKU_BENCH_SMTP_CONNECTIONS", 2);
    let mut text = format!(
        r#"
[daemon]
lease_seconds = {lease_seconds}
[imap]
host = "127.0.0.1"
port = {IMAP_PORT}
security = "none"
password = "{PASSWORD}"
timeout_seconds = 30
[smtp]
host = "127.0.0.1"
port = {SMTP_PORT}
security = "none"
connections = {lanes}
[database]
url = "{db_url}"
[digest]
enabled = false
[limits]
per_sender_per_day = 100000
per_seeker_per_day = 100000
[[meeting.rooms]]
id = "810 0000 0000"
passcode = "bench"
"#
    );
    for i in 0..n {
        let address = format!("office{i}-{tag}@{domain}");
        text.push_str(&format!(
            r#"
[[offices]]
id = "o{i}"
name = "ハローワーク{i}"
phone = "0000-00-{i:04}"
staff_address = "staff{i}-{tag}@{domain}"
[offices.imap]
username = "{address}"
[offices.smtp]
from = "ハローワーク{i} <{address}>"
"#
        ));
    }
    text
}

/// Fills an office's SQLite file with `n` past bookings, attended, each
/// with its request (a seeker of its own): `rooms` rooms and `slots` slots
/// a day from 2015-01-01, in one transaction. Straight into the file: the
/// desk's store has no verb for made-up history.
pub async fn fill_past_bookings(db: &std::path::Path, n: usize, rooms: usize, slots: usize) {
    let pool = sqlx::SqlitePool::connect(&format!("sqlite://{}", db.display()))
        .await
        .expect("database");
    let mut tx = pool.begin().await.expect("tx");
    let per_day = (rooms * slots).max(1);
    for i in 0..n {
        let day = i / per_day;
        let slot = (i % per_day) / rooms.max(1);
        let room = i % rooms.max(1);
        let date = chrono::NaiveDate::from_ymd_opt(2015, 1, 1).expect("date")
            + chrono::Duration::days(day as i64);
        // 09:30 Japan time (00:30 UTC) on, one an hour.
        let at = format!("{date}T{:02}:30:00Z", slot % 24);
        sqlx::query("INSERT INTO requests (ref, token, state, seeker_address, seeker_number, data, name_key, created_at, updated_at) VALUES (?, ?, 'attended', ?, ?, ?, ?, ?, ?)")
            .bind(format!("P{i:07}"))
            .bind(format!("tok{i}"))
            .bind(format!("past{i}@{BENCH_DOMAIN}"))
            .bind(format!("{:05}-{:08}", 32010, i))
            .bind(format!(r#"{{"name":"過去 {i}","seeker_number":"32010-{i:08}","phone":"090-0000-0000"}}"#))
            .bind(format!("過去{i}"))
            .bind(&at)
            .bind(&at)
            .execute(&mut *tx)
            .await
            .expect("request");
        sqlx::query("INSERT INTO bookings (reservation, request_id, room_id, slot_start, status, booked_by, created_at, outcome_at) VALUES (?, last_insert_rowid(), ?, ?, 'attended', 'seeker', ?, ?)")
            .bind(format!("P{i:07}"))
            .bind(format!("81{room} 0000 0000"))
            .bind(&at)
            .bind(&at)
            .bind(&at)
            .execute(&mut *tx)
            .await
            .expect("booking");
    }
    tx.commit().await.expect("commit");
}

/// Busy CPU seconds of the whole machine so far (all cores, /proc/stat):
/// the desk's share and the mail servers' together.
pub fn machine_busy_secs() -> f64 {
    let stat = std::fs::read_to_string("/proc/stat").unwrap_or_default();
    let Some(cpu) = stat.lines().find(|l| l.starts_with("cpu ")) else {
        return 0.0;
    };
    let ticks: Vec<f64> = cpu
        .split_whitespace()
        .skip(1)
        .filter_map(|v| v.parse().ok())
        .collect();
    // user nice system idle iowait irq softirq steal: busy is all but idle and iowait.
    let busy: f64 = ticks
        .iter()
        .enumerate()
        .filter(|(i, _)| *i != 3 && *i != 4)
        .take(8)
        .map(|(_, t)| t)
        .sum();
    busy / 100.0
}
