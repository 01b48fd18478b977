//! Storage: the only place with SQL. SQLite through sqlx today; every query
//! sits here so a Postgres backend can follow. Migrations are embedded and
//! run at start-up. Times are stored as UTC RFC 3339 text.

pub mod bookings;
pub mod office;
pub mod outbox;
pub mod processed;
pub mod report;
pub mod requests;

pub use bookings::{Booking, NewBooking};
pub use outbox::OutboxRow;
pub use processed::{Processed, ProcessedKey, Record};
pub use requests::{NewRequest, RequestRow};

use chrono::{DateTime, SecondsFormat, Utc};
use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqlitePoolOptions, SqliteSynchronous};
use sqlx::{Sqlite, SqlitePool, Transaction};
use std::str::FromStr;
use std::time::Duration;

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("database error: {0}")]
    Db(#[from] sqlx::Error),
    #[error("database migration failed: {0}")]
    Migrate(#[from] sqlx::migrate::MigrateError),
    #[error("cannot create database file {path}: {source}")]
    Create {
        path: String,
        source: std::io::Error,
    },
    #[error("corrupt row in {table}: {problem}")]
    Corrupt {
        table: &'static str,
        problem: String,
    },
}

impl StoreError {
    /// Busy/locked databases and I/O hiccups pass; retry them.
    pub fn is_transient(&self) -> bool {
        match self {
            StoreError::Db(sqlx::Error::Database(e)) => {
                let msg = e.message().to_ascii_lowercase();
                msg.contains("locked")
                    || msg.contains("busy")
                    || msg.contains("disk")
                    || msg.contains("full")
            }
            StoreError::Db(
                sqlx::Error::PoolTimedOut | sqlx::Error::Io(_) | sqlx::Error::PoolClosed,
            ) => true,
            _ => false,
        }
    }
}

pub type Tx = Transaction<'static, Sqlite>;

#[derive(Clone)]
pub struct Store {
    pool: SqlitePool,
    /// Connections for the per-copy sent-folder marks (see `open`).
    marks: SqlitePool,
    /// The sent journal (see `open_sent_journal`).
    journal: SqlitePool,
    /// Turns for this process's busy writers (the inbox batches and the
    /// sender), first come first served. SQLite's busy handler polls with
    /// growing sleeps and can miss every gap between back-to-back batch
    /// transactions (a sender starved for seconds was measured); queued
    /// here, the sender writes as soon as the current batch commits.
    turns: std::sync::Arc<tokio::sync::Mutex<()>>,
}

/// A turn to write, held until dropped (see `Store::turn`).
pub type WriteTurn = tokio::sync::OwnedMutexGuard<()>;

pub fn ts(t: DateTime<Utc>) -> String {
    t.to_rfc3339_opts(SecondsFormat::Secs, true)
}

/// A savepoint inside a transaction: one message of a batch is undone
/// alone when it fails.
#[derive(Debug, Clone, Copy)]
pub enum Savepoint {
    Begin,
    Release,
    Undo,
}

pub async fn savepoint(tx: &mut Tx, step: Savepoint) -> Result<(), StoreError> {
    let sql = match step {
        Savepoint::Begin => "SAVEPOINT step",
        Savepoint::Release => "RELEASE SAVEPOINT step",
        Savepoint::Undo => "ROLLBACK TO SAVEPOINT step; RELEASE SAVEPOINT step",
    };
    sqlx::raw_sql(sql).execute(&mut **tx).await?;
    Ok(())
}

/// `?, ?, ?` for an `IN (…)` list of `n` values: a batch is one statement,
/// one round trip to the database thread, not one per row.
pub(crate) fn placeholders(n: usize) -> String {
    vec!["?"; n].join(", ")
}

pub fn parse_ts(table: &'static str, s: &str) -> Result<DateTime<Utc>, StoreError> {
    DateTime::parse_from_rfc3339(s)
        .map(|t| t.with_timezone(&Utc))
        .map_err(|e| StoreError::Corrupt {
            table,
            problem: format!("bad time {s:?}: {e}"),
        })
}

impl Store {
    /// Opens (creating with mode 0600 and migrating when needed) the database.
    pub async fn open(url: &str) -> Result<Store, StoreError> {
        if let Some(path) = url.strip_prefix("sqlite://") {
            // Query parameters (?mode=rwc) are not part of the file name.
            let path = path.split('?').next().unwrap_or(path);
            if !path.starts_with(':') && !std::path::Path::new(path).exists() {
                if let Some(dir) = std::path::Path::new(path).parent() {
                    if !dir.as_os_str().is_empty() {
                        std::fs::create_dir_all(dir).map_err(|source| StoreError::Create {
                            path: path.to_string(),
                            source,
                        })?;
                    }
                }
                create_private_file(path).map_err(|source| StoreError::Create {
                    path: path.to_string(),
                    source,
                })?;
            }
        }
        let options = SqliteConnectOptions::from_str(url)?
            .create_if_missing(true)
            .journal_mode(SqliteJournalMode::Wal)
            .synchronous(SqliteSynchronous::Full)
            .foreign_keys(true)
            .busy_timeout(Duration::from_secs(10))
            // Savepoints (one per message of a batch) journal the pages they
            // change; in memory, not in a temporary file.
            .pragma("temp_store", "memory");
        let pool = SqlitePoolOptions::new()
            .max_connections(4)
            .acquire_timeout(Duration::from_secs(30))
            .connect_with(options.clone())
            .await?;
        sqlx::migrate!("./migrations").run(&pool).await?;
        // Copied marks are written one per copy, right after the server took
        // it. In WAL mode a commit without fsync survives a killed process
        // (the frames are in the OS's cache); the next FULL commit makes them
        // durable against power loss too. State changes keep FULL.
        let marks = SqlitePoolOptions::new()
            .max_connections(2)
            .acquire_timeout(Duration::from_secs(30))
            .connect_with(options.synchronous(SqliteSynchronous::Normal))
            .await?;
        let journal = open_sent_journal(url).await?;
        Ok(Store {
            pool,
            marks,
            journal,
            turns: Default::default(),
        })
    }

    /// A write transaction that takes the lock at once, so two daemons on
    /// one database serialise instead of failing on upgrade.
    pub async fn begin(&self) -> Result<Tx, StoreError> {
        Ok(self.pool.begin_with("BEGIN IMMEDIATE").await?)
    }

    /// Waits for this process's turn to write (see `turns`). Other daemons
    /// on the same database are still ordered by SQLite's lock.
    pub async fn turn(&self) -> WriteTurn {
        self.turns.clone().lock_owned().await
    }

    /// One connection from the pool, for reads and single statements.
    pub async fn conn(&self) -> Result<sqlx::pool::PoolConnection<Sqlite>, StoreError> {
        Ok(self.pool.acquire().await?)
    }

    /// A connection to the sent journal, for one sent mark.
    pub async fn journal_conn(&self) -> Result<sqlx::pool::PoolConnection<Sqlite>, StoreError> {
        Ok(self.journal.acquire().await?)
    }

    /// A connection for one copied mark (no fsync; see `open`).
    pub async fn marks_conn(&self) -> Result<sqlx::pool::PoolConnection<Sqlite>, StoreError> {
        Ok(self.marks.acquire().await?)
    }

    pub fn pool(&self) -> &SqlitePool {
        &self.pool
    }
}

/// The sent journal: a small SQLite file beside the database
/// (`PATH-sent`) where each mail is marked sent right after the SMTP server
/// accepted it, before the next submission on that connection. A file of
/// its own, so a mark never waits for the write lock an inbox batch holds;
/// without fsync (WAL, synchronous=NORMAL), which survives a killed process;
/// a mark lost to power loss resends that mail with the same Message-ID.
/// Marks are folded into `outbox` by the next claim (`outbox::fold_sent`).
/// It also holds the mail in flight (`in_flight`): written with the
/// previous mark, before the end of data, and cleared with its own mark.
async fn open_sent_journal(url: &str) -> Result<SqlitePool, StoreError> {
    let file = url
        .strip_prefix("sqlite://")
        .map(|p| p.split('?').next().unwrap_or(p))
        .filter(|p| !p.is_empty() && !p.starts_with(':'));
    let options = match file {
        Some(path) => {
            let journal = format!("{path}-sent");
            if !std::path::Path::new(&journal).exists() {
                create_private_file(&journal).map_err(|source| StoreError::Create {
                    path: journal.clone(),
                    source,
                })?;
            }
            SqliteConnectOptions::new().filename(&journal)
        }
        None => SqliteConnectOptions::from_str("sqlite::memory:")?,
    }
    .create_if_missing(true)
    .journal_mode(SqliteJournalMode::Wal)
    .synchronous(SqliteSynchronous::Normal)
    .busy_timeout(Duration::from_secs(10));
    let max = if file.is_some() { 2 } else { 1 };
    let pool = SqlitePoolOptions::new()
        .max_connections(max)
        .acquire_timeout(Duration::from_secs(30))
        .connect_with(options)
        .await?;
    sqlx::query(
        "CREATE TABLE IF NOT EXISTS sent_marks (message_id TEXT PRIMARY KEY, sent_at TEXT NOT NULL)",
    )
    .execute(&pool)
    .await?;
    // Mail whose end of data was (or is being) written and whose server
    // answer is not recorded: after a crash, in doubt until its copy shows.
    sqlx::query(
        "CREATE TABLE IF NOT EXISTS in_flight (message_id TEXT PRIMARY KEY, since TEXT NOT NULL)",
    )
    .execute(&pool)
    .await?;
    Ok(pool)
}

#[cfg(unix)]
fn create_private_file(path: &str) -> std::io::Result<()> {
    use std::os::unix::fs::OpenOptionsExt;
    std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(path)
        .map(|_| ())
}

#[cfg(not(unix))]
fn create_private_file(path: &str) -> std::io::Result<()> {
    std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .open(path)
        .map(|_| ())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A database written by schema v2 (issue 2) upgrades in place: the
    /// rebuilt tables keep every row, the booking keeps its slot, and the
    /// one-booking-per-slot index still holds.
    #[tokio::test]
    async fn a_v2_database_upgrades_in_place() {
        let dir = tempfile::tempdir().expect("tempdir");
        let url = format!("sqlite://{}", dir.path().join("v2.db").display());
        {
            let options = SqliteConnectOptions::from_str(&url)
                .expect("url")
                .create_if_missing(true)
                .foreign_keys(true);
            let pool = SqlitePoolOptions::new()
                .max_connections(1)
                .connect_with(options)
                .await
                .expect("pool");
            sqlx::migrate!("./migrations")
                .run_to(2, &pool)
                .await
                .expect("v2");
            for sql in [
                r#"INSERT INTO requests (id, ref, token, state, seeker_address, data, offered, thread_subject, created_at, updated_at)
                   VALUES (1, 'ABC234', 'tok', 'booked', 'taro@example.jp', '{"name":"山田 太郎","seeker_number":"32010-12345678"}', '[]', '予約', '2026-11-25T01:00:00Z', '2026-11-25T01:05:00Z')"#,
                "INSERT INTO thread_ids (message_id, request_id) VALUES ('a@b', 1)",
                "INSERT INTO history (request_id, at, from_state, to_state, event) VALUES (1, '2026-11-25T01:05:00Z', 'offered', 'booked', 'reply')",
                "INSERT INTO bookings (reservation, request_id, room_id, slot_start, status, consent_message_id, consent_from, consent_at, terms_sha256, created_at)
                   VALUES ('261203-ABCD', 1, 'room', '2026-12-03T02:00:00Z', 'confirmed', 'c@d', 'taro@example.jp', '2026-11-25T01:05:00Z', 'ff', '2026-11-25T01:05:00Z')",
            ] {
                sqlx::query(sql).execute(&pool).await.expect(sql);
            }
            pool.close().await;
        }
        let store = Store::open(&url).await.expect("upgrade");
        let mut conn = store.conn().await.expect("conn");
        assert_eq!(
            requests::backfill_booked_slots(&mut conn, chrono_tz::Asia::Tokyo)
                .await
                .expect("backfill"),
            1
        );
        let row = requests::find_by_id(&mut conn, 1)
            .await
            .expect("read")
            .expect("row kept");
        assert_eq!(row.machine.state, crate::core::booking::State::Booked);
        let slot = row.machine.booked.expect("slot filled in");
        assert_eq!(slot.date.to_string(), "2026-12-03");
        assert_eq!(slot.start.to_string(), "11:00:00");
        let seeker_number: Option<String> =
            sqlx::query_scalar("SELECT seeker_number FROM requests WHERE id = 1")
                .fetch_one(&mut *conn)
                .await
                .expect("number");
        assert_eq!(seeker_number.as_deref(), Some("32010-12345678"));
        let b = bookings::find_by_reservation(&mut conn, "261203-ABCD")
            .await
            .expect("read")
            .expect("booking kept");
        assert_eq!(
            (b.status.as_str(), b.booked_by.as_str()),
            ("confirmed", "seeker")
        );
        assert_eq!(
            requests::find_by_thread(&mut conn, &["a@b".to_string()])
                .await
                .expect("thread")
                .map(|r| r.id),
            Some(1)
        );
        let again = sqlx::query("INSERT INTO bookings (reservation, request_id, room_id, slot_start, status, created_at) VALUES ('X', 1, 'room', '2026-12-03T02:00:00Z', 'confirmed', '2026-11-25T01:05:00Z')")
            .execute(&mut *conn)
            .await;
        assert!(again.is_err(), "still one booking per room and slot");
        let fk: Vec<sqlx::sqlite::SqliteRow> = sqlx::query("PRAGMA foreign_key_check")
            .fetch_all(&mut *conn)
            .await
            .expect("fk check");
        assert!(fk.is_empty(), "foreign keys intact");
        let rewrite = sqlx::query("UPDATE history SET event = 'x'")
            .execute(&mut *conn)
            .await;
        assert!(rewrite.is_err(), "history is append-only");
        let erase = sqlx::query("DELETE FROM history").execute(&mut *conn).await;
        assert!(erase.is_err(), "history is append-only");
    }
}
