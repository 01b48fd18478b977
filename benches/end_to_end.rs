//! End-to-end benches through the real loopback Dovecot + Postfix (issue 5):
//!
//! - burst: N requests already in the inbox; time until every offer is in
//!   its seeker's mailbox, for `yoyaku once` and, in the same run, for a
//!   bare relay on the same crates (IMAP fetch, an SMTP reply of the same
//!   size and shape as the desk's offer: a text part and the terms of use
//!   attached; no parsing, no database): the mail stack's own limit;
//! - latency: requests sent one at a time to a `yoyaku run` idling in IMAP
//!   IDLE; submission to arrival in the seeker's mailbox, p50 and p99;
//! - contention: M consents for one slot at once; time until each has its
//!   answer, and exactly one booking;
//! - memory: the daemon's peak RSS with B past bookings in its database.
//!
//! `cargo bench --bench end_to_end` (sizes from YOYAKU_BENCH_BURST=2000,
//! YOYAKU_BENCH_ROUNDS=3, YOYAKU_BENCH_LATENCY=200,
//! YOYAKU_BENCH_CONTENTION=200, YOYAKU_BENCH_BOOKINGS=100000;
//! YOYAKU_BENCH_PERF=FILE records each `yoyaku once` with `perf record`,
//! YOYAKU_BENCH_LOG sets its log filter). Under `cargo test` it runs a
//! small smoke version. Delivery is seen by counting files in the seekers'
//! maildirs, which costs the mail stack nothing. CPU is read from /proc:
//! the desk's own, and the whole machine's (the mail servers' included).
//! No timing is asserted.

#[path = "../tests/common/mod.rs"]
mod common;
mod support;

use common::*;
use std::process::{Command, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant, SystemTime};
use support::*;

/// CPU seconds (user + system) of this process's waited-for children, from
/// /proc/self/stat (cutime, cstime; clock ticks of 1/100 s on Linux).
fn children_cpu_secs() -> f64 {
    proc_stat_ticks(13, 14)
}

/// CPU seconds (user + system) of this process so far.
fn own_cpu_secs() -> f64 {
    proc_stat_ticks(11, 12)
}

fn proc_stat_ticks(user: usize, system: usize) -> f64 {
    let stat = std::fs::read_to_string("/proc/self/stat").unwrap_or_default();
    // Fields after the command name, which is in parentheses and may hold spaces.
    // utime, stime, cutime, cstime are fields 14-17 of stat; 11-14 after the name.
    let rest = stat.rsplit_once(')').map_or("", |(_, r)| r);
    let fields: Vec<&str> = rest.split_whitespace().collect();
    let ticks = |i: usize| {
        fields
            .get(i)
            .and_then(|v| v.parse::<f64>().ok())
            .unwrap_or(0.0)
    };
    (ticks(user) + ticks(system)) / 100.0
}

/// Runs `yoyaku once`; returns the CPU seconds it used.
fn run_once(config: &std::path::Path, now: &str) -> f64 {
    let before = children_cpu_secs();
    // YOYAKU_BENCH_PERF=FILE records a CPU profile of the pass with perf.
    let mut command = match std::env::var("YOYAKU_BENCH_PERF") {
        Ok(out) => {
            // One file per pass: FILE.1 is the burst.
            static PASSES: AtomicUsize = AtomicUsize::new(0);
            let out = format!("{out}.{}", PASSES.fetch_add(1, Ordering::Relaxed) + 1);
            let mut c = Command::new("perf");
            c.args([
                "record",
                "-e",
                "cpu-clock",
                "-F",
                "2000",
                "--call-graph",
                "dwarf,16384",
                "-o",
                &out,
                "--",
            ])
            .arg(env!("CARGO_BIN_EXE_yoyaku"));
            c
        }
        Err(_) => Command::new(env!("CARGO_BIN_EXE_yoyaku")),
    };
    let status = command
        .args(["once", "--now", now, "--config"])
        .arg(config)
        .env(
            "YOYAKU_LOG",
            std::env::var("YOYAKU_BENCH_LOG").unwrap_or_else(|_| "warn".into()),
        )
        .stdout(Stdio::null())
        .status()
        .expect("yoyaku once");
    assert!(status.success());
    children_cpu_secs() - before
}

fn seekers(prefix: &str, n: usize) -> Vec<String> {
    let run = format!("{:x}", std::process::id() as u64 ^ rand_tag());
    (0..n)
        .map(|i| format!("{prefix}{i}-{run}@{BENCH_DOMAIN}"))
        .collect()
}

/// `n` new seekers (addresses starting with `prefix`), a request from each
/// already in `desk`'s inbox; returns their addresses.
async fn requests_in_inbox(desk: &TestDesk, prefix: &str, n: usize) -> Vec<String> {
    let who = seekers(prefix, n);
    let raws: Vec<Vec<u8>> = who
        .iter()
        .enumerate()
        .map(|(i, s)| request_raw(s, &desk.address, i))
        .collect();
    append_all(&desk.address, &raws).await;
    who
}

/// A burst is many requests from one place: no daily limits here (the
/// contention bench's seekers share one 求職番号 too).
fn unlimited() -> Options {
    Options {
        limits: (1_000_000, 1_000_000),
        ..Options::default()
    }
}

fn rooms_for(n: usize) -> usize {
    // About 80 slots in the 30-day horizon: a room per 80 seekers.
    n.div_ceil(60).max(1)
}

struct Burst {
    /// Start to the last offer in its seeker's mailbox.
    yoyaku_secs: f64,
    /// Start to the end of the pass (`once` then files its copies).
    yoyaku_done_secs: f64,
    yoyaku_cpu: f64,
    yoyaku_machine: f64,
    relay_secs: f64,
    relay_cpu: f64,
    relay_machine: f64,
}

async fn burst(n: usize) -> Burst {
    // yoyaku.
    let desk = TestDesk::with(Options {
        rooms: rooms_for(n),
        ..unlimited()
    })
    .await;
    let who = requests_in_inbox(&desk, "b", n).await;
    let (start, started) = (Instant::now(), SystemTime::now());
    let busy = machine_busy_secs();
    let yoyaku_cpu = run_once(&desk.config_path, "2026-11-25T10:00:00+09:00");
    let done = wait_delivered(&who, 1, Duration::from_secs(600));
    let yoyaku_machine = machine_busy_secs() - busy;
    // The time the burst measures is the seekers' (their offers delivered);
    // the pass goes on to file its copies in the sent folder, which the
    // relay has none of. Both are printed.
    let yoyaku_secs = since(started, last_first_delivery(&who));
    let yoyaku_done_secs = (done - start).as_secs_f64();
    // The bare relay, same messages, its own seekers.
    let relay_desk = TestDesk::with(unlimited()).await;
    let relay_who = requests_in_inbox(&relay_desk, "r", n).await;
    let started = SystemTime::now();
    let busy = machine_busy_secs();
    let cpu_before = own_cpu_secs();
    bare_relay(relay_desk.desk.office().config()).await;
    let relay_cpu = own_cpu_secs() - cpu_before;
    wait_delivered(&relay_who, 1, Duration::from_secs(600));
    Burst {
        yoyaku_secs,
        yoyaku_done_secs,
        yoyaku_cpu,
        yoyaku_machine,
        relay_secs: since(started, last_first_delivery(&relay_who)),
        relay_cpu,
        relay_machine: machine_busy_secs() - busy,
    }
}

fn since(start: SystemTime, end: SystemTime) -> f64 {
    end.duration_since(start).map_or(0.0, |d| d.as_secs_f64())
}

async fn latency(n: usize) -> Vec<f64> {
    let desk = TestDesk::with(Options {
        rooms: rooms_for(n),
        ..unlimited()
    })
    .await;
    let _daemon = Daemon::start(&desk.config_path);
    // Let it connect and enter IDLE.
    tokio::time::sleep(Duration::from_secs(2)).await;
    let who = seekers("l", n);
    let mut out = Vec::with_capacity(n);
    for (i, s) in who.iter().enumerate() {
        let raw = request_raw(s, &desk.address, i);
        let start = Instant::now();
        send_raw(s, &desk.address, &raw).await;
        let done = wait_delivered(std::slice::from_ref(s), 1, Duration::from_secs(30));
        out.push((done - start).as_secs_f64() * 1000.0);
    }
    out
}

async fn contention(m: usize) -> (f64, i64) {
    let desk = TestDesk::with(unlimited()).await;
    let who = seekers("c", m);
    let raws: Vec<Vec<u8>> = who
        .iter()
        .enumerate()
        .map(|(i, s)| {
            Mail::new(s, &desk.address, "予約")
                .id(&format!("c-{i}-{}@{BENCH_DOMAIN}", rand_tag()))
                .utf8_base64(&request_text("競合", "12月3日 11:00"))
                .build()
        })
        .collect();
    append_all(&desk.address, &raws).await;
    run_once(&desk.config_path, "2026-11-25T10:00:00+09:00");
    wait_delivered(&who, 1, Duration::from_secs(300));
    let offers: Vec<(String, String)> = desk
        .desk
        .office()
        .store()
        .probe_rows(
            "SELECT recipient, message_id FROM outbox WHERE kind = 'offer'",
            &[],
        )
        .await
        .expect("offers");
    let consents: Vec<Vec<u8>> = offers
        .iter()
        .enumerate()
        .map(|(i, (to, id))| {
            Mail::new(to, &desk.address, "Re: 予約")
                .id(&format!("consent-{i}-{}@{BENCH_DOMAIN}", rand_tag()))
                .header("In-Reply-To", &format!("<{id}>"))
                .header("References", &format!("<{id}>"))
                .utf8_base64("1番でお願いします")
                .build()
        })
        .collect();
    append_all(&desk.address, &consents).await;
    let start = Instant::now();
    run_once(&desk.config_path, "2026-11-25T10:05:00+09:00");
    let done = wait_delivered(&who, 2, Duration::from_secs(300));
    let bookings = desk
        .db_scalar("SELECT COUNT(*) FROM bookings WHERE status = 'confirmed'")
        .await;
    ((done - start).as_secs_f64(), bookings)
}

/// Peak RSS (kB) of a daemon answering requests with `b` past bookings.
async fn memory(b: usize) -> (u64, f64) {
    let desk = TestDesk::with(unlimited()).await;
    let started = Instant::now();
    fill_past_bookings(&desk.dir.path().join("yoyaku.db"), b, 1, 4).await;
    let fill = started.elapsed().as_secs_f64();
    let daemon = Daemon::start(&desk.config_path);
    let pid = daemon.0.id();
    let who = seekers("m", 20);
    for (i, s) in who.iter().enumerate() {
        send_raw(s, &desk.address, &request_raw(s, &desk.address, i)).await;
    }
    wait_delivered(&who, 1, Duration::from_secs(120));
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap_or_default();
    let hwm = status
        .lines()
        .find_map(|l| l.strip_prefix("VmHWM:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        .unwrap_or(0);
    drop(daemon);
    (hwm, fill)
}

fn main() {
    // `cargo bench` passes --bench; `cargo test` does not: a smoke run.
    let full = std::env::args().any(|a| a == "--bench");
    let scale = |key: &str, big: usize, small: usize| if full { env_or(key, big) } else { small };
    let n = scale("YOYAKU_BENCH_BURST", 2000, 20);
    let rounds = scale("YOYAKU_BENCH_ROUNDS", 3, 1);
    let l = scale("YOYAKU_BENCH_LATENCY", 200, 5);
    let m = scale("YOYAKU_BENCH_CONTENTION", 200, 10);
    let b = scale("YOYAKU_BENCH_BOOKINGS", 100_000, 500);
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .expect("runtime");
    rt.block_on(async {
        ensure_mailstack();
        // The machine is shared by the desk and both mail servers, and a
        // single burst varies by ±20%: rounds of yoyaku then relay, the
        // median of the per-round ratios reported.
        let mut ratios = Vec::new();
        for round in 1..=rounds {
            let b = burst(n).await;
            let (ours, relay) = (b.yoyaku_secs, b.relay_secs);
            println!(
                "burst round {round}: {n} requests: yoyaku {ours:.2} s to the last offer delivered ({:.0}/s; pass with its copies filed {:.2} s, CPU {:.1} s, machine {:.1} s), bare relay {relay:.2} s ({:.0}/s, CPU {:.1} s, machine {:.1} s), yoyaku/relay throughput {:.2} (with the copies filed {:.2})",
                n as f64 / ours,
                b.yoyaku_done_secs,
                b.yoyaku_cpu,
                b.yoyaku_machine,
                n as f64 / relay,
                b.relay_cpu,
                b.relay_machine,
                relay / ours,
                relay / b.yoyaku_done_secs
            );
            ratios.push(relay / ours);
        }
        ratios.sort_by(|a, b| a.total_cmp(b));
        println!(
            "burst: yoyaku/relay throughput, median of {rounds} rounds: {:.2} (min {:.2}, max {:.2})",
            percentile(&ratios, 0.5),
            ratios.first().copied().unwrap_or(0.0),
            ratios.last().copied().unwrap_or(0.0)
        );
        let mut lat = latency(l).await;
        lat.sort_by(|a, b| a.total_cmp(b));
        println!(
            "latency (IDLE): {l} requests one at a time: p50 {:.0} ms, p99 {:.0} ms, max {:.0} ms",
            percentile(&lat, 0.5),
            percentile(&lat, 0.99),
            lat.last().copied().unwrap_or(0.0)
        );
        let (secs, bookings) = contention(m).await;
        assert_eq!(bookings, 1, "one booking for one slot");
        println!("contention: {m} consents for one slot: every answer in {secs:.2} s, {bookings} booking");
        let (hwm, fill) = memory(b).await;
        println!(
            "memory: {b} past bookings (filled in {fill:.1} s): daemon peak RSS {:.1} MB",
            hwm as f64 / 1024.0
        );
    });
}
