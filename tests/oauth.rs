//! Tokens for the office's mailbox (issue 25) from a local identity server
//! that follows the documented token endpoints: Entra ID's client
//! credentials grant (with its error bodies) and Google's JWT bearer grant
//! (the assertion's RS256 signature, iss, sub, aud, scope and expiry
//! checked with the service account's public key).

mod common;
#[path = "common/idp.rs"]
mod idp;

use idp::*;
use std::sync::Mutex;
use yoyaku::config::Config;
use yoyaku::mail::oauth;

fn config(dir: &std::path::Path, oauth2: &str) -> Result<Config, String> {
    let text = format!(
        r#"
[office]
name = "ハローワーク出雲"
phone = "0853-21-8609"
staff_address = "staff@example.jp"
[imap]
auth = "oauth2"
host = "127.0.0.1"
username = "desk@example.jp"
[smtp]
auth = "oauth2"
host = "127.0.0.1"
from = "ハローワーク出雲 <desk@example.jp>"
[database]
url = "sqlite://y.db"
[[meeting.rooms]]
id = "1"
passcode = "p"
[oauth2]
{oauth2}
"#
    );
    Config::parse(&text, dir).map_err(|e| e.to_string())
}

#[tokio::test]
async fn entra_client_credentials_give_a_cached_token_and_a_wrong_secret_says_what_to_fix() {
    let idp = Shared::default();
    let base = identity_server(idp.clone()).await;
    let dir = tempfile::tempdir().expect("dir");
    let cfg = config(
        dir.path(),
        &format!("provider = \"microsoft\"\ntenant = \"{TENANT}\"\nclient_id = \"{CLIENT_ID}\"\nclient_secret = \"{SECRET}\"\ntoken_url = \"{base}/{TENANT}/oauth2/v2.0/token\""),
    )
    .expect("valid");
    let o = cfg.imap.oauth2.clone().expect("imap oauth2");
    assert_eq!(
        cfg.smtp.oauth2.as_ref().map(|(u, _)| u.as_str()),
        Some("desk@example.jp"),
        "the SMTP user defaults to smtp.from's address"
    );
    let first = oauth::token(&o, "desk@example.jp", false)
        .await
        .expect("token");
    let again = oauth::token(&o, "desk@example.jp", false)
        .await
        .expect("token");
    assert_eq!(first, again, "cached");
    assert_eq!(idp.lock().expect("idp").issued, 1);
    let renewed = oauth::token(&o, "desk@example.jp", true)
        .await
        .expect("token");
    assert_ne!(renewed, first, "a refused token is replaced");
    assert_eq!(idp.lock().expect("idp").issued, 2);
    let stats = oauth::stats();
    let mine = stats
        .iter()
        .find(|s| s.mailbox == "desk@example.jp" && s.provider == "microsoft")
        .expect("stats");
    assert_eq!((mine.requests, mine.failures), (2, 0));
    assert!(mine.expires_at.is_some());

    let wrong = config(
        dir.path(),
        &format!("provider = \"microsoft\"\ntenant = \"{TENANT}\"\nclient_id = \"{CLIENT_ID}\"\nclient_secret = \"wrong-one\"\ntoken_url = \"{base}/{TENANT}/oauth2/v2.0/token\""),
    )
    .expect("valid");
    let err = oauth::token(
        wrong.imap.oauth2.as_ref().expect("o"),
        "desk@example.jp",
        false,
    )
    .await
    .expect_err("refused")
    .to_string();
    assert!(
        err.contains("AADSTS7000215") && err.contains("Value"),
        "{err}"
    );
    assert!(
        !err.contains("Trace ID") && !err.contains("wrong-one"),
        "{err}"
    );

    // A second office on another tenant, in the same process: its own
    // app and token; its refusals leave the first office's token alone.
    let other = config(
        dir.path(),
        &format!("provider = \"microsoft\"\ntenant = \"{TENANT2}\"\nclient_id = \"{CLIENT_ID2}\"\nclient_secret = \"{SECRET2}\"\ntoken_url = \"{base}/{TENANT2}/oauth2/v2.0/token\""),
    )
    .expect("valid");
    let o2 = other.imap.oauth2.clone().expect("oauth2");
    let theirs = oauth::token(&o2, "matsue@example.jp", false)
        .await
        .expect("the other tenant's token");
    assert!(
        theirs.contains(TENANT2) && first.contains(TENANT),
        "{theirs} {first}"
    );
    let mut o2_wrong = o2.clone();
    o2_wrong.token_url = format!("{base}/nobody.onmicrosoft.com/oauth2/v2.0/token");
    let err = oauth::token(&o2_wrong, "matsue@example.jp", false)
        .await
        .expect_err("an unknown tenant")
        .to_string();
    assert!(err.contains("AADSTS90002"), "{err}");
    assert_eq!(
        oauth::token(&o, "desk@example.jp", false)
            .await
            .expect("cached"),
        renewed,
        "the first office keeps its token"
    );
    let (mine, theirs) = (
        oauth::stats_of(&o, "desk@example.jp"),
        oauth::stats_of(&o2, "matsue@example.jp"),
    );
    assert_eq!((mine.requests, mine.failures), (2, 0));
    assert_eq!((theirs.requests, theirs.failures), (1, 0));
}

#[tokio::test]
async fn a_google_service_account_signs_an_assertion_the_server_verifies() {
    let dir = tempfile::tempdir().expect("dir");
    let idp = Shared::new(Mutex::new(Idp {
        google_users: vec!["desk@example.jp".into()],
        ..Idp::default()
    }));
    let base = identity_server(idp.clone()).await;
    idp.lock().expect("idp").google_key = service_account(dir.path(), &base);
    let cfg = config(
        dir.path(),
        "provider = \"google\"\nservice_account_file = \"sa.json\"",
    )
    .expect("valid");
    let o = cfg.imap.oauth2.clone().expect("oauth2");
    let token = oauth::token(&o, "desk@example.jp", false)
        .await
        .expect("token");
    assert!(token.starts_with("ya29.desk@example.jp."), "{token}");
    // A mailbox outside the domain: Google's words and what to check.
    let err = oauth::token(&o, "nobody@example.jp", false)
        .await
        .expect_err("refused")
        .to_string();
    assert!(
        err.contains("invalid_grant") && err.contains("sub"),
        "{err}"
    );
    assert!(!err.contains("PRIVATE KEY"));

    // A key that is not a key is a config error naming the key.
    std::fs::write(
        dir.path().join("bad.json"),
        serde_json::json!({ "client_email": "a@b.iam.gserviceaccount.com", "private_key": "nope" })
            .to_string(),
    )
    .expect("write");
    let err = config(
        dir.path(),
        "provider = \"google\"\nservice_account_file = \"bad.json\"",
    )
    .expect_err("bad key");
    assert!(err.contains("oauth2.service_account_file"), "{err}");
}

#[test]
fn oauth2_config_errors_name_the_key() {
    let dir = tempfile::tempdir().expect("dir");
    for (section, key) in [
        ("provider = \"yahoo\"", "oauth2.provider"),
        (
            "provider = \"microsoft\"\nclient_id = \"x\"\nclient_secret = \"y\"",
            "oauth2.tenant",
        ),
        (
            "provider = \"microsoft\"\ntenant = \"t\"\nclient_secret = \"y\"",
            "oauth2.client_id",
        ),
        (
            "provider = \"microsoft\"\ntenant = \"t\"\nclient_id = \"x\"",
            "oauth2.client_secret",
        ),
        ("provider = \"google\"", "oauth2.service_account_file"),
    ] {
        let err = config(dir.path(), section).expect_err(key);
        assert!(err.contains(key), "{err} should name {key}");
    }
}

/// Dovecot itself checks the token (its oauth2 passdb asks the identity
/// server): the desk's XOAUTH2 login works with no password; a token
/// revoked between logins gets one fresh token and the login succeeds; an
/// app without the mailbox is refused with what to check.
#[tokio::test]
async fn dovecot_takes_the_token_and_a_revoked_one_is_renewed_once() {
    common::ensure_mailstack();
    let mailbox = common::unique("oauthdesk");
    common::add_user(&mailbox);
    let idp = Shared::new(Mutex::new(Idp {
        entra_mailbox: mailbox.clone(),
        ..Idp::default()
    }));
    // The port scripts/mailstack.sh names in Dovecot's oauth2 passdb.
    let port = std::env::var("YOYAKU_IDP_PORT").unwrap_or_else(|_| "18089".into());
    let base = identity_server_at(idp.clone(), &format!("127.0.0.1:{port}")).await;
    let dir = tempfile::tempdir().expect("dir");
    let cfg = config(
        dir.path(),
        &format!("provider = \"microsoft\"\ntenant = \"{TENANT}\"\nclient_id = \"{CLIENT_ID}\"\nclient_secret = \"{SECRET}\"\ntoken_url = \"{base}/{TENANT}/oauth2/v2.0/token\""),
    )
    .expect("valid");
    let mut imap = common::imap_for(&mailbox);
    imap.password = String::new();
    imap.oauth2 = cfg.imap.oauth2.clone();
    let session = yoyaku::mail::imap::ImapSession::connect(&imap)
        .await
        .expect("an XOAUTH2 login Dovecot accepts");
    session.logout().await;
    let issued = idp.lock().expect("idp").issued;

    // Revoked between passes: one fresh token, the login goes through.
    idp.lock().expect("idp").tokens.clear();
    let session = yoyaku::mail::imap::ImapSession::connect(&imap)
        .await
        .expect("renewed once");
    session.logout().await;
    assert_eq!(idp.lock().expect("idp").issued, issued + 1);

    // The app has no right to this mailbox: refused twice, then the fix.
    let other = common::unique("oauthother");
    common::add_user(&other);
    let mut theirs = imap.clone();
    theirs.username = other;
    let err = match yoyaku::mail::imap::ImapSession::connect(&theirs).await {
        Ok(_) => panic!("another mailbox must be refused"),
        Err(e) => e.to_string(),
    };
    assert!(
        err.contains("refused the microsoft oauth2 token") && err.contains("IMAP.AccessAsApp"),
        "{err}"
    );
    assert!(!err.contains("eyJ0eXAi"), "no token in errors: {err}");

    // SMTP: Postfix's submission port asks Dovecot (SASL), which asks the
    // identity server, so the desk's AUTH XOAUTH2 is checked for real.
    let mut smtp = cfg.smtp.clone();
    smtp.port = std::env::var("YOYAKU_SUBMISSION_PORT")
        .ok()
        .and_then(|p| p.parse().ok())
        .unwrap_or(2587);
    smtp.security = yoyaku::config::Security::StartTls;
    smtp.ca_pem = Some(std::fs::read(common::test_ca()).expect("ca"));
    smtp.oauth2 = smtp.oauth2.map(|(_, o)| (mailbox.clone(), o));
    let seeker = common::unique("oauthseeker");
    common::add_user(&seeker);
    let message = |n: u32| {
        format!(
            "From: desk <{mailbox}>\r\nTo: <{seeker}>\r\nSubject: oauth {n}\r\nMessage-ID: <oauth-{n}-{}@yoyaku.test>\r\n\r\nsent with a token\r\n",
            common::rand_u64()
        )
    };
    let issued = idp.lock().expect("idp").issued;
    let sender = yoyaku::mail::smtp::SmtpSender::new(&smtp).expect("sender");
    sender
        .send(1, &seeker, message(1).as_bytes())
        .await
        .expect("Postfix takes the cached token");
    sender.close().await;
    assert_eq!(
        idp.lock().expect("idp").issued,
        issued,
        "the IMAP token is reused"
    );
    idp.lock().expect("idp").tokens.clear();
    let sender = yoyaku::mail::smtp::SmtpSender::new(&smtp).expect("sender");
    sender
        .send(2, &seeker, message(2).as_bytes())
        .await
        .expect("renewed once");
    sender.close().await;
    assert_eq!(idp.lock().expect("idp").issued, issued + 1);
    let got = common::wait_for(&seeker, "INBOX", 2).await;
    assert_eq!(got.len(), 2, "both mails delivered");

    // Without the mailbox's right: refused twice (Dovecot's XOAUTH2 error
    // challenge is answered), then what to check for SMTP.
    let mut theirs = smtp.clone();
    theirs.oauth2 = theirs
        .oauth2
        .map(|(_, o)| (common::unique("oauthnobody"), o));
    let sender = yoyaku::mail::smtp::SmtpSender::new(&theirs).expect("sender");
    let err = match sender.send(3, &seeker, message(3).as_bytes()).await {
        Ok(()) => panic!("a token for another mailbox must be refused"),
        Err(e) => e.to_string(),
    };
    assert!(
        err.contains("refused the microsoft oauth2 token") && err.contains("SMTP.SendAsApp"),
        "{err}"
    );
    assert!(!err.contains("eyJ0eXAi"), "no token in errors: {err}");
}
