//! Stopping a rotation at a chosen point, deterministically, with real Postgres locks: a trigger
//! makes the server's statement wait for an advisory lock the test holds, so the test can kill
//! the server exactly there. Also the rotation lock itself, held by the test so no replica leads.

use crate::database::TestDatabase;
use sqlx::{Connection, PgConnection};
use std::time::Duration;

/// The advisory lock only the replica that rotates holds ("vault_kr").
pub const ROTATION_LOCK: i64 = 0x7661_756c_745f_6b72;

/// Where a gate stops the server.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Point {
    /// Recording the rotation's move to this step: the previous step's AWS call has happened,
    /// its record has not (the transaction waits, uncommitted).
    Advance(&'static str),
    /// Writing this audit action: the step before it is committed, nothing after it happened.
    Audit(&'static str),
}

impl std::fmt::Display for Point {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Point::Advance(step) => write!(f, "while recording step `{step}`"),
            Point::Audit(action) => write!(f, "before the `{action}` audit event"),
        }
    }
}

const GATE_KEY: i64 = 0x6532_6567; // "e2eg": classid 0, objid this, in pg_locks

/// A closed gate: statements reaching its point wait until it opens.
pub struct Gate {
    conn: PgConnection,
    point: Point,
}

impl Gate {
    /// Takes the gate's lock and installs the waiting trigger.
    pub async fn close(database: &TestDatabase, point: Point) -> Gate {
        let mut conn = PgConnection::connect(&database.url)
            .await
            .expect("connecting the gate");
        sqlx::query("SELECT pg_advisory_lock($1)")
            .bind(GATE_KEY)
            .execute(&mut conn)
            .await
            .expect("taking the gate lock");
        let (table, event, condition) = match point {
            Point::Advance(step) => (
                "key_rotations",
                "UPDATE",
                format!("NEW.step = '{step}' AND OLD.step <> '{step}'"),
            ),
            Point::Audit(action) => ("audit_events", "INSERT", format!("NEW.action = '{action}'")),
        };
        let sql = format!(
            r#"CREATE FUNCTION e2e_gate() RETURNS trigger LANGUAGE plpgsql AS $$
               BEGIN PERFORM pg_advisory_xact_lock({GATE_KEY}); RETURN NEW; END $$;
               CREATE TRIGGER e2e_gate BEFORE {event} ON {table} FOR EACH ROW
               WHEN ({condition}) EXECUTE FUNCTION e2e_gate();"#
        );
        sqlx::raw_sql(&sql)
            .execute(&mut conn)
            .await
            .unwrap_or_else(|e| panic!("installing the gate {point}: {e}"));
        Gate { conn, point }
    }

    /// Waits until a session of `application_name` is stopped at the gate.
    pub async fn wait_until_reached(&mut self, application_name: &str, limit: Duration) {
        let point = self.point;
        let started = std::time::Instant::now();
        loop {
            let waiting: i64 = sqlx::query_scalar(
                "SELECT count(*) FROM pg_locks l JOIN pg_stat_activity a ON a.pid = l.pid
                  WHERE l.locktype = 'advisory' AND NOT l.granted
                    AND l.classid::bigint = 0 AND l.objid::bigint = $1
                    AND l.database = (SELECT oid FROM pg_database WHERE datname = current_database())
                    AND a.application_name = $2",
            )
            .bind(GATE_KEY)
            .bind(application_name)
            .fetch_one(&mut self.conn)
            .await
            .expect("reading pg_locks");
            if waiting > 0 {
                return;
            }
            assert!(
                started.elapsed() < limit,
                "{application_name} never stopped {point} within {limit:?}"
            );
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }

    /// Lets waiting statements through and removes the trigger.
    pub async fn open(mut self) {
        sqlx::query("SELECT pg_advisory_unlock($1)")
            .bind(GATE_KEY)
            .execute(&mut self.conn)
            .await
            .expect("releasing the gate lock");
        let table = match self.point {
            Point::Advance(_) => "key_rotations",
            Point::Audit(_) => "audit_events",
        };
        sqlx::raw_sql(&format!(
            "DROP TRIGGER e2e_gate ON {table}; DROP FUNCTION e2e_gate();"
        ))
        .execute(&mut self.conn)
        .await
        .expect("removing the gate");
        self.conn.close().await.ok();
    }
}

/// Ends every session of a (killed) replica, so nothing it left waiting can still commit.
pub async fn end_sessions(database: &TestDatabase, application_name: &str) {
    let mut conn = PgConnection::connect(&database.url)
        .await
        .expect("connecting to end sessions");
    sqlx::query(
        "SELECT pg_terminate_backend(pid) FROM pg_stat_activity
          WHERE datname = current_database() AND application_name = $1",
    )
    .bind(application_name)
    .execute(&mut conn)
    .await
    .expect("terminating sessions");
    crate::poll::until(
        &format!("the sessions of {application_name} to end"),
        Duration::from_secs(15),
        || {
            let url = database.url.clone();
            let name = application_name.to_owned();
            async move {
                let mut c = PgConnection::connect(&url).await.ok()?;
                let left: i64 = sqlx::query_scalar(
                    "SELECT count(*) FROM pg_stat_activity
                      WHERE datname = current_database() AND application_name = $1",
                )
                .bind(&name)
                .fetch_one(&mut c)
                .await
                .ok()?;
                (left == 0).then_some(())
            }
        },
    )
    .await;
    conn.close().await.ok();
}

/// The `application_name` of the session holding the rotation lock in this database, if any.
pub async fn rotation_lock_holders(database: &TestDatabase) -> Vec<String> {
    let mut conn = PgConnection::connect(&database.url)
        .await
        .expect("connecting to read pg_locks");
    let holders: Vec<String> = sqlx::query_scalar(
        "SELECT a.application_name FROM pg_locks l JOIN pg_stat_activity a ON a.pid = l.pid
          WHERE l.locktype = 'advisory' AND l.granted
            AND l.classid::bigint = $1 AND l.objid::bigint = $2 AND l.objsubid = 1
            AND l.database = (SELECT oid FROM pg_database WHERE datname = current_database())",
    )
    .bind(ROTATION_LOCK >> 32)
    .bind(ROTATION_LOCK & 0xffff_ffff)
    .fetch_all(&mut conn)
    .await
    .expect("reading pg_locks");
    conn.close().await.ok();
    holders
}

/// The rotation lock, held by the test: no replica of this database rotates until it is let go.
pub struct RotationLockHeld(PgConnection);

impl RotationLockHeld {
    pub async fn take(database: &TestDatabase) -> Self {
        let mut conn = PgConnection::connect(&database.url)
            .await
            .expect("connecting to take the rotation lock");
        let got: bool = sqlx::query_scalar("SELECT pg_try_advisory_lock($1)")
            .bind(ROTATION_LOCK)
            .fetch_one(&mut conn)
            .await
            .expect("pg_try_advisory_lock");
        assert!(got, "the rotation lock is already held");
        RotationLockHeld(conn)
    }

    pub async fn release(mut self) {
        sqlx::query("SELECT pg_advisory_unlock($1)")
            .bind(ROTATION_LOCK)
            .execute(&mut self.0)
            .await
            .expect("releasing the rotation lock");
        self.0.close().await.ok();
    }
}
