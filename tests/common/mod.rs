//! Shared test harness: the real loopback Dovecot + Postfix of
//! `scripts/mailstack.sh`, a desk with its own mailbox and database per
//! test, seekers with their own mailboxes, and helpers to send real mail
//! over SMTP and read what arrives over IMAP.
#![allow(dead_code)]

use base64::Engine;
use chrono::{DateTime, TimeZone, Utc};
use std::path::PathBuf;
use std::sync::Once;
use std::time::{Duration, Instant};
use yoyaku::config::{Config, Imap, Security};
use yoyaku::desk::Desk;
use yoyaku::mail::imap::ImapSession;
use yoyaku::mail::message::{self, Inbound};

pub const IMAP_PORT: u16 = 1143;
pub const SMTP_PORT: u16 = 2525;
pub const DOMAIN: &str = "yoyaku.test";
pub const PASSWORD: &str = "test-password";

static STACK: Once = Once::new();

/// Starts the mail stack once per test binary (installing it if missing).
pub fn ensure_mailstack() {
    STACK.call_once(|| {
        let script = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("scripts/mailstack.sh");
        let status = std::process::Command::new("bash")
            .arg(script)
            .arg("start")
            .status()
            .expect("run scripts/mailstack.sh");
        assert!(status.success(), "scripts/mailstack.sh start failed");
    });
}

static CYRUS: Once = Once::new();

/// The domain whose mail Postfix hands to the Cyrus IMAP of
/// scripts/cyrusstack.sh.
pub const CYRUS_DOMAIN: &str = "cyrus.test";
pub const CYRUS_IMAP_PORT: u16 = 3143;

/// Starts the Cyrus IMAP once per test binary (installing it if missing).
pub fn ensure_cyrus() {
    CYRUS.call_once(|| {
        let script = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("scripts/cyrusstack.sh");
        let status = std::process::Command::new("bash")
            .arg(script)
            .arg("start")
            .status()
            .expect("run scripts/cyrusstack.sh");
        assert!(status.success(), "scripts/cyrusstack.sh start failed");
    });
}

pub fn add_user(address: &str) {
    let script = if address.ends_with(&format!("@{CYRUS_DOMAIN}")) {
        ensure_cyrus();
        PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("scripts/cyrusstack.sh")
    } else {
        PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("scripts/mailstack.sh")
    };
    let status = std::process::Command::new("bash")
        .arg(script)
        .args(["adduser", address, PASSWORD])
        .status()
        .expect("adduser");
    assert!(status.success());
}

pub fn unique(prefix: &str) -> String {
    unique_in(prefix, DOMAIN)
}

pub fn unique_in(prefix: &str, domain: &str) -> String {
    let n: u64 = rand_u64();
    format!("{prefix}-{n:x}@{domain}")
}

pub fn rand_u64() -> u64 {
    use std::hash::{BuildHasher, Hasher};
    let mut h = std::collections::hash_map::RandomState::new().build_hasher();
    h.write_u128(Instant::now().elapsed().as_nanos() ^ std::process::id() as u128);
    h.write_u64(Utc::now().timestamp_nanos_opt().unwrap_or(0) as u64);
    h.finish()
}

/// 2026-11-25 (Wed) at `h:m` Japan time.
pub fn jst(y: i32, mo: u32, d: u32, h: u32, mi: u32) -> DateTime<Utc> {
    chrono_tz::Asia::Tokyo
        .with_ymd_and_hms(y, mo, d, h, mi, 0)
        .single()
        .expect("valid time")
        .with_timezone(&Utc)
}

/// `h:m` Japan time on day `d`.
pub fn jst_on(d: chrono::NaiveDate, h: u32, mi: u32) -> DateTime<Utc> {
    use chrono::Datelike;
    jst(d.year(), d.month(), d.day(), h, mi)
}

/// The first business day at least `days` after `now` (office time): for
/// tests of `yoyaku run`, which decides on the real clock.
pub fn business_day_ahead(
    cal: &yoyaku::core::calendar::Calendar,
    now: DateTime<Utc>,
    days: i64,
) -> chrono::NaiveDate {
    let mut d = now.with_timezone(&cal.tz).date_naive() + chrono::Duration::days(days);
    while !cal.is_business_day(d) {
        d += chrono::Duration::days(1);
    }
    d
}

/// A wish `M月D日 HH:MM` on a business day `days` ahead of the real clock.
pub fn wish_ahead(desk: &TestDesk, days: i64, time: &str) -> String {
    wish_on(
        business_day_ahead(&desk.desk.office().config().calendar, Utc::now(), days),
        time,
    )
}

/// A wish `YYYY年M月D日 HH:MM` on `d`.
pub fn wish_on(d: chrono::NaiveDate, time: &str) -> String {
    format!(
        "{}年{}月{}日 {time}",
        d.format("%Y"),
        d.format("%-m"),
        d.format("%-d")
    )
}

pub struct TestDesk {
    pub desk: Desk,
    pub address: String,
    pub staff: String,
    pub dir: tempfile::TempDir,
    pub config_path: PathBuf,
    /// The desk's database (`sqlite://…` or `postgres://…`).
    pub db_url: String,
}

pub struct Options {
    pub rooms: usize,
    pub extra: String,
    /// (imap security, imap port, smtp security, smtp port) with the test CA.
    pub tls: Option<(&'static str, u16, &'static str, u16)>,
    /// The daily staff digest (off unless a test is about it: it would
    /// land among the staff notes other tests count).
    pub digest: bool,
    /// The mailbox the desk reads (default INBOX).
    pub mailbox: Option<String>,
    /// (per sender, per 求職番号) daily limits; tests reuse one 求職番号 for
    /// many seekers, so the default here is generous.
    pub limits: (u32, u32),
    /// SQLite even when the suite runs on PostgreSQL (a test of moving an
    /// SQLite deployment).
    pub sqlite: bool,
    /// The IMAP server the desk's mailbox is on.
    pub server: Server,
    /// An `[oauth2]` body: the desk logs in to IMAP and to Postfix's
    /// submission port (SASL by Dovecot) with tokens, no password.
    pub oauth2: Option<String>,
}

/// The IMAP servers of the loopback stack.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Server {
    /// Dovecot as scripts/mailstack.sh runs it (MOVE, IDLE, NAMESPACE …).
    #[default]
    Dovecot,
    /// The same Dovecot on 127.0.0.2, announcing none of MOVE, IDLE,
    /// NAMESPACE, UIDPLUS, SPECIAL-USE.
    DovecotLean,
    /// Cyrus IMAP 3.6 as Debian configures it (folders under `INBOX.`).
    Cyrus,
}

impl Default for Options {
    fn default() -> Self {
        Options {
            rooms: 1,
            extra: String::new(),
            tls: None,
            digest: false,
            mailbox: None,
            limits: (1000, 1000),
            sqlite: false,
            server: Server::Dovecot,
            oauth2: None,
        }
    }
}

/// The private CA of the loopback mail stack.
pub fn test_ca() -> PathBuf {
    let dir =
        std::env::var("YOYAKU_MAILSTACK_DIR").unwrap_or_else(|_| "/tmp/yoyaku-mailstack".into());
    PathBuf::from(dir).join("tls/ca.pem")
}

/// The database a test desk uses: an SQLite file in `dir`, or, when
/// `YOYAKU_TEST_DATABASE_URL` names a PostgreSQL server (scripts/test.sh runs
/// the suite a second time so), a fresh database of its own there.
pub async fn test_database_url(dir: &std::path::Path) -> String {
    match std::env::var("YOYAKU_TEST_DATABASE_URL") {
        Ok(server) if server.starts_with("postgres") => {
            use sqlx::Connection;
            let name = unique("yoyaku").replace(['@', '.', '-'], "_");
            let name: String = name.chars().take(60).collect();
            let mut admin = sqlx::PgConnection::connect(&server)
                .await
                .expect("the test PostgreSQL server answers");
            sqlx::raw_sql(sqlx::AssertSqlSafe(format!("CREATE DATABASE {name}")))
                .execute(&mut admin)
                .await
                .expect("create test database");
            let base = server.rsplit_once('/').map_or(server.as_str(), |(b, _)| b);
            format!("{base}/{name}")
        }
        _ => format!("sqlite://{}", dir.join("yoyaku.db").display()),
    }
}

pub fn config_text(address: &str, staff: &str, db_url: &str, opts: &Options) -> String {
    let tls = opts.tls.unwrap_or(("none", IMAP_PORT, "none", SMTP_PORT));
    let (imap_host, imap_port) = match opts.server {
        Server::Dovecot => ("127.0.0.1", tls.1),
        Server::DovecotLean => ("127.0.0.2", tls.1),
        Server::Cyrus => ("127.0.0.1", CYRUS_IMAP_PORT),
    };
    let ca = if opts.tls.is_some() {
        format!("ca_file = \"{}\"", test_ca().display())
    } else {
        String::new()
    };
    let rooms: String = (0..opts.rooms)
        .map(|i| format!("[[meeting.rooms]]\nid = \"81{i} 0000 000{i}\"\npasscode = \"pass{i}word\"\nurl = \"https://zoom.example/j/81{i}\"\n"))
        .collect();
    let text = format!(
        r#"
[office]
name = "ハローワーク出雲"
phone = "0853-21-8609"
staff_address = "{staff}"
timezone = "Asia/Tokyo"

[imap]
host = "{imap_host}"
port = {imap_port}
security = "{imap_sec}"
{ca}
username = "{address}"
password = "{PASSWORD}"
poll_seconds = 1
timeout_seconds = 10
mailbox = "{mailbox}"

[smtp]
host = "127.0.0.1"
port = {smtp_port}
security = "{smtp_sec}"
{ca}
from = "ハローワーク出雲 <{address}>"
timeout_seconds = 10

[database]
url = "{db_url}"

{rooms}
{digest}
# Short office leases: a daemon restarted after a SIGKILL serves the office
# again 3 s later instead of 30.
[daemon]
lease_seconds = 3

[limits]
per_sender_per_day = {per_sender}
per_seeker_per_day = {per_seeker}
{extra}
"#,
        per_sender = opts.limits.0,
        per_seeker = opts.limits.1,
        extra = opts.extra,
        mailbox = opts.mailbox.as_deref().unwrap_or("INBOX"),
        digest = if opts.digest {
            "[digest]\ntime = \"08:30\""
        } else {
            "[digest]\nenabled = false"
        },
        imap_sec = tls.0,
        smtp_sec = tls.2,
        smtp_port = tls.3,
        ca = ca,
    );
    match &opts.oauth2 {
        None => text,
        Some(oauth2) => {
            let submission =
                std::env::var("YOYAKU_SUBMISSION_PORT").unwrap_or_else(|_| "2587".into());
            let smtp_from = text.find("[smtp]").expect("smtp section");
            let from_line = text[smtp_from..].find("from = ").expect("from") + smtp_from;
            format!(
                "{}[smtp]\nhost = \"127.0.0.1\"\nport = {submission}\nsecurity = \"starttls\"\nca_file = \"{}\"\nauth = \"oauth2\"\n{}\n[oauth2]\n{oauth2}\n",
                &text[..smtp_from],
                test_ca().display(),
                &text[from_line..],
            )
            .replace(&format!("password = \"{PASSWORD}\""), "auth = \"oauth2\"")
        }
    }
}

impl TestDesk {
    pub async fn new() -> TestDesk {
        Self::with(Options::default()).await
    }

    pub async fn with(opts: Options) -> TestDesk {
        if std::env::var_os("YOYAKU_TEST_LOG").is_some() {
            let _ = tracing_subscriber::fmt()
                .with_test_writer()
                .with_env_filter("debug")
                .try_init();
        }
        ensure_mailstack();
        let address = match opts.server {
            Server::Cyrus => unique_in("desk", CYRUS_DOMAIN),
            _ => unique("desk"),
        };
        let staff = unique("staff");
        add_user(&address);
        add_user(&staff);
        let dir = tempfile::tempdir().expect("tempdir");
        let db_url = if opts.sqlite {
            format!("sqlite://{}", dir.path().join("yoyaku.db").display())
        } else {
            test_database_url(dir.path()).await
        };
        let text = config_text(&address, &staff, &db_url, &opts);
        let config_path = dir.path().join("yoyaku.toml");
        std::fs::write(&config_path, &text).expect("write config");
        let cfg = Config::load(&config_path).expect("valid test config");
        let desk = Desk::new(cfg).await.expect("desk starts");
        TestDesk {
            desk,
            address,
            staff,
            dir,
            config_path,
            db_url,
        }
    }

    /// Waits until the desk's INBOX holds `n` messages, then runs one pass.
    pub async fn once_after(&self, n: usize, now: DateTime<Utc>) -> yoyaku::desk::PassReport {
        wait_for_mail_to(&self.address, n).await;
        self.desk.run_once(now).await.expect("pass succeeds")
    }

    /// The office's counts as /metrics reads them (`store::stats`).
    pub async fn counts(&self) -> yoyaku::store::stats::OfficeCounts {
        let mut conn = self.desk.office().store().conn().await.expect("conn");
        let now = Utc::now();
        yoyaku::store::stats::office(&mut conn, now, now, now)
            .await
            .expect("counts")
    }

    /// Mails read to this `outcome` (`processed`).
    pub async fn handled(&self, outcome: &str) -> i64 {
        self.counts()
            .await
            .handled
            .get(outcome)
            .copied()
            .unwrap_or(0)
    }

    /// Mails the server accepted, of one kind or all.
    pub async fn sent_count(&self, kind: Option<&str>) -> i64 {
        let sent = self.counts().await.sent;
        match kind {
            Some(k) => sent.get(k).copied().unwrap_or(0),
            None => sent.values().sum(),
        }
    }

    /// Requests in one state, or all.
    pub async fn requests_in(&self, state: Option<&str>) -> i64 {
        let requests = self.counts().await.requests;
        match state {
            Some(st) => requests.get(st).copied().unwrap_or(0),
            None => requests.values().sum(),
        }
    }

    /// Bookings in one status, or all.
    pub async fn bookings_in(&self, status: Option<&str>) -> i64 {
        let mut conn = self.desk.office().store().conn().await.expect("conn");
        let by_status = yoyaku::store::bookings::counts(&mut conn)
            .await
            .expect("bookings");
        match status {
            Some(st) => by_status.get(st).copied().unwrap_or(0),
            None => by_status.values().sum(),
        }
    }

    /// The booking with this reservation number.
    pub async fn booking(&self, reservation: &str) -> yoyaku::store::bookings::BookingRecord {
        let mut conn = self.desk.office().store().conn().await.expect("conn");
        yoyaku::store::bookings::find_by_reservation(&mut conn, reservation)
            .await
            .expect("booking")
            .expect("the booking")
    }

    /// Meeting jobs not yet done.
    pub async fn meeting_jobs_open(&self) -> i64 {
        let mut conn = self.desk.office().store().conn().await.expect("conn");
        yoyaku::store::meetings::counts(&mut conn)
            .await
            .expect("meeting jobs")
            .0
    }

    /// Addresses marked unreachable that staff have not handled.
    pub async fn unreachable_open(&self) -> i64 {
        let mut conn = self.desk.office().store().conn().await.expect("conn");
        let open = yoyaku::store::unreachable::open(&mut conn)
            .await
            .expect("unreachable");
        i64::try_from(open.len()).expect("count")
    }

    pub async fn db_scalar(&self, sql: &'static str) -> i64 {
        self.desk
            .office()
            .store()
            .probe_value(sql, &[])
            .await
            .expect("query")
    }
}

pub struct Seeker {
    pub address: String,
}

impl Seeker {
    pub fn new(prefix: &str) -> Seeker {
        ensure_mailstack();
        let address = unique(prefix);
        add_user(&address);
        Seeker { address }
    }

    /// Sends a UTF-8 plain text mail; returns its Message-ID (no brackets).
    pub async fn send(&self, to: &str, subject: &str, body: &str) -> String {
        let id = format!("{}.{:x}@{}", "seeker", rand_u64(), DOMAIN);
        let raw = Mail::new(&self.address, to, subject)
            .id(&id)
            .utf8_base64(body)
            .build();
        send_raw(&self.address, to, &raw).await;
        id
    }

    /// Replies to `parent` (as a mail client would: Re:, In-Reply-To,
    /// References, the original quoted below).
    pub async fn reply(&self, parent: &Received, body: &str) -> String {
        let id = format!("reply.{:x}@{}", rand_u64(), DOMAIN);
        let quoted: String = parent
            .inbound
            .body
            .lines()
            .map(|l| format!("> {l}\n"))
            .collect();
        let text = format!(
            "{body}\n\n2026年11月25日(水) 10:00 ハローワーク出雲 <{}>:\n{quoted}",
            parent.from
        );
        let mut refs = parent.inbound.thread_ids.clone();
        if let Some(m) = &parent.inbound.message_id {
            refs.push(m.clone());
        }
        let raw = Mail::new(
            &self.address,
            &parent.from,
            &format!("Re: {}", parent.inbound.subject),
        )
        .id(&id)
        .header(
            "In-Reply-To",
            &format!(
                "<{}>",
                parent.inbound.message_id.clone().unwrap_or_default()
            ),
        )
        .header(
            "References",
            &refs
                .iter()
                .map(|r| format!("<{r}>"))
                .collect::<Vec<_>>()
                .join(" "),
        )
        .utf8_base64(&text)
        .build();
        send_raw(&self.address, &parent.from, &raw).await;
        id
    }

    pub async fn inbox(&self, n: usize) -> Vec<Received> {
        wait_for(&self.address, "INBOX", n).await
    }
}

/// A message as it arrived in a mailbox.
#[derive(Debug, Clone)]
pub struct Received {
    pub raw: Vec<u8>,
    pub inbound: Inbound,
    pub from: String,
}

impl Received {
    pub fn header(&self, name: &str) -> Option<String> {
        let text = String::from_utf8_lossy(&self.raw);
        let head = text.split("\r\n\r\n").next().unwrap_or("");
        let mut value: Option<String> = None;
        for line in head.split("\r\n") {
            if let Some(v) = value.as_mut() {
                if line.starts_with(' ') || line.starts_with('\t') {
                    v.push_str(line.trim_start());
                    continue;
                }
                return value;
            }
            if let Some((k, v)) = line.split_once(':') {
                if k.eq_ignore_ascii_case(name) {
                    value = Some(v.trim().to_string());
                }
            }
        }
        value
    }

    pub fn text(&self) -> &str {
        &self.inbound.body
    }
}

/// A raw message builder for the encodings seekers' mailers use.
pub struct Mail {
    headers: Vec<(String, String)>,
    content_type: String,
    cte: Option<String>,
    body: Vec<u8>,
}

impl Mail {
    pub fn new(from: &str, to: &str, subject: &str) -> Mail {
        let subject_enc = format!(
            "=?UTF-8?B?{}?=",
            base64::engine::general_purpose::STANDARD.encode(subject.as_bytes())
        );
        Mail {
            headers: vec![
                ("From".into(), from.into()),
                ("To".into(), to.into()),
                ("Subject".into(), subject_enc),
                ("Date".into(), Utc::now().to_rfc2822()),
                ("MIME-Version".into(), "1.0".into()),
            ],
            content_type: "text/plain; charset=UTF-8".into(),
            cte: None,
            body: Vec::new(),
        }
    }

    pub fn id(self, id: &str) -> Mail {
        self.header("Message-ID", &format!("<{id}>"))
    }

    pub fn header(mut self, k: &str, v: &str) -> Mail {
        self.headers
            .retain(|(name, _)| !name.eq_ignore_ascii_case(k));
        self.headers.push((k.into(), v.into()));
        self
    }

    pub fn subject_raw(self, encoded: &str) -> Mail {
        self.header("Subject", encoded)
    }

    pub fn utf8_base64(mut self, text: &str) -> Mail {
        self.content_type = "text/plain; charset=UTF-8".into();
        self.cte = Some("base64".into());
        self.body = wrap76(
            &base64::engine::general_purpose::STANDARD
                .encode(text.replace('\n', "\r\n").as_bytes()),
        );
        self
    }

    pub fn iso2022jp(mut self, text: &str) -> Mail {
        let crlf = text.replace('\n', "\r\n");
        let (bytes, _, _) = encoding_rs::ISO_2022_JP.encode(&crlf);
        self.content_type = "text/plain; charset=ISO-2022-JP".into();
        self.cte = Some("7bit".into());
        self.body = bytes.to_vec();
        self
    }

    /// The body in a legacy charset by its label (iso-8859-1, gb2312,
    /// big5 …), quoted-printable.
    pub fn charset_qp(mut self, text: &str, label: &str) -> Mail {
        let text = if label.eq_ignore_ascii_case("windows-1258") {
            windows_1258_form(text)
        } else {
            text.to_string()
        };
        let crlf = text.replace('\n', "\r\n");
        let encoding = encoding_rs::Encoding::for_label(label.as_bytes()).expect("known charset");
        let (bytes, _, unmappable) = encoding.encode(&crlf);
        assert!(!unmappable, "{label} cannot hold the test text");
        self.content_type = format!("text/plain; charset={label}");
        self.cte = Some("quoted-printable".into());
        self.body = quoted_printable(&bytes);
        self
    }

    pub fn shift_jis_qp(mut self, text: &str) -> Mail {
        let crlf = text.replace('\n', "\r\n");
        let (bytes, _, _) = encoding_rs::SHIFT_JIS.encode(&crlf);
        self.content_type = "text/plain; charset=Shift_JIS".into();
        self.cte = Some("quoted-printable".into());
        self.body = quoted_printable(&bytes);
        self
    }

    pub fn html_only(mut self, html: &str) -> Mail {
        self.content_type = "text/html; charset=UTF-8".into();
        self.cte = Some("base64".into());
        self.body = wrap76(&base64::engine::general_purpose::STANDARD.encode(html.as_bytes()));
        self
    }

    pub fn utf8_qp(mut self, text: &str) -> Mail {
        self.content_type = "text/plain; charset=UTF-8".into();
        self.cte = Some("quoted-printable".into());
        self.body = quoted_printable(text.replace('\n', "\r\n").as_bytes());
        self
    }

    pub fn build(self) -> Vec<u8> {
        let mut out = Vec::new();
        for (k, v) in &self.headers {
            out.extend_from_slice(format!("{k}: {v}\r\n").as_bytes());
        }
        out.extend_from_slice(format!("Content-Type: {}\r\n", self.content_type).as_bytes());
        if let Some(cte) = &self.cte {
            out.extend_from_slice(format!("Content-Transfer-Encoding: {cte}\r\n").as_bytes());
        }
        out.extend_from_slice(b"\r\n");
        out.extend_from_slice(&self.body);
        out.extend_from_slice(b"\r\n");
        out
    }
}

fn wrap76(s: &str) -> Vec<u8> {
    s.as_bytes()
        .chunks(76)
        .flat_map(|c| c.iter().copied().chain(*b"\r\n"))
        .collect()
}

fn quoted_printable(bytes: &[u8]) -> Vec<u8> {
    let mut out = Vec::new();
    let mut col = 0;
    for (i, &b) in bytes.iter().enumerate() {
        if b == b'\r' && bytes.get(i + 1) == Some(&b'\n') {
            continue;
        }
        if b == b'\n' {
            out.extend_from_slice(b"\r\n");
            col = 0;
            continue;
        }
        let enc: Vec<u8> = if (33..=126).contains(&b) && b != b'=' {
            vec![b]
        } else {
            format!("={b:02X}").into_bytes()
        };
        if col + enc.len() > 75 {
            out.extend_from_slice(b"=\r\n");
            col = 0;
        }
        col += enc.len();
        out.extend_from_slice(&enc);
    }
    out
}

/// Submits raw bytes over real SMTP to the loopback Postfix.
pub async fn send_raw(from: &str, to: &str, raw: &[u8]) {
    use lettre::{AsyncSmtpTransport, AsyncTransport, Tokio1Executor};
    let transport = AsyncSmtpTransport::<Tokio1Executor>::builder_dangerous("127.0.0.1")
        .port(SMTP_PORT)
        .timeout(Some(Duration::from_secs(10)))
        .build();
    let from_addr: Option<lettre::Address> = if from.is_empty() {
        None
    } else {
        Some(yoyaku::mail::wire_address(from).expect("from address"))
    };
    let envelope = lettre::address::Envelope::new(
        from_addr,
        vec![yoyaku::mail::wire_address(to).expect("to address")],
    )
    .expect("envelope");
    transport
        .send_raw(&envelope, raw)
        .await
        .expect("smtp submission");
}

/// A login on the server that holds `user`'s mailbox.
pub fn imap_for(user: &str) -> Imap {
    Imap {
        host: "127.0.0.1".into(),
        port: if user.ends_with(&format!("@{CYRUS_DOMAIN}")) {
            CYRUS_IMAP_PORT
        } else {
            IMAP_PORT
        },
        security: Security::None,
        username: user.into(),
        password: PASSWORD.into(),
        mailbox: "INBOX".into(),
        poll: Duration::from_secs(1),
        idle: false,
        timeout: Duration::from_secs(10),
        ca_pem: None,
        oauth2: None,
    }
}

/// All messages in `folder` of `user`'s mailbox (empty if it does not exist).
pub async fn read_folder(user: &str, folder: &str) -> Vec<Received> {
    let mut s = ImapSession::connect(&imap_for(user))
        .await
        .expect("imap login");
    if s.select(folder).await.is_err() {
        s.logout().await;
        return Vec::new();
    }
    let mut out = Vec::new();
    for uid in s.uids().await.expect("uids") {
        if let Some(raw) = s.fetch(uid).await.expect("fetch") {
            let inbound = message::parse(&raw);
            out.push(Received {
                from: inbound.from.clone(),
                inbound,
                raw,
            });
        }
    }
    s.logout().await;
    out
}

/// Waits (up to 20 s) until `folder` holds at least `n` messages.
pub async fn wait_for(user: &str, folder: &str, n: usize) -> Vec<Received> {
    let start = Instant::now();
    loop {
        let got = read_folder(user, folder).await;
        if got.len() >= n {
            return got;
        }
        if start.elapsed() > Duration::from_secs(20) {
            panic!(
                "{user}/{folder}: expected {n} message(s), found {}",
                got.len()
            );
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// Waits (up to 20 s) until a desk's inbox holds at least `n` messages
/// from others: the desk's own copies of what it sent (filed into the sent
/// folder by its next pass) do not count.
pub async fn wait_for_mail_to(desk: &str, n: usize) -> Vec<Received> {
    let start = Instant::now();
    loop {
        let got: Vec<Received> = read_folder(desk, "INBOX")
            .await
            .into_iter()
            .filter(|m| m.from != desk)
            .collect();
        if got.len() >= n {
            return got;
        }
        if start.elapsed() > Duration::from_secs(20) {
            panic!(
                "{desk}/INBOX: expected {n} message(s) from others, found {}",
                got.len()
            );
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// Gives Postfix time to deliver anything in flight, then reads the folder:
/// for asserting that nothing (more) arrived.
pub async fn settle_and_read(user: &str, folder: &str) -> Vec<Received> {
    tokio::time::sleep(Duration::from_millis(1500)).await;
    read_folder(user, folder).await
}

/// A complete request in the seed's order.
/// Vietnamese as windows-1258 holds it (and Vietnamese mailers write it):
/// the vowel with its circumflex, breve or horn precomposed, the tone mark
/// (grave, acute, tilde, hook, dot below) as a combining character after it.
pub fn windows_1258_form(text: &str) -> String {
    use unicode_normalization::UnicodeNormalization;
    let tone = |c: char| {
        matches!(
            c,
            '\u{0300}' | '\u{0301}' | '\u{0303}' | '\u{0309}' | '\u{0323}'
        )
    };
    let mut out = String::new();
    for c in text.chars() {
        let parts: Vec<char> = std::iter::once(c).nfd().collect();
        let marks: String = parts.iter().copied().filter(|p| tone(*p)).collect();
        let base: String = parts.iter().copied().filter(|p| !tone(*p)).collect();
        out.extend(base.nfc());
        out.push_str(&marks);
    }
    out
}

pub fn request_text(name: &str, wish: &str) -> String {
    format!("オンライン職業相談の予約をお願いします。\n\n氏名：{name}\n求職番号：32010-12345678\n希望日時：{wish}\n電話番号：090-1234-5678\n\nよろしくお願いいたします。")
}

/// Runs the real binary with `args` and `--config config`: its exit code
/// and what it printed (stdout, then stderr).
pub fn yoyaku_cli(config: &std::path::Path, args: &[&str]) -> (Option<i32>, String) {
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_yoyaku"))
        .args(args)
        .arg("--config")
        .arg(config)
        .env("YOYAKU_LOG", "warn")
        .output()
        .expect("run yoyaku");
    (
        out.status.code(),
        format!(
            "{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        ),
    )
}

/// A `yoyaku run` of the real binary, killed (SIGKILL) when dropped.
pub struct Daemon(pub std::process::Child);

impl Daemon {
    pub fn start(config: &std::path::Path) -> Daemon {
        Daemon(
            std::process::Command::new(env!("CARGO_BIN_EXE_yoyaku"))
                .args(["run", "--config"])
                .arg(config)
                .env(
                    "YOYAKU_LOG",
                    std::env::var("YOYAKU_TEST_DAEMON_LOG").unwrap_or_else(|_| "warn".into()),
                )
                .stdout(std::process::Stdio::null())
                // YOYAKU_TEST_DAEMON_LOG=warn (or info, debug) shows the daemon's log.
                .stderr(if std::env::var_os("YOYAKU_TEST_DAEMON_LOG").is_some() {
                    std::process::Stdio::inherit()
                } else {
                    std::process::Stdio::null()
                })
                .spawn()
                .expect("start yoyaku run"),
        )
    }

    pub fn alive(&mut self) -> bool {
        matches!(self.0.try_wait(), Ok(None))
    }
}

impl Drop for Daemon {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// A small deterministic generator (xorshift64) for the fuzz and no-panic
/// tests: the same seed gives the same inputs, so a failure can be replayed.
pub struct Rng(pub u64);

impl Rng {
    pub fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }

    /// A number below `n` (0 when `n` is 0).
    pub fn below(&mut self, n: usize) -> usize {
        (self.next() % n.max(1) as u64) as usize
    }
}

/// The iTIP fields of a mail's `.ics`, read by an independent parser.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Invitation {
    pub method: String,
    pub uid: String,
    pub sequence: u32,
    pub status: Option<String>,
    pub organizer: String,
    pub attendees: Vec<String>,
    pub dtstart: String,
}

/// The invitation attached to `raw` (text/calendar), parsed with `icalendar`.
pub fn invitation(raw: &[u8]) -> Invitation {
    use icalendar::{parser, Calendar, CalendarComponent, Component};
    use mail_parser::MimeHeaders;
    let msg = mail_parser::MessageParser::default()
        .parse(raw)
        .expect("a mail");
    let text = msg
        .attachments()
        .find(|a| {
            a.content_type()
                .is_some_and(|c| c.ctype() == "text" && c.subtype() == Some("calendar"))
        })
        .and_then(|a| a.text_contents().map(str::to_string))
        .expect("a text/calendar attachment");
    let unfolded = parser::unfold(&text);
    let cal: Calendar = parser::read_calendar(&unfolded)
        .unwrap_or_else(|e| panic!("{e}: {text}"))
        .into();
    let event = cal
        .components
        .iter()
        .find_map(|c| match c {
            CalendarComponent::Event(e) => Some(e.clone()),
            _ => None,
        })
        .expect("a VEVENT");
    Invitation {
        method: cal.property_value("METHOD").unwrap_or_default().to_string(),
        uid: event.get_uid().unwrap_or_default().to_string(),
        sequence: event.get_sequence().unwrap_or(0),
        status: event.property_value("STATUS").map(str::to_string),
        organizer: event
            .property_value("ORGANIZER")
            .unwrap_or_default()
            .to_string(),
        attendees: event
            .multi_properties()
            .get("ATTENDEE")
            .map(|a| a.iter().map(|p| p.value().to_string()).collect())
            .unwrap_or_default(),
        dtstart: event
            .property_value("DTSTART")
            .unwrap_or_default()
            .to_string(),
    }
}

fn html_of(text: &str) -> String {
    let escaped = text
        .replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;");
    format!(
        "<html><head><style>div{{margin:0}}</style></head><body>{}</body></html>",
        escaped
            .lines()
            .map(|l| format!("<div>{l}</div>"))
            .collect::<String>()
    )
}

/// `text` as the body of a mail in each encoding seekers' mailers use:
/// UTF-8 base64 and quoted-printable, ISO-2022-JP, Shift_JIS, HTML only.
pub fn in_every_encoding(text: &str) -> Vec<(&'static str, Vec<u8>)> {
    let mail = || Mail::new("s@example.jp", "d@example.jp", "予約");
    vec![
        ("utf8-base64", mail().utf8_base64(text).build()),
        ("utf8-qp", mail().utf8_qp(text).build()),
        ("iso-2022-jp", mail().iso2022jp(text).build()),
        ("shift_jis-qp", mail().shift_jis_qp(text).build()),
        ("html-only", mail().html_only(&html_of(text)).build()),
    ]
}
