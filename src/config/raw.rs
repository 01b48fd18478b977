//! The TOML as written: serde structs with their defaults, checked into
//! [`super::Config`] by `Config::load`. Nothing outside `config` sees them.

use super::*;

#[derive(Debug, Deserialize)]
pub(super) struct RawConfig {
    pub(super) office: RawOffice,
    pub(super) imap: RawImap,
    pub(super) smtp: RawSmtp,
    pub(super) database: RawDatabase,
    #[serde(default)]
    pub(super) schedule: RawSchedule,
    pub(super) meeting: RawMeeting,
    #[serde(default)]
    pub(super) folders: RawFolders,
    #[serde(default)]
    pub(super) templates: RawTemplates,
    #[serde(default)]
    pub(super) limits: RawLimits,
    #[serde(default, alias = "reminder")]
    pub(super) reminders: RawTimed,
    #[serde(default)]
    pub(super) no_show: RawNoShow,
    #[serde(default)]
    pub(super) digest: RawTimed,
    #[serde(default)]
    pub(super) daemon: RawDaemon,
    #[serde(default)]
    pub(super) web: Option<RawWeb>,
    #[serde(default)]
    pub(super) oauth2: Option<RawOAuth2>,
}

/// `[oauth2]`: the app or service account the desk logs in to its mailbox
/// with, when `imap.auth` / `smtp.auth` is "oauth2".
#[derive(Debug, Deserialize)]
pub(super) struct RawOAuth2 {
    pub(super) provider: Option<String>,
    pub(super) tenant: Option<String>,
    pub(super) client_id: Option<String>,
    pub(super) client_secret: Option<String>,
    pub(super) client_secret_env: Option<String>,
    pub(super) client_secret_file: Option<PathBuf>,
    pub(super) service_account_file: Option<PathBuf>,
    pub(super) token_url: Option<String>,
    pub(super) scope: Option<String>,
    pub(super) timeout_seconds: Option<u64>,
}

/// `[web]`: the staff page, /metrics and /healthz.
#[derive(Debug, Deserialize)]
pub(super) struct RawWeb {
    pub(super) listen: String,
    #[serde(default)]
    pub(super) secure_cookies: bool,
    pub(super) metrics_token: Option<String>,
    pub(super) metrics_token_env: Option<String>,
    pub(super) metrics_token_file: Option<PathBuf>,
    pub(super) metrics_listen: Option<String>,
    pub(super) session_idle_hours: Option<f64>,
    pub(super) session_max_hours: Option<f64>,
}

/// How the process runs.
#[derive(Debug, Deserialize)]
pub(super) struct RawDaemon {
    /// Keep the desk's threads on one CPU (see `cpu.rs` for why).
    #[serde(default = "default_true")]
    pub(super) one_cpu: bool,
    /// How long an office's lease lasts without renewal: another desk
    /// takes the office this long after its desk died.
    #[serde(default = "default_lease_seconds")]
    pub(super) lease_seconds: u64,
}

fn default_lease_seconds() -> u64 {
    30
}

impl Default for RawDaemon {
    fn default() -> Self {
        RawDaemon {
            one_cpu: true,
            lease_seconds: default_lease_seconds(),
        }
    }
}

/// A daily job that can be turned off: `enabled`, local `time`.
#[derive(Debug, Default, Deserialize)]
pub(super) struct RawTimed {
    pub(super) enabled: Option<bool>,
    pub(super) time: Option<String>,
}

#[derive(Debug, Default, Deserialize)]
pub(super) struct RawNoShow {
    #[serde(alias = "grace_minutes", alias = "minutes")]
    pub(super) after_minutes: Option<i64>,
    #[serde(alias = "threshold", alias = "max_no_shows")]
    pub(super) limit: Option<u32>,
}

#[derive(Debug, Deserialize)]
pub(super) struct RawOffice {
    pub(super) name: String,
    pub(super) phone: String,
    #[serde(alias = "staff_email")]
    pub(super) staff_address: String,
    #[serde(default = "default_tz")]
    pub(super) timezone: String,
    #[serde(default)]
    pub(super) hours: Option<String>,
    /// Mail domains of the mobile carriers, whose filters (ドメイン指定受信)
    /// refuse mail from domains the seeker has not allowed.
    #[serde(default = "default_carrier_domains")]
    pub(super) carrier_domains: Vec<String>,
    /// The language of mail to a seeker whose language is not known:
    /// "ja" (default) or "easy" (やさしい日本語).
    #[serde(default)]
    pub(super) language: Option<String>,
}

pub(super) fn default_carrier_domains() -> Vec<String> {
    [
        "docomo.ne.jp",
        "ezweb.ne.jp",
        "au.com",
        "biglobe.ne.jp",
        "softbank.ne.jp",
        "i.softbank.jp",
        "disney.ne.jp",
        "ymobile.ne.jp",
        "y-mobile.ne.jp",
        "emobile.ne.jp",
        "willcom.com",
        "pdx.ne.jp",
        "wcm.ne.jp",
        "rakuten.jp",
        "uqmobile.jp",
    ]
    .map(String::from)
    .to_vec()
}

pub(super) fn default_tz() -> String {
    "Asia/Tokyo".into()
}

#[derive(Debug, Deserialize)]
pub(super) struct RawImap {
    /// "password" (default) or "oauth2".
    pub(super) auth: Option<String>,
    pub(super) host: String,
    pub(super) port: Option<u16>,
    #[serde(default = "default_security")]
    pub(super) security: String,
    pub(super) username: String,
    pub(super) password: Option<String>,
    pub(super) password_env: Option<String>,
    pub(super) password_file: Option<PathBuf>,
    /// Extra CA certificates (PEM) to trust, for a server with a private CA.
    pub(super) ca_file: Option<PathBuf>,
    #[serde(default = "default_mailbox")]
    pub(super) mailbox: String,
    #[serde(
        default = "default_poll",
        alias = "poll_interval",
        alias = "poll_interval_seconds",
        alias = "poll_secs"
    )]
    pub(super) poll_seconds: u64,
    #[serde(default = "default_true")]
    pub(super) idle: bool,
    #[serde(default = "default_timeout", alias = "timeout")]
    pub(super) timeout_seconds: u64,
}

#[derive(Debug, Deserialize)]
pub(super) struct RawSmtp {
    /// "password" (default) or "oauth2".
    pub(super) auth: Option<String>,
    pub(super) host: String,
    pub(super) port: Option<u16>,
    #[serde(default = "default_security")]
    pub(super) security: String,
    pub(super) from: String,
    pub(super) username: Option<String>,
    pub(super) password: Option<String>,
    pub(super) password_env: Option<String>,
    pub(super) password_file: Option<PathBuf>,
    /// Extra CA certificates (PEM) to trust, for a server with a private CA.
    pub(super) ca_file: Option<PathBuf>,
    #[serde(default = "default_timeout", alias = "timeout")]
    pub(super) timeout_seconds: u64,
    /// SMTP connections used side by side when a batch of mail goes out.
    #[serde(default = "default_smtp_connections")]
    pub(super) connections: usize,
    /// How long a mail whose submission a crash or time-out cut off waits
    /// for its own copy (the evidence that the server took it) before it is
    /// sent again.
    #[serde(default = "default_copy_wait")]
    pub(super) copy_wait_seconds: u64,
}

pub(super) fn default_copy_wait() -> u64 {
    30
}

pub(super) fn default_smtp_connections() -> usize {
    2
}

pub(super) fn default_security() -> String {
    "tls".into()
}
pub(super) fn default_mailbox() -> String {
    "INBOX".into()
}
pub(super) fn default_poll() -> u64 {
    60
}
pub(super) fn default_true() -> bool {
    true
}
pub(super) fn default_timeout() -> u64 {
    30
}

#[derive(Debug, Deserialize)]
pub(super) struct RawDatabase {
    pub(super) url: String,
}

#[derive(Debug, Deserialize)]
pub(super) struct RawSchedule {
    #[serde(default = "default_slots")]
    pub(super) slots: Vec<String>,
    #[serde(
        default = "default_minutes",
        alias = "slot_minutes",
        alias = "duration_minutes"
    )]
    pub(super) minutes: u32,
    #[serde(default = "default_horizon", alias = "horizon")]
    pub(super) horizon_days: u32,
    #[serde(default)]
    pub(super) closed: Vec<String>,
}

impl Default for RawSchedule {
    fn default() -> Self {
        RawSchedule {
            slots: default_slots(),
            minutes: default_minutes(),
            horizon_days: default_horizon(),
            closed: Vec::new(),
        }
    }
}

pub(super) fn default_slots() -> Vec<String> {
    ["09:30", "11:00", "13:30", "15:00"]
        .iter()
        .map(|s| s.to_string())
        .collect()
}
pub(super) fn default_minutes() -> u32 {
    30
}
pub(super) fn default_horizon() -> u32 {
    30
}

#[derive(Debug, Deserialize)]
pub(super) struct RawMeeting {
    #[serde(default)]
    pub(super) rooms: Vec<RawRoom>,
    /// "rooms" (the default) or "zoom".
    pub(super) provider: Option<String>,
    pub(super) zoom: Option<RawZoom>,
}

#[derive(Debug, Deserialize)]
pub(super) struct RawRoom {
    pub(super) id: String,
    /// Optional with Zoom: a room without one only counts a parallel
    /// session; with one it is also a fallback.
    pub(super) passcode: Option<String>,
    pub(super) url: Option<String>,
}

#[derive(Debug, Deserialize)]
pub(super) struct RawZoom {
    pub(super) account_id: Option<String>,
    pub(super) client_id: Option<String>,
    pub(super) client_secret: Option<String>,
    pub(super) client_secret_env: Option<String>,
    pub(super) client_secret_file: Option<PathBuf>,
    pub(super) hosts: Option<Vec<String>>,
    pub(super) api_url: Option<String>,
    pub(super) token_url: Option<String>,
    pub(super) waiting_room: Option<bool>,
    pub(super) webhook_secret: Option<String>,
    pub(super) webhook_secret_env: Option<String>,
    pub(super) webhook_secret_file: Option<PathBuf>,
    pub(super) timeout_seconds: Option<f64>,
    pub(super) fallback_after_minutes: Option<f64>,
}

#[derive(Debug, Deserialize)]
pub(super) struct RawFolders {
    #[serde(default = "f_handled", alias = "processed", alias = "done")]
    pub(super) handled: String,
    #[serde(
        default = "f_staff",
        alias = "needs_staff",
        alias = "attention",
        alias = "review"
    )]
    pub(super) staff: String,
    #[serde(
        default = "f_machine",
        alias = "machine_mail",
        alias = "auto",
        alias = "automatic"
    )]
    pub(super) machine: String,
    /// None: the server's \Sent folder if it has one, else 送信済.
    #[serde(default)]
    pub(super) sent: Option<String>,
    #[serde(default = "f_failed", alias = "poison", alias = "error")]
    pub(super) failed: String,
}

impl Default for RawFolders {
    fn default() -> Self {
        RawFolders {
            handled: f_handled(),
            staff: f_staff(),
            machine: f_machine(),
            sent: None,
            failed: f_failed(),
        }
    }
}

pub(super) fn f_handled() -> String {
    "処理済".into()
}
pub(super) fn f_staff() -> String {
    "要対応".into()
}
pub(super) fn f_machine() -> String {
    "自動送信".into()
}
pub(super) fn f_failed() -> String {
    "処理失敗".into()
}

#[derive(Debug, Default, Deserialize)]
pub(super) struct RawTemplates {
    pub(super) dir: Option<PathBuf>,
    pub(super) terms_file: Option<PathBuf>,
    /// Set by `offices::split`, not written by hand: the shared folder an
    /// office with a folder of its own falls back to.
    #[serde(default)]
    pub(super) shared_dir: Option<PathBuf>,
}

#[derive(Debug, Deserialize)]
pub(super) struct RawLimits {
    #[serde(default = "default_max_bytes")]
    pub(super) max_message_bytes: u64,
    #[serde(default = "default_per_sender")]
    pub(super) per_sender_per_day: u32,
    #[serde(default = "default_per_seeker")]
    pub(super) per_seeker_per_day: u32,
}

impl Default for RawLimits {
    fn default() -> Self {
        RawLimits {
            max_message_bytes: default_max_bytes(),
            per_sender_per_day: default_per_sender(),
            per_seeker_per_day: default_per_seeker(),
        }
    }
}

pub(super) fn default_per_sender() -> u32 {
    20
}
pub(super) fn default_per_seeker() -> u32 {
    10
}

pub(super) fn default_max_bytes() -> u64 {
    10 * 1024 * 1024
}
