//! `vault list`: the profiles the server lets you assume, as a table, with the session cached
//! for each and how long it has left.

use clap::Parser;
use vault_api::{ProfileInfo, ProfileList};

use crate::auth::Authenticator;
use crate::config::ServerUrl;
use crate::credentials::cache::{self, Entry};
use crate::duration::{display_left, display_seconds};
use crate::http::Http;
use crate::store::Store;

/// List the profiles you may use: role, region, session durations, and the cached session.
#[derive(Debug, Parser)]
pub struct Cmd {}

impl Cmd {
    pub async fn run(self, server: ServerUrl, store: Store) -> anyhow::Result<()> {
        let http = Http::new(&server)?;
        let list: ProfileList = Authenticator::new(&http, &store).get("v1/profiles").await?;
        crate::known_profiles::remember(&store, &list);
        if list.profiles.is_empty() {
            eprintln!("No profiles are available to you on {server}.");
            return Ok(());
        }
        let cached = store.blocking(cache::entries).await?;
        let now = crate::clock::now_unix();
        crate::output::print_out(&table(&list.profiles, &cached, now))
    }
}

/// The profiles under a header row, in aligned columns.
fn table(profiles: &[ProfileInfo], cached: &[Entry], now: i64) -> String {
    let mut rows =
        vec![["PROFILE", "ROLE", "REGION", "DEFAULT", "MAX", "CACHED"].map(String::from)];
    for p in profiles {
        rows.push([
            p.name.clone(),
            p.role_arn.clone(),
            p.region.clone(),
            display_seconds(p.default_duration_seconds),
            display_seconds(p.max_duration_seconds),
            session_cell(&p.name, cached, now),
        ]);
    }
    crate::table::render(&rows)
}

/// The longest-lived usable cached session of `profile` as `52m left`, else `-`.
fn session_cell(profile: &str, cached: &[Entry], now: i64) -> String {
    cached
        .iter()
        .map(|e| &e.credentials)
        .filter(|c| c.profile == profile && c.is_fresh(now))
        .map(|c| c.expires_at)
        .max()
        .map_or_else(
            || "-".to_owned(),
            |at| format!("{} left", display_left(at - now)),
        )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::credentials::cache::test_credentials;

    #[test]
    fn profiles_are_listed_in_aligned_columns_with_readable_durations_and_the_cached_session() {
        let p = |name: &str, default, max| ProfileInfo {
            name: name.into(),
            role_arn: format!("arn:aws:iam::123456789012:role/team-{name}"),
            region: "us-east-1".into(),
            default_duration_seconds: default,
            max_duration_seconds: max,
        };
        let short = test_credentials("dev", "2030-01-01T00:20:00Z");
        let long = test_credentials("dev", "2030-01-01T00:52:30Z");
        let now = long.expires_at - 52 * 60 - 30;
        let cached = [short, long].map(|credentials| Entry {
            duration: None,
            credentials,
        });
        let out = table(
            &[p("dev", 3600, 14400), p("production", 900, 3600)],
            &cached,
            now,
        );
        let lines: Vec<&str> = out.lines().collect();
        assert_eq!(lines.len(), 3);
        assert!(lines[0].starts_with("PROFILE     ROLE"), "{out}");
        assert!(lines[0].ends_with("MAX  CACHED"), "{out}");
        assert!(lines[1].starts_with("dev         arn:aws:iam::123456789012:role/team-dev "));
        assert!(
            lines[1].ends_with("us-east-1  1h       4h   52m left"),
            "{out}"
        );
        assert!(lines[2].ends_with("us-east-1  15m      1h   -"), "{out}");
    }

    #[test]
    fn a_session_within_the_reuse_margin_does_not_count_as_cached() {
        let c = test_credentials("dev", "2030-01-01T00:04:00Z");
        let now = c.expires_at - 4 * 60;
        let cached = [Entry {
            duration: None,
            credentials: c,
        }];
        assert_eq!(session_cell("dev", &cached, now), "-");
        assert_eq!(session_cell("prod", &cached, now), "-");
    }
}
