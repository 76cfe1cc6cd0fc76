//! The server's TOML configuration for one test: its database, moto, the shared IdP, profiles.

use std::fmt::Write as _;

/// One `[[profiles]]` entry.
#[derive(Debug, Clone)]
pub struct ProfileSpec {
    pub name: String,
    /// Role name; the ARN is built in the test's own AWS account.
    pub role: String,
    pub default_duration: String,
    pub max_duration: String,
    pub allow_groups: Vec<String>,
    /// TOML appended to this profile's table (e.g. `reuse_ci_sessions`, `[[profiles.allow_ci]]`).
    pub extra_toml: String,
}

impl ProfileSpec {
    pub fn new(name: &str, role: &str, allow_groups: &[&str]) -> Self {
        ProfileSpec {
            name: name.into(),
            role: role.into(),
            default_duration: "1h".into(),
            max_duration: "1h".into(),
            allow_groups: allow_groups.iter().map(|g| g.to_string()).collect(),
            extra_toml: String::new(),
        }
    }

    /// Appends `toml` to this profile's table (keys first, then sub-tables).
    pub fn toml(mut self, toml: &str) -> Self {
        self.extra_toml.push_str(toml);
        self
    }

    pub fn durations(mut self, default: &str, max: &str) -> Self {
        self.default_duration = default.into();
        self.max_duration = max.into();
        self
    }

    /// `arn:aws:iam::<account>:role/<role>`.
    pub fn role_arn(&self, account_id: &str) -> String {
        format!("arn:aws:iam::{account_id}:role/{}", self.role)
    }
}

/// The profiles most tests use: `dev` (dev, ops; at most 1h), `ops` (ops), `admin-only` (admins).
pub fn default_profiles() -> Vec<ProfileSpec> {
    vec![
        ProfileSpec::new("dev", "team-dev", &["dev", "ops"]),
        ProfileSpec::new("ops", "team-ops", &["ops"]),
        ProfileSpec::new("admin-only", "team-admin", &["admins"]),
    ]
}

/// `[aws] min_session` of every test server (allowed because moto is the endpoint).
pub const SHORT_MIN_SESSION: &str = "5s";

/// Lifetime of a [`short_profile`] session, in seconds.
pub const SHORT_SESSION_SECS: u64 = 20;

/// `short` (dev, ops): sessions of [`SHORT_SESSION_SECS`] by default and at most, so a test can
/// watch several of them expire and be refreshed.
pub fn short_profile() -> ProfileSpec {
    let lifetime = format!("{SHORT_SESSION_SECS}s");
    ProfileSpec::new("short", "team-short", &["dev", "ops"]).durations(&lifetime, &lifetime)
}

/// Everything the TOML needs to know.
#[derive(Debug, Clone)]
pub struct ServerSettings {
    pub database_url: String,
    pub public_url: Option<String>,
    pub idp_issuer: String,
    pub moto_url: String,
    pub account_id: String,
    pub access_token_ttl: String,
    pub refresh_token_ttl: String,
    pub profiles: Vec<ProfileSpec>,
    /// Appended verbatim at the top level (before the tables), for options a test needs.
    pub extra_top_level: String,
    /// `migration_database_url`: the owner role that applies migrations (default: none).
    pub migration_database_url: Option<String>,
    /// `[audit]`: `retention` and `prune_interval` (default: no retention).
    pub audit_retention: Option<(String, String)>,
    /// The body of `[limits]`; `None` writes [`GENEROUS_LIMITS`].
    pub limits: Option<String>,
    /// `[console] federation_url`: the stand-in, so no test can reach the real endpoint.
    pub federation_url: String,
}

/// `[limits]` of tests that are not about rate limits: on, so every request passes the
/// limiters, but far above what a functional test or a load test of another part sends.
pub const GENEROUS_LIMITS: &str = "unauthenticated = { per_minute = 600000, burst = 100000 }\n\
                                   authenticated = { per_minute = 600000, burst = 100000 }\n\
                                   user_codes = { per_address = { per_minute = 600000, burst = 100000 }, total = { per_minute = 600000, burst = 100000 } }\n";

/// A TOML basic string (JSON escaping is a subset TOML accepts).
fn s(v: &str) -> String {
    serde_json::to_string(v).expect("strings serialise")
}

fn list(v: &[String]) -> String {
    let items: Vec<String> = v.iter().map(|x| s(x)).collect();
    format!("[{}]", items.join(", "))
}

impl ServerSettings {
    /// The server TOML as an operator would write it.
    pub fn to_toml(&self) -> String {
        let mut t = String::new();
        writeln!(t, "database_url = {}", s(&self.database_url)).unwrap();
        if let Some(p) = &self.public_url {
            writeln!(t, "public_url = {}", s(p)).unwrap();
        }
        writeln!(t, "log_format = \"text\"").unwrap();
        writeln!(t, "admin_groups = [\"admins\"]").unwrap();
        writeln!(t, "access_token_ttl = {}", s(&self.access_token_ttl)).unwrap();
        writeln!(t, "refresh_token_ttl = {}", s(&self.refresh_token_ttl)).unwrap();
        // Device-flow tests poll once a second instead of the default five.
        writeln!(t, "device_poll_interval = \"1s\"").unwrap();
        if let Some(url) = &self.migration_database_url {
            writeln!(t, "migration_database_url = {}", s(url)).unwrap();
        }
        t.push_str(&self.extra_top_level);
        t.push('\n');

        if let Some((retention, interval)) = &self.audit_retention {
            writeln!(t, "\n[audit]").unwrap();
            writeln!(t, "retention = {}", s(retention)).unwrap();
            writeln!(t, "prune_interval = {}", s(interval)).unwrap();
        }

        writeln!(t, "\n[limits]").unwrap();
        t.push_str(self.limits.as_deref().unwrap_or(GENEROUS_LIMITS));
        t.push('\n');

        writeln!(t, "\n[console]").unwrap();
        writeln!(t, "federation_url = {}", s(&self.federation_url)).unwrap();

        writeln!(t, "\n[oidc]").unwrap();
        writeln!(t, "issuer = {}", s(&self.idp_issuer)).unwrap();
        writeln!(t, "client_id = \"team-vault\"").unwrap();
        writeln!(t, "client_secret = \"dev-secret\"").unwrap();
        writeln!(
            t,
            "scopes = [\"openid\", \"email\", \"profile\", \"groups\"]"
        )
        .unwrap();
        writeln!(t, "groups_claim = \"groups\"").unwrap();

        writeln!(t, "\n[aws]").unwrap();
        writeln!(t, "region = \"us-east-1\"").unwrap();
        writeln!(t, "endpoint_url = {}", s(&self.moto_url)).unwrap();
        writeln!(t, "access_key_id = \"testing\"").unwrap();
        writeln!(t, "secret_access_key = \"testing\"").unwrap();
        // moto does not check DurationSeconds: the short profile's sessions last seconds.
        writeln!(t, "min_session = {}", s(SHORT_MIN_SESSION)).unwrap();

        for p in &self.profiles {
            writeln!(t, "\n[[profiles]]").unwrap();
            writeln!(t, "name = {}", s(&p.name)).unwrap();
            writeln!(t, "role_arn = {}", s(&p.role_arn(&self.account_id))).unwrap();
            writeln!(t, "region = \"us-east-1\"").unwrap();
            writeln!(t, "default_duration = {}", s(&p.default_duration)).unwrap();
            writeln!(t, "max_duration = {}", s(&p.max_duration)).unwrap();
            writeln!(t, "allow_groups = {}", list(&p.allow_groups)).unwrap();
            t.push_str(&p.extra_toml);
        }
        t
    }
}

/// A random 12-digit AWS account id, so tests sharing one moto never see each other's state.
pub fn random_account_id() -> String {
    use rand::Rng;
    format!(
        "{}",
        rand::thread_rng().gen_range(100_000_000_000u64..1_000_000_000_000)
    )
}
