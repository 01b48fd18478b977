//! Dates said to be impossible (18日は都合がつきません, 水曜は難しいのですが):
//! not wishes, but dates to keep out of an offer. A date's scope runs from
//! it to the next date or the end of its clause; dates joined by と / 、 /
//! や share the words after the last of them (14日と15日は無理です).

use super::wishes::Token;
use super::*;

/// Words that say a date will not do.
pub(super) static NEGATIVE: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(
        r"(?x)
        無理|むり|厳し|きびし|難し|むずかし|だめ|ダメ|駄目|NG|不可|不都合|×
      | 都合が(?:悪|わる|つか|つき|合わ|あわ)|都合(?:上)?(?:難|無理)
      | 以外|避け|さけて
      | (?:行|い|伺|うかが|来|こら|出席|参加|出)(?:け|え|られ|でき)(?:ません|ない|なく)
      | 空いて(?:いません|ない|おりません)|あいて(?:いません|ない)
      | 予定が(?:入|はい|あり)|用事が|先約|ふさが|塞が|埋ま
      | ^\s*(?:で|じゃ)は?なく
        ",
    )
    .expect("negative regex")
});

/// A negative word that only sets a condition (18日が難しければ19日で):
/// the date stays a wish.
static CONDITION: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"^[いくかっ]*(?:けれ|ければ|い場合|かった場合|った場合|なら|でしたら|であれば|の場合|ような|ようで|ようなら|たら|そうなら)")
        .expect("condition regex")
});

/// What may stand between two dates said together.
static JOINER: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"^[\s、,・とやかもの~\-()月火水木金土日曜または及び]*$").expect("joiner regex")
});

/// Whether `scope` (the words after a date) says the date will not do.
fn negates(scope: &str) -> bool {
    let Some(m) = NEGATIVE.find(scope) else {
        return false;
    };
    if m.as_str() == "以外" {
        // 18日以外は無理: only the 18th will do; 18日以外なら: not the 18th.
        return !NEGATIVE.is_match(&scope[m.end()..]);
    }
    // 18日は午前中なら大丈夫ですが、午後は無理: the day will do.
    if POSITIVE.is_match(&scope[..m.start()]) {
        return false;
    }
    !CONDITION.is_match(&scope[m.end()..])
}

/// Words that say a date will do, before any that say it will not.
static POSITIVE: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"大丈夫|可能|伺えます|行けます|参加できます|空いて(?:います|ます|おります)|OK|お願い|希望します|都合がつきます|都合が(?:良|よ)い")
        .expect("positive regex")
});

/// Splits `tokens` into those that stand and the dates said to be
/// impossible (with the times that went with them).
pub(super) fn drop_negated(
    tokens: Vec<(usize, usize, Token)>,
    text: &str,
) -> (Vec<(usize, usize, Token)>, Vec<NaiveDate>) {
    let dates: Vec<usize> = tokens
        .iter()
        .enumerate()
        .filter(|(_, (_, _, t))| matches!(t, Token::Date(_)))
        .map(|(i, _)| i)
        .collect();
    let mut negated = vec![false; dates.len()];
    for k in (0..dates.len()).rev() {
        let end = tokens[dates[k]].1;
        let next_date = dates.get(k + 1).map_or(text.len(), |&j| tokens[j].0);
        let clause_end = text[end..]
            .find(['。', '!', '?', '\n', '！', '？'])
            .map_or(text.len(), |p| end + p);
        let stop = next_date.min(clause_end).max(end);
        // The scope without the times and marks read in it.
        let mut scope = String::new();
        let mut at = end;
        for (s, e, _) in tokens.iter().filter(|(s, _, _)| *s >= end && *s < stop) {
            scope.push_str(text.get(at..*s).unwrap_or(""));
            at = (*e).max(at);
        }
        scope.push_str(text.get(at.min(stop)..stop).unwrap_or(""));
        negated[k] = if negates(&scope) {
            true
        } else {
            next_date <= clause_end && JOINER.is_match(&scope) && negated.get(k + 1) == Some(&true)
        };
    }
    let mut excluded = Vec::new();
    let mut kept = Vec::with_capacity(tokens.len());
    let mut skipping = false;
    let mut k = 0;
    for token in tokens {
        match token.2 {
            Token::Date(d) => {
                skipping = negated[k];
                k += 1;
                if skipping {
                    if !excluded.contains(&d) {
                        excluded.push(d);
                    }
                    continue;
                }
            }
            Token::Break => skipping = false,
            _ if skipping => continue,
            _ => {}
        }
        kept.push(token);
    }
    (kept, excluded)
}

/// Whether the words right after `at` in `text` (up to the end of the
/// clause) say that what stands at `at` will not do: "1番は難しいので".
pub(super) fn negated_at(text: &str, at: usize, next: usize) -> bool {
    let clause_end = text[at..]
        .find(['。', '!', '?', '\n', '！', '？'])
        .map_or(text.len(), |p| at + p);
    text.get(at..next.min(clause_end).max(at))
        .is_some_and(negates)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn conditions_and_only_dates_are_not_negations() {
        assert!(negates("は都合がつきません"));
        assert!(negates("は難しいのですが、"));
        assert!(!negates("が難しければ"));
        assert!(!negates("が無理なら"));
        assert!(!negates("以外は無理です"));
        assert!(negates("以外でお願いします"));
        assert!(!negates("でお願いします"));
    }
}
