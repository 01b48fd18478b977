//! Seekers who write in Portuguese, English, Vietnamese, Chinese or Tagalog
//! (issue 27), through the real mail stack: each request (formal, casual,
//! from a phone, in UTF-8 or the legacy charset its mailers still use) is
//! answered in its language with the wished slot and the Japanese below,
//! the Japanese terms attached (with a reference translation where there
//! is one); a consent in the language books and confirms in it; a seeker
//! who switches language gets the next mail in the new one. The language
//! of each answer is checked by an independent detector (whatlang), not
//! the project's own.

mod common;

use common::*;
use mail_parser::MimeHeaders;
use whatlang::Lang as W;

/// Thu 3 December 2026 at 13:30 is option [1] for a request read on Wed 25 Nov.
fn wed() -> chrono::DateTime<chrono::Utc> {
    jst(2026, 11, 25, 10, 0)
}

/// The part of our answer before the Japanese, and the language whatlang hears in it.
fn their_part(text: &str) -> (String, Option<W>) {
    let cut = text.find("以下は日本語の本文です").unwrap_or(text.len());
    let part = text[..cut].to_string();
    // The office's name is a Japanese proper noun in every language.
    let lang = whatlang::detect(&part.replace("ハローワーク出雲", "")).map(|i| i.lang());
    (part, lang)
}

fn attachment_names(raw: &[u8]) -> Vec<String> {
    let msg = mail_parser::MessageParser::default()
        .parse(raw)
        .expect("parses");
    msg.attachments()
        .filter_map(|a| a.attachment_name().map(str::to_string))
        .collect()
}

struct Case {
    tag: &'static str,
    text: &'static str,
    charset: Option<&'static str>,
    want: W,
    slot_words: &'static str,
    reference_terms: bool,
}

const CASES: &[Case] = &[
    Case {
        tag: "pt-formal",
        text: "Olá, bom dia!\nGostaria de agendar um atendimento online.\nNome: Ana Paula Silva\nNúmero de registro: 32010-12345678\nData desejada: quinta-feira, 3 de dezembro, às 13h30\nTelefone: 090-1234-5678\nObrigada!",
        charset: Some("iso-8859-1"),
        want: W::Por,
        slot_words: "quinta-feira, 3 de dezembro de 2026, das 13:30",
        reference_terms: true,
    },
    Case {
        tag: "pt-phone",
        text: "oi, queria marcar atendimento dia 03/12 as 13h30. meu nome é Carlos Souza, registro 32010-87654321, celular 080-1111-2222. obrigado",
        charset: None,
        want: W::Por,
        slot_words: "quinta-feira, 3 de dezembro de 2026, das 13:30",
        reference_terms: true,
    },
    Case {
        tag: "en-formal",
        text: "Dear Sir or Madam,\nI would like to book an online job consultation.\nName: John Smith\nJob seeker number: 32010-11112222\nPreferred date: Thu 3 Dec at 1:30 pm\nPhone: 090-2222-3333\nKind regards,\nJohn Smith",
        charset: None,
        want: W::Eng,
        slot_words: "Thursday 3 December 2026, 13:30",
        reference_terms: true,
    },
    Case {
        tag: "en-phone",
        text: "hi can i book a consultation on December 3 at 1:30pm? my name is Peter Brown, job seeker number 32010-12121313, phone 080-1212-1313. thanks",
        charset: None,
        want: W::Eng,
        slot_words: "Thursday 3 December 2026, 13:30",
        reference_terms: true,
    },
    Case {
        tag: "vi",
        text: "Xin chào,\nTôi muốn đặt lịch tư vấn việc làm trực tuyến.\nHọ và tên: Nguyễn Văn An\nSố đăng ký tìm việc: 32010-33334444\nNgày giờ mong muốn: ngày 3 tháng 12 lúc 13 giờ 30\nSố điện thoại: 090-3333-4444\nCảm ơn.",
        charset: None,
        want: W::Vie,
        slot_words: "ngày 3 tháng 12 năm 2026, 13:30",
        reference_terms: true,
    },
    Case {
        tag: "vi-windows-1258",
        text: "Kính gửi Hello Work,\nTôi xin đăng ký tư vấn việc làm trực tuyến.\nHọ tên: Trần Thị Bích\nSố đăng ký tìm việc: 32010-44445555\nNgày giờ mong muốn: thứ Năm, ngày 3 tháng 12 lúc 13 giờ 30\nĐiện thoại: 090-4444-5555\nXin cảm ơn.",
        charset: Some("windows-1258"),
        want: W::Vie,
        slot_words: "ngày 3 tháng 12 năm 2026, 13:30",
        reference_terms: true,
    },
    Case {
        tag: "zh-gb2312",
        text: "您好，\n我想预约在线职业咨询。\n姓名：王小明\n求职号码：32010-55556666\n希望日期：12月3日（星期四）下午1点半\n电话：090-5555-6666\n谢谢！",
        charset: Some("gb2312"),
        want: W::Cmn,
        slot_words: "2026年12月3日（星期四） 13:30",
        reference_terms: true,
    },
    Case {
        tag: "zh-big5",
        text: "您好，我想預約線上職業諮詢。\n姓名：陳大文\n求職號碼：32010-77778888\n預約日期：12月3日（星期四）下午1點半\n電話：090-7777-8888",
        charset: Some("big5"),
        want: W::Cmn,
        slot_words: "2026年12月3日（星期四） 13:30",
        reference_terms: true,
    },
    Case {
        tag: "zh-casual",
        text: "你好，我叫李明，求职号码32010-14141515，想约12月3日下午1点半，电话090-1414-1515，谢谢",
        charset: None,
        want: W::Cmn,
        slot_words: "2026年12月3日（星期四） 13:30",
        reference_terms: true,
    },
    Case {
        tag: "tl",
        text: "Magandang araw po!\nGusto ko pong magpa-schedule ng online na konsultasyon.\nPangalan: Maria Santos\nJob seeker number: 32010-99990000\nPetsa: Huwebes, Disyembre 3, alas-1:30 ng hapon\nTelepono: 090-9999-0000\nSalamat po.",
        charset: None,
        want: W::Tgl,
        slot_words: "Huwebes, Disyembre 3, 2026, 13:30",
        reference_terms: true,
    },
    Case {
        tag: "tl-casual",
        text: "hi po! pwede po ba ako magpa-book ng konsultasyon sa Disyembre 3, alas-1:30 ng hapon?\nPangalan: Jose Reyes\nJob seeker number: 32010-16161717\nTelepono: 090-1616-1717\nsalamat po",
        charset: None,
        want: W::Tgl,
        slot_words: "Huwebes, Disyembre 3, 2026, 13:30",
        reference_terms: true,
    },
];

#[tokio::test]
async fn each_language_is_answered_in_kind_and_a_consent_books() {
    // Two of the seekers book the same slot.
    let desk = TestDesk::with(Options {
        rooms: 2,
        ..Default::default()
    })
    .await;
    let mut seekers = Vec::new();
    for case in CASES {
        let seeker = Seeker::new(case.tag);
        let mail = Mail::new(&seeker.address, &desk.address, "Online consultation");
        let raw = match case.charset {
            Some(label) => mail.charset_qp(case.text, label),
            None => mail.utf8_qp(case.text),
        }
        .build();
        send_raw(&seeker.address, &desk.address, &raw).await;
        seekers.push(seeker);
    }
    desk.once_after(CASES.len(), wed()).await;
    for (case, seeker) in CASES.iter().zip(&seekers) {
        let offer = seeker.inbox(1).await.remove(0);
        let text = offer.text();
        let (theirs, heard) = their_part(text);
        assert_eq!(heard, Some(case.want), "{}: {theirs}", case.tag);
        assert!(theirs.contains(case.slot_words), "{}: {theirs}", case.tag);
        assert!(
            text.contains("【1】2026年12月3日（木）13:30～14:00")
                && text.contains("ご返信の時点で"),
            "{}: the Japanese below: {text}",
            case.tag
        );
        let names = attachment_names(&offer.raw);
        assert!(
            names
                .iter()
                .any(|n| n.contains("利用規約") && !n.contains("参考訳")),
            "{}: {names:?}",
            case.tag
        );
        assert_eq!(
            names.iter().any(|n| n.contains("参考訳")),
            case.reference_terms,
            "{}: {names:?}",
            case.tag
        );
    }

    // Staff see each seeker's language (`yoyaku show`).
    let reference = |text: &str| {
        regex::Regex::new(r"【?受付番号 ([0-9A-Z-]+)")
            .expect("regex")
            .captures(text)
            .map(|c| c[1].to_string())
    };
    let offer = seekers[6].inbox(1).await.remove(0);
    let key = reference(&offer.inbound.subject).expect("reference in the subject");
    let (_, shown) = yoyaku_cli(&desk.config_path, &["show", &key]);
    assert!(shown.contains("language       zh"), "{shown}");

    // A consent in Portuguese books, and the confirmation is Portuguese.
    let pt = &seekers[0];
    let offer = pt.inbox(1).await.remove(0);
    pt.reply(&offer, "Sim, confirmo. Muito obrigada!").await;
    desk.once_after(1, wed()).await;
    let confirm = pt.inbox(2).await.remove(1);
    let (theirs, heard) = their_part(confirm.text());
    assert_eq!(heard, Some(W::Por), "{theirs}");
    assert!(
        theirs.contains("pass0word") && theirs.contains("quinta-feira, 3 de dezembro de 2026"),
        "{theirs}"
    );

    // The English seeker answers in Portuguese: the next mail is Portuguese.
    let en = &seekers[2];
    let offer = en.inbox(1).await.remove(0);
    en.reply(&offer, "Opção 1, por favor. Muito obrigado pela ajuda!")
        .await;
    desk.once_after(1, wed()).await;
    let confirm = en.inbox(2).await.remove(1);
    let (theirs, heard) = their_part(confirm.text());
    assert_eq!(heard, Some(W::Por), "{theirs}");
    assert!(theirs.contains("Nº de reserva"), "{theirs}");
}

/// Japanese labels with Portuguese sentences: read, and answered with the
/// Japanese text in it whichever language leads.
#[tokio::test]
async fn a_mail_mixing_japanese_and_portuguese_is_read() {
    let desk = TestDesk::new().await;
    let seeker = Seeker::new("mixed");
    seeker
        .send(
            &desk.address,
            "予約",
            "こんにちは。Gostaria de agendar, por favor.\n氏名：サントス マリア\n求職番号：32010-12121212\n希望日時：12月3日 13:30\n電話番号：090-1212-1212",
        )
        .await;
    desk.once_after(1, wed()).await;
    let offer = seeker.inbox(1).await.remove(0);
    assert!(
        offer
            .text()
            .contains("【1】2026年12月3日（木）13:30～14:00"),
        "{}",
        offer.text()
    );
}

/// A language we do not have (Korean): the answer is in やさしい日本語,
/// with the standard Japanese below.
#[tokio::test]
async fn a_language_we_do_not_have_gets_simple_japanese() {
    let desk = TestDesk::new().await;
    let seeker = Seeker::new("korean");
    seeker
        .send(
            &desk.address,
            "상담 예약",
            "안녕하세요. 온라인 취업 상담을 예약하고 싶습니다.\n이름: 김민수\n구직번호: 32010-13131313\n전화: 090-1313-1313",
        )
        .await;
    desk.once_after(1, wed()).await;
    let answer = seeker.inbox(1).await.remove(0);
    let text = answer.text();
    assert!(
        text.contains("予約(よやく)") && text.contains("以下は日本語の本文です"),
        "{text}"
    );
    assert!(
        text.contains("希望日時（平日"),
        "the standard Japanese below: {text}"
    );
}

/// Staff set the language (after a phone call, or where the reader could
/// not tell): the next mail is in it, and the history has the login.
#[tokio::test]
async fn staff_set_the_language_and_the_next_mail_follows() {
    let desk = TestDesk::new().await;
    let seeker = Seeker::new("set-lang");
    seeker
        .send(
            &desk.address,
            "予約",
            &request_text("ペレイラ ジョアン", "12月3日 13:30"),
        )
        .await;
    desk.once_after(1, wed()).await;
    let offer = seeker.inbox(1).await.remove(0);
    assert_eq!(their_part(offer.text()).0, offer.text(), "Japanese only");
    let key = regex::Regex::new(r"受付番号 ([0-9A-Z]+)")
        .expect("regex")
        .captures(&offer.inbound.subject)
        .map(|c| c[1].to_string())
        .expect("reference");
    let (code, out) = yoyaku_cli(&desk.config_path, &["language", &key, "pt"]);
    assert_eq!(code, Some(0), "{out}");
    let (code, out) = yoyaku_cli(&desk.config_path, &["language", &key, "pt"]);
    assert!(code == Some(0) && out.contains("unchanged"), "{out}");
    let (code, out) = yoyaku_cli(&desk.config_path, &["language", &key, "xx"]);
    assert_eq!(code, Some(1), "{out}");
    let (_, shown) = yoyaku_cli(&desk.config_path, &["show", &key]);
    assert!(shown.contains("language       pt"), "{shown}");
    assert_eq!(
        desk.db_scalar("SELECT COUNT(*) FROM history WHERE event = 'staff_language'")
            .await,
        1,
        "recorded once"
    );
    // A reply that tells no language ("1") keeps the one staff set.
    seeker.reply(&offer, "1").await;
    desk.once_after(1, wed()).await;
    let confirm = seeker.inbox(2).await.remove(1);
    let (theirs, heard) = their_part(confirm.text());
    assert_eq!(heard, Some(W::Por), "{theirs}");
    assert!(theirs.contains("Nº de reserva"), "{theirs}");
}

/// A Portuguese request that asks for an interpreter: the note to staff
/// carries a Japanese gist of what was read (staff read Japanese).
#[tokio::test]
async fn staff_notes_carry_a_japanese_gist_of_a_foreign_mail() {
    let desk = TestDesk::new().await;
    let seeker = Seeker::new("gist");
    let mail = Mail::new(&seeker.address, &desk.address, "Agendamento");
    let raw = mail
        .charset_qp(
            "Bom dia! Gostaria de agendar um atendimento.\nNome: Mariana Costa\nNúmero de registro: 32010-55443322\nData desejada: quinta-feira, 3 de dezembro, às 13h30. Dia 4 não posso.\nTelefone: 090-5544-3322\nVou precisar de intérprete.",
            "iso-8859-1",
        )
        .build();
    send_raw(&seeker.address, &desk.address, &raw).await;
    desk.once_after(1, wed()).await;
    let notes = wait_for(&desk.staff, "INBOX", 1).await;
    let text = notes[0].text();
    assert!(
        text.contains("申込者のメールの要旨（自動・日本語）"),
        "{text}"
    );
    assert!(text.contains("言語：ポルトガル語"), "{text}");
    assert!(
        text.contains("希望日時（読み取り）：12月3日（木） 13:30"),
        "{text}"
    );
    assert!(text.contains("都合が悪い日：12月4日（金）"), "{text}");
    assert!(text.contains("当日の希望：通訳"), "{text}");
}
