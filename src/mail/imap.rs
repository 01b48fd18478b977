//! The IMAP side: one logged-in session on the office mailbox. Messages are
//! addressed by UID under the mailbox's UIDVALIDITY; every call runs under
//! the configured time-out. Folder names are encoded to modified UTF-7 here
//! and nowhere else.

use crate::config::{Imap as ImapConfig, Security, DEFAULT_SENT_FOLDER};
use crate::core::folders::{self, Layout};
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

/// The folders of one server as this session found them.
#[derive(Debug, Clone)]
pub struct ServerFolders {
    pub layout: Layout,
    /// The folder the server marks `\Sent` (RFC 6154), decoded.
    pub special_sent: Option<String>,
}

pub struct ImapSession {
    session: Option<Session<Stream>>,
    timeout: Duration,
    can_move: bool,
    can_idle: bool,
    /// UID EXPUNGE (RFC 4315); without it a move is COPY + \Deleted +
    /// EXPUNGE.
    can_uidplus: bool,
    can_namespace: bool,
    /// What the server said of its folders, asked once per session.
    layout: Option<ServerFolders>,
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

enum LoginError {
    Imap(async_imap::error::Error),
    Mail(MailError),
}

/// The XOAUTH2 exchange: the initial response on the server's first
/// continuation; an error challenge (base64 JSON) kept and answered with an
/// empty line, as the mechanism asks, so the server ends with its NO.
struct XOAuth2 {
    response: String,
    sent: bool,
    challenge: std::sync::Arc<std::sync::Mutex<Option<String>>>,
}

impl async_imap::Authenticator for XOAuth2 {
    type Response = String;

    fn process(&mut self, challenge: &[u8]) -> String {
        if !self.sent {
            self.sent = true;
            return self.response.clone();
        }
        if let Ok(mut kept) = self.challenge.lock() {
            *kept = Some(crate::mail::oauth::challenge_words(challenge));
        }
        String::new()
    }
}

/// Logs in with a token; a refused one gets one fresh token and one more
/// try on the same connection.
async fn xoauth2_login(
    mut client: async_imap::Client<Stream>,
    user: &str,
    oauth2: &crate::config::OAuth2,
) -> Result<Session<Stream>, LoginError> {
    use crate::mail::oauth;
    let mut refused = String::new();
    for fresh in [false, true] {
        let token = oauth::token(oauth2, user, fresh)
            .await
            .map_err(|e| LoginError::Mail(e.into()))?;
        let challenge = std::sync::Arc::new(std::sync::Mutex::new(None));
        let auth = XOAuth2 {
            response: oauth::xoauth2(user, &token),
            sent: false,
            challenge: challenge.clone(),
        };
        match client.authenticate("XOAUTH2", auth).await {
            Ok(session) => return Ok(session),
            Err((e, back)) => {
                let said = challenge.lock().ok().and_then(|c| c.clone());
                refused = match (e, said) {
                    (async_imap::error::Error::No(text), Some(said)) => format!("{text} ({said})"),
                    (async_imap::error::Error::No(text), None) => text,
                    // Not a refusal of the token: report it as it is.
                    (e, _) => return Err(LoginError::Imap(e)),
                };
                client = back;
            }
        }
    }
    Err(LoginError::Mail(MailError::TokenRefused {
        service: "imap",
        provider: oauth2.provider_name(),
        detail: crate::core::text::single_line(&refused, 200),
        hint: oauth::login_hint(oauth2, "imap"),
    }))
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
        let login = async {
            match &cfg.oauth2 {
                Some(oauth2) => xoauth2_login(client, &cfg.username, oauth2).await,
                None => client
                    .login(&cfg.username, &cfg.password)
                    .await
                    .map_err(|(e, _)| LoginError::Imap(e)),
            }
        };
        // A token request and two attempts fit in an oauth2 login.
        let limit = if cfg.oauth2.is_some() {
            cfg.timeout * 3
        } else {
            cfg.timeout
        };
        let mut session = match tokio::time::timeout(limit, login).await {
            Ok(Ok(s)) => s,
            Ok(Err(LoginError::Imap(e))) => {
                return Err(MailError::Imap {
                    what: "login".into(),
                    source: e,
                })
            }
            Ok(Err(LoginError::Mail(e))) => return Err(e),
            Err(_) => {
                return Err(MailError::Timeout {
                    what: "imap login".into(),
                    secs: limit.as_secs(),
                })
            }
        };
        let caps = timed(cfg.timeout, "capability", session.capabilities()).await?;
        Ok(ImapSession {
            can_move: caps.has_str("MOVE"),
            can_idle: caps.has_str("IDLE"),
            can_uidplus: caps.has_str("UIDPLUS"),
            can_namespace: caps.has_str("NAMESPACE"),
            layout: None,
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

    /// What the server offers that the desk uses, for `yoyaku check`.
    pub fn summary(&self) -> String {
        let yes = |b: bool| if b { "yes" } else { "no" };
        let mut out = format!(
            "MOVE {}, UIDPLUS {}, NAMESPACE {}",
            yes(self.can_move),
            yes(self.can_uidplus),
            yes(self.can_namespace)
        );
        if let Some(f) = &self.layout {
            if let Some(p) = &f.layout.personal_prefix {
                out.push_str(&format!(", personal prefix {p:?}"));
            }
            if let Some(d) = f.layout.delimiter {
                out.push_str(&format!(", delimiter {d:?}"));
            }
        }
        out
    }

    /// Selects `mailbox` and returns its UIDVALIDITY. Sent on the stream
    /// by hand: async-imap takes an untagged NO in the answer for a failed
    /// SELECT and leaves the rest unread, and Cyrus sends one
    /// (`* NO [ALERT] Mailbox is at 90% of quota`) as a mere warning.
    pub async fn select(&mut self, mailbox: &str) -> Result<u32, MailError> {
        let encoded = utf7::encode(mailbox);
        let lines = self
            .raw_command("select", &format!("SELECT {}", quote(&encoded)))
            .await?;
        lines
            .iter()
            .find_map(|l| uid_validity(l))
            .ok_or_else(|| MailError::Protocol {
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

    /// What this server says of its folders: the personal namespace, the
    /// delimiter, every folder with its special use; asked once per session.
    pub async fn folders(&mut self) -> Result<&ServerFolders, MailError> {
        if self.layout.is_none() {
            let namespace = if self.can_namespace {
                self.raw_command("namespace", "NAMESPACE")
                    .await?
                    .iter()
                    .find_map(|line| folders::parse_namespace(line))
            } else {
                None
            };
            let delimiter = match &namespace {
                Some((_, Some(d))) => Some(*d),
                _ => self
                    .list("\"\"")
                    .await?
                    .iter()
                    .find_map(|n| n.delimiter().and_then(|d| d.chars().next())),
            };
            let names = self.list("*").await?;
            let sent = names
                .iter()
                .find(|n| {
                    n.attributes()
                        .iter()
                        .any(|a| matches!(a, async_imap::types::NameAttribute::Sent))
                })
                .map(|n| utf7::decode(n.name()));
            self.layout = Some(ServerFolders {
                layout: Layout {
                    personal_prefix: namespace.map(|(p, _)| utf7::decode(&p)),
                    delimiter,
                    existing: names.iter().map(|n| utf7::decode(n.name())).collect(),
                },
                special_sent: sent,
            });
        }
        self.layout.as_ref().ok_or_else(|| MailError::Protocol {
            what: "list".into(),
            message: "no folder list".into(),
        })
    }

    /// Finds `folder` (as configured) on the server, creating it where the
    /// server's namespace puts it when it is missing ([`folders::place`]);
    /// returns its name on the server. A folder the server will not make
    /// is a [`MailError::Folder`] carrying the server's own words.
    pub async fn ensure_folder(&mut self, folder: &str) -> Result<String, MailError> {
        if let Some(name) = self.known_folders.get(folder) {
            return Ok(name.clone());
        }
        let layout = self.folders().await?.layout.clone();
        let placement = folders::place(folder, &layout);
        if let Some(found) = placement.existing {
            let name = utf7::encode(&found);
            self.known_folders.insert(folder.to_string(), name.clone());
            return Ok(name);
        }
        let t = self.timeout;
        let mut refusals: Vec<String> = Vec::new();
        for candidate in &placement.to_create {
            let name = utf7::encode(candidate);
            let created = match tokio::time::timeout(t, self.s()?.create(&name)).await {
                Ok(Ok(())) => true,
                Ok(Err(async_imap::error::Error::No(text)))
                | Ok(Err(async_imap::error::Error::Bad(text))) => {
                    // Made meanwhile by another desk, or the server says so.
                    text.contains("ALREADYEXISTS") || self.exists(&name).await? || {
                        refusals.push(format!("{candidate}: {}", text.trim()));
                        false
                    }
                }
                Ok(Err(e)) => {
                    return Err(MailError::Imap {
                        what: format!("create folder {name}"),
                        source: e,
                    })
                }
                Err(_) => {
                    return Err(MailError::Timeout {
                        what: format!("imap create folder {name}"),
                        secs: t.as_secs(),
                    })
                }
            };
            if created {
                if let Some(l) = self.layout.as_mut() {
                    l.layout.existing.push(candidate.clone());
                }
                self.known_folders.insert(folder.to_string(), name.clone());
                return Ok(name);
            }
        }
        Err(MailError::Folder {
            folder: folder.to_string(),
            server: refusals.join("; "),
            suggestion: folders::suggested_name(folder, &layout),
        })
    }

    /// Whether the server lists exactly `name` (encoded).
    async fn exists(&mut self, name: &str) -> Result<bool, MailError> {
        let listed = self.list(&quote(name)).await?;
        Ok(listed.iter().any(|n| n.name() == name))
    }

    /// LIST "" `pattern` (`pattern` as it goes on the wire: quoted, or `*`).
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

    /// A command async-imap has no parser for (NAMESPACE), written and read
    /// on the session's stream between two of its commands: returns the
    /// untagged lines; a NO or BAD is an error with the server's text.
    async fn raw_command(&mut self, what: &str, command: &str) -> Result<Vec<String>, MailError> {
        use tokio::io::{AsyncReadExt, AsyncWriteExt};
        const TAG: &str = "YOYAKU0";
        const MAX: usize = 256 * 1024;
        let t = self.timeout;
        let stream: &mut Stream = self.s()?.as_mut();
        let exchange = async {
            stream
                .write_all(format!("{TAG} {command}\r\n").as_bytes())
                .await?;
            stream.flush().await?;
            let mut buf: Vec<u8> = Vec::new();
            let mut chunk = [0u8; 4096];
            loop {
                let n = stream.read(&mut chunk).await?;
                if n == 0 {
                    return Err(std::io::Error::from(std::io::ErrorKind::UnexpectedEof));
                }
                buf.extend_from_slice(&chunk[..n]);
                let text = String::from_utf8_lossy(&buf);
                let done = text.ends_with("\r\n")
                    && text.lines().any(|l| l.starts_with(&format!("{TAG} ")));
                if done {
                    return Ok(text.lines().map(str::to_string).collect::<Vec<_>>());
                }
                if buf.len() > MAX {
                    return Err(std::io::Error::other("answer too long"));
                }
            }
        };
        let lines = match tokio::time::timeout(t, exchange).await {
            Ok(Ok(lines)) => lines,
            Ok(Err(e)) => {
                return Err(MailError::Imap {
                    what: what.to_string(),
                    source: e.into(),
                })
            }
            Err(_) => {
                return Err(MailError::Timeout {
                    what: format!("imap {what}"),
                    secs: t.as_secs(),
                })
            }
        };
        let (tagged, untagged): (Vec<String>, Vec<String>) = lines
            .into_iter()
            .partition(|l| l.starts_with(&format!("{TAG} ")));
        let status = tagged.first().map(|l| l[TAG.len() + 1..].to_string());
        match status {
            Some(s) if s.get(..2).is_some_and(|w| w.eq_ignore_ascii_case("OK")) => Ok(untagged),
            Some(s) => Err(MailError::Imap {
                what: what.to_string(),
                source: if s.get(..2).is_some_and(|w| w.eq_ignore_ascii_case("NO")) {
                    async_imap::error::Error::No(s)
                } else {
                    async_imap::error::Error::Bad(s)
                },
            }),
            None => Err(MailError::Closed(what.to_string())),
        }
    }

    /// The folder for copies of sent mail: the configured one, else the
    /// server's `\Sent` special-use folder, else [`DEFAULT_SENT_FOLDER`].
    pub async fn sent_folder(&mut self, configured: Option<&str>) -> Result<String, MailError> {
        const KEY: &str = SENT_FOLDER_ALIAS;
        if let Some(name) = self.known_folders.get(KEY) {
            return Ok(name.clone());
        }
        let name = match configured {
            Some(name) => self.ensure_folder(name).await?,
            None => match self.folders().await?.special_sent.clone() {
                Some(special) => utf7::encode(&special),
                None => self.ensure_folder(DEFAULT_SENT_FOLDER).await?,
            },
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
        let can_uidplus = self.can_uidplus;
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
                if can_uidplus {
                    session
                        .uid_expunge(uid.to_string())
                        .await?
                        .try_collect::<Vec<_>>()
                        .await?;
                } else {
                    // Without UIDPLUS the whole mailbox's \Deleted mail
                    // goes: RFC 3501 offers nothing narrower.
                    session.expunge().await?.try_collect::<Vec<_>>().await?;
                }
                Ok::<(), async_imap::error::Error>(())
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
        if let Some(f) = self.layout.as_mut() {
            f.layout.existing.retain(|e| e != folder);
        }
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

/// The UIDVALIDITY of a `* OK [UIDVALIDITY n]` line.
fn uid_validity(line: &str) -> Option<u32> {
    let upper = line.to_ascii_uppercase();
    let at = upper.find("[UIDVALIDITY ")? + "[UIDVALIDITY ".len();
    let digits: String = line[at..]
        .chars()
        .take_while(|c| c.is_ascii_digit())
        .collect();
    digits.parse().ok()
}

/// `name` as an IMAP quoted string.
fn quote(name: &str) -> String {
    format!("\"{}\"", name.replace('\\', "\\\\").replace('"', "\\\""))
}

/// "1,2,3" → a UID set; short and safe for any list.
fn uid_set(uids: &[u32]) -> String {
    uids.iter()
        .map(|u| u.to_string())
        .collect::<Vec<_>>()
        .join(",")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn uid_validity_is_read_from_its_response_code() {
        assert_eq!(
            uid_validity("* OK [UIDVALIDITY 1796398466] Ok"),
            Some(1796398466)
        );
        assert_eq!(uid_validity("* ok [uidvalidity 7]"), Some(7));
        assert_eq!(
            uid_validity("* NO [ALERT] Mailbox is at 100% of quota"),
            None
        );
        assert_eq!(uid_validity("* OK [UIDVALIDITY x]"), None);
    }

    #[test]
    fn names_are_quoted_with_escapes() {
        assert_eq!(quote("INBOX.&UeZ0Bm4I-"), "\"INBOX.&UeZ0Bm4I-\"");
        assert_eq!(quote(r#"a"b\c"#), r#""a\"b\\c""#);
    }
}
