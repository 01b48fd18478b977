//! Many offices on one process (issue 12): `cargo bench --bench offices`.
//!
//! One `yoyaku run` (release) serves YOYAKU_BENCH_OFFICES offices (default
//! 544, Hello Work's count) of one config against the loopback Dovecot, one
//! mailbox each, on SQLite (or YOYAKU_BENCH_DATABASE_URL). Reports the
//! start-up time until every office is in IDLE, peak and current RSS, the
//! desk's CPU over YOYAKU_BENCH_IDLE_SECONDS (default 300) of idling, and the
//! IDLE latency of one office (YOYAKU_BENCH_LATENCY requests, default 20,
//! one at a time) while every other office idles. Mailstack: its IMAP
//! process limit must allow a session per office (scripts/mailstack.sh sets
//! 1024; restart it after an upgrade: `mailstack.sh stop; mailstack.sh start`).

#[path = "../tests/common/mod.rs"]
mod common;
mod support;

use common::*;
use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};
use support::{delivered, env_or, offices_config, percentile};

const BENCH_DOMAIN: &str = "offices.bench.test";

/// (utime + stime) of a process, in clock ticks.
fn cpu_ticks(pid: u32) -> u64 {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap_or_default();
    let after = stat.rsplit_once(')').map_or("", |(_, s)| s);
    let fields: Vec<&str> = after.split_whitespace().collect();
    let field = |i: usize| {
        fields
            .get(i)
            .and_then(|v| v.parse::<u64>().ok())
            .unwrap_or(0)
    };
    field(11) + field(12)
}

fn status_kb(pid: u32, key: &str) -> u64 {
    std::fs::read_to_string(format!("/proc/{pid}/status"))
        .unwrap_or_default()
        .lines()
        .find(|l| l.starts_with(key))
        .and_then(|l| l.split_whitespace().nth(1))
        .and_then(|v| v.parse().ok())
        .unwrap_or(0)
}

fn main() {
    // `cargo test --benches` runs it small.
    let quick = !std::env::args().any(|a| a == "--bench");
    let n = if quick {
        3
    } else {
        env_or("YOYAKU_BENCH_OFFICES", 544)
    };
    let idle = if quick {
        2
    } else {
        env_or("YOYAKU_BENCH_IDLE_SECONDS", 300)
    };
    let l = if quick {
        2
    } else {
        env_or("YOYAKU_BENCH_LATENCY", 20)
    };
    ensure_mailstack();
    let runtime = tokio::runtime::Runtime::new().expect("runtime");
    let dir = tempfile::tempdir().expect("tempdir");
    let tag = format!("{:x}", std::process::id());
    let db_url = std::env::var("YOYAKU_BENCH_DATABASE_URL")
        .unwrap_or_else(|_| format!("sqlite://{}", dir.path().join("yoyaku.db").display()));
    let path = dir.path().join("yoyaku.toml");
    std::fs::write(&path, offices_config(n, &tag, BENCH_DOMAIN, &db_url, 30)).expect("config");

    let start = Instant::now();
    let mut child = Command::new(env!("CARGO_BIN_EXE_yoyaku"))
        .args(["run", "--config"])
        .arg(&path)
        .env("YOYAKU_LOG", "info")
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .expect("start yoyaku run");
    let pid = child.id();
    let connected = Arc::new(AtomicUsize::new(0));
    let stderr = child.stderr.take().expect("stderr");
    {
        let connected = connected.clone();
        std::thread::spawn(move || {
            for line in BufReader::new(stderr).lines().map_while(Result::ok) {
                if line.contains("imap connected") {
                    connected.fetch_add(1, Ordering::Relaxed);
                }
            }
        });
    }
    while connected.load(Ordering::Relaxed) < n {
        assert!(
            start.elapsed() < Duration::from_secs(600),
            "only {} of {n} offices connected",
            connected.load(Ordering::Relaxed)
        );
        std::thread::sleep(Duration::from_millis(100));
    }
    let startup = start.elapsed();
    // Let the first passes finish before measuring the idle desk.
    std::thread::sleep(Duration::from_secs(5));
    let rss_started = status_kb(pid, "VmRSS:");
    let ticks = cpu_ticks(pid);
    let idle_start = Instant::now();
    std::thread::sleep(Duration::from_secs(idle as u64));
    let idle_cpu = (cpu_ticks(pid) - ticks) as f64 / 100.0;
    let idle_share = idle_cpu / idle_start.elapsed().as_secs_f64() * 100.0;

    // IDLE latency of office 0 while the others idle.
    let office0 = format!("office0-{tag}@{BENCH_DOMAIN}");
    let mut latencies = Vec::with_capacity(l);
    runtime.block_on(async {
        for i in 0..l {
            let seeker = format!("s{i}-{tag}@{BENCH_DOMAIN}");
            let raw = Mail::new(&seeker, &office0, "予約")
                .id(&format!("offices-{i}-{tag}@{BENCH_DOMAIN}"))
                .utf8_base64(
                    &request_text(&format!("計測 {i}"), "12月3日 11:00")
                        .replace("32010-12345678", &format!("32010-{:08}", 20_000_000 + i)),
                )
                .build();
            let sent = Instant::now();
            send_raw(&seeker, &office0, &raw).await;
            while delivered(&seeker) == 0 {
                assert!(sent.elapsed() < Duration::from_secs(60), "no answer");
                tokio::time::sleep(Duration::from_millis(5)).await;
            }
            latencies.push(sent.elapsed().as_secs_f64() * 1000.0);
        }
    });
    latencies.sort_by(f64::total_cmp);
    let peak = status_kb(pid, "VmHWM:");
    let _ = child.kill();
    let _ = child.wait();
    println!(
        "offices: {n} on one process ({}): all in IDLE {:.1} s after start; RSS {:.1} MB once started, peak {:.1} MB",
        if db_url.starts_with("postgres") { "PostgreSQL" } else { "SQLite" },
        startup.as_secs_f64(),
        rss_started as f64 / 1024.0,
        peak as f64 / 1024.0
    );
    println!("idle: {idle_cpu:.2} CPU-s over {idle} s = {idle_share:.2}% of a core");
    println!(
        "latency (IDLE) of one office while {} idle: {l} requests one at a time: p50 {:.0} ms, p99 {:.0} ms",
        n - 1,
        percentile(&latencies, 0.5),
        percentile(&latencies, 0.99)
    );
}
