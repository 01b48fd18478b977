//! Page times of the staff web page (issue 13): `cargo bench --bench pages`.
//!
//! An office with YOYAKU_BENCH_BOOKINGS past bookings (default 100,000:
//! 3 rooms, 8 slots a day, from 2015, each with its request) on SQLite,
//! served by `yoyaku web` (release). A logged-in client asks each page
//! YOYAKU_BENCH_PAGE_REQUESTS times (default 200), one at a time, and the
//! server-side time to the last byte is reported as p50/p99: the day view
//! of a full day (24 sessions), search by 求職番号 (an index) and by name
//! (a scan of every request's data), a request page, the month's report
//! with its 12-month chart, and its CSV. Under `cargo test` it runs a small
//! smoke version. No timing is asserted.

#[path = "../tests/common/mod.rs"]
mod common;
#[path = "../tests/common/site.rs"]
mod site;
mod support;

use common::*;
use site::{add_staff, client, free_port, log_in, wait_healthy};
use std::time::{Duration, Instant};
use support::{env_or, fill_past_bookings, percentile};

fn main() {
    let full = std::env::args().any(|a| a == "--bench");
    let bookings = if full {
        env_or("YOYAKU_BENCH_BOOKINGS", 100_000)
    } else {
        2_000
    };
    let n = if full {
        env_or("YOYAKU_BENCH_PAGE_REQUESTS", 200)
    } else {
        5
    };
    let rt = tokio::runtime::Runtime::new().expect("runtime");
    rt.block_on(async {
        let port = free_port();
        let desk = TestDesk::with(Options {
            rooms: 3,
            extra: format!("[web]\nlisten = \"127.0.0.1:{port}\"\n"),
            sqlite: true,
            ..Options::default()
        })
        .await;
        let started = Instant::now();
        fill_past_bookings(&desk.dir.path().join("yoyaku.db"), bookings, 3, 8).await;
        let fill = started.elapsed().as_secs_f64();
        add_staff(&desk.config_path, "bench", "bench-password-1", &[]);
        let mut server = std::process::Command::new(env!("CARGO_BIN_EXE_yoyaku"))
            .args(["web", "--config"])
            .arg(&desk.config_path)
            .env("YOYAKU_LOG", "warn")
            .stdout(std::process::Stdio::null())
            .spawn()
            .expect("start yoyaku web");
        let base = format!("http://127.0.0.1:{port}");
        wait_healthy(&base).await;
        let c = client();
        log_in(&c, &base, "bench", "bench-password-1").await;
        // A full day in the middle of the history, a seeker from it.
        let middle = bookings / 2;
        let day = chrono::NaiveDate::from_ymd_opt(2015, 1, 1).unwrap_or_default()
            + chrono::Duration::days((middle / 24) as i64);
        let month = day.format("%Y-%m").to_string();
        let pages = [
            ("day view (24 sessions)", format!("/o/default/day?date={day}")),
            ("search by 求職番号", format!("/o/default/search?q=32010-{middle:08}")),
            ("search by name (scan)", format!("/o/default/search?q=過去{middle}")),
            ("request page", format!("/o/default/r/P{middle:07}")),
            ("report + 12-month chart", format!("/o/default/report?month={month}")),
            ("report CSV", format!("/o/default/report.csv?month={month}")),
        ];
        println!("pages: {bookings} past bookings (filled in {fill:.1} s), {n} requests each, one at a time:");
        for (name, path) in pages {
            let mut times = Vec::with_capacity(n);
            for _ in 0..n {
                let start = Instant::now();
                let r = c.get(format!("{base}{path}")).send().await.expect("page");
                let status = r.status();
                let body = r.bytes().await.expect("body");
                times.push(start.elapsed().as_secs_f64() * 1000.0);
                assert!(status.is_success(), "{name}: {status}");
                assert!(!body.is_empty());
            }
            times.sort_by(f64::total_cmp);
            println!(
                "  {name:<26} p50 {:>7.2} ms  p99 {:>7.2} ms",
                percentile(&times, 0.5),
                percentile(&times, 0.99)
            );
        }
        let _ = server.kill();
        let _ = server.wait();
        tokio::time::sleep(Duration::from_millis(10)).await;
    });
}
