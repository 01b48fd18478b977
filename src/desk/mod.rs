//! The desk: wires the pure core to the mail and storage adapters.
//!
//! One pass ([`Desk::pass`]) reads the inbox, handles each new message in one
//! database transaction (state change + outgoing mail in the outbox +
//! processed mark), files the message into a folder, fires the timers due
//! at `now`, and sends the outbox. A crash anywhere loses nothing: unsent
//! mail stays in the outbox, an unmoved message is moved on the next pass,
//! and a message whose transaction never committed is handled again.

pub(crate) mod apply;
mod bounce;
mod decide;
pub mod error;
mod gather;
mod inbox;
mod meetings;
pub mod pass;
pub(crate) mod plan;
pub(crate) mod sender;
pub(crate) mod staff_note;
pub mod timers;
pub(crate) mod views;

use crate::config::Config;
use crate::mail::imap::ImapSession;
use crate::mail::smtp::{Relays, SmtpSender};
use crate::office::Office;
use crate::store::{self as store, outbox, requests, Store};
use chrono::{DateTime, Duration as ChronoDuration, Utc};
use std::collections::{BTreeSet, HashSet};
use std::future::Future;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;
use tokio::sync::Notify;
use tracing::{debug, info, warn};

pub use crate::core::route::Filing;
pub use error::{DeskError, StaffError};
pub use pass::PassReport;

pub struct Desk {
    /// The office this desk serves: everything but the running loop.
    office: Office,
    /// Whether `run` holds an IMAP session now (for /metrics).
    imap_connected: AtomicBool,
    /// How long `run`'s passes take (for /metrics).
    pass_times: PassTimes,
}

/// Raised while alive: a flag that falls when its holder goes, however it goes.
struct Flag<'a>(&'a AtomicBool);

impl<'a> Flag<'a> {
    fn raise(flag: &'a AtomicBool) -> Flag<'a> {
        flag.store(true, Ordering::Release);
        Flag(flag)
    }
}

impl Drop for Flag<'_> {
    fn drop(&mut self) {
        self.0.store(false, Ordering::Release);
    }
}

/// A histogram of pass durations: counts per upper bound (seconds).
#[derive(Default)]
pub struct PassTimes {
    counts: [std::sync::atomic::AtomicU64; PASS_BOUNDS.len() + 1],
    micros: std::sync::atomic::AtomicU64,
}

const PASS_BOUNDS: [f64; 10] = [0.01, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0];

impl PassTimes {
    fn record(&self, took: Duration) {
        let secs = took.as_secs_f64();
        let i = PASS_BOUNDS
            .iter()
            .position(|b| secs <= *b)
            .unwrap_or(PASS_BOUNDS.len());
        if let Some(c) = self.counts.get(i) {
            c.fetch_add(1, Ordering::Relaxed);
        }
        self.micros
            .fetch_add(took.as_micros() as u64, Ordering::Relaxed);
    }

    /// Cumulative counts per bound (the last is +Inf), the count and the
    /// sum in seconds.
    pub fn snapshot(&self) -> (Vec<(f64, u64)>, u64, f64) {
        let mut total = 0;
        let mut buckets = Vec::with_capacity(self.counts.len());
        for (i, c) in self.counts.iter().enumerate() {
            total += c.load(Ordering::Relaxed);
            buckets.push((PASS_BOUNDS.get(i).copied().unwrap_or(f64::INFINITY), total));
        }
        let sum = self.micros.load(Ordering::Relaxed) as f64 / 1e6;
        (buckets, total, sum)
    }
}
impl Desk {
    pub async fn new(cfg: Config) -> Result<Desk, DeskError> {
        let store = Store::open(&cfg.database_url).await?;
        Desk::with_store(cfg, &store).await
    }

    /// The desk of one office on a database already open (the offices of
    /// one process share its pools).
    pub async fn with_store(cfg: Config, store: &Store) -> Result<Desk, DeskError> {
        let smtp = SmtpSender::new(&cfg.smtp)?;
        Desk::with_parts(cfg, store, smtp).await
    }

    /// The desk of one office among many in a process: on the process's
    /// database pools and its SMTP relays (see `Relays`).
    pub async fn with_relays(
        cfg: Config,
        store: &Store,
        relays: &Relays,
    ) -> Result<Desk, DeskError> {
        let smtp = relays.sender(&cfg.smtp)?;
        Desk::with_parts(cfg, store, smtp).await
    }

    async fn with_parts(cfg: Config, store: &Store, smtp: SmtpSender) -> Result<Desk, DeskError> {
        Ok(Desk {
            office: Office::new(cfg, store, smtp).await?,
            imap_connected: AtomicBool::new(false),
            pass_times: PassTimes::default(),
        })
    }

    /// The office this desk serves (what the staff verbs and views take).
    pub fn office(&self) -> &Office {
        &self.office
    }

    /// Whether `run` holds an IMAP session for the office now.
    pub fn imap_connected(&self) -> bool {
        self.imap_connected.load(Ordering::Acquire)
    }

    pub fn pass_times(&self) -> &PassTimes {
        &self.pass_times
    }

    /// `yoyaku once`: connect, one pass, log out.
    pub async fn run_once(&self, now: DateTime<Utc>) -> Result<PassReport, DeskError> {
        let connected = ImapSession::connect(&self.office.cfg.imap).await;
        self.office.note_tokens().await;
        let mut session = connected?;
        let started = Utc::now();
        let report = match self.pass(&mut session, now).await {
            Ok(mut report) => {
                sender::file_copies_since(&self.office, &mut session, started, now, &mut report)
                    .await
                    .map(|_| report)
            }
            Err(e) => Err(e),
        };
        session.logout().await;
        self.office.note_tokens().await;
        report
    }

    /// One pass over inbox, timers and outbox with the decision clock `now`.
    pub async fn pass(
        &self,
        session: &mut ImapSession,
        now: DateTime<Utc>,
    ) -> Result<PassReport, DeskError> {
        let mut report = PassReport::default();
        let mut sending = PassReport::default();
        sender::resolve_doubts(&self.office, session).await?;
        // Replies go out while the inbox is still being read: each batch's
        // mail is sent as soon as it is committed, on the SMTP connection,
        // while the next batch is fetched and handled on the IMAP one.
        let committed = Notify::new();
        let inbox_done = AtomicBool::new(false);
        let inbox = async {
            let result =
                inbox::process_inbox(&self.office, session, now, &mut report, &committed, None)
                    .await;
            inbox_done.store(true, Ordering::Release);
            committed.notify_one();
            result
        };
        let sender = async {
            loop {
                let last = inbox_done.load(Ordering::Acquire);
                let sending_failed = sender::send_due(&self.office, now, &mut sending).await?;
                // A failing server is not tried again in this pass; the
                // mail waits for its retry time.
                if last || sending_failed {
                    return Ok::<bool, DeskError>(sending_failed);
                }
                committed.notified().await;
            }
        };
        let (read, sent) = futures::join!(inbox, sender);
        self.office.smtp.close().await;
        report.sent += sending.sent;
        report.send_failures += sending.send_failures;
        read?;
        let smtp_failing = sent?;
        timers::fire_timers(&self.office, now, &mut report).await?;
        report.timers += meetings::work_meetings(&self.office, now).await?;
        if !smtp_failing {
            sender::send_pending(&self.office, now, &mut report).await?;
        }
        Ok(report)
    }

    /// `yoyaku run`: passes forever, waiting in IDLE (or polling) between
    /// them, reconnecting with backoff; stops at a safe point on `shutdown`.
    /// Serves the office while this desk holds its lease, among any number
    /// of desks on the same database: takes the lease when it is free or
    /// run out, has `keeper` renew it with the process's other leases every
    /// third of its length, and stops serving (at the end of the pass under
    /// way) when a renewal misses it or fails until a third of the lease is
    /// left, before another desk may take it. On `stop`, gives the lease up
    /// so another desk takes over at once.
    pub async fn serve(
        &self,
        keeper: &LeaseKeeper,
        stop: impl Future<Output = ()>,
    ) -> Result<(), DeskError> {
        tokio::pin!(stop);
        let tick = self.office.cfg.lease / 3;
        let office = &self.office.cfg.office_id;
        tokio::select! {
            _ = &mut stop => return Ok(()),
            _ = keeper.share_known() => {}
        }
        let mut share = keeper.share.subscribe();
        let mut look_again = keeper.look_again.subscribe();
        loop {
            // Only a free office is worth room in the share: reserving room
            // for offices other desks hold would turn this desk's free ones
            // away until the next look (measured: a second desk took 34 s
            // to fill its share instead of one).
            let held = match self.lease_free().await {
                Ok(true) if keeper.reserve() => {
                    let held = self.hold_lease().await;
                    keeper.reserved(office, matches!(held, Ok(true)));
                    held
                }
                Ok(_) => Ok(false),
                Err(e) => Err(e),
            };
            match held {
                Ok(true) => {
                    info!(office = %office, "office lease taken; serving it");
                    keeper.add_owner(&self.office.owner);
                    let lost = keeper.lost(office, self.office.cfg.lease);
                    let handed_over = keeper.handed_over(office);
                    tokio::pin!(lost, handed_over);
                    let mut ended = Ended::Lost;
                    let served = self
                        .run(async {
                            tokio::select! {
                                _ = &mut stop => ended = Ended::Stopping,
                                _ = &mut handed_over => ended = Ended::HandedOver,
                                _ = &mut lost => {}
                            }
                        })
                        .await;
                    keeper.stopped_serving(office);
                    served?;
                    if ended != Ended::Lost {
                        // Another desk may take it at once.
                        if let Ok(mut conn) = self.office.store.conn().await {
                            let _ = store::leases::release(&mut conn, &self.office.owner).await;
                        }
                    }
                    match ended {
                        Ended::Stopping => return Ok(()),
                        Ended::HandedOver => {
                            info!(office = %office, "office handed over to another desk")
                        }
                        Ended::Lost => {
                            warn!(office = %office, "office lease lost; no longer serving it")
                        }
                    }
                }
                Ok(false) => debug!(office = %office, "office served by another desk"),
                Err(e) => warn!(office = %office, error = %e, "office lease not checked"),
            }
            // A larger share (a desk has gone), or offices left free, is a
            // reason to look again now.
            tokio::select! {
                _ = &mut stop => return Ok(()),
                _ = tokio::time::sleep(tick) => {}
                _ = share.changed() => {}
                _ = look_again.changed() => {}
            }
        }
    }

    /// Whether no other desk holds the office's lease now.
    async fn lease_free(&self) -> Result<bool, DeskError> {
        let mut conn = self.office.store.conn().await?;
        let holder = store::leases::holder(&mut conn, Utc::now()).await?;
        Ok(holder.is_none_or(|h| h == self.office.owner))
    }

    async fn hold_lease(&self) -> Result<bool, DeskError> {
        let now = Utc::now();
        let until = now
            + ChronoDuration::from_std(self.office.cfg.lease)
                .unwrap_or(ChronoDuration::seconds(30));
        let mut conn = self.office.store.conn().await?;
        Ok(store::leases::hold(&mut conn, &self.office.owner, now, until).await?)
    }

    pub async fn run(&self, shutdown: impl Future<Output = ()>) -> Result<(), DeskError> {
        tokio::pin!(shutdown);
        let mut backoff = Duration::from_secs(1);
        loop {
            let connected = tokio::select! {
                _ = &mut shutdown => return Ok(()),
                c = ImapSession::connect(&self.office.cfg.imap) => c,
            };
            self.office.note_tokens().await;
            let mut session = match connected {
                Ok(s) => {
                    info!("imap connected");
                    s
                }
                Err(e) => {
                    warn!(error = %e, retry_in_secs = backoff.as_secs(), "imap connect failed");
                    // Mail already committed can still go out while IMAP is down.
                    if let Err(e) =
                        sender::send_pending(&self.office, Utc::now(), &mut PassReport::default())
                            .await
                    {
                        warn!(error = %e, "outbox flush failed");
                    }
                    tokio::select! {
                        _ = &mut shutdown => return Ok(()),
                        _ = tokio::time::sleep(backoff) => {}
                    }
                    backoff = (backoff * 2).min(Duration::from_secs(60));
                    continue;
                }
            };
            let _connected = Flag::raise(&self.imap_connected);
            loop {
                // A pass is not interrupted: it ends at a safe point (every
                // message committed and filed, the outbox flushed).
                let started = std::time::Instant::now();
                let pass = self.pass(&mut session, Utc::now()).await;
                self.pass_times.record(started.elapsed());
                self.office.note_tokens().await;
                if futures::FutureExt::now_or_never(&mut shutdown).is_some() {
                    session.logout().await;
                    return Ok(());
                }
                let passed = pass.is_ok();
                match pass {
                    Ok(r) => {
                        backoff = Duration::from_secs(1);
                        if r != PassReport::default() {
                            info!(
                                handled = r.handled,
                                duplicates = r.duplicates,
                                timers = r.timers,
                                sent = r.sent,
                                send_failures = r.send_failures,
                                copies = r.copies,
                                "pass done"
                            );
                        }
                    }
                    Err(e) if e.is_transient() => {
                        warn!(error = %e, "pass failed; reconnecting");
                        break;
                    }
                    Err(e) => {
                        warn!(error = %e, "pass failed");
                    }
                }
                // Mail that came during the pass (our own copies always do)
                // was announced to the pass, not to the IDLE that follows.
                match inbox::arrived_since_pass(&self.office, &mut session).await {
                    Ok(true) if passed => continue,
                    Ok(_) => {}
                    Err(e) => {
                        warn!(error = %e, "imap check failed; reconnecting");
                        break;
                    }
                }
                let idling = self.office.cfg.imap.idle && session.can_idle();
                let wait = self.wait_time(idling).await;
                let woke = if idling {
                    tokio::select! {
                        _ = &mut shutdown => { session.logout().await; return Ok(()); }
                        r = session.idle(wait) => r.map(|_| ()),
                    }
                } else {
                    tokio::select! {
                        _ = &mut shutdown => { session.logout().await; return Ok(()); }
                        _ = tokio::time::sleep(wait) => Ok(()),
                    }
                };
                if let Err(e) = woke {
                    warn!(error = %e, "imap wait failed; reconnecting");
                    break;
                }
            }
            tokio::select! {
                _ = &mut shutdown => return Ok(()),
                _ = tokio::time::sleep(backoff) => {}
            }
            backoff = (backoff * 2).min(Duration::from_secs(60));
        }
    }

    /// How long to wait for mail before the next pass: until the next timer
    /// or outbox retry, at most the poll interval (IDLE: 5 minutes; a
    /// server without IDLE is polled even when `imap.idle` is on).
    async fn wait_time(&self, idling: bool) -> Duration {
        let max = if idling {
            Duration::from_secs(300).max(self.office.cfg.imap.poll)
        } else {
            self.office.cfg.imap.poll
        };
        let next = async {
            let mut conn = self.office.store.conn().await.ok()?;
            let due = requests::next_due(&mut conn).await.ok().flatten();
            let retry = outbox::next_attempt(&mut conn).await.ok().flatten();
            let meeting = store::meetings::next_attempt(&mut conn)
                .await
                .ok()
                .flatten();
            [due, retry, meeting].into_iter().flatten().min()
        }
        .await;
        match next {
            Some(at) => (at - Utc::now())
                .to_std()
                .unwrap_or(Duration::ZERO)
                .clamp(Duration::from_secs(1), max),
            None => max,
        }
    }
}

/// A short reference people can read out on the phone (no 0/O, 1/I).
/// The office leases of one process's desks, renewed together: one
/// statement every `tick` for all of them, not one per office (544 offices
/// renewing one by one cost 1.4% of a core while idle). It also says the
/// process is alive (`store::leases::beat`) and keeps its desks to their
/// fair share of the offices (`core::share`): they take no more, and hand
/// the surplus over when another desk serving the same offices joins.
pub struct LeaseKeeper {
    owners: std::sync::Mutex<HashSet<String>>,
    renewed: tokio::sync::watch::Sender<Renewal>,
    /// This process among the desks (host, pid, a random part).
    process: String,
    /// The offices of this process's config: how many, their fingerprint.
    offices: usize,
    fingerprint: String,
    /// The offices this process's desks serve now, and how many they are
    /// taking (reserved within the share while the lease is asked for).
    serving: std::sync::Mutex<(BTreeSet<String>, usize)>,
    /// The fair share, once known (None before the first beat).
    share: tokio::sync::watch::Sender<Option<usize>>,
    /// Offices to hand over to other desks.
    handover: tokio::sync::watch::Sender<std::sync::Arc<BTreeSet<String>>>,
    /// Bumped when offices are free and this process has room for them.
    look_again: tokio::sync::watch::Sender<u64>,
    /// When the process last said it is alive.
    beaten_at: std::sync::Mutex<Option<tokio::time::Instant>>,
    lease: Duration,
}

/// The latest renewal: when it was asked, and the offices it renewed.
#[derive(Clone, Default)]
struct Renewal {
    asked: Option<tokio::time::Instant>,
    offices: std::sync::Arc<HashSet<String>>,
}

impl LeaseKeeper {
    /// The keeper of a process serving `office_ids` (the offices of its
    /// config, which every desk sharing them runs too).
    pub fn new<'a>(office_ids: impl IntoIterator<Item = &'a str>, lease: Duration) -> LeaseKeeper {
        let ids: Vec<&str> = office_ids.into_iter().collect();
        LeaseKeeper {
            owners: Default::default(),
            renewed: tokio::sync::watch::Sender::new(Renewal::default()),
            process: crate::office::lease_owner(),
            offices: ids.len(),
            fingerprint: crate::core::share::offices_fingerprint(ids.iter().copied()),
            serving: Default::default(),
            share: tokio::sync::watch::Sender::new(None),
            handover: tokio::sync::watch::Sender::new(Default::default()),
            look_again: tokio::sync::watch::Sender::new(0),
            beaten_at: std::sync::Mutex::new(None),
            lease,
        }
    }

    fn add_owner(&self, owner: &str) {
        if let Ok(mut owners) = self.owners.lock() {
            owners.insert(owner.to_string());
        }
    }

    /// Reserves room for one more office within the share, if there is:
    /// the desks of a process ask for leases at once, and must not all
    /// count the same free room.
    fn reserve(&self) -> bool {
        let Some(share) = *self.share.borrow() else {
            return false;
        };
        let Ok(mut serving) = self.serving.lock() else {
            return false;
        };
        let (offices, taking) = &mut *serving;
        let room = offices.len() + *taking < share;
        if room {
            *taking += 1;
        }
        room
    }

    /// The end of a reservation: the office is served now, or not.
    fn reserved(&self, office: &str, taken: bool) {
        if let Ok(mut serving) = self.serving.lock() {
            serving.1 = serving.1.saturating_sub(1);
            if taken {
                serving.0.insert(office.to_string());
            }
        }
    }

    fn stopped_serving(&self, office: &str) {
        if let Ok(mut serving) = self.serving.lock() {
            serving.0.remove(office);
        }
    }

    /// Returns once the share is known (after the first beat).
    async fn share_known(&self) {
        let mut share = self.share.subscribe();
        let _ = share.wait_for(Option::is_some).await;
    }

    /// Returns when `office` is to be handed over.
    async fn handed_over(&self, office: &str) {
        let mut handover = self.handover.subscribe();
        let _ = handover.wait_for(|set| set.contains(office)).await;
    }

    /// Says the process is alive; how many desks serve the same offices,
    /// and how many offices no desk holds.
    async fn beat(&self, store: &Store, lease: Duration) -> Option<(usize, usize)> {
        let now = Utc::now();
        let until = now + ChronoDuration::from_std(lease).unwrap_or(ChronoDuration::seconds(30));
        let beat = async {
            let mut conn = store.conn().await?;
            let desks =
                store::leases::beat(&mut conn, &self.process, &self.fingerprint, now, until)
                    .await?;
            let held = store::leases::live(&mut conn, now).await?;
            Ok::<_, store::StoreError>((desks, self.offices.saturating_sub(held)))
        };
        match tokio::time::timeout(lease / 3, beat).await {
            Ok(Ok(presence)) => {
                if let Ok(mut at) = self.beaten_at.lock() {
                    *at = Some(tokio::time::Instant::now());
                }
                Some(presence)
            }
            Ok(Err(e)) => {
                warn!(error = %e, "desk presence not renewed");
                None
            }
            Err(_) => {
                warn!("desk presence renewal timed out");
                None
            }
        }
    }

    /// The share of `desks` desks, and the offices beyond it to hand over;
    /// with offices free and room in the share, the desks look again.
    fn share_among(&self, (desks, free): (usize, usize)) {
        let share = crate::core::share::fair_share(self.offices, desks);
        self.share.send_if_modified(|s| {
            let changed = *s != Some(share);
            *s = Some(share);
            changed
        });
        let surplus = match self.serving.lock() {
            Ok(serving) => crate::core::share::surplus(&serving.0, share),
            Err(_) => BTreeSet::new(),
        };
        if !surplus.is_empty() {
            info!(
                desks,
                share,
                handing_over = surplus.len(),
                "sharing the offices with other desks"
            );
        }
        let room = self.serving.lock().is_ok_and(|s| s.0.len() + s.1 < share);
        self.handover.send_replace(std::sync::Arc::new(surplus));
        if free > 0 && room {
            self.look_again.send_modify(|n| *n = n.wrapping_add(1));
        }
    }

    /// Whether the process said it is alive within the last lease: its
    /// leases are current (for /healthz).
    pub fn current(&self) -> bool {
        let lease = self.lease;
        self.beaten_at
            .lock()
            .is_ok_and(|at| at.is_some_and(|t| t.elapsed() < lease))
    }

    /// Whether this process serves `office` now.
    pub fn serves(&self, office: &str) -> bool {
        self.serving.lock().is_ok_and(|s| s.0.contains(office))
    }

    /// Renews every lease of the process's desks every `lease / 3`, on
    /// `store`, until `stop`; then says this desk has left.
    pub async fn keep(&self, store: &Store, lease: Duration, stop: impl Future<Output = ()>) {
        tokio::pin!(stop);
        let tick = lease / 3;
        // Presence is said more often than leases are renewed (one cheap
        // statement per process): a desk that joins, or leaves offices
        // free, is seen within seconds, not a third of a lease.
        let beat_every = tick.min(Duration::from_secs(2));
        // Desks started together see each other before taking offices: a
        // second beat a moment after the first.
        self.beat(store, lease).await;
        let settle = tick.min(Duration::from_secs(1));
        tokio::select! {
            _ = &mut stop => return self.leave(store).await,
            _ = tokio::time::sleep(settle) => {}
        }
        // A database that does not answer yet: every office may be taken
        // (a lease is still one desk's at a time).
        let presence = self.beat(store, lease).await.unwrap_or((1, 0));
        self.share_among(presence);
        let mut renewed_at = tokio::time::Instant::now();
        loop {
            tokio::select! {
                _ = &mut stop => return self.leave(store).await,
                _ = tokio::time::sleep(beat_every) => {}
            }
            if let Some(presence) = self.beat(store, lease).await {
                self.share_among(presence);
            }
            if renewed_at.elapsed() + beat_every / 2 < tick {
                continue;
            }
            renewed_at = tokio::time::Instant::now();
            let owners: Vec<String> = match self.owners.lock() {
                Ok(o) => o.iter().cloned().collect(),
                Err(_) => continue,
            };
            if owners.is_empty() {
                continue;
            }
            let asked = tokio::time::Instant::now();
            let now = Utc::now();
            let until =
                now + ChronoDuration::from_std(lease).unwrap_or(ChronoDuration::seconds(30));
            let renewal = async {
                let mut conn = store.conn().await?;
                store::leases::renew_all(&mut conn, &owners, now, until).await
            };
            match tokio::time::timeout(tick, renewal).await {
                Ok(Ok(offices)) => {
                    self.renewed.send_replace(Renewal {
                        asked: Some(asked),
                        offices: std::sync::Arc::new(offices.into_iter().collect()),
                    });
                }
                Ok(Err(e)) => warn!(error = %e, "office leases not renewed"),
                Err(_) => warn!("office lease renewal timed out"),
            }
        }
    }

    async fn leave(&self, store: &Store) {
        if let Ok(mut conn) = store.conn().await {
            let _ = store::leases::leave(&mut conn, &self.process).await;
        }
    }

    /// Returns when `office`'s lease (taken now, for `lease`) is lost: a
    /// renewal did not find it ours, or none succeeded while a third of it
    /// was left.
    async fn lost(&self, office: &str, lease: Duration) {
        let taken = tokio::time::Instant::now();
        let mut held_until = taken + lease;
        let mut renewals = self.renewed.subscribe();
        loop {
            let deadline = held_until - lease / 3;
            tokio::select! {
                _ = tokio::time::sleep_until(deadline) => return,
                changed = renewals.changed() => {
                    if changed.is_err() {
                        return;
                    }
                    let r = renewals.borrow_and_update().clone();
                    match r.asked {
                        Some(asked) if asked > taken => {
                            if r.offices.contains(office) {
                                held_until = asked + lease;
                            } else {
                                return;
                            }
                        }
                        _ => {}
                    }
                }
            }
        }
    }
}

/// Why a desk stopped serving an office.
#[derive(PartialEq, Eq)]
enum Ended {
    Stopping,
    HandedOver,
    Lost,
}
