//! The server's restricted database role: INSERT and SELECT on the audit table, nothing more
//! there; what the README tells operators to grant, kept here verbatim and proven by a test.

use crate::database::TestDatabase;
use anyhow::{Context, Result};

/// The grants the server's role needs once the owner has created the schema (`{role}` stands
/// for the role's name). The audit table gets only SELECT and INSERT: UPDATE and DELETE are
/// refused by missing privileges as well as by the trigger; retention deletes through the
/// SECURITY DEFINER function `audit_prune()`, which the role may only execute.
pub const SERVER_ROLE_GRANTS: &str = "\
GRANT SELECT, INSERT ON audit_events TO {role};
GRANT USAGE ON SEQUENCE audit_events_seq_seq TO {role};
GRANT SELECT, UPDATE ON audit_chain_head TO {role};
GRANT SELECT ON audit_checkpoints, audit_time_marks TO {role};
GRANT EXECUTE ON FUNCTION audit_prune(timestamptz) TO {role};
GRANT SELECT, INSERT, UPDATE, DELETE ON principals, login_sessions, pending_logins,
    authorization_codes, device_authorizations, refresh_tokens, signing_keys,
    ci_token_uses, owned_keys, key_rotations TO {role};
GRANT SELECT, INSERT, UPDATE, DELETE ON revocations, revocation_roles TO {role};
GRANT SELECT ON _sqlx_migrations TO {role};
";

/// [`SERVER_ROLE_GRANTS`] for one role name.
pub fn server_role_grants(role: &str) -> String {
    SERVER_ROLE_GRANTS.replace("{role}", role)
}

/// A login role with exactly [`SERVER_ROLE_GRANTS`] on one test database.
#[derive(Debug, Clone)]
pub struct ServerRole {
    pub name: String,
    /// The test database's URL, logging in as this role.
    pub url: String,
}

impl ServerRole {
    /// Creates a fresh login role (roles are cluster-wide: the name is unique per test) and grants
    /// it what the server needs on `db`, whose schema must already exist.
    pub async fn create(db: &TestDatabase) -> Result<ServerRole> {
        let name = format!(
            "vault_server_{}",
            &uuid::Uuid::new_v4().simple().to_string()[..12]
        );
        let password = crate::oauth::random_b64(18);
        db.exec(&format!("CREATE ROLE {name} LOGIN PASSWORD '{password}'"))
            .await
            .context("creating the server's role")?;
        db.exec(&server_role_grants(&name))
            .await
            .context("granting the server's role its privileges")?;
        Ok(ServerRole {
            url: db.url_as(&name, &password),
            name,
        })
    }
}

/// Appends `events` audit events 60 to 90 days old to `db` as its owner (history a server with a
/// 30-day retention prunes at start); returns their chain positions.
pub async fn seed_old_events(
    db: &TestDatabase,
    events: usize,
) -> Result<std::ops::RangeInclusive<i64>> {
    use std::time::Duration;
    let owner_pool = db.pool().await?;
    let old = crate::audit_seed::Seeder::new(
        3,
        vault_server::clock::now() - Duration::from_secs(90 * 86_400),
        Duration::from_secs(30 * 86_400),
    )
    .events(events);
    let seqs = crate::audit_seed::append(&owner_pool, &old).await?;
    owner_pool.close().await;
    Ok(seqs)
}

/// A server on `db` connected as `role` (migrations applied as the owner), pruning to a 30-day
/// retention at start and every second.
pub async fn spawn_pruning_as(db: &TestDatabase, role: &ServerRole) -> crate::TestApp {
    crate::TestApp::builder()
        .database(db.clone())
        .server_database_url(&role.url)
        .migration_database_url(&db.url)
        .audit_retention("30d", "1s")
        .spawn()
        .await
}
