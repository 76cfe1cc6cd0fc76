//! Rate limits of one replica (governor's GCRA): per client address for everything reached
//! without a valid bearer token, per principal after the token is verified. Refusals are summed
//! into `rate_limited` audit events (see [`summary`]), written by [`summarize`].

mod store;
pub mod summary;

use std::{net::IpAddr, num::NonZeroU32, sync::Arc, time::Duration};

use governor::{
    clock::{Clock, DefaultClock},
    state::{InMemoryState, NotKeyed},
    Quota, RateLimiter,
};
use ipnet::Ipv6Net;
use tokio::sync::Notify;
use uuid::Uuid;

use crate::{
    audit::AuditEvent,
    clock,
    config::{LimitsConfig, Rate},
    principal::Principal,
    trail::writer::AuditWriter,
};
use store::BoundedStore;
use summary::{Source, Summary};

/// Sources one limiter tracks at most (about 64 bytes each); see [`store`].
const MAX_TRACKED: usize = 100_000;
/// How often sources whose buckets are full again are forgotten.
const TIDY_EVERY: Duration = Duration::from_secs(10);
/// Summary events kept for another try while the audit trail cannot be written.
const MAX_UNWRITTEN: usize = 2 * (summary::MAX_SOURCES + 1);
/// How long the last summary may take to be written at shutdown.
const FINAL_FLUSH: Duration = Duration::from_secs(5);

type Keyed<K> = RateLimiter<K, BoundedStore<K>, DefaultClock>;
type Direct = RateLimiter<NotKeyed, InMemoryState, DefaultClock>;

/// Which limit refused a request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Scope {
    Address,
    Principal,
    /// The device page's user-code lookups, per address or in total (`[limits.user_codes]`).
    UserCodes,
}

/// A request over its source's limit: answered 429 with `Retry-After`.
#[derive(Debug, Clone, Copy, thiserror::Error)]
#[error("{}; try again in {retry_after_secs} s", match .scope {
    Scope::Address => "too many requests from your address",
    Scope::Principal => "too many requests for your identity",
    Scope::UserCodes => "too many device codes were tried",
})]
pub struct RateLimited {
    pub scope: Scope,
    /// Whole seconds until the next request would be allowed (at least 1).
    pub retry_after_secs: u64,
}

/// The limiters of this replica and the summary of what they refused.
pub struct Limits {
    by_address: Option<Keyed<IpAddr>>,
    by_principal: Option<Keyed<Uuid>>,
    user_codes_by_address: Option<Keyed<IpAddr>>,
    user_codes_total: Option<Direct>,
    summary: Summary,
    summary_interval: Duration,
    stop: Notify,
}

fn quota(rate: Option<Rate>) -> Option<Quota> {
    let rate = rate?;
    Some(
        Quota::per_minute(NonZeroU32::new(rate.per_minute)?)
            .allow_burst(NonZeroU32::new(rate.burst)?),
    )
}

fn limiter<K: std::hash::Hash + Eq + Clone>(rate: Option<Rate>) -> Option<Keyed<K>> {
    Some(RateLimiter::new(
        quota(rate)?,
        BoundedStore::new(MAX_TRACKED),
        DefaultClock::default(),
    ))
}

/// The key of an address: IPv4 as is, IPv6 by its /64 (what one host or site usually gets).
pub fn address_key(ip: IpAddr) -> IpAddr {
    match ip.to_canonical() {
        IpAddr::V6(v6) => IpAddr::V6(Ipv6Net::new(v6, 64).map(|n| n.network()).unwrap_or(v6)),
        v4 => v4,
    }
}

/// Whether requests to `path` are counted per principal by the `Caller` extractor (the `/v1`
/// API, `/assume-role` and `/roles`) rather than per address by the middleware.
pub fn counted_per_principal(path: &str) -> bool {
    path.starts_with("/v1/") || matches!(path, "/assume-role" | "/roles")
}

/// The kind of a request in the summary: `POST /oauth/token` (cut to a bounded length there).
pub fn kind(method: &axum::http::Method, path: &str) -> String {
    let path: String = path.chars().take(summary::MAX_KIND_CHARS).collect();
    format!("{method} {path}")
}

/// How an address key is written in the audit trail.
fn address_label(key: IpAddr) -> String {
    match key {
        IpAddr::V6(_) => format!("{key}/64"),
        IpAddr::V4(_) => key.to_string(),
    }
}

impl Limits {
    pub fn new(config: &LimitsConfig) -> Arc<Self> {
        Arc::new(Limits {
            by_address: limiter(config.unauthenticated),
            by_principal: limiter(config.authenticated),
            user_codes_by_address: limiter(config.user_codes.per_address),
            user_codes_total: quota(config.user_codes.total).map(RateLimiter::direct),
            summary: Summary::default(),
            summary_interval: config.summary_interval,
            stop: Notify::new(),
        })
    }

    /// Counts a request reached without a valid bearer token against its address; `kind`
    /// (`POST /oauth/token`) names it in the summary. No address (no socket): not limited.
    pub fn check_address(&self, addr: Option<IpAddr>, kind: &str) -> Result<(), RateLimited> {
        let (Some(limiter), Some(addr)) = (&self.by_address, addr) else {
            return Ok(());
        };
        let key = address_key(addr);
        check(limiter, &key, Scope::Address).inspect_err(|_| {
            let label = Some(address_label(key));
            let now = clock::now();
            self.summary
                .record(Source::Address(key), None, label, kind, now);
        })
    }

    /// Counts a lookup of a user code on the device page (`kind` names the request) against its
    /// address and against all lookups together; over either, it is refused (and summed into
    /// the address's `rate_limited` event) before the code is looked at.
    pub fn check_user_code(&self, addr: Option<IpAddr>, kind: &str) -> Result<(), RateLimited> {
        let key = addr.map(address_key);
        let by_address = match (&self.user_codes_by_address, key) {
            (Some(limiter), Some(key)) => check(limiter, &key, Scope::UserCodes),
            _ => Ok(()),
        };
        let result = by_address.and_then(|()| match &self.user_codes_total {
            Some(total) => total.check().map_err(|not_until| RateLimited {
                scope: Scope::UserCodes,
                retry_after_secs: retry_after(not_until.wait_time_from(total.clock().now())),
            }),
            None => Ok(()),
        });
        result.inspect_err(|_| {
            let source = key.map_or(Source::Overflow, Source::Address);
            let label = key.map(address_label);
            self.summary.record(
                source,
                None,
                label,
                &format!("{kind} (user codes)"),
                clock::now(),
            );
        })
    }

    /// Counts a request with a verified bearer token against its principal.
    pub fn check_principal(
        &self,
        principal: &Principal,
        addr: Option<IpAddr>,
        kind: &str,
    ) -> Result<(), RateLimited> {
        let Some(limiter) = &self.by_principal else {
            return Ok(());
        };
        check(limiter, &principal.id, Scope::Principal).inspect_err(|_| {
            let addr = addr.map(|a| a.to_string());
            let source = Source::Principal(principal.id);
            self.summary
                .record(source, Some(principal), addr, kind, clock::now());
        })
    }

    /// Writes the refusals counted since the last flush, one event per source, after those
    /// `unwritten` before (the trail was unavailable); keeps what fails again for next time.
    async fn flush(&self, audit: &AuditWriter, unwritten: &mut Vec<AuditEvent>) {
        unwritten.extend(self.summary.take(clock::now()));
        if unwritten.is_empty() {
            return;
        }
        let events = std::mem::take(unwritten);
        let written =
            futures_util::future::join_all(events.iter().map(|e| audit.write(e.clone()))).await;
        unwritten.extend(
            events
                .into_iter()
                .zip(written)
                .filter_map(|(event, result)| result.is_err().then_some(event)),
        );
        if unwritten.len() > MAX_UNWRITTEN {
            let dropped = unwritten.len() - MAX_UNWRITTEN;
            unwritten.drain(..dropped);
            tracing::error!(dropped, "rate_limited summary events dropped: the audit trail has been unavailable too long");
        }
        if !unwritten.is_empty() {
            tracing::warn!(
                pending = unwritten.len(),
                "rate_limited summary events not written yet; will retry"
            );
        }
    }

    /// Forgets sources whose buckets are full again (they are as good as new).
    fn tidy(&self) {
        if let Some(l) = &self.by_address {
            l.retain_recent();
        }
        if let Some(l) = &self.by_principal {
            l.retain_recent();
        }
    }

    /// Asks [`summarize`] to write what it has and end.
    pub fn stop(&self) {
        self.stop.notify_one();
    }
}

fn check<K: std::hash::Hash + Eq + Clone>(
    limiter: &Keyed<K>,
    key: &K,
    scope: Scope,
) -> Result<(), RateLimited> {
    limiter.check_key(key).map_err(|not_until| RateLimited {
        scope,
        retry_after_secs: retry_after(not_until.wait_time_from(limiter.clock().now())),
    })
}

/// Whole seconds to wait, at least 1.
fn retry_after(wait: Duration) -> u64 {
    wait.as_secs_f64().ceil().max(1.0) as u64
}

/// The background task: every `summary_interval` writes the summary (retrying events the trail
/// refused, up to [`MAX_UNWRITTEN`]), every few seconds forgets idle sources; after
/// [`Limits::stop`] writes the summary once more (bounded) and ends.
pub async fn summarize(limits: Arc<Limits>, audit: AuditWriter) {
    let mut summary = tokio::time::interval(limits.summary_interval);
    let mut tidy = tokio::time::interval(TIDY_EVERY);
    summary.tick().await;
    let mut unwritten = Vec::new();
    loop {
        tokio::select! {
            _ = summary.tick() => limits.flush(&audit, &mut unwritten).await,
            _ = tidy.tick() => limits.tidy(),
            _ = limits.stop.notified() => {
                if tokio::time::timeout(FINAL_FLUSH, limits.flush(&audit, &mut unwritten)).await.is_err() {
                    tracing::warn!("the last rate_limited summary could not be written in time");
                }
                return;
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ipv6_addresses_are_keyed_by_their_64_and_ipv4_as_is() {
        let a: IpAddr = "2001:db8:1:2:aaaa::1".parse().unwrap();
        let b: IpAddr = "2001:db8:1:2:bbbb::9".parse().unwrap();
        assert_eq!(address_key(a), address_key(b));
        assert_eq!(address_label(address_key(a)), "2001:db8:1:2::/64");
        let mapped: IpAddr = "::ffff:192.0.2.1".parse().unwrap();
        assert_eq!(address_key(mapped), "192.0.2.1".parse::<IpAddr>().unwrap());
    }

    #[test]
    fn over_the_limit_a_request_is_refused_with_a_retry_after_and_counted() {
        let limits = Limits::new(&LimitsConfig {
            unauthenticated: Some(Rate {
                per_minute: 1,
                burst: 2,
            }),
            authenticated: None,
            summary_interval: Duration::from_secs(60),
            user_codes: Default::default(),
        });
        let a = Some("192.0.2.1".parse().unwrap());
        let b = Some("192.0.2.2".parse().unwrap());
        assert!(limits.check_address(a, "POST /oauth/token").is_ok());
        assert!(limits.check_address(a, "POST /oauth/token").is_ok());
        let refused = limits.check_address(a, "POST /oauth/token").unwrap_err();
        assert_eq!(refused.scope, Scope::Address);
        assert!((50..=60).contains(&refused.retry_after_secs), "{refused:?}");
        assert!(limits.check_address(b, "POST /oauth/token").is_ok());
        let events = limits.summary.take(clock::now());
        assert_eq!(events.len(), 1);
        assert_eq!(events[0].client_addr.as_deref(), Some("192.0.2.1"));
        assert_eq!(events[0].details["count"], 1);
        let alice = Principal {
            id: Uuid::new_v4(),
            kind: crate::principal::PrincipalKind::User,
            display: "alice@example.com".into(),
            display_shared: false,
        };
        for _ in 0..5 {
            assert!(limits
                .check_principal(&alice, a, "POST /v1/credentials")
                .is_ok());
        }
    }

    #[test]
    fn user_code_lookups_are_limited_per_address_and_in_total() {
        let limits = Limits::new(&LimitsConfig {
            user_codes: crate::config::UserCodeLimits {
                per_address: Some(Rate {
                    per_minute: 1,
                    burst: 2,
                }),
                total: Some(Rate {
                    per_minute: 1,
                    burst: 3,
                }),
            },
            ..LimitsConfig::default()
        });
        let a = Some("192.0.2.1".parse().unwrap());
        let b = Some("192.0.2.2".parse().unwrap());
        assert!(limits.check_user_code(a, "POST /device").is_ok());
        assert!(limits.check_user_code(a, "POST /device").is_ok());
        let refused = limits.check_user_code(a, "POST /device").unwrap_err();
        assert_eq!(refused.scope, Scope::UserCodes);
        // Another address has its own allowance, but all lookups together are capped too.
        assert!(limits.check_user_code(b, "POST /device").is_ok());
        assert!(limits.check_user_code(b, "POST /device").is_err());
        let events = limits.summary.take(clock::now());
        let counted: u64 = events
            .iter()
            .map(|e| e.details["count"].as_u64().unwrap())
            .sum();
        assert_eq!(counted, 2);
    }
}
