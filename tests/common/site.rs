//! A desk with its staff page served by a real `yoyaku run`, and the HTTP
//! helpers the web tests share (tests/web.rs over reqwest, tests/browser.rs
//! in Chromium).
#![allow(dead_code)]

use crate::common::*;
use regex::Regex;
use reqwest::redirect::Policy;
use reqwest::{Client, StatusCode};
use std::time::{Duration, Instant};

pub const TOKEN: &str = "metrics-token-for-tests-0123456789";
pub const PASSWORD_VAR: &str = "YOYAKU_TEST_STAFF_PASSWORD";

pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("a free port")
}

/// `yoyaku ARGS --config PATH` with the staff password in the environment.
pub fn yoyaku(config: &std::path::Path, args: &[&str], password: &str) -> (bool, String) {
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_yoyaku"))
        .args(args)
        .arg("--config")
        .arg(config)
        .env(PASSWORD_VAR, password)
        .env("YOYAKU_LOG", "warn")
        .output()
        .expect("run yoyaku");
    (
        out.status.success(),
        format!(
            "{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        ),
    )
}

pub fn add_staff(config: &std::path::Path, login: &str, password: &str, more: &[&str]) {
    let mut args = vec!["staff-user", "add", login, "--password-env", PASSWORD_VAR];
    args.extend_from_slice(more);
    let (ok, out) = yoyaku(config, &args, password);
    assert!(ok, "staff-user add: {out}");
}

pub fn client() -> Client {
    // reqwest is built without a TLS provider (yoyaku brings its own).
    let _ = tokio_rustls::rustls::crypto::ring::default_provider().install_default();
    Client::builder()
        .cookie_store(true)
        .redirect(Policy::none())
        .timeout(Duration::from_secs(30))
        .build()
        .expect("http client")
}

/// A desk with its staff page on a port of its own, served by `yoyaku run`
/// (its log, JSON lines at info level, in `log`).
pub struct Site {
    pub desk: TestDesk,
    pub _daemon: Daemon,
    pub base: String,
    pub log: std::path::PathBuf,
}

pub async fn site() -> Site {
    let port = free_port();
    let desk = TestDesk::with(Options {
        extra: format!("[web]\nlisten = \"127.0.0.1:{port}\"\nmetrics_token = \"{TOKEN}\"\n"),
        ..Options::default()
    })
    .await;
    add_staff(&desk.config_path, "suzuki", "madoguchi-2026", &[]);
    let log = desk.dir.path().join("daemon.log");
    let daemon = Daemon(
        std::process::Command::new(env!("CARGO_BIN_EXE_yoyaku"))
            .args(["run", "--config"])
            .arg(&desk.config_path)
            .env("YOYAKU_LOG", "info")
            .env("YOYAKU_LOG_FORMAT", "json")
            .stdout(std::process::Stdio::null())
            .stderr(std::fs::File::create(&log).expect("log file"))
            .spawn()
            .expect("start yoyaku run"),
    );
    let base = format!("http://127.0.0.1:{port}");
    wait_healthy(&base).await;
    Site {
        desk,
        _daemon: daemon,
        base,
        log,
    }
}

pub async fn wait_healthy(base: &str) {
    let start = Instant::now();
    loop {
        if let Ok(r) = client().get(format!("{base}/healthz")).send().await {
            if r.status() == StatusCode::OK {
                return;
            }
        }
        assert!(
            start.elapsed() < Duration::from_secs(30),
            "the page never came up"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

pub fn csrf_of(html: &str) -> String {
    Regex::new(r#"name="csrf" value="([0-9a-f]{64})""#)
        .expect("regex")
        .captures(html)
        .map(|c| c[1].to_string())
        .expect("a form token in the page")
}

/// The login form's token (its cookie now in the client).
pub async fn login_form_token(c: &Client, base: &str) -> String {
    let form = c
        .get(format!("{base}/login"))
        .send()
        .await
        .expect("login page")
        .text()
        .await
        .expect("html");
    csrf_of(&form)
}

/// Logs in; the client then carries the session. Returns the form token.
pub async fn log_in(c: &Client, base: &str, login: &str, password: &str) -> (StatusCode, String) {
    let token = login_form_token(c, base).await;
    let r = c
        .post(format!("{base}/login"))
        .form(&[
            ("csrf", token.as_str()),
            ("login", login),
            ("password", password),
        ])
        .send()
        .await
        .expect("login");
    let status = r.status();
    let to = r
        .headers()
        .get("location")
        .and_then(|v| v.to_str().ok())
        .unwrap_or("")
        .to_string();
    (status, to)
}

pub async fn page(c: &Client, url: &str) -> (StatusCode, String) {
    let r = c.get(url).send().await.expect("page");
    let status = r.status();
    (status, r.text().await.unwrap_or_default())
}

pub async fn form_token(c: &Client, url: &str) -> String {
    let (status, html) = page(c, url).await;
    assert_eq!(status, StatusCode::OK, "{url}");
    csrf_of(&html)
}

/// A search on `office`'s page as staff make it: the form's POST (never a
/// query string). The results page.
pub async fn search(c: &Client, base: &str, office: &str, q: &str) -> String {
    let token = form_token(c, &format!("{base}/o/{office}/search")).await;
    let r = c
        .post(format!("{base}/o/{office}/search"))
        .form(&[("csrf", token.as_str()), ("q", q)])
        .send()
        .await
        .expect("search");
    assert_eq!(r.status(), StatusCode::OK, "search {q}");
    r.text().await.unwrap_or_default()
}
