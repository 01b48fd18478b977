//! The staff web page's own tables: `staff_users` (accounts, Argon2 hashes),
//! `login_throttle` (failed logins per name and address) and `web_sessions` (server-side sessions, by the SHA-256
//! of their token). Both are the deployment's, not one office's: an
//! account names its office; the web layer checks it on every page.

use super::{on_db, parse_ts, ts, Cols, Exec, StoreError};
use chrono::{DateTime, Utc};

/// A staff account.
#[derive(Debug, Clone)]
pub struct StaffUser {
    pub login: String,
    pub office: String,
    pub admin: bool,
    pub password_hash: String,
    pub created_at: DateTime<Utc>,
}

fn user_from(r: &impl Cols) -> Result<StaffUser, StoreError> {
    Ok(StaffUser {
        login: r.col("login")?,
        office: r.col("office")?,
        admin: r.col::<i64>("admin")? != 0,
        password_hash: r.col("password_hash")?,
        created_at: parse_ts("staff_users", &r.col::<String>("created_at")?)?,
    })
}

/// Adds an account; false when the login exists.
pub async fn add_user(
    conn: &mut dyn Exec,
    login: &str,
    office: &str,
    admin: bool,
    password_hash: &str,
    now: DateTime<Utc>,
) -> Result<bool, StoreError> {
    on_db!(conn, c => {
        let done = sqlx::query(
            "INSERT INTO staff_users (login, office, admin, password_hash, failed_logins, created_at)
             VALUES ($1, $2, $3, $4, 0, $5) ON CONFLICT (login) DO NOTHING",
        )
        .bind(login)
        .bind(office)
        .bind(i64::from(admin))
        .bind(password_hash)
        .bind(ts(now))
        .execute(&mut *c)
        .await?;
        Ok(done.rows_affected() == 1)
    })
}

pub async fn find_user(conn: &mut dyn Exec, login: &str) -> Result<Option<StaffUser>, StoreError> {
    on_db!(conn, c => {
        let row = sqlx::query("SELECT * FROM staff_users WHERE login = $1")
            .bind(login)
            .fetch_optional(&mut *c)
            .await?;
        row.as_ref().map(user_from).transpose()
    })
}

pub async fn users(conn: &mut dyn Exec) -> Result<Vec<StaffUser>, StoreError> {
    on_db!(conn, c => {
        let rows = sqlx::query("SELECT * FROM staff_users ORDER BY office, login")
            .fetch_all(&mut *c)
            .await?;
        rows.iter().map(user_from).collect()
    })
}

/// Removes an account and its sessions; whether it existed.
pub async fn remove_user(conn: &mut dyn Exec, login: &str) -> Result<bool, StoreError> {
    on_db!(conn, c => {
        sqlx::query("DELETE FROM web_sessions WHERE login = $1")
            .bind(login)
            .execute(&mut *c)
            .await?;
        let done = sqlx::query("DELETE FROM staff_users WHERE login = $1")
            .bind(login)
            .execute(&mut *c)
            .await?;
        Ok(done.rows_affected() == 1)
    })
}

/// A new password: the account's sessions end, its failures are forgotten.
pub async fn set_password(
    conn: &mut dyn Exec,
    login: &str,
    password_hash: &str,
) -> Result<bool, StoreError> {
    on_db!(conn, c => {
        sqlx::query("DELETE FROM web_sessions WHERE login = $1")
            .bind(login)
            .execute(&mut *c)
            .await?;
        let done = sqlx::query(
            "UPDATE staff_users SET password_hash = $2, failed_logins = 0, locked_until = NULL WHERE login = $1",
        )
        .bind(login)
        .bind(password_hash)
        .execute(&mut *c)
        .await?;
        Ok(done.rows_affected() == 1)
    })
}

/// Claims one login attempt under a throttle `key` (a client address, or a
/// name hash from an address), in one statement so concurrent guesses
/// cannot all slip through before the lock is written: counts it as a
/// failure (a success forgets the key) and sets the lock of the new count
/// (`locks[n-1]`, the last entry beyond). A count whose last failure is
/// before `forget_before` starts again. None while the key is locked.
pub async fn claim_throttle(
    conn: &mut dyn Exec,
    key: &str,
    now: DateTime<Utc>,
    forget_before: DateTime<Utc>,
    locks: &[Option<DateTime<Utc>>],
) -> Result<Option<u32>, StoreError> {
    let count =
        "(CASE WHEN login_throttle.last_at <= $3 THEN 1 ELSE login_throttle.failures + 1 END)";
    let mut case = String::from("CASE");
    for i in 0..locks.len() {
        case.push_str(&format!(" WHEN {count} = {} THEN ${}", i + 1, i + 4));
    }
    case.push_str(&format!(" ELSE ${} END", locks.len() + 3));
    let sql = format!(
        "INSERT INTO login_throttle (key, failures, locked_until, last_at) VALUES ($1, 1, $4, $2) \
         ON CONFLICT (key) DO UPDATE SET failures = {count}, locked_until = {case}, last_at = $2 \
         WHERE login_throttle.locked_until IS NULL OR login_throttle.locked_until <= $2 \
         RETURNING failures"
    );
    on_db!(conn, c => {
        // Only placeholders and numbers are formatted into it.
        let mut q = sqlx::query_scalar::<_, i64>(sqlx::AssertSqlSafe(sql.clone()))
            .bind(key)
            .bind(ts(now))
            .bind(ts(forget_before));
        for lock in locks {
            q = q.bind(lock.map(ts));
        }
        let n: Option<i64> = q.fetch_optional(&mut *c).await?;
        Ok(n.map(|n| u32::try_from(n).unwrap_or(u32::MAX)))
    })
}

/// A successful login forgets the failures counted under `keys`.
pub async fn forget_throttle(conn: &mut dyn Exec, keys: &[&str]) -> Result<(), StoreError> {
    for key in keys {
        on_db!(conn, c => {
            sqlx::query("DELETE FROM login_throttle WHERE key = $1")
                .bind(*key)
                .execute(&mut *c)
                .await
                .map(|_| ())
        })?;
    }
    Ok(())
}

/// A session as stored: whose, its form token, until when it lasts idle.
#[derive(Debug, Clone)]
pub struct Session {
    pub login: String,
    pub csrf: String,
    pub expires_at: DateTime<Utc>,
}

/// A successful login: failures forgotten, a session stored.
pub async fn open_session(
    conn: &mut dyn Exec,
    token_sha256: &str,
    login: &str,
    csrf: &str,
    now: DateTime<Utc>,
    expires_at: DateTime<Utc>,
) -> Result<(), StoreError> {
    on_db!(conn, c => {
        // Expired sessions are forgotten as new ones begin.
        sqlx::query("DELETE FROM web_sessions WHERE expires_at <= $1")
            .bind(ts(now))
            .execute(&mut *c)
            .await?;
        sqlx::query(
            "INSERT INTO web_sessions (token_sha256, login, csrf, created_at, expires_at) VALUES ($1, $2, $3, $4, $5)",
        )
        .bind(token_sha256)
        .bind(login)
        .bind(csrf)
        .bind(ts(now))
        .bind(ts(expires_at))
        .execute(&mut *c)
        .await?;
        Ok(())
    })
}

/// The live session of a token at `now`, begun after `begun_after` (the
/// absolute lifetime: a session kept busy still ends). Its idle expiry is moved to
/// `extend_to` only when that gains more than `slack`: a page view is then
/// a read, not a write (a write per view, on SQLite, queued the desk's own
/// transactions behind a staff member paging through the day).
pub async fn session(
    conn: &mut dyn Exec,
    token_sha256: &str,
    now: DateTime<Utc>,
    begun_after: DateTime<Utc>,
    extend_to: DateTime<Utc>,
    slack: chrono::Duration,
) -> Result<Option<Session>, StoreError> {
    on_db!(conn, c => {
        let row = sqlx::query(
            "SELECT login, csrf, expires_at FROM web_sessions WHERE token_sha256 = $1 AND expires_at > $2 AND created_at > $3",
        )
        .bind(token_sha256)
        .bind(ts(now))
        .bind(ts(begun_after))
        .fetch_optional(&mut *c)
        .await?;
        let Some(r) = row else {
            return Ok(None);
        };
        let mut session = Session {
            login: r.col("login")?,
            csrf: r.col("csrf")?,
            expires_at: parse_ts("web_sessions", &r.col::<String>("expires_at")?)?,
        };
        if extend_to - session.expires_at > slack {
            sqlx::query("UPDATE web_sessions SET expires_at = $2 WHERE token_sha256 = $1")
                .bind(token_sha256)
                .bind(ts(extend_to))
                .execute(&mut *c)
                .await?;
            session.expires_at = extend_to;
        }
        Ok(Some(session))
    })
}

pub async fn close_session(conn: &mut dyn Exec, token_sha256: &str) -> Result<(), StoreError> {
    on_db!(conn, c => {
        sqlx::query("DELETE FROM web_sessions WHERE token_sha256 = $1")
            .bind(token_sha256)
            .execute(&mut *c)
            .await?;
        Ok(())
    })
}
