//! `vault admin keys [--json]`: each owned identity's active key, its age, the last rotation and
//! when the next is due, as a table or as the server's JSON list.

use anyhow::Context;
use vault_api::admin::KeyStatus;

use crate::auth::Authenticator;
use crate::table::{self, cell, cell_or_dash, display_time};

const HEADER: [&str; 7] = [
    "IDENTITY",
    "IAM USER",
    "ACTIVE KEY",
    "AGE",
    "LAST ROTATION",
    "LAST ERROR",
    "NEXT DUE",
];
/// Longest cells shown in the table; `--json` has everything.
const MAX_NAME: usize = 32;
const MAX_ERROR: usize = 50;

/// Show each identity's active key (masked), its age, the last rotation and when the next is due.
#[derive(Debug, clap::Args)]
pub struct Cmd {
    /// Print the server's list as JSON instead of a table
    #[arg(long)]
    json: bool,
}

impl Cmd {
    pub async fn run(self, auth: &Authenticator<'_>) -> anyhow::Result<()> {
        let keys: Vec<KeyStatus> = auth
            .get("v1/admin/keys")
            .await
            .context("reading the server's keys")?;
        crate::output::print_listing(&keys, self.json, "The server lists no identities.", table)
    }
}

/// The keys under a header row, in aligned columns.
fn table(keys: &[KeyStatus]) -> String {
    let mut rows = vec![table::header(&HEADER)];
    rows.extend(keys.iter().map(cells));
    table::render(&rows)
}

/// One identity's table cells: missing values as `-`, long ones cut short, all of them safe to
/// print.
fn cells(k: &KeyStatus) -> Vec<String> {
    let next_due = match &k.next_due {
        Some(due) => display_time(due),
        None if !k.rotation_enabled => "off".into(),
        None => "-".into(),
    };
    vec![
        cell(&k.identity, MAX_NAME),
        cell(&k.iam_user, MAX_NAME),
        cell_or_dash(k.active_key.as_deref(), MAX_NAME),
        k.key_age_seconds.map_or("-".into(), age),
        last_rotation(k),
        cell_or_dash(k.last_error.as_deref(), MAX_ERROR),
        next_due,
    ]
}

/// The last rotation's step and when it finished (`done 2026-11-28T12:00:00Z`), or, while it is
/// under way, when it started (`verified, started …`).
fn last_rotation(k: &KeyStatus) -> String {
    let Some(step) = &k.last_rotation_step else {
        return "-".into();
    };
    let step = cell(step, MAX_NAME);
    match (&k.last_rotation_finished, &k.last_rotation_started) {
        (Some(finished), _) => format!("{step} {}", display_time(finished)),
        (None, Some(started)) => format!("{step}, started {}", display_time(started)),
        (None, None) => step,
    }
}

/// A key's age in its two largest units, rounded down: `3d 4h`, `2h`, `5m 10s`, `0s`.
fn age(secs: u64) -> String {
    const UNITS: [(u64, &str); 4] = [(86_400, "d"), (3_600, "h"), (60, "m"), (1, "s")];
    let Some(i) = UNITS.iter().position(|&(size, _)| secs >= size) else {
        return "0s".into();
    };
    let (size, name) = UNITS[i];
    let mut out = format!("{}{name}", secs / size);
    if let Some(&(next, next_name)) = UNITS.get(i + 1) {
        let rest = secs % size / next;
        if rest > 0 {
            out.push_str(&format!(" {rest}{next_name}"));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn status() -> KeyStatus {
        KeyStatus {
            identity: "broker".into(),
            iam_user: "team-vault-broker".into(),
            active_key: Some("AKIA****WXYZ".into()),
            key_age_seconds: Some(3 * 86_400 + 4 * 3_600 + 59),
            rotation_enabled: true,
            last_rotation_step: Some("done".into()),
            last_rotation_started: Some("2026-11-25T08:00:00.123Z".into()),
            last_rotation_finished: Some("2026-11-25T09:15:00Z".into()),
            last_error: None,
            attempts: 1,
            next_due: Some("2026-12-25T09:00:00+00:00".into()),
        }
    }

    /// Nothing known: no active key, never rotated, rotation off.
    fn bare() -> KeyStatus {
        KeyStatus {
            identity: "ci".into(),
            iam_user: "team-vault-ci".into(),
            active_key: None,
            key_age_seconds: None,
            rotation_enabled: false,
            last_rotation_step: None,
            last_rotation_started: None,
            last_rotation_finished: None,
            last_error: None,
            attempts: 0,
            next_due: None,
        }
    }

    #[test]
    fn each_identity_is_a_row_in_aligned_columns() {
        let out = table(&[status(), bare()]);
        let lines: Vec<&str> = out.lines().collect();
        assert_eq!(
            lines,
            [
                "IDENTITY  IAM USER           ACTIVE KEY    AGE    LAST ROTATION              LAST ERROR  NEXT DUE",
                "broker    team-vault-broker  AKIA****WXYZ  3d 4h  done 2026-11-25T09:15:00Z  -           2026-12-25T09:00:00Z",
                "ci        team-vault-ci      -             -      -                          -           off",
            ]
        );
    }

    #[test]
    fn missing_fields_show_as_a_dash_and_a_due_date_only_when_rotation_is_on() {
        assert_eq!(
            cells(&bare()),
            ["ci", "team-vault-ci", "-", "-", "-", "-", "off"]
        );
        let on = KeyStatus {
            rotation_enabled: true,
            ..bare()
        };
        assert_eq!(cells(&on)[6], "-");
    }

    #[test]
    fn a_rotation_under_way_shows_its_step_and_when_it_started() {
        let k = KeyStatus {
            last_rotation_step: Some("verified".into()),
            last_rotation_finished: None,
            ..status()
        };
        assert_eq!(last_rotation(&k), "verified, started 2026-11-25T08:00:00Z");
        let no_times = KeyStatus {
            last_rotation_started: None,
            ..k
        };
        assert_eq!(last_rotation(&no_times), "verified");
    }

    #[test]
    fn a_long_error_is_cut_short_on_one_line() {
        let k = KeyStatus {
            last_rotation_step: Some("created".into()),
            last_error: Some(format!("AccessDenied: not allowed\n{}", "x".repeat(100))),
            attempts: 3,
            ..status()
        };
        let error = &cells(&k)[5];
        assert_eq!(error.chars().count(), MAX_ERROR);
        assert!(error.starts_with("AccessDenied: not allowed x"), "{error}");
        assert!(error.ends_with('…'), "{error}");
    }

    #[test]
    fn ages_read_in_their_two_largest_units_rounded_down() {
        assert_eq!(age(0), "0s");
        assert_eq!(age(59), "59s");
        assert_eq!(age(310), "5m 10s");
        assert_eq!(age(3_600), "1h");
        assert_eq!(age(7_260), "2h 1m");
        assert_eq!(age(3 * 86_400 + 4 * 3_600 + 59 * 60), "3d 4h");
        assert_eq!(age(30 * 86_400 + 120), "30d");
    }

    #[test]
    fn json_output_reads_back_as_the_same_list() {
        let list = vec![status(), bare()];
        let text = serde_json::to_string_pretty(&list).unwrap();
        let back: Vec<KeyStatus> = serde_json::from_str(&text).unwrap();
        assert_eq!(back, list);
    }
}
