//! A reply to an offer: the option chosen, a plain agreement, a refusal,
//! or something staff must read.

use super::*;

/// What a reply to an offer says.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ReplyIntent {
    /// The seeker picked offered option `n` (1-based) or wrote its date/time.
    Choose(usize),
    /// A date/time that is not among the options.
    Other(Vec<Wish>),
    /// Agreement without a choice (了解しました, お願いします, or nothing).
    Agree,
    /// The seeker withdraws (キャンセル, 辞退, 都合が悪く…).
    Decline,
    /// A question or something else a person must answer.
    Unclear,
}

pub(super) static OPTION_NUMBER: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(
        r"(?x)
        候補\s*(?:No\.?\s*)?[(]?(?P<a>\d{1,2})
      | (?:No|NO|no)\.?\s*(?P<b>\d{1,2})
      | [(](?P<c>\d{1,2})[)]
      | (?P<d>[\u{2460}-\u{2473}])
      | (?:^|[^\d/:.])(?P<e>\d{1,2})\s*(?:番|の候補|つ目|でお願い|で(?:\s|$|、|。|!)|を希望|にします)
      | ^\s*(?P<f>\d{1,2})\s*[.。]?\s*$
      | [【\[](?P<g>\d{1,2})[】\]]
      | (?P<h>[一二三四五六七八九])\s*(?:番|つ目)
      | (?P<first>最初の)
        ",
    )
    .expect("option regex")
});

pub(super) static DECLINE: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"キャンセル|取り?消|辞退|やめ(?:ます|たい|て)|止めます|行けなく|いけなく|伺えなく|都合が(?:悪|つかな|つきません|合わな)|不要です|必要なくな|(?:^|[^でも])結構です")
        .expect("decline regex")
});

/// Reads a reply to an offer. `offered` are the options in the order they
/// were numbered in the offer mail; `text` has its quotes already removed.
pub fn parse_reply(
    text: &str,
    offered: &[crate::core::calendar::Slot],
    today: NaiveDate,
    cal: &Calendar,
) -> ReplyIntent {
    // A line that is only a date (a dated letter, a signature) is not a choice.
    let text = &*super::foreign::reader_form(text);
    let normalized: String = normalize(text)
        .lines()
        .filter(|l| !DATE_ONLY_LINE.is_match(l))
        .collect::<Vec<_>>()
        .join("\n");
    // A weekday alone ("木曜日の11時") names the offered slots on that day
    // of the week, not the next such day from today.
    let weekdays = free_weekdays(&normalized);
    let times = reply_times(&normalized, today, cal);
    if !weekdays.is_empty() {
        let matching: Vec<usize> = offered
            .iter()
            .enumerate()
            .filter(|(_, s)| {
                weekdays.contains(&s.date.weekday())
                    && (times.is_empty() || times.contains(&s.start))
            })
            .map(|(i, _)| i + 1)
            .collect();
        if matching.len() == 1 {
            return ReplyIntent::Choose(matching[0]);
        }
    }
    // "どちらでも構いません": any of them, so the earliest, as a clerk would.
    if ANY_OPTION.is_match(&normalized) && !NEGATIVE_ANY.is_match(&normalized) {
        if let Some((_, n)) = offered.iter().enumerate().map(|(i, s)| (s, i + 1)).min() {
            return ReplyIntent::Choose(n);
        }
    }
    if LAST_OPTION.is_match(&normalized) && !offered.is_empty() {
        return ReplyIntent::Choose(offered.len());
    }
    // "早い方" / "遅い方": the earliest or the latest option.
    if let Some(m) = EARLY_LATE.find(&normalized) {
        let order = offered.iter().enumerate().map(|(i, s)| (s, i + 1));
        let pick = if m.as_str().starts_with('早') || m.as_str().starts_with("一番早") {
            order.min()
        } else {
            order.max()
        };
        if let Some((_, n)) = pick {
            return ReplyIntent::Choose(n);
        }
    }
    // "午後の方で": the only offered slot in that half of the day.
    if !EXPLICIT_DATE.is_match(&normalized) {
        if let Some(p) = PERIOD_CHOICE.captures(&normalized) {
            let noon = NaiveTime::from_hms_opt(12, 0, 0).unwrap_or(NaiveTime::MIN);
            let morning = p[1].starts_with("午前");
            let matching: Vec<usize> = offered
                .iter()
                .enumerate()
                .filter(|(_, s)| (s.start < noon) == morning)
                .map(|(i, _)| i + 1)
                .collect();
            if matching.len() == 1 {
                return ReplyIntent::Choose(matching[0]);
            }
        }
    }
    // Dates first: "12月3日の(2)" names a date and a slot time, not option 2.
    let mut found = parse_wishes(&normalized, today, cal);
    if !weekdays.is_empty() && !EXPLICIT_DATE.is_match(&normalized) {
        // The weekday already had its say above.
        found.wishes.clear();
    }
    if !found.wishes.is_empty() {
        for wish in &found.wishes {
            let matching: Vec<usize> = offered
                .iter()
                .enumerate()
                .filter(|(_, s)| wish.admits(s))
                .map(|(i, _)| i + 1)
                .collect();
            if matching.len() == 1 {
                return ReplyIntent::Choose(matching[0]);
            }
        }
    }
    // An option number ("2番で"), even beside a date that is not an
    // option ("25日のメールの件、2番で").
    if let Some(n) = option_number(&normalized, offered.len()) {
        return ReplyIntent::Choose(n);
    }
    if !found.wishes.is_empty() {
        if QUESTION.is_match(&normalized) {
            return ReplyIntent::Unclear;
        }
        // "14日は都合が悪いので16日で": the refusal was of the 14th.
        if DECLINE.is_match(&normalized) && found.excluded.is_empty() {
            return ReplyIntent::Decline;
        }
        return ReplyIntent::Other(found.wishes);
    }
    // A time alone ("11時でお願いします") picks the only option at that time.
    for &t in &times {
        let matching: Vec<usize> = offered
            .iter()
            .enumerate()
            .filter(|(_, s)| s.start == t)
            .map(|(i, _)| i + 1)
            .collect();
        if matching.len() == 1 {
            return ReplyIntent::Choose(matching[0]);
        }
    }
    // Only a date that will not do ("14日は無理です"): a person asks.
    if !found.excluded.is_empty() {
        return ReplyIntent::Unclear;
    }
    if DECLINE.is_match(&normalized) {
        return ReplyIntent::Decline;
    }
    if QUESTION.is_match(&normalized) {
        return ReplyIntent::Unclear;
    }
    ReplyIntent::Agree
}

/// Any of the options will do.
pub(super) static ANY_OPTION: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"(?:どちら|どっち|いずれ|どれ|どの(?:日|日程|日時|時間|候補|枠))(?:の(?:日|日程|日時|時間|候補|枠))?(?:で|に)?も[^。\n]{0,8}?(?:構い|かまい|大丈夫|結構|問題|可能|参加|OK|ok|いい|良い|よい|伺え|行け|いけ|都合がつき|お願い|対応)|両日(?:とも|共)|(?:両方|[2２二]つ|全部)(?:とも|共)?[^。\n]{0,6}?(?:大丈夫|可能|OK|ok|参加|行け|いけ|伺え|問題)|全て(?:の日程)?(?:大丈夫|可能|参加)|いつでも(?:構い|かまい|大丈夫|結構|可能|OK|いい|良い|よい)|お任せ|おまかせ|そちらで決め")
        .expect("any option regex")
});
/// "どちらの日も都合がつきません": none of them.
static NEGATIVE_ANY: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"(?:どちら|いずれ|どれ|どの[^。\n]{0,4})(?:の(?:日|日程|日時|時間|候補|枠))?(?:で|に)?も[^。\n]{0,12}(?:都合が(?:つき|つか|悪|合わ)|難し|無理|行けません|伺えません|参加でき(?:ません|ない)|だめ|ダメ)")
        .expect("negative any regex")
});

pub(super) static SCHEDULE: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"日程|日時|予約|時間|日にち|時刻|別の日|他の日|ほかの日|曜日|相談日|振り?替")
        .expect("schedule regex")
});

/// Ways to say one will not come. Narrower than [`DECLINE`]: "折り返しは
/// 不要です" about a booking must not cancel it.
pub(super) static CANCEL_BOOKING: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"間に合(?:いません|わない|わなく)|出られなく|参加できなく|不要とな|必要(?:が)?なくな|お休みさせ|(?:行け|いけ|伺え|うかがえ|出られ|出席でき|参加でき|間に合い|間に合わ|来られ|こられ)そう(?:に|も)(?:ありません|ない|なく)|(?:参加|出席)(?:が|は|も)?(?:難し|厳し|無理に?)く?な(?:り|っ)|難しくな(?:り|っ)|厳しくな(?:り|っ)|見合わせ|仕事が入|急用|急な(?:用事|仕事|予定)|体調(?:不良|を崩|がすぐれ|が悪)|熱が出|熱を出|予定が合わなくな|都合がつかなくな|都合が悪くな|キャンセル|取り?消|辞退|行けなく|いけなく|伺えなく|うかがえなく|都合が(?:悪|つかな|合わな)|必要(?:が)?なくな|不要にな|やめます|やめたい|欠席|参加(?:が)?でき(?:ません|なく|ない)|出席(?:が)?でき(?:ません|なく|ない)|行けません|伺えません|うかがえません|来られなく|見送(?:り|ら|ります)|取りやめ|取り止め|中止(?:して|させて|に|します|したい|をお願い)")
        .expect("cancel regex")
});
pub(super) static NOT_CANCELLING: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"(?:キャンセル|取り消し|取消)(?:は|を|も)?(?:しません|せず|しない|ではなく|じゃなく|不要|なしで|しないで)")
        .expect("not cancelling regex")
});
pub(super) static NOT_CHANGING: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"変更(?:は|を|も)?(?:しません|せず|しない|ではなく|じゃなく|不要|なしで|しないで)")
        .expect("not changing regex")
});
pub(super) static CONDITIONAL: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"(?:キャンセル|取り消|取消|変更|欠席)[^。\n]{0,12}(?:場合|時は|ときは|とき、|たら|なら|方法|には|にはどう|どうすれば|どのように)|(?:万が一|もし)[^。\n]{0,20}(?:キャンセル|取り消|変更|欠席)")
        .expect("conditional regex")
});

pub(super) static EARLY_LATE: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"(?:一番)?(?:早い|遅い)(?:方|ほう|日|日時|もの)").expect("early regex")
});
pub(super) static PERIOD_CHOICE: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r"(午前|午後)(?:中)?の(?:方|ほう|枠|日時)").expect("period regex"));
pub(super) static LAST_OPTION: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r"最後|一番下|一番遅い|一番後").expect("last regex"));
pub(super) static EXPLICIT_DATE: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"\d\s*[月日/]|本日|今日|明日|明後日|あした|あさって").expect("explicit date regex")
});
pub(super) static WEEKDAY_WORD: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r"([月火水木金土日])曜").expect("weekday regex"));

/// Weekdays named on their own (木曜日), not as the label of a date (12月3日(木曜)).
/// A weekday said not to do (月曜日は行けません) is left out.
pub(super) fn free_weekdays(text: &str) -> Vec<Weekday> {
    let found: Vec<regex::Match<'_>> = WEEKDAY_WORD.find_iter(text).collect();
    found
        .iter()
        .enumerate()
        .filter(|(_, m)| {
            let before =
                text[..m.start()].trim_end_matches(|ch: char| ch == '(' || ch.is_whitespace());
            !(before.ends_with('日') || before.ends_with(|ch: char| ch.is_ascii_digit()))
        })
        .filter(|(i, m)| {
            let next = found.get(i + 1).map_or(text.len(), |n| n.start());
            !super::negation::negated_at(text, m.end(), next)
        })
        .filter_map(|(_, m)| weekday(m.as_str().trim_end_matches('曜')))
        .collect()
}

/// The times of day a reply names ("11時", "13:30").
pub(super) fn reply_times(text: &str, today: NaiveDate, cal: &Calendar) -> Vec<NaiveTime> {
    WISH_TOKENS
        .captures_iter(text)
        .filter(|c| c.name("hm").is_some() || c.name("hj").is_some())
        .filter_map(|c| {
            parse_wishes(&format!("本日{}", &c[0]), today, cal)
                .wishes
                .first()
                .and_then(|w| match w.time {
                    Some(WishTime::At(t)) => Some(t),
                    _ => None,
                })
        })
        .collect()
}

/// The option number a reply names, if it is one of 1..=`options`.
pub(super) fn option_number(normalized: &str, options: usize) -> Option<usize> {
    for line in normalized.lines() {
        let all: Vec<regex::Captures<'_>> = OPTION_NUMBER.captures_iter(line).collect();
        for (i, caps) in all.iter().enumerate() {
            // "1番は難しいので": not that one.
            let end = caps.get(0).map_or(0, |m| m.end());
            let next = all
                .get(i + 1)
                .and_then(|c| c.get(0))
                .map_or(line.len(), |m| m.start());
            if super::negation::negated_at(line, end, next) {
                continue;
            }
            let n = ["a", "b", "c", "e", "f", "g"]
                .iter()
                .find_map(|k| caps.name(k).and_then(|m| m.as_str().parse::<usize>().ok()))
                .or_else(|| {
                    caps.name("d")
                        .and_then(|m| m.as_str().chars().next())
                        .and_then(circled_digit)
                        .map(|v| v as usize)
                })
                .or_else(|| {
                    caps.name("h")
                        .and_then(|m| kanji_number(m.as_str()))
                        .map(|v| v as usize)
                })
                .or_else(|| caps.name("first").map(|_| 1));
            if let Some(n) = n {
                if (1..=options).contains(&n) {
                    return Some(n);
                }
            }
        }
    }
    None
}

pub(super) static DATE_ONLY_LINE: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"^\s*(?:(?:令和|R)\s*\d{1,2}\s*年|\d{4}\s*[年/.\-])?\s*\d{1,2}\s*[月/.\-]\s*\d{1,2}\s*日?\s*(?:[(][月火水木金土日][)])?\s*$")
        .expect("date line regex")
});

/// A question for the office: a person answers it, the bot does not guess.
pub(super) static QUESTION: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"[?？]|でしょうか|ですか|ますか|教えて(?:ください|下さい)|質問|問い合わせ|問合せ|相談したいのですが|変更(?:したい|できます|は可能)")
        .expect("question regex")
});
