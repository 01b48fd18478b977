//! The staff page in a real browser: Debian's Chromium driven over
//! WebDriver (chromedriver) from Rust. Logs in, books a follow-up session
//! from the form, opens the day, marks 出席 and finds it in the history.
//! Every page is saved as a screenshot under target/screenshots/ for review.
//! scripts/test.sh installs `chromium` and `chromium-driver` when missing.

mod common;
#[path = "common/site.rs"]
mod site;

use common::*;
use fantoccini::{Client, ClientBuilder, Locator};
use regex::Regex;
use site::*;
use std::path::PathBuf;
use std::time::{Duration, Instant};

const CHROMEDRIVER: &str = "/usr/bin/chromedriver";
const CHROMIUM: &str = "/usr/bin/chromium";

/// chromedriver on a port of its own, killed when dropped.
struct Driver(std::process::Child, u16);

impl Drop for Driver {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

async fn driver() -> Driver {
    assert!(
        std::path::Path::new(CHROMEDRIVER).exists() && std::path::Path::new(CHROMIUM).exists(),
        "{CHROMEDRIVER} and {CHROMIUM} are needed: scripts/test.sh installs Debian's chromium and chromium-driver"
    );
    let port = free_port();
    // The browser keeps the real clock in the suite's shifted pass: under
    // libfaketime Chromium crawls (295 s instead of 3).
    let child = std::process::Command::new(CHROMEDRIVER)
        .arg(format!("--port={port}"))
        .env_remove("LD_PRELOAD")
        .env_remove("FAKETIME")
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .expect("start chromedriver");
    let start = Instant::now();
    while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
        assert!(
            start.elapsed() < Duration::from_secs(20),
            "chromedriver did not start"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    Driver(child, port)
}

async fn browser(driver: &Driver, profile: &std::path::Path) -> Client {
    let mut caps = serde_json::Map::new();
    caps.insert(
        "goog:chromeOptions".into(),
        serde_json::json!({
            "binary": CHROMIUM,
            // The machine's closed network: no background connections.
            "args": [
                "--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                "--disable-quic", "--no-first-run", "--disable-background-networking",
                "--disable-component-update", "--disable-sync", "--window-size=1280,1000",
                format!("--user-data-dir={}", profile.display()),
            ],
        }),
    );
    ClientBuilder::new(hyper_util::client::legacy::connect::HttpConnector::new())
        .capabilities(caps)
        .connect(&format!("http://127.0.0.1:{}", driver.1))
        .await
        .expect("a Chromium session")
}

fn screenshots() -> PathBuf {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("target/screenshots");
    std::fs::create_dir_all(&dir).expect("screenshot folder");
    dir
}

async fn shot(b: &Client, name: &str) {
    let png = b.screenshot().await.expect("screenshot");
    assert!(png.starts_with(b"\x89PNG"), "a PNG");
    std::fs::write(screenshots().join(format!("{name}.png")), png).expect("write screenshot");
}

async fn click(b: &Client, css: &str) {
    b.find(Locator::Css(css))
        .await
        .unwrap_or_else(|e| panic!("{css}: {e}"))
        .click()
        .await
        .unwrap_or_else(|e| panic!("click {css}: {e}"));
}

async fn fill(b: &Client, css: &str, text: &str) {
    b.find(Locator::Css(css))
        .await
        .unwrap_or_else(|e| panic!("{css}: {e}"))
        .send_keys(text)
        .await
        .unwrap_or_else(|e| panic!("type into {css}: {e}"));
}

/// Waits for the page a click leads to (a click may return before it loads).
async fn wait_for_path(b: &Client, wanted: impl Fn(&str) -> bool) -> url::Url {
    let start = Instant::now();
    loop {
        let url = b.current_url().await.expect("url");
        if wanted(url.path()) {
            return url;
        }
        assert!(
            start.elapsed() < Duration::from_secs(15),
            "still at {url}: {}",
            text_of_page(b).await
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// The slot the booking form's select holds.
async fn chosen_slot(b: &Client) -> String {
    b.find(Locator::Css("select[name=slot]"))
        .await
        .expect("slot")
        .prop("value")
        .await
        .expect("value")
        .unwrap_or_default()
}

/// Waits until the page shows `text` (after a form's POST).
async fn wait_for_text(b: &Client, text: &str) {
    let start = Instant::now();
    while !text_of_page(b).await.contains(text) {
        assert!(
            start.elapsed() < Duration::from_secs(10),
            "{text} never shown"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// The page's text, once it has a body: right after a click that
/// navigates, the next document may not have one yet.
async fn text_of_page(b: &Client) -> String {
    let start = Instant::now();
    loop {
        match b.find(Locator::Css("body")).await {
            Ok(body) => return body.text().await.unwrap_or_default(),
            Err(e) => assert!(
                start.elapsed() < Duration::from_secs(10),
                "no page body: {e}"
            ),
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

#[tokio::test]
async fn staff_log_in_book_mark_attended_and_see_it_in_the_history_in_chromium() {
    let s = site().await;
    let d = driver().await;
    let profile = tempfile::tempdir().expect("profile");
    let b = browser(&d, profile.path()).await;
    let base = &s.base;

    b.goto(&format!("{base}/login")).await.expect("login page");
    shot(&b, "01-login").await;
    fill(&b, "input[name=login]", "suzuki").await;
    fill(&b, "input[name=password]", "madoguchi-2026").await;
    click(&b, "form button[type=submit]").await;
    wait_for_path(&b, |p| p.ends_with("/o/default/day")).await;
    assert!(text_of_page(&b).await.contains("本日の予定"));
    shot(&b, "02-day-empty").await;

    // 予約登録 from the form.
    let seeker = Seeker::new("browser");
    b.goto(&format!("{base}/o/default/book"))
        .await
        .expect("book form");
    fill(&b, "input[name=name]", "画面 一郎").await;
    fill(&b, "input[name=seeker_number]", "32010-55556666").await;
    fill(&b, "input[name=email]", &seeker.address).await;
    fill(&b, "input[name=phone]", "090-5555-6666").await;
    click(&b, "select[name=slot] option:nth-child(2)").await;
    let slot = chosen_slot(&b).await;
    assert_eq!(slot.len(), 16, "a slot picked: {slot:?}");
    click(&b, "input[name=need_sign_language]").await;
    shot(&b, "03-book").await;
    click(&b, "form.stack button[type=submit]").await;
    let url = wait_for_path(&b, |p| p.contains("/o/default/r/")).await;
    let reservation = url.path().rsplit('/').next().unwrap_or("").to_string();
    assert!(text_of_page(&b).await.contains("画面 一郎"));
    shot(&b, "04-request-booked").await;
    let mail = seeker.inbox(1).await;
    assert!(mail[0].text().contains(&reservation));

    // The day of the session; 出席.
    b.goto(&format!("{base}/o/default/day?date={}", &slot[..10]))
        .await
        .expect("day");
    let day = text_of_page(&b).await;
    assert!(day.contains(&reservation) && day.contains("手話"), "{day}");
    shot(&b, "05-day").await;
    click(&b, "button[name=action][value=attended]").await;
    wait_for_path(&b, |p| p.contains("/o/default/r/")).await;
    let page = text_of_page(&b).await;
    assert!(
        page.contains("職員が出席を記録") && page.contains("suzuki"),
        "{page}"
    );
    assert!(page.contains("出席"));
    shot(&b, "06-request-attended").await;
    assert_eq!(s.desk.bookings_in(Some("attended")).await, 1);

    // The other pages render; each is kept for review.
    for (name, path) in [
        ("07-waiting", "/o/default/waiting".to_string()),
        ("08-search", "/o/default/search".to_string()),
        ("09-refusals", "/o/default/refusals".to_string()),
        ("10-report", "/o/default/report".to_string()),
        ("11-purge", "/o/default/purge".to_string()),
    ] {
        b.goto(&format!("{base}{path}")).await.expect("page");
        let text = text_of_page(&b).await;
        assert!(
            text.contains(s.desk.desk.office().config().office.name.as_str()),
            "{name}: {text}"
        );
        shot(&b, name).await;
    }
    b.goto(&format!("{base}/o/default/search"))
        .await
        .expect("search");
    fill(&b, "input[name=q]", "32010-55556666").await;
    click(&b, "main form button[type=submit]").await;
    wait_for_text(&b, &reservation).await;
    // What was searched is nowhere in the address.
    assert!(!b
        .current_url()
        .await
        .expect("url")
        .as_str()
        .contains("55556666"));
    b.close().await.expect("close the browser");
}

/// Nobody clicked 出席 within 10 minutes: the no-show rule marked two
/// sessions 欠席. On the day view staff correct one to 出席 and the other to
/// an excused absence; each is recorded with their login.
#[tokio::test]
async fn staff_correct_an_automatic_no_show_on_the_page_in_chromium() {
    use yoyaku::staff::StaffBooking;
    let s = site().await;
    let office = s.desk.desk.office();
    let cal = office.config().calendar.clone();
    let now = chrono::Utc::now();
    let day = business_day_ahead(&cal, now, 2);
    let mut reservations = Vec::new();
    for (i, time) in ["09:30", "11:00"].iter().enumerate() {
        let seeker = Seeker::new("noshowfix");
        let booking = StaffBooking {
            seeker_number: format!("32010-7777000{i}"),
            name: format!("欠席 {i}郎"),
            email: seeker.address.clone(),
            phone: None,
            date: day,
            time: chrono::NaiveTime::parse_from_str(time, "%H:%M").expect("time"),
            needs: vec![],
        };
        reservations.push(
            yoyaku::staff::staff_book(office, &booking, now, "suzuki")
                .await
                .expect("booked"),
        );
    }
    // The day is over and nobody was marked: the rule fires for both.
    // One timer per request and call: the reminder may still be due first.
    let evening = jst_on(day, 18, 0);
    for _ in 0..4 {
        let mut fired = yoyaku::desk::PassReport::default();
        yoyaku::desk::timers::fire_timers(office, evening, &mut fired)
            .await
            .expect("timers");
        if fired.timers == 0 {
            break;
        }
    }
    assert_eq!(
        s.desk
            .db_scalar("SELECT COUNT(*) FROM bookings WHERE status = 'no_show' AND excused = 0")
            .await,
        2
    );

    let d = driver().await;
    let profile = tempfile::tempdir().expect("profile");
    let b = browser(&d, profile.path()).await;
    let base = &s.base;
    b.goto(&format!("{base}/login")).await.expect("login page");
    fill(&b, "input[name=login]", "suzuki").await;
    fill(&b, "input[name=password]", "madoguchi-2026").await;
    click(&b, "form button[type=submit]").await;
    wait_for_path(&b, |p| p.ends_with("/o/default/day")).await;

    let day_url = format!("{base}/o/default/day?date={day}");
    let button = |reservation: &str, action: &str| {
        format!("//tr[td[contains(., '{reservation}')]]//button[@value='{action}']")
    };
    b.goto(&day_url).await.expect("day");
    shot(&b, "12-day-no-shows").await;
    // Only corrections are offered on a no-show, not 欠席 again.
    assert!(b
        .find(Locator::XPath(&button(&reservations[0], "no_show")))
        .await
        .is_err());
    b.find(Locator::XPath(&button(&reservations[0], "attended")))
        .await
        .expect("出席に訂正 on the no-show")
        .click()
        .await
        .expect("click");
    wait_for_path(&b, |p| p.contains("/o/default/r/")).await;
    let page = text_of_page(&b).await;
    assert!(
        page.contains("職員が出席を記録") && page.contains("suzuki"),
        "{page}"
    );

    b.goto(&day_url).await.expect("day");
    b.find(Locator::XPath(&button(&reservations[1], "excused")))
        .await
        .expect("欠席（理由あり）に訂正 on the no-show")
        .click()
        .await
        .expect("click");
    wait_for_path(&b, |p| p.contains("/o/default/r/")).await;
    let page = text_of_page(&b).await;
    assert!(page.contains("欠席（理由あり）に訂正"), "{page}");
    shot(&b, "13-request-excused").await;
    assert_eq!(s.desk.bookings_in(Some("attended")).await, 1);
    assert_eq!(
        s.desk
            .db_scalar("SELECT COUNT(*) FROM bookings WHERE status = 'no_show' AND excused = 1")
            .await,
        1
    );
    assert_eq!(
        s.desk
            .db_scalar("SELECT COUNT(*) FROM history WHERE event IN ('staff_attended', 'staff_excused') AND actor = 'suzuki'")
            .await,
        2
    );
    b.close().await.expect("close the browser");
}

/// axe-core (from npm, installed by scripts/browser.sh) run in the page:
/// the violations, as (rule, impact, nodes, first targets).
async fn axe(b: &Client) -> Vec<(String, String, u64, String)> {
    static SOURCE: std::sync::OnceLock<String> = std::sync::OnceLock::new();
    let source = SOURCE.get_or_init(|| {
        let dir = std::env::var("YOYAKU_AXE_DIR").unwrap_or_else(|_| {
            format!(
                "{}/.cache/yoyaku-axe",
                std::env::var("HOME").unwrap_or_default()
            )
        });
        std::fs::read_to_string(format!("{dir}/node_modules/axe-core/axe.min.js"))
            .expect("axe-core installed by scripts/browser.sh")
    });
    b.execute(&format!("{source}\nreturn true;"), vec![])
        .await
        .expect("axe-core loads in the page");
    let found = b
        .execute_async(
            r#"const done = arguments[arguments.length - 1];
               axe.run(document, { runOnly: { type: 'tag', values: ['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa', 'best-practice'] } })
                  .then(r => done(r.violations.map(v => [v.id, v.impact || '', v.nodes.length,
                        v.nodes.slice(0, 3).map(n => n.target.join(' ')).join(' | ')])))
                  .catch(e => done([['axe-error', 'critical', 1, String(e)]]));"#,
            vec![],
        )
        .await
        .expect("axe-core runs");
    found
        .as_array()
        .map(|list| {
            list.iter()
                .map(|v| {
                    (
                        v[0].as_str().unwrap_or("").to_string(),
                        v[1].as_str().unwrap_or("").to_string(),
                        v[2].as_u64().unwrap_or(0),
                        v[3].as_str().unwrap_or("").to_string(),
                    )
                })
                .collect()
        })
        .unwrap_or_default()
}

/// Every page state, a cancelled row and a long forwarded mail among them,
/// checked with axe-core against WCAG 2.1 A/AA (JIS X 8341-3) and the best
/// practices: no critical or serious violation anywhere.
#[tokio::test]
async fn every_page_passes_axe_core_in_chromium() {
    let s = site().await;
    let cfg = s.desk.config_path.clone();
    let day = business_day_ahead(
        &s.desk.desk.office().config().calendar,
        chrono::Utc::now(),
        5,
    );
    let date = day.format("%Y-%m-%d").to_string();
    let reservation = Regex::new(r"\d{6}-[A-Z0-9]{4}").expect("regex");
    let mut booked = Vec::new();
    for (i, time) in ["10:00", "11:00"].iter().enumerate() {
        let seeker = Seeker::new("axe");
        let (code, out) = yoyaku_cli(
            &cfg,
            &[
                "book",
                "--seeker-number",
                &format!("32010-1111000{i}"),
                "--name",
                "画面 検査",
                "--email",
                &seeker.address,
                "--date",
                &date,
                "--time",
                time,
            ],
        );
        assert_eq!(code, Some(0), "{out}");
        booked.push(
            reservation
                .find(&out)
                .expect("a reservation")
                .as_str()
                .to_string(),
        );
    }
    let (code, out) = yoyaku_cli(&cfg, &["cancel", &booked[1]]);
    assert_eq!(code, Some(0), "{out}");
    // A refused seeker's long mail goes to staff (要対応).
    let (code, out) = yoyaku_cli(
        &cfg,
        &["refuse", "32010-12345678", "--reason", "職員への暴言"],
    );
    assert_eq!(code, Some(0), "{out}");
    let long: String = (1..=60)
        .map(|i| {
            format!("{i}行目: 長い問い合わせの本文です。駐車場や持ち物について教えてください。\n")
        })
        .collect();
    Seeker::new("axe-long")
        .send(
            &s.desk.address,
            "予約",
            &format!(
                "{}\n{long}",
                request_text("停止 太郎", &wish_ahead(&s.desk, 7, "11:00"))
            ),
        )
        .await;
    let start = Instant::now();
    while s.desk.requests_in(Some("needs_staff")).await < 1 {
        assert!(start.elapsed() < Duration::from_secs(30), "never forwarded");
        tokio::time::sleep(Duration::from_millis(200)).await;
    }

    let d = driver().await;
    let profile = tempfile::tempdir().expect("profile");
    let b = browser(&d, profile.path()).await;
    let base = &s.base;
    b.goto(&format!("{base}/login")).await.expect("login");
    let mut report = Vec::new();
    let mut check = |name: String, found: Vec<(String, String, u64, String)>| {
        report.push((name, found));
    };
    check("login".into(), axe(&b).await);
    fill(&b, "input[name=login]", "suzuki").await;
    fill(&b, "input[name=password]", "madoguchi-2026").await;
    click(&b, "form button[type=submit]").await;
    wait_for_path(&b, |p| p.ends_with("/o/default/day")).await;
    for (name, path) in [
        ("day (today)", "/o/default/day".to_string()),
        (
            "day with a cancelled row",
            format!("/o/default/day?date={date}"),
        ),
        ("waiting with a long mail", "/o/default/waiting".into()),
        ("search", "/o/default/search".into()),
        ("book", "/o/default/book".into()),
        ("request", format!("/o/default/r/{}", booked[0])),
        ("cancelled request", format!("/o/default/r/{}", booked[1])),
        ("refusals", "/o/default/refusals".into()),
        ("report", "/o/default/report".into()),
        ("purge", "/o/default/purge".into()),
        ("purge, counted", "/o/default/purge?older_than=1d".into()),
    ] {
        b.goto(&format!("{base}{path}")).await.expect("page");
        check(name.into(), axe(&b).await);
    }
    // The search's results.
    b.goto(&format!("{base}/o/default/search"))
        .await
        .expect("search");
    fill(&b, "input[name=q]", "32010-11110000").await;
    click(&b, "main form button[type=submit]").await;
    wait_for_text(&b, &booked[0]).await;
    check("search results".into(), axe(&b).await);

    let mut blocking = Vec::new();
    for (name, found) in &report {
        let count = |impact: &str| found.iter().filter(|v| v.1 == impact).count();
        println!(
            "axe-core {name}: {} violations (critical {}, serious {}, moderate {}, minor {})",
            found.len(),
            count("critical"),
            count("serious"),
            count("moderate"),
            count("minor")
        );
        for v in found {
            println!("    {} [{}] ×{}: {}", v.0, v.1, v.2, v.3);
            if v.1 == "critical" || v.1 == "serious" {
                blocking.push(format!("{name}: {} [{}] {}", v.0, v.1, v.3));
            }
        }
    }
    assert_eq!(report.len(), 13, "every page state checked");
    assert!(blocking.is_empty(), "{blocking:#?}");
    b.close().await.expect("close the browser");
}

/// Presses `keys` (WebDriver key codes or text) in the focused element.
async fn press(b: &Client, keys: &str) {
    b.active_element()
        .await
        .expect("a focused element")
        .send_keys(keys)
        .await
        .expect("keys");
}

/// Presses Tab until the focused element matches `css`; how many presses.
async fn tab_to(b: &Client, css: &str) -> usize {
    for presses in 1..=80 {
        press(b, &fantoccini::key::Key::Tab.to_string()).await;
        let there = b
            .execute(
                "return document.activeElement && document.activeElement.matches(arguments[0]);",
                vec![serde_json::json!(css)],
            )
            .await
            .expect("focus check");
        if there.as_bool() == Some(true) {
            return presses;
        }
    }
    panic!("{css}: never reached with Tab");
}

/// Logs in, books a session and marks it 出席 with the keyboard alone:
/// Tab, typing, the arrow keys and Enter; no click anywhere.
#[tokio::test]
async fn staff_book_and_mark_attended_with_the_keyboard_alone_in_chromium() {
    use fantoccini::key::Key;
    let s = site().await;
    let d = driver().await;
    let profile = tempfile::tempdir().expect("profile");
    let b = browser(&d, profile.path()).await;
    let base = &s.base;
    let enter = Key::Enter.to_string();

    b.goto(&format!("{base}/login")).await.expect("login page");
    tab_to(&b, "input[name=login]").await;
    press(&b, "suzuki").await;
    tab_to(&b, "input[name=password]").await;
    press(&b, "madoguchi-2026").await;
    press(&b, &enter).await;
    wait_for_path(&b, |p| p.ends_with("/o/default/day")).await;

    // The first Tab reaches the skip link; Enter goes to the content.
    assert_eq!(tab_to(&b, "a.skip").await, 1);
    // To 予約登録 through the navigation.
    tab_to(&b, "nav a[href$='/book']").await;
    press(&b, &enter).await;
    wait_for_path(&b, |p| p.ends_with("/o/default/book")).await;
    let seeker = Seeker::new("keyboard");
    for (field, text) in [
        ("input[name=name]", "鍵盤 花子"),
        ("input[name=seeker_number]", "32010-77778888"),
        ("input[name=email]", seeker.address.as_str()),
        ("input[name=phone]", "090-7777-8888"),
    ] {
        tab_to(&b, field).await;
        press(&b, text).await;
    }
    tab_to(&b, "select[name=slot]").await;
    press(&b, &Key::Down.to_string()).await;
    let slot = chosen_slot(&b).await;
    assert_eq!(slot.len(), 16, "a slot chosen with the arrow key: {slot:?}");
    tab_to(&b, "form.stack button[type=submit]").await;
    press(&b, &enter).await;
    wait_for_path(&b, |p| p.contains("/o/default/r/")).await;
    assert!(text_of_page(&b).await.contains("鍵盤 花子"));

    // The day of the session: skip link, then Tab to its 出席 by its name.
    b.goto(&format!("{base}/o/default/day?date={}", &slot[..10]))
        .await
        .expect("day");
    tab_to(&b, "a.skip").await;
    press(&b, &enter).await;
    let presses = tab_to(&b, "button[value=attended][aria-label*='鍵盤 花子']").await;
    println!("keyboard: {presses} Tab presses from the content to 出席");
    press(&b, &enter).await;
    wait_for_path(&b, |p| p.contains("/o/default/r/")).await;
    let page = text_of_page(&b).await;
    assert!(
        page.contains("職員が出席を記録") && page.contains("suzuki"),
        "{page}"
    );
    assert_eq!(s.desk.bookings_in(Some("attended")).await, 1);
    b.close().await.expect("close the browser");
}
