//! One Postgres database per test, created and dropped through the superuser URL.

use anyhow::{Context, Result};
use sqlx::postgres::{PgConnectOptions, PgPoolOptions};
use sqlx::{Connection, PgConnection, PgPool};
use std::str::FromStr;

/// A database of its own for one test.
#[derive(Debug, Clone)]
pub struct TestDatabase {
    /// `test_<uuid>` (no dashes).
    pub name: String,
    /// URL of this database (same superuser as the admin URL).
    pub url: String,
    admin_url: String,
}

impl TestDatabase {
    /// `CREATE DATABASE test_<uuid>` through the admin (superuser) URL.
    pub async fn create(admin_url: &str) -> Result<Self> {
        let name = format!("test_{}", uuid::Uuid::new_v4().simple());
        let mut url = url::Url::parse(admin_url).context("VAULT_TEST_DATABASE_URL is not a URL")?;
        url.set_path(&name);
        let db = TestDatabase {
            name,
            url: url.to_string(),
            admin_url: admin_url.to_owned(),
        };
        db.admin_exec(&format!(r#"CREATE DATABASE "{}""#, db.name))
            .await
            .with_context(|| format!("creating database {}", db.name))?;
        Ok(db)
    }

    /// A small pool to this test's database, for assertions.
    pub async fn pool(&self) -> Result<PgPool> {
        let opts = PgConnectOptions::from_str(&self.url)?;
        PgPoolOptions::new()
            .max_connections(2)
            .acquire_timeout(std::time::Duration::from_secs(10))
            .connect_with(opts)
            .await
            .with_context(|| format!("connecting to {}", self.name))
    }

    /// Runs SQL (one or more statements) on this test's database as the superuser.
    pub async fn exec(&self, sql: &str) -> Result<()> {
        let mut conn = PgConnection::connect(&self.url)
            .await
            .with_context(|| format!("connecting to {}", self.name))?;
        sqlx::raw_sql(sql)
            .execute(&mut conn)
            .await
            .with_context(|| format!("running on {}: {sql}", self.name))?;
        conn.close().await.ok();
        Ok(())
    }

    /// Applies the server's migrations, as its first start would.
    pub async fn migrate(&self) -> Result<()> {
        let pool = self.pool().await?;
        vault_server::db::MIGRATOR
            .run(&pool)
            .await
            .context("applying the server's migrations")?;
        pool.close().await;
        Ok(())
    }

    /// This database's URL with another login.
    pub fn url_as(&self, user: &str, password: &str) -> String {
        let mut url = url::Url::parse(&self.url).expect("the test database URL parses");
        url.set_username(user).expect("URL takes a user name");
        url.set_password(Some(password))
            .expect("URL takes a password");
        url.to_string()
    }

    /// Runs one statement on the admin database (never on this test's database, which may refuse).
    pub async fn admin_exec(&self, sql: &str) -> Result<()> {
        let mut conn = PgConnection::connect(&self.admin_url)
            .await
            .context("connecting to the admin database (VAULT_TEST_DATABASE_URL)")?;
        sqlx::raw_sql(sql).execute(&mut conn).await?;
        conn.close().await.ok();
        Ok(())
    }

    /// Makes this database refuse every connection and ends the open ones: a real Postgres
    /// refusal that affects no other test.
    pub async fn make_unreachable(&self) -> Result<()> {
        self.admin_exec(&format!(
            r#"ALTER DATABASE "{0}" WITH ALLOW_CONNECTIONS false;
               SELECT pg_terminate_backend(pid) FROM pg_stat_activity
                WHERE datname = '{0}' AND pid <> pg_backend_pid();"#,
            self.name
        ))
        .await
    }

    /// Undoes [`make_unreachable`](Self::make_unreachable).
    pub async fn restore(&self) -> Result<()> {
        self.admin_exec(&format!(
            r#"ALTER DATABASE "{}" WITH ALLOW_CONNECTIONS true"#,
            self.name
        ))
        .await
    }

    /// `DROP DATABASE .. WITH (FORCE)`, best effort.
    pub async fn drop_database(&self) -> Result<()> {
        self.admin_exec(&format!(
            r#"DROP DATABASE IF EXISTS "{}" WITH (FORCE)"#,
            self.name
        ))
        .await
    }
}
