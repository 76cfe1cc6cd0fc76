//! The generated world: principals, profiles, and how often each does what.

use super::*;

/// Every action the generator writes (the server's own action names).
pub(crate) const ACTIONS: &[&str] = &[
    "credentials_issue",
    "credentials_deny",
    "token_refresh",
    "login",
    "device_approve",
    "logout",
    "login_failed",
    "refresh_token_reuse",
    "admin_denied",
    "audit_query",
    "audit_export",
    "audit_verify",
    "server_start",
    "server_stop",
];

pub(crate) const TEAMS: &[&str] = &[
    "payments", "search", "data", "platform", "web", "mobile", "ml", "security",
];
pub(crate) const ENVS: &[(&str, &str, i32, i32)] = &[
    // name, account, default duration, max duration
    ("dev", "111122223333", 3600, 43200),
    ("staging", "222233334444", 3600, 14400),
    ("prod", "333344445555", 3600, 3600),
    ("prod-readonly", "333344445555", 3600, 14400),
    ("sandbox", "444455556666", 14400, 43200),
];
pub(crate) const FIRST: &[&str] = &[
    "alice", "bob", "carol", "dave", "erin", "frank", "grace", "heidi", "ivan", "judy", "mallory",
    "niaj", "olivia", "peggy", "rupert", "sybil", "trent", "victor", "walter", "yuki", "zoe",
    "amir", "bea", "chen", "dmitri", "esther", "farid", "gita", "hana", "ines",
];
pub(crate) const LAST: &[&str] = &[
    "smith", "jones", "garcia", "muller", "rossi", "tanaka", "kim", "nguyen", "silva", "novak",
    "okafor", "larsen", "dubois", "haddad", "kowalski", "murphy", "sato", "fischer", "costa",
    "ivanova",
];
pub(crate) const SERVICES: &[&str] = &["api", "worker", "infra", "etl", "frontend"];

pub(crate) struct Profile {
    pub(crate) name: String,
    pub(crate) role_arn: String,
    pub(crate) team: usize,
    pub(crate) env: usize,
}

pub(crate) struct Principal {
    pub(crate) id: Uuid,
    pub(crate) display: String,
    pub(crate) kind: PrincipalKind,
    pub(crate) session_name: String,
    /// Profiles this principal may assume (indexes into `World::profiles`).
    pub(crate) allowed: Vec<usize>,
    pub(crate) groups: Vec<String>,
    pub(crate) addrs: Vec<String>,
    pub(crate) admin: bool,
}

pub(crate) struct World {
    pub(crate) principals: Vec<Principal>,
    pub(crate) profiles: Vec<Profile>,
    /// Cumulative activity weights of the principals (Zipf-like: a few very busy, a long tail).
    pub(crate) cumulative: Vec<f64>,
}

impl World {
    pub(crate) fn new() -> World {
        let mut rng = StdRng::seed_from_u64(SEED);
        let mut profiles = Vec::new();
        for (t, team) in TEAMS.iter().enumerate() {
            for (e, (env, account, _, _)) in ENVS.iter().enumerate() {
                profiles.push(Profile {
                    name: format!("{team}-{env}"),
                    role_arn: format!("arn:aws:iam::{account}:role/{team}-{env}"),
                    team: t,
                    env: e,
                });
            }
        }
        let mut principals = Vec::new();
        // CI identities first: the busiest principals.
        for (team, team_name) in TEAMS.iter().enumerate() {
            for svc in SERVICES {
                let display = format!("repo:acme/{team_name}-{svc}:ref:refs/heads/main");
                let allowed = profiles
                    .iter()
                    .enumerate()
                    .filter(|(_, p)| {
                        p.team == team && matches!(ENVS[p.env].0, "dev" | "staging" | "prod")
                    })
                    .map(|(i, _)| i)
                    .collect();
                let id = Uuid::from_bytes(rng.gen());
                principals.push(Principal {
                    id,
                    session_name: vault_server::sts::session_name(&display, id),
                    display,
                    kind: PrincipalKind::Ci,
                    allowed,
                    groups: Vec::new(),
                    addrs: vec![format!(
                        "172.16.{}.{}",
                        rng.gen_range(0..16),
                        rng.gen_range(1..255)
                    )],
                    admin: false,
                });
            }
        }
        // People: 420 of them, each in one or two teams, some on call (prod), a few admins.
        let mut n = 0;
        'people: for last in LAST {
            for first in FIRST {
                if n == 420 {
                    break 'people;
                }
                n += 1;
                let display = format!("{first}.{last}@example.com");
                let home = rng.gen_range(0..TEAMS.len());
                let mut teams = vec![home];
                if rng.gen_bool(0.3) {
                    teams.push(rng.gen_range(0..TEAMS.len()));
                }
                let oncall = rng.gen_bool(0.25);
                let admin = n % 60 == 0;
                let mut groups: Vec<String> = teams.iter().map(|t| TEAMS[*t].to_string()).collect();
                if oncall {
                    groups.push(format!("{}-oncall", TEAMS[home]));
                }
                if admin {
                    groups.push("admins".into());
                }
                let allowed = profiles
                    .iter()
                    .enumerate()
                    .filter(|(_, p)| {
                        teams.contains(&p.team)
                            && (ENVS[p.env].0 != "prod" || (oncall && p.team == home))
                    })
                    .map(|(i, _)| i)
                    .collect();
                let addrs = (0..rng.gen_range(1..=3))
                    .map(|_| {
                        format!(
                            "10.{}.{}.{}",
                            rng.gen_range(0..255),
                            rng.gen_range(0..255),
                            rng.gen_range(1..255)
                        )
                    })
                    .collect();
                let id = Uuid::from_bytes(rng.gen());
                principals.push(Principal {
                    id,
                    session_name: vault_server::sts::session_name(&display, id),
                    display,
                    kind: PrincipalKind::User,
                    allowed,
                    groups,
                    addrs,
                    admin,
                });
            }
        }
        let mut total = 0.0;
        let cumulative = (0..principals.len())
            .map(|rank| {
                total += 1.0 / (rank as f64 + 8.0);
                total
            })
            .collect();
        World {
            principals,
            profiles,
            cumulative,
        }
    }

    pub(crate) fn pick_principal(&self, rng: &mut StdRng) -> &Principal {
        let total = *self.cumulative.last().expect("principals");
        let x = rng.gen::<f64>() * total;
        let i = self.cumulative.partition_point(|c| *c < x);
        &self.principals[i.min(self.principals.len() - 1)]
    }

    /// One realistic event at `at`. `system_turn` alternates server start and stop.
    pub(crate) fn event(
        &self,
        rng: &mut StdRng,
        at: OffsetDateTime,
        system_turn: &mut bool,
    ) -> AuditEvent {
        let uuid = |rng: &mut StdRng| uuid::Builder::from_random_bytes(rng.gen()).into_uuid();
        if rng.gen_bool(0.0004) {
            *system_turn = !*system_turn;
            let mut e = base(
                if *system_turn {
                    "server_start"
                } else {
                    "server_stop"
                },
                Outcome::Success,
                at,
            );
            e = e.as_server();
            e.request_id = Some(uuid(rng).to_string());
            e.details = serde_json::json!({ "version": "0.1.0" });
            return e;
        }
        let p = self.pick_principal(rng);
        let session_id = uuid(rng);
        let by = |mut e: AuditEvent, rng: &mut StdRng| {
            e.principal_id = Some(p.id);
            e.principal = Some(p.display.clone());
            e.principal_kind = Some(p.kind);
            e.client_addr = Some(p.addrs[rng.gen_range(0..p.addrs.len())].clone());
            e.request_id = Some(uuid(rng).to_string());
            e.details = serde_json::json!({ "session_id": session_id });
            e
        };
        let r: f64 = rng.gen();
        if p.kind == PrincipalKind::Ci {
            let mut e = if r < 0.96 {
                issue(self, p, rng, at)
            } else {
                deny(self, p, rng, at)
            };
            e = by(e, rng);
            e.user_agent = Some("vault/0.1.0 (ci)".into());
            return e;
        }
        let ua = if rng.gen_bool(0.85) {
            "vault/0.1.0"
        } else {
            "mairu/0.8.1"
        };
        let mut e = match r {
            r if r < 0.58 => issue(self, p, rng, at),
            r if r < 0.62 => deny(self, p, rng, at),
            r if r < 0.86 => base("token_refresh", Outcome::Success, at),
            r if r < 0.91 => {
                let device = rng.gen_bool(0.12);
                let mut e = base(
                    if device { "device_approve" } else { "login" },
                    Outcome::Success,
                    at,
                );
                e = by(e, rng);
                e.user_agent = Some(BROWSER.into());
                e.details = serde_json::json!({
                    "flow": if device { "device" } else { "browser" },
                    "groups": p.groups,
                    "session_id": session_id,
                });
                return e;
            }
            r if r < 0.93 => base("logout", Outcome::Success, at),
            r if r < 0.94 => {
                let mut e = base("login_failed", Outcome::Failure, at);
                e.reason = Some(
                    "the identity provider answered error=access_denied (End-User aborted interaction)"
                        .into(),
                );
                e.client_addr = Some(p.addrs[0].clone());
                e.user_agent = Some(BROWSER.into());
                e.request_id = Some(uuid(rng).to_string());
                return e;
            }
            r if r < 0.9405 => {
                let mut e = by(base("refresh_token_reuse", Outcome::Denied, at), rng);
                e.reason = Some(
                    "a refresh token was presented twice; the login session was revoked".into(),
                );
                e.user_agent = Some(ua.into());
                return e;
            }
            _ if p.admin => {
                let r2: f64 = rng.gen();
                let action = if r2 < 0.9 {
                    "audit_query"
                } else if r2 < 0.95 {
                    "audit_export"
                } else {
                    "audit_verify"
                };
                let mut e = by(base(action, Outcome::Success, at), rng);
                let filter = serde_json::json!({
                    "principal": self.principals[rng.gen_range(0..self.principals.len())].display,
                    "since": "7d",
                });
                e.details["filter"] = filter;
                if action == "audit_query" {
                    e.details["returned"] = serde_json::json!(rng.gen_range(0..=50));
                }
                e.user_agent = Some(ua.into());
                return e;
            }
            _ if rng.gen_bool(0.05) => {
                let mut e = by(base("admin_denied", Outcome::Denied, at), rng);
                e.reason = Some(
                    "only members of the admin groups [admins] may read the audit trail".into(),
                );
                e.details["attempted"] = serde_json::json!("read the audit trail");
                e.user_agent = Some(ua.into());
                return e;
            }
            _ => issue(self, p, rng, at),
        };
        e = by(e, rng);
        e.user_agent = Some(ua.into());
        e
    }
}
