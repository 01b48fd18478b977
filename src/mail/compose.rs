//! Outgoing mail: minijinja templates (Japanese text lives in `templates/`,
//! editable without a rebuild; the built-in copies are the fallback) turned
//! into complete MIME messages with a stable Message-ID, threading headers
//! and the RFC 3834 markers. Seeker text is only ever template *data*.

use crate::config::Config;
use crate::core::text::single_line;
pub use crate::mail::notice::{DateView, SlotView};
use crate::mail::notice::{Invite, Notice};
use lettre::message::header::{ContentType, HeaderName, HeaderValue};
use lettre::message::{Attachment, Mailbox, MultiPart, SinglePart};
use lettre::Message;
use minijinja::{AutoEscape, Environment, Value};
use rand::Rng;
use serde::Serialize;
use sha2::{Digest, Sha256};
use std::path::PathBuf;

#[derive(Debug, thiserror::Error)]
pub enum ComposeError {
    #[error("template {name} failed: {source}")]
    Template {
        name: String,
        source: minijinja::Error,
    },
    #[error("template {name} must start with a \"Subject:\" line")]
    NoSubject { name: String },
    #[error("cannot read terms file {path}: {source}")]
    Terms {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("invalid address in {field}: {message}")]
    Address {
        field: &'static str,
        message: String,
    },
    #[error("cannot build message: {0}")]
    Build(String),
}

const BUILTIN: &[(&str, &str)] = &[
    ("_macros.j2", include_str!("../../templates/_macros.j2")),
    ("_ref_tag.j2", include_str!("../../templates/_ref_tag.j2")),
    ("offer.txt.j2", include_str!("../../templates/offer.txt.j2")),
    ("freed.txt.j2", include_str!("../../templates/freed.txt.j2")),
    (
        "freed_taken.txt.j2",
        include_str!("../../templates/freed_taken.txt.j2"),
    ),
    (
        "missing.txt.j2",
        include_str!("../../templates/missing.txt.j2"),
    ),
    (
        "confirm.txt.j2",
        include_str!("../../templates/confirm.txt.j2"),
    ),
    (
        "ask_which.txt.j2",
        include_str!("../../templates/ask_which.txt.j2"),
    ),
    (
        "follow_up.txt.j2",
        include_str!("../../templates/follow_up.txt.j2"),
    ),
    (
        "lapsed.txt.j2",
        include_str!("../../templates/lapsed.txt.j2"),
    ),
    (
        "withdrawn.txt.j2",
        include_str!("../../templates/withdrawn.txt.j2"),
    ),
    (
        "holding.txt.j2",
        include_str!("../../templates/holding.txt.j2"),
    ),
    (
        "forwarded.txt.j2",
        include_str!("../../templates/forwarded.txt.j2"),
    ),
    (
        "after_booking.txt.j2",
        include_str!("../../templates/after_booking.txt.j2"),
    ),
    ("staff.txt.j2", include_str!("../../templates/staff.txt.j2")),
    (
        "_staff_labels.j2",
        include_str!("../../templates/_staff_labels.j2"),
    ),
    (
        "cancelled.txt.j2",
        include_str!("../../templates/cancelled.txt.j2"),
    ),
    (
        "same_day_cancel.txt.j2",
        include_str!("../../templates/same_day_cancel.txt.j2"),
    ),
    (
        "reminder.txt.j2",
        include_str!("../../templates/reminder.txt.j2"),
    ),
    (
        "staff_booked.txt.j2",
        include_str!("../../templates/staff_booked.txt.j2"),
    ),
    (
        "digest.txt.j2",
        include_str!("../../templates/digest.txt.j2"),
    ),
    (
        "confirm_by_reply.txt.j2",
        include_str!("../../templates/confirm_by_reply.txt.j2"),
    ),
    (
        "invite.ics.j2",
        include_str!("../../templates/invite.ics.j2"),
    ),
    (
        "meeting_topic.j2",
        include_str!("../../templates/meeting_topic.j2"),
    ),
];
const BUILTIN_TERMS: &str = include_str!("../../templates/terms.txt");
const TERMS_FILENAME: &str = "オンライン職業相談等利用規約.txt";

/// The thread a reply belongs to.
#[derive(Debug, Clone, Default)]
pub struct Thread {
    pub to: String,
    /// Message-ID we answer, without angle brackets.
    pub in_reply_to: Option<String>,
    pub references: Vec<String>,
    /// The subject of the mail we answer ("" for a new thread).
    pub subject: String,
    /// The seeker's language: the mail is written in it (when its
    /// templates exist) with the Japanese below.
    pub lang: Option<crate::core::lang::Lang>,
}

/// A fully built message, ready for the outbox.
/// One more attachment of a mail.
#[derive(Debug, Clone)]
pub struct Extra {
    pub filename: String,
    pub content_type: String,
    pub body: String,
}

pub struct Outgoing {
    /// Without angle brackets.
    pub message_id: String,
    pub to: String,
    pub raw: Vec<u8>,
}

#[derive(Debug, Clone, Serialize)]
struct OfficeView {
    name: String,
    phone: String,
    hours: Option<String>,
    /// Length of a session (`schedule.minutes`) and the minutes after the
    /// start that make a no-show (`no_show.after_minutes`): the mails say
    /// what the office configured, not fixed numbers.
    session_minutes: u32,
    no_show_minutes: i64,
    /// The domain our mail comes from: what a carrier's filter must allow.
    mail_domain: String,
}

/// How our Message-IDs begin: a reply's References show it answers us.
pub const OUR_ID_PREFIX: &str = "yoyaku.";

pub struct Composer {
    carrier_domains: Vec<String>,
    /// The office's and the shared templates folders (translations of the terms).
    template_dirs: Vec<PathBuf>,
    /// The language for a seeker whose own is not known (`office.language`).
    default_lang: Option<crate::core::lang::Lang>,
    env: Environment<'static>,
    /// The terms of use as the attachment's body, encoded once: every
    /// offer carries them, and encoding them was a fifth of rendering one.
    terms_body: lettre::message::Body,
    terms_sha256: String,
    from: Mailbox,
    domain: String,
    office: OfficeView,
}

impl Composer {
    pub fn new(config: &Config) -> Result<Composer, ComposeError> {
        let mut env = Environment::new();
        env.set_auto_escape_callback(|_| AutoEscape::None);
        env.set_keep_trailing_newline(true);
        env.add_filter("ics", super::ics::escape);
        // The office's folder, then the shared one, then the built-in texts.
        let dirs: Vec<PathBuf> = config
            .templates_dir
            .iter()
            .chain(config.templates_shared_dir.iter())
            .cloned()
            .collect();
        env.set_loader(move |name| {
            for dir in &dirs {
                let path = dir.join(name);
                if path.is_file() {
                    return std::fs::read_to_string(&path).map(Some).map_err(|e| {
                        minijinja::Error::new(
                            minijinja::ErrorKind::InvalidOperation,
                            format!("cannot read {}: {e}", path.display()),
                        )
                    });
                }
            }
            Ok(BUILTIN
                .iter()
                .chain(super::translated::BUILTIN.iter())
                .find(|(n, _)| *n == name)
                .map(|(_, s)| s.to_string()))
        });
        let terms = match &config.terms_file {
            Some(path) => std::fs::read_to_string(path).map_err(|source| ComposeError::Terms {
                path: path.clone(),
                source,
            })?,
            None => match config
                .templates_dir
                .iter()
                .chain(config.templates_shared_dir.iter())
                .map(|dir| dir.join("terms.txt"))
                .find(|path| path.is_file())
            {
                Some(path) => std::fs::read_to_string(&path)
                    .map_err(|source| ComposeError::Terms { path, source })?,
                None => BUILTIN_TERMS.to_string(),
            },
        };
        let terms_sha256 = hex(&Sha256::digest(terms.as_bytes()));
        let from: Mailbox =
            config
                .smtp
                .from
                .parse()
                .map_err(|e: lettre::address::AddressError| ComposeError::Address {
                    field: "smtp.from",
                    message: e.to_string(),
                })?;
        Ok(Composer {
            default_lang: config.office.language,
            template_dirs: config
                .templates_dir
                .iter()
                .chain(config.templates_shared_dir.iter())
                .cloned()
                .collect(),
            env,
            terms_body: lettre::message::Body::new(terms.replace('\n', "\r\n")),
            terms_sha256,
            from,
            domain: config.mail_domain().to_string(),
            office: OfficeView {
                name: config.office.name.clone(),
                phone: config.office.phone.clone(),
                hours: config.office.hours.clone(),
                session_minutes: config.calendar.slot_minutes,
                no_show_minutes: config.rules.no_show_after_minutes,
                mail_domain: config.mail_domain().to_string(),
            },
            carrier_domains: config.office.carrier_domains.clone(),
        })
    }

    /// A staff reason's label (`templates/_staff_labels.j2`): the staff
    /// page shows the words the staff note used.
    pub fn staff_label(&self, reason: &str) -> String {
        self.label("reason(key, office)", reason)
    }

    /// What a kind of our mail is called for staff (offer: 日時のご案内 …).
    pub fn mail_kind_label(&self, kind: &str) -> String {
        self.label("mail_kind(key)", kind)
    }

    fn label(&self, call: &str, key: &str) -> String {
        let source = format!("{{% import \"_staff_labels.j2\" as sl %}}{{{{ sl.{call} }}}}");
        let ctx = minijinja::context! { office => Value::from_serialize(&self.office), key => key };
        self.env
            .render_str(&source, ctx)
            .unwrap_or_else(|_| key.to_string())
    }

    /// SHA-256 of the terms text attached to offers (recorded with consent).
    pub fn terms_sha256(&self) -> &str {
        &self.terms_sha256
    }

    /// Renders a notice into a message for `thread`, with one more
    /// attachment when `extra` (an invitation). The one way the desk writes
    /// mail.
    pub fn render(
        &self,
        notice: &Notice,
        thread: &Thread,
        extra: Option<Extra>,
    ) -> Result<Outgoing, ComposeError> {
        self.compose_with(
            &format!("{}.txt.j2", notice.kind()),
            notice.context(),
            thread,
            notice.attaches_terms(),
            extra,
        )
    }

    /// Renders `template` with `ctx` (plus `office`) into a message for
    /// `thread`. The terms of use are attached when `attach_terms`. Tests
    /// render raw contexts; the desk renders notices.
    #[cfg(test)]
    fn compose(
        &self,
        template: &str,
        ctx: Value,
        thread: &Thread,
        attach_terms: bool,
    ) -> Result<Outgoing, ComposeError> {
        self.compose_with(template, ctx, thread, attach_terms, None)
    }

    /// The topic of a booking's Zoom meeting (`templates/meeting_topic.j2`):
    /// one line, with the reservation number.
    pub fn meeting_topic(&self, reservation: &str) -> Result<String, ComposeError> {
        let name = "meeting_topic.j2";
        let ctx = minijinja::context! { office => Value::from_serialize(&self.office), reservation => reservation };
        let text = self
            .env
            .get_template(name)
            .and_then(|t| t.render(ctx))
            .map_err(|source| ComposeError::Template {
                name: name.to_string(),
                source,
            })?;
        let line = crate::core::text::single_line(text.trim(), 190);
        if line.contains(reservation) {
            Ok(line)
        } else {
            // A custom template that dropped it would break the look-up.
            Ok(format!("{line} {reservation}"))
        }
    }

    /// Renders a calendar object (`templates/invite.ics.j2`) as an
    /// attachment: CRLF lines folded at 75 octets (RFC 5545 §3.1).
    pub fn calendar(&self, invite: &Invite, method: &str) -> Result<Extra, ComposeError> {
        let name = "invite.ics.j2";
        let ctx = Value::from_serialize(invite);
        let organizer = self.from.email.to_string();
        let full_ctx = minijinja::context! { office => Value::from_serialize(&self.office), method => method, organizer => organizer, ..ctx };
        let text = self
            .env
            .get_template(name)
            .and_then(|t| t.render(full_ctx))
            .map_err(|source| ComposeError::Template {
                name: name.to_string(),
                source,
            })?;
        let body: String = text
            .lines()
            .map(str::trim_end)
            .filter(|l| !l.is_empty())
            .map(super::ics::fold)
            .collect::<Vec<_>>()
            .join("\r\n");
        Ok(Extra {
            filename: "invite.ics".into(),
            content_type: format!("text/calendar; charset=utf-8; method={method}"),
            body: body + "\r\n",
        })
    }

    /// The subject and body in the seeker's language (`templates/{lang}/`)
    /// with the Japanese below, or the Japanese alone when there is no
    /// translation of this mail.
    fn in_language(
        &self,
        thread: &Thread,
        template: &str,
        ctx: &Value,
        japanese_subject: &str,
        japanese: &str,
    ) -> Result<(String, String), ComposeError> {
        // Staff mail has no translations, so it stays Japanese.
        let wanted = thread.lang.or(self.default_lang);
        let Some(lang) = wanted.filter(|l| *l != crate::core::lang::Lang::Ja) else {
            return Ok((japanese_subject.to_string(), japanese.to_string()));
        };
        let name = format!("{}/{template}", lang.code());
        let Ok(tmpl) = self.env.get_template(&name) else {
            return Ok((japanese_subject.to_string(), japanese.to_string()));
        };
        let text = tmpl
            .render(ctx)
            .map_err(|source| ComposeError::Template { name, source })?;
        let text = text.trim_start();
        let (first, theirs) = text.split_once('\n').unwrap_or((text, ""));
        let their_subject = first.strip_prefix("Subject:").unwrap_or(first).trim();
        Ok((
            format!("{their_subject} / {japanese_subject}"),
            format!(
                "{}\n\n{}{japanese}",
                theirs.trim_end(),
                super::translated::SEPARATOR
            ),
        ))
    }

    /// As [`Composer::compose`], with one more attachment (an invitation).
    fn compose_with(
        &self,
        template: &str,
        ctx: Value,
        thread: &Thread,
        attach_terms: bool,
        extra: Option<Extra>,
    ) -> Result<Outgoing, ComposeError> {
        let ctx_for_tag = ctx.clone();
        let carrier_hint = crate::core::address::wants_carrier_hint(
            &thread.to,
            &thread.references,
            OUR_ID_PREFIX,
            &self.carrier_domains,
        );
        let full_ctx = minijinja::context! { office => Value::from_serialize(&self.office), carrier_hint => carrier_hint, ..ctx };
        let tmpl = self
            .env
            .get_template(template)
            .map_err(|source| ComposeError::Template {
                name: template.to_string(),
                source,
            })?;
        let rendered = tmpl
            .render(&full_ctx)
            .map_err(|source| ComposeError::Template {
                name: template.to_string(),
                source,
            })?;
        let rendered = rendered.trim_start();
        let (first, body) = rendered.split_once('\n').unwrap_or((rendered, ""));
        let template_subject = first
            .strip_prefix("Subject:")
            .ok_or_else(|| ComposeError::NoSubject {
                name: template.to_string(),
            })?
            .trim();
        // The seeker's language first, the Japanese (binding) below.
        let (template_subject, body) =
            self.in_language(thread, template, &full_ctx, template_subject, body)?;
        let body = body.as_str();
        let subject = reply_subject(&thread.subject, &template_subject);
        // Phone mailers may drop In-Reply-To; the reference in the subject
        // still finds the request.
        let subject = match ctx_ref(&ctx_for_tag) {
            Some(reference) if !subject.contains(&reference) => {
                let tag = self
                    .env
                    .get_template("_ref_tag.j2")
                    .and_then(|t| t.render(minijinja::context! { ref => reference }))
                    .map_err(|source| ComposeError::Template {
                        name: "_ref_tag.j2".into(),
                        source,
                    })?;
                format!("{subject} {}", tag.trim())
            }
            _ => subject,
        };
        let message_id = format!("{OUR_ID_PREFIX}{}@{}", random_token(20), self.domain);
        let to_address = super::wire_address(&thread.to).map_err(|e| ComposeError::Address {
            field: "recipient",
            message: e.to_string(),
        })?;
        // Given, not derived from the headers: lettre's header parser does
        // not read back a quoted local part (`"taro..yamada"@…`).
        let envelope =
            lettre::address::Envelope::new(Some(self.from.email.clone()), vec![to_address.clone()])
                .map_err(|e| ComposeError::Address {
                    field: "recipient",
                    message: e.to_string(),
                })?;
        let mut builder = Message::builder()
            .envelope(envelope)
            .from(self.from.clone())
            .to(Mailbox::new(None, to_address))
            .subject(subject)
            .message_id(Some(format!("<{message_id}>")))
            .date_now()
            .raw_header(HeaderValue::new(
                HeaderName::new_from_ascii_str("Auto-Submitted"),
                "auto-replied".into(),
            ))
            .raw_header(HeaderValue::new(
                HeaderName::new_from_ascii_str("X-Auto-Response-Suppress"),
                "All".into(),
            ));
        if let Some(parent) = &thread.in_reply_to {
            builder = builder.in_reply_to(format!("<{parent}>"));
            let mut refs: Vec<String> = thread
                .references
                .iter()
                .filter(|r| *r != parent)
                .take(20)
                .map(|r| format!("<{r}>"))
                .collect();
            refs.push(format!("<{parent}>"));
            builder = builder.references(refs.join(" "));
        }
        let text = SinglePart::builder()
            .header(ContentType::TEXT_PLAIN)
            .header(lettre::message::header::ContentTransferEncoding::Base64)
            .body(body.replace("\r\n", "\n").replace('\n', "\r\n"));
        let mut parts: Vec<SinglePart> = Vec::new();
        if attach_terms {
            let content_type = ContentType::parse("text/plain; charset=utf-8")
                .map_err(|e| ComposeError::Build(e.to_string()))?;
            parts.push(
                Attachment::new(TERMS_FILENAME.to_string())
                    .body(self.terms_body.clone(), content_type.clone()),
            );
            if let Some((name, text)) = thread
                .lang
                .and_then(|l| super::translated::terms(l, &self.template_dirs))
            {
                parts.push(Attachment::new(name).body(text.replace('\n', "\r\n"), content_type));
            }
        }
        if let Some(extra) = extra {
            let content_type = ContentType::parse(&extra.content_type)
                .map_err(|e| ComposeError::Build(e.to_string()))?;
            parts.push(Attachment::new(extra.filename).body(extra.body, content_type));
        }
        let message = if parts.is_empty() {
            builder.singlepart(text)
        } else {
            let mut multipart = MultiPart::mixed().singlepart(text);
            for part in parts {
                multipart = multipart.singlepart(part);
            }
            builder.multipart(multipart)
        }
        .map_err(|e| ComposeError::Build(e.to_string()))?;
        Ok(Outgoing {
            message_id,
            to: thread.to.clone(),
            raw: message.formatted(),
        })
    }
}

/// The request reference in a template context, if there is one.
fn ctx_ref(ctx: &Value) -> Option<String> {
    let v = ctx.get_attr("ref").ok()?;
    let s = v.as_str()?.to_string();
    (!s.is_empty() && s != "-").then_some(s)
}

/// "Re: <their subject>" in their thread, our own subject otherwise.
fn reply_subject(original: &str, ours: &str) -> String {
    let original = single_line(original, 200);
    let ours = single_line(ours, 200);
    if original.is_empty() {
        return ours;
    }
    let lower = original.to_ascii_lowercase();
    if lower.starts_with("re:") || lower.starts_with("re：") {
        original
    } else {
        format!("Re: {original}")
    }
}

pub fn random_token(len: usize) -> String {
    const CHARS: &[u8] = b"abcdefghijkmnpqrstuvwxyz23456789";
    let mut rng = rand::thread_rng();
    (0..len)
        .map(|_| CHARS[rng.gen_range(0..CHARS.len())] as char)
        .collect()
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::core::calendar::Slot;
    use chrono::NaiveDate;

    fn config() -> Config {
        crate::config::tests::good()
    }

    #[test]
    fn every_template_file_has_a_builtin_copy() {
        let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("templates");
        for entry in std::fs::read_dir(dir).expect("templates dir") {
            let name = entry
                .expect("entry")
                .file_name()
                .to_string_lossy()
                .to_string();
            if name.ends_with(".j2") {
                assert!(
                    BUILTIN.iter().any(|(n, _)| *n == name),
                    "{name} is missing from BUILTIN"
                );
            }
        }
        for lang in crate::core::lang::Lang::ALL {
            let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
                .join("templates")
                .join(lang.code());
            let Ok(entries) = std::fs::read_dir(dir) else {
                continue;
            };
            for entry in entries {
                let name = format!(
                    "{}/{}",
                    lang.code(),
                    entry.expect("entry").file_name().to_string_lossy()
                );
                if name.ends_with(".j2") {
                    assert!(
                        super::super::translated::BUILTIN
                            .iter()
                            .any(|(n, _)| *n == name),
                        "{name} is missing from translated::BUILTIN"
                    );
                }
            }
        }
    }

    #[test]
    fn calendar_attachment_is_valid_ics() {
        let c = Composer::new(&config()).expect("composer");
        let invite = Invite {
            uid: "261203-AB3C@example.jp".into(),
            sequence: 0,
            attendee: "taro..yamada@docomo.ne.jp".into(),
            stamp: "20261125T010000Z".into(),
            start: "20261203T020000Z".into(),
            end: "20261203T023000Z".into(),
            reservation: "261203-AB3C".into(),
            room: crate::mail::notice::RoomView {
                id: "812 3456 7890".into(),
                passcode: Some("p,;w".into()),
                url: Some(
                    "https://zoom.us/j/81234567890?pwd=abcdefghijklmnopqrstuvwxyz0123456789".into(),
                ),
            },
        };
        let ics = c.calendar(&invite, "REQUEST").expect("ics");
        assert!(ics.content_type.starts_with("text/calendar"));
        let body = &ics.body;
        assert!(body.starts_with("BEGIN:VCALENDAR\r\n"));
        assert!(body.ends_with("END:VCALENDAR\r\n"));
        for line in body.split("\r\n") {
            assert!(line.len() <= 75, "{line}");
        }
        let unfolded = body.replace("\r\n ", "");
        assert!(unfolded.contains("DTSTART:20261203T020000Z"));
        assert!(unfolded.contains("METHOD:REQUEST"));
        assert!(unfolded.contains("ORGANIZER;CN="), "{unfolded}");
        assert!(unfolded.contains(":mailto:desk@example.jp"), "{unfolded}");
        assert!(unfolded.contains("ATTENDEE;"), "{unfolded}");
        assert!(
            unfolded.contains(":mailto:taro..yamada@docomo.ne.jp"),
            "{unfolded}"
        );
        assert!(unfolded.contains("STATUS:CONFIRMED"));
        assert!(unfolded.contains("UID:261203-AB3C@example.jp"));
        assert!(unfolded.contains("パスコード p\\,\\;w"), "{unfolded}");
        let gone_room = Invite {
            uid: "u".into(),
            sequence: 1,
            attendee: "a@example.jp".into(),
            stamp: "s".into(),
            start: "a".into(),
            end: "b".into(),
            reservation: "r".into(),
            room: crate::mail::notice::RoomView {
                id: "1".into(),
                passcode: None,
                url: None,
            },
        };
        let cancel = c.calendar(&gone_room, "CANCEL").expect("ics");
        assert!(cancel.body.contains("STATUS:CANCELLED"));
    }

    #[test]
    fn session_length_and_no_show_minutes_follow_the_config() {
        let mut cfg = config();
        cfg.calendar.slot_minutes = 45;
        cfg.rules.no_show_after_minutes = 15;
        let c = Composer::new(&cfg).expect("composer");
        let slot = SlotView::new(
            Slot::new(
                NaiveDate::from_ymd_opt(2026, 12, 3).expect("d"),
                chrono::NaiveTime::from_hms_opt(11, 0, 0).expect("t"),
            ),
            45,
        );
        let ctx = minijinja::context! {
            name => "山田", ref => "ABC123", slots => vec![slot.clone()], slot => slot,
            reservation => "R-1", room => minijinja::context! { id => "123 456 7890", passcode => "abc" },
            wished_available => true,
        };
        let thread = Thread {
            to: "taro@example.jp".into(),
            in_reply_to: None,
            references: vec![],
            subject: String::new(),
            lang: None,
        };
        let offer = c
            .compose("offer.txt.j2", ctx.clone(), &thread, true)
            .expect("offer");
        let offer_text = crate::mail::message::parse(&offer.raw).body;
        assert!(offer_text.contains("（各45分）"), "{offer_text}");
        assert!(!offer_text.contains("各30分"), "{offer_text}");
        let confirm = c
            .compose("confirm.txt.j2", ctx, &thread, false)
            .expect("confirm");
        let confirm_text = crate::mail::message::parse(&confirm.raw).body;
        assert!(
            confirm_text.contains("開始時刻を15分過ぎた"),
            "{confirm_text}"
        );
    }

    #[test]
    fn every_builtin_template_renders() {
        let c = Composer::new(&config()).expect("composer");
        let slot = SlotView::new(
            Slot::new(
                NaiveDate::from_ymd_opt(2026, 12, 3).expect("d"),
                chrono::NaiveTime::from_hms_opt(11, 0, 0).expect("t"),
            ),
            30,
        );
        let day = DateView::from(NaiveDate::from_ymd_opt(2026, 12, 1).expect("d"));
        let ctx = minijinja::context! {
            name => "山田 {{ 太郎 }}\r\nBcc: evil@x", ref => "ABC123", slots => vec![slot.clone()], slot => slot,
            missing => vec!["name", "seeker_number", "wish", "phone"], invalid_seeker_number => "123",
            reservation => "R-1", room => minijinja::context! { id => "123 456 7890", passcode => "abc" },
            answer_by => day.clone(), lapse_date => day, reason => "no_free_slots", state => "offered",
            received_at => "2026-11-25 10:00", subject => "予約", folder => "要対応", reason => "request", wished_available => true,
            today => day.clone(), next_day => day.clone(), by => "seeker", needs => vec!["interpreter"],
            today_sessions => vec![minijinja::context! { start => "09:30", end => "10:00", reservation => "R-1", name => "山田", room => "1", needs => vec!["sign_language"] }],
            next_sessions => Vec::<Value>::new(), waiting => vec![minijinja::context! { ref => "ABC123", answer_by => day.clone(), overdue => true }],
            lapsed => Vec::<Value>::new(), no_shows => vec![minijinja::context! { reservation => "R-2", start => "12/1 09:30", excused => true }],
            freed => slot.clone(), option => 3, booking => minijinja::context! { reservation => "R-1", slot => slot.clone() },
        };
        for (name, _) in BUILTIN
            .iter()
            .filter(|(n, _)| !n.starts_with('_') && n.ends_with(".txt.j2"))
        {
            let thread = Thread {
                to: "taro@example.jp".into(),
                in_reply_to: Some("a@b".into()),
                references: vec!["z@b".into()],
                subject: "予約希望\r\nBcc: x@y".into(),
                lang: None,
            };
            let out = c
                .compose(name, ctx.clone(), &thread, *name == "offer.txt.j2")
                .expect(name);
            let parsed = crate::mail::message::parse(&out.raw);
            assert!(
                parsed.body.contains("ハローワーク出雲")
                    || *name == "staff.txt.j2"
                    || *name == "digest.txt.j2",
                "{name}: {}",
                parsed.body
            );
            assert_eq!(
                parsed.thread_ids,
                vec!["a@b".to_string(), "z@b".to_string()],
                "{name}"
            );
            let raw = String::from_utf8_lossy(&out.raw);
            assert!(raw.contains("Auto-Submitted: auto-replied"));
            assert!(!raw.contains("\r\nBcc:"), "{name}: header injection");
            if *name == "confirm.txt.j2" {
                assert!(parsed.body.contains("123 456 7890") && parsed.body.contains("abc"));
                assert!(
                    parsed.body.contains("{{ 太郎 }}"),
                    "user text is data, not template code"
                );
            }
            // Every translation renders with the same data, the Japanese below.
            for lang in crate::core::lang::Lang::ALL {
                let translated = format!("{}/{name}", lang.code());
                if !super::super::translated::BUILTIN
                    .iter()
                    .any(|(n, _)| *n == translated)
                {
                    continue;
                }
                let thread = Thread {
                    lang: Some(lang),
                    ..thread.clone()
                };
                let out = c
                    .compose(name, ctx.clone(), &thread, *name == "offer.txt.j2")
                    .expect(&translated);
                let parsed = crate::mail::message::parse(&out.raw);
                assert!(
                    parsed.body.contains(
                        super::super::translated::SEPARATOR
                            .lines()
                            .nth(1)
                            .unwrap_or("-")
                    ) && parsed.body.contains("ハローワーク出雲です"),
                    "{translated}: {}",
                    parsed.body
                );
                if *name == "confirm.txt.j2" {
                    assert!(parsed.body.matches("abc").count() >= 2, "{translated}");
                }
            }
        }
    }
}
