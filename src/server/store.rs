//! The reference server's storage: SQLite (bundled), WAL, `synchronous = FULL`, so that an
//! acknowledged activation survives a crash (SPEC §5.6).

use std::path::Path;
use std::sync::Mutex;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use rusqlite::{params, Connection, OptionalExtension, Transaction, TransactionBehavior};

use super::seed::{parse_time, Seed};

/// A storage failure: the server answers 500 and logs it.
#[derive(Debug, thiserror::Error)]
#[error("storage: {0}")]
pub struct StoreError(#[from] rusqlite::Error);

const SCHEMA: &str = "
CREATE TABLE IF NOT EXISTS api_keys (
    api_key     TEXT PRIMARY KEY,
    shared_key  TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS products (
    short_code  TEXT PRIMARY KEY,
    name        TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS licenses (
    id               INTEGER PRIMARY KEY,
    product          TEXT NOT NULL REFERENCES products(short_code),
    license_key      TEXT,
    username         TEXT,
    password         TEXT,
    license_type     TEXT NOT NULL,
    is_trial         INTEGER NOT NULL,
    enabled          INTEGER NOT NULL,
    active           INTEGER NOT NULL,
    valid_until_ms   INTEGER,
    max_activations  INTEGER NOT NULL,
    transfer_count   INTEGER NOT NULL DEFAULT 0,
    transfer_pending INTEGER NOT NULL DEFAULT 0,
    seats_taken      INTEGER NOT NULL DEFAULT 0,
    UNIQUE (product, license_key),
    UNIQUE (product, username)
);
CREATE TABLE IF NOT EXISTS activations (
    license_id     INTEGER NOT NULL REFERENCES licenses(id),
    hardware_id    TEXT NOT NULL,
    activated_ms   INTEGER NOT NULL,
    PRIMARY KEY (license_id, hardware_id)
);
CREATE TABLE IF NOT EXISTS handled_requests (
    request_id     TEXT PRIMARY KEY,
    payload_sha256 BLOB NOT NULL,
    answer         BLOB
);
";

/// The database, one connection behind a lock: SQLite has one writer at a time anyway, and each
/// decision is one short transaction.
pub struct Store {
    conn: Mutex<Connection>,
}

/// A license as stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LicenseRow {
    /// Row id.
    pub id: i64,
    /// Product short code.
    pub product: String,
    /// Key, for key-based licenses.
    pub license_key: Option<String>,
    /// User, for user-based licenses.
    pub username: Option<String>,
    /// The user's password.
    pub password: Option<String>,
    /// `perpetual`, `consumption`, ….
    pub license_type: String,
    /// A trial.
    pub is_trial: bool,
    /// Enabled.
    pub enabled: bool,
    /// Active.
    pub active: bool,
    /// End of validity.
    pub valid_until: Option<SystemTime>,
    /// Seats.
    pub max_activations: u64,
    /// Transfers so far.
    pub transfer_count: u64,
    /// A seat was freed by a deactivation: the next new device counts a transfer.
    pub transfer_pending: bool,
    /// Seats taken: the license's rows in `activations`, kept in the same transactions that add
    /// and remove them, so that a decision reads one row however many seats there are.
    pub seats_taken: u64,
}

fn to_ms(t: SystemTime) -> i64 {
    t.duration_since(UNIX_EPOCH).map_or(0, |d| d.as_millis() as i64)
}

fn from_ms(ms: i64) -> SystemTime {
    UNIX_EPOCH + Duration::from_millis(ms.max(0) as u64)
}

impl Store {
    /// Opens (or creates) the database at `path`; `None` is a fresh in-memory database.
    /// `sync_commits` false is the no-sync fault: nothing is ever synced to disk.
    pub fn open(path: Option<&Path>, sync_commits: bool) -> Result<Store, StoreError> {
        let conn = match path {
            Some(p) => Connection::open(p)?,
            None => Connection::open_in_memory()?,
        };
        conn.pragma_update(None, "journal_mode", "WAL")?;
        // SPEC §5.6: in WAL mode, FULL syncs the WAL at every commit, so the transaction that
        // takes a seat is on disk before its 200 is sent. NORMAL would sync only at checkpoints:
        // safe against a crash of the process, not against one of the machine (power loss).
        // tests/reference_server/durability.rs counts the syncs per acknowledged activation.
        conn.pragma_update(None, "synchronous", if sync_commits { "FULL" } else { "OFF" })?;
        conn.pragma_update(None, "foreign_keys", "ON")?;
        conn.busy_timeout(Duration::from_secs(10))?;
        conn.execute_batch(SCHEMA)?;
        // A database written before `seats_taken` existed: add it and count the seats once.
        let counted: bool = conn.query_row(
            "SELECT count(*) FROM pragma_table_info('licenses') WHERE name = 'seats_taken'",
            [],
            |r| r.get::<_, i64>(0).map(|n| n > 0),
        )?;
        if !counted {
            conn.execute_batch(
                "ALTER TABLE licenses ADD COLUMN seats_taken INTEGER NOT NULL DEFAULT 0;
                 UPDATE licenses SET seats_taken =
                     (SELECT count(*) FROM activations WHERE activations.license_id = licenses.id);",
            )?;
        }
        // An answer that was being signed when the server stopped was never sent: forget the
        // request id, so a retry is handled afresh (its seat, if taken, is found again by
        // hardware id, SPEC §5.4).
        conn.execute("DELETE FROM handled_requests WHERE answer IS NULL", [])?;
        Ok(Store {
            conn: Mutex::new(conn),
        })
    }

    /// Whether the database holds no data yet.
    pub fn is_empty(&self) -> Result<bool, StoreError> {
        let conn = self.lock();
        let n: i64 = conn.query_row("SELECT count(*) FROM products", [], |r| r.get(0))?;
        Ok(n == 0)
    }

    /// Writes the seed's data (on a fresh database).
    pub fn apply_seed(&self, seed: &Seed, now: SystemTime) -> Result<(), StoreError> {
        self.transaction(|tx| {
            for k in &seed.api_keys {
                tx.execute(
                    "INSERT OR REPLACE INTO api_keys (api_key, shared_key) VALUES (?1, ?2)",
                    params![k.api_key, k.shared_key],
                )?;
            }
            for p in &seed.products {
                tx.execute(
                    "INSERT OR REPLACE INTO products (short_code, name) VALUES (?1, ?2)",
                    params![p.short_code, p.name],
                )?;
            }
            for l in &seed.licenses {
                let valid_until = l
                    .valid_until
                    .as_deref()
                    .and_then(|v| parse_time(v).ok())
                    .map(to_ms);
                tx.execute(
                    "INSERT INTO licenses (product, license_key, username, password, license_type, is_trial,
                         enabled, active, valid_until_ms, max_activations)
                     VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10)",
                    params![
                        l.product,
                        l.license_key,
                        l.username,
                        l.password,
                        l.license_type,
                        l.trial,
                        l.enabled,
                        l.active,
                        valid_until,
                        l.max_activations
                    ],
                )?;
                let id = tx.last_insert_rowid();
                for hw in &l.activated_on {
                    insert_activation(tx, id, hw, now)?;
                }
            }
            Ok(())
        })
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Connection> {
        // A panic while holding the lock cannot leave a half-done transaction behind (it rolls
        // back when dropped), so the connection is still good.
        self.conn.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// Runs `f` in one immediate (write-locked) transaction and commits when it returns Ok.
    pub fn transaction<T, E: From<StoreError>>(
        &self,
        f: impl FnOnce(&Transaction<'_>) -> Result<T, E>,
    ) -> Result<T, E> {
        let mut conn = self.lock();
        let tx = conn
            .transaction_with_behavior(TransactionBehavior::Immediate)
            .map_err(StoreError::from)?;
        let value = f(&tx)?;
        tx.commit().map_err(StoreError::from)?;
        Ok(value)
    }

    /// Every API key with its shared key.
    pub fn api_keys(&self) -> Result<std::collections::HashMap<String, String>, StoreError> {
        let conn = self.lock();
        let mut stmt = conn.prepare("SELECT api_key, shared_key FROM api_keys")?;
        let rows = stmt.query_map([], |r| Ok((r.get(0)?, r.get(1)?)))?;
        Ok(rows.collect::<Result<_, _>>()?)
    }
}

/// Whether a product exists.
pub fn product_name(tx: &Transaction<'_>, short_code: &str) -> Result<Option<String>, StoreError> {
    Ok(tx
        .prepare_cached("SELECT name FROM products WHERE short_code = ?1")?
        .query_row([short_code], |r| r.get(0))
        .optional()?)
}

/// The license of a product with this key (`by_username` false) or user.
pub fn license(
    tx: &Transaction<'_>,
    product: &str,
    licensee: &str,
    by_username: bool,
) -> Result<Option<LicenseRow>, StoreError> {
    find_license(tx, Some(product), licensee, by_username)
}

/// The first license of any product with this key or user: the lookup of the faults
/// `license-of-any-product` and `product-from-license`, never of the reference's own rules.
pub fn license_of_any_product(
    tx: &Transaction<'_>,
    licensee: &str,
    by_username: bool,
) -> Result<Option<LicenseRow>, StoreError> {
    find_license(tx, None, licensee, by_username)
}

/// The license with this key or user, of this product (`None`: of any, the first).
fn find_license(
    tx: &Transaction<'_>,
    product: Option<&str>,
    licensee: &str,
    by_username: bool,
) -> Result<Option<LicenseRow>, StoreError> {
    let column = if by_username { "username" } else { "license_key" };
    let sql = format!(
        "SELECT id, product, license_key, username, password, license_type, is_trial, enabled, active,
                valid_until_ms, max_activations, transfer_count, transfer_pending, seats_taken
         FROM licenses WHERE (?1 IS NULL OR product = ?1) AND {column} = ?2 ORDER BY id LIMIT 1"
    );
    Ok(tx
        .prepare_cached(&sql)?
        .query_row(params![product, licensee], |r| {
            Ok(LicenseRow {
                id: r.get(0)?,
                product: r.get(1)?,
                license_key: r.get(2)?,
                username: r.get(3)?,
                password: r.get(4)?,
                license_type: r.get(5)?,
                is_trial: r.get(6)?,
                enabled: r.get(7)?,
                active: r.get(8)?,
                valid_until: r.get::<_, Option<i64>>(9)?.map(from_ms),
                max_activations: r.get::<_, i64>(10)?.max(0) as u64,
                transfer_count: r.get::<_, i64>(11)?.max(0) as u64,
                transfer_pending: r.get(12)?,
                seats_taken: r.get::<_, i64>(13)?.max(0) as u64,
            })
        })
        .optional()?)
}

/// Whether a device holds a seat of a license.
pub fn is_activated(tx: &Transaction<'_>, license_id: i64, hardware_id: &str) -> Result<bool, StoreError> {
    Ok(tx
        .prepare_cached("SELECT 1 FROM activations WHERE license_id = ?1 AND hardware_id = ?2")?
        .query_row(params![license_id, hardware_id], |_| Ok(()))
        .optional()?
        .is_some())
}

/// Gives a device a seat; a transfer is counted when a seat freed by a deactivation is taken.
pub fn insert_activation(
    tx: &Transaction<'_>,
    license_id: i64,
    hardware_id: &str,
    now: SystemTime,
) -> Result<(), StoreError> {
    tx.prepare_cached("INSERT INTO activations (license_id, hardware_id, activated_ms) VALUES (?1, ?2, ?3)")?
        .execute(params![license_id, hardware_id, to_ms(now)])?;
    tx.prepare_cached(
        "UPDATE licenses SET transfer_count = transfer_count + transfer_pending, transfer_pending = 0,
             seats_taken = seats_taken + 1
         WHERE id = ?1",
    )?
    .execute([license_id])?;
    Ok(())
}

/// Frees a device's seat; false when it held none.
pub fn delete_activation(
    tx: &Transaction<'_>,
    license_id: i64,
    hardware_id: &str,
) -> Result<bool, StoreError> {
    let n = tx
        .prepare_cached("DELETE FROM activations WHERE license_id = ?1 AND hardware_id = ?2")?
        .execute(params![license_id, hardware_id])?;
    if n > 0 {
        tx.prepare_cached(
            "UPDATE licenses SET transfer_pending = 1, seats_taken = max(seats_taken - 1, 0) WHERE id = ?1",
        )?
        .execute([license_id])?;
    }
    Ok(n > 0)
}

/// Frees every seat a device holds, on any license: the mistake of the fault
/// `deactivation-frees-every-license`, never the reference's own rule. Whether one was freed.
pub fn delete_activations_of_device(tx: &Transaction<'_>, hardware_id: &str) -> Result<bool, StoreError> {
    let licenses: Vec<i64> = tx
        .prepare_cached("SELECT license_id FROM activations WHERE hardware_id = ?1")?
        .query_map([hardware_id], |r| r.get(0))?
        .collect::<Result<_, _>>()?;
    let mut freed = false;
    for license_id in licenses {
        freed |= delete_activation(tx, license_id, hardware_id)?;
    }
    Ok(freed)
}

/// What is known of a request id.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum HandledRequest {
    /// Never seen.
    New,
    /// Seen with another payload.
    OtherPayload,
    /// Seen with this payload; its answer is being signed.
    Pending,
    /// Seen with this payload and answered with this body.
    Answered(Vec<u8>),
}

/// Looks a request id up, comparing the payload's hash.
pub fn handled_request(
    tx: &Transaction<'_>,
    request_id: &str,
    payload_sha256: &[u8; 32],
) -> Result<HandledRequest, StoreError> {
    let row: Option<(Vec<u8>, Option<Vec<u8>>)> = tx
        .prepare_cached("SELECT payload_sha256, answer FROM handled_requests WHERE request_id = ?1")?
        .query_row([request_id], |r| Ok((r.get(0)?, r.get(1)?)))
        .optional()?;
    Ok(match row {
        None => HandledRequest::New,
        Some((hash, _)) if hash != payload_sha256 => HandledRequest::OtherPayload,
        Some((_, None)) => HandledRequest::Pending,
        Some((_, Some(answer))) => HandledRequest::Answered(answer),
    })
}

/// Records a request id whose answer is about to be signed.
pub fn reserve_request(
    tx: &Transaction<'_>,
    request_id: &str,
    payload_sha256: &[u8; 32],
) -> Result<(), StoreError> {
    tx.prepare_cached(
        "INSERT OR REPLACE INTO handled_requests (request_id, payload_sha256, answer) VALUES (?1, ?2, NULL)",
    )?
    .execute(params![request_id, payload_sha256.as_slice()])?;
    Ok(())
}

/// Stores the answer sent for a request id.
pub fn store_answer(tx: &Transaction<'_>, request_id: &str, answer: &[u8]) -> Result<(), StoreError> {
    tx.prepare_cached("UPDATE handled_requests SET answer = ?2 WHERE request_id = ?1")?
        .execute(params![request_id, answer])?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_database_from_before_seats_taken_gets_the_column_with_its_seats_counted() {
        let dir = std::env::temp_dir().join(format!("lsconform-store-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("old.db");
        let _ = std::fs::remove_file(&path);
        {
            // The schema as it was: no seats_taken.
            let old = Connection::open(&path).unwrap();
            old.execute_batch(&SCHEMA.replace("    seats_taken      INTEGER NOT NULL DEFAULT 0,\n", ""))
                .unwrap();
            old.execute_batch(
                "INSERT INTO products VALUES ('TP', 'Test');
                 INSERT INTO licenses (id, product, license_key, license_type, is_trial, enabled, active,
                     max_activations) VALUES (1, 'TP', 'K', 'perpetual', 0, 1, 1, 5);
                 INSERT INTO activations VALUES (1, 'a', 0), (1, 'b', 0), (1, 'c', 0);",
            )
            .unwrap();
        }
        let store = Store::open(Some(&path), true).unwrap();
        let seats = |store: &Store| {
            store
                .transaction(|tx| license(tx, "TP", "K", false))
                .unwrap()
                .unwrap()
                .seats_taken
        };
        assert_eq!(seats(&store), 3);
        store
            .transaction(|tx| {
                insert_activation(tx, 1, "d", SystemTime::now())?;
                delete_activation(tx, 1, "a")?;
                delete_activation(tx, 1, "a")
            })
            .unwrap();
        assert_eq!(seats(&store), 3);
        drop(store);
        // Opening it again leaves the count alone.
        assert_eq!(seats(&Store::open(Some(&path), true).unwrap()), 3);
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
