//! The desk on IMAP servers other than our Dovecot: a real Cyrus IMAP 3.6
//! as Debian configures it (the personal folders under `INBOX.`, its
//! `LIST "" ""` and CREATE answers), a Cyrus that refuses to make folders,
//! and a Dovecot that announces none of MOVE, IDLE, NAMESPACE, UIDPLUS or
//! SPECIAL-USE. Every pass must succeed; every mail is answered once and
//! filed where the server keeps folders.

mod common;

use chrono::Utc;
use common::*;
use std::io::{BufRead, BufReader, Write};

fn yoyaku(config: &std::path::Path, args: &[&str]) -> (bool, String) {
    let (code, out) = yoyaku_cli(config, args);
    (code == Some(0), out)
}

/// Request, offer, consent and confirmation between `seeker` and `desk`,
/// on the real clock (a business day a week ahead).
async fn request_and_consent(desk: &TestDesk, seeker: &Seeker) {
    let now = Utc::now();
    seeker
        .send(
            &desk.address,
            "オンライン相談予約",
            &request_text("山田 太郎", &wish_ahead(desk, 7, "11:00")),
        )
        .await;
    desk.once_after(1, now).await;
    let offer = seeker.inbox(1).await.remove(0);
    assert!(offer.text().contains("【1】"), "{}", offer.text());
    seeker.reply(&offer, "1番でお願いします。").await;
    // Whether the request still lies in the inbox depends on the server:
    // passes until the confirmation is out.
    let start = std::time::Instant::now();
    loop {
        desk.desk.run_once(now).await.expect("pass succeeds");
        if read_folder(&seeker.address, "INBOX").await.len() >= 2 {
            break;
        }
        assert!(start.elapsed().as_secs() < 20, "no confirmation");
        tokio::time::sleep(std::time::Duration::from_millis(200)).await;
    }
    let mail = seeker.inbox(2).await;
    assert!(
        mail[1].text().contains("利用規約への同意を確認し"),
        "{}",
        mail[1].text()
    );
}

/// Runs passes until the desk's inbox is empty (its own copies come back
/// a moment after each send) or 20 s pass.
async fn until_inbox_empty(desk: &TestDesk) -> Vec<Received> {
    let start = std::time::Instant::now();
    loop {
        desk.desk.run_once(Utc::now()).await.expect("pass succeeds");
        let left = read_folder(&desk.address, "INBOX").await;
        if left.is_empty() || start.elapsed().as_secs() > 20 {
            return left;
        }
        tokio::time::sleep(std::time::Duration::from_millis(300)).await;
    }
}

/// One line-by-line IMAP exchange as `user` (a test's own hand on the
/// server: Cyrus ACLs, which the desk never sets). Returns each command's
/// tagged answer.
fn imap_commands(port: u16, user: &str, password: &str, commands: &[&str]) -> Vec<String> {
    let stream = std::net::TcpStream::connect(("127.0.0.1", port)).expect("connect");
    stream
        .set_read_timeout(Some(std::time::Duration::from_secs(10)))
        .expect("timeout");
    let mut reader = BufReader::new(stream.try_clone().expect("clone"));
    let mut writer = stream;
    let mut line = String::new();
    reader.read_line(&mut line).expect("greeting");
    let mut answers = Vec::new();
    let login = format!("LOGIN \"{user}\" \"{password}\"");
    for (i, command) in std::iter::once(login.as_str())
        .chain(commands.iter().copied())
        .chain(std::iter::once("LOGOUT"))
        .enumerate()
    {
        let tag = format!("t{i}");
        write!(writer, "{tag} {command}\r\n").expect("write");
        loop {
            line.clear();
            if reader.read_line(&mut line).expect("read") == 0 {
                break;
            }
            if line.starts_with(&format!("{tag} ")) {
                answers.push(line.trim_end().to_string());
                break;
            }
        }
    }
    answers
}

#[tokio::test]
async fn the_whole_flow_on_cyrus_with_debians_namespace() {
    let desk = TestDesk::with(Options {
        server: Server::Cyrus,
        ..Options::default()
    })
    .await;
    let seeker = Seeker::new("cyrus");
    request_and_consent(&desk, &seeker).await;
    let left = until_inbox_empty(&desk).await;
    assert!(left.is_empty(), "{} message(s) left in INBOX", left.len());
    // The folders are where Cyrus keeps a user's folders: under INBOX.
    let handled = read_folder(&desk.address, "INBOX.処理済").await;
    assert_eq!(handled.len(), 2, "the request and the consent are filed");
    let sent = read_folder(&desk.address, "INBOX.送信済").await;
    assert_eq!(sent.len(), 2, "the offer's and the confirmation's copies");
    assert!(read_folder(&desk.address, "処理済").await.is_empty());
    // The command line's pass and check both succeed and say where.
    let (ok, out) = yoyaku(&desk.config_path, &["once"]);
    assert!(ok, "{out}");
    let (ok, out) = yoyaku(&desk.config_path, &["check"]);
    assert!(ok, "{out}");
    assert!(out.contains("\"INBOX.処理済\""), "{out}");
    assert!(out.contains("personal prefix \"INBOX.\""), "{out}");
    // Nothing went to staff.
    assert!(settle_and_read(&desk.staff, "INBOX").await.is_empty());
}

#[tokio::test]
async fn a_folder_cyrus_refuses_to_make_keeps_mail_in_the_inbox_answered_and_staff_told_once() {
    let desk = TestDesk::with(Options {
        server: Server::Cyrus,
        ..Options::default()
    })
    .await;
    // The account may not make folders: its quota of folders is spent on
    // its INBOX, as an administrator may set it.
    let local = desk
        .address
        .split('@')
        .next()
        .unwrap_or_default()
        .to_string();
    let quota = |limit: &str| {
        imap_commands(
            CYRUS_IMAP_PORT,
            &format!("cyrus@{CYRUS_DOMAIN}"),
            "cyrus-admin-password",
            &[&format!("SETQUOTA user.{local} ({limit})")],
        )
    };
    // (The harness's first login made the INBOX, the one folder allowed.)
    let answers = quota("X-NUM-FOLDERS 1");
    assert!(answers.iter().all(|a| a.contains(" OK")), "{answers:?}");

    let (ok, out) = yoyaku(&desk.config_path, &["check"]);
    assert!(!ok, "check fails: {out}");
    assert!(
        out.contains("folders.handled") && out.contains("Over quota"),
        "check names the key and the server's answer: {out}"
    );
    assert!(out.contains("fix:"), "{out}");

    // The desk answers all the same; the mail stays in the inbox.
    let seeker = Seeker::new("cyrusacl");
    request_and_consent(&desk, &seeker).await;
    desk.desk.run_once(Utc::now()).await.expect("pass succeeds");
    let inbox = read_folder(&desk.address, "INBOX").await;
    assert!(inbox.len() >= 2, "handled mail stays: {}", inbox.len());
    // Staff are told once per refused folder, not once per pass.
    let notes = wait_for(&desk.staff, "INBOX", 1).await;
    tokio::time::sleep(std::time::Duration::from_millis(1500)).await;
    desk.desk.run_once(Utc::now()).await.expect("pass succeeds");
    let notes_after = settle_and_read(&desk.staff, "INBOX").await;
    assert_eq!(notes_after.len(), notes.len(), "no note per pass");
    assert!(
        notes_after.len() <= 2,
        "one note per refused folder (handled, sent): {}",
        notes_after.len()
    );
    assert!(
        notes_after
            .iter()
            .all(|n| n.inbound.subject.contains("フォルダを作成できません")),
        "{:?}",
        notes_after
            .iter()
            .map(|n| n.inbound.subject.clone())
            .collect::<Vec<_>>()
    );
    assert!(notes_after.iter().any(|n| n.text().contains("Over quota")));
    let (ok, out) = yoyaku(&desk.config_path, &["status"]);
    assert!(ok && out.contains("refused"), "{out}");
    // A pass of the command line still succeeds.
    let (ok, out) = yoyaku(&desk.config_path, &["once"]);
    assert!(ok, "{out}");

    // The administrator lifts the quota: the next desk files everything
    // and the mark is gone.
    let answers = quota("");
    assert!(answers.iter().all(|a| a.contains(" OK")), "{answers:?}");
    let (ok, out) = yoyaku(&desk.config_path, &["once"]);
    assert!(ok, "{out}");
    let left = read_folder(&desk.address, "INBOX").await;
    assert!(left.is_empty(), "{} message(s) left in INBOX", left.len());
    assert_eq!(read_folder(&desk.address, "INBOX.処理済").await.len(), 2);
    let (ok, out) = yoyaku(&desk.config_path, &["status"]);
    assert!(ok && !out.contains("refused"), "{out}");
    // Each seeker mail was answered once.
    assert_eq!(settle_and_read(&seeker.address, "INBOX").await.len(), 2);
}

#[tokio::test]
async fn the_daemon_works_on_a_server_without_move_idle_namespace_or_uidplus() {
    let desk = TestDesk::with(Options {
        server: Server::DovecotLean,
        ..Options::default()
    })
    .await;
    let (ok, out) = yoyaku(&desk.config_path, &["check"]);
    assert!(ok, "{out}");
    assert!(
        out.contains("IDLE not offered (polling)")
            && out.contains("MOVE no, UIDPLUS no, NAMESPACE no"),
        "{out}"
    );
    // The real daemon, polling: request, offer, consent, confirmation.
    let daemon = Daemon::start(&desk.config_path);
    let seeker = Seeker::new("lean");
    seeker
        .send(
            &desk.address,
            "オンライン相談予約",
            &request_text("山田 太郎", &wish_ahead(&desk, 7, "11:00")),
        )
        .await;
    let offer = seeker.inbox(1).await.remove(0);
    seeker.reply(&offer, "1番でお願いします。").await;
    let mail = seeker.inbox(2).await;
    assert!(mail[1].text().contains("利用規約への同意を確認し"));
    // Filed by COPY + \Deleted + EXPUNGE: the inbox empties.
    let start = std::time::Instant::now();
    while !read_folder(&desk.address, "INBOX").await.is_empty() {
        assert!(start.elapsed().as_secs() < 20, "the inbox never emptied");
        tokio::time::sleep(std::time::Duration::from_millis(300)).await;
    }
    drop(daemon);
    assert_eq!(read_folder(&desk.address, "処理済").await.len(), 2);
    assert_eq!(read_folder(&desk.address, "送信済").await.len(), 2);
    assert_eq!(settle_and_read(&seeker.address, "INBOX").await.len(), 2);
    assert!(read_folder(&desk.staff, "INBOX").await.is_empty());
}
