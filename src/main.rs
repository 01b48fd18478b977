//! The command line. anyhow lives only here; the library has typed errors.

use anyhow::{Context as _, Result};
use chrono::{DateTime, NaiveDate, NaiveTime, Utc};
use clap::{Parser, Subcommand};
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use yoyaku::config::Config;
use yoyaku::core::booking::{StaffAction, State};
use yoyaku::desk::Desk;
use yoyaku::staff::{parse_duration, parse_month, ListFilter, StaffBooking};

#[path = "main/accounts.rs"]
mod accounts;
#[path = "main/check.rs"]
mod check;
#[path = "main/serve.rs"]
mod serve;

use accounts::staff_user;
use check::{check, status};
use serve::pin;

#[derive(Parser)]
#[command(
    name = "yoyaku",
    version,
    about = "Email booking desk for Hello Work online job consultations"
)]
struct Cli {
    /// The office (`[[offices]] id`) a command is about; needed when the
    /// config has several. `run`, `once` and `check` take every office
    /// without it.
    #[arg(long, global = true)]
    office: Option<String>,
    #[command(subcommand)]
    command: Command,
}

/// `--office`, read once by every command.
static OFFICE: std::sync::OnceLock<Option<String>> = std::sync::OnceLock::new();

fn office() -> Option<&'static str> {
    OFFICE.get().and_then(|o| o.as_deref())
}

/// The offices a daemon command serves: `--office`, else all of them.
fn offices(config: &Path) -> Result<Vec<Config>> {
    Ok(match office() {
        Some(_) => vec![Config::load_office(config, office())?],
        None => Config::load_offices(config)?,
    })
}

#[derive(Subcommand)]
enum Command {
    /// Run the daemon: IMAP IDLE (or polling), timers, outbox, until Ctrl-C / SIGTERM.
    Run {
        #[arg(long)]
        config: PathBuf,
    },
    /// Process the inbox once, fire the timers due at NOW, send the outbox, exit.
    Once {
        #[arg(long)]
        config: PathBuf,
        /// The decision clock (RFC 3339); default: the real clock.
        #[arg(long)]
        now: Option<String>,
    },
    /// Copy an office's records from one database to another (a single-office
    /// SQLite deployment to PostgreSQL): every request, booking, consent
    /// record, history row, processed message and mail, into an empty office
    /// (`--office`, default `default`) of the target; the counts are checked.
    #[command(name = "migrate-db")]
    MigrateDb {
        /// The source database URL (sqlite://PATH or postgres://…).
        #[arg(long)]
        from: String,
        /// The target database URL.
        #[arg(long)]
        to: String,
        /// The office to copy in the source.
        #[arg(long = "from-office", default_value = "default")]
        from_office: String,
    },
    /// Which desk serves which office (its lease), and what waits there.
    Status {
        #[arg(long)]
        config: PathBuf,
    },
    /// Validate the config, try the IMAP and SMTP logins, print the next bookable slots.
    Check {
        #[arg(long)]
        config: PathBuf,
    },
    /// List requests and bookings (newest first).
    List {
        #[arg(long)]
        config: PathBuf,
        /// Only sessions on this date (YYYY-MM-DD).
        #[arg(long)]
        date: Option<String>,
        /// Only this state: awaiting_info, offered, followed_up, booked, lapsed,
        /// withdrawn, needs_staff, cancelled, attended, no_show, closed.
        #[arg(long)]
        status: Option<String>,
    },
    /// Show a request with its bookings, consent record and history.
    Show {
        #[arg(long)]
        config: PathBuf,
        /// Reservation number (261203-AB3C) or reference (K7M2QP).
        reservation: String,
    },
    /// Book a follow-up session agreed during a consultation (第6条(4)): confirmed and mailed at once.
    Book {
        #[arg(long)]
        config: PathBuf,
        /// The clock (RFC 3339); default: now.
        #[arg(long)]
        now: Option<String>,
        #[arg(long = "seeker-number", visible_alias = "seeker", alias = "number")]
        seeker_number: String,
        #[arg(long)]
        name: String,
        #[arg(long, alias = "address")]
        email: String,
        /// YYYY-MM-DD (or YYYY/MM/DD); with a time ("2026-12-10 13:30") --time may be left out
        #[arg(long, alias = "day")]
        date: String,
        /// HH:MM
        #[arg(long, alias = "start")]
        time: Option<String>,
        #[arg(long)]
        phone: Option<String>,
        /// Someone or something needed at the session: interpreter, sign_language, assistant, companion, written.
        #[arg(long = "need")]
        needs: Vec<String>,
        /// Book although the office is closed that day (weekend, holiday, closure); recorded.
        #[arg(long)]
        force: bool,
    },
    /// Cancel a booking (e.g. after the seeker phoned); the seeker is mailed.
    Cancel {
        #[arg(long)]
        config: PathBuf,
        /// The clock (RFC 3339); default: now.
        #[arg(long)]
        now: Option<String>,
        reservation: String,
    },
    /// Record that the seeker attended.
    Attended {
        #[arg(long)]
        config: PathBuf,
        /// The clock (RFC 3339); default: now.
        #[arg(long)]
        now: Option<String>,
        reservation: String,
    },
    /// Record a no-show (no attendance, no contact; 第6条(5)).
    #[command(name = "no-show")]
    NoShow {
        #[arg(long)]
        config: PathBuf,
        /// The clock (RFC 3339); default: now.
        #[arg(long)]
        now: Option<String>,
        reservation: String,
    },
    /// Correct a no-show to an excused absence (the seeker had a reason;
    /// it does not count towards the no-show limit).
    Excused {
        #[arg(long)]
        config: PathBuf,
        /// The clock (RFC 3339); default: now.
        #[arg(long)]
        now: Option<String>,
        reservation: String,
    },
    /// Close the office on a day at short notice (臨時閉庁): no offers on it;
    /// its bookings are cancelled with an apology offering the nearest free
    /// slots; staff get one note with the phone numbers.
    #[command(name = "close-day")]
    CloseDay {
        #[arg(long)]
        config: PathBuf,
        /// The clock (RFC 3339); default: now.
        #[arg(long)]
        now: Option<String>,
        /// YYYY-MM-DD
        date: String,
        /// Why, as the seekers' apology says it (e.g. "大雪のため").
        #[arg(long)]
        reason: String,
    },
    /// Reopen a day closed with close-day, for offers from now on.
    #[command(name = "reopen-day")]
    ReopenDay {
        #[arg(long)]
        config: PathBuf,
        /// The clock (RFC 3339); default: now.
        #[arg(long)]
        now: Option<String>,
        /// YYYY-MM-DD
        date: String,
    },
    /// Close a request that staff handled outside the bot.
    Close {
        #[arg(long)]
        config: PathBuf,
        /// The clock (RFC 3339); default: now.
        #[arg(long)]
        now: Option<String>,
        reference: String,
    },
    /// Stop offering service to a seeker (第12条(1)); their mail goes to staff.
    /// Set the language of a seeker's mails (ja, en, pt, vi, zh, tl, easy).
    Language {
        #[arg(long)]
        config: PathBuf,
        /// Reservation number or reference.
        key: String,
        /// ja, en, pt, vi, zh, tl or easy (やさしい日本語).
        lang: String,
    },
    Refuse {
        #[arg(long)]
        config: PathBuf,
        /// The clock (RFC 3339); default: now.
        #[arg(long)]
        now: Option<String>,
        seeker_number: String,
        #[arg(long)]
        reason: String,
    },
    /// Lift a refusal.
    Unrefuse {
        #[arg(long)]
        config: PathBuf,
        seeker_number: String,
    },
    /// Monthly usage counts (第7条), anonymous.
    Report {
        #[arg(long)]
        config: PathBuf,
        /// YYYY-MM
        #[arg(long)]
        month: String,
        #[arg(long)]
        csv: bool,
    },
    /// Serve the staff web page ([web] listen) without reading mail; the
    /// actions still send their mail.
    Web {
        #[arg(long)]
        config: PathBuf,
    },
    /// Accounts of the staff web page.
    #[command(name = "staff-user", subcommand)]
    StaffUser(StaffUserCommand),
    /// Delete personal data of requests finished longer ago than DURATION (180d, 26w, 6mo, 1y).
    Purge {
        #[arg(long)]
        config: PathBuf,
        /// The clock (RFC 3339); default: now.
        #[arg(long)]
        now: Option<String>,
        #[arg(long = "older-than")]
        older_than: String,
    },
}

#[derive(Subcommand)]
enum StaffUserCommand {
    /// Add an account of the office named by --office (needed when the
    /// config has several); the password comes from standard input, or
    /// from the variable named by --password-env.
    Add {
        login: String,
        #[arg(long)]
        config: PathBuf,
        /// May see and change every office.
        #[arg(long)]
        admin: bool,
        #[arg(long = "password-env")]
        password_env: Option<String>,
    },
    /// List the accounts.
    List {
        #[arg(long)]
        config: PathBuf,
    },
    /// Remove an account (its sessions end).
    Remove {
        login: String,
        #[arg(long)]
        config: PathBuf,
    },
    /// Set a new password (the account's sessions end).
    Passwd {
        login: String,
        #[arg(long)]
        config: PathBuf,
        #[arg(long = "password-env")]
        password_env: Option<String>,
    },
}

fn main() -> ExitCode {
    let filter = tracing_subscriber::EnvFilter::try_from_env("YOYAKU_LOG")
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
    let logs = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr);
    // One JSON object per line for a log shipper; plain text otherwise.
    if std::env::var("YOYAKU_LOG_FORMAT").is_ok_and(|f| f.eq_ignore_ascii_case("json")) {
        logs.json().init();
    } else {
        logs.with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
            .init();
    }
    match run() {
        Ok(code) => code,
        Err(e) => {
            eprintln!("yoyaku: {e:#}");
            // A staff verb's refusal says which kind it was, for scripts:
            // 2 bad input, 3 not found, 4 not possible in this state.
            match e.downcast_ref::<yoyaku::desk::DeskError>() {
                Some(yoyaku::desk::DeskError::Staff(staff)) => ExitCode::from(match staff {
                    yoyaku::desk::StaffError::Invalid(_) => 2,
                    yoyaku::desk::StaffError::NotFound(_) => 3,
                    yoyaku::desk::StaffError::Conflict(_) => 4,
                }),
                _ => ExitCode::FAILURE,
            }
        }
    }
}

fn run() -> Result<ExitCode> {
    let cli = Cli::parse();
    let _ = OFFICE.set(cli.office.clone());
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .context("cannot start the async runtime")?;
    runtime.block_on(async {
        match cli.command {
            Command::Run { config } => serve::run(&config).await,
            Command::Once { config, now } => once(&config, now).await,
            Command::Check { config } => check(&config).await,
            Command::Web { config } => serve::web(&config).await,
            Command::StaffUser(action) => staff_user(action).await,
            Command::Status { config } => status(&config).await,
            Command::MigrateDb {
                from,
                to,
                from_office,
            } => migrate_db(&from, &to, &from_office).await,
            other => staff(other).await,
        }
    })
}

/// `yoyaku once`: one pass of every office's desk, then a summary.
async fn once(config: &Path, now: Option<String>) -> Result<ExitCode> {
    let cfgs = offices(config)?;
    let now = match now {
        Some(s) => DateTime::parse_from_rfc3339(&s)
            .with_context(|| {
                format!("--now {s:?} is not an RFC 3339 time like 2026-12-01T09:00:00+09:00")
            })?
            .with_timezone(&Utc),
        None => Utc::now(),
    };
    let first = cfgs.first().context("no office in the config")?;
    pin(first);
    let store = yoyaku::store::Store::open(&first.database_url).await?;
    let many = cfgs.len() > 1;
    let relays = yoyaku::mail::smtp::Relays::for_offices(cfgs.iter().map(|c| &c.smtp))?;
    for cfg in cfgs {
        let id = cfg.office_id.clone();
        let desk = Desk::with_relays(cfg, &store, &relays).await?;
        let span = tracing::info_span!("office", id = %id);
        let report = tracing::Instrument::instrument(desk.run_once(now), span).await?;
        println!(
            "{}handled {} message(s), {} duplicate(s), {} timer(s), sent {} mail(s), {} send failure(s), {} message failure(s)",
            if many { format!("{id}: ") } else { String::new() },
            report.handled, report.duplicates, report.timers, report.sent, report.send_failures, report.message_failures
        );
    }
    Ok(ExitCode::SUCCESS)
}

/// The office a staff verb acts on.
async fn office_of(config: &Path) -> Result<yoyaku::office::Office> {
    let cfg = Config::load_office(config, office())?;
    Ok(yoyaku::office::Office::open(cfg).await?)
}

/// Who acts in a staff verb from the command line, for the history.
fn cli_actor() -> String {
    format!(
        "cli:{}",
        std::env::var("USER").unwrap_or_else(|_| "?".into())
    )
}

/// The staff verbs.
fn clock(now: Option<String>) -> Result<DateTime<Utc>> {
    match now {
        Some(s) => Ok(DateTime::parse_from_rfc3339(&s)
            .with_context(|| {
                format!("--now {s:?} is not an RFC 3339 time like 2026-12-01T09:00:00+09:00")
            })?
            .with_timezone(&Utc)),
        None => Ok(Utc::now()),
    }
}

/// `2026-12-10`, `2026/12/10`, optionally followed by a time (` 13:30`, `T13:30`).
fn date_and_time(date: &str, time: Option<&str>) -> Result<(NaiveDate, NaiveTime)> {
    let text = date.trim().replace('/', "-").replace('T', " ");
    let mut parts = text.split_whitespace();
    let day = parts.next().unwrap_or("");
    let d = NaiveDate::parse_from_str(day, "%Y-%m-%d")
        .with_context(|| format!("--date {date:?} is not a date like 2026-12-10"))?;
    let t_text = time
        .map(str::to_string)
        .or_else(|| parts.next().map(str::to_string))
        .context("--time is missing (e.g. --time 13:30)")?;
    let t = NaiveTime::parse_from_str(t_text.trim(), "%H:%M")
        .or_else(|_| NaiveTime::parse_from_str(t_text.trim(), "%H:%M:%S"))
        .with_context(|| format!("--time {t_text:?} is not a time like 13:30"))?;
    Ok((d, t))
}

/// `cancel`, `attended`, `no-show`, `close`: one state change, printed.
async fn act(config: &Path, now: Option<String>, key: &str, action: StaffAction) -> Result<()> {
    let mailed = matches!(action, StaffAction::Cancel);
    let state = yoyaku::staff::staff_action(
        &office_of(config).await?,
        key,
        action,
        clock(now)?,
        &cli_actor(),
    )
    .await?;
    println!(
        "{key}: {state}{}",
        if mailed {
            "; the seeker has been mailed"
        } else {
            ""
        }
    );
    Ok(())
}

async fn staff(command: Command) -> Result<ExitCode> {
    match command {
        Command::List {
            config,
            date,
            status,
        } => list(&config, date, status).await?,
        Command::Show {
            config,
            reservation,
        } => {
            print!(
                "{}",
                yoyaku::staff::show(&office_of(&config).await?, &reservation).await?
            );
        }
        Command::Book {
            config,
            now,
            seeker_number,
            name,
            email,
            date,
            time,
            phone,
            needs,
            force,
        } => {
            let (date, time) = date_and_time(&date, time.as_deref())?;
            let booking = StaffBooking {
                seeker_number,
                name,
                email,
                phone,
                date,
                time,
                needs,
            };
            let reservation = yoyaku::staff::staff_book_on(
                &office_of(&config).await?,
                &booking,
                force,
                clock(now)?,
                &cli_actor(),
            )
            .await?;
            println!("booked {reservation}; the seeker has been mailed the date, time and meeting details");
        }
        Command::Cancel {
            config,
            now,
            reservation,
        } => act(&config, now, &reservation, StaffAction::Cancel).await?,
        Command::Attended {
            config,
            now,
            reservation,
        } => act(&config, now, &reservation, StaffAction::Attended).await?,
        Command::NoShow {
            config,
            now,
            reservation,
        } => act(&config, now, &reservation, StaffAction::NoShow).await?,
        Command::Close {
            config,
            now,
            reference,
        } => act(&config, now, &reference, StaffAction::Close).await?,
        Command::Excused {
            config,
            now,
            reservation,
        } => act(&config, now, &reservation, StaffAction::Excuse).await?,
        Command::CloseDay {
            config,
            now,
            date,
            reason,
        } => close_day(&config, now, &date, Some(&reason)).await?,
        Command::ReopenDay { config, now, date } => close_day(&config, now, &date, None).await?,
        Command::Language { config, key, lang } => {
            let Some(lang) = yoyaku::core::lang::Lang::from_code(lang.trim()) else {
                anyhow::bail!("{lang:?}: the language is one of ja, en, pt, vi, zh, tl, easy");
            };
            let (_, changed) = yoyaku::staff::set_language(
                &office_of(&config).await?,
                &key,
                lang,
                chrono::Utc::now(),
                &cli_actor(),
            )
            .await?;
            println!(
                "{key}: {}{}",
                lang.label(),
                if changed { "" } else { " (unchanged)" }
            );
        }
        Command::Refuse {
            config,
            now,
            seeker_number,
            reason,
        } => {
            let closed = yoyaku::staff::refuse(
                &office_of(&config).await?,
                &seeker_number,
                &reason,
                clock(now)?,
                &cli_actor(),
            )
            .await?;
            println!("refused; {closed} open request(s) closed; further mail goes to staff");
        }
        Command::Unrefuse {
            config,
            seeker_number,
        } => {
            let had = yoyaku::staff::unrefuse(
                &office_of(&config).await?,
                &seeker_number,
                chrono::Utc::now(),
                &cli_actor(),
            )
            .await?;
            println!(
                "{}",
                if had {
                    "refusal lifted"
                } else {
                    "there was no refusal"
                }
            );
        }
        Command::Report { config, month, csv } => report(&config, &month, csv).await?,
        Command::Purge {
            config,
            now,
            older_than,
        } => purge(&config, now, &older_than).await?,
        Command::Run { .. }
        | Command::Web { .. }
        | Command::StaffUser(_)
        | Command::Once { .. }
        | Command::Check { .. }
        | Command::Status { .. }
        | Command::MigrateDb { .. } => {}
    }
    Ok(ExitCode::SUCCESS)
}

/// `yoyaku report`: a month's usage, as lines or CSV.
async fn report(config: &Path, month: &str, csv: bool) -> Result<()> {
    let first = parse_month(month).map_err(anyhow::Error::msg)?;
    let u = yoyaku::staff::report(&office_of(config).await?, first).await?;
    if csv {
        print!("{}", yoyaku::staff::views::usage_csv(month, &u));
    } else {
        println!("usage {month}");
        for (k, v) in yoyaku::staff::views::usage_columns(&u) {
            println!("  {k:<24} {}", if v.is_empty() { "-" } else { &v });
        }
    }
    Ok(())
}

/// `yoyaku purge`: personal data of requests finished before the age.
async fn purge(config: &Path, now: Option<String>, older_than: &str) -> Result<()> {
    let age = parse_duration(older_than).map_err(anyhow::Error::msg)?;
    let purged = yoyaku::staff::purge(&office_of(config).await?, age, clock(now)?).await?;
    println!(
        "personal data removed from {} finished request(s); the counts remain",
        purged.requests
    );
    Ok(())
}

/// `yoyaku close-day` (with a reason) and `reopen-day` (without).
async fn close_day(
    config: &Path,
    now: Option<String>,
    date: &str,
    reason: Option<&str>,
) -> Result<()> {
    let (day, _) = date_and_time(date, Some("00:00"))?;
    let office = office_of(config).await?;
    let Some(reason) = reason else {
        yoyaku::staff::closures::reopen_day(&office, day, clock(now)?, &cli_actor()).await?;
        println!("{day} reopened for offers");
        return Ok(());
    };
    let done =
        yoyaku::staff::closures::close_day(&office, day, reason, clock(now)?, &cli_actor()).await?;
    println!(
        "{day} closed; {} booking(s) cancelled ({}), {} offered new dates by mail; staff have a note with the phone numbers",
        done.cancelled.len(),
        done.cancelled.join(", "),
        done.offered
    );
    Ok(())
}

/// `yoyaku list`: the office's requests, one line each.
async fn list(config: &Path, date: Option<String>, status: Option<String>) -> Result<()> {
    let filter = ListFilter {
        date: date
            .map(|d| {
                NaiveDate::parse_from_str(&d, "%Y-%m-%d")
                    .with_context(|| format!("--date {d:?} is not a date like 2026-12-03"))
            })
            .transpose()?,
        state: status
            .map(|s| {
                State::parse(&s.replace('-', "_")).with_context(|| {
                    format!("--status {s:?} is not a state (booked, offered, needs_staff, …)")
                })
            })
            .transpose()?,
    };
    let items = yoyaku::staff::list(&office_of(config).await?, &filter).await?;
    for i in &items {
        println!(
            "{:<7} {:<13} {:<12} {:<17} {}{}",
            i.reference,
            i.state.as_str(),
            i.reservation.as_deref().unwrap_or("-"),
            i.slot.map_or("-".to_string(), |s| format!(
                "{} {}",
                s.date,
                s.start.format("%H:%M")
            )),
            i.name.as_deref().unwrap_or("-"),
            if i.needs.is_empty() {
                String::new()
            } else {
                format!("  [needs: {}]", i.needs.join(", "))
            }
        );
    }
    println!("{} request(s)", items.len());
    Ok(())
}

async fn migrate_db(from: &str, to: &str, from_office: &str) -> Result<ExitCode> {
    use yoyaku::store::{redact_url, Store};
    let target_office = office().unwrap_or(yoyaku::store::DEFAULT_OFFICE);
    let source = Store::open(from)
        .await
        .with_context(|| format!("source {}", redact_url(from)))?
        .for_office(from_office);
    let target = Store::open(to)
        .await
        .with_context(|| format!("target {}", redact_url(to)))?
        .for_office(target_office);
    let counts = yoyaku::store::copy::copy_office(&source, &target).await?;
    println!(
        "office {from_office} of {} copied to office {target_office} of {}:",
        redact_url(from),
        redact_url(to)
    );
    for (table, n) in counts {
        println!("  {table}: {n}");
    }
    Ok(ExitCode::SUCCESS)
}

async fn shutdown_signal() {
    #[cfg(unix)]
    {
        let mut term =
            match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
                Ok(s) => s,
                Err(_) => {
                    let _ = tokio::signal::ctrl_c().await;
                    return;
                }
            };
        tokio::select! {
            _ = tokio::signal::ctrl_c() => {}
            _ = term.recv() => {}
        }
    }
    #[cfg(not(unix))]
    {
        let _ = tokio::signal::ctrl_c().await;
    }
}
