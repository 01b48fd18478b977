//! IMAP folder names are modified UTF-7 (RFC 3501 §5.1.3); the default
//! folders (処理済, 要対応 …) are Japanese, so they must be encoded.

/// Encodes a folder name to modified UTF-7.
pub fn encode(name: &str) -> String {
    let mut out = String::new();
    let mut pending: Vec<u16> = Vec::new();
    let flush = |pending: &mut Vec<u16>, out: &mut String| {
        if pending.is_empty() {
            return;
        }
        let bytes: Vec<u8> = pending.iter().flat_map(|u| u.to_be_bytes()).collect();
        out.push('&');
        out.push_str(&base64_modified(&bytes));
        out.push('-');
        pending.clear();
    };
    for c in name.chars() {
        if (' '..='~').contains(&c) {
            flush(&mut pending, &mut out);
            if c == '&' {
                out.push_str("&-");
            } else {
                out.push(c);
            }
        } else {
            let mut buf = [0u16; 2];
            pending.extend_from_slice(c.encode_utf16(&mut buf));
        }
    }
    flush(&mut pending, &mut out);
    out
}

/// Decodes a folder name the server sent in modified UTF-7; a name that
/// is not valid modified UTF-7 (some servers send raw UTF-8) is returned as
/// it came.
pub fn decode(name: &str) -> String {
    decode_strict(name).unwrap_or_else(|| name.to_string())
}

fn decode_strict(name: &str) -> Option<String> {
    let mut out = String::new();
    let mut rest = name;
    while let Some(amp) = rest.find('&') {
        out.push_str(&rest[..amp]);
        let after = &rest[amp + 1..];
        let end = after.find('-')?;
        let run = &after[..end];
        if run.is_empty() {
            out.push('&');
        } else {
            let bytes = unbase64_modified(run)?;
            if bytes.len() % 2 != 0 {
                return None;
            }
            let units: Vec<u16> = bytes
                .chunks(2)
                .map(|c| u16::from_be_bytes([c[0], c[1]]))
                .collect();
            out.push_str(&String::from_utf16(&units).ok()?);
        }
        rest = &after[end + 1..];
    }
    out.push_str(rest);
    Some(out)
}

fn unbase64_modified(run: &str) -> Option<Vec<u8>> {
    // Strict here: a name with other characters is not modified UTF-7.
    run.bytes()
        .all(|c| c.is_ascii_alphanumeric() || c == b'+' || c == b',')
        .then(|| crate::mail::header::base64(run.as_bytes(), b','))
}

fn base64_modified(bytes: &[u8]) -> String {
    const TABLE: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+,";
    let mut out = String::new();
    for chunk in bytes.chunks(3) {
        let b = [
            chunk[0],
            *chunk.get(1).unwrap_or(&0),
            *chunk.get(2).unwrap_or(&0),
        ];
        let n = (u32::from(b[0]) << 16) | (u32::from(b[1]) << 8) | u32::from(b[2]);
        let chars = chunk.len() + 1;
        for i in 0..chars {
            out.push(TABLE[((n >> (18 - 6 * i)) & 63) as usize] as char);
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn known_encodings() {
        assert_eq!(encode("INBOX"), "INBOX");
        assert_eq!(encode("&"), "&-");
        // From RFC 3501: "~peter/mail/台北/日本語".
        assert_eq!(
            encode("~peter/mail/台北/日本語"),
            "~peter/mail/&U,BTFw-/&ZeVnLIqe-"
        );
        assert_eq!(encode("処理済"), "&UeZ0Bm4I-");
    }

    #[test]
    fn decode_reverses_encode() {
        for name in [
            "処理済",
            "INBOX.要対応",
            "a&b",
            "~peter/mail/台北/日本語",
            "送信済",
            "😀 x",
            "",
        ] {
            assert_eq!(decode(&encode(name)), name);
        }
        assert_eq!(decode("INBOX.&UeZ0Bm4I-"), "INBOX.処理済");
        // Not modified UTF-7: kept as sent.
        assert_eq!(decode("&ZZZ"), "&ZZZ");
        assert_eq!(decode("処理済"), "処理済");
    }
}
