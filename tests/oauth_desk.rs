//! The whole desk on a mailbox that takes only tokens (issue 25): for each
//! provider, a request is read over IMAP XOAUTH2, offered and confirmed
//! through Postfix's submission port with SMTP XOAUTH2 (both checked by
//! Dovecot against the local identity server of common/idp.rs), with a
//! token revoked between passes; `yoyaku check` and `yoyaku status` say
//! how the token stands.

mod common;
#[path = "common/idp.rs"]
mod idp;
#[path = "common/site.rs"]
mod site;

use common::*;
use idp::*;
use std::sync::Mutex;

// Two workers: `yoyaku check` and `status` run as child processes and
// block one while the identity server answers them on the other.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_request_is_booked_through_token_logins_with_each_provider() {
    ensure_mailstack();
    let idp: Shared = Shared::default();
    // The port scripts/mailstack.sh names in Dovecot's oauth2 passdb.
    let port = std::env::var("YOYAKU_IDP_PORT").unwrap_or_else(|_| "18089".into());
    let base = identity_server_at(idp.clone(), &format!("127.0.0.1:{port}")).await;
    let keys = tempfile::tempdir().expect("dir");
    let google_key = service_account(keys.path(), &base);
    idp.lock().expect("idp").google_key = google_key;
    let providers = [
        (
            "microsoft",
            format!("provider = \"microsoft\"\ntenant = \"{TENANT}\"\nclient_id = \"{CLIENT_ID}\"\nclient_secret = \"{SECRET}\"\ntoken_url = \"{base}/{TENANT}/oauth2/v2.0/token\""),
        ),
        (
            "google",
            format!(
                "provider = \"google\"\nservice_account_file = \"{}\"",
                keys.path().join("sa.json").display()
            ),
        ),
    ];
    for (provider, oauth2) in providers.iter().cloned() {
        book_through_tokens(&idp, &base, provider, oauth2).await;
    }
    let (_, microsoft) = providers[0].clone();
    session_ended_when_the_token_expires(&idp, microsoft).await;
}

/// Between the desk and Dovecot: passes IMAP through and, at each `kick`,
/// ends every open session as Exchange Online does when the session's
/// token expires. Returns its port, the kick and the count of sessions.
async fn exchange_like_proxy() -> (
    u16,
    tokio::sync::watch::Sender<u64>,
    std::sync::Arc<std::sync::atomic::AtomicUsize>,
) {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let port = listener.local_addr().expect("addr").port();
    let (kick, kicked) = tokio::sync::watch::channel(0u64);
    let sessions = std::sync::Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let counted = sessions.clone();
    tokio::spawn(async move {
        while let Ok((client, _)) = listener.accept().await {
            counted.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
            let Ok(server) = tokio::net::TcpStream::connect(("127.0.0.1", IMAP_PORT)).await else {
                continue;
            };
            let mut kicked = kicked.clone();
            kicked.borrow_and_update();
            tokio::spawn(async move {
                let (mut from_client, mut to_server) = (client, server);
                let (mut cr, mut cw) = from_client.split();
                let (mut sr, mut sw) = to_server.split();
                let upward = tokio::io::copy(&mut cr, &mut sw);
                let downward = async {
                    let mut buf = vec![0u8; 16384];
                    loop {
                        tokio::select! {
                            n = sr.read(&mut buf) => match n {
                                Ok(0) | Err(_) => return,
                                Ok(n) => {
                                    if cw.write_all(&buf[..n]).await.is_err() {
                                        return;
                                    }
                                }
                            },
                            _ = kicked.changed() => {
                                let _ = cw
                                    .write_all(b"* BYE Session invalidated - AccessTokenExpired\r\n")
                                    .await;
                                return;
                            }
                        }
                    }
                };
                tokio::select! {
                    _ = upward => {}
                    _ = downward => {}
                }
            });
        }
    });
    (port, kick, sessions)
}

/// Exchange ends an IMAP session whose token expired (`* BYE Session
/// invalidated - AccessTokenExpired`): the running desk logs in again with
/// a fresh token and goes on, losing and repeating nothing.
async fn session_ended_when_the_token_expires(idp: &Mutex<Idp>, oauth2: String) {
    let (proxy, kick, sessions) = exchange_like_proxy().await;
    let desk = TestDesk::with(Options {
        oauth2: Some(oauth2),
        tls: Some(("none", proxy, "none", SMTP_PORT)),
        ..Default::default()
    })
    .await;
    idp.lock().expect("idp").entra_mailbox = desk.address.clone();
    let cfg = yoyaku::config::Config::load(&desk.config_path).expect("config");
    let daemon = yoyaku::desk::Desk::new(cfg).await.expect("desk");
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let running = tokio::spawn(async move {
        daemon
            .run(async {
                let _ = stopped.await;
            })
            .await
    });
    let first = Seeker::new("beforebye");
    let wish = wish_ahead(&desk, 7, "10:00");
    first
        .send(&desk.address, "予約", &request_text("前田 一郎", &wish))
        .await;
    assert_eq!(first.inbox(1).await.len(), 1, "answered before the BYE");
    let before = sessions.load(std::sync::atomic::Ordering::SeqCst);
    let issued = {
        let mut s = idp.lock().expect("idp");
        s.tokens.clear();
        s.issued
    };
    kick.send_modify(|n| *n += 1);
    let second = Seeker::new("afterbye");
    second
        .send(&desk.address, "予約", &request_text("後藤 二郎", &wish))
        .await;
    assert_eq!(second.inbox(1).await.len(), 1, "answered after the BYE");
    assert!(
        sessions.load(std::sync::atomic::Ordering::SeqCst) > before,
        "the desk logged in again"
    );
    assert_eq!(
        idp.lock().expect("idp").issued,
        issued + 1,
        "one fresh token after the expired one was refused"
    );
    tokio::time::sleep(std::time::Duration::from_secs(2)).await;
    assert_eq!(
        first.inbox(1).await.len(),
        1,
        "the first seeker is not answered twice"
    );
    let _ = stop.send(());
    let ended = tokio::time::timeout(std::time::Duration::from_secs(15), running)
        .await
        .expect("stops in time")
        .expect("task");
    assert!(ended.is_ok(), "{ended:?}");
}

async fn book_through_tokens(idp: &Mutex<Idp>, base: &str, provider: &str, oauth2: String) {
    let port = site::free_port();
    let desk = TestDesk::with(Options {
        rooms: 1,
        oauth2: Some(oauth2),
        extra: format!(
            "[web]\nlisten = \"127.0.0.1:{port}\"\nmetrics_token = \"{}\"\n",
            site::TOKEN
        ),
        ..Default::default()
    })
    .await;
    {
        let mut s = idp.lock().expect("idp");
        s.entra_mailbox = desk.address.clone();
        s.google_users.push(desk.address.clone());
    }
    let cfg = desk.desk.office().config();
    assert!(cfg.imap.password.is_empty(), "{provider}: no password");
    assert_eq!(cfg.oauth2_logins().len(), 1, "one token serves both");

    let (code, said) = yoyaku_cli(&desk.config_path, &["check"]);
    assert!(
        said.contains(&format!(
            "oauth2 (imap+smtp): token for {} from {provider} ok",
            desk.address
        )) && said.contains("imap: login ok")
            && said.contains("smtp: connection ok"),
        "{provider}: {said}"
    );
    assert_eq!(code, Some(0), "{provider}: {said}");

    let seeker = Seeker::new("oauthflow");
    let now = chrono::Utc::now();
    let wish = wish_ahead(&desk, 7, "10:00");
    seeker
        .send(
            &desk.address,
            "オンライン相談予約",
            &request_text("山田 太郎", &wish),
        )
        .await;
    desk.once_after(1, now).await;
    let offer = seeker.inbox(1).await.remove(0);
    assert!(
        offer.text().contains("【1】"),
        "{provider}: {}",
        offer.text()
    );

    // The provider revokes the token between passes: the next login gets
    // one fresh token, and nothing is lost or answered twice.
    let issued = {
        let mut s = idp.lock().expect("idp");
        s.tokens.clear();
        s.issued
    };
    seeker.reply(&offer, "1番でお願いします。").await;
    desk.once_after(1, now).await;
    let got = seeker.inbox(2).await;
    assert_eq!(got.len(), 2, "{provider}: one confirmation");
    assert!(
        got[1].text().contains("pass0word"),
        "{provider}: confirmed with the passcode: {}",
        got[1].text()
    );
    assert_eq!(
        idp.lock().expect("idp").issued,
        issued + 1,
        "{provider}: one fresh token for IMAP and SMTP"
    );
    let sent_copies = settle_and_read(&desk.address, "送信済").await;
    assert_eq!(sent_copies.len(), 2, "{provider}: both mails filed as sent");

    // `status` reads what the desk saw of its token.
    let (_, status) = yoyaku_cli(&desk.config_path, &["status"]);
    assert!(
        status.contains(&format!("imap+smtp: {provider} oauth2: token valid until"))
            && status.contains("0 failed"),
        "{provider}: {status}"
    );

    // The running desk's /metrics: tokens asked and their expiry, per
    // office, provider and login; never the mailbox.
    let _daemon = Daemon::start(&desk.config_path);
    let web = format!("http://127.0.0.1:{port}");
    site::wait_healthy(&web).await;
    let wanted = format!(
        "yoyaku_oauth2_token_requests_total{{office=\"default\",provider=\"{provider}\",login=\"imap+smtp\"}} 1"
    );
    let started = std::time::Instant::now();
    let metrics = loop {
        let text = site::client()
            .get(format!("{web}/metrics"))
            .bearer_auth(site::TOKEN)
            .send()
            .await
            .expect("metrics")
            .text()
            .await
            .expect("text");
        // The count rises when the request starts, the expiry when the
        // token comes.
        let got = text.contains(&wanted) && text.contains("yoyaku_oauth2_token_expiry_seconds{");
        if got || started.elapsed() > std::time::Duration::from_secs(20) {
            break text;
        }
        tokio::time::sleep(std::time::Duration::from_millis(200)).await;
    };
    assert!(metrics.contains(&wanted), "{provider}: {metrics}");
    assert!(
        metrics.contains(&format!(
            "yoyaku_oauth2_token_failures_total{{office=\"default\",provider=\"{provider}\",login=\"imap+smtp\"}} 0"
        )) && metrics.contains("yoyaku_oauth2_token_expiry_seconds{office=\"default\""),
        "{provider}: {metrics}"
    );
    assert!(!metrics.contains(&desk.address), "no mailbox in metrics");

    // A wrong secret / a key the service account does not have: `check`
    // fails with the provider's code and the fix, and prints no secret.
    let text = std::fs::read_to_string(&desk.config_path).expect("config");
    let other_key = tempfile::tempdir().expect("dir");
    let (wrong, (code_said, fix), secret) = if provider == "microsoft" {
        let wrong_secret = "Qx8~a-wrong-secret-value";
        (
            text.replace(SECRET, wrong_secret),
            ("AADSTS7000215", "oauth2.client_secret"),
            wrong_secret.to_string(),
        )
    } else {
        service_account(other_key.path(), "http://127.0.0.1:1");
        let sa = std::fs::read_to_string(other_key.path().join("sa.json")).expect("key");
        let pem = serde_json::from_str::<serde_json::Value>(&sa).expect("json")["private_key"]
            .as_str()
            .expect("pem")
            .to_string();
        let mut key: serde_json::Value = serde_json::from_str(&sa).expect("json");
        key["token_uri"] = serde_json::json!(format!("{base}/google/token"));
        std::fs::write(other_key.path().join("sa.json"), key.to_string()).expect("key");
        let pattern = regex::Regex::new(r#"service_account_file = "[^"]+""#).expect("re");
        let path = other_key.path().join("sa.json");
        (
            pattern
                .replace(
                    &text,
                    format!("service_account_file = \"{}\"", path.display()).as_str(),
                )
                .into_owned(),
            ("invalid_grant", "oauth2.service_account_file"),
            pem.lines().nth(1).unwrap_or("-").to_string(),
        )
    };
    let wrong_path = desk.dir.path().join("wrong.toml");
    std::fs::write(&wrong_path, wrong).expect("write");
    let (code, said) = yoyaku_cli(&wrong_path, &["check"]);
    assert_eq!(code, Some(1), "{provider}: {said}");
    assert!(
        said.contains(code_said) && said.contains(fix) && !said.contains(&secret),
        "{provider}: {said}"
    );
}
