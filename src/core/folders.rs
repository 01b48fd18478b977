//! Where a configured folder lives on the office's IMAP server: decided from
//! what the server said of itself (NAMESPACE, the hierarchy delimiter, the
//! folders it lists), never from its name or brand. The IMAP edge gathers a
//! [`Layout`], asks [`place`], and carries out the answer.

use chrono::{DateTime, Utc};

/// What the server said about its folders, names decoded from modified
/// UTF-7.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Layout {
    /// The personal namespace's prefix (RFC 2342), e.g. `"INBOX."` on
    /// Cyrus and Courier, `""` on Dovecot; None when the server offers no
    /// NAMESPACE.
    pub personal_prefix: Option<String>,
    /// The hierarchy delimiter (from NAMESPACE, else `LIST "" ""`).
    pub delimiter: Option<char>,
    /// Every folder the server lists, decoded.
    pub existing: Vec<String>,
}

/// Where to find or make one folder: the names to use, in order. The first
/// that exists is used as it is; otherwise each is created in turn until
/// the server takes one.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Placement {
    /// An existing folder that answers the configured name, if any.
    pub existing: Option<String>,
    /// Names to CREATE, best first (empty when `existing` is set).
    pub to_create: Vec<String>,
}

fn is_inbox(name: &str) -> bool {
    name.eq_ignore_ascii_case("INBOX")
}

/// Whether `name` is one of the listed folders (INBOX in any case).
fn listed(layout: &Layout, name: &str) -> bool {
    layout
        .existing
        .iter()
        .any(|e| e == name || (is_inbox(e) && is_inbox(name)))
}

/// Where the folder configured as `configured` is, or should be made.
///
/// - A name the server lists already is used as given (so an office can
///   write `folders.handled = "INBOX.処理済"`, or name a shared folder).
/// - Under a personal namespace with a prefix (`INBOX.` on Cyrus with
///   Debian's `altnamespace: no`), the folder is the prefix + the name.
/// - Without NAMESPACE the old guess stands: the name at the top level,
///   then under INBOX with the server's delimiter.
pub fn place(configured: &str, layout: &Layout) -> Placement {
    if listed(layout, configured) {
        return Placement {
            existing: Some(configured.to_string()),
            to_create: Vec::new(),
        };
    }
    let mut names: Vec<String> = Vec::new();
    match layout.personal_prefix.as_deref() {
        Some(prefix)
            if !prefix.is_empty() && !configured.starts_with(prefix) && !is_inbox(configured) =>
        {
            names.push(format!("{prefix}{configured}"));
        }
        Some(_) => names.push(configured.to_string()),
        None => {
            names.push(configured.to_string());
            if let Some(d) = layout.delimiter {
                let under_inbox = format!("INBOX{d}{configured}");
                if !configured.starts_with(&format!("INBOX{d}")) {
                    names.push(under_inbox);
                }
            }
        }
    }
    if let Some(found) = names.iter().find(|n| listed(layout, n)) {
        return Placement {
            existing: Some(found.clone()),
            to_create: Vec::new(),
        };
    }
    Placement {
        existing: None,
        to_create: names,
    }
}

/// A folder the server lists whose last level is the configured name, for
/// a config that should name it (`folders.handled = "INBOX/処理済"` when
/// the server keeps it there and will not make another): None when there
/// is none, and the fix is on the server (rights, quota).
pub fn suggested_name(configured: &str, layout: &Layout) -> Option<String> {
    let d = layout.delimiter?;
    layout
        .existing
        .iter()
        .find(|e| {
            e.as_str() != configured && e.rsplit_once(d).is_some_and(|(_, last)| last == configured)
        })
        .cloned()
}

/// The personal namespace of a NAMESPACE response line (RFC 2342):
/// `* NAMESPACE (("INBOX." ".")) NIL NIL` → (`"INBOX."`, Some('.')).
/// None when the line is no NAMESPACE response or has no personal
/// namespace (NIL). The prefix is returned as sent (modified UTF-7).
pub fn parse_namespace(line: &str) -> Option<(String, Option<char>)> {
    let rest = line.trim_start().strip_prefix('*')?.trim_start();
    let (word, rest) = rest.split_once(' ')?;
    if !word.eq_ignore_ascii_case("NAMESPACE") {
        return None;
    }
    let rest = rest.trim_start().strip_prefix("((")?;
    let (prefix, rest) = quoted(rest)?;
    let rest = rest.trim_start();
    let delimiter = if rest.len() >= 3 && rest[..3].eq_ignore_ascii_case("NIL") {
        None
    } else {
        let (d, _) = quoted(rest)?;
        d.chars().next()
    };
    Some((prefix, delimiter))
}

/// A quoted IMAP string at the start of `s` (with `\"` and `\\` escapes)
/// and what follows it.
fn quoted(s: &str) -> Option<(String, &str)> {
    let body = s.strip_prefix('"')?;
    let mut out = String::new();
    let mut chars = body.char_indices();
    while let Some((i, c)) = chars.next() {
        match c {
            '\\' => out.push(chars.next()?.1),
            '"' => return Some((out, &body[i + 1..])),
            c => out.push(c),
        }
    }
    None
}

/// A folder the server refused to make, as the desk remembers it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Trouble {
    pub failures: u32,
    pub next_try: DateTime<Utc>,
}

/// The pause after the first refusal, doubled after each one after it.
const FIRST_PAUSE_SECONDS: i64 = 60;
/// A permanent refusal is still tried this often: a fix on the server is
/// found within the hour.
const LONGEST_PAUSE_SECONDS: i64 = 3600;

/// One more refusal: when to try again.
pub fn refused(before: Option<&Trouble>, now: DateTime<Utc>) -> Trouble {
    let failures = before.map_or(0, |t| t.failures).saturating_add(1);
    let pause = FIRST_PAUSE_SECONDS
        .saturating_mul(1i64 << (failures - 1).min(20))
        .min(LONGEST_PAUSE_SECONDS);
    Trouble {
        failures,
        next_try: now + chrono::Duration::seconds(pause),
    }
}

/// Whether a refused folder may be tried again at `now`.
pub fn due(trouble: &Trouble, now: DateTime<Utc>) -> bool {
    now >= trouble.next_try
}

/// The office's meta key that marks a refused folder (configured name).
pub fn trouble_key(folder: &str) -> String {
    format!("{TROUBLE_PREFIX}{folder}")
}

/// The prefix of every such key.
pub const TROUBLE_PREFIX: &str = "imap_folder_refused:";

#[cfg(test)]
mod tests {
    use super::*;

    fn layout(prefix: Option<&str>, delim: Option<char>, existing: &[&str]) -> Layout {
        Layout {
            personal_prefix: prefix.map(str::to_string),
            delimiter: delim,
            existing: existing.iter().map(|s| s.to_string()).collect(),
        }
    }

    #[test]
    fn cyrus_default_namespace_puts_folders_under_inbox() {
        let l = layout(Some("INBOX."), Some('.'), &["INBOX"]);
        let p = place("処理済", &l);
        assert_eq!(p.existing, None);
        assert_eq!(p.to_create, vec!["INBOX.処理済".to_string()]);
        let l = layout(Some("INBOX."), Some('.'), &["INBOX", "INBOX.処理済"]);
        assert_eq!(
            place("処理済", &l).existing.as_deref(),
            Some("INBOX.処理済")
        );
    }

    #[test]
    fn a_name_given_with_the_prefix_or_listed_is_used_as_given() {
        let l = layout(Some("INBOX."), Some('.'), &["INBOX", "INBOX.Done"]);
        assert_eq!(
            place("INBOX.Done", &l).existing.as_deref(),
            Some("INBOX.Done")
        );
        let p = place("INBOX.New", &l);
        assert_eq!(p.to_create, vec!["INBOX.New".to_string()]);
        let l = layout(Some(""), Some('/'), &["INBOX", "Shared/Desk"]);
        assert_eq!(
            place("Shared/Desk", &l).existing.as_deref(),
            Some("Shared/Desk")
        );
        assert_eq!(place("inbox", &l).existing.as_deref(), Some("inbox"));
    }

    #[test]
    fn dovecot_top_level_namespace_creates_at_the_top() {
        let l = layout(Some(""), Some('/'), &["INBOX", "Sent"]);
        let p = place("要対応", &l);
        assert_eq!(p.to_create, vec!["要対応".to_string()]);
    }

    #[test]
    fn without_namespace_the_top_level_then_under_inbox() {
        let l = layout(None, Some('.'), &["INBOX"]);
        assert_eq!(
            place("処理済", &l).to_create,
            vec!["処理済".to_string(), "INBOX.処理済".to_string()]
        );
        let l = layout(None, Some('.'), &["INBOX", "INBOX.処理済"]);
        assert_eq!(
            place("処理済", &l).existing.as_deref(),
            Some("INBOX.処理済")
        );
        let l = layout(None, None, &[]);
        assert_eq!(place("処理済", &l).to_create, vec!["処理済".to_string()]);
    }

    #[test]
    fn the_suggested_fix_names_a_folder_of_that_name_elsewhere() {
        let l = layout(Some("INBOX."), Some('.'), &["INBOX"]);
        assert_eq!(suggested_name("処理済", &l), None);
        let l = layout(Some(""), Some('/'), &["INBOX", "Shared/処理済", "処理済x"]);
        assert_eq!(
            suggested_name("処理済", &l).as_deref(),
            Some("Shared/処理済")
        );
        assert_eq!(suggested_name("Shared/処理済", &l), None);
    }

    #[test]
    fn a_refused_folder_is_tried_again_slower_each_time_up_to_an_hour() {
        let t0 = chrono::TimeZone::with_ymd_and_hms(&Utc, 2030, 1, 1, 0, 0, 0)
            .single()
            .expect("t0");
        let first = refused(None, t0);
        assert_eq!(first.failures, 1);
        assert!(!due(&first, t0 + chrono::Duration::seconds(59)));
        assert!(due(&first, t0 + chrono::Duration::seconds(60)));
        let mut t = first;
        for _ in 0..40 {
            t = refused(Some(&t), t0);
        }
        assert_eq!(t.next_try, t0 + chrono::Duration::hours(1));
        assert_eq!(t.failures, 41);
    }

    #[test]
    fn namespace_lines_parse() {
        assert_eq!(
            parse_namespace(r#"* NAMESPACE (("INBOX." ".")) (("user." ".")) (("" "."))"#),
            Some(("INBOX.".to_string(), Some('.')))
        );
        assert_eq!(
            parse_namespace(r#"* NAMESPACE (("" "/")) NIL NIL"#),
            Some((String::new(), Some('/')))
        );
        assert_eq!(
            parse_namespace(r#"* namespace (("" NIL)) NIL NIL"#),
            Some((String::new(), None))
        );
        assert_eq!(
            parse_namespace(r#"* NAMESPACE (("a\"b" "\\")) NIL NIL"#),
            Some(("a\"b".to_string(), Some('\\')))
        );
        assert_eq!(parse_namespace("* NAMESPACE NIL NIL NIL"), None);
        assert_eq!(parse_namespace("* OK fine"), None);
        assert_eq!(parse_namespace(r#"* NAMESPACE (("unterminated"#), None);
        assert_eq!(parse_namespace(""), None);
    }
}
