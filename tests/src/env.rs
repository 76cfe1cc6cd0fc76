//! The test bed given by `tests/run`: where Postgres, moto, the dev IdP and the AWS CLI are.

use std::path::PathBuf;
use std::sync::OnceLock;

/// Locations of the real components every test talks to, read once from the environment.
#[derive(Debug, Clone)]
pub struct TestEnv {
    /// Superuser URL of the private Postgres 15 (its `postgres` database).
    pub database_url: String,
    /// The shared moto server, e.g. `http://127.0.0.1:5000`.
    pub moto_url: String,
    /// Path of `moto_server`, for tests that need a moto of their own.
    pub moto_server: PathBuf,
    /// Issuer of the shared dev OpenID provider (client `team-vault` / `dev-secret`).
    pub idp_issuer: String,
    /// Directory holding `autologin.js`.
    pub idp_dir: PathBuf,
    /// Path of the real AWS CLI.
    pub aws_cli: PathBuf,
    /// The stand-in for the AWS federation endpoint (`deploy/local/federation_standin.py`),
    /// e.g. `http://127.0.0.1:5100/federation`; every test server's `[console] federation_url`.
    pub federation_url: String,
    /// This run's scratch directory (screenshots of pages go under it).
    pub scratch_dir: PathBuf,
}

fn required(name: &str) -> String {
    match std::env::var(name) {
        Ok(v) if !v.trim().is_empty() => v,
        _ => panic!(
            "{name} is not set: the end-to-end tests need the test bed (Postgres, moto, the dev IdP, \
             the AWS CLI); run tests/run instead of cargo test"
        ),
    }
}

impl TestEnv {
    /// The test bed; panics with "run tests/run" when a variable is missing.
    pub fn get() -> &'static TestEnv {
        static ENV: OnceLock<TestEnv> = OnceLock::new();
        ENV.get_or_init(|| TestEnv {
            database_url: required("VAULT_TEST_DATABASE_URL"),
            moto_url: required("VAULT_TEST_MOTO_URL")
                .trim_end_matches('/')
                .to_owned(),
            moto_server: required("VAULT_TEST_MOTO_SERVER").into(),
            idp_issuer: required("VAULT_TEST_IDP_ISSUER"),
            idp_dir: required("VAULT_TEST_IDP_DIR").into(),
            aws_cli: required("VAULT_TEST_AWS_CLI").into(),
            federation_url: required("VAULT_TEST_FEDERATION_URL"),
            scratch_dir: required("VAULT_TEST_SCRATCH_DIR").into(),
        })
    }

    /// The Python of the tests' venv (moto, the AWS CLI, Playwright).
    pub fn python(&self) -> PathBuf {
        self.aws_cli.with_file_name("python")
    }

    /// A script of `tests/browser/`, the Playwright scenarios.
    pub fn browser_script(&self, name: &str) -> PathBuf {
        self.idp_dir.with_file_name("browser").join(name)
    }

    /// `autologin.js` in the IdP directory.
    pub fn autologin_script(&self) -> PathBuf {
        self.idp_dir.join("autologin.js")
    }
}
