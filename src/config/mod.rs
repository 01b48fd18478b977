//! The configuration: TOML is read into `Raw*` structs, then checked into a
//! [`Config`] whose errors name the key and say what is wrong. Secrets come
//! from the environment or a file when asked; they are never logged.

use crate::core::booking::Rules;
use crate::core::calendar::Calendar;
use chrono::{NaiveDate, NaiveTime};
use chrono_tz::Tz;
use serde::Deserialize;
use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::time::Duration;

mod check;
mod offices;
mod raw;

pub use check::bare_address;
use check::{address, ca_file, nonempty, secret, security, web_settings, zoom_settings};

use raw::*;

#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("cannot read config file {path}: {source}")]
    Read {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("config file {path} is not valid TOML: {message}")]
    Syntax { path: PathBuf, message: String },
    #[error("config key `{key}`: {problem}")]
    Key { key: String, problem: String },
}

fn key_err(key: &str, problem: impl Into<String>) -> ConfigError {
    ConfigError::Key {
        key: key.to_string(),
        problem: problem.into(),
    }
}

/// The sent folder when the config names none and the server marks none.
pub const DEFAULT_SENT_FOLDER: &str = "送信済";

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Security {
    None,
    StartTls,
    Tls,
}

#[derive(Debug, Clone)]
pub struct Office {
    pub name: String,
    pub phone: String,
    pub staff_address: String,
    pub hours: Option<String>,
}

#[derive(Clone)]
pub struct Imap {
    pub host: String,
    pub port: u16,
    pub security: Security,
    pub username: String,
    pub password: String,
    pub mailbox: String,
    pub poll: Duration,
    pub idle: bool,
    pub timeout: Duration,
    /// PEM of extra CA certificates to trust (`imap.ca_file`).
    pub ca_pem: Option<Vec<u8>>,
}

impl std::fmt::Debug for Imap {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Imap")
            .field("host", &self.host)
            .field("port", &self.port)
            .field("mailbox", &self.mailbox)
            .finish_non_exhaustive()
    }
}

#[derive(Clone)]
pub struct Smtp {
    pub host: String,
    pub port: u16,
    pub security: Security,
    pub from: String,
    pub credentials: Option<(String, String)>,
    pub timeout: Duration,
    /// Connections used side by side for a batch (`smtp.connections`).
    pub connections: usize,
    /// PEM of extra CA certificates to trust (`smtp.ca_file`).
    pub ca_pem: Option<Vec<u8>>,
    /// `smtp.copy_wait_seconds`: see `Desk::resolve_doubts`.
    pub copy_wait: Duration,
}

impl std::fmt::Debug for Smtp {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Smtp")
            .field("host", &self.host)
            .field("port", &self.port)
            .finish_non_exhaustive()
    }
}

#[derive(Clone)]
pub struct Room {
    pub id: String,
    /// None only with Zoom: the room counts a parallel session but cannot
    /// stand in when Zoom fails.
    pub passcode: Option<String>,
    pub url: Option<String>,
}

/// Where a booking's meeting comes from (`[meeting] provider`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MeetingProvider {
    /// The configured `[[meeting.rooms]]`, the same for every seeker.
    Rooms,
    /// A Zoom meeting per booking (`[meeting.zoom]`).
    Zoom,
}

/// `[meeting.zoom]`: a Server-to-Server OAuth app.
#[derive(Clone)]
pub struct Zoom {
    pub account_id: String,
    pub client_id: String,
    pub client_secret: String,
    /// Zoom users who host; a daily limit on one moves to the next.
    pub hosts: Vec<String>,
    pub api_url: String,
    pub token_url: String,
    pub waiting_room: bool,
    /// Verifies `/zoom/webhook` events; None: the webhook is refused.
    pub webhook_secret: Option<String>,
    pub timeout: Duration,
    /// How long a booking waits for its meeting before a fallback room.
    pub fallback_after: Duration,
}

impl std::fmt::Debug for Zoom {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Zoom")
            .field("api_url", &self.api_url)
            .field("hosts", &self.hosts.len())
            .finish_non_exhaustive()
    }
}

impl std::fmt::Debug for Room {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Room")
            .field("id", &self.id)
            .finish_non_exhaustive()
    }
}

#[derive(Debug, Clone)]
pub struct Folders {
    pub handled: String,
    pub staff: String,
    pub machine: String,
    /// None: use the server's \Sent special-use folder, else [`DEFAULT_SENT_FOLDER`].
    pub sent: Option<String>,
    pub failed: String,
}

/// The checked configuration.
#[derive(Debug, Clone)]
pub struct Config {
    /// The office's id (`[[offices]] id`; `default` for a single office):
    /// it keys the office's rows in the database, its logs and metrics.
    pub office_id: String,
    pub office: Office,
    pub imap: Imap,
    pub smtp: Smtp,
    pub database_url: String,
    pub calendar: Calendar,
    pub rooms: Vec<Room>,
    pub meeting_provider: MeetingProvider,
    /// Set when `meeting_provider` is Zoom.
    pub zoom: Option<Zoom>,
    pub folders: Folders,
    pub templates_dir: Option<PathBuf>,
    /// The shared template folder an office's own folder falls back to.
    pub templates_shared_dir: Option<PathBuf>,
    pub terms_file: Option<PathBuf>,
    pub max_message_bytes: u64,
    /// Messages answered per sender address in 24 hours; more go to staff.
    pub per_sender_per_day: u32,
    /// New requests per job-seeker number in 24 hours; more go to staff.
    pub per_seeker_per_day: u32,
    pub rules: Rules,
    /// Local time of the staff digest on business mornings; `None`: off.
    pub digest_at: Option<NaiveTime>,
    /// Keep the desk's threads on one CPU (`daemon.one_cpu`, default true).
    pub one_cpu: bool,
    /// How long an office's lease lasts unrenewed (`daemon.lease_seconds`,
    /// default 30): the longest an office waits after its desk died.
    pub lease: Duration,
    /// `[web]`: the staff page (shared by every office of the file).
    pub web: Option<Web>,
    /// Keys the config has that yoyaku does not know (probably typos).
    pub unknown_keys: Vec<String>,
}

/// `[web]`: where the staff page listens, and how.
#[derive(Clone)]
pub struct Web {
    pub listen: std::net::SocketAddr,
    /// Cookies only over TLS (`secure_cookies`: behind a TLS proxy).
    pub secure_cookies: bool,
    /// A bearer token /metrics asks for on the staff listener.
    pub metrics_token: Option<String>,
    /// A separate address serving /metrics without a token.
    pub metrics_listen: Option<std::net::SocketAddr>,
    /// How long a session lasts unused (`session_idle_hours`, default 8).
    pub session_idle: Duration,
}

impl std::fmt::Debug for Web {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Web")
            .field("listen", &self.listen)
            .field("metrics_listen", &self.metrics_listen)
            .finish_non_exhaustive()
    }
}

/// The office of a config without `[[offices]]`.
pub const DEFAULT_OFFICE: &str = crate::store::DEFAULT_OFFICE;

impl Config {
    /// The one office of a config file (an error when it has several: name
    /// one with [`Config::load_office`]).
    pub fn load(path: &Path) -> Result<Config, ConfigError> {
        Config::load_office(path, None)
    }

    /// One office of a config file: `office` by id, or the only one.
    pub fn load_office(path: &Path, office: Option<&str>) -> Result<Config, ConfigError> {
        let mut all = Config::load_offices(path)?;
        match office {
            Some(id) => {
                let known: Vec<String> = all.iter().map(|c| c.office_id.clone()).collect();
                all.into_iter().find(|c| c.office_id == id).ok_or_else(|| {
                    key_err(
                        "offices",
                        format!("no office {id:?} (offices: {})", known.join(", ")),
                    )
                })
            }
            None if all.len() == 1 => Ok(all.remove(0)),
            None => Err(key_err(
                "offices",
                format!(
                    "{} offices in this config; name one with --office ({})",
                    all.len(),
                    all.iter()
                        .map(|c| c.office_id.as_str())
                        .collect::<Vec<_>>()
                        .join(", ")
                ),
            )),
        }
    }

    /// Every office of a config file, each a complete config.
    pub fn load_offices(path: &Path) -> Result<Vec<Config>, ConfigError> {
        let text = std::fs::read_to_string(path).map_err(|source| ConfigError::Read {
            path: path.to_path_buf(),
            source,
        })?;
        let base = path.parent().unwrap_or(Path::new("."));
        Config::parse_offices(&text, base).map_err(|e| match e {
            ConfigError::Syntax { message, .. } => ConfigError::Syntax {
                path: path.to_path_buf(),
                message,
            },
            other => other,
        })
    }

    /// Parses and checks a single-office config (see `parse_offices`).
    pub fn parse(text: &str, base: &Path) -> Result<Config, ConfigError> {
        let mut all = Config::parse_offices(text, base)?;
        if all.len() != 1 {
            return Err(key_err(
                "offices",
                format!("{} offices where one was expected", all.len()),
            ));
        }
        Ok(all.remove(0))
    }

    /// Parses and checks a config of one or many offices (`[[offices]]`,
    /// each merged over the top-level sections); relative paths are taken
    /// from `base`. A key error inside an office names it
    /// (`offices[izumo].imap.username`). Two offices may not share a mailbox.
    pub fn parse_offices(text: &str, base: &Path) -> Result<Vec<Config>, ConfigError> {
        let split = offices::split(text)?;
        let many = split.len() > 1 || split.iter().any(|(id, _)| id != DEFAULT_OFFICE);
        let mut out: Vec<Config> = Vec::new();
        for (id, table) in split {
            let cfg = Config::parse_table(table, base, &id).map_err(|e| match e {
                ConfigError::Key { key, problem } if many && !key.starts_with("database") => {
                    ConfigError::Key {
                        key: format!("offices[{id}].{key}"),
                        problem,
                    }
                }
                other => other,
            })?;
            let mailbox = |c: &Config| {
                (
                    c.imap.host.to_ascii_lowercase(),
                    c.imap.port,
                    c.imap.username.to_ascii_lowercase(),
                    c.imap.mailbox.clone(),
                )
            };
            if let Some(other) = out.iter().find(|o| mailbox(o) == mailbox(&cfg)) {
                return Err(key_err(
                    &format!("offices[{id}].imap.username"),
                    format!("the same mailbox as office {:?}", other.office_id),
                ));
            }
            out.push(cfg);
        }
        Ok(out)
    }

    /// One office's merged table → a checked config. Unknown keys do not
    /// stop the desk (a newer config on an older binary); they are listed
    /// in [`Config::unknown_keys`] and logged.
    fn parse_table(
        table: toml::Table,
        base: &Path,
        office_id: &str,
    ) -> Result<Config, ConfigError> {
        let mut unknown_keys = Vec::new();
        let raw: RawConfig = serde_ignored::deserialize(toml::Value::Table(table), |path| {
            unknown_keys.push(path.to_string())
        })
        .map_err(|e| ConfigError::Syntax {
            path: PathBuf::new(),
            message: e.to_string(),
        })?;
        let tz: Tz = raw.office.timezone.parse().map_err(|_| {
            key_err(
                "office.timezone",
                format!(
                    "unknown time zone {:?}; use an IANA name such as \"Asia/Tokyo\"",
                    raw.office.timezone
                ),
            )
        })?;
        nonempty("office.name", &raw.office.name)?;
        nonempty("office.phone", &raw.office.phone)?;
        address("office.staff_address", &raw.office.staff_address)?;
        address("smtp.from", &raw.smtp.from)?;
        nonempty("imap.host", &raw.imap.host)?;
        nonempty("imap.username", &raw.imap.username)?;
        nonempty("smtp.host", &raw.smtp.host)?;
        let imap_ca = ca_file("imap.ca_file", raw.imap.ca_file.as_deref(), base)?;
        let smtp_ca = ca_file("smtp.ca_file", raw.smtp.ca_file.as_deref(), base)?;
        let imap_security = security("imap.security", &raw.imap.security)?;
        let smtp_security = security("smtp.security", &raw.smtp.security)?;
        let imap_password = secret(
            "imap",
            raw.imap.password,
            raw.imap.password_env,
            raw.imap.password_file,
            base,
        )?
        .ok_or_else(|| {
            key_err(
                "imap.password",
                "missing; set imap.password, imap.password_env or imap.password_file",
            )
        })?;
        let smtp_password = secret(
            "smtp",
            raw.smtp.password,
            raw.smtp.password_env,
            raw.smtp.password_file,
            base,
        )?;
        let credentials =
            match (raw.smtp.username, smtp_password) {
                (Some(u), Some(p)) => Some((u, p)),
                (Some(_), None) => return Err(key_err(
                    "smtp.password",
                    "smtp.username is set but no password; set smtp.password or smtp.password_env",
                )),
                (None, Some(_)) => {
                    return Err(key_err(
                        "smtp.username",
                        "a password is set but no username",
                    ))
                }
                (None, None) => None,
            };
        if raw.imap.timeout_seconds == 0 {
            return Err(key_err("imap.timeout_seconds", "must be at least 1"));
        }
        if raw.smtp.timeout_seconds == 0 {
            return Err(key_err("smtp.timeout_seconds", "must be at least 1"));
        }
        if !(1..=8).contains(&raw.smtp.connections) {
            return Err(key_err("smtp.connections", "must be from 1 to 8"));
        }
        if raw.imap.poll_seconds == 0 {
            return Err(key_err("imap.poll_seconds", "must be at least 1"));
        }
        let url = raw.database.url.trim();
        let sqlite_path = url
            .strip_prefix("sqlite://")
            .or_else(|| url.strip_prefix("sqlite:"));
        let database_url = if let Some(p) = sqlite_path {
            if p.is_empty() {
                return Err(key_err(
                    "database.url",
                    "sqlite:// needs a file path, e.g. \"sqlite:///var/lib/yoyaku/yoyaku.db\"",
                ));
            }
            let path = Path::new(p);
            let full = if path.is_absolute() || p.starts_with(':') {
                path.to_path_buf()
            } else {
                base.join(path)
            };
            format!("sqlite://{}", full.display())
        } else if url.starts_with("postgres://") || url.starts_with("postgresql://") {
            // Host, database, user, password and TLS (`sslmode`,
            // `sslrootcert`) as sqlx reads them from the URL.
            url.to_string()
        } else {
            return Err(key_err(
                "database.url",
                format!(
                    "unsupported {:?}; use \"sqlite://PATH\" or \"postgres://USER@HOST/DATABASE\"",
                    crate::store::redact_url(url)
                ),
            ));
        };
        let mut slot_times = Vec::new();
        for (i, s) in raw.schedule.slots.iter().enumerate() {
            // "9:30", "09:30" or a range "09:30-10:00": the start counts.
            let start = s.split(['-', '~', '～']).next().unwrap_or("").trim();
            let t = NaiveTime::parse_from_str(start, "%H:%M").map_err(|_| {
                key_err(
                    &format!("schedule.slots[{i}]"),
                    format!("{s:?} is not a time like \"09:30\""),
                )
            })?;
            slot_times.push(t);
        }
        if slot_times.is_empty() {
            return Err(key_err("schedule.slots", "needs at least one slot time"));
        }
        slot_times.sort();
        slot_times.dedup();
        if raw.schedule.minutes == 0 || raw.schedule.minutes > 240 {
            return Err(key_err("schedule.minutes", "must be between 1 and 240"));
        }
        if raw.schedule.horizon_days == 0 || raw.schedule.horizon_days > 366 {
            return Err(key_err(
                "schedule.horizon_days",
                "must be between 1 and 366",
            ));
        }
        let mut closed = BTreeSet::new();
        for (i, s) in raw.schedule.closed.iter().enumerate() {
            let d = NaiveDate::parse_from_str(s.trim(), "%Y-%m-%d").map_err(|_| {
                key_err(
                    &format!("schedule.closed[{i}]"),
                    format!("{s:?} is not a date like \"2026-12-28\""),
                )
            })?;
            closed.insert(d);
        }
        let meeting_provider = match raw.meeting.provider.as_deref().unwrap_or("rooms") {
            "rooms" => MeetingProvider::Rooms,
            "zoom" => MeetingProvider::Zoom,
            other => {
                return Err(key_err(
                    "meeting.provider",
                    format!("{other:?} is not \"rooms\" or \"zoom\""),
                ))
            }
        };
        let zoom = match (meeting_provider, raw.meeting.zoom) {
            (MeetingProvider::Zoom, Some(z)) => Some(zoom_settings(z, base)?),
            (MeetingProvider::Zoom, None) => {
                return Err(key_err(
                    "meeting.zoom",
                    "provider = \"zoom\" needs [meeting.zoom] with account_id, client_id and client_secret",
                ))
            }
            (MeetingProvider::Rooms, _) => None,
        };
        if raw.meeting.rooms.is_empty() {
            return Err(key_err(
                "meeting.rooms",
                "needs at least one [[meeting.rooms]] with id and passcode (with Zoom: one per session held at the same time)",
            ));
        }
        let mut rooms = Vec::new();
        let mut ids = BTreeSet::new();
        for (i, r) in raw.meeting.rooms.into_iter().enumerate() {
            nonempty(&format!("meeting.rooms[{i}].id"), &r.id)?;
            match (&r.passcode, meeting_provider) {
                (Some(p), _) => nonempty(&format!("meeting.rooms[{i}].passcode"), p)?,
                (None, MeetingProvider::Rooms) => {
                    return Err(key_err(
                        &format!("meeting.rooms[{i}].passcode"),
                        "missing (optional only with provider = \"zoom\")",
                    ))
                }
                (None, MeetingProvider::Zoom) => {}
            }
            if !ids.insert(r.id.clone()) {
                return Err(key_err(
                    &format!("meeting.rooms[{i}].id"),
                    "duplicate room id",
                ));
            }
            rooms.push(Room {
                id: r.id,
                passcode: r.passcode,
                url: r.url,
            });
        }
        let folders = raw.folders;
        for (key, v) in [
            ("folders.handled", &folders.handled),
            ("folders.staff", &folders.staff),
            ("folders.machine", &folders.machine),
            ("folders.failed", &folders.failed),
        ] {
            nonempty(key, v)?;
        }
        if let Some(sent) = &folders.sent {
            nonempty("folders.sent", sent)?;
        }
        let resolve = |p: PathBuf| if p.is_absolute() { p } else { base.join(p) };
        let templates_dir = raw.templates.dir.map(resolve);
        if let Some(dir) = &templates_dir {
            if !dir.is_dir() {
                return Err(key_err(
                    "templates.dir",
                    format!("{} is not a directory", dir.display()),
                ));
            }
        }
        let templates_shared_dir = raw.templates.shared_dir.map(resolve);
        let terms_file = raw.templates.terms_file.map(resolve);
        if let Some(f) = &terms_file {
            if !f.is_file() {
                return Err(key_err(
                    "templates.terms_file",
                    format!("{} is not a file", f.display()),
                ));
            }
        }
        if raw.limits.per_sender_per_day == 0 {
            return Err(key_err("limits.per_sender_per_day", "must be at least 1"));
        }
        if raw.limits.per_seeker_per_day == 0 {
            return Err(key_err("limits.per_seeker_per_day", "must be at least 1"));
        }
        if raw.limits.max_message_bytes < 1024 {
            return Err(key_err("limits.max_message_bytes", "must be at least 1024"));
        }
        let daily = |section: &str, raw: &RawTimed, default: &str| {
            if raw.enabled == Some(false) {
                return Ok(None);
            }
            let text = raw.time.as_deref().unwrap_or(default);
            NaiveTime::parse_from_str(text.trim(), "%H:%M")
                .map(Some)
                .map_err(|_| {
                    key_err(
                        &format!("{section}.time"),
                        format!("{text:?} is not a time like \"09:00\""),
                    )
                })
        };
        let reminder_at = daily("reminders", &raw.reminders, "08:00")?;
        let digest_at = daily("digest", &raw.digest, "08:30")?;
        let no_show_after_minutes = raw.no_show.after_minutes.unwrap_or(10);
        if !(0..=240).contains(&no_show_after_minutes) {
            return Err(key_err(
                "no_show.after_minutes",
                "must be between 0 and 240",
            ));
        }
        let no_show_limit = raw.no_show.limit.unwrap_or(2);
        if no_show_limit == 0 {
            return Err(key_err("no_show.limit", "must be at least 1"));
        }
        if !(3..=3600).contains(&raw.daemon.lease_seconds) {
            return Err(key_err("daemon.lease_seconds", "must be from 3 to 3600"));
        }
        let web = match raw.web {
            Some(w) => Some(web_settings(w, base)?),
            None => None,
        };
        Ok(Config {
            office_id: office_id.to_string(),
            office: Office {
                name: raw.office.name,
                phone: raw.office.phone,
                staff_address: raw.office.staff_address,
                hours: raw.office.hours,
            },
            imap: Imap {
                port: raw.imap.port.unwrap_or(if imap_security == Security::Tls {
                    993
                } else {
                    143
                }),
                host: raw.imap.host,
                security: imap_security,
                username: raw.imap.username,
                password: imap_password,
                mailbox: raw.imap.mailbox,
                poll: Duration::from_secs(raw.imap.poll_seconds),
                idle: raw.imap.idle,
                timeout: Duration::from_secs(raw.imap.timeout_seconds),
                ca_pem: imap_ca,
            },
            smtp: Smtp {
                port: raw.smtp.port.unwrap_or(match smtp_security {
                    Security::Tls => 465,
                    Security::StartTls => 587,
                    Security::None => 25,
                }),
                host: raw.smtp.host,
                security: smtp_security,
                from: raw.smtp.from,
                credentials,
                timeout: Duration::from_secs(raw.smtp.timeout_seconds),
                connections: raw.smtp.connections,
                ca_pem: smtp_ca,
                copy_wait: Duration::from_secs(raw.smtp.copy_wait_seconds),
            },
            database_url,
            calendar: Calendar {
                tz,
                slot_times,
                slot_minutes: raw.schedule.minutes,
                horizon_days: raw.schedule.horizon_days,
                closed,
            },
            rooms,
            meeting_provider,
            zoom,
            folders: Folders {
                handled: folders.handled,
                staff: folders.staff,
                machine: folders.machine,
                sent: folders.sent,
                failed: folders.failed,
            },
            templates_dir,
            templates_shared_dir,
            terms_file,
            max_message_bytes: raw.limits.max_message_bytes,
            per_sender_per_day: raw.limits.per_sender_per_day,
            per_seeker_per_day: raw.limits.per_seeker_per_day,
            rules: Rules {
                reminder_at,
                no_show_after_minutes,
                no_show_limit,
            },
            digest_at,
            one_cpu: raw.daemon.one_cpu,
            lease: Duration::from_secs(raw.daemon.lease_seconds),
            web,
            unknown_keys,
        })
    }

    /// The domain part of our own address, for Message-IDs.
    pub fn mail_domain(&self) -> &str {
        self.smtp
            .from
            .rsplit('@')
            .next()
            .unwrap_or("localhost")
            .trim_end_matches('>')
    }

    /// The bare address of `smtp.from` (without a display name).
    pub fn from_address(&self) -> String {
        bare_address(&self.smtp.from)
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    const GOOD: &str = r#"
[office]
name = "ハローワーク出雲"
phone = "0853-21-8609"
staff_address = "staff@example.jp"
[imap]
host = "127.0.0.1"
port = 143
security = "none"
username = "desk"
password = "pw"
[smtp]
host = "127.0.0.1"
port = 25
security = "none"
from = "ハローワーク出雲 <desk@example.jp>"
[database]
url = "sqlite://yoyaku.db"
[[meeting.rooms]]
id = "123 456 7890"
passcode = "abc"
"#;

    /// A valid config for tests elsewhere in the crate.
    pub(crate) fn good() -> Config {
        Config::parse(GOOD, Path::new("/tmp")).expect("valid test config")
    }

    const MANY: &str = r#"
[imap]
host = "127.0.0.1"
port = 143
security = "none"
password = "pw"
[smtp]
host = "127.0.0.1"
port = 25
security = "none"
[database]
url = "postgres://yoyaku@db.example.jp/yoyaku"
[schedule]
slots = ["09:30", "11:00"]
[[meeting.rooms]]
id = "111 111 1111"
passcode = "shared"

[[offices]]
id = "izumo"
name = "ハローワーク出雲"
phone = "0853-21-8609"
staff_address = "staff@izumo.example.jp"
imap = { username = "izumo" }
smtp = { from = "ハローワーク出雲 <izumo@example.jp>" }

[[offices]]
id = "matsue"
name = "ハローワーク松江"
phone = "0852-22-8609"
staff_address = "staff@matsue.example.jp"
[offices.imap]
username = "matsue"
[offices.smtp]
from = "ハローワーク松江 <matsue@example.jp>"
[offices.schedule]
slots = ["13:30"]
[[offices.meeting.rooms]]
id = "222 222 2222"
passcode = "matsue"
"#;

    /// Offices merge their sections over the shared ones, key by key, and
    /// keep their own name, staff, mailbox, slots and rooms.
    #[test]
    fn many_offices_merge_over_the_shared_sections() {
        let all = Config::parse_offices(MANY, Path::new("/tmp")).expect("valid");
        let ids: Vec<&str> = all.iter().map(|c| c.office_id.as_str()).collect();
        assert_eq!(ids, ["izumo", "matsue"]);
        let (izumo, matsue) = (&all[0], &all[1]);
        assert_eq!(izumo.office.name, "ハローワーク出雲");
        assert_eq!(matsue.office.staff_address, "staff@matsue.example.jp");
        assert_eq!(
            (izumo.imap.username.as_str(), izumo.imap.host.as_str()),
            ("izumo", "127.0.0.1")
        );
        assert_eq!(matsue.imap.username, "matsue");
        assert_eq!(izumo.calendar.slot_times.len(), 2);
        assert_eq!(matsue.calendar.slot_times.len(), 1);
        assert_eq!(izumo.rooms[0].passcode, Some("shared".to_string()));
        assert_eq!(matsue.rooms.len(), 1);
        assert_eq!(matsue.rooms[0].passcode, Some("matsue".to_string()));
        assert_eq!(izumo.database_url, matsue.database_url);
        // A file without [[offices]] is the office `default`.
        assert_eq!(good().office_id, DEFAULT_OFFICE);
    }

    /// An office's own template folder falls back to the shared one.
    #[test]
    fn an_office_template_folder_falls_back_to_the_shared_one() {
        let dir = tempfile::tempdir().expect("tempdir");
        for d in ["shared", "matsue"] {
            std::fs::create_dir(dir.path().join(d)).expect("mkdir");
        }
        let text = MANY
            .replace("[schedule]", "[templates]\ndir = \"shared\"\n[schedule]")
            .replace(
                "[offices.schedule]",
                "[offices.templates]\ndir = \"matsue\"\n[offices.schedule]",
            );
        let all = Config::parse_offices(&text, dir.path()).expect("valid");
        let (izumo, matsue) = (&all[0], &all[1]);
        assert_eq!(izumo.templates_dir, Some(dir.path().join("shared")));
        assert_eq!(izumo.templates_shared_dir, None);
        assert_eq!(matsue.templates_dir, Some(dir.path().join("matsue")));
        assert_eq!(matsue.templates_shared_dir, Some(dir.path().join("shared")));
    }

    #[test]
    fn office_errors_name_the_office_and_the_key() {
        let err = |text: &str| {
            Config::parse_offices(text, Path::new("/tmp"))
                .err()
                .map(|e| e.to_string())
                .unwrap_or_default()
        };
        let missing = err(&MANY.replace("imap = { username = \"izumo\" }", ""));
        assert!(
            missing.contains("offices[izumo].imap.username"),
            "{missing}"
        );
        let shared = err(&MANY.replace("username = \"matsue\"", "username = \"izumo\""));
        assert!(
            shared.contains("offices[matsue].imap.username") && shared.contains("izumo"),
            "{shared}"
        );
        let bad_id = err(&MANY.replace("id = \"izumo\"", "id = \"Izumo_1\""));
        assert!(bad_id.contains("offices[0].id"), "{bad_id}");
        let twice = err(&MANY.replace("id = \"matsue\"", "id = \"izumo\""));
        assert!(twice.contains("used by two offices"), "{twice}");
        let stray = err(&MANY.replace(
            "id = \"matsue\"",
            "id = \"matsue\"\ndatabase = { url = \"x\" }",
        ));
        assert!(stray.contains("offices[matsue].database"), "{stray}");
        // One office of many must be named.
        assert!(Config::parse(MANY, Path::new("/tmp")).is_err());
    }

    #[test]
    fn good_config_parses_with_defaults() {
        let c = Config::parse(GOOD, Path::new("/tmp")).expect("valid");
        assert_eq!(c.calendar.slot_times.len(), 4);
        assert_eq!(c.calendar.horizon_days, 30);
        assert_eq!(c.database_url, "sqlite:///tmp/yoyaku.db");
        assert_eq!(c.folders.staff, "要対応");
        assert_eq!(c.from_address(), "desk@example.jp");
        assert_eq!(c.mail_domain(), "example.jp");
        assert_eq!(c.smtp.connections, 2);
        assert!(c.one_cpu);
    }

    #[test]
    fn errors_name_the_key() {
        let cases = [
            (
                GOOD.replace(
                    "security = \"none\"\nusername",
                    "security = \"ssl\"\nusername",
                ),
                "imap.security",
            ),
            (
                GOOD.replace("sqlite://yoyaku.db", "mysql://x"),
                "database.url",
            ),
            (
                GOOD.replace("staff@example.jp", "nobody"),
                "office.staff_address",
            ),
            (GOOD.replace("password = \"pw\"", ""), "imap.password"),
            (
                GOOD.replace("[office]", "[office]\ntimezone = \"Mars/Base\""),
                "office.timezone",
            ),
            (
                format!("{GOOD}\n[schedule]\nslots = [\"9:3x\"]"),
                "schedule.slots[0]",
            ),
            (
                format!("{GOOD}\n[schedule]\nclosed = [\"2026-13-01\"]"),
                "schedule.closed[0]",
            ),
            (
                format!("{GOOD}\n[reminders]\ntime = \"25:00\""),
                "reminders.time",
            ),
            (format!("{GOOD}\n[no_show]\nlimit = 0"), "no_show.limit"),
            (
                GOOD.replace("[smtp]", "[smtp]\nconnections = 0"),
                "smtp.connections",
            ),
            (
                format!("{GOOD}\n[digest]\ntime = \"morning\""),
                "digest.time",
            ),
            (
                GOOD.replace(
                    "[[meeting.rooms]]\nid = \"123 456 7890\"\npasscode = \"abc\"",
                    "[meeting]",
                ),
                "meeting.rooms",
            ),
        ];
        for (text, key) in cases {
            let err = Config::parse(&text, Path::new("/tmp"))
                .expect_err(key)
                .to_string();
            assert!(err.contains(key), "{err} should name {key}");
        }
    }

    #[test]
    fn unknown_keys_are_reported_not_fatal() {
        let c = Config::parse(
            &GOOD.replace("[office]", "[office]\nnmae = \"x\""),
            Path::new("/tmp"),
        )
        .expect("still loads");
        assert_eq!(c.unknown_keys, vec!["office.nmae".to_string()]);
    }

    #[test]
    fn slot_times_in_several_forms() {
        let text =
            format!("{GOOD}\n[schedule]\nslots = [\"9:30\", \"11:00-11:30\", \"13:30～14:00\"]\n");
        let c = Config::parse(&text, Path::new("/tmp")).expect("valid");
        let got: Vec<String> = c
            .calendar
            .slot_times
            .iter()
            .map(|t| t.format("%H:%M").to_string())
            .collect();
        assert_eq!(got, vec!["09:30", "11:00", "13:30"]);
    }

    #[test]
    fn folder_aliases_and_sqlite_forms() {
        let text = format!(
            "{}\n[folders]\nprocessed = \"Done\"\nneeds_staff = \"Staff\"\nsent = \"Sent\"\n",
            GOOD.replace("sqlite://yoyaku.db", "sqlite:data/y.db")
        );
        let c = Config::parse(&text, Path::new("/srv")).expect("valid");
        assert_eq!(
            (
                c.folders.handled.as_str(),
                c.folders.staff.as_str(),
                c.folders.sent.as_deref()
            ),
            ("Done", "Staff", Some("Sent"))
        );
        assert_eq!(c.database_url, "sqlite:///srv/data/y.db");
    }

    #[test]
    fn password_from_env() {
        std::env::set_var("YOYAKU_TEST_IMAP_PW", "secret");
        let c = Config::parse(
            &GOOD.replace(
                "password = \"pw\"",
                "password_env = \"YOYAKU_TEST_IMAP_PW\"",
            ),
            Path::new("/tmp"),
        )
        .expect("valid");
        assert_eq!(c.imap.password, "secret");
        let err = Config::parse(
            &GOOD.replace("password = \"pw\"", "password_env = \"YOYAKU_NOT_SET_X\""),
            Path::new("/tmp"),
        )
        .expect_err("unset");
        assert!(err.to_string().contains("imap.password_env"));
    }
}
