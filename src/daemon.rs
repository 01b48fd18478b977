//! The daemon: wires the pure core to the mail and storage adapters.
//!
//! One pass ([`Desk::pass`]) reads the inbox, handles each new message in one
//! database transaction (state change + outgoing mail in the outbox +
//! processed mark), files the message into a folder, fires the timers due
//! at `now`, and sends the outbox. A crash anywhere loses nothing: unsent
//! mail stays in the outbox, an unmoved message is moved on the next pass,
//! and a message whose transaction never committed is handled again.

use crate::config::Config;
use crate::core::booking::{
    self, By, Context, Effect, Event, Request, StaffAction, StaffReason, Standing, State,
};
use crate::core::calendar::Slot;
use crate::core::classify::MailKind;
use crate::core::quote::own_text;
use crate::core::understand::{
    parse_booked, parse_reply, parse_request, session_needs, BookedIntent, WishTime,
};
use crate::mail::compose::{random_token, ComposeError, Composer, DateView, SlotView, Thread};
use crate::mail::imap::ImapSession;
use crate::mail::message::{self, Inbound};
use crate::mail::smtp::SmtpSender;
use crate::mail::MailError;
use crate::store::bookings::BookingRecord;
use crate::store::{
    self as store, bookings, office, outbox, processed, requests, OutboxRow, ProcessedKey,
    RequestRow, Savepoint, Store, StoreError, Tx,
};
use chrono::{DateTime, Duration as ChronoDuration, Utc};
use minijinja::Value;
use regex::Regex;
use sha2::{Digest, Sha256};
use std::collections::{HashMap, HashSet};
use std::future::Future;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::LazyLock;
use std::time::Duration;
use tokio::sync::Notify;
use tracing::{debug, info, warn};

#[derive(Debug, thiserror::Error)]
pub enum DeskError {
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error(transparent)]
    Mail(#[from] MailError),
    #[error(transparent)]
    Compose(#[from] ComposeError),
    /// A staff command that cannot be done (wrong state, slot full, unknown id).
    #[error("{0}")]
    Staff(String),
}

impl DeskError {
    pub fn is_transient(&self) -> bool {
        match self {
            DeskError::Store(e) => e.is_transient(),
            DeskError::Mail(e) => e.is_transient(),
            DeskError::Compose(_) | DeskError::Staff(_) => false,
        }
    }
}

/// What one pass did, for logs and tests.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct PassReport {
    pub handled: usize,
    pub duplicates: usize,
    pub timers: usize,
    pub sent: usize,
    pub send_failures: usize,
    pub message_failures: usize,
    /// Our own copies of sent mail, filed into the sent folder.
    pub copies: usize,
}

/// Where a handled message is filed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Filing {
    Handled,
    Staff,
    Machine,
    /// Our own copy of a mail we sent (see `mail::smtp`).
    Sent,
}

pub struct Desk {
    cfg: Config,
    store: Store,
    composer: Composer,
    smtp: SmtpSender,
    room_ids: Vec<String>,
    /// Who holds this desk's leases: host, process and a random part, so
    /// two desks (or a staff verb beside a daemon) never take each other's.
    owner: String,
    /// UIDVALIDITY (high half) and the highest UID the last full reading
    /// of the inbox saw (low half).
    highest_uid_read: std::sync::atomic::AtomicU64,
}

static RESERVATION: LazyLock<Regex> =
    // Not \b: between 予約番号 and the digits there is no word boundary.
    LazyLock::new(|| {
        Regex::new(r"(?:^|[^0-9A-Za-z])(\d{6}-[A-Za-z0-9]{4})(?:$|[^0-9A-Za-z])")
            .expect("reservation regex")
    });

static SUBJECT_REF: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r"受付番号\s*[:：]?\s*([A-Z0-9]{6})").expect("ref regex"));

/// Messages fetched and filed per IMAP round trip, and their total size.
const FETCH_BATCH: usize = 50;
const FETCH_BYTES: u64 = 16 * 1024 * 1024;

/// Mails a round must hold per SMTP connection it opens side by side.
const MAILS_PER_LANE: usize = 32;

/// How long `once` waits for the copies of the mail it sent.
const COPY_WAIT_IN_ONCE: Duration = Duration::from_secs(5);

/// A message whose handling failed this many times goes to the failed folder.
const POISON_ATTEMPTS: u32 = 3;

impl Desk {
    pub async fn new(cfg: Config) -> Result<Desk, DeskError> {
        for key in &cfg.unknown_keys {
            warn!(key = %key, "unknown config key ignored (a typo?)");
        }
        let store = Store::open(&cfg.database_url).await?;
        // Housekeeping; a locked database must not stop the start.
        let housekeeping = async {
            let mut conn = store.conn().await?;
            requests::backfill_booked_slots(&mut conn, cfg.calendar.tz).await
        };
        match housekeeping.await {
            Ok(0) => {}
            Ok(n) => info!(requests = n, "booked slots of older bookings filled in"),
            Err(e) => warn!(error = %e, "start-up housekeeping skipped"),
        }
        let composer = Composer::new(&cfg)?;
        let smtp = SmtpSender::new(&cfg.smtp)?;
        let room_ids = cfg.rooms.iter().map(|r| r.id.clone()).collect();
        Ok(Desk {
            cfg,
            store,
            composer,
            smtp,
            room_ids,
            owner: lease_owner(),
            highest_uid_read: std::sync::atomic::AtomicU64::new(0),
        })
    }

    pub fn store(&self) -> &Store {
        &self.store
    }

    pub fn config(&self) -> &Config {
        &self.cfg
    }

    pub(crate) fn composer(&self) -> &Composer {
        &self.composer
    }

    /// `yoyaku once`: connect, one pass, log out.
    pub async fn run_once(&self, now: DateTime<Utc>) -> Result<PassReport, DeskError> {
        let mut session = ImapSession::connect(&self.cfg.imap).await?;
        let started = Utc::now();
        let report = match self.pass(&mut session, now).await {
            Ok(mut report) => self
                .file_copies_since(&mut session, started, now, &mut report)
                .await
                .map(|_| report),
            Err(e) => Err(e),
        };
        session.logout().await;
        report
    }

    /// Waits (a few seconds at most) for the copies of the mail sent since
    /// `since` to arrive and files them, so that a single pass leaves the
    /// mailbox as staff expect: everything sent is in the sent folder. The
    /// daemon needs no wait: the copies wake it.
    async fn file_copies_since(
        &self,
        session: &mut ImapSession,
        since: DateTime<Utc>,
        now: DateTime<Utc>,
        report: &mut PassReport,
    ) -> Result<(), DeskError> {
        let own = self.cfg.from_address();
        if !is_plain_search_value(&own) {
            return Ok(());
        }
        let deadline = tokio::time::Instant::now() + COPY_WAIT_IN_ONCE;
        let mut selected = false;
        let copies = loop {
            // Another desk on the mailbox may file some of them meanwhile.
            let awaited = {
                let mut conn = self.store.conn().await?;
                outbox::copies_awaited(&mut conn, since).await?
            };
            if awaited == 0 {
                return Ok(());
            }
            if selected {
                session.noop().await?;
            } else {
                session.select(&self.cfg.imap.mailbox).await?;
                selected = true;
            }
            let arrived = session.search(&format!("FROM \"{own}\"")).await?;
            if arrived.len() as i64 >= awaited || tokio::time::Instant::now() >= deadline {
                break arrived;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        };
        // Only these: the rest of the inbox waits for the next pass.
        let mut filing = PassReport::default();
        self.process_inbox(session, now, &mut filing, &Notify::new(), Some(&copies))
            .await?;
        report.copies += filing.copies;
        Ok(())
    }

    /// Settles the mail a crash or a time-out left in flight: written up to
    /// its end of data, with no answer from the server recorded. Its own
    /// copy in the office mailbox proves the server took it (then it is
    /// marked sent); a copy that has not come within `smtp.copy_wait`
    /// never will, and the mail is sent again. Mail in flight is never sent
    /// before this, and mail another desk still holds is left to it.
    async fn resolve_doubts(&self, session: &mut ImapSession) -> Result<(), DeskError> {
        let in_flight = {
            let mut journal = self.store.journal_conn().await?;
            outbox::journal_in_flight(&mut journal, 1000).await?
        };
        if in_flight.is_empty() {
            return Ok(());
        }
        let ids: Vec<String> = in_flight.iter().map(|(id, _)| id.clone()).collect();
        let (pending, ours_to_settle) = {
            let mut conn = self.store.conn().await?;
            let pending: HashSet<String> = outbox::pending_among(&mut conn, &ids)
                .await?
                .into_iter()
                .collect();
            let free: HashSet<String> = outbox::unleased_pending_among(&mut conn, &ids, Utc::now())
                .await?
                .into_iter()
                .collect();
            (pending, free)
        };
        let waited_since = Utc::now()
            - ChronoDuration::from_std(self.cfg.smtp.copy_wait)
                .unwrap_or(ChronoDuration::seconds(30));
        let mut selected = false;
        for (id, since) in in_flight {
            let settled = if !pending.contains(&id) {
                // Marked sent meanwhile (its mark or its copy), or gone.
                true
            } else if !ours_to_settle.contains(&id) || since > waited_since {
                false
            } else {
                if !selected {
                    session.select(&self.cfg.imap.mailbox).await?;
                    selected = true;
                }
                let copy = if is_plain_search_value(&id) {
                    !session
                        .search(&format!("HEADER Message-ID \"{id}\""))
                        .await?
                        .is_empty()
                } else {
                    false
                };
                let mut journal = self.store.journal_conn().await?;
                if copy {
                    info!("a mail in doubt was delivered; marked sent");
                    outbox::journal_step(&mut journal, Some(&id), None, Utc::now()).await?;
                } else {
                    info!("a mail in doubt never reached the server; it is sent again");
                }
                true
            };
            if settled {
                let mut journal = self.store.journal_conn().await?;
                outbox::journal_forget_in_flight(&mut journal, &id).await?;
            }
        }
        Ok(())
    }

    /// One pass over inbox, timers and outbox with the decision clock `now`.
    pub async fn pass(
        &self,
        session: &mut ImapSession,
        now: DateTime<Utc>,
    ) -> Result<PassReport, DeskError> {
        let mut report = PassReport::default();
        let mut sending = PassReport::default();
        self.resolve_doubts(session).await?;
        // Replies go out while the inbox is still being read: each batch's
        // mail is sent as soon as it is committed, on the SMTP connection,
        // while the next batch is fetched and handled on the IMAP one.
        let committed = Notify::new();
        let inbox_done = AtomicBool::new(false);
        let inbox = async {
            let result = self
                .process_inbox(session, now, &mut report, &committed, None)
                .await;
            inbox_done.store(true, Ordering::Release);
            committed.notify_one();
            result
        };
        let sender = async {
            loop {
                let last = inbox_done.load(Ordering::Acquire);
                let sending_failed = self.send_due(now, &mut sending).await?;
                // A failing server is not tried again in this pass; the
                // mail waits for its retry time.
                if last || sending_failed {
                    return Ok::<bool, DeskError>(sending_failed);
                }
                committed.notified().await;
            }
        };
        let (read, sent) = futures::join!(inbox, sender);
        self.smtp.close().await;
        report.sent += sending.sent;
        report.send_failures += sending.send_failures;
        read?;
        let smtp_failing = sent?;
        self.fire_timers(now, &mut report).await?;
        if !smtp_failing {
            self.send_pending(now, &mut report).await?;
        }
        Ok(report)
    }

    /// `yoyaku run`: passes forever, waiting in IDLE (or polling) between
    /// them, reconnecting with backoff; stops at a safe point on `shutdown`.
    pub async fn run(&self, shutdown: impl Future<Output = ()>) -> Result<(), DeskError> {
        tokio::pin!(shutdown);
        let mut backoff = Duration::from_secs(1);
        loop {
            let connected = tokio::select! {
                _ = &mut shutdown => return Ok(()),
                c = ImapSession::connect(&self.cfg.imap) => c,
            };
            let mut session = match connected {
                Ok(s) => {
                    info!("imap connected");
                    s
                }
                Err(e) => {
                    warn!(error = %e, retry_in_secs = backoff.as_secs(), "imap connect failed");
                    // Mail already committed can still go out while IMAP is down.
                    if let Err(e) = self
                        .send_pending(Utc::now(), &mut PassReport::default())
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
            loop {
                // A pass is not interrupted: it ends at a safe point (every
                // message committed and filed, the outbox flushed).
                let pass = self.pass(&mut session, Utc::now()).await;
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
                match self.arrived_since_pass(&mut session).await {
                    Ok(true) if passed => continue,
                    Ok(_) => {}
                    Err(e) => {
                        warn!(error = %e, "imap check failed; reconnecting");
                        break;
                    }
                }
                let wait = self.wait_time().await;
                let woke = if self.cfg.imap.idle && session.can_idle() {
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

    /// Takes the filing of a batch's messages, in its transaction, for
    /// twice the IMAP time-out (the MOVE follows the commit at once).
    async fn lease_filing(
        &self,
        batch: &mut Tx,
        mailbox: &str,
        uidvalidity: u32,
        to_file: &[(u32, String)],
    ) -> Result<(), StoreError> {
        let uids: Vec<u32> = to_file.iter().map(|(uid, _)| *uid).collect();
        let lease = ChronoDuration::from_std(self.cfg.imap.timeout * 2)
            .unwrap_or(ChronoDuration::seconds(60));
        processed::lease_filing(
            batch,
            mailbox,
            uidvalidity,
            &uids,
            &self.owner,
            Utc::now() + lease,
        )
        .await
    }

    /// Whether the inbox holds mail above the highest UID the last pass
    /// read.
    async fn arrived_since_pass(&self, session: &mut ImapSession) -> Result<bool, DeskError> {
        let uidvalidity = session.select(&self.cfg.imap.mailbox).await?;
        let (seen_validity, seen_uid) = {
            let seen = self.highest_uid_read.load(Ordering::Acquire);
            ((seen >> 32) as u32, seen as u32)
        };
        if seen_validity != uidvalidity {
            return Ok(!session.uids().await?.is_empty());
        }
        // `N:*` always names the highest UID, even below N.
        let above = session
            .search(&format!("UID {}:*", seen_uid.saturating_add(1)))
            .await?;
        Ok(above.into_iter().any(|uid| uid > seen_uid))
    }

    /// How long to wait for mail before the next pass: until the next timer
    /// or outbox retry, at most the poll interval (IDLE: 5 minutes).
    async fn wait_time(&self) -> Duration {
        let max = if self.cfg.imap.idle {
            Duration::from_secs(300).max(self.cfg.imap.poll)
        } else {
            self.cfg.imap.poll
        };
        let next = async {
            let mut conn = self.store.conn().await.ok()?;
            let due = requests::next_due(&mut conn).await.ok().flatten();
            let retry = outbox::next_attempt(&mut conn).await.ok().flatten();
            [due, retry].into_iter().flatten().min()
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

    fn folder(&self, filing: Filing) -> &str {
        match filing {
            Filing::Handled => &self.cfg.folders.handled,
            Filing::Staff => &self.cfg.folders.staff,
            Filing::Machine => &self.cfg.folders.machine,
            // Resolved by `process_inbox` at the start of each reading.
            Filing::Sent => crate::mail::imap::SENT_FOLDER_ALIAS,
        }
    }

    /// Reads the inbox in batches; `committed` is told after each batch's
    /// commit, so its mail can be sent at once.
    async fn process_inbox(
        &self,
        session: &mut ImapSession,
        now: DateTime<Utc>,
        report: &mut PassReport,
        committed: &Notify,
        only: Option<&[u32]>,
    ) -> Result<(), DeskError> {
        let mailbox = self.cfg.imap.mailbox.clone();
        // Our copies are filed under the sent folder's alias (looked up
        // once per session).
        session
            .sent_folder(self.cfg.folders.sent.as_deref())
            .await?;
        let uidvalidity = session.select(&mailbox).await?;
        let uids = match only {
            Some(uids) => uids.to_vec(),
            None => session.uids().await?,
        };
        if only.is_none() {
            let highest = uids.iter().copied().max().unwrap_or(0);
            self.highest_uid_read.store(
                (u64::from(uidvalidity) << 32) | u64::from(highest),
                Ordering::Release,
            );
        }
        if uids.is_empty() {
            return Ok(());
        }
        let sizes: HashMap<u32, u32> = session.sizes(&uids).await?.into_iter().collect();
        let size_of = |uid: u32| u64::from(sizes.get(&uid).copied().unwrap_or(0));
        // Messages are fetched and filed in batches (one IMAP round trip and
        // one MOVE per folder for each), each still committed on its own
        // before it is filed: a crash between leaves it committed and
        // unfiled, and the next pass files it.
        // At most FETCH_BATCH messages and FETCH_BYTES per batch.
        let mut chunks: Vec<Vec<u32>> = Vec::new();
        let mut bytes = 0u64;
        for &uid in &uids {
            let size = size_of(uid).min(self.cfg.max_message_bytes);
            match chunks.last_mut() {
                Some(c) if c.len() < FETCH_BATCH && bytes + size <= FETCH_BYTES => {
                    c.push(uid);
                    bytes += size;
                }
                _ => {
                    chunks.push(vec![uid]);
                    bytes = size;
                }
            }
        }
        for chunk in &chunks {
            let wanted: Vec<u32> = chunk
                .iter()
                .copied()
                .filter(|&uid| size_of(uid) <= self.cfg.max_message_bytes)
                .collect();
            let mut raws: HashMap<u32, Vec<u8>> =
                session.fetch_many(&wanted).await?.into_iter().collect();
            let mut to_file: Vec<(u32, String)> = Vec::new();
            let mut keys: Vec<ProcessedKey> = Vec::new();
            // One transaction per batch, one savepoint per message: a
            // message that fails is undone alone; the batch is one disk sync.
            let turn = self.store.turn().await;
            let mut batch = self.store.begin().await?;
            let mut done = processed::get_many(&mut batch, &mailbox, uidvalidity, chunk).await?;
            for &uid in chunk {
                let key = ProcessedKey {
                    mailbox: mailbox.clone(),
                    uidvalidity,
                    uid,
                };
                if let Some(p) = done.remove(&uid) {
                    // Moved already (our list of UIDs is older), or being
                    // filed by the desk that handled it: theirs to file.
                    if p.moved || p.filed_by_other(&self.owner, Utc::now()) {
                        continue;
                    }
                    // Committed before a crash, not yet filed: file it now.
                    to_file.push((uid, p.folder));
                    keys.push(key);
                    continue;
                }
                let outcome = if size_of(uid) > self.cfg.max_message_bytes {
                    self.set_aside(
                        &mut batch,
                        &key,
                        "too_large",
                        self.folder(Filing::Staff),
                        now,
                    )
                    .await
                    .map(|_| (Filing::Staff, false))
                } else {
                    let Some(raw) = raws.remove(&uid) else {
                        // Gone meanwhile (another desk filed it).
                        continue;
                    };
                    store::savepoint(&mut batch, Savepoint::Begin).await?;
                    let handled = self.handle_message(&mut batch, &key, &raw, now).await;
                    store::savepoint(
                        &mut batch,
                        if handled.is_ok() {
                            Savepoint::Release
                        } else {
                            Savepoint::Undo
                        },
                    )
                    .await?;
                    handled
                };
                let filing = match outcome {
                    Ok((filing, duplicate)) => {
                        if filing == Filing::Sent {
                            report.copies += 1;
                        } else if duplicate {
                            report.duplicates += 1;
                        } else {
                            report.handled += 1;
                        }
                        self.folder(filing).to_string()
                    }
                    Err(e) if e.is_transient() => {
                        // What the batch did so far stands if it can commit.
                        let saved = self
                            .lease_filing(&mut batch, &mailbox, uidvalidity, &to_file)
                            .await
                            .is_ok()
                            && batch.commit().await.is_ok();
                        drop(turn);
                        if saved {
                            committed.notify_one();
                            self.file(session, &mut to_file, &mut keys).await?;
                        }
                        return Err(e);
                    }
                    Err(e) => {
                        report.message_failures += 1;
                        let n =
                            processed::record_failure(&mut batch, &key, &e.to_string(), Utc::now())
                                .await?;
                        warn!(uid, attempts = n, error = %e, "message handling failed");
                        if n < i64::from(POISON_ATTEMPTS) {
                            continue;
                        }
                        self.set_aside(
                            &mut batch,
                            &key,
                            "unreadable",
                            &self.cfg.folders.failed,
                            now,
                        )
                        .await?;
                        self.cfg.folders.failed.clone()
                    }
                };
                to_file.push((uid, filing));
                keys.push(key);
            }
            self.lease_filing(&mut batch, &mailbox, uidvalidity, &to_file)
                .await?;
            batch.commit().await.map_err(StoreError::from)?;
            drop(turn);
            committed.notify_one();
            self.file(session, &mut to_file, &mut keys).await?;
        }
        Ok(())
    }

    /// Moves committed messages to their folders, one MOVE per folder, and
    /// records them as filed.
    async fn file(
        &self,
        session: &mut ImapSession,
        to_file: &mut Vec<(u32, String)>,
        keys: &mut Vec<ProcessedKey>,
    ) -> Result<(), DeskError> {
        let mut by_folder: std::collections::BTreeMap<String, Vec<u32>> = Default::default();
        for (uid, folder) in to_file.drain(..) {
            by_folder.entry(folder).or_default().push(uid);
        }
        for (folder, uids) in by_folder {
            session.move_many(&uids, &folder).await?;
        }
        self.mark_moved(keys).await
    }

    /// Records filed messages in one transaction (one disk sync per batch).
    /// The mark is bookkeeping: a message not marked is found filed later.
    async fn mark_moved(&self, keys: &mut Vec<ProcessedKey>) -> Result<(), DeskError> {
        if keys.is_empty() {
            return Ok(());
        }
        let mut by_mailbox: std::collections::BTreeMap<(&str, u32), Vec<u32>> = Default::default();
        for key in keys.iter() {
            by_mailbox
                .entry((key.mailbox.as_str(), key.uidvalidity))
                .or_default()
                .push(key.uid);
        }
        let _turn = self.store.turn().await;
        let mut tx = self.store.begin().await?;
        for ((mailbox, uidvalidity), uids) in by_mailbox {
            processed::mark_moved_many(&mut tx, mailbox, uidvalidity, &uids).await?;
        }
        tx.commit().await.map_err(StoreError::from)?;
        keys.clear();
        Ok(())
    }

    /// Files a message for staff without reading it (too large, or it keeps
    /// failing): a note to staff and the processed mark, in one transaction.
    async fn set_aside(
        &self,
        tx: &mut Tx,
        key: &ProcessedKey,
        reason: &str,
        folder: &str,
        now: DateTime<Utc>,
    ) -> Result<(), DeskError> {
        self.notify_staff(tx, None, reason, "", now).await?;
        // No hash of content we did not read: a per-UID marker instead.
        let marker = format!("{reason}:{}:{}:{}", key.mailbox, key.uidvalidity, key.uid);
        let record = processed::Record {
            key,
            message_id: None,
            raw_sha256: &marker,
            request_id: None,
            outcome: reason,
            folder,
            now,
            sender: None,
        };
        processed::insert(tx, &record).await?;
        info!(uid = key.uid, reason, "message set aside for staff");
        Ok(())
    }

    /// Handles one message inside `tx` (the batch's transaction); the caller
    /// checked in the same transaction that its UID is not processed yet.
    /// Returns where to file it and whether it was a duplicate.
    async fn handle_message(
        &self,
        tx: &mut Tx,
        key: &ProcessedKey,
        raw: &[u8],
        now: DateTime<Utc>,
    ) -> Result<(Filing, bool), DeskError> {
        let hash = hex(&Sha256::digest(raw));
        let inbound = message::parse(raw);
        if let Some(id) = self.own_copy(&inbound) {
            // Every copy of ours goes to the sent folder, a repeated one too.
            if outbox::settle_copy(tx, id, Utc::now()).await? {
                debug!(uid = key.uid, "own copy filed");
                processed::insert(
                    tx,
                    &processed::Record {
                        key,
                        message_id: Some(id),
                        raw_sha256: &hash,
                        request_id: None,
                        outcome: "own_copy",
                        folder: self.folder(Filing::Sent),
                        now,
                        sender: None,
                    },
                )
                .await?;
                return Ok((Filing::Sent, false));
            }
        }
        if processed::seen_before(tx, inbound.message_id.as_deref(), &hash).await? {
            debug!(uid = key.uid, "duplicate message");
            processed::insert(
                tx,
                &processed::Record {
                    key,
                    message_id: inbound.message_id.as_deref(),
                    raw_sha256: &hash,
                    request_id: None,
                    outcome: "duplicate",
                    folder: self.folder(Filing::Handled),
                    now,
                    sender: Some(inbound.from.as_str()).filter(|f| !f.is_empty()),
                },
            )
            .await?;
            return Ok((Filing::Handled, true));
        }
        let (filing, outcome, request_id) = self.decide_and_apply(tx, &inbound, now).await?;
        processed::insert(
            tx,
            &processed::Record {
                key,
                message_id: inbound.message_id.as_deref(),
                raw_sha256: &hash,
                request_id,
                outcome,
                folder: self.folder(filing),
                now,
                sender: Some(inbound.from.as_str()).filter(|f| !f.is_empty()),
            },
        )
        .await?;
        info!(
            uid = key.uid,
            request = request_id,
            outcome,
            "message handled"
        );
        Ok((filing, false))
    }

    /// The Message-ID of a mail that claims to be our own copy (from our
    /// address); `settle_copy` then checks that the outbox holds it.
    fn own_copy<'m>(&self, inbound: &'m Inbound) -> Option<&'m str> {
        let own = self.cfg.from_address();
        (inbound.parsed && inbound.from == own)
            .then_some(inbound.message_id.as_deref())
            .flatten()
    }

    async fn decide_and_apply(
        &self,
        tx: &mut Tx,
        inbound: &Inbound,
        now: DateTime<Utc>,
    ) -> Result<(Filing, &'static str, Option<i64>), DeskError> {
        let own = self.cfg.from_address();
        if !inbound.parsed || inbound.from.is_empty() {
            self.notify_staff(tx, None, "unreadable", &inbound.subject, now)
                .await?;
            return Ok((Filing::Staff, "unreadable", None));
        }
        if inbound.from == own {
            return Ok((Filing::Machine, "own_mail", None));
        }
        if inbound.too_complex && inbound.kind == MailKind::Person {
            self.notify_staff(tx, None, "too_complex", &inbound.subject, now)
                .await?;
            return Ok((Filing::Staff, "too_complex", None));
        }
        match inbound.kind {
            MailKind::Bounce => {
                self.notify_staff(tx, None, "bounce", &inbound.subject, now)
                    .await?;
                return Ok((Filing::Machine, "bounce", None));
            }
            MailKind::AutoReply | MailKind::Bulk => return Ok((Filing::Machine, "machine", None)),
            MailKind::Person => {}
        }
        if inbound.from == crate::config::bare_address(&self.cfg.office.staff_address) {
            return Ok((Filing::Staff, "from_staff", None));
        }
        // A flood from one address goes to staff (told once a day) and gets
        // no answers: it cannot fill the outbox or crowd out other seekers.
        let day_ago = now - ChronoDuration::hours(24);
        let (recent, told) = processed::recent_from(tx, &inbound.from, day_ago).await?;
        if recent >= i64::from(self.cfg.per_sender_per_day) {
            if !told {
                self.notify_staff(tx, None, "flood_sender", &inbound.subject, now)
                    .await?;
            }
            warn!(recent, "sender over the daily limit; filed for staff");
            return Ok((Filing::Staff, "rate_limited", None));
        }
        let cal = &self.cfg.calendar;
        let today = cal.local_date(now);
        let mut existing = requests::find_by_thread(tx, &inbound.thread_ids).await?;
        // A reply to one of our own mails (their Message-IDs are random and
        // only the seeker has seen them), our reference in the subject or
        // the reservation number: the mail carries the request's secret.
        let mut trusted = match &existing {
            Some(r) => outbox::sent_any_of(tx, r.id, &inbound.thread_ids).await?,
            None => false,
        };
        if let Some(caps) = SUBJECT_REF.captures(&inbound.subject) {
            let by_ref = requests::find_by_ref(tx, &caps[1])
                .await?
                .filter(|r| r.seeker_address == inbound.from);
            match (&existing, by_ref) {
                (None, Some(r)) => {
                    existing = Some(r);
                    trusted = true;
                }
                (Some(e), Some(r)) if e.id == r.id => trusted = true,
                _ => {}
            }
        }
        if existing.is_none() {
            // A new mail quoting a reservation number (予約番号 261203-AB3C)
            // belongs to that booking, when it comes from the bound address.
            let text = format!("{}\n{}", inbound.subject, inbound.body);
            for caps in RESERVATION.captures_iter(&crate::core::text::normalize(&text)) {
                let reservation = caps[1].to_ascii_uppercase();
                if let Some(b) = bookings::find_by_reservation(tx, &reservation).await? {
                    existing = requests::find_by_id(tx, b.request_id)
                        .await?
                        .filter(|r| r.seeker_address == inbound.from);
                    if existing.is_some() {
                        trusted = true;
                        break;
                    }
                }
            }
        }
        // Outside a thread the mail is read as a request (once).
        let as_request = existing
            .is_none()
            .then(|| parse_request(&own_text(&inbound.body, false), today, cal));
        if let Some(fresh) = &as_request {
            // Many write a new mail instead of replying (phone mail above
            // all): from the address of an open request, and not itself a
            // new request, it continues that request.
            let since = now - ChronoDuration::days(14);
            if let Some(open) = requests::find_open_by_address(tx, &inbound.from, since).await? {
                let looks_new = fresh.seeker_number.is_some() || fresh.name.is_some();
                if open.machine.state == State::AwaitingInfo || !looks_new {
                    existing = Some(open);
                }
            }
            // A new mail from a booked seeker that asks to cancel or move
            // is about that booking (the one on the date it names, or the
            // only one).
            if existing.is_none() {
                let booked = requests::booked_by_address(tx, &inbound.from).await?;
                let text = own_text(&inbound.body, false);
                let pick = |r: &RequestRow| {
                    matches!(
                        parse_booked(&text, r.machine.booked, today, cal),
                        BookedIntent::Cancel | BookedIntent::Change(_)
                    )
                };
                let named: Vec<&RequestRow> = booked
                    .iter()
                    .filter(|r| {
                        r.machine
                            .booked
                            .is_some_and(|b| fresh.wishes.iter().any(|w| w.date == b.date))
                    })
                    .collect();
                let candidate = match (named.as_slice(), booked.as_slice()) {
                    ([one], _) => Some(*one),
                    ([], [only]) => Some(only),
                    _ => None,
                };
                if let Some(r) = candidate.filter(|r| pick(r)) {
                    existing = Some(r.clone());
                }
            }
        }
        let mut needs: Vec<String> = Vec::new();
        let (row, event) = match existing {
            Some(row) if inbound.from != row.seeker_address => (row, Event::ForeignReply),
            Some(row) => {
                let ours = outbox::raws_for_request(tx, row.id).await?;
                let fresh_mail = as_request.is_some();
                match row.machine.state {
                    State::AwaitingInfo | State::New => {
                        let text = without_our_lines(&own_text(&inbound.body, false), &ours);
                        (row, Event::Request(parse_request(&text, today, cal)))
                    }
                    State::Booked => {
                        let text = without_our_lines(&own_text(&inbound.body, !fresh_mail), &ours);
                        needs = session_needs(&text);
                        match parse_booked(&text, row.machine.booked, today, cal) {
                            BookedIntent::Cancel => (row, Event::Cancel),
                            BookedIntent::Change(w) => (row, Event::Change(w)),
                            BookedIntent::Another(wishes) => {
                                // The next session is a request of its own, in this thread.
                                let mut data = row.machine.data.clone();
                                data.wishes = wishes;
                                data.invalid_dates.clear();
                                let new_row = self
                                    .insert_request(tx, &row.seeker_address, &inbound.subject, now)
                                    .await?;
                                needs.clear();
                                (new_row, Event::Request(data))
                            }
                            BookedIntent::Other => {
                                (row, Event::Reply(parse_reply(&text, &[], today, cal)))
                            }
                        }
                    }
                    _ => {
                        let text = without_our_lines(&own_text(&inbound.body, true), &ours);
                        needs = session_needs(&text);
                        let intent = parse_reply(&text, &row.machine.offered, today, cal);
                        (row, Event::Reply(intent))
                    }
                }
            }
            None => {
                let parsed = as_request
                    .unwrap_or_else(|| parse_request(&own_text(&inbound.body, false), today, cal));
                // The contact address stated in the body, else Reply-To, else
                // the sender; never one of the office's own addresses.
                let staff = crate::config::bare_address(&self.cfg.office.staff_address);
                let usable = |a: &String| *a != own && *a != staff;
                let to = parsed
                    .email
                    .clone()
                    .map(|e| e.to_ascii_lowercase())
                    .filter(usable)
                    .or_else(|| inbound.reply_to.clone().filter(usable))
                    .unwrap_or_else(|| inbound.from.clone());
                // Many new requests under one 求職番号 in a day (from any
                // addresses): staff look at them; no more automatic answers.
                if let Some(number) = parsed.seeker_number.as_deref() {
                    let recent = requests::recent_by_seeker_number(tx, number, day_ago).await?;
                    if recent >= i64::from(self.cfg.per_seeker_per_day) {
                        let told = format!("flood_seeker:{number}:{today}");
                        if office::get_meta(tx, &told).await?.is_none() {
                            self.notify_staff(tx, None, "flood_seeker", &inbound.subject, now)
                                .await?;
                            office::set_meta(tx, &told, "1").await?;
                        }
                        warn!(
                            recent,
                            "job-seeker number over the daily limit; filed for staff"
                        );
                        return Ok((Filing::Staff, "rate_limited", None));
                    }
                }
                let row = self.insert_request(tx, &to, &inbound.subject, now).await?;
                (row, Event::Request(parsed))
            }
        };
        if let Some(id) = &inbound.message_id {
            requests::add_thread_id(tx, row.id, id).await?;
            if !matches!(event, Event::ForeignReply) {
                requests::set_last_inbound(tx, row.id, id, &inbound.thread_ids).await?;
            }
        }
        let thread = if matches!(event, Event::ForeignReply) {
            None
        } else {
            Some(Thread {
                to: row.seeker_address.clone(),
                in_reply_to: inbound.message_id.clone(),
                references: inbound.thread_ids.clone(),
                subject: inbound.subject.clone(),
            })
        };
        let mut filing = Filing::Handled;
        let row = if needs.is_empty() || row.machine.state == State::New {
            row
        } else {
            // 第12条(3): the need is recorded and staff told, whatever else the mail says.
            let f = self
                .step_and_apply(
                    tx,
                    &row,
                    Event::Needs(needs),
                    thread.clone(),
                    None,
                    &inbound.subject,
                    now,
                )
                .await?;
            if f == Filing::Staff {
                filing = f;
            }
            requests::find_by_id(tx, row.id)
                .await?
                .ok_or_else(|| StoreError::Corrupt {
                    table: "requests",
                    problem: format!("request {} vanished", row.id),
                })?
        };
        let consent = Consent {
            message_id: inbound.message_id.clone(),
            from: inbound.from.clone(),
            trusted,
        };
        let main = self
            .step_and_apply(
                tx,
                &row,
                event,
                thread,
                Some(&consent),
                &inbound.subject,
                now,
            )
            .await?;
        if main != Filing::Handled {
            filing = main;
        }
        let outcome = match filing {
            Filing::Staff => "needs_staff",
            _ => "handled",
        };
        Ok((filing, outcome, Some(row.id)))
    }

    /// What the office's records say about the seeker with this number.
    async fn standing(
        &self,
        conn: &mut sqlx::SqliteConnection,
        seeker_number: Option<&str>,
    ) -> Result<Standing, DeskError> {
        let Some(number) = seeker_number else {
            return Ok(Standing::default());
        };
        let (refused, unexcused_no_shows) = office::standing(conn, number).await?;
        Ok(Standing {
            refused,
            unexcused_no_shows,
        })
    }

    /// Runs the state machine on `row` and carries out its effects inside `tx`.
    #[allow(clippy::too_many_arguments)]
    pub(crate) async fn step_and_apply(
        &self,
        tx: &mut Tx,
        row: &RequestRow,
        event: Event,
        thread: Option<Thread>,
        consent: Option<&Consent>,
        subject: &str,
        now: DateTime<Utc>,
    ) -> Result<Filing, DeskError> {
        let cal = &self.cfg.calendar;
        let horizon_end = now + ChronoDuration::days(i64::from(cal.horizon_days) + 2);
        let full = bookings::full_slots(
            tx,
            cal,
            now - ChronoDuration::days(1),
            horizon_end,
            &self.room_ids,
        )
        .await?;
        let number = match &event {
            Event::Request(d) => d.seeker_number.clone(),
            Event::Staff(StaffAction::Book(_, d)) => d.seeker_number.clone(),
            _ => None,
        }
        .or_else(|| row.machine.data.seeker_number.clone());
        let standing = self.standing(tx, number.as_deref()).await?;
        let event_name = event.name();
        let by_staff = matches!(event, Event::Staff(_));
        let before = row.machine.state;
        let rules = &self.cfg.rules;
        let mut ctx = Context {
            cal,
            now,
            full: &full,
            rules,
            standing,
            trusted: consent.is_none_or(|c| c.trusted),
        };
        let (mut next, effects) = match booking::step(&row.machine, event.clone(), &ctx) {
            Ok(r) => r,
            Err(e) if by_staff => return Err(DeskError::Staff(e.to_string())),
            Err(e) => {
                warn!(request = row.id, error = %e, "no transition; staff notified");
                self.notify_staff(tx, Some(row), "unreadable", subject, now)
                    .await?;
                return Ok(Filing::Staff);
            }
        };
        let thread = thread.unwrap_or_else(|| self.thread_of(row));
        let mut filing = Filing::Handled;
        let mut queue = effects;
        let mut full_now = full.clone();
        // A request just opened has no booking yet: no need to look.
        let booking = if before == State::New {
            None
        } else {
            bookings::latest_for_request(tx, row.id).await?
        };
        // The booking a cancellation freed, for the offer that follows it.
        let mut cancelled: Option<BookingRecord> = None;
        while !queue.is_empty() {
            let effect = queue.remove(0);
            // Every mail to the seeker shows their name and the request's reference.
            let base = minijinja::context! { name => next.data.name.clone(), ref => row.reference.clone() };
            let offered = slot_views(&next.offered, cal.slot_minutes);
            match effect {
                Effect::Book(slot) | Effect::StaffBook(slot) => {
                    let staff = by_staff;
                    let reservation =
                        format!("{}-{}", slot.date.format("%y%m%d"), &random_ref()[..4]);
                    let new = bookings::NewBooking {
                        request_id: row.id,
                        reservation: &reservation,
                        slot_start: cal.slot_start_utc(slot),
                        consent_message_id: consent.and_then(|c| c.message_id.as_deref()),
                        consent_from: consent.map(|c| c.from.as_str()),
                        terms_sha256: (!staff).then(|| {
                            row.offer_terms_sha256
                                .as_deref()
                                .unwrap_or(self.composer.terms_sha256())
                        }),
                        booked_by: if staff { "staff" } else { "seeker" },
                        now,
                    };
                    match bookings::try_book(tx, &new, &self.room_ids).await? {
                        Some(b) => {
                            info!(request = row.id, booking = b.id, "booked");
                            let record = bookings::find_by_reservation(tx, &b.reservation)
                                .await?
                                .ok_or_else(|| StoreError::Corrupt {
                                table: "bookings",
                                problem: format!("booking {} vanished", b.id),
                            })?;
                            let ctx_v = minijinja::context! {
                                reservation => b.reservation, slot => SlotView::new(slot, cal.slot_minutes), room => self.room_view(&b.room_id), ..base
                            };
                            let invite = self.invite(&record, "PUBLISH", now)?;
                            let kind = if staff { "staff_booked" } else { "confirm" };
                            self.enqueue_with(
                                tx,
                                row.id,
                                kind,
                                ctx_v,
                                &thread,
                                false,
                                Some(invite),
                                now,
                            )
                            .await?;
                        }
                        None if staff => {
                            return Err(DeskError::Staff(format!(
                                "every room is booked at {}",
                                slot.start.format("%H:%M")
                            )))
                        }
                        None => {
                            // Taken meanwhile (another consent won): a fresh offer.
                            full_now.insert(slot);
                            ctx = Context {
                                cal,
                                now,
                                full: &full_now,
                                rules,
                                standing,
                                trusted: true,
                            };
                            let (n2, fx2) = booking::step(&row.machine, Event::SlotTaken, &ctx)
                                .map_err(|e| StoreError::Corrupt {
                                    table: "requests",
                                    problem: e.to_string(),
                                })?;
                            next = n2;
                            queue.extend(fx2);
                        }
                    }
                }
                Effect::CancelBooking { by, notify } => {
                    let Some(b) = booking.as_ref().filter(|b| b.status == "confirmed") else {
                        warn!(request = row.id, "no live booking to cancel");
                        continue;
                    };
                    let by_name = match by {
                        By::Seeker => "email",
                        By::Staff => "staff",
                    };
                    bookings::set_outcome(tx, b.id, "cancelled", Some(by_name), false, now).await?;
                    info!(
                        request = row.id,
                        booking = b.id,
                        by = by_name,
                        "booking cancelled"
                    );
                    if notify {
                        let ctx_v = minijinja::context! {
                            reservation => b.reservation.clone(), slot => self.booking_slot_view(b), by => if by == By::Staff { "staff" } else { "seeker" }, ..base
                        };
                        let invite = self.invite(b, "CANCEL", now)?;
                        self.enqueue_with(
                            tx,
                            row.id,
                            "cancelled",
                            ctx_v,
                            &thread,
                            false,
                            Some(invite),
                            now,
                        )
                        .await?;
                    }
                    cancelled = Some(b.clone());
                }
                Effect::RefuseSameDayCancel => {
                    let (reservation, slot) = self.booking_view(booking.as_ref());
                    let ctx_v =
                        minijinja::context! { reservation => reservation, slot => slot, ..base };
                    self.enqueue(tx, row.id, "same_day_cancel", ctx_v, &thread, false, now)
                        .await?;
                }
                Effect::AskConfirmByReply => {
                    let (reservation, slot) = self.booking_view(booking.as_ref());
                    let ctx_v = minijinja::context! {
                        reservation => reservation, slot => slot, change => event_name == "change", ..base
                    };
                    self.enqueue(tx, row.id, "confirm_by_reply", ctx_v, &thread, false, now)
                        .await?;
                }
                Effect::Remind => {
                    let Some(b) = booking.as_ref().filter(|b| b.status == "confirmed") else {
                        continue;
                    };
                    let ctx_v = minijinja::context! {
                        reservation => b.reservation.clone(), slot => self.booking_slot_view(b), room => self.room_view(&b.room_id), ..base
                    };
                    self.enqueue(tx, row.id, "reminder", ctx_v, &thread, false, now)
                        .await?;
                }
                Effect::RecordNoShow { excused } => {
                    if let Some(b) = booking.as_ref().filter(|b| b.status == "confirmed") {
                        bookings::set_outcome(tx, b.id, "no_show", None, excused, now).await?;
                        info!(
                            request = row.id,
                            booking = b.id,
                            excused,
                            "no-show recorded"
                        );
                    }
                }
                Effect::RecordAttended => {
                    if let Some(b) = booking
                        .as_ref()
                        .filter(|b| b.status == "confirmed" || b.status == "no_show")
                    {
                        bookings::set_outcome(tx, b.id, "attended", None, false, now).await?;
                    }
                }
                Effect::Offer { slots, reason } => {
                    // Whether an offered slot meets a wish, and whether every wish is met.
                    let meets = |w: &crate::core::understand::Wish,
                                 s: &crate::core::calendar::Slot| {
                        w.date == s.date
                            && w.time.is_none_or(|t| {
                                t == WishTime::At(s.start) || !matches!(t, WishTime::At(_))
                            })
                    };
                    let wished_available = slots
                        .iter()
                        .any(|s| next.data.wishes.iter().any(|w| meets(w, s)));
                    let all_wishes_met = next
                        .data
                        .wishes
                        .iter()
                        .all(|w| slots.iter().any(|s| meets(w, s)));
                    let cancelled_v = cancelled.as_ref().map(|b| {
                        minijinja::context! { reservation => b.reservation.clone(), slot => self.booking_slot_view(b) }
                    });
                    let ctx_v = minijinja::context! {
                        reason => reason.as_str(), wished_available => wished_available, all_wishes_met => all_wishes_met,
                        slots => slot_views(&slots, cal.slot_minutes), cancelled => cancelled_v, ..base
                    };
                    requests::set_offer_terms(tx, row.id, self.composer.terms_sha256()).await?;
                    self.enqueue(tx, row.id, "offer", ctx_v, &thread, true, now)
                        .await?;
                }
                Effect::AskMissing { missing } => {
                    let mut keys: Vec<&str> = missing.iter().map(|m| m.key()).collect();
                    if next.data.invalid_seeker_number.is_some() && !keys.contains(&"seeker_number")
                    {
                        keys.push("seeker_number");
                    }
                    // The same notice to the same address at most once a day.
                    let variant = keys.join(",");
                    let day_ago = now - ChronoDuration::hours(24);
                    if outbox::sent_variant_since(tx, &thread.to, "missing", &variant, day_ago)
                        .await?
                    {
                        debug!(request = row.id, "same notice already sent today");
                        continue;
                    }
                    let ctx_v = minijinja::context! {
                        missing => keys, invalid_seeker_number => next.data.invalid_seeker_number.clone(),
                        invalid_dates => next.data.invalid_dates.clone(), time_without_date => next.data.time_without_date, ..base
                    };
                    let id = self
                        .enqueue(tx, row.id, "missing", ctx_v, &thread, false, now)
                        .await?;
                    outbox::set_variant(tx, &id, &variant).await?;
                }
                Effect::AskWhich => {
                    self.enqueue(
                        tx,
                        row.id,
                        "ask_which",
                        minijinja::context! { slots => offered, ..base },
                        &thread,
                        false,
                        now,
                    )
                    .await?;
                }
                Effect::FollowUp => {
                    let lapse = booking::next_timer(&next, cal, rules)
                        .map(|(t, _)| t)
                        .unwrap_or(now);
                    // The notice names the last day to reply: the day before the lapse instant.
                    let lapse_date =
                        DateView::from(cal.local_date(lapse - ChronoDuration::seconds(1)));
                    let ctx_v =
                        minijinja::context! { lapse_date => lapse_date, slots => offered, ..base };
                    self.enqueue(tx, row.id, "follow_up", ctx_v, &thread, false, now)
                        .await?;
                }
                Effect::Lapse => {
                    self.enqueue(tx, row.id, "lapsed", base, &thread, false, now)
                        .await?;
                }
                Effect::AcknowledgeWithdrawal => {
                    self.enqueue(tx, row.id, "withdrawn", base, &thread, false, now)
                        .await?;
                }
                Effect::AcknowledgeBooked => {
                    let ctx_v = minijinja::context! { answer_by => DateView::from(self.answer_by(now)), ..base };
                    self.enqueue(tx, row.id, "after_booking", ctx_v, &thread, false, now)
                        .await?;
                }
                Effect::Forwarded => {
                    let ctx_v = minijinja::context! { answer_by => DateView::from(self.answer_by(now)), slots => offered, ..base };
                    self.enqueue(tx, row.id, "forwarded", ctx_v, &thread, false, now)
                        .await?;
                }
                Effect::Holding(reason) => {
                    let ctx_v = minijinja::context! { answer_by => DateView::from(self.answer_by(now)), reason => reason.as_str(), ..base };
                    self.enqueue(tx, row.id, "holding", ctx_v, &thread, false, now)
                        .await?;
                }
                Effect::NotifyStaff(reason) => {
                    if !matches!(reason, StaffReason::NoShow) {
                        filing = Filing::Staff;
                    }
                    let shown = RequestRow {
                        machine: next.clone(),
                        ..row.clone()
                    };
                    self.notify_staff(tx, Some(&shown), reason.as_str(), subject, now)
                        .await?;
                }
            }
        }
        let due = booking::next_timer(&next, cal, rules).map(|(t, _)| t);
        requests::save(tx, row.id, before, &next, event_name, due, now).await?;
        Ok(filing)
    }

    /// The meeting room as templates show it.
    fn room_view(&self, room_id: &str) -> Option<Value> {
        self.cfg.rooms.iter().find(|r| r.id == room_id).map(|r| {
            minijinja::context! { id => r.id.clone(), passcode => r.passcode.clone(), url => r.url.clone() }
        })
    }

    fn booking_slot(&self, b: &BookingRecord) -> Slot {
        let local = b.slot_start.with_timezone(&self.cfg.calendar.tz);
        Slot::new(local.date_naive(), local.time())
    }

    /// The reservation number and slot of a booking as templates show them.
    fn booking_view(&self, b: Option<&BookingRecord>) -> (String, Option<SlotView>) {
        match b {
            Some(b) => (b.reservation.clone(), Some(self.booking_slot_view(b))),
            None => ("-".to_string(), None),
        }
    }

    fn booking_slot_view(&self, b: &BookingRecord) -> SlotView {
        SlotView::new(self.booking_slot(b), self.cfg.calendar.slot_minutes)
    }

    /// The `.ics` for a booking: PUBLISH (no RSVP mail comes back to the
    /// desk) or CANCEL, with a UID stable across both.
    fn invite(
        &self,
        b: &BookingRecord,
        method: &str,
        now: DateTime<Utc>,
    ) -> Result<crate::mail::compose::Extra, DeskError> {
        let stamp = |t: DateTime<Utc>| t.format("%Y%m%dT%H%M%SZ").to_string();
        let end = b.slot_start + ChronoDuration::minutes(i64::from(self.cfg.calendar.slot_minutes));
        let ctx = minijinja::context! {
            uid => format!("{}@{}", b.reservation, self.cfg.mail_domain()),
            sequence => if method == "CANCEL" { 1 } else { 0 },
            stamp => stamp(now), start => stamp(b.slot_start), end => stamp(end),
            reservation => b.reservation.clone(),
            room => self.room_view(&b.room_id).unwrap_or_else(|| minijinja::context! { id => b.room_id.clone() }),
        };
        Ok(self.composer.calendar(ctx, method)?)
    }

    /// A new request row bound to `address`, in state `New` for the machine.
    pub(crate) async fn insert_request(
        &self,
        tx: &mut Tx,
        address: &str,
        subject: &str,
        now: DateTime<Utc>,
    ) -> Result<RequestRow, DeskError> {
        let reference = random_ref();
        let token = random_token(24);
        let id = requests::insert(
            tx,
            &requests::NewRequest {
                reference: &reference,
                token: &token,
                seeker_address: address,
                thread_subject: subject,
                created_at: now,
            },
        )
        .await?;
        let row = requests::find_by_id(tx, id)
            .await?
            .ok_or_else(|| StoreError::Corrupt {
                table: "requests",
                problem: format!("request {id} vanished"),
            })?;
        Ok(RequestRow {
            machine: Request {
                state: State::New,
                ..row.machine
            },
            ..row
        })
    }

    /// The thread of a request, for mail the bot starts (timers).
    fn thread_of(&self, row: &RequestRow) -> Thread {
        Thread {
            to: row.seeker_address.clone(),
            in_reply_to: row.last_inbound_id.clone(),
            references: row.thread_refs.clone(),
            subject: row.thread_subject.clone(),
        }
    }

    /// The date by which the office must answer a mail received at `now`:
    /// 3 business days later (第6条(2)).
    fn answer_by(&self, now: DateTime<Utc>) -> chrono::NaiveDate {
        let cal = &self.cfg.calendar;
        cal.add_business_days(cal.local_date(now), 3)
    }

    /// Renders `templates/{kind}.txt.j2` into the outbox, in this transaction.
    #[allow(clippy::too_many_arguments)]
    async fn enqueue(
        &self,
        tx: &mut Tx,
        request_id: i64,
        kind: &str,
        ctx: Value,
        thread: &Thread,
        attach_terms: bool,
        now: DateTime<Utc>,
    ) -> Result<String, DeskError> {
        self.enqueue_with(tx, request_id, kind, ctx, thread, attach_terms, None, now)
            .await
    }

    /// [`Desk::enqueue`] with one more attachment.
    #[allow(clippy::too_many_arguments)]
    async fn enqueue_with(
        &self,
        tx: &mut Tx,
        request_id: i64,
        kind: &str,
        ctx: Value,
        thread: &Thread,
        attach_terms: bool,
        extra: Option<crate::mail::compose::Extra>,
        now: DateTime<Utc>,
    ) -> Result<String, DeskError> {
        let out = self.composer.compose_with(
            &format!("{kind}.txt.j2"),
            ctx,
            thread,
            attach_terms,
            extra,
        )?;
        requests::add_thread_id(tx, request_id, &out.message_id).await?;
        outbox::enqueue(
            tx,
            &out.message_id,
            Some(request_id),
            kind,
            &out.to,
            &out.raw,
            now,
        )
        .await?;
        Ok(out.message_id)
    }

    async fn notify_staff(
        &self,
        tx: &mut Tx,
        row: Option<&RequestRow>,
        reason: &str,
        subject: &str,
        now: DateTime<Utc>,
    ) -> Result<(), DeskError> {
        let cal = &self.cfg.calendar;
        let received_local = now.with_timezone(&cal.tz);
        let answer_by = self.answer_by(now);
        let (booking, no_shows) = match row {
            Some(r) => {
                let b = bookings::latest_for_request(tx, r.id).await?;
                let n = match r.machine.data.seeker_number.as_deref() {
                    Some(num) => office::standing(tx, num).await?.1,
                    None => 0,
                };
                (b, n)
            }
            None => (None, 0),
        };
        let ctx = minijinja::context! {
            reservation => booking.as_ref().map(|b| b.reservation.clone()),
            slot => booking.as_ref().map(|b| self.booking_slot_view(b)),
            needs => row.map(|r| r.machine.data.needs.clone()).unwrap_or_default(),
            no_shows => no_shows,
            reason => reason,
            ref => row.map(|r| r.reference.clone()).unwrap_or_else(|| "-".into()),
            state => row.map(|r| r.machine.state.as_str()).unwrap_or("-"),
            received_at => received_local.format("%Y-%m-%d %H:%M").to_string(),
            answer_by => DateView::from(answer_by),
            subject => crate::core::text::single_line(subject, 120),
            folder => if reason == "unreadable" && row.is_none() { self.cfg.folders.failed.clone() } else { self.cfg.folders.staff.clone() },
        };
        let thread = Thread {
            to: crate::config::bare_address(&self.cfg.office.staff_address),
            ..Default::default()
        };
        let out = self.composer.compose("staff.txt.j2", ctx, &thread, false)?;
        outbox::enqueue(
            tx,
            &out.message_id,
            row.map(|r| r.id),
            "staff",
            &out.to,
            &out.raw,
            now,
        )
        .await?;
        info!(request = row.map(|r| r.id), reason, "staff notified");
        Ok(())
    }

    /// Fires every timer due at `now` (follow-ups, lapses, reminders,
    /// no-shows) and writes the staff digest when it is time.
    pub async fn fire_timers(
        &self,
        now: DateTime<Utc>,
        report: &mut PassReport,
    ) -> Result<(), DeskError> {
        let ids = {
            let mut conn = self.store.conn().await?;
            requests::due(&mut conn, now, 500).await?
        };
        for id in ids {
            let mut tx = self.store.begin().await?;
            let Some(row) = requests::find_by_id(&mut tx, id).await? else {
                continue;
            };
            match booking::next_timer(&row.machine, &self.cfg.calendar, &self.cfg.rules) {
                Some((due, event)) if due <= now => {
                    self.step_and_apply(
                        &mut tx,
                        &row,
                        event,
                        None,
                        None,
                        &row.thread_subject.clone(),
                        now,
                    )
                    .await?;
                    report.timers += 1;
                    info!(request = id, "timer fired");
                }
                other => {
                    // A stale due time: store the right one.
                    let next = other.map(|(t, _)| t);
                    requests::set_next_due(&mut tx, id, next).await?;
                }
            }
            tx.commit().await.map_err(StoreError::from)?;
        }
        if self.maybe_send_digest(now).await? {
            report.timers += 1;
        }
        Ok(())
    }

    /// Sends what the outbox holds, then closes the SMTP connections.
    pub async fn send_pending(
        &self,
        now: DateTime<Utc>,
        report: &mut PassReport,
    ) -> Result<(), DeskError> {
        let result = self.send_due(now, report).await;
        self.smtp.close().await;
        result.map(|_| ())
    }

    /// Sends what the outbox holds, leaving the connections open for the
    /// next round. Each mail is claimed under a lease and marked sent right
    /// after the server accepts it, before the next submission on that
    /// connection. Transient failures back off (30 s doubling to 1 h);
    /// permanent ones are marked failed and staff told. Returns whether
    /// sending stopped at a transient failure.
    async fn send_due(
        &self,
        now: DateTime<Utc>,
        report: &mut PassReport,
    ) -> Result<bool, DeskError> {
        let until = now.max(Utc::now());
        // Leased for twice the SMTP time-out: long enough to finish a
        // submission, short enough that a crashed sender's mail is soon
        // retried. A lane stops before a submission that could outlast it.
        let lease = ChronoDuration::from_std(self.cfg.smtp.timeout * 2)
            .unwrap_or(ChronoDuration::seconds(60));
        let margin =
            ChronoDuration::from_std(self.cfg.smtp.timeout).unwrap_or(ChronoDuration::seconds(30));
        loop {
            // Rows marked in the journal but not folded yet are still leased
            // (ours) or are folded before the claim below (a dead desk's), so
            // nothing marked is claimed again.
            let rows = {
                let mut conn = self.store.conn().await?;
                outbox::pending(&mut conn, until, Utc::now(), 100).await?
            };
            // Mail in flight waits for `resolve_doubts`: sent again only
            // once it is known that the server never took it.
            let in_flight: HashSet<String> = {
                let mut journal = self.store.journal_conn().await?;
                outbox::journal_in_flight(&mut journal, 1000)
                    .await?
                    .into_iter()
                    .map(|(id, _)| id)
                    .collect()
            };
            let rows: Vec<OutboxRow> = rows
                .into_iter()
                .filter(|r| !in_flight.contains(&r.message_id))
                .collect();
            if rows.is_empty() {
                self.fold_sent_marks(None).await?;
                return Ok(false);
            }
            let lease_until = Utc::now() + lease;
            let ids: Vec<i64> = rows.iter().map(|r| r.id).collect();
            // The whole batch is claimed in one statement: one disk sync,
            // not one per mail.
            let lease = outbox::Lease {
                owner: &self.owner,
                until: lease_until,
                now: Utc::now(),
            };
            let claimed: std::collections::HashSet<i64> = self
                .fold_sent_marks(Some((&ids, until, lease)))
                .await?
                .into_iter()
                .collect();
            // Rows another desk claimed are its to send. Ours are dealt
            // round-robin to the SMTP lanes; each lane sends its share in
            // order and stops at a transient failure (the server is likely
            // down: the rest is retried when its lease ends).
            let mine: Vec<&OutboxRow> = rows.iter().filter(|r| claimed.contains(&r.id)).collect();
            if mine.is_empty() {
                self.fold_sent_marks(None).await?;
                return Ok(false);
            }
            // A second connection pays for itself only in a burst; each
            // connection also has one submission in flight that a crash
            // could leave in doubt, so a quiet round uses one.
            let lanes = self
                .smtp
                .lanes()
                .min(mine.len().div_ceil(MAILS_PER_LANE))
                .max(1);
            let outcomes = futures::future::join_all((0..lanes).map(|lane| {
                let share: Vec<&OutboxRow> =
                    mine.iter().skip(lane).step_by(lanes).copied().collect();
                self.send_lane(lane, share, lease_until - margin)
            }))
            .await;
            let mut progressed = false;
            let mut stop = false;
            for outcome in outcomes {
                report.sent += outcome.sent;
                progressed |= outcome.sent > 0;
                stop |= outcome.lease_ran_out;
                if let Some(e) = outcome.store_error {
                    return Err(e.into());
                }
                let Some((row, failure)) = outcome.failed else {
                    continue;
                };
                let e = failure.error;
                report.send_failures += 1;
                let mut conn = self.store.conn().await?;
                if e.is_transient() {
                    let delay = 30i64
                        .saturating_mul(1 << row.attempts.clamp(0, 7))
                        .min(3600);
                    warn!(outbox = row.id, attempts = row.attempts + 1, error = %e, "send failed; will retry");
                    // The back-off runs on the decision clock, so a replayed
                    // pass (`once --now`) retries consistently with it.
                    outbox::mark_attempt_failed(
                        &mut conn,
                        row.id,
                        &e.to_string(),
                        Some(now + ChronoDuration::seconds(delay)),
                    )
                    .await?;
                    stop = true;
                } else {
                    warn!(outbox = row.id, error = %e, "send failed permanently");
                    outbox::mark_attempt_failed(&mut conn, row.id, &e.to_string(), None).await?;
                    drop(conn);
                    if row.kind != "staff" {
                        let mut tx = self.store.begin().await?;
                        self.notify_staff(&mut tx, None, "send_failed", "", now)
                            .await?;
                        tx.commit().await.map_err(StoreError::from)?;
                    }
                    progressed = true;
                }
            }
            if stop || !progressed {
                self.fold_sent_marks(None).await?;
                return Ok(stop);
            }
        }
    }

    /// Folds the sent journal into the outbox in one transaction (one disk
    /// sync), claiming `claim` (ids, due-by, lease) in the same one;
    /// returns the ids claimed.
    async fn fold_sent_marks(
        &self,
        claim: Option<(&[i64], DateTime<Utc>, outbox::Lease<'_>)>,
    ) -> Result<Vec<i64>, DeskError> {
        let marks = {
            let mut journal = self.store.journal_conn().await?;
            outbox::journal_marks(&mut journal, 1000).await?
        };
        if marks.is_empty() && claim.is_none() {
            return Ok(Vec::new());
        }
        let claimed = {
            let _turn = self.store.turn().await;
            let mut tx = self.store.begin().await?;
            outbox::fold_sent(&mut tx, &marks).await?;
            let claimed = match claim {
                Some((ids, due_by, lease)) => {
                    outbox::claim_many(&mut tx, ids, due_by, lease).await?
                }
                None => Vec::new(),
            };
            tx.commit().await.map_err(StoreError::from)?;
            claimed
        };
        let mut journal = self.store.journal_conn().await?;
        outbox::forget_journal_marks(&mut journal, &marks).await?;
        Ok(claimed)
    }

    /// Sends one lane's share in order on SMTP connection `lane`. Each
    /// mail is marked sent in the journal while the next one's envelope is
    /// accepted, and always before the next one's end of data: at any
    /// moment at most one accepted mail of this connection is unmarked.
    /// Stops at the first failure, and before a submission that could end
    /// after `send_by` (the claim's lease minus one time-out): another desk
    /// may take the rest.
    async fn send_lane<'r>(
        &self,
        lane: usize,
        share: Vec<&'r OutboxRow>,
        send_by: DateTime<Utc>,
    ) -> LaneOutcome<'r> {
        let mut outcome = LaneOutcome::default();
        // The mail the server accepted last, not yet marked.
        let mut unmarked: Option<&OutboxRow> = None;
        for row in share {
            if Utc::now() >= send_by {
                outcome.lease_ran_out = true;
                break;
            }
            let (marked, sent) = self
                .smtp
                .send_on(
                    lane,
                    row.id,
                    &row.recipient,
                    &row.raw,
                    self.journal_step(unmarked.take(), Some(row)),
                )
                .await;
            if let Err(e) = marked {
                outcome.store_error = Some(e);
                break;
            }
            if let Err(failure) = sent {
                if !failure.in_doubt {
                    if let Err(e) = self.forget_in_flight(row).await {
                        outcome.store_error = Some(e);
                    }
                }
                outcome.failed = Some((row, failure));
                break;
            }
            debug!(outbox = row.id, kind = %row.kind, "sent");
            outcome.sent += 1;
            unmarked = Some(row);
        }
        if unmarked.is_some() {
            if let Err(e) = self.journal_step(unmarked, None).await {
                outcome.store_error.get_or_insert(e);
            }
        }
        outcome
    }

    /// Marks `sent` sent in the sent journal and puts `next` in flight, in
    /// one write. Sent but not marked, a mail stays in flight until
    /// `resolve_doubts` finds its copy (or sends it again).
    async fn journal_step(
        &self,
        sent: Option<&OutboxRow>,
        next: Option<&OutboxRow>,
    ) -> Result<(), StoreError> {
        let marked = async {
            let mut journal = self.store.journal_conn().await?;
            outbox::journal_step(
                &mut journal,
                sent.map(|r| r.message_id.as_str()),
                next.map(|r| r.message_id.as_str()),
                Utc::now(),
            )
            .await
        }
        .await;
        if let Err(e) = &marked {
            let id = sent.or(next).map(|r| r.id);
            warn!(outbox = id, error = %e, "sent journal could not be written");
        }
        marked
    }

    /// The server refused the mail: it is not in flight any more.
    async fn forget_in_flight(&self, row: &OutboxRow) -> Result<(), StoreError> {
        let mut journal = self.store.journal_conn().await?;
        outbox::journal_forget_in_flight(&mut journal, &row.message_id).await
    }
}

/// What one SMTP lane did with its share of a claimed batch.
#[derive(Default)]
struct LaneOutcome<'r> {
    sent: usize,
    failed: Option<(&'r OutboxRow, crate::mail::smtp::SendFailure)>,
    lease_ran_out: bool,
    store_error: Option<StoreError>,
}

/// The inbound mail behind an event: who sent it, and whether it carries
/// the request's secret (see `Context::trusted`).
pub(crate) struct Consent {
    message_id: Option<String>,
    from: String,
    trusted: bool,
}

/// Drops the lines of a reply that repeat our own mails of the thread: a
/// mailer that quotes without any marker must not have our offer read as
/// the seeker's choice.
fn without_our_lines(text: &str, ours: &[Vec<u8>]) -> String {
    let key = |l: &str| {
        crate::core::text::normalize(l)
            .split_whitespace()
            .collect::<String>()
    };
    let known: std::collections::HashSet<String> = ours
        .iter()
        .flat_map(|raw| {
            message::parse(raw)
                .body
                .lines()
                .map(key)
                .collect::<Vec<_>>()
        })
        .filter(|l| l.chars().count() >= 4)
        .collect();
    text.lines()
        .filter(|l| !known.contains(&key(l)))
        .collect::<Vec<_>>()
        .join("\n")
}

/// Whether `value` can go into an IMAP SEARCH string as it is: our own
/// Message-IDs and address, checked rather than escaped.
fn is_plain_search_value(value: &str) -> bool {
    !value.is_empty()
        && value
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "._-+@".contains(c))
}

fn slot_views(slots: &[crate::core::calendar::Slot], minutes: u32) -> Vec<SlotView> {
    slots.iter().map(|s| SlotView::new(*s, minutes)).collect()
}

/// A short reference people can read out on the phone (no 0/O, 1/I).
fn lease_owner() -> String {
    let host = std::fs::read_to_string("/proc/sys/kernel/hostname")
        .map(|h| h.trim().to_string())
        .unwrap_or_default();
    format!(
        "{host}:{}:{:08x}",
        std::process::id(),
        rand::random::<u32>()
    )
}

fn random_ref() -> String {
    const CHARS: &[u8] = b"ABCDEFGHJKLMNPQRSTUVWXYZ23456789";
    use rand::Rng;
    let mut rng = rand::thread_rng();
    (0..6)
        .map(|_| CHARS[rng.gen_range(0..CHARS.len())] as char)
        .collect()
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}
