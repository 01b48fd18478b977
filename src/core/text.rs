//! Text normalisation for Japanese mail as people really type it: full-width
//! ASCII, ideographic spaces, the many dash and tilde look-alikes, circled
//! digits and a small HTML-to-text conversion for HTML-only phone mail.
//! Nothing here fails; odd input just comes back less tidy.

/// Full-width ASCII to half-width, ideographic space to space, dash and tilde
/// look-alikes to `-` and `~`. Circled digits are left alone: they mean slot
/// or option numbers and the parsers look for them explicitly.
pub fn normalize(input: &str) -> String {
    let mut out = String::with_capacity(input.len());
    for c in input.chars() {
        // Parenthesised digits ⑴..⒇ are one character; spell them out.
        if ('\u{2474}'..='\u{2487}').contains(&c) {
            out.push('(');
            out.push_str(&(c as u32 - 0x2474 + 1).to_string());
            out.push(')');
            continue;
        }
        let mapped = match c {
            '\u{FF01}'..='\u{FF5E}' => char::from_u32(c as u32 - 0xFEE0).unwrap_or(c),
            '\u{3000}' | '\u{00A0}' => ' ',
            '\u{2010}' | '\u{2011}' | '\u{2012}' | '\u{2013}' | '\u{2014}' | '\u{2015}'
            | '\u{2212}' | '\u{FE63}' | '\u{FF70}' => '-',
            '\u{301C}' | '\u{223C}' | '\u{02DC}' => '~',
            '\u{FF64}' => '、',
            '\u{FF61}' => '。',
            // Zero-width and bidi controls carry no meaning for us and can
            // hide digits from the parsers.
            '\u{200B}'..='\u{200F}'
            | '\u{202A}'..='\u{202E}'
            | '\u{2060}'..='\u{2069}'
            | '\u{FEFF}' => continue,
            '\r' => continue,
            _ => c,
        };
        out.push(mapped);
    }
    // The katakana prolonged sound mark is often typed as a dash between
    // digits (12345ー12345678); only there is it a dash.
    let chars: Vec<char> = out.chars().collect();
    let mut fixed = String::with_capacity(out.len());
    for (i, &c) in chars.iter().enumerate() {
        if c == 'ー' {
            let prev_digit = i > 0 && chars[i - 1].is_ascii_digit();
            let next_digit = chars.get(i + 1).is_some_and(|n| n.is_ascii_digit());
            if prev_digit && next_digit {
                fixed.push('-');
                continue;
            }
        }
        fixed.push(c);
    }
    fixed
}

/// The value of a circled digit ①..⑳, if it is one.
pub fn circled_digit(c: char) -> Option<u32> {
    match c {
        '\u{2460}'..='\u{2473}' => Some(c as u32 - 0x2460 + 1),
        '\u{2776}'..='\u{277F}' => Some(c as u32 - 0x2776 + 1),
        _ => None,
    }
}

/// Kanji numerals up to 99 (一, 十二, 二十三) to a number, for dates such as
/// 十二月三日. Returns None for anything else.
pub fn kanji_number(s: &str) -> Option<u32> {
    fn digit(c: char) -> Option<u32> {
        "〇一二三四五六七八九"
            .chars()
            .position(|k| k == c)
            .map(|p| p as u32)
    }
    let chars: Vec<char> = s.chars().collect();
    match chars.as_slice() {
        [] => None,
        [d] if *d == '十' => Some(10),
        [d] => digit(*d),
        ['十', d] => digit(*d).map(|v| 10 + v),
        [t, '十'] => digit(*t).map(|v| v * 10),
        [t, '十', d] => Some(digit(*t)? * 10 + digit(*d)?),
        _ => None,
    }
}

/// A plain-text rendering of an HTML body. Quoted parts (`<blockquote>`,
/// Gmail's `gmail_quote`, Outlook's reply divider) are dropped because a
/// quoted offer must never be read as the seeker's own words.
pub fn html_to_text(html: &str) -> String {
    let lower = html.to_ascii_lowercase();
    let mut out = String::with_capacity(html.len() / 2);
    let bytes = html.as_bytes();
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'<' {
            let end = match lower[i..].find('>') {
                Some(e) => i + e + 1,
                None => break,
            };
            let tag = &lower[i + 1..end - 1];
            let name: String = tag
                .trim_start_matches('/')
                .chars()
                .take_while(|c| c.is_ascii_alphanumeric())
                .collect();
            let closing = tag.starts_with('/');
            if tag.starts_with("!--") {
                i = match lower[i..].find("-->") {
                    Some(e) => i + e + 3,
                    None => bytes.len(),
                };
                continue;
            }
            let starts_quote = !closing
                && (name == "blockquote"
                    || tag.contains("gmail_quote")
                    || tag.contains("divrplyfwdmsg")
                    || tag.contains("moz-cite-prefix")
                    || tag.contains("yahoo_quoted"));
            if matches!(name.as_str(), "script" | "style" | "head" | "title") && !closing {
                let close = format!("</{name}");
                i = match lower[end..].find(&close) {
                    Some(e) => end + e,
                    None => bytes.len(),
                };
                continue;
            }
            if starts_quote {
                // Skip to the matching close of this element, counting nesting.
                let elem = if name == "blockquote" {
                    "blockquote"
                } else {
                    "div"
                };
                let mut depth = 1usize;
                let mut j = end;
                while depth > 0 {
                    let open_at = lower[j..].find(&format!("<{elem}")).map(|p| p + j);
                    let close_at = lower[j..].find(&format!("</{elem}")).map(|p| p + j);
                    match (open_at, close_at) {
                        (Some(o), Some(c)) if o < c => {
                            depth += 1;
                            j = o + 1;
                        }
                        (_, Some(c)) => {
                            depth -= 1;
                            j = c + 1;
                        }
                        _ => {
                            j = bytes.len();
                            break;
                        }
                    }
                }
                i = match lower[j.min(lower.len())..].find('>') {
                    Some(e) => j + e + 1,
                    None => bytes.len(),
                };
                out.push('\n');
                continue;
            }
            if matches!(
                name.as_str(),
                "br" | "p" | "div" | "tr" | "li" | "h1" | "h2" | "h3" | "h4" | "table" | "hr"
            ) {
                out.push('\n');
            } else if name == "td" && !closing {
                out.push(' ');
            }
            i = end;
            continue;
        }
        // Copy text up to the next tag, decoding entities.
        let next = lower[i..].find('<').map(|p| p + i).unwrap_or(bytes.len());
        out.push_str(&decode_entities(&html[i..next]));
        i = next;
    }
    // Collapse runs of blank lines left by block tags.
    let mut result = String::with_capacity(out.len());
    let mut blank = 0;
    for line in out.lines() {
        let t = line.trim_end();
        if t.trim().is_empty() {
            blank += 1;
            if blank > 1 {
                continue;
            }
        } else {
            blank = 0;
        }
        result.push_str(t);
        result.push('\n');
    }
    result
}

fn decode_entities(s: &str) -> String {
    if !s.contains('&') {
        return s.to_string();
    }
    let mut out = String::with_capacity(s.len());
    let mut rest = s;
    while let Some(pos) = rest.find('&') {
        out.push_str(&rest[..pos]);
        let after = &rest[pos..];
        let semi = after.find(';').filter(|&e| e <= 10);
        let Some(semi) = semi else {
            out.push('&');
            rest = &after[1..];
            continue;
        };
        let entity = &after[1..semi];
        let decoded = match entity {
            "amp" => Some('&'),
            "lt" => Some('<'),
            "gt" => Some('>'),
            "quot" => Some('"'),
            "apos" => Some('\''),
            "nbsp" => Some(' '),
            _ if entity.starts_with("#x") || entity.starts_with("#X") => {
                u32::from_str_radix(&entity[2..], 16)
                    .ok()
                    .and_then(char::from_u32)
            }
            _ if entity.starts_with('#') => entity[1..].parse().ok().and_then(char::from_u32),
            _ => None,
        };
        match decoded {
            Some(c) => {
                out.push(c);
                rest = &after[semi + 1..];
            }
            None => {
                out.push('&');
                rest = &after[1..];
            }
        }
    }
    out.push_str(rest);
    out
}

/// Drops characters that must never reach a header or a log line.
pub fn single_line(s: &str, max_chars: usize) -> String {
    s.chars()
        .filter(|c| !c.is_control())
        .take(max_chars)
        .collect::<String>()
        .trim()
        .to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn full_width_digits_and_colons() {
        assert_eq!(normalize("１２月３日　９：３０"), "12月3日 9:30");
        assert_eq!(normalize("12345ー12345678"), "12345-12345678");
        assert_eq!(normalize("ラーメン"), "ラーメン");
        assert_eq!(normalize("11:00〜11:30"), "11:00~11:30");
    }

    #[test]
    fn kanji_numbers() {
        assert_eq!(kanji_number("十二"), Some(12));
        assert_eq!(kanji_number("三"), Some(3));
        assert_eq!(kanji_number("二十三"), Some(23));
        assert_eq!(kanji_number("百"), None);
    }

    #[test]
    fn html_drops_quotes_and_scripts() {
        let html = "<html><head><style>p{}</style></head><body><p>1番で&amp;お願いします</p>\
                    <script>alert(1)</script><div class=\"gmail_quote\"><div>12月3日 11:00</div></div>\
                    <blockquote>quoted <blockquote>deeper</blockquote> still</blockquote>end</body></html>";
        let text = html_to_text(html);
        assert!(text.contains("1番で&お願いします"));
        assert!(!text.contains("12月3日"));
        assert!(!text.contains("quoted"));
        assert!(!text.contains("still"));
        assert!(!text.contains("alert"));
        assert!(text.contains("end"));
    }

    #[test]
    fn html_with_broken_tags_does_not_panic() {
        for s in [
            "<",
            "<div",
            "&#xZZ;",
            "<blockquote>",
            "a<br>b&",
            "<!-- x",
            "<script>",
        ] {
            let _ = html_to_text(s);
        }
    }
}
