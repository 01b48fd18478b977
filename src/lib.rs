//! yoyaku: the email booking desk of a Hello Work online job consultation.
//!
//! # Layout
//! The flow of a mail is: **mail in → gather → decide → apply → outbox →
//! mail out**: `desk::gather` loads the facts from the store and reads the
//! mail once on them (`core::decide::understand`), `core::decide::decide_on`
//! (pure) decides on that reading: screened, a bounce, over a limit, or the
//! steps of the state machine ([`core::booking`]); `desk::apply` makes the
//! booking (the one write whose outcome the store tells), `desk::plan` turns
//! the settled step into writes and rendered mails, and `store::writes`
//! writes them with the outbox rows in one transaction, which `desk::sender`
//! sends.
//!
//! - [`config`]: TOML (`config::raw`, serde with defaults; `[[offices]]`
//!   merged over the shared sections by `config::offices`) → a validated
//!   [`config::Config`] per office; errors name the office and the key.
//! - [`core`]: pure, no I/O, never reads the clock.
//!   - [`core::text`]: full-width digits, dashes, HTML to text.
//!   - [`core::quote`]: the sender's own words without quotes and signature.
//!   - [`core::classify`]: machine mail (RFC 3834, bounces, 自動返信).
//!   - [`core::understand`]: text → `BookingRequest` (the request's fields),
//!     with `wishes` (dates and times), `reply` (`ReplyIntent`), `booked`
//!     (mail about a booking) and `needs` in files of their own.
//!   - [`core::decide`]: one inbound mail on gathered facts, whole
//!     (`decide`): screened or read, the daily limits, which request it
//!     belongs to (or a new one), trusted or not, what it says to it, the
//!     machine's steps, and the step for a slot taken meanwhile.
//!   - [`core::folders`]: where a folder lives on the office's IMAP server
//!     (NAMESPACE, delimiter, what it lists), when a refused one is retried.
//!   - [`core::route`]: the routing rules that need no request: whether a
//!     mail is read at all, where it is filed, the daily limits' verdicts,
//!     the references it quotes, where an answer goes.
//!   - [`core::calendar`]: holidays, business days, slots, cutoffs.
//!   - [`core::booking`]: `step(request, event, ctx) -> (request, effects)`;
//!     a booking's own status and its transitions (`booking::status`), the
//!     slots an offer shows and the next timer (`booking::schedule`).
//! - [`mail`]: the edges to the mail system.
//!   - [`mail::message`]: raw RFC 5322 bytes → `Inbound` (mail-parser).
//!   - [`mail::header`]: subjects as clients really send them (mislabelled
//!     charsets, raw 8-bit, split words), decoded from the bytes.
//!   - [`mail::notice`]: every mail the desk writes, one variant per
//!     template with typed fields; the only place template contexts are
//!     built.
//!   - [`mail::compose`]: a notice → outgoing MIME with a stable Message-ID.
//!   - [`mail::imap`]: IMAP session: fetch by UID, search, move, IDLE.
//!   - [`mail::smtp`]: SMTP submission with time-outs, our own blind copy.
//!   - [`mail::net`]: plain/TLS streams (TCP_NODELAY, private CA) for both.
//!   - [`mail::utf7`]: modified UTF-7 for Japanese folder names.
//! - [`meeting`]: a Zoom meeting per booking: the API client
//!   (`meeting::zoom`, Server-to-Server OAuth) and the webhook's signature
//!   (`meeting::webhook`); what to do next is `core::meeting`'s decision,
//!   carried out by `desk::meetings`.
//! - [`store`]: sqlx; the only place with SQL, behind the store's own
//!   `Conn`/`Tx` types (`store::db`), each bound to one office: each query
//!   is written once, limited to that office, and runs on SQLite (embedded)
//!   or PostgreSQL (deployments). `store::leases`: which desk serves which
//!   office; `store::copy`: an office moved between databases.
//! - [`office`]: the office handle every entry point holds (config, the
//!   store scoped to the office, the composer, the SMTP relay, the Zoom
//!   client); the desk's jobs below, the staff verbs and views are plain
//!   functions over `&Office`, each in the file of its job (no `impl
//!   Office` outside `office`), so a call names the module it goes to.
//! - [`desk`]: the running loop, one file per job:
//!   - [`desk`] itself (the only `impl Desk`): the passes (`run`, `once`),
//!     IDLE, reconnects, the office leases;
//!   - `desk::inbox`: reads the inbox in batches, one transaction each
//!     (state + outbox + processed mark), files each message under a lease,
//!     files our own copies into the sent folder;
//!   - `desk::gather`: loads everything the decision about one mail reads,
//!     in one place (the requests it could belong to with our mails to
//!     each, the sender's daily count, what `core::decide::lookups_of` names:
//!     the 求職番号's count and standing, the address's notices; the full
//!     slots and closed days; for a bounce, the mail of ours it returns);
//!   - `desk::decide`: calls `core::decide::decide_on` on what was gathered
//!     and carries the `Decision` out, choosing nothing (`desk::bounce` for
//!     a delivery failure, `desk::staff_note` for notes to staff);
//!   - `desk::apply`: carries out a step: its booking made, the step
//!     settled on it (`core::decide::Step::settle`), planned by `desk::plan`
//!     (writes and mails, no I/O; `desk::views` shows a booking) and written
//!     by `store::writes`; a staff action or a timer gathers, steps
//!     (`core::decide::step`) and applies through it too;
//!   - `desk::error`, `desk::pass`: the jobs' errors and what a pass did;
//!   - `desk::timers`: follow-ups, lapses, reminders, digests;
//!   - `desk::sender`: sends the outbox under leases, marks each mail right
//!     after the server took it, settles mail a crash left in flight.
//! - [`cpu`]: keeps the desk's threads on one CPU (why: see the module).
//! - [`staff`]: what staff do (book, cancel, attended, no-show, refuse,
//!   list, show, report, purge) and the daily digest, through the same state
//!   machine and outbox; verbs return typed views (`RequestView`, list
//!   items, usage) and typed errors (`StaffError`); [`staff::cli`] renders
//!   the views as text for the command line.
//! - [`web`]: the staff page (axum): every URL in `web::routes`; sessions
//!   and logins (`web::auth`, `web::login`), form tokens, the pages over
//!   [`office::Office`] (`web::pages`, `web::records`), /metrics, /healthz,
//!   the Zoom webhook (`web::zoom`), our own accept loop (`web::serve`).

pub mod config;
pub mod core;
pub mod cpu;
pub mod desk;
pub mod mail;
pub mod meeting;
pub mod office;
pub mod staff;
pub mod store;
pub mod web;
