//! Owned IAM keys end to end (issue 5): a private moto with signature checking on that holds the
//! broker's IAM user, a database of the test's own, a master key, and the real `vault-server`
//! binary (`keys import`, `keys rewrap`, `serve`) as child processes that a test can kill -9.

pub mod gate;
pub mod iam;
pub mod load;
pub mod proxy;
pub mod rows;
pub mod server;

use crate::config::{self, ProfileSpec, ServerSettings};
use crate::database::TestDatabase;
use crate::env::TestEnv;
use crate::oauth::OAuthClient;
use iam::{AccessKey, AwsBed, MotoIam};
use proxy::AwsProxy;
pub use rows::{KeyRow, RotationRow};
use server::ServerProcess;
use sqlx::PgPool;
use std::fmt::Write as _;
use std::path::PathBuf;
use tempfile::TempDir;
use uuid::Uuid;

/// The `[[identities]]` name the tests use.
pub const IDENTITY: &str = "broker";

/// A new random master key: 64 hex digits.
pub fn new_master_key() -> String {
    use rand::RngCore;
    let mut key = [0u8; 32];
    rand::thread_rng().fill_bytes(&mut key);
    key.iter().fold(String::new(), |mut s, b| {
        let _ = write!(s, "{b:02x}");
        s
    })
}

/// The public id the server gives a master key (first 8 bytes of its SHA-256, hex).
pub fn master_key_id(hex_key: &str) -> String {
    vault_server::keys::seal::MasterKey::parse(hex_key)
        .expect("a valid master key")
        .id()
        .to_owned()
}

/// `AKIA****WXYZ`, as the server masks a key id.
pub fn mask(access_key_id: &str) -> String {
    vault_server::keys::mask(access_key_id)
}

/// How the bed is set up.
pub struct KeyBedBuilder {
    deny: Vec<&'static str>,
    deactivate_after: String,
    delete_after: String,
    key_check_interval: String,
    max_key_age: String,
    profiles: Vec<ProfileSpec>,
    proxy: bool,
    log_statements: bool,
}

impl Default for KeyBedBuilder {
    fn default() -> Self {
        KeyBedBuilder {
            deny: Vec::new(),
            deactivate_after: "1s".into(),
            delete_after: "1s".into(),
            key_check_interval: "1s".into(),
            max_key_age: "30d".into(),
            profiles: config::default_profiles(),
            proxy: false,
            log_statements: false,
        }
    }
}

impl KeyBedBuilder {
    /// The two grace periods (`deactivate_after`, `delete_after`).
    pub fn grace(mut self, deactivate_after: &str, delete_after: &str) -> Self {
        self.deactivate_after = deactivate_after.into();
        self.delete_after = delete_after.into();
        self
    }
    pub fn max_key_age(mut self, age: &str) -> Self {
        self.max_key_age = age.into();
        self
    }
    pub fn key_check_interval(mut self, interval: &str) -> Self {
        self.key_check_interval = interval.into();
        self
    }
    /// IAM actions the broker's policy denies explicitly.
    pub fn deny(mut self, actions: &[&'static str]) -> Self {
        self.deny = actions.to_vec();
        self
    }

    /// Servers reach moto through an [`AwsProxy`] that can hold their AWS calls.
    pub fn through_proxy(mut self) -> Self {
        self.proxy = true;
        self
    }

    /// Replicas log every SQL statement they run, so a test can count their tries for the
    /// rotation lock ([`ServerProcess::lock_tries`]).
    pub fn log_statements(mut self) -> Self {
        self.log_statements = true;
        self
    }

    /// Starts moto, creates the database and imports the broker's first key with the binary.
    pub async fn start(self) -> KeyBed {
        crate::logs::init();
        let env = TestEnv::get();
        let roles: Vec<String> = self.profiles.iter().map(|p| p.role.clone()).collect();
        let aws = AwsBed::start(&self.deny, &roles).await;
        let proxy = match self.proxy {
            true => Some(AwsProxy::start(&aws.moto.url).await),
            false => None,
        };
        let database = TestDatabase::create(&env.database_url)
            .await
            .expect("creating the test database");
        let dir = tempfile::Builder::new()
            .prefix("vault-e2e-keys-")
            .tempdir()
            .expect("tempdir");
        let mut bed = KeyBed {
            db: None,
            master_key: new_master_key(),
            original_key: aws.broker_key.clone(),
            aws,
            proxy,
            database,
            dir,
            builder: self,
        };
        let out = bed.import(&bed.original_key, &bed.master_key, false).await;
        out.assert_success("vault-server keys import");
        bed.db = Some(bed.database.pool().await.expect("connecting the test pool"));
        bed
    }
}

/// Everything one owned-key test runs on. Dropping it stops moto and drops the database.
pub struct KeyBed {
    pub aws: AwsBed,
    /// Between the servers and moto, when asked for.
    pub proxy: Option<AwsProxy>,
    pub database: TestDatabase,
    db: Option<PgPool>,
    /// The master key the servers get (hex).
    pub master_key: String,
    /// The broker key created in moto and imported at the start.
    pub original_key: AccessKey,
    pub dir: TempDir,
    builder: KeyBedBuilder,
}

impl KeyBed {
    pub fn builder() -> KeyBedBuilder {
        KeyBedBuilder::default()
    }

    /// A superuser pool on the test database, for assertions.
    pub fn db(&self) -> &PgPool {
        self.db.as_ref().expect("the bed is started")
    }

    /// IAM as the test's inspector sees it.
    pub fn iam(&self) -> &MotoIam {
        &self.aws.inspector
    }

    pub fn moto_url(&self) -> &str {
        &self.aws.moto.url
    }

    /// Writes the server TOML for replica `name` listening on `port`; returns its path.
    pub fn write_config(&self, name: &str, port: u16) -> PathBuf {
        let env = TestEnv::get();
        let b = &self.builder;
        let mut url = url::Url::parse(&self.database.url).expect("database URL");
        url.query_pairs_mut().append_pair("application_name", name);
        let mut extra = String::new();
        writeln!(extra, "listen = \"127.0.0.1:{port}\"").unwrap();
        writeln!(extra, "key_check_interval = \"{}\"", b.key_check_interval).unwrap();
        writeln!(extra, "\n[[identities]]").unwrap();
        writeln!(extra, "name = \"{IDENTITY}\"").unwrap();
        writeln!(extra, "iam_user = \"{}\"", iam::BROKER_USER).unwrap();
        writeln!(extra, "account = \"{}\"", iam::ACCOUNT_ID).unwrap();
        writeln!(extra, "max_key_age = \"{}\"", b.max_key_age).unwrap();
        writeln!(extra, "deactivate_after = \"{}\"", b.deactivate_after).unwrap();
        writeln!(extra, "delete_after = \"{}\"", b.delete_after).unwrap();
        let settings = ServerSettings {
            database_url: url.to_string(),
            public_url: None,
            idp_issuer: env.idp_issuer.clone(),
            federation_url: env.federation_url.clone(),
            moto_url: match &self.proxy {
                Some(proxy) => proxy.url.clone(),
                None => self.aws.moto.url.clone(),
            },
            account_id: iam::ACCOUNT_ID.into(),
            access_token_ttl: "15m".into(),
            refresh_token_ttl: "30d".into(),
            profiles: b.profiles.clone(),
            extra_top_level: extra,
            migration_database_url: None,
            audit_retention: None,
            limits: None,
        };
        let path = self.dir.path().join(format!("{name}.toml"));
        std::fs::write(&path, settings.to_toml()).expect("writing the server config");
        path
    }

    /// `vault-server keys import --identity broker [--replace]` with `key` in the environment.
    pub async fn import(
        &self,
        key: &AccessKey,
        master_key: &str,
        replace: bool,
    ) -> crate::process::Output {
        let config = self.write_config("import", server::free_port());
        let config = config.to_string_lossy().into_owned();
        let mut args = vec![
            "keys",
            "import",
            "--config",
            config.as_str(),
            "--identity",
            IDENTITY,
        ];
        if replace {
            args.push("--replace");
        }
        server::run(
            &args,
            &[
                ("VAULT_MASTER_KEY", master_key),
                ("AWS_ACCESS_KEY_ID", key.id.as_str()),
                ("AWS_SECRET_ACCESS_KEY", key.secret.as_str()),
            ],
        )
        .await
    }

    /// `vault-server keys rewrap` from `old` to `new`.
    pub async fn rewrap(&self, old: &str, new: &str) -> crate::process::Output {
        let config = self.write_config("rewrap", server::free_port());
        let config = config.to_string_lossy().into_owned();
        server::run(
            &["keys", "rewrap", "--config", &config],
            &[("VAULT_MASTER_KEY", new), ("VAULT_OLD_MASTER_KEY", old)],
        )
        .await
    }

    /// Starts replica `name` with the bed's master key.
    pub async fn serve(&self, name: &str) -> ServerProcess {
        self.serve_with_master_key(name, &self.master_key.clone())
            .await
    }

    /// Starts replica `name` with another master key.
    pub async fn serve_with_master_key(&self, name: &str, master_key: &str) -> ServerProcess {
        let port = server::free_port();
        let config = self.write_config(name, port);
        let log = self.dir.path().join(format!("{name}.log"));
        let mut env = vec![("VAULT_MASTER_KEY".into(), master_key.into())];
        if self.builder.log_statements {
            env.push(("RUST_LOG".into(), server::LOG_STATEMENTS.into()));
        }
        ServerProcess::start(name, port, config, log, env).await
    }

    /// Logs `user` in at `server` and returns an access token.
    pub async fn token(&self, server: &ServerProcess, user: &str) -> String {
        OAuthClient::new(&server.url).login(user).await.access_token
    }

    /// `POST /v1/admin/rotate` as the admin holding `token`; returns the rotation it opened.
    pub async fn request_rotation(&self, server: &ServerProcess, token: &str) -> Uuid {
        let resp = OAuthClient::new(&server.url)
            .post_json(token, "/v1/admin/rotate", &serde_json::json!({}))
            .await;
        let status = resp.status();
        let body = resp.text().await.unwrap_or_default();
        assert_eq!(status, 200, "POST /v1/admin/rotate: {body}");
        let answer: vault_api::admin::RotateResponse =
            serde_json::from_str(&body).unwrap_or_else(|e| panic!("{e}: {body}"));
        assert_eq!(answer.identities, vec![IDENTITY.to_owned()], "{body}");
        self.rotations()
            .await
            .last()
            .expect("a rotation row after POST /v1/admin/rotate")
            .id
    }

    /// `GET /v1/admin/keys` as the admin holding `token`.
    pub async fn key_status(
        &self,
        server: &ServerProcess,
        token: &str,
    ) -> Vec<vault_api::admin::KeyStatus> {
        let resp = OAuthClient::new(&server.url)
            .get(token, "/v1/admin/keys")
            .await;
        let status = resp.status();
        let body = resp.text().await.unwrap_or_default();
        assert_eq!(status, 200, "GET /v1/admin/keys: {body}");
        serde_json::from_str(&body).unwrap_or_else(|e| panic!("{e}: {body}"))
    }

    /// Issues `dev` credentials at `server` with alice's `token`; the status and body.
    pub async fn issue(&self, server: &ServerProcess, token: &str) -> (u16, String) {
        let resp = OAuthClient::new(&server.url)
            .post_json(
                token,
                "/v1/credentials",
                &serde_json::json!({"profile": "dev"}),
            )
            .await;
        let status = resp.status().as_u16();
        (status, resp.text().await.unwrap_or_default())
    }

    /// Issues `dev` credentials, which must work, and proves moto accepts them.
    pub async fn assert_issuance_works(&self, server: &ServerProcess, token: &str) {
        let (status, body) = self.issue(server, token).await;
        assert_eq!(status, 200, "issuance at {}: {body}", server.name);
        let creds: vault_api::Credentials =
            serde_json::from_str(&body).unwrap_or_else(|e| panic!("{e}: {body}"));
        assert!(
            creds.access_key_id.starts_with("ASIA"),
            "{}",
            creds.access_key_id
        );
    }
}

impl Drop for KeyBed {
    fn drop(&mut self) {
        if std::env::var_os("VAULT_TEST_KEEP_DB").is_some() {
            eprintln!("keeping database {}", self.database.name);
            return;
        }
        drop(self.db.take());
        // Drop cannot await, and the test's runtime may be single-threaded: a thread of its own.
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
