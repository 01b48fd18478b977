//! The pure core: no async, no I/O, and never the wall clock. Every function
//! here takes the current time as an argument so tests (and `yoyaku once
//! --now`) decide what "now" is.

pub mod address;
pub mod booking;
pub mod bounce;
pub mod calendar;
pub mod classify;
pub mod decide;
pub mod folders;
pub mod lang;
pub mod meeting;
pub mod quote;
pub mod route;
pub mod share;
pub mod text;
pub mod tokens;
pub mod understand;
