//! Requests and replies in Portuguese, English, Vietnamese, Chinese and
//! Tagalog (issue 27), rewritten into the forms the Japanese reader already
//! understands: labels (Nome → 氏名), dates ("10 de dezembro" → 12月10日,
//! day-first 10/12 where the language writes so), times ("às 13h30",
//! "1:30 pm", "13 giờ 30", "下午1点半", "alas-1:30 ng hapon" → 13:30),
//! weekdays, option choices ("opção 2", "the second one" → 2番), and the
//! words for agreeing, cancelling and moving. One reader, one set of
//! rules; only the words differ.

use crate::core::lang::{detect, Lang};
use regex::{Captures, Regex};
use std::borrow::Cow;
use std::sync::LazyLock;

/// `text` in the reader's forms when it is written in another language.
pub fn reader_form(text: &str) -> Cow<'_, str> {
    match detect(text) {
        None | Some(Lang::Ja) | Some(Lang::Easy) => Cow::Borrowed(text),
        Some(lang) => Cow::Owned(rewrite(text, lang)),
    }
}

const MONTHS: [(&str, u32); 36] = [
    ("january", 1),
    ("february", 2),
    ("march", 3),
    ("april", 4),
    ("may", 5),
    ("june", 6),
    ("july", 7),
    ("august", 8),
    ("september", 9),
    ("october", 10),
    ("november", 11),
    ("december", 12),
    ("janeiro", 1),
    ("fevereiro", 2),
    ("março", 3),
    ("abril", 4),
    ("maio", 5),
    ("junho", 6),
    ("julho", 7),
    ("agosto", 8),
    ("setembro", 9),
    ("outubro", 10),
    ("novembro", 11),
    ("dezembro", 12),
    ("enero", 1),
    ("pebrero", 2),
    ("marso", 3),
    ("abril", 4),
    ("mayo", 5),
    ("hunyo", 6),
    ("hulyo", 7),
    ("agosto", 8),
    ("setyembre", 9),
    ("oktubre", 10),
    ("nobyembre", 11),
    ("disyembre", 12),
];

fn month_number(word: &str) -> Option<u32> {
    let w = word.to_lowercase();
    let w = w.trim_end_matches('.');
    MONTHS
        .iter()
        .find(|(name, _)| *name == w || (w.len() >= 3 && name.starts_with(w) && w != "mar"))
        .map(|(_, n)| *n)
        .or(match w {
            "mar" => Some(3),
            _ => None,
        })
}

static MONTH_WORD: &str = r"(?:jan(?:uary|eiro)?|feb(?:ruary)?|fev(?:ereiro)?|mar(?:ch|ço|so)?|apr(?:il)?|abr(?:il)?|may|maio|mayo|jun(?:e|ho)?|hunyo|jul(?:y|ho)?|hulyo|aug(?:ust)?|ago(?:sto)?|sep(?:t|tember)?|set(?:embro)?|setyembre|oct(?:ober)?|out(?:ubro)?|oktubre|nov(?:ember|embro)?|nobyembre|dec(?:ember)?|dez(?:embro)?|disyembre|enero|pebrero)";

/// "10 de dezembro", "10 Dec", "10th of December", "Dec 10", "December 10th", "Disyembre 10".
static NAMED_DATE: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(&format!(
        r"(?i)\b(?:(?P<d1>\d{{1,2}})(?:st|nd|rd|th)?\s*(?:de\s+|of\s+)?(?P<m1>{MONTH_WORD})\b\.?|(?P<m2>{MONTH_WORD})\b\.?\s*(?P<d2>\d{{1,2}})(?:st|nd|rd|th)?\b)(?:,?\s*(?:de\s+)?(?P<y>20\d\d))?"
    ))
    .expect("named date regex")
});

/// Day-first numeric dates (10/12, 10/12/2026), for the languages that write them so.
static DAY_FIRST: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"\b(?P<d>\d{1,2})/(?P<m>\d{1,2})(?:/(?P<y>(?:20)?\d\d))?\b")
        .expect("day first regex")
});

/// "ngày 10 tháng 12 (năm 2026)".
static VI_DATE: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(
        r"(?i)(?:ngày\s*)?(?P<d>\d{1,2})\s*tháng\s*(?P<m>\d{1,2})(?:\s*năm\s*(?P<y>20\d\d))?",
    )
    .expect("vi date regex")
});

fn ymd(y: Option<&str>, m: u32, d: &str) -> String {
    match y {
        Some(y) if y.len() == 4 => format!("{y}年{m}月{d}日"),
        _ => format!("{m}月{d}日"),
    }
}

/// Times: "13h30", "às 13h", "1:30 pm", "1pm", "13 giờ 30", "1 giờ chiều",
/// "alas-1:30 ng hapon", with the language's words for the afternoon.
static TIME: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(
        r"(?ix)
        (?:\b(?:às|as|at|lúc|alas-?|alas[\ \t]+|around|por[\ \t]+volta[\ \t]+das)[\ \t]*)?
        (?P<h>\d{1,2})
        (?:
            [\ \t]*[:.h][\ \t]*(?P<m>\d{2})
          | [\ \t]*(?P<gio>giờ|gio)[\ \t]*(?:(?P<vm>\d{1,2})[\ \t]*(?:phút)?|(?P<half>rưỡi))?
          | (?P<hh>[\ \t]*h)\b
        )?
        [\ \t]*(?P<ampm>am\b|a\.m\.|pm\b|p\.m\.|o'clock|da[\ \t]+tarde|da[\ \t]+manhã|ng[\ \t]+hapon|ng[\ \t]+umaga|ng[\ \t]+tanghali|chiều|sáng|tối)?",
    )
    .expect("time regex")
});

fn time(c: &Captures<'_>) -> String {
    // A number alone is not a time.
    if ["m", "gio", "hh", "ampm"]
        .iter()
        .all(|g| c.name(g).is_none())
    {
        return c[0].to_string();
    }
    let mut h: u32 = c["h"].parse().unwrap_or(0);
    let m: u32 = c
        .name("m")
        .or(c.name("vm"))
        .and_then(|m| m.as_str().parse().ok())
        .unwrap_or(if c.name("half").is_some() { 30 } else { 0 });
    let pm = c.name("ampm").is_some_and(|a| {
        let a = a.as_str().to_lowercase();
        a.starts_with('p')
            || a.contains("tarde")
            || a.contains("hapon")
            || a == "chiều"
            || a == "tối"
    });
    if pm && h < 12 {
        h += 12;
    }
    if h > 23 || m > 59 {
        return c[0].to_string();
    }
    format!(" {h}:{m:02} ")
}

/// Weekday words of each language, as the reader's 月曜日 ….
const WEEKDAYS: [(&str, &str); 7] = [
    (
        r"monday|mon\.?|segunda-feira|segunda feira|lunes|thứ\s*hai|星期一|周一|週一|礼拜一|禮拜一",
        "月",
    ),
    (
        r"tuesday|tue\.?|tues\.?|terça-feira|terça feira|terça|martes|thứ\s*ba|星期二|周二|週二|礼拜二|禮拜二",
        "火",
    ),
    (
        r"wednesday|wed\.?|quarta-feira|quarta feira|quarta|miyerkules|thứ\s*tư|星期三|周三|週三|礼拜三|禮拜三",
        "水",
    ),
    (
        r"thursday|thu\.?|thur\.?|thurs\.?|quinta-feira|quinta feira|quinta|huwebes|thứ\s*năm|星期四|周四|週四|礼拜四|禮拜四",
        "木",
    ),
    (
        r"friday|fri\.?|sexta-feira|sexta feira|sexta|biyernes|thứ\s*sáu|星期五|周五|週五|礼拜五|禮拜五",
        "金",
    ),
    (
        r"saturday|sat\.?|sábado|sabado|thứ\s*bảy|星期六|周六|週六|礼拜六|禮拜六",
        "土",
    ),
    (
        r"sunday|sun\.?|domingo|linggo|chủ\s*nhật|星期日|星期天|周日|週日|礼拜天|禮拜天",
        "日",
    ),
];

static WEEKDAY: LazyLock<Vec<(Regex, &'static str)>> = LazyLock::new(|| {
    WEEKDAYS
        .iter()
        .filter_map(|(words, day)| {
            Regex::new(&format!(
                r"(?i)(?:^|\b|(?P<cjk>[\p{{Han}}]))(?:{words})(?:\b|$)"
            ))
            .ok()
            .map(|r| (r, *day))
        })
        .collect()
});

const PORTUGUESE: &[(&str, &str)] = &[
    (
        r"(?:meu\s+nome\s+é|me\s+chamo|eu\s+sou\s+(?:o|a))\s+(\p{L}[\p{L} '.-]{1,40}?)[ \t]*(?:[,.;\n]|$)",
        "\n氏名: ${1}\n",
    ),
    (r"(?m)^\s*nome(?:\s+completo)?\s*[:：]", "氏名:"),
    (
        r"(?m)^\s*(?:n[º°o]\.?\s*(?:de\s+)?(?:registro|inscrição)|número\s+(?:de\s+)?(?:registro|inscrição|candidato|do\s+candidato|hello\s*work|de\s+busca\s+de\s+emprego)|registro(?:\s+hello\s*work)?)\s*[:：]",
        "求職番号:",
    ),
    (
        r"(?m)^\s*(?:telefone(?:\s+cadastrado)?|celular|tel\.?|fone)\s*[:：]",
        "電話番号:",
    ),
    (r"(?m)^\s*e-?mail\s*[:：]", "メール:"),
    (
        r"(?m)^\s*(?:data(?:\s+e\s+hor[aá]rio)?(?:\s+desejad[ao]s?)?|hor[aá]rio(?:\s+desejado)?|dia\s+desejado|data\s+preferida)\s*[:：]",
        "希望日時:",
    ),
    (r"\bopç(?:ão|ao)\s*(?:n[º°o]\.?\s*)?(\d)", " ${1}番 "),
    (
        r"\b(?:a\s+|o\s+)?primeir[ao](?:\s+opç(?:ão|ao))?\b",
        " 1番 ",
    ),
    (
        r"\b(?:a\s+|o\s+)?segund[ao]\s+opç(?:ão|ao)\b|\ba\s+segunda\b(?:\s*(?:,|\.|$|por favor))",
        " 2番 ",
    ),
    (
        r"\b(?:a\s+|o\s+)?terceir[ao](?:\s+opç(?:ão|ao))?\b",
        " 3番 ",
    ),
    (r"\b(?:a\s+|o\s+)?últim[ao](?:\s+opç(?:ão|ao))?\b", " 最後 "),
    (
        r"\bqualquer\s+(?:uma|um|dia|hor[aá]rio|opç(?:ão|ao))\b|\btanto\s+faz\b|\bas\s+duas\b",
        " どちらでも大丈夫 ",
    ),
    (
        r"\b(?:remarcar|reagendar|mudar\s+(?:a\s+data|o\s+hor[aá]rio|o\s+dia)|alterar\s+(?:a\s+data|o\s+hor[aá]rio|o\s+dia)|trocar\s+(?:a\s+data|o\s+dia|o\s+hor[aá]rio)|outro\s+dia)\b",
        " 日程を変更 ",
    ),
    (
        r"\b(?:cancelar|cancelamento|desmarcar|não\s+(?:vou\s+)?(?:poder|posso)\s+(?:ir|comparecer|participar))\b",
        " キャンセル ",
    ),
    (r"\b(?:amanhã|amanha)\b", " 明日 "),
    (r"\bhoje\b", " 今日 "),
    (r"\bpróxima\s+semana\b|\bproxima\s+semana\b", " 来週 "),
    (
        r"\b(?:concordo|pode\s+ser|confirmo|tudo\s+bem|está\s+bem)\b",
        " お願いします ",
    ),
    // An interpreter (第12条(3)); "not needed" first, as the reader words it.
    (
        r"\bn[ãa]o\s+(?:preciso|precisa|necessito)\s+de\s+(?:um\s+|uma\s+)?(?:int[ée]rprete|tradutor)|\bsem\s+int[ée]rprete",
        " 通訳は不要 ",
    ),
    (r"\bint[ée]rprete\b|\btradutora?\b", " 通訳 "),
    // A day the seeker cannot come ("Dia 4 não posso"): the reader's negation.
    (
        r"\bn[ãa]o\s+(?:posso|consigo|d[áa]|vou\s+poder)\b",
        " 無理です ",
    ),
    // "dia 4" left after the full dates were read: the 4th.
    (r"\bdia\s+(\d{1,2})([^/\d.:h]|$)", " ${1}日 ${2}"),
    // A sentence's full stop ends a clause for the reader's negation scope.
    (r"\.(\s|$)", "。${1}"),
];

const ENGLISH: &[(&str, &str)] = &[
    (
        r"(?-i:[Mm]y name is|I am|I'm)\s+((?-i:\p{Lu}[\p{L}'.-]*(?:[ \t]+\p{Lu}[\p{L}'.-]*){0,3}))",
        "\n氏名: ${1}\n",
    ),
    (r"(?m)^\s*(?:full\s+)?name\s*[:：]", "氏名:"),
    (
        r"(?m)^\s*(?:job\s*-?\s*seeker(?:'s)?|jobseeker|hello\s*work|registration|applicant)\s*(?:number|no\.?|id|#)\s*[:：]",
        "求職番号:",
    ),
    (
        r"(?m)^\s*(?:registered\s+)?(?:phone(?:\s+number)?|tel\.?|telephone|mobile)\s*[:：]",
        "電話番号:",
    ),
    (r"(?m)^\s*e-?mail(?:\s+address)?\s*[:：]", "メール:"),
    (
        r"(?m)^\s*(?:preferred|desired|wished|requested)?\s*(?:date(?:\s+and\s+time)?|time|slot|day)s?\s*[:：]",
        "希望日時:",
    ),
    (
        r"\b(?:option|number|no\.?|choice|slot)\s*#?\s*(\d)\b|#(\d)\b",
        " ${1}${2}番 ",
    ),
    (
        r"\bthe\s+first(?:\s+one|\s+option)?\b|\bfirst\s+one\b",
        " 1番 ",
    ),
    (
        r"\bthe\s+second(?:\s+one|\s+option)?\b|\bsecond\s+one\b",
        " 2番 ",
    ),
    (
        r"\bthe\s+third(?:\s+one|\s+option)?\b|\bthird\s+one\b",
        " 3番 ",
    ),
    (r"\bthe\s+last(?:\s+one|\s+option)?\b", " 最後 "),
    (
        r"\beither(?:\s+one)?\s+(?:is\s+fine|works|is\s+ok|is\s+okay)\b|\bany\s+(?:of\s+them|time|day|option|one)\s+(?:is\s+fine|works|is\s+ok)\b|\bboth\s+(?:are\s+fine|work|are\s+ok)\b",
        " どちらでも大丈夫 ",
    ),
    (
        r"\b(?:reschedule|re-schedule|change\s+(?:the|my)\s+(?:date|time|appointment|booking)|move\s+(?:it|my\s+appointment|the\s+appointment)|(?:another|a\s+different)\s+(?:day|date|time))\b",
        " 日程を変更 ",
    ),
    (
        r"\b(?:cancel|can't\s+(?:make\s+it|come|attend)|cannot\s+(?:make\s+it|come|attend)|won't\s+be\s+able\s+to\s+(?:come|attend|make\s+it))\b",
        " キャンセル ",
    ),
    (r"\btomorrow\b", " 明日 "),
    (r"\btoday\b", " 今日 "),
    (r"\bnext\s+week\b", " 来週 "),
    (
        r"\b(?:i\s+agree|sounds\s+good|that's\s+fine|that\s+is\s+fine|ok|okay|yes|confirm)\b",
        " お願いします ",
    ),
    (
        r"\b(?:don't|do\s+not|won't)\s+need\s+(?:an\s+)?interpreter|\bwithout\s+(?:an\s+)?interpreter|\bno\s+interpreter",
        " 通訳は不要 ",
    ),
    (r"\binterpreter\b|\btranslator\b", " 通訳 "),
    (
        r"\b(?:I\s+am|I'm)\s+not\s+available\b|\bis\s+not\s+possible\b",
        " 無理です ",
    ),
    // A sentence's full stop ends a clause for the reader's negation scope.
    (r"\.(\s|$)", "。${1}"),
];

const VIETNAMESE: &[(&str, &str)] = &[
    (
        r"(?:tôi\s+tên\s+là|tên\s+tôi\s+là|tôi\s+là)\s+(\p{L}[\p{L} ]{1,40}?)[ \t]*(?:[,.;\n]|$)",
        "\n氏名: ${1}\n",
    ),
    (r"(?m)^\s*(?:họ\s+(?:và\s+)?tên|tên)\s*[:：]", "氏名:"),
    (
        r"(?m)^\s*(?:số\s+đăng\s+ký(?:\s+tìm\s+việc)?|mã\s+số(?:\s+tìm\s+việc)?|số\s+(?:hồ\s+sơ\s+)?tìm\s+việc)\s*[:：]",
        "求職番号:",
    ),
    (
        r"(?m)^\s*(?:số\s+điện\s+thoại|điện\s+thoại|sđt)\s*[:：]",
        "電話番号:",
    ),
    (
        r"(?m)^\s*(?:ngày\s+giờ(?:\s+mong\s+muốn)?|thời\s+gian(?:\s+mong\s+muốn)?|ngày\s+(?:hẹn|mong\s+muốn))\s*[:：]",
        "希望日時:",
    ),
    (
        r"(?:chọn|lựa\s+chọn|phương\s+án|số)\s*(?:số\s*)?(\d)\b",
        " ${1}番 ",
    ),
    (
        r"(?:cái|lựa\s+chọn|phương\s+án)\s+(?:thứ\s+nhất|đầu\s+tiên)",
        " 1番 ",
    ),
    (r"(?:cái|lựa\s+chọn|phương\s+án)\s+thứ\s+hai", " 2番 "),
    (r"(?:cái|lựa\s+chọn|phương\s+án)\s+thứ\s+ba", " 3番 "),
    (
        r"cái\s+nào\s+cũng\s+được|ngày\s+nào\s+cũng\s+được|cả\s+hai\s+đều\s+được",
        " どちらでも大丈夫 ",
    ),
    (
        r"(?:đổi|dời|thay\s+đổi)\s+(?:ngày|lịch|giờ|thời\s+gian)|hẹn\s+lại",
        " 日程を変更 ",
    ),
    (r"hủy|huỷ|không\s+thể\s+(?:đến|tham\s+gia)", " キャンセル "),
    (r"ngày\s+mai", " 明日 "),
    (r"hôm\s+nay", " 今日 "),
    (r"tuần\s+sau", " 来週 "),
    (r"đồng\s+ý|vâng|được\s+ạ", " お願いします "),
    (
        r"không\s+cần\s+(?:người\s+)?(?:phiên|thông)\s+dịch",
        " 通訳は不要 ",
    ),
    (r"(?:phiên|thông)\s+dịch", " 通訳 "),
    // A sentence's full stop ends a clause for the reader's negation scope.
    (r"\.(\s|$)", "。${1}"),
];

const CHINESE: &[(&str, &str)] = &[
    (r"(?:我叫|我是|我的名字是)(\p{Han}{2,4})", "\n氏名: ${1}\n"),
    (r"姓名|名字", "氏名"),
    (
        r"求职(?:者)?(?:号码|编号|號碼|號)|求職(?:者)?(?:號碼|編號|号码)|登记号码|登記號碼",
        "求職番号",
    ),
    (
        r"手机(?:号码)?|手機(?:號碼)?|电话(?:号码)?|電話號碼",
        "電話番号",
    ),
    (r"电子邮件|電子郵件|邮箱|郵箱", "メール"),
    (
        r"希望(?:的)?(?:日期|时间|時間)(?:和时间|與時間)?|预约(?:日期|时间)|預約(?:日期|時間)",
        "希望日時",
    ),
    (r"(\d{1,2})\s*[号號]", "${1}日"),
    (r"下午|晚上", "午後"),
    (r"上午|早上", "午前"),
    (r"(\d{1,2})\s*[点點]\s*半", "${1}時半"),
    (r"(\d{1,2})\s*[点點]\s*(\d{1,2})\s*分?", "${1}時${2}分"),
    (r"(\d{1,2})\s*[点點]", "${1}時"),
    (
        r"(?:选|選|选择|選擇)?第\s*([一二三1-3])\s*[个個项項]",
        "${1}番",
    ),
    (r"(?:选|選|选择|選擇|选项|選項)\s*(\d)", "${1}番"),
    (
        r"哪(?:个|個|天)都(?:可以|行)|两(?:个|天)都(?:可以|行)|兩(?:個|天)都(?:可以|行)|都可以",
        "どちらでも大丈夫",
    ),
    (
        r"改期|更改|改到|换(?:个|一个)?时间|換(?:個|一個)?時間|改时间|改時間",
        "日程を変更",
    ),
    (r"取消", "キャンセル"),
    (r"明天", "明日"),
    (r"今天", "今日"),
    (r"下周|下週|下个星期|下個星期", "来週"),
    (r"同意|好的|没问题|沒問題", "お願いします"),
    (r"不(?:需要|用)(?:翻译|翻譯|口译|口譯)", "通訳は不要"),
    (r"翻译|翻譯|口译|口譯", "通訳"),
];

const TAGALOG: &[(&str, &str)] = &[
    (
        r"(?:ako\s+(?:po\s+)?si|ang\s+pangalan\s+ko\s+(?:po\s+)?ay)\s+(\p{L}[\p{L} '.-]{1,40}?)[ \t]*(?:[,.;\n]|$)",
        "\n氏名: ${1}\n",
    ),
    (r"(?m)^\s*(?:buong\s+)?pangalan\s*[:：]", "氏名:"),
    (
        r"(?m)^\s*(?:numero\s+ng\s+(?:job\s*seeker|aplikante|rehistro)|job\s*seeker\s*(?:number|no\.?)|(?:registration|rehistro)\s*(?:no\.?|number|numero))\s*[:：]",
        "求職番号:",
    ),
    (
        r"(?m)^\s*(?:numero\s+ng\s+telepono|telepono|cellphone|cp|phone)\s*[:：]",
        "電話番号:",
    ),
    (r"(?m)^\s*e-?mail\s*[:：]", "メール:"),
    (
        r"(?m)^\s*(?:petsa(?:\s+at\s+oras)?|oras|gustong\s+petsa)\s*[:：]",
        "希望日時:",
    ),
    (r"\b(?:opsyon|numero|option)\s*(\d)\b", " ${1}番 "),
    (r"\b(?:yung|iyong|ang)?\s*(?:pangalawa|ikalawa)\b", " 2番 "),
    (r"\b(?:yung|iyong|ang)\s+(?:una|unang)\b", " 1番 "),
    (r"\b(?:yung|iyong|ang)?\s*(?:pangatlo|ikatlo)\b", " 3番 "),
    (r"\bkahit\s+(?:alin|ano|kailan)\b", " どちらでも大丈夫 "),
    (
        r"\b(?:i-?reschedule|reschedule|ilipat|palitan\s+ang\s+(?:petsa|oras|schedule))\b",
        " 日程を変更 ",
    ),
    (
        r"\b(?:kanselahin|i-?cancel|cancel|hindi\s+(?:po\s+)?(?:ako\s+)?(?:makakapunta|makakarating|makakadalo))\b",
        " キャンセル ",
    ),
    (r"\bbukas\b", " 明日 "),
    (r"\bngayon\b", " 今日 "),
    (r"\bsusunod\s+na\s+linggo\b", " 来週 "),
    (r"\b(?:sige|opo|payag\s+ako|ok)\b", " お願いします "),
    (
        r"\bhindi\s+(?:ko\s+|po\s+)*kailangan\s+(?:ng\s+)?(?:interpreter|tagasalin)",
        " 通訳は不要 ",
    ),
    (r"\binterpreter\b|\btagasalin\b", " 通訳 "),
    // A sentence's full stop ends a clause for the reader's negation scope.
    (r"\.(\s|$)", "。${1}"),
];

/// Phrases to reader words, per language (tried in order, case-insensitive).
fn phrases(lang: Lang) -> &'static [(&'static str, &'static str)] {
    match lang {
        Lang::Pt => PORTUGUESE,
        Lang::En => ENGLISH,
        Lang::Vi => VIETNAMESE,
        Lang::Zh => CHINESE,
        Lang::Tl => TAGALOG,
        Lang::Ja | Lang::Easy => &[],
    }
}

/// One language's phrases, compiled.
type Phrases = Vec<(Regex, &'static str)>;

static PHRASES: LazyLock<Vec<(Lang, Phrases)>> = LazyLock::new(|| {
    Lang::ALL
        .iter()
        .map(|&lang| {
            let list = phrases(lang)
                .iter()
                .filter_map(|(p, r)| Regex::new(&format!("(?i){p}")).ok().map(|re| (re, *r)))
                .collect();
            (lang, list)
        })
        .collect()
});

/// `text` in `lang`, rewritten into the reader's forms.
pub fn rewrite(text: &str, lang: Lang) -> String {
    let mut out = text.to_string();
    if let Some((_, list)) = PHRASES.iter().find(|(l, _)| *l == lang) {
        for (re, with) in list {
            out = re.replace_all(&out, *with).into_owned();
        }
    }
    out = NAMED_DATE
        .replace_all(&out, |c: &Captures<'_>| {
            let month = c
                .name("m1")
                .or(c.name("m2"))
                .and_then(|m| month_number(m.as_str()));
            let day = c.name("d1").or(c.name("d2")).map(|d| d.as_str());
            match (month, day) {
                (Some(m), Some(d)) => format!(" {} ", ymd(c.name("y").map(|y| y.as_str()), m, d)),
                _ => c[0].to_string(),
            }
        })
        .into_owned();
    if lang == Lang::Vi {
        out = VI_DATE
            .replace_all(&out, |c: &Captures<'_>| {
                let m: u32 = c["m"].parse().unwrap_or(0);
                format!(" {} ", ymd(c.name("y").map(|y| y.as_str()), m, &c["d"]))
            })
            .into_owned();
    }
    if matches!(lang, Lang::Pt | Lang::Vi) {
        // These write the day first: 10/12 is the 10th of December.
        out = DAY_FIRST
            .replace_all(&out, |c: &Captures<'_>| {
                let m: u32 = c["m"].parse().unwrap_or(0);
                let y = c.name("y").map(|y| y.as_str());
                let y4 = y.map(|y| {
                    if y.len() == 2 {
                        format!("20{y}")
                    } else {
                        y.to_string()
                    }
                });
                format!(" {} ", ymd(y4.as_deref(), m, &c["d"]))
            })
            .into_owned();
    }
    if lang != Lang::Zh {
        out = TIME
            .replace_all(&out, |c: &Captures<'_>| time(c))
            .into_owned();
    }
    for (re, day) in WEEKDAY.iter() {
        out = re
            .replace_all(&out, |c: &Captures<'_>| {
                let cjk = c.name("cjk").map_or("", |m| m.as_str());
                format!("{cjk} {day}曜日 ")
            })
            .into_owned();
    }
    // A weekday written before its date names that date (Thu 10 Dec).
    static WEEKDAY_BEFORE_DATE: LazyLock<Regex> = LazyLock::new(|| {
        Regex::new(r"[月火水木金土日]曜日\s*[,、]?\s*((?:\d{4}年)?\d{1,2}月\d{1,2}日)")
            .expect("weekday before date regex")
    });
    WEEKDAY_BEFORE_DATE.replace_all(&out, "$1").into_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dates_and_times_in_each_language() {
        let cases = [
            (
                Lang::Pt,
                "quinta-feira, 10 de dezembro, às 13h30",
                "12月10日",
            ),
            (Lang::Pt, "dia 10/12 às 9h30", "12月10日"),
            (Lang::En, "Thu 10 Dec at 1:30 pm", "12月10日"),
            (Lang::En, "December 10th, 3pm", "12月10日"),
            (Lang::Vi, "ngày 10 tháng 12 lúc 13 giờ 30", "12月10日"),
            (Lang::Zh, "12月10日（星期四）下午1点半", "午後1時半"),
            (
                Lang::Tl,
                "Huwebes, Disyembre 10, alas-1:30 ng hapon",
                "12月10日",
            ),
        ];
        for (lang, text, want) in cases {
            let out = rewrite(text, lang);
            assert!(out.contains(want), "{text} → {out}");
        }
        assert!(rewrite("às 13h30", Lang::Pt).contains("13:30"));
        assert!(rewrite("at 1:30 pm", Lang::En).contains("13:30"));
        assert!(rewrite("lúc 1 giờ chiều", Lang::Vi).contains("13:00"));
        assert!(rewrite("alas-1:30 ng hapon", Lang::Tl).contains("13:30"));
        assert!(!rewrite("Thu 10 Dec", Lang::En).contains("木曜日"));
    }
}

#[cfg(test)]
mod reading_tests {
    use crate::core::calendar::{Calendar, Slot};
    use crate::core::understand::{parse_booked, parse_reply, BookedIntent, ReplyIntent};
    use chrono::{NaiveDate, NaiveTime};

    fn slot(d: u32, h: u32, m: u32) -> Slot {
        Slot::new(
            NaiveDate::from_ymd_opt(2026, 12, d).expect("date"),
            NaiveTime::from_hms_opt(h, m, 0).expect("time"),
        )
    }

    #[test]
    fn choices_agreement_cancel_and_change_in_each_language() {
        let cal = Calendar::standard();
        let today = NaiveDate::from_ymd_opt(2026, 11, 25).expect("date");
        let offered = [slot(3, 11, 0), slot(3, 13, 30), slot(4, 9, 30)];
        let choices = [
            ("Opção 2, por favor.", ReplyIntent::Choose(2)),
            ("Quero a segunda opção, obrigado.", ReplyIntent::Choose(2)),
            ("The second one please, thank you.", ReplyIntent::Choose(2)),
            ("Option 3 works for me, thanks.", ReplyIntent::Choose(3)),
            ("Tôi chọn 2, cảm ơn.", ReplyIntent::Choose(2)),
            ("我选第二个，谢谢。", ReplyIntent::Choose(2)),
            ("選第二個，謝謝。", ReplyIntent::Choose(2)),
            ("Yung pangalawa po, salamat.", ReplyIntent::Choose(2)),
            ("Any of them is fine, thank you.", ReplyIntent::Choose(1)),
            ("Tanto faz, qualquer um serve.", ReplyIntent::Choose(1)),
            ("哪个都可以，谢谢。", ReplyIntent::Choose(1)),
            (
                "quinta-feira, 3 de dezembro às 13h30, por favor",
                ReplyIntent::Choose(2),
            ),
            ("Thu 3 Dec at 1:30 pm please", ReplyIntent::Choose(2)),
        ];
        for (text, want) in choices {
            assert_eq!(parse_reply(text, &offered, today, &cal), want, "{text}");
        }
        let booked = Some(slot(3, 11, 0));
        let about_booking = [
            (
                "Preciso cancelar o agendamento, desculpe.",
                BookedIntent::Cancel,
            ),
            (
                "Sorry, I have to cancel my appointment.",
                BookedIntent::Cancel,
            ),
            ("Xin lỗi, tôi muốn hủy lịch hẹn.", BookedIntent::Cancel),
            ("对不起，我想取消预约。", BookedIntent::Cancel),
            (
                "Pasensya na po, kailangan kong i-cancel.",
                BookedIntent::Cancel,
            ),
            (
                "Could I reschedule to another day, please?",
                BookedIntent::Change(vec![]),
            ),
            (
                "Gostaria de remarcar para outro dia.",
                BookedIntent::Change(vec![]),
            ),
            // The words confirm_by_reply asks for, in each language.
            ("cancel my booking", BookedIntent::Cancel),
            ("cancelar o agendamento", BookedIntent::Cancel),
            ("hủy lịch hẹn", BookedIntent::Cancel),
            ("取消预约", BookedIntent::Cancel),
            ("kanselahin po", BookedIntent::Cancel),
            ("reschedule my booking", BookedIntent::Change(vec![])),
            ("reagendar o atendimento", BookedIntent::Change(vec![])),
            ("i-reschedule po", BookedIntent::Change(vec![])),
            ("đổi lịch hẹn", BookedIntent::Change(vec![])),
            ("更改预约", BookedIntent::Change(vec![])),
        ];
        for (text, want) in about_booking {
            assert_eq!(parse_booked(text, booked, today, &cal), want, "{text}");
        }
        // An interpreter asked for, or said not to be needed, in each language.
        for (text, needed) in [
            ("Preciso de intérprete, por favor.", true),
            ("Não preciso de intérprete, falo japonês.", false),
            ("I will need an interpreter, please.", true),
            ("I don't need an interpreter, thank you.", false),
            ("Tôi cần phiên dịch, cảm ơn.", true),
            ("Tôi không cần phiên dịch, cảm ơn.", false),
            ("我需要翻译，谢谢。", true),
            ("我不需要翻译，谢谢。", false),
            ("Kailangan ko po ng interpreter, salamat.", true),
            ("Hindi ko po kailangan ng interpreter, salamat.", false),
        ] {
            let wants = crate::core::understand::session_needs(&super::reader_form(text));
            assert_eq!(
                wants.contains(&"interpreter".to_string()),
                needed,
                "{text}: {wants:?}"
            );
        }
    }
}
