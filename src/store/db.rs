//! The store's own connection and transaction types over two backends,
//! SQLite (embedded) and PostgreSQL (deployments).
//!
//! Every query is written once, in the SQL both accept (`$1` placeholders,
//! `ON CONFLICT`, `RETURNING`, `COUNT(*) FILTER`), and compiled for each
//! backend by `on_db!`, which expands its body once per backend. Rows are
//! read through `Cols`, so a row mapping is also written once. Nothing
//! outside `src/store/` sees a sqlx type. (Not sqlx's `Any` driver: it has
//! no chrono types and keeps `?` placeholders on PostgreSQL.)

use super::StoreError;
use sqlx::pool::PoolConnection;
use sqlx::postgres::PgRow;
use sqlx::sqlite::SqliteRow;
use sqlx::{Decode, PgConnection, Postgres, Row, Sqlite, SqliteConnection, Transaction, Type};
use std::sync::Arc;

/// Which database a store talks to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    Sqlite,
    Postgres,
}

/// A borrowed connection of either backend: what every query runs on.
pub enum Db<'a> {
    Sqlite(&'a mut SqliteConnection),
    Postgres(&'a mut PgConnection),
}

/// Anything a query can run on: a pooled connection or a transaction,
/// each bound to one office. Every query of the store is limited to that
/// office (`WHERE office = …`, and `office` in every row it writes): a
/// desk never sees another office's requests, bookings or mail.
pub trait Exec: Send {
    fn db(&mut self) -> Db<'_>;
    /// The office whose rows this connection reads and writes.
    fn office(&self) -> Arc<str>;
}

/// A pooled connection, for reads and single statements.
pub struct Conn(ConnInner, Arc<str>);

enum ConnInner {
    Sqlite(PoolConnection<Sqlite>),
    Postgres(PoolConnection<Postgres>),
}

impl Conn {
    pub(super) fn sqlite(c: PoolConnection<Sqlite>, office: Arc<str>) -> Conn {
        Conn(ConnInner::Sqlite(c), office)
    }
    pub(super) fn postgres(c: PoolConnection<Postgres>, office: Arc<str>) -> Conn {
        Conn(ConnInner::Postgres(c), office)
    }
}

impl Exec for Conn {
    fn db(&mut self) -> Db<'_> {
        match &mut self.0 {
            ConnInner::Sqlite(c) => Db::Sqlite(c),
            ConnInner::Postgres(c) => Db::Postgres(c),
        }
    }
    fn office(&self) -> Arc<str> {
        self.1.clone()
    }
}

/// A write transaction: committed with `commit`, rolled back when dropped.
/// The third part is who acts in it, when a staff member does: the history
/// rows it writes name them.
pub struct Tx(TxInner, Arc<str>, Option<String>);

enum TxInner {
    Sqlite(Transaction<'static, Sqlite>),
    Postgres(Transaction<'static, Postgres>),
}

impl Tx {
    pub(super) fn sqlite(t: Transaction<'static, Sqlite>, office: Arc<str>) -> Tx {
        Tx(TxInner::Sqlite(t), office, None)
    }
    pub(super) fn postgres(t: Transaction<'static, Postgres>, office: Arc<str>) -> Tx {
        Tx(TxInner::Postgres(t), office, None)
    }

    /// Staff member `who` acts in this transaction (empty: nobody named).
    pub fn act_as(&mut self, who: &str) {
        self.2 = Some(who.to_string()).filter(|w| !w.is_empty());
    }

    pub fn actor(&self) -> Option<&str> {
        self.2.as_deref()
    }

    pub async fn commit(self) -> Result<(), StoreError> {
        match self.0 {
            TxInner::Sqlite(t) => t.commit().await?,
            TxInner::Postgres(t) => t.commit().await?,
        }
        Ok(())
    }

    pub async fn rollback(self) -> Result<(), StoreError> {
        match self.0 {
            TxInner::Sqlite(t) => t.rollback().await?,
            TxInner::Postgres(t) => t.rollback().await?,
        }
        Ok(())
    }
}

impl Exec for Tx {
    fn db(&mut self) -> Db<'_> {
        match &mut self.0 {
            TxInner::Sqlite(t) => Db::Sqlite(t),
            TxInner::Postgres(t) => Db::Postgres(t),
        }
    }
    fn office(&self) -> Arc<str> {
        self.1.clone()
    }
}

/// Runs `$body` with `$c` bound to the backend's connection
/// (`&mut SqliteConnection` or `&mut PgConnection`): the body is compiled
/// once per backend, so a query and its row mapping are written once.
macro_rules! on_db {
    ($exec:expr, $c:ident => $body:expr) => {
        match $crate::store::Exec::db(&mut *$exec) {
            $crate::store::Db::Sqlite($c) => $body,
            $crate::store::Db::Postgres($c) => $body,
        }
    };
}
pub(crate) use on_db;

/// A value both backends decode the same way.
pub trait Column:
    for<'r> Decode<'r, Sqlite> + Type<Sqlite> + for<'r> Decode<'r, Postgres> + Type<Postgres>
{
}
impl<T> Column for T where
    T: for<'r> Decode<'r, Sqlite> + Type<Sqlite> + for<'r> Decode<'r, Postgres> + Type<Postgres>
{
}

/// Reads a column by name from a row of either backend.
pub trait Cols {
    fn col<T: Column>(&self, name: &str) -> Result<T, StoreError>;
}

impl Cols for SqliteRow {
    fn col<T: Column>(&self, name: &str) -> Result<T, StoreError> {
        Ok(self.try_get(name)?)
    }
}

impl Cols for PgRow {
    fn col<T: Column>(&self, name: &str) -> Result<T, StoreError> {
        Ok(self.try_get(name)?)
    }
}

/// `$from, $from+1, …` for an `IN (…)` list of `n` values after `from - 1`
/// other parameters: a batch is one statement, one round trip.
pub(crate) fn placeholders(from: usize, n: usize) -> String {
    (from..from + n)
        .map(|i| format!("${i}"))
        .collect::<Vec<_>>()
        .join(", ")
}
