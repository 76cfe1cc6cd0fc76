//! Building single events, and the timeline that spreads them over a year.

use super::*;

pub(crate) const BROWSER: &str =
    "Mozilla/5.0 (X11; Linux x86_64; rv:133.0) Gecko/20100101 Firefox/133.0";

pub(crate) fn base(action: &'static str, outcome: Outcome, at: OffsetDateTime) -> AuditEvent {
    let meta = vault_server::request_meta::RequestMeta::internal();
    let mut e = AuditEvent::new(action, outcome, &meta, at);
    // Ids and request ids come from the generator's seeded random numbers, not from here.
    e.id = Uuid::nil();
    e.request_id = None;
    e
}

/// A temporary access key id as STS hands them out.
pub(crate) fn access_key(rng: &mut StdRng) -> String {
    const B32: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";
    let mut k = String::with_capacity(20);
    k.push_str("ASIA");
    for _ in 0..16 {
        k.push(B32[rng.gen_range(0..32)] as char);
    }
    k
}

pub(crate) fn issue(w: &World, p: &Principal, rng: &mut StdRng, at: OffsetDateTime) -> AuditEvent {
    if p.allowed.is_empty() {
        return deny(w, p, rng, at);
    }
    let profile = &w.profiles[p.allowed[rng.gen_range(0..p.allowed.len())]];
    let (_, _, default, max) = ENVS[profile.env];
    let duration = if rng.gen_bool(0.8) {
        default
    } else {
        rng.gen_range(900..=max)
    };
    let failed = rng.gen_bool(0.003);
    let mut e = base(
        "credentials_issue",
        if failed {
            Outcome::Failure
        } else {
            Outcome::Success
        },
        at,
    );
    e.profile = Some(profile.name.clone());
    e.role_arn = Some(profile.role_arn.clone());
    e.session_name = Some(p.session_name.clone());
    e.source_identity = Some(p.session_name.clone());
    e.duration_seconds = Some(duration);
    if failed {
        e.reason = Some("sts:AssumeRole failed: service error: Throttling: Rate exceeded".into());
    } else {
        e.access_key_id = Some(access_key(rng));
        e.expiration = Some(at + time::Duration::seconds(duration.into()));
    }
    e
}

pub(crate) fn deny(w: &World, p: &Principal, rng: &mut StdRng, at: OffsetDateTime) -> AuditEvent {
    let mut e = base("credentials_deny", Outcome::Denied, at);
    let i = rng.gen_range(0..w.profiles.len());
    let profile = &w.profiles[i];
    e.profile = Some(profile.name.clone());
    let code = if p.allowed.contains(&i) {
        let asked = ENVS[profile.env].3 * 2;
        e.duration_seconds = Some(asked);
        e.reason = Some(format!(
            "{}h is longer than the maximum for `{}`, which is {}h ({} seconds)",
            asked / 3600,
            profile.name,
            ENVS[profile.env].3 / 3600,
            ENVS[profile.env].3
        ));
        "duration_too_long"
    } else {
        e.reason = Some(format!(
            "{} may not assume `{}`: it is open to the groups [{}] and you are in [{}]",
            p.display,
            profile.name,
            TEAMS[profile.team],
            p.groups.join(", ")
        ));
        "not_allowed"
    };
    e.details = serde_json::json!({ "code": code });
    e
}

/// Maps event `i` of `n` to a time in [end - 365 days, end), following a weekly rhythm: busy
/// on weekday working hours, quiet at night and at weekends. Monotonic in `i`.
pub(crate) struct Timeline {
    pub(crate) start: OffsetDateTime,
    /// Cumulative weight at the start of each hour.
    pub(crate) cumulative: Vec<f64>,
    pub(crate) hour: usize,
}

impl Timeline {
    pub(crate) fn new(end: OffsetDateTime) -> Timeline {
        let hours = 365 * 24;
        let start = end - time::Duration::hours(hours as i64);
        let mut cumulative = Vec::with_capacity(hours + 1);
        let mut total = 0.0;
        cumulative.push(0.0);
        for h in 0..hours {
            let t = start + time::Duration::hours(h as i64);
            let weekday = t.weekday().number_days_from_monday() < 5;
            let w = match (weekday, t.hour()) {
                (true, 8..=17) => 10.0,
                (true, 18..=22) | (true, 6..=7) => 3.0,
                _ => 1.0,
            };
            total += w;
            cumulative.push(total);
        }
        Timeline {
            start,
            cumulative,
            hour: 0,
        }
    }

    pub(crate) fn at(&mut self, i: i64, n: i64) -> OffsetDateTime {
        let total = *self.cumulative.last().expect("hours");
        let target = (i as f64 + 0.5) / n as f64 * total;
        while self.hour + 2 < self.cumulative.len() && self.cumulative[self.hour + 1] <= target {
            self.hour += 1;
        }
        let (lo, hi) = (self.cumulative[self.hour], self.cumulative[self.hour + 1]);
        let frac = ((target - lo) / (hi - lo)).clamp(0.0, 1.0);
        self.start
            + time::Duration::hours(self.hour as i64)
            + time::Duration::microseconds((frac * 3_600_000_000.0) as i64)
    }
}
