//! The IMAP side: one logged-in session on the office mailbox. Messages are
//! addressed by UID under the mailbox's UIDVALIDITY; every call runs under
//! the configured time-out. Folder names are encoded to modified UTF-7 here
//! and nowhere else.

use crate::config::{Imap as ImapConfig, Security, DEFAULT_SENT_FOLDER};
use crate::mail::net::{wrap_tls, Stream};
use crate::mail::utf7;
use crate::mail::MailError;

/// A folder name that stands for the sent folder once `sent_folder` has
/// looked it up in this session (as `\Sent` is no name a folder can have
/// here, it never collides with a configured one).
pub const SENT_FOLDER_ALIAS: &str = "\\Sent";
use async_imap::extensions::idle::IdleResponse;
use async_imap::Session;
use futures::TryStreamExt;
use std::future::Future;
use std::time::Duration;

pub struct ImapSession {
    session: Option<Session<Stream>>,
    timeout: Duration,
    can_move: bool,
    can_idle: bool,
    /// Folder name as configured → its name on the server (modified UTF-7,
    /// with the namespace prefix when the server needs one).
    known_folders: std::collections::HashMap<String, String>,
}

/// Runs `fut` under the time-out, naming `what` in the error.
async fn timed<T, E>(
    timeout: Duration,
    what: &str,
    fut: impl Future<Output = Result<T, E>>,
) -> Result<T, MailError>
where
    E: Into<async_imap::error::Error>,
{
    match tokio::time::timeout(timeout, fut).await {
        Ok(Ok(v)) => Ok(v),
        Ok(Err(e)) => Err(MailError::Imap {
            what: what.to_string(),
            source: e.into(),
        }),
        Err(_) => Err(MailError::Timeout {
            what: format!("imap {what}"),
            secs: timeout.as_secs(),
        }),
    }
}

impl ImapSession {
    pub async fn connect(cfg: &ImapConfig) -> Result<ImapSession, MailError> {
        let tcp = crate::mail::net::connect_tcp(&cfg.host, cfg.port, cfg.timeout, "imap").await?;
        let stream = match cfg.security {
            Security::Tls => {
                tokio::time::timeout(cfg.timeout, wrap_tls(&cfg.host, tcp, cfg.ca_pem.as_deref()))
                    .await
                    .map_err(|_| MailError::Timeout {
                        what: "imap tls handshake".into(),
                        secs: cfg.timeout.as_secs(),
                    })??
            }
            Security::None | Security::StartTls => Stream::Plain(tcp),
        };
        let mut client = async_imap::Client::new(stream);
        let greeting = tokio::time::timeout(cfg.timeout, client.read_response())
            .await
            .map_err(|_| MailError::Timeout {
                what: "imap greeting".into(),
                secs: cfg.timeout.as_secs(),
            })?;
        match greeting {
            Ok(Some(_)) => {}
            Ok(None) => return Err(MailError::Closed("greeting".into())),
            Err(e) => {
                return Err(MailError::Imap {
                    what: "greeting".into(),
                    source: e.into(),
                })
            }
        }
        if cfg.security == Security::StartTls {
            timed(
                cfg.timeout,
                "starttls",
                client.run_command_and_check_ok("STARTTLS", None),
            )
            .await?;
            let tcp = match client.into_inner() {
                Stream::Plain(t) => t,
                Stream::Tls(_) => {
                    return Err(MailError::Protocol {
                        what: "starttls".into(),
                        message: "already encrypted".into(),
                    })
                }
            };
            let tls =
                tokio::time::timeout(cfg.timeout, wrap_tls(&cfg.host, tcp, cfg.ca_pem.as_deref()))
                    .await
                    .map_err(|_| MailError::Timeout {
                        what: "imap starttls handshake".into(),
                        secs: cfg.timeout.as_secs(),
                    })??;
            client = async_imap::Client::new(tls);
        }
        let mut session =
            match tokio::time::timeout(cfg.timeout, client.login(&cfg.username, &cfg.password))
                .await
            {
                Ok(Ok(s)) => s,
                Ok(Err((e, _))) => {
                    return Err(MailError::Imap {
                        what: "login".into(),
                        source: e,
                    })
                }
                Err(_) => {
                    return Err(MailError::Timeout {
                        what: "imap login".into(),
                        secs: cfg.timeout.as_secs(),
                    })
                }
            };
        let caps = timed(cfg.timeout, "capability", session.capabilities()).await?;
        Ok(ImapSession {
            can_move: caps.has_str("MOVE"),
            can_idle: caps.has_str("IDLE"),
            session: Some(session),
            timeout: cfg.timeout,
            known_folders: Default::default(),
        })
    }

    fn s(&mut self) -> Result<&mut Session<Stream>, MailError> {
        self.session
            .as_mut()
            .ok_or_else(|| MailError::Closed("a previous failed idle".into()))
    }

    pub fn can_idle(&self) -> bool {
        self.can_idle
    }

    /// Selects `mailbox` and returns its UIDVALIDITY.
    pub async fn select(&mut self, mailbox: &str) -> Result<u32, MailError> {
        let t = self.timeout;
        let encoded = utf7::encode(mailbox);
        let mbox = timed(t, "select", self.s()?.select(&encoded)).await?;
        mbox.uid_validity.ok_or_else(|| MailError::Protocol {
            what: "select".into(),
            message: "server sent no UIDVALIDITY".into(),
        })
    }

    /// All UIDs in the selected mailbox, ascending.
    pub async fn uids(&mut self) -> Result<Vec<u32>, MailError> {
        let t = self.timeout;
        let set = timed(t, "uid search", self.s()?.uid_search("ALL")).await?;
        let mut uids: Vec<u32> = set.into_iter().collect();
        uids.sort_unstable();
        Ok(uids)
    }

    /// One UID FETCH of `query` for `uids`, collected.
    async fn fetch_set(
        &mut self,
        uids: &[u32],
        query: &str,
        t: Duration,
        what: &str,
    ) -> Result<Vec<async_imap::types::Fetch>, MailError> {
        let set = uid_set(uids);
        let session = self.s()?;
        timed(t, what, async {
            session
                .uid_fetch(&set, query)
                .await?
                .try_collect::<Vec<_>>()
                .await
        })
        .await
    }

    /// (uid, size) of every message in the selected mailbox.
    /// UIDs of the selected mailbox matching an IMAP SEARCH `criteria`
    /// (built by the caller from our own values, never from input).
    pub async fn search(&mut self, criteria: &str) -> Result<Vec<u32>, MailError> {
        let t = self.timeout;
        let set = timed(t, "uid search", self.s()?.uid_search(criteria)).await?;
        let mut uids: Vec<u32> = set.into_iter().collect();
        uids.sort_unstable();
        Ok(uids)
    }

    pub async fn sizes(&mut self, uids: &[u32]) -> Result<Vec<(u32, u32)>, MailError> {
        if uids.is_empty() {
            return Ok(Vec::new());
        }
        let t = self.timeout;
        let fetches = self
            .fetch_set(uids, "(UID RFC822.SIZE)", t, "fetch sizes")
            .await?;
        Ok(fetches
            .iter()
            .filter_map(|f| Some((f.uid?, f.size.unwrap_or(0))))
            .collect())
    }

    /// The raw message with `uid`, or None if it vanished meanwhile.
    pub async fn fetch(&mut self, uid: u32) -> Result<Option<Vec<u8>>, MailError> {
        Ok(self
            .fetch_many(&[uid])
            .await?
            .into_iter()
            .find(|(u, _)| *u == uid)
            .map(|(_, raw)| raw))
    }

    /// Creates `folder` unless it exists; returns its name on the server.
    /// Servers with a personal namespace under INBOX (Courier style,
    /// `INBOX.処理済`) are handled by retrying under that prefix.
    pub async fn ensure_folder(&mut self, folder: &str) -> Result<String, MailError> {
        if let Some(name) = self.known_folders.get(folder) {
            return Ok(name.clone());
        }
        let t = self.timeout;
        let encoded = utf7::encode(folder);
        let mut candidates = vec![encoded.clone()];
        if let Some(delim) = self.delimiter().await? {
            candidates.push(format!("INBOX{delim}{encoded}"));
        }
        let mut last_err = None;
        for name in candidates {
            let session = self.s()?;
            // CREATE fails when the folder exists; STATUS tells whether it is there.
            let _ = tokio::time::timeout(t, session.create(&name)).await;
            match timed(
                t,
                &format!("status of folder {name}"),
                session.status(&name, "(MESSAGES)"),
            )
            .await
            {
                Ok(_) => {
                    self.known_folders.insert(folder.to_string(), name.clone());
                    return Ok(name);
                }
                Err(e) => last_err = Some(e),
            }
        }
        Err(last_err.unwrap_or_else(|| MailError::Protocol {
            what: "create folder".into(),
            message: encoded,
        }))
    }

    /// LIST "" `pattern`.
    async fn list(&mut self, pattern: &str) -> Result<Vec<async_imap::types::Name>, MailError> {
        let t = self.timeout;
        let session = self.s()?;
        timed(t, "list", async {
            session
                .list(Some(""), Some(pattern))
                .await?
                .try_collect::<Vec<_>>()
                .await
        })
        .await
    }

    async fn delimiter(&mut self) -> Result<Option<String>, MailError> {
        let names = self.list("").await?;
        Ok(names.iter().find_map(|n| n.delimiter().map(str::to_string)))
    }

    /// The folder for copies of sent mail: the configured one, else the
    /// server's `\Sent` special-use folder, else [`DEFAULT_SENT_FOLDER`].
    pub async fn sent_folder(&mut self, configured: Option<&str>) -> Result<String, MailError> {
        const KEY: &str = SENT_FOLDER_ALIAS;
        if let Some(name) = configured {
            let name = self.ensure_folder(name).await?;
            self.known_folders.insert(KEY.to_string(), name.clone());
            return Ok(name);
        }
        if let Some(name) = self.known_folders.get(KEY) {
            return Ok(name.clone());
        }
        let names = self.list("*").await?;
        let special = names
            .iter()
            .find(|n| {
                n.attributes()
                    .iter()
                    .any(|a| matches!(a, async_imap::types::NameAttribute::Sent))
            })
            .map(|n| n.name().to_string());
        let name = match special {
            Some(n) => n,
            None => self.ensure_folder(DEFAULT_SENT_FOLDER).await?,
        };
        self.known_folders.insert(KEY.to_string(), name.clone());
        Ok(name)
    }

    /// Moves message `uid` of the selected mailbox into `folder`.
    /// Fetches whole messages in one command (the caller bounds the total
    /// size); messages gone meanwhile are simply absent.
    pub async fn fetch_many(&mut self, uids: &[u32]) -> Result<Vec<(u32, Vec<u8>)>, MailError> {
        if uids.is_empty() {
            return Ok(Vec::new());
        }
        // Whole messages may be large: four times the usual time-out.
        let t = self.timeout * 4;
        let fetches = self
            .fetch_set(uids, "(UID BODY.PEEK[])", t, "fetch messages")
            .await?;
        Ok(fetches
            .iter()
            .filter_map(|f| Some((f.uid?, f.body()?.to_vec())))
            .collect())
    }

    /// Moves several messages to one folder in one command.
    pub async fn move_many(&mut self, uids: &[u32], folder: &str) -> Result<(), MailError> {
        if uids.is_empty() {
            return Ok(());
        }
        self.move_to_set(&uid_set(uids), folder).await
    }

    /// Moves a message; one already gone (another desk on the same mailbox
    /// moved it first) counts as moved.
    pub async fn move_to(&mut self, uid: u32, folder: &str) -> Result<(), MailError> {
        self.move_to_set(&uid.to_string(), folder).await
    }

    async fn move_to_set(&mut self, set: &str, folder: &str) -> Result<(), MailError> {
        match self.move_to_inner(set, folder).await {
            Err(MailError::Imap {
                source: async_imap::error::Error::No(text),
                ..
            }) if text.contains("EXPUNGEISSUED") || text.contains("no longer exist") => Ok(()),
            other => other,
        }
    }

    async fn move_to_inner(&mut self, uid: &str, folder: &str) -> Result<(), MailError> {
        let encoded = self.ensure_folder(folder).await?;
        let t = self.timeout;
        let can_move = self.can_move;
        let session = self.s()?;
        if can_move {
            timed(
                t,
                &format!("move uid {uid}"),
                session.uid_mv(uid.to_string(), &encoded),
            )
            .await?;
        } else {
            timed(
                t,
                &format!("copy uid {uid}"),
                session.uid_copy(uid.to_string(), &encoded),
            )
            .await?;
            timed(t, &format!("expunge uid {uid}"), async {
                session
                    .uid_store(uid.to_string(), "+FLAGS.SILENT (\\Deleted)")
                    .await?
                    .try_collect::<Vec<_>>()
                    .await?;
                session
                    .uid_expunge(uid.to_string())
                    .await?
                    .try_collect::<Vec<_>>()
                    .await
            })
            .await?;
        }
        Ok(())
    }

    /// Appends a message we sent to the folder `server_name` (as returned by
    /// [`ImapSession::sent_folder`]), marked as seen.
    pub async fn append(&mut self, server_name: &str, raw: &[u8]) -> Result<(), MailError> {
        let t = self.timeout;
        timed(
            t,
            &format!("append to {server_name}"),
            self.s()?.append(server_name, Some("(\\Seen)"), None, raw),
        )
        .await
    }

    /// Waits in IDLE until the server reports a change or `max` passes.
    /// Returns true when there may be new mail.
    pub async fn idle(&mut self, max: Duration) -> Result<bool, MailError> {
        let session = self
            .session
            .take()
            .ok_or_else(|| MailError::Closed("idle".into()))?;
        let t = self.timeout;
        let mut handle = session.idle();
        timed(t, "idle start", handle.init()).await?;
        let (wait, _stop) = handle.wait_with_timeout(max);
        // The server's keepalives reset the wait; bound the whole thing too.
        let outcome = tokio::time::timeout(max + t, wait).await;
        let session = timed(t, "idle done", handle.done()).await?;
        self.session = Some(session);
        match outcome {
            Ok(Ok(IdleResponse::NewData(_))) => Ok(true),
            Ok(Ok(_)) => Ok(false),
            Ok(Err(e)) => Err(MailError::Imap {
                what: "idle".into(),
                source: e,
            }),
            Err(_) => Ok(false),
        }
    }

    /// Deletes a folder and everything in it (test harnesses recreate a
    /// mailbox to force a new UIDVALIDITY).
    pub async fn delete_folder(&mut self, folder: &str) -> Result<(), MailError> {
        let t = self.timeout;
        let name = utf7::encode(folder);
        self.known_folders.remove(folder);
        let session = self.s()?;
        timed(t, &format!("delete folder {name}"), session.delete(&name)).await?;
        Ok(())
    }

    pub async fn noop(&mut self) -> Result<(), MailError> {
        let t = self.timeout;
        timed(t, "noop", self.s()?.noop()).await
    }

    pub async fn logout(mut self) {
        if let Some(mut s) = self.session.take() {
            let _ = tokio::time::timeout(self.timeout, s.logout()).await;
        }
    }
}

/// "1,2,3" → a UID set; short and safe for any list.
fn uid_set(uids: &[u32]) -> String {
    uids.iter()
        .map(|u| u.to_string())
        .collect::<Vec<_>>()
        .join(",")
}
