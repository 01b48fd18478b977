//! A corpus of more than 200 hostile or broken messages (issue 4), put into
//! the desk's real mailbox over IMAP (byte for byte, past any SMTP size
//! limit) and handled by one pass. For every message: no panic, no failed
//! handling, handled exactly once, and the outcome its kind calls for — an
//! offer, a question for what is missing, a note to staff, or silence for
//! machine mail. Replies whose only choice or cancellation is in quoted
//! text book and cancel nothing.

mod common;

use base64::Engine as _;
use common::*;
use std::collections::HashMap;
use std::time::Duration;
use yoyaku::mail::imap::ImapSession;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Expect {
    /// One offer mail to the sender.
    Offer,
    /// One mail asking for what is missing.
    Ask,
    /// One answer to the sender (offer, question, holding reply).
    Answer,
    /// At most one answer to the sender; handled or passed to staff.
    AnswerOrStaff,
    /// Not downloaded or not readable: staff are told, the sender gets nothing.
    Staff,
    /// Machine mail: nobody is answered.
    Silent,
}

struct Case {
    name: String,
    from: Option<String>,
    raw: Vec<u8>,
    expect: Expect,
    /// Text the answer must not contain (a date only a script or quote named).
    must_not_offer: Option<&'static str>,
    /// The subject the answer must carry, as the seeker meant theirs.
    reply_subject: Option<String>,
}

fn b64(s: &[u8]) -> String {
    let e = base64::engine::general_purpose::STANDARD.encode(s);
    e.as_bytes()
        .chunks(76)
        .map(|c| String::from_utf8_lossy(c).to_string())
        .collect::<Vec<_>>()
        .join("\r\n")
}

fn enc_subject(s: &str) -> String {
    format!(
        "=?UTF-8?B?{}?=",
        base64::engine::general_purpose::STANDARD.encode(s.as_bytes())
    )
}

fn request() -> String {
    request_text("攻撃 太郎", "12月3日 11:00")
}

/// A message with the given headers (From/To/Message-ID added) and body.
fn raw(from: &str, to: &str, id: &str, headers: &[(&str, &str)], body: &[u8]) -> Vec<u8> {
    let mut out = format!(
        "From: {from}\r\nTo: {to}\r\nMessage-ID: <{id}>\r\nDate: Wed, 25 Nov 2026 10:00:00 +0900\r\nMIME-Version: 1.0\r\n"
    )
    .into_bytes();
    for (k, v) in headers {
        out.extend_from_slice(format!("{k}: {v}\r\n").as_bytes());
    }
    if !headers
        .iter()
        .any(|(k, _)| k.eq_ignore_ascii_case("Subject"))
    {
        out.extend_from_slice(format!("Subject: {}\r\n", enc_subject("予約")).as_bytes());
    }
    out.extend_from_slice(b"\r\n");
    out.extend_from_slice(body);
    out
}

fn text_plain_b64(text: &str) -> (Vec<(&'static str, String)>, Vec<u8>) {
    (
        vec![
            ("Content-Type", "text/plain; charset=UTF-8".into()),
            ("Content-Transfer-Encoding", "base64".into()),
        ],
        b64(text.replace('\n', "\r\n").as_bytes()).into_bytes(),
    )
}

struct Corpus {
    desk: String,
    tag: String,
    cases: Vec<Case>,
}

impl Corpus {
    fn add(
        &mut self,
        name: &str,
        expect: Expect,
        headers: &[(&str, String)],
        body: Vec<u8>,
    ) -> String {
        let n = self.cases.len();
        let from = format!("h{n}-{}@yoyaku.test", self.tag);
        let id = format!("hostile-{n}-{}@yoyaku.test", self.tag);
        let hs: Vec<(&str, &str)> = headers.iter().map(|(k, v)| (*k, v.as_str())).collect();
        self.cases.push(Case {
            name: name.to_string(),
            from: Some(from.clone()),
            raw: raw(&from, &self.desk, &id, &hs, &body),
            expect,
            must_not_offer: None,
            reply_subject: None,
        });
        from
    }

    fn add_raw(&mut self, name: &str, expect: Expect, from: Option<String>, raw: Vec<u8>) {
        self.cases.push(Case {
            name: name.to_string(),
            from,
            raw,
            expect,
            must_not_offer: None,
            reply_subject: None,
        });
    }

    fn next_from(&self) -> String {
        format!("h{}-{}@yoyaku.test", self.cases.len(), self.tag)
    }
}

fn build_corpus(desk: &str, tag: &str) -> Corpus {
    let mut c = Corpus {
        desk: desk.to_string(),
        tag: tag.to_string(),
        cases: Vec::new(),
    };
    let req = request();
    let html = format!(
        "<html><body><p>{}</p></body></html>",
        req.replace('\n', "<br>")
    );

    // 1. Truncated MIME: a multipart request cut at 20 points.
    let boundary = "=_b0undary";
    let multipart = format!(
        "--{boundary}\r\nContent-Type: text/plain; charset=UTF-8\r\nContent-Transfer-Encoding: base64\r\n\r\n{}\r\n--{boundary}\r\nContent-Type: text/html; charset=UTF-8\r\n\r\n{html}\r\n--{boundary}--\r\n",
        b64(req.as_bytes())
    );
    for k in 0..20 {
        let cut = multipart.len() * k / 20;
        let mut body = multipart.as_bytes().to_vec();
        body.truncate(cut);
        c.add(
            &format!("truncated multipart at {cut}"),
            Expect::AnswerOrStaff,
            &[(
                "Content-Type",
                format!("multipart/alternative; boundary=\"{boundary}\""),
            )],
            body,
        );
    }
    // Truncated inside the headers: no body at all.
    for k in 1..=3 {
        let from = c.next_from();
        let full = raw(&from, desk, &format!("trunc-head-{k}-{tag}@x"), &[], b"");
        let cut = full.len() * k / 4;
        c.add_raw(
            "truncated headers",
            Expect::AnswerOrStaff,
            None,
            full[..cut].to_vec(),
        );
    }

    // 2. Missing or wrong boundaries.
    let parts =
        format!("--abc\r\nContent-Type: text/plain; charset=UTF-8\r\n\r\n{req}\r\n--abc--\r\n");
    for (name, ct, body) in [
        (
            "no boundary parameter",
            "multipart/mixed".to_string(),
            parts.clone(),
        ),
        (
            "boundary never used",
            "multipart/mixed; boundary=\"zzz\"".to_string(),
            parts.clone(),
        ),
        (
            "no closing boundary",
            "multipart/mixed; boundary=\"abc\"".to_string(),
            parts.replace("--abc--", ""),
        ),
        (
            "empty boundary",
            "multipart/mixed; boundary=\"\"".to_string(),
            parts.clone(),
        ),
        (
            "boundary with spaces",
            "multipart/mixed; boundary=\"a b c\"".to_string(),
            parts.clone(),
        ),
        (
            "nested part without boundary",
            "multipart/mixed; boundary=\"abc\"".to_string(),
            format!("--abc\r\nContent-Type: multipart/alternative\r\n\r\n{req}\r\n--abc--\r\n"),
        ),
        (
            "only preamble",
            "multipart/mixed; boundary=\"abc\"".to_string(),
            req.clone(),
        ),
        (
            "boundary inside text",
            "multipart/mixed; boundary=\"--\"".to_string(),
            format!("----\r\n\r\n{req}\r\n------\r\n"),
        ),
        (
            "two closing boundaries",
            "multipart/mixed; boundary=\"abc\"".to_string(),
            format!("{parts}--abc--\r\n--abc--\r\n"),
        ),
        (
            "very long boundary",
            format!("multipart/mixed; boundary=\"{}\"", "b".repeat(5000)),
            parts.clone(),
        ),
    ] {
        c.add(
            name,
            Expect::AnswerOrStaff,
            &[("Content-Type", ct)],
            body.into_bytes(),
        );
    }

    // 3. Wrong or unknown charsets.
    let sjis = encoding_rs::SHIFT_JIS
        .encode(&req.replace('\n', "\r\n"))
        .0
        .to_vec();
    let jis = encoding_rs::ISO_2022_JP
        .encode(&req.replace('\n', "\r\n"))
        .0
        .to_vec();
    let euc = encoding_rs::EUC_JP
        .encode(&req.replace('\n', "\r\n"))
        .0
        .to_vec();
    let utf8 = req.replace('\n', "\r\n").into_bytes();
    for (name, charset, body, expect) in [
        (
            "unknown charset",
            "x-unknown-2022",
            utf8.clone(),
            Expect::AnswerOrStaff,
        ),
        (
            "utf-8 label on Shift_JIS bytes",
            "utf-8",
            sjis.clone(),
            Expect::AnswerOrStaff,
        ),
        (
            "iso-2022-jp label on UTF-8",
            "iso-2022-jp",
            utf8.clone(),
            Expect::AnswerOrStaff,
        ),
        (
            "shift_jis label on UTF-8",
            "shift_jis",
            utf8.clone(),
            Expect::AnswerOrStaff,
        ),
        ("empty charset", "", utf8.clone(), Expect::AnswerOrStaff),
        ("utf-7", "utf-7", utf8.clone(), Expect::AnswerOrStaff),
        (
            "gb2312 label on EUC-JP",
            "gb2312",
            euc.clone(),
            Expect::AnswerOrStaff,
        ),
        (
            "charset with quotes and spaces",
            "\" Shift_JIS \"",
            sjis.clone(),
            Expect::AnswerOrStaff,
        ),
        ("cp932", "cp932", sjis.clone(), Expect::Offer),
        ("windows-31j", "windows-31j", sjis.clone(), Expect::Offer),
        ("x-sjis", "x-sjis", sjis.clone(), Expect::AnswerOrStaff),
        ("euc-jp", "euc-jp", euc.clone(), Expect::Offer),
        (
            "ISO-2022-JP upper case",
            "ISO-2022-JP",
            jis.clone(),
            Expect::Offer,
        ),
        (
            "charset=binary",
            "binary",
            utf8.clone(),
            Expect::AnswerOrStaff,
        ),
        (
            "a 300-character charset",
            &"x".repeat(300),
            utf8.clone(),
            Expect::AnswerOrStaff,
        ),
    ] {
        let charset = charset.to_string();
        c.add(
            name,
            expect,
            &[
                ("Content-Type", format!("text/plain; charset={charset}")),
                ("Content-Transfer-Encoding", "8bit".into()),
            ],
            body,
        );
    }

    // 4. 25 MB attachments: over the 10 MB limit, never downloaded.
    for k in 0..2 {
        let blob = b64(&vec![0x5a_u8 ^ k; 25 * 1024 * 1024]);
        let body = format!(
            "--m\r\nContent-Type: text/plain; charset=UTF-8\r\n\r\n{req}\r\n--m\r\nContent-Type: application/octet-stream\r\nContent-Disposition: attachment; filename=\"big{k}.bin\"\r\nContent-Transfer-Encoding: base64\r\n\r\n{blob}\r\n--m--\r\n"
        );
        c.add(
            "25 MB attachment",
            Expect::Staff,
            &[("Content-Type", "multipart/mixed; boundary=\"m\"".into())],
            body.into_bytes(),
        );
    }

    // 5. 100,000-line bodies.
    let filler: String = "あいうえお かきくけこ\r\n".repeat(100_000);
    let (h, _) = text_plain_b64("");
    c.add(
        "request then 100,000 lines",
        Expect::Offer,
        &[(h[0].0, "text/plain; charset=UTF-8".into())],
        format!("{}\r\n{filler}", req.replace('\n', "\r\n")).into_bytes(),
    );
    c.add(
        "100,000 lines then the request",
        Expect::Answer,
        &[(h[0].0, "text/plain; charset=UTF-8".into())],
        format!("{filler}{}", req.replace('\n', "\r\n")).into_bytes(),
    );

    // 6. NUL bytes.
    for k in 0..10 {
        let mut body = utf8.clone();
        let at = body.len() * k / 10;
        body.splice(at..at, std::iter::repeat_n(0u8, 1 + k));
        c.add(
            &format!("NUL bytes at {at}"),
            Expect::AnswerOrStaff,
            &[("Content-Type", "text/plain; charset=UTF-8".into())],
            body,
        );
    }

    // 7. Invalid dates and times.
    for wish in [
        "2月30日 11:00",
        "12月3日 25:00",
        "13月1日 11:00",
        "11月31日 9:30",
        "12月3日 24:30",
        "0月5日 11:00",
        "12月0日 11:00",
        "2027年2月29日 11:00",
        "12月3日 9時75分",
        "令和99年12月3日",
        "2026/13/45",
        "12月32日",
        "99月99日 99:99",
        "12月3日 -1時",
        "12月3日 11:00:99",
    ] {
        let (h, b) = text_plain_b64(&request_text("日付 不正", wish));
        c.add(
            &format!("invalid date {wish}"),
            Expect::Answer,
            &h.iter().map(|(k, v)| (*k, v.clone())).collect::<Vec<_>>(),
            b,
        );
    }

    // 8. CR/LF and template syntax in names and subjects.
    for (k, name) in [
        "山田\r\nBcc: evil",
        "{{ office.phone }}",
        "{{ 7*7 }}",
        "{% for x in range(100000000) %}x{% endfor %}",
        "{# comment",
        "{{ self.__init__ }}",
        "<script>alert(1)</script>",
        "太郎\nSubject: 当選",
        "%0d%0aBcc: x",
        "\u{0}山田",
    ]
    .iter()
    .enumerate()
    {
        let (h, b) = text_plain_b64(&request_text(name, "12月3日 11:00"));
        let mut hs: Vec<(&str, String)> = h.iter().map(|(k, v)| (*k, v.clone())).collect();
        hs.push((
            "Subject",
            enc_subject(&format!("予約{k}\r\nBcc: evil{k}@example.com")),
        ));
        c.add(&format!("injection in name {k}"), Expect::Offer, &hs, b);
    }
    for (k, subject) in [
        "{{ office }}",
        "予約\r\nBcc: evil@example.com",
        "=?UTF-8?B?5LqI57SE?=\r\n Bcc: evil@example.com",
        "{% include 'staff.txt.j2' %}",
        "予約\u{202E}moc.live",
        &"長".repeat(10_000),
        "=?ISO-2022-JP?B?broken!!?=",
        "=?UTF-8?Q?=E4=BA=88=E7=B4=84=0D=0ABcc:_evil@example.com?=",
        "=?UNKNOWN?B?5LqI57SE?=",
        "",
    ]
    .iter()
    .enumerate()
    {
        let (h, b) = text_plain_b64(&req);
        let mut hs: Vec<(&str, String)> = h.iter().map(|(k, v)| (*k, v.clone())).collect();
        hs.push(("Subject", subject.to_string()));
        c.add(&format!("hostile subject {k}"), Expect::Offer, &hs, b);
    }

    // 9. Zero-width and bidi characters.
    for (k, ch) in [
        '\u{200B}', '\u{200C}', '\u{200D}', '\u{200E}', '\u{200F}', '\u{202A}', '\u{202B}',
        '\u{202C}', '\u{202D}', '\u{202E}', '\u{2060}', '\u{2066}', '\u{2067}', '\u{2069}',
        '\u{FEFF}',
    ]
    .iter()
    .enumerate()
    {
        // Between the digits of the date, the number and the phone.
        let text: String = req
            .chars()
            .flat_map(|c| {
                if c.is_ascii_digit() {
                    vec![c, *ch]
                } else {
                    vec![c]
                }
            })
            .collect();
        let (h, b) = text_plain_b64(&text);
        c.add(
            &format!("invisible character {k}"),
            Expect::Offer,
            &h.iter().map(|(k, v)| (*k, v.clone())).collect::<Vec<_>>(),
            b,
        );
    }

    // 10. Deeply nested multiparts and 11. many parts.
    for depth in [10usize, 100, 1_000, 5_000, 20_000] {
        let mut body = format!("Content-Type: text/plain; charset=UTF-8\r\n\r\n{req}\r\n");
        for d in (0..depth).rev() {
            body = format!(
                "Content-Type: multipart/mixed; boundary=\"d{d}\"\r\n\r\n--d{d}\r\n{body}\r\n--d{d}--\r\n"
            );
        }
        let (head, rest) = body.split_once("\r\n\r\n").unwrap_or(("", &body));
        let ct = head.trim_start_matches("Content-Type: ").to_string();
        c.add(
            &format!("nested {depth} deep"),
            Expect::AnswerOrStaff,
            &[("Content-Type", ct)],
            rest.as_bytes().to_vec(),
        );
    }
    for parts in [1_000usize, 5_000, 20_000] {
        let mut body = format!("--p\r\nContent-Type: text/plain; charset=UTF-8\r\n\r\n{req}\r\n");
        for i in 0..parts {
            body.push_str(&format!(
                "--p\r\nContent-Type: text/plain\r\nContent-Disposition: attachment; filename=\"{i}.txt\"\r\n\r\n{i}\r\n"
            ));
        }
        body.push_str("--p--\r\n");
        c.add(
            &format!("{parts} parts"),
            Expect::AnswerOrStaff,
            &[("Content-Type", "multipart/mixed; boundary=\"p\"".into())],
            body.into_bytes(),
        );
    }

    // 12. HTML with scripts: what a script or style says is not read.
    for k in 0..10 {
        let html = format!(
            "<html><head><style>p::after {{ content: '12月4日 13:30' }}</style><script>var wish = '12月4日 13:30 候補2';</script></head><body onload=\"alert('12月4日')\"><p>{}</p><script type=\"text/javascript\">document.write('12月4日 13:30')</script><noscript>{k}</noscript></body></html>",
            req.replace('\n', "<br>")
        );
        let from = c.add(
            &format!("html with scripts {k}"),
            Expect::Offer,
            &[
                ("Content-Type", "text/html; charset=UTF-8".into()),
                ("Content-Transfer-Encoding", "base64".into()),
            ],
            b64(html.as_bytes()).into_bytes(),
        );
        let _ = from;
        if let Some(last) = c.cases.last_mut() {
            last.must_not_offer = Some("12月4日");
        }
    }

    // 14. Machine mail: never answered; bounces reach staff.
    let auto: Vec<(&str, Vec<(&str, String)>)> = vec![
        (
            "subject 不在",
            vec![("Subject", enc_subject("不在のお知らせ"))],
        ),
        (
            "subject 自動応答",
            vec![("Subject", enc_subject("自動応答: 予約"))],
        ),
        (
            "subject 自動返信",
            vec![(
                "Subject",
                enc_subject("【自動返信】お問い合わせありがとうございます"),
            )],
        ),
        (
            "subject 自動送信",
            vec![("Subject", enc_subject("自動送信メール"))],
        ),
        ("subject 休暇", vec![("Subject", enc_subject("休暇中です"))]),
        (
            "Out of Office",
            vec![("Subject", "Out of Office: 予約".into())],
        ),
        (
            "Automatic reply",
            vec![("Subject", "Automatic reply: booking".into())],
        ),
        (
            "Auto-Submitted",
            vec![("Auto-Submitted", "auto-replied".into())],
        ),
        (
            "Auto-Submitted generated",
            vec![("Auto-Submitted", "auto-generated".into())],
        ),
        ("Precedence bulk", vec![("Precedence", "bulk".into())]),
        ("Precedence list", vec![("Precedence", "list".into())]),
        ("Precedence junk", vec![("Precedence", "junk".into())]),
        ("List-Id", vec![("List-Id", "<news.example.com>".into())]),
        (
            "List-Unsubscribe",
            vec![("List-Unsubscribe", "<mailto:u@example.com>".into())],
        ),
        ("X-Autoreply", vec![("X-Autoreply", "yes".into())]),
        ("X-Autorespond", vec![("X-Autorespond", "yes".into())]),
        ("null Return-Path", vec![("Return-Path", "<>".into())]),
    ];
    for (name, hs) in auto {
        let mut hs = hs;
        hs.push(("Content-Type", "text/plain; charset=UTF-8".into()));
        c.add(name, Expect::Silent, &hs, utf8.clone());
    }
    for k in 0..3 {
        let from = format!("MAILER-DAEMON@bounce{k}.example");
        let body = "--r\r\nContent-Type: text/plain\r\n\r\nDelivery failed.\r\n--r\r\nContent-Type: message/delivery-status\r\n\r\nReporting-MTA: dns; x\r\nFinal-Recipient: rfc822; someone@example.jp\r\nAction: failed\r\nStatus: 5.1.1\r\n--r--\r\n".to_string();
        let r = raw(
            &from,
            desk,
            &format!("bounce-{k}-{tag}@x"),
            &[(
                "Content-Type",
                "multipart/report; report-type=delivery-status; boundary=\"r\"",
            )],
            body.as_bytes(),
        );
        c.add_raw("bounce", Expect::Silent, Some(from.to_ascii_lowercase()), r);
    }

    // 15. Empty, malformed, garbage.
    for (name, expect, body) in [
        ("empty body", Expect::Ask, Vec::new()),
        ("whitespace body", Expect::Ask, b"   \r\n\t\r\n   ".to_vec()),
        (
            "invalid base64",
            Expect::AnswerOrStaff,
            b"!!!! not base64 ****\r\n".to_vec(),
        ),
        (
            "a 100,000-character line",
            Expect::AnswerOrStaff,
            "あ".repeat(100_000).into_bytes(),
        ),
        (
            "only CR line ends",
            Expect::AnswerOrStaff,
            req.replace('\n', "\r").into_bytes(),
        ),
        ("only LF line ends", Expect::Offer, req.clone().into_bytes()),
        (
            "LF CR line ends",
            Expect::AnswerOrStaff,
            req.replace('\n', "\n\r").into_bytes(),
        ),
        ("unlabelled Shift_JIS", Expect::AnswerOrStaff, sjis.clone()),
        ("unlabelled EUC-JP", Expect::AnswerOrStaff, euc.clone()),
        ("unlabelled ISO-2022-JP", Expect::AnswerOrStaff, jis.clone()),
    ] {
        let cte = if name == "invalid base64" {
            "base64"
        } else {
            "8bit"
        };
        let ct = if name.starts_with("unlabelled") {
            "text/plain"
        } else {
            "text/plain; charset=UTF-8"
        };
        c.add(
            name,
            expect,
            &[
                ("Content-Type", ct.into()),
                ("Content-Transfer-Encoding", cte.into()),
            ],
            body,
        );
    }
    c.add(
        "invalid quoted-printable",
        Expect::AnswerOrStaff,
        &[
            ("Content-Type", "text/plain; charset=UTF-8".into()),
            ("Content-Transfer-Encoding", "quoted-printable".into()),
        ],
        b"=ZZ=E4=BA=\r\n=\r\n==88 12=E6=9C=883=E6=97=A5".to_vec(),
    );
    c.add(
        "5,000 headers",
        Expect::Offer,
        &(0..5000)
            .map(|i| ("X-Filler", format!("{i}")))
            .chain([("Content-Type", "text/plain; charset=UTF-8".to_string())])
            .collect::<Vec<_>>(),
        utf8.clone(),
    );
    c.add(
        "a 200,000-character header",
        Expect::Offer,
        &[
            ("X-Long", "x".repeat(200_000)),
            ("Content-Type", "text/plain; charset=UTF-8".into()),
        ],
        utf8.clone(),
    );
    for k in 0..5u64 {
        let mut state = 0x9E37_79B9_7F4A_7C15_u64 ^ k;
        let garbage: Vec<u8> = (0..4096)
            .map(|_| {
                state ^= state << 13;
                state ^= state >> 7;
                state ^= state << 17;
                (state & 0xff) as u8
            })
            .collect();
        c.add_raw("binary garbage", Expect::AnswerOrStaff, None, garbage);
    }
    for (name, from_header) in [
        ("From not an address", "not an address"),
        ("From only a name", "\"山田 太郎\""),
        ("From with CRLF", "=?UTF-8?B?5bGx55Sw?=\r\n <a@b>"),
        ("From empty", ""),
        ("two From headers", "a@example.com\r\nFrom: b@example.com"),
    ] {
        let r = format!(
            "From: {from_header}\r\nTo: {desk}\r\nMessage-ID: <{}-{tag}@x>\r\nSubject: x\r\nContent-Type: text/plain; charset=UTF-8\r\n\r\n{req}\r\n",
            name.replace(' ', "-")
        );
        c.add_raw(name, Expect::AnswerOrStaff, None, r.into_bytes());
    }
    c.add_raw(
        "no headers at all",
        Expect::AnswerOrStaff,
        None,
        req.clone().into_bytes(),
    );
    c.add_raw("empty message", Expect::AnswerOrStaff, None, Vec::new());
    more_cases(&mut c, &req, &utf8, desk, tag);
    header_charset_cases(&mut c, &req, desk);
    c
}

/// Subjects and display names as real mailers mislabel them: ISO-2022-JP
/// inside words labelled us-ascii or utf-8, raw 8-bit Shift_JIS, EUC-JP and
/// UTF-8, words split in the middle of a character. The answer's subject is
/// the seeker's text or the office's own, never escapes or mojibake.
fn header_charset_cases(c: &mut Corpus, req: &str, desk: &str) {
    use encoding_rs::{EUC_JP, ISO_2022_JP, SHIFT_JIS};
    let subject = "オンライン相談の予約（山田）";
    let jis = ISO_2022_JP.encode(subject).0.into_owned();
    let utf8 = subject.as_bytes();
    let (left, right) = utf8.split_at(7);
    let (jl, jr) = jis.split_at(9);
    let std = base64::engine::general_purpose::STANDARD;
    let word = |label: &str, bytes: &[u8]| format!("=?{label}?B?{}?=", std.encode(bytes));
    let cases: Vec<(&str, Vec<u8>, Option<&str>)> = vec![
        (
            "iso-2022-jp labelled us-ascii",
            word("us-ascii", &jis).into_bytes(),
            Some(subject),
        ),
        (
            "iso-2022-jp labelled utf-8",
            word("utf-8", &jis).into_bytes(),
            Some(subject),
        ),
        (
            "utf-8 word split mid-character",
            format!("{}\r\n {}", word("UTF-8", left), word("UTF-8", right)).into_bytes(),
            Some(subject),
        ),
        (
            "iso-2022-jp split across words",
            format!("{} {}", word("ISO-2022-JP", jl), word("ISO-2022-JP", jr)).into_bytes(),
            Some(subject),
        ),
        (
            "raw 8-bit shift_jis",
            SHIFT_JIS.encode(subject).0.into_owned(),
            Some(subject),
        ),
        (
            "raw 8-bit euc-jp",
            EUC_JP.encode(subject).0.into_owned(),
            Some(subject),
        ),
        ("raw 8-bit utf-8", utf8.to_vec(), Some(subject)),
        ("raw iso-2022-jp escapes", jis.clone(), Some(subject)),
        // Bytes that are no charset at all: the office's own subject.
        ("unreadable bytes", b"\x1b$Z\xff\xfe\x80".to_vec(), None),
    ];
    let (ct, body) = text_plain_b64(req);
    for (name, raw_subject, want) in cases {
        let n = c.cases.len();
        let from = c.next_from();
        let mut raw = format!(
            "From: {} <{from}>\r\nTo: {desk}\r\nMessage-ID: <hostile-{n}-{}@yoyaku.test>\r\nDate: Wed, 25 Nov 2026 10:00:00 +0900\r\nMIME-Version: 1.0\r\n",
            word("us-ascii", &ISO_2022_JP.encode("山田 太郎").0),
            c.tag
        )
        .into_bytes();
        raw.extend_from_slice(b"Subject: ");
        raw.extend_from_slice(&raw_subject);
        raw.extend_from_slice(b"\r\n");
        for (k, v) in &ct {
            raw.extend_from_slice(format!("{k}: {v}\r\n").as_bytes());
        }
        raw.extend_from_slice(b"\r\n");
        raw.extend_from_slice(&body);
        c.cases.push(Case {
            name: format!("header charset: {name}"),
            from: Some(from),
            raw,
            expect: Expect::Offer,
            must_not_offer: None,
            reply_subject: Some(want.map_or_else(String::new, |s| format!("Re: {s}"))),
        });
    }
}

/// Phone HTML, odd transfer encodings, broken dates and display names.
fn more_cases(c: &mut Corpus, req: &str, utf8: &[u8], desk: &str, tag: &str) {
    let html_variants = [
        format!("<div>{}</div>", req.replace('\n', "<br/>")),
        format!(
            "<table><tr><td>{}</td></tr></table>",
            req.replace('\n', "</td></tr><tr><td>")
        ),
        format!(
            "<p>{}</p>",
            req.replace('\n', "</p><p>").replace('：', "&#65306;")
        ),
        format!("<![CDATA[x]]><div>{}</div>", req.replace('\n', "<br>")),
        format!(
            "<!-- 12月4日 13:30 --><div>{}</div>",
            req.replace('\n', "<br>")
        ),
        format!(
            "<div style=\"display:none\">12月4日</div><div>{}</div>",
            req.replace('\n', "<br>")
        ),
        format!("<html><body>{}", req.replace('\n', "<br>")),
        format!(
            "<body>{}</body></html></html></body>",
            req.replace('\n', "<BR>")
        ),
        format!("<pre>{req}</pre>"),
        format!(
            "<div>{}</div>{}",
            req.replace('\n', "<br>"),
            "<div>".repeat(10_000)
        ),
    ];
    for (k, h) in html_variants.iter().enumerate() {
        c.add(
            &format!("phone html {k}"),
            Expect::AnswerOrStaff,
            &[
                ("Content-Type", "text/html; charset=UTF-8".into()),
                ("Content-Transfer-Encoding", "base64".into()),
            ],
            b64(h.as_bytes()).into_bytes(),
        );
    }
    let flowed = req.replace('\n', " \r\n").into_bytes();
    let encodings: Vec<(&str, &str, Vec<u8>)> = vec![
        ("text/plain; charset=UTF-8", "x-uuencode", utf8.to_vec()),
        ("text/plain; charset=UTF-8", "7bit", utf8.to_vec()),
        (
            "text/plain; charset=UTF-8",
            "BASE64",
            b64(utf8).into_bytes(),
        ),
        (
            "text/plain; charset=UTF-8; format=flowed",
            "8bit",
            flowed.clone(),
        ),
        (
            "text/plain; charset=UTF-8; format=flowed; delsp=yes",
            "8bit",
            flowed,
        ),
        ("TEXT/PLAIN; CHARSET=utf-8", "8bit", utf8.to_vec()),
        (
            "text/plain; charset=UTF-8",
            "quoted-printable",
            utf8.to_vec(),
        ),
        ("application/octet-stream", "base64", b64(utf8).into_bytes()),
        ("text/calendar; charset=UTF-8", "8bit", utf8.to_vec()),
        (
            "message/rfc822",
            "8bit",
            raw("inner@example.com", "x@y", "inner@x", &[], utf8),
        ),
    ];
    for (k, (ct, cte, body)) in encodings.into_iter().enumerate() {
        c.add(
            &format!("transfer encoding {k}"),
            Expect::AnswerOrStaff,
            &[
                ("Content-Type", ct.into()),
                ("Content-Transfer-Encoding", cte.into()),
            ],
            body,
        );
    }
    for (k, date) in [
        "yesterday",
        "Wed, 31 Feb 2026 25:61:61 +9999",
        "",
        "Thu, 01 Jan 1970 00:00:00 +0000",
        "Sat, 01 Jan 10000 00:00:00 +0900",
    ]
    .iter()
    .enumerate()
    {
        c.add(
            &format!("date header {k}"),
            Expect::Offer,
            &[
                ("Date", date.to_string()),
                ("Content-Type", "text/plain; charset=UTF-8".into()),
            ],
            utf8.to_vec(),
        );
    }
    for (k, display) in [
        "=?UTF-8?B?5bGx55SwIOWkqumDjg==?=",
        "=?ISO-2022-JP?B?GyRCOzNFRBsoQg==?=",
        "=?UTF-8?Q?=E5=B1=B1=E7=94=B0?= =?UTF-8?Q?broken",
        "\"山田 \\\"太郎\\\"\"",
        "{{ 7*7 }}",
    ]
    .iter()
    .enumerate()
    {
        let from = c.next_from();
        let r = format!(
            "From: {display} <{from}>\r\nTo: {desk}\r\nMessage-ID: <display-{k}-{tag}@x>\r\nSubject: x\r\nContent-Type: text/plain; charset=UTF-8\r\n\r\n{req}\r\n"
        );
        c.add_raw("display names", Expect::Offer, Some(from), r.into_bytes());
    }
}

/// Replies whose choice, cancellation or consent is only in quoted text.
fn quoted_replies(parent_id: &str, from: &str, to: &str, k: usize, tag: &str) -> Vec<u8> {
    let quotes = [
        "ありがとうございます。\r\n\r\n> 1番でお願いします\r\n> 【1】2026年12月3日（木）09:30～10:00\r\n",
        "確認しました。\r\n\r\n>> 2番でお願いします。\r\n>> キャンセルします\r\n",
        "拝見しました。\r\n\r\n-----Original Message-----\r\nFrom: someone\r\n1番でお願いします\r\n",
        "承知しました。\r\n\r\n差出人: 山田 太郎\r\n送信日時: 2026年11月25日 10:00\r\n件名: 予約\r\n3番でお願いします\r\n",
        "了解です\r\n\r\n2026年11月25日(水) 10:00 山田 太郎 <taro@example.jp>:\r\n> 4番で\r\n",
        "受け取りました\r\n\r\n山田さんは書きました:\r\n> 1で\r\n",
        "拝読しました\r\n\r\n---------- Forwarded message ---------\r\nFrom: 山田 <a@b>\r\n2番でお願いします\r\n",
        "ありがとうございます\r\n\r\n> > キャンセルでお願いします\r\n",
        "確認中です\r\n\r\nOn Wed, Nov 25, 2026 at 10:00 AM 山田 <a@b> wrote:\r\n> 1番\r\n",
        "メール拝見しました\r\n\r\n＞ 3番でお願いします\r\n",
        "ありがとうございました\r\n\r\n> 12月3日 13:30でお願いします\r\n",
        "了解しました\r\n\r\n|> 1番でお願いします\r\n",
        "確認しました\r\n\r\n>\r\n> 【2】を希望します\r\n>\r\n",
        "検討します\r\n\r\n> 1番でお願いします\r\n> \r\n> 辞退します\r\n",
        "わかりました\r\n\r\n-----元のメッセージ-----\r\n2番でお願いします\r\n",
    ];
    let body = quotes[k % quotes.len()];
    raw(
        from,
        to,
        &format!("quoted-{k}-{tag}@x"),
        &[
            ("In-Reply-To", &format!("<{parent_id}>")),
            ("References", &format!("<{parent_id}>")),
            ("Subject", &enc_subject("Re: 予約")),
            ("Content-Type", "text/plain; charset=UTF-8"),
        ],
        body.as_bytes(),
    )
}

#[tokio::test]
async fn two_hundred_hostile_messages_each_get_a_sensible_outcome() {
    let desk = TestDesk::new().await;
    let tag = format!("{:x}", std::process::id());
    let corpus = build_corpus(&desk.address, &tag);
    let mut imap = ImapSession::connect(&imap_for(&desk.address))
        .await
        .expect("imap");
    imap.select("INBOX").await.expect("inbox");
    let mut delivered = Vec::new();
    for case in &corpus.cases {
        match imap.append("INBOX", &case.raw).await {
            Ok(()) => delivered.push(case),
            // The server itself refuses some bytes (NUL in a plain literal):
            // nothing the desk could lose.
            Err(e) => println!("server refused {:?}: {e}", case.name),
        }
    }
    imap.logout().await;
    // One pass, with a generous bound against a hang.
    let report = tokio::time::timeout(
        Duration::from_secs(600),
        desk.desk.run_once(jst(2026, 11, 25, 10, 0)),
    )
    .await
    .expect("no hang")
    .expect("the pass succeeds");
    assert_eq!(report.message_failures, 0, "{report:?}");
    assert!(
        read_folder(&desk.address, "INBOX").await.is_empty(),
        "every message filed"
    );
    assert!(
        read_folder(&desk.address, "処理失敗").await.is_empty(),
        "nothing failed"
    );
    assert_eq!(
        desk.db_scalar("SELECT COUNT(*) FROM processed WHERE outcome <> 'own_copy'")
            .await,
        delivered.len() as i64,
        "each message handled exactly once"
    );
    assert_eq!(
        desk.handled("own_copy").await,
        desk.sent_count(None).await,
        "the copy of each mail sent filed once"
    );
    let rows: Vec<(String, String, Vec<u8>)> = desk
        .desk
        .office()
        .store()
        .probe_rows("SELECT recipient, kind, raw FROM outbox", &[])
        .await
        .expect("outbox");
    let mut to: HashMap<String, Vec<(String, Vec<u8>)>> = HashMap::new();
    for (r, k, raw) in rows {
        to.entry(r).or_default().push((k, raw));
    }
    let staff_notes = to.get(&desk.staff).map_or(0, Vec::len);
    let outcomes: Vec<(Option<String>, String)> = desk
        .desk
        .office()
        .store()
        .probe_rows("SELECT message_id, outcome FROM processed", &[])
        .await
        .expect("processed");
    let mut wrong: Vec<String> = Vec::new();
    for case in &delivered {
        let Some(from) = &case.from else { continue };
        let got = to.get(from).cloned().unwrap_or_default();
        let kinds: Vec<&str> = got.iter().map(|(k, _)| k.as_str()).collect();
        let ok = match case.expect {
            Expect::Offer => kinds == ["offer"],
            Expect::Ask => kinds == ["missing"],
            Expect::Answer => kinds.len() == 1,
            Expect::AnswerOrStaff => kinds.len() <= 1,
            Expect::Staff | Expect::Silent => kinds.is_empty(),
        };
        if !ok {
            let id = String::from_utf8_lossy(&case.raw).lines().find_map(|l| {
                l.strip_prefix("Message-ID: <")
                    .map(|v| v.trim_end_matches('>').to_string())
            });
            let outcome = outcomes
                .iter()
                .find(|(m, _)| m.is_some() && *m == id)
                .map(|(_, o)| o.clone());
            wrong.push(format!(
                "{}: expected {:?}, got {kinds:?} (outcome {outcome:?})",
                case.name, case.expect
            ));
            continue;
        }
        for (_, raw) in &got {
            let text = String::from_utf8_lossy(raw);
            let head = text.split("\r\n\r\n").next().unwrap_or("");
            // Hostile text stays inside the Subject value: no header of its own.
            for line in head.split("\r\n") {
                let lower = line.to_ascii_lowercase();
                assert!(
                    !lower.starts_with("bcc:") && !lower.starts_with("cc:"),
                    "{}: header injected: {line}",
                    case.name
                );
                if lower.starts_with("to:") {
                    assert!(line.contains(from.as_str()), "{}: {line}", case.name);
                }
            }
            let body = yoyaku::mail::message::parse(raw).body;
            assert!(!body.contains("49 様"), "{}: template code ran", case.name);
            assert!(
                !body.contains("0853-21-8609 様"),
                "{}: template code ran",
                case.name
            );
            if let Some(date) = case.must_not_offer {
                assert!(!body.contains(date), "{}: read a script: {body}", case.name);
            }
            let subject = yoyaku::mail::message::parse(raw).subject;
            assert!(
                !subject.contains('\u{1b}')
                    && !subject.contains('\u{fffd}')
                    && !subject.contains("$B"),
                "{}: subject echoes escapes or mojibake: {subject:?}",
                case.name
            );
            match case.reply_subject.as_deref() {
                Some("") => assert!(
                    !subject.starts_with("Re:") && !subject.is_empty(),
                    "{}: the office's own subject expected, got {subject:?}",
                    case.name
                ),
                Some(want) => assert!(
                    subject.starts_with(want),
                    "{}: expected {want:?}, got {subject:?}",
                    case.name
                ),
                None => {}
            }
        }
    }
    assert!(
        wrong.is_empty(),
        "{} wrong:\n{}",
        wrong.len(),
        wrong.join("\n")
    );
    assert!(
        wrong.is_empty(),
        "{} wrong:\n{}",
        wrong.len(),
        wrong.join("\n")
    );
    let staff_expected = delivered
        .iter()
        .filter(|c| c.expect == Expect::Staff)
        .count();
    assert!(
        staff_notes >= staff_expected + 3,
        "staff told of large mail and bounces"
    );
    let too_large = desk.handled("too_large").await;
    assert_eq!(too_large, 2);
    assert!(delivered.len() >= 200, "{} messages", delivered.len());
    println!(
        "hostile corpus: {} messages, 0 failures, {} staff notes",
        delivered.len(),
        staff_notes
    );
}

/// Quoted text is never a choice, a cancellation or a consent: 15 kinds
/// of quoting as Japanese mail clients write them, each a reply to a real
/// offer of four slots.
#[tokio::test]
async fn quoted_choices_book_nothing() {
    let desk = TestDesk::new().await;
    let tag = format!("q{:x}", std::process::id());
    let n = 15;
    let seekers: Vec<String> = (0..n).map(|i| format!("q{i}-{tag}@yoyaku.test")).collect();
    let mut imap = ImapSession::connect(&imap_for(&desk.address))
        .await
        .expect("imap");
    for (i, s) in seekers.iter().enumerate() {
        let r = raw(
            s,
            &desk.address,
            &format!("req-{i}-{tag}@x"),
            &[("Content-Type", "text/plain; charset=UTF-8")],
            request_text("引用 太郎", "12月3日")
                .replace('\n', "\r\n")
                .as_bytes(),
        );
        imap.append("INBOX", &r).await.expect("append");
    }
    desk.desk
        .run_once(jst(2026, 11, 25, 10, 0))
        .await
        .expect("pass");
    let offers: Vec<(String, String)> = desk
        .desk
        .office()
        .store()
        .probe_rows(
            "SELECT recipient, message_id FROM outbox WHERE kind = 'offer'",
            &[],
        )
        .await
        .expect("offers");
    assert_eq!(offers.len(), n);
    for (k, (to, id)) in offers.iter().enumerate() {
        let r = quoted_replies(id, to, &desk.address, k, &tag);
        imap.append("INBOX", &r).await.expect("append");
    }
    imap.logout().await;
    desk.desk
        .run_once(jst(2026, 11, 25, 10, 5))
        .await
        .expect("pass");
    assert_eq!(desk.bookings_in(None).await, 0);
    assert_eq!(
        desk.requests_in(Some("withdrawn")).await,
        0,
        "a quoted キャンセル/辞退 withdraws nothing"
    );
    // Each got a question back (which slot?) or went to staff; none was ignored.
    let answered = desk
        .db_scalar("SELECT COUNT(*) FROM outbox WHERE kind IN ('ask_which', 'forwarded')")
        .await;
    let staff = desk
        .db_scalar("SELECT COUNT(*) FROM outbox WHERE kind = 'staff'")
        .await;
    assert_eq!(
        answered + staff,
        n as i64,
        "{answered} asked, {staff} to staff"
    );
}

/// A flood from one address (and one 求職番号 from many addresses) goes to
/// staff after the daily limit, told once; other seekers' mail in between
/// is answered as usual; the same error notice goes to an address once a day.
#[tokio::test]
async fn floods_go_to_staff_and_notices_are_not_repeated() {
    let desk = TestDesk::with(Options {
        limits: (20, 10),
        ..Options::default()
    })
    .await;
    let tag = format!("f{:x}", std::process::id());
    let flooder = format!("flood-{tag}@yoyaku.test");
    let mut imap = ImapSession::connect(&imap_for(&desk.address))
        .await
        .expect("imap");
    for i in 0..30 {
        // Every one incomplete in a different way (distinct text, so not duplicates).
        let r = raw(
            &flooder,
            &desk.address,
            &format!("flood-{i}-{tag}@x"),
            &[("Content-Type", "text/plain; charset=UTF-8")],
            format!("予約したいです {i}").as_bytes(),
        );
        imap.append("INBOX", &r).await.expect("append");
        if i == 15 {
            let other = raw(
                &format!("calm-{tag}@yoyaku.test"),
                &desk.address,
                &format!("calm-{tag}@x"),
                &[("Content-Type", "text/plain; charset=UTF-8")],
                request()
                    .replace("32010-12345678", "32010-99999999")
                    .replace('\n', "\r\n")
                    .as_bytes(),
            );
            imap.append("INBOX", &other).await.expect("append");
        }
    }
    // One 求職番号 from 15 addresses.
    for i in 0..15 {
        let r = raw(
            &format!("many{i}-{tag}@yoyaku.test"),
            &desk.address,
            &format!("many-{i}-{tag}@x"),
            &[("Content-Type", "text/plain; charset=UTF-8")],
            request_text(&format!("同一 {i}"), "12月4日 11:00")
                .replace('\n', "\r\n")
                .as_bytes(),
        );
        imap.append("INBOX", &r).await.expect("append");
    }
    imap.logout().await;
    desk.desk
        .run_once(jst(2026, 11, 25, 10, 0))
        .await
        .expect("pass");
    let count = |sql: &'static str| desk.db_scalar(sql);
    let to_flooder: i64 = desk
        .desk
        .office()
        .store()
        .probe_value(
            "SELECT COUNT(*) FROM outbox WHERE recipient = $1",
            &[&flooder],
        )
        .await
        .expect("count");
    // 20 handled, and of those the same "what is missing" notice only once.
    assert_eq!(to_flooder, 1, "one notice of the same kind a day");
    assert_eq!(
        count("SELECT COUNT(*) FROM processed WHERE outcome = 'rate_limited'").await,
        10 + 5
    );
    let calm: i64 = desk
        .desk
        .office()
        .store()
        .probe_value(
            "SELECT COUNT(*) FROM outbox WHERE recipient = $1 AND kind = 'offer'",
            &[&format!("calm-{tag}@yoyaku.test")],
        )
        .await
        .expect("count");
    assert_eq!(calm, 1, "the other seeker is answered");
    assert_eq!(
        count("SELECT COUNT(*) FROM requests WHERE seeker_number = '32010-12345678'").await,
        10,
        "ten requests under one number"
    );
    let staff: Vec<(Vec<u8>,)> = desk
        .desk
        .office()
        .store()
        .probe_rows("SELECT raw FROM outbox WHERE kind = 'staff'", &[])
        .await
        .expect("staff");
    let bodies: Vec<String> = staff
        .iter()
        .map(|r| yoyaku::mail::message::parse(&r.0).body)
        .collect();
    assert_eq!(
        bodies
            .iter()
            .filter(|b| b.contains("同じアドレスから"))
            .count(),
        1
    );
    assert_eq!(
        bodies
            .iter()
            .filter(|b| b.contains("同じ求職番号で"))
            .count(),
        1
    );
}
