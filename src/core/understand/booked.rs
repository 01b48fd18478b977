//! Mail about a confirmed booking: cancel, change, another session.

use super::*;

/// What a mail about a confirmed booking asks for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum BookedIntent {
    /// Cancel the booking (キャンセル, 取り消し, 行けなくなった …).
    Cancel,
    /// Move it; the new wishes if any were given.
    Change(Vec<Wish>),
    /// Another session besides this one (次回, 2回目 …).
    Another(Vec<Wish>),
    /// Anything else (thanks, a question): a person reads it.
    Other,
}

pub(super) static CHANGE: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"変更|変え(?:て|たい|られ)|振り?替|別の日|ずらし|ずらせ|延期|日程(?:を|の)?(?:調整|再調整)|日を改め")
        .expect("change regex")
});
/// Words that ask for another day by themselves (延期, 後ろ倒し, 日を改め).
pub(super) static MOVE_WORDS: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"後ろ倒し|前倒し|別日|別の日|他の日|ほかの日|違う日|別の時間|他の時間|リスケ|延期|日を改め|日にちを改め|改めて(?:日程|予約)|再調整|組み直|振り?替え|ずらし|ずらせ|延ばし|延ばせ|遅らせ|早めて|早められ|早めること|(?:来週|再来週|翌週|来月|別の週|午前|午後)(?:に|へ|の方に|のほうに)[^。\n]{0,6}?(?:変え|変更|移|し(?:て|た))")
        .expect("move regex")
});
pub(super) static ANOTHER: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(
        r"次回|次の(?:相談|予約)|[2２二]回目|もう(?:一|1|１)(?:度|回)|追加で|別途|引き続き|続けて",
    )
    .expect("another regex")
});

/// Reads a mail about the booking of `booked` (quotes already removed).
pub fn parse_booked(
    text: &str,
    booked: Option<crate::core::calendar::Slot>,
    today: NaiveDate,
    cal: &Calendar,
) -> BookedIntent {
    let text = &*super::foreign::reader_form(text);
    let normalized: String = normalize(text)
        .lines()
        .filter(|l| !DATE_ONLY_LINE.is_match(l))
        .collect::<Vec<_>>()
        .join("\n");
    // Naming the booked slot (or only its day) is naming the booking, not a new wish.
    let found = parse_wishes(&normalized, today, cal);
    // "10日ではなく14日で": the booked day will not do, another will.
    let booked_day_refused = booked.is_some_and(|b| found.excluded.contains(&b.date));
    let wishes: Vec<Wish> = found
        .wishes
        .into_iter()
        .filter(|w| {
            booked.is_none_or(|b| {
                w.date != b.date || !(w.time.is_none() || w.time == Some(WishTime::At(b.start)))
            })
        })
        .collect();
    // "キャンセルする場合は?": about cancelling, not a request to;
    // "キャンセルはしません" / "変更ではなく": not that one.
    let conditional = CONDITIONAL.is_match(&normalized);
    let cancel_said = !conditional
        && !NOT_CANCELLING.is_match(&normalized)
        && CANCEL_BOOKING.is_match(&normalized);
    // "電話番号を変更しました" is not a move: a change names a date or the
    // schedule, or is a word that can only mean a move (延期).
    let change_said = !conditional
        && !NOT_CHANGING.is_match(&normalized)
        && (MOVE_WORDS.is_match(&normalized)
            || (CHANGE.is_match(&normalized)
                && (!wishes.is_empty() || SCHEDULE.is_match(&normalized))));
    let change_said = change_said || (booked_day_refused && !wishes.is_empty());
    if change_said {
        // "時間を15時に": a time alone is on the booked day.
        let wishes = if wishes.is_empty() {
            booked.map_or_else(Vec::new, |b| {
                reply_times(&normalized, today, cal)
                    .into_iter()
                    .filter(|t| *t != b.start)
                    .map(|t| Wish {
                        date: b.date,
                        time: Some(WishTime::At(t)),
                    })
                    .collect()
            })
        } else {
            wishes
        };
        return BookedIntent::Change(wishes);
    }
    if cancel_said {
        // "3日はキャンセルして10日に": a move.
        return if wishes.is_empty() {
            BookedIntent::Cancel
        } else {
            BookedIntent::Change(wishes)
        };
    }
    if ANOTHER.is_match(&normalized) && !wishes.is_empty() {
        return BookedIntent::Another(wishes);
    }
    BookedIntent::Other
}
