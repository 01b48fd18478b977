//! Reading the inbox: batches fetched and handled one transaction each,
//! filed into folders under a filing lease, our own copies filed into the
//! sent folder.

use super::decide;
use super::error::DeskError;
use super::pass::PassReport;
use super::staff_note;
use crate::core::booking::StaffReason;
use crate::core::folders;
use crate::core::route::Filing;
use crate::mail::imap::ImapSession;
use crate::mail::message;
use crate::mail::message::Inbound;
use crate::office::Office;
use crate::store;
use crate::store::{office, outbox, processed, ProcessedKey, Savepoint, StoreError, Tx};
use chrono::{DateTime, Duration as ChronoDuration, Utc};
use sha2::{Digest, Sha256};
use std::collections::HashMap;
use std::sync::atomic::Ordering;
use tokio::sync::Notify;
use tracing::{debug, info, warn};

/// Messages fetched and filed per IMAP round trip, and their total size.
pub(super) const FETCH_BATCH: usize = 50;
pub(super) const FETCH_BYTES: u64 = 16 * 1024 * 1024;

/// A message whose handling failed this many times goes to the failed folder.
pub(super) const POISON_ATTEMPTS: u32 = 3;

/// Takes the filing of a batch's messages, in its transaction, for
/// twice the IMAP time-out (the MOVE follows the commit at once).
pub(super) async fn lease_filing(
    office: &Office,
    batch: &mut Tx,
    mailbox: &str,
    uidvalidity: u32,
    to_file: &[(u32, String)],
) -> Result<(), StoreError> {
    let uids: Vec<u32> = to_file.iter().map(|(uid, _)| *uid).collect();
    let lease = ChronoDuration::from_std(office.cfg.imap.timeout * 2)
        .unwrap_or(ChronoDuration::seconds(60));
    processed::lease_filing(
        batch,
        mailbox,
        uidvalidity,
        &uids,
        &office.owner,
        Utc::now() + lease,
    )
    .await
}

/// Whether the inbox holds mail above the highest UID the last pass
/// read.
pub(super) async fn arrived_since_pass(
    office: &Office,
    session: &mut ImapSession,
) -> Result<bool, DeskError> {
    let uidvalidity = session.select(&office.cfg.imap.mailbox).await?;
    let (seen_validity, seen_uid) = {
        let seen = office.mailbox.highest_uid_read.load(Ordering::Acquire);
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

pub(super) fn folder(office: &Office, filing: Filing) -> &str {
    match filing {
        Filing::Handled => &office.cfg.folders.handled,
        Filing::Staff => &office.cfg.folders.staff,
        Filing::Machine => &office.cfg.folders.machine,
        // Resolved by `process_inbox` at the start of each reading.
        Filing::Sent => crate::mail::imap::SENT_FOLDER_ALIAS,
    }
}

/// Reads the inbox in batches; `committed` is told after each batch's
/// commit, so its mail can be sent at once.
pub(super) async fn process_inbox(
    office: &Office,
    session: &mut ImapSession,
    now: DateTime<Utc>,
    report: &mut PassReport,
    committed: &Notify,
    only: Option<&[u32]>,
) -> Result<(), DeskError> {
    let mailbox = office.cfg.imap.mailbox.clone();
    let uidvalidity = session.select(&mailbox).await?;
    let uids = match only {
        Some(uids) => uids.to_vec(),
        None => session.uids().await?,
    };
    if only.is_none() {
        let highest = uids.iter().copied().max().unwrap_or(0);
        office.mailbox.highest_uid_read.store(
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
        let size = size_of(uid).min(office.cfg.max_message_bytes);
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
        read_batch(
            office,
            session,
            chunk,
            &sizes,
            uidvalidity,
            now,
            report,
            committed,
        )
        .await?;
    }
    Ok(())
}

/// One batch of the inbox: fetched in one round trip (handled ones
/// skipped), handled in one transaction with a savepoint per message,
/// committed, then filed.
#[allow(clippy::too_many_arguments)]
async fn read_batch(
    office: &Office,
    session: &mut ImapSession,
    chunk: &[u32],
    sizes: &HashMap<u32, u32>,
    uidvalidity: u32,
    now: DateTime<Utc>,
    report: &mut PassReport,
    committed: &Notify,
) -> Result<(), DeskError> {
    let mailbox = office.cfg.imap.mailbox.clone();
    let size_of = |uid: u32| u64::from(sizes.get(&uid).copied().unwrap_or(0));
    // Handled messages are not downloaded again (those a refused
    // folder keeps in the inbox would be, on every pass).
    let handled = {
        let mut conn = office.store.conn().await?;
        processed::get_many(&mut conn, &mailbox, uidvalidity, chunk).await?
    };
    let wanted: Vec<u32> = chunk
        .iter()
        .copied()
        .filter(|&uid| size_of(uid) <= office.cfg.max_message_bytes && !handled.contains_key(&uid))
        .collect();
    let mut raws: HashMap<u32, Vec<u8>> = session.fetch_many(&wanted).await?.into_iter().collect();
    let mut to_file: Vec<(u32, String)> = Vec::new();
    let mut keys: Vec<ProcessedKey> = Vec::new();
    // One transaction per batch, one savepoint per message: a
    // message that fails is undone alone; the batch is one disk sync.
    let turn = office.store.turn().await;
    let mut batch = office.store.begin().await?;
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
            if p.moved || p.filed_by_other(&office.owner, Utc::now()) {
                continue;
            }
            // Committed before a crash, not yet filed: file it now.
            to_file.push((uid, p.folder));
            keys.push(key);
            continue;
        }
        let outcome = if size_of(uid) > office.cfg.max_message_bytes {
            set_aside(
                office,
                &mut batch,
                &key,
                StaffReason::TooLarge,
                folder(office, Filing::Staff),
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
            let handled = handle_message(office, &mut batch, &key, &raw, now).await;
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
                folder(office, filing).to_string()
            }
            Err(e) if e.is_transient() => {
                // What the batch did so far stands if it can commit.
                let saved = lease_filing(office, &mut batch, &mailbox, uidvalidity, &to_file)
                    .await
                    .is_ok()
                    && batch.commit().await.is_ok();
                drop(turn);
                if saved {
                    committed.notify_one();
                    file(office, session, &mut to_file, &mut keys).await?;
                }
                return Err(e);
            }
            Err(e) => {
                report.message_failures += 1;
                let n =
                    processed::record_failure(&mut batch, &key, &e.to_string(), Utc::now()).await?;
                warn!(uid, attempts = n, error = %e, "message handling failed");
                if n < i64::from(POISON_ATTEMPTS) {
                    continue;
                }
                set_aside(
                    office,
                    &mut batch,
                    &key,
                    StaffReason::Unreadable,
                    &office.cfg.folders.failed,
                    now,
                )
                .await?;
                office.cfg.folders.failed.clone()
            }
        };
        to_file.push((uid, filing));
        keys.push(key);
    }
    lease_filing(office, &mut batch, &mailbox, uidvalidity, &to_file).await?;
    batch.commit().await?;
    drop(turn);
    committed.notify_one();
    file(office, session, &mut to_file, &mut keys).await?;
    Ok(())
}

/// Moves committed messages to their folders, one MOVE per folder, and
/// records them as filed. A folder the server refuses to make does not
/// stop the desk: its messages stay in the inbox, handled, and are filed
/// once the folder can be made (tried again at a slow pace).
pub(super) async fn file(
    office: &Office,
    session: &mut ImapSession,
    to_file: &mut Vec<(u32, String)>,
    keys: &mut Vec<ProcessedKey>,
) -> Result<(), DeskError> {
    let mut by_folder: std::collections::BTreeMap<String, Vec<u32>> = Default::default();
    for (uid, folder) in to_file.drain(..) {
        by_folder.entry(folder).or_default().push(uid);
    }
    let mut left: Vec<u32> = Vec::new();
    for (folder, uids) in by_folder {
        if !folder_due(office, &folder, Utc::now()) {
            left.extend(uids);
            continue;
        }
        let moved = if folder == crate::mail::imap::SENT_FOLDER_ALIAS {
            match session
                .sent_folder(office.cfg.folders.sent.as_deref())
                .await
            {
                Ok(_) => session.move_many(&uids, &folder).await,
                Err(e) => Err(e),
            }
        } else {
            session.move_many(&uids, &folder).await
        };
        match moved {
            Ok(()) => folder_works(office, &folder).await?,
            Err(e @ crate::mail::MailError::Folder { .. }) => {
                folder_refused(office, &folder, &e, Utc::now()).await?;
                left.extend(uids);
            }
            Err(e) => return Err(e.into()),
        }
    }
    let (kept, moved): (Vec<ProcessedKey>, Vec<ProcessedKey>) =
        keys.drain(..).partition(|k| left.contains(&k.uid));
    *keys = moved;
    release_filing(office, &kept).await?;
    mark_moved(office, keys).await
}

/// Gives up the filing lease of messages left in the inbox, so whichever
/// desk finds the folder working first files them.
async fn release_filing(office: &Office, kept: &[ProcessedKey]) -> Result<(), DeskError> {
    if kept.is_empty() {
        return Ok(());
    }
    let mut by_mailbox: std::collections::BTreeMap<(&str, u32), Vec<u32>> = Default::default();
    for key in kept {
        by_mailbox
            .entry((key.mailbox.as_str(), key.uidvalidity))
            .or_default()
            .push(key.uid);
    }
    let expired = Utc::now() - ChronoDuration::seconds(1);
    let _turn = office.store.turn().await;
    let mut tx = office.store.begin().await?;
    for ((mailbox, uidvalidity), uids) in by_mailbox {
        processed::lease_filing(&mut tx, mailbox, uidvalidity, &uids, &office.owner, expired)
            .await?;
    }
    tx.commit().await?;
    Ok(())
}

/// The configured name of a folder (the sent folder's alias shown as
/// its key's value or default).
fn folder_label<'a>(office: &'a Office, folder: &'a str) -> &'a str {
    if folder == crate::mail::imap::SENT_FOLDER_ALIAS {
        office
            .cfg
            .folders
            .sent
            .as_deref()
            .unwrap_or(crate::config::DEFAULT_SENT_FOLDER)
    } else {
        folder
    }
}

/// Whether filing into `folder` may be tried now (not while a refusal
/// waits out its backoff).
fn folder_due(office: &Office, folder: &str, now: DateTime<Utc>) -> bool {
    let troubles = office
        .mailbox
        .folder_troubles
        .lock()
        .unwrap_or_else(|p| p.into_inner());
    troubles.get(folder).is_none_or(|t| folders::due(t, now))
}

/// A refused folder: tried again after a growing pause; staff told
/// once (the note and the mark in one transaction), the mark shown by
/// `yoyaku status` and /metrics until the folder works.
async fn folder_refused(
    office: &Office,
    folder: &str,
    error: &crate::mail::MailError,
    now: DateTime<Utc>,
) -> Result<(), DeskError> {
    let label = folder_label(office, folder).to_string();
    let trouble = {
        let mut troubles = office
            .mailbox
            .folder_troubles
            .lock()
            .unwrap_or_else(|p| p.into_inner());
        let t = folders::refused(troubles.get(folder), now);
        troubles.insert(folder.to_string(), t.clone());
        t
    };
    warn!(
        folder = %label,
        failures = trouble.failures,
        retry_at = %trouble.next_try,
        error = %error,
        "imap folder refused; its mail stays in the inbox"
    );
    let key = folders::trouble_key(&label);
    let _turn = office.store.turn().await;
    let mut tx = office.store.begin().await?;
    if office::get_meta(&mut tx, &key).await?.is_none() {
        office::set_meta(&mut tx, &key, &format!("{}\t{error}", now.to_rfc3339())).await?;
        staff_note::notify_staff(
            office,
            &mut tx,
            None,
            StaffReason::FolderRefused,
            &error.to_string(),
            now,
        )
        .await?;
    }
    tx.commit().await?;
    Ok(())
}

/// A folder that took its mail: any refusal recorded for it is over.
async fn folder_works(office: &Office, folder: &str) -> Result<(), DeskError> {
    // The mark is looked for when this process saw a refusal, or sees
    // the folder work for the first time (a mark an earlier run left).
    let look = {
        let was_refused = office
            .mailbox
            .folder_troubles
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .remove(folder)
            .is_some();
        let first_success = office
            .mailbox
            .folders_working
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .insert(folder.to_string());
        was_refused || first_success
    };
    if look {
        let key = folders::trouble_key(folder_label(office, folder));
        let _turn = office.store.turn().await;
        let mut tx = office.store.begin().await?;
        if office::delete_meta(&mut tx, &key).await? {
            info!(folder = %folder_label(office, folder), "imap folder works again");
        }
        tx.commit().await?;
    }
    Ok(())
}

/// Records filed messages in one transaction (one disk sync per batch).
/// The mark is bookkeeping: a message not marked is found filed later.
pub(super) async fn mark_moved(
    office: &Office,
    keys: &mut Vec<ProcessedKey>,
) -> Result<(), DeskError> {
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
    let _turn = office.store.turn().await;
    let mut tx = office.store.begin().await?;
    for ((mailbox, uidvalidity), uids) in by_mailbox {
        processed::mark_moved_many(&mut tx, mailbox, uidvalidity, &uids).await?;
    }
    tx.commit().await?;
    keys.clear();
    Ok(())
}

/// Files a message for staff without reading it (too large, or it keeps
/// failing): a note to staff and the processed mark, in one transaction.
pub(super) async fn set_aside(
    office: &Office,
    tx: &mut Tx,
    key: &ProcessedKey,
    reason: StaffReason,
    folder: &str,
    now: DateTime<Utc>,
) -> Result<(), DeskError> {
    staff_note::notify_staff(office, tx, None, reason, "", now).await?;
    // No hash of content we did not read: a per-UID marker instead.
    let marker = format!(
        "{}:{}:{}:{}",
        reason.as_str(),
        key.mailbox,
        key.uidvalidity,
        key.uid
    );
    let record = processed::Record {
        key,
        message_id: None,
        raw_sha256: &marker,
        request_id: None,
        outcome: reason.as_str(),
        folder,
        now,
        sender: None,
    };
    processed::insert(tx, &record).await?;
    info!(
        uid = key.uid,
        reason = reason.as_str(),
        "message set aside for staff"
    );
    Ok(())
}

/// Handles one message inside `tx` (the batch's transaction); the caller
/// checked in the same transaction that its UID is not processed yet.
/// Returns where to file it and whether it was a duplicate.
pub(super) async fn handle_message(
    office: &Office,
    tx: &mut Tx,
    key: &ProcessedKey,
    raw: &[u8],
    now: DateTime<Utc>,
) -> Result<(Filing, bool), DeskError> {
    let hash = hex(&Sha256::digest(raw));
    // Our own copies are told by their headers; their bodies are not
    // decoded (a burst's mailbox is half copies, each with the terms).
    let head =
        message::from_names(raw, &office.cfg.from_address()).then(|| message::parse_head(raw));
    if let Some(id) = head.as_ref().and_then(|h| own_copy(office, h)) {
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
                    folder: folder(office, Filing::Sent),
                    now,
                    sender: None,
                },
            )
            .await?;
            return Ok((Filing::Sent, false));
        }
    }
    let inbound = message::parse(raw);
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
                folder: folder(office, Filing::Handled),
                now,
                sender: Some(inbound.from.as_str()).filter(|f| !f.is_empty()),
            },
        )
        .await?;
        return Ok((Filing::Handled, true));
    }
    let (filing, outcome, request_id) = decide::decide_and_apply(office, tx, &inbound, now).await?;
    processed::insert(
        tx,
        &processed::Record {
            key,
            message_id: inbound.message_id.as_deref(),
            raw_sha256: &hash,
            request_id,
            outcome,
            folder: folder(office, filing),
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
pub(super) fn own_copy<'m>(office: &Office, inbound: &'m Inbound) -> Option<&'m str> {
    let own = office.cfg.from_address();
    (inbound.parsed && inbound.from == own)
        .then_some(inbound.message_id.as_deref())
        .flatten()
}

pub(super) fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}
