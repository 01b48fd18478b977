//! A seeker's mail in their language (issue 27): the template of the same
//! name under `templates/{lang}/` first, then the Japanese, which is the
//! binding text and what staff read; the terms of use in Japanese with a
//! reference translation (参考訳) beside them. A language or a mail with
//! no template of its own goes out in Japanese only.

use crate::core::lang::Lang;

/// The built-in translations (an office's templates folder may add or
/// replace any, as `pt/offer.txt.j2`).
pub(super) const BUILTIN: &[(&str, &str)] = &[
    (
        "en/_macros.j2",
        include_str!("../../templates/en/_macros.j2"),
    ),
    (
        "en/offer.txt.j2",
        include_str!("../../templates/en/offer.txt.j2"),
    ),
    (
        "en/missing.txt.j2",
        include_str!("../../templates/en/missing.txt.j2"),
    ),
    (
        "en/ask_which.txt.j2",
        include_str!("../../templates/en/ask_which.txt.j2"),
    ),
    (
        "en/confirm.txt.j2",
        include_str!("../../templates/en/confirm.txt.j2"),
    ),
    (
        "en/follow_up.txt.j2",
        include_str!("../../templates/en/follow_up.txt.j2"),
    ),
    (
        "en/lapsed.txt.j2",
        include_str!("../../templates/en/lapsed.txt.j2"),
    ),
    (
        "en/cancelled.txt.j2",
        include_str!("../../templates/en/cancelled.txt.j2"),
    ),
    (
        "en/reminder.txt.j2",
        include_str!("../../templates/en/reminder.txt.j2"),
    ),
    (
        "pt/_macros.j2",
        include_str!("../../templates/pt/_macros.j2"),
    ),
    (
        "pt/offer.txt.j2",
        include_str!("../../templates/pt/offer.txt.j2"),
    ),
    (
        "pt/missing.txt.j2",
        include_str!("../../templates/pt/missing.txt.j2"),
    ),
    (
        "pt/ask_which.txt.j2",
        include_str!("../../templates/pt/ask_which.txt.j2"),
    ),
    (
        "pt/confirm.txt.j2",
        include_str!("../../templates/pt/confirm.txt.j2"),
    ),
    (
        "pt/follow_up.txt.j2",
        include_str!("../../templates/pt/follow_up.txt.j2"),
    ),
    (
        "pt/lapsed.txt.j2",
        include_str!("../../templates/pt/lapsed.txt.j2"),
    ),
    (
        "pt/cancelled.txt.j2",
        include_str!("../../templates/pt/cancelled.txt.j2"),
    ),
    (
        "pt/reminder.txt.j2",
        include_str!("../../templates/pt/reminder.txt.j2"),
    ),
    (
        "vi/_macros.j2",
        include_str!("../../templates/vi/_macros.j2"),
    ),
    (
        "vi/offer.txt.j2",
        include_str!("../../templates/vi/offer.txt.j2"),
    ),
    (
        "vi/missing.txt.j2",
        include_str!("../../templates/vi/missing.txt.j2"),
    ),
    (
        "vi/ask_which.txt.j2",
        include_str!("../../templates/vi/ask_which.txt.j2"),
    ),
    (
        "vi/confirm.txt.j2",
        include_str!("../../templates/vi/confirm.txt.j2"),
    ),
    (
        "zh/_macros.j2",
        include_str!("../../templates/zh/_macros.j2"),
    ),
    (
        "zh/offer.txt.j2",
        include_str!("../../templates/zh/offer.txt.j2"),
    ),
    (
        "zh/missing.txt.j2",
        include_str!("../../templates/zh/missing.txt.j2"),
    ),
    (
        "zh/ask_which.txt.j2",
        include_str!("../../templates/zh/ask_which.txt.j2"),
    ),
    (
        "zh/confirm.txt.j2",
        include_str!("../../templates/zh/confirm.txt.j2"),
    ),
    (
        "tl/_macros.j2",
        include_str!("../../templates/tl/_macros.j2"),
    ),
    (
        "tl/offer.txt.j2",
        include_str!("../../templates/tl/offer.txt.j2"),
    ),
    (
        "tl/missing.txt.j2",
        include_str!("../../templates/tl/missing.txt.j2"),
    ),
    (
        "tl/ask_which.txt.j2",
        include_str!("../../templates/tl/ask_which.txt.j2"),
    ),
    (
        "tl/confirm.txt.j2",
        include_str!("../../templates/tl/confirm.txt.j2"),
    ),
    (
        "vi/follow_up.txt.j2",
        include_str!("../../templates/vi/follow_up.txt.j2"),
    ),
    (
        "vi/lapsed.txt.j2",
        include_str!("../../templates/vi/lapsed.txt.j2"),
    ),
    (
        "vi/cancelled.txt.j2",
        include_str!("../../templates/vi/cancelled.txt.j2"),
    ),
    (
        "vi/reminder.txt.j2",
        include_str!("../../templates/vi/reminder.txt.j2"),
    ),
    (
        "zh/follow_up.txt.j2",
        include_str!("../../templates/zh/follow_up.txt.j2"),
    ),
    (
        "zh/lapsed.txt.j2",
        include_str!("../../templates/zh/lapsed.txt.j2"),
    ),
    (
        "zh/cancelled.txt.j2",
        include_str!("../../templates/zh/cancelled.txt.j2"),
    ),
    (
        "zh/reminder.txt.j2",
        include_str!("../../templates/zh/reminder.txt.j2"),
    ),
    (
        "tl/follow_up.txt.j2",
        include_str!("../../templates/tl/follow_up.txt.j2"),
    ),
    (
        "tl/lapsed.txt.j2",
        include_str!("../../templates/tl/lapsed.txt.j2"),
    ),
    (
        "tl/cancelled.txt.j2",
        include_str!("../../templates/tl/cancelled.txt.j2"),
    ),
    (
        "tl/reminder.txt.j2",
        include_str!("../../templates/tl/reminder.txt.j2"),
    ),
    (
        "easy/_macros.j2",
        include_str!("../../templates/easy/_macros.j2"),
    ),
    (
        "easy/offer.txt.j2",
        include_str!("../../templates/easy/offer.txt.j2"),
    ),
    (
        "easy/missing.txt.j2",
        include_str!("../../templates/easy/missing.txt.j2"),
    ),
    (
        "easy/ask_which.txt.j2",
        include_str!("../../templates/easy/ask_which.txt.j2"),
    ),
    (
        "easy/confirm.txt.j2",
        include_str!("../../templates/easy/confirm.txt.j2"),
    ),
];

/// Reference translations of the terms of use, by language.
const TERMS: &[(Lang, &str)] = &[
    (Lang::En, include_str!("../../templates/en/terms.txt")),
    (Lang::Pt, include_str!("../../templates/pt/terms.txt")),
];

/// The reference translation of the terms for `lang` (an office's
/// `templates/{lang}/terms.txt` first), and its attachment's file name.
pub(super) fn terms(lang: Lang, dirs: &[std::path::PathBuf]) -> Option<(String, String)> {
    let own = dirs
        .iter()
        .map(|d| d.join(lang.code()).join("terms.txt"))
        .find(|p| p.is_file())
        .and_then(|p| std::fs::read_to_string(p).ok());
    let text = own.or_else(|| {
        TERMS
            .iter()
            .find(|(l, _)| *l == lang)
            .map(|(_, t)| t.to_string())
    })?;
    Some((format!("利用規約_参考訳_{}.txt", lang.code()), text))
}

/// Between the seeker's language and the Japanese.
pub(super) const SEPARATOR: &str =
    "――――――――――――――――――――\n以下は日本語の本文です（こちらが正式な文面です）。\n――――――――――――――――――――\n";
