//! The configuration: TOML is read into `Raw*` structs, then checked into a
//! [`Config`] whose errors name the key and say what is wrong. Secrets come
//! from the environment or a file when asked; they are never logged.

use crate::core::booking::Rules;
use crate::core::calendar::Calendar;
use chrono::NaiveTime;
use chrono_tz::Tz;
use serde::Deserialize;
use std::path::{Path, PathBuf};
use std::time::Duration;

mod check;
mod oauth;
mod offices;
mod raw;
mod sections;

pub use check::bare_address;
use check::{address, nonempty, web_settings};
pub use oauth::{OAuth2, OAuthLogin, OAuthProvider};

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
    /// `office.carrier_domains`: mobile carriers' mail domains (and their
    /// subdomains); a seeker there is told to allow ours.
    pub carrier_domains: Vec<String>,
    /// `office.language`: the language of mail to a seeker whose own is
    /// not known (None: Japanese).
    pub language: Option<crate::core::lang::Lang>,
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
    /// `imap.auth = "oauth2"`: XOAUTH2 with a token for `username`
    /// instead of the password.
    pub oauth2: Option<OAuth2>,
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
    /// `smtp.copy_wait_seconds`: see `desk::sender::resolve_doubts`.
    pub copy_wait: Duration,
    /// `smtp.auth = "oauth2"`: XOAUTH2 as this user (smtp.username, else
    /// the address of smtp.from) with a token instead of a password.
    pub oauth2: Option<(String, OAuth2)>,
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
    /// How long a session lasts at most, however busy (`session_max_hours`,
    /// default 12: a working day, then sign in again).
    pub session_max: Duration,
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
    /// The sessions one slot can hold, one id each (what bookings count
    /// against): the `[[meeting.rooms]]`, or with Zoom and no rooms one
    /// per host (`zoom-1`, `zoom-2`, …), since a Zoom user hosts one
    /// meeting at a time.
    pub fn seats(&self) -> Vec<String> {
        match (&self.zoom, self.rooms.is_empty()) {
            (Some(z), true) => (1..=z.hosts.len().max(1))
                .map(|i| format!("zoom-{i}"))
                .collect(),
            _ => self.rooms.iter().map(|r| r.id.clone()).collect(),
        }
    }

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
        let oauth2 = match raw.oauth2 {
            Some(o) => Some(oauth::settings(o, base)?),
            None => None,
        };
        let smtp = sections::smtp(raw.smtp, oauth2.as_ref(), base)?;
        let imap = sections::imap(raw.imap, oauth2.as_ref(), base)?;
        let database_url = sections::database_url(&raw.database.url, base)?;
        let calendar = sections::calendar(tz, &raw.schedule)?;
        let (meeting_provider, zoom, rooms) = sections::meeting(raw.meeting, base)?;
        let folders = sections::folders(raw.folders)?;
        let templates = sections::template_paths(&raw.templates, base)?;
        sections::limits(&raw.limits)?;
        let rules = sections::rules(&raw.reminders, &raw.no_show)?;
        let digest_at = sections::daily("digest", &raw.digest, "08:30")?;
        if !(3..=3600).contains(&raw.daemon.lease_seconds) {
            return Err(key_err("daemon.lease_seconds", "must be from 3 to 3600"));
        }
        let web = match raw.web {
            Some(w) => Some(web_settings(w, base)?),
            None => None,
        };
        let language = match raw.office.language.as_deref().map(str::trim) {
            None | Some("" | "ja") => None,
            Some("easy") => Some(crate::core::lang::Lang::Easy),
            Some(other) => match crate::core::lang::Lang::from_code(other) {
                Some(l) => Some(l),
                None => {
                    return Err(key_err(
                        "office.language",
                        "must be \"ja\", \"easy\" (やさしい日本語), \"en\", \"pt\", \"vi\", \"zh\" or \"tl\"",
                    ))
                }
            },
        };
        Ok(Config {
            office_id: office_id.to_string(),
            office: Office {
                language,
                name: raw.office.name,
                phone: raw.office.phone,
                staff_address: raw.office.staff_address,
                hours: raw.office.hours,
                carrier_domains: raw
                    .office
                    .carrier_domains
                    .iter()
                    .map(|d| d.trim().trim_start_matches('@').to_ascii_lowercase())
                    .filter(|d| !d.is_empty())
                    .collect(),
            },
            imap,
            smtp,
            database_url,
            calendar,
            rooms,
            meeting_provider,
            zoom,
            folders,
            templates_dir: templates.dir,
            templates_shared_dir: templates.shared_dir,
            terms_file: templates.terms_file,
            max_message_bytes: raw.limits.max_message_bytes,
            per_sender_per_day: raw.limits.per_sender_per_day,
            per_seeker_per_day: raw.limits.per_seeker_per_day,
            rules,
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

    #[test]
    fn zoom_without_rooms_holds_one_session_per_host() {
        let zoom = GOOD.replace(
            "[[meeting.rooms]]\nid = \"123 456 7890\"\npasscode = \"abc\"",
            "[meeting]\nprovider = \"zoom\"\n[meeting.zoom]\naccount_id = \"a\"\nclient_id = \"c\"\nclient_secret = \"s\"\nhosts = [\"a@example.jp\", \"b@example.jp\"]",
        );
        let c = Config::parse(&zoom, Path::new("/tmp")).expect("zoom without rooms is valid");
        assert!(c.rooms.is_empty());
        assert_eq!(c.seats(), vec!["zoom-1".to_string(), "zoom-2".to_string()]);
        // Rooms, when listed, still say the capacity.
        assert_eq!(good().seats(), vec!["123 456 7890".to_string()]);
    }
}
