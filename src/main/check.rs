//! `yoyaku status` and `yoyaku check`: what the desks and the office's
//! servers (IMAP, SMTP, Zoom) answer.

use super::*;

pub(super) async fn status(path: &Path) -> Result<ExitCode> {
    use yoyaku::store::{leases, Store};
    let cfgs = offices(path)?;
    let first = cfgs.first().context("no office in the config")?;
    let store = Store::open(&first.database_url).await?;
    let now = Utc::now();
    let held = leases::all(&mut store.conn().await?).await?;
    for cfg in &cfgs {
        let office = store.for_office(&cfg.office_id);
        let waiting = leases::waiting(&mut office.conn().await?).await?;
        let desk = match held.iter().find(|l| l.office == cfg.office_id) {
            Some(l) if l.until > now => format!(
                "served by {} since {} (lease until {})",
                l.owner,
                l.since.format("%Y-%m-%d %H:%M:%S UTC"),
                l.until.format("%H:%M:%S UTC")
            ),
            Some(l) => format!(
                "no desk: the lease of {} ran out at {}",
                l.owner,
                l.until.format("%Y-%m-%d %H:%M:%S UTC")
            ),
            None => "no desk has served it".to_string(),
        };
        let oldest = waiting
            .oldest_pending
            .map(|t| format!(", the oldest for {} s", (now - t).num_seconds().max(0)))
            .unwrap_or_default();
        println!(
            "{} ({}): {desk}; outbox: {} waiting{oldest}; for staff: {}",
            cfg.office_id, cfg.office.name, waiting.outbox_pending, waiting.needs_staff
        );
        let refused = yoyaku::store::office::metas_with_prefix(
            &mut office.conn().await?,
            yoyaku::core::folders::TROUBLE_PREFIX,
        )
        .await?;
        let tokens = yoyaku::store::office::metas_with_prefix(
            &mut office.conn().await?,
            yoyaku::core::tokens::META_PREFIX,
        )
        .await?;
        for (key, value) in tokens {
            let logins = key
                .strip_prefix(yoyaku::core::tokens::META_PREFIX)
                .unwrap_or(&key);
            if let Some(state) = yoyaku::core::tokens::TokenState::from_meta(&value) {
                println!("{}: {logins}: {}", cfg.office_id, state.describe(now));
            }
        }
        for (key, value) in refused {
            let folder = key
                .strip_prefix(yoyaku::core::folders::TROUBLE_PREFIX)
                .unwrap_or(&key);
            let (since, error) = value.split_once('\t').unwrap_or(("?", &value));
            println!(
                "{}: folder {folder:?} refused since {since}, its mail kept in the inbox: {error}",
                cfg.office_id
            );
        }
    }
    Ok(ExitCode::SUCCESS)
}

pub(super) async fn check(path: &std::path::Path) -> Result<ExitCode> {
    let cfgs = offices(path)?;
    println!("config: ok ({}; {} office(s))", path.display(), cfgs.len());
    let mut ok = true;
    for cfg in &cfgs {
        if cfgs.len() > 1 {
            println!("office {}: {}", cfg.office_id, cfg.office.name);
        }
        ok &= check_office(cfg).await;
    }
    Ok(if ok {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    })
}

/// Zoom: a token, then each host; whether all went well.
async fn check_zoom(z: &yoyaku::config::Zoom) -> bool {
    let client = match yoyaku::meeting::zoom::ZoomClient::new(z) {
        Ok(c) => c,
        Err(e) => {
            println!("zoom: {e}");
            return false;
        }
    };
    if let Err(e) = client.check_token().await {
        println!(
            "zoom: no token from {} (account_id, client_id, client_secret): {e}",
            z.token_url
        );
        return false;
    }
    println!("zoom: token ok");
    let mut ok = true;
    for host in &z.hosts {
        match client.check_host(host).await {
            Ok(()) => println!("zoom: host {host} ok"),
            Err(e) => {
                ok = false;
                println!("zoom: host {host}: {e}");
            }
        }
    }
    if z.webhook_secret.is_none() {
        println!("zoom: no webhook_secret: attendance from Zoom (/zoom/webhook) is refused");
    }
    ok
}

/// Finds or makes every folder a pass files into, as a pass would; says
/// which key fixes a folder the server will not make.
async fn check_folders(cfg: &Config, s: &mut yoyaku::mail::imap::ImapSession) -> bool {
    use yoyaku::mail::{utf7, MailError};
    let f = &cfg.folders;
    let mut ok = true;
    let mut wanted: Vec<(&str, Option<&str>)> = vec![
        ("folders.handled", Some(f.handled.as_str())),
        ("folders.staff", Some(f.staff.as_str())),
        ("folders.machine", Some(f.machine.as_str())),
        ("folders.failed", Some(f.failed.as_str())),
    ];
    wanted.push(("folders.sent", f.sent.as_deref()));
    for (key, name) in wanted {
        let found = match name {
            Some(name) => s.ensure_folder(name).await,
            None => s.sent_folder(None).await,
        };
        let shown = name.unwrap_or("(the server's \\Sent folder, else 送信済)");
        match found {
            Ok(on_server) => println!(
                "imap: folder {shown} ({key}) ok: {:?}",
                utf7::decode(&on_server)
            ),
            Err(MailError::Folder {
                folder,
                server,
                suggestion,
            }) => {
                ok = false;
                println!("imap: folder {folder:?} ({key}) cannot be made: {server}");
                match suggestion {
                    Some(name) => println!("  fix: {key} = {name:?}"),
                    None => {
                        let listed = s
                            .folders()
                            .await
                            .map(|f| f.layout.existing.join(", "))
                            .unwrap_or_default();
                        println!(
                            "  fix: let this account create folders on the server (its rights, its quota of folders), or make the folder there and set {key} to its name; the server lists: {listed}"
                        );
                    }
                }
            }
            Err(e) => {
                ok = false;
                println!("imap: folder {shown} ({key}): {e}");
            }
        }
    }
    ok
}

/// The logins and the calendar of one office; whether all went well.
async fn check_office(cfg: &Config) -> bool {
    let mut ok = true;
    for login in cfg.oauth2_logins() {
        match yoyaku::mail::oauth::token(&login.oauth2, &login.mailbox, false).await {
            Ok(_) => {
                let t = yoyaku::mail::oauth::stats_of(&login.oauth2, &login.mailbox);
                println!(
                    "oauth2 ({}): token for {} from {} ok{}",
                    login.services,
                    login.mailbox,
                    t.provider,
                    t.expires_at
                        .map(|at| format!(", valid for {} min", (at - Utc::now()).num_minutes()))
                        .unwrap_or_default()
                );
            }
            Err(e) => {
                ok = false;
                println!(
                    "oauth2 ({}): no token for {}: {e}",
                    login.services, login.mailbox
                );
            }
        }
    }
    match yoyaku::mail::imap::ImapSession::connect(&cfg.imap).await {
        Ok(mut s) => match s.select(&cfg.imap.mailbox).await {
            Ok(_) => {
                println!(
                    "imap: login ok, mailbox {} selectable, IDLE {}",
                    cfg.imap.mailbox,
                    if s.can_idle() {
                        "available"
                    } else {
                        "not offered (polling)"
                    }
                );
                ok &= check_folders(cfg, &mut s).await;
                println!("imap: {}", s.summary());
                s.logout().await;
            }
            Err(e) => {
                ok = false;
                println!(
                    "imap: login ok but mailbox {} failed: {e}",
                    cfg.imap.mailbox
                );
            }
        },
        Err(e) => {
            ok = false;
            println!("imap: {e}");
        }
    }
    match yoyaku::mail::smtp::SmtpSender::new(&cfg.smtp) {
        Ok(s) => match s.test().await {
            Ok(true) => println!("smtp: connection ok"),
            Ok(false) => {
                ok = false;
                println!("smtp: server did not accept the connection");
            }
            Err(e) => {
                ok = false;
                println!("smtp: {e}");
            }
        },
        Err(e) => {
            ok = false;
            println!("smtp: {e}");
        }
    }
    // Copies of sent mail go to smtp.from; an alias of the account is fine,
    // another mailbox is not (they would never come back).
    let account = yoyaku::config::bare_address(&cfg.imap.username);
    if account.contains('@') && account != cfg.from_address() {
        println!(
            "smtp.from: {} is not the IMAP account {account}: unless it is an alias, the copies of sent mail (the sent folder, the proof a mail was sent) will not come back to this mailbox",
            cfg.from_address()
        );
    }
    if let Some(z) = &cfg.zoom {
        let seats = cfg.seats().len();
        println!(
            "zoom: {seats} session(s) per slot ({})",
            if cfg.rooms.is_empty() {
                "one per host"
            } else {
                "[[meeting.rooms]]"
            }
        );
        if seats > z.hosts.len() {
            println!(
                "meeting.zoom.hosts: {} host(s) for {seats} sessions per slot: a Zoom user hosts one meeting at a time, so sessions held at once share a host; add hosts or remove rooms",
                z.hosts.len()
            );
        }
        ok &= check_zoom(z).await;
    }
    let cal = &cfg.calendar;
    let slots = cal.bookable_slots(Utc::now());
    println!(
        "next bookable slots ({} in the next {} days):",
        slots.len(),
        cal.horizon_days
    );
    for s in slots.iter().take(8) {
        println!(
            "  {} {}",
            s.date.format("%Y-%m-%d (%a)"),
            s.start.format("%H:%M")
        );
    }
    ok
}
