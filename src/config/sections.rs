//! Each section of the file checked into its settings; every error names
//! its key. `Config::parse_table` puts them together.

use super::check::{address, bare_address, ca_file, nonempty, secret, security, zoom_settings};
use super::oauth::{self, OAuth2};
use super::raw::{
    RawFolders, RawImap, RawLimits, RawMeeting, RawNoShow, RawSchedule, RawSmtp, RawTemplates,
    RawTimed,
};
use super::{key_err, ConfigError, Folders, Imap, MeetingProvider, Room, Security, Smtp, Zoom};
use crate::core::booking::Rules;
use crate::core::calendar::Calendar;
use chrono::{NaiveDate, NaiveTime};
use chrono_tz::Tz;
use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::time::Duration;

pub(super) fn imap(
    raw: RawImap,
    oauth2: Option<&OAuth2>,
    base: &Path,
) -> Result<Imap, ConfigError> {
    nonempty("imap.host", &raw.host)?;
    nonempty("imap.username", &raw.username)?;
    let ca_pem = ca_file("imap.ca_file", raw.ca_file.as_deref(), base)?;
    let security = security("imap.security", &raw.security)?;
    let oauth2 = oauth::wanted("imap.auth", raw.auth.as_deref(), oauth2)?;
    let password = secret(
        "imap",
        raw.password,
        raw.password_env,
        raw.password_file,
        base,
    )?;
    let password = match (password, &oauth2) {
        (Some(p), _) => p,
        (None, Some(_)) => String::new(),
        (None, None) => {
            return Err(key_err(
                "imap.password",
                "missing; set imap.password, imap.password_env or imap.password_file (or imap.auth = \"oauth2\" with [oauth2])",
            ))
        }
    };
    if raw.timeout_seconds == 0 {
        return Err(key_err("imap.timeout_seconds", "must be at least 1"));
    }
    if raw.poll_seconds == 0 {
        return Err(key_err("imap.poll_seconds", "must be at least 1"));
    }
    Ok(Imap {
        port: raw
            .port
            .unwrap_or(if security == Security::Tls { 993 } else { 143 }),
        host: raw.host,
        security,
        username: raw.username,
        password,
        mailbox: raw.mailbox,
        poll: Duration::from_secs(raw.poll_seconds),
        idle: raw.idle,
        timeout: Duration::from_secs(raw.timeout_seconds),
        ca_pem,
        oauth2,
    })
}

pub(super) fn smtp(
    mut raw: RawSmtp,
    oauth2: Option<&OAuth2>,
    base: &Path,
) -> Result<Smtp, ConfigError> {
    address("smtp.from", &raw.from)?;
    nonempty("smtp.host", &raw.host)?;
    let ca_pem = ca_file("smtp.ca_file", raw.ca_file.as_deref(), base)?;
    let security = security("smtp.security", &raw.security)?;
    if let Some(o) = oauth::wanted("smtp.auth", raw.auth.as_deref(), oauth2)? {
        let user = raw
            .username
            .clone()
            .unwrap_or_else(|| bare_address(&raw.from));
        return smtp_with(raw, security, ca_pem, None, Some((user, o)));
    }
    let password = secret(
        "smtp",
        raw.password.take(),
        raw.password_env.take(),
        raw.password_file.take(),
        base,
    )?;
    let credentials = match (raw.username.clone(), password) {
        (Some(u), Some(p)) => Some((u, p)),
        (Some(_), None) => {
            return Err(key_err(
                "smtp.password",
                "smtp.username is set but no password; set smtp.password or smtp.password_env",
            ))
        }
        (None, Some(_)) => {
            return Err(key_err(
                "smtp.username",
                "a password is set but no username",
            ))
        }
        (None, None) => None,
    };
    smtp_with(raw, security, ca_pem, credentials, None)
}

fn smtp_with(
    raw: RawSmtp,
    security: Security,
    ca_pem: Option<Vec<u8>>,
    credentials: Option<(String, String)>,
    oauth2: Option<(String, OAuth2)>,
) -> Result<Smtp, ConfigError> {
    if raw.timeout_seconds == 0 {
        return Err(key_err("smtp.timeout_seconds", "must be at least 1"));
    }
    if !(1..=8).contains(&raw.connections) {
        return Err(key_err("smtp.connections", "must be from 1 to 8"));
    }
    Ok(Smtp {
        port: raw.port.unwrap_or(match security {
            Security::Tls => 465,
            Security::StartTls => 587,
            Security::None => 25,
        }),
        host: raw.host,
        security,
        from: raw.from,
        credentials,
        timeout: Duration::from_secs(raw.timeout_seconds),
        connections: raw.connections,
        ca_pem,
        copy_wait: Duration::from_secs(raw.copy_wait_seconds),
        oauth2,
    })
}

/// `database.url`: a SQLite path (relative to the config file) or a
/// PostgreSQL URL.
pub(super) fn database_url(url: &str, base: &Path) -> Result<String, ConfigError> {
    let url = url.trim();
    let sqlite_path = url
        .strip_prefix("sqlite://")
        .or_else(|| url.strip_prefix("sqlite:"));
    if let Some(p) = sqlite_path {
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
        Ok(format!("sqlite://{}", full.display()))
    } else if url.starts_with("postgres://") || url.starts_with("postgresql://") {
        // Host, database, user, password and TLS (`sslmode`,
        // `sslrootcert`) as sqlx reads them from the URL.
        Ok(url.to_string())
    } else {
        Err(key_err(
            "database.url",
            format!(
                "unsupported {:?}; use \"sqlite://PATH\" or \"postgres://USER@HOST/DATABASE\"",
                crate::store::redact_url(url)
            ),
        ))
    }
}

pub(super) fn calendar(tz: Tz, raw: &RawSchedule) -> Result<Calendar, ConfigError> {
    let mut slot_times = Vec::new();
    for (i, s) in raw.slots.iter().enumerate() {
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
    if raw.minutes == 0 || raw.minutes > 240 {
        return Err(key_err("schedule.minutes", "must be between 1 and 240"));
    }
    if raw.horizon_days == 0 || raw.horizon_days > 366 {
        return Err(key_err(
            "schedule.horizon_days",
            "must be between 1 and 366",
        ));
    }
    let mut closed = BTreeSet::new();
    for (i, s) in raw.closed.iter().enumerate() {
        let d = NaiveDate::parse_from_str(s.trim(), "%Y-%m-%d").map_err(|_| {
            key_err(
                &format!("schedule.closed[{i}]"),
                format!("{s:?} is not a date like \"2026-12-28\""),
            )
        })?;
        closed.insert(d);
    }
    Ok(Calendar {
        tz,
        slot_times,
        slot_minutes: raw.minutes,
        horizon_days: raw.horizon_days,
        closed,
        closures: Default::default(),
    })
}

/// `[meeting]`: where meetings come from and the rooms that count parallel
/// sessions (and stand in when Zoom fails).
pub(super) fn meeting(
    raw: RawMeeting,
    base: &Path,
) -> Result<(MeetingProvider, Option<Zoom>, Vec<Room>), ConfigError> {
    let provider = match raw.provider.as_deref().unwrap_or("rooms") {
        "rooms" => MeetingProvider::Rooms,
        "zoom" => MeetingProvider::Zoom,
        other => {
            return Err(key_err(
                "meeting.provider",
                format!("{other:?} is not \"rooms\" or \"zoom\""),
            ))
        }
    };
    let zoom = match (provider, raw.zoom) {
        (MeetingProvider::Zoom, Some(z)) => Some(zoom_settings(z, base)?),
        (MeetingProvider::Zoom, None) => return Err(key_err(
            "meeting.zoom",
            "provider = \"zoom\" needs [meeting.zoom] with account_id, client_id and client_secret",
        )),
        (MeetingProvider::Rooms, _) => None,
    };
    // With Zoom the hosts give the capacity (`Config::seats`); rooms are optional.
    if raw.rooms.is_empty() && provider == MeetingProvider::Rooms {
        return Err(key_err(
            "meeting.rooms",
            "needs at least one [[meeting.rooms]] with id and passcode (or provider = \"zoom\")",
        ));
    }
    let mut rooms = Vec::new();
    let mut ids = BTreeSet::new();
    for (i, r) in raw.rooms.into_iter().enumerate() {
        nonempty(&format!("meeting.rooms[{i}].id"), &r.id)?;
        match (&r.passcode, provider) {
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
    Ok((provider, zoom, rooms))
}

pub(super) fn folders(raw: RawFolders) -> Result<Folders, ConfigError> {
    for (key, v) in [
        ("folders.handled", &raw.handled),
        ("folders.staff", &raw.staff),
        ("folders.machine", &raw.machine),
        ("folders.failed", &raw.failed),
    ] {
        nonempty(key, v)?;
    }
    if let Some(sent) = &raw.sent {
        nonempty("folders.sent", sent)?;
    }
    Ok(Folders {
        handled: raw.handled,
        staff: raw.staff,
        machine: raw.machine,
        sent: raw.sent,
        failed: raw.failed,
    })
}

/// `[templates]`, resolved against the config file's folder.
pub(super) struct TemplatePaths {
    /// The office's own folder.
    pub(super) dir: Option<PathBuf>,
    /// The folder an office's own one falls back to.
    pub(super) shared_dir: Option<PathBuf>,
    pub(super) terms_file: Option<PathBuf>,
}

pub(super) fn template_paths(
    raw: &RawTemplates,
    base: &Path,
) -> Result<TemplatePaths, ConfigError> {
    let resolve = |p: &PathBuf| {
        if p.is_absolute() {
            p.clone()
        } else {
            base.join(p)
        }
    };
    let dir = raw.dir.as_ref().map(resolve);
    if let Some(dir) = &dir {
        if !dir.is_dir() {
            return Err(key_err(
                "templates.dir",
                format!("{} is not a directory", dir.display()),
            ));
        }
    }
    let shared_dir = raw.shared_dir.as_ref().map(resolve);
    let terms_file = raw.terms_file.as_ref().map(resolve);
    if let Some(f) = &terms_file {
        if !f.is_file() {
            return Err(key_err(
                "templates.terms_file",
                format!("{} is not a file", f.display()),
            ));
        }
    }
    Ok(TemplatePaths {
        dir,
        shared_dir,
        terms_file,
    })
}

/// `[limits]`: how much one sender and one 求職番号 get answered.
pub(super) fn limits(raw: &RawLimits) -> Result<(), ConfigError> {
    if raw.per_sender_per_day == 0 {
        return Err(key_err("limits.per_sender_per_day", "must be at least 1"));
    }
    if raw.per_seeker_per_day == 0 {
        return Err(key_err("limits.per_seeker_per_day", "must be at least 1"));
    }
    if raw.max_message_bytes < 1024 {
        return Err(key_err("limits.max_message_bytes", "must be at least 1024"));
    }
    Ok(())
}

/// A daily job's local time (`[reminders]`, `[digest]`); None when off.
pub(super) fn daily(
    section: &str,
    raw: &RawTimed,
    default: &str,
) -> Result<Option<NaiveTime>, ConfigError> {
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
}

/// The timers of the booking rules: the reminder and the no-show rule (第6条(5)).
pub(super) fn rules(reminders: &RawTimed, raw: &RawNoShow) -> Result<Rules, ConfigError> {
    let reminder_at = daily("reminders", reminders, "08:00")?;
    let no_show_after_minutes = raw.after_minutes.unwrap_or(10);
    if !(0..=240).contains(&no_show_after_minutes) {
        return Err(key_err(
            "no_show.after_minutes",
            "must be between 0 and 240",
        ));
    }
    let no_show_limit = raw.limit.unwrap_or(2);
    if no_show_limit == 0 {
        return Err(key_err("no_show.limit", "must be at least 1"));
    }
    Ok(Rules {
        reminder_at,
        no_show_after_minutes,
        no_show_limit,
    })
}
