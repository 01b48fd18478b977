//! Separating what the sender wrote now from what they quoted and from their
//! signature. Anything quoted (our own offer, above all) must never be read
//! as a choice, a cancellation or consent.

use regex::Regex;
use std::sync::LazyLock;

static ATTRIBUTION: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(
        r"(?x)^\s*(?:
            On\s.{0,200}\swrote:?\s*$
          | .{0,200}(?:wrote|writes)\s*:\s*$
          | .{0,200}(?:書きました|さんは書きました|のメッセージ|からのメール|のメール|メッセージ|wrote)\s*[:：]\s*$
          | .{0,200}(?:書きました|が書きました)\s*$
          | \d{4}[年/\-]\s*\d{1,2}[月/\-]\s*\d{1,2}.{0,200}[<＜].{0,100}@.{0,100}[>＞].{0,20}[:：]\s*$
          | -{2,}\s*(?:Original\s+Message|Forwarded\s+message|元のメッセージ|転送されたメッセージ|Reply\s+message)\s*-{2,}.*$
          | _{10,}\s*$
          | (?:差出人|From)\s*[:：].{0,200}$
        )",
    )
    .expect("attribution regex")
});

static OUTLOOK_HEADER: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"^\s*(?:送信日時|Sent|Date|日付|件名|Subject|宛先|To)\s*[:：]")
        .expect("outlook regex")
});

static SIGNATURE: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"^(?:-- ?|--|[-=_*~━─＝ー*#]{4,}.*|[-=━─]{2,}\s*\S.*[-=━─]{2,})\s*$")
        .expect("signature regex")
});

/// The sender's own words in a reply: everything before the first quote
/// marker, without `>` lines, without the signature. `strip_signature` is
/// off for first requests, where the signature may carry the phone number.
pub fn own_text(body: &str, strip_signature: bool) -> String {
    let mut out: Vec<&str> = Vec::new();
    let lines: Vec<&str> = body.lines().collect();
    let is_quoted = |l: &str| {
        let t = l.trim_start();
        t.starts_with('>') || t.starts_with('＞') || t.starts_with('|')
    };
    let mut i = 0;
    while i < lines.len() {
        let line = lines[i];
        if is_quoted(line) {
            i += 1;
            continue;
        }
        let attribution_lines = if ATTRIBUTION.is_match(line) {
            // "From:" alone is only a quote header when the Outlook block
            // (送信日時/件名…) follows within a few lines.
            let trimmed = line.trim_start();
            let is_from = trimmed.starts_with("差出人") || trimmed.starts_with("From");
            let confirmed = !is_from
                || lines
                    .iter()
                    .skip(i + 1)
                    .take(4)
                    .any(|l| OUTLOOK_HEADER.is_match(l));
            usize::from(confirmed)
        } else if lines.get(i + 1).is_some_and(|next| {
            // A two-line attribution: the date line, then "... <addr>:".
            let joined = format!("{} {}", line.trim(), next.trim());
            (next.trim_end().ends_with(':') || next.trim_end().ends_with('：'))
                && ATTRIBUTION.is_match(&joined)
                && lines
                    .get(i + 2)
                    .is_some_and(|l| is_quoted(l) || l.trim().is_empty())
        }) {
            2
        } else {
            0
        };
        if attribution_lines > 0 {
            // Followed by ">" lines, the sender may write again below the
            // quote (bottom-posting): skip the quote, keep reading. Anything
            // else (Outlook's header block, an unmarked original) ends the
            // sender's own words.
            let next = lines[i + attribution_lines..]
                .iter()
                .find(|l| !l.trim().is_empty());
            if next.is_some_and(|l| is_quoted(l)) {
                i += attribution_lines;
                continue;
            }
            break;
        }
        if strip_signature && SIGNATURE.is_match(line) && out.iter().any(|l| !l.trim().is_empty()) {
            break;
        }
        out.push(line);
        i += 1;
    }
    let mut text = out.join("\n");
    while text.ends_with('\n') {
        text.pop();
    }
    text
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn strips_gmail_style_japanese_attribution() {
        let body = "1番でお願いします。\n\n2026年11月25日(水) 10:00 ハローワーク出雲 <desk@example.jp>:\n> 【1】12月3日 11:00\n> 【2】12月4日 9:30\n";
        assert_eq!(own_text(body, true), "1番でお願いします。");
    }

    #[test]
    fn strips_two_line_attribution() {
        let body = "2でお願いします\n\n2026年11月25日(水) 10:00 ハローワーク出雲 <desk@example.jp>\nのメッセージ:\n\n> 【1】\n";
        assert_eq!(own_text(body, true), "2でお願いします");
    }

    #[test]
    fn strips_outlook_block() {
        let body = "承知しました。\n\n差出人: ハローワーク出雲 <desk@example.jp>\n送信日時: 2026年11月25日 10:00\n件名: Re: 予約\n\n【1】12月3日\n";
        assert_eq!(own_text(body, true), "承知しました。");
    }

    #[test]
    fn strips_original_message_and_signature() {
        let body = "3番で\n--\n山田太郎\nTEL 090-1234-5678\n";
        assert_eq!(own_text(body, true), "3番で");
        let body = "1で\n-----Original Message-----\nFrom: x\n【2】";
        assert_eq!(own_text(body, true), "1で");
        let body = "はい\n\nOn Wed, Nov 25, 2026 at 10:00 AM Desk <d@x.jp> wrote:\n> 2\n";
        assert_eq!(own_text(body, true), "はい");
        let body = "了解です\n\n山田さんは書きました:\n> 1\n";
        assert_eq!(own_text(body, true), "了解です");
    }

    #[test]
    fn strips_iphone_japanese_attribution() {
        let body = "2番でお願いします\n\n2026/11/25 10:00、ハローワーク出雲 <desk@example.jp>のメール:\n\n> 【1】\n";
        assert_eq!(own_text(body, true), "2番でお願いします");
    }

    #[test]
    fn bottom_posted_reply_below_the_quote_is_read() {
        let body = "2026年11月25日(水) 10:00 ハローワーク出雲 <desk@example.jp>:\n> 【1】12月3日\n> 【2】12月4日\n\n2番でお願いします\n";
        assert_eq!(own_text(body, true).trim(), "2番でお願いします");
        let body = "On Wed, Nov 25, 2026 at 10:00 AM Desk <d@x.jp> wrote:\n> 1\n> 2\n2で";
        assert_eq!(own_text(body, true).trim(), "2で");
    }

    #[test]
    fn keeps_signature_when_asked() {
        let body = "予約をお願いします\n----------\n山田太郎\n090-1234-5678";
        assert!(own_text(body, false).contains("090-1234-5678"));
    }

    #[test]
    fn a_from_line_in_the_text_is_not_a_quote_marker() {
        let body = "From: 山田\n1番でお願いします";
        assert!(own_text(body, true).contains("1番"));
    }
}
