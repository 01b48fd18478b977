//! wired later
