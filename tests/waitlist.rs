//! Slots that free up and days that close (issue 24), through the real
//! Postfix and Dovecot: a cancelled slot goes to the seekers who wished for
//! it (キャンセル待ち), first reply wins; a day the office closes cancels its
//! bookings with an apology that offers the nearest slots. The decision
//! clock is injected (a Wednesday before the slots).

mod common;

use chrono::{DateTime, NaiveDate, Utc};
use common::*;

/// Wed 2026-11-25 10:00 in Japan.
fn wed() -> DateTime<Utc> {
    jst(2026, 11, 25, 10, 0)
}

fn request_of(name: &str, number: &str, wish: &str) -> String {
    format!("オンライン職業相談の予約をお願いします。\n\n氏名：{name}\n求職番号：{number}\n希望日時：{wish}\n電話番号：090-2222-{}\n", &number[number.len() - 4..])
}

/// The option number of the offered line that contains `slot_text`.
fn option_of(offer: &str, slot_text: &str) -> usize {
    let re = regex::Regex::new(r"【(\d+)】(.*)").expect("regex");
    offer
        .lines()
        .filter_map(|l| re.captures(l))
        .find(|c| c[2].contains(slot_text))
        .and_then(|c| c[1].parse().ok())
        .unwrap_or_else(|| panic!("no option {slot_text} in: {offer}"))
}

fn reservation_in(text: &str) -> String {
    regex::Regex::new(r"予約番号[：:\s]*(\d{6}-[A-Z0-9]{4})")
        .expect("regex")
        .captures(text)
        .map(|c| c[1].to_string())
        .unwrap_or_else(|| panic!("no reservation number in: {text}"))
}

/// A request for `wish`; the offer it gets.
async fn request(
    desk: &TestDesk,
    seeker: &Seeker,
    name: &str,
    number: &str,
    wish: &str,
) -> Received {
    let before = read_folder(&seeker.address, "INBOX").await.len();
    seeker
        .send(
            &desk.address,
            "オンライン相談の予約",
            &request_of(name, number, wish),
        )
        .await;
    desk.once_after(1, wed()).await;
    let offer = seeker.inbox(before + 1).await.remove(before);
    assert!(offer.text().contains("【1】"), "{}", offer.text());
    offer
}

/// Replies `answer` to `to`; the one mail that answers it.
async fn answer(desk: &TestDesk, seeker: &Seeker, to: &Received, answer: &str) -> Received {
    let before = read_folder(&seeker.address, "INBOX").await.len();
    seeker.reply(to, answer).await;
    desk.once_after(1, wed()).await;
    let got = settle_and_read(&seeker.address, "INBOX").await;
    assert_eq!(got.len(), before + 1, "one answer to {answer:?}");
    got[before].clone()
}

async fn confirmed_on(desk: &TestDesk, slot_start: &str) -> i64 {
    desk.desk
        .office()
        .store()
        .probe_value(
            "SELECT COUNT(*) FROM bookings WHERE status = 'confirmed' AND slot_start = $1",
            &[slot_start],
        )
        .await
        .expect("count")
}

/// One room. A holds Fri 27 11:00; B and C wished for it too: B waits with
/// an open offer of other slots, C took Tue 1 Dec 11:00 instead. A cancels:
/// both are offered the slot in their own threads. C answers first and is
/// moved (its later booking cancelled, one confirmation, an updated
/// invitation); B's answer gets "already taken" and B keeps its offer.
#[tokio::test]
async fn a_cancelled_slot_goes_to_the_first_of_those_who_wished_for_it() {
    let desk = TestDesk::new().await;
    let (a, b, c) = (Seeker::new("wla"), Seeker::new("wlb"), Seeker::new("wlc"));
    let wish = "11月27日 11:00";
    let friday = "2026-11-27T02:00:00Z";

    let offer_a = request(&desk, &a, "先約 一郎", "32010-11110001", wish).await;
    let confirm_a = answer(&desk, &a, &offer_a, "お願いします").await;
    assert!(
        confirm_a.text().contains("予約が確定しました"),
        "{}",
        confirm_a.text()
    );
    let reservation_a = reservation_in(confirm_a.text());

    // B: the slot is full, other slots are offered; B does not answer yet.
    let offer_b = request(&desk, &b, "待機 二郎", "32010-11110002", wish).await;
    assert!(
        !offer_b.text().contains("【1】2026年11月27日（金）11:00"),
        "{}",
        offer_b.text()
    );
    let b_options = offer_b.text().matches('【').count();

    // C: wished for Friday or, failing that, Tuesday; books Tuesday.
    let offer_c = request(
        &desk,
        &c,
        "移動 三子",
        "32010-11110003",
        "11月27日 11:00、または12月1日 11:00",
    )
    .await;
    let tuesday = option_of(offer_c.text(), "2026年12月1日（火）11:00");
    let confirm_c = answer(&desk, &c, &offer_c, &format!("{tuesday}番でお願いします")).await;
    let reservation_c = reservation_in(confirm_c.text());
    let first_invite = invitation(&confirm_c.raw);
    assert_eq!(first_invite.method, "REQUEST");

    // A cancels two days ahead: the slot is free and both are told.
    let (b_before, c_before) = (
        read_folder(&b.address, "INBOX").await.len(),
        read_folder(&c.address, "INBOX").await.len(),
    );
    let cancelled = answer(
        &desk,
        &a,
        &confirm_a,
        "都合が悪くなったため、キャンセルします。",
    )
    .await;
    assert!(
        cancelled.text().contains("取り消しました"),
        "{}",
        cancelled.text()
    );
    assert!(cancelled.text().contains(&reservation_a));
    let freed_b = b.inbox(b_before + 1).await.remove(b_before);
    let freed_c = c.inbox(c_before + 1).await.remove(c_before);
    for (mail, offer) in [(&freed_b, &offer_b), (&freed_c, &confirm_c)] {
        assert!(
            mail.text().contains("キャンセルによる空きが出ました"),
            "{}",
            mail.text()
        );
        assert!(
            mail.text().contains("2026年11月27日（金）11:00"),
            "{}",
            mail.text()
        );
        // The seeker's own request is the thread's root.
        let parent = offer.header("In-Reply-To").expect("the request's id");
        assert!(
            mail.header("References")
                .is_some_and(|r| r.contains(parent.trim())),
            "in the seeker's own thread: {:?}",
            mail.header("References")
        );
    }
    // B gets the slot as one more option of its open offer; C as a move.
    let new_option = b_options + 1;
    assert!(
        freed_b.text().contains(&format!("【{new_option}】")),
        "{}",
        freed_b.text()
    );
    assert!(
        freed_c.text().contains(&reservation_c),
        "{}",
        freed_c.text()
    );

    // C answers first: moved, one confirmation, the later booking cancelled.
    let moved = answer(&desk, &c, &freed_c, "はい、お願いします。").await;
    assert!(
        moved.text().contains("予約が確定しました"),
        "{}",
        moved.text()
    );
    assert!(
        moved.text().contains("2026年11月27日（金）11:00"),
        "{}",
        moved.text()
    );
    let reservation_moved = reservation_in(moved.text());
    assert_ne!(reservation_moved, reservation_c);
    let statuses = desk
        .desk
        .office()
        .store()
        .probe_rows(
            "SELECT reservation, status, slot_start FROM bookings WHERE reservation IN ($1, $2) ORDER BY id",
            &[&reservation_c, &reservation_moved],
        )
        .await
        .expect("rows");
    let statuses: Vec<(String, String, String)> = statuses;
    assert_eq!(statuses[0].1, "cancelled", "{statuses:?}");
    assert_eq!(statuses[1].1, "confirmed", "{statuses:?}");
    // The seeker's calendar follows: the same event, a newer version.
    let moved_invite = invitation(&moved.raw);
    assert_eq!(moved_invite.method, "REQUEST");
    assert_eq!(moved_invite.uid, first_invite.uid, "the same event moves");
    assert!(
        moved_invite.sequence > first_invite.sequence,
        "{moved_invite:?} after {first_invite:?}"
    );
    assert_eq!(moved_invite.dtstart, "20261127T020000Z");

    // B answers later with the new option: already taken, the offer stands.
    let taken = answer(
        &desk,
        &b,
        &freed_b,
        &format!("{new_option}番でお願いします"),
    )
    .await;
    assert!(
        taken.text().contains("先にほかの方のご予約が入った"),
        "{}",
        taken.text()
    );
    assert!(
        taken.text().contains("お取りできませんでした"),
        "{}",
        taken.text()
    );
    assert!(
        taken.text().contains("【1】"),
        "the other options stand: {}",
        taken.text()
    );
    assert_eq!(
        desk.db_scalar("SELECT COUNT(*) FROM requests WHERE state = 'offered' AND seeker_number = '32010-11110002'")
            .await,
        1
    );

    // One booking on the slot; the offers and their outcomes are kept.
    assert_eq!(confirmed_on(&desk, friday).await, 1);
    assert_eq!(
        desk.db_scalar("SELECT COUNT(*) FROM waitlist_offers WHERE outcome = 'booked'")
            .await,
        1
    );
    assert_eq!(
        desk.db_scalar("SELECT COUNT(*) FROM waitlist_offers WHERE outcome = 'taken'")
            .await,
        1
    );
    let month = NaiveDate::from_ymd_opt(2026, 11, 1).expect("month");
    let usage = yoyaku::staff::report(desk.desk.office(), month)
        .await
        .expect("report");
    assert_eq!(usage.slots_refilled, 1);
    // Staff see who was offered what on the day view.
    let day = yoyaku::staff::views::day_view(
        desk.desk.office(),
        NaiveDate::from_ymd_opt(2026, 11, 27).expect("day"),
    )
    .await
    .expect("day view");
    assert_eq!(day.freed.len(), 2, "{:?}", day.freed);
}

/// A slot freed past its previous-day cutoff (staff cancel on the day,
/// after the seeker phoned) is offered to nobody; one freed the evening
/// before is offered with the day before as the last day to answer.
#[tokio::test]
async fn a_freed_slot_is_offered_only_before_its_cutoff() {
    let desk = TestDesk::new().await;
    let (a, b) = (Seeker::new("wlcut"), Seeker::new("wlcutb"));
    let wish = "11月27日 11:00";
    let offer_a = request(&desk, &a, "先約 四郎", "32010-11110004", wish).await;
    let confirm_a = answer(&desk, &a, &offer_a, "お願いします").await;
    let reservation_a = reservation_in(confirm_a.text());
    let _offer_b = request(&desk, &b, "待機 五郎", "32010-11110005", wish).await;
    let b_before = read_folder(&b.address, "INBOX").await.len();
    // On the day: the seeker phoned, staff cancel.
    yoyaku::staff::staff_action(
        desk.desk.office(),
        &reservation_a,
        yoyaku::core::booking::StaffAction::Cancel,
        jst(2026, 11, 27, 8, 30),
        "tanaka",
    )
    .await
    .expect("staff cancel");
    let b_mail = settle_and_read(&b.address, "INBOX").await;
    assert_eq!(
        b_mail.len(),
        b_before,
        "{:?}",
        b_mail.last().map(|m| m.text().to_string())
    );
    assert_eq!(
        desk.db_scalar("SELECT COUNT(*) FROM waitlist_offers").await,
        0
    );

    // The same the evening before: offered, to be answered that day.
    let (c, d) = (Seeker::new("wlcutc"), Seeker::new("wlcutd"));
    let wish = "11月30日 11:00";
    let offer_c = request(&desk, &c, "先約 六郎", "32010-11110006", wish).await;
    let confirm_c = answer(&desk, &c, &offer_c, "お願いします").await;
    let reservation_c = reservation_in(confirm_c.text());
    let _offer_d = request(&desk, &d, "待機 七郎", "32010-11110007", wish).await;
    let d_before = read_folder(&d.address, "INBOX").await.len();
    yoyaku::staff::staff_action(
        desk.desk.office(),
        &reservation_c,
        yoyaku::core::booking::StaffAction::Cancel,
        jst(2026, 11, 27, 17, 0),
        "tanaka",
    )
    .await
    .expect("staff cancel");
    let freed = d.inbox(d_before + 1).await.remove(d_before);
    assert!(
        freed.text().contains("2026年11月30日（月）11:00"),
        "{}",
        freed.text()
    );
    // Monday's slot can be confirmed until the end of Sunday the 29th.
    assert!(
        freed
            .text()
            .contains("2026年11月29日（日）中にご返信ください"),
        "{}",
        freed.text()
    );
}

/// Snow on Friday: the two bookings on it are cancelled with an apology in
/// their threads that offers the nearest free slots (not Friday); staff get
/// one note with their phones; nobody is offered Friday until it reopens.
#[tokio::test]
async fn a_closed_day_cancels_its_bookings_and_offers_the_nearest_slots() {
    let desk = TestDesk::new().await;
    let (a, b) = (Seeker::new("snowa"), Seeker::new("snowb"));
    let offer_a = request(&desk, &a, "雪野 一子", "32010-22220001", "11月27日 9:30").await;
    let confirm_a = answer(&desk, &a, &offer_a, "お願いします").await;
    let offer_b = request(&desk, &b, "雪野 二郎", "32010-22220002", "11月27日 13:30").await;
    let confirm_b = answer(&desk, &b, &offer_b, "お願いします").await;
    let staff_before = read_folder(&desk.staff, "INBOX").await.len();

    let friday = NaiveDate::from_ymd_opt(2026, 11, 27).expect("day");
    let done = yoyaku::staff::closures::close_day(
        desk.desk.office(),
        friday,
        "大雪のため",
        wed(),
        "tanaka",
    )
    .await
    .expect("closed");
    assert_eq!(done.cancelled.len(), 2);
    assert_eq!(done.offered, 2);

    let on_friday = regex::Regex::new(r"【\d+】2026年11月27日").expect("re");
    for (seeker, confirm, name) in [(&a, &confirm_a, "雪野 一子"), (&b, &confirm_b, "雪野 二郎")]
    {
        let apology = seeker.inbox(3).await.remove(2);
        let text = apology.text();
        assert!(
            text.contains("臨時に閉庁") && text.contains("大雪のため"),
            "{text}"
        );
        assert!(text.contains(name), "{text}");
        assert!(text.contains(&reservation_in(confirm.text())), "{text}");
        assert!(text.contains("【1】"), "{text}");
        assert!(
            !on_friday.is_match(text),
            "no slot on the closed day: {text}"
        );
        let parent = confirm.header("In-Reply-To").expect("the seeker's reply");
        assert!(
            apology
                .header("References")
                .is_some_and(|r| r.contains(parent.trim())),
            "in the seeker's thread: {:?}",
            apology.header("References")
        );
        // The calendar entry is withdrawn: the same event, cancelled, newer.
        let (was, now) = (invitation(&confirm.raw), invitation(&apology.raw));
        assert_eq!(
            (now.method.as_str(), now.status.as_deref()),
            ("CANCEL", Some("CANCELLED"))
        );
        assert_eq!(now.uid, was.uid);
        assert!(now.sequence > was.sequence);
        assert!(
            now.organizer
                .to_lowercase()
                .contains(&desk.address.to_lowercase()),
            "{now:?}"
        );
        assert!(
            now.attendees
                .iter()
                .any(|x| x.to_lowercase().contains(&seeker.address.to_lowercase())),
            "{now:?}"
        );
    }
    // One staff note, listing both with their phones.
    let staff = settle_and_read(&desk.staff, "INBOX").await;
    assert_eq!(staff.len(), staff_before + 1, "one note for the closure");
    let note = staff[staff_before].text();
    assert!(
        note.contains("大雪のため") && note.contains("tanaka"),
        "{note}"
    );
    assert!(
        note.contains("090-2222-0001") && note.contains("090-2222-0002"),
        "{note}"
    );
    assert_eq!(
        desk.db_scalar(
            "SELECT COUNT(*) FROM history WHERE event = 'day_closed' AND actor = 'tanaka'"
        )
        .await,
        2
    );

    // The apology's offer books as usual.
    let apology_a = a.inbox(3).await.remove(2);
    let rebooked = answer(&desk, &a, &apology_a, "1").await;
    assert!(
        rebooked.text().contains("予約が確定しました"),
        "{}",
        rebooked.text()
    );

    // A new request for Friday is not offered Friday…
    let c = Seeker::new("snowc");
    let offer_c = request(&desk, &c, "雪野 三郎", "32010-22220003", "11月27日 11:00").await;
    assert!(!on_friday.is_match(offer_c.text()), "{}", offer_c.text());
    // …until staff reopen it (the command line, as the README shows).
    let (code, out) = yoyaku_cli(&desk.config_path, &["reopen-day", "2026-11-27"]);
    assert_eq!(code, Some(0), "{out}");
    let d = Seeker::new("snowd");
    let offer_d = request(&desk, &d, "雪野 四郎", "32010-22220004", "11月27日 11:00").await;
    assert!(
        offer_d.text().contains("【1】2026年11月27日（金）11:00"),
        "{}",
        offer_d.text()
    );
}
