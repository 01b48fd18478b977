//! `yoyaku migrate-db`: a single-office SQLite deployment moved to
//! PostgreSQL (and back), through the real binary and a real PostgreSQL.

mod common;

use common::*;
use yoyaku::store::Store;

/// A fresh, empty PostgreSQL database on the test server
/// (`YOYAKU_TEST_PG_SERVER`, set by scripts/test.sh from scripts/pgstack.sh).
async fn fresh_postgres() -> String {
    let server = std::env::var("YOYAKU_TEST_PG_SERVER").expect(
        "YOYAKU_TEST_PG_SERVER: run the tests through scripts/test.sh (it starts PostgreSQL)",
    );
    use sqlx::Connection;
    let name = unique("migrate").replace(['@', '.', '-'], "_");
    let name: String = name.chars().take(60).collect();
    let mut admin = sqlx::PgConnection::connect(&server).await.expect("connect");
    sqlx::raw_sql(sqlx::AssertSqlSafe(format!("CREATE DATABASE {name}")))
        .execute(&mut admin)
        .await
        .expect("create database");
    let base = server.rsplit_once('/').map_or(server.as_str(), |(b, _)| b);
    format!("{base}/{name}")
}

fn migrate(args: &[&str]) -> (Option<i32>, String) {
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_yoyaku"))
        .arg("migrate-db")
        .args(args)
        .env("YOYAKU_LOG", "warn")
        .output()
        .expect("run yoyaku migrate-db");
    (
        out.status.code(),
        format!(
            "{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        ),
    )
}

/// What identifies the office's records, in a comparable form.
async fn records(store: &Store) -> Vec<(String, String, String, String)> {
    let office = store.office().to_string();
    let mut rows: Vec<(String, String, String, String)> = store
        .probe_rows(
            "SELECT r.ref, r.state, r.data, COALESCE(b.reservation, '') FROM requests r LEFT JOIN bookings b ON b.request_id = r.id AND b.office = r.office WHERE r.office = $1",
            &[&office],
        )
        .await
        .expect("records");
    rows.sort();
    rows
}

#[tokio::test]
async fn a_sqlite_office_moves_to_postgresql_and_back_with_every_record() {
    // The source: a desk on SQLite that took a request and a consent.
    let desk = TestDesk::with(Options {
        sqlite: true,
        ..Default::default()
    })
    .await;
    let seeker = Seeker::new("move");
    seeker
        .send(
            &desk.address,
            "予約",
            &request_text("移転 太郎", "12月3日 11:00"),
        )
        .await;
    desk.once_after(1, jst(2026, 11, 25, 10, 0)).await;
    let offer = seeker.inbox(1).await.remove(0);
    seeker.reply(&offer, "1番でお願いします").await;
    desk.once_after(1, jst(2026, 11, 25, 10, 5)).await;
    seeker.inbox(2).await;
    let source = desk.desk.office().store().clone();
    let before = records(&source).await;
    assert_eq!(before.len(), 1);
    assert!(!before[0].3.is_empty(), "booked: {before:?}");
    let tables = [
        "requests",
        "thread_ids",
        "bookings",
        "history",
        "processed",
        "outbox",
    ];
    let mut source_counts = Vec::new();
    for t in tables {
        let n: i64 = source
            .probe_value(
                &format!("SELECT COUNT(*) FROM {t} WHERE office = 'default'"),
                &[],
            )
            .await
            .expect("count");
        assert!(n > 0, "{t} has rows to move");
        source_counts.push(n);
    }

    let pg = fresh_postgres().await;
    let (code, out) = migrate(&["--from", &desk.db_url, "--to", &pg, "--office", "izumo"]);
    assert_eq!(code, Some(0), "{out}");
    let target = Store::open(&pg).await.expect("target").for_office("izumo");
    assert_eq!(
        records(&target).await,
        before,
        "the same records under izumo"
    );
    for (t, n) in tables.iter().zip(&source_counts) {
        assert!(out.contains(&format!("{t}: {n}")), "{t}: {n} in {out}");
        let copied: i64 = target
            .probe_value(
                &format!("SELECT COUNT(*) FROM {t} WHERE office = 'izumo'"),
                &[],
            )
            .await
            .expect("count");
        assert_eq!(copied, *n, "{t}");
    }
    // The consent record came along.
    let consent: String = target
        .probe_value(
            "SELECT consent_message_id FROM bookings WHERE office = 'izumo'",
            &[],
        )
        .await
        .expect("consent");
    assert!(!consent.is_empty());

    // Never into an office that has records.
    let (code, out) = migrate(&["--from", &desk.db_url, "--to", &pg, "--office", "izumo"]);
    assert_ne!(code, Some(0), "{out}");
    assert!(out.contains("izumo") && out.contains("empty"), "{out}");
    let again: i64 = target
        .probe_value("SELECT COUNT(*) FROM requests WHERE office = 'izumo'", &[])
        .await
        .expect("count");
    assert_eq!(again, 1, "nothing copied twice");

    // And back, into a new SQLite file: the round trip keeps every record.
    let back = format!("sqlite://{}", desk.dir.path().join("back.db").display());
    let (code, out) = migrate(&["--from", &pg, "--from-office", "izumo", "--to", &back]);
    assert_eq!(code, Some(0), "{out}");
    let returned = Store::open(&back).await.expect("back");
    assert_eq!(records(&returned).await, before);
}
