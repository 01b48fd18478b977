//! A burst spread over many offices on PostgreSQL (issue 12):
//! `cargo bench --bench fleet`.
//!
//! YOYAKU_BENCH_FLEET_REQUESTS requests (default 1000) spread evenly over
//! YOYAKU_BENCH_FLEET_OFFICES offices (default 50) wait in their inboxes;
//! then, on a fresh database each time:
//!
//! - the bare relay (tests' `bare_relay`, one per office, all at once): the
//!   mail stack's own limit;
//! - one `yoyaku run` (release) serving every office;
//! - two `yoyaku run` on the same config and database, started together
//!   (they divide the offices by who takes each lease first);
//!
//! each timed from start to the last seeker's answer in their maildir, in
//! YOYAKU_BENCH_ROUNDS rounds (default 3), the ratio to the relay's time in
//! the same round reported. Then failover: two desks, the same burst, and
//! when a third of the requests are handled, SIGKILL of the desk holding the
//! office with the most mail waiting: the time until the other desk holds
//! its offices and until each answers again, the seekers never answered
//! (lost) and answers beyond the first (duplicate deliveries).
//! Leases are `[daemon] lease_seconds` (YOYAKU_BENCH_LEASE, default 30, the
//! default of the config).
//!
//! The database server is YOYAKU_BENCH_DATABASE_URL, else the tests'
//! (YOYAKU_TEST_PG_SERVER, set by scripts/test.sh), else scripts/pgstack.sh's
//! default. Under `cargo test` it runs a small smoke version. No timing is
//! asserted; the counts of lost and duplicate answers are.

#[path = "../tests/common/mod.rs"]
mod common;
mod support;

use common::*;
use std::collections::HashMap;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};
use support::*;
use yoyaku::config::Config;

const FLEET_DOMAIN: &str = "fleet.bench.test";

struct Fleet {
    dir: tempfile::TempDir,
    config: std::path::PathBuf,
    db_url: String,
    offices: Vec<Config>,
    /// Each office's seekers, by office index.
    seekers: Vec<Vec<String>>,
}

/// A fresh set of offices (new mailboxes, a new database) with `requests`
/// requests waiting in their inboxes.
async fn fleet(n_offices: usize, requests: usize, lease: u64) -> Fleet {
    let dir = tempfile::tempdir().expect("tempdir");
    let db_url = test_database_url(dir.path()).await;
    let tag = format!("{:x}", rand_tag());
    let config = dir.path().join("yoyaku.toml");
    std::fs::write(
        &config,
        offices_config(n_offices, &tag, FLEET_DOMAIN, &db_url, lease),
    )
    .expect("config");
    let offices = Config::load_offices(&config).expect("fleet config");
    let mut seekers = vec![Vec::new(); n_offices];
    for i in 0..requests {
        seekers[i % n_offices].push(format!("s{i}-{tag}@{FLEET_DOMAIN}"));
    }
    let fills = offices.iter().zip(&seekers).map(|(office, who)| {
        let address = office.imap.username.clone();
        let raws: Vec<Vec<u8>> = who
            .iter()
            .enumerate()
            .map(|(i, s)| request_raw(s, &address, i))
            .collect();
        async move { append_all(&address, &raws).await }
    });
    futures::future::join_all(fills).await;
    Fleet {
        dir,
        config,
        db_url,
        offices,
        seekers,
    }
}

/// A desk; with YOYAKU_BENCH_LOG_DIR, its info log goes to a file there.
fn desk(config: &Path) -> Child {
    let mut command = Command::new(env!("CARGO_BIN_EXE_yoyaku"));
    command
        .args(["run", "--config"])
        .arg(config)
        .env("YOYAKU_LOG", "warn")
        .stdout(Stdio::null());
    if let Ok(dir) = std::env::var("YOYAKU_BENCH_LOG_DIR") {
        let name = format!("desk-{:x}.log", rand_tag());
        let file = std::fs::File::create(Path::new(&dir).join(name)).expect("log file");
        command.env("YOYAKU_LOG", "info").stderr(file);
    }
    command.spawn().expect("start yoyaku run")
}

/// When each seeker got their first answer, polling every 20 ms (cheap
/// enough not to take the mail servers' CPU); gives up after `limit`.
fn watch(fleet: &Fleet, limit: Duration) -> HashMap<String, Instant> {
    let start = Instant::now();
    let all: Vec<&String> = fleet.seekers.iter().flatten().collect();
    let mut answered: HashMap<String, Instant> = HashMap::new();
    while answered.len() < all.len() && start.elapsed() < limit {
        for s in &all {
            if !answered.contains_key(*s) && delivered(s) > 0 {
                answered.insert((*s).clone(), Instant::now());
            }
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    answered
}

/// Seekers without an answer, and answers beyond the first, once the mail
/// has had `settle` to arrive.
fn lost_and_duplicates(fleet: &Fleet, settle: Duration) -> (usize, usize) {
    std::thread::sleep(settle);
    let counts = fleet.seekers.iter().flatten().map(|s| delivered(s));
    counts.fold((0, 0), |(lost, dups), n| {
        (lost + usize::from(n == 0), dups + n.saturating_sub(1))
    })
}

fn stop(mut children: Vec<Child>) {
    for c in &mut children {
        let _ = c.kill();
        let _ = c.wait();
    }
}

fn cpu_secs(pid: u32) -> f64 {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap_or_default();
    let after = stat.rsplit_once(')').map_or("", |(_, s)| s);
    let fields: Vec<&str> = after.split_whitespace().collect();
    let ticks = |i: usize| fields.get(i).and_then(|v| v.parse::<f64>().ok());
    (ticks(11).unwrap_or(0.0) + ticks(12).unwrap_or(0.0)) / 100.0
}

/// Seconds until every seeker is answered by `desks` desks; their CPU and
/// the whole machine's (mail servers and PostgreSQL included).
fn desks_burst(fleet: &Fleet, desks: usize) -> (f64, f64, f64) {
    let start = Instant::now();
    let busy = machine_busy_secs();
    let children: Vec<Child> = (0..desks).map(|_| desk(&fleet.config)).collect();
    let answered = watch(fleet, Duration::from_secs(900));
    let total: usize = fleet.seekers.iter().map(Vec::len).sum();
    assert_eq!(answered.len(), total, "every seeker answered");
    let secs = answered
        .values()
        .max()
        .map_or(0.0, |t| (*t - start).as_secs_f64());
    let cpu = children.iter().map(|c| cpu_secs(c.id())).sum();
    let machine = machine_busy_secs() - busy;
    stop(children);
    (secs, cpu, machine)
}

/// Seconds until the bare relay answered every seeker; the machine's CPU.
async fn relay_burst(fleet: &Fleet) -> (f64, f64) {
    let start = Instant::now();
    let busy = machine_busy_secs();
    futures::future::join_all(fleet.offices.iter().map(bare_relay)).await;
    let answered = watch(fleet, Duration::from_secs(900));
    let secs = answered
        .values()
        .max()
        .map_or(0.0, |t| (*t - start).as_secs_f64());
    (secs, machine_busy_secs() - busy)
}

/// Which process holds each office's lease (the pid in the holder).
async fn holders(db_url: &str) -> HashMap<String, u32> {
    let store = yoyaku::store::Store::open(db_url).await.expect("database");
    let rows: Vec<(String, String)> = store
        .probe_rows("SELECT office, owner FROM office_leases", &[])
        .await
        .expect("leases");
    rows.into_iter()
        .filter_map(|(office, owner)| Some((office, owner.split(':').nth(1)?.parse().ok()?)))
        .collect()
}

/// Requests handled so far, every office.
async fn handled(store: &yoyaku::store::Store) -> usize {
    let n: i64 = store
        .probe_value("SELECT COUNT(*) FROM processed", &[])
        .await
        .unwrap_or(0);
    usize::try_from(n).unwrap_or(0)
}

struct Failover {
    victim_offices: usize,
    /// Seconds from the kill until the other desk held every victim office.
    leases_taken: Option<f64>,
    /// Seconds from the kill until each victim office with mail waiting
    /// answered a seeker the killed desk had not (sorted).
    takeover: Vec<f64>,
    lost: usize,
    duplicates: usize,
    total_secs: f64,
}

async fn failover(fleet: &Fleet) -> Failover {
    let total: usize = fleet.seekers.iter().map(Vec::len).sum();
    let mut children: Vec<Child> = (0..2).map(|_| desk(&fleet.config)).collect();
    let start = Instant::now();
    let db = yoyaku::store::Store::open(&fleet.db_url)
        .await
        .expect("database");
    // Watch; when a third is answered, kill the desk with the most mail waiting.
    let mut killed_at: Option<Instant> = None;
    let mut victim: Option<u32> = None;
    let mut victims: Vec<String> = Vec::new();
    let mut answered: HashMap<String, Instant> = HashMap::new();
    let all: Vec<(usize, &String)> = fleet
        .seekers
        .iter()
        .enumerate()
        .flat_map(|(o, who)| who.iter().map(move |s| (o, s)))
        .collect();
    let mut pending_at_kill: HashMap<usize, usize> = HashMap::new();
    let mut leases_taken = None;
    let mut looked = Instant::now();
    while answered.len() < total && start.elapsed() < Duration::from_secs(900) {
        if let Some(at) = killed_at {
            if leases_taken.is_none() && looked.elapsed() > Duration::from_millis(200) {
                looked = Instant::now();
                let held = holders(&fleet.db_url).await;
                let survivor = children
                    .iter()
                    .map(Child::id)
                    .find(|pid| Some(*pid) != victim);
                if victims.iter().all(|o| held.get(o).copied() == survivor) {
                    leases_taken = Some(at.elapsed().as_secs_f64());
                }
            }
        }
        for (_, s) in &all {
            if !answered.contains_key(*s) && delivered(s) > 0 {
                answered.insert((*s).clone(), Instant::now());
            }
        }
        // Deliveries lag behind the desks (the mail servers are the
        // bottleneck), so "a third of the way" is read from the desks' own
        // records: a third of the requests handled.
        if killed_at.is_none() && handled(&db).await * 3 >= total {
            let held = holders(&fleet.db_url).await;
            // The desk holding the office with the most mail still waiting.
            let waiting = |o: usize| {
                fleet.seekers[o]
                    .iter()
                    .filter(|s| !answered.contains_key(*s))
                    .count()
            };
            let busiest = (0..fleet.seekers.len())
                .max_by_key(|o| waiting(*o))
                .unwrap_or(0);
            let victim_pid = held
                .get(&format!("o{busiest}"))
                .copied()
                .unwrap_or(children[0].id());
            victims = held
                .iter()
                .filter(|(_, pid)| **pid == victim_pid)
                .map(|(office, _)| office.clone())
                .collect();
            if let Some(child) = children.iter_mut().find(|c| c.id() == victim_pid) {
                let _ = child.kill();
                let _ = child.wait();
            }
            victim = Some(victim_pid);
            killed_at = Some(Instant::now());
            for (o, s) in &all {
                if !answered.contains_key(*s) && victims.contains(&format!("o{o}")) {
                    *pending_at_kill.entry(*o).or_default() += 1;
                }
            }
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let total_secs = start.elapsed().as_secs_f64();
    let killed_at = killed_at.unwrap_or(start);
    let mut takeover: Vec<f64> = pending_at_kill
        .keys()
        .filter_map(|o| {
            fleet.seekers[*o]
                .iter()
                .filter_map(|s| answered.get(s))
                .filter(|t| **t > killed_at)
                .min()
                .map(|t| (*t - killed_at).as_secs_f64())
        })
        .collect();
    takeover.sort_by(f64::total_cmp);
    let (lost, duplicates) = lost_and_duplicates(fleet, Duration::from_secs(5));
    stop(children);
    Failover {
        victim_offices: victims.len(),
        leases_taken,
        takeover,
        lost,
        duplicates,
        total_secs,
    }
}

fn main() {
    let full = std::env::args().any(|a| a == "--bench");
    let scale = |key: &str, big: usize, small: usize| if full { env_or(key, big) } else { small };
    let n_offices = scale("YOYAKU_BENCH_FLEET_OFFICES", 50, 3);
    let requests = scale("YOYAKU_BENCH_FLEET_REQUESTS", 1000, 9);
    let rounds = scale("YOYAKU_BENCH_ROUNDS", 3, 1);
    let lease = scale("YOYAKU_BENCH_LEASE", 30, 3) as u64;
    let server = std::env::var("YOYAKU_BENCH_DATABASE_URL")
        .or_else(|_| std::env::var("YOYAKU_TEST_PG_SERVER"))
        .unwrap_or_else(|_| "postgres://yoyaku@127.0.0.1:55432/postgres".into());
    // tests/common makes each fleet's database there.
    std::env::set_var("YOYAKU_TEST_DATABASE_URL", &server);
    ensure_mailstack();
    let rt = tokio::runtime::Runtime::new().expect("runtime");
    rt.block_on(async {
        for round in 1..=rounds {
            let (relay, relay_machine) =
                relay_burst(&fleet(n_offices, requests, lease).await).await;
            let one = fleet(n_offices, requests, lease).await;
            let (one_secs, one_cpu, one_machine) = desks_burst(&one, 1);
            let two = fleet(n_offices, requests, lease).await;
            let (two_secs, two_cpu, two_machine) = desks_burst(&two, 2);
            let split = holders(&two.db_url).await;
            let mut per_desk: HashMap<u32, usize> = HashMap::new();
            for pid in split.values() {
                *per_desk.entry(*pid).or_default() += 1;
            }
            let mut split: Vec<usize> = per_desk.into_values().collect();
            split.sort_unstable();
            println!(
                "fleet round {round}: {requests} requests over {n_offices} offices (PostgreSQL): bare relay {relay:.2} s (machine {relay_machine:.1} CPU-s); one desk {one_secs:.2} s (desk CPU {one_cpu:.1} s, machine {one_machine:.1}), ratio {:.2}; two desks {two_secs:.2} s (desks CPU {two_cpu:.1} s, machine {two_machine:.1}, offices split {split:?}), ratio {:.2}",
                relay / one_secs,
                relay / two_secs,
            );
            for f in [one, two] {
                let (lost, dups) = lost_and_duplicates(&f, Duration::ZERO);
                assert_eq!((lost, dups), (0, 0), "lost and duplicate answers");
                drop(f.dir);
            }
        }
        let f = fleet(n_offices, requests, lease).await;
        let result = failover(&f).await;
        println!(
            "failover: {requests} requests over {n_offices} offices, two desks, lease {lease} s: the holder of the office with the most mail waiting SIGKILLed when a third of the requests were handled; its {} offices held by the other desk {} s after; first answers after the kill: p50 {:.1} s, max {:.1} s (offices with mail waiting: {}); all answered after {:.1} s; lost {}, duplicate deliveries {}",
            result.victim_offices,
            result.leases_taken.map_or("(never)".to_string(), |s| format!("{s:.1}")),
            percentile(&result.takeover, 0.5),
            result.takeover.last().copied().unwrap_or(0.0),
            result.takeover.len(),
            result.total_secs,
            result.lost,
            result.duplicates,
        );
        assert_eq!(result.lost, 0, "no seeker left unanswered");
        assert!(result.duplicates <= 1, "at most one duplicate delivery");
    });
}
