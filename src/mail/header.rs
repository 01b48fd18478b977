//! Header text (Subject, display names) as the sender meant it, from the
//! raw bytes. Real mailers mislabel Japanese headers: ISO-2022-JP escape
//! sequences inside an encoded word labelled `us-ascii` or `utf-8`, raw
//! 8-bit Shift_JIS, EUC-JP or UTF-8, encoded words split in the middle of a
//! character. The bytes decide, the label is only a hint. What cannot be
//! recovered is `None`, never escape sequences or mojibake.

use encoding_rs::{Encoding, EUC_JP, ISO_2022_JP, SHIFT_JIS, UTF_8};

/// The unfolded raw value of the first header `name` in a raw message.
pub fn raw_value(raw: &[u8], name: &str) -> Option<Vec<u8>> {
    let end = find(raw, b"\r\n\r\n")
        .or_else(|| find(raw, b"\n\n"))
        .unwrap_or(raw.len().min(256 * 1024));
    let head = &raw[..end];
    let mut lines = head.split(|&b| b == b'\n').peekable();
    while let Some(line) = lines.next() {
        let line = line.strip_suffix(b"\r").unwrap_or(line);
        let Some(colon) = line.iter().position(|&b| b == b':') else {
            continue;
        };
        if !line[..colon].eq_ignore_ascii_case(name.as_bytes()) {
            continue;
        }
        let mut value = line[colon + 1..].to_vec();
        while let Some(next) = lines.peek() {
            if !next.starts_with(b" ") && !next.starts_with(b"\t") {
                break;
            }
            let next = next.strip_suffix(b"\r").unwrap_or(next);
            // Folding whitespace stays one space; between encoded words
            // it is dropped later.
            value.push(b' ');
            value.extend_from_slice(trim_start(next));
            lines.next();
        }
        return Some(trim(&value).to_vec());
    }
    None
}

/// Decodes a raw header value (RFC 2047 words and raw bytes) into text.
/// `None` when it cannot be read without replacement characters or
/// leftover escape sequences.
pub fn decode_text(value: &[u8]) -> Option<String> {
    // Encoded words and the raw bytes between them.
    let mut tokens: Vec<Token> = Vec::new();
    let mut i = 0;
    while i < value.len() {
        if let Some((word, len)) = encoded_word(&value[i..]) {
            // Whitespace between two encoded words is not part of the text.
            if let [.., Token::Word(_), Token::Raw(r)] = tokens.as_slice() {
                if r.iter().all(|b| b.is_ascii_whitespace()) {
                    tokens.pop();
                }
            }
            tokens.push(Token::Word(word));
            i += len;
            continue;
        }
        match tokens.last_mut() {
            Some(Token::Raw(r)) => r.push(value[i]),
            _ => tokens.push(Token::Raw(vec![value[i]])),
        }
        i += 1;
    }
    let mut out = String::new();
    let mut words: Vec<Word> = Vec::new();
    for token in tokens {
        match token {
            Token::Word(w) => words.push(w),
            Token::Raw(r) => {
                // Some mailers (s-nail among them) end a word in the middle of
                // ISO-2022-JP's two-byte mode and go on in raw 7-bit bytes:
                // the text continues in that mode.
                let rest = trim(&r);
                if ends_in_two_byte_mode(&words)
                    && !rest.is_empty()
                    && rest.len().is_multiple_of(2)
                    && rest.iter().all(|b| (0x21..=0x7e).contains(b))
                {
                    words.push(Word {
                        charset: "iso-2022-jp".into(),
                        bytes: rest.to_vec(),
                    });
                    continue;
                }
                flush_words(&mut words, &mut out)?;
                out.push_str(&decode_bytes(&r, None)?);
            }
        }
    }
    flush_words(&mut words, &mut out)?;
    clean(out)
}

/// Whether the words so far leave ISO-2022-JP in a two-byte (kanji) mode.
fn ends_in_two_byte_mode(words: &[Word]) -> bool {
    let bytes: Vec<u8> = words.iter().flat_map(|w| w.bytes.iter().copied()).collect();
    let Some(esc) = bytes.iter().rposition(|&b| b == 0x1b) else {
        return false;
    };
    bytes.get(esc + 1) == Some(&b'$')
}

enum Token {
    Word(Word),
    Raw(Vec<u8>),
}

/// One RFC 2047 encoded word, decoded to bytes (not yet to text).
struct Word {
    charset: String,
    bytes: Vec<u8>,
}

/// Adjacent encoded words are decoded together: a character split across
/// two words (or an ISO-2022-JP shift carried over) comes out whole.
fn flush_words(words: &mut Vec<Word>, out: &mut String) -> Option<()> {
    let mut start = 0;
    while start < words.len() {
        let any_escape = words.iter().any(|w| w.bytes.contains(&0x1b));
        let mut end = start + 1;
        while end < words.len() && (any_escape || words[end].charset == words[start].charset) {
            end += 1;
        }
        let bytes: Vec<u8> = words[start..end]
            .iter()
            .flat_map(|w| w.bytes.iter().copied())
            .collect();
        out.push_str(&decode_bytes(&bytes, Some(&words[start].charset))?);
        start = end;
    }
    words.clear();
    Some(())
}

/// `=?charset?B|Q?text?=` at the start of `s`: the word and its length.
fn encoded_word(s: &[u8]) -> Option<(Word, usize)> {
    if !s.starts_with(b"=?") {
        return None;
    }
    let rest = &s[2..];
    let q1 = rest.iter().position(|&b| b == b'?')?;
    let charset = &rest[..q1];
    if charset.is_empty() || charset.iter().any(|b| b.is_ascii_whitespace()) {
        return None;
    }
    let enc = *rest.get(q1 + 1)?;
    if rest.get(q1 + 2) != Some(&b'?') {
        return None;
    }
    let text_start = q1 + 3;
    let text_len = find(&rest[text_start..], b"?=")?;
    let text = &rest[text_start..text_start + text_len];
    if text.iter().any(|b| b.is_ascii_whitespace()) {
        return None;
    }
    let bytes = match enc.to_ascii_lowercase() {
        b'b' => base64(text, b'/'),
        b'q' => q_decode(text),
        _ => return None,
    };
    // RFC 2231 language suffix: `utf-8*ja`.
    let charset = String::from_utf8_lossy(charset)
        .split('*')
        .next()
        .unwrap_or("")
        .to_ascii_lowercase();
    Some((Word { charset, bytes }, 2 + text_start + text_len + 2))
}

/// Bytes → text, trusting what the bytes show over the label: escape
/// sequences mean ISO-2022-JP, valid UTF-8 is UTF-8, else the labelled or
/// the likelier of Shift_JIS and EUC-JP.
fn decode_bytes(bytes: &[u8], label: Option<&str>) -> Option<String> {
    if bytes.is_empty() {
        return Some(String::new());
    }
    if bytes.contains(&0x1b) {
        return strict(ISO_2022_JP, bytes);
    }
    if let Ok(s) = std::str::from_utf8(bytes) {
        return Some(s.to_string());
    }
    let labelled = label.and_then(|l| Encoding::for_label(canonical(l).as_bytes()));
    if let Some(enc) = labelled.filter(|e| *e != UTF_8 && *e != ISO_2022_JP) {
        if let Some(s) = strict(enc, bytes) {
            if enc != SHIFT_JIS && enc != EUC_JP {
                return Some(s);
            }
        }
    }
    let sjis = strict(SHIFT_JIS, bytes);
    let euc = strict(EUC_JP, bytes);
    match (sjis, euc) {
        (Some(a), Some(b)) => {
            let prefer_euc = labelled == Some(EUC_JP);
            if japanese_score(&b) > japanese_score(&a)
                || (prefer_euc && japanese_score(&b) == japanese_score(&a))
            {
                Some(b)
            } else {
                Some(a)
            }
        }
        (a, b) => a.or(b),
    }
}

/// Japanese charset names mailers use that the WHATWG labels lack.
fn canonical(label: &str) -> &str {
    match label {
        "cp932" | "windows-31j" | "ms932" | "sjis" | "x-sjis" | "shift-jis" | "sjis-win" => {
            "shift_jis"
        }
        "eucjp-ms" | "euc-jp-ms" | "eucjp" | "cp51932" | "eucjp-win" => "euc-jp",
        other => other,
    }
}

fn strict(enc: &'static Encoding, bytes: &[u8]) -> Option<String> {
    enc.decode_without_bom_handling_and_without_replacement(bytes)
        .map(|s| s.into_owned())
}

/// How much a decoding looks like Japanese text: kana and kanji count,
/// half-width katakana (what EUC-JP read as Shift_JIS turns into) counts
/// against.
fn japanese_score(s: &str) -> i64 {
    s.chars()
        .map(|c| match c {
            '\u{3040}'..='\u{30ff}' | '\u{4e00}'..='\u{9fff}' | '\u{3000}'..='\u{303f}' => 2,
            '\u{ff01}'..='\u{ff5e}' => 1,
            '\u{ff61}'..='\u{ff9f}' => -2,
            _ => 0,
        })
        .sum()
}

/// Text fit to show: no replacement characters, escapes or control
/// characters left, whitespace runs made single spaces.
fn clean(s: String) -> Option<String> {
    if s.chars()
        .any(|c| c == '\u{fffd}' || (c.is_control() && c != '\t'))
    {
        return None;
    }
    Some(s.split_whitespace().collect::<Vec<_>>().join(" "))
}

/// Base64 as mail writes it, skipping anything outside the alphabet;
/// `sixty_third` is `/` (RFC 2045) or `,` (IMAP's modified UTF-7).
pub(crate) fn base64(text: &[u8], sixty_third: u8) -> Vec<u8> {
    let mut out = Vec::with_capacity(text.len() * 3 / 4);
    let mut acc = 0u32;
    let mut bits = 0;
    for &c in text {
        let v = match c {
            b'A'..=b'Z' => c - b'A',
            b'a'..=b'z' => c - b'a' + 26,
            b'0'..=b'9' => c - b'0' + 52,
            b'+' => 62,
            c if c == sixty_third => 63,
            _ => continue,
        };
        acc = (acc << 6) | u32::from(v);
        bits += 6;
        if bits >= 8 {
            bits -= 8;
            out.push((acc >> bits) as u8);
            acc &= (1 << bits) - 1;
        }
    }
    out
}

fn q_decode(text: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(text.len());
    let mut i = 0;
    while i < text.len() {
        match text[i] {
            b'_' => out.push(b' '),
            b'=' => match text.get(i + 1..i + 3).and_then(|p| hex_pair(p[0], p[1])) {
                Some(v) => {
                    out.push(v);
                    i += 2;
                }
                None => out.push(b'='),
            },
            b => out.push(b),
        }
        i += 1;
    }
    out
}

fn hex_pair(a: u8, b: u8) -> Option<u8> {
    let h = |c: u8| (c as char).to_digit(16);
    Some((h(a)? * 16 + h(b)?) as u8)
}

fn find(hay: &[u8], needle: &[u8]) -> Option<usize> {
    hay.windows(needle.len()).position(|w| w == needle)
}

fn trim_start(s: &[u8]) -> &[u8] {
    let start = s
        .iter()
        .position(|b| !b.is_ascii_whitespace())
        .unwrap_or(s.len());
    &s[start..]
}

fn trim(s: &[u8]) -> &[u8] {
    let s = trim_start(s);
    let end = s
        .iter()
        .rposition(|b| !b.is_ascii_whitespace())
        .map_or(0, |p| p + 1);
    &s[..end]
}

#[cfg(test)]
mod tests {
    use super::*;

    fn b64(bytes: &[u8]) -> String {
        use base64::Engine;
        base64::engine::general_purpose::STANDARD.encode(bytes)
    }

    fn jis(s: &str) -> Vec<u8> {
        ISO_2022_JP.encode(s).0.into_owned()
    }

    #[test]
    fn iso_2022_jp_inside_words_labelled_ascii_or_utf8() {
        for label in ["us-ascii", "utf-8", "iso-8859-1", "ISO-2022-JP"] {
            let v = format!("=?{label}?B?{}?=", b64(&jis("予約の申込み")));
            assert_eq!(
                decode_text(v.as_bytes()).as_deref(),
                Some("予約の申込み"),
                "{label}"
            );
        }
    }

    #[test]
    fn words_split_mid_character_are_joined() {
        let bytes = "オンライン相談の予約".as_bytes();
        let (a, b) = bytes.split_at(4);
        let v = format!("=?UTF-8?B?{}?=\r\n =?UTF-8?B?{}?=", b64(a), b64(b));
        let raw = format!("Subject: {v}\r\n\r\nbody");
        let value = raw_value(raw.as_bytes(), "subject").expect("subject");
        assert_eq!(decode_text(&value).as_deref(), Some("オンライン相談の予約"));
        // ISO-2022-JP whose shift state runs over two words.
        let j = jis("予約希望");
        let (a, b) = j.split_at(5);
        let v = format!("=?ISO-2022-JP?B?{}?= =?ISO-2022-JP?B?{}?=", b64(a), b64(b));
        assert_eq!(decode_text(v.as_bytes()).as_deref(), Some("予約希望"));
    }

    #[test]
    fn iso_2022_jp_that_runs_on_past_its_word() {
        // As s-nail writes it: the word stops in kanji mode, the rest raw.
        let j = jis("予約（山田）");
        let cut = j.len() - 9;
        let (a, b) = j.split_at(cut);
        let tail: Vec<u8> = b.iter().copied().filter(|&c| c != 0x1b).collect();
        let tail = String::from_utf8_lossy(&tail)
            .trim_end_matches("(B")
            .to_string();
        let v = format!("=?us-ascii?B?{}?=\r\n {tail}", b64(a));
        let raw = format!("Subject: {v}\r\n\r\n");
        let value = raw_value(raw.as_bytes(), "Subject").expect("subject");
        assert_eq!(decode_text(&value).as_deref(), Some("予約（山田）"));
    }

    #[test]
    fn raw_eight_bit_headers_in_each_charset() {
        let text = "Re: オンライン職業相談の予約（山田）";
        for enc in [SHIFT_JIS, EUC_JP, UTF_8, ISO_2022_JP] {
            let bytes = enc.encode(text).0.into_owned();
            assert_eq!(decode_text(&bytes).as_deref(), Some(text), "{}", enc.name());
        }
    }

    #[test]
    fn mixed_words_and_text_keep_their_spaces() {
        let v = format!("Re: =?UTF-8?B?{}?= (2)", b64("予約".as_bytes()));
        assert_eq!(decode_text(v.as_bytes()).as_deref(), Some("Re: 予約 (2)"));
        let q = "=?ISO-8859-1?Q?caf=E9_au_lait?=";
        assert_eq!(decode_text(q.as_bytes()).as_deref(), Some("café au lait"));
    }

    #[test]
    fn what_cannot_be_read_is_none() {
        // A lone ESC sequence that is not ISO-2022-JP, and bytes that are no
        // Japanese charset at all.
        assert_eq!(decode_text(b"\x1b$Z\x80\x80"), None);
        assert_eq!(decode_text(b"\xff\xfe\xfd\xfc"), None);
    }
}
