//! Copying one office's rows from one database to another (`yoyaku
//! migrate-db`): every table, row ids renumbered in the target (its
//! sequences serve other offices too) and references to requests carried
//! over, in one transaction of the target.

use super::{on_db, Cols, Exec, Store, StoreError, Tx};
use sqlx::AssertSqlSafe;
use std::collections::HashMap;

/// A column's type, as both backends store it.
#[derive(Clone, Copy)]
enum Kind {
    Text,
    Int,
    Bytes,
}

/// A value read from a source row.
enum Value {
    Text(Option<String>),
    Int(Option<i64>),
    Bytes(Option<Vec<u8>>),
}

use Kind::{Bytes, Int, Text};

/// The tables in copy order (requests first: the others refer to them),
/// with their columns (`id` is renumbered, `request_id` and `booking_id`
/// mapped).
const TABLES: &[(&str, &[(&str, Kind)])] = &[
    (
        "requests",
        &[
            ("id", Int),
            ("ref", Text),
            ("token", Text),
            ("state", Text),
            ("seeker_address", Text),
            ("seeker_number", Text),
            ("data", Text),
            ("offered", Text),
            ("offered_at", Text),
            ("followed_up_at", Text),
            ("offer_terms_sha256", Text),
            ("booked_slot", Text),
            ("booked_at", Text),
            ("reminded_at", Text),
            ("contact_at", Text),
            ("next_due_at", Text),
            ("thread_subject", Text),
            ("last_inbound_id", Text),
            ("thread_refs", Text),
            ("created_at", Text),
            ("updated_at", Text),
            ("name_key", Text),
            ("waitlist_slot", Text),
        ],
    ),
    ("thread_ids", &[("message_id", Text), ("request_id", Int)]),
    (
        "bookings",
        &[
            ("id", Int),
            ("reservation", Text),
            ("request_id", Int),
            ("room_id", Text),
            ("slot_start", Text),
            ("status", Text),
            ("booked_by", Text),
            ("consent_message_id", Text),
            ("consent_from", Text),
            ("consent_at", Text),
            ("terms_sha256", Text),
            ("cancelled_by", Text),
            ("excused", Int),
            ("outcome_at", Text),
            ("created_at", Text),
            ("meeting_id", Text),
            ("meeting_passcode", Text),
            ("meeting_url", Text),
            ("meeting_host", Text),
        ],
    ),
    (
        "meeting_jobs",
        &[
            ("booking_id", Int),
            ("want", Text),
            ("confirmed", Int),
            ("fallback_room", Text),
            ("maybe_created", Int),
            ("host_index", Int),
            ("staff_told", Int),
            ("attempts", Int),
            ("last_error", Text),
            ("done", Int),
            ("next_attempt_at", Text),
            ("lease_owner", Text),
            ("lease_until", Text),
            ("created_at", Text),
            ("updated_at", Text),
        ],
    ),
    (
        "history",
        &[
            ("id", Int),
            ("request_id", Int),
            ("at", Text),
            ("from_state", Text),
            ("to_state", Text),
            ("event", Text),
            ("actor", Text),
        ],
    ),
    (
        "processed",
        &[
            ("mailbox", Text),
            ("uidvalidity", Int),
            ("uid", Int),
            ("message_id", Text),
            ("raw_sha256", Text),
            ("request_id", Int),
            ("outcome", Text),
            ("folder", Text),
            ("moved", Int),
            ("processed_at", Text),
            ("sender", Text),
            ("filing_owner", Text),
            ("filing_until", Text),
        ],
    ),
    (
        "failures",
        &[
            ("mailbox", Text),
            ("uidvalidity", Int),
            ("uid", Int),
            ("attempts", Int),
            ("last_error", Text),
            ("updated_at", Text),
        ],
    ),
    (
        "outbox",
        &[
            ("id", Int),
            ("message_id", Text),
            ("request_id", Int),
            ("kind", Text),
            ("recipient", Text),
            ("raw", Bytes),
            ("status", Text),
            ("attempts", Int),
            ("next_attempt_at", Text),
            ("last_error", Text),
            ("appended", Int),
            ("created_at", Text),
            ("sent_at", Text),
            ("variant", Text),
            ("lease_owner", Text),
            ("lease_until", Text),
        ],
    ),
    (
        "refusals",
        &[
            ("seeker_number", Text),
            ("reason", Text),
            ("created_at", Text),
        ],
    ),
    ("meta", &[("key", Text), ("value", Text)]),
    (
        "staff_mails",
        &[
            ("id", Int),
            ("request_id", Int),
            ("received_at", Text),
            ("subject", Text),
            ("body", Text),
        ],
    ),
    (
        "unreachable",
        &[
            ("address", Text),
            ("request_id", Int),
            ("kind", Text),
            ("status", Text),
            ("diagnostic", Text),
            ("at", Text),
            ("handled_at", Text),
            ("handled_by", Text),
        ],
    ),
    (
        "waitlist_offers",
        &[
            ("request_id", Int),
            ("slot_start", Text),
            ("offered_at", Text),
            ("outcome", Text),
            ("outcome_at", Text),
        ],
    ),
    (
        "closures",
        &[
            ("day", Text),
            ("reason", Text),
            ("closed_by", Text),
            ("closed_at", Text),
            ("reopened_by", Text),
            ("reopened_at", Text),
        ],
    ),
];

/// Rows copied per table.
pub type Counts = Vec<(&'static str, i64)>;

#[derive(Debug, thiserror::Error)]
pub enum CopyError {
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error("the target already has rows of office {office:?} ({rows} in {table}); migrate-db copies into an empty office only")]
    TargetNotEmpty {
        office: String,
        table: &'static str,
        rows: i64,
    },
    #[error("{table}: {source_rows} rows in the source but {target_rows} in the target after the copy; nothing was committed")]
    Mismatch {
        table: &'static str,
        source_rows: i64,
        target_rows: i64,
    },
}

/// Rows of `table` in the connection's office.
async fn count(conn: &mut dyn Exec, table: &str) -> Result<i64, StoreError> {
    let office = conn.office();
    let sql = format!("SELECT COUNT(*) FROM {table} WHERE office = $1");
    on_db!(conn, c => {
        Ok(sqlx::query_scalar(AssertSqlSafe(sql))
            .bind(&*office)
            .fetch_one(&mut *c)
            .await?)
    })
}

async fn read(
    conn: &mut dyn Exec,
    table: &str,
    cols: &[(&str, Kind)],
) -> Result<Vec<Vec<Value>>, StoreError> {
    let office = conn.office();
    let names: Vec<&str> = cols.iter().map(|(n, _)| *n).collect();
    let sql = format!("SELECT {} FROM {table} WHERE office = $1", names.join(", "));
    on_db!(conn, c => {
        let rows = sqlx::query(AssertSqlSafe(sql))
            .bind(&*office)
            .fetch_all(&mut *c)
            .await?;
        let mut out = Vec::with_capacity(rows.len());
        for r in &rows {
            let mut values = Vec::with_capacity(cols.len());
            for (name, kind) in cols {
                values.push(match kind {
                    Text => Value::Text(r.col(name)?),
                    Int => Value::Int(r.col(name)?),
                    Bytes => Value::Bytes(r.col(name)?),
                });
            }
            out.push(values);
        }
        Ok(out)
    })
}

/// Inserts one row into the target's office; the new id when the table
/// has one.
async fn write(
    tx: &mut Tx,
    table: &str,
    cols: &[(&str, Kind)],
    values: Vec<Value>,
) -> Result<Option<i64>, StoreError> {
    let office = tx.office();
    let mut names = Vec::new();
    let mut kept = Vec::new();
    let has_id = cols.first().is_some_and(|(n, _)| *n == "id");
    for ((name, _), v) in cols.iter().zip(values) {
        if *name != "id" {
            names.push(*name);
            kept.push(v);
        }
    }
    names.push("office");
    let sql = format!(
        "INSERT INTO {table} ({}) VALUES ({}){}",
        names.join(", "),
        super::placeholders(1, names.len()),
        if has_id { " RETURNING id" } else { "" }
    );
    on_db!(tx, c => {
        let mut query = sqlx::query(AssertSqlSafe(sql));
        for v in kept {
            query = match v {
                Value::Text(t) => query.bind(t),
                Value::Int(i) => query.bind(i),
                Value::Bytes(b) => query.bind(b),
            };
        }
        query = query.bind(office.to_string());
        let row = query.fetch_optional(&mut *c).await?;
        match (has_id, row) {
            (true, Some(r)) => Ok(Some(r.col::<i64>("id")?)),
            _ => Ok(None),
        }
    })
}

/// Copies every row of `from`'s office into `to`'s office (which must be
/// empty), checks the counts, and commits; returns the rows per table.
/// Marks still in the source's sent journal are folded first, so no mail
/// sent before the move is sent again after it.
pub async fn copy_office(from: &Store, to: &Store) -> Result<Counts, CopyError> {
    let mut src = from.conn().await?;
    {
        let mut journal = from.journal_conn().await?;
        let marks = super::outbox::journal_marks(&mut journal, i64::MAX).await?;
        super::outbox::fold_sent(&mut src, &marks).await?;
    }
    let mut tx = to.begin().await?;
    for (table, _) in TABLES {
        let rows = count(&mut tx, table).await?;
        if rows > 0 {
            return Err(CopyError::TargetNotEmpty {
                office: to.office().to_string(),
                table,
                rows,
            });
        }
    }
    // Old id → new id, of requests and of bookings (the rows others refer to).
    let mut ids: HashMap<(&str, i64), i64> = HashMap::new();
    let mut counts = Vec::new();
    for (table, cols) in TABLES {
        let rows = read(&mut src, table, cols).await?;
        let n = rows.len() as i64;
        let refs: Vec<(usize, &str)> = cols
            .iter()
            .enumerate()
            .filter_map(|(i, (c, _))| match *c {
                "request_id" => Some((i, "requests")),
                "booking_id" => Some((i, "bookings")),
                _ => None,
            })
            .collect();
        for mut values in rows {
            let old_id = match values.first() {
                Some(Value::Int(Some(id))) if matches!(*table, "requests" | "bookings") => {
                    Some(*id)
                }
                _ => None,
            };
            for (i, target) in &refs {
                if let Some(Value::Int(Some(old))) = values.get(*i) {
                    let new =
                        ids.get(&(*target, *old))
                            .copied()
                            .ok_or_else(|| StoreError::Corrupt {
                                table,
                                problem: format!(
                                    "a row refers to {target} {old}, which the source lacks"
                                ),
                            })?;
                    values[*i] = Value::Int(Some(new));
                }
            }
            let new_id = write(&mut tx, table, cols, values).await?;
            if let (Some(old), Some(new)) = (old_id, new_id) {
                ids.insert((*table, old), new);
            }
        }
        let copied = count(&mut tx, table).await?;
        if copied != n {
            return Err(CopyError::Mismatch {
                table,
                source_rows: n,
                target_rows: copied,
            });
        }
        counts.push((*table, n));
    }
    tx.commit().await?;
    Ok(counts)
}
