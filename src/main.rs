//! The command line. anyhow lives only here; the library has typed errors.

use anyhow::{Context as _, Result};
use chrono::{DateTime, Utc};
use clap::{Parser, Subcommand};
use std::path::PathBuf;
use std::process::ExitCode;
use yoyaku::config::Config;
use yoyaku::daemon::Desk;

#[derive(Parser)]
#[command(
    name = "yoyaku",
    version,
    about = "Email booking desk for Hello Work online job consultations"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
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
    /// Validate the config, try the IMAP and SMTP logins, print the next bookable slots.
    Check {
        #[arg(long)]
        config: PathBuf,
    },
}

fn main() -> ExitCode {
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_env("YOYAKU_LOG")
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info")),
        )
        .with_writer(std::io::stderr)
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
        .init();
    match run() {
        Ok(code) => code,
        Err(e) => {
            eprintln!("yoyaku: {e:#}");
            ExitCode::FAILURE
        }
    }
}

fn run() -> Result<ExitCode> {
    let cli = Cli::parse();
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .context("cannot start the async runtime")?;
    runtime.block_on(async {
        match cli.command {
            Command::Run { config } => {
                let cfg = Config::load(&config)?;
                let desk = Desk::new(cfg).await?;
                desk.run(shutdown_signal()).await?;
                Ok(ExitCode::SUCCESS)
            }
            Command::Once { config, now } => {
                let cfg = Config::load(&config)?;
                let now = match now {
                    Some(s) => DateTime::parse_from_rfc3339(&s).with_context(|| format!("--now {s:?} is not an RFC 3339 time like 2026-12-01T09:00:00+09:00"))?.with_timezone(&Utc),
                    None => Utc::now(),
                };
                let desk = Desk::new(cfg).await?;
                let report = desk.run_once(now).await?;
                println!(
                    "handled {} message(s), {} duplicate(s), {} timer(s), sent {} mail(s), {} send failure(s), {} message failure(s)",
                    report.handled, report.duplicates, report.timers, report.sent, report.send_failures, report.message_failures
                );
                Ok(ExitCode::SUCCESS)
            }
            Command::Check { config } => check(&config).await,
        }
    })
}

async fn check(path: &std::path::Path) -> Result<ExitCode> {
    let cfg = Config::load(path)?;
    println!("config: ok ({})", path.display());
    let mut ok = true;
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
    Ok(if ok {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    })
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
