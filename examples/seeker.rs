//! A seeker's mail client for the demo (`scripts/demo.sh`): sends a request
//! over SMTP, waits for the desk's answer over IMAP, prints it decoded, and
//! replies in the thread as a mail client would (Re:, In-Reply-To, quote).
//!
//!   seeker send  --from A --to DESK --subject S --body TEXT
//!   seeker wait  --user A --count N          (prints the N-th message)
//!   seeker reply --user A --to DESK --body TEXT   (answers the newest message)

use lettre::{AsyncSmtpTransport, AsyncTransport, Tokio1Executor};
use std::time::{Duration, Instant};
use yoyaku::config::{Imap, Security};
use yoyaku::mail::imap::ImapSession;
use yoyaku::mail::message;

const SMTP_PORT: u16 = 2525;
const IMAP_PORT: u16 = 1143;

fn arg(args: &[String], name: &str) -> Option<String> {
    args.iter()
        .position(|a| a == name)
        .and_then(|i| args.get(i + 1))
        .cloned()
}

fn required(args: &[String], name: &str) -> String {
    arg(args, name).unwrap_or_else(|| {
        eprintln!("seeker: missing {name}");
        std::process::exit(2)
    })
}

fn b64(bytes: &[u8]) -> String {
    const T: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut out = String::new();
    for c in bytes.chunks(3) {
        let n = (u32::from(c[0]) << 16)
            | (u32::from(*c.get(1).unwrap_or(&0)) << 8)
            | u32::from(*c.get(2).unwrap_or(&0));
        for i in 0..4 {
            if i <= c.len() {
                out.push(T[((n >> (18 - 6 * i)) & 63) as usize] as char);
            } else {
                out.push('=');
            }
        }
    }
    out
}

fn build(from: &str, to: &str, subject: &str, body: &str, extra: &[(String, String)]) -> Vec<u8> {
    let id = format!(
        "<demo.{}@example.jp>",
        chrono::Utc::now().timestamp_nanos_opt().unwrap_or(0)
    );
    let mut head = format!(
        "From: {from}\r\nTo: {to}\r\nSubject: =?UTF-8?B?{}?=\r\nDate: {}\r\nMessage-ID: {id}\r\nMIME-Version: 1.0\r\nContent-Type: text/plain; charset=UTF-8\r\nContent-Transfer-Encoding: base64\r\n",
        b64(subject.as_bytes()),
        chrono::Utc::now().to_rfc2822()
    );
    for (k, v) in extra {
        head.push_str(&format!("{k}: {v}\r\n"));
    }
    let encoded = b64(body.replace('\n', "\r\n").as_bytes());
    let lines: Vec<&str> = encoded
        .as_bytes()
        .chunks(76)
        .map(|c| std::str::from_utf8(c).unwrap_or(""))
        .collect();
    format!("{head}\r\n{}\r\n", lines.join("\r\n")).into_bytes()
}

async fn send(from: &str, to: &str, raw: &[u8]) -> Result<(), String> {
    let t = AsyncSmtpTransport::<Tokio1Executor>::builder_dangerous("127.0.0.1")
        .port(SMTP_PORT)
        .timeout(Some(Duration::from_secs(10)))
        .build();
    let env = lettre::address::Envelope::new(
        Some(from.parse().map_err(|e| format!("{e}"))?),
        vec![to.parse().map_err(|e| format!("{e}"))?],
    )
    .map_err(|e| e.to_string())?;
    t.send_raw(&env, raw)
        .await
        .map(|_| ())
        .map_err(|e| e.to_string())
}

async fn inbox(user: &str) -> Result<Vec<Vec<u8>>, String> {
    let cfg = Imap {
        host: "127.0.0.1".into(),
        port: IMAP_PORT,
        security: Security::None,
        username: user.into(),
        password: std::env::var("SEEKER_PASSWORD").unwrap_or_else(|_| "test-password".into()),
        mailbox: "INBOX".into(),
        poll: Duration::from_secs(1),
        idle: false,
        timeout: Duration::from_secs(10),
        ca_pem: None,
        oauth2: None,
    };
    let mut s = ImapSession::connect(&cfg)
        .await
        .map_err(|e| e.to_string())?;
    s.select("INBOX").await.map_err(|e| e.to_string())?;
    let mut out = Vec::new();
    for uid in s.uids().await.map_err(|e| e.to_string())? {
        if let Some(raw) = s.fetch(uid).await.map_err(|e| e.to_string())? {
            out.push(raw);
        }
    }
    s.logout().await;
    Ok(out)
}

fn reply_subject(s: &str) -> String {
    if s.to_ascii_lowercase().starts_with("re:") {
        s.to_string()
    } else {
        format!("Re: {s}")
    }
}

fn show(raw: &[u8]) {
    let m = message::parse(raw);
    println!("┌─ Subject: {}", m.subject);
    println!("│  In-Reply-To/References: {}", m.thread_ids.join(" "));
    for line in m.body.lines() {
        println!("│  {line}");
    }
    let attachments = mail_parser::MessageParser::default()
        .parse(raw)
        .map(|p| p.attachment_count())
        .unwrap_or(0);
    println!("└─ attachments: {attachments}");
}

#[tokio::main]
async fn main() {
    let args: Vec<String> = std::env::args().collect();
    let result = match args.get(1).map(String::as_str) {
        Some("send") => {
            let (from, to) = (required(&args, "--from"), required(&args, "--to"));
            let raw = build(
                &from,
                &to,
                &required(&args, "--subject"),
                &required(&args, "--body"),
                &[],
            );
            send(&from, &to, &raw).await
        }
        Some("wait") => {
            let user = required(&args, "--user");
            let count: usize = required(&args, "--count").parse().unwrap_or(1);
            let start = Instant::now();
            loop {
                match inbox(&user).await {
                    Ok(msgs) if msgs.len() >= count => {
                        show(&msgs[count - 1]);
                        break Ok(());
                    }
                    Ok(_) | Err(_) if start.elapsed() < Duration::from_secs(60) => {
                        tokio::time::sleep(Duration::from_millis(300)).await
                    }
                    Ok(msgs) => break Err(format!("only {} message(s) after 60 s", msgs.len())),
                    Err(e) => break Err(e),
                }
            }
        }
        Some("reply") => {
            let user = required(&args, "--user");
            let to = required(&args, "--to");
            match inbox(&user).await {
                Ok(msgs) if !msgs.is_empty() => {
                    let parent = message::parse(&msgs[msgs.len() - 1]);
                    let id = parent.message_id.clone().unwrap_or_default();
                    let mut refs: Vec<String> =
                        parent.thread_ids.iter().map(|r| format!("<{r}>")).collect();
                    refs.push(format!("<{id}>"));
                    let quoted: String = parent.body.lines().map(|l| format!("> {l}\n")).collect();
                    let body = format!(
                        "{}\n\n{} ハローワーク <{to}>:\n{quoted}",
                        required(&args, "--body"),
                        chrono::Local::now().format("%Y年%m月%d日 %H:%M")
                    );
                    let raw = build(
                        &user,
                        &to,
                        &reply_subject(&parent.subject),
                        &body,
                        &[
                            ("In-Reply-To".into(), format!("<{id}>")),
                            ("References".into(), refs.join(" ")),
                        ],
                    );
                    let sent = send(&user, &to, &raw).await;
                    if sent.is_ok() {
                        show(&raw);
                    }
                    sent
                }
                Ok(_) => Err("nothing to reply to".into()),
                Err(e) => Err(e),
            }
        }
        _ => Err("usage: seeker send|wait|reply …".into()),
    };
    if let Err(e) = result {
        eprintln!("seeker: {e}");
        std::process::exit(1);
    }
}
