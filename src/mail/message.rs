//! Raw RFC 5322 bytes → [`Inbound`]: the few things yoyaku needs from a
//! message, decoded from whatever charset and transfer encoding it came in
//! (ISO-2022-JP, Shift_JIS, quoted-printable, base64, HTML-only). Never
//! fails: a message mail-parser cannot read becomes an empty `Inbound`.

use crate::config::bare_address;
use crate::core::address;
use crate::core::classify::{classify, MachineHints, MailKind};
use crate::core::text::html_to_text;
use mail_parser::{HeaderValue, MessageParser, MimeHeaders, PartType};
use std::sync::LazyLock;

#[derive(Debug, Clone, Default)]
pub struct Inbound {
    /// Without angle brackets.
    pub message_id: Option<String>,
    /// Bare, lower-cased sender address ("" when there is none).
    pub from: String,
    /// The From header as it came (one line, bounded): what staff are shown
    /// when no address could be read from it.
    pub raw_from: String,
    pub reply_to: Option<String>,
    pub subject: String,
    /// In-Reply-To then References, without angle brackets.
    pub thread_ids: Vec<String>,
    /// The readable body: text/plain, else HTML turned into text.
    pub body: String,
    pub kind: MailKind,
    /// A delivery failure's text (its decoded body, then its raw parts,
    /// bounded), for `core::bounce`; empty for other mail.
    pub report: String,
    /// Whether mail-parser could read the message at all.
    pub parsed: bool,
    /// More MIME nesting or parts than a person's mail has: only the
    /// headers were read; staff look at it.
    pub too_complex: bool,
}

impl Inbound {
    /// What routing needs of this mail before any request is looked at.
    pub fn envelope(&self) -> crate::core::route::Envelope<'_> {
        crate::core::route::Envelope {
            parsed: self.parsed,
            from: &self.from,
            kind: self.kind,
            too_complex: self.too_complex,
        }
    }
}

/// Nested multiparts and body parts beyond these are not a person's mail
/// (phone and desktop mailers nest 3 or 4 deep); bounded work per message.
const MAX_MULTIPARTS: usize = 32;
const MAX_PARTS: usize = 500;

static MULTIPART: LazyLock<regex::bytes::Regex> = LazyLock::new(|| {
    regex::bytes::Regex::new(r"(?i)content-type:\s*multipart/").expect("multipart regex")
});

/// Whether the raw message nests or splits more than [`MAX_MULTIPARTS`] /
/// [`MAX_PARTS`] allow (counted before any parsing).
fn too_complex(raw: &[u8]) -> bool {
    MULTIPART.find_iter(raw).nth(MAX_MULTIPARTS).is_some()
        || raw
            .windows(3)
            .filter(|w| w == b"\n--")
            .nth(MAX_PARTS * 2)
            .is_some()
}

/// Upper bound on the body text we look at; long tails are signatures,
/// quotes or junk, and understanding is linear in this.
const MAX_BODY_CHARS: usize = 200_000;

/// Charset names Japanese mailers use that the decoder does not know, and
/// the charset that decodes them (their extensions are supersets the
/// decoders already accept: NEC/IBM extensions, ①, ～).
fn canonical_charset(name: &[u8]) -> Option<&'static [u8]> {
    let lower = name.to_ascii_lowercase();
    Some(match lower.as_slice() {
        b"cp932" | b"windows-932" | b"x-ms-cp932" | b"ibm-943" | b"sjis-win" | b"sjis-open"
        | b"shift_jis-2004" | b"shift_jisx0213" | b"x-sjis-jp" | b"shift-jis" => b"shift_jis",
        b"iso-2022-jp-ms"
        | b"iso-2022-jp-1"
        | b"iso-2022-jp-2"
        | b"iso-2022-jp-3"
        | b"iso-2022-jp-2004"
        | b"cp50220"
        | b"cp50221"
        | b"cp50222"
        | b"x-windows-iso2022jp"
        | b"iso2022jp" => b"iso-2022-jp",
        b"eucjp-ms" | b"euc-jp-ms" | b"cp51932" | b"eucjp-win" | b"euc-jis-2004" | b"eucjp" => {
            b"euc-jp"
        }
        _ => return None,
    })
}

static CHARSET_LABEL: LazyLock<regex::bytes::Regex> = LazyLock::new(|| {
    regex::bytes::Regex::new(r#"(?i)(charset\s*=\s*"?|=\?)([A-Za-z0-9_.:\-]+)"#)
        .expect("charset regex")
});

/// Rewrites unknown Japanese charset labels (in Content-Type and in encoded
/// words) to ones the decoder knows.
fn normalise_charsets(raw: &[u8]) -> std::borrow::Cow<'_, [u8]> {
    if !CHARSET_LABEL.captures_iter(raw).any(|c| {
        c.get(2)
            .is_some_and(|m| canonical_charset(m.as_bytes()).is_some())
    }) {
        return std::borrow::Cow::Borrowed(raw);
    }
    CHARSET_LABEL.replace_all(raw, |c: &regex::bytes::Captures<'_>| {
        let mut out = c[1].to_vec();
        out.extend_from_slice(canonical_charset(&c[2]).unwrap_or(&c[2]));
        out
    })
}

pub fn parse(raw: &[u8]) -> Inbound {
    if too_complex(raw) {
        // The headers alone: who sent it, so staff can answer.
        let mut inbound = parse_head(raw);
        inbound.too_complex = true;
        return inbound;
    }
    let mut inbound = parse_readable(raw);
    inbound.raw_from = raw_from(raw);
    inbound
}

/// The headers alone, read as [`parse`] reads them, with an empty body:
/// enough to tell our own copies (half the mailbox in a burst), whose
/// bodies (the terms attached) need no decoding.
pub fn parse_head(raw: &[u8]) -> Inbound {
    let end = raw
        .windows(4)
        .position(|w| w == b"\r\n\r\n")
        .map_or(raw.len().min(64 * 1024), |p| p + 4);
    let mut inbound = parse_readable(&raw[..end]);
    inbound.body.clear();
    inbound.raw_from = raw_from(raw);
    inbound
}

/// Text with combining marks composed (NFC): windows-1258 writes
/// Vietnamese tone marks as separate characters, and some phones send
/// decomposed text; the reader's words are composed. Text without
/// combining marks (nearly all) is returned as it is.
fn composed(text: String) -> String {
    use unicode_normalization::UnicodeNormalization;
    let combining = |c: char| matches!(c, '\u{0300}'..='\u{036F}' | '\u{3099}' | '\u{309A}');
    if text.chars().any(combining) {
        text.nfc().collect()
    } else {
        text
    }
}

/// Whether the raw From header names `address`: a cheap first look, so
/// that only mails that may be our own copies have their headers read
/// twice (`parse_head`, then `parse`).
pub fn from_names(raw: &[u8], address: &str) -> bool {
    super::header::raw_value(raw, "From").is_some_and(|v| {
        String::from_utf8_lossy(&v)
            .to_ascii_lowercase()
            .contains(&address.to_ascii_lowercase())
    })
}

fn raw_from(raw: &[u8]) -> String {
    super::header::raw_value(raw, "From")
        .map(|v| {
            let text = super::header::decode_text(&v)
                .unwrap_or_else(|| String::from_utf8_lossy(&v).into_owned());
            crate::core::text::single_line(&text, 200)
        })
        .unwrap_or_default()
}

fn parse_readable(raw: &[u8]) -> Inbound {
    let raw = normalise_charsets(raw);
    let Some(msg) = MessageParser::default().parse(&raw) else {
        return Inbound::default();
    };
    // mail-parser's reading first; the raw header when it found no address
    // in it (a carrier's `taro..yamada@docomo.ne.jp`).
    let address_of = |parsed: Option<&mail_parser::Address<'_>>, name: &str| {
        let parsed = parsed.and_then(|a| a.first()).and_then(|a| a.address());
        parsed
            .and_then(address::normalize)
            .or_else(|| {
                super::header::raw_value(&raw, name)
                    .and_then(|v| address::from_header(&String::from_utf8_lossy(&v)))
            })
            .or_else(|| parsed.map(bare_address))
    };
    let from = address_of(msg.from(), "From").unwrap_or_default();
    let reply_to = address_of(msg.reply_to(), "Reply-To");
    let subject = readable_subject(&raw, msg.subject());
    let mut thread_ids = Vec::new();
    for value in [msg.in_reply_to(), msg.references()] {
        if let Some(list) = value.as_text_list() {
            for id in list {
                let id = id.trim().trim_matches(['<', '>']).to_string();
                if !id.is_empty() && !thread_ids.contains(&id) {
                    thread_ids.push(id);
                }
            }
        }
    }
    let raw_header = |name: &'static str| msg.header_raw(name).map(|v| v.trim());
    let return_path = raw_header("Return-Path").map(|v| v.trim_matches(['<', '>']).trim());
    let content_type = msg
        .header("Content-Type")
        .and_then(HeaderValue::as_content_type);
    let ct_full = content_type.map(|c| format!("{}/{}", c.ctype(), c.subtype().unwrap_or("")));
    let report_type = content_type.and_then(|c| c.attribute("report-type"));
    let hints = MachineHints {
        auto_submitted: raw_header("Auto-Submitted"),
        precedence: raw_header("Precedence"),
        list_id: raw_header("List-Id").is_some(),
        list_unsubscribe: raw_header("List-Unsubscribe").is_some(),
        return_path,
        content_type: ct_full.as_deref(),
        report_type,
        from: &from,
        subject: &subject,
        x_autoreply: raw_header("X-Autoreply").is_some()
            || raw_header("X-Autorespond").is_some()
            || raw_header("X-Auto-Response-Suppress")
                .is_some_and(|_| raw_header("Auto-Submitted").is_some()),
    };
    let kind = classify(&hints);
    let mut body = String::new();
    // First the plain text body; an HTML-only message (phone mail) is read
    // through our own converter, which drops quoted blocks.
    for part in msg.text_bodies() {
        match &part.body {
            PartType::Text(t) => {
                let ct = part.content_type();
                let flowed = ct
                    .and_then(|c| c.attribute("format"))
                    .is_some_and(|f| f.eq_ignore_ascii_case("flowed"));
                if flowed {
                    let delsp = ct
                        .and_then(|c| c.attribute("delsp"))
                        .is_some_and(|d| d.eq_ignore_ascii_case("yes"));
                    body.push_str(&unflow(t, delsp));
                } else {
                    body.push_str(t);
                }
            }
            PartType::Html(h) => body.push_str(&html_to_text(h)),
            _ => {}
        }
        body.push('\n');
        if body.len() > MAX_BODY_CHARS {
            break;
        }
    }
    if body.trim().is_empty() {
        if let Some(h) = msg.body_html(0) {
            body = html_to_text(&h);
        }
    }
    let mut body = composed(body);
    let subject = composed(subject);
    if body.len() > MAX_BODY_CHARS {
        let mut cut = MAX_BODY_CHARS;
        while !body.is_char_boundary(cut) {
            cut -= 1;
        }
        body.truncate(cut);
    }
    let report = if kind == MailKind::Bounce {
        bounce_text(&body, &raw)
    } else {
        String::new()
    };
    Inbound {
        report,
        raw_from: String::new(),
        message_id: msg
            .message_id()
            .map(|s| s.trim().trim_matches(['<', '>']).to_string())
            .filter(|s| !s.is_empty()),
        from,
        reply_to,
        subject,
        thread_ids,
        body,
        kind,
        parsed: true,
        too_complex: false,
    }
}

/// The most of a failure notice `core::bounce` reads: the returned mail's
/// headers come early, its body does not matter.
const MAX_REPORT_BYTES: usize = 128 * 1024;

fn bounce_text(body: &str, raw: &[u8]) -> String {
    let raw = &raw[..raw.len().min(MAX_REPORT_BYTES)];
    format!("{body}\n{}", String::from_utf8_lossy(raw))
}

/// The subject as the sender meant it: decoded from the raw bytes whatever
/// the label says (see `header`); else mail-parser's reading if it is clean
/// text; else "" (answers then carry the office's own subject).
fn readable_subject(raw: &[u8], parsed: Option<&str>) -> String {
    let decoded =
        super::header::raw_value(raw, "Subject").and_then(|v| super::header::decode_text(&v));
    if let Some(s) = decoded {
        return s;
    }
    parsed
        .filter(|s| {
            !s.chars()
                .any(|c| c == '\u{fffd}' || (c.is_control() && c != '\t'))
        })
        .map(|s| s.split_whitespace().collect::<Vec<_>>().join(" "))
        .unwrap_or_default()
}

/// Undoes RFC 3676 format=flowed: a line ending in a space continues on
/// the next (Thunderbird wraps long lines so), space-stuffing is removed.
fn unflow(text: &str, delsp: bool) -> String {
    let mut out = String::with_capacity(text.len());
    for line in text.split('\n') {
        let line = line.strip_suffix('\r').unwrap_or(line);
        let line = line.strip_prefix(' ').unwrap_or(line);
        if line.ends_with(' ') && line != "-- " && !line.starts_with('>') {
            out.push_str(if delsp { &line[..line.len() - 1] } else { line });
        } else {
            out.push_str(line);
            out.push('\n');
        }
    }
    out
}

#[cfg(test)]
mod tests {
    #[test]
    fn deep_or_many_part_mail_is_read_only_to_its_headers() {
        let mut body = "Content-Type: text/plain\r\n\r\n12月3日 11:00\r\n".to_string();
        for d in 0..40 {
            body = format!("Content-Type: multipart/mixed; boundary=\"d{d}\"\r\n\r\n--d{d}\r\n{body}\r\n--d{d}--\r\n");
        }
        let raw = format!("From: a@example.jp\r\nSubject: x\r\n{body}");
        let m = super::parse(raw.as_bytes());
        assert!(m.too_complex && m.body.is_empty());
        assert_eq!(m.from, "a@example.jp");
        let plain = super::parse(b"From: a@example.jp\r\nSubject: x\r\n\r\nhello\r\n");
        assert!(!plain.too_complex && plain.body.contains("hello"));
    }

    use super::*;

    #[test]
    fn iso_2022_jp_plain() {
        // "氏名：山田" in ISO-2022-JP.
        let mut raw = b"From: Taro <Taro@Example.JP>\r\nSubject: =?ISO-2022-JP?B?GyRCTX1Mcxsoqg==?=\r\nMessage-ID: <a@b>\r\nIn-Reply-To: <x@y>\r\nReferences: <w@y> <x@y>\r\nContent-Type: text/plain; charset=ISO-2022-JP\r\n\r\n".to_vec();
        raw.extend_from_slice(b"\x1b$B;aL>!';3ED\x1b(B\r\n");
        let m = parse(&raw);
        assert_eq!(m.from, "taro@example.jp");
        assert_eq!(m.message_id.as_deref(), Some("a@b"));
        assert_eq!(m.thread_ids, vec!["x@y".to_string(), "w@y".to_string()]);
        assert!(m.body.contains("氏名：山田"), "{:?}", m.body);
        assert_eq!(m.kind, MailKind::Person);
    }

    #[test]
    fn shift_jis_quoted_printable() {
        // "求職番号" in Shift_JIS, quoted-printable.
        let raw = b"From: a@b.jp\r\nContent-Type: text/plain; charset=Shift_JIS\r\nContent-Transfer-Encoding: quoted-printable\r\n\r\n=8B=81=90E=94=D4=8D=86\r\n";
        assert!(parse(raw).body.contains("求職番号"));
    }

    #[test]
    fn html_only_base64() {
        let raw = b"From: a@b.jp\r\nContent-Type: text/html; charset=UTF-8\r\nContent-Transfer-Encoding: base64\r\n\r\nPGRpdj7msI/lkI3vvJrlsbHnlLA8YnI+MTLmnIgz5pelPC9kaXY+\r\n";
        let m = parse(raw);
        assert!(m.body.contains("氏名：山田"), "{:?}", m.body);
        assert!(m.body.contains("12月3日"));
    }

    #[test]
    fn windows_japanese_charset_labels() {
        // "山田①" in CP932 labelled the way Outlook and Python label it.
        for label in ["cp932", "CP932", "windows-31j", "\"cp932\""] {
            let mut raw = format!("From: a@b.jp\r\nSubject: =?cp932?B?jlKTYw==?=\r\nContent-Type: text/plain; charset={label}\r\n\r\n").into_bytes();
            raw.extend_from_slice(b"\x8eR\x93c\x87@\r\n");
            let m = parse(&raw);
            assert!(m.body.contains("山田①"), "{label}: {:?}", m.body);
            assert_eq!(m.subject, "山田", "{label}");
        }
    }

    #[test]
    fn format_flowed_is_joined() {
        let raw = b"From: a@b.jp\r\nContent-Type: text/plain; charset=UTF-8; format=flowed\r\n\r\n\xe5\xb8\x8c\xe6\x9c\x9b\xe6\x97\xa5\xe6\x99\x82\xef\xbc\x9a12\xe6\x9c\x883\xe6\x97\xa5 \r\n11:00\r\n-- \r\nsig\r\n";
        let m = parse(raw);
        assert!(m.body.contains("希望日時：12月3日 11:00"), "{:?}", m.body);
        assert!(m.body.contains("-- \nsig"));
    }

    #[test]
    fn carrier_addresses_are_read_from_the_header() {
        for (from, bare) in [
            ("taro..yamada@docomo.ne.jp", "taro..yamada@docomo.ne.jp"),
            ("Hanako <hanako.@ezweb.ne.jp>", "hanako.@ezweb.ne.jp"),
            (".jiro@docomo.ne.jp", ".jiro@docomo.ne.jp"),
            ("\"taro..yamada\"@docomo.ne.jp", "taro..yamada@docomo.ne.jp"),
        ] {
            let raw = format!("From: {from}\r\nSubject: x\r\n\r\nbody\r\n");
            let m = parse(raw.as_bytes());
            assert_eq!(m.from, bare, "{from}");
            assert_eq!(m.kind, MailKind::Person);
        }
    }

    #[test]
    fn bounces_and_garbage() {
        let raw = b"From: MAILER-DAEMON@mx.example.jp\r\nReturn-Path: <>\r\nContent-Type: multipart/report; report-type=delivery-status; boundary=x\r\n\r\n--x\r\n\r\nfailed\r\n--x--\r\n";
        assert_eq!(parse(raw).kind, MailKind::Bounce);
        let _ = parse(b"");
        let _ = parse(b"\x00\x01\x02");
        let _ = parse(b"Content-Type: multipart/mixed; boundary=\r\n\r\n--\r\n");
    }
}
