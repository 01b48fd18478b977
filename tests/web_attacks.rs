//! The staff page as an attacker tries it (issue 28), through the real
//! `yoyaku run`: logins guessed from one address, names probed, slow and
//! silent connections, sessions kept alive, webhooks replayed.

mod common;
#[path = "common/site.rs"]
mod site;

use reqwest::StatusCode;
use site::*;
use std::time::{Duration, Instant};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

/// A client whose connections come from `ip` (another loopback address is
/// another client as far as the page can tell).
fn client_from(ip: &str) -> reqwest::Client {
    let _ = tokio_rustls::rustls::crypto::ring::default_provider().install_default();
    reqwest::Client::builder()
        .cookie_store(true)
        .redirect(reqwest::redirect::Policy::none())
        .timeout(Duration::from_secs(30))
        .local_address(ip.parse::<std::net::IpAddr>().ok())
        .build()
        .expect("http client")
}

#[tokio::test]
async fn guesses_reveal_no_names_and_lock_no_one_out_from_elsewhere() {
    let s = site().await;
    let attacker = client_from("127.0.0.1");
    // A name that exists and one that does not answer alike: 401 three
    // times, then 429.
    for name in ["suzuki", "no-such-staff"] {
        let mut statuses = Vec::new();
        for _ in 0..4 {
            statuses.push(log_in(&attacker, &s.base, name, "a guess").await.0);
        }
        assert_eq!(
            statuses,
            [
                StatusCode::UNAUTHORIZED,
                StatusCode::UNAUTHORIZED,
                StatusCode::UNAUTHORIZED,
                StatusCode::TOO_MANY_REQUESTS
            ],
            "{name}"
        );
    }
    // While the attacker's address is held back, the staff member signs in
    // from their own desk.
    let (status, _) = log_in(&attacker, &s.base, "suzuki", "madoguchi-2026").await;
    assert_eq!(status, StatusCode::TOO_MANY_REQUESTS);
    let staff = client_from("127.0.0.2");
    let (status, to) = log_in(&staff, &s.base, "suzuki", "madoguchi-2026").await;
    assert_eq!(
        (status, to.as_str()),
        (StatusCode::SEE_OTHER, "/o/default/day")
    );

    // One address trying many names is slowed down as a whole.
    let sprayer = client_from("127.0.0.3");
    let mut refused_at = None;
    for i in 0..14 {
        let (status, _) = log_in(&sprayer, &s.base, &format!("name{i}"), "a guess").await;
        if status == StatusCode::TOO_MANY_REQUESTS {
            refused_at = Some(i);
            break;
        }
        assert_eq!(status, StatusCode::UNAUTHORIZED);
    }
    assert_eq!(
        refused_at,
        Some(10),
        "the eleventh name from one address waits"
    );

    // Failed logins are in the log with the name tried and the address, at
    // info; the password never is.
    let start = Instant::now();
    let log = loop {
        let log = std::fs::read_to_string(&s.log).unwrap_or_default();
        if log.contains("name9") || start.elapsed() > Duration::from_secs(10) {
            break log;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    };
    let failed: Vec<&str> = log
        .lines()
        .filter(|l| l.contains("staff login failed"))
        .collect();
    assert!(
        failed
            .iter()
            .any(|l| l.contains("\"login\":\"suzuki\"") && l.contains("127.0.0.1")),
        "{failed:?}"
    );
    assert!(!log.contains("a guess") && !log.contains("madoguchi-2026"));
}

#[tokio::test]
async fn a_session_ends_after_its_absolute_lifetime_however_busy() {
    let s = site().await;
    let c = client();
    log_in(&c, &s.base, "suzuki", "madoguchi-2026").await;
    let (status, _) = page(&c, &format!("{}/o/default/day", s.base)).await;
    assert_eq!(status, StatusCode::OK);
    // The session began 13 hours ago (the default lifetime is 12) and was
    // used a minute ago: its idle expiry is far, its lifetime is over.
    let began = (chrono::Utc::now() - chrono::Duration::hours(13))
        .to_rfc3339_opts(chrono::SecondsFormat::Micros, true);
    let changed = s
        .desk
        .desk
        .office()
        .store()
        .probe_execute("UPDATE web_sessions SET created_at = $1", &[&began])
        .await
        .expect("update");
    assert_eq!(changed, 1);
    let (status, _) = page(&c, &format!("{}/o/default/day", s.base)).await;
    assert_eq!(status, StatusCode::SEE_OTHER, "back to the login");
}

/// How long until the server closes `stream` (reads 0 or fails), at most
/// `limit`; whatever it answered on the way is returned too.
async fn closed_within(stream: &mut TcpStream, limit: Duration) -> (Option<Duration>, String) {
    let start = Instant::now();
    let mut seen = Vec::new();
    let mut buf = [0u8; 4096];
    loop {
        let left = limit.saturating_sub(start.elapsed());
        match tokio::time::timeout(left, stream.read(&mut buf)).await {
            Ok(Ok(0)) | Ok(Err(_)) => {
                return (
                    Some(start.elapsed()),
                    String::from_utf8_lossy(&seen).into_owned(),
                )
            }
            Ok(Ok(n)) => seen.extend_from_slice(&buf[..n]),
            Err(_) => return (None, String::from_utf8_lossy(&seen).into_owned()),
        }
    }
}

#[tokio::test]
async fn slow_and_silent_connections_are_closed_within_30_seconds() {
    let s = site().await;
    let addr = s.base.trim_start_matches("http://").to_string();
    let limit = Duration::from_secs(30);
    let connect = || async {
        TcpStream::connect(addr.as_str())
            .await
            .expect("connect to the page")
    };

    // Each shape on its own connection, all at once.
    let silent = async {
        let mut c = connect().await;
        closed_within(&mut c, limit).await
    };
    let half_head = async {
        let mut c = connect().await;
        c.write_all(b"GET /login HTTP/1.1\r\nHost: x\r\n")
            .await
            .expect("write");
        closed_within(&mut c, limit).await
    };
    let dripping = async {
        let mut c = connect().await;
        let start = Instant::now();
        // One byte every 2 seconds of a head that never ends.
        for b in b"GET /login HTTP/1.1\r\nX-Slow: aaaaaaaaaaaaaaaaaaaaaaaaaaaaaa".iter() {
            if c.write_all(&[*b]).await.is_err() || start.elapsed() > limit {
                break;
            }
            tokio::time::sleep(Duration::from_secs(2)).await;
        }
        let (closed, seen) = closed_within(&mut c, limit.saturating_sub(start.elapsed())).await;
        (closed.map(|_| start.elapsed()), seen)
    };
    let promised_body = async {
        let mut c = connect().await;
        c.write_all(
            b"POST /login HTTP/1.1\r\nHost: x\r\nContent-Type: application/x-www-form-urlencoded\r\nContent-Length: 5000\r\n\r\nlogin=",
        )
        .await
        .expect("write");
        closed_within(&mut c, limit).await
    };
    let idle_keep_alive = async {
        let mut c = connect().await;
        c.write_all(b"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n")
            .await
            .expect("write");
        closed_within(&mut c, limit).await
    };
    let (silent, half_head, dripping, promised_body, idle_keep_alive) =
        tokio::join!(silent, half_head, dripping, promised_body, idle_keep_alive);
    for (shape, (closed, seen)) in [
        ("nothing sent", silent),
        ("half a head", half_head),
        ("a byte every 2 s", dripping),
        ("a body promised, never sent", promised_body),
        ("idle after an answer", idle_keep_alive.clone()),
    ] {
        let closed = closed.unwrap_or_else(|| panic!("{shape}: still open after 30 s ({seen:?})"));
        println!("{shape}: closed after {:.1} s", closed.as_secs_f64());
    }
    assert!(
        idle_keep_alive.1.starts_with("HTTP/1.1 200"),
        "{:?}",
        idle_keep_alive.1
    );

    // The page still answers while 40 connections sit silent.
    let mut held = Vec::new();
    for _ in 0..40 {
        held.push(connect().await);
    }
    let r = client()
        .get(format!("{}/healthz", s.base))
        .send()
        .await
        .expect("healthz");
    assert_eq!(r.status(), StatusCode::OK);
    drop(held);

    // A body larger than a form may be is refused, not read.
    let big = "x".repeat(200_000);
    let r = client()
        .post(format!("{}/login", s.base))
        .header("content-type", "application/x-www-form-urlencoded")
        .body(format!("login={big}"))
        .send()
        .await
        .expect("post");
    assert_eq!(r.status(), StatusCode::PAYLOAD_TOO_LARGE);
}

#[tokio::test]
async fn no_page_puts_personal_data_in_a_url() {
    let s = site().await;
    let c = client();
    log_in(&c, &s.base, "suzuki", "madoguchi-2026").await;
    // A booked seeker and one whose mail waits for staff.
    let cfg = s.desk.config_path.clone();
    let day = common::business_day_ahead(
        &s.desk.desk.office().config().calendar,
        chrono::Utc::now(),
        4,
    );
    let (name, number, email, phone) = (
        "個人 情報子",
        "32010-24682468",
        "kojin.joho+x@example.jp",
        "090-2468-1357",
    );
    let (code, out) = common::yoyaku_cli(
        &cfg,
        &[
            "book",
            "--seeker-number",
            number,
            "--name",
            name,
            "--email",
            email,
            "--phone",
            phone,
            "--date",
            &day.format("%Y-%m-%d").to_string(),
            "--time",
            "10:00",
        ],
    );
    assert_eq!(code, Some(0), "{out}");
    let reservation = regex::Regex::new(r"\d{6}-[A-Z0-9]{4}")
        .expect("regex")
        .find(&out)
        .expect("a reservation")
        .as_str()
        .to_string();
    let mut pages = Vec::new();
    for path in [
        format!("/o/default/day?date={}", day.format("%Y-%m-%d")),
        "/o/default/waiting".into(),
        format!("/o/default/r/{reservation}"),
        "/o/default/refusals".into(),
        "/o/default/report".into(),
        "/o/default/purge".into(),
        "/o/default/book".into(),
    ] {
        let (status, html) = page(&c, &format!("{}{path}", s.base)).await;
        assert_eq!(status, StatusCode::OK, "{path}");
        pages.push((path, html));
    }
    // The links of the request page, followed (the booking form prefilled
    // from the request's reference, on the server).
    let links = regex::Regex::new(r#"(?:href|action|src)="([^"]*)""#).expect("regex");
    let request_html = pages[2].1.clone();
    for link in links.captures_iter(&request_html) {
        let url = link[1].replace("&amp;", "&");
        if url.starts_with('/') && !url.contains("logout") {
            let (_, html) = page(&c, &format!("{}{url}", s.base)).await;
            pages.push((url, html));
        }
    }
    pages.push((
        "search results".into(),
        search(&c, &s.base, "default", number).await,
    ));
    // "Book for this person" names the request; the server fills the form.
    let path = format!("/o/default/book?from={reservation}");
    let (status, html) = page(&c, &format!("{}{path}", s.base)).await;
    assert_eq!(status, StatusCode::OK);
    assert!(
        html.contains(name) && html.contains(email),
        "prefilled on the server"
    );
    pages.push((path, html));
    let encoded = |t: &str| url::form_urlencoded::byte_serialize(t.as_bytes()).collect::<String>();
    let mut urls = 0;
    for (path, html) in &pages {
        for link in links.captures_iter(html) {
            let url = &link[1];
            // mailto: opens the staff member's own mail program; it is
            // percent-encoded and never sent to a server.
            if url.starts_with("mailto:") {
                continue;
            }
            urls += 1;
            for secret in [name, number, email, phone, "24682468", "情報子"] {
                assert!(
                    !url.contains(secret) && !url.contains(&encoded(secret)),
                    "{path}: {secret} in {url}"
                );
            }
        }
    }
    println!(
        "{urls} URLs on {} pages, none with personal data",
        pages.len()
    );
    assert!(urls > 30);
}

#[tokio::test]
async fn extreme_parameters_get_a_400_that_says_what_is_wrong() {
    let s = site().await;
    let c = client();
    log_in(&c, &s.base, "suzuki", "madoguchi-2026").await;
    for path in [
        "/o/default/purge?older_than=200000000000d",
        "/o/default/purge?older_than=100000000d",
        "/o/default/purge?older_than=-5d",
        "/o/default/purge?older_than=%F0%9F%92%A5",
        "/o/default/day?date=-262143-01-01",
        "/o/default/day?date=262142-12-31",
        "/o/default/day?date=2026-02-30",
        "/o/default/report?month=-262143-01",
        "/o/default/report?month=99999-01",
        "/o/default/report.csv?month=2026-13",
        "/o/default/book?from=%00%00",
    ] {
        let r = c
            .get(format!("{}{path}", s.base))
            .send()
            .await
            .unwrap_or_else(|e| panic!("{path}: the connection dropped ({e})"));
        let status = r.status();
        let text = r.text().await.unwrap_or_default();
        assert_eq!(status, StatusCode::BAD_REQUEST, "{path}: {text}");
        assert!(!text.trim().is_empty(), "{path}: a 400 that says what");
    }
    // A purge posted with an extreme age is refused the same way.
    let token = form_token(&c, &format!("{}/o/default/purge", s.base)).await;
    let r = c
        .post(format!("{}/o/default/purge", s.base))
        .form(&[("csrf", token.as_str()), ("older_than", "200000000000d")])
        .send()
        .await
        .expect("post");
    assert_eq!(r.status(), StatusCode::BAD_REQUEST);
    let log = std::fs::read_to_string(&s.log).unwrap_or_default();
    assert!(!log.contains("panicked"), "no panic in the log");
}
