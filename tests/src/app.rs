//! `TestApp`: one in-process vault-server with a database of its own, as zero2prod's `spawn_app`.

use crate::config::{self, ProfileSpec, ServerSettings};
use crate::database::TestDatabase;
use crate::env::TestEnv;
use anyhow::{Context, Result};
use sqlx::PgPool;
use std::time::Duration;
use tokio::sync::oneshot;
use tokio::task::JoinHandle;

/// A running server for one test. Dropping it stops the server and drops its database.
pub struct TestApp {
    /// Base URL, e.g. `http://127.0.0.1:40123` (the configured `public_url` when one is set).
    pub url: String,
    /// This server's own address, even when `public_url` names another replica.
    pub bound_url: String,
    /// Pool to this test's database, for assertions.
    pub db: PgPool,
    /// The test's database (name, URL, unreachable/restore).
    pub database: TestDatabase,
    /// The moto this server (and this test's AWS CLI) talks to.
    pub moto_url: String,
    /// Random 12-digit AWS account id of this test's role ARNs.
    pub account_id: String,
    pub profiles: Vec<ProfileSpec>,
    /// The TOML the server was built from.
    pub config_toml: String,
    /// HTTP client that never follows redirects.
    pub http: reqwest::Client,
    pub env: &'static TestEnv,
    shutdown: Option<oneshot::Sender<()>>,
    server: Option<JoinHandle<()>>,
    owns_database: bool,
}

/// Custom profiles or settings before spawning.
pub struct TestAppBuilder {
    profiles: Vec<ProfileSpec>,
    access_token_ttl: String,
    refresh_token_ttl: String,
    extra_top_level: String,
    public_url_from_port: bool,
    shared_database: Option<TestDatabase>,
    own_database: Option<TestDatabase>,
    server_database_url: Option<String>,
    migration_database_url: Option<String>,
    audit_retention: Option<(String, String)>,
    moto_url: Option<String>,
    sts: Option<std::sync::Arc<dyn vault_server::sts::RoleIssuer>>,
    limits: Option<String>,
    idp_issuer: Option<String>,
    oidc_toml: String,
    federation_url: Option<String>,
}

impl Default for TestAppBuilder {
    fn default() -> Self {
        TestAppBuilder {
            profiles: config::default_profiles(),
            access_token_ttl: "15m".into(),
            refresh_token_ttl: "30d".into(),
            extra_top_level: String::new(),
            public_url_from_port: false,
            shared_database: None,
            own_database: None,
            server_database_url: None,
            migration_database_url: None,
            audit_retention: None,
            moto_url: None,
            sts: None,
            limits: None,
            idp_issuer: None,
            oidc_toml: String::new(),
            federation_url: None,
        }
    }
}

/// A reqwest client that keeps redirects for the test to inspect.
pub fn http_client() -> reqwest::Client {
    reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .timeout(Duration::from_secs(30))
        .build()
        .expect("reqwest client")
}

impl TestAppBuilder {
    pub fn profiles(mut self, profiles: Vec<ProfileSpec>) -> Self {
        self.profiles = profiles;
        self
    }
    pub fn access_token_ttl(mut self, ttl: &str) -> Self {
        self.access_token_ttl = ttl.into();
        self
    }
    pub fn refresh_token_ttl(mut self, ttl: &str) -> Self {
        self.refresh_token_ttl = ttl.into();
        self
    }
    /// Extra top-level TOML lines.
    pub fn extra_toml(mut self, toml: &str) -> Self {
        self.extra_top_level.push_str(toml);
        self.extra_top_level.push('\n');
        self
    }
    /// Sets `public_url` explicitly to `http://127.0.0.1:<bound port>`.
    pub fn explicit_public_url(mut self) -> Self {
        self.public_url_from_port = true;
        self
    }

    /// Points the server's `[aws]` at another moto (e.g. an [`OwnMoto`](crate::moto::OwnMoto)).
    pub fn moto_url(mut self, url: &str) -> Self {
        self.moto_url = Some(url.to_owned());
        self
    }

    /// Answers AssumeRole with `sts` instead of moto: benchmarks' instant stand-in, or a recorder
    /// wrapping the real moto-backed client (tests/e2e/sts_requests.rs); never a fake in a test of issuance.
    pub fn sts(mut self, sts: std::sync::Arc<dyn vault_server::sts::RoleIssuer>) -> Self {
        self.sts = Some(sts);
        self
    }

    /// Logs people in through another IdP (e.g. an [`OwnIdp`](crate::idp::OwnIdp)).
    pub fn idp_issuer(mut self, issuer: &str) -> Self {
        self.idp_issuer = Some(issuer.to_owned());
        self
    }

    /// Extra `[oidc]` keys (e.g. `membership_ttl = "1s"`).
    pub fn oidc_toml(mut self, toml: &str) -> Self {
        self.oidc_toml.push_str(toml);
        self.oidc_toml.push('\n');
        self
    }

    /// `[console] federation_url` (default: the test bed's stand-in).
    pub fn federation_url(mut self, url: &str) -> Self {
        self.federation_url = Some(url.to_owned());
        self
    }

    /// Runs on another test app's database (a second replica); that app keeps ownership.
    pub fn sharing_database_of(mut self, other: &TestApp) -> Self {
        self.shared_database = Some(other.database.clone());
        self
    }

    /// Runs on a database the test prepared (e.g. migrated, with roles granted); the app owns it
    /// from now on and drops it at the end.
    pub fn database(mut self, database: TestDatabase) -> Self {
        self.own_database = Some(database);
        self
    }

    /// The server's `database_url` (e.g. a restricted role's); default: the test database's
    /// superuser URL. `TestApp::db` stays a superuser pool for assertions.
    pub fn server_database_url(mut self, url: &str) -> Self {
        self.server_database_url = Some(url.to_owned());
        self
    }

    /// The server's `migration_database_url` (the owner role that applies migrations).
    pub fn migration_database_url(mut self, url: &str) -> Self {
        self.migration_database_url = Some(url.to_owned());
        self
    }

    /// `[audit] retention = RETENTION, prune_interval = INTERVAL`.
    pub fn audit_retention(mut self, retention: &str, prune_interval: &str) -> Self {
        self.audit_retention = Some((retention.to_owned(), prune_interval.to_owned()));
        self
    }

    /// The body of `[limits]` (default: [`config::GENEROUS_LIMITS`]).
    pub fn limits(mut self, toml: &str) -> Self {
        self.limits = Some(toml.to_owned());
        self
    }

    /// Creates the database, writes the TOML, binds 127.0.0.1:0 and runs the server in-process.
    pub async fn spawn(self) -> TestApp {
        self.try_spawn().await.expect("spawning the test server")
    }

    async fn try_spawn(self) -> Result<TestApp> {
        let env = TestEnv::get();
        crate::logs::init();
        let owns_database = self.shared_database.is_none();
        let database = match (self.shared_database, self.own_database) {
            (Some(db), _) | (None, Some(db)) => db,
            (None, None) => TestDatabase::create(&env.database_url).await?,
        };
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
        let port = listener.local_addr()?.port();
        let account_id = config::random_account_id();
        let moto_url = self.moto_url.unwrap_or_else(|| env.moto_url.clone());
        let settings = ServerSettings {
            database_url: self
                .server_database_url
                .unwrap_or_else(|| database.url.clone()),
            migration_database_url: self.migration_database_url,
            audit_retention: self.audit_retention,
            limits: self.limits,
            public_url: self
                .public_url_from_port
                .then(|| format!("http://127.0.0.1:{port}")),
            idp_issuer: self.idp_issuer.unwrap_or_else(|| env.idp_issuer.clone()),
            moto_url: moto_url.clone(),
            account_id: account_id.clone(),
            access_token_ttl: self.access_token_ttl,
            refresh_token_ttl: self.refresh_token_ttl,
            profiles: self.profiles.clone(),
            extra_top_level: self.extra_top_level,
            federation_url: self
                .federation_url
                .unwrap_or_else(|| env.federation_url.clone()),
        };
        let config_toml =
            settings
                .to_toml()
                .replacen("\n[oidc]\n", &format!("\n[oidc]\n{}", self.oidc_toml), 1);
        let config = vault_server::config::Config::from_toml(&config_toml)
            .map_err(|e| anyhow::anyhow!("{e:#}"))
            .with_context(|| format!("the server refused the test config:\n{config_toml}"))?;
        // A master key of the test's own seals the IdP's tokens (env vars are per process).
        let seal = vault_server::keys::seal::MasterKey::parse(&crate::oauth::random_b64(32))
            .expect("a 32-byte key");
        let app =
            vault_server::startup::Application::build_with(config, listener, self.sts, Some(seal))
                .await
                .map_err(|e| anyhow::anyhow!("{e:#}"))
                .context("Application::build")?;
        let url = app.url().to_string();
        let bound_url = format!("http://{}", app.local_addr());
        let (tx, rx) = oneshot::channel::<()>();
        let server = tokio::spawn(async move {
            if let Err(e) = app
                .run_until(async move {
                    rx.await.ok();
                })
                .await
            {
                eprintln!("test server ended with an error: {e:#}");
            }
        });
        let db = database.pool().await?;
        Ok(TestApp {
            url,
            bound_url,
            db,
            database,
            moto_url,
            account_id,
            profiles: self.profiles,
            config_toml,
            http: http_client(),
            env,
            shutdown: Some(tx),
            server: Some(server),
            owns_database,
        })
    }
}

impl TestApp {
    /// A server with the default profiles.
    pub async fn spawn() -> TestApp {
        TestAppBuilder::default().spawn().await
    }

    pub fn builder() -> TestAppBuilder {
        TestAppBuilder::default()
    }

    /// `role_arn` of a configured profile.
    pub fn role_arn(&self, profile: &str) -> String {
        self.profiles
            .iter()
            .find(|p| p.name == profile)
            .unwrap_or_else(|| panic!("no profile {profile} in this test's config"))
            .role_arn(&self.account_id)
    }

    /// Role name (last ARN segment) of a configured profile.
    pub fn role_name(&self, profile: &str) -> String {
        let arn = self.role_arn(profile);
        arn.rsplit('/').next().unwrap_or_default().to_owned()
    }

    /// Stops the server gracefully and waits (bounded) until it has let go of its port.
    pub async fn stop_server(&mut self) {
        if let Some(tx) = self.shutdown.take() {
            let _ = tx.send(());
        }
        if let Some(server) = self.server.take() {
            tokio::time::timeout(Duration::from_secs(15), server)
                .await
                .expect("the server did not shut down within 15 s")
                .expect("server task panicked");
        }
    }

    /// Makes this test's database refuse connections (and ends the open ones).
    pub async fn make_database_unreachable(&self) {
        self.database
            .make_unreachable()
            .await
            .expect("making the test database unreachable");
    }

    /// Lets the database accept connections again.
    pub async fn restore_database(&self) {
        self.database
            .restore()
            .await
            .expect("restoring the test database");
    }

    /// `{url}{path}`.
    pub fn endpoint(&self, path: &str) -> String {
        format!("{}{}", self.url, path)
    }
}

impl Drop for TestApp {
    fn drop(&mut self) {
        if let Some(tx) = self.shutdown.take() {
            let _ = tx.send(());
        }
        if let Some(server) = self.server.take() {
            server.abort();
        }
        if !self.owns_database {
            return;
        }
        if std::env::var_os("VAULT_TEST_KEEP_DB").is_some() {
            eprintln!("keeping database {}", self.database.name);
            return;
        }
        // Drop cannot await, and the test's runtime may be single-threaded: use a thread of its own.
        let database = self.database.clone();
        let _ = std::thread::spawn(move || {
            let rt = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .expect("runtime");
            if let Err(e) = rt.block_on(database.drop_database()) {
                eprintln!("could not drop {}: {e:#}", database.name);
            }
        })
        .join();
    }
}
