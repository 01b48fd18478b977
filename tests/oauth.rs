//! Tokens for the office's mailbox (issue 25) from a local identity server
//! that follows the documented token endpoints: Entra ID's client
//! credentials grant (with its error bodies) and Google's JWT bearer grant
//! (the assertion's RS256 signature, iss, sub, aud, scope and expiry
//! checked with the service account's public key).

mod common;

use axum::extract::State;
use axum::routing::post;
use axum::{Form, Router};
use base64::Engine;
use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use yoyaku::config::Config;
use yoyaku::mail::oauth;

const TENANT: &str = "contoso.onmicrosoft.com";
const CLIENT_ID: &str = "0f9a2c1e-5b7d-4c3a-9e21-7d1f3b6a8c40";
const SECRET: &str = "Qx8~right-secret-value";

#[derive(Default)]
struct Idp {
    issued: u64,
    /// Live tokens and the mailbox each opens (introspection).
    tokens: HashMap<String, String>,
    /// The mailbox the Entra app has FullAccess to.
    entra_mailbox: String,
    /// The Google service account's public key (RSAPublicKey DER).
    google_key: Vec<u8>,
    /// Mailboxes of the Google domain.
    google_users: Vec<String>,
}

type Shared = Arc<Mutex<Idp>>;

fn json(status: u16, body: serde_json::Value) -> axum::response::Response {
    use axum::response::IntoResponse;
    (
        axum::http::StatusCode::from_u16(status).expect("status"),
        [(axum::http::header::CONTENT_TYPE, "application/json")],
        body.to_string(),
    )
        .into_response()
}

fn refusal(status: u16, error: &str, description: &str) -> axum::response::Response {
    json(
        status,
        serde_json::json!({ "error": error, "error_description": description }),
    )
}

async fn entra(
    State(idp): State<Shared>,
    Form(f): Form<HashMap<String, String>>,
) -> axum::response::Response {
    if f.get("grant_type").map(String::as_str) != Some("client_credentials") {
        return refusal(400, "unsupported_grant_type", "AADSTS70003: grant type");
    }
    if f.get("client_id").map(String::as_str) != Some(CLIENT_ID) {
        return refusal(400, "unauthorized_client", "AADSTS700016: Application with identifier 'x' was not found in the directory. Trace ID: 1 Correlation ID: 2 Timestamp: 3");
    }
    if f.get("client_secret").map(String::as_str) != Some(SECRET) {
        return refusal(401, "invalid_client", "AADSTS7000215: Invalid client secret provided. Ensure the secret being sent in the request is the client secret value, not the client secret ID, for a secret added to app 'x'. Trace ID: 1 Correlation ID: 2 Timestamp: 3");
    }
    if f.get("scope").map(String::as_str) != Some("https://outlook.office365.com/.default") {
        return refusal(
            400,
            "invalid_scope",
            "AADSTS1002012: The provided value for scope is not valid.",
        );
    }
    let mut s = idp.lock().expect("idp");
    s.issued += 1;
    let token = format!("eyJ0eXAi.ms.{}", s.issued);
    let mailbox = s.entra_mailbox.clone();
    s.tokens.insert(token.clone(), mailbox);
    json(
        200,
        serde_json::json!({
            "token_type": "Bearer", "expires_in": 3599, "ext_expires_in": 3599,
            "access_token": token
        }),
    )
}

async fn google(
    State(idp): State<Shared>,
    Form(f): Form<HashMap<String, String>>,
) -> axum::response::Response {
    if f.get("grant_type").map(String::as_str)
        != Some("urn:ietf:params:oauth:grant-type:jwt-bearer")
    {
        return refusal(400, "unsupported_grant_type", "Invalid grant_type");
    }
    let jwt = f.get("assertion").cloned().unwrap_or_default();
    let parts: Vec<&str> = jwt.split('.').collect();
    if parts.len() != 3 {
        return refusal(400, "invalid_grant", "Invalid JWT: not three parts");
    }
    let b64 = base64::engine::general_purpose::URL_SAFE_NO_PAD;
    let (Ok(header), Ok(claims), Ok(sig)) = (
        b64.decode(parts[0]),
        b64.decode(parts[1]),
        b64.decode(parts[2]),
    ) else {
        return refusal(400, "invalid_grant", "Invalid JWT: base64");
    };
    let header: serde_json::Value = serde_json::from_slice(&header).unwrap_or_default();
    let claims: serde_json::Value = serde_json::from_slice(&claims).unwrap_or_default();
    let mut s = idp.lock().expect("idp");
    let key = ring::signature::UnparsedPublicKey::new(
        &ring::signature::RSA_PKCS1_2048_8192_SHA256,
        s.google_key.clone(),
    );
    let signed = format!("{}.{}", parts[0], parts[1]);
    if header["alg"] != "RS256" || key.verify(signed.as_bytes(), &sig).is_err() {
        return refusal(400, "invalid_grant", "Invalid JWT Signature.");
    }
    let now = chrono::Utc::now().timestamp();
    let (iat, exp) = (
        claims["iat"].as_i64().unwrap_or(0),
        claims["exp"].as_i64().unwrap_or(0),
    );
    if !claims["aud"]
        .as_str()
        .unwrap_or("")
        .ends_with("/google/token")
    {
        return refusal(400, "invalid_grant", "Invalid JWT: audience");
    }
    if exp <= now || exp - iat > 3600 || iat > now + 60 {
        return refusal(400, "invalid_grant", "Invalid JWT: Token must be a short-lived token (60 minutes) and in a reasonable timeframe.");
    }
    if claims["scope"] != "https://mail.google.com/" {
        return refusal(400, "invalid_scope", "Invalid OAuth scope.");
    }
    if claims["iss"] != "desk-bot@office-project.iam.gserviceaccount.com" {
        return refusal(401, "invalid_client", "The OAuth client was not found.");
    }
    let sub = claims["sub"].as_str().unwrap_or("").to_string();
    if !s.google_users.contains(&sub) {
        return refusal(400, "invalid_grant", "Invalid email or User ID");
    }
    s.issued += 1;
    json(
        200,
        serde_json::json!({
            "token_type": "Bearer", "expires_in": 3599,
            "access_token": format!("ya29.{}.{}", sub, s.issued)
        }),
    )
}

/// Token introspection (RFC 7662) as Dovecot's oauth2 passdb asks it
/// (`introspection_mode = post`: the token in the form).
async fn introspect(State(idp): State<Shared>, body: String) -> axum::response::Response {
    let token = body
        .split('&')
        .find_map(|kv| kv.strip_prefix("token="))
        .unwrap_or("")
        .to_string();
    let token = url::form_urlencoded::parse(format!("t={token}").as_bytes())
        .next()
        .map(|(_, v)| v.into_owned())
        .unwrap_or_default();
    let s = idp.lock().expect("idp");
    match s.tokens.get(&token) {
        Some(mailbox) => json(
            200,
            serde_json::json!({ "active": "true", "username": mailbox }),
        ),
        None => json(200, serde_json::json!({ "active": "false" })),
    }
}

/// The identity server on a port of its own; its base URL.
async fn identity_server(idp: Shared) -> String {
    identity_server_at(idp, "127.0.0.1:0").await
}

async fn identity_server_at(idp: Shared, addr: &str) -> String {
    let listener = tokio::net::TcpListener::bind(addr).await.expect("bind");
    let base = format!("http://{}", listener.local_addr().expect("addr"));
    let app = Router::new()
        .route(&format!("/{TENANT}/oauth2/v2.0/token"), post(entra))
        .route("/google/token", post(google))
        .route("/introspect", post(introspect))
        .with_state(idp);
    tokio::spawn(async move {
        let _ = axum::serve(listener, app).await;
    });
    base
}

/// A fresh RSA key (PKCS#8 PEM) from openssl, as Google's console makes one.
fn rsa_key(dir: &std::path::Path) -> String {
    let path = dir.join("key.pem");
    let ok = std::process::Command::new("openssl")
        .args([
            "genpkey",
            "-algorithm",
            "RSA",
            "-pkeyopt",
            "rsa_keygen_bits:2048",
            "-out",
        ])
        .arg(&path)
        .status()
        .expect("openssl")
        .success();
    assert!(ok, "openssl made a key");
    std::fs::read_to_string(path).expect("key")
}

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
}

#[tokio::test]
async fn a_google_service_account_signs_an_assertion_the_server_verifies() {
    let dir = tempfile::tempdir().expect("dir");
    let pem = rsa_key(dir.path());
    let der = {
        let body: String = pem.lines().filter(|l| !l.starts_with("-----")).collect();
        base64::engine::general_purpose::STANDARD
            .decode(body)
            .expect("der")
    };
    let pair = ring::signature::RsaKeyPair::from_pkcs8(&der).expect("rsa");
    use ring::signature::KeyPair;
    let idp = Shared::new(Mutex::new(Idp {
        google_key: pair.public_key().as_ref().to_vec(),
        google_users: vec!["desk@example.jp".into()],
        ..Idp::default()
    }));
    let base = identity_server(idp.clone()).await;
    let key = serde_json::json!({
        "type": "service_account",
        "project_id": "office-project",
        "private_key_id": "3f2a",
        "private_key": pem,
        "client_email": "desk-bot@office-project.iam.gserviceaccount.com",
        "client_id": "1234567890",
        "token_uri": format!("{base}/google/token"),
    });
    std::fs::write(dir.path().join("sa.json"), key.to_string()).expect("key file");
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
}
