//! Who or what may be needed at a session (第12条(3)).

use super::*;

/// Who or what may be needed at a session (第12条(3)), as stable keys.
pub(super) const NEEDS: &[(&str, &str)] = &[
    ("sign_language", r"手話"),
    ("interpreter", r"通訳|つうやく"),
    ("written", r"筆談"),
    ("assistant", r"介助|介護者|付き?添い|ヘルパー|支援者"),
    ("companion", r"同席|同伴"),
];

pub(super) static NEEDS_RE: LazyLock<Vec<(&'static str, Regex)>> = LazyLock::new(|| {
    NEEDS
        .iter()
        .map(|(k, p)| (*k, Regex::new(p).expect("needs regex")))
        .collect()
});

/// A sentence that says the thing is not needed.
pub(super) static NOT_NEEDED: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"不要|必要(?:は|も)?(?:ありません|ない|なし|ございません)|いりません|要りません|なしで|無しで|一人で|ひとりで")
        .expect("not needed regex")
});

/// The needs a text mentions (通訳, 手話, 介助, 同席 …), skipping
/// sentences that say they are not needed.
pub fn session_needs(text: &str) -> Vec<String> {
    let text = normalize(text);
    let mut found: Vec<String> = Vec::new();
    for sentence in text.split(['。', '\n', '!', '?']) {
        if NOT_NEEDED.is_match(sentence) {
            continue;
        }
        for (key, re) in NEEDS_RE.iter() {
            if re.is_match(sentence) && !found.iter().any(|f| f == key) {
                found.push((*key).to_string());
            }
        }
    }
    found
}
