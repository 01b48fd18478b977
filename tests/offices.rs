//! Many offices in one config and one database (issue 12): each office
//! answers its own mailbox with its own name and phone, the command line
//! sees one office at a time, and nothing of one office shows in another's.

mod common;

use common::*;

struct Office {
    id: &'static str,
    name: &'static str,
    phone: &'static str,
    address: String,
    staff: String,
}

fn office(id: &'static str, name: &'static str, phone: &'static str) -> Office {
    let o = Office {
        id,
        name,
        phone,
        address: unique(id),
        staff: unique(&format!("{id}-staff")),
    };
    add_user(&o.address);
    add_user(&o.staff);
    o
}

/// Shared sections once, each office's own keys in `[[offices]]`.
fn config(offices: &[Office], db_url: &str) -> String {
    let mut text = format!(
        r#"
[imap]
host = "127.0.0.1"
port = {IMAP_PORT}
security = "none"
password = "{PASSWORD}"
poll_seconds = 1
timeout_seconds = 10

[smtp]
host = "127.0.0.1"
port = {SMTP_PORT}
security = "none"
timeout_seconds = 10

[database]
url = "{db_url}"

[digest]
enabled = false

[limits]
per_sender_per_day = 1000
per_seeker_per_day = 1000
"#
    );
    for (i, o) in offices.iter().enumerate() {
        text.push_str(&format!(
            r#"
[[offices]]
id = "{id}"
name = "{name}"
phone = "{phone}"
staff_address = "{staff}"

[offices.imap]
username = "{address}"

[offices.smtp]
from = "{name} <{address}>"

[[offices.meeting.rooms]]
id = "8{i}0 0000 000{i}"
passcode = "{id}-pass"
"#,
            id = o.id,
            name = o.name,
            phone = o.phone,
            staff = o.staff,
            address = o.address,
        ));
    }
    text
}

/// A deployment of `offices` on a database of its own: (its folder, the
/// config's path, the database URL). The config's leases are the tests'
/// 3 s, so a desk takes over a killed one's offices quickly.
async fn deployment(offices: &[Office]) -> (tempfile::TempDir, std::path::PathBuf, String) {
    let dir = tempfile::tempdir().expect("tempdir");
    let db_url = test_database_url(dir.path()).await;
    let path = dir.path().join("yoyaku.toml");
    let text = format!("[daemon]\nlease_seconds = 3\n{}", config(offices, &db_url));
    std::fs::write(&path, text).expect("write config");
    (dir, path, db_url)
}

fn yoyaku(config: &std::path::Path, args: &[&str]) -> (Option<i32>, String) {
    yoyaku_cli(config, args)
}

#[tokio::test]
async fn three_offices_answer_their_own_mail_and_see_only_their_own_records() {
    ensure_mailstack();
    let offices = [
        office("izumo", "ハローワーク出雲", "0853-21-8609"),
        office("matsue", "ハローワーク松江", "0852-22-8609"),
        office("hamada", "ハローワーク浜田", "0855-22-8609"),
    ];
    let (_dir, path, _) = deployment(&offices).await;

    // The same 求職番号 (request_text's) at every office: three seekers'
    // records, one per office.
    let names = ["出雲 一郎", "松江 二郎", "浜田 三郎"];
    let seekers: Vec<Seeker> = offices.iter().map(|o| Seeker::new(o.id)).collect();
    for ((s, o), name) in seekers.iter().zip(&offices).zip(names) {
        s.send(&o.address, "予約", &request_text(name, "12月3日 11:00"))
            .await;
    }
    for o in &offices {
        wait_for_mail_to(&o.address, 1).await;
    }
    let (code, out) = yoyaku(&path, &["once", "--now", "2026-11-25T10:00:00+09:00"]);
    assert_eq!(code, Some(0), "{out}");
    assert_eq!(out.lines().count(), 3, "a line per office: {out}");

    let reference_in = regex::Regex::new(r"受付番号\s*([A-Z0-9]{6})").expect("regex");
    let mut references = Vec::new();
    for (i, (s, o)) in seekers.iter().zip(&offices).enumerate() {
        let offer = s.inbox(1).await.remove(0);
        let text = offer.text();
        assert!(
            text.contains(o.name) && text.contains(o.phone),
            "{}'s offer names its office: {text}",
            o.id
        );
        for (j, other) in offices.iter().enumerate() {
            if j != i {
                assert!(
                    !text.contains(other.name),
                    "no other office in {}'s offer",
                    o.id
                );
            }
        }
        let from = offer.header("From").unwrap_or_default();
        assert!(
            from.contains(&o.address),
            "sent from its own mailbox: {from}"
        );
        let reference = reference_in
            .captures(&offer.inbound.subject)
            .map(|c| c[1].to_string())
            .expect("a reference in the subject");
        references.push(reference);
    }

    // The command line: one office at a time.
    let (code, out) = yoyaku(&path, &["list"]);
    assert_ne!(code, Some(0), "several offices need --office: {out}");
    assert!(out.contains("--office"), "{out}");
    let (code, out) = yoyaku(&path, &["list", "--office", "matsue"]);
    assert_eq!(code, Some(0), "{out}");
    assert!(out.contains(&references[1]), "{out}");
    assert!(
        !out.contains(&references[0]) && !out.contains(&references[2]),
        "only matsue's requests: {out}"
    );
    // Izumo's request is not found from Matsue, and is from Izumo.
    let (code, out) = yoyaku(&path, &["show", "--office", "matsue", &references[0]]);
    assert_eq!(code, Some(3), "not found: {out}");
    let (code, out) = yoyaku(&path, &["show", "--office", "izumo", &references[0]]);
    assert_eq!(code, Some(0), "{out}");
    assert!(out.contains(names[0]), "{out}");
    let (code, out) = yoyaku(&path, &["list", "--office", "nowhere"]);
    assert_ne!(code, Some(0), "{out}");
    assert!(out.contains("nowhere") && out.contains("izumo"), "{out}");
}

/// Which office each `yoyaku status` line says is served by whom.
fn served_by(config: &std::path::Path) -> Vec<(String, String)> {
    let (_, out) = yoyaku(config, &["status"]);
    out.lines()
        .filter_map(|l| {
            let office = l.split_whitespace().next()?.to_string();
            let owner = l.split("served by ").nth(1)?.split_whitespace().next()?;
            Some((office, owner.to_string()))
        })
        .collect()
}

/// Waits until `yoyaku status` shows every office served by a desk of
/// process `pid`.
async fn wait_served_by(config: &std::path::Path, offices: usize, pid: u32) -> std::time::Duration {
    let start = std::time::Instant::now();
    let mark = format!(":{pid}:");
    loop {
        let served = served_by(config);
        if served.len() == offices && served.iter().all(|(_, owner)| owner.contains(&mark)) {
            return start.elapsed();
        }
        assert!(
            start.elapsed() < std::time::Duration::from_secs(60),
            "offices not taken by {pid}: {served:?}"
        );
        tokio::time::sleep(std::time::Duration::from_millis(200)).await;
    }
}

/// How many offices each desk process serves, by pid, from `yoyaku status`.
fn served_per_process(config: &std::path::Path) -> std::collections::BTreeMap<u32, usize> {
    let mut per = std::collections::BTreeMap::new();
    for (_, owner) in served_by(config) {
        if let Some(pid) = owner.split(':').nth(1).and_then(|p| p.parse().ok()) {
            *per.entry(pid).or_default() += 1;
        }
    }
    per
}

/// Desks divide the offices: one started alone serves all four; a second
/// one started later gets half of them handed over, and every request is
/// still answered once, by the office it was sent to.
#[tokio::test]
async fn a_desk_that_joins_gets_its_share_of_the_offices() {
    ensure_mailstack();
    let offices = [
        office("hamada", "ハローワーク浜田", "0855-22-8609"),
        office("masuda", "ハローワーク益田", "0856-22-8609"),
        office("oki", "ハローワーク隠岐", "08512-2-8609"),
        office("kawamoto", "ハローワーク川本", "0855-72-0385"),
    ];
    let (_dir, path, _) = deployment(&offices).await;
    let cal = yoyaku::core::calendar::Calendar::standard();
    let d = business_day_ahead(&cal, chrono::Utc::now(), 7);
    let wish = format!("{}月{}日 11:00", d.format("%-m"), d.format("%-d"));

    let mut first = Daemon::start(&path);
    let first_pid = first.0.id();
    wait_served_by(&path, offices.len(), first_pid).await;
    let mut second = Daemon::start(&path);
    let second_pid = second.0.id();
    let start = std::time::Instant::now();
    let split = loop {
        let per = served_per_process(&path);
        if per.get(&first_pid) == Some(&2) && per.get(&second_pid) == Some(&2) {
            break per;
        }
        assert!(
            start.elapsed() < std::time::Duration::from_secs(30),
            "the offices were not divided: {per:?}"
        );
        tokio::time::sleep(std::time::Duration::from_millis(200)).await;
    };
    println!(
        "divided {split:?} {:?} after the second desk started",
        start.elapsed()
    );
    let seekers: Vec<Seeker> = offices.iter().map(|o| Seeker::new(o.id)).collect();
    for (s, o) in seekers.iter().zip(&offices) {
        s.send(&o.address, "予約", &request_text("分担 太郎", &wish))
            .await;
    }
    for (s, o) in seekers.iter().zip(&offices) {
        let got = s.inbox(1).await;
        assert!(got[0].text().contains(o.name), "answered by its own office");
    }
    assert!(first.alive() && second.alive());
    for s in &seekers {
        assert_eq!(settle_and_read(&s.address, "INBOX").await.len(), 1);
    }
    // Still divided: nobody took more than its share meanwhile.
    let per = served_per_process(&path);
    assert_eq!(
        per.values().copied().collect::<Vec<_>>(),
        vec![2, 2],
        "{per:?}"
    );
}

/// Two desks on one database and config: the first serves both offices;
/// killed (SIGKILL), the second takes them over once their leases ran out,
/// and every request of every office is answered once.
#[tokio::test]
async fn a_second_desk_takes_over_the_offices_of_a_killed_one() {
    ensure_mailstack();
    let offices = [
        office("unnan", "ハローワーク雲南", "0854-42-8609"),
        office("yasugi", "ハローワーク安来", "0854-22-8609"),
    ];
    // Leases of 3 s: the second desk may take an office 3 s after the kill.
    let (_dir, path, _) = deployment(&offices).await;
    let cal = yoyaku::core::calendar::Calendar::standard();
    let d = business_day_ahead(&cal, chrono::Utc::now(), 7);
    let wish = format!("{}月{}日 11:00", d.format("%-m"), d.format("%-d"));

    let first = Daemon::start(&path);
    let first_pid = first.0.id();
    wait_served_by(&path, offices.len(), first_pid).await;
    let mut second = Daemon::start(&path);
    let second_pid = second.0.id();
    let before: Vec<Seeker> = offices.iter().map(|o| Seeker::new(o.id)).collect();
    for (s, o) in before.iter().zip(&offices) {
        s.send(&o.address, "予約", &request_text("先 太郎", &wish))
            .await;
    }
    for s in &before {
        s.inbox(1).await;
    }
    drop(first);
    let after: Vec<Seeker> = offices.iter().map(|o| Seeker::new(o.id)).collect();
    for (s, o) in after.iter().zip(&offices) {
        s.send(&o.address, "予約", &request_text("後 花子", &wish))
            .await;
    }
    let took = wait_served_by(&path, offices.len(), second_pid).await;
    println!("the second desk served both offices {took:?} after the kill");
    for s in &after {
        s.inbox(1).await;
    }
    assert!(second.alive());
    for s in before.iter().chain(&after) {
        let got = settle_and_read(&s.address, "INBOX").await;
        assert_eq!(got.len(), 1, "each request answered once");
    }
}

/// The same 求職番号 at two offices is two seekers' records: no-shows at
/// one office hold new requests there (第6条(5)) and nowhere else.
#[tokio::test]
async fn no_shows_count_per_office() {
    ensure_mailstack();
    let offices = [
        office("oki", "ハローワーク隠岐", "08512-2-8609"),
        office("masuda", "ハローワーク益田", "0856-22-8609"),
    ];
    let (_dir, path, _) = deployment(&offices).await;
    let number = "32010-77777777";
    let booked = Seeker::new("noshow");
    let reservation_in = regex::Regex::new(r"(\d{6}-[A-Z0-9]{4})").expect("regex");
    for (i, date) in ["2026-12-03", "2026-12-04"].iter().enumerate() {
        let (code, out) = yoyaku(
            &path,
            &[
                "book",
                "--office",
                "oki",
                "--now",
                "2026-11-25T10:00:00+09:00",
                "--seeker-number",
                number,
                "--name",
                "欠席 太郎",
                "--email",
                &booked.address,
                "--date",
                date,
                "--time",
                "11:00",
            ],
        );
        assert_eq!(code, Some(0), "{out}");
        let reservation = reservation_in
            .captures(&out)
            .map(|c| c[1].to_string())
            .expect("reservation printed");
        let when = format!("2026-12-0{}T12:00:00+09:00", 3 + i);
        let (code, out) = yoyaku(
            &path,
            &["no-show", "--office", "oki", "--now", &when, &reservation],
        );
        assert_eq!(code, Some(0), "{out}");
    }
    // The same number asks each office for a session.
    let text = request_text("欠席 太郎", "12月10日 11:00").replace("32010-12345678", number);
    let seekers: Vec<Seeker> = offices.iter().map(|o| Seeker::new(o.id)).collect();
    for (s, o) in seekers.iter().zip(&offices) {
        s.send(&o.address, "予約", &text).await;
        wait_for_mail_to(&o.address, 1).await;
    }
    let (code, out) = yoyaku(&path, &["once", "--now", "2026-12-05T10:00:00+09:00"]);
    assert_eq!(code, Some(0), "{out}");
    // Oki holds it for its staff; Masuda offers slots.
    let (_, oki) = yoyaku(
        &path,
        &["list", "--office", "oki", "--status", "needs_staff"],
    );
    assert!(oki.contains("欠席"), "held at oki: {oki}");
    let (_, masuda) = yoyaku(
        &path,
        &["list", "--office", "masuda", "--status", "offered"],
    );
    assert!(masuda.contains("欠席"), "offered at masuda: {masuda}");
    let (_, masuda_held) = yoyaku(
        &path,
        &["list", "--office", "masuda", "--status", "needs_staff"],
    );
    assert!(!masuda_held.contains("欠席"), "{masuda_held}");
    let staff_note = wait_for(&offices[0].staff, "INBOX", 1).await;
    assert!(!staff_note.is_empty(), "oki's staff are told");
    assert!(
        read_folder(&offices[1].staff, "INBOX").await.is_empty(),
        "masuda's staff are not"
    );
}

/// Starts `yoyaku run` again for any of `daemons` that is not running.
fn keep_running(daemons: &mut [Daemon], path: &std::path::Path) {
    for d in daemons.iter_mut() {
        if !d.alive() {
            *d = Daemon::start(path);
        }
    }
}

/// Three offices, two desks, SIGKILLs at random while requests and consents
/// arrive: every request of every office is answered (offer, then
/// confirmation), each with its own office's name; at most one mail is
/// delivered twice over the run; no slot is booked twice.
#[tokio::test]
async fn three_offices_two_desks_and_random_kills_lose_nothing() {
    ensure_mailstack();
    let offices = [
        office("gotsu", "ハローワーク江津", "0855-52-8609"),
        office("omuta", "ハローワーク大田", "0854-82-8609"),
        office("kawa", "ハローワーク川本", "0855-72-8609"),
    ];
    let (_dir, path, db_url) = deployment(&offices).await;
    let cal = yoyaku::core::calendar::Calendar::standard();
    let per_office = 6;
    let seekers: Vec<(usize, Seeker)> = (0..offices.len() * per_office)
        .map(|i| (i % offices.len(), Seeker::new(&format!("kill{i}"))))
        .collect();
    let mut daemons = vec![Daemon::start(&path), Daemon::start(&path)];
    let mut seed: u64 = 0x9e37_79b9_7f4a_7c15 ^ u64::from(std::process::id());
    let mut next = move || {
        seed ^= seed << 13;
        seed ^= seed >> 7;
        seed ^= seed << 17;
        seed
    };
    let mut kills = 0;
    for (n, (o, s)) in seekers.iter().enumerate() {
        let d = business_day_ahead(&cal, chrono::Utc::now(), 7 + (n as i64 % 4));
        let wish = format!("{}月{}日 11:00", d.format("%-m"), d.format("%-d"));
        s.send(
            &offices[*o].address,
            "予約",
            &request_text(&format!("乱打 {n}"), &wish),
        )
        .await;
        if next() % 3 == 0 {
            let victim = (next() % 2) as usize;
            tokio::time::sleep(std::time::Duration::from_millis(100 + next() % 600)).await;
            let _ = daemons[victim].0.kill();
            let _ = daemons[victim].0.wait();
            kills += 1;
            keep_running(&mut daemons, &path);
        }
    }
    // A mail in flight at a kill is sent again only after smtp.copy_wait_seconds
    // (30 s) without its copy: give the offers as long as the confirmations.
    let mut offers = Vec::new();
    for (_, s) in &seekers {
        let start = std::time::Instant::now();
        let offer = loop {
            keep_running(&mut daemons, &path);
            if let Some(first) = read_folder(&s.address, "INBOX").await.into_iter().next() {
                break first;
            }
            assert!(
                start.elapsed() < std::time::Duration::from_secs(90),
                "{} got no offer",
                s.address
            );
            tokio::time::sleep(std::time::Duration::from_millis(250)).await;
        };
        offers.push(offer);
    }
    for ((_, s), offer) in seekers.iter().zip(&offers) {
        s.reply(offer, "1番でお願いします").await;
        if next() % 4 == 0 {
            let victim = (next() % 2) as usize;
            let _ = daemons[victim].0.kill();
            let _ = daemons[victim].0.wait();
            kills += 1;
            keep_running(&mut daemons, &path);
        }
    }
    for (_, s) in &seekers {
        keep_running(&mut daemons, &path);
        let start = std::time::Instant::now();
        while read_folder(&s.address, "INBOX").await.len() < 2 {
            assert!(
                start.elapsed() < std::time::Duration::from_secs(90),
                "{} got no confirmation",
                s.address
            );
            keep_running(&mut daemons, &path);
            tokio::time::sleep(std::time::Duration::from_millis(250)).await;
        }
    }
    // Time for a duplicate to show before counting.
    tokio::time::sleep(std::time::Duration::from_secs(4)).await;
    let mut deliveries = 0;
    let mut distinct = 0;
    for (o, s) in &seekers {
        let got = read_folder(&s.address, "INBOX").await;
        let mut ids: Vec<String> = got
            .iter()
            .map(|m| m.inbound.message_id.clone().unwrap_or_default())
            .collect();
        deliveries += ids.len();
        ids.sort();
        ids.dedup();
        distinct += ids.len();
        assert_eq!(ids.len(), 2, "{}: an offer and a confirmation", s.address);
        for m in &got {
            assert!(
                m.text().contains(offices[*o].name),
                "each mail names its own office"
            );
        }
    }
    println!(
        "{} seekers at {} offices, {kills} kills: {deliveries} deliveries, {} duplicate(s)",
        seekers.len(),
        offices.len(),
        deliveries - distinct
    );
    assert!(deliveries - distinct <= 1, "at most one duplicate delivery");
    let store = yoyaku::store::Store::open(&db_url).await.expect("store");
    let doubled: i64 = store
        .probe_value(
            "SELECT COUNT(*) FROM (SELECT office, room_id, slot_start FROM bookings WHERE status = 'confirmed' GROUP BY office, room_id, slot_start HAVING COUNT(*) > 1) AS doubled",
            &[],
        )
        .await
        .expect("count");
    assert_eq!(doubled, 0, "no slot booked twice");
}
