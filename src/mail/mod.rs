//! The edges to the mail system: parsing what arrives, composing what
//! leaves, and the IMAP and SMTP sessions that carry both.

pub mod compose;
pub mod imap;
pub mod message;
pub mod net;
pub mod smtp;
pub mod utf7;
