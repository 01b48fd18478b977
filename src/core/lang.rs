//! Which language a seeker writes in (issue 27): from the script, then
//! from common words. Small on purpose: six languages that differ in
//! script or in their most frequent words, read from a few lines.

use serde::{Deserialize, Serialize};

/// The languages the desk reads and answers in.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Lang {
    Ja,
    En,
    Pt,
    Vi,
    Zh,
    Tl,
    /// やさしい日本語: for seekers whose language we do not have.
    Easy,
}

impl Lang {
    pub const ALL: [Lang; 7] = [
        Lang::Ja,
        Lang::En,
        Lang::Pt,
        Lang::Vi,
        Lang::Zh,
        Lang::Tl,
        Lang::Easy,
    ];

    /// The folder of its templates (`templates/pt/…`) and its code in data.
    pub fn code(self) -> &'static str {
        match self {
            Lang::Ja => "ja",
            Lang::En => "en",
            Lang::Pt => "pt",
            Lang::Vi => "vi",
            Lang::Zh => "zh",
            Lang::Tl => "tl",
            Lang::Easy => "easy",
        }
    }

    pub fn from_code(code: &str) -> Option<Lang> {
        Lang::ALL.into_iter().find(|l| l.code() == code)
    }

    /// Its name in Japanese, for staff.
    pub fn label(self) -> &'static str {
        match self {
            Lang::Ja => "日本語",
            Lang::En => "英語",
            Lang::Pt => "ポルトガル語",
            Lang::Vi => "ベトナム語",
            Lang::Zh => "中国語",
            Lang::Tl => "タガログ語",
            Lang::Easy => "やさしい日本語",
        }
    }
}

/// Frequent words of each Latin-script language (lowercase, whole words).
const WORDS: [(Lang, &[&str]); 3] = [
    (
        Lang::En,
        &[
            "the",
            "and",
            "is",
            "i",
            "my",
            "to",
            "would",
            "like",
            "please",
            "thank",
            "you",
            "for",
            "on",
            "at",
            "number",
            "phone",
            "name",
            "date",
            "with",
            "book",
            "appointment",
            "hello",
            "dear",
            "regards",
            "want",
            "one",
            "second",
            "first",
            "ok",
            "yes",
            "cancel",
            "can",
            "sorry",
            "have",
            "could",
            "any",
            "of",
            "them",
            "fine",
            "works",
            "me",
            "it",
        ],
    ),
    (
        Lang::Pt,
        &[
            "o",
            "a",
            "de",
            "do",
            "da",
            "que",
            "e",
            "é",
            "eu",
            "meu",
            "minha",
            "para",
            "por",
            "favor",
            "obrigado",
            "obrigada",
            "nome",
            "número",
            "telefone",
            "dia",
            "às",
            "gostaria",
            "olá",
            "bom",
            "boa",
            "tarde",
            "com",
            "não",
            "sim",
            "opção",
            "quero",
            "agendar",
            "atendimento",
            "segunda",
            "terça",
            "quarta",
            "quinta",
            "sexta",
            "dezembro",
            "janeiro",
            "qualquer",
            "tanto",
            "faz",
            "um",
            "uma",
            "pode",
            "preciso",
            "desculpe",
            "serve",
            "agendamento",
            "remarcar",
            "cancelar",
            "outro",
        ],
    ),
    (
        Lang::Tl,
        &[
            "ang",
            "ng",
            "sa",
            "ako",
            "ko",
            "po",
            "na",
            "mga",
            "si",
            "ni",
            "ay",
            "salamat",
            "pangalan",
            "numero",
            "gusto",
            "magpa",
            "nais",
            "opo",
            "oo",
            "hindi",
            "yung",
            "iyong",
            "alas",
            "hapon",
            "umaga",
            "lunes",
            "martes",
            "miyerkules",
            "huwebes",
            "biyernes",
            "disyembre",
            "enero",
            "pangalawa",
            "una",
            "pakiusap",
            "telepono",
            "petsa",
            "pasensya",
            "kailangan",
            "kong",
            "lang",
            "rin",
            "din",
        ],
    ),
];

/// Letters only Vietnamese uses among our languages.
fn vietnamese_letter(c: char) -> bool {
    matches!(c, 'ă' | 'Ă' | 'đ' | 'Đ' | 'ơ' | 'Ơ' | 'ư' | 'Ư')
        || ('\u{1EA0}'..='\u{1EF9}').contains(&c)
}

/// Characters of Chinese (simplified forms, and words of both scripts)
/// that Japanese does not write.
const CHINESE_ONLY: &str = "您吗嗎呢谢謝们們这這个個號码碼预约时间话请咨询諮詢电职业线说說给給没沒还還么麼哪吧买卖书为对过实现发关门问题让认识样进";

fn chinese_marks(text: &str) -> usize {
    text.chars().filter(|c| CHINESE_ONLY.contains(*c)).count()
}

/// The language `text` is written in; `None` when it holds too little to
/// tell (a bare "2", an empty reply).
pub fn detect(text: &str) -> Option<Lang> {
    let (mut kana, mut han, mut latin, mut viet, mut other) = (0, 0, 0, 0, 0usize);
    for c in text.chars() {
        match c {
            '\u{3040}'..='\u{30FF}' => kana += 1,
            '\u{4E00}'..='\u{9FFF}' | '\u{3400}'..='\u{4DBF}' => han += 1,
            c if c.is_alphabetic() && (c.is_ascii() || ('\u{00C0}'..='\u{024F}').contains(&c)) => {
                latin += 1
            }
            c if vietnamese_letter(c) => {
                viet += 1;
                latin += 1;
            }
            c if c.is_alphabetic() => other += 1,
            _ => {}
        }
    }
    // Japanese always has kana; a few kana among much Latin text are a
    // name or a signature, not the language of the mail.
    if kana >= 2 && kana * 3 >= latin {
        return Some(Lang::Ja);
    }
    // Kanji alone is not Chinese: a Japanese form (氏名：… 求職番号：…
    // 希望日時：…) may hold no kana at all. Chinese shows in characters
    // Japanese does not write.
    if han >= 2 && han * 2 >= latin {
        return (chinese_marks(text) >= 2).then_some(Lang::Zh);
    }
    if viet >= 2 {
        return Some(Lang::Vi);
    }
    // Another script (Hangul, Devanagari, Thai, Myanmar …): a language we
    // do not have; simple Japanese is the best we can write.
    if other >= 4 && other >= latin {
        return Some(Lang::Easy);
    }
    if latin < 6 {
        return None;
    }
    let lower = text.to_lowercase();
    let words: Vec<&str> = lower
        .split(|c: char| !c.is_alphabetic() && c != '-')
        .filter(|w| !w.is_empty())
        .collect();
    let score = |list: &[&str]| words.iter().filter(|w| list.contains(w)).count();
    let best = WORDS
        .iter()
        .map(|(lang, list)| (*lang, score(list)))
        .max_by_key(|(_, s)| *s)?;
    // One common word is not enough to tell ("OK, arigatou"); Latin text
    // with none of our languages' words (Spanish, Indonesian, romaji …)
    // gets simple Japanese.
    if best.1 >= 2 || (best.1 == 1 && words.len() <= 3) {
        Some(best.0)
    } else if latin >= 12 {
        Some(Lang::Easy)
    } else {
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_language_is_told_apart() {
        let cases = [
            ("予約をお願いします", Lang::Ja),
            ("よやく おねがい します", Lang::Ja),
            (
                "Olá, gostaria de agendar um atendimento na quinta-feira",
                Lang::Pt,
            ),
            (
                "Hello, I would like to book an appointment on Thursday",
                Lang::En,
            ),
            ("Xin chào, tôi muốn đặt lịch tư vấn vào thứ Năm", Lang::Vi),
            ("您好，我想预约12月10日（星期四）下午1点半的咨询", Lang::Zh),
            (
                "Magandang araw po, gusto ko pong magpa-schedule sa Huwebes",
                Lang::Tl,
            ),
            ("Obrigado, opção 2 por favor", Lang::Pt),
            ("The second one please", Lang::En),
        ];
        for (text, want) in cases {
            assert_eq!(detect(text), Some(want), "{text}");
        }
        assert_eq!(detect("2"), None);
        // A Japanese form in kanji only is not Chinese.
        assert_eq!(
            detect("氏名:佐藤 一郎\n求職番号:32010 11112222\n希望日時:12/3 11:00\n電話番号:08011112222"),
            None
        );
        assert_eq!(
            detect("안녕하세요. 12월 10일 상담 예약을 하고 싶습니다."),
            Some(Lang::Easy)
        );
        assert_eq!(
            detect("नमस्ते, म परामर्शको लागि समय लिन चाहन्छु"),
            Some(Lang::Easy)
        );
        assert_eq!(detect(""), None);
    }

    #[test]
    fn a_japanese_name_in_a_portuguese_mail_is_portuguese() {
        let text = "Olá, meu nome é Silva Tanaka (タナカ). Gostaria de agendar para dia 10 de dezembro às 13h30, por favor.";
        assert_eq!(detect(text), Some(Lang::Pt));
    }
}
