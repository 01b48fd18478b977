//! Mail addresses as seekers' phones have them. For years docomo and au
//! issued local parts that break RFC 5322's dot-atom (`taro..yamada`,
//! `hanako.`, `.jiro`); millions are still in use and their mail arrives
//! every day. Such an address is read, stored and compared like any other
//! (in its bare form), and written quoted on the wire (`"taro..yamada"@…`),
//! which RFC 5321 allows and every MTA delivers.

use std::borrow::Cow;

/// RFC 5322 atext: what a local part may hold besides dots.
fn is_atext(c: char) -> bool {
    c.is_ascii_alphanumeric() || "!#$%&'*+-/=?^_`{|}~".contains(c)
}

/// A local part that may stand unquoted (RFC 5322 dot-atom).
pub fn is_dot_atom(local: &str) -> bool {
    !local.is_empty()
        && !local.starts_with('.')
        && !local.ends_with('.')
        && !local.contains("..")
        && local.chars().all(|c| is_atext(c) || c == '.')
}

/// A local part as carriers issued them: atext and dots in any order.
pub fn is_carrier_local(local: &str) -> bool {
    !local.is_empty() && local.len() <= 64 && local.chars().all(|c| is_atext(c) || c == '.')
}

/// A domain we can send to: dot-separated labels of letters, digits and
/// hyphens (any script: IDNs are converted when sent).
pub fn is_domain(domain: &str) -> bool {
    let labels: Vec<&str> = domain.split('.').collect();
    labels.len() >= 2
        && domain.len() <= 253
        && labels.iter().all(|l| {
            !l.is_empty()
                && l.chars().count() <= 63
                && !l.starts_with('-')
                && !l.ends_with('-')
                && l.chars().all(|c| c.is_alphanumeric() || c == '-')
        })
}

/// The address in the form yoyaku stores and compares: lower-case, without
/// angle brackets, a quoted local part unquoted when its content is one a
/// carrier issues. None when it is not an address we could answer.
pub fn normalize(raw: &str) -> Option<String> {
    let raw = raw
        .trim()
        .trim_start_matches('<')
        .trim_end_matches('>')
        .trim();
    let (local, domain) = raw.rsplit_once('@')?;
    let domain = domain.trim_end_matches('.');
    if !is_domain(domain) {
        return None;
    }
    let local = match local.strip_prefix('"').and_then(|l| l.strip_suffix('"')) {
        Some(quoted) => {
            let unescaped = unescape(quoted);
            if !is_carrier_local(&unescaped) {
                return None;
            }
            unescaped
        }
        None if is_carrier_local(local) => local.to_string(),
        None => return None,
    };
    Some(format!("{local}@{domain}").to_lowercase())
}

fn unescape(quoted: &str) -> String {
    let mut out = String::with_capacity(quoted.len());
    let mut chars = quoted.chars();
    while let Some(c) = chars.next() {
        if c == '\\' {
            if let Some(next) = chars.next() {
                out.push(next);
            }
        } else {
            out.push(c);
        }
    }
    out
}

/// The local part as the SMTP envelope and headers must carry it: as it is
/// when it is a dot-atom, else a quoted string (RFC 5321 §4.1.2).
pub fn wire_local(local: &str) -> Cow<'_, str> {
    if is_dot_atom(local) {
        return Cow::Borrowed(local);
    }
    let mut quoted = String::with_capacity(local.len() + 2);
    quoted.push('"');
    for c in local.chars() {
        if c == '"' || c == '\\' {
            quoted.push('\\');
        }
        quoted.push(c);
    }
    quoted.push('"');
    Cow::Owned(quoted)
}

/// The address in a From, Reply-To or To header value (`名前 <a@b>`,
/// `a@b (名前)`, `"taro..yamada"@docomo.ne.jp`), read by hand: the
/// header parser gives up on the carriers' shapes.
pub fn from_header(value: &str) -> Option<String> {
    if let (Some(open), Some(close)) = (value.rfind('<'), value.rfind('>')) {
        if open < close {
            if let Some(a) = normalize(&value[open + 1..close]) {
                return Some(a);
            }
        }
    }
    value
        .split(|c: char| c.is_whitespace() || matches!(c, ',' | ';' | '(' | ')' | '<' | '>'))
        .filter(|t| t.contains('@'))
        .find_map(normalize)
}

/// Whether the address is at a mobile carrier (`domains` or a subdomain).
pub fn is_carrier(address: &str, domains: &[String]) -> bool {
    let Some((_, domain)) = address.rsplit_once('@') else {
        return false;
    };
    let domain = domain.to_ascii_lowercase();
    domains.iter().any(|d| {
        domain == *d
            || domain
                .strip_suffix(d.as_str())
                .is_some_and(|rest| rest.ends_with('.'))
    })
}

/// Whether a mail to `to` carries the line on allowing the office's domain:
/// a carrier's address, on the first answer of the thread (one that
/// refers to no mail of ours: `our_id_prefix` starts our Message-IDs).
pub fn wants_carrier_hint(
    to: &str,
    references: &[String],
    our_id_prefix: &str,
    domains: &[String],
) -> bool {
    is_carrier(to, domains) && !references.iter().any(|r| r.starts_with(our_id_prefix))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn carrier_shapes_are_read_and_quoted_on_the_wire() {
        for (raw, bare, wire) in [
            (
                "taro..yamada@docomo.ne.jp",
                "taro..yamada@docomo.ne.jp",
                "\"taro..yamada\"",
            ),
            ("Hanako.@EZweb.ne.jp", "hanako.@ezweb.ne.jp", "\"hanako.\""),
            (".jiro@docomo.ne.jp", ".jiro@docomo.ne.jp", "\".jiro\""),
            (
                "\"taro..yamada\"@docomo.ne.jp",
                "taro..yamada@docomo.ne.jp",
                "\"taro..yamada\"",
            ),
            ("<a.b@example.jp>", "a.b@example.jp", "a.b"),
        ] {
            let n = normalize(raw).unwrap_or_else(|| panic!("{raw} not read"));
            assert_eq!(n, bare);
            let (local, _) = n.rsplit_once('@').unwrap_or_default();
            assert_eq!(wire_local(local), wire, "{raw}");
        }
    }

    #[test]
    fn what_is_not_an_address_is_refused() {
        for raw in [
            "",
            "no-at-sign",
            "a@b",
            "a b@example.jp",
            "a@-x.jp",
            "@example.jp",
            "a@exa mple.jp",
        ] {
            assert_eq!(normalize(raw), None, "{raw:?}");
        }
    }

    #[test]
    fn carrier_hint_on_the_first_answer_only() {
        let domains = vec!["docomo.ne.jp".to_string(), "ezweb.ne.jp".to_string()];
        assert!(is_carrier("taro..yamada@docomo.ne.jp", &domains));
        assert!(is_carrier("a@mail.docomo.ne.jp", &domains));
        assert!(!is_carrier("a@notdocomo.ne.jp", &domains));
        assert!(!is_carrier("a@example.jp", &domains));
        let ours = vec!["yoyaku.Ab1@office.jp".to_string()];
        assert!(wants_carrier_hint(
            "a@docomo.ne.jp",
            &[],
            "yoyaku.",
            &domains
        ));
        assert!(!wants_carrier_hint(
            "a@docomo.ne.jp",
            &ours,
            "yoyaku.",
            &domains
        ));
    }

    #[test]
    fn header_values_in_every_shape() {
        assert_eq!(
            from_header("山田 太郎 <taro..yamada@docomo.ne.jp>").as_deref(),
            Some("taro..yamada@docomo.ne.jp")
        );
        assert_eq!(
            from_header("hanako.@ezweb.ne.jp (花子)").as_deref(),
            Some("hanako.@ezweb.ne.jp")
        );
        assert_eq!(
            from_header("\"taro..yamada\"@docomo.ne.jp").as_deref(),
            Some("taro..yamada@docomo.ne.jp")
        );
        assert_eq!(from_header("undisclosed-recipients:;"), None);
    }
}
