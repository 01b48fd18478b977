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
}

pub fn ts(t: DateTime<Utc>) -> String {
    t.to_rfc3339_opts(SecondsFormat::Secs, true)
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
            .busy_timeout(Duration::from_secs(10));
        let pool = SqlitePoolOptions::new()
            .max_connections(4)
            .acquire_timeout(Duration::from_secs(30))
            .connect_with(options)
            .await?;
        sqlx::migrate!("./migrations").run(&pool).await?;
        Ok(Store { pool })
    }

    /// A write transaction that takes the lock at once, so two daemons on
    /// one database serialise instead of failing on upgrade.
    pub async fn begin(&self) -> Result<Tx, StoreError> {
        Ok(self.pool.begin_with("BEGIN IMMEDIATE").await?)
    }

    /// One connection from the pool, for reads and single statements.
    pub async fn conn(&self) -> Result<sqlx::pool::PoolConnection<Sqlite>, StoreError> {
        Ok(self.pool.acquire().await?)
    }

    pub fn pool(&self) -> &SqlitePool {
        &self.pool
    }
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
