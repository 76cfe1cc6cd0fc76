//! Thousands of realistic audit events, fast: generated from a fixed seed and appended through
//! the server's own writer path (`vault_server::db::audit::append`), so the chain stays valid.

use anyhow::{Context, Result};
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use sqlx::PgPool;
use std::ops::RangeInclusive;
use std::time::Duration;
use time::OffsetDateTime;
use vault_server::audit::{AuditEvent, Outcome};
use vault_server::principal::PrincipalKind;
use vault_server::request_meta::RequestMeta;

/// Events per INSERT (22 bind parameters each; Postgres allows 65,535).
const BATCH: usize = 500;

/// (action, outcome, weight): mostly issues and refreshes, some denials and failures.
const ACTIONS: &[(&str, Outcome, u32)] = &[
    ("credentials_issue", Outcome::Success, 40),
    ("credentials_issue", Outcome::Failure, 3),
    ("credentials_deny", Outcome::Denied, 8),
    ("token_refresh", Outcome::Success, 20),
    ("login", Outcome::Success, 12),
    ("login_failed", Outcome::Failure, 3),
    ("logout", Outcome::Success, 5),
    ("refresh_token_reuse", Outcome::Denied, 2),
    ("admin_denied", Outcome::Denied, 3),
    ("audit_query", Outcome::Success, 4),
];

const PROFILES: &[&str] = &[
    "dev",
    "ops",
    "prod",
    "staging",
    "admin-only",
    "data_lake",
    "dataxlake",
];
const SOURCES: &[&str] = &[
    "10.0.0.7",
    "10.0.3.21",
    "192.168.1.50",
    "::1",
    "2001:db8::17",
];
const AGENTS: &[&str] = &["vault/0.1.0", "aws-cli/2.15", "mairu/0.9", "curl/8.5"];

/// Generates events over a time span ending at `now`, keeping away from chosen instants.
pub struct Seeder {
    rng: StdRng,
    pub now: OffsetDateTime,
    span: Duration,
    avoid: Vec<OffsetDateTime>,
    margin: time::Duration,
}

impl Seeder {
    /// Events at random times in `[now - span, now)`, from a fixed `seed`.
    pub fn new(seed: u64, now: OffsetDateTime, span: Duration) -> Self {
        Seeder {
            rng: StdRng::seed_from_u64(seed),
            now,
            span,
            avoid: Vec::new(),
            margin: time::Duration::minutes(15),
        }
    }

    /// No event within 15 minutes of `t`: a filter boundary there stays unambiguous even though
    /// the server reads its clock a little later than the test's SQL does.
    pub fn avoid(mut self, t: OffsetDateTime) -> Self {
        self.avoid.push(t);
        self
    }

    fn time(&mut self) -> OffsetDateTime {
        loop {
            let back = self.rng.gen_range(0..self.span.as_micros() as i64);
            let t = self.now - time::Duration::microseconds(back);
            if self.avoid.iter().all(|a| (t - *a).abs() > self.margin) {
                return t;
            }
        }
    }

    fn pick<T: Copy>(&mut self, items: &[T]) -> T {
        items[self.rng.gen_range(0..items.len())]
    }

    /// A principal: one of 40 people, two look-alike bots (`ci_bot`, `cixbot`: `_` must be
    /// literal in a glob), or a CI job.
    fn principal(&mut self) -> (String, PrincipalKind) {
        match self.rng.gen_range(0..50) {
            0..40 => (
                format!("user{:02}@example.com", self.rng.gen_range(0..40)),
                PrincipalKind::User,
            ),
            40..43 => ("ci_bot@example.com".into(), PrincipalKind::User),
            43..46 => ("cixbot@example.com".into(), PrincipalKind::User),
            _ => (
                "repo:acme/app:ref:refs/heads/main".into(),
                PrincipalKind::Ci,
            ),
        }
    }

    /// One realistic event.
    pub fn event(&mut self) -> AuditEvent {
        let total: u32 = ACTIONS.iter().map(|a| a.2).sum();
        let mut roll = self.rng.gen_range(0..total);
        let &(action, outcome, _) = ACTIONS
            .iter()
            .find(|a| {
                let hit = roll < a.2;
                roll = roll.saturating_sub(a.2);
                hit
            })
            .expect("weights add up");
        let meta = RequestMeta {
            request_id: uuid::Uuid::new_v4().to_string(),
            client_addr: Some(self.pick(SOURCES).to_owned()),
            user_agent: Some(self.pick(AGENTS).to_owned()),
        };
        let at = self.time();
        let (principal, kind) = self.principal();
        let mut e = AuditEvent::new(action, outcome, &meta, at).principal(
            Some(uuid::Uuid::new_v4()),
            &principal,
            kind,
        );
        if action.starts_with("credentials") {
            let profile = self.pick(PROFILES);
            e = e.profile(profile);
            e.role_arn = Some(format!("arn:aws:iam::123456789012:role/team-{profile}"));
            let local = principal
                .split('@')
                .next()
                .unwrap_or_default()
                .replace(['/', ':'], "-");
            e.session_name = Some(if kind == PrincipalKind::Ci {
                format!("gha-acme-app-{}", self.rng.gen_range(1000..9999))
            } else {
                local.clone()
            });
            e.source_identity = e.session_name.clone();
            e.duration_seconds = Some(3600);
            if action == "credentials_deny" {
                e = e.reason(format!(
                    "{principal} is not in a group allowed to use `{profile}`"
                ));
            } else if outcome == Outcome::Failure {
                e = e.reason("sts:AssumeRole failed: throttled");
            } else {
                e.access_key_id = Some(self.access_key_id());
                e.expiration = Some(at + time::Duration::hours(1));
            }
        }
        e.detail("seeded", true)
    }

    /// `ASIA` and 16 upper-case letters and digits, like STS.
    fn access_key_id(&mut self) -> String {
        const ALPHABET: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";
        let tail: String = (0..16)
            .map(|_| ALPHABET[self.rng.gen_range(0..ALPHABET.len())] as char)
            .collect();
        format!("ASIA{tail}")
    }

    /// `n` events.
    pub fn events(&mut self, n: usize) -> Vec<AuditEvent> {
        (0..n).map(|_| self.event()).collect()
    }
}

/// Appends `events` at the head of the chain, in order, through the server's writer path: one
/// transaction, locking the chain head like any replica would. Returns their chain positions.
pub async fn append(pool: &PgPool, events: &[AuditEvent]) -> Result<RangeInclusive<i64>> {
    let mut tx = pool.begin().await?;
    let head: i64 = sqlx::query_scalar("SELECT chain_seq FROM audit_chain_head FOR UPDATE")
        .fetch_one(&mut *tx)
        .await?;
    for batch in events.chunks(BATCH) {
        vault_server::db::audit::append(&mut tx, batch)
            .await
            .context("vault_server::db::audit::append")?;
    }
    tx.commit().await?;
    Ok(head + 1..=head + events.len() as i64)
}
