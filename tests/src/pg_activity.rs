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
