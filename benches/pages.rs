//! Page times of the staff web page (issue 13): `cargo bench --bench pages`.
//!
//! An office with YOYAKU_BENCH_BOOKINGS past bookings (default 100,000:
//! 3 rooms, 8 slots a day, from 2015, each with its request) on SQLite,
//! served by `yoyaku web` (release). A logged-in client asks each page
//! YOYAKU_BENCH_PAGE_REQUESTS times (default 200), one at a time, and the
//! server-side time to the last byte is reported as p50/p99: the day view
//! of a full day (24 sessions), search by 求職番号 (an index) and by name
//! (a scan of every request's data), a request page, the month's report
//! with its 12-month chart, and its CSV. Then the desk's burst ratio with
//! and without the pages loaded: YOYAKU_BENCH_BURST requests (default 300)
//! answered by `yoyaku run` (the desk and the page in one process, as
//! deployed), once idle and once while a client loads the day view and the
//! report in a loop, each against the bare relay of the same size. Under
//! `cargo test` it runs a small smoke version. No timing is asserted.

#[path = "../tests/common/mod.rs"]
mod common;
#[path = "../tests/common/site.rs"]
mod site;
mod support;

use common::*;
use site::{add_staff, client, free_port, log_in, wait_healthy};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};
use support::{
    append_all, bare_relay, env_or, fill_past_bookings, percentile, rand_tag, request_raw,
    wait_delivered, BENCH_DOMAIN,
};

/// `n` requests from new seekers in `to`'s inbox; their addresses. Each
/// call's mails are new (their own Message-IDs: the desk would rightly take
/// a second copy of a message for a duplicate).
async fn requests_for(to: &str, prefix: &str, n: usize) -> Vec<String> {
    static CALLS: AtomicUsize = AtomicUsize::new(0);
    let first = CALLS.fetch_add(1, Ordering::Relaxed) * 1_000_000;
    let tag = format!("{:x}", rand_tag());
    let who: Vec<String> = (0..n)
        .map(|i| format!("{prefix}{i}-{tag}@{BENCH_DOMAIN}"))
        .collect();
    let raws: Vec<Vec<u8>> = who
        .iter()
        .enumerate()
        .map(|(i, s)| request_raw(s, to, first + i))
        .collect();
    append_all(to, &raws).await;
    who
}

/// The bare relay's time for `n` requests of a fresh mailbox.
async fn relay_secs(n: usize) -> f64 {
    let relay = TestDesk::with(Options {
        sqlite: true,
        ..Options::default()
    })
    .await;
    // From the first append, as for the desk (which answers while they come).
    let start = Instant::now();
    let who = requests_for(&relay.address, "r", n).await;
    bare_relay(relay.desk.office().config()).await;
    (wait_delivered(&who, 1, Duration::from_secs(600)) - start).as_secs_f64()
}

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

        // The burst, answered by `yoyaku run` (desk and page in one process).
        let burst = if full { env_or("YOYAKU_BENCH_BURST", 300) } else { 10 };
        let mut daemon = Daemon::start(&desk.config_path);
        wait_healthy(&base).await;
        let c = client();
        log_in(&c, &base, "bench", "bench-password-1").await;
        for loaded in [false, true] {
            let relay = relay_secs(burst).await;
            let stop = Arc::new(AtomicBool::new(false));
            let loads = Arc::new(AtomicUsize::new(0));
            let loader = loaded.then(|| {
                let (c, base, stop, loads) = (c.clone(), base.clone(), stop.clone(), loads.clone());
                let day = format!("{base}/o/default/day?date={day}");
                let report = format!("{base}/o/default/report?month={month}");
                tokio::spawn(async move {
                    while !stop.load(Ordering::Relaxed) {
                        for url in [&day, &report] {
                            if c.get(url.as_str()).send().await.is_ok() {
                                loads.fetch_add(1, Ordering::Relaxed);
                            }
                        }
                    }
                })
            });
            let start = Instant::now();
            let who = requests_for(&desk.address, if loaded { "l" } else { "i" }, burst).await;
            let done = wait_delivered(&who, 1, Duration::from_secs(600));
            stop.store(true, Ordering::Relaxed);
            if let Some(l) = loader {
                let _ = l.await;
            }
            let secs = (done - start).as_secs_f64();
            println!(
                "burst of {burst} with {bookings} past bookings, pages {}: yoyaku run {secs:.2} s, bare relay {relay:.2} s, ratio {:.2}{}",
                if loaded { "loaded in a loop" } else { "idle" },
                relay / secs,
                if loaded { format!(" ({} pages served meanwhile)", loads.load(Ordering::Relaxed)) } else { String::new() }
            );
        }
        assert!(daemon.alive());
    });
}
