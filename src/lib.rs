//! yoyaku: the email booking desk of a Hello Work online job consultation.
//!
//! # Layout
//! The flow of a mail is: **mail in → understand → decide → outbox → mail out**.
//!
//! - [`config`]: TOML → validated [`config::Config`]; errors name the key.
//! - [`core`]: pure, no I/O, never reads the clock.
//!   - [`core::text`]: full-width digits, dashes, HTML to text.
//!   - [`core::quote`]: the sender's own words without quotes and signature.
//!   - [`core::classify`]: machine mail (RFC 3834, bounces, 自動返信).
//!   - [`core::understand`]: text → `BookingRequest` / `ReplyIntent`.
//!   - [`core::calendar`]: holidays, business days, slots, cutoffs.
//!   - [`core::booking`]: `step(request, event, ctx) -> (request, effects)`.
//! - [`mail`]: the edges to the mail system.
//!   - [`mail::message`]: raw RFC 5322 bytes → `Inbound` (mail-parser).
//!   - [`mail::header`]: subjects as clients really send them (mislabelled
//!     charsets, raw 8-bit, split words), decoded from the bytes.
//!   - [`mail::compose`]: templates → outgoing MIME with stable Message-IDs.
//!   - [`mail::imap`]: IMAP session: fetch by UID, move, append, IDLE.
//!   - [`mail::smtp`]: SMTP submission with time-outs.
//!   - [`mail::net`]: plain/TLS streams (TCP_NODELAY, private CA) for both.
//!   - [`mail::utf7`]: modified UTF-7 for Japanese folder names.
//! - [`store`]: sqlx; the only place with SQL.
//! - [`daemon`]: wires it together: handles a message in one transaction
//!   (state + outbox + processed mark), flushes the outbox, fires timers.
//! - [`cpu`]: keeps the desk's threads on one CPU (why: see the module).
//! - [`staff`]: what staff do from the command line (book, cancel,
//!   attended, no-show, refuse, list, show, report, purge) and the daily
//!   digest; through the same state machine and outbox.

pub mod config;
pub mod core;
pub mod cpu;
pub mod daemon;
pub mod mail;
pub mod staff;
pub mod store;
