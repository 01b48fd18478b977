//! The office handle: what every entry point holds of one office (the
//! desk's passes, timers and meeting jobs, the staff verbs and views, the
//! web pages): its validated config, the store scoped to it, the composer
//! of its mails, its SMTP relay and Zoom client, and what reading its
//! mailbox has learnt. The running loop (lease, IMAP session, IDLE) is
//! [`crate::desk::Desk`], which holds one.

use crate::config::Config;
use crate::core::folders::Trouble;
use crate::desk::error::{DeskError, StaffError};
use crate::mail::compose::Composer;
use crate::mail::smtp::SmtpSender;
use crate::meeting::zoom::ZoomClient;
use crate::store::{requests, Store};
use std::collections::{HashMap, HashSet};
use std::sync::atomic::AtomicU64;
use std::sync::Mutex;
use tracing::{info, warn};

pub struct Office {
    pub(crate) cfg: Config,
    /// The store, every query limited to this office.
    pub(crate) store: Store,
    pub(crate) composer: Composer,
    pub(crate) smtp: SmtpSender,
    pub(crate) room_ids: Vec<String>,
    /// Who holds this office's leases from this process: host, process and
    /// a random part, so two desks (or a staff verb beside a daemon) never
    /// take each other's.
    pub(crate) owner: String,
    /// The Zoom client when the office's provider is "zoom".
    pub(crate) zoom: Option<ZoomClient>,
    pub(crate) mailbox: MailboxState,
    /// The token state last written for `yoyaku status`.
    tokens_noted: Mutex<String>,
}

/// What reading the office's mailbox has learnt in this process.
#[derive(Default)]
pub(crate) struct MailboxState {
    /// UIDVALIDITY (high half) and the highest UID the last full reading
    /// of the inbox saw (low half).
    pub(crate) highest_uid_read: AtomicU64,
    /// Folders the server refused to make, by name as filed, and when to
    /// try each again.
    pub(crate) folder_troubles: Mutex<HashMap<String, Trouble>>,
    /// Folders that took mail in this process (a refusal mark an earlier
    /// run left is cleared the first time).
    pub(crate) folders_working: Mutex<HashSet<String>>,
}

impl Office {
    /// The office of `cfg` on the process's `store` (scoped here) and an
    /// SMTP sender (own or a shared relay's).
    pub async fn new(cfg: Config, store: &Store, smtp: SmtpSender) -> Result<Office, DeskError> {
        for key in &cfg.unknown_keys {
            warn!(office = %cfg.office_id, key = %key, "unknown config key ignored (a typo?)");
        }
        let store = store.for_office(&cfg.office_id);
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
        let room_ids = cfg.seats();
        let zoom = match &cfg.zoom {
            Some(z) => Some(ZoomClient::new(z).map_err(|e| StaffError::Invalid(e.to_string()))?),
            None => None,
        };
        Ok(Office {
            zoom,
            cfg,
            store,
            composer,
            smtp,
            room_ids,
            owner: lease_owner(),
            mailbox: MailboxState::default(),
            tokens_noted: Mutex::default(),
        })
    }

    /// The office of `cfg` on its own database and SMTP connection (a
    /// staff verb from the command line).
    pub async fn open(cfg: Config) -> Result<Office, DeskError> {
        let store = Store::open(&cfg.database_url).await?;
        let smtp = SmtpSender::new(&cfg.smtp)?;
        Office::new(cfg, &store, smtp).await
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

    /// Writes this process's view of the office's OAuth2 tokens where
    /// `yoyaku status` reads it (`oauth2_token:` metas), when it changed.
    pub(crate) async fn note_tokens(&self) {
        let logins = self.cfg.oauth2_logins();
        if logins.is_empty() {
            return;
        }
        let rows: Vec<(String, String)> = logins
            .iter()
            .map(|l| {
                let t = crate::mail::oauth::stats_of(&l.oauth2, &l.mailbox);
                let state = crate::core::tokens::TokenState {
                    provider: t.provider.to_string(),
                    expires_at: t.expires_at,
                    requests: t.requests,
                    failures: t.failures,
                    last_error: t.last_error,
                };
                (
                    format!("{}{}", crate::core::tokens::META_PREFIX, l.services),
                    state.to_meta(),
                )
            })
            .collect();
        let joined: String = rows.iter().map(|(k, v)| format!("{k}={v}\n")).collect();
        {
            let noted = self.tokens_noted.lock().unwrap_or_else(|p| p.into_inner());
            if *noted == joined {
                return;
            }
        }
        let write = async {
            let mut tx = self.store.begin().await?;
            for (key, value) in &rows {
                crate::store::office::set_meta(&mut tx, key, value).await?;
            }
            tx.commit().await
        };
        match write.await {
            Ok(()) => *self.tokens_noted.lock().unwrap_or_else(|p| p.into_inner()) = joined,
            Err(e) => warn!(error = %e, "token state not written for status"),
        }
    }
}

/// A lease owner name for this process: host, process id, a random part.
pub(crate) fn lease_owner() -> String {
    let host = std::fs::read_to_string("/proc/sys/kernel/hostname")
        .map(|h| h.trim().to_string())
        .unwrap_or_default();
    format!(
        "{host}:{}:{:08x}",
        std::process::id(),
        rand::random::<u32>()
    )
}
