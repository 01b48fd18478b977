//! Storage: the only place with SQL, for both backends (embedded SQLite, a
//! shared PostgreSQL; `db` holds what differs). Migrations are embedded and
//! run at start-up. Times are stored as UTC RFC 3339 text.

pub mod bookings;
pub mod copy;
mod db;
pub mod leases;
pub mod meetings;
pub mod office;
pub mod outbox;
pub mod processed;
pub mod report;
pub mod requests;
pub mod staff;
pub mod stats;
pub mod unreachable;
pub mod waitlist;
pub mod writes;

pub use bookings::{Booking, NewBooking};
pub(crate) use db::on_db;
pub(crate) use db::{placeholders, Cols};
pub use db::{Backend, Conn, Db, Exec, Tx};
pub use outbox::OutboxRow;
pub use processed::{Processed, ProcessedKey, Record};
pub use requests::{NewRequest, RequestRow};

use chrono::{DateTime, SecondsFormat, Utc};
use sqlx::postgres::{PgConnectOptions, PgPool, PgPoolOptions};
use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqlitePoolOptions, SqliteSynchronous};
use sqlx::SqlitePool;
use std::str::FromStr;
use std::sync::Arc;
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
    #[error("database url must start with sqlite:// or postgres:// (got {0:?})")]
    Url(String),
}

impl StoreError {
    /// Busy/locked databases, lost connections, and PostgreSQL's
    /// serialization failures and deadlocks pass; retry them.
    pub fn is_transient(&self) -> bool {
        match self {
            StoreError::Db(sqlx::Error::Database(e)) => {
                if let Some(code) = e.code() {
                    // 40001 serialization failure, 40P01 deadlock, 55P03 lock
                    // not available, 57P0x shutdown, 08xxx connection, 53xxx
                    // out of resources.
                    if ["40001", "40P01", "55P03", "57P01", "57P02", "57P03"]
                        .contains(&code.as_ref())
                        || code.starts_with("08")
                        || code.starts_with("53")
                    {
                        return true;
                    }
                }
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

/// The PostgreSQL advisory lock key of an office's write transactions:
/// FNV-1a of "yoyaku:" and the office id. Offices write in parallel; a
/// collision of two keys only serialises two offices.
fn writer_lock(office: &str) -> i64 {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for b in b"yoyaku:".iter().chain(office.as_bytes()) {
        h ^= u64::from(*b);
        h = h.wrapping_mul(0x0100_0000_01b3);
    }
    i64::from_ne_bytes(h.to_ne_bytes())
}

#[derive(Clone)]
enum Pool {
    Sqlite(SqlitePool),
    Postgres(PgPool),
}

impl Pool {
    async fn acquire(&self, office: &Arc<str>) -> Result<Conn, StoreError> {
        Ok(match self {
            Pool::Sqlite(p) => Conn::sqlite(p.acquire().await?, office.clone()),
            Pool::Postgres(p) => Conn::postgres(p.acquire().await?, office.clone()),
        })
    }
}

#[derive(Clone)]
pub struct Store {
    pool: Pool,
    /// Connections for the per-copy sent-folder marks (see `open`).
    marks: Pool,
    /// The sent journal (see `open_sent_journal`).
    journal: Pool,
    /// Turns for this process's busy writers (the inbox batches and the
    /// sender), first come first served. SQLite's busy handler polls with
    /// growing sleeps and can miss every gap between back-to-back batch
    /// transactions (a sender starved for seconds was measured); queued
    /// here, the sender writes as soon as the current batch commits.
    turns: Arc<tokio::sync::Mutex<()>>,
    /// The office every connection and transaction of this handle is
    /// limited to (see `Exec`); `for_office` makes a handle for another.
    office: Arc<str>,
}

/// The office of a single-office deployment.
pub const DEFAULT_OFFICE: &str = "default";

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
    on_db!(tx, c => sqlx::raw_sql(sql).execute(&mut *c).await.map(|_| ()))?;
    Ok(())
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
    /// Opens (creating and migrating when needed) the database:
    /// `sqlite://PATH` (the file is created with mode 0600) or
    /// `postgres://…` (TLS and other options as sqlx reads them from the URL).
    pub async fn open(url: &str) -> Result<Store, StoreError> {
        if url.starts_with("postgres://") || url.starts_with("postgresql://") {
            return Store::open_postgres(url).await;
        }
        if !url.starts_with("sqlite:") {
            return Err(StoreError::Url(redact_url(url)));
        }
        // Desks started together on a new file would each set it up and
        // migrate it ("table requests already exists", "database is
        // locked"): one at a time, until its pools are open and migrated.
        let _setting_up = match url.strip_prefix("sqlite://") {
            Some(path) if !path.starts_with(':') && !path.is_empty() => {
                let path = path.split('?').next().unwrap_or(path);
                if let Some(dir) = std::path::Path::new(path).parent() {
                    if !dir.as_os_str().is_empty() {
                        std::fs::create_dir_all(dir).map_err(|source| StoreError::Create {
                            path: path.to_string(),
                            source,
                        })?;
                    }
                }
                Some(MigrationLock::take(&format!("{path}-migrate.lock")).await?)
            }
            _ => None,
        };
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
        sqlx::migrate!("./migrations/sqlite").run(&pool).await?;
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
            pool: Pool::Sqlite(pool),
            marks: Pool::Sqlite(marks),
            journal: Pool::Sqlite(journal),
            turns: Default::default(),
            office: Arc::from(DEFAULT_OFFICE),
        })
    }

    /// PostgreSQL: the sent journal is a pair of tables of the same
    /// database (a commit there does not wait for another writer's
    /// transaction, so it needs no file of its own). Three pools all the
    /// same: an office's pass may hold a connection of the main pool while
    /// it asks for a mark's or the journal's, and with every office of a
    /// process drawing on one pool those second asks could wait for each
    /// other until the acquire time-out (measured: a 50-office burst took
    /// 15 to 60 s instead of seconds). Migrations run under sqlx's advisory
    /// lock, so desks started together migrate once.
    async fn open_postgres(url: &str) -> Result<Store, StoreError> {
        let options = PgConnectOptions::from_str(url)?;
        let pool = |max: u32| {
            PgPoolOptions::new()
                .max_connections(max)
                .acquire_timeout(Duration::from_secs(30))
                .connect_with(options.clone())
        };
        let main = pool(16).await?;
        sqlx::migrate!("./migrations/postgres").run(&main).await?;
        Ok(Store {
            pool: Pool::Postgres(main),
            marks: Pool::Postgres(pool(4).await?),
            journal: Pool::Postgres(pool(4).await?),
            turns: Default::default(),
            office: Arc::from(DEFAULT_OFFICE),
        })
    }

    /// The same database, limited to another office. The pools are
    /// shared; so are this process's write turns on SQLite (one writer per
    /// file). On PostgreSQL each office takes its turns alone: its
    /// transactions are already ordered by the office's advisory lock, and
    /// one queue for all offices made a process write one office at a time
    /// (measured: a 50-office burst took 17 s where the relay took 7).
    pub fn for_office(&self, office: &str) -> Store {
        let turns = match self.pool {
            Pool::Sqlite(_) => self.turns.clone(),
            Pool::Postgres(_) => Default::default(),
        };
        Store {
            office: Arc::from(office),
            turns,
            ..self.clone()
        }
    }

    pub fn office(&self) -> &str {
        &self.office
    }

    pub fn backend(&self) -> Backend {
        match self.pool {
            Pool::Sqlite(_) => Backend::Sqlite,
            Pool::Postgres(_) => Backend::Postgres,
        }
    }

    /// A write transaction. Write transactions are serialised, as every
    /// decision reads a request and the free slots and then writes them: on
    /// SQLite by taking the write lock at once (two daemons on one file
    /// serialise instead of failing on upgrade), on PostgreSQL by an
    /// advisory lock held until commit. Row locks alone would let a timer
    /// and a reply step the same request from the same old state.
    pub async fn begin(&self) -> Result<Tx, StoreError> {
        Ok(match &self.pool {
            Pool::Sqlite(p) => {
                Tx::sqlite(p.begin_with("BEGIN IMMEDIATE").await?, self.office.clone())
            }
            Pool::Postgres(p) => {
                let mut tx = p.begin().await?;
                sqlx::query("SELECT pg_advisory_xact_lock($1)")
                    .bind(writer_lock(&self.office))
                    .execute(&mut *tx)
                    .await?;
                Tx::postgres(tx, self.office.clone())
            }
        })
    }

    /// Waits for this process's turn to write (see `turns`). Other daemons
    /// on the same database are still ordered by the database's locks.
    pub async fn turn(&self) -> WriteTurn {
        self.turns.clone().lock_owned().await
    }

    /// One connection from the pool, for reads and single statements.
    pub async fn conn(&self) -> Result<Conn, StoreError> {
        self.pool.acquire(&self.office).await
    }

    /// A connection to the sent journal, for one sent mark.
    pub async fn journal_conn(&self) -> Result<Conn, StoreError> {
        self.journal.acquire(&self.office).await
    }

    /// A connection for one copied mark (no fsync on SQLite; see `open`).
    pub async fn marks_conn(&self) -> Result<Conn, StoreError> {
        self.marks.acquire(&self.office).await
    }

    /// Rows of the caller's own SQL (`$1` placeholders, text arguments), on
    /// either backend: for tests and checks that look into the tables. The
    /// desk's own queries live in this module's files.
    #[doc(hidden)]
    pub async fn probe_rows<T>(&self, sql: &str, args: &[&str]) -> Result<Vec<T>, StoreError>
    where
        T: for<'r> sqlx::FromRow<'r, sqlx::sqlite::SqliteRow>
            + for<'r> sqlx::FromRow<'r, sqlx::postgres::PgRow>
            + Send
            + Unpin,
    {
        let mut conn = self.conn().await?;
        on_db!(&mut conn, c => {
            let mut query = sqlx::query_as(sqlx::AssertSqlSafe(sql.to_string()));
            for a in args {
                query = query.bind(a.to_string());
            }
            Ok(query.fetch_all(&mut *c).await?)
        })
    }

    /// The first column of the first row of the caller's SQL (see `probe_rows`).
    #[doc(hidden)]
    pub async fn probe_value<T>(&self, sql: &str, args: &[&str]) -> Result<T, StoreError>
    where
        T: db::Column + Send + Unpin,
    {
        let mut conn = self.conn().await?;
        on_db!(&mut conn, c => {
            let mut query = sqlx::query_scalar(sqlx::AssertSqlSafe(sql.to_string()));
            for a in args {
                query = query.bind(a.to_string());
            }
            Ok(query.fetch_one(&mut *c).await?)
        })
    }

    /// Runs the caller's statement (see `probe_rows`); rows affected.
    #[doc(hidden)]
    pub async fn probe_execute(&self, sql: &str, args: &[&str]) -> Result<u64, StoreError> {
        let mut conn = self.conn().await?;
        on_db!(&mut conn, c => {
            let mut query = sqlx::query(sqlx::AssertSqlSafe(sql.to_string()));
            for a in args {
                query = query.bind(a.to_string());
            }
            Ok(query.execute(&mut *c).await?.rows_affected())
        })
    }

    /// Closes every connection (tests and tools that drop a database).
    pub async fn close(&self) {
        for pool in [&self.pool, &self.marks, &self.journal] {
            match pool {
                Pool::Sqlite(p) => p.close().await,
                Pool::Postgres(p) => p.close().await,
            }
        }
    }
}

/// An exclusive lock on a file beside the SQLite database, held while
/// migrations run; released when dropped (or when the process dies).
struct MigrationLock(#[allow(dead_code)] std::fs::File);

impl MigrationLock {
    async fn take(path: &str) -> Result<MigrationLock, StoreError> {
        let create = |source| StoreError::Create {
            path: path.to_string(),
            source,
        };
        if !std::path::Path::new(path).exists() {
            match create_private_file(path) {
                Ok(()) => {}
                Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {}
                Err(e) => return Err(create(e)),
            }
        }
        let file = std::fs::OpenOptions::new()
            .write(true)
            .open(path)
            .map_err(create)?;
        // Blocks until the desk migrating now is done.
        let file = tokio::task::spawn_blocking(move || file.lock().map(|()| file))
            .await
            .map_err(|e| create(std::io::Error::other(e)))?
            .map_err(create)?;
        Ok(MigrationLock(file))
    }
}

/// A database URL without its password, for error messages.
pub fn redact_url(url: &str) -> String {
    match (url.find("://"), url.rfind('@')) {
        (Some(scheme), Some(at)) if at > scheme => {
            let userinfo = &url[scheme + 3..at];
            let user = userinfo.split(':').next().unwrap_or("");
            format!("{}{}:***{}", &url[..scheme + 3], user, &url[at..])
        }
        _ => url.to_string(),
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

    /// Desks started together on a new database file migrate it once; none
    /// fails on a table another just created.
    #[tokio::test]
    async fn desks_opening_a_new_file_together_all_start() {
        for round in 0..3 {
            let dir = tempfile::tempdir().expect("tempdir");
            let url = format!("sqlite://{}", dir.path().join("new.db").display());
            let opens = (0..4).map(|_| {
                let url = url.clone();
                tokio::spawn(async move { Store::open(&url).await.map(|_| ()) })
            });
            for (i, r) in futures::future::join_all(opens)
                .await
                .into_iter()
                .enumerate()
            {
                let r = r.expect("task");
                assert!(r.is_ok(), "round {round}, desk {i}: {r:?}");
            }
        }
    }

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
            sqlx::migrate!("./migrations/sqlite")
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
        let raw = SqlitePoolOptions::new()
            .max_connections(1)
            .connect_with(
                SqliteConnectOptions::from_str(&url)
                    .expect("url")
                    .foreign_keys(true),
            )
            .await
            .expect("raw pool");
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
                .fetch_one(&raw)
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
            .execute(&raw)
            .await;
        assert!(again.is_err(), "still one booking per room and slot");
        let fk: Vec<sqlx::sqlite::SqliteRow> = sqlx::query("PRAGMA foreign_key_check")
            .fetch_all(&raw)
            .await
            .expect("fk check");
        assert!(fk.is_empty(), "foreign keys intact");
        let rewrite = sqlx::query("UPDATE history SET event = 'x'")
            .execute(&raw)
            .await;
        assert!(rewrite.is_err(), "history is append-only");
        let erase = sqlx::query("DELETE FROM history").execute(&raw).await;
        assert!(erase.is_err(), "history is append-only");
    }
}
