//! Passwords, session tokens and the login slow-down: plain functions.

use chrono::{DateTime, Duration, Utc};
use sha2::{Digest, Sha256};

/// An Argon2id hash (PHC string) of `password` with a fresh salt.
pub fn hash_password(password: &str) -> Result<String, String> {
    use argon2::password_hash::{PasswordHasher, SaltString};
    let salt_bytes: [u8; 16] = rand::random();
    let salt = SaltString::encode_b64(&salt_bytes).map_err(|e| e.to_string())?;
    argon2::Argon2::default()
        .hash_password(password.as_bytes(), &salt)
        .map(|h| h.to_string())
        .map_err(|e| e.to_string())
}

/// Whether `password` matches the stored hash (false on a malformed hash).
pub fn verify_password(hash: &str, password: &str) -> bool {
    use argon2::password_hash::{PasswordHash, PasswordVerifier};
    PasswordHash::new(hash).is_ok_and(|parsed| {
        argon2::Argon2::default()
            .verify_password(password.as_bytes(), &parsed)
            .is_ok()
    })
}

/// A hash to compare against when the login does not exist, so an unknown
/// login takes as long as a wrong password.
pub fn decoy_hash() -> &'static str {
    static DECOY: std::sync::OnceLock<String> = std::sync::OnceLock::new();
    DECOY.get_or_init(|| hash_password("decoy password").unwrap_or_default())
}

/// 32 random bytes, hex: session tokens and form tokens.
pub fn new_token() -> String {
    let bytes: [u8; 32] = rand::random();
    hex(&bytes)
}

/// What the database keeps of a session token: its SHA-256, so a copy of
/// the database opens no session.
pub fn token_sha256(token: &str) -> String {
    hex(&Sha256::digest(token.as_bytes()))
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// Compares secrets in time independent of where they differ.
pub fn same_secret(a: &str, b: &str) -> bool {
    let (a, b) = (a.as_bytes(), b.as_bytes());
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

/// Failed logins under one name from one address before it is slowed down.
pub const FREE_FAILURES: u32 = 3;
/// Failed logins from one address, whatever the names, before it is slowed down.
pub const FREE_ADDRESS_FAILURES: u32 = 10;
/// A count of failures whose last failure is older than this starts again.
pub const FORGET_FAILURES_AFTER: Duration = Duration::hours(24);

/// After `failures` failed logins in a row, given `free` allowed ones,
/// until when the key takes no login: nothing for the first few, then 2,
/// 4, 8 … seconds, at most 15 minutes.
pub fn locked_until(failures: u32, free: u32, now: DateTime<Utc>) -> Option<DateTime<Utc>> {
    if failures < free {
        return None;
    }
    let exponent = (failures - free + 1).min(10);
    let seconds = (1i64 << exponent).min(15 * 60);
    Some(now + Duration::seconds(seconds))
}

/// The lock after each failure count, 1 to the count where it stops
/// growing (the last applies beyond): what one atomic update writes.
pub fn lock_schedule(free: u32, now: DateTime<Utc>) -> Vec<Option<DateTime<Utc>>> {
    (1..=free + 10)
        .map(|n| locked_until(n, free, now))
        .collect()
}

/// The throttle keys of a login attempt and the failures each allows: the
/// client's address, and the name tried from that address. The name is
/// hashed (the same for a name that exists and one that does not, so the
/// answers reveal nothing) and tied to the address, so guesses from one
/// place cannot keep the staff member out from another.
pub fn throttle_keys(login: &str, client: &str) -> [(String, u32); 2] {
    let name = hex(&Sha256::digest(login.trim().to_lowercase().as_bytes()));
    [
        (format!("a:{client}"), FREE_ADDRESS_FAILURES),
        (format!("n:{}@{client}", &name[..32]), FREE_FAILURES),
    ]
}

/// Argon2 checks running at once: each takes a core for tens of
/// milliseconds, so a burst of logins must queue instead of starving the
/// page and the desks.
pub static HASHING: tokio::sync::Semaphore = tokio::sync::Semaphore::const_new(2);

/// Checks `password` against `hash` off the async threads, at most
/// `HASHING` at a time; false when the check could not run.
pub async fn check_password(hash: String, password: String) -> bool {
    let Ok(_permit) = HASHING.acquire().await else {
        return false;
    };
    tokio::task::spawn_blocking(move || verify_password(&hash, &password))
        .await
        .unwrap_or(false)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_password_verifies_against_its_own_hash_only() {
        let hash = hash_password("正しい馬 battery staple").unwrap_or_default();
        assert!(hash.starts_with("$argon2id$"));
        assert!(verify_password(&hash, "正しい馬 battery staple"));
        assert!(!verify_password(&hash, "正しい馬 battery stapl"));
        assert!(!verify_password("not a hash", "x"));
        // A fresh salt each time.
        assert_ne!(
            hash,
            hash_password("正しい馬 battery staple").unwrap_or_default()
        );
    }

    #[test]
    fn throttle_keys_hide_the_name_and_tie_it_to_the_address() {
        let [(address, a_free), (name, n_free)] = throttle_keys("Suzuki ", "192.0.2.7");
        assert_eq!(address, "a:192.0.2.7");
        assert!(name.starts_with("n:") && name.ends_with("@192.0.2.7"));
        assert!(!name.to_lowercase().contains("suzuki"));
        assert_eq!(name, throttle_keys("suzuki", "192.0.2.7")[1].0);
        assert_ne!(name, throttle_keys("suzuki", "192.0.2.8")[1].0);
        assert!(a_free > n_free);
    }

    #[test]
    fn logins_slow_down_after_repeated_failures() {
        let now = Utc::now();
        assert_eq!(locked_until(0, FREE_FAILURES, now), None);
        assert_eq!(locked_until(2, FREE_FAILURES, now), None);
        assert_eq!(lock_schedule(FREE_FAILURES, now).len(), 13);
        let waits: Vec<i64> = (3..20)
            .filter_map(|f| locked_until(f, FREE_FAILURES, now))
            .map(|t| (t - now).num_seconds())
            .collect();
        assert_eq!(waits[0], 2);
        assert!(waits.windows(2).all(|w| w[0] <= w[1]), "{waits:?}");
        assert_eq!(waits.last().copied(), Some(15 * 60));
    }

    #[test]
    fn tokens_are_long_random_and_stored_hashed() {
        let (a, b) = (new_token(), new_token());
        assert_eq!(a.len(), 64);
        assert_ne!(a, b);
        assert_eq!(token_sha256(&a).len(), 64);
        assert_ne!(token_sha256(&a), a);
        assert!(same_secret(&a, &a.clone()));
        assert!(!same_secret(&a, &b));
        assert!(!same_secret(&a, &a[..63]));
    }
}
