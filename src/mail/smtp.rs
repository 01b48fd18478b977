//! The SMTP side: submission of the raw messages from the outbox, every step
//! under the configured time-out. A flush uses up to `smtp.connections`
//! connections ("lanes") side by side: one submission waits on four server
//! replies in turn, and a second connection fills those waits (measured on
//! the loopback Postfix, see BENCHMARKS.md). The envelope sender is our own
//! address so bounces come back to the office mailbox, where they are
//! recognised and noted for staff. Our own address is also a second
//! envelope recipient (a blind copy): the copy that arrives in the office
//! mailbox becomes the sent folder's copy, and it is the proof that the
//! server took the mail, which a crash between the server's answer and our
//! mark could not otherwise give (see `desk::sender::resolve_doubts`).
//!
//! Built on lettre's `AsyncSmtpConnection` rather than its transport so the
//! socket gets TCP_NODELAY: with Nagle on, each message waited ~40 ms for a
//! delayed ACK (measured: 45 ms per mail against 4 ms with it off).
//!
//! The connections belong to a `Relay`, one per SMTP server and account,
//! shared by every office of a process that submits through it (`Relays`):
//! hundreds of offices on one relay hold its few lanes, not a set each. The
//! envelope sender is each office's own. A relay's connections stay open
//! while any of its offices is flushing and close when the last one ends.

use super::smtp_summary;
use crate::config::{Security, Smtp as SmtpConfig};
use crate::mail::net::{connect_tcp, wrap_tls, Stream};
use crate::mail::MailError;
use lettre::transport::smtp::authentication::{Credentials, Mechanism};
use lettre::transport::smtp::client::{AsyncSmtpConnection, Certificate, TlsParameters};
use lettre::transport::smtp::commands::{Data, Mail, Rcpt};
use lettre::transport::smtp::extension::{ClientId, Extension, MailBodyParameter, MailParameter};
use lettre::Address;
use std::collections::HashMap;
use std::future::Future;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::Arc;
use tokio::sync::Mutex;
use tracing::warn;

/// One office's submissions: its envelope sender on a relay's connections.
pub struct SmtpSender {
    relay: Arc<Relay>,
    from: Address,
    /// Whether this office counts among the relay's flushing offices.
    flushing: AtomicBool,
}

/// The connections to one SMTP server with one account.
struct Relay {
    cfg: SmtpConfig,
    hello: ClientId,
    /// The open connection of each lane, if any.
    lanes: Vec<Mutex<Option<AsyncSmtpConnection>>>,
    /// Offices that sent since their last `close`: the last one to close
    /// ends the connections.
    flushing: AtomicUsize,
}

/// What makes two offices' SMTP settings one relay: the server, how we
/// reach it and the account (the envelope sender is per office).
#[derive(PartialEq, Eq, Hash)]
struct RelayKey {
    host: String,
    port: u16,
    security: Security,
    credentials: Option<(String, String)>,
    ca_pem: Option<Vec<u8>>,
}

impl RelayKey {
    fn of(cfg: &SmtpConfig) -> RelayKey {
        RelayKey {
            host: cfg.host.to_ascii_lowercase(),
            port: cfg.port,
            security: cfg.security,
            // An oauth2 login is an account too: the user and the app.
            credentials: cfg.credentials.clone().or_else(|| {
                cfg.oauth2
                    .as_ref()
                    .map(|(user, o)| (user.clone(), format!("oauth2 {}", o.client())))
            }),
            ca_pem: cfg.ca_pem.clone(),
        }
    }
}

/// The relays of a process, made once for all its offices: offices with
/// the same server and account share one relay, with as many lanes as the
/// largest `smtp.connections` among them.
pub struct Relays {
    by_key: HashMap<RelayKey, Arc<Relay>>,
}

impl Relays {
    pub fn for_offices<'a>(
        cfgs: impl IntoIterator<Item = &'a SmtpConfig>,
    ) -> Result<Relays, MailError> {
        let mut by_key: HashMap<RelayKey, SmtpConfig> = HashMap::new();
        for cfg in cfgs {
            let entry = by_key
                .entry(RelayKey::of(cfg))
                .or_insert_with(|| cfg.clone());
            entry.connections = entry.connections.max(cfg.connections);
            entry.timeout = entry.timeout.max(cfg.timeout);
        }
        let by_key = by_key
            .into_iter()
            .map(|(key, cfg)| Ok((key, Arc::new(Relay::new(cfg)?))))
            .collect::<Result<_, MailError>>()?;
        Ok(Relays { by_key })
    }

    /// How many relays (distinct servers and accounts) there are.
    pub fn len(&self) -> usize {
        self.by_key.len()
    }

    pub fn is_empty(&self) -> bool {
        self.by_key.is_empty()
    }

    /// The sender of an office whose settings were among `for_offices`';
    /// a relay of its own otherwise.
    pub fn sender(&self, cfg: &SmtpConfig) -> Result<SmtpSender, MailError> {
        match self.by_key.get(&RelayKey::of(cfg)) {
            Some(relay) => SmtpSender::on(relay.clone(), cfg),
            None => SmtpSender::new(cfg),
        }
    }
}

impl Relay {
    fn new(cfg: SmtpConfig) -> Result<Relay, MailError> {
        let relay = Relay {
            hello: hello_name(),
            lanes: (0..cfg.connections.max(1))
                .map(|_| Mutex::new(None))
                .collect(),
            flushing: AtomicUsize::new(0),
            cfg,
        };
        if relay.cfg.security == Security::StartTls {
            // Fail at start-up, not at the first mail, on a bad ca_file.
            relay.tls_parameters()?;
        }
        Ok(relay)
    }

    fn tls_parameters(&self) -> Result<TlsParameters, MailError> {
        let mut builder = TlsParameters::builder(self.cfg.host.clone());
        if let Some(pem) = &self.cfg.ca_pem {
            let cert = Certificate::from_pem(pem)
                .map_err(|e| MailError::SmtpSetup(format!("smtp.ca_file: {e}")))?;
            builder = builder.add_root_certificate(cert);
        }
        builder
            .build_rustls()
            .map_err(|e| MailError::SmtpSetup(e.to_string()))
    }

    async fn timed<T>(
        &self,
        what: &str,
        fut: impl Future<Output = Result<T, lettre::transport::smtp::Error>>,
    ) -> Result<T, MailError> {
        match tokio::time::timeout(self.cfg.timeout, fut).await {
            Ok(Ok(v)) => Ok(v),
            Ok(Err(source)) => Err(MailError::Smtp {
                outbox_id: 0,
                source,
            }),
            Err(_) => Err(MailError::Timeout {
                what: format!("smtp {what}"),
                secs: self.cfg.timeout.as_secs(),
            }),
        }
    }

    async fn connect(&self) -> Result<AsyncSmtpConnection, MailError> {
        let cfg = &self.cfg;
        let tcp = connect_tcp(&cfg.host, cfg.port, cfg.timeout, "smtp").await?;
        let stream = match cfg.security {
            Security::Tls => {
                tokio::time::timeout(cfg.timeout, wrap_tls(&cfg.host, tcp, cfg.ca_pem.as_deref()))
                    .await
                    .map_err(|_| MailError::Timeout {
                        what: "smtp tls handshake".into(),
                        secs: cfg.timeout.as_secs(),
                    })??
            }
            Security::None | Security::StartTls => Stream::Plain(tcp),
        };
        let mut conn = self
            .timed(
                "greeting",
                AsyncSmtpConnection::connect_with_transport(Box::new(stream), &self.hello),
            )
            .await?;
        if cfg.security == Security::StartTls {
            if !conn.can_starttls() {
                return Err(MailError::Protocol {
                    what: "smtp starttls".into(),
                    message: "the server does not offer STARTTLS".into(),
                });
            }
            let params = self.tls_parameters()?;
            self.timed("starttls", conn.starttls(params, &self.hello))
                .await?;
        }
        if let Some((user, oauth2)) = &cfg.oauth2 {
            self.xoauth2(&mut conn, user, oauth2).await?;
        } else if let Some((user, pass)) = &cfg.credentials {
            let creds = Credentials::new(user.clone(), pass.clone());
            self.timed(
                "login",
                conn.auth(&[Mechanism::Plain, Mechanism::Login], &creds),
            )
            .await?;
        }
        Ok(conn)
    }

    /// AUTH XOAUTH2 with the mailbox's token (lettre's mechanism cannot
    /// answer an error challenge); a refused token gets one fresh token
    /// and one more AUTH on the same connection (RFC 4954 allows it).
    async fn xoauth2(
        &self,
        conn: &mut AsyncSmtpConnection,
        user: &str,
        oauth2: &crate::config::OAuth2,
    ) -> Result<(), MailError> {
        use crate::mail::oauth;
        use base64::Engine;
        let b64 = base64::engine::general_purpose::STANDARD;
        let mut refused = String::new();
        for fresh in [false, true] {
            let token = oauth::token(oauth2, user, fresh).await?;
            let first = format!(
                "AUTH XOAUTH2 {}\r\n",
                b64.encode(oauth::xoauth2(user, &token))
            );
            let answer = match self.timed("login", conn.command(first)).await {
                // 334: Google's error challenge, base64 JSON; an empty line
                // answers it and the server ends with its 535.
                Ok(r) if r.has_code(334) => {
                    let said = r
                        .first_word()
                        .and_then(|w| b64.decode(w).ok())
                        .map(|d| oauth::challenge_words(&d))
                        .unwrap_or_default();
                    match self.timed("login", conn.command("\r\n")).await {
                        Ok(_) => return Ok(()),
                        Err(e) => Err((e, said)),
                    }
                }
                Ok(_) => return Ok(()),
                Err(e) => Err((e, String::new())),
            };
            match answer {
                Err((MailError::Smtp { source, .. }, said)) if source.status().is_some() => {
                    refused = format!(
                        "{}{}",
                        smtp_summary(&source),
                        if said.is_empty() {
                            String::new()
                        } else {
                            format!(" ({said})")
                        }
                    );
                }
                Err((e, _)) => return Err(e),
                Ok(()) => return Ok(()),
            }
        }
        Err(MailError::TokenRefused {
            service: "smtp",
            provider: oauth2.provider_name(),
            detail: refused,
            hint: oauth::login_hint(oauth2, "smtp"),
        })
    }

    /// Ends the open connections.
    async fn close(&self) {
        futures::future::join_all(self.lanes.iter().map(|slot| async move {
            let mut guard = slot.lock().await;
            // An office that started meanwhile keeps the connection.
            if self.flushing.load(Ordering::Acquire) > 0 {
                return;
            }
            if let Some(mut c) = guard.take() {
                let _ = tokio::time::timeout(self.cfg.timeout, c.quit()).await;
            }
        }))
        .await;
    }
}

impl SmtpSender {
    /// A sender on a relay of its own (one office, `check`, tests).
    pub fn new(cfg: &SmtpConfig) -> Result<SmtpSender, MailError> {
        SmtpSender::on(Arc::new(Relay::new(cfg.clone())?), cfg)
    }

    fn on(relay: Arc<Relay>, cfg: &SmtpConfig) -> Result<SmtpSender, MailError> {
        let from: Address = crate::config::bare_address(&cfg.from).parse().map_err(
            |e: lettre::address::AddressError| MailError::SmtpSetup(format!("smtp.from: {e}")),
        )?;
        Ok(SmtpSender {
            relay,
            from,
            flushing: AtomicBool::new(false),
        })
    }

    async fn timed<T>(
        &self,
        what: &str,
        fut: impl Future<Output = Result<T, lettre::transport::smtp::Error>>,
    ) -> Result<T, MailError> {
        self.relay.timed(what, fut).await
    }

    /// How many connections a flush may use side by side.
    pub fn lanes(&self) -> usize {
        self.relay.lanes.len()
    }

    /// Sends one raw message to `to` on the first lane.
    pub async fn send(&self, outbox_id: i64, to: &str, raw: &[u8]) -> Result<(), MailError> {
        let (_, sent) = self
            .send_on(0, outbox_id, to, raw, async { Ok::<(), ()>(()) })
            .await;
        sent.map_err(|f| f.error)
    }

    /// Sends one raw message to `to` on connection `lane` (`lane` is taken
    /// modulo `lanes()`). `outbox_id` names it in errors (never the
    /// address, which is personal data).
    ///
    /// `before_end` runs while the envelope (MAIL, RCPT, DATA) is being
    /// accepted, and the message's end of data is written only once it has
    /// succeeded: the sender passes the previous mail's sent mark, so at any
    /// moment at most one accepted mail per connection is unmarked, without
    /// waiting for the mark between submissions. Returns its outcome and the
    /// send's; a failed `before_end` means nothing was sent.
    pub async fn send_on<E>(
        &self,
        lane: usize,
        outbox_id: i64,
        to: &str,
        raw: &[u8],
        before_end: impl Future<Output = Result<(), E>>,
    ) -> (Result<(), E>, Result<(), SendFailure>) {
        if !self.flushing.swap(true, Ordering::AcqRel) {
            self.relay.flushing.fetch_add(1, Ordering::AcqRel);
        }
        let lanes = &self.relay.lanes;
        let Some(slot) = lanes.get(lane % lanes.len().max(1)) else {
            let gate = before_end.await;
            return (
                gate,
                Err(SendFailure::refused(MailError::SmtpSetup(
                    "smtp.connections: no connection".into(),
                ))),
            );
        };
        let mut guard = slot.lock().await;
        let (envelope, gate) =
            futures::join!(self.envelope(&mut guard, outbox_id, to, raw), before_end);
        if let Err(e) = envelope {
            return (gate, Err(SendFailure::refused(e)));
        }
        if gate.is_err() {
            // The previous mark failed: this one stays unsent for now.
            if let Some(mut c) = guard.take() {
                c.abort().await;
            }
            return (
                gate,
                Err(SendFailure::refused(MailError::Protocol {
                    what: "smtp send".into(),
                    message: format!("outbox {outbox_id}: held back, the previous mark failed"),
                })),
            );
        }
        let Some(conn) = guard.as_mut() else {
            return (gate, Err(SendFailure::refused(no_connection(outbox_id))));
        };
        let sent = self.timed("send", conn.message(raw)).await;
        if sent.is_err() {
            if let Some(mut c) = guard.take() {
                c.abort().await;
            }
        }
        let sent = sent.map(|_| ()).map_err(|e| {
            // Without the server's answer to the end of data, it may have
            // taken the mail: only its copy can tell.
            let answered =
                matches!(&e, MailError::Smtp { source, .. } if source.status().is_some());
            SendFailure {
                error: with_outbox(e, outbox_id),
                in_doubt: !answered,
            }
        });
        (gate, sent)
    }

    /// MAIL, RCPT and DATA for one message on the lane's connection,
    /// connecting when needed. A reused connection may have been closed by
    /// the server meanwhile: one fresh attempt before reporting a failure.
    async fn envelope(
        &self,
        guard: &mut Option<AsyncSmtpConnection>,
        outbox_id: i64,
        to: &str,
        raw: &[u8],
    ) -> Result<(), MailError> {
        let rcpt: Address = super::wire_address(to)
            .map_err(|e| MailError::SmtpSetup(format!("outbox {outbox_id}: bad recipient: {e}")))?;
        for attempt in 0..2 {
            let reused = guard.as_ref().is_some_and(|c| !c.has_broken());
            if !reused {
                *guard = Some(self.relay.connect().await?);
            }
            let Some(conn) = guard.as_mut() else { continue };
            let result = self
                .timed(
                    "send",
                    begin_transaction(conn, &self.from, &rcpt, raw, outbox_id),
                )
                .await;
            match result {
                Ok(()) => return Ok(()),
                Err(e) => {
                    // Never reuse a connection after a failed transaction.
                    if let Some(mut c) = guard.take() {
                        c.abort().await;
                    }
                    let server_answered =
                        matches!(&e, MailError::Smtp { source, .. } if source.status().is_some());
                    if !reused || server_answered || attempt == 1 {
                        return Err(with_outbox(e, outbox_id));
                    }
                }
            }
        }
        Err(no_connection(outbox_id))
    }

    /// The end of this office's flush: the relay's connections end when no
    /// other office sharing them is flushing.
    pub async fn close(&self) {
        if self.flushing.swap(false, Ordering::AcqRel)
            && self.relay.flushing.fetch_sub(1, Ordering::AcqRel) == 1
        {
            self.relay.close().await;
        }
    }

    /// Connects, greets, logs in and quits, for `yoyaku check`.
    pub async fn test(&self) -> Result<bool, MailError> {
        let mut conn = self.relay.connect().await?;
        let _ = tokio::time::timeout(self.relay.cfg.timeout, conn.quit()).await;
        Ok(true)
    }
}

/// MAIL (8BITMIME and SMTPUTF8 when needed, as lettre's own `send`), RCPT
/// (the recipient, then our own address for the copy) and DATA: everything
/// of a submission but the message itself.
async fn begin_transaction(
    conn: &mut AsyncSmtpConnection,
    from: &Address,
    rcpt: &Address,
    raw: &[u8],
    outbox_id: i64,
) -> Result<(), lettre::transport::smtp::Error> {
    let mut options = Vec::new();
    let info = conn.server_info();
    let ascii = |a: &Address| <Address as AsRef<str>>::as_ref(a).is_ascii();
    if (!ascii(rcpt) || !ascii(from)) && info.supports_feature(Extension::SmtpUtfEight) {
        options.push(MailParameter::SmtpUtfEight);
    }
    if !raw.is_ascii() && info.supports_feature(Extension::EightBitMime) {
        options.push(MailParameter::Body(MailBodyParameter::EightBitMime));
    }
    conn.command(Mail::new(Some(from.clone()), options)).await?;
    conn.command(Rcpt::new(rcpt.clone(), vec![])).await?;
    if rcpt != from {
        // A refused copy costs only the proof for this mail; a broken
        // connection ends the submission as any other step's would.
        if let Err(e) = conn.command(Rcpt::new(from.clone(), vec![])).await {
            if e.status().is_none() {
                return Err(e);
            }
            warn!(outbox = outbox_id, error = %crate::mail::smtp_summary(&e), "our own copy was refused");
        }
    }
    conn.command(Data).await?;
    Ok(())
}

/// A submission that failed, and whether the server may still have taken
/// the mail (the connection was lost or timed out after its end of data).
#[derive(Debug)]
pub struct SendFailure {
    pub error: MailError,
    pub in_doubt: bool,
}

impl SendFailure {
    fn refused(error: MailError) -> SendFailure {
        SendFailure {
            error,
            in_doubt: false,
        }
    }
}

fn with_outbox(e: MailError, outbox_id: i64) -> MailError {
    match e {
        MailError::Smtp { source, .. } => MailError::Smtp { outbox_id, source },
        other => other,
    }
}

fn no_connection(outbox_id: i64) -> MailError {
    MailError::Protocol {
        what: "smtp send".into(),
        message: format!("outbox {outbox_id}: no connection"),
    }
}

fn hello_name() -> ClientId {
    ClientId::default()
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    fn office(from: &str, host: &str, user: &str, connections: usize) -> SmtpConfig {
        SmtpConfig {
            host: host.into(),
            port: 587,
            security: Security::None,
            from: from.into(),
            credentials: Some((user.into(), "secret".into())),
            timeout: Duration::from_secs(10),
            connections,
            ca_pem: None,
            copy_wait: Duration::from_secs(60),
            oauth2: None,
        }
    }

    #[test]
    fn offices_on_one_server_and_account_share_one_relay_with_the_most_lanes() {
        let cfgs = [
            office("a@hw.example", "relay.example", "desk", 2),
            office("b@hw.example", "RELAY.example", "desk", 4),
            office("c@hw.example", "relay.example", "other", 1),
            office("d@hw.example", "elsewhere.example", "desk", 1),
        ];
        let relays = Relays::for_offices(&cfgs).expect("relays");
        assert_eq!(relays.len(), 3);
        let a = relays.sender(&cfgs[0]).expect("a");
        let b = relays.sender(&cfgs[1]).expect("b");
        let c = relays.sender(&cfgs[2]).expect("c");
        assert!(Arc::ptr_eq(&a.relay, &b.relay));
        assert!(!Arc::ptr_eq(&a.relay, &c.relay));
        assert_eq!(a.lanes(), 4);
        assert_eq!(c.lanes(), 1);
        // Each keeps its own envelope sender.
        assert_eq!(a.from.to_string(), "a@hw.example");
        assert_eq!(b.from.to_string(), "b@hw.example");
    }

    #[tokio::test]
    async fn the_last_office_to_end_its_flush_ends_the_connections() {
        let cfg = office("a@hw.example", "relay.example", "desk", 1);
        let relays = Relays::for_offices([&cfg]).expect("relays");
        let (a, b) = (
            relays.sender(&cfg).expect("a"),
            relays.sender(&cfg).expect("b"),
        );
        // Sending registers an office as flushing (the send itself fails:
        // nothing listens on relay.example here, which does not matter).
        for s in [&a, &b] {
            s.flushing.store(true, Ordering::Release);
            s.relay.flushing.fetch_add(1, Ordering::AcqRel);
        }
        a.close().await;
        assert_eq!(a.relay.flushing.load(Ordering::Acquire), 1);
        a.close().await; // twice is once
        assert_eq!(a.relay.flushing.load(Ordering::Acquire), 1);
        b.close().await;
        assert_eq!(b.relay.flushing.load(Ordering::Acquire), 0);
    }
}
