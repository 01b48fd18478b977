//! The staff web page through the real server: a `yoyaku run` serving
//! `[web] listen` beside its desk, driven over HTTP by reqwest, with the
//! mail its actions cause delivered through the real Postfix + Dovecot.

mod common;
#[path = "common/site.rs"]
mod site;

use common::*;
use regex::Regex;
use reqwest::StatusCode;
use site::*;
use std::time::{Duration, Instant};

#[tokio::test]
async fn staff_book_a_session_mark_attendance_and_see_it_in_the_history() {
    let s = site().await;
    let c = client();
    let (status, to) = log_in(&c, &s.base, "suzuki", "madoguchi-2026").await;
    assert_eq!(status, StatusCode::SEE_OTHER);
    assert_eq!(to, "/o/default/day");
    let (status, day) = page(&c, &format!("{}/o/default/day", s.base)).await;
    assert_eq!(status, StatusCode::OK);
    assert!(day.contains("本日の予定"));

    // 予約登録: a follow-up session from the form's free slots.
    let (_, form) = page(&c, &format!("{}/o/default/book", s.base)).await;
    let slot = Regex::new(r#"<option value="(\d{4}-\d{2}-\d{2} \d{2}:\d{2})""#)
        .expect("regex")
        .captures(&form)
        .map(|m| m[1].to_string())
        .expect("a free slot offered");
    let seeker = Seeker::new("web");
    let r = c
        .post(format!("{}/o/default/book", s.base))
        .form(&[
            ("csrf", csrf_of(&form).as_str()),
            ("name", "窓口 花子"),
            ("seeker_number", "32010-87654321"),
            ("email", seeker.address.as_str()),
            ("phone", "090-8765-4321"),
            ("slot", slot.as_str()),
            ("need_interpreter", "on"),
        ])
        .send()
        .await
        .expect("book");
    assert_eq!(r.status(), StatusCode::SEE_OTHER);
    let to = r
        .headers()
        .get("location")
        .and_then(|v| v.to_str().ok())
        .unwrap_or("")
        .to_string();
    let reservation = to.rsplit('/').next().unwrap_or("").to_string();
    assert!(reservation.contains('-'), "to the booking: {to}");
    // The seeker gets the same mail as from `yoyaku book`.
    let mail = seeker.inbox(1).await;
    assert!(mail[0].text().contains(&reservation));

    // The day view lists it with the needs, and its buttons.
    let date = &slot[..10];
    let (_, day) = page(&c, &format!("{}/o/default/day?date={date}", s.base)).await;
    assert!(day.contains(&reservation) && day.contains("窓口 花子") && day.contains("通訳"));
    assert!(day.contains("出席") && day.contains("欠席") && day.contains("キャンセル"));

    // No form token: refused, nothing changes.
    let r = c
        .post(format!("{}/o/default/act", s.base))
        .form(&[("key", reservation.as_str()), ("action", "attended")])
        .send()
        .await
        .expect("post");
    assert_eq!(r.status(), StatusCode::FORBIDDEN);
    // A form from another site (the browser says so): refused too.
    let token = csrf_of(&day);
    let r = c
        .post(format!("{}/o/default/act", s.base))
        .header("Origin", "http://evil.example")
        .header("Sec-Fetch-Site", "cross-site")
        .form(&[
            ("csrf", token.as_str()),
            ("key", &reservation),
            ("action", "attended"),
        ])
        .send()
        .await
        .expect("post");
    assert_eq!(r.status(), StatusCode::FORBIDDEN);
    assert_eq!(s.desk.bookings_in(Some("attended")).await, 0);

    // 出席: the booking is attended, the history names the staff login.
    let r = c
        .post(format!("{}/o/default/act", s.base))
        .form(&[
            ("csrf", token.as_str()),
            ("key", &reservation),
            ("action", "attended"),
        ])
        .send()
        .await
        .expect("post");
    assert_eq!(r.status(), StatusCode::SEE_OTHER);
    let to = r
        .headers()
        .get("location")
        .and_then(|v| v.to_str().ok())
        .unwrap_or("")
        .to_string();
    let (_, request) = page(&c, &format!("{}{to}", s.base)).await;
    assert!(
        request.contains("職員が出席を記録") && request.contains("suzuki"),
        "{request}"
    );
    assert_eq!(s.desk.bookings_in(Some("attended")).await, 1);
    // Marked once: a second 出席 is a conflict that says why.
    let r = c
        .post(format!("{}/o/default/act", s.base))
        .form(&[
            ("csrf", token.as_str()),
            ("key", &reservation),
            ("action", "attended"),
        ])
        .send()
        .await
        .expect("post");
    assert_eq!(r.status(), StatusCode::CONFLICT);

    // Search finds it by 求職番号 (as typed, with or without the hyphen), by
    // the reservation number, the address and by name, spaces or not, and
    // not by someone else's name.
    let address = seeker.address.to_uppercase();
    for (q, found) in [
        ("32010-87654321", true),
        ("3201087654321", true),
        (reservation.as_str(), true),
        (address.as_str(), true),
        ("窓口花子", true),
        ("窓口　花子", true),
        ("花子", true),
        ("山田", false),
    ] {
        let html = search(&c, &s.base, "default", q).await;
        assert_eq!(html.contains(&reservation), found, "search {q}");
    }

    // The log: JSON lines, the page's requests in it, nothing personal.
    let log = std::fs::read_to_string(&s.log).unwrap_or_default();
    let lines: Vec<serde_json::Value> = log
        .lines()
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("not JSON ({e}): {l}")))
        .collect();
    assert!(lines
        .iter()
        .any(|l| l.to_string().contains("/o/default/search")));
    for secret in [
        "32010-87654321",
        "窓口",
        "090-8765-4321",
        seeker.address.as_str(),
        "%E7%AA%93",
    ] {
        assert!(!log.contains(secret), "{secret} in the log");
    }
}

#[tokio::test]
async fn a_wrong_password_is_refused_and_repeated_failures_slow_logins_down() {
    let s = site().await;
    let c = client();
    for _ in 0..3 {
        let (status, _) = log_in(&c, &s.base, "suzuki", "wrong password!").await;
        assert_eq!(status, StatusCode::UNAUTHORIZED);
    }
    // Locked for a moment: even the right password waits.
    let (status, _) = log_in(&c, &s.base, "suzuki", "madoguchi-2026").await;
    assert_eq!(status, StatusCode::TOO_MANY_REQUESTS);
    let (status, _) = log_in(&c, &s.base, "nobody", "madoguchi-2026").await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    tokio::time::sleep(Duration::from_secs(3)).await;
    let (status, _) = log_in(&c, &s.base, "suzuki", "madoguchi-2026").await;
    assert_eq!(status, StatusCode::SEE_OTHER);

    // Guesses sent all at once get no more checks than one after another:
    // one atomic update counts each and decides the lock (issue 28).
    let burst = client();
    let csrf = login_form_token(&burst, &s.base).await;
    let tries = (0..20).map(|_| {
        let (burst, base, csrf) = (burst.clone(), s.base.clone(), csrf.clone());
        async move {
            burst
                .post(format!("{base}/login"))
                .form(&[
                    ("csrf", csrf.as_str()),
                    ("login", "suzuki"),
                    ("password", "a guess"),
                ])
                .send()
                .await
                .expect("guess")
                .status()
        }
    });
    let statuses = futures::future::join_all(tries).await;
    let checked = statuses
        .iter()
        .filter(|s| **s == StatusCode::UNAUTHORIZED)
        .count();
    let slowed = statuses
        .iter()
        .filter(|s| **s == StatusCode::TOO_MANY_REQUESTS)
        .count();
    assert_eq!((checked, slowed), (3, 17), "{statuses:?}");
    assert_eq!(
        s.desk
            .db_scalar("SELECT MAX(failures) FROM login_throttle WHERE key LIKE 'n:%'")
            .await,
        3
    );
    // Without a session every page leads to the login.
    let (status, _) = page(&client(), &format!("{}/o/default/day", s.base)).await;
    assert_eq!(status, StatusCode::SEE_OTHER);
    // A login form posted without its token is refused.
    let r = client()
        .post(format!("{}/login", s.base))
        .form(&[("login", "suzuki"), ("password", "madoguchi-2026")])
        .send()
        .await
        .expect("post");
    assert_eq!(r.status(), StatusCode::FORBIDDEN);
    // The answers carry a strict policy and HttpOnly session cookies.
    let r = client()
        .get(format!("{}/login", s.base))
        .send()
        .await
        .expect("get");
    let csp = r
        .headers()
        .get("content-security-policy")
        .and_then(|v| v.to_str().ok())
        .unwrap_or("");
    assert!(csp.contains("default-src 'none'") && csp.contains("frame-ancestors 'none'"));
    // Logging out ends the session.
    let token = form_token(&c, &format!("{}/o/default/day", s.base)).await;
    let r = c
        .post(format!("{}/logout", s.base))
        .form(&[("csrf", token.as_str())])
        .send()
        .await
        .expect("logout");
    assert_eq!(r.status(), StatusCode::SEE_OTHER);
    let (status, _) = page(&c, &format!("{}/o/default/day", s.base)).await;
    assert_eq!(status, StatusCode::SEE_OTHER);
}

#[tokio::test]
async fn the_report_csv_equals_the_command_line_and_metrics_match_the_database() {
    let s = site().await;
    // A request by mail, answered by the daemon.
    let seeker = Seeker::new("metrics");
    let wish = wish_ahead(&s.desk, 7, "11:00");
    seeker
        .send(&s.desk.address, "予約", &request_text("計数 太郎", &wish))
        .await;
    seeker.inbox(1).await;
    let c = client();
    log_in(&c, &s.base, "suzuki", "madoguchi-2026").await;
    let month = chrono::Utc::now()
        .with_timezone(&chrono_tz::Asia::Tokyo)
        .format("%Y-%m")
        .to_string();
    let r = c
        .get(format!("{}/o/default/report.csv", s.base))
        .query(&[("month", month.as_str())])
        .send()
        .await
        .expect("csv");
    assert_eq!(r.status(), StatusCode::OK);
    let csv = r.text().await.unwrap_or_default();
    let (ok, cli) = yoyaku(
        &s.desk.config_path,
        &["report", "--csv", "--month", &month],
        "",
    );
    assert!(ok, "{cli}");
    assert_eq!(csv.trim(), cli.trim());
    let (status, report) = page(&c, &format!("{}/o/default/report?month={month}", s.base)).await;
    assert_eq!(status, StatusCode::OK);
    assert!(report.contains("<svg") && report.contains("メールでの申込み"));

    // /metrics: refused without the token; parsed, its values are the database's.
    let r = client()
        .get(format!("{}/metrics", s.base))
        .send()
        .await
        .expect("metrics");
    assert_eq!(r.status(), StatusCode::UNAUTHORIZED);
    let text = client()
        .get(format!("{}/metrics", s.base))
        .bearer_auth(TOKEN)
        .send()
        .await
        .expect("metrics")
        .text()
        .await
        .unwrap_or_default();
    let lines: Vec<Result<String, std::io::Error>> =
        text.lines().map(|l| Ok(l.to_string())).collect();
    let scrape =
        prometheus_parse::Scrape::parse(lines.into_iter()).expect("prometheus text format");
    let value = |name: &str, labels: &[(&str, &str)]| -> f64 {
        scrape
            .samples
            .iter()
            .find(|s| s.metric == name && labels.iter().all(|(k, v)| s.labels.get(k) == Some(*v)))
            .map(|s| match s.value {
                prometheus_parse::Value::Counter(v)
                | prometheus_parse::Value::Gauge(v)
                | prometheus_parse::Value::Untyped(v) => v,
                _ => f64::NAN,
            })
            .unwrap_or(f64::NAN)
    };
    let offered = s.desk.requests_in(Some("offered")).await;
    assert_eq!(
        value(
            "yoyaku_requests",
            &[("office", "default"), ("state", "offered")]
        ),
        offered as f64
    );
    let sent = s.desk.sent_count(Some("offer")).await;
    assert_eq!(
        value(
            "yoyaku_mails_sent_total",
            &[("office", "default"), ("kind", "offer")]
        ),
        sent as f64
    );
    assert_eq!(
        value("yoyaku_imap_connected", &[("office", "default")]),
        1.0
    );
    assert_eq!(value("yoyaku_lease_held", &[("office", "default")]), 1.0);
    assert!(value("yoyaku_mails_received_total", &[("office", "default")]) >= 1.0);
    // The pass histogram: buckets cumulative, the last (+Inf) the count.
    let histogram = scrape
        .samples
        .iter()
        .find_map(|s| match &s.value {
            prometheus_parse::Value::Histogram(h) if s.metric == "yoyaku_pass_duration_seconds" => {
                Some(h.clone())
            }
            _ => None,
        })
        .expect("the pass histogram");
    let counts: Vec<f64> = histogram.iter().map(|b| b.count).collect();
    assert!(counts.windows(2).all(|w| w[0] <= w[1]), "{counts:?}");
    assert_eq!(histogram.last().map(|b| b.less_than), Some(f64::INFINITY));
    assert!(text.contains("yoyaku_pass_duration_seconds_count{office=\"default\"}"));
    assert!(counts.last().copied().unwrap_or(0.0) >= 1.0);
    // Nothing personal in the labels.
    assert!(!text.contains(&seeker.address) && !text.contains("32010"));
}

#[tokio::test]
async fn staff_see_only_their_own_office() {
    ensure_mailstack();
    let port = free_port();
    let dir = tempfile::tempdir().expect("tempdir");
    let db_url = test_database_url(dir.path()).await;
    let (izumo, oki) = (unique("izumo"), unique("oki"));
    for a in [&izumo, &oki] {
        add_user(a);
    }
    let staff = unique("staff");
    add_user(&staff);
    let config = dir.path().join("yoyaku.toml");
    std::fs::write(
        &config,
        format!(
            r#"
[imap]
host = "127.0.0.1"
port = {IMAP_PORT}
security = "none"
password = "{PASSWORD}"
poll_seconds = 1
[smtp]
host = "127.0.0.1"
port = {SMTP_PORT}
security = "none"
[database]
url = "{db_url}"
[daemon]
lease_seconds = 3
[digest]
enabled = false
[web]
listen = "127.0.0.1:{port}"
[[meeting.rooms]]
id = "810 0000 0000"
passcode = "pass0word"

[[offices]]
id = "izumo"
name = "ハローワーク出雲"
phone = "0853-21-8609"
staff_address = "{staff}"
[offices.imap]
username = "{izumo}"
[offices.smtp]
from = "ハローワーク出雲 <{izumo}>"

[[offices]]
id = "oki"
name = "ハローワーク隠岐"
phone = "08512-2-8609"
staff_address = "{staff}"
[offices.imap]
username = "{oki}"
[offices.smtp]
from = "ハローワーク隠岐 <{oki}>"
"#
        ),
    )
    .expect("config");
    add_staff(
        &config,
        "izumo-staff",
        "izumo-madoguchi",
        &["--office", "izumo"],
    );
    add_staff(
        &config,
        "pref-admin",
        "kenchou-admin-1",
        &["--office", "izumo", "--admin"],
    );
    let _daemon = Daemon::start(&config);
    let base = format!("http://127.0.0.1:{port}");
    wait_healthy(&base).await;
    // A request at 隠岐.
    let seeker = Seeker::new("oki-seeker");
    seeker
        .send(
            &oki,
            "予約",
            &request_text("隠岐 太郎", "来週の月曜日 11:00"),
        )
        .await;
    seeker.inbox(1).await;
    let store = yoyaku::store::Store::open(&db_url)
        .await
        .expect("db")
        .for_office("oki");
    let refs: Vec<(String,)> = store
        .probe_rows("SELECT ref FROM requests WHERE office = 'oki'", &[])
        .await
        .expect("refs");
    let reference = refs.first().map(|r| r.0.clone()).expect("a request at oki");

    let c = client();
    log_in(&c, &base, "izumo-staff", "izumo-madoguchi").await;
    for url in [
        format!("{base}/o/oki/r/{reference}"),
        format!("{base}/o/oki/day"),
        format!("{base}/o/izumo/r/{reference}"),
    ] {
        let (status, _) = page(&c, &url).await;
        assert_eq!(status, StatusCode::NOT_FOUND, "{url}");
    }
    let found = search(&c, &base, "izumo", &reference).await;
    assert!(found.contains("見つかりませんでした"));
    assert!(!found.contains(&format!("/r/{reference}")));
    // The admin picks any office.
    let admin = client();
    log_in(&admin, &base, "pref-admin", "kenchou-admin-1").await;
    let (status, html) = page(&admin, &format!("{base}/o/oki/r/{reference}")).await;
    assert_eq!(status, StatusCode::OK);
    assert!(html.contains("隠岐 太郎"));
}

/// Polls the desk's database until `sql` counts `n`.
async fn wait_count(desk: &TestDesk, sql: &'static str, n: i64) {
    let start = Instant::now();
    while desk.db_scalar(sql).await != n {
        assert!(
            start.elapsed() < Duration::from_secs(30),
            "{sql} never reached {n}"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

#[tokio::test]
async fn what_waits_for_staff_is_listed_with_its_deadline_and_settled_from_the_page() {
    let s = site().await;
    let c = client();
    log_in(&c, &s.base, "suzuki", "madoguchi-2026").await;
    // 利用停止 (第12条(1)) of the 求職番号 the request below gives.
    let token = form_token(&c, &format!("{}/o/default/refusals", s.base)).await;
    let r = c
        .post(format!("{}/o/default/refuse", s.base))
        .form(&[
            ("csrf", token.as_str()),
            ("seeker_number", "32010-12345678"),
            ("reason", ""),
        ])
        .send()
        .await
        .expect("refuse");
    assert_eq!(r.status(), StatusCode::BAD_REQUEST, "a reason is needed");
    let r = c
        .post(format!("{}/o/default/refuse", s.base))
        .form(&[
            ("csrf", token.as_str()),
            ("seeker_number", "32010-12345678"),
            ("reason", "職員への暴言"),
        ])
        .send()
        .await
        .expect("refuse");
    assert_eq!(r.status(), StatusCode::SEE_OTHER);
    let (_, html) = page(&c, &format!("{}/o/default/refusals", s.base)).await;
    assert!(html.contains("32010-12345678") && html.contains("職員への暴言"));

    // Their mail goes to staff, whatever it says.
    let seeker = Seeker::new("refused");
    let wish = wish_ahead(&s.desk, 7, "11:00");
    seeker
        .send(
            &s.desk.address,
            "予約",
            &format!("{}\n駐車場はありますか。", request_text("停止 太郎", &wish)),
        )
        .await;
    wait_count(
        &s.desk,
        "SELECT COUNT(*) FROM requests WHERE state = 'needs_staff'",
        1,
    )
    .await;
    let (status, html) = page(&c, &format!("{}/o/default/waiting", s.base)).await;
    assert_eq!(status, StatusCode::OK);
    let reference = Regex::new(r#"/r/([A-Z0-9]{6})""#)
        .expect("regex")
        .captures(&html)
        .map(|m| m[1].to_string())
        .expect("the waiting request is listed");
    assert!(
        html.contains("回答期限") && html.contains("利用をお断りしている方"),
        "{html}"
    );
    // The mail's own text is shown.
    assert!(html.contains("駐車場はありますか"), "{html}");
    // Its request page offers a reply by mail and a booking for the person.
    let (_, request) = page(&c, &format!("{}/o/default/r/{reference}", s.base)).await;
    // The address is percent-encoded in the mailto link (an address with
    // "?bcc=" in it adds no recipient), and the booking link names the
    // request, never the person.
    assert!(
        request.contains(&format!("mailto:{}", seeker.address.replace('@', "%40"))),
        "{request}"
    );
    let book_link = format!("/o/default/book?from={reference}");
    assert!(request.contains(&book_link), "{request}");
    assert!(!request.contains("book?name="), "{request}");
    let (status, form) = page(&c, &format!("{}{book_link}", s.base)).await;
    assert_eq!(status, StatusCode::OK);
    assert!(
        form.contains(&seeker.address),
        "prefilled from the request: {form}"
    );
    let r = c
        .post(format!("{}/o/default/act", s.base))
        .form(&[
            ("csrf", csrf_of(&html).as_str()),
            ("key", &reference),
            ("action", "close"),
        ])
        .send()
        .await
        .expect("close");
    assert_eq!(r.status(), StatusCode::SEE_OTHER);
    assert_eq!(s.desk.requests_in(Some("needs_staff")).await, 0);
    let (_, html) = page(&c, &format!("{}/o/default/waiting", s.base)).await;
    assert!(!html.contains(&format!("/r/{reference}")));

    // 解除; lifting again what is no longer in force changes nothing and says so.
    for expected in [StatusCode::SEE_OTHER, StatusCode::NOT_FOUND] {
        let r = c
            .post(format!("{}/o/default/unrefuse", s.base))
            .form(&[
                ("csrf", token.as_str()),
                ("seeker_number", "32010-12345678"),
            ])
            .send()
            .await
            .expect("unrefuse");
        assert_eq!(r.status(), expected);
    }
    let (_, html) = page(&c, &format!("{}/o/default/refusals", s.base)).await;
    let (in_force, history) = html.split_once("<h2>履歴").expect("the history");
    assert!(!in_force.contains("32010-12345678"));
    // Both actions in the history with the login, the lift once.
    let rows: Vec<&str> = history
        .split("<tr>")
        .filter(|r| r.contains("32010-12345678"))
        .collect();
    assert_eq!(rows.len(), 2, "{rows:?}");
    assert!(rows[0].contains("解除") && rows[0].contains("suzuki"));
    assert!(
        rows[1].contains("停止") && rows[1].contains("職員への暴言") && rows[1].contains("suzuki")
    );

    // 個人情報の削除: the count first; nothing without the confirmation.
    let (status, html) = page(&c, &format!("{}/o/default/purge?older_than=1d", s.base)).await;
    assert_eq!(status, StatusCode::OK);
    assert!(html.contains("件"));
    let r = c
        .post(format!("{}/o/default/purge", s.base))
        .form(&[("csrf", token.as_str()), ("older_than", "1d")])
        .send()
        .await
        .expect("purge");
    assert_eq!(r.status(), StatusCode::BAD_REQUEST);
    let r = c
        .post(format!("{}/o/default/purge", s.base))
        .form(&[
            ("csrf", token.as_str()),
            ("older_than", "1d"),
            ("confirm", "yes"),
        ])
        .send()
        .await
        .expect("purge");
    assert_eq!(r.status(), StatusCode::OK);
    // A request closed today is not a day old: its data stays.
    assert_eq!(
        s.desk.db_scalar("SELECT COUNT(*) FROM staff_mails").await,
        1
    );
}

/// 臨時閉庁 from the day view: the day's booking is cancelled with an
/// apology that offers other slots, the page shows who closed it and why,
/// and 再開 opens it again. A closure without a reason is a 400 that says so.
#[tokio::test]
async fn staff_close_and_reopen_a_day_on_the_page() {
    let s = site().await;
    let office = s.desk.desk.office();
    let now = chrono::Utc::now();
    let day = business_day_ahead(&office.config().calendar, now, 3);
    let seeker = Seeker::new("webclose");
    let reservation = yoyaku::staff::staff_book(
        office,
        &yoyaku::staff::StaffBooking {
            seeker_number: "32010-44440001".into(),
            name: "閉庁 太郎".into(),
            email: seeker.address.clone(),
            phone: Some("090-4444-0001".into()),
            date: day,
            time: chrono::NaiveTime::from_hms_opt(11, 0, 0).expect("time"),
            needs: vec![],
        },
        now,
        "suzuki",
    )
    .await
    .expect("booked");
    seeker.inbox(1).await;

    let c = client();
    log_in(&c, &s.base, "suzuki", "madoguchi-2026").await;
    let day_url = format!("{}/o/default/day?date={day}", s.base);
    let (_, html) = page(&c, &day_url).await;
    assert!(html.contains("臨時閉庁にする"), "{html}");
    let token = csrf_of(&html);
    let date = day.to_string();
    let post = |fields: Vec<(&'static str, String)>| {
        c.post(format!("{}/o/default/act", s.base))
            .form(&fields)
            .send()
    };
    let r = post(vec![
        ("csrf", token.clone()),
        ("date", date.clone()),
        ("reason", " ".into()),
        ("action", "close_day".into()),
    ])
    .await
    .expect("post");
    assert_eq!(r.status(), StatusCode::BAD_REQUEST);
    assert!(r.text().await.unwrap_or_default().contains("理由"));

    let r = post(vec![
        ("csrf", token.clone()),
        ("date", date.clone()),
        ("reason", "大雪のため".into()),
        ("action", "close_day".into()),
    ])
    .await
    .expect("post");
    assert_eq!(r.status(), StatusCode::SEE_OTHER);
    let (_, html) = page(&c, &day_url).await;
    assert!(
        html.contains("臨時閉庁: 大雪のため") && html.contains("suzuki"),
        "{html}"
    );
    assert!(html.contains("value=\"reopen_day\""), "{html}");
    let apology = seeker.inbox(2).await.remove(1);
    assert!(apology.text().contains("臨時に閉庁"), "{}", apology.text());
    assert!(apology.text().contains(&reservation), "{}", apology.text());
    let staff = wait_for(&s.desk.staff, "INBOX", 1).await;
    assert!(
        staff[0].text().contains("090-4444-0001"),
        "{}",
        staff[0].text()
    );

    let r = post(vec![
        ("csrf", token.clone()),
        ("date", date.clone()),
        ("action", "reopen_day".into()),
    ])
    .await
    .expect("post");
    assert_eq!(r.status(), StatusCode::SEE_OTHER);
    let (_, html) = page(&c, &day_url).await;
    assert!(!html.contains("臨時閉庁: 大雪のため"), "{html}");
    assert!(html.contains("臨時閉庁にする"), "{html}");
    assert_eq!(
        s.desk
            .db_scalar("SELECT COUNT(*) FROM closures WHERE reopened_by = 'suzuki' AND closed_by = 'suzuki'")
            .await,
        1
    );
}

#[tokio::test]
async fn staff_set_a_seekers_language_on_the_request_page() {
    let s = site().await;
    let c = client();
    log_in(&c, &s.base, "suzuki", "madoguchi-2026").await;
    let seeker = Seeker::new("web-lang");
    let date = business_day_ahead(
        &s.desk.desk.office().config().calendar,
        chrono::Utc::now(),
        3,
    );
    let (code, out) = yoyaku_cli(
        &s.desk.config_path,
        &[
            "book",
            "--seeker-number",
            "32010-97531246",
            "--name",
            "言語 設定",
            "--email",
            &seeker.address,
            "--date",
            &date.format("%Y-%m-%d").to_string(),
            "--time",
            "10:00",
        ],
    );
    assert_eq!(code, Some(0), "{out}");
    let reservation = Regex::new(r"\d{6}-[A-Z0-9]{4}")
        .expect("regex")
        .find(&out)
        .expect("reservation")
        .as_str()
        .to_string();
    let url = format!("{}/o/default/r/{reservation}", s.base);
    let token = form_token(&c, &url).await;
    for (lang, status) in [
        ("xx", StatusCode::BAD_REQUEST),
        ("vi", StatusCode::SEE_OTHER),
    ] {
        let r = c
            .post(format!("{}/o/default/language", s.base))
            .form(&[
                ("csrf", token.as_str()),
                ("key", reservation.as_str()),
                ("lang", lang),
            ])
            .send()
            .await
            .expect("post");
        assert_eq!(r.status(), status, "{lang}");
    }
    let (_, html) = page(&c, &url).await;
    assert!(html.contains("<dd>ベトナム語"), "the language shown");
    assert!(html.contains("職員が言語を設定") && html.contains("suzuki"));
    // Without the form token nothing changes.
    let r = c
        .post(format!("{}/o/default/language", s.base))
        .form(&[("key", reservation.as_str()), ("lang", "en")])
        .send()
        .await
        .expect("post");
    assert_eq!(r.status(), StatusCode::FORBIDDEN);
}
