//! Telling machine mail from people's mail (RFC 3834 and what Japanese
//! auto-responders really send), so the desk never answers a machine.

/// Why a message is machine mail, or that it is not.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum MailKind {
    #[default]
    Person,
    /// A delivery status notification: our mail did not arrive.
    Bounce,
    /// Vacation replies, auto-responders.
    AutoReply,
    /// Mailing lists and bulk mail.
    Bulk,
}

/// The headers that decide the kind, already decoded.
#[derive(Debug, Default, Clone)]
pub struct MachineHints<'a> {
    pub auto_submitted: Option<&'a str>,
    pub precedence: Option<&'a str>,
    pub list_id: bool,
    pub list_unsubscribe: bool,
    /// `Some("")` when the Return-Path is the null sender `<>`.
    pub return_path: Option<&'a str>,
    pub content_type: Option<&'a str>,
    pub report_type: Option<&'a str>,
    pub from: &'a str,
    pub subject: &'a str,
    pub x_autoreply: bool,
}

pub fn classify(h: &MachineHints<'_>) -> MailKind {
    let from = h.from.to_ascii_lowercase();
    let content_type = h.content_type.unwrap_or("").to_ascii_lowercase();
    if content_type.contains("multipart/report")
        && h.report_type
            .is_some_and(|r| r.eq_ignore_ascii_case("delivery-status"))
        || from.starts_with("mailer-daemon@")
        || from.starts_with("postmaster@") && h.return_path == Some("")
    {
        return MailKind::Bounce;
    }
    if h.auto_submitted
        .is_some_and(|v| !v.trim().eq_ignore_ascii_case("no"))
        || h.x_autoreply
    {
        return MailKind::AutoReply;
    }
    if h.list_id || h.list_unsubscribe {
        return MailKind::Bulk;
    }
    if let Some(p) = h.precedence {
        let p = p.trim().to_ascii_lowercase();
        if p == "bulk" || p == "list" || p == "junk" {
            return MailKind::Bulk;
        }
        if p == "auto_reply" {
            return MailKind::AutoReply;
        }
    }
    if h.return_path == Some("") {
        return MailKind::AutoReply;
    }
    let subject = h.subject;
    let auto_subjects = [
        "不在",
        "自動応答",
        "自動返信",
        "自動送信",
        "Out of Office",
        "Auto-Reply",
        "Autoreply",
        "Automatic reply",
        "休暇",
    ];
    if auto_subjects
        .iter()
        .any(|s| subject.to_lowercase().contains(&s.to_lowercase()))
    {
        return MailKind::AutoReply;
    }
    if from.starts_with("no-reply@")
        || from.starts_with("noreply@")
        || from.starts_with("do-not-reply@")
    {
        return MailKind::Bulk;
    }
    MailKind::Person
}

#[cfg(test)]
mod tests {
    use super::*;

    fn person<'a>() -> MachineHints<'a> {
        MachineHints {
            from: "taro@example.jp",
            subject: "予約",
            return_path: Some("taro@example.jp"),
            ..Default::default()
        }
    }

    #[test]
    fn people_are_people() {
        assert_eq!(classify(&person()), MailKind::Person);
        let h = MachineHints {
            auto_submitted: Some("no"),
            ..person()
        };
        assert_eq!(classify(&h), MailKind::Person);
    }

    #[test]
    fn machines_are_recognised() {
        assert_eq!(
            classify(&MachineHints {
                auto_submitted: Some("auto-replied"),
                ..person()
            }),
            MailKind::AutoReply
        );
        assert_eq!(
            classify(&MachineHints {
                precedence: Some("bulk"),
                ..person()
            }),
            MailKind::Bulk
        );
        assert_eq!(
            classify(&MachineHints {
                list_id: true,
                ..person()
            }),
            MailKind::Bulk
        );
        assert_eq!(
            classify(&MachineHints {
                return_path: Some(""),
                ..person()
            }),
            MailKind::AutoReply
        );
        assert_eq!(
            classify(&MachineHints {
                subject: "【自動返信】不在にしております",
                ..person()
            }),
            MailKind::AutoReply
        );
        let dsn = MachineHints {
            content_type: Some("multipart/report"),
            report_type: Some("delivery-status"),
            from: "MAILER-DAEMON@mail.example.jp",
            return_path: Some(""),
            ..person()
        };
        assert_eq!(classify(&dsn), MailKind::Bounce);
    }
}
