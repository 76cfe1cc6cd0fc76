//! `vault list`: the profiles the server lets you assume, as a table.

use clap::Parser;
use vault_api::{ProfileInfo, ProfileList};

use crate::auth::Authenticator;
use crate::config::ServerUrl;
use crate::duration::display_seconds;
use crate::http::Http;
use crate::store::Store;

/// List the profiles you may use, with their role, region and session durations.
#[derive(Debug, Parser)]
pub struct Cmd {}

impl Cmd {
    pub async fn run(self, server: ServerUrl, store: Store) -> anyhow::Result<()> {
        let http = Http::new(&server)?;
        let list: ProfileList = Authenticator::new(&http, &store).get("v1/profiles").await?;
        if list.profiles.is_empty() {
            eprintln!("No profiles are available to you on {server}.");
            return Ok(());
        }
        crate::output::print_out(&table(&list.profiles))
    }
}

/// The profiles under a header row, in aligned columns.
fn table(profiles: &[ProfileInfo]) -> String {
    let mut rows = vec![["PROFILE", "ROLE", "REGION", "DEFAULT", "MAX"].map(String::from)];
    for p in profiles {
        rows.push([
            p.name.clone(),
            p.role_arn.clone(),
            p.region.clone(),
            display_seconds(p.default_duration_seconds),
            display_seconds(p.max_duration_seconds),
        ]);
    }
    crate::table::render(&rows)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn profiles_are_listed_in_aligned_columns_with_readable_durations() {
        let p = |name: &str, default, max| ProfileInfo {
            name: name.into(),
            role_arn: format!("arn:aws:iam::123456789012:role/team-{name}"),
            region: "us-east-1".into(),
            default_duration_seconds: default,
            max_duration_seconds: max,
        };
        let out = table(&[p("dev", 3600, 14400), p("production", 900, 3600)]);
        let lines: Vec<&str> = out.lines().collect();
        assert_eq!(lines.len(), 3);
        assert!(lines[0].starts_with("PROFILE     ROLE"), "{out}");
        assert!(lines[1].starts_with("dev         arn:aws:iam::123456789012:role/team-dev "));
        assert!(lines[1].ends_with("us-east-1  1h       4h"), "{out}");
        assert!(lines[2].ends_with("us-east-1  15m      1h"), "{out}");
    }
}
