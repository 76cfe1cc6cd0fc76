//! What a test's server is doing in Postgres (`pg_stat_activity`): a test that must see the server
//! get past a point before it checks that something did not happen there waits for the statement
//! the server runs at that point.

use crate::TestApp;
use std::time::Duration;
use time::OffsetDateTime;

impl TestApp {
    /// The database's clock (`clock_timestamp()`), which statement start times are compared with.
    pub async fn database_now(&self) -> OffsetDateTime {
        sqlx::query_scalar("SELECT clock_timestamp()")
            .fetch_one(&self.db)
            .await
            .expect("reading the database's clock")
    }

    /// Waits until a session in this test's database other than the asking one has started,
    /// after `since`, a statement whose text contains `fragment`; returns the latest such start.
    /// Sessions show their last statement, so a statement a pool runs over and over is seen.
    pub async fn wait_for_statement(
        &self,
        what: &str,
        fragment: &str,
        since: OffsetDateTime,
        limit: Duration,
    ) -> OffsetDateTime {
        crate::poll::until(what, limit, || async {
            sqlx::query_scalar::<_, Option<OffsetDateTime>>(
                "SELECT max(query_start) FROM pg_stat_activity
                  WHERE datname = current_database() AND pid <> pg_backend_pid()
                    AND query_start > $1 AND strpos(query, $2) > 0",
            )
            .bind(since)
            .bind(fragment)
            .fetch_one(&self.db)
            .await
            .expect("reading pg_stat_activity")
        })
        .await
    }
}

/// A lock the test holds in a transaction of its own until it lets go.
pub struct HeldLock(sqlx::Transaction<'static, sqlx::Postgres>);

impl HeldLock {
    /// Ends the transaction: whoever waits for the lock goes on.
    pub async fn release(self) {
        self.0.rollback().await.expect("releasing the held lock");
    }
}

impl TestApp {
    /// Runs `lock_sql` (e.g. `SELECT 1 FROM t FOR UPDATE`) in a transaction that stays open, so
    /// a server statement that needs the same lock waits until [`HeldLock::release`].
    pub async fn hold_lock(&self, lock_sql: &str) -> HeldLock {
        let mut tx = self
            .db
            .begin()
            .await
            .expect("beginning the lock's transaction");
        sqlx::raw_sql(lock_sql)
            .execute(&mut *tx)
            .await
            .unwrap_or_else(|e| panic!("{lock_sql}: {e}"));
        HeldLock(tx)
    }

    /// Waits until a session in this test's database waits for a lock while running a statement
    /// whose text contains `fragment`.
    pub async fn wait_until_blocked(&self, what: &str, fragment: &str, limit: Duration) {
        crate::poll::until(what, limit, || async {
            let blocked: i64 = sqlx::query_scalar(
                "SELECT count(*) FROM pg_stat_activity
                  WHERE datname = current_database() AND pid <> pg_backend_pid()
                    AND wait_event_type = 'Lock' AND strpos(query, $1) > 0",
            )
            .bind(fragment)
            .fetch_one(&self.db)
            .await
            .expect("reading pg_stat_activity");
            (blocked > 0).then_some(())
        })
        .await;
    }
}
