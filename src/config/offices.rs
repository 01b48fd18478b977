//! Many offices in one config: `[[offices]]`, each merged over the shared
//! top-level sections into a complete single-office config (see
//! `Config::load_offices`). A file without `[[offices]]` is one office,
//! `default`.

use super::*;
use toml::{Table, Value};

/// The sections an office may override, merged key by key over the
/// top-level section of the same name.
const SECTIONS: &[&str] = &[
    "imap",
    "smtp",
    "schedule",
    "meeting",
    "folders",
    "templates",
    "reminders",
    "reminder",
    "no_show",
    "digest",
    "limits",
    "oauth2",
];

/// The keys of `[office]` an `[[offices]]` entry carries directly.
const OFFICE_KEYS: &[&str] = &[
    "name",
    "phone",
    "staff_address",
    "staff_email",
    "timezone",
    "hours",
    "language",
];

/// Keys every office needs, from its entry or the shared sections.
const REQUIRED: &[(&str, &str)] = &[
    ("office", "name"),
    ("office", "phone"),
    ("office", "staff_address"),
    ("imap", "host"),
    ("imap", "username"),
    ("smtp", "host"),
    ("smtp", "from"),
];

/// Splits a config's text into one merged table per office: (id, table).
pub(super) fn split(text: &str) -> Result<Vec<(String, Table)>, ConfigError> {
    let mut root: Table = text
        .parse()
        .map_err(|e: toml::de::Error| ConfigError::Syntax {
            path: PathBuf::new(),
            message: e.to_string(),
        })?;
    let Some(entries) = root.remove("offices") else {
        return Ok(vec![(DEFAULT_OFFICE.to_string(), root)]);
    };
    let Value::Array(entries) = entries else {
        return Err(key_err(
            "offices",
            "must be an array of tables: [[offices]]",
        ));
    };
    if entries.is_empty() {
        return Err(key_err(
            "offices",
            "is empty; remove it or add an [[offices]] entry",
        ));
    }
    let mut out: Vec<(String, Table)> = Vec::new();
    for (i, entry) in entries.into_iter().enumerate() {
        let Value::Table(mut entry) = entry else {
            return Err(key_err(&format!("offices[{i}]"), "must be a table"));
        };
        let id = match entry.remove("id") {
            Some(Value::String(id)) => id,
            Some(_) => return Err(key_err(&format!("offices[{i}].id"), "must be a string")),
            None => return Err(key_err(&format!("offices[{i}].id"), "missing")),
        };
        if id.is_empty()
            || id.len() > 63
            || !id
                .chars()
                .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-')
        {
            return Err(key_err(
                &format!("offices[{i}].id"),
                format!("{id:?}: use 1 to 63 of a-z, 0-9 and -"),
            ));
        }
        if out.iter().any(|(other, _)| *other == id) {
            return Err(key_err(&format!("offices[{id}].id"), "used by two offices"));
        }
        let mut merged = root.clone();
        let mut office = match merged.remove("office") {
            Some(Value::Table(t)) => t,
            _ => Table::new(),
        };
        for key in OFFICE_KEYS {
            if let Some(v) = entry.remove(*key) {
                office.insert((*key).to_string(), v);
            }
        }
        merged.insert("office".to_string(), Value::Table(office));
        for section in SECTIONS {
            let Some(over) = entry.remove(*section) else {
                continue;
            };
            let Value::Table(over) = over else {
                return Err(key_err(
                    &format!("offices[{id}].{section}"),
                    "must be a table",
                ));
            };
            let mut base = match merged.remove(*section) {
                Some(Value::Table(t)) => t,
                _ => Table::new(),
            };
            // An office's own template folder falls back to the shared one
            // (then to the built-in texts), template by template.
            if *section == "templates" && over.contains_key("dir") {
                if let Some(shared) = base.get("dir").cloned() {
                    base.insert("shared_dir".to_string(), shared);
                }
            }
            for (k, v) in over {
                base.insert(k, v);
            }
            merged.insert((*section).to_string(), Value::Table(base));
        }
        if let Some(key) = entry.keys().next() {
            return Err(key_err(
                &format!("offices[{id}].{key}"),
                "not a key of an office (shared settings such as [database] are top-level)",
            ));
        }
        // What serde would report as a bare "missing field": named here, so
        // the error says which office (offices[izumo].imap.username).
        for (section, key) in REQUIRED {
            let present = merged
                .get(*section)
                .and_then(Value::as_table)
                .is_some_and(|t| {
                    t.contains_key(*key)
                        || (*key == "staff_address" && t.contains_key("staff_email"))
                });
            if !present {
                return Err(ConfigError::Key {
                    key: format!("offices[{id}].{section}.{key}"),
                    problem: "missing".to_string(),
                });
            }
        }
        out.push((id, merged));
    }
    Ok(out)
}
