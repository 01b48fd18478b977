//! A local identity server following the documented token endpoints
//! (tests/oauth.rs, tests/oauth_desk.rs): Entra ID's client credentials
//! grant per tenant (with its error bodies), Google's JWT bearer grant (the
//! assertion's RS256 signature, iss, sub, aud, scope and expiry checked
//! with the service account's public key), and token introspection as
//! Dovecot's oauth2 passdb asks it (scripts/mailstack.sh).
#![allow(dead_code)]

use axum::extract::State;
use axum::routing::post;
use axum::{Form, Router};
use base64::Engine;
use std::collections::HashMap;
use std::sync::{Arc, Mutex};

pub const TENANT: &str = "contoso.onmicrosoft.com";
pub const CLIENT_ID: &str = "0f9a2c1e-5b7d-4c3a-9e21-7d1f3b6a8c40";
pub const SECRET: &str = "Qx8~right-secret-value";
/// A second office's tenant and app (one process serves both).
pub const TENANT2: &str = "matsue.onmicrosoft.com";
pub const CLIENT_ID2: &str = "7c3e1d2a-9b8f-4e6d-a1c0-2f4b6d8e0a13";
pub const SECRET2: &str = "Zr5~another-tenants-secret";

#[derive(Default)]
pub struct Idp {
    pub issued: u64,
    /// Live tokens and the mailbox each opens (introspection).
    pub tokens: HashMap<String, String>,
    /// The mailbox the Entra app has FullAccess to.
    pub entra_mailbox: String,
    /// The Google service account's public key (RSAPublicKey DER).
    pub google_key: Vec<u8>,
    /// Mailboxes of the Google domain.
    pub google_users: Vec<String>,
}

pub type Shared = Arc<Mutex<Idp>>;

pub fn json(status: u16, body: serde_json::Value) -> axum::response::Response {
    use axum::response::IntoResponse;
    (
        axum::http::StatusCode::from_u16(status).expect("status"),
        [(axum::http::header::CONTENT_TYPE, "application/json")],
        body.to_string(),
    )
        .into_response()
}

pub fn refusal(status: u16, error: &str, description: &str) -> axum::response::Response {
    json(
        status,
        serde_json::json!({ "error": error, "error_description": description }),
    )
}

async fn entra(
    State(idp): State<Shared>,
    axum::extract::Path(tenant): axum::extract::Path<String>,
    Form(f): Form<HashMap<String, String>>,
) -> axum::response::Response {
    let (client_id, secret) = match tenant.as_str() {
        TENANT => (CLIENT_ID, SECRET),
        TENANT2 => (CLIENT_ID2, SECRET2),
        _ => return refusal(400, "invalid_request", "AADSTS90002: Tenant 'x' not found."),
    };
    if f.get("grant_type").map(String::as_str) != Some("client_credentials") {
        return refusal(400, "unsupported_grant_type", "AADSTS70003: grant type");
    }
    if f.get("client_id").map(String::as_str) != Some(client_id) {
        return refusal(400, "unauthorized_client", "AADSTS700016: Application with identifier 'x' was not found in the directory. Trace ID: 1 Correlation ID: 2 Timestamp: 3");
    }
    if f.get("client_secret").map(String::as_str) != Some(secret) {
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
    let token = format!("eyJ0eXAi.{tenant}.{}", s.issued);
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
    let token = format!("ya29.{}.{}", sub, s.issued);
    s.tokens.insert(token.clone(), sub);
    json(
        200,
        serde_json::json!({
            "token_type": "Bearer", "expires_in": 3599,
            "access_token": token
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
pub async fn identity_server(idp: Shared) -> String {
    identity_server_at(idp, "127.0.0.1:0").await
}

pub async fn identity_server_at(idp: Shared, addr: &str) -> String {
    let listener = tokio::net::TcpListener::bind(addr).await.expect("bind");
    let base = format!("http://{}", listener.local_addr().expect("addr"));
    let app = Router::new()
        .route("/{tenant}/oauth2/v2.0/token", post(entra))
        .route("/google/token", post(google))
        .route("/introspect", post(introspect))
        .with_state(idp);
    tokio::spawn(async move {
        let _ = axum::serve(listener, app).await;
    });
    base
}

/// A fresh RSA key (PKCS#8 PEM) from openssl, as Google's console makes one.
pub fn rsa_key(dir: &std::path::Path) -> String {
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

/// The service account Google's console would give for the identity
/// server at `base`: writes its JSON key to `dir/sa.json` and returns the
/// public key the server checks assertions with.
pub fn service_account(dir: &std::path::Path, base: &str) -> Vec<u8> {
    let pem = rsa_key(dir);
    let der = {
        let body: String = pem.lines().filter(|l| !l.starts_with("-----")).collect();
        base64::engine::general_purpose::STANDARD
            .decode(body)
            .expect("der")
    };
    let pair = ring::signature::RsaKeyPair::from_pkcs8(&der).expect("rsa");
    use ring::signature::KeyPair;
    let key = serde_json::json!({
        "type": "service_account",
        "project_id": "office-project",
        "private_key_id": "3f2a",
        "private_key": pem,
        "client_email": "desk-bot@office-project.iam.gserviceaccount.com",
        "client_id": "1234567890",
        "token_uri": format!("{base}/google/token"),
    });
    std::fs::write(dir.join("sa.json"), key.to_string()).expect("key file");
    pair.public_key().as_ref().to_vec()
}
