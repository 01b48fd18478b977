//! Delivery failures of our own mail: which mail came back, for whom, and
//! whether for good. Read from a DSN (RFC 3464 `multipart/report`) and from
//! the non-standard forms (qmail, Exim, carriers' Japanese notices), which
//! all quote the returned mail's headers and a status or an SMTP reply.

use regex::Regex;
use std::sync::LazyLock;

/// How far back a bounce that quotes none of our Message-IDs is matched
/// by its recipient: bounces come within days.
pub const MATCH_BY_RECIPIENT_DAYS: i64 = 14;

/// How final a delivery failure is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Severity {
    /// 5.x.x, `Action: failed`, "user unknown": the address does not take mail.
    Permanent,
    /// 4.x.x, `Action: delayed`: the server keeps trying.
    Delayed,
    /// A failure notice that says neither: a person reads it.
    Unknown,
}

/// What a failure notice says.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Report {
    pub severity: Severity,
    /// The failed recipients it names (bare addresses).
    pub recipients: Vec<String>,
    /// The enhanced status code (`5.1.1`), the first one given.
    pub status: Option<String>,
    /// The remote server's words (Diagnostic-Code), one line, bounded.
    pub diagnostic: Option<String>,
    /// Message-IDs quoted from the returned mail: ours among them.
    pub message_ids: Vec<String>,
}

static FIELD: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"(?im)^(final-recipient|original-recipient|x-failed-recipients|action|status|diagnostic-code|message-id)\s*:\s*(.*(?:\r?\n[ \t]+.*)*)")
        .expect("dsn field regex")
});
static STATUS: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r"\b([245])\.(\d{1,3})\.(\d{1,3})\b").expect("status regex"));
static SMTP_REPLY: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r"(?m)(?:^|[\s:(])([45])[0-5]\d[ -]").expect("smtp reply regex"));
static ANGLE_ID: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r"<([^<>\s]+@[^<>\s]+)>").expect("message id regex"));
static OUR_ID: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r"yoyaku\.[A-Za-z0-9]+@[A-Za-z0-9.\-]+").expect("our id regex"));

/// Words of a final failure in the notices that carry no status.
const PERMANENT_WORDS: &[&str] = &[
    "user unknown",
    "unknown user",
    "no such user",
    "does not exist",
    "mailbox unavailable",
    "recipient address rejected",
    "address rejected",
    "permanent error",
    "permanent failure",
    "undeliverable",
    "宛先不明",
    "存在しません",
    "見つかりません",
    "受信拒否",
];
/// Words of a delay notice.
const DELAY_WORDS: &[&str] = &[
    "delayed",
    "delay notification",
    "will retry",
    "still trying",
    "has not yet been delivered",
    "遅延",
];

/// Reads a failure notice's text (its decoded body and its raw parts).
pub fn read(text: &str) -> Report {
    let mut recipients = Vec::new();
    let mut actions = Vec::new();
    let mut status = None;
    let mut diagnostic = None;
    let mut message_ids = Vec::new();
    for c in FIELD.captures_iter(text) {
        let value = c[2].split_whitespace().collect::<Vec<_>>().join(" ");
        match c[1].to_ascii_lowercase().as_str() {
            "final-recipient" | "original-recipient" | "x-failed-recipients" => {
                // `rfc822; a@b` or a bare list.
                let list = value.rsplit(';').next().unwrap_or("");
                for a in list.split(',').filter_map(super::address::from_header) {
                    if !recipients.contains(&a) {
                        recipients.push(a);
                    }
                }
            }
            "action" => actions.push(value.to_ascii_lowercase()),
            "status" if status.is_none() => {
                status = STATUS.find(&value).map(|m| m.as_str().to_string());
            }
            "diagnostic-code" if diagnostic.is_none() => {
                let words = value.split_once(';').map_or(value.as_str(), |(_, w)| w);
                diagnostic = Some(super::text::single_line(words.trim(), 200));
            }
            "message-id" => {
                if let Some(id) = ANGLE_ID.captures(&value) {
                    push_unique(&mut message_ids, id[1].to_string());
                }
            }
            _ => {}
        }
    }
    // Ours quoted anywhere, even where a header was rewrapped or indented.
    for m in OUR_ID.find_iter(text) {
        push_unique(&mut message_ids, m.as_str().to_string());
    }
    let status = status.or_else(|| STATUS.find(text).map(|m| m.as_str().to_string()));
    let severity = severity(text, &actions, status.as_deref());
    Report {
        severity,
        recipients,
        status,
        diagnostic,
        message_ids,
    }
}

fn push_unique(list: &mut Vec<String>, id: String) {
    if !list.contains(&id) && list.len() < 20 {
        list.push(id);
    }
}

fn severity(text: &str, actions: &[String], status: Option<&str>) -> Severity {
    if actions.iter().any(|a| a.starts_with("failed")) {
        return Severity::Permanent;
    }
    if actions.iter().any(|a| a.starts_with("delayed")) {
        return Severity::Delayed;
    }
    match status.and_then(|s| s.chars().next()) {
        Some('5') => return Severity::Permanent,
        Some('4') => return Severity::Delayed,
        _ => {}
    }
    let lower = text.to_lowercase();
    if DELAY_WORDS.iter().any(|w| lower.contains(w)) {
        return Severity::Delayed;
    }
    if PERMANENT_WORDS.iter().any(|w| lower.contains(w)) {
        return Severity::Permanent;
    }
    match SMTP_REPLY.captures(text).map(|c| c[1].to_string()) {
        Some(code) if code == "5" => Severity::Permanent,
        Some(_) => Severity::Delayed,
        None => Severity::Unknown,
    }
}

/// Whether a permanent SMTP refusal of our submission is about the
/// recipient (an enhanced status of the address or the mailbox: 5.1.x,
/// 5.2.x), as a bounce would be, rather than about us (5.7.x: our login or
/// policy; those go to staff as a sending failure).
pub fn refuses_recipient(server_words: &str) -> Option<String> {
    let status = STATUS.find(server_words)?.as_str();
    (status.starts_with("5.1.") || status.starts_with("5.2.")).then(|| status.to_string())
}

/// What the desk does with a failure notice.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Verdict {
    /// Our mail to a seeker will never arrive: the address is marked, no
    /// more mail goes to it, staff get one note with the phone number.
    Unreachable,
    /// Already marked for this request: nothing more (no second note).
    AlreadyKnown,
    /// A delay: recorded on the request, nothing sent.
    Delay,
    /// Not matched to our mail, or unclear: staff read it.
    TellStaff,
}

/// Decides on a notice, given whether it was matched to a mail of ours to a
/// seeker and whether that address is already marked unreachable.
pub fn verdict(report: &Report, matched: bool, already_marked: bool) -> Verdict {
    match (report.severity, matched) {
        (_, false) | (Severity::Unknown, true) => Verdict::TellStaff,
        (Severity::Delayed, true) => Verdict::Delay,
        (Severity::Permanent, true) if already_marked => Verdict::AlreadyKnown,
        (Severity::Permanent, true) => Verdict::Unreachable,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const POSTFIX_DSN: &str = "This is the mail system at host mx.example.jp.\r\n\r\nI'm sorry to have to inform you that your message could not\r\nbe delivered to one or more recipients.\r\n\r\n<nobody@example.test>: host 127.0.0.1[127.0.0.1] said: 550 5.1.1\r\n    <nobody@example.test>: Recipient address rejected\r\n\r\n--B.1\r\nContent-Type: message/delivery-status\r\n\r\nReporting-MTA: dns; mx.example.jp\r\n\r\nFinal-Recipient: rfc822; nobody@example.test\r\nOriginal-Recipient: rfc822;nobody@example.test\r\nAction: failed\r\nStatus: 5.1.1\r\nDiagnostic-Code: smtp; 550 5.1.1 <nobody@example.test>: Recipient address\r\n    rejected: User unknown\r\n\r\n--B.1\r\nContent-Type: message/rfc822\r\n\r\nFrom: desk@office.example.jp\r\nMessage-ID: <yoyaku.AbC123@office.example.jp>\r\nSubject: x\r\n";

    #[test]
    fn a_dsn_names_the_recipient_the_status_and_our_mail() {
        let r = read(POSTFIX_DSN);
        assert_eq!(r.severity, Severity::Permanent);
        assert_eq!(r.recipients, vec!["nobody@example.test".to_string()]);
        assert_eq!(r.status.as_deref(), Some("5.1.1"));
        assert!(r
            .diagnostic
            .as_deref()
            .is_some_and(|d| d.contains("User unknown")));
        assert_eq!(
            r.message_ids,
            vec!["yoyaku.AbC123@office.example.jp".to_string()]
        );
        assert_eq!(verdict(&r, true, false), Verdict::Unreachable);
        assert_eq!(verdict(&r, true, true), Verdict::AlreadyKnown);
        assert_eq!(verdict(&r, false, false), Verdict::TellStaff);
    }

    #[test]
    fn a_delay_is_not_a_failure() {
        let text = POSTFIX_DSN
            .replace("Action: failed", "Action: delayed")
            .replace("5.1.1", "4.4.1");
        let r = read(&text);
        assert_eq!(r.severity, Severity::Delayed);
        assert_eq!(verdict(&r, true, false), Verdict::Delay);
    }

    #[test]
    fn a_refused_recipient_is_told_from_a_refused_sender() {
        assert_eq!(
            refuses_recipient("permanent error (550): 5.1.1 <a@b.jp>: Recipient address rejected")
                .as_deref(),
            Some("5.1.1")
        );
        assert_eq!(
            refuses_recipient("550 5.2.2 mailbox full"),
            Some("5.2.2".into())
        );
        assert_eq!(
            refuses_recipient("550 5.7.30 Basic authentication is not supported"),
            None
        );
        assert_eq!(refuses_recipient("connection error"), None);
    }

    #[test]
    fn non_standard_notices() {
        let qmail = "Hi. This is the qmail-send program at mail.example.jp.\nI'm afraid I wasn't able to deliver your message to the following addresses.\nThis is a permanent error; I've given up. Sorry it didn't work out.\n\n<taro..yamada@docomo.ne.jp>:\nSorry, no mailbox here by that name. (#5.1.1)\n\n--- Below this line is a copy of the message.\n\nMessage-Id: <yoyaku.Zz9@office.example.jp>\n";
        let r = read(qmail);
        assert_eq!(r.severity, Severity::Permanent);
        assert_eq!(
            r.message_ids,
            vec!["yoyaku.Zz9@office.example.jp".to_string()]
        );
        let exim = "X-Failed-Recipients: hanako.@ezweb.ne.jp\nThis message was created automatically by mail delivery software.\nA message that you sent could not be delivered to one or more of its\nrecipients. This is a permanent error.\n";
        let r = read(exim);
        assert_eq!(r.severity, Severity::Permanent);
        assert_eq!(r.recipients, vec!["hanako.@ezweb.ne.jp".to_string()]);
        let carrier = "送信したメールは宛先不明のため配信できませんでした。\n";
        assert_eq!(read(carrier).severity, Severity::Permanent);
        assert_eq!(read("何かのお知らせ").severity, Severity::Unknown);
    }
}
